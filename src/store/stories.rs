//! Stories: the items that tell one story (as the caller decides), their stable
//! GUIDs, representatives and merges, and the newest stories for publishing.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Store, StoreError};
use crate::read::{Enclosure, RawItem};
use crate::util::sha256_hex;

/// One item of a story, joined with its source, ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryItem {
    /// Item row id.
    pub id: i64,
    /// Outlet name.
    pub source_name: String,
    /// The source's configured URL (the feed URL).
    pub source_url: String,
    /// Title.
    pub title: Option<String>,
    /// Article URL.
    pub link: Option<String>,
    /// Summary HTML.
    pub summary: Option<String>,
    /// Content HTML.
    pub content: Option<String>,
    /// Author names.
    pub author: Option<String>,
    /// Publication time (Unix seconds): the item's date, published else updated.
    pub published_at: Option<i64>,
    /// The item's own last-updated time, as its feed gave it (Unix seconds).
    pub updated_at: Option<i64>,
    /// First stored (Unix seconds).
    pub first_seen_at: i64,
    /// When its current version was stored (Unix seconds).
    pub changed_at: i64,
    /// Category terms: the source's configured category first, then the feed's.
    pub categories: Vec<String>,
    /// The source's configured `category`, if any.
    pub source_category: Option<String>,
    /// Attachments.
    pub enclosures: Vec<Enclosure>,
}

/// A story with all its items, the representative first.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Row id.
    pub id: i64,
    /// Stable id, fixed when the story was opened (`feedsieve:story:HASH`).
    pub guid: String,
    /// Sort date (Unix seconds).
    pub sort_at: i64,
    /// The last change of the story in the store, its creation included (Unix
    /// seconds): what a document holding it was last modified by.
    pub updated_at: i64,
    /// The last time a member joined or changed after the story was first
    /// published (Unix seconds); `None`: never.
    pub changed_at: Option<i64>,
    /// Items, representative first.
    pub items: Vec<StoryItem>,
}

impl Store {
    /// How many stories this database has ever opened (0: a database that
    /// never held one, such as a new file standing in for a lost one).
    pub fn stories_ever(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT last FROM story_ids", [], |r| r.get(0))?)
    }

