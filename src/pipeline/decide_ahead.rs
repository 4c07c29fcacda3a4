//! The dedup step deciding beside the store write, not inside it.
//!
//! A fetch's store write alternates two kinds of work per new item: the
//! engine's (decide, then admit to the window) and SQLite's (insert the row,
//! place it in its story). Neither needs the other's result once the store
//! has said which items are new and which ids they will take
//! ([`StoryDecider::ahead`]): the engine gives each item its id as SQLite
//! would, and the store inserts it with that id. So a batch of writes runs on
//! a second thread while the engine decides on this one, decisions handed
//! over a few at a time ([`HAND_OVER`]), and the engine goes on to the next
//! write's items while the store finishes the last: the serial part of a big
//! cycle is then about the longer of the two, not their sum. The decisions,
//! ids and rows are the same as when the engine decides inside each write
//! (unless a write in the batch fails: see [`Inserter::halt`]).

use std::sync::mpsc;

use super::dedup::{choose_representative, AnalysedItems, EngineDecider, StoryDedup};
use crate::read::RawItem;
use crate::store::{
    NewItem, NextIds, Store, StoreError, StoryDecider, StoryDecision, StoryMember, StoryMerge,
};

/// A fetch's new items, as the store announced them to the engine.
struct Announced {
    /// The write's place in the batch.
    write: usize,
    items: Vec<(usize, String, i64)>,
    /// The fetch's time.
    seen_at: i64,
    source_id: i64,
    source_url: String,
    source_name: String,
    ids: NextIds,
}

/// One item decided and admitted by the engine, for the store to insert.
struct Decided {
    /// Always with the ids the engine admitted it under.
    decision: StoryDecision,
    merge: Option<StoryMerge>,
}

impl Decided {
    /// The (item, story) the engine admitted the item as: the story it joins,
    /// else the one it opens.
    fn admitted_as(&self) -> Option<(i64, i64)> {
        let ids = self.decision.ids?;
        Some((ids.item, self.decision.story.unwrap_or(ids.story)))
    }
}

