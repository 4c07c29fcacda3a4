//! Story dedup: which story does a new article belong to?
//!
//! Pure (no network, no SQLite): a [`DedupArticle`] and the recent window held by an
//! [`Engine`] in, a [`StoryId`] decision and its [`Evidence`] out. Layers, cheapest
//! and surest first:
//! 1. the same canonical URL ([`url::canonical_url`]);
//! 2. a near-copy: MinHash of word shingles, most of them shared (syndicated wire copy);
//! 3. the same event in other words (title, URL slug and text): cosine of TF-IDF vectors against each story's
//!    centroid, within the time window, candidates found through an inverted index
//!    over each article's most distinctive terms (so the cost per article does not
//!    grow with the number of stored articles).
//!
//! A source's template (words in nearly every one of its recent items) is no
//! evidence, and scores against a source whose items all resemble each other
//! count only above that likeness ([`template`]). The work per article is capped
//! whatever the text ([`Cost`]: terms, postings, candidates, signatures read).
//!
//! Look-alike events (same people and places, another day or another place) are
//! kept apart by a time penalty, and by a number guard: titles that state
//! different figures (magnitudes, tolls, scores, years) need more evidence.
//!
//! With the `embed` feature and `embedding_model` set, layer 3 also compares
//! sentence embeddings ([`embed`]) of headline-only articles and decides on a
//! weighted average of the two cosines; candidates come from the term index and
//! from LSH buckets of the embeddings, both read to a fixed depth.
//!
//! Layout: [`Engine`] and the public types here; `prepare` turns an article
//! into features (the statistics-free half in [`Analyser`], safe off-lock),
//! `decide` picks the story, `window` keeps the window and its indexes,
//! `merge` joins stories found to be one, `refine` and `reassign` look at a
//! cycle's stories again (splits, then moves between stories) over the
//! articles `scope` gathers, `vocab` the term statistics and `vectors` the
//! sparse-vector maths.

mod decide;
pub mod embed;
mod gap;
mod merge;
mod prepare;
mod reassign;
mod refine;
mod revise;
mod scope;
mod template;
pub mod text;
pub mod url;
mod vectors;
mod vocab;
mod window;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fxhash::FxHashMap;
use serde::Serialize;

pub use prepare::{Analysed, Analyser, Prepared};
pub use refine::{Move, Refinement, Target, MAX_PAIRS};
pub use revise::{article_hash, Revision};
use vocab::{MIN_IDLE_DOCS, MIN_SWEEP_VOCAB};
use window::{Member, WindowStory};

/// A story id, as the caller numbers stories (the store uses its row ids).
pub type StoryId = i64;

/// Tunables of the dedup stage (the `[dedup]` section of feeds.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct DedupConfig {
    /// When false, every article is its own story.
    pub enabled: bool,
    /// Only stories with an article this recent (by its date, or by when it
    /// was fetched: [`Engine::set_now`]) can gain new members.
    pub window: Duration,
    /// The most articles the window holds: past it the oldest leave early, so
    /// memory stays bounded when sources publish faster than the window expects.
    pub window_articles: usize,
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
            // About 200 MB of window (measured with `bench_dedup`).
            window_articles: 100_000,
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

/// One article as story dedup sees it: plain text with its outlet, URL and date
/// (not the extractor's `extract::Article`, which carries the page's HTML).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DedupArticle {
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

/// What one decision read: each count has a fixed cap, whatever the text
/// and however crowded the window (see the README, "Story dedup").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Terms whose posting lists were read (at most 32).
    pub terms: usize,
    /// Postings read over those lists (at most 64 per term).
    pub postings: usize,
    /// Stories scored exactly (at most 8, and 24 more from embedding buckets).
    pub candidates: usize,
    /// Members whose MinHash signature was compared (at most 32 per LSH band).
    pub signatures: usize,
}

