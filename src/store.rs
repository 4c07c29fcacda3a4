//! SQLite storage: schema migrations, sources with their fetch state, items and stories.
//!
//! One connection, one writer: the async side reaches it through [`SharedStore::call`],
//! which runs the closure on a blocking thread under a mutex. Every write for one
//! fetch of one source is a single transaction.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::config::SourceConfig;
use crate::dedup::{self, Article, DedupConfig, Engine, Layer};
use crate::read::{Enclosure, RawItem};
use crate::util::sha256_hex;

/// The schema migrations, in order. The database records the last one applied in
/// `PRAGMA user_version`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../db/migrations/0001_initial.sql")),
    (2, include_str!("../db/migrations/0002_filters.sql")),
    (3, include_str!("../db/migrations/0003_dedup.sql")),
    (4, include_str!("../db/migrations/0004_site_templates.sql")),
    (5, include_str!("../db/migrations/0005_story_ids.sql")),
];

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database folder could not be created.
    #[error("cannot create the database folder {path}: {source}")]
    Dir {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file was written by a newer feedsieve.
    #[error("the database has schema version {found}, newer than this feedsieve knows ({known}); upgrade feedsieve")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Newest version known here.
        known: i64,
    },
    /// The blocking task running the query died.
    #[error("the database task failed: {0}")]
    Task(String),
    /// The dedup sentence-embedding model could not be loaded.
    #[error("loading the embedding model: {0}")]
    Embed(#[from] dedup::embed::EmbedError),
}

/// A source row with its fetch state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Row id.
    pub id: i64,
    /// Configured URL.
    pub url: String,
    /// "feed" or "page".
    pub kind: String,
    /// Outlet name.
    pub name: String,
    /// Still in the config.
    pub active: bool,
    /// Title the feed gives itself.
    pub feed_title: Option<String>,
    /// Stored `ETag`.
    pub etag: Option<String>,
    /// Stored `Last-Modified`.
    pub last_modified: Option<String>,
    /// Hash of the last parsed body.
    pub body_hash: Option<String>,
    /// The feed's `<ttl>` from its last parse, in seconds.
    pub ttl_seconds: Option<i64>,
    /// Last attempt (Unix seconds).
    pub last_fetch_at: Option<i64>,
    /// Last success (Unix seconds).
    pub last_success_at: Option<i64>,
    /// 'ok', 'not-modified', 'unchanged' or 'error'.
    pub last_status: Option<String>,
    /// The last error message.
    pub last_error: Option<String>,
    /// Consecutive failures.
    pub error_count: i64,
    /// When the source is due (Unix seconds).
    pub next_fetch_at: i64,
    /// Answered 410 Gone: not fetched again.
    pub gone: bool,
}

/// What one fetch of a source produced, written in one transaction.
#[derive(Debug, Clone)]
pub enum FetchRecord {
    /// 304, or 200 with the same body as last time: only the fetch state changes.
    Unchanged {
        /// True for 304, false for an identical body.
        not_modified: bool,
        /// New validators, if the server sent any.
        etag: Option<String>,
        /// New `Last-Modified`.
        last_modified: Option<String>,
    },
    /// A parsed feed whose items are to be stored.
    Parsed {
        /// `ETag` of this response.
        etag: Option<String>,
        /// `Last-Modified` of this response.
        last_modified: Option<String>,
        /// Hash of the body.
        body_hash: String,
        /// The feed's own title.
        feed_title: Option<String>,
        /// The feed's own link.
        feed_link: Option<String>,
        /// The feed's `<ttl>`.
        ttl_seconds: Option<i64>,
        /// Items in document order.
        items: Vec<RawItem>,
        /// Per item: passes the include/exclude filters (missing entries count as true).
        admitted: Vec<bool>,
    },
    /// The fetch or the parse failed.
    Failed {
        /// The message shown to the operator.
        error: String,
        /// HTTP 410: stop fetching.
        gone: bool,
    },
}

/// Counts of what a fetch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Items stored for the first time.
    pub new: usize,
    /// Items whose content changed.
    pub updated: usize,
    /// Items skipped: pruned before, keyless, or repeated in the document.
    pub skipped: usize,
}

impl IngestStats {
    /// True when the published feed may need rewriting.
    pub fn changed(&self) -> bool {
        self.new + self.updated > 0
    }
}

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
    /// Publication time (Unix seconds).
    pub published_at: Option<i64>,
    /// First stored (Unix seconds).
    pub first_seen_at: i64,
    /// Category terms.
    pub categories: Vec<String>,
    /// Attachments.
    pub enclosures: Vec<Enclosure>,
}

/// A story with all its items, the representative first.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Stable id in the published feed.
    pub guid: String,
    /// Sort date (Unix seconds).
    pub sort_at: i64,
    /// Last change (Unix seconds).
    pub updated_at: i64,
    /// Items, representative first.
    pub items: Vec<StoryItem>,
}

