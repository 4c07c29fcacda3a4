//! The store write of a fetch: its items and fetch state in one savepoint, with
//! the [`dedup`](super::dedup) step deciding which story each new item joins.
//!
//! The one database connection writes for every source in turn, and in a big
//! cycle fetched feeds queue for it. Each source queues its write here, and
//! whoever takes the store's lock writes every write queued by then in one
//! transaction ([`Store::write_together`]): a batch of writes pays for one
//! commit and its share of WAL checkpoints instead of one each. A write that
//! fails is rolled back alone; a commit that fails fails every write it held.
//! Within a write, the engine decides the new items beside the inserts
//! ([`super::decide_ahead`]).

use std::sync::Mutex;

use tokio::sync::oneshot;

use super::dedup::{AnalysedItems, StoryDedup};
use super::Context;
use crate::read::RawItem;
use crate::store::{FetchRecord, IngestStats, OneStoryPerItem, Store, StoreError, StoryDecider};

/// What one source's store write holds.
pub(super) struct StoreWrite {
    pub source_id: i64,
    /// The URL fetched: a source that moved to another meanwhile stores
    /// nothing of it.
    pub url: String,
    pub record: FetchRecord,
    /// When the fetch is stored (Unix seconds).
    pub now: i64,
    /// When the source is due again (Unix seconds).
    pub next_fetch_at: i64,
    /// Items that now hold the extracted article.
    pub full_text_keys: Vec<String>,
    /// The source's reading settings, interval (seconds) and extraction
    /// settings the fetch was made with (see [`super::source_specs`]); `None`
    /// for a source no longer configured.
    pub settings: Option<(String, i64, String)>,
}

/// Store writes waiting for the store's lock, in the order they came.
#[derive(Default)]
pub struct WriteQueue(Mutex<Vec<Queued>>);

/// One queued write, and where its result goes.
struct Queued {
    write: StoreWrite,
    analysed: AnalysedItems,
    done: oneshot::Sender<Result<IngestStats, StoreError>>,
}

impl WriteQueue {
    fn push(&self, queued: Queued) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(queued);
    }

    fn take(&self) -> Vec<Queued> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Hashes the items of a parsed fetch, as they will be stored, so that the
/// store's write (which compares them with the stored hashes) need not hash
/// them under its lock.
pub(super) fn hash_items(record: &mut FetchRecord) {
    if let FetchRecord::Parsed { items, hashes, .. } = record {
        *hashes = crate::store::content_hashes(items);
    }
}

/// Writes the fetch (with the items analysed for dedup before), together with
/// the other writes queued by the time the store is free, and marks the items
/// that now hold full text.
pub(super) async fn store_fetch(
    ctx: &Context,
    write: StoreWrite,
    analysed: AnalysedItems,
) -> Result<IngestStats, StoreError> {
    let (done, result) = oneshot::channel();
    ctx.writes.push(Queued {
        write,
        analysed,
        done,
    });
    let (queue, dedup) = (ctx.writes.clone(), ctx.dedup.clone());
    // Another source's call may have written this write already; then this
    // one finds the queue empty, or writes later arrivals.
    let called = ctx
        .store
        .call(move |s| {
            write_queued(s, dedup.as_deref(), queue.take());
            Ok(())
        })
        .await;
    match result.await {
        Ok(stored) => stored,
        // Only a write whose batch died (a panic) gets here.
        Err(_) => Err(called
            .err()
            .unwrap_or_else(|| StoreError::Task("the store write was dropped".into()))),
    }
}

/// Writes `batch` in one transaction and hands each write its result.
fn write_queued(store: &mut Store, dedup: Option<&StoryDedup>, mut batch: Vec<Queued>) {
    if batch.is_empty() {
        return;
    }
    let (written, committed) = store.write_together(|s| write_batch(s, dedup, &mut batch));
    if let (Err(e), Some(dedup)) = (&committed, dedup) {
        tracing::error!("could not commit {} store writes: {e}", batch.len());
        // The engine admitted items that the rolled-back transaction did not keep.
        dedup.drop_after_failed_store();
    }
    for (q, stored) in batch.into_iter().zip(written) {
        let stored = match (&committed, stored) {
            (Err(e), Ok(_)) => Err(e.same_again()),
            (_, stored) => stored,
        };
        // The source's task may have been cancelled; its write stands.
        let _ = q.done.send(stored);
    }
}

