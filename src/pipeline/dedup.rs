//! The dedup step: owns the story dedup engine over the recent window, restores
//! the window from the store when the first new item needs it (so a process
//! that finds nothing new does no dedup work), and decides for the store which
//! story each new item joins ([`StoryDecider`]), inside the fetch's transaction.
//!
//! The engine sits behind its own mutex, always taken inside the store's lock
//! (never the other way round), so the two cannot deadlock.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;

use super::Context;
use crate::dedup::{self, Analysed, Analyser, DedupArticle, DedupConfig, Engine, Prepared};
use crate::read::RawItem;
use crate::sanitize::plain_text;
use crate::store::{
    item_key, sort_time, FetchRecord, MoveKind, NewItem, RefinedMove, RefinedTarget, SourceRecord,
    Store, StoreError, StoryDecider, StoryDecision, StoryMember, StoryMerge, StoryRefinement,
    WindowItem,
};

/// The engine of a running pipeline, shared by every source's store write.
pub struct StoryDedup {
    window: Mutex<Window>,
    /// The engine's text work, usable without its lock.
    analyser: Analyser,
    /// The engine's embedding model, reachable without the engine's lock.
    embedder: Option<Arc<dedup::embed::Embedder>>,
}

/// The engine, and whether its window holds the stored items yet.
struct Window {
    engine: Engine,
    restored: bool,
    /// The window was held, then dropped (an edit of `[dedup]`, a prune): the
    /// next refinement reads it back, so that changes stored meanwhile are
    /// judged without waiting for a new item (a change stored while none was
    /// held is marked in the store: [`Store::unjudged_changes`]).
    dropped: bool,
    /// The last stored change (time, item id) the window has taken in: items
    /// changed after it are queued to be judged ([`Window::revise_changed`]).
    revised_upto: (i64, i64),
    /// Items to judge, first come first judged: those read back with a text
    /// other than the one their story was decided by (changed while no
    /// window was held), then those changed since, each once however often
    /// it changes meanwhile.
    to_judge: JudgeQueue,
    /// Of those, the ones left out of the window read back, so that no new
    /// article joins them by a text not judged yet: each joins it when judged.
    absent: std::collections::HashSet<i64>,
    /// Hashes to record for items read back without one (stored by earlier
    /// builds, or with dedup off), so that their later changes are judged.
    unrecorded: Vec<(i64, i64)>,
}

/// Item ids in the order they are to be judged, each once.
#[derive(Default)]
struct JudgeQueue {
    order: std::collections::VecDeque<i64>,
    queued: std::collections::HashSet<i64>,
}

impl JudgeQueue {
    fn push(&mut self, id: i64) {
        if self.queued.insert(id) {
            self.order.push_back(id);
        }
    }

    fn front(&self) -> Option<i64> {
        self.order.front().copied()
    }

    fn pop(&mut self) {
        if let Some(id) = self.order.pop_front() {
            self.queued.remove(&id);
        }
    }

    fn clear(&mut self) {
        self.order.clear();
        self.queued.clear();
    }

    fn len(&self) -> usize {
        self.order.len()
    }
}

/// Changed items revised per refinement at most (the rest wait for the next):
/// the cost of a pass follows what changed, within a bound.
const REVISIONS_PER_PASS: usize = 500;

impl Window {
    /// Rebuilds the window from the stored items and their stored stories (no
    /// re-clustering), so a restart resumes with the same stories.
    fn restore(&mut self, store: &Store, now: i64) -> Result<(), StoreError> {
        let engine = &mut self.engine;
        let analyser = engine.analyser();
        let since = now.saturating_sub(engine.config().window.as_secs() as i64);
        // The items are read with their text as it is now; those whose text
        // is not the one they were judged by are judged at the next pass, and
        // changes stored from now on as they come (a change in the last
        // second is read again, and found the same).
        self.revised_upto = (store.last_item_change()?.saturating_sub(1), i64::MAX);
        let mut read = Restored::default();
        let mut chunk = Vec::with_capacity(RESTORE_CHUNK);
        let n = store.window_items(since, |item| {
            chunk.push(item);
            if chunk.len() == RESTORE_CHUNK {
                admit_restored(engine, &analyser, &mut chunk, &mut read);
            }
        })?;
        admit_restored(engine, &analyser, &mut chunk, &mut read);
        // Those the window's cap passes over are not judged: no story is
        // decided for them any more.
        let kept_from = n.saturating_sub(engine.config().window_articles);
        self.to_judge.clear();
        self.absent.clear();
        self.unrecorded = read.unrecorded;
        for (at, id, hash) in read.unjudged {
            if at >= kept_from {
                self.to_judge.push(id);
                self.absent.insert(id);
            } else {
                // Recorded as judged: no story is decided for it, and a mark
                // left would read the window back at every publish.
                self.unrecorded.push((id, hash));
            }
        }
        if self.to_judge.len() > 0 {
            tracing::info!(
                items = self.to_judge.len(),
                "items whose text changed since their story was decided are judged again"
            );
        }
        // The stored stories are the last refinement's: only later arrivals
        // (and their neighbours) are refined again.
        engine.mark_refined();
        self.restored = true;
        self.dropped = false;
        tracing::info!(items = n, "story dedup window restored");
        Ok(())
    }

    /// Gives the engine the new text of window items changed since it last
    /// looked ([`Engine::revise_with`]): a member whose title or text changed
    /// is decided again, and a move is recorded in `store` (layer `revised`).
    /// Returns how many moved.
    fn revise_changed(&mut self, store: &mut Store, now: i64) -> Result<usize, StoreError> {
        let mut judged = std::mem::take(&mut self.unrecorded);
        let moves = self.revise_some(store, now, &mut judged);
        if let Err(e) = store.set_judged_hashes(&judged) {
            // Read back later, they are judged again (and found where they are).
            tracing::warn!("cannot record the texts judged: {e}");
        }
        moves
    }