/// A stored item with its dedup decision (for `feedsieve explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct DedupItem {
    /// The item as an article (id = item row id).
    pub article: Article,
    /// Its story's row id.
    pub story_id: i64,
    /// Its story's published GUID.
    pub story_guid: String,
    /// The layer that assigned it (`None` for items stored before dedup).
    pub layer: Option<String>,
    /// The layer's score.
    pub score: Option<f64>,
    /// The item it matched.
    pub matched: Option<i64>,
}

/// The database.
pub struct Store {
    conn: Connection,
    /// The story dedup engine over the recent window; `None`: one story per item.
    dedup: Option<Engine>,
}

impl Store {
    /// Opens (creating if needed) the database file and applies migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Store::init(conn)
    }

    /// An in-memory database, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL keeps readers (inspecting tools) from blocking the writer; NORMAL sync
        // is durable against process crashes, which is what a daemon meets.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn, dedup: None };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
            tracing::info!(version, "applied database migration");
        }
        Ok(())
    }

    /// Turns on story dedup: new items join the story of a matching recent item.
    /// The engine's window is rebuilt from the stored items and their stored
    /// stories (no re-clustering), so a restart resumes with the same stories.
    pub fn enable_dedup(&mut self, config: DedupConfig, now: i64) -> Result<(), StoreError> {
        let mut engine = Engine::open(config)?;
        let since = now.saturating_sub(engine.config().window.as_secs() as i64);
        let mut stmt = self.conn.prepare(
            // The date the item was assigned with: its own, unless missing or in
            // the future when first seen (see `ingest_items`).
            "SELECT i.id, s.name, i.link,
                    CASE WHEN i.published_at IS NOT NULL AND i.published_at <= i.first_seen_at + 3600
                         THEN i.published_at ELSE i.first_seen_at END,
                    i.title, i.summary, i.content, i.story_id
             FROM items i JOIN sources s ON s.id = i.source_id
             WHERE i.first_seen_at >= ?1 OR i.published_at >= ?1
             ORDER BY i.first_seen_at, i.id",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                Article {
                    id: r.get::<_, i64>(0)?.to_string(),
                    source: r.get(1)?,
                    url: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    published: r.get(3)?,
                    title: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    text: body_text(r.get(6)?, r.get(5)?),
                },
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut n = 0;
        for row in rows {
            let (article, story) = row?;
            let p = engine.prepare(&article);
            engine.admit(p, story);
            n += 1;
        }
        tracing::info!(items = n, "story dedup window restored");
        drop(stmt);
        self.dedup = Some(engine);
        Ok(())
    }

    /// The dedup engine, when enabled.
    pub fn dedup_engine(&mut self) -> Option<&mut Engine> {
        self.dedup.as_mut()
    }

    /// The dedup engine's embedding model, to embed new items without this
    /// store's lock held (see [`Store::remember_embeddings`]).
    pub fn dedup_embedder(&self) -> Option<std::sync::Arc<dedup::embed::Embedder>> {
        self.dedup.as_ref()?.embedder().cloned()
    }

    /// Hands embeddings computed outside the lock, as (title, text, embedding),
    /// to the dedup engine for the next ingest.
    pub fn remember_embeddings(&mut self, done: Vec<(String, String, Vec<f32>)>) {
        if let Some(engine) = self.dedup.as_mut() {
            for (title, text, e) in done {
                engine.remember_embedding(&title, &text, e);
            }
        }
    }

    /// One stored item as dedup sees it, with how it was assigned:
    /// (article, story guid, layer, score, matched item id).
    pub fn dedup_item(&self, id: i64) -> Result<Option<DedupItem>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT i.id, s.name, i.link, i.published_at, i.title, i.summary, i.content,
                        st.guid, i.dedup_layer, i.dedup_score, i.dedup_match, i.story_id
                 FROM items i JOIN sources s ON s.id = i.source_id
                 JOIN stories st ON st.id = i.story_id WHERE i.id = ?1",
                [id],
                |r| {
                    Ok(DedupItem {
                        article: Article {
                            id: r.get::<_, i64>(0)?.to_string(),
                            source: r.get(1)?,
                            url: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                            published: r.get(3)?,
                            title: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                            text: body_text(r.get(6)?, r.get(5)?),
                        },
                        story_guid: r.get(7)?,
                        layer: r.get(8)?,
                        score: r.get(9)?,
                        matched: r.get(10)?,
                        story_id: r.get(11)?,
                    })
                },
            )
            .optional()?)
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Makes the source table match the config: new sources are added and due now,
    /// changed names are updated, sources no longer configured are deactivated
    /// (their items stay until retention prunes them).
    pub fn sync_sources(&mut self, sources: &[SourceConfig]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE sources SET active = 0", [])?;
        for s in sources {
            tx.execute(
                "INSERT INTO sources (url, kind, name, active, category) VALUES (?1, ?2, ?3, 1, ?4)
                 ON CONFLICT(url) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                    category = excluded.category, active = 1",
                params![s.url.as_str(), s.kind.as_str(), s.name, s.category],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Active sources, in id order.
    pub fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE active = 1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Active sources with the number of items stored for each, for status pages.
    pub fn source_stats(&self) -> Result<Vec<(SourceRecord, i64)>, StoreError> {
        let mut counts = std::collections::HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT source_id, COUNT(*) FROM items GROUP BY source_id")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (id, n) = row?;
            counts.insert(id, n);
        }
        Ok(self
            .sources()?
            .into_iter()
            .map(|s| {
                let n = counts.get(&s.id).copied().unwrap_or(0);
                (s, n)
            })
            .collect())
    }

    /// Makes these sources due now and forgets their validators, so the next fetch
    /// reads them in full with their new settings (filters, categories, …).
    pub fn make_due(&mut self, urls: &[String]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for url in urls {
            tx.execute(
                "UPDATE sources SET next_fetch_at = 0, etag = NULL, last_modified = NULL,
                    body_hash = NULL, gone = 0, error_count = 0
                 WHERE url = ?1",
                [url],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One source by its URL.
    pub fn source_by_url(&self, url: &str) -> Result<Option<SourceRecord>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE url = ?1"),
                [url],
                source_from_row,
            )
            .optional()?)
    }

    /// Stored content and author of this source's items that already hold the
    /// extracted article, by item key, so a re-fetch keeps them instead of
    /// downloading the page again.
    pub fn full_text_items(
        &self,
        source_id: i64,
    ) -> Result<std::collections::HashMap<String, (String, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_key, content, author FROM items WHERE source_id = ?1 AND full_text = 1 AND content IS NOT NULL",
        )?;
        let rows = stmt.query_map([source_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every item key of a source, stored or pruned: what is not new.
    pub fn known_keys(
        &self,
        source_id: i64,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_key FROM items WHERE source_id = ?1
             UNION SELECT item_key FROM pruned_items WHERE source_id = ?1",
        )?;
        let rows = stmt.query_map([source_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks items (by key) as holding the extracted article.
    pub fn mark_full_text(&mut self, source_id: i64, keys: &[String]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE items SET full_text = 1 WHERE source_id = ?1 AND item_key = ?2",
            )?;
            for k in keys {
                stmt.execute(params![source_id, k])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Fingerprints seen on at least `min_pages` pages of `host`: its template (chrome).
    pub fn site_template(
        &self,
        host: &str,
        min_pages: i64,
    ) -> Result<std::collections::HashSet<u64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT fingerprint FROM site_templates WHERE host = ?1 AND pages >= ?2",
        )?;
        let rows = stmt.query_map(params![host, min_pages], |r| r.get::<_, i64>(0))?;
        // The u64 fingerprint is stored as its i64 bit pattern.
        Ok(rows
            .map(|r| r.map(|v| v as u64))
            .collect::<Result<_, _>>()?)
    }

    /// Records the block fingerprints of one page of `host`; old, rare ones are
    /// forgotten so the table stays small.
    pub fn learn_site_template(
        &mut self,
        host: &str,
        fingerprints: &[u64],
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO site_templates (host, fingerprint, pages, last_seen) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (host, fingerprint) DO UPDATE SET pages = pages + 1, last_seen = ?3",
            )?;
            for f in fingerprints {
                stmt.execute(params![host, *f as i64, now])?;
            }
            tx.execute(
                "DELETE FROM site_templates WHERE host = ?1 AND pages < 2 AND last_seen < ?2",
                params![host, now - 30 * 86400],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes the result of one fetch: fetch state and items, in one transaction.
    /// `now` and `next_fetch_at` are Unix seconds.
    pub fn record_fetch(
        &mut self,
        source_id: i64,
        record: &FetchRecord,
        now: i64,
        next_fetch_at: i64,
    ) -> Result<IngestStats, StoreError> {
        let tx = self.conn.transaction()?;
        let mut stats = IngestStats::default();
        match record {
            FetchRecord::Unchanged {
                not_modified,
                etag,
                last_modified,
            } => {
                tx.execute(
                    "UPDATE sources SET last_fetch_at = ?2, last_success_at = ?2, last_status = ?3,
                        last_error = NULL, error_count = 0, next_fetch_at = ?4,
                        etag = COALESCE(?5, etag), last_modified = COALESCE(?6, last_modified)
                     WHERE id = ?1",
                    params![
                        source_id,
                        now,
                        if *not_modified {
                            "not-modified"
                        } else {
                            "unchanged"
                        },
                        next_fetch_at,
                        etag,
                        last_modified
                    ],
                )?;
            }
            FetchRecord::Parsed {
                etag,
                last_modified,
                body_hash,
                feed_title,
                feed_link,
                ttl_seconds,
                items,
                admitted,
            } => {
                let source_url: String =
                    tx.query_row("SELECT url FROM sources WHERE id = ?1", [source_id], |r| {
                        r.get(0)
                    })?;
                stats = ingest_items(
                    &tx,
                    source_id,
                    &source_url,
                    items,
                    admitted,
                    now,
                    self.dedup.as_mut(),
                )?;
                tx.execute(
                    "UPDATE sources SET last_fetch_at = ?2, last_success_at = ?2, last_status = 'ok',
                        last_error = NULL, error_count = 0, next_fetch_at = ?3,
                        etag = ?4, last_modified = ?5, body_hash = ?6,
                        feed_title = COALESCE(?7, feed_title), feed_link = COALESCE(?8, feed_link),
                        ttl_seconds = ?9
                     WHERE id = ?1",
                    params![
                        source_id,
                        now,
                        next_fetch_at,
                        etag,
                        last_modified,
                        body_hash,
                        feed_title,
                        feed_link,
                        ttl_seconds
                    ],
                )?;
            }
            FetchRecord::Failed { error, gone } => {
                tx.execute(
                    "UPDATE sources SET last_fetch_at = ?2, last_status = 'error', last_error = ?3,
                        error_count = error_count + 1, next_fetch_at = ?4, gone = ?5
                     WHERE id = ?1",
                    params![source_id, now, error, next_fetch_at, gone],
                )?;
            }
        }
        tx.commit()?;
        Ok(stats)
    }

    /// The newest stories, newest first, each with its items (representative first).
    pub fn latest_stories(&self, limit: usize) -> Result<Vec<Story>, StoreError> {
        let mut stories: Vec<Story> = Vec::new();
        let mut index = std::collections::HashMap::new();
        // A story is published when at least one of its items passed the filters.
        let mut stmt = self.conn.prepare(
            "SELECT id, guid, sort_at, updated_at FROM stories
             WHERE EXISTS (SELECT 1 FROM items WHERE items.story_id = stories.id AND items.filtered = 0)
             ORDER BY sort_at DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Story {
                    guid: r.get(1)?,
                    sort_at: r.get(2)?,
                    updated_at: r.get(3)?,
                    items: Vec::new(),
                },
            ))
        })?;
        for row in rows {
            let (id, story) = row?;
            index.insert(id, stories.len());
            stories.push(story);
        }
        if stories.is_empty() {
            return Ok(stories);
        }
        let mut stmt = self.conn.prepare(
            "SELECT i.story_id, i.id, s.name, s.url, i.title, i.link, i.summary, i.content,
                    i.author, i.published_at, i.first_seen_at, i.categories, i.enclosures, s.category
             FROM items i JOIN sources s ON s.id = i.source_id JOIN stories st ON st.id = i.story_id
             WHERE i.filtered = 0 AND i.story_id IN (
                SELECT id FROM stories
                WHERE EXISTS (SELECT 1 FROM items WHERE items.story_id = stories.id AND items.filtered = 0)
                ORDER BY sort_at DESC, id DESC LIMIT ?1)
             ORDER BY i.story_id, i.id IS NOT st.representative_id, i.first_seen_at, i.id",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let categories: String = r.get(11)?;
            let enclosures: String = r.get(12)?;
            let source_category: Option<String> = r.get(13)?;
            let mut categories: Vec<String> = serde_json::from_str(&categories).unwrap_or_default();
            if let Some(c) = source_category {
                if !categories.contains(&c) {
                    categories.insert(0, c);
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
                    first_seen_at: r.get(10)?,
                    categories,
                    enclosures: serde_json::from_str(&enclosures).unwrap_or_default(),
                },
            ))
        })?;
        for row in rows {
            let (story_id, item) = row?;
            if let Some(&i) = index.get(&story_id) {
                stories[i].items.push(item);
            }
        }
        stories.retain(|s| !s.items.is_empty());
        Ok(stories)
    }

    /// Deletes items stored before `cutoff` (and not dated after it), remembering
    /// their keys so a feed that still lists them does not bring them back; drops
    /// emptied stories. Retention counts from when an item was first stored, so a
    /// newly added feed shows its items even if they are old. Returns the count pruned.
    pub fn prune(
        &mut self,
        cutoff: i64,
        now: i64,
        tombstone_cutoff: i64,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO pruned_items (source_id, item_key, pruned_at)
             SELECT source_id, item_key, ?2 FROM items
             WHERE first_seen_at < ?1 AND COALESCE(published_at, first_seen_at) < ?1",
            params![cutoff, now],
        )?;
        let n = tx.execute(
            "DELETE FROM items WHERE first_seen_at < ?1 AND COALESCE(published_at, first_seen_at) < ?1",
            [cutoff],
        )?;
        tx.execute(
            "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.story_id = stories.id)",
            [],
        )?;
        tx.execute(
            "DELETE FROM pruned_items WHERE pruned_at < ?1",
            [tombstone_cutoff],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Number of stored items.
    pub fn item_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))?)
    }

    /// Number of stored stories.
    pub fn story_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM stories", [], |r| r.get(0))?)
    }

    /// Runs `PRAGMA integrity_check`; true when the file is sound.
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(res == "ok")
    }
}