    /// The newest stories, newest first, each with its items (representative first).
    pub fn latest_stories(&self, limit: usize) -> Result<Vec<Story>, StoreError> {
        let mut stories: Vec<Story> = Vec::new();
        let mut index = HashMap::new();
        // A story is published when at least one of its items passed the filters
        // and comes from a source still configured: a removed source's items stay
        // stored until retention, but no longer appear, not even as "also covered".
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, guid, sort_at, updated_at, changed_at FROM stories
             WHERE EXISTS ({PUBLISHED_MEMBER})
             ORDER BY sort_at DESC, id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Story {
                id: r.get(0)?,
                guid: r.get(1)?,
                sort_at: r.get(2)?,
                updated_at: r.get(3)?,
                changed_at: r.get(4)?,
                items: Vec::new(),
            })
        })?;
        for row in rows {
            let story = row?;
            index.insert(story.id, stories.len());
            stories.push(story);
        }
        if stories.is_empty() {
            return Ok(stories);
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT i.story_id, i.id, s.name, s.url, i.title, i.link, i.summary, i.content,
                    i.author, i.published_at, i.first_seen_at, i.categories, i.enclosures, s.category,
                    i.updated_at, i.changed_at
             FROM items i JOIN sources s ON s.id = i.source_id JOIN stories st ON st.id = i.story_id
             WHERE i.filtered = 0 AND s.active = 1 AND i.story_id IN (
                SELECT id FROM stories
                WHERE EXISTS ({PUBLISHED_MEMBER})
                ORDER BY sort_at DESC, id DESC LIMIT ?1)
             ORDER BY i.story_id, i.id IS NOT st.representative_id, i.first_seen_at, i.id"
        ))?;
        let rows = stmt.query_map([limit as i64], story_item)?;
        for row in rows {
            let (story_id, item) = row?;
            if let Some(&i) = index.get(&story_id) {
                stories[i].items.push(item);
            }
        }
        stories.retain(|s| !s.items.is_empty());
        Ok(stories)
    }

    /// Records that these stories are in a published document: from now on a
    /// member joining or changing is a change their readers see.
    pub fn mark_published(&mut self, story_ids: &[i64], now: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE stories SET published_at = ?2 WHERE id = ?1 AND published_at IS NULL",
            )?;
            for id in story_ids {
                stmt.execute(params![id, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How each of `item_ids` joined its story, as recorded (for story pages);
    /// items without a record are left out.
    pub fn join_records(&self, item_ids: &[i64]) -> Result<HashMap<i64, JoinRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT dedup_layer, dedup_score, dedup_match FROM items WHERE id = ?1",
        )?;
        let mut out = HashMap::with_capacity(item_ids.len());
        for &id in item_ids {
            let mut rows = stmt.query([id])?;
            if let Some(r) = rows.next()? {
                let record = JoinRecord {
                    layer: r.get(0)?,
                    score: r.get(1)?,
                    matched: r.get(2)?,
                };
                out.insert(id, record);
            }
        }
        Ok(out)
    }

    /// The GUIDs of merged stories that now lead to one of `story_ids`, each
    /// with that story's id and whether the story was emptied because its
    /// article's text changed: then it leads to the story that article is in
    /// now (see migrations 11 and 13).
    pub fn story_aliases(&self, story_ids: &[i64]) -> Result<Vec<(String, i64, bool)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(STORY_ALIASES)?;
        let mut out = Vec::new();
        for &id in story_ids {
            let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            for row in rows {
                let (guid, changed) = row?;
                out.push((guid, id, changed));
            }
        }
        Ok(out)
    }

    /// Number of stored stories.
    pub fn story_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM stories", [], |r| r.get(0))?)
    }
}

/// How a stored item joined its story: the dedup layer, its score and the
/// item it matched, as recorded when it was stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinRecord {
    /// The layer ("url", "near-copy", "similar", "merge", "new", …); `None`
    /// for items stored before dedup.
    pub layer: Option<String>,
    /// The layer's score.
    pub score: Option<f64>,
    /// The stored item it matched.
    pub matched: Option<i64>,
}

/// The aliases that lead to story ?1: merged stories' by the story, those that
/// follow a changed article by the story the article is in now. Two indexed
/// reads: one `WHERE` with `OR` read the whole table for each story.
pub(super) const STORY_ALIASES: &str =
    "SELECT guid, 0 FROM story_aliases WHERE story_id = ?1 AND item_id IS NULL
     UNION ALL
     SELECT a.guid, 1 FROM items i JOIN story_aliases a ON a.item_id = i.id WHERE i.story_id = ?1";

/// A member that makes a story published: it passed the filters and its source
/// is still configured (`stories` in the enclosing query).
const PUBLISHED_MEMBER: &str = "SELECT 1 FROM items JOIN sources ON sources.id = items.source_id
    WHERE items.story_id = stories.id AND items.filtered = 0 AND sources.active = 1";

/// One row of [`Store::latest_stories`]' item query: its story's id and the item.
fn story_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, StoryItem)> {
    let categories: String = r.get(11)?;
    let enclosures: String = r.get(12)?;
    let source_category: Option<String> = r.get(13)?;
    let mut categories: Vec<String> = serde_json::from_str(&categories).unwrap_or_default();
    if let Some(c) = &source_category {
        if !categories.contains(c) {
            categories.insert(0, c.clone());
        }
    }
    Ok((
        r.get::<_, i64>(0)?,
        StoryItem {
            id: r.get(1)?,
            source_name: r.get(2)?,
            source_url: r.get(3)?,
            title: r.get(4)?,
            link: r.get(5)?,
            summary: r.get(6)?,
            content: r.get(7)?,
            author: r.get(8)?,
            published_at: r.get(9)?,
            updated_at: r.get(14)?,
            first_seen_at: r.get(10)?,
            changed_at: r.get(15)?,
            categories,
            source_category,
            enclosures: serde_json::from_str(&enclosures).unwrap_or_default(),
        },
    ))
}