    /// [`Window::revise_changed`]'s pass: queues the items changed since the
    /// last, then judges the first [`REVISIONS_PER_PASS`] of the queue; each
    /// judged one leaves (item id, text hash) in `judged`. An item whose move
    /// could not be stored stays first in the queue.
    fn revise_some(
        &mut self,
        store: &mut Store,
        now: i64,
        judged: &mut Vec<(i64, i64)>,
    ) -> Result<usize, StoreError> {
        let since = now.saturating_sub(self.engine.config().window.as_secs() as i64);
        let changes = store.window_changes(since, self.revised_upto)?;
        if let Some(&(at, id)) = changes.last() {
            // A change stored later in the same second may have a smaller item
            // id: the last second is read again (a text judged is found the same).
            let caught_up = changes.len() < crate::store::WINDOW_CHANGES_READ;
            self.revised_upto = match caught_up {
                true => (at.saturating_sub(1), i64::MAX).max(self.revised_upto),
                false => (at, id),
            };
        }
        for (_, id) in changes {
            self.to_judge.push(id);
        }
        let (mut revised, mut moves) = (0, 0);
        for _ in 0..REVISIONS_PER_PASS {
            let Some(id) = self.to_judge.front() else {
                break;
            };
            if let Some(item) = store.window_item(id)? {
                let (changed, moved) = self.judge(store, now, &item, judged)?;
                revised += usize::from(changed);
                moves += usize::from(moved);
            }
            self.to_judge.pop();
        }
        if revised > 0 {
            tracing::debug!(
                revised,
                moves,
                waiting = self.to_judge.len(),
                "changed items judged again"
            );
        }
        Ok(moves)
    }

    /// Judges stored `item` again when its text is not the one the window
    /// holds for it ([`Engine::revise_with`]); a move is recorded in `store`
    /// (layer `revised`) and the hash of the text judged pushed to `judged`.
    /// Returns whether it was judged and whether it moved.
    fn judge(
        &mut self,
        store: &mut Store,
        now: i64,
        item: &WindowItem,
        judged: &mut Vec<(i64, i64)>,
    ) -> Result<(bool, bool), StoreError> {
        let chooser = Representative(self.engine.config().prefer.clone());
        let article = window_article(item);
        let commit = |r: &dedup::Revision| {
            let new = matches!(r.to, dedup::Target::New(_));
            let moved = RefinedMove {
                item_id: item.item_id,
                // The store's story: the window's may be an absorbed one's id.
                from: item.story_id,
                to: match r.to {
                    dedup::Target::Story(s) => RefinedTarget::Story(s),
                    dedup::Target::New(k) => RefinedTarget::New(k),
                },
                score: r.evidence.score,
                matched: r.evidence.matched.as_deref().and_then(|id| id.parse().ok()),
            };
            let r = StoryRefinement {
                moves: vec![moved],
                new_stories: usize::from(new),
            };
            let opened = store.apply_moves(&r, MoveKind::Revised, now, &chooser)?;
            Ok::<_, StoreError>(match (opened.first(), r.moves[0].to) {
                (Some(&id), _) => id,
                (None, RefinedTarget::Story(s)) => s,
                (None, RefinedTarget::New(_)) => item.story_id,
            })
        };
        let (changed, moved) = match self.absent.contains(&item.item_id) {
            true => {
                let moved = self.engine.judge_absent(&article, item.story_id, commit)?;
                self.absent.remove(&item.item_id);
                (true, moved)
            }
            false => self.engine.revise_with(&article, commit)?,
        };
        if changed {
            let hash = dedup::article_hash(&article.title, &article.text);
            judged.push((item.item_id, hash as i64));
        }
        if let Some(m) = &moved {
            tracing::info!(item = item.item_id, from = m.from, to = ?m.to, "changed item judged again");
        }
        Ok((changed, moved.is_some()))
    }
}

/// Stored items read back per round of [`admit_restored`]: small, so that
/// little is in flight between threads (a worker's freed memory stays with
/// its malloc arena).
const RESTORE_CHUNK: usize = 64;

/// Admits stored items to the window in their order, their text analysed on
/// every core first (the analysis needs no window statistics).
/// What reading the window back found besides its members.
#[derive(Default)]
struct Restored {
    /// Items read so far.
    read: usize,
    /// Items whose text is not the one their story was decided by, with
    /// their place in the order read and the hash of their text now: left
    /// out of the window until judged.
    unjudged: Vec<(usize, i64, i64)>,
    /// Items without a recorded hash, with the hash of their text now.
    unrecorded: Vec<(i64, i64)>,
}

fn admit_restored(
    engine: &mut Engine,
    analyser: &Analyser,
    chunk: &mut Vec<WindowItem>,
    read: &mut Restored,
) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = chunk.len().div_ceil(cores).max(1);
    let analyse = |part: &[WindowItem]| -> Vec<Analysed> {
        part.iter()
            .map(|item| analyser.analyse(&window_article(item)))
            .collect()
    };
    let analysed: Vec<Analysed> = std::thread::scope(|scope| {
        let mut parts = chunk.chunks(per_thread);
        let first = parts.next().unwrap_or_default();
        // The other parts on threads of their own, the first on this one.
        let others: Vec<_> = parts
            .map(|part| {
                let thread = std::thread::Builder::new().spawn_scoped(scope, move || analyse(part));
                (part, thread.ok())
            })
            .collect();
        let mut analysed = analyse(first);
        for (part, thread) in others {
            analysed.extend(match thread {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: this one does the part.
                None => analyse(part),
            });
        }
        analysed
    });
    for (item, analysed) in chunk.drain(..).zip(analysed) {
        // As when it was fetched (see `EngineDecider::decide`).
        engine.set_now(item.first_seen_at);
        let prepared = engine.prepare_analysed(analysed);
        let at = read.read;
        read.read += 1;
        match item.judged_hash {
            // Its text changed while no window was held: judged first.
            Some(judged) if judged as u64 != prepared.text_hash() => {
                let hash = prepared.text_hash() as i64;
                read.unjudged.push((at, item.item_id, hash));
                continue;
            }
            Some(_) => {}
            None => (read.unrecorded).push((item.item_id, prepared.text_hash() as i64)),
        }
        engine.admit(prepared, item.story_id);
    }
}

/// A stored item as dedup reads it back.
fn window_article(item: &WindowItem) -> DedupArticle {
    DedupArticle {
        id: item.item_id.to_string(),
        source: item.source.clone(),
        url: item.link.clone().unwrap_or_default(),
        published: Some(item.assigned_at),
        title: item.title.clone().unwrap_or_default(),
        text: body_text(item.content.clone(), item.summary.clone()),
    }
}

/// The engine, locked (see [`StoryDedup::engine`]).
pub struct EngineGuard<'a>(MutexGuard<'a, Window>);

impl Deref for EngineGuard<'_> {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.0.engine
    }
}

impl DerefMut for EngineGuard<'_> {
    fn deref_mut(&mut self) -> &mut Engine {
        &mut self.0.engine
    }
}

impl StoryDedup {
    /// Starts the engine (loading the embedding model, when configured) with an
    /// empty window; the first store write with new items fills it.
    pub fn open(config: DedupConfig) -> anyhow::Result<StoryDedup> {
        let engine = Engine::open(config).context("loading the embedding model")?;
        Ok(StoryDedup {
            analyser: engine.analyser(),
            embedder: engine.embedder().cloned(),
            window: Mutex::new(Window {
                engine,
                restored: false,
                dropped: false,
                revised_upto: (0, 0),
                to_judge: JudgeQueue::default(),
                absent: Default::default(),
                unrecorded: Vec::new(),
            }),
        })
    }