const SOURCE_COLUMNS: &str =
    "id, url, kind, name, active, feed_title, etag, last_modified, body_hash,
    last_fetch_at, last_success_at, last_status, last_error, error_count, next_fetch_at, gone,
    ttl_seconds";

fn source_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceRecord> {
    Ok(SourceRecord {
        id: r.get(0)?,
        url: r.get(1)?,
        kind: r.get(2)?,
        name: r.get(3)?,
        active: r.get(4)?,
        feed_title: r.get(5)?,
        etag: r.get(6)?,
        last_modified: r.get(7)?,
        body_hash: r.get(8)?,
        last_fetch_at: r.get(9)?,
        last_success_at: r.get(10)?,
        last_status: r.get(11)?,
        last_error: r.get(12)?,
        error_count: r.get(13)?,
        next_fetch_at: r.get(14)?,
        gone: r.get(15)?,
        ttl_seconds: r.get(16)?,
    })
}

/// The key that identifies an item within its source: the GUID, else the link,
/// else a hash of title and date. `None` when the item has none of these.
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

/// What counts as a real change of an item. Dates are left out: many feeds stamp
/// every item with the time of the request, which would rewrite the feed forever.
fn content_hash(item: &RawItem) -> String {
    let basis = serde_json::json!([
        item.title,
        item.link,
        item.summary,
        item.content,
        item.author,
        item.categories,
        item.enclosures,
    ]);
    sha256_hex(basis.to_string().as_bytes())
}

