//! Items: storing a fetch's items (new, changed, re-filtered, repeated, pruned
//! before), their keys, the full-text marks, retention, and the rows the dedup
//! step reads back.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::stories::{self, NewItem, StoryDecider};
use super::{Store, StoreError};
use crate::read::RawItem;
use crate::util::sha256_hex;

/// Counts of what a fetch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Items stored for the first time.
    pub new: usize,
    /// Items whose content changed.
    pub updated: usize,
    /// Items skipped: pruned before, keyless, or repeated in the document.
    pub skipped: usize,
    /// Nothing was kept: the source moved to another URL while this one was
    /// fetched (its items and failures are the old address's).
    pub moved: bool,
}

impl IngestStats {
    /// True when the published feed may need rewriting.
    pub fn changed(&self) -> bool {
        self.new + self.updated > 0
    }
}

/// An article page's text as stored with its item.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArticle {
    /// The cleaned article (HTML).
    pub content: String,
    /// Its byline, if the page gave one.
    pub author: Option<String>,
    /// Extracted with settings (`full_text`, `content`, `remove`) the source
    /// no longer has: its page is to be read again.
    pub stale: bool,
    /// Re-reads under those settings that gave something other than this
    /// article (a wall), counted across processes ([`Store::refused_reread`]).
    pub refused: u32,
}

/// `items.full_text` of an article extracted under a source's earlier
/// `full_text`, `content` or `remove` (1: under the current ones); each re-read
/// refused since adds one ([`Store::refused_reread`]).
pub(super) const STALE_FULL_TEXT: i64 = 2;

impl Store {
    /// Stored content and author of this source's items that already hold the
    /// extracted article, by item key and by [`link_key`] (an item whose GUID
    /// changed links to the same page), so a re-fetch keeps them instead of
    /// downloading the page again.
    pub fn full_text_items(
        &self,
        source_id: i64,
    ) -> Result<HashMap<String, StoredArticle>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_key, link, content, author, full_text FROM items
             WHERE source_id = ?1 AND full_text != 0 AND content IS NOT NULL",
        )?;
        let rows = stmt.query_map([source_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, {
                let state = r.get::<_, i64>(4)?;
                StoredArticle {
                    content: r.get(2)?,
                    author: r.get(3)?,
                    stale: state >= STALE_FULL_TEXT,
                    refused: u32::try_from(state - STALE_FULL_TEXT).unwrap_or(0),
                }
            }))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (key, link, article) = row?;
            if let Some(link) = link {
                out.entry(link_key(&link))
                    .or_insert_with(|| article.clone());
            }
            out.insert(key, article);
        }
        Ok(out)
    }

    /// Every item key of a source, stored or pruned: what is not new.
    pub fn known_keys(&self, source_id: i64) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_key FROM items WHERE source_id = ?1
             UNION SELECT item_key FROM pruned_items WHERE source_id = ?1",
        )?;
        let rows = stmt.query_map([source_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The links of a source's stored items, as items are told apart by them
    /// (without tracking parameters): an item under a known key with a link
    /// not among them may be another article (a GUID the feed reuses).
    pub fn known_links(&self, source_id: i64) -> Result<HashSet<String>, StoreError> {
        let rows = stored_link_rows(&self.conn, source_id)?;
        Ok(rows.into_iter().map(|(_, identity)| identity).collect())
    }

    /// Marks items (by key) as holding the extracted article: extracted with
    /// the source's current settings, unless `extraction` (those the fetch
    /// used) is not what the source records now (an edit made during the
    /// fetch): then they are to be extracted again.
    pub fn mark_full_text(
        &mut self,
        source_id: i64,
        keys: &[String],
        extraction: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.savepoint()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE items SET full_text = CASE WHEN ?3 IS NULL
                    OR COALESCE((SELECT extraction FROM sources WHERE id = ?1), ?3) = ?3
                    THEN 1 ELSE ?4 END
                 WHERE source_id = ?1 AND item_key = ?2",
            )?;
            for k in keys {
                stmt.execute(params![source_id, k, extraction, STALE_FULL_TEXT])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Counts a re-read of item `key`'s page that was not its stored article
    /// (a wall): at the `keep_after`-th, the stored article is kept as
    /// extracted under the source's settings now, and not asked for again.
    /// Not when the rules were edited since the fetch began (`extraction`,
    /// those it used, is not what the source records): the count is the new
    /// rules' own.
    pub fn refused_reread(
        &mut self,
        source_id: i64,
        key: &str,
        keep_after: u32,
        extraction: &str,
    ) -> Result<(), StoreError> {
        super::exec(
            &self.conn,
            "UPDATE items SET full_text = CASE WHEN full_text - ?4 + 1 >= ?3 THEN 1
                ELSE full_text + 1 END
             WHERE source_id = ?1 AND item_key = ?2 AND full_text >= ?4
               AND COALESCE((SELECT extraction FROM sources WHERE id = ?1), ?5) = ?5",
            params![source_id, key, keep_after, STALE_FULL_TEXT, extraction],
        )?;
        Ok(())
    }

    /// Deletes items stored before `cutoff` (and not dated after it), remembering
    /// their keys so a feed that still lists them does not bring them back; drops
    /// emptied stories. Retention counts from when an item was first stored, so a
    /// newly added feed shows its items even if they are old; an item dated in
    /// the future (see [`sort_time`]) counts by when it was first stored. Keys
    /// remembered before `tombstone_cutoff` are forgotten, and so are keys
    /// remembered "after" `now`: a clock that jumped forward wrote them, and they
    /// would keep their items out for good. Returns the count pruned.
    pub fn prune(
        &mut self,
        cutoff: i64,
        now: i64,
        tombstone_cutoff: i64,
    ) -> Result<usize, StoreError> {
        let expired = format!("first_seen_at < ?1 AND {SORT_TIME_SQL} < ?1");
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT OR IGNORE INTO pruned_items (source_id, item_key, pruned_at)
                 SELECT source_id, item_key, ?2 FROM items WHERE {expired}"
            ),
            params![cutoff, now],
        )?;
        remember_other_keys(&tx, &expired, cutoff, now)?;
        // A story that loses members may lose its longest one, and a shorter
        // member may then be complete enough to represent it: its lengths are
        // forgotten, so its next join looks at every member again.
        tx.execute(
            &format!(
                "UPDATE items SET body_words = NULL
                 WHERE story_id IN (SELECT story_id FROM items WHERE {expired})"
            ),
            [cutoff],
        )?;
        let n = tx.execute(&format!("DELETE FROM items WHERE {expired}"), [cutoff])?;
        tx.execute(
            "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.story_id = stories.id)",
            [],
        )?;
        // Aliases of stories retention removed lead nowhere; one that follows
        // its article (a story a revision emptied) lives as long as it does.
        tx.execute(
            "DELETE FROM story_aliases WHERE CASE WHEN item_id IS NULL
                THEN story_id NOT IN (SELECT id FROM stories)
                ELSE item_id NOT IN (SELECT id FROM items) END",
            [],
        )?;
        tx.execute(
            "DELETE FROM pruned_items WHERE pruned_at < ?1 OR pruned_at > ?2",
            params![tombstone_cutoff, now + FUTURE_MARGIN],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// The time retention may count to: `now`, but never past the newest fetch
    /// the store recorded. A clock that jumped forward then prunes nothing
    /// until fetches have been stored at the new time.
    pub fn retention_now(&self, now: i64) -> Result<i64, StoreError> {
        let newest: Option<i64> =
            self.conn
                .query_row("SELECT MAX(last_fetch_at) FROM sources", [], |r| r.get(0))?;
        Ok(newest.map_or(now, |t| t.min(now)))
    }

    /// Number of stored items.
    pub fn item_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))?)
    }
}