    /// Starts the engine and fills its window from the store now.
    pub fn restore(store: &Store, config: DedupConfig, now: i64) -> anyhow::Result<StoryDedup> {
        let dedup = StoryDedup::open(config)?;
        dedup
            .lock_window()
            .restore(store, now)
            .context("reading the dedup window")?;
        Ok(dedup)
    }

    /// Takes an edited `[dedup]` in place: the engine starts anew with
    /// `config`, its window read back from the store when the next new item
    /// needs it. Fetches running now share this value, so what they store
    /// reaches the new window too. False (nothing changed) when the text
    /// analysis (`copy_min_words`) or the embedding model changed, which this
    /// value's analyser holds: a new one is needed.
    pub fn reconfigure(&self, config: DedupConfig) -> bool {
        let mut window = self.lock_window();
        let old = window.engine.config();
        if old.copy_min_words != config.copy_min_words
            || old.embedding_model != config.embedding_model
        {
            return false;
        }
        let mut fresh = Engine::new(config);
        if let Some(embedder) = window.engine.embedder().cloned() {
            fresh = fresh.with_embedder(embedder);
        }
        window.engine = fresh;
        window.dropped |= window.restored;
        window.restored = false;
        true
    }

    fn lock_window(&self) -> MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Articles in the window, or `None` while it has not been read back from
    /// the store (no new item has needed it yet).
    pub fn window_len(&self) -> Option<usize> {
        let window = self.lock_window();
        window.restored.then(|| window.engine.window_len())
    }

    /// Drops the engine's window after a store write failed (the engine held
    /// items its rolled-back transaction did not keep): the next new item
    /// reads it back from the store. Not at once: while the database refuses
    /// every write (a full disk, `max_size`), each failed write would read the
    /// whole window back again, for nothing.
    pub fn drop_after_failed_store(&self) {
        if self.drop_window(false) {
            tracing::info!(
                "story dedup window dropped after a failed store; read back for the next new item"
            );
        }
    }

    /// Drops the engine's window after retention pruned items it held: read
    /// back from the store at the next refinement (or new item), as after a
    /// restart, so that changed items are judged without waiting.
    pub fn forget_pruned(&self) {
        if self.drop_window(true) {
            tracing::info!(
                "story dedup window dropped after a prune; read back at the next publish"
            );
        }
    }

    /// Empties the engine; `read_back_at_refine`: the next refinement reads
    /// the window back. True when a window was held.
    fn drop_window(&self, read_back_at_refine: bool) -> bool {
        let mut window = self.lock_window();
        let mut fresh = Engine::new(window.engine.config().clone());
        if let Some(embedder) = window.engine.embedder().cloned() {
            fresh = fresh.with_embedder(embedder);
        }
        window.engine = fresh;
        let held = std::mem::replace(&mut window.restored, false);
        window.dropped |= held && read_back_at_refine;
        held
    }

    /// The engine, locked. Take it inside the store's lock, never around it.
    pub fn engine(&self) -> EngineGuard<'_> {
        EngineGuard(self.lock_window())
    }

    /// Refines the stories that the items stored since the last pass joined
    /// or were candidates for ([`Engine::refine_with`], the code path of
    /// `feedsieve cluster` too) and records the result in `store`. Returns the
    /// items moved. Take it inside the store's lock, like the engine.
    pub fn refine(&self, store: &mut Store, now: i64) -> Result<usize, StoreError> {
        let mut window = self.lock_window();
        if !window.restored {
            // A change stored while no window was held (by a process before
            // this one, or with dedup off) is marked; judged now, not at the
            // next new item.
            let since = now.saturating_sub(window.engine.config().window.as_secs() as i64);
            if !window.dropped && !store.unjudged_changes(since)? {
                return Ok(0);
            }
            window.restore(store, now)?;
        }
        let revised = window.revise_changed(store, now).unwrap_or_else(|e| {
            tracing::warn!("cannot judge the changed items again: {e}");
            0
        });
        if window.engine.unrefined() == 0 {
            return Ok(revised);
        }
        let chooser = Representative(window.engine.config().prefer.clone());
        // Both steps need the store, one after the other.
        let store = std::cell::RefCell::new(store);
        let anchors = |stories: &[i64]| match store.borrow().representatives(stories) {
            Ok(found) => found
                .into_iter()
                .map(|(story, item)| (story, item.to_string()))
                .collect(),
            Err(e) => {
                tracing::warn!("cannot read the stories' representatives: {e}");
                HashMap::new()
            }
        };
        let r = window.engine.refine_anchored(anchors, |r| {
            let refinement = StoryRefinement {
                moves: r.moves.iter().filter_map(refined_move).collect(),
                new_stories: r.new_stories,
            };
            store
                .borrow_mut()
                .apply_refinement(&refinement, now, &chooser)
        });
        match r {
            Ok(r) => {
                if !r.moves.is_empty() {
                    tracing::info!(
                        moved = r.moves.len(),
                        new = r.new_stories,
                        emptied = r.emptied.len(),
                        scope = r.scope,
                        pairs = r.pairs,
                        "stories refined"
                    );
                }
                Ok(revised + r.moves.len())
            }
            Err(e) => {
                drop(window);
                // The window may hold what the store did not keep.
                self.drop_after_failed_store();
                Err(e)
            }
        }
    }

    /// The engine's embedding model, to embed new items before any lock is taken.
    pub fn embedder(&self) -> Option<Arc<dedup::embed::Embedder>> {
        self.embedder.clone()
    }

    /// Hands embeddings computed outside the locks, as (title, text, embedding),
    /// to the engine for the next store write.
    pub fn remember_embeddings(&self, done: Vec<(String, String, Vec<f32>)>) {
        let mut engine = self.engine();
        for (title, text, e) in done {
            engine.remember_embedding(&title, &text, e);
        }
    }

    /// A decider for one store write, with the items analysed before it; it
    /// holds the engine until dropped. Called inside the store's lock: the
    /// first call fills the window from `store` as of `now`.
    pub fn decider(
        &self,
        store: &Store,
        ahead: AnalysedItems,
        now: i64,
    ) -> Result<EngineDecider<'_>, StoreError> {
        let mut window = self.lock_window();
        if !window.restored {
            window.restore(store, now)?;
        }
        Ok(EngineDecider {
            window,
            ahead,
            pending: None,
        })
    }
}

