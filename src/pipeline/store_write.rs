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
use crate::store::{FetchRecord, IngestStats, OneStoryPerItem, Store, StoreError};

/// What one source's store write holds.
pub(super) struct StoreWrite {
    pub source_id: i64,
    pub record: FetchRecord,
    /// When the fetch is stored (Unix seconds).
    pub now: i64,
    /// When the source is due again (Unix seconds).
    pub next_fetch_at: i64,
    /// Items that now hold the extracted article.
    pub full_text_keys: Vec<String>,
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

/// Hashes the items of a parsed fetch, as they will be stored, so the store's
/// write (which compares them with the stored hashes) need not under its lock.
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
fn write_queued(store: &mut Store, dedup: Option<&StoryDedup>, batch: Vec<Queued>) {
    if batch.is_empty() {
        return;
    }
    let (written, committed) = store.write_together(|s| {
        batch
            .into_iter()
            .map(|q| {
                let now = q.write.now;
                (q.done, write_one(s, dedup, q.write, q.analysed), now)
            })
            .collect::<Vec<_>>()
    });
    if let (Err(e), Some(dedup), Some((_, _, now))) = (&committed, dedup, written.first()) {
        tracing::error!("could not commit {} store writes: {e}", written.len());
        // The engine admitted items that the rolled-back transaction did not keep.
        if let Err(e) = dedup.rebuild(store, *now) {
            tracing::error!("could not rebuild the story dedup window: {e:#}");
        }
    }
    for (done, stored, _) in written {
        let stored = match (&committed, stored) {
            (Err(e), Ok(_)) => Err(e.same_again()),
            (_, stored) => stored,
        };
        // The source's task may have been cancelled; its write stands.
        let _ = done.send(stored);
    }
}

/// One fetch's write, in its own savepoint.
fn write_one(
    s: &mut Store,
    dedup: Option<&StoryDedup>,
    write: StoreWrite,
    analysed: AnalysedItems,
) -> Result<IngestStats, StoreError> {
    let StoreWrite {
        source_id,
        record,
        now,
        next_fetch_at,
        full_text_keys,
    } = write;
    // Only a parsed fetch with new items needs the engine (and, the first
    // time, its window read back from the store).
    let deciding = matches!(record, FetchRecord::Parsed { .. }) && !analysed.none_new();
    let stats = match (dedup, &record) {
        (Some(dedup), FetchRecord::Parsed { items, .. }) if deciding => {
            let (stats, agrees) = dedup.decide_beside(s, analysed, now, items, |s, decider| {
                s.record_fetch(source_id, &record, now, next_fetch_at, decider)
            })?;
            if stats.is_ok() && !agrees {
                // Kept, but the window no longer mirrors the store.
                if let Err(e) = dedup.rebuild(s, now) {
                    tracing::error!("could not rebuild the story dedup window: {e:#}");
                }
            }
            stats
        }
        _ => s.record_fetch(source_id, &record, now, next_fetch_at, &mut OneStoryPerItem),
    };
    if let (Err(_), Some(dedup), FetchRecord::Parsed { .. }) = (&stats, dedup, &record) {
        // The engine admitted items the rolled-back savepoint did not keep:
        // without this, every retry on a full disk grew the window.
        if let Err(e) = dedup.rebuild(s, now) {
            tracing::error!("could not rebuild the story dedup window: {e:#}");
        }
    }
    let stats = stats?;
    if !full_text_keys.is_empty() {
        s.mark_full_text(source_id, &full_text_keys)?;
    }
    Ok(stats)
}