/// Remembers the expired items under the other keys they could come back by: a
/// feed that changes an item's GUID at every fetch lists it under a new key
/// (its link and headline are the same), and one without GUIDs or links that
/// re-dates it under a new date (its title and text are the same).
fn remember_other_keys(
    tx: &Connection,
    expired: &str,
    cutoff: i64,
    now: i64,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT source_id, item_key, link, title, content_hash FROM items WHERE {expired}"
    ))?;
    let rows = stmt.query_map([cutoff], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut remember = tx.prepare(
        "INSERT OR IGNORE INTO pruned_items (source_id, item_key, pruned_at) VALUES (?1, ?2, ?3)",
    )?;
    for row in rows {
        let (source_id, key, link, title, hash) = row?;
        let other = match link {
            Some(link) => link_title_key(&link, title.as_deref()),
            None if key.starts_with("hash:") => text_key(title.as_deref(), &hash),
            None => continue,
        };
        if other != key {
            remember.execute(params![source_id, other, now])?;
        }
    }
    Ok(())
}

/// The key a pruned item with a link is also remembered by: its link and
/// headline. A feed that makes a new GUID at every fetch lists the item under
/// both again; a new item at the same address (a weekly roundup at `/weekly`)
/// has another headline, and is new.
fn link_title_key(link: &str, title: Option<&str>) -> String {
    let basis = format!("{}\n{}", link_identity(link), title.unwrap_or(""));
    format!("seen:{}", &sha256_hex(basis.as_bytes())[..32])
}

/// The key an item without GUID or link is remembered by once pruned: its
/// title and content, not its date (see [`redated`]).
fn text_key(title: Option<&str>, content_hash: &str) -> String {
    let basis = format!("{}\n{content_hash}", title.unwrap_or(""));
    format!("text:{}", &sha256_hex(basis.as_bytes())[..32])
}

/// The key that identifies an item within its source: the GUID, else the link,
/// else a hash of title and date (the store also finds such an item again
/// under a new date by its title and text). `None` when the item has none of these.
pub fn item_key(item: &RawItem) -> Option<String> {
    if let Some(guid) = item.guid.as_deref().filter(|g| !g.is_empty()) {
        return Some(format!("guid:{guid}"));
    }
    if let Some(link) = item.link.as_deref().filter(|l| !l.is_empty()) {
        // Without tracking parameters, so a feed that rotates utm_* values does not
        // make the same item new again.
        return Some(format!("link:{}", crate::sanitize::strip_tracking(link)));
    }
    let title = item.title.as_deref().unwrap_or("");
    let date = item.date().map(|d| d.timestamp().to_string());
    if title.is_empty() && date.is_none() && item.body_html().is_none() {
        return None;
    }
    let basis = format!(
        "{title}\n{}\n{}",
        date.unwrap_or_default(),
        // Without a title or date the body is all that tells items apart.
        if title.is_empty() {
            item.body_html().unwrap_or("")
        } else {
            ""
        }
    );
    Some(format!("hash:{}", &sha256_hex(basis.as_bytes())[..32]))
}