/// What every stored story GUID starts with; a hash follows.
pub const STORY_GUID_PREFIX: &str = "feedsieve:story:";

/// A story id that stays the same for the life of the story, whoever joins it.
pub(super) fn story_guid(source_url: &str, key: &str) -> String {
    let hash = sha256_hex(format!("{source_url}\n{key}").as_bytes());
    format!("{STORY_GUID_PREFIX}{}", &hash[..32])
}

/// A new item about to be stored, as the story decider sees it.
#[derive(Debug, Clone, Copy)]
pub struct NewItem<'a> {
    /// Its place in the fetched document (the index into the fetch's items).
    pub index: usize,
    /// The item.
    pub item: &'a RawItem,
    /// Its key within the source ([`super::item_key`]).
    pub key: &'a str,
    /// Source row id.
    pub source_id: i64,
    /// The source's configured URL.
    pub source_url: &'a str,
    /// Outlet name.
    pub source_name: &'a str,
    /// The time it sorts by ([`super::sort_time`]).
    pub sort_at: i64,
    /// The time of the fetch that found it (its `first_seen_at`).
    pub seen_at: i64,
}

/// The story a new item joins, and the evidence for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryDecision {
    /// The story to join; `None`: the item opens a story of its own.
    pub story: Option<i64>,
    /// The layer that decided ("url", "near-copy", "similar", "new").
    pub layer: &'static str,
    /// The layer's score.
    pub score: Option<f64>,
    /// The stored item it matched.
    pub matched: Option<i64>,
    /// The item's canonical URL.
    pub canonical_url: Option<String>,
    /// Words of its text, kept for choosing a story's representative.
    pub body_words: Option<i64>,
    /// A hash of the title and text the decision judged
    /// ([`Store::set_judged_hashes`](super::Store::set_judged_hashes)).
    pub judged_hash: Option<i64>,
    /// The ids the decider gave the item (and the story it opens) when it
    /// decided ahead of the insert ([`StoryDecider::ahead`]); the store then
    /// uses them. `None`: the store gives the ids.
    pub ids: Option<NextIds>,
}

/// The row ids the next new item and the next new story of a write take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextIds {
    /// The item's id.
    pub item: i64,
    /// The id of the story it opens (unused when it joins one).
    pub story: i64,
}

/// The ids the next new item and story would take now. One process writes
/// the file (see [`super::DbLock`]) and a write holds the connection, so
/// they hold until the write inserts them.
pub(super) fn next_ids(tx: &Connection) -> Result<NextIds, StoreError> {
    let item = super::one_row(tx, "SELECT COALESCE(MAX(id), 0) + 1 FROM items", [], |r| {
        r.get(0)
    })?;
    let story = super::one_row(
        tx,
        "SELECT MAX(last, (SELECT COALESCE(MAX(id), 0) FROM stories)) + 1 FROM story_ids",
        [],
        |r| r.get(0),
    )?;
    Ok(NextIds { item, story })
}

/// Two stories that turned out to be one: `absorbed` moves into `survivor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoryMerge {
    /// The story whose items move.
    pub absorbed: i64,
    /// The story that keeps its id and GUID.
    pub survivor: i64,
    /// The similarity that decided.
    pub score: f64,
}

/// One member of a story, for choosing its representative.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryMember {
    /// Item row id.
    pub item_id: i64,
    /// Outlet name.
    pub source: String,
    /// Words of its text, as recorded with its decision; `None` for items
    /// stored before lengths were recorded (then `summary`/`content` are set).
    pub body_words: Option<i64>,
    /// Summary HTML, only when `body_words` is unknown.
    pub summary: Option<String>,
    /// Content HTML, only when `body_words` is unknown.
    pub content: Option<String>,
    /// Its date, else when it was first seen.
    pub time: i64,
}