/// The batch's writes, in order, each in its own savepoint; when one has new
/// items, with the engine deciding beside them (see [`super::decide_ahead`]).
fn write_batch(
    s: &mut Store,
    dedup: Option<&StoryDedup>,
    batch: &mut [Queued],
) -> Vec<Result<IngestStats, StoreError>> {
    // Only a parsed fetch with new items needs the engine (and, the first
    // time, its window read back from the store).
    let deciding = batch
        .iter()
        .any(|q| matches!(q.write.record, FetchRecord::Parsed { .. }) && !q.analysed.none_new());
    let (Some(dedup), true, Some(now)) = (dedup, deciding, batch.first().map(|q| q.write.now))
    else {
        return batch
            .iter()
            .map(|q| write_one(s, &q.write, &mut OneStoryPerItem))
            .collect();
    };
    let ahead = batch
        .iter_mut()
        .map(|q| std::mem::take(&mut q.analysed))
        .collect();
    let items: Vec<&[RawItem]> = batch
        .iter()
        .map(|q| match &q.write.record {
            FetchRecord::Parsed { items, .. } => items.as_slice(),
            _ => &[],
        })
        .collect();
    let writes: Vec<&StoreWrite> = batch.iter().map(|q| &q.write).collect();
    let beside = dedup.decide_beside(s, ahead, now, &items, |s, inserter| {
        // The engine's thread holds the engine's lock until this returns:
        // nothing here may take it (no `dedup` call).
        let mut written = Vec::with_capacity(writes.len());
        for (i, write) in writes.iter().enumerate() {
            inserter.at(i);
            let stored = write_one(s, write, inserter);
            if stored.is_err() {
                inserter.halt();
            }
            written.push(stored);
        }
        written
    });
    match beside {
        Ok((written, agrees)) => {
            if !agrees {
                // A write failed (its items stayed in the window), or the
                // store placed an item otherwise than the engine did.
                dedup.drop_after_failed_store();
            }
            written
        }
        Err(e) => writes.iter().map(|_| Err(e.same_again())).collect(),
    }
}

