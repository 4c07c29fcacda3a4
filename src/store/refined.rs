//! Story refinement in the store: items moved between stories by the caller's
//! refinement pass, new stories for split-off clusters, emptied stories
//! dropped (as a merge drops the absorbed story), and each move recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{params, OptionalExtension};

use super::stories::{keep_alias, story_guid, touch, update_representative};
use super::{Store, StoreError, StoryDecider};

/// Where a refined item goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefinedTarget {
    /// An existing story (it keeps its id, GUID and place).
    Story(i64),
    /// The n-th new story of the refinement.
    New(usize),
}

/// What moved items between stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveKind {
    /// The refinement after a cycle.
    Refined,
    /// An item judged again after its text changed: a story it opens takes
    /// the item's own GUID when no story has it (an article that changes
    /// back and forth keeps one entry), and a story it leaves empty is no
    /// alias of the one it joins.
    Revised,
}

impl MoveKind {
    /// The layer recorded with the item and its move.
    pub fn layer(self) -> &'static str {
        match self {
            MoveKind::Refined => "refined",
            MoveKind::Revised => "revised",
        }
    }
}

/// One item moved by the refinement, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct RefinedMove {
    /// Item row id.
    pub item_id: i64,
    /// The story it leaves.
    pub from: i64,
    /// The story it joins.
    pub to: RefinedTarget,
    /// Its best similarity with a member of the story it joins.
    pub score: f64,
    /// That member.
    pub matched: Option<i64>,
}

/// A refinement pass's result, as the store applies it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryRefinement {
    /// Items that change story.
    pub moves: Vec<RefinedMove>,
    /// New stories to open.
    pub new_stories: usize,
}

/// One recorded move of an item (for `feedsieve explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryMove {
    /// The story it left.
    pub from_story: i64,
    /// The story it joined.
    pub to_story: i64,
    /// The layer that moved it (`refined`).
    pub layer: String,
    /// Its best similarity in the story it joined.
    pub score: Option<f64>,
    /// The member of that story it was most similar to.
    pub matched: Option<i64>,
    /// When (Unix seconds).
    pub moved_at: i64,
}

impl Store {
    /// Applies a refinement in one transaction: opens the new stories (their
    /// ids are returned, in order), moves the items and records each move
    /// (layer `refined`), drops the stories left empty, and updates the
    /// representative, date and change time of every story that changed. A
    /// story that only gains members keeps its GUID and its place in the feed.
    pub fn apply_refinement(
        &mut self,
        r: &StoryRefinement,
        now: i64,
        stories: &dyn StoryDecider,
    ) -> Result<Vec<i64>, StoreError> {
        self.apply_moves(r, MoveKind::Refined, now, stories)
    }