/// The content hash of each item, for [`FetchRecord::Parsed`](super::FetchRecord)'s
/// `hashes`: the text is serialised and hashed before the store's lock.
pub fn content_hashes(items: &[RawItem]) -> Vec<String> {
    items.iter().map(content_hash).collect()
}

/// What counts as a real change of an item. Dates are left out: many feeds stamp
/// every item with the time of the request, which would rewrite the feed forever.
fn content_hash(item: &RawItem) -> String {
    // A link's tracking parameters are no change: feeds that rotate `utm_*` values
    // would otherwise mark every item updated at every fetch.
    let link = item.link.as_deref().map(crate::sanitize::strip_tracking);
    hash_with_link(item, link.as_deref())
}

/// The content hash earlier builds stored: with the link's tracking
/// parameters. An item stored then whose hash is this one has not changed (a
/// reader would see it "updated" once after the upgrade); `None` when its link
/// has none (both hashes are the same).
pub(super) fn hash_before_tracking_was_left_out(item: &RawItem) -> Option<String> {
    let link = item.link.as_deref()?;
    matches!(crate::sanitize::strip_tracking(link), Cow::Owned(_))
        .then(|| hash_with_link(item, Some(link)))
}

fn hash_with_link(item: &RawItem, link: Option<&str>) -> String {
    let basis = serde_json::json!([
        item.title,
        link,
        item.summary,
        item.content,
        item.author,
        item.categories,
        item.enclosures,
    ]);
    sha256_hex(basis.to_string().as_bytes())
}

/// How far past the time it was first seen an item's own date may lie and
/// still be believed (clock skew, time zones), in seconds.
pub const FUTURE_MARGIN: i64 = 3600;

/// The earliest date believed as an item's own (1990-01-01): earlier ones come
/// from broken feeds (a zero timestamp), and readers take them as errors.
pub const EARLIEST_DATE: i64 = 631_152_000;

/// [`sort_time`] of a stored item, in SQL over the `items` columns.
pub(super) const SORT_TIME_SQL: &str =
    "(CASE WHEN published_at IS NOT NULL AND published_at >= 631152000
        AND published_at <= first_seen_at + 3600
      THEN published_at ELSE first_seen_at END)";

/// The time a new item sorts by, is published with, and the date dedup and
/// retention go by: its own date, unless missing, in the future (bad clocks,
/// time zones, "9999-12-31"), which would pin the story to the top of the feed
/// and out of retention, or before [`EARLIEST_DATE`] ("1970-01-01", which
/// would sink it below every cut and into the next prune); then the time it
/// was first seen.
pub fn sort_time(date: Option<i64>, now: i64) -> i64 {
    match date {
        Some(d) if (EARLIEST_DATE..=now.saturating_add(FUTURE_MARGIN)).contains(&d) => d,
        _ => now,
    }
}

/// A stored item in the dedup window, as the dedup step rebuilds it at start.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowItem {
    /// Item row id.
    pub item_id: i64,
    /// Outlet name.
    pub source: String,
    /// Article URL.
    pub link: Option<String>,
    /// The date it was assigned with ([`sort_time`] when it was first seen).
    pub assigned_at: i64,
    /// When it was first seen (the window holds it at least a window past that).
    pub first_seen_at: i64,
    /// Title.
    pub title: Option<String>,
    /// Summary HTML.
    pub summary: Option<String>,
    /// Content HTML.
    pub content: Option<String>,
    /// Its story's row id.
    pub story_id: i64,
    /// The hash of the text dedup last judged it by (`None`: not recorded).
    pub judged_hash: Option<i64>,
}

/// A stored item with the story decision recorded for it (for `feedsieve explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAssignment {
    /// Item row id.
    pub item_id: i64,
    /// Outlet name.
    pub source: String,
    /// Article URL.
    pub link: Option<String>,
    /// Its own publication time (Unix seconds).
    pub published_at: Option<i64>,
    /// When it was first stored (Unix seconds).
    pub first_seen_at: i64,
    /// Title.
    pub title: Option<String>,
    /// Summary HTML.
    pub summary: Option<String>,
    /// Content HTML.
    pub content: Option<String>,
    /// Its story's row id.
    pub story_id: i64,
    /// Its story's stored GUID (the published id is made from it).
    pub story_guid: String,
    /// The layer that assigned it (`None` for items stored before dedup).
    pub layer: Option<String>,
    /// The layer's score.
    pub score: Option<f64>,
    /// The item it matched.
    pub matched: Option<i64>,
}