/// New items of one fetch analysed for dedup before any lock was taken, by
/// their place in the fetch, with the date they were analysed with.
#[derive(Debug, Default)]
pub struct AnalysedItems {
    by_index: HashMap<usize, AnalysedItem>,
    /// Every new item of the fetch is here (the store's keys could be read).
    complete: bool,
}

/// One new item analysed ahead.
#[derive(Debug)]
struct AnalysedItem {
    /// The date it was analysed with ([`sort_time`]).
    sort_at: i64,
    /// Words of its plain text.
    words: usize,
    analysed: Analysed,
}

impl AnalysedItems {
    /// True when the fetch surely holds no new item, so no story is decided.
    pub fn none_new(&self) -> bool {
        self.complete && self.by_index.is_empty()
    }
}

#[cfg(test)]
impl AnalysedItems {
    /// What a fetch that holds no new item is analysed as.
    pub(crate) fn nothing_new() -> AnalysedItems {
        AnalysedItems {
            by_index: HashMap::new(),
            complete: true,
        }
    }
}

/// Analyses, on a blocking thread and with no lock held, the items of a parsed
/// fetch that the store does not know yet: the text work of dedup (plain text,
/// tokens, stems, MinHash) then runs in parallel across sources, and only the
/// part that needs the window's statistics waits for the engine. `now` must be
/// the time the fetch is stored with.
pub async fn analyse_new_items(
    ctx: &Context,
    source: &SourceRecord,
    record: &FetchRecord,
    now: i64,
) -> AnalysedItems {
    let (Some(dedup), FetchRecord::Parsed { items, .. }) = (&ctx.dedup, record) else {
        return AnalysedItems::default();
    };
    let source_id = source.id;
    let keys: Vec<Option<String>> = items.iter().map(item_key).collect();
    let known = ctx
        .store
        .call(move |s| {
            let known = s.known_keys(source_id)?;
            // Links matter only for keys already known (see below).
            let links = match keys.iter().flatten().any(|k| known.contains(k)) {
                true => s.known_links(source_id)?,
                false => Default::default(),
            };
            Ok::<_, StoreError>((known, links))
        })
        .await;
    let Ok((known, links)) = known else {
        // The store's write decides these items without help.
        return AnalysedItems::default();
    };
    // New keys, and known keys with a link never stored: a feed that reuses
    // its GUIDs gives them to new articles (see the store's `reused_key`).
    let maybe_new = |item: &RawItem| match item_key(item) {
        Some(k) if !known.contains(&k) => true,
        Some(_) => item
            .link
            .as_deref()
            .is_some_and(|l| !links.contains(&crate::store::link_identity(l))),
        None => false,
    };
    let fresh: Vec<(usize, RawItem)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| maybe_new(item))
        .map(|(i, item)| (i, item.clone()))
        .collect();
    if fresh.is_empty() {
        return AnalysedItems {
            by_index: HashMap::new(),
            complete: true,
        };
    }
    let analyser = dedup.analyser.clone();
    let source_name = source.name.clone();
    let analysed = ctx
        .text_work(move || {
            let by_index = fresh.into_iter().map(|(i, item)| {
                let sort_at = sort_time(item.date().map(|d| d.timestamp()), now);
                let article = item_article(&item, &source_name, sort_at);
                let ahead = AnalysedItem {
                    sort_at,
                    words: article.text.split_whitespace().count(),
                    analysed: analyser.analyse(&article),
                };
                (i, ahead)
            });
            AnalysedItems {
                by_index: by_index.collect(),
                complete: true,
            }
        })
        .await;
    analysed.unwrap_or_default()
}

/// Decides stories with the engine, for one store write.
pub struct EngineDecider<'a> {
    window: MutexGuard<'a, Window>,
    /// Items analysed before the lock.
    ahead: AnalysedItems,
    /// The features of the item last decided, admitted once it is stored.
    pending: Option<Prepared>,
}

impl EngineDecider<'_> {
    /// The outlets the config prefers as a story's representative.
    pub(super) fn prefer(&self) -> &[String] {
        &self.window.engine.config().prefer
    }

    /// The items of the next write to decide, as analysed before the lock.
    pub(super) fn analysed_ahead(&mut self, ahead: AnalysedItems) {
        self.ahead = ahead;
    }
}

impl StoryDecider for EngineDecider<'_> {
    fn decide(&mut self, new: &NewItem<'_>) -> Option<StoryDecision> {
        let engine = &mut self.window.engine;
        engine.set_now(new.seen_at);
        let (prepared, words) = match self.ahead.by_index.remove(&new.index) {
            Some(ahead) if ahead.sort_at == new.sort_at => {
                (engine.prepare_analysed(ahead.analysed), ahead.words)
            }
            _ => {
                let article = item_article(new.item, new.source_name, new.sort_at);
                let words = article.text.split_whitespace().count();
                (engine.prepare(&article), words)
            }
        };
        let evidence = engine.decide(&prepared);
        let prepared_hash = prepared.text_hash();
        self.pending = Some(prepared);
        Some(StoryDecision {
            story: evidence.story,
            layer: evidence.layer.as_str(),
            score: Some(evidence.score),
            matched: evidence.matched.as_deref().and_then(|m| m.parse().ok()),
            canonical_url: dedup::url::canonical_url(new.item.link.as_deref().unwrap_or("")),
            body_words: i64::try_from(words).ok(),
            judged_hash: Some(prepared_hash as i64),
            ids: None,
        })
    }

    fn stored(&mut self, item_id: i64, story_id: i64) -> Option<StoryMerge> {
        let prepared = self.pending.take()?;
        self.window
            .engine
            .admit(prepared.with_id(item_id.to_string()), story_id);
        self.window
            .engine
            .merge_similar(story_id)
            .map(|m| StoryMerge {
                absorbed: m.absorbed,
                survivor: m.survivor,
                score: m.score,
            })
    }

    fn representative(&self, members: &[StoryMember]) -> Option<usize> {
        choose_representative(members, &self.window.engine.config().prefer)
    }
}

/// A refinement move as the store records it (item ids are the engine's article ids).
fn refined_move(m: &dedup::Move) -> Option<RefinedMove> {
    Some(RefinedMove {
        item_id: m.article.parse().ok()?,
        from: m.from,
        to: match m.to {
            dedup::Target::Story(s) => RefinedTarget::Story(s),
            dedup::Target::New(k) => RefinedTarget::New(k),
        },
        score: m.score,
        matched: m.matched.as_deref().and_then(|id| id.parse().ok()),
    })
}

/// Chooses representatives for stories the refinement changed (it decides nothing).
struct Representative(Vec<String>);

