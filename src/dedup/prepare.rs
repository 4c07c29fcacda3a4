//! An article's features, in two halves: the text work that needs no window
//! statistics ([`Analyser::analyse`], safe on any thread before the engine is
//! locked), then the weighting against the window ([`Engine::prepare_analysed`]).

use fxhash::FxHashMap as HashMap;
use std::sync::Arc;

use super::text::{self, Normalizer};
use super::window::top_terms;
use super::{embed, url, DedupArticle, DedupConfig, Engine};

/// Terms kept per article vector.
const VECTOR_TERMS: usize = 64;
/// Words of the text that form the lead.
const LEAD_WORDS: usize = 40;
/// An article with at least this many body terms is compared on its whole
/// text; below, on title + lead (measured: comparing any body in full is best).
const LONG_TERMS: usize = 1;
/// Headline terms count this many times in the vectors.
const TITLE_WEIGHT: f32 = 2.0;

/// Features of one article, computed once.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The article's id.
    pub(super) id: String,
    /// Its canonical URL, if any.
    pub(super) canonical: Option<String>,
    /// Its MinHash signature, when the text is long enough.
    pub(super) fingerprint: Option<Box<[u16; text::MINHASH_SIZE]>>,
    /// TF-IDF over title and text, L2-normalised, sorted by term id.
    pub(super) full: Vec<(u32, f32)>,
    /// The same over title and lead: compared when one side is short.
    pub(super) head: Vec<(u32, f32)>,
    /// Names and numbers only: the look-alike guard.
    pub(super) names: Vec<(u32, f32)>,
    /// Distinct terms, to update document frequencies once admitted.
    pub(super) terms: Vec<u32>,
    /// Numbers stated in the title.
    pub(super) numbers: Vec<u32>,
    /// Compared on its whole text (else on title and lead).
    pub(super) long: bool,
    /// Has any body text (not just a headline).
    pub(super) body: bool,
    /// Publication time, Unix seconds.
    pub(super) time: Option<i64>,
    /// Normalised sentence embedding; empty without a model.
    pub(super) embedding: Vec<f32>,
    /// Its LSH bucket keys ([`embed::lsh_keys`]).
    pub(super) embedding_keys: Vec<u64>,
    /// Its outlet (empty: unknown), whose recent items teach the template.
    pub(super) source: String,
    /// The source's template terms left out of the vectors, sorted (usually
    /// none): stories are compared without them too.
    pub(super) template: Vec<u32>,
    /// Its distinct terms, heaviest first ([`super::window::heaviest_terms`]),
    /// ranked once by `prepare` for both the decision and the admission.
    pub(super) heaviest: Option<Vec<(u32, f32)>>,
    /// A hash of its title and text ([`super::revise::article_hash`]): an
    /// edit that changes neither is not one dedup needs to hear of.
    pub(super) text_hash: u64,
}

impl Prepared {
    /// The same features under another article id (the store learns the row id
    /// only after deciding).
    pub fn with_id(mut self, id: String) -> Prepared {
        self.id = id;
        self
    }

    /// The hash of its title and text ([`super::article_hash`]), stored with
    /// the item as the text its decision judged.
    pub fn text_hash(&self) -> u64 {
        self.text_hash
    }

    /// The same features with a sentence embedding computed elsewhere (on
    /// another thread, or cached); it must come from the same model.
    pub fn with_embedding(mut self, embedding: Vec<f32>) -> Prepared {
        self.embedding_keys = embed::lsh_keys(&embedding);
        self.embedding = embedding;
        self
    }
}

/// The statistics-free half of [`Engine::prepare`]: terms, fingerprint and
/// canonical URL. Cheap to clone, and usable on any thread without the engine.
#[derive(Clone)]
pub struct Analyser {
    norm: Arc<Normalizer>,
    copy_min_words: usize,
    /// Keep the title and text for an embedding model; without one they are
    /// never read, so they are not copied.
    pub(super) for_embedding: bool,
}

/// An article as [`Analyser::analyse`] leaves it, for [`Engine::prepare_analysed`].
#[derive(Debug, Clone)]
pub struct Analysed {
    id: String,
    source: String,
    published: Option<i64>,
    /// Title and text stay for the embedding (looked up or computed by the
    /// engine); empty when the engine has no model.
    title: String,
    text: String,
    canonical: Option<String>,
    fingerprint: Option<Box<[u16; text::MINHASH_SIZE]>>,
    /// Title terms, each with whether it states a number.
    title_terms: Vec<(String, bool)>,
    /// Terms of the URL slug.
    slug_terms: Vec<String>,
    /// Distinct terms of the body in the order they first occur, with how
    /// often each occurs in the whole body and in its lead. Counted here, not
    /// kept one string per word: analysed items wait for the engine's lock, and
    /// a word list costs several times the text.
    text_terms: Vec<(String, f32, f32)>,
    /// Words in the body that are terms.
    text_len: usize,
    /// Distinct terms of the names and figures, first occurrence first, with counts.
    name_terms: Vec<(String, f32)>,
    /// [`Prepared::text_hash`].
    text_hash: u64,
}