/// The streaming clusterer: holds the recent window and its indexes.
pub struct Engine {
    config: DedupConfig,
    /// The text work of `prepare` (shares the config's `copy_min_words`).
    analyser: Analyser,
    vocab: FxHashMap<Box<str>, u32>,
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
    /// Members whose text was replaced since the last refinement
    /// ([`Engine::revise_with`]), by sequence number: refined with the new ones.
    revised: Vec<u64>,
    stories: FxHashMap<StoryId, WindowStory>,
    /// Canonical URL → the story and sequence number of the newest member
    /// with it (whose id the layer reports).
    urls: HashMap<Arc<str>, (StoryId, u64)>,
    /// MinHash LSH: band key → the newest member in that bucket (by sequence
    /// number); older ones are chained through `Fingerprint::next`.
    bands: window::BandTable,
    /// Sequence number of the oldest member in `members`.
    first_seq: u64,
    /// Term → the stories indexed under it ([`window::posting`]), newest last.
    postings: FxHashMap<u32, Vec<u32>>,
    /// Admissions since posting lists of expired stories were last dropped.
    since_sweep: usize,
    /// Embedding LSH: bucket key → stories, newest last.
    embedding_buckets: HashMap<u64, Vec<StoryId>>,
    /// The newest article date seen, or `now` if later: the window ends a
    /// window's length before it.
    clock: i64,
    /// The time the caller last said it is ([`Engine::set_now`]); no article
    /// admitted after that leaves the window before a window past it.
    now: i64,
    next_story: StoryId,
    /// Stories absorbed by a merge → the story that absorbed them (see
    /// [`Engine::merge_similar`]); members and postings keep the old id.
    aliases: HashMap<StoryId, StoryId>,
    /// The sentence-embedding model, when configured.
    embedder: Option<Arc<embed::Embedder>>,
    /// Embeddings computed before the caller took its lock, by model input.
    precomputed: HashMap<String, Vec<f32>>,
    /// Sequence number of the first member not yet refined ([`Engine::refine`]).
    refined_upto: u64,
    /// What the last decision read (see [`Engine::last_cost`]).
    cost: std::cell::Cell<Cost>,
    /// Each named source's recent terms and template ([`template`]).
    sources: FxHashMap<Arc<str>, template::SourceTerms>,
    /// [`Engine::rank_candidates`]'s partial scores, kept between calls so
    /// that each call does not allocate and clear a table of its own.
    partial: std::cell::RefCell<FxHashMap<u32, f32>>,
    /// [`Engine::rank_candidates`]'s stories in rank order, kept between calls
    /// too: a fresh vector of a few thousand entries per call was a large
    /// allocation each time, and freeing it made the allocator consolidate.
    ranked: std::cell::RefCell<Vec<(u32, f32)>>,
}

/// Precomputed embeddings kept at most (left-overs are dropped past it).
const PRECOMPUTED_MAX: usize = 4096;

impl Engine {
    /// An empty engine, without the embedding model (see [`Engine::open`]).
    pub fn new(config: DedupConfig) -> Engine {
        Engine {
            analyser: Analyser::new(&config),
            config,
            vocab: FxHashMap::default(),
            df: Vec::new(),
            ln_df: Vec::new(),
            last_used: Vec::new(),
            free_ids: Vec::new(),
            swept_vocab: 0,
            vocab_limits: (MIN_SWEEP_VOCAB, MIN_IDLE_DOCS),
            docs: 0,
            ln_docs: 0.0,
            members: VecDeque::new(),
            revised: Vec::new(),
            stories: FxHashMap::default(),
            urls: HashMap::new(),
            bands: window::BandTable::default(),
            first_seq: 0,
            postings: FxHashMap::default(),
            since_sweep: 0,
            embedding_buckets: HashMap::new(),
            clock: i64::MIN,
            now: i64::MIN,
            next_story: 1,
            aliases: HashMap::new(),
            embedder: None,
            precomputed: HashMap::new(),
            refined_upto: 0,
            sources: FxHashMap::default(),
            cost: Default::default(),
            partial: Default::default(),
            ranked: Default::default(),
        }
    }

    /// An empty engine with the embedding model of `config.embedding_model`
    /// loaded, when set (an error without the `embed` feature).
    pub fn open(config: DedupConfig) -> Result<Engine, embed::EmbedError> {
        let embedder = match &config.embedding_model {
            Some(dir) => Some(Arc::new(embed::Embedder::load(dir)?)),
            None => None,
        };
        let engine = Engine::new(config);
        Ok(match embedder {
            Some(model) => engine.with_embedder(model),
            None => engine,
        })
    }

    /// The same engine using an already loaded model (shared, no lock).
    pub fn with_embedder(mut self, embedder: Arc<embed::Embedder>) -> Engine {
        self.embedder = Some(embedder);
        self.analyser.for_embedding = true;
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

    /// What the last [`Engine::decide`] read: the per-article work, bounded.
    pub fn last_cost(&self) -> Cost {
        self.cost.get()
    }

    /// Assigns an article: joins a story or opens a new one (numbered by the engine).
    pub fn assign(&mut self, a: &DedupArticle) -> Evidence {
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