impl StoryDecider for Representative {
    fn decide(&mut self, _: &NewItem<'_>) -> Option<StoryDecision> {
        None
    }

    fn stored(&mut self, _: i64, _: i64) -> Option<StoryMerge> {
        None
    }

    fn representative(&self, members: &[StoryMember]) -> Option<usize> {
        choose_representative(members, &self.0)
    }
}

/// The representative of a story by the dedup rule, with `prefer`red outlets.
pub(super) fn choose_representative(members: &[StoryMember], prefer: &[String]) -> Option<usize> {
    // Lengths are recorded with each decision; older rows are measured.
    let words: Vec<usize> = members
        .iter()
        .map(
            |m| match m.body_words.and_then(|w| usize::try_from(w).ok()) {
                Some(words) => words,
                None => body_text(m.content.clone(), m.summary.clone())
                    .split_whitespace()
                    .count(),
            },
        )
        .collect();
    let candidates: Vec<dedup::Candidate<'_>> = members
        .iter()
        .zip(&words)
        .map(|(m, &words)| dedup::Candidate {
            source: &m.source,
            words,
            time: m.time,
        })
        .collect();
    dedup::representative(&candidates, prefer)
}

/// A new item as dedup sees it: plain text, dated by when it sorts.
fn item_article(item: &RawItem, source_name: &str, sort_at: i64) -> DedupArticle {
    DedupArticle {
        id: String::new(),
        source: source_name.to_string(),
        url: item.link.clone().unwrap_or_default(),
        published: Some(sort_at),
        title: item.title.clone().unwrap_or_default(),
        text: body_text(item.content.clone(), item.summary.clone()),
    }
}

/// The plain text dedup compares: the content, else the summary.
pub fn body_text(content: Option<String>, summary: Option<String>) -> String {
    content
        .filter(|c| !c.trim().is_empty())
        .or(summary)
        .map(|h| plain_text(&h))
        .unwrap_or_default()
}

/// A stored item as dedup sees it (for `feedsieve explain`).
pub fn stored_article(item: &crate::store::ItemAssignment) -> DedupArticle {
    DedupArticle {
        id: item.item_id.to_string(),
        source: item.source.clone(),
        url: item.link.clone().unwrap_or_default(),
        // The date its story was decided by: a date in the future counts as
        // when it was first seen, as the window reads it back.
        published: Some(crate::store::sort_time(
            item.published_at,
            item.first_seen_at,
        )),
        title: item.title.clone().unwrap_or_default(),
        text: body_text(item.content.clone(), item.summary.clone()),
    }
}

#[cfg(test)]
mod tests {
    //! The store and the engine together: what subscribers see when stories
    //! grow, merge and survive a restart.

    use super::*;
    use crate::read::RawItem;
    use crate::store::tests::{item, parsed, source};
    use crate::store::OneStoryPerItem;

    /// Stores one fetch of `source` holding `item`, at `at`, due again at `next`.
    fn store_item(
        s: &mut Store,
        dedup: &StoryDedup,
        source: i64,
        item: RawItem,
        at: i64,
        next: i64,
    ) {
        let mut decider = dedup.decider(s, AnalysedItems::default(), at).unwrap();
        s.record_fetch(source, &parsed(vec![item]), at, next, &mut decider)
            .unwrap();
    }