impl Store {
    /// Calls `each` with every item first seen or dated at or after `since`, in
    /// the order they were stored, without collecting them (the window may hold
    /// tens of thousands of articles). Returns how many there were.
    pub fn window_items(
        &self,
        since: i64,
        mut each: impl FnMut(WindowItem),
    ) -> Result<usize, StoreError> {
        // The date the item was assigned with: its own, unless missing or in
        // the future when first seen (see `sort_time`); an item dated 9999
        // stays in the window only as long as one first seen then.
        let mut stmt = self.conn.prepare(&format!(
            "{} WHERE i.first_seen_at >= ?1 OR {SORT_TIME_SQL} >= ?1
             ORDER BY i.first_seen_at, i.id",
            window_item_select()
        ))?;
        let rows = stmt.query_map([since], window_item)?;
        let mut n = 0;
        for row in rows {
            each(row?);
            n += 1;
        }
        Ok(n)
    }

    /// The items of the window that [`Store::window_items`] reads from `since`
    /// that changed after their first store, later than `after` (a change
    /// time and an item id), in that order, at most [`WINDOW_CHANGES_READ`]:
    /// (change time, item id).
    pub fn window_changes(
        &self,
        since: i64,
        after: (i64, i64),
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT i.changed_at, i.id FROM items i
             WHERE (i.changed_at, i.id) > (?2, ?3) AND i.changed_at > i.first_seen_at
                AND (i.first_seen_at >= ?1 OR {SORT_TIME_SQL} >= ?1)
             ORDER BY i.changed_at, i.id LIMIT ?4"
        ))?;
        let limit = i64::try_from(WINDOW_CHANGES_READ).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![since, after.0, after.1, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether an item of the window read from `since` has a change of text
    /// no window has judged yet (marked by [`update_item`]).
    pub fn unjudged_changes(&self, since: i64) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM items i WHERE i.judged_hash = 0
                AND (i.first_seen_at >= ?1 OR {SORT_TIME_SQL} >= ?1))"
        ))?;
        Ok(stmt.query_row([since], |r| r.get(0))?)
    }

    /// The stored item `id` as [`Store::window_items`] reads it, if it is still stored.
    pub fn window_item(&self, id: i64) -> Result<Option<WindowItem>, StoreError> {
        let mut stmt =
            (self.conn).prepare_cached(&format!("{} WHERE i.id = ?1", window_item_select()))?;
        Ok(stmt.query_row([id], window_item).optional()?)
    }

    /// Records, for each (item id, hash), the hash of the text dedup judged
    /// the item by, in one transaction: a window read back later judges an
    /// item again only when its text hashes otherwise.
    pub fn set_judged_hashes(&mut self, judged: &[(i64, i64)]) -> Result<(), StoreError> {
        if judged.is_empty() {
            return Ok(());
        }
        let tx = self.conn.savepoint()?;
        {
            let mut stmt = tx.prepare_cached("UPDATE items SET judged_hash = ?2 WHERE id = ?1")?;
            for (id, hash) in judged {
                stmt.execute(params![id, hash])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The hash of the text dedup last judged item `id` by (tests).
    #[cfg(test)]
    pub(crate) fn judged_hash(&self, id: i64) -> Option<i64> {
        let hash = "SELECT judged_hash FROM items WHERE id = ?1";
        self.conn.query_row(hash, [id], |r| r.get(0)).ok().flatten()
    }

    /// When a stored item was last stored or changed (0 without items).
    pub fn last_item_change(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(changed_at), 0) FROM items", [], |r| {
                r.get(0)
            })?)
    }

    /// One stored item with its story and how it was assigned.
    pub fn item_assignment(&self, id: i64) -> Result<Option<ItemAssignment>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT i.id, s.name, i.link, i.published_at, i.title, i.summary, i.content,
                        st.guid, i.dedup_layer, i.dedup_score, i.dedup_match, i.story_id,
                        i.first_seen_at
                 FROM items i JOIN sources s ON s.id = i.source_id
                 JOIN stories st ON st.id = i.story_id WHERE i.id = ?1",
                [id],
                |r| {
                    Ok(ItemAssignment {
                        item_id: r.get(0)?,
                        source: r.get(1)?,
                        link: r.get(2)?,
                        published_at: r.get(3)?,
                        title: r.get(4)?,
                        summary: r.get(5)?,
                        content: r.get(6)?,
                        story_guid: r.get(7)?,
                        layer: r.get(8)?,
                        score: r.get(9)?,
                        matched: r.get(10)?,
                        story_id: r.get(11)?,
                        first_seen_at: r.get(12)?,
                    })
                },
            )
            .optional()?)
    }
}

/// Changed window items [`Store::window_changes`] reads at most at a time
/// (ids only: the rest are read at the next pass).
pub const WINDOW_CHANGES_READ: usize = 100_000;

/// The query of a [`WindowItem`] but for its condition: the columns
/// [`window_item`] reads. (The time columns are the items' alone: `sources`
/// has none of those names.)
fn window_item_select() -> String {
    format!(
        "SELECT i.id, s.name, i.link, {SORT_TIME_SQL},
            i.title, i.summary, i.content, i.story_id, i.first_seen_at, i.judged_hash
         FROM items i JOIN sources s ON s.id = i.source_id"
    )
}

/// A row of [`window_item_select`]'s columns.
fn window_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<WindowItem> {
    Ok(WindowItem {
        item_id: r.get(0)?,
        source: r.get(1)?,
        link: r.get(2)?,
        assigned_at: r.get(3)?,
        title: r.get(4)?,
        summary: r.get(5)?,
        content: r.get(6)?,
        story_id: r.get(7)?,
        first_seen_at: r.get(8)?,
        judged_hash: r.get(9)?,
    })
}

