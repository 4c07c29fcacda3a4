//! Template words: terms that occur in nearly every recent item of a source
//! (a templated feed's boilerplate, an outlet's footer) say nothing about which
//! event an item reports. They are left out of the item's vectors, so the words
//! that differ (another city, another flight number, another name) decide, and
//! the posting lists of boilerplate stop growing.
//!
//! A template whose every word varies (items drawn from a few hundred words)
//! has no boilerplate to strip, but its items all resemble each other: the
//! source's *likeness*, the mean cosine of each recent item to the ones before
//! it, is then high, and similarity up to that level is the template's, not an
//! event's. Scores against such a source's items are taken above its likeness
//! ([`discount`]); a true duplicate (cosine 1) still joins.

use std::collections::VecDeque;

use super::vectors::{dot, DotWith};

/// Recent items per source whose terms are remembered.
pub(super) const SOURCE_ITEMS: usize = 8;
/// Items a source must have shown before any of its terms counts as template:
/// fewer say too little (two reports of one event share their words too).
pub(super) const MIN_SOURCE_ITEMS: usize = 4;
/// Distinct terms remembered per item (a long text's rarest are left out).
pub(super) const TERMS_PER_ITEM: usize = 512;
/// Share of an item's distinct terms its source's template must cover, on
/// average over the recent items, to count: boilerplate is most of a
/// templated item, while a feed on one topic (a team, a war) shares only a
/// few topic words across its items, which are evidence, not template.
pub(super) const MIN_TEMPLATE_SHARE: f64 = 0.3;
/// The recent items' vocabulary (distinct terms of all of them) over one
/// item's, at most, for the likeness to count: a template drawing from a few
/// hundred words reuses them in every item, while a topic feed's items, even
/// on one event, each bring words of their own.
pub(super) const MAX_VOCABULARY_RATIO: f64 = 3.5;
/// Likeness from which a source counts as templated: unrelated news items of
/// one outlet score a few hundredths against each other, templated ones
/// several tenths.
pub(super) const TEMPLATED_LIKENESS: f64 = 0.15;

/// A score above a templated source's `likeness`, rescaled to 0..1: what the
/// items share beyond what every item of the template shares.
pub(super) fn discount(score: f64, likeness: f64) -> f64 {
    if likeness < TEMPLATED_LIKENESS {
        return score;
    }
    (score - likeness) / (1.0 - likeness).max(1e-6)
}

/// What dedup remembers of one source's recent items.
#[derive(Debug, Default)]
pub(super) struct SourceTerms {
    /// The distinct term ids of the last [`SOURCE_ITEMS`] items, each sorted.
    recent: VecDeque<Box<[u32]>>,
    /// The terms in at least three quarters of `recent` (once it holds
    /// [`MIN_SOURCE_ITEMS`]), sorted: today's template of the source.
    template: Vec<u32>,
    /// The full vectors (weighted, normalised) of the last items.
    vectors: VecDeque<Vec<(u32, f32)>>,
    /// The dot products of every pair of `vectors` (row and column by
    /// position, oldest first; only the first `vectors.len()` of each row).
    gram: VecDeque<[f64; SOURCE_ITEMS]>,
    /// Per recent item, its cosine to the sum of the items before it.
    likeness: VecDeque<f64>,
    /// Whether the recent items draw from a small shared vocabulary
    /// ([`MAX_VOCABULARY_RATIO`]): only then does the likeness count.
    small_vocabulary: bool,
}

impl SourceTerms {
    /// Whether `term` is template for this source now.
    pub(super) fn is_template(&self, term: u32) -> bool {
        self.template.binary_search(&term).is_ok()
    }

    /// The template terms, sorted.
    pub(super) fn template(&self) -> &[u32] {
        &self.template
    }

    /// The mean cosine of the source's recent items to their predecessors'
    /// sum, once [`MIN_SOURCE_ITEMS`] items had some (else 0).
    pub(super) fn likeness(&self) -> f64 {
        if self.likeness.len() < MIN_SOURCE_ITEMS || !self.small_vocabulary {
            return 0.0;
        }
        self.mean_likeness()
    }

    /// The mean of the recent likenesses, whatever the vocabulary (0 for none).
    fn mean_likeness(&self) -> f64 {
        self.likeness.iter().sum::<f64>() / self.likeness.len().max(1) as f64
    }

