//! Story dedup: which story does a new article belong to?
//!
//! Pure (no network, no SQLite): an [`Article`] and the recent window held by an
//! [`Engine`] in, a [`StoryId`] decision and its [`Evidence`] out. Layers, cheapest
//! and surest first:
//! 1. the same canonical URL ([`url::canonical_url`]);
//! 2. a near-copy: MinHash of word shingles, most of them shared (syndicated wire copy);
//! 3. the same event in other words (title, URL slug and text): cosine of TF-IDF vectors against each story's
//!    centroid, within the time window, candidates found through an inverted index
//!    over each article's most distinctive terms (so the cost per article does not
//!    grow with the number of stored articles).
//!
//! Look-alike events (same people and places, another day or another place) are
//! kept apart by a time penalty, and by a number guard: titles that state
//! different figures (magnitudes, tolls, scores, years) need more evidence.
//!
//! With the `embed` feature and `embedding_model` set, layer 3 also compares
//! sentence embeddings ([`embed`]) of headline-only articles and decides on a
//! weighted average of the two cosines; candidates come from the term index and
//! from LSH buckets of the embeddings, both read to a fixed depth.

pub mod embed;
pub mod text;
pub mod url;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use text::Normalizer;

/// A story id, as the caller numbers stories (the store uses its row ids).
pub type StoryId = i64;

/// Tunables of the dedup stage (the `[dedup]` section of feeds.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct DedupConfig {
    /// When false, every article is its own story.
    pub enabled: bool,
    /// Only stories with an article this recent can gain new members.
    pub window: Duration,
    /// Near-copies share at least this share of their word 4-shingles (MinHash estimate).
    pub copy_similarity: f64,
    /// Texts shorter than this (words) are never near-copies.
    pub copy_min_words: usize,
    /// Cosine needed to join a story when both sides have a full text.
    pub text_threshold: f64,
    /// Cosine needed when either side has only a headline / summary.
    pub title_threshold: f64,
    /// Cosine between two headline-only stories' centroids that merges them
    /// into one (0 turns merging off, and with it the move of a lone article
    /// into a story that has grown toward it).
    pub merge_threshold: f64,
    /// Similarity lost per day between an article and a story's nearest date,
    /// beyond the first two days.
    pub day_penalty: f64,
    /// Share of the similarity given by names and numbers (the look-alike guard).
    pub name_weight: f64,
    /// Similarity lost when two headlines state different numbers.
    pub number_penalty: f64,
    /// Outlet names in order of preference for the representative article.
    pub prefer: Vec<String>,
    /// Folder of the sentence-embedding model (`embed` feature); `None`: TF-IDF only.
    pub embedding_model: Option<PathBuf>,
    /// Share of the embedding cosine in the score of two headlines.
    pub embedding_title_weight: f64,
    /// Threshold on that mixed score (instead of `title_threshold`).
    pub embedding_title_threshold: f64,
    /// Share of the embedding cosine when either side has a body (0: TF-IDF alone).
    pub embedding_text_weight: f64,
    /// Threshold on that mixed score (instead of `text_threshold`).
    pub embedding_text_threshold: f64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            enabled: true,
            window: Duration::from_secs(72 * 3600),
            copy_similarity: 0.7,
            copy_min_words: 60,
            text_threshold: 0.30,
            title_threshold: 0.08,
            merge_threshold: 0.25,
            day_penalty: 0.05,
            name_weight: 0.4,
            number_penalty: 0.05,
            prefer: Vec::new(),
            embedding_model: None,
            // Calibrated on headlines (UCI) and full texts (ECB+): see the README.
            embedding_title_weight: 0.5,
            embedding_title_threshold: 0.225,
            embedding_text_weight: 0.0,
            embedding_text_threshold: 0.30,
        }
    }
}

/// One article as dedup sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    /// The caller's id (item row id, or the JSONL id).
    pub id: String,
    /// Outlet name.
    pub source: String,
    /// Article URL (may be empty).
    pub url: String,
    /// Publication time, Unix seconds.
    pub published: Option<i64>,
    /// Headline (plain text).
    pub title: String,
    /// Body (plain text; may be empty or just a summary).
    pub text: String,
}

/// Which layer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Same canonical URL as a stored article.
    Url,
    /// A near-copy of a stored article's text.
    NearCopy,
    /// Similar enough to a story's centroid.
    Similar,
    /// Nothing matched: a new story.
    New,
}

impl Layer {
    /// The name stored and shown for this layer.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Url => "url",
            Layer::NearCopy => "near-copy",
            Layer::Similar => "similar",
            Layer::New => "new",
        }
    }
}

/// Why an article went where it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The deciding layer.
    pub layer: Layer,
    /// The story joined, `None` for a new story.
    pub story: Option<StoryId>,
    /// The stored article that matched (URL and near-copy layers).
    pub matched: Option<String>,
    /// Layer score: 1 for a URL, the estimated shingle overlap for a near-copy,
    /// else the adjusted cosine.
    pub score: f64,
    /// The best candidate's adjusted cosine, also when it was too low.
    pub best_similarity: f64,
    /// A story merge that this article's admission caused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merge>,
}

/// Two stories found to be one (see [`Engine::merge_similar`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Merge {
    /// The story whose members moved: the younger of two headline stories,
    /// or the one a lone article opened.
    pub absorbed: StoryId,
    /// The story that keeps its id (and GUID).
    pub survivor: StoryId,
    /// The similarity that decided: the two headline centroids' cosine, or
    /// the lone article's score against the story it moved into.
    pub score: f64,
}

/// Features of one article, computed once.
#[derive(Debug, Clone)]
pub struct Prepared {
    id: String,
    canonical: Option<String>,
    fingerprint: Option<Box<[u32; text::MINHASH_SIZE]>>,
    /// TF-IDF over title and text, L2-normalised, sorted by term id.
    full: Vec<(u32, f32)>,
    /// The same over title and lead: compared when one side is short.
    head: Vec<(u32, f32)>,
    /// Names and numbers only: the look-alike guard.
    names: Vec<(u32, f32)>,
    /// Distinct terms, to update document frequencies once admitted.
    terms: Vec<u32>,
    /// Numbers stated in the title.
    numbers: Vec<u32>,
    long: bool,
    /// Has any body text (not just a headline).
    body: bool,
    time: Option<i64>,
    /// Normalised sentence embedding; empty without a model.
    embedding: Vec<f32>,
    /// Its LSH bucket keys ([`embed::lsh_keys`]).
    embedding_keys: Vec<u64>,
}

impl Prepared {
    /// The same features under another article id (the store learns the row id
    /// only after deciding).
    pub fn with_id(mut self, id: String) -> Prepared {
        self.id = id;
        self
    }

    /// The same features with a sentence embedding computed elsewhere (on
    /// another thread, or cached); it must come from the same model.
    pub fn with_embedding(mut self, embedding: Vec<f32>) -> Prepared {
        self.embedding_keys = embed::lsh_keys(&embedding);
        self.embedding = embedding;
        self
    }
}