impl Analyser {
    /// The analyser an engine with `config` uses.
    pub(super) fn new(config: &DedupConfig) -> Analyser {
        Analyser {
            norm: Arc::new(Normalizer::default()),
            copy_min_words: config.copy_min_words,
            for_embedding: false,
        }
    }

    /// Does the text work of preparing `a`: tokens, terms, stems, fingerprint, canonical URL.
    pub fn analyse(&self, a: &DedupArticle) -> Analysed {
        let norm = &self.norm;
        let text_tokens = text::tokens(&a.text);
        let title_tokens = text::tokens(&a.title);
        // Another language's function words ("de", "het") are no terms
        // either: they would make unrelated headlines share words.
        let language = norm.language(title_tokens.iter().chain(text_tokens.iter()));
        let title_terms = norm
            .terms_in(&a.title, language)
            .into_iter()
            .map(|t| {
                let number = t.chars().any(|c| c.is_ascii_digit());
                (t, number)
            })
            .collect();
        // A URL slug is often a fuller headline than the title itself ("Q & A
        // on bitcoins" at /hackers-leak-mt-gox-database): its words count once,
        // like the lead's (measured: +0.012 B-cubed F1 on headline-only uci-dev).
        let slug_terms = url::slug_words(&a.url)
            .iter()
            .filter_map(|t| norm.with_term_in(t, language, |term| term.map(String::from)))
            .collect();
        // Headlines are often in Title Case: only a body's capitals say "name"
        // (measured: title "names" only re-weigh the title, and cost on uci-dev),
        // and those of a title-only item's title written as a sentence (a lead
        // standing in for the text: ecbplus-dev 0.906 -> 0.913).
        let title_names = if a.text.trim().is_empty() && text::sentence_case(&a.title) {
            text::entity_tokens(&a.title)
        } else {
            text::Tokens::default()
        };
        let text_names = text::entity_tokens(&a.text);
        let names = text_names.iter().chain(title_names.iter());
        let name_terms = counted(norm, language, names).0;
        let name_terms = name_terms.into_iter().map(|(t, n, _)| (t, n)).collect();
        let (text_terms, text_len) = counted(norm, language, text_tokens.iter());
        Analysed {
            id: a.id.clone(),
            source: a.source.clone(),
            published: a.published,
            title: if self.for_embedding {
                a.title.clone()
            } else {
                String::new()
            },
            text: if self.for_embedding {
                a.text.clone()
            } else {
                String::new()
            },
            canonical: url::canonical_url(&a.url),
            fingerprint: text::minhash(&text_tokens, self.copy_min_words),
            title_terms,
            slug_terms,
            text_terms,
            text_len,
            name_terms,
            text_hash: super::revise::article_hash(&a.title, &a.text),
        }
    }
}

/// An article's term counts by term id, before weighting.
struct TermCounts {
    full: HashMap<u32, f32>,
    head: HashMap<u32, f32>,
    names: HashMap<u32, f32>,
    /// Ids of the title's numbers, sorted, distinct.
    numbers: Vec<u32>,
}

impl Engine {
    /// A handle on the text work of [`Engine::prepare`], to run on any thread
    /// before taking the engine's lock.
    pub fn analyser(&self) -> Analyser {
        self.analyser.clone()
    }

    /// Computes an article's features against the current window statistics.
    pub fn prepare(&mut self, a: &DedupArticle) -> Prepared {
        let analysed = self.analyser.analyse(a);
        self.prepare_analysed(analysed)
    }

    /// Finishes [`Engine::prepare`] for an article analysed beforehand: moves
    /// the clock, interns the terms, weighs them and finds the embedding.
    pub fn prepare_analysed(&mut self, a: Analysed) -> Prepared {
        // Time moves on with each dated article: what left the window can no
        // longer be matched, by any layer.
        if let Some(t) = a.published {
            self.advance_clock(t);
        }
        let mut counts = self.count_terms(&a);
        let mut terms: Vec<u32> = counts
            .full
            .keys()
            .chain(counts.names.keys())
            .copied()
            .collect();
        terms.dedup();
        terms.sort_unstable();
        terms.dedup();
        let template = if a.text_len > 0 {
            self.strip_template(&a.source, &mut counts)
        } else {
            Vec::new()
        };
        let embedding = self.embedding_of(&a);
        let mut p = Prepared {
            full: self.vector(&counts.full),
            head: self.vector(&counts.head),
            names: self.vector(&counts.names),
            terms,
            numbers: counts.numbers,
            long: a.text_len >= LONG_TERMS,
            body: a.text_len > 0,
            time: a.published,
            embedding_keys: embed::lsh_keys(&embedding),
            embedding,
            id: a.id,
            canonical: a.canonical,
            fingerprint: a.fingerprint,
            source: a.source,
            template,
            heaviest: None,
            text_hash: a.text_hash,
        };
        p.heaviest = Some(top_terms(&p, usize::MAX));
        p
    }