/// What is already stored under an item's key.
struct Existing {
    item_id: i64,
    content_hash: String,
    story_id: i64,
    filtered: bool,
}

impl Existing {
    /// From `SELECT id, content_hash, story_id, filtered`.
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Existing> {
        Ok(Existing {
            item_id: r.get(0)?,
            content_hash: r.get(1)?,
            story_id: r.get(2)?,
            filtered: r.get(3)?,
        })
    }
}

/// A link as an item's identity within its source: without tracking
/// parameters (the fragment stays: a live blog's posts differ only there).
pub fn link_identity(link: &str) -> String {
    crate::sanitize::strip_tracking(link.trim()).into_owned()
}

/// The key an item with this link would have without a GUID; within one source
/// the same link is the same item (see [`Store::full_text_items`]).
pub fn link_key(link: &str) -> String {
    format!("link:{}", link_identity(link))
}

/// An item without GUID or link that is stored under another date: the same
/// title and content (the content hash leaves dates out). Such an item's key
/// holds its date, and feeds without GUIDs and links are the ones that stamp
/// every item with the time of the request: each fetch stored it again.
fn redated(
    tx: &Connection,
    source_id: i64,
    item: &RawItem,
    key: &str,
    hash: &str,
) -> Result<Option<Existing>, StoreError> {
    if !key.starts_with("hash:") || item.date().is_none() {
        return Ok(None);
    }
    Ok(super::one_row(
        tx,
        "SELECT id, content_hash, story_id, filtered FROM items
         WHERE source_id = ?1 AND item_key LIKE 'hash:%' AND title IS ?2 AND content_hash = ?3
         ORDER BY id DESC LIMIT 1",
        params![source_id, item.title, hash],
        Existing::from_row,
    )
    .optional()?)
}