    /// Remembers an admitted item's full vector and how like its predecessors
    /// it is; called after [`SourceTerms::push`] with the same item.
    pub(super) fn push_vector(&mut self, full: &[(u32, f32)]) {
        // Against the predecessors' sum, as a grown story's centroid would
        // score it (a template's centroid is its whole vocabulary): its dot
        // product is the sum of the item's with each of them, and its norm
        // the sum of their Gram matrix, so the vectors are never summed.
        let n = self.vectors.len();
        let mut row = [0.0; SOURCE_ITEMS];
        let item = DotWith::new(full);
        for (k, v) in self.vectors.iter().enumerate() {
            row[k] = item.dot(v);
        }
        if n > 0 {
            let norm = self.gram.iter().flat_map(|r| &r[..n]).sum::<f64>().sqrt();
            let mean = if norm > 1e-9 {
                row[..n].iter().sum::<f64>() / norm
            } else {
                0.0
            };
            if self.likeness.len() == SOURCE_ITEMS {
                self.likeness.pop_front();
            }
            self.likeness.push_back(mean);
        }
        // The oldest vector's allocation takes the newest one.
        let mut kept = if n == SOURCE_ITEMS {
            self.gram.pop_front();
            for r in &mut self.gram {
                r.copy_within(1.., 0);
            }
            row.copy_within(1.., 0);
            self.vectors.pop_front().unwrap_or_default()
        } else {
            Vec::new()
        };
        let at = self.vectors.len();
        for (r, d) in self.gram.iter_mut().zip(row) {
            r[at] = d;
        }
        row[at] = dot(full, full);
        self.gram.push_back(row);
        kept.clear();
        kept.extend_from_slice(full);
        self.vectors.push_back(kept);
        self.update_vocabulary();
    }

    /// True when some term is template for this source.
    pub(super) fn has_template(&self) -> bool {
        !self.template.is_empty()
    }

    /// Remembers an admitted item's distinct terms (sorted) and updates the
    /// template. A template term is in three quarters of the remembered items,
    /// so it is either in the newest one or was template before: only those
    /// are counted (at most a few thousand binary searches per item).
    pub(super) fn push(&mut self, terms: &[u32]) {
        let mut kept: Vec<u32> = terms.iter().copied().take(TERMS_PER_ITEM).collect();
        kept.sort_unstable();
        kept.dedup();
        if self.recent.len() == SOURCE_ITEMS {
            self.recent.pop_front();
        }
        self.recent.push_back(kept.into_boxed_slice());
        let n = self.recent.len();
        if n < MIN_SOURCE_ITEMS {
            self.template.clear();
            return;
        }
        let needed = (3 * n).div_ceil(4);
        // The first time, every remembered term is a candidate.
        let first = n == MIN_SOURCE_ITEMS;
        let newest = self.recent.back().map_or(&[][..], |r| &r[..]);
        let everything = self.recent.iter().take(if first { n } else { 0 });
        let mut candidates: Vec<u32> = newest
            .iter()
            .chain(&self.template)
            .chain(everything.flat_map(|r| r.iter()))
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let counts = occurrences(&candidates, &self.recent);
        let mut template = candidates;
        let mut k = 0;
        template.retain(|_| {
            k += 1;
            counts[k - 1] >= needed
        });
        let covered = |r: &[u32]| {
            let n = r
                .iter()
                .filter(|t| template.binary_search(t).is_ok())
                .count();
            n as f64 / r.len().max(1) as f64
        };
        let share = self.recent.iter().map(|r| covered(r)).sum::<f64>() / n as f64;
        if share < MIN_TEMPLATE_SHARE {
            template.clear();
        }
        self.template = template;
    }

    /// Works out whether the recent items draw from a small shared vocabulary
    /// ([`MAX_VOCABULARY_RATIO`]), after an item's terms and vector went in.
    /// Only when their likeness would count: any likeness below
    /// [`TEMPLATED_LIKENESS`] leaves every score as it is, and sorting the
    /// recent items' terms was a third of the cost of admitting an item.
    fn update_vocabulary(&mut self) {
        let n = self.recent.len();
        if n == 0
            || self.likeness.len() < MIN_SOURCE_ITEMS
            || self.mean_likeness() < TEMPLATED_LIKENESS
        {
            self.small_vocabulary = false;
            return;
        }
        let mut vocabulary: Vec<u32> = self.recent.iter().flat_map(|r| r.iter().copied()).collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let mean = self.recent.iter().map(|r| r.len()).sum::<usize>() as f64 / n as f64;
        self.small_vocabulary = (vocabulary.len() as f64) <= MAX_VOCABULARY_RATIO * mean.max(1.0);
    }
}