/// What the similarity layer compares between two articles (for `explain`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairEvidence {
    /// Both canonical URLs, when present.
    pub canonical: (Option<String>, Option<String>),
    /// Estimated share of common word 4-shingles, when both texts are long enough.
    pub copy_similarity: Option<f64>,
    /// Cosine of the full vectors.
    pub full_cosine: f64,
    /// Cosine of title + lead vectors.
    pub head_cosine: f64,
    /// Cosine of the sentence embeddings, when a model is loaded.
    pub embedding_cosine: Option<f64>,
    /// Days between the two dates, when both are dated.
    pub days_apart: Option<f64>,
    /// Numbers in one title and not the other.
    pub conflicting_numbers: bool,
    /// The cosine after the time and number penalties, against the threshold in use.
    pub adjusted: f64,
    /// The threshold that applies to this pair.
    pub threshold: f64,
    /// The layer that would join them, or `New` if none would.
    pub layer: Layer,
}

#[derive(Debug)]
struct Member {
    story: StoryId,
    id: String,
    canonical: Option<String>,
    fingerprint: Option<Box<[u32; text::MINHASH_SIZE]>>,
    /// Per LSH band, the sequence number of the previous member in that band's
    /// bucket (`NO_MEMBER` for none): buckets are chains through the members,
    /// so a unique text costs no bucket allocation.
    band_next: Option<Box<[u64; BANDS]>>,
    full: Vec<(u32, f32)>,
    head: Vec<(u32, f32)>,
    names: Vec<(u32, f32)>,
    long: bool,
    body: bool,
    /// The window clock when admitted (expiry).
    clock: i64,
    embedding: Vec<f32>,
}

/// LSH bands per MinHash signature.
const BANDS: usize = text::MINHASH_SIZE / text::BAND_ROWS;
/// The end of a band chain.
const NO_MEMBER: u64 = u64::MAX;

/// A story's summed term shares, sorted by term id. A sorted vector rather
/// than a map: most stories hold one or two articles, and a map per story
/// costs several times the memory of the terms themselves.
#[derive(Debug, Default)]
struct Centroid(Vec<(u32, f32)>);

impl Centroid {
    fn add(&mut self, v: &[(u32, f32)], sign: f32) {
        let a = &self.0;
        let mut out = Vec::with_capacity(a.len() + if sign > 0.0 { v.len() } else { 0 });
        let (mut i, mut j) = (0, 0);
        loop {
            match (a.get(i), v.get(j)) {
                (Some(&(ta, wa)), Some(&(tb, wb))) if ta == tb => {
                    out.push((ta, wa + sign * wb));
                    i += 1;
                    j += 1;
                }
                (Some(&(ta, wa)), Some(&(tb, _))) if ta < tb => {
                    out.push((ta, wa));
                    i += 1;
                }
                (Some(&(ta, wa)), None) => {
                    out.push((ta, wa));
                    i += 1;
                }
                // A term pruned from a big centroid stays out when its member leaves.
                (_, Some(&(tb, wb))) => {
                    if sign > 0.0 {
                        out.push((tb, wb));
                    }
                    j += 1;
                }
                (None, None) => break,
            }
        }
        out.retain(|(_, w)| *w >= 1e-6);
        self.0 = out;
        if self.0.len() > 2 * CENTROID_TERMS {
            self.prune();
        }
    }

    /// Keeps the heaviest terms of a big story, so that scoring against it
    /// costs the same however many articles it has.
    fn prune(&mut self) {
        self.0
            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        self.0.truncate(CENTROID_TERMS);
        self.0.sort_by_key(|(t, _)| *t);
        self.0.shrink_to_fit();
    }
}

/// Cosine of a vector with term shares re-weighted by today's IDF: a story's
/// early members were weighted with little evidence of which terms are common.
/// Both sides are sorted by term id.
fn cosine_idf(shares: &[(u32, f32)], v: &[(u32, f32)], idf: impl Fn(u32) -> f32) -> f64 {
    let mut norm = 0.0f64;
    let mut dot = 0.0f64;
    let mut j = 0;
    for &(t, c) in shares {
        let w = f64::from(c) * f64::from(idf(t));
        norm += w * w;
        while j < v.len() && v[j].0 < t {
            j += 1;
        }
        if j < v.len() && v[j].0 == t {
            dot += w * f64::from(v[j].1);
            j += 1;
        }
    }
    if norm <= 1e-12 {
        return 0.0;
    }
    dot / norm.sqrt()
}

/// The weights of the terms two vectors (sorted by term id) have in common.
fn common<'a>(a: &'a [(u32, f32)], b: &'a [(u32, f32)]) -> impl Iterator<Item = (f32, f32)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let pair = (a[i].1, b[j].1);
                    i += 1;
                    j += 1;
                    return Some(pair);
                }
            }
        }
        None
    })
}

/// Cosine of two share vectors, both re-weighted by today's IDF.
fn cosine_shares(a: &[(u32, f32)], b: &[(u32, f32)], idf: impl Fn(u32) -> f32) -> f64 {
    let (mut i, mut j) = (0, 0);
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&(ta, wa)), Some(&(tb, wb))) if ta == tb => {
                let k = f64::from(idf(ta));
                let (x, y) = (f64::from(wa) * k, f64::from(wb) * k);
                dot += x * y;
                na += x * x;
                nb += y * y;
                i += 1;
                j += 1;
            }
            (Some(&(ta, wa)), Some(&(tb, _))) if ta < tb => {
                let x = f64::from(wa) * f64::from(idf(ta));
                na += x * x;
                i += 1;
            }
            (Some(&(ta, wa)), None) => {
                let x = f64::from(wa) * f64::from(idf(ta));
                na += x * x;
                i += 1;
            }
            (_, Some(&(tb, wb))) => {
                let y = f64::from(wb) * f64::from(idf(tb));
                nb += y * y;
                j += 1;
            }
            (None, None) => break,
        }
    }
    if na <= 1e-12 || nb <= 1e-12 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

#[derive(Debug, Default)]
struct Story {
    /// Summed shares of the members; empty while `single` stands for them.
    full: Centroid,
    head: Centroid,
    names: Centroid,
    /// The only member (by sequence number) of a story nobody has joined yet:
    /// its vectors are the centroid, so they are not stored twice.
    single: Option<u64>,
    members: usize,
    long_members: usize,
    body_members: usize,
    /// Earliest and latest publication dates of dated members.
    dated: Option<(i64, i64)>,
    numbers: HashSet<u32>,
    titles_with_numbers: usize,
    /// Sum of the members' embeddings (empty until one has an embedding).
    embedding: Vec<f32>,
    embedded_members: usize,
}