/// Whether the stored item `old` is another article than `item`, which the
/// feed lists under the same key (a feed that numbers its GUIDs by position:
/// `pos-0` is whatever is newest): the stored article is listed under another
/// key of the document now, or both its page and headline differ (a link whose
/// query alone changes, a session id, is the same page). The caller asks only
/// when the document as a whole gives its keys away ([`document_keys`]): a
/// permalink and headline rewritten under a kept GUID (WordPress's `?p=123`)
/// is an edit otherwise.
fn reused_key(
    tx: &Connection,
    old: &Existing,
    item: &RawItem,
    key: &str,
    document: &DocumentKeys,
) -> Result<bool, StoreError> {
    let Some(link) = item.link.as_deref() else {
        return Ok(false);
    };
    let stored: Option<(Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT link, title FROM items WHERE id = ?1",
            [old.item_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((Some(old_link), old_title)) = stored else {
        return Ok(false);
    };
    // The stored article is listed under another key now: this key was given away.
    let identity = link_identity(&old_link);
    let moved = document.in_document.get(&identity) == Some(&1)
        && document
            .links
            .iter()
            .any(|(k, l)| k != key && l.as_deref() == Some(identity.as_str()));
    let title = item.title.as_deref().unwrap_or("");
    Ok(moved
        || (page_of(&old_link) != page_of(link)
            && !similar_titles(old_title.as_deref().unwrap_or(""), title)))
}

/// A link's host (without `www.`) and path (without a final `/`), lower-cased.
fn page_of(link: &str) -> String {
    match url::Url::parse(link.trim()) {
        Ok(u) => format!(
            "{}{}",
            u.host_str().unwrap_or("").trim_start_matches("www."),
            u.path().trim_end_matches('/')
        )
        .to_lowercase(),
        Err(_) => link.trim().to_lowercase(),
    }
}

/// Whether two headlines share at least half the words of the shorter.
fn similar_titles(a: &str, b: &str) -> bool {
    // Words of more than three letters: "to", "in", "the" are in every headline.
    let words = |t: &str| -> HashSet<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 3)
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    let shorter = a.len().min(b.len());
    shorter == 0 || 2 * a.intersection(&b).count() >= shorter
}

/// Moves a stored item off `key`, which the feed now gives another article:
/// to its link's key, or, when that is taken, a key of its own. It keeps its
/// row, story and place in the feed.
fn displace(tx: &Connection, old: &Existing, key: &str) -> Result<(), StoreError> {
    let link: Option<String> =
        tx.query_row("SELECT link FROM items WHERE id = ?1", [old.item_id], |r| {
            r.get(0)
        })?;
    let free = |k: &str| -> Result<bool, StoreError> {
        Ok(tx
            .query_row(
                "SELECT 1 FROM items WHERE item_key = ?1 AND source_id = (SELECT source_id FROM items WHERE id = ?2)",
                params![k, old.item_id],
                |_| Ok(()),
            )
            .optional()?
            .is_none())
    };
    let by_link = link.as_deref().map(link_key).filter(|k| k != key);
    let new_key = match by_link {
        Some(k) if free(&k)? => k,
        _ => format!("displaced:{}:{key}", old.item_id),
    };
    tracing::debug!(%key, %new_key, "the feed gives this key to another article; the stored one keeps its row");
    super::exec(
        tx,
        "UPDATE items SET item_key = ?2 WHERE id = ?1",
        params![old.item_id, new_key],
    )?;
    Ok(())
}

/// What a document says of its keys against the store, read before any
/// stored item moves.
struct DocumentKeys {
    /// Each key of the document, with the link (its identity) of its item.
    links: HashMap<String, Option<String>>,
    /// How many of the document's items have each link (identity).
    in_document: HashMap<String, usize>,
    /// Link (identity) → the key of the one stored item with it; links that
    /// several stored items share (episodes linking to the show) name none.
    sole: HashMap<String, String>,
    /// The feed gives keys to other articles ([`document_keys`]).
    reused: bool,
}

impl DocumentKeys {
    /// The key `item`'s article is stored under, when it is another than
    /// `key` and the document does not list it there any more: the article
    /// lives elsewhere. Only a link one item of the document and one stored
    /// item have names an article.
    fn elsewhere(&self, item: &RawItem, key: &str) -> Option<&str> {
        let identity = link_identity(item.link.as_deref()?);
        if self.in_document.get(&identity) != Some(&1) {
            return None;
        }
        let stored = self.sole.get(&identity)?;
        let listed_there = self.links.get(stored) == Some(&Some(identity.clone()));
        (stored != key && !listed_there).then_some(stored.as_str())
    }
}

/// Reads the document's keys against the store. The feed gives its keys to
/// other articles when a key holding one stored article is now given to an
/// article stored under another key (GUIDs numbered by position: items shift,
/// swap, drop out). Without that evidence a key keeps its article: a post
/// rewritten under its GUID (a WordPress edit under `?p=123`, also in a
/// one-item feed) is an edit, and a feed that turned over whole between two
/// fetches, under GUIDs numbered by position, overwrites its articles (the
/// two cannot be told apart).
fn document_keys(
    tx: &Connection,
    source_id: i64,
    items: &[RawItem],
) -> Result<DocumentKeys, StoreError> {
    let mut document = DocumentKeys {
        links: items
            .iter()
            .filter_map(|i| Some((item_key(i)?, i.link.as_deref().map(link_identity))))
            .collect(),
        in_document: HashMap::new(),
        sole: HashMap::new(),
        reused: false,
    };
    for link in items.iter().filter_map(|i| i.link.as_deref()) {
        *document.in_document.entry(link_identity(link)).or_insert(0) += 1;
    }
    // Key → link (identity) of its stored item; link → (a key, how many).
    let mut by_key: HashMap<String, String> = HashMap::new();
    let mut by_link: HashMap<String, (String, usize)> = HashMap::new();
    for (key, identity) in stored_link_rows(tx, source_id)? {
        let entry = by_link.entry(identity.clone()).or_insert((key.clone(), 0));
        entry.1 += 1;
        by_key.insert(key, identity);
    }
    document.sole = by_link
        .into_iter()
        .filter(|(_, (_, n))| *n == 1)
        .map(|(link, (key, _))| (link, key))
        .collect();
    document.reused = items.iter().any(|item| {
        let (Some(key), Some(link)) = (item_key(item), item.link.as_deref()) else {
            return false;
        };
        let moved = by_key
            .get(&key)
            .is_some_and(|stored| *stored != link_identity(link));
        moved && document.elsewhere(item, &key).is_some()
    });
    Ok(document)
}

/// The stored item of `item`'s article under another key, moved to `key`
/// ([`DocumentKeys::elsewhere`]: a feed that changed its GUIDs, `…#0` on one
/// fetch and `…#3` on the next, or started or stopped giving any, or gives its
/// keys out anew), or under its link's key (where [`displace`] put it).
fn take_by_link(
    tx: &Connection,
    source_id: i64,
    item: &RawItem,
    key: &str,
    document: &DocumentKeys,
) -> Result<Option<Existing>, StoreError> {
    let Some(link) = item.link.as_deref() else {
        return Ok(None);
    };
    let identity = link_identity(link);
    if document.in_document.get(&identity) != Some(&1) {
        return Ok(None);
    }
    let by_link = link_key(link);
    let candidates = [document.elsewhere(item, key), Some(by_link.as_str())];
    for candidate in candidates.into_iter().flatten().filter(|c| *c != key) {
        if document.links.get(candidate) == Some(&Some(identity.clone())) {
            continue;
        }
        let found = super::one_row(
            tx,
            "SELECT id, content_hash, story_id, filtered, link FROM items
             WHERE source_id = ?1 AND item_key = ?2",
            params![source_id, candidate],
            |r| Ok((Existing::from_row(r)?, r.get::<_, Option<String>>(4)?)),
        )
        .optional()?;
        let Some((old, Some(stored_link))) = found else {
            continue;
        };
        if link_identity(&stored_link) != identity {
            continue;
        }
        tracing::debug!(old_key = %candidate, new_key = %key, "the feed lists the item under another key; same link, same item");
        super::exec(
            tx,
            "UPDATE items SET item_key = ?2, guid = ?3 WHERE id = ?1",
            params![old.item_id, key, item.guid],
        )?;
        return Ok(Some(old));
    }
    Ok(None)
}

/// (key, link identity) of a source's stored items with a link, oldest first.
fn stored_link_rows(tx: &Connection, source_id: i64) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT item_key, link FROM items WHERE source_id = ?1 AND link IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([source_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, link) = row?;
        out.push((key, link_identity(&link)));
    }
    Ok(out)
}