/// A story id that stays the same for the life of the story, whoever joins it.
fn story_guid(source_url: &str, key: &str) -> String {
    let hash = sha256_hex(format!("{source_url}\n{key}").as_bytes());
    format!("feedsieve:story:{}", &hash[..32])
}

/// The plain text dedup compares: the content, else the summary.
pub(crate) fn body_text(content: Option<String>, summary: Option<String>) -> String {
    content
        .filter(|c| !c.trim().is_empty())
        .or(summary)
        .map(|h| crate::sanitize::plain_text(&h))
        .unwrap_or_default()
}

/// Picks and records the representative item of a story.
/// Moves every item of story `absorbed` into `survivor` and drops the empty
/// story: the survivor (the older story) keeps its GUID and is updated, so a
/// reader sees the story once, now crediting both stories' outlets.
fn merge_stories(
    tx: &Transaction<'_>,
    merge: dedup::Merge,
    now: i64,
    prefer: &[String],
) -> Result<(), StoreError> {
    let (absorbed, survivor) = (merge.absorbed, merge.survivor);
    if absorbed == survivor {
        return Ok(());
    }
    // The item that opened the absorbed story now says how it joined.
    tx.execute(
        "UPDATE items SET dedup_layer = 'merge', dedup_score = ?2
         WHERE story_id = ?1 AND dedup_layer = 'new'",
        params![absorbed, merge.score],
    )?;
    tx.execute(
        "UPDATE items SET story_id = ?2 WHERE story_id = ?1",
        params![absorbed, survivor],
    )?;
    // The merged entry sorts by the earlier of the two dates.
    tx.execute(
        "UPDATE stories SET updated_at = ?3,
            sort_at = MIN(sort_at, COALESCE((SELECT sort_at FROM stories WHERE id = ?1), sort_at))
         WHERE id = ?2",
        params![absorbed, survivor, now],
    )?;
    tx.execute("DELETE FROM stories WHERE id = ?1", [absorbed])?;
    update_representative(tx, survivor, prefer)?;
    tracing::info!(absorbed, survivor, "stories merged");
    Ok(())
}

