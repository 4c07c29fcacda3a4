//! The decision: which story a prepared article joins, by which layer.

use std::collections::HashMap;

use super::vectors::{common, cosine_idf, dot, Terms};
use super::window::{heaviest_terms, Member, StoryVectors, WindowStory, NO_MEMBER};
use super::{
    embed, template, text, Cost, DedupArticle, Engine, Evidence, Layer, PairEvidence, Prepared,
    StoryId,
};

/// Terms of a new article used to retrieve candidates (its most distinctive ones).
const QUERY_TERMS: usize = 32;
/// Newest members read per MinHash band bucket.
const BUCKET_READ: usize = 32;
/// Terms a headline must share with a headline-only story to join it
/// (measured on uci-dev: 1 lets single common words bridge unrelated stories).
const MIN_SHARED_HEADLINE_TERMS: usize = 2;
/// Candidates from the term index scored exactly per article. The index's
/// ranking already puts an article's story first or close to it (of the joins
/// with 24 scored: uci-dev 83 % first, 99 % in the first 8; ecbplus-dev all in
/// the first 4); scoring further down mostly offers look-alikes a chance to
/// win on margin. Measured against 24 (B-cubed F1 over 7 orders; precision on
/// the 20,000-article synthetic stream): uci-dev 0.8714 to 0.8729,
/// ecbplus-dev 0.9433 to 0.9442, synthetic precision 0.973 to 0.982 (recall
/// 0.987 to 0.989), each half of both sets unchanged or within 0.001,
/// uci-dev's spread over orders 0.014 to 0.016, and a tenth less of the
/// engine's time. 4 scored higher still on all three, but leaves an article's
/// story little room among look-alikes in a big window, and widened uci-dev's
/// spread to 0.022.
const CANDIDATES: usize = 8;
/// Below this cosine of their names and figures, two texts that share most
/// of their shingles are no copies: one text told of two events (a template).
const NAMES_APART: f64 = 0.5;
/// A cosine of two texts' words that reports of one event by two outlets
/// seldom reach (the same words, a few names and figures aside).
const TEMPLATE_COSINE: f64 = 0.6;
/// Text cosine below which names and figures do not weigh in: a town or a
/// weekday shared by two short items about other things is no evidence of one
/// event (six local briefs naming Leeds joined on names alone). Any floor up
/// to 0.1 leaves both dev sets and the review sets as they were; 0.15 lowered
/// ecbplus-dev.
const NAMES_NEED_TEXT: f64 = 0.1;
/// Candidates an embedding's LSH buckets add, with a model (calibrated with
/// this many; not re-measured with fewer).
const EMBEDDING_CANDIDATES: usize = 24;

/// Whether both titles state figures and share none: a copy states the same
/// ("Magnitude 5.1 earthquake strikes Lyon" is no copy of "Magnitude 6.3
/// earthquake strikes Osaka", however much of the text they share).
fn figures_differ(p: &Prepared, m: &Member) -> bool {
    let theirs = &m.guard.numbers;
    !p.numbers.is_empty() && !theirs.is_empty() && !p.numbers.iter().any(|n| theirs.contains(n))
}

/// A vector without the (sorted) `template` terms.
fn without(v: impl Terms, template: &[u32]) -> Vec<(u32, f32)> {
    v.terms()
        .filter(|(t, _)| template.binary_search(t).is_err())
        .collect()
}