impl Story {
    fn add_embedding(&mut self, e: &[f32], sign: f32) {
        if e.is_empty() {
            return;
        }
        if self.embedding.len() != e.len() {
            self.embedding = vec![0.0; e.len()];
        }
        self.embedding
            .iter_mut()
            .zip(e)
            .for_each(|(s, x)| *s += sign * x);
        if sign > 0.0 {
            self.embedded_members += 1;
        } else {
            self.embedded_members = self.embedded_members.saturating_sub(1);
        }
    }

    /// Cosine of an embedding with the mean of the members' embeddings.
    fn embedding_cosine(&self, e: &[f32]) -> Option<f64> {
        if e.is_empty() || self.embedded_members == 0 || self.embedding.len() != e.len() {
            return None;
        }
        let norm = embed::cosine(&self.embedding, &self.embedding).sqrt();
        (norm > 1e-9).then(|| embed::cosine(&self.embedding, e) / norm)
    }
}

/// The three vectors a story is compared on.
struct StoryVectors<'a> {
    full: &'a [(u32, f32)],
    head: &'a [(u32, f32)],
    names: &'a [(u32, f32)],
}

/// Terms of a new article used to retrieve candidates (its most distinctive ones).
const QUERY_TERMS: usize = 32;
/// Terms under which a stored article is indexed: more than are queried, so
/// that two reports whose top terms differ in order still meet.
const INDEX_TERMS: usize = 48;
/// Newest postings read per query term: bounds the cost per article.
const POSTINGS_READ: usize = 64;
/// Vocabulary size below which idle terms are not swept.
const MIN_SWEEP_VOCAB: usize = 1 << 16;
/// Admissions a term must go unused before it is forgotten, at the least.
const MIN_IDLE_DOCS: u64 = 100_000;
/// Terms kept in a story's centroid (pruned back from twice as many).
const CENTROID_TERMS: usize = 256;
/// Newest members read per MinHash band bucket.
const BUCKET_READ: usize = 32;
/// A story's heaviest terms that retrieve merge candidates, and the candidates
/// scored: a merge needs much in common, so a few suffice (measured on uci-dev:
/// 8 and 8 score as well as 32 and 24, at half the added cost).
const MERGE_QUERY_TERMS: usize = 8;
const MERGE_CANDIDATES: usize = 8;
/// Terms a headline must share with a headline-only story to join it
/// (measured on uci-dev: 1 lets single common words bridge unrelated stories).
const MIN_SHARED_HEADLINE_TERMS: usize = 2;
/// How far above its threshold a lone article must score before it leaves
/// the story it opened for a grown one: a decision already taken is changed
/// only on clearer evidence (measured on ecbplus-dev: at 0 an opener sitting
/// on the threshold moved, and its look-alike event followed it).
const REDECIDE_MARGIN: f64 = 0.01;
/// Candidates scored exactly per article.
const CANDIDATES: usize = 24;
/// Terms kept per article vector.
const VECTOR_TERMS: usize = 64;
/// Words of the text that form the lead.
const LEAD_WORDS: usize = 40;
/// An article with at least this many body terms is compared on its whole
/// text; below, on title + lead (measured: comparing any body in full is best).
const LONG_TERMS: usize = 1;
/// Headline terms count this many times in the vectors.
const TITLE_WEIGHT: f32 = 2.0;

/// The streaming clusterer: holds the recent window and its indexes.
pub struct Engine {
    config: DedupConfig,
    norm: Normalizer,
    vocab: HashMap<Box<str>, u32>,
    df: Vec<u32>,
    /// ln(df + 1) per term, kept with `df`: IDF is read for every centroid term
    /// of every candidate, and a logarithm each time is most of that cost.
    ln_df: Vec<f32>,
    /// Per term, the admission (`docs`) that last used it: terms idle for long
    /// are forgotten and their ids reused, so the vocabulary of a daemon that
    /// runs for months stays bounded by what recent news uses.
    last_used: Vec<u64>,
    /// Ids of forgotten terms, reused before new ones.
    free_ids: Vec<u32>,
    /// Vocabulary size after the last sweep of idle terms.
    swept_vocab: usize,
    /// `MIN_SWEEP_VOCAB` and `MIN_IDLE_DOCS` (smaller in tests).
    vocab_limits: (usize, u64),
    docs: u64,
    /// ln(docs + 1), kept with `docs` (read for every IDF).
    ln_docs: f32,
    members: VecDeque<Member>,
    stories: HashMap<StoryId, Story>,
    urls: HashMap<String, (StoryId, String)>,
    /// MinHash LSH: band key → the newest member in that bucket (by sequence
    /// number); older ones are chained through `Member::band_next`.
    bands: HashMap<u64, u64>,
    /// Sequence number of the oldest member in `members`.
    first_seq: u64,
    postings: HashMap<u32, Vec<StoryId>>,
    /// Admissions since posting lists of expired stories were last dropped.
    since_sweep: usize,
    /// Embedding LSH: bucket key → stories, newest last.
    embedding_buckets: HashMap<u64, Vec<StoryId>>,
    clock: i64,
    next_story: StoryId,
    /// Stories absorbed by a merge → the story that absorbed them (see
    /// [`Engine::merge_similar`]); members and postings keep the old id.
    aliases: HashMap<StoryId, StoryId>,
    /// The sentence-embedding model, when configured.
    embedder: Option<Arc<embed::Embedder>>,
    /// Embeddings computed before the caller took its lock, by model input.
    precomputed: HashMap<String, Vec<f32>>,
}

/// Precomputed embeddings kept at most (left-overs are dropped past it).
const PRECOMPUTED_MAX: usize = 4096;

fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f64 {
    common(a, b).map(|(x, y)| f64::from(x) * f64::from(y)).sum()
}

/// Follows merge aliases to the story that holds an id's members now.
fn resolve_in(aliases: &HashMap<StoryId, StoryId>, mut story: StoryId) -> StoryId {
    if aliases.is_empty() {
        return story;
    }
    // Chains are short (one link per merge); the bound guards against a cycle.
    for _ in 0..64 {
        match aliases.get(&story) {
            Some(&next) if next != story => story = next,
            _ => break,
        }
    }
    story
}

impl Engine {
    /// An empty engine, without the embedding model (see [`Engine::open`]).
    pub fn new(config: DedupConfig) -> Engine {
        Engine {
            config,
            norm: Normalizer::default(),
            vocab: HashMap::new(),
            df: Vec::new(),
            ln_df: Vec::new(),
            last_used: Vec::new(),
            free_ids: Vec::new(),
            swept_vocab: 0,
            vocab_limits: (MIN_SWEEP_VOCAB, MIN_IDLE_DOCS),
            docs: 0,
            ln_docs: 0.0,
            members: VecDeque::new(),
            stories: HashMap::new(),
            urls: HashMap::new(),
            bands: HashMap::new(),
            first_seq: 0,
            postings: HashMap::new(),
            since_sweep: 0,
            embedding_buckets: HashMap::new(),
            clock: i64::MIN,
            next_story: 1,
            aliases: HashMap::new(),
            embedder: None,
            precomputed: HashMap::new(),
        }
    }