/// One fetch's write, in its own savepoint.
fn write_one(
    s: &mut Store,
    write: &StoreWrite,
    decider: &mut dyn StoryDecider,
) -> Result<IngestStats, StoreError> {
    if !s.source_has_url(write.source_id, &write.url)? {
        // Its timeout or its items are the old address's, not the new one's.
        return Ok(IngestStats {
            moved: true,
            ..IngestStats::default()
        });
    }
    let stats = s.record_fetch(
        write.source_id,
        &write.record,
        write.now,
        write.next_fetch_at,
        decider,
    )?;
    if !write.full_text_keys.is_empty() {
        // Pages extracted with rules edited since stay to be extracted again.
        let extraction = write.settings.as_ref().map(|(_, _, e)| e.as_str());
        s.mark_full_text(write.source_id, &write.full_text_keys, extraction)?;
    }
    // A failed fetch stored nothing read with the old settings (and keeps its backoff).
    let stored = !matches!(write.record, FetchRecord::Failed { .. });
    if let (Some((reading, interval, _)), true) = (&write.settings, stored) {
        s.settle_after_reload(write.source_id, reading, *interval, write.now)?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN, FLOOD_PIRNA};
    use crate::dedup::DedupConfig;
    use crate::store::tests::{item, parsed, source};

    fn report(guid: &str, title: &str, text: &str) -> RawItem {
        RawItem {
            content: Some(format!("<p>{text}</p>")),
            ..item(guid, title)
        }
    }

    /// A queued write of `items` for source `source_id`, and where its result goes.
    fn queued(
        (source_id, url): (i64, &str),
        items: Vec<RawItem>,
        now: i64,
    ) -> (Queued, oneshot::Receiver<Result<IngestStats, StoreError>>) {
        let (done, result) = oneshot::channel();
        let write = StoreWrite {
            source_id,
            url: url.into(),
            record: parsed(items),
            now,
            next_fetch_at: now + 600,
            full_text_keys: Vec::new(),
            settings: None,
        };
        let analysed = AnalysedItems::default();
        (
            Queued {
                write,
                analysed,
                done,
            },
            result,
        )
    }

    /// A store with two outlets (their ids) and a dedup engine.
    fn two_outlets() -> (Store, Vec<i64>, StoryDedup) {
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://a.test/"), source("http://b.test/")])
            .unwrap();
        let ids = s.sources().unwrap().iter().map(|r| r.id).collect();
        (s, ids, StoryDedup::open(DedupConfig::default()).unwrap())
    }

    #[test]
    fn a_fetch_of_the_url_a_source_left_keeps_nothing_and_says_so() {
        let (mut s, ids, dedup) = two_outlets();
        // Fetched at the old address; feeds.toml moved the source meanwhile.
        let (old, old_done) = queued(
            (ids[0], "http://old.test/"),
            vec![report("o1", "Elbe floods Dresden", FLOOD_DRESDEN)],
            1_000,
        );
        let (kept, kept_done) = queued(
            (ids[1], "http://b.test/"),
            vec![report("b1", "Pirna evacuates", FLOOD_PIRNA)],
            1_000,
        );
        write_queued(&mut s, Some(&dedup), vec![old, kept]);
        let dropped = old_done.blocking_recv().unwrap().unwrap();
        assert!(dropped.moved && dropped.new == 0, "{dropped:?}");
        let stored = kept_done.blocking_recv().unwrap().unwrap();
        assert!(!stored.moved && stored.new == 1, "{stored:?}");
        assert_eq!(s.item_count().unwrap(), 1);
        assert_eq!(dedup.window_len(), Some(1), "no story decided for it");
    }

    #[test]
    fn a_write_that_fails_in_a_batch_loses_nothing_of_the_others() {
        let (mut s, ids, dedup) = two_outlets();
        let (first, first_done) = queued(
            (ids[0], "http://a.test/"),
            vec![report("a1", "Elbe floods Dresden", FLOOD_DRESDEN)],
            1_000,
        );
        // No such source: this write fails after the first was decided.
        let (lost, lost_done) = queued(
            (ids[1] + 100, "http://x.test/"),
            vec![report("x1", "Pirna evacuates", FLOOD_PIRNA)],
            1_000,
        );
        let (last, last_done) = queued(
            (ids[1], "http://b.test/"),
            vec![report("b1", "Flood reaches Dresden", FLOOD_DRESDEN)],
            1_000,
        );
        write_queued(&mut s, Some(&dedup), vec![first, lost, last]);
        assert_eq!(first_done.blocking_recv().unwrap().unwrap().new, 1);
        assert!(lost_done.blocking_recv().unwrap().is_err());
        assert_eq!(last_done.blocking_recv().unwrap().unwrap().new, 1);
        assert_eq!(s.item_count().unwrap(), 2);
        // The window was dropped; read back for the next new item, it holds
        // the two kept items and that one.
        assert_eq!(dedup.window_len(), None);
        let (next, next_done) = queued(
            (ids[1], "http://b.test/"),
            vec![report("b2", "Pirna evacuates", FLOOD_PIRNA)],
            1_100,
        );
        write_queued(&mut s, Some(&dedup), vec![next]);
        assert_eq!(next_done.blocking_recv().unwrap().unwrap().new, 1);
        assert_eq!(dedup.window_len(), Some(3));
    }

    #[test]
    fn a_change_stored_after_a_start_is_judged_at_the_next_refinement() {
        let (mut s, ids, dedup) = two_outlets();
        let dresden = report("a1", "Elbe floods Dresden", FLOOD_DRESDEN);
        let blog = report("b1", "Live: the Elbe flood in Dresden", FLOOD_BOTH);
        let (a, _a_done) = queued((ids[0], "http://a.test/"), vec![dresden], 1_000);
        let (b, _b_done) = queued((ids[1], "http://b.test/"), vec![blog], 1_000);
        write_queued(&mut s, Some(&dedup), vec![a, b]);
        dedup.refine(&mut s, 1_010).unwrap();
        let stories = |s: &Store| s.latest_stories(10).unwrap().len();
        assert_eq!(stories(&s), 1, "one flood story");
        // A daemon started again: no window until a new item needs one. The
        // blog (same GUID) moves on to another event; nothing new arrives.
        drop(dedup);
        let dedup = StoryDedup::open(DedupConfig::default()).unwrap();
        let snow = "Heavy snow closed the mountain pass between Bergen and Oslo on Thursday, \
            stranding dozens of lorries and forcing the railway operator to cancel evening \
            trains, as forecasters warned of more storms over the weekend. Road authorities \
            said ploughs could not keep up with drifts of up to two metres near the summit.";
        let moved_on = report("b1", "Live: snow closes the Bergen pass", snow);
        let (mut b, b_done) = queued((ids[1], "http://b.test/"), vec![moved_on], 2_000);
        b.analysed = AnalysedItems::nothing_new();
        write_queued(&mut s, Some(&dedup), vec![b]);
        assert_eq!(b_done.blocking_recv().unwrap().unwrap().updated, 1);
        assert_eq!(dedup.window_len(), None, "no new item read the window back");
        // The next publish's refinement judges it, without waiting for a new item.
        assert!(dedup.refine(&mut s, 2_010).unwrap() > 0);
        assert_eq!(stories(&s), 2, "the blog left the flood story");
    }

    #[test]
    fn writes_batched_together_are_decided_as_one_after_another() {
        let (mut s, ids, dedup) = two_outlets();
        let (first, first_done) = queued(
            (ids[0], "http://a.test/"),
            vec![report("a1", "Elbe floods Dresden", FLOOD_DRESDEN)],
            1_000,
        );
        let (second, second_done) = queued(
            (ids[1], "http://b.test/"),
            vec![report("b1", "Flood reaches Dresden", FLOOD_DRESDEN)],
            1_000,
        );
        write_queued(&mut s, Some(&dedup), vec![first, second]);
        assert_eq!(first_done.blocking_recv().unwrap().unwrap().new, 1);
        assert_eq!(second_done.blocking_recv().unwrap().unwrap().new, 1);
        // The second outlet's copy joined the first one's story.
        assert_eq!(s.story_count().unwrap(), 1);
    }
}