    /// Leaves the source's template terms out of an article's counts (see
    /// [`super::template`]); returns those it knows for the source, sorted.
    fn strip_template(&self, source: &str, counts: &mut TermCounts) -> Vec<u32> {
        let Some(known) = self.sources.get(source).filter(|s| s.has_template()) else {
            return Vec::new();
        };
        let keep = |t: &u32, _: &mut f32| !known.is_template(*t);
        counts.full.retain(keep);
        counts.head.retain(keep);
        counts.names.retain(keep);
        known.template().to_vec()
    }

    /// Interns an article's terms and counts them. The order of interning
    /// (title, slug, text, names) decides the ids of new terms.
    fn count_terms(&mut self, a: &Analysed) -> TermCounts {
        // Every term at most once: `full` never grows (the maps' order is never read).
        let terms = a.title_terms.len() + a.slug_terms.len() + a.text_terms.len();
        let mut full: HashMap<u32, f32> =
            HashMap::with_capacity_and_hasher(terms, Default::default());
        let mut head: HashMap<u32, f32> = HashMap::default();
        let mut numbers = Vec::new();
        for (t, number) in &a.title_terms {
            let id = self.term_id(t);
            *full.entry(id).or_default() += TITLE_WEIGHT;
            *head.entry(id).or_default() += TITLE_WEIGHT;
            if *number {
                numbers.push(id);
            }
        }
        for t in &a.slug_terms {
            let id = self.term_id(t);
            *full.entry(id).or_default() += 1.0;
            *head.entry(id).or_default() += 1.0;
        }
        for (t, in_text, in_lead) in &a.text_terms {
            let id = self.term_id(t);
            *full.entry(id).or_default() += in_text;
            if *in_lead > 0.0 {
                *head.entry(id).or_default() += in_lead;
            }
        }
        let mut names: HashMap<u32, f32> = HashMap::default();
        for (t, n) in &a.name_terms {
            let id = self.term_id(t);
            *names.entry(id).or_default() += n;
        }
        numbers.sort_unstable();
        numbers.dedup();
        TermCounts {
            full,
            head,
            names,
            numbers,
        }
    }

    /// The article's sentence embedding, when a model is loaded and it would
    /// be read: remembered from before the caller's lock, or computed now.
    fn embedding_of(&mut self, a: &Analysed) -> Vec<f32> {
        // A body puts the pair under the text weight: at 0 an embedding would
        // never be read, and it is the costly part.
        let wanted = a.text_len == 0 || self.config.embedding_text_weight > 0.0;
        match &self.embedder {
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
        }
    }

    /// An article's TF-IDF vector from its term counts: the heaviest
    /// `VECTOR_TERMS`, L2-normalised, sorted by term id.
    fn vector(&self, counts: &HashMap<u32, f32>) -> Vec<(u32, f32)> {
        let mut v: Vec<(u32, f32)> = counts
            .iter()
            .map(|(&t, &tf)| (t, (1.0 + tf.ln()) * self.idf(t)))
            .collect();
        // Heaviest first, ties by id: a total order (ids are distinct), so
        // selecting the head before sorting it keeps the same terms in the
        // same order (the norm below sums in it) without sorting the tail.
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if v.len() > VECTOR_TERMS {
            v.select_nth_unstable_by(VECTOR_TERMS, order);
            v.truncate(VECTOR_TERMS);
        }
        v.sort_unstable_by(order);
        let n = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= n);
        }
        v.sort_by_key(|(t, _)| *t);
        v
    }
}

/// The distinct terms of some tokens in the order they first occur (interning
/// them in this order gives new terms the ids the word-by-word order gives),
/// each with its count and its count in the first `LEAD_WORDS` terms; and how
/// many of the tokens are terms. Terms are looked at where the normaliser
/// keeps them and copied once per distinct term, not once per word.
fn counted<'a>(
    norm: &Normalizer,
    language: text::Language,
    tokens: impl Iterator<Item = &'a str>,
) -> (Vec<(String, f32, f32)>, usize) {
    let mut at: HashMap<Box<str>, usize> = HashMap::default();
    let mut counts: Vec<(f32, f32)> = Vec::new();
    let mut words = 0;
    for token in tokens {
        norm.with_term_in(token, language, |term| {
            let Some(term) = term else { return };
            let lead = if words < LEAD_WORDS { 1.0 } else { 0.0 };
            words += 1;
            match at.get(term) {
                Some(&j) => {
                    counts[j].0 += 1.0;
                    counts[j].1 += lead;
                }
                None => {
                    at.insert(term.into(), counts.len());
                    counts.push((1.0, lead));
                }
            }
        });
    }
    let mut terms: Vec<String> = vec![String::new(); counts.len()];
    for (term, j) in at {
        terms[j] = term.into_string();
    }
    let out = terms
        .into_iter()
        .zip(counts)
        .map(|(t, (n, lead))| (t, n, lead))
        .collect();
    (out, words)
}