impl Engine {
    /// Days between an article's date and the nearest of a story's dates.
    pub(super) fn days_apart(&self, p: &Prepared, s: &WindowStory) -> Option<f64> {
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

    /// The number guard of [`Engine::adjusted`].
    pub(super) fn numbers_conflict(p: &Prepared, s: &WindowStory) -> bool {
        // Only when both sides state figures and share none of them.
        !p.numbers.is_empty()
            && s.titles_with_numbers > 0
            && !p.numbers.iter().any(|n| s.numbers.contains(n))
    }

    /// An article's score against a story after the name, time and number
    /// adjustments, and the threshold it must reach; `None` beyond the window.
    pub(super) fn adjusted(&self, p: &Prepared, s: &WindowStory) -> Option<(f64, f64)> {
        self.adjusted_with(p, s, self.likeness(&p.source))
    }

    /// [`Engine::adjusted`] with the likeness of the article's source looked
    /// up once by a caller that scores it against many stories.
    fn adjusted_with(&self, p: &Prepared, s: &WindowStory, own: f64) -> Option<(f64, f64)> {
        self.scored(p, s, own, true)
    }

    /// [`Engine::adjusted`] for refinement's pairs of single articles, where
    /// names count whatever the text cosine: a wire brief of two sentences
    /// shares few words with the long report of its event, and the average
    /// linkage holds a story together by such pairs (without the names, a
    /// hand-written 21-report story came apart in two of 41 orders, and a
    /// look-alike stayed joined in one). The floor is the online rule's,
    /// where one shared town was enough for a join.
    pub(super) fn pair_adjusted(&self, p: &Prepared, s: &WindowStory) -> Option<(f64, f64)> {
        self.scored(p, s, self.likeness(&p.source), false)
    }

    /// The score and threshold of [`Engine::adjusted`]; `names_need_text`:
    /// names weigh in only above [`NAMES_NEED_TEXT`].
    fn scored(
        &self,
        p: &Prepared,
        s: &WindowStory,
        own: f64,
        names_need_text: bool,
    ) -> Option<(f64, f64)> {
        let days = self.days_apart(p, s);
        let window_days = self.config.window.as_secs_f64() / 86_400.0;
        if days.is_some_and(|d| d > window_days) {
            return None;
        }
        let idf = |t| self.idf(t);
        let vectors = self.story_vectors(s);
        // The article was weighed without its source's template: so is the story.
        let stripped = (!p.template.is_empty())
            .then(|| [vectors.full, vectors.head, vectors.names].map(|v| without(v, &p.template)));
        let vectors = match &stripped {
            Some([full, head, names]) => StoryVectors {
                full: full.into(),
                head: head.into(),
                names: names.into(),
            },
            None => vectors,
        };
        let cos = if p.long && s.long_members > 0 {
            cosine_idf(vectors.full, &p.full, idf)
        } else {
            cosine_idf(vectors.head, &p.head, idf)
        };
        // Headlines against headlines score low even for one event; as soon as
        // one side has a body, the text threshold applies (measured on both sets).
        let threshold = if p.body || s.body_members > 0 {
            self.config.text_threshold
        } else {
            self.config.title_threshold
        };
        let w = self.config.name_weight;
        let names = cosine_idf(vectors.names, &p.names, idf);
        // Names weigh in only where a body is involved: the headline scale
        // (title_threshold) is calibrated without them.
        let mut score = if p.names.is_empty()
            || vectors.names.is_empty()
            || !(p.body || s.body_members > 0)
            || (names_need_text && cos < NAMES_NEED_TEXT)
        {
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
        let (mut score, threshold) = self.with_embedding(p, s, score, threshold);
        // Against a templated source, only what goes beyond the template counts.
        let likeness = own.max(self.likeness(&s.source));
        score = template::discount(score, likeness);
        tracing::trace!(id = %p.id, cos, names, likeness, "candidate");
        // Two days are free: outlets (and aggregators) follow an event up to a
        // couple of days later; beyond that a look-alike is the likelier reading.
        score -= self.config.day_penalty * (days.unwrap_or(0.0) - 2.0).max(0.0);
        if Self::numbers_conflict(p, s) {
            let names_apart = !vectors.names.is_empty() && names < NAMES_APART;
            score = self.other_figures(p, score, cos, names_apart);
        }
        Some((score, threshold))
    }

    /// `score` and `threshold` with the embeddings' cosine mixed in, when
    /// both sides have one: the two cosines err on different pairs
    /// (measured), so a weighted average, against a threshold of its own.
    fn with_embedding(
        &self,
        p: &Prepared,
        s: &WindowStory,
        score: f64,
        threshold: f64,
    ) -> (f64, f64) {
        let Some(e) = s.embedding_cosine(&p.embedding) else {
            return (score, threshold);
        };
        let c = &self.config;
        let (b, t) = if p.body || s.body_members > 0 {
            (c.embedding_text_weight, c.embedding_text_threshold)
        } else {
            (c.embedding_title_weight, c.embedding_title_threshold)
        };
        match b > 0.0 {
            true => ((1.0 - b) * score + b * e, t),
            false => (score, threshold),
        }
    }

    /// `score` of an article whose title states other figures than a story's:
    /// lowered, or none at all in much the same words (text cosine `cos`)
    /// with other names (`names_apart`): one text told of two events (a quake
    /// in another city, a template's items); reports of one event name who
    /// and where alike.
    fn other_figures(&self, p: &Prepared, score: f64, cos: f64, names_apart: bool) -> f64 {
        match names_apart && !p.names.is_empty() && cos >= TEMPLATE_COSINE {
            true => 0.0,
            false => score - self.config.number_penalty,
        }
    }

    /// Decides the story of a prepared article without changing the window.
    pub fn decide(&self, p: &Prepared) -> Evidence {
        let ev = Evidence {
            layer: Layer::New,
            story: None,
            matched: None,
            score: 0.0,
            best_similarity: 0.0,
            merged: None,
        };
        self.cost.set(Cost::default());
        if !self.config.enabled {
            return ev;
        }
        if let Some(found) = self.same_url(p).or_else(|| self.near_copy(p)) {
            return found;
        }
        let ranked = self.candidates(p);
        self.most_similar(p, ranked, ev)
    }

    /// Layer 1: a live story holds an article with the same canonical URL.
    fn same_url(&self, p: &Prepared) -> Option<Evidence> {
        let &(story, seq) = p.canonical.as_deref().and_then(|c| self.urls.get(c))?;
        let m = self.member(seq)?;
        let story = self.resolve(story);
        self.stories.contains_key(&story).then(|| Evidence {
            layer: Layer::Url,
            story: Some(story),
            matched: Some(m.id.to_string()),
            score: 1.0,
            best_similarity: 0.0,
            merged: None,
        })
    }

    /// Layer 2: the closest near-copy among the members sharing a MinHash
    /// band, when its story is live.
    fn near_copy(&self, p: &Prepared) -> Option<Evidence> {
        let sig = p.fingerprint.as_ref()?;
        let mut best: Option<(f64, &Member)> = None;
        let mut seen = fxhash::FxHashSet::default();
        let mut read = 0;
        for (band, key) in text::band_keys(sig).enumerate() {
            // Boilerplate shingles make some buckets crowded: the newest suffice.
            let end = self.first_seq + self.members.len() as u64;
            let sigs = |seq: u64| self.signature(seq);
            let mut next = self.bands.get(band, key, end, &sigs).unwrap_or(NO_MEMBER);
            for _ in 0..BUCKET_READ {
                let Some(m) = self.member(next) else { break };
                read += 1;
                let seq = next;
                next = m
                    .fingerprint
                    .as_ref()
                    .map_or(NO_MEMBER, |f| f.next(seq, band));
                if !seen.insert(seq) {
                    continue;
                }
                // A revised member's signature is its old text's: it links
                // its chains only.
                let judged = !m.revised && m.story != super::window::WITHDRAWN;
                let Some(other) = m.fingerprint.as_ref().filter(|_| judged) else {
                    continue;
                };
                let sim = text::minhash_similarity(sig, &other.sig);
                if sim >= self.config.copy_similarity
                    && best.is_none_or(|b| sim > b.0)
                    && !figures_differ(p, m)
                    && !self.names_differ(p, m)
                    && self.same_beyond_template(p, m)
                {
                    best = Some((sim, m));
                }
            }
        }
        self.count(|c| c.signatures += read);
        let (sim, m) = best?;
        let story = self.resolve(m.story);
        self.stories.contains_key(&story).then(|| Evidence {
            layer: Layer::NearCopy,
            story: Some(story),
            matched: Some(m.id.to_string()),
            score: sim,
            best_similarity: 0.0,
            merged: None,
        })
    }

    /// Adds to the counts of [`Engine::last_cost`].
    pub(super) fn count(&self, f: impl FnOnce(&mut Cost)) {
        let mut c = self.cost.get();
        f(&mut c);
        self.cost.set(c);
    }

    /// The likeness of a source's recent items (0 for an unknown one).
    pub(super) fn likeness(&self, source: &str) -> f64 {
        if source.is_empty() {
            return 0.0;
        }
        self.sources.get(source).map_or(0.0, |s| s.likeness())
    }

    /// Whether the names and figures of two texts that share most of their
    /// shingles differ: a copy names who and where its original does.
    fn names_differ(&self, p: &Prepared, m: &Member) -> bool {
        let theirs: Vec<(u32, f32)> = m.names().terms().collect();
        !p.names.is_empty()
            && !theirs.is_empty()
            && cosine_idf(&theirs, &p.names, |t| self.idf(t)) < NAMES_APART
    }

    /// Whether a near-copy by shingles is one by the words that differ too: a
    /// templated item shares its shingles with every other item of the template,
    /// so when its source has one, the words outside it must agree as well.
    fn same_beyond_template(&self, p: &Prepared, m: &Member) -> bool {
        let likeness = self.likeness(&p.source);
        if p.template.is_empty() && likeness < template::TEMPLATED_LIKENESS {
            return true;
        }
        let theirs = without(m.full(), &p.template);
        let cos = cosine_idf(&theirs, &p.full, |t| self.idf(t));
        template::discount(cos, likeness) >= self.config.text_threshold
    }

    /// The terms that retrieve an article's candidates: its [`QUERY_TERMS`]
    /// heaviest among those some story is listed under. A term no story is
    /// listed under, however distinctive (a name new to the window), would take
    /// a query slot from one that can (on a small window, all of them would).
    fn query_terms(&self, p: &Prepared) -> Vec<(u32, f32)> {
        heaviest_terms(p, usize::MAX)
            .iter()
            .filter(|&&(t, _)| self.postings.contains_key(&t))
            .take(QUERY_TERMS)
            .copied()
            .collect()
    }

    /// Layer 3's candidate stories: through the most distinctive terms, ranked
    /// by a partial dot product, then those the embedding's buckets add.
    fn candidates(&self, p: &Prepared) -> Vec<(StoryId, f32)> {
        let query = self.query_terms(p);
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
            for (sid, _) in by_hits.into_iter().take(EMBEDDING_CANDIDATES) {
                if !ranked.iter().any(|(r, _)| *r == sid) {
                    ranked.push((sid, 0.0));
                }
            }
        }
        ranked
    }

    /// Layer 3: scores the `ranked` candidates exactly; the best joins when
    /// above its threshold, else `ev` (a new story) keeps its best similarity.
    fn most_similar(
        &self,
        p: &Prepared,
        ranked: Vec<(StoryId, f32)>,
        mut ev: Evidence,
    ) -> Evidence {
        let mut best: Option<(f64, f64, StoryId)> = None;
        self.count(|c| c.candidates += ranked.len());
        // Find every candidate and ask its vectors into the cache before
        // scoring any: they are scattered over the heap.
        let stories: Vec<(StoryId, &WindowStory)> = ranked
            .iter()
            .filter_map(|&(sid, _)| {
                let story = self.stories.get(&sid)?;
                let v = self.story_vectors(story);
                let compared = if p.long && story.long_members > 0 {
                    v.full
                } else {
                    v.head
                };
                compared.prefetch();
                Some((sid, story))
            })
            .collect();
        let own = self.likeness(&p.source);
        for (sid, story) in stories {
            let Some((score, threshold)) = self.adjusted_with(p, story, own) else {
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

    /// The evidence between two articles as if `b` arrived with `a` alone in its story.
    pub fn compare(&mut self, a: &DedupArticle, b: &DedupArticle) -> PairEvidence {
        let pa = self.prepare(a);
        let pb = self.prepare(b);
        let mut single = WindowStory {
            members: 1,
            ..WindowStory::default()
        };
        single.add_shares(
            [
                (&self.shares(&pa.full)).into(),
                (&self.shares(&pa.head)).into(),
                (&self.shares(&pa.names)).into(),
            ],
            1.0,
        );
        single.add_embedding(&pa.embedding, 1.0);
        single.long_members = u32::from(pa.long);
        single.body_members = u32::from(pa.body);
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