/// Decides which story each new item joins. The store calls it inside the
/// fetch's transaction, in document order, for new items only; it records what
/// it is told and decides nothing itself.
pub trait StoryDecider {
    /// The story a new item joins and why; `None` when stories are not
    /// deduplicated (the item opens its own story and no evidence is stored).
    fn decide(&mut self, item: &NewItem<'_>) -> Option<StoryDecision>;
    /// The item last decided is stored as `item_id` in `story_id`; returns two
    /// stories to merge, when its arrival showed they are one.
    fn stored(&mut self, item_id: i64, story_id: i64) -> Option<StoryMerge>;
    /// Which member represents a story (an index into `members`), if any.
    fn representative(&self, members: &[StoryMember]) -> Option<usize>;
    /// Told before a write's inserts which items are new, in the order they
    /// will be decided, and the ids the first of them (and the first new
    /// story) will take: a decider may decide them ahead, beside the inserts.
    fn ahead(&mut self, _new: &[NewItem<'_>], _ids: NextIds) {}
}

/// Every item is its own story (dedup turned off).
#[derive(Debug, Clone, Copy, Default)]
pub struct OneStoryPerItem;

impl StoryDecider for OneStoryPerItem {
    fn decide(&mut self, _: &NewItem<'_>) -> Option<StoryDecision> {
        None
    }

    fn stored(&mut self, _: i64, _: i64) -> Option<StoryMerge> {
        None
    }

    fn representative(&self, _: &[StoryMember]) -> Option<usize> {
        None
    }
}

/// Keeps the GUID of story `absorbed`, about to be deleted, as an alias of
/// `survivor`, which also takes over the aliases `absorbed` held: readers keep
/// its entry, and its page then leads to the story that tells it now. With
/// `article` (emptied because that item's text changed, not merged) it leads
/// to whichever story the item is in. Only a story that was published (one
/// readers can know) gets one.
pub(super) fn keep_alias(
    tx: &Connection,
    absorbed: i64,
    survivor: i64,
    now: i64,
    article: Option<i64>,
) -> Result<(), StoreError> {
    super::exec(
        tx,
        "UPDATE story_aliases SET story_id = ?2 WHERE story_id = ?1",
        params![absorbed, survivor],
    )?;
    super::exec(
        tx,
        "INSERT OR REPLACE INTO story_aliases (guid, story_id, merged_at, item_id)
         SELECT guid, ?2, ?3, ?4 FROM stories WHERE id = ?1 AND published_at IS NOT NULL",
        params![absorbed, survivor, now, article],
    )?;
    Ok(())
}

/// Marks a story changed: a member was updated or joined. Its GUID and place
/// stay; once it has been published, the change is one its readers see.
pub(super) fn touch(tx: &Connection, story_id: i64, now: i64) -> Result<(), StoreError> {
    super::exec(
        tx,
        "UPDATE stories SET updated_at = ?2,
            changed_at = CASE WHEN published_at IS NULL THEN changed_at ELSE ?2 END
         WHERE id = ?1",
        params![story_id, now],
    )?;
    Ok(())
}

/// The story a new item goes into: the decided one if it still exists, else a
/// new story. Returns its id and whether the item joined an existing story.
pub(super) fn place(
    tx: &Connection,
    new: &NewItem<'_>,
    decision: Option<&StoryDecision>,
    now: i64,
) -> Result<(i64, bool), StoreError> {
    // The decider may remember a story that a failed transaction or retention
    // removed: join only stories that exist.
    let mut story_exists = tx.prepare_cached("SELECT 1 FROM stories WHERE id = ?1")?;
    match decision.and_then(|d| d.story) {
        Some(id) if story_exists.exists([id])? => {
            touch(tx, id, now)?;
            Ok((id, true))
        }
        _ => {
            let id: i64 = match decision.and_then(|d| d.ids) {
                // The id the decider gave the story, which the counter below
                // would give too; or, for a story that left the store since
                // (retention), that story's own id, as the decider knows it.
                Some(ids) => {
                    let id = decision.and_then(|d| d.story).unwrap_or(ids.story);
                    super::exec(tx, "UPDATE story_ids SET last = MAX(last, ?1)", [id])?;
                    id
                }
                // Never an id given out before (see migration 5).
                None => super::one_row(tx,
                "UPDATE story_ids SET last = MAX(last, (SELECT COALESCE(MAX(id), 0) FROM stories)) + 1
                 RETURNING last",
                [],
                |r| r.get(0),
            )?,
            };
            let mut guid = story_guid(new.source_url, new.key);
            let taken = tx
                .query_row("SELECT 1 FROM stories WHERE guid = ?1", [&guid], |_| Ok(()))
                .optional()?
                .is_some();
            if taken {
                // The key's first article opened a story still stored: the feed
                // gives keys to other articles (GUIDs numbered by position).
                let link = new.item.link.as_deref().unwrap_or_default();
                guid = story_guid(new.source_url, &format!("{}\n{link}\n{id}", new.key));
            }
            super::exec(tx,
                "INSERT INTO stories (id, guid, created_at, updated_at, sort_at) VALUES (?1, ?2, ?3, ?3, ?4)",
                params![id, guid, now, new.sort_at],
            )?;
            Ok((id, false))
        }
    }
}

/// After a new item's row went in with how it was assigned: updates its
/// story's representative when it joined one, and carries out the merge its
/// arrival caused.
pub(super) fn record_decision(
    tx: &Connection,
    item_id: i64,
    story_id: i64,
    joined: bool,
    now: i64,
    stories: &mut dyn StoryDecider,
) -> Result<(), StoreError> {
    if joined {
        update_representative(tx, story_id, Some(item_id), &*stories)?;
    }
    if let Some(merge) = stories.stored(item_id, story_id) {
        merge_stories(tx, merge, now, &*stories)?;
    }
    Ok(())
}

/// Moves every item of story `absorbed` into `survivor` and drops the empty
/// story: the survivor (the older story) keeps its GUID and is updated, so a
/// reader sees the story once, now crediting both stories' outlets.
fn merge_stories(
    tx: &Connection,
    merge: StoryMerge,
    now: i64,
    stories: &dyn StoryDecider,
) -> Result<(), StoreError> {
    let (absorbed, survivor) = (merge.absorbed, merge.survivor);
    if absorbed == survivor {
        return Ok(());
    }
    // The item that opened the absorbed story now says how it joined.
    super::exec(
        tx,
        "UPDATE items SET dedup_layer = 'merge', dedup_score = ?2
         WHERE story_id = ?1 AND dedup_layer = 'new'",
        params![absorbed, merge.score],
    )?;
    // Each moved item's history says so (`feedsieve explain`), as a refinement's moves do.
    super::exec(
        tx,
        "INSERT INTO story_moves (item_id, from_story, to_story, layer, score, matched, moved_at)
         SELECT id, ?1, ?2, 'merge', ?3, NULL, ?4 FROM items WHERE story_id = ?1",
        params![absorbed, survivor, merge.score, now],
    )?;
    super::exec(
        tx,
        "UPDATE items SET story_id = ?2 WHERE story_id = ?1",
        params![absorbed, survivor],
    )?;
    // The merged entry sorts by the earlier of the two dates.
    super::exec(
        tx,
        "UPDATE stories SET
            sort_at = MIN(sort_at, COALESCE((SELECT sort_at FROM stories WHERE id = ?1), sort_at))
         WHERE id = ?2",
        params![absorbed, survivor],
    )?;
    touch(tx, survivor, now)?;
    keep_alias(tx, absorbed, survivor, now, None)?;
    super::exec(tx, "DELETE FROM stories WHERE id = ?1", [absorbed])?;
    update_representative(tx, survivor, None, stories)?;
    tracing::info!(absorbed, survivor, "stories merged");
    Ok(())
}

/// Records the member the decider picks as the story's representative, after
/// `joined` joined it (or after a merge: `None`).
pub(super) fn update_representative(
    tx: &Connection,
    story_id: i64,
    joined: Option<i64>,
    stories: &dyn StoryDecider,
) -> Result<(), StoreError> {
    let shortlist = match joined {
        Some(item) => contenders(tx, story_id, item)?,
        None => None,
    };
    let members = match shortlist {
        Some(members) => members,
        None => members(tx, story_id, None)?,
    };
    if let Some(chosen) = stories
        .representative(&members)
        .and_then(|i| members.get(i))
    {
        super::exec(
            tx,
            "UPDATE stories SET representative_id = ?2 WHERE id = ?1",
            params![story_id, chosen.item_id],
        )?;
    }
    Ok(())
}

/// The members that can represent the story once `item` joined: its
/// representative, its longest member and `item`, in id order. Anyone else
/// lost to the representative before and still does, since the longest
/// length (which decides who is complete enough) did not change. `None` when
/// that does not hold: no representative yet, a length unknown (rows stored
/// before lengths were recorded, or edited since), or `item` is the new longest.
fn contenders(
    tx: &Connection,
    story_id: i64,
    item: i64,
) -> Result<Option<Vec<StoryMember>>, StoreError> {
    let (representative, unknown, longest): (Option<i64>, i64, Option<i64>) = super::one_row(
        tx,
        "SELECT representative_id,
                (SELECT COUNT(*) FROM items WHERE story_id = ?1 AND body_words IS NULL),
                (SELECT MAX(body_words) FROM items WHERE story_id = ?1 AND id != ?2)
         FROM stories WHERE id = ?1",
        params![story_id, item],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (Some(representative), 0, Some(longest)) = (representative, unknown, longest) else {
        return Ok(None);
    };
    let own: i64 = super::one_row(
        tx,
        "SELECT body_words FROM items WHERE id = ?1",
        [item],
        |r| r.get(0),
    )?;
    if own > longest {
        return Ok(None);
    }
    let longest_member: i64 = super::one_row(tx,
        "SELECT id FROM items WHERE story_id = ?1 AND id != ?2 AND body_words = ?3 ORDER BY id LIMIT 1",
        params![story_id, item, longest],
        |r| r.get(0),
    )?;
    let ids = [representative, longest_member, item];
    let members = members(tx, story_id, Some(&ids))?;
    // The representative may have been pruned since: then look at everyone.
    Ok(members
        .iter()
        .any(|m| m.item_id == representative)
        .then_some(members))
}

/// A story's members in id order (only those in `only`, when given), with
/// their recorded lengths, and their text where the length is unknown.
fn members(
    tx: &Connection,
    story_id: i64,
    only: Option<&[i64; 3]>,
) -> Result<Vec<StoryMember>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.id, s.name, i.body_words,
                CASE WHEN i.body_words IS NULL THEN i.summary END,
                CASE WHEN i.body_words IS NULL THEN i.content END,
                COALESCE(i.published_at, i.first_seen_at)
         FROM items i JOIN sources s ON s.id = i.source_id
         WHERE i.story_id = ?1 AND (?2 IS NULL OR i.id IN (?2, ?3, ?4)) ORDER BY i.id",
    )?;
    let only = only.map(|ids| ids.map(Some)).unwrap_or([None; 3]);
    let rows = stmt.query_map(params![story_id, only[0], only[1], only[2]], |r| {
        Ok(StoryMember {
            item_id: r.get(0)?,
            source: r.get(1)?,
            body_words: r.get(2)?,
            summary: r.get(3)?,
            content: r.get(4)?,
            time: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every member of a story, as the representative choice reads them (for tests).
#[cfg(test)]
pub(super) fn tests_members(tx: &Connection, story_id: i64) -> Vec<StoryMember> {
    members(tx, story_id, None).unwrap_or_default()
}
