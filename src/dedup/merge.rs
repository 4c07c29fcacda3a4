//! Merging: two headline stories found to be one, or a lone article moved
//! into a story that has grown toward it.

use super::vectors::{cosine_shares, Centroid, Terms};
use super::window::{Member, Sums, WindowStory};
use super::{Engine, Merge, Prepared, StoryId};

/// A story's heaviest terms that retrieve merge candidates, and the candidates
/// scored: a merge needs much in common, so a few suffice (measured on uci-dev:
/// 8 and 8 score as well as 32 and 24, at half the added cost).
const MERGE_QUERY_TERMS: usize = 8;
const MERGE_CANDIDATES: usize = 8;
/// How far above its threshold a lone article must score before it leaves
/// the story it opened for a grown one: a decision already taken is changed
/// only on clearer evidence (measured on ecbplus-dev: at 0 an opener sitting
/// on the threshold moved, and its look-alike event followed it).
const REDECIDE_MARGIN: f64 = 0.01;

impl Engine {
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
            let likeness = self.likeness(&s.source).max(self.likeness(&o.source));
            let cos = cosine_shares(head, self.story_vectors(o).head, idf);
            let score = super::template::discount(cos, likeness)
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
    fn stories_near(&self, shares: impl Terms, story: StoryId) -> Vec<(StoryId, f32)> {
        let mut query: Vec<(u32, f32)> =
            shares.terms().map(|(t, c)| (t, c * self.idf(t))).collect();
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
    fn prepared_again(&self, m: &Member, s: &WindowStory) -> Prepared {
        let mut numbers: Vec<u32> = s.numbers.iter().copied().collect();
        numbers.sort_unstable();
        Prepared {
            id: m.id.to_string(),
            canonical: None,
            fingerprint: None,
            full: self.weighted(m.full()),
            head: self.weighted(m.head()),
            names: self.weighted(m.names()),
            terms: Vec::new(),
            numbers,
            long: m.long,
            body: m.body,
            time: s.dated.map(|(lo, _)| lo),
            embedding: m.embedding.to_vec(),
            embedding_keys: Vec::new(),
            source: String::new(),
            template: Vec::new(),
            heaviest: None,
            // Compared, never admitted.
            text_hash: 0,
        }
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
            s.sums = Some(Box::new(Sums {
                full: Centroid(f),
                head: Centroid(h),
                names: Centroid(n),
            }));
            s.single = None;
        }
        let [f, h, n] = gone_vectors;
        // The absorbed story's members were indexed under terms of its centroid:
        // their postings now name the survivor, so candidate search need not
        // resolve aliases (terms pruned from a big centroid keep the old id).
        let entries = super::window::posting(absorbed).zip(super::window::posting(survivor));
        for (t, _) in f.iter().chain(&h) {
            let (Some((gone_entry, kept_entry)), Some(list)) = (entries, self.postings.get_mut(t))
            else {
                continue;
            };
            // One entry for the merged story, at the newer place (lists are read newest first).
            let ours = |id: &u32| *id == gone_entry || *id == kept_entry;
            let Some(last) = list.iter().rposition(ours) else {
                continue;
            };
            let mut i = 0;
            list.retain(|id| {
                i += 1;
                i - 1 == last || !ours(id)
            });
            if let Some(id) = list.iter_mut().rev().find(|id| **id == gone_entry) {
                *id = kept_entry;
            }
        }
        let Some(s) = self.stories.get_mut(&survivor) else {
            return;
        };
        s.add_shares([(&f).into(), (&h).into(), (&n).into()], 1.0);
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
    fn owned_vectors(&self, s: &WindowStory) -> [Vec<(u32, f32)>; 3] {
        let v = self.story_vectors(s);
        [v.full.to_vec(), v.head.to_vec(), v.names.to_vec()]
    }
}