/// Stores one fetch's items: changed ones are updated in place, the rest
/// (keyless, repeated in the document, pruned before, unchanged) are skipped,
/// and then the new ones are inserted, in document order, into the stories
/// `stories` decides (told first which items those are and the ids they will
/// take, so it may decide them while the inserts run).
pub(super) fn ingest_items(
    tx: &Connection,
    source_id: i64,
    (source_url, source_name): (&str, &str),
    (items, admitted, hashes): (&[RawItem], &[bool], &[String]),
    now: i64,
    stories: &mut dyn StoryDecider,
) -> Result<IngestStats, StoreError> {
    let mut stats = IngestStats::default();
    // New items, by their place in the document: inserted after the loop.
    let mut fresh = Vec::new();
    let mut seen = HashSet::new();
    let document = document_keys(tx, source_id, items)?;
    let mut find = tx.prepare_cached(
        "SELECT id, content_hash, story_id, filtered FROM items WHERE source_id = ?1 AND item_key = ?2",
    )?;
    let mut pruned =
        tx.prepare_cached("SELECT 1 FROM pruned_items WHERE source_id = ?1 AND item_key = ?2")?;
    for (index, item) in items.iter().enumerate() {
        let filtered = !admitted.get(index).copied().unwrap_or(true);
        let Some(key) = item_key(item) else {
            stats.skipped += 1;
            continue;
        };
        if !seen.insert(key.clone()) {
            // The same GUID twice in one document: the first one wins.
            stats.skipped += 1;
            continue;
        }
        let hash = match hashes.get(index) {
            Some(hash) => hash.clone(),
            None => content_hash(item),
        };
        if pruned_before(&mut pruned, source_id, item, &key, &hash)? {
            stats.skipped += 1;
            continue;
        }
        let found = find.query_row(params![source_id, key], Existing::from_row);
        let existing = match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            found => Some(found?),
        };
        let lookup = (source_id, item, key.as_str(), hash.as_str());
        match stored_item(tx, lookup, existing, &document)? {
            Some(old) => {
                if update_stored(tx, &old, item, &hash, filtered, now)? {
                    stats.updated += 1;
                }
            }
            None => fresh.push(Fresh {
                index,
                key,
                hash,
                filtered,
            }),
        }
    }
    let source = (source_id, source_url, source_name);
    stats.new = insert_fresh(tx, source, items, &fresh, now, stories)?;
    Ok(stats)
}

/// Whether `item` was pruned before: under its key, or the other key it is
/// remembered by ([`remember_other_keys`]).
fn pruned_before(
    pruned: &mut rusqlite::CachedStatement<'_>,
    source_id: i64,
    item: &RawItem,
    key: &str,
    hash: &str,
) -> Result<bool, StoreError> {
    let other_key = match item.link.as_deref() {
        // With its headline, a link names one item even where several share it.
        Some(link) => Some(link_title_key(link, item.title.as_deref())),
        None => key
            .starts_with("hash:")
            .then(|| text_key(item.title.as_deref(), hash)),
    };
    if pruned.exists(params![source_id, key])? {
        return Ok(true);
    }
    match other_key {
        Some(other) => Ok(pruned.exists(params![source_id, other])?),
        None => Ok(false),
    }
}

/// The stored item `item` (under `key`, with content `hash`) is, given what
/// its key holds (`existing`): found again under a new GUID, at its link,
/// under another date; or, when the feed gave its key to another article,
/// the stored one moved off it first. `None`: a new item.
fn stored_item(
    tx: &Connection,
    (source_id, item, key, hash): (i64, &RawItem, &str, &str),
    existing: Option<Existing>,
    document: &DocumentKeys,
) -> Result<Option<Existing>, StoreError> {
    let Some(old) = existing else {
        if let Some(found) = take_by_link(tx, source_id, item, key, document)? {
            return Ok(Some(found));
        }
        return redated(tx, source_id, item, key, hash);
    };
    // Its article stored under another key decides; else a page and headline
    // both other than the stored ones.
    if document.reused
        && old.content_hash != hash
        && (document.elsewhere(item, key).is_some() || reused_key(tx, &old, item, key, document)?)
    {
        displace(tx, &old, key)?;
        return take_by_link(tx, source_id, item, key, document);
    }
    Ok(Some(old))
}

/// Brings a stored item up to date with its new fetch; true when a reader
/// would see a change (content, or the filters' verdict).
fn update_stored(
    tx: &Connection,
    old: &Existing,
    item: &RawItem,
    hash: &str,
    filtered: bool,
    now: i64,
) -> Result<bool, StoreError> {
    if old.content_hash == hash && old.filtered == filtered {
        return Ok(false);
    }
    if old.filtered == filtered
        && hash_before_tracking_was_left_out(item).as_deref() == Some(old.content_hash.as_str())
    {
        // Stored by an older build: the same content, the hash of today.
        super::exec(
            tx,
            "UPDATE items SET content_hash = ?2 WHERE id = ?1",
            params![old.item_id, hash],
        )?;
        return Ok(false);
    }
    if old.content_hash == hash {
        // Same content, but the filters changed their verdict.
        super::exec(
            tx,
            "UPDATE items SET filtered = ?2 WHERE id = ?1",
            params![old.item_id, filtered],
        )?;
    } else {
        update_item(tx, old, item, hash, filtered, now)?;
    }
    stories::touch(tx, old.story_id, now)?;
    Ok(true)
}