    /// An empty engine with the embedding model of `config.embedding_model`
    /// loaded, when set (an error without the `embed` feature).
    pub fn open(config: DedupConfig) -> Result<Engine, embed::EmbedError> {
        let embedder = match &config.embedding_model {
            Some(dir) => Some(Arc::new(embed::Embedder::load(dir)?)),
            None => None,
        };
        let mut engine = Engine::new(config);
        engine.embedder = embedder;
        Ok(engine)
    }

    /// The same engine using an already loaded model (shared, no lock).
    pub fn with_embedder(mut self, embedder: Arc<embed::Embedder>) -> Engine {
        self.embedder = Some(embedder);
        self
    }

    /// The loaded embedding model, if any (to embed articles on other threads).
    pub fn embedder(&self) -> Option<&Arc<embed::Embedder>> {
        self.embedder.as_ref()
    }

    /// Keeps an embedding computed elsewhere (without the caller's lock held)
    /// for `prepare` of the same title and text.
    pub fn remember_embedding(&mut self, title: &str, text: &str, embedding: Vec<f32>) {
        // Inputs that never reach `prepare` (known items) must not pile up.
        if self.precomputed.len() >= PRECOMPUTED_MAX {
            self.precomputed.clear();
        }
        self.precomputed
            .insert(embed::model_input(title, text), embedding);
    }

    /// The configuration in use.
    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// Articles in the window.
    pub fn window_len(&self) -> usize {
        self.members.len()
    }

    /// Terms the engine currently remembers.
    pub fn vocabulary_len(&self) -> usize {
        self.vocab.len()
    }