fn update_representative(
    tx: &Transaction<'_>,
    story_id: i64,
    prefer: &[String],
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.id, s.name, i.summary, i.content, COALESCE(i.published_at, i.first_seen_at)
         FROM items i JOIN sources s ON s.id = i.source_id WHERE i.story_id = ?1 ORDER BY i.id",
    )?;
    let rows: Vec<(i64, String, usize, i64)> = stmt
        .query_map([story_id], |r| {
            let text = body_text(r.get(3)?, r.get(2)?);
            Ok((
                r.get(0)?,
                r.get(1)?,
                text.split_whitespace().count(),
                r.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let candidates: Vec<dedup::Candidate<'_>> = rows
        .iter()
        .map(|(_, source, words, time)| dedup::Candidate {
            source,
            words: *words,
            time: *time,
        })
        .collect();
    if let Some(i) = dedup::representative(&candidates, prefer) {
        tx.execute(
            "UPDATE stories SET representative_id = ?2 WHERE id = ?1",
            params![story_id, rows[i].0],
        )?;
    }
    Ok(())
}

fn ingest_items(
    tx: &Transaction<'_>,
    source_id: i64,
    source_url: &str,
    items: &[RawItem],
    admitted: &[bool],
    now: i64,
    mut dedup: Option<&mut Engine>,
) -> Result<IngestStats, StoreError> {
    let source_name: String =
        tx.query_row("SELECT name FROM sources WHERE id = ?1", [source_id], |r| {
            r.get(0)
        })?;
    let mut story_exists = tx.prepare_cached("SELECT 1 FROM stories WHERE id = ?1")?;
    let mut stats = IngestStats::default();
    let mut seen = std::collections::HashSet::new();
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
        let date = item.date().map(|d| d.timestamp());
        if pruned.exists(params![source_id, key])? {
            stats.skipped += 1;
            continue;
        }
        let hash = content_hash(item);
        let existing: Option<(i64, String, i64, bool)> = find
            .query_row(params![source_id, key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let categories = serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into());
        let enclosures = serde_json::to_string(&item.enclosures).unwrap_or_else(|_| "[]".into());
        match existing {
            Some((_, old_hash, _, was_filtered))
                if old_hash == hash && was_filtered == filtered => {}
            Some((item_id, old_hash, story_id, _)) if old_hash == hash => {
                // Same content, but the filters changed their verdict.
                tx.execute(
                    "UPDATE items SET filtered = ?2 WHERE id = ?1",
                    params![item_id, filtered],
                )?;
                tx.execute(
                    "UPDATE stories SET updated_at = ?2 WHERE id = ?1",
                    params![story_id, now],
                )?;
                stats.updated += 1;
            }
            Some((item_id, _, story_id, _)) => {
                tx.execute(
                    "UPDATE items SET guid = ?2, link = ?3, title = ?4, summary = ?5, content = ?6,
                        author = ?7, published_at = ?8, updated_at = ?9, categories = ?10,
                        enclosures = ?11, content_hash = ?12, changed_at = ?13, filtered = ?14
                     WHERE id = ?1",
                    params![
                        item_id,
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
                tx.execute(
                    "UPDATE stories SET updated_at = ?2 WHERE id = ?1",
                    params![story_id, now],
                )?;
                stats.updated += 1;
            }
            None => {
                // A date in the future (bad clocks, time zones) would pin the story
                // to the top of the feed: sort such items by when they were seen.
                let sort_at = match date {
                    Some(d) if d <= now + 3600 => d,
                    _ => now,
                };
                let article = Article {
                    id: String::new(),
                    source: source_name.clone(),
                    url: item.link.clone().unwrap_or_default(),
                    published: Some(sort_at),
                    title: item.title.clone().unwrap_or_default(),
                    text: body_text(item.content.clone(), item.summary.clone()),
                };
                let decision = dedup.as_deref_mut().map(|engine| {
                    let prepared = engine.prepare(&article);
                    let evidence = engine.decide(&prepared);
                    (prepared, evidence)
                });
                // The engine may remember a story that a failed transaction or
                // retention removed: join only stories that exist.
                let joined = match decision.as_ref().and_then(|(_, ev)| ev.story) {
                    Some(id) if story_exists.exists([id])? => Some(id),
                    _ => None,
                };
                let story_id = match joined {
                    Some(id) => {
                        // Gaining coverage updates the story; its GUID and place stay.
                        tx.execute(
                            "UPDATE stories SET updated_at = ?2 WHERE id = ?1",
                            params![id, now],
                        )?;
                        id
                    }
                    None => {
                        // Never an id given out before (see migration 5).
                        let id: i64 = tx.query_row(
                            "UPDATE story_ids SET last = MAX(last, (SELECT COALESCE(MAX(id), 0) FROM stories)) + 1
                             RETURNING last",
                            [],
                            |r| r.get(0),
                        )?;
                        tx.execute(
                            "INSERT INTO stories (id, guid, created_at, updated_at, sort_at) VALUES (?1, ?2, ?3, ?3, ?4)",
                            params![id, story_guid(source_url, &key), now, sort_at],
                        )?;
                        id
                    }
                };
                tx.execute(
                    "INSERT INTO items (source_id, item_key, guid, link, title, summary, content, author,
                        published_at, updated_at, categories, enclosures, content_hash,
                        first_seen_at, changed_at, story_id, filtered)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15, ?16)",
                    params![
                        source_id,
                        key,
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
                        filtered
                    ],
                )?;
                let item_id = tx.last_insert_rowid();
                if let Some((prepared, evidence)) = decision {
                    let layer = if joined.is_some() {
                        evidence.layer
                    } else {
                        Layer::New
                    };
                    tx.execute(
                        "UPDATE items SET canonical_url = ?2, dedup_layer = ?3, dedup_score = ?4,
                            dedup_match = ?5 WHERE id = ?1",
                        params![
                            item_id,
                            dedup::url::canonical_url(&article.url),
                            layer.as_str(),
                            evidence.score,
                            evidence
                                .matched
                                .as_deref()
                                .and_then(|m| m.parse::<i64>().ok())
                        ],
                    )?;
                    if let Some(engine) = dedup.as_deref_mut() {
                        let prefer = engine.config().prefer.clone();
                        if joined.is_some() {
                            update_representative(tx, story_id, &prefer)?;
                        }
                        engine.admit(prepared.with_id(item_id.to_string()), story_id);
                        if let Some(merge) = engine.merge_similar(story_id) {
                            merge_stories(tx, merge, now, &prefer)?;
                        }
                    }
                }
                stats.new += 1;
            }
        }
    }
    Ok(stats)
}

/// The store shared by the async side: one connection behind a mutex, used from
/// blocking threads.
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    /// Wraps an open store.
    pub fn new(store: Store) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Runs `f` with the store on a blocking thread.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` with the store on the current thread (for sync callers).
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use url::Url;

    fn source(url: &str) -> SourceConfig {
        SourceConfig {
            kind: SourceKind::Feed,
            name: "Outlet".into(),
            url: Url::parse(url).unwrap(),
            interval: None,
            full_text: false,
            category: None,
            filters: Default::default(),
            links: None,
            max_new: 20,
            content: None,
            remove: Vec::new(),
        }
    }

    fn item(guid: &str, title: &str) -> RawItem {
        RawItem {
            guid: Some(guid.into()),
            title: Some(title.into()),
            link: Some(format!("http://x.test/{guid}")),
            ..Default::default()
        }
    }

    fn parsed(items: Vec<RawItem>) -> FetchRecord {
        FetchRecord::Parsed {
            etag: None,
            last_modified: None,
            body_hash: "h".into(),
            feed_title: None,
            feed_link: None,
            ttl_seconds: None,
            items,
            admitted: Vec::new(),
        }
    }

    #[test]
    fn refetched_items_update_in_place_and_never_duplicate() {
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let first = s
            .record_fetch(
                id,
                &parsed(vec![item("a", "A"), item("b", "B"), item("a", "A again")]),
                100,
                200,
            )
            .unwrap();
        assert_eq!(
            first,
            IngestStats {
                new: 2,
                updated: 0,
                skipped: 1
            }
        );
        let same = s
            .record_fetch(id, &parsed(vec![item("a", "A"), item("b", "B")]), 300, 400)
            .unwrap();
        assert_eq!(same, IngestStats::default());
        let changed = s
            .record_fetch(id, &parsed(vec![item("a", "A, corrected")]), 500, 600)
            .unwrap();
        assert_eq!(changed.updated, 1);
        assert_eq!(s.item_count().unwrap(), 2);
        assert_eq!(s.story_count().unwrap(), 2);
    }

    #[test]
    fn items_without_guid_are_keyed_by_link_then_title_and_date() {
        let mut no_guid = item("x", "T");
        no_guid.guid = None;
        assert_eq!(item_key(&no_guid).as_deref(), Some("link:http://x.test/x"));
        let tracked = RawItem {
            link: Some("http://x.test/x?utm_source=rss".into()),
            ..RawItem::default()
        };
        assert_eq!(item_key(&tracked), item_key(&no_guid));
        no_guid.link = None;
        assert!(item_key(&no_guid).unwrap().starts_with("hash:"));
        assert_eq!(item_key(&RawItem::default()), None);
    }

    #[test]
    fn pruned_items_do_not_come_back() {
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        s.record_fetch(id, &parsed(vec![item("old", "Old")]), 1_000, 0)
            .unwrap();
        assert_eq!(s.prune(2_000, 3_000, 0).unwrap(), 1);
        assert_eq!(s.story_count().unwrap(), 0);
        let again = s
            .record_fetch(id, &parsed(vec![item("old", "Old")]), 4_000, 0)
            .unwrap();
        assert_eq!(again.new, 0);
        assert_eq!(s.item_count().unwrap(), 0);
    }

    #[test]
    fn failures_count_up_and_success_resets() {
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let fail = FetchRecord::Failed {
            error: "HTTP 500".into(),
            gone: false,
        };
        s.record_fetch(id, &fail, 10, 70).unwrap();
        s.record_fetch(id, &fail, 80, 200).unwrap();
        let rec = s.sources().unwrap().remove(0);
        assert_eq!((rec.error_count, rec.next_fetch_at), (2, 200));
        assert_eq!(rec.last_error.as_deref(), Some("HTTP 500"));
        s.record_fetch(id, &parsed(vec![]), 300, 400).unwrap();
        let rec = s.sources().unwrap().remove(0);
        assert_eq!((rec.error_count, rec.last_error), (0, None));
    }

    #[test]
    fn filtered_items_are_stored_but_not_published() {
        let mut s = Store::open_in_memory().unwrap();
        let mut src = source("http://x.test/feed");
        src.category = Some("World".into());
        s.sync_sources(&[src]).unwrap();
        let id = s.sources().unwrap()[0].id;
        let record = FetchRecord::Parsed {
            etag: None,
            last_modified: None,
            body_hash: "h".into(),
            feed_title: None,
            feed_link: None,
            ttl_seconds: None,
            items: vec![item("a", "Kept"), item("b", "Dropped")],
            admitted: vec![true, false],
        };
        let stats = s.record_fetch(id, &record, 100, 200).unwrap();
        assert_eq!(stats.new, 2);
        assert_eq!(s.item_count().unwrap(), 2, "a filtered item is remembered");
        let stories = s.latest_stories(10).unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].items[0].title.as_deref(), Some("Kept"));
        assert_eq!(stories[0].items[0].categories, vec!["World".to_string()]);
    }

    #[test]
    fn removed_sources_are_deactivated_not_deleted() {
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/a"), source("http://x.test/b")])
            .unwrap();
        s.sync_sources(&[source("http://x.test/b")]).unwrap();
        let active: Vec<String> = s.sources().unwrap().into_iter().map(|r| r.url).collect();
        assert_eq!(active, vec!["http://x.test/b".to_string()]);
        assert!(s.source_by_url("http://x.test/a").unwrap().is_some());
    }

    #[test]
    fn site_templates_are_learnt_per_host_after_repeats() {
        let mut s = Store::open_in_memory().unwrap();
        for page in 0..3 {
            s.learn_site_template("a.test", &[7, u64::MAX, 100 + page], 1000)
                .unwrap();
        }
        s.learn_site_template("b.test", &[9], 1000).unwrap();
        let known = s.site_template("a.test", 3).unwrap();
        assert_eq!(known, std::collections::HashSet::from([7, u64::MAX]));
        assert!(s.site_template("b.test", 3).unwrap().is_empty());
        // Rare blocks are forgotten after a month; repeated ones stay.
        s.learn_site_template("a.test", &[], 1000 + 31 * 86400)
            .unwrap();
        assert_eq!(s.site_template("a.test", 1).unwrap().len(), 2);
    }

    #[test]
    fn a_lone_report_moves_into_the_story_that_grew_toward_it_under_its_guid() {
        use crate::dedup::tests::{FLOOD_BOTH, FLOOD_DRESDEN, FLOOD_PIRNA};
        let config = DedupConfig::default();
        let mut s = Store::open_in_memory().unwrap();
        s.sync_sources(&[source("http://x.test/feed")]).unwrap();
        let id = s.sources().unwrap()[0].id;
        s.enable_dedup(config.clone(), 100).unwrap();
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
            s.record_fetch(id, &parsed(vec![r]), at, at + 100).unwrap();
        }
        assert_eq!(s.story_count().unwrap(), 2);
        let story_of = |s: &Store, item: i64| s.dedup_item(item).unwrap().unwrap().story_id;
        let pirna = story_of(&s, 2);
        let guid = s
            .latest_stories(10)
            .unwrap()
            .into_iter()
            .find(|st| st.items.iter().any(|i| i.id == 2))
            .unwrap()
            .guid;
        s.record_fetch(
            id,
            &parsed(vec![report(
                "c",
                "Elbe flood: Dresden and Pirna",
                FLOOD_BOTH,
            )]),
            220,
            300,
        )
        .unwrap();
        let stories = s.latest_stories(10).unwrap();
        assert_eq!(stories.len(), 1, "{stories:?}");
        assert_eq!(stories[0].guid, guid, "the grown story keeps its GUID");
        assert_eq!(stories[0].items.len(), 3);
        assert_eq!(story_of(&s, 1), pirna);
        let moved = s.dedup_item(1).unwrap().unwrap();
        assert_eq!(moved.layer.as_deref(), Some("merge"));
        assert!(s.integrity_ok().unwrap());

        // After a restart the window holds the one story.
        s.enable_dedup(config, 300).unwrap();
        s.record_fetch(
            id,
            &parsed(vec![report(
                "d",
                "Dresden flood: the old town",
                FLOOD_DRESDEN,
            )]),
            320,
            400,
        )
        .unwrap();
        assert_eq!(story_of(&s, 4), pirna);
        assert_eq!(s.story_count().unwrap(), 1);
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
        s.enable_dedup(config.clone(), 100).unwrap();
        s.record_fetch(
            id,
            &parsed(vec![item(
                "a",
                "Apple unveils iPhone 6 with a bigger screen",
            )]),
            100,
            200,
        )
        .unwrap();
        let guid = s.latest_stories(10).unwrap()[0].guid.clone();
        s.record_fetch(
            id,
            &parsed(vec![item(
                "b",
                "Apple's bigger iPhone 6 screen revealed at launch event",
            )]),
            160,
            200,
        )
        .unwrap();
        let stories = s.latest_stories(10).unwrap();
        assert_eq!(stories.len(), 1, "{stories:?}");
        assert_eq!(stories[0].guid, guid, "the older story keeps its GUID");
        assert_eq!(stories[0].items.len(), 2);
        assert_eq!(s.story_count().unwrap(), 1, "the absorbed story is gone");
        let moved = s.dedup_item(2).unwrap().unwrap();
        assert_eq!(moved.layer.as_deref(), Some("merge"));
        assert!(s.integrity_ok().unwrap());

        // The absorbed story was the newest: its id is not handed out again, so
        // the next story is not mistaken for the merged one.
        s.record_fetch(
            id,
            &parsed(vec![item("c", "Heavy snow closes the pass to Bergen")]),
            300,
            400,
        )
        .unwrap();
        let snow = s.dedup_item(3).unwrap().unwrap();
        assert_eq!(snow.story_id, 3, "story 2 was merged away");
        s.record_fetch(
            id,
            &parsed(vec![item(
                "d",
                "Snow closes the Bergen pass for a second day",
            )]),
            360,
            400,
        )
        .unwrap();
        let story_of = |s: &Store, item: i64| s.dedup_item(item).unwrap().unwrap().story_id;
        assert_eq!(story_of(&s, 4), story_of(&s, 3));
        assert_ne!(story_of(&s, 4), story_of(&s, 1));

        // A restart restores the merged story: nothing splits again.
        s.enable_dedup(config, 400).unwrap();
        s.record_fetch(
            id,
            &parsed(vec![item(
                "e",
                "Apple shares rise after the iPhone 6 event",
            )]),
            400,
            500,
        )
        .unwrap();
        let stories = s.latest_stories(10).unwrap();
        let merged = stories.iter().find(|st| st.guid == guid).unwrap();
        assert!(merged.items.len() >= 2, "{stories:?}");
        assert_eq!(story_of(&s, 2), story_of(&s, 1));
    }
}