/// How many of the `lists` hold each of the `terms` (all sorted, distinct):
/// one merge walk along each list, stepping without branches, rather than a
/// binary search per term and list (3.4 against 5.3 µs for 8 lists of 100
/// terms, measured on its own).
fn occurrences(terms: &[u32], lists: &VecDeque<Box<[u32]>>) -> Vec<usize> {
    let mut counts = vec![0; terms.len()];
    for list in lists {
        let (mut i, mut j) = (0, 0);
        while i < terms.len() && j < list.len() {
            let (x, y) = (terms[i], list[j]);
            counts[i] += usize::from(x == y);
            i += usize::from(x <= y);
            j += usize::from(y <= x);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DedupArticle, DedupConfig, Engine, Layer};

    const CITIES: [&str; 12] = [
        "Lisbon", "Madrid", "Oslo", "Vienna", "Prague", "Dublin", "Athens", "Warsaw", "Zagreb",
        "Riga", "Tallinn", "Sofia",
    ];

    /// A notice of a templated feed: the same boilerplate, another flight and city.
    fn notice(i: usize, id: &str) -> DedupArticle {
        let (city, flight) = (CITIES[i % CITIES.len()], 4100 + i * 7);
        let text = format!(
            "Flight XR{flight} to {city} is delayed. Passengers booked on this service are \
             asked to check the departure boards in the terminal and the airline app for the \
             latest information before going to the gate. Checked baggage stays on board and \
             will travel with the flight when it leaves. Refreshment vouchers are available at \
             the service desk next to the security area on presentation of a boarding pass. \
             Connecting passengers for {city} will be rebooked automatically where needed, and \
             the airline apologises for the inconvenience caused to travellers today."
        );
        DedupArticle {
            id: id.into(),
            source: "Airport notices".into(),
            url: format!("https://airport.example/notices/{id}"),
            published: Some(1_765_000_000 + i as i64 * 60),
            title: format!("Flight XR{flight} to {city} delayed"),
            text,
        }
    }

    #[test]
    fn templated_items_with_other_flights_stay_apart_and_a_true_duplicate_joins() {
        let mut e = Engine::new(DedupConfig::default());
        let stories: Vec<_> = (0..12)
            .map(|i| e.assign(&notice(i, &i.to_string())).story)
            .collect();
        // The first items teach the template: after them, each flight is its own story.
        let later = &stories[MIN_SOURCE_ITEMS + 1..];
        let mut distinct = later.to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), later.len(), "{stories:?}");
        assert!(!later.contains(&stories[0]), "{stories:?}");
        // The same notice again (another id and URL) is the same story.
        let again = e.assign(&notice(9, "9-again"));
        assert_eq!(again.story, stories[9], "{again:?}");
        assert_ne!(again.layer, Layer::New);
    }

    #[test]
    fn refinement_keeps_templated_items_with_other_flights_apart() {
        let mut e = Engine::new(DedupConfig::default());
        let stories: Vec<_> = (0..12)
            .map(|i| e.assign(&notice(i, &i.to_string())).story)
            .collect();
        let r = e.refine();
        // Items after the first ones (which taught the template) stay alone.
        let later: Vec<String> = (MIN_SOURCE_ITEMS + 1..12).map(|i| i.to_string()).collect();
        let moved: Vec<&str> = r.moves.iter().map(|m| m.article.as_str()).collect();
        assert!(
            later.iter().all(|id| !moved.contains(&id.as_str())),
            "{stories:?} {r:?}"
        );
    }

    #[test]
    fn refinement_keeps_apart_items_of_a_source_drawn_from_a_few_hundred_words() {
        let mut e = Engine::new(DedupConfig::default());
        let words: Vec<String> = (0..300).map(|i| format!("w{i}x")).collect();
        let mut seed: u64 = 7;
        let mut pick = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            words[(seed >> 33) as usize % words.len()].as_str()
        };
        let mut online = std::collections::HashSet::new();
        for i in 0..60usize {
            let text: Vec<&str> = (0..120).map(|_| pick()).collect();
            let title: Vec<&str> = (0..8).map(|_| pick()).collect();
            let a = DedupArticle {
                id: i.to_string(),
                source: "Lorem".into(),
                url: format!("https://lorem.example/{i}"),
                published: Some(1_765_000_000 + i as i64 * 60),
                title: title.join(" "),
                text: text.join(" "),
            };
            online.insert(e.assign(&a).story);
        }
        let r = e.refine();
        let joined = r.moves.len();
        // The template's likeness discounts refinement's scores as the online
        // pass's: its items do not gather into one story.
        assert!(
            joined * 10 <= online.len(),
            "{} stories, {r:?}",
            online.len()
        );
    }

    #[test]
    fn a_feed_on_one_topic_has_no_template_and_its_likeness_does_not_count() {
        // Eight items of a topic feed: three topic words in each, and forty
        // words of their own.
        let mut topic = SourceTerms::default();
        for i in 0..8u32 {
            let own: Vec<u32> = (0..40).map(|k| 1000 + i * 100 + k).collect();
            topic.push(&[[1, 2, 3].as_slice(), &own].concat());
            topic.likeness.push_back(0.4);
            topic.update_vocabulary();
        }
        assert!(!topic.has_template(), "{:?}", topic.template());
        assert_eq!(
            topic.likeness(),
            0.0,
            "a topic feed's items bring words of their own"
        );
        // Eight items of a template: thirty shared words, three of their own.
        let mut template = SourceTerms::default();
        for i in 0..8u32 {
            let words: Vec<u32> = (0..30).chain((0..3).map(|k| 1000 + i * 100 + k)).collect();
            template.push(&words);
            template.likeness.push_back(0.4);
            template.update_vocabulary();
        }
        assert!(template.is_template(5));
        assert!(template.likeness() > 0.3);
    }

    #[test]
    fn the_work_per_article_stays_capped_in_a_window_of_look_alikes() {
        let mut e = Engine::new(DedupConfig::default());
        // 3,000 items from 300 sources, all drawn from the same 40 words: every
        // term's posting list is crowded, every item a candidate for every other.
        let words: Vec<String> = (0..40)
            .map(|i| format!("word{}", (b'a' + i) as char))
            .collect();
        let mut worst = crate::dedup::Cost::default();
        for i in 0..3000usize {
            let pick = |k: usize| words[(i * 7 + k * 13 + k * k) % words.len()].as_str();
            let text: Vec<&str> = (0..80).map(pick).collect();
            let a = DedupArticle {
                id: i.to_string(),
                source: format!("source {}", i % 300),
                url: format!("https://s{}.example/{i}", i % 300),
                published: Some(1_765_000_000 + i as i64),
                title: (0..6).map(|k| pick(k + 3)).collect::<Vec<_>>().join(" "),
                text: text.join(" "),
            };
            e.assign(&a);
            let c = e.last_cost();
            worst.terms = worst.terms.max(c.terms);
            worst.postings = worst.postings.max(c.postings);
            worst.candidates = worst.candidates.max(c.candidates);
            worst.signatures = worst.signatures.max(c.signatures);
        }
        assert!(worst.postings > 0, "the index was read: {worst:?}");
        assert!(worst.terms <= 32, "{worst:?}");
        assert!(worst.postings <= 32 * 64, "{worst:?}");
        assert!(worst.candidates <= 8, "{worst:?}");
        assert!(worst.signatures <= 16 * 32, "{worst:?}");
    }

    #[test]
    fn terms_in_nearly_every_recent_item_are_template_once_enough_are_seen() {
        let mut s = SourceTerms::default();
        s.push(&[1, 2, 10]);
        s.push(&[1, 2, 11]);
        s.push(&[1, 2, 12]);
        assert!(!s.has_template(), "three items say too little");
        s.push(&[1, 13]);
        assert!(s.is_template(1));
        assert!(s.is_template(2), "in three of four");
        assert!(!s.is_template(13));
        for t in 20..26 {
            s.push(&[1, t]);
        }
        assert!(s.is_template(1));
        assert!(!s.is_template(2), "gone from the last eight");
    }

    #[test]
    fn likeness_is_the_cosine_to_the_sum_of_the_last_eight_items_before_it() {
        // Sparse vectors over overlapping terms, more than the eight remembered,
        // so that forgetting the oldest is checked too.
        let vectors: Vec<Vec<(u32, f32)>> = (0..20u32)
            .map(|i| {
                (0..12u32)
                    .map(|k| (k * 3 + i % 5, 0.1 + ((i * 7 + k * 11) % 13) as f32 / 13.0))
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .collect()
            })
            .collect();
        let mut s = SourceTerms::default();
        for (i, v) in vectors.iter().enumerate() {
            s.push_vector(v);
            if i == 0 {
                assert!(s.likeness.is_empty());
                continue;
            }
            let mut sum = std::collections::BTreeMap::<u32, f64>::new();
            for before in &vectors[i.saturating_sub(SOURCE_ITEMS)..i] {
                for &(t, w) in before {
                    *sum.entry(t).or_default() += f64::from(w);
                }
            }
            let norm = sum.values().map(|w| w * w).sum::<f64>().sqrt();
            let expected = v
                .iter()
                .map(|&(t, w)| sum.get(&t).copied().unwrap_or(0.0) * f64::from(w))
                .sum::<f64>()
                / norm;
            let got = s.likeness.back().copied().unwrap_or(f64::NAN);
            assert!(
                (got - expected).abs() < 1e-6,
                "item {i}: {got} against {expected}"
            );
        }
        assert_eq!(s.likeness.len(), SOURCE_ITEMS);
    }
}