/// A new item of a fetch, found by [`ingest_items`].
struct Fresh {
    index: usize,
    key: String,
    hash: String,
    filtered: bool,
}

/// Inserts a fetch's new items in document order, into the stories `stories`
/// decides once told which they are ([`StoryDecider::ahead`]). Returns how
/// many were inserted.
fn insert_fresh(
    tx: &Connection,
    (source_id, source_url, source_name): (i64, &str, &str),
    items: &[RawItem],
    fresh: &[Fresh],
    now: i64,
    stories: &mut dyn StoryDecider,
) -> Result<usize, StoreError> {
    if fresh.is_empty() {
        return Ok(0);
    }
    let news: Vec<(NewItem<'_>, &Fresh)> = fresh
        .iter()
        .filter_map(|f| {
            let item = items.get(f.index)?;
            let new = NewItem {
                index: f.index,
                item,
                key: &f.key,
                source_id,
                source_url,
                source_name,
                sort_at: sort_time(item.date().map(|d| d.timestamp()), now),
                seen_at: now,
            };
            Some((new, f))
        })
        .collect();
    let announced: Vec<NewItem<'_>> = news.iter().map(|(new, _)| *new).collect();
    stories.ahead(&announced, stories::next_ids(tx)?);
    for (new, f) in &news {
        insert_item(tx, new, &f.hash, f.filtered, now, stories)?;
    }
    Ok(news.len())
}

/// The item's categories and enclosures as stored (JSON arrays).
fn json_lists(item: &RawItem) -> (String, String) {
    (
        serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&item.enclosures).unwrap_or_else(|_| "[]".into()),
    )
}

/// Rewrites a stored item whose content changed; it keeps its row and story.
/// A change of its headline or text marks it with the judged hash 0, which no
/// text has: a window held judges it at once, and a process holding none
/// reads the window back at its next publish to judge it
/// ([`Store::unjudged_changes`]); a hash recorded as judged would skip it.
fn update_item(
    tx: &Connection,
    old: &Existing,
    item: &RawItem,
    hash: &str,
    filtered: bool,
    now: i64,
) -> Result<(), StoreError> {
    let (categories, enclosures) = json_lists(item);
    super::exec(
        tx,
        "UPDATE items SET guid = ?2, link = ?3, title = ?4, summary = ?5, content = ?6,
            author = ?7, published_at = ?8, updated_at = ?9, categories = ?10,
            enclosures = ?11, content_hash = ?12, changed_at = ?13, filtered = ?14,
            body_words = NULL,
            judged_hash = CASE WHEN title IS ?4 AND summary IS ?5 AND content IS ?6
                THEN judged_hash ELSE 0 END
         WHERE id = ?1",
        params![
            old.item_id,
            item.guid,
            item.link,
            item.title,
            item.summary,
            item.content,
            item.author,
            item.date().map(|d| d.timestamp()),
            item.updated.map(|d| d.timestamp()),
            categories,
            enclosures,
            hash,
            now,
            filtered
        ],
    )?;
    Ok(())
}

/// Stores a new item in the story `stories` decides (a new one when it
/// decides none, or the one it names is gone), and records the decision.
fn insert_item(
    tx: &Connection,
    new: &NewItem<'_>,
    hash: &str,
    filtered: bool,
    now: i64,
    stories: &mut dyn StoryDecider,
) -> Result<(), StoreError> {
    let decision = stories.decide(new);
    let (story_id, joined) = stories::place(tx, new, decision.as_ref(), now)?;
    let item = new.item;
    let (categories, enclosures) = json_lists(item);
    // How dedup placed it goes in with the row: an update after the insert
    // wrote the row and two of its indexes twice.
    let placed = decision.as_ref();
    let layer = placed.map(|d| if joined { d.layer } else { "new" });
    super::exec(
        tx,
        "INSERT INTO items (source_id, item_key, guid, link, title, summary, content, author,
            published_at, updated_at, categories, enclosures, content_hash,
            first_seen_at, changed_at, story_id, filtered,
            canonical_url, dedup_layer, dedup_score, dedup_match, body_words, judged_hash, id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15, ?16,
            ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            new.source_id,
            new.key,
            item.guid,
            item.link,
            item.title,
            item.summary,
            item.content,
            item.author,
            item.date().map(|d| d.timestamp()),
            item.updated.map(|d| d.timestamp()),
            categories,
            enclosures,
            hash,
            now,
            story_id,
            filtered,
            placed.and_then(|d| d.canonical_url.as_deref()),
            layer,
            placed.and_then(|d| d.score),
            placed.and_then(|d| d.matched),
            placed.and_then(|d| d.body_words),
            placed.and_then(|d| d.judged_hash),
            // NULL: SQLite gives the next id, as the decider was told.
            placed.and_then(|d| d.ids).map(|ids| ids.item),
        ],
    )?;
    let item_id = tx.last_insert_rowid();
    if decision.is_some() {
        stories::record_decision(tx, item_id, story_id, joined, now, stories)?;
    }
    Ok(())
}