    /// [`Store::apply_refinement`] for moves of another `kind`.
    pub fn apply_moves(
        &mut self,
        r: &StoryRefinement,
        kind: MoveKind,
        now: i64,
        stories: &dyn StoryDecider,
    ) -> Result<Vec<i64>, StoreError> {
        let layer = kind.layer();
        let tx = self.conn.transaction()?;
        let new_ids = open_stories(&tx, r.new_stories, now)?;
        if kind == MoveKind::Revised {
            for (m, id) in r.moves.iter().zip(&new_ids) {
                take_own_guid(&tx, *id, m.item_id)?;
            }
        }
        // The stories that lost, then also those that gained, members.
        let mut left = BTreeSet::new();
        let mut gained = BTreeSet::new();
        // How many items each story gave to each other: an emptied story's
        // alias names the one that took most of them.
        let mut given: HashMap<i64, BTreeMap<i64, usize>> = HashMap::new();
        for m in &r.moves {
            let to = match m.to {
                RefinedTarget::Story(s) => s,
                RefinedTarget::New(k) => match new_ids.get(k) {
                    Some(&id) => id,
                    None => continue,
                },
            };
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM stories WHERE id = ?1", [to], |r| r.get(0))
                .optional()?;
            // An item pruned since, or a story retention removed: nothing to move.
            let moved = exists.is_some()
                && tx.execute(
                    "UPDATE items SET story_id = ?2, dedup_layer = ?6, dedup_score = ?3,
                        dedup_match = ?4 WHERE id = ?1 AND story_id = ?5",
                    params![m.item_id, to, m.score, m.matched, m.from, layer],
                )? > 0;
            if !moved {
                continue;
            }
            tx.execute(
                "INSERT INTO story_moves (item_id, from_story, to_story, layer, score, matched, moved_at)
                 VALUES (?1, ?2, ?3, ?7, ?4, ?5, ?6)",
                params![m.item_id, m.from, to, m.score, m.matched, now, layer],
            )?;
            left.insert(m.from);
            gained.insert(to);
            *given.entry(m.from).or_default().entry(to).or_default() += 1;
        }
        for id in &new_ids {
            // A new story sorts by its earliest member; one that received no
            // item (all pruned meanwhile) is dropped again.
            tx.execute(
                "UPDATE stories SET sort_at = COALESCE(
                    (SELECT MIN(COALESCE(published_at, first_seen_at)) FROM items WHERE story_id = ?1),
                    sort_at) WHERE id = ?1",
                [id],
            )?;
            left.insert(*id);
        }
        left.extend(gained);
        // A story emptied because its article's text changed leads readers
        // on too, to wherever that article is, its page saying so (their
        // entry was about what it said then).
        let articles: HashMap<i64, i64> = match kind {
            MoveKind::Refined => HashMap::new(),
            MoveKind::Revised => r.moves.iter().map(|m| (m.from, m.item_id)).collect(),
        };
        settle_changed(&tx, &left, &given, &articles, now, stories)?;
        tx.commit()?;
        Ok(new_ids)
    }

    /// The representative item of each of `stories` that has one (as the
    /// anchors of a refinement: the article each entry shows).
    pub fn representatives(&self, stories: &[i64]) -> Result<HashMap<i64, i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT representative_id FROM stories WHERE id = ?1 AND representative_id IS NOT NULL",
        )?;
        let mut out = HashMap::with_capacity(stories.len());
        for &story in stories {
            if let Some(item) = stmt.query_row([story], |r| r.get(0)).optional()? {
                out.insert(story, item);
            }
        }
        Ok(out)
    }

    /// The GUID of the story with this row id, while it is stored.
    pub fn story_guid(&self, story: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT guid FROM stories WHERE id = ?1", [story], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The moves recorded for an item, oldest first.
    pub fn item_moves(&self, item_id: i64) -> Result<Vec<StoryMove>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT from_story, to_story, layer, score, matched, moved_at FROM story_moves
             WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([item_id], |r| {
            Ok(StoryMove {
                from_story: r.get(0)?,
                to_story: r.get(1)?,
                layer: r.get(2)?,
                score: r.get(3)?,
                matched: r.get(4)?,
                moved_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Opens `n` stories for split-off clusters: ids never given out before, GUIDs
/// of their own.
/// After a refinement's moves: each story in `changed` left empty goes (its
/// GUID kept as an alias of the story that took most of its items, per
/// `given`, or of the story its article is in, per `articles`, for a
/// revision's), the others are touched and get their representative again.
fn settle_changed(
    tx: &rusqlite::Transaction<'_>,
    changed: &BTreeSet<i64>,
    given: &HashMap<i64, BTreeMap<i64, usize>>,
    articles: &HashMap<i64, i64>,
    now: i64,
    stories: &dyn StoryDecider,
) -> Result<(), StoreError> {
    for id in changed {
        let members: i64 = tx.query_row(
            "SELECT COUNT(*) FROM items WHERE story_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        if members == 0 {
            let heir = given.get(id).and_then(|to| {
                // The most items; of equals, the oldest story.
                let most = to.values().copied().max()?;
                to.iter().find(|(_, &n)| n == most).map(|(&s, _)| s)
            });
            let article = articles.get(id).copied();
            if let Some(heir) = heir {
                keep_alias(tx, *id, heir, now, article)?;
            }
            tx.execute("DELETE FROM stories WHERE id = ?1", [id])?;
            match article {
                Some(_) => tracing::info!(story = id, "story emptied: its article changed"),
                None => tracing::info!(story = id, "story emptied by refinement"),
            }
            continue;
        }
        touch(tx, *id, now)?;
        update_representative(tx, *id, None, stories)?;
    }
    Ok(())
}

/// Gives the new story `story` the GUID item `item_id` would have opened
/// it with, or a second one made from its key, when no other story has it
/// (which then is no alias).
fn take_own_guid(
    tx: &rusqlite::Transaction<'_>,
    story: i64,
    item_id: i64,
) -> Result<(), StoreError> {
    let own: Option<(String, String)> = tx
        .query_row(
            "SELECT s.url, i.item_key FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id = ?1",
            [item_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((url, key)) = own else {
        return Ok(());
    };
    // Its own GUID, or (the story it opened keeps that one) another made
    // from its key alike: an article that leaves again takes the same.
    for key in [key.clone(), format!("{key}\nrevised")] {
        let guid = story_guid(&url, &key);
        let taken = tx.execute(
            "UPDATE stories SET guid = ?1 WHERE id = ?2
                AND NOT EXISTS (SELECT 1 FROM stories WHERE guid = ?1)",
            params![guid, story],
        )? > 0;
        if taken {
            tx.execute("DELETE FROM story_aliases WHERE guid = ?1", [&guid])?;
            break;
        }
    }
    Ok(())
}

fn open_stories(
    tx: &rusqlite::Transaction<'_>,
    n: usize,
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        // Never an id given out before (see migration 5).
        let id: i64 = tx.query_row(
            "UPDATE story_ids SET last = MAX(last, (SELECT COALESCE(MAX(id), 0) FROM stories)) + 1
             RETURNING last",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO stories (id, guid, created_at, updated_at, sort_at) VALUES (?1, ?2, ?3, ?3, ?3)",
            params![id, story_guid("refined", &id.to_string()), now],
        )?;
        ids.push(id);
    }
    Ok(ids)
}