impl StoryDedup {
    /// Runs `write` (the store writes of a batch of fetches, whose items are
    /// `items` and were analysed as `ahead`, in that order, given a decider it
    /// tells which write it is at) on a second thread, with the engine
    /// deciding their new items on this one; the engine goes on to the next
    /// write while the store finishes one. Returns what `write` returned and
    /// whether the engine still agrees with the store (if not, drop the
    /// window, read back from the store later).
    pub(super) fn decide_beside<R: Send>(
        &self,
        store: &mut Store,
        mut ahead: Vec<AnalysedItems>,
        now: i64,
        items: &[&[RawItem]],
        write: impl FnOnce(&mut Store, &mut Inserter) -> R + Send,
    ) -> Result<(R, bool), StoreError> {
        let mut engine = self.decider(store, AnalysedItems::default(), now)?;
        let prefer = engine.prefer().to_vec();
        let (announce, announced) = mpsc::channel();
        let (hand, handed) = mpsc::channel();
        std::thread::scope(|scope| {
            let writer = std::thread::Builder::new()
                .name("feedsieve-store".into())
                .spawn_scoped(scope, move || {
                    let mut inserter = Inserter {
                        announce: Some(announce),
                        handed,
                        pending: Default::default(),
                        prefer,
                        write: 0,
                        merge: None,
                        agrees: true,
                    };
                    let out = write(store, &mut inserter);
                    (out, inserter.agrees)
                })
                // Nothing was written or decided: the write fails and is retried.
                .map_err(|e| StoreError::Task(format!("cannot start the store's thread: {e}")))?;
            decide_announced(&mut engine, items, &mut ahead, &announced, &hand);
            drop(hand);
            match writer.join() {
                Ok(done) => Ok(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

/// Decisions handed to the store together: one at a time, the store's thread
/// was woken (and went back to sleep) once per item. With 8, the whole
/// `bench_cycle 1000 50 10` process spent 2.19–2.28 s in the kernel against
/// 2.48–2.70 s (3 runs each), and its first cycle moved within the noise.
const HAND_OVER: usize = 8;

/// Decides the items the store announces, in its order, handing decisions
/// over [`HAND_OVER`] at a time and at the end of each write; stops when the
/// store stops listening.
fn decide_announced(
    engine: &mut EngineDecider<'_>,
    items: &[&[RawItem]],
    ahead: &mut [AnalysedItems],
    announced: &mpsc::Receiver<Announced>,
    hand: &mpsc::Sender<Vec<Decided>>,
) {
    while let Ok(fetch) = announced.recv() {
        let mut decided = Vec::with_capacity(HAND_OVER);
        let finished = decide_fetch(engine, items, ahead, &fetch, &mut |d| {
            decided.push(d);
            if decided.len() < HAND_OVER {
                return true;
            }
            hand.send(std::mem::replace(
                &mut decided,
                Vec::with_capacity(HAND_OVER),
            ))
            .is_ok()
        });
        // What was decided reaches the store, also when the engine stops.
        if !decided.is_empty() && hand.send(decided).is_err() {
            return;
        }
        if !finished {
            return;
        }
    }
}

/// Decides one announced write's items, giving each decision to `hand`;
/// false when the engine cannot go on (or `hand` says the store stopped).
fn decide_fetch(
    engine: &mut EngineDecider<'_>,
    items: &[&[RawItem]],
    ahead: &mut [AnalysedItems],
    fetch: &Announced,
    hand: &mut impl FnMut(Decided) -> bool,
) -> bool {
    let (Some(items), Some(analysed)) = (items.get(fetch.write), ahead.get_mut(fetch.write)) else {
        return false;
    };
    engine.analysed_ahead(std::mem::take(analysed));
    let mut next = fetch.ids;
    for (index, key, sort_at) in &fetch.items {
        let Some(item) = items.get(*index) else {
            return false;
        };
        let new = NewItem {
            index: *index,
            item,
            key,
            source_id: fetch.source_id,
            source_url: &fetch.source_url,
            source_name: &fetch.source_name,
            sort_at: *sort_at,
            seen_at: fetch.seen_at,
        };
        let Some(mut decision) = engine.decide(&new) else {
            return false;
        };
        decision.ids = Some(next);
        let story = decision.story.unwrap_or(next.story);
        if decision.story.is_none() {
            next.story += 1;
        }
        let merge = engine.stored(next.item, story);
        next.item += 1;
        if !hand(Decided { decision, merge }) {
            return false;
        }
    }
    true
}

/// The store's side: decisions made on the engine's thread.
pub(super) struct Inserter {
    /// `None` once a write failed: the rest of the batch is not decided.
    announce: Option<mpsc::Sender<Announced>>,
    handed: mpsc::Receiver<Vec<Decided>>,
    /// Decisions received and not yet read, oldest first.
    pending: std::collections::VecDeque<Decided>,
    prefer: Vec<String>,
    /// The place in the batch of the write under way.
    write: usize,
    /// The item last decided: as what the engine admitted it, and the merge
    /// that caused.
    merge: Option<((i64, i64), Option<StoryMerge>)>,
    /// False once the store placed an item otherwise than the engine did.
    agrees: bool,
}

impl Inserter {
    /// The writes that follow are the batch's `write`th.
    pub(super) fn at(&mut self, write: usize) {
        self.write = write;
    }

    /// A write failed and was rolled back, but the engine kept its items and
    /// may have decided more: the rest of the batch's new items open stories
    /// of their own, and the window is rebuilt from the store afterwards.
    pub(super) fn halt(&mut self) {
        self.announce = None;
        self.agrees = false;
    }
}

impl StoryDecider for Inserter {
    fn ahead(&mut self, new: &[NewItem<'_>], ids: NextIds) {
        let (Some(first), Some(announce)) = (new.first(), &self.announce) else {
            return;
        };
        let fetch = Announced {
            write: self.write,
            items: new
                .iter()
                .map(|n| (n.index, n.key.to_string(), n.sort_at))
                .collect(),
            seen_at: first.seen_at,
            source_id: first.source_id,
            source_url: first.source_url.to_string(),
            source_name: first.source_name.to_string(),
            ids,
        };
        if announce.send(fetch).is_err() {
            self.agrees = false;
        }
    }

    fn decide(&mut self, _: &NewItem<'_>) -> Option<StoryDecision> {
        // Halted: what is left in the channel belongs to a rolled-back write.
        self.announce.as_ref()?;
        if self.pending.is_empty() {
            if let Ok(more) = self.handed.recv() {
                self.pending.extend(more);
            }
        }
        match self.pending.pop_front() {
            Some(decided) => {
                self.merge = decided
                    .admitted_as()
                    .map(|admitted| (admitted, decided.merge));
                Some(decided.decision)
            }
            None => {
                // The engine stopped (it found nothing to decide with): the
                // item opens its own story, which the engine does not know.
                self.agrees = false;
                None
            }
        }
    }

    fn stored(&mut self, item_id: i64, story_id: i64) -> Option<StoryMerge> {
        let ((item, story), merge) = self.merge.take()?;
        if (item, story) != (item_id, story_id) {
            tracing::warn!(
                item_id,
                story_id,
                engine_item = item,
                engine_story = story,
                "the store placed an item otherwise than story dedup did"
            );
            self.agrees = false;
        }
        merge
    }

    fn representative(&self, members: &[StoryMember]) -> Option<usize> {
        choose_representative(members, &self.prefer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN, FLOOD_PIRNA};
    use crate::dedup::DedupConfig;
    use crate::store::tests::{item, parsed, source};
    use crate::store::{FetchRecord, ItemAssignment};

    /// Three outlets' fetches: the flood told three ways (and copied), and
    /// stories that have nothing to do with it.
    fn fetches() -> Vec<(usize, Vec<RawItem>)> {
        let report = |guid: &str, title: &str, text: &str| RawItem {
            content: Some(format!("<p>{text}</p>")),
            ..item(guid, title)
        };
        vec![
            (0, vec![
                report("a1", "Elbe floods Dresden old town", FLOOD_DRESDEN),
                report("a2", "Council approves new tram depot", "The city council approved a new tram depot in the northern district after a long debate about noise and cost."),
            ]),
            (1, vec![
                report("b1", "Pirna evacuates as the Elbe rises", FLOOD_PIRNA),
                report("b2", "Elbe flood reaches Dresden", FLOOD_DRESDEN),
                report("b3", "Chess club wins the regional cup", "The chess club won the regional cup on Sunday after a tense final round against last year's champions."),
            ]),
            (2, vec![
                report("c1", "Dresden and Pirna under water", FLOOD_BOTH),
                report("c2", "Pirna residents leave their homes", FLOOD_PIRNA),
            ]),
            (0, vec![report("a3", "Flood: Dresden opens shelters", FLOOD_DRESDEN)]),
            // More items than are handed over at once, a flood report last.
            (2, NOTES
                .iter()
                .enumerate()
                .map(|(k, (title, text))| report(&format!("c{}", k + 3), title, text))
                .chain([report("c99", "Shelters fill as the Elbe floods Dresden", FLOOD_DRESDEN)])
                .collect()),
        ]
    }

    /// Local notes that have nothing to do with each other or the flood.
    const NOTES: [(&str, &str); 10] = [
        ("Library opens a reading room", "The public library opened a reading room for children with picture books, puzzles and a weekly story hour."),
        ("Bakery wins bread contest", "A family bakery won the national rye bread contest with a sourdough loaf baked in a wood oven."),
        ("Marathon route changes", "Organisers moved the marathon route away from the bridge repairs, adding a loop through the botanical garden."),
        ("Zoo welcomes twin otters", "Two otter cubs were born at the zoo, which will show them to visitors once they learn to swim."),
        ("Orchestra names conductor", "The symphony orchestra named a young violinist from Porto as its principal conductor from next season."),
        ("Airport adds night bus", "A night bus will link the airport and the central station every half hour after the last train."),
        ("Museum restores altarpiece", "Conservators finished restoring a medieval altarpiece whose gold leaf had flaked after a damp winter."),
        ("School garden harvest", "Pupils harvested pumpkins, beans and potatoes from the school garden and sold them at the Saturday market."),
        ("Cycling lanes painted", "Workers painted protected cycling lanes along the ring road, removing two hundred parking spaces."),
        ("Chess prodigy draws champion", "A twelve-year-old drew a simultaneous exhibition game against the former world champion at the town hall."),
    ];

    /// How the engine decides while the fetches are stored.
    #[derive(Clone, Copy)]
    enum Mode {
        /// Inside each write, item after item.
        Inside,
        /// Beside each write, one write at a time.
        BesideEach,
        /// Beside all of them, written as one batch.
        BesideBatch,
    }

    /// A store with the three outlets, and their source ids.
    fn outlets() -> (Store, Vec<i64>) {
        let mut s = Store::open_in_memory().unwrap();
        let urls = ["http://a.test/", "http://b.test/", "http://c.test/"];
        s.sync_sources(&urls.map(source)).unwrap();
        let ids = s.sources().unwrap().iter().map(|r| r.id).collect();
        (s, ids)
    }

    /// Stores every fetch and returns each stored item as the store kept it.
    fn store_all(mode: Mode) -> Vec<ItemAssignment> {
        let (mut s, ids) = outlets();
        let dedup = StoryDedup::open(DedupConfig::default()).unwrap();
        let fetches: Vec<(i64, i64, FetchRecord)> = fetches()
            .into_iter()
            .enumerate()
            .map(|(n, (outlet, items))| (ids[outlet], 1_000 + 60 * n as i64, parsed(items)))
            .collect();
        let items_of = |r: &FetchRecord| match r {
            FetchRecord::Parsed { items, .. } => items.clone(),
            _ => Vec::new(),
        };
        let all_items: Vec<Vec<RawItem>> = fetches.iter().map(|(_, _, r)| items_of(r)).collect();
        let write =
            |s: &mut Store, (id, at, r): &(i64, i64, FetchRecord), d: &mut dyn StoryDecider| {
                s.record_fetch(*id, r, *at, at + 600, d).unwrap();
            };
        match mode {
            Mode::Inside => {
                for f in &fetches {
                    let mut decider = dedup.decider(&s, AnalysedItems::default(), f.1).unwrap();
                    write(&mut s, f, &mut decider);
                }
            }
            Mode::BesideEach => {
                for (f, items) in fetches.iter().zip(&all_items) {
                    let ahead = vec![AnalysedItems::default()];
                    let (_, agrees) = dedup
                        .decide_beside(&mut s, ahead, f.1, &[items], |s, d| write(s, f, d))
                        .unwrap();
                    assert!(agrees);
                }
            }
            Mode::BesideBatch => {
                let items: Vec<&[RawItem]> = all_items.iter().map(Vec::as_slice).collect();
                let ahead = fetches.iter().map(|_| AnalysedItems::default()).collect();
                let (_, agrees) = dedup
                    .decide_beside(&mut s, ahead, 1_000, &items, |s, d| {
                        for (i, f) in fetches.iter().enumerate() {
                            d.at(i);
                            write(s, f, d);
                        }
                    })
                    .unwrap();
                assert!(agrees);
            }
        }
        let count = s.item_count().unwrap();
        (1..=count)
            .map(|id| s.item_assignment(id).unwrap().unwrap())
            .collect()
    }

    #[test]
    fn deciding_beside_the_write_stores_what_deciding_inside_it_does() {
        let inside = store_all(Mode::Inside);
        let beside = store_all(Mode::BesideEach);
        let batch = store_all(Mode::BesideBatch);
        assert_eq!(beside.len(), 19);
        let placed = |a: &[ItemAssignment]| -> Vec<_> {
            a.iter()
                .map(|i| {
                    (
                        i.item_id,
                        i.story_id,
                        i.story_guid.clone(),
                        i.layer.clone(),
                        i.score,
                        i.matched,
                    )
                })
                .collect()
        };
        assert_eq!(placed(&beside), placed(&inside));
        assert_eq!(placed(&batch), placed(&inside));
        // The flood reports share stories; the others stand alone.
        let stories: std::collections::HashSet<i64> = beside.iter().map(|i| i.story_id).collect();
        assert!(stories.len() < beside.len(), "{:?}", placed(&beside));
        // The last item, decided after two hand-overs within its write,
        // joined the Dresden flood.
        let (first, last) = (&beside[0], &beside[beside.len() - 1]);
        assert_eq!(last.story_id, first.story_id, "{:?}", placed(&beside));
        assert_eq!(stories.len(), 14, "{:?}", placed(&beside));
    }
}