    fn term_id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.vocab.get(term) {
            return id;
        }
        let id = match self.free_ids.pop() {
            Some(id) => {
                let i = id as usize;
                self.df[i] = 0;
                self.ln_df[i] = 0.0;
                self.last_used[i] = self.docs;
                id
            }
            None => {
                self.df.push(0);
                self.ln_df.push(0.0);
                self.last_used.push(self.docs);
                (self.df.len() - 1) as u32
            }
        };
        self.vocab.insert(term.into(), id);
        id
    }

    /// Forgets terms no article has used in the last four windows' worth of
    /// admissions (and at least `MIN_IDLE_DOCS`), once the vocabulary has
    /// doubled since the last sweep: amortised, a constant cost per article.
    /// No article still in the window uses a forgotten term, so no vector,
    /// centroid or posting list of a live story can name a reused id.
    fn sweep_vocab(&mut self) {
        let (min_sweep, min_idle) = self.vocab_limits;
        if self.vocab.len() < (2 * self.swept_vocab).max(min_sweep) {
            return;
        }
        let idle = (4 * self.members.len() as u64).max(min_idle);
        let horizon = self.docs.saturating_sub(idle);
        let (last_used, free_ids) = (&self.last_used, &mut self.free_ids);
        self.vocab.retain(|_, id| {
            let keep = last_used[*id as usize] >= horizon;
            if !keep {
                free_ids.push(*id);
            }
            keep
        });
        self.vocab.shrink_to_fit();
        self.swept_vocab = self.vocab.len();
        tracing::debug!(
            terms = self.vocab.len(),
            forgotten = self.free_ids.len(),
            "dedup vocabulary swept"
        );
    }

    fn idf(&self, term: u32) -> f32 {
        let ln_df = self.ln_df.get(term as usize).copied().unwrap_or(0.0);
        self.ln_docs - ln_df + 1.0
    }

    /// What a story is compared on: its centroid, or its only member's vectors.
    fn story_vectors<'a>(&'a self, s: &'a Story) -> StoryVectors<'a> {
        match s.single.and_then(|seq| self.member(seq)) {
            Some(m) => StoryVectors {
                full: &m.full,
                head: &m.head,
                names: &m.names,
            },
            None => StoryVectors {
                full: &s.full.0,
                head: &s.head.0,
                names: &s.names.0,
            },
        }
    }

    fn vector(&self, counts: &HashMap<u32, f32>) -> Vec<(u32, f32)> {
        let mut v: Vec<(u32, f32)> = counts
            .iter()
            .map(|(&t, &tf)| (t, (1.0 + tf.ln()) * self.idf(t)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(VECTOR_TERMS);
        let n = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= n);
        }
        v.sort_by_key(|(t, _)| *t);
        v
    }

    /// Computes an article's features against the current window statistics.
    pub fn prepare(&mut self, a: &Article) -> Prepared {
        // Time moves on with each dated article: what left the window can no
        // longer be matched, by any layer.
        if let Some(t) = a.published {
            if t > self.clock {
                self.clock = t;
                self.expire();
            }
        }
        let title_terms = self.norm.terms(&a.title);
        let text_tokens = text::tokens(&a.text);
        let text_terms: Vec<String> = text_tokens
            .iter()
            .filter_map(|t| self.norm.term(t))
            .collect();
        let lead_len = text_terms.len().min(LEAD_WORDS);
        let mut full: HashMap<u32, f32> = HashMap::new();
        let mut head: HashMap<u32, f32> = HashMap::new();
        let mut numbers = Vec::new();
        for t in &title_terms {
            let id = self.term_id(t);
            *full.entry(id).or_default() += TITLE_WEIGHT;
            *head.entry(id).or_default() += TITLE_WEIGHT;
            if t.chars().any(|c| c.is_ascii_digit()) {
                numbers.push(id);
            }
        }
        // A URL slug is often a fuller headline than the title itself ("Q & A
        // on bitcoins" at /hackers-leak-mt-gox-database): its words count once,
        // like the lead's (measured: +0.012 B-cubed F1 on headline-only uci-dev).
        for t in url::slug_words(&a.url) {
            if let Some(term) = self.norm.term(&t) {
                let id = self.term_id(&term);
                *full.entry(id).or_default() += 1.0;
                *head.entry(id).or_default() += 1.0;
            }
        }
        for (i, t) in text_terms.iter().enumerate() {
            let id = self.term_id(t);
            *full.entry(id).or_default() += 1.0;
            if i < lead_len {
                *head.entry(id).or_default() += 1.0;
            }
        }
        let mut names: HashMap<u32, f32> = HashMap::new();
        // Headlines are often in Title Case: only a body's capitals say "name"
        // (measured: title "names" only re-weigh the title, and cost on uci-dev),
        // and those of a title-only item's title written as a sentence (a lead
        // standing in for the text: ecbplus-dev 0.906 -> 0.913).
        let title_names = if a.text.trim().is_empty() && text::sentence_case(&a.title) {
            text::entity_tokens(&a.title)
        } else {
            Vec::new()
        };
        for t in text::entity_tokens(&a.text).into_iter().chain(title_names) {
            if let Some(term) = self.norm.term(&t) {
                let id = self.term_id(&term);
                *names.entry(id).or_default() += 1.0;
            }
        }
        let mut terms: Vec<u32> = full.keys().chain(names.keys()).copied().collect();
        terms.dedup();
        terms.sort_unstable();
        terms.dedup();
        numbers.sort_unstable();
        numbers.dedup();
        // A body puts the pair under the text weight: at 0 an embedding would
        // never be read, and it is the costly part.
        let wanted = text_terms.is_empty() || self.config.embedding_text_weight > 0.0;
        let embedding = match &self.embedder {
            Some(m) if wanted => {
                let input = embed::model_input(&a.title, &a.text);
                match self.precomputed.remove(&input) {
                    Some(e) => e,
                    None => m.embed(&a.title, &a.text).unwrap_or_else(|e| {
                        // One bad text should not stop ingestion: TF-IDF alone decides.
                        tracing::warn!(id = %a.id, "no embedding: {e}");
                        Vec::new()
                    }),
                }
            }
            _ => Vec::new(),
        };
        Prepared {
            id: a.id.clone(),
            canonical: url::canonical_url(&a.url),
            fingerprint: text::minhash(&text_tokens, self.config.copy_min_words),
            full: self.vector(&full),
            head: self.vector(&head),
            names: self.vector(&names),
            terms,
            numbers,
            long: text_terms.len() >= LONG_TERMS,
            body: !text_terms.is_empty(),
            time: a.published,
            embedding_keys: embed::lsh_keys(&embedding),
            embedding,
        }
    }

    /// A weighted vector back to term shares (weights without IDF), which the
    /// centroids sum so that they can be re-weighted as IDF changes.
    fn shares(&self, v: &[(u32, f32)]) -> Vec<(u32, f32)> {
        v.iter().map(|&(t, w)| (t, w / self.idf(t))).collect()
    }

    fn days_apart(&self, p: &Prepared, s: &Story) -> Option<f64> {
        let (t, (lo, hi)) = (p.time?, s.dated?);
        let gap = if t < lo {
            lo - t
        } else if t > hi {
            t - hi
        } else {
            0
        };
        Some(gap as f64 / 86_400.0)
    }

    fn numbers_conflict(p: &Prepared, s: &Story) -> bool {
        // Only when both sides state figures and share none of them.
        !p.numbers.is_empty()
            && s.titles_with_numbers > 0
            && !p.numbers.iter().any(|n| s.numbers.contains(n))
    }

    fn adjusted(&self, p: &Prepared, s: &Story) -> Option<(f64, f64)> {
        let days = self.days_apart(p, s);
        let window_days = self.config.window.as_secs_f64() / 86_400.0;
        if days.is_some_and(|d| d > window_days) {
            return None;
        }
        let idf = |t| self.idf(t);
        let vectors = self.story_vectors(s);
        let cos = if p.long && s.long_members > 0 {
            cosine_idf(vectors.full, &p.full, idf)
        } else {
            cosine_idf(vectors.head, &p.head, idf)
        };
        // Headlines against headlines score low even for one event; as soon as
        // one side has a body, the text threshold applies (measured on both sets).
        let mut threshold = if p.body || s.body_members > 0 {
            self.config.text_threshold
        } else {
            self.config.title_threshold
        };
        let w = self.config.name_weight;
        let names = cosine_idf(vectors.names, &p.names, idf);
        // Names weigh in only where a body is involved: the headline scale
        // (title_threshold) is calibrated without them.
        let mut score =
            if p.names.is_empty() || vectors.names.is_empty() || !(p.body || s.body_members > 0) {
                cos
            } else {
                (1.0 - w) * cos + w * names
            };
        // One shared word is how unrelated headlines meet ("first", "show"):
        // between headlines it is no evidence. Stories whose headlines share
        // little are brought together by `merge_similar` (or an embedding).
        if !(p.body || s.body_members > 0)
            && common(&p.head, vectors.head).count() < MIN_SHARED_HEADLINE_TERMS
        {
            score = 0.0;
        }
        if let Some(e) = s.embedding_cosine(&p.embedding) {
            // The two cosines err on different pairs (measured): a weighted
            // average, against a threshold of its own.
            let c = &self.config;
            let (b, t) = if p.body || s.body_members > 0 {
                (c.embedding_text_weight, c.embedding_text_threshold)
            } else {
                (c.embedding_title_weight, c.embedding_title_threshold)
            };
            if b > 0.0 {
                score = (1.0 - b) * score + b * e;
                threshold = t;
            }
        }
        tracing::trace!(id = %p.id, cos, names, "candidate");
        // Two days are free: outlets (and aggregators) follow an event up to a
        // couple of days later; beyond that a look-alike is the likelier reading.
        score -= self.config.day_penalty * (days.unwrap_or(0.0) - 2.0).max(0.0);
        if Self::numbers_conflict(p, s) {
            score -= self.config.number_penalty;
        }
        Some((score, threshold))
    }

    /// Decides the story of a prepared article without changing the window.
    pub fn decide(&self, p: &Prepared) -> Evidence {
        let mut ev = Evidence {
            layer: Layer::New,
            story: None,
            matched: None,
            score: 0.0,
            best_similarity: 0.0,
            merged: None,
        };
        if !self.config.enabled {
            return ev;
        }
        if let Some((story, id)) = p.canonical.as_ref().and_then(|c| self.urls.get(c)) {
            let story = self.resolve(*story);
            if self.stories.contains_key(&story) {
                ev.layer = Layer::Url;
                ev.story = Some(story);
                ev.matched = Some(id.clone());
                ev.score = 1.0;
                return ev;
            }
        }
        if let Some(sig) = &p.fingerprint {
            let mut best: Option<(f64, &Member)> = None;
            let mut seen = HashSet::new();
            for (band, key) in text::band_keys(sig).enumerate() {
                // Boilerplate shingles make some buckets crowded: the newest suffice.
                let mut next = self.bands.get(&key).copied().unwrap_or(NO_MEMBER);
                for _ in 0..BUCKET_READ {
                    let Some(m) = self.member(next) else { break };
                    let seq = next;
                    next = m.band_next.as_ref().map_or(NO_MEMBER, |links| links[band]);
                    if !seen.insert(seq) {
                        continue;
                    }
                    let Some(other) = &m.fingerprint else {
                        continue;
                    };
                    let sim = text::minhash_similarity(sig, other);
                    if sim >= self.config.copy_similarity && best.is_none_or(|b| sim > b.0) {
                        best = Some((sim, m));
                    }
                }
            }
            if let Some((sim, m)) = best {
                let story = self.resolve(m.story);
                if self.stories.contains_key(&story) {
                    ev.layer = Layer::NearCopy;
                    ev.story = Some(story);
                    ev.matched = Some(m.id.clone());
                    ev.score = sim;
                    return ev;
                }
            }
        }
        // Candidate stories through the most distinctive terms, ranked by a
        // partial dot product, then scored exactly.
        let mut query: Vec<(u32, f32)> = p.full.iter().chain(&p.head).copied().collect();
        query.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen_terms = HashSet::new();
        query.retain(|(t, _)| seen_terms.insert(*t));
        query.truncate(QUERY_TERMS);
        let mut ranked = self.rank_candidates(&query, None, CANDIDATES);
        // Paraphrased headlines may share no distinctive term: their embeddings'
        // buckets add the stories they collide with most.
        if !p.embedding_keys.is_empty() {
            let mut hits: HashMap<StoryId, u32> = HashMap::new();
            for key in &p.embedding_keys {
                let bucket = self
                    .embedding_buckets
                    .get(key)
                    .map_or(&[][..], Vec::as_slice);
                for s in bucket.iter().rev().take(embed::BUCKET_READ) {
                    *hits.entry(self.resolve(*s)).or_default() += 1;
                }
            }
            let mut by_hits: Vec<(StoryId, u32)> = hits.into_iter().collect();
            by_hits.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
            for (sid, _) in by_hits.into_iter().take(CANDIDATES) {
                if !ranked.iter().any(|(r, _)| *r == sid) {
                    ranked.push((sid, 0.0));
                }
            }
        }
        let mut best: Option<(f64, f64, StoryId)> = None;
        for (sid, _) in ranked {
            let Some(story) = self.stories.get(&sid) else {
                continue;
            };
            let Some((score, threshold)) = self.adjusted(p, story) else {
                continue;
            };
            // Compare margins so a text pair and a headline pair rank fairly.
            if best.is_none_or(|(bs, bt, _)| score - threshold > bs - bt) {
                best = Some((score, threshold, sid));
            }
        }
        if let Some((score, threshold, sid)) = best {
            tracing::debug!(id = %p.id, story = sid, score, threshold, "best candidate");
            ev.best_similarity = score;
            if score >= threshold {
                ev.layer = Layer::Similar;
                ev.story = Some(sid);
                ev.score = score;
            }
        }
        ev
    }

    /// Adds a prepared article to the window as a member of `story`, and drops
    /// articles that have left the window.
    pub fn admit(&mut self, p: Prepared, story: StoryId) {
        self.next_story = self.next_story.max(story + 1);
        let story = self.resolve(story);
        let (full, head, names) = (
            self.shares(&p.full),
            self.shares(&p.head),
            self.shares(&p.names),
        );
        for &t in &p.terms {
            if let Some(df) = self.df.get_mut(t as usize) {
                *df += 1;
                self.ln_df[t as usize] = (*df as f32 + 1.0).ln();
                self.last_used[t as usize] = self.docs;
            }
        }
        self.docs += 1;
        self.ln_docs = (self.docs as f32 + 1.0).ln();
        let clock = match p.time {
            Some(t) => t.max(self.clock),
            None => self.clock,
        };
        self.clock = clock;
        let seq = self.first_seq + self.members.len() as u64;
        // A story's first member stands for its centroid; the centroid is
        // built when a second one joins.
        let first = self
            .stories
            .get(&story)
            .and_then(|s| s.single)
            .and_then(|seq| self.member(seq))
            .map(|m| (m.full.clone(), m.head.clone(), m.names.clone()));
        let s = self.stories.entry(story).or_default();
        if s.members == 0 {
            s.single = Some(seq);
        } else {
            if let Some((f, h, n)) = first {
                s.full.add(&f, 1.0);
                s.head.add(&h, 1.0);
                s.names.add(&n, 1.0);
            }
            s.single = None;
            s.full.add(&full, 1.0);
            s.head.add(&head, 1.0);
            s.names.add(&names, 1.0);
        }
        s.add_embedding(&p.embedding, 1.0);
        s.members += 1;
        if p.body {
            s.body_members += 1;
        }
        if p.long {
            s.long_members += 1;
        }
        if let Some(t) = p.time {
            s.dated = Some(match s.dated {
                Some((lo, hi)) => (lo.min(t), hi.max(t)),
                None => (t, t),
            });
        }
        if !p.numbers.is_empty() {
            s.titles_with_numbers += 1;
            s.numbers.extend(p.numbers.iter().copied());
        }
        let mut query: Vec<(u32, f32)> = p.full.iter().chain(&p.head).copied().collect();
        query.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen_terms = HashSet::new();
        query.retain(|(t, _)| seen_terms.insert(*t));
        query.truncate(INDEX_TERMS);
        for (t, _) in query {
            let list = self.postings.entry(t).or_default();
            if list.last() != Some(&story) {
                list.push(story);
            }
            // Old postings are never read: keep the list bounded.
            if list.len() > 2 * POSTINGS_READ {
                list.drain(..list.len() - POSTINGS_READ);
            }
        }
        for key in &p.embedding_keys {
            let list = self.embedding_buckets.entry(*key).or_default();
            if list.last() != Some(&story) {
                list.push(story);
            }
            if list.len() > 2 * embed::BUCKET_READ {
                list.drain(..list.len() - embed::BUCKET_READ);
            }
        }
        if let Some(c) = &p.canonical {
            self.urls.insert(c.clone(), (story, p.id.clone()));
        }
        let band_next = p.fingerprint.as_ref().map(|sig| {
            let mut links = Box::new([NO_MEMBER; BANDS]);
            for (band, key) in text::band_keys(sig).enumerate() {
                links[band] = self.bands.insert(key, seq).unwrap_or(NO_MEMBER);
            }
            links
        });
        self.members.push_back(Member {
            story,
            id: p.id,
            canonical: p.canonical,
            fingerprint: p.fingerprint,
            band_next,
            full,
            head,
            names,
            long: p.long,
            body: p.body,
            clock: p.time.unwrap_or(clock),
            embedding: p.embedding,
        });
        self.expire();
        self.sweep_postings();
        self.sweep_vocab();
    }

    /// Drops posting lists that only name stories gone from the window, once
    /// per as many admissions as there are lists (so the cost per article stays
    /// flat): without it every term ever indexed would keep its list.
    fn sweep_postings(&mut self) {
        self.since_sweep += 1;
        if self.since_sweep < self.postings.len().max(4096) {
            return;
        }
        self.since_sweep = 0;
        let stories = &self.stories;
        let aliases = &self.aliases;
        let live = |s: &StoryId| stories.contains_key(&resolve_in(aliases, *s));
        self.postings.retain(|_, list| list.iter().any(live));
        // An alias is needed while the story that absorbed it lives.
        let absorbed: Vec<StoryId> = self.aliases.keys().copied().filter(|s| !live(s)).collect();
        for s in absorbed {
            self.aliases.remove(&s);
        }
    }

    /// The story an id stands for now, after merges.
    fn resolve(&self, story: StoryId) -> StoryId {
        resolve_in(&self.aliases, story)
    }

    fn member(&self, seq: u64) -> Option<&Member> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.members.get(i)
    }

    fn expire(&mut self) {
        let horizon = self
            .clock
            .saturating_sub(self.config.window.as_secs() as i64);
        while self.members.front().is_some_and(|m| m.clock < horizon) {
            let Some(m) = self.members.pop_front() else {
                break;
            };
            let seq = self.first_seq;
            self.first_seq += 1;
            let story = self.resolve(m.story);
            if let Some(s) = self.stories.get_mut(&story) {
                if s.single != Some(seq) {
                    s.full.add(&m.full, -1.0);
                    s.head.add(&m.head, -1.0);
                    s.names.add(&m.names, -1.0);
                }
                s.add_embedding(&m.embedding, -1.0);
                s.members -= 1;
                s.long_members -= usize::from(m.long);
                s.body_members -= usize::from(m.body);
                if s.members == 0 {
                    self.stories.remove(&story);
                }
            }
            if let Some(c) = &m.canonical {
                if self.urls.get(c).is_some_and(|(_, id)| *id == m.id) {
                    self.urls.remove(c);
                }
            }
            if let Some(sig) = &m.fingerprint {
                // Older members of a bucket left before this one: a bucket whose
                // newest member leaves is empty.
                for key in text::band_keys(sig) {
                    if self.bands.get(&key) == Some(&seq) {
                        self.bands.remove(&key);
                    }
                }
            }
        }
    }

    /// Merges `story`, which has just gained a member, with the most similar
    /// other headline-only story, when their centroids are close enough:
    /// single-pass clustering splits a story whose first headlines share few
    /// words, and two grown centroids say more than any one headline does.
    /// The older story (lower id) absorbs the younger. A story with a body
    /// instead takes in a lone article that would now join it
    /// ([`Engine::take_in_single`]). `merge_threshold = 0` turns both off.
    pub fn merge_similar(&mut self, story: StoryId) -> Option<Merge> {
        let threshold = self.config.merge_threshold;
        if !self.config.enabled || threshold <= 0.0 {
            return None;
        }
        let story = self.resolve(story);
        let s = self.stories.get(&story)?;
        // Full-text stories are not merged: on ECB+ every merge threshold that
        // joined split stories also joined look-alike events (measured). Only
        // an article left alone is decided again, by the rule that joins.
        if s.body_members > 0 {
            return self.take_in_single(story);
        }
        let head = self.story_vectors(s).head;
        let ranked = self.stories_near(head, story);
        let window_days = self.config.window.as_secs_f64() / 86_400.0;
        let idf = |t| self.idf(t);
        let mut best: Option<(f64, StoryId)> = None;
        for (oid, _) in ranked {
            let Some(o) = self.stories.get(&oid) else {
                continue;
            };
            if o.body_members > 0 {
                continue;
            }
            let days = match (s.dated, o.dated) {
                (Some((lo, hi)), Some((olo, ohi))) => {
                    Some((olo - hi).max(lo - ohi).max(0) as f64 / 86_400.0)
                }
                _ => None,
            };
            if days.is_some_and(|d| d > window_days) {
                continue;
            }
            let score = cosine_shares(head, self.story_vectors(o).head, idf)
                - self.config.day_penalty * (days.unwrap_or(0.0) - 2.0).max(0.0);
            if score >= threshold && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, oid));
            }
        }
        let (score, other) = best?;
        let (survivor, absorbed) = (story.min(other), story.max(other));
        tracing::debug!(survivor, absorbed, score, "stories merged");
        self.absorb(survivor, absorbed);
        Some(Merge {
            absorbed,
            survivor,
            score,
        })
    }

    /// The stories other than `story` that the heaviest terms of its centroid
    /// `shares` lead to (the candidates of both kinds of merge).
    fn stories_near(&self, shares: &[(u32, f32)], story: StoryId) -> Vec<(StoryId, f32)> {
        let mut query: Vec<(u32, f32)> =
            shares.iter().map(|&(t, c)| (t, c * self.idf(t))).collect();
        query.sort_by(|a, b| b.1.total_cmp(&a.1));
        query.truncate(MERGE_QUERY_TERMS);
        self.rank_candidates(&query, Some(story), MERGE_CANDIDATES)
    }

    /// Decides again, against `story` as it stands now, the articles that
    /// opened a story nobody joined: one that would join it today moves in.
    /// An early decision saw only the story's first member.
    fn take_in_single(&mut self, story: StoryId) -> Option<Merge> {
        let s = self.stories.get(&story)?;
        if s.members < 2 {
            return None;
        }
        let full = self.story_vectors(s).full;
        let ranked = self.stories_near(full, story);
        let mut best: Option<(f64, f64, StoryId)> = None;
        for (oid, _) in ranked {
            let Some(o) = self.stories.get(&oid) else {
                continue;
            };
            let Some(m) = o.single.and_then(|seq| self.member(seq)) else {
                continue;
            };
            let p = self.prepared_again(m, o);
            let Some((score, threshold)) = self.adjusted(&p, s) else {
                continue;
            };
            let margin = score - threshold;
            if margin >= REDECIDE_MARGIN && best.is_none_or(|(b, _, _)| margin > b) {
                best = Some((margin, score, oid));
            }
        }
        let (_, score, single) = best?;
        tracing::debug!(story, single, score, "lone article moved in");
        self.absorb(story, single);
        Some(Merge {
            absorbed: single,
            survivor: story,
            score,
        })
    }

    /// The features of a stored lone member, weighted by today's IDF, as
    /// `adjusted` reads an arriving article's.
    fn prepared_again(&self, m: &Member, s: &Story) -> Prepared {
        let weigh = |shares: &[(u32, f32)]| {
            let mut v: Vec<(u32, f32)> =
                shares.iter().map(|&(t, c)| (t, c * self.idf(t))).collect();
            let n = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if n > 0.0 {
                v.iter_mut().for_each(|(_, w)| *w /= n);
            }
            v
        };
        let mut numbers: Vec<u32> = s.numbers.iter().copied().collect();
        numbers.sort_unstable();
        Prepared {
            id: m.id.clone(),
            canonical: None,
            fingerprint: None,
            full: weigh(&m.full),
            head: weigh(&m.head),
            names: weigh(&m.names),
            terms: Vec::new(),
            numbers,
            long: m.long,
            body: m.body,
            time: s.dated.map(|(lo, _)| lo),
            embedding: m.embedding.clone(),
            embedding_keys: Vec::new(),
        }
    }

    /// The `n` stories that the newest postings of the `query` terms name with
    /// the highest summed weight, by the ids they hold now (postings are
    /// rewritten on merge, so only a few entries still name an absorbed story
    /// and need resolving), without `exclude`.
    fn rank_candidates(
        &self,
        query: &[(u32, f32)],
        exclude: Option<StoryId>,
        n: usize,
    ) -> Vec<(StoryId, f32)> {
        let mut partial: HashMap<StoryId, f32> = HashMap::new();
        for (t, w) in query {
            if let Some(list) = self.postings.get(t) {
                for s in list.iter().rev().take(POSTINGS_READ) {
                    *partial.entry(*s).or_default() += w;
                }
            }
        }
        let mut ranked: Vec<(StoryId, f32)> = partial.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        let mut out: Vec<(StoryId, f32)> = Vec::with_capacity(n);
        for (sid, score) in ranked {
            let sid = self.resolve(sid);
            if Some(sid) != exclude && !out.iter().any(|(s, _)| *s == sid) {
                out.push((sid, score));
                if out.len() == n {
                    break;
                }
            }
        }
        out
    }

    /// Moves story `absorbed` into `survivor`: centroids, counts and dates add up.
    fn absorb(&mut self, survivor: StoryId, absorbed: StoryId) {
        let Some(gone) = self.stories.remove(&absorbed) else {
            return;
        };
        let gone_vectors = self.owned_vectors(&gone);
        let Some(kept) = self.stories.get(&survivor) else {
            self.stories.insert(absorbed, gone);
            return;
        };
        let kept_single = kept.single.is_some().then(|| self.owned_vectors(kept));
        let Some(s) = self.stories.get_mut(&survivor) else {
            return;
        };
        if let Some([f, h, n]) = kept_single {
            s.full = Centroid(f);
            s.head = Centroid(h);
            s.names = Centroid(n);
            s.single = None;
        }
        let [f, h, n] = gone_vectors;
        // The absorbed story's members were indexed under terms of its centroid:
        // their postings now name the survivor, so candidate search need not
        // resolve aliases (terms pruned from a big centroid keep the old id).
        for (t, _) in f.iter().chain(&h) {
            let Some(list) = self.postings.get_mut(t) else {
                continue;
            };
            // One entry for the merged story, at the newer place (lists are read newest first).
            let ours = |id: &StoryId| *id == absorbed || *id == survivor;
            let Some(last) = list.iter().rposition(ours) else {
                continue;
            };
            let mut i = 0;
            list.retain(|id| {
                i += 1;
                i - 1 == last || !ours(id)
            });
            if let Some(id) = list.iter_mut().rev().find(|id| **id == absorbed) {
                *id = survivor;
            }
        }
        let Some(s) = self.stories.get_mut(&survivor) else {
            return;
        };
        s.full.add(&f, 1.0);
        s.head.add(&h, 1.0);
        s.names.add(&n, 1.0);
        if !gone.embedding.is_empty() {
            if s.embedding.len() == gone.embedding.len() {
                s.embedding
                    .iter_mut()
                    .zip(&gone.embedding)
                    .for_each(|(a, b)| *a += b);
            } else if s.embedded_members == 0 {
                s.embedding = gone.embedding;
            }
            s.embedded_members += gone.embedded_members;
        }
        s.members += gone.members;
        s.long_members += gone.long_members;
        s.body_members += gone.body_members;
        s.dated = match (s.dated, gone.dated) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        s.numbers.extend(gone.numbers);
        s.titles_with_numbers += gone.titles_with_numbers;
        self.aliases.insert(absorbed, survivor);
    }

    /// A story's vectors as owned copies (its centroid, or its only member's).
    fn owned_vectors(&self, s: &Story) -> [Vec<(u32, f32)>; 3] {
        let v = self.story_vectors(s);
        [v.full.to_vec(), v.head.to_vec(), v.names.to_vec()]
    }

    /// Assigns an article: joins a story or opens a new one (numbered by the engine).
    pub fn assign(&mut self, a: &Article) -> Evidence {
        let p = self.prepare(a);
        let mut ev = self.decide(&p);
        let story = match ev.story {
            Some(s) => s,
            None => {
                let s = self.next_story;
                ev.story = Some(s);
                s
            }
        };
        self.admit(p, story);
        ev.merged = self.merge_similar(story);
        ev
    }

    /// The evidence between two articles as if `b` arrived with `a` alone in its story.
    pub fn compare(&mut self, a: &Article, b: &Article) -> PairEvidence {
        let pa = self.prepare(a);
        let pb = self.prepare(b);
        let mut single = Story {
            members: 1,
            ..Story::default()
        };
        single.full.add(&self.shares(&pa.full), 1.0);
        single.head.add(&self.shares(&pa.head), 1.0);
        single.names.add(&self.shares(&pa.names), 1.0);
        single.add_embedding(&pa.embedding, 1.0);
        single.long_members = usize::from(pa.long);
        single.body_members = usize::from(pa.body);
        single.dated = pa.time.map(|t| (t, t));
        if !pa.numbers.is_empty() {
            single.titles_with_numbers = 1;
            single.numbers.extend(pa.numbers.iter().copied());
        }
        let copy_similarity = match (&pa.fingerprint, &pb.fingerprint) {
            (Some(x), Some(y)) => Some(text::minhash_similarity(x, y)),
            _ => None,
        };
        let adjusted = self.adjusted(&pb, &single);
        let (adj, threshold) = adjusted.unwrap_or((0.0, self.config.text_threshold));
        let layer = if !self.config.enabled {
            Layer::New
        } else if pa.canonical.is_some() && pa.canonical == pb.canonical {
            Layer::Url
        } else if copy_similarity.is_some_and(|s| s >= self.config.copy_similarity) {
            Layer::NearCopy
        } else if adjusted.is_some() && adj >= threshold {
            Layer::Similar
        } else {
            Layer::New
        };
        PairEvidence {
            copy_similarity,
            full_cosine: dot(&pa.full, &pb.full),
            head_cosine: dot(&pa.head, &pb.head),
            embedding_cosine: (!pa.embedding.is_empty() && !pb.embedding.is_empty())
                .then(|| embed::cosine(&pa.embedding, &pb.embedding)),
            days_apart: self.days_apart(&pb, &single),
            conflicting_numbers: Self::numbers_conflict(&pb, &single),
            adjusted: adj,
            threshold,
            layer,
            canonical: (pa.canonical, pb.canonical),
        }
    }
}

/// What the representative choice knows of one member of a story.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Outlet name.
    pub source: &'a str,
    /// Words of plain text (title excluded).
    pub words: usize,
    /// Publication (or first-seen) time.
    pub time: i64,
}

/// Index of the representative: the most complete text; among texts of about
/// the same length (within 10 %), the preferred outlet, then the earliest.
pub fn representative(members: &[Candidate<'_>], prefer: &[String]) -> Option<usize> {
    let longest = members.iter().map(|m| m.words).max()?;
    let rank = |s: &str| {
        prefer
            .iter()
            .position(|p| p.eq_ignore_ascii_case(s))
            .unwrap_or(usize::MAX)
    };
    members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.words * 10 >= longest * 9)
        .min_by_key(|(i, m)| (rank(m.source), m.time, *i))
        .map(|(i, _)| i)
}

#[cfg(test)]
pub(crate) mod tests;