    /// A paragraph of made-up words that no other `seed` shares.
    fn distinct_text(seed: u64) -> String {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let words: Vec<String> = (0..60)
            .map(|_| {
                (0..3)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let syllable = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "du"];
                        syllable[(x >> 33) as usize % syllable.len()]
                    })
                    .collect::<String>()
            })
            .collect();
        words.join(" ")
    }

    #[test]
    fn a_restored_window_holds_every_stored_item_under_its_own_story() {
        // More items than one round of the restore reads, so that rounds and
        // the threads within them must keep each item with its own features.
        let count = 2 * RESTORE_CHUNK + 7;
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let items: Vec<RawItem> = (0..count)
            .map(|i| RawItem {
                content: Some(format!("<p>{}</p>", distinct_text(i as u64))),
                ..item(&format!("g{i}"), &format!("Report {i}"))
            })
            .collect();
        s.record_fetch(id, &parsed(items), 1_000, 2_000, &mut OneStoryPerItem)
            .unwrap();
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 1_000).unwrap();
        assert_eq!(dedup.window_len(), Some(count));
        let mut engine = dedup.engine();
        for i in [
            0,
            RESTORE_CHUNK - 1,
            RESTORE_CHUNK,
            RESTORE_CHUNK + 33,
            count - 1,
        ] {
            let stored = s.item_assignment(i as i64 + 1).unwrap().unwrap();
            let copy = DedupArticle {
                id: "probe".into(),
                source: "Another outlet".into(),
                url: "http://y.test/copy".into(),
                published: Some(1_100),
                title: format!("Report {i}, again"),
                text: distinct_text(i as u64),
            };
            let prepared = engine.prepare(&copy);
            let evidence = engine.decide(&prepared);
            assert_eq!(
                evidence.story,
                Some(stored.story_id),
                "item {i}: {evidence:?}"
            );
        }
    }

    #[test]
    fn an_edited_dedup_section_is_taken_in_place_by_the_running_engine() {
        use crate::dedup::tests::FLOOD_DRESDEN;
        let (mut s, ids, dedup) = alpha_and_beta();
        let flood = |guid: &str| report(guid, "Elbe floods Dresden old town", FLOOD_DRESDEN);
        store_item(&mut s, &dedup, ids[0], flood("a"), 100, 200);
        // A fetch holding this engine stores after the edit: its copy meets
        // the report stored before, read back into the new window.
        let edited = DedupConfig {
            text_threshold: 0.31,
            ..DedupConfig::default()
        };
        assert!(dedup.reconfigure(edited.clone()));
        assert_eq!(dedup.window_len(), None);
        assert_eq!(dedup.engine().config().text_threshold, 0.31);
        store_item(&mut s, &dedup, ids[1], flood("b"), 160, 200);
        assert_eq!(s.story_count().unwrap(), 1);
        // Another text analysis needs another engine.
        let analysis = DedupConfig {
            copy_min_words: 10,
            ..edited
        };
        assert!(!dedup.reconfigure(analysis));
    }

    /// An item with a text, as a feed gives it.
    fn report(guid: &str, title: &str, text: &str) -> RawItem {
        RawItem {
            content: Some(format!("<p>{text}</p>")),
            ..item(guid, title)
        }
    }

    /// A live blog's text once it follows another event.
    const SNOW: &str = "Heavy snow closed the mountain pass between Bergen and Oslo on \
        Tuesday, and the road authority stranded lorries at Haugastol while ploughs \
        cleared drifts two metres high. The railway added carriages for drivers who \
        left their cars, and avalanche warnings stay in force until Thursday.";

    /// Each story's members (item ids), sorted.
    fn members(s: &Store) -> Vec<Vec<i64>> {
        let stories = s.latest_stories(10).unwrap();
        let ids = |st: &crate::store::Story| {
            let mut ids: Vec<i64> = st.items.iter().map(|i| i.id).collect();
            ids.sort();
            ids
        };
        let mut m: Vec<Vec<i64>> = stories.iter().map(ids).collect();
        m.sort();
        m
    }

    /// Stores `item` of `source` at `at` as a process without story dedup
    /// does (a build before judged texts, or `[dedup] enabled = false`).
    fn store_plain(s: &mut Store, source: i64, item: RawItem, at: i64) {
        s.record_fetch(
            source,
            &parsed(vec![item]),
            at,
            at + 100,
            &mut OneStoryPerItem,
        )
        .unwrap();
    }

    /// Outlets Alpha and Beta with an engine on their (empty) store: the
    /// store, the outlets' ids and the engine.
    fn alpha_and_beta() -> (Store, Vec<i64>, StoryDedup) {
        let mut s = Store::open_in_memory().unwrap();
        let outlet = |name: &str| crate::store::SourceSpec {
            name: name.into(),
            ..source(&format!("http://{name}.test/feed"))
        };
        s.sync_sources(&[outlet("alpha"), outlet("beta")]).unwrap();
        let ids: Vec<i64> = s.sources().unwrap().iter().map(|r| r.id).collect();
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 100).unwrap();
        (s, ids, dedup)
    }

    /// Alpha's flood report (item 1) and Beta's live blog on the flood (item
    /// 2), one story: the store, the outlets' ids and the engine.
    fn flood_and_blog() -> (Store, Vec<i64>, StoryDedup) {
        use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN};
        let (mut s, ids, dedup) = alpha_and_beta();
        let dresden = report("a", "Elbe floods Dresden old town", FLOOD_DRESDEN);
        store_item(&mut s, &dedup, ids[0], dresden, 100, 200);
        let blog = report("live", "Live: the Elbe flood in Dresden", FLOOD_BOTH);
        store_item(&mut s, &dedup, ids[1], blog, 160, 200);
        dedup.refine(&mut s, 170).unwrap();
        assert_eq!(members(&s), [vec![1, 2]], "one story of two outlets");
        (s, ids, dedup)
    }

    #[test]
    fn a_live_blog_that_moves_on_to_another_event_leaves_its_story() {
        use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN};
        let (mut s, ids, dedup) = flood_and_blog();
        // The same blog fetched again with a new date only: nothing to judge.
        let redated = RawItem {
            published: chrono::DateTime::from_timestamp(250, 0),
            ..report("live", "Live: the Elbe flood in Dresden", FLOOD_BOTH)
        };
        store_item(&mut s, &dedup, ids[1], redated, 250, 300);
        assert_eq!(dedup.refine(&mut s, 260).unwrap(), 0);
        assert_eq!(dedup.window_len(), Some(2));

        // By evening the blog (same GUID and link) follows another event.
        let snow_blog = report("live", "Live: snow closes the Bergen pass", SNOW);
        store_item(&mut s, &dedup, ids[1], snow_blog.clone(), 400, 500);
        assert!(dedup.refine(&mut s, 410).unwrap() > 0);
        assert_eq!(
            members(&s),
            [vec![1], vec![2]],
            "the blog left the flood story"
        );
        assert_eq!(dedup.window_len(), Some(2), "its old text left the window");
        // A flood report arriving now joins the Dresden story, not the blog's.
        let pirna = report("p", "Dresden flood reaches the old town", FLOOD_DRESDEN);
        store_item(&mut s, &dedup, ids[0], pirna, 420, 500);
        dedup.refine(&mut s, 430).unwrap();
        assert_eq!(members(&s), [vec![1, 3], vec![2]]);
        let guid_of = |s: &Store, item: i64| s.item_assignment(item).unwrap().unwrap().story_guid;
        let blog_guid = guid_of(&s, 2);

        // Back to the flood and on to the snow again (copies out of sync):
        // the blog's own story comes back under the same GUID.
        let flood_again = report("live", "Live: the Elbe flood in Dresden", FLOOD_BOTH);
        store_item(&mut s, &dedup, ids[1], flood_again, 500, 600);
        dedup.refine(&mut s, 510).unwrap();
        assert_eq!(members(&s), [vec![1, 2, 3]]);
        store_item(&mut s, &dedup, ids[1], snow_blog, 600, 700);
        dedup.refine(&mut s, 610).unwrap();
        assert_eq!(members(&s), [vec![1, 3], vec![2]]);
        assert_eq!(guid_of(&s, 2), blog_guid);
        assert!(s.integrity_ok().unwrap());
    }

    /// [`flood_and_blog`], then the blog's move on to the snow stored at 400
    /// while no window is held (a cron `fetch` with nothing new).
    fn blog_moved_on_with_no_window() -> (Store, Vec<i64>) {
        let (mut s, ids, dedup) = flood_and_blog();
        drop(dedup);
        let snow_blog = report("live", "Live: snow closes the Bergen pass", SNOW);
        let moved_on = parsed(vec![snow_blog]);
        s.record_fetch(ids[1], &moved_on, 400, 500, &mut OneStoryPerItem)
            .unwrap();
        (s, ids)
    }

    #[test]
    fn a_change_stored_while_no_window_was_held_is_judged_when_one_is_read_back() {
        use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN};
        // A cron `fetch` that finds nothing new holds no window; it stores the
        // blog's new text and a new category on Alpha's report.
        let (mut s, ids) = blog_moved_on_with_no_window();
        let tagged = RawItem {
            categories: vec!["Weather".into()],
            ..report("a", "Elbe floods Dresden old town", FLOOD_DRESDEN)
        };
        s.record_fetch(
            ids[0],
            &parsed(vec![tagged]),
            400,
            500,
            &mut OneStoryPerItem,
        )
        .unwrap();
        assert_eq!(members(&s), [vec![1, 2]], "stored, not judged");

        // The next process to hold the window judges the blog, and only it.
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 410).unwrap();
        assert_eq!(dedup.refine(&mut s, 420).unwrap(), 1);
        assert_eq!(members(&s), [vec![1], vec![2]], "the blog left");
        let layers: Vec<String> = moves_of(&s, 2).into_iter().map(|m| m.2).collect();
        assert_eq!(layers, ["revised"]);
        assert!(moves_of(&s, 1).is_empty(), "a category is no new text");

        // Judged once: the process after it finds nothing to judge, and a
        // report of the flood still joins the flood story.
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 430).unwrap();
        assert_eq!(dedup.refine(&mut s, 440).unwrap(), 0);
        assert_eq!(moves_of(&s, 2).len(), 1);
        let pirna = report("p", "Dresden flood reaches the old town", FLOOD_BOTH);
        store_item(&mut s, &dedup, ids[0], pirna, 450, 500);
        dedup.refine(&mut s, 460).unwrap();
        assert_eq!(members(&s), [vec![1, 3], vec![2]]);
        assert!(s.integrity_ok().unwrap());
    }

    #[test]
    fn a_new_report_never_joins_a_story_by_a_text_not_judged_yet() {
        let (mut s, ids) = blog_moved_on_with_no_window();
        // The next one reads the window back for a snow report of Alpha's,
        // decided before the blog is judged: not into the flood story.
        let dedup = StoryDedup::open(DedupConfig::default()).unwrap();
        let snow = report("s", "Snow closes the Bergen pass", SNOW);
        store_item(&mut s, &dedup, ids[0], snow, 420, 500);
        dedup.refine(&mut s, 430).unwrap();
        assert_eq!(members(&s), [vec![1], vec![2, 3]]);
        assert!(s.integrity_ok().unwrap());
    }

    #[test]
    fn explain_dates_an_article_as_its_story_was_decided() {
        let (mut s, ids, dedup) = alpha_and_beta();
        drop(dedup);
        // Dated a year ahead (a bad clock): decided by when it was first seen.
        let ahead = RawItem {
            published: chrono::DateTime::from_timestamp(100 + 365 * 86_400, 0),
            ..report("a", "Snow closes the Bergen pass", SNOW)
        };
        store_plain(&mut s, ids[0], ahead, 100);
        let stored = s.item_assignment(1).unwrap().unwrap();
        assert_eq!(stored_article(&stored).published, Some(100));
    }

    #[test]
    fn a_change_stored_before_this_process_started_is_judged_at_its_first_publish() {
        // Stored by another process (a cron `fetch`, or with dedup off).
        let (mut s, ids) = blog_moved_on_with_no_window();
        assert_eq!(members(&s), [vec![1, 2]], "stored, not judged");
        // A daemon starts: nothing new arrives, but its first publish
        // judges the change (no window is read back without one).
        let dedup = StoryDedup::open(DedupConfig::default()).unwrap();
        assert_eq!(dedup.refine(&mut s, 420).unwrap(), 1);
        assert_eq!(members(&s), [vec![1], vec![2]], "the blog left");
        // Judged: a process after it reads nothing back, nor after a change
        // of categories alone (no new text to judge).
        let dedup = StoryDedup::open(DedupConfig::default()).unwrap();
        assert_eq!(dedup.refine(&mut s, 430).unwrap(), 0);
        assert_eq!(dedup.window_len(), None);
        let tagged = RawItem {
            categories: vec!["Weather".into()],
            ..report("live", "Live: snow closes the Bergen pass", SNOW)
        };
        store_plain(&mut s, ids[1], tagged, 440);
        let dedup = StoryDedup::open(DedupConfig::default()).unwrap();
        assert_eq!(dedup.refine(&mut s, 450).unwrap(), 0);
        assert_eq!(dedup.window_len(), None, "read back for a category");
    }

    #[test]
    fn a_change_to_an_item_stored_before_judged_texts_were_kept_is_judged() {
        use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN};
        // Stored by an earlier build: no judged text on either.
        let (mut s, ids, dedup) = alpha_and_beta();
        drop(dedup);
        let dresden = report("a", "Elbe floods Dresden old town", FLOOD_DRESDEN);
        store_plain(&mut s, ids[0], dresden, 100);
        let blog = report("live", "Live: snow closes the Bergen pass", SNOW);
        store_plain(&mut s, ids[1], blog, 110);
        // Upgraded, the blog moves on to the flood before a window is read back:
        // its new text is not the one its story was decided by.
        let flood_blog = report("live", "Live: the Elbe flood in Dresden", FLOOD_BOTH);
        store_plain(&mut s, ids[1], flood_blog, 300);
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 310).unwrap();
        dedup.refine(&mut s, 320).unwrap();
        assert_eq!(members(&s), [vec![1, 2]], "the blog's change was judged");
    }

    #[test]
    fn items_stored_without_a_judged_text_are_judged_when_they_change() {
        use crate::dedup::tests::FLOOD_DRESDEN;
        // Stored by an earlier build, or with dedup off: no judged text.
        let (mut s, ids, dedup) = alpha_and_beta();
        drop(dedup);
        let flood = report("a", "Elbe floods Dresden old town", FLOOD_DRESDEN);
        store_plain(&mut s, ids[0], flood, 100);
        assert_eq!(s.judged_hash(1), None);
        // The first window read back records the text as it stands.
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 150).unwrap();
        dedup.refine(&mut s, 160).unwrap();
        assert!(s.judged_hash(1).is_some());
        drop(dedup);
        // Changed while no window is held: judged by the next one.
        let snow = report("a", "Snow closes the Bergen pass", SNOW);
        store_plain(&mut s, ids[0], snow.clone(), 300);
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 310).unwrap();
        dedup.refine(&mut s, 320).unwrap();
        let text = body_text(snow.content.clone(), None);
        let hash = dedup::article_hash("Snow closes the Bergen pass", &text);
        assert_eq!(s.judged_hash(1), Some(hash as i64));
    }

    #[test]
    fn a_change_stored_after_a_dedup_edit_is_judged_without_waiting_for_a_new_item() {
        let (mut s, ids, dedup) = flood_and_blog();
        let edited = DedupConfig {
            text_threshold: 0.31,
            ..DedupConfig::default()
        };
        assert!(dedup.reconfigure(edited));
        let snow_blog = report("live", "Live: snow closes the Bergen pass", SNOW);
        s.record_fetch(
            ids[1],
            &parsed(vec![snow_blog]),
            400,
            500,
            &mut OneStoryPerItem,
        )
        .unwrap();
        assert_eq!(dedup.refine(&mut s, 410).unwrap(), 1);
        assert_eq!(members(&s), [vec![1], vec![2]], "the blog left");
        assert_eq!(dedup.window_len(), Some(2));
    }

    #[test]
    fn more_changed_items_than_a_pass_judges_are_all_judged_in_turn() {
        // Each fetch stores every item changed again (a feed that rewrites
        // them all): the items the first pass left wait their turn first.
        let count = REVISIONS_PER_PASS + 200;
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let dedup = StoryDedup::restore(&s, DedupConfig::default(), 100).unwrap();
        let edition = |round: usize| -> Vec<RawItem> {
            let text = |i: usize| distinct_text((round * count + i) as u64);
            (0..count)
                .map(|i| report(&format!("g{i}"), &format!("Report {i}"), &text(i)))
                .collect()
        };
        let mut decider = dedup.decider(&s, AnalysedItems::default(), 100).unwrap();
        s.record_fetch(id, &parsed(edition(0)), 100, 200, &mut decider)
            .unwrap();
        drop(decider);
        dedup.refine(&mut s, 110).unwrap();
        for (round, at) in [(1, 200), (2, 300)] {
            s.record_fetch(
                id,
                &parsed(edition(round)),
                at,
                at + 100,
                &mut OneStoryPerItem,
            )
            .unwrap();
            dedup.refine(&mut s, at + 10).unwrap();
        }
        dedup.refine(&mut s, 320).unwrap();
        let last = edition(2);
        for (i, item) in last.iter().enumerate() {
            let text = body_text(item.content.clone(), None);
            let hash = dedup::article_hash(item.title.as_deref().unwrap(), &text);
            assert_eq!(s.judged_hash(i as i64 + 1), Some(hash as i64), "item {i}");
        }
    }

    #[test]
    fn a_lone_report_moves_into_the_story_that_grew_toward_it_under_its_guid() {
        use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN, FLOOD_PIRNA};
        let config = DedupConfig::default();
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let mut dedup = StoryDedup::restore(&s, config.clone(), 100).unwrap();
        let report = |guid: &str, title: &str, text: &str| RawItem {
            content: Some(format!("<p>{text}</p>")),
            ..item(guid, title)
        };
        for (at, r) in [
            (
                100,
                report("a", "Elbe floods Dresden old town", FLOOD_DRESDEN),
            ),
            (160, report("b", "Hundreds evacuated in Pirna", FLOOD_PIRNA)),
        ] {
            store_item(&mut s, &dedup, id, r, at, at + 100);
        }
        assert_eq!(s.story_count().unwrap(), 2);
        let story_of = |s: &Store, item: i64| s.item_assignment(item).unwrap().unwrap().story_id;
        let pirna = story_of(&s, 2);
        let guid = s
            .latest_stories(10)
            .unwrap()
            .into_iter()
            .find(|st| st.items.iter().any(|i| i.id == 2))
            .unwrap()
            .guid;
        store_item(
            &mut s,
            &dedup,
            id,
            report("c", "Elbe flood: Dresden and Pirna", FLOOD_BOTH),
            220,
            300,
        );
        let stories = s.latest_stories(10).unwrap();
        assert_eq!(stories.len(), 1, "{stories:?}");
        assert_eq!(stories[0].guid, guid, "the grown story keeps its GUID");
        assert_eq!(stories[0].items.len(), 3);
        assert_eq!(story_of(&s, 1), pirna);
        let moved = s.item_assignment(1).unwrap().unwrap();
        assert_eq!(moved.layer.as_deref(), Some("merge"));
        assert!(s.integrity_ok().unwrap());

        // After a restart the window holds the one story.
        dedup = StoryDedup::restore(&s, config, 300).unwrap();
        store_item(
            &mut s,
            &dedup,
            id,
            report("d", "Dresden flood: the old town", FLOOD_DRESDEN),
            320,
            400,
        );
        assert_eq!(story_of(&s, 4), pirna);
        assert_eq!(s.story_count().unwrap(), 1);
    }

    /// An item's recorded moves: (from story, to story, layer).
    fn moves_of(s: &Store, item: i64) -> Vec<(i64, i64, String)> {
        let moves = s.item_moves(item).unwrap().into_iter();
        moves.map(|m| (m.from_story, m.to_story, m.layer)).collect()
    }

    #[test]
    fn split_headline_stories_merge_under_the_older_guid_and_stay_merged() {
        let config = DedupConfig {
            title_threshold: 0.99,
            merge_threshold: 0.25,
            ..DedupConfig::default()
        };
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let mut dedup = StoryDedup::restore(&s, config.clone(), 100).unwrap();
        store_item(
            &mut s,
            &dedup,
            id,
            item("a", "Apple unveils iPhone 6 with a bigger screen"),
            100,
            200,
        );
        let guid = s.latest_stories(10).unwrap()[0].guid.clone();
        store_item(
            &mut s,
            &dedup,
            id,
            item(
                "b",
                "Apple's bigger iPhone 6 screen revealed at launch event",
            ),
            160,
            200,
        );
        let stories = s.latest_stories(10).unwrap();
        assert_eq!(stories.len(), 1, "{stories:?}");
        assert_eq!(stories[0].guid, guid, "the older story keeps its GUID");
        assert_eq!(stories[0].items.len(), 2);
        assert_eq!(s.story_count().unwrap(), 1, "the absorbed story is gone");
        let moved = s.item_assignment(2).unwrap().unwrap();
        assert_eq!(moved.layer.as_deref(), Some("merge"));
        // Its history says where it went (`feedsieve explain`).
        assert_eq!(moves_of(&s, 2), [(2, 1, "merge".to_string())]);
        assert!(s.integrity_ok().unwrap());

        // The absorbed story was the newest: its id is not handed out again, so
        // the next story is not mistaken for the merged one.
        store_item(
            &mut s,
            &dedup,
            id,
            item("c", "Heavy snow closes the pass to Bergen"),
            300,
            400,
        );
        let snow = s.item_assignment(3).unwrap().unwrap();
        assert_eq!(snow.story_id, 3, "story 2 was merged away");
        store_item(
            &mut s,
            &dedup,
            id,
            item("d", "Snow closes the Bergen pass for a second day"),
            360,
            400,
        );
        let story_of = |s: &Store, item: i64| s.item_assignment(item).unwrap().unwrap().story_id;
        assert_eq!(story_of(&s, 4), story_of(&s, 3));
        assert_ne!(story_of(&s, 4), story_of(&s, 1));

        // A restart restores the merged story: nothing splits again.
        dedup = StoryDedup::restore(&s, config, 400).unwrap();
        store_item(
            &mut s,
            &dedup,
            id,
            item("e", "Apple shares rise after the iPhone 6 event"),
            400,
            500,
        );
        let stories = s.latest_stories(10).unwrap();
        let merged = stories.iter().find(|st| st.guid == guid).unwrap();
        assert!(merged.items.len() >= 2, "{stories:?}");
        assert_eq!(story_of(&s, 2), story_of(&s, 1));
    }
}
