//! Sources and their fetch state: the configured list, validators, failure
//! counts and due times, and the record of each fetch.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};

use super::items::{ingest_items, IngestStats};
use super::stories::StoryDecider;
use super::{Store, StoreError};
use crate::read::RawItem;

/// A configured source, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The configured URL: the source's identity.
    pub url: String,
    /// "feed" or "page".
    pub kind: String,
    /// Outlet name.
    pub name: String,
    /// A hash of how its articles are extracted (`full_text`, `content`,
    /// `remove`): when it changes, stored articles are extracted again.
    pub extraction: String,
    /// The category every item of the source is filed under.
    pub category: Option<String>,
    /// A hash of the settings that decide what is stored from a fetch: when it
    /// differs from the stored one, the source is read again in full.
    pub reading: String,
    /// The fetch interval in force (seconds): a shorter one than recorded
    /// brings the next fetch forward.
    pub interval_secs: i64,
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
    /// 'ok', 'not-modified', 'unchanged', 'error', or 'no-links' for a page
    /// source whose page gave no article links.
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

impl SourceRecord {
    /// Waits out a backoff after failing (its own, or a server's `Retry-After`) at `now`.
    pub fn backing_off(&self, now: i64) -> bool {
        self.error_count > 0 && self.next_fetch_at > now
    }
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
        /// How many items (for a page: article links) the document gave:
        /// a page's `items` are then narrowed to its new articles.
        found: usize,
        /// Per item: passes the include/exclude filters (missing entries count as true).
        admitted: Vec<bool>,
        /// Per item: its content hash ([`content_hashes`](super::content_hashes)),
        /// worked out before the store's lock; missing entries are worked out in
        /// the write. Set it last: it must match the items as stored.
        hashes: Vec<String>,
    },
    /// The fetch or the parse failed.
    Failed {
        /// The message shown to the operator.
        error: String,
        /// HTTP 410: stop fetching.
        gone: bool,
    },
}

/// Due sources, and the next due time of the others.
pub type DueSources = (Vec<DueSource>, Option<i64>);

/// A source due for a fetch, with what orders it among the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSource {
    /// The source's row id.
    pub id: i64,
    /// When it was due (Unix seconds).
    pub next_fetch_at: i64,
    /// Its URL, whose host it shares fetch slots with.
    pub url: String,
    /// Whether its last fetch failed.
    pub failing: bool,
}

/// Makes a source due now with no validators and no failures, so its next
/// fetch reads it in full: for a source (re)added to the config.
const START_AFRESH: &str = "next_fetch_at = 0, etag = NULL, last_modified = NULL,
    body_hash = NULL, gone = 0, error_count = 0";

/// Forgets a source's validators, so its next fetch reads it in full, and makes
/// it due now unless it is backing off after failures (or answered 410 Gone):
/// for a source whose reading settings changed.
const READ_AGAIN: &str = "etag = NULL, last_modified = NULL, body_hash = NULL,
    next_fetch_at = CASE WHEN error_count = 0 THEN 0 ELSE next_fetch_at END";

/// Gives each configured source whose URL has no row of its own the row it
/// had before its URL changed (the site moved, `http` became `https`, a
/// slash was added), so that its items, their stories and its pruned keys
/// stay its own and nothing is stored or published twice. A row keeps its
/// URL while that URL is configured (a feed's items are its address's:
/// swapping two sources' names relabels them); a source takes the row of a
/// source configured until now with its name and kind whose URL is no
/// longer configured, else a row of its kind, whose URL is no longer
/// configured, with the same URL but for scheme, `www.`, fragment and
/// trailing slash. The row of a removed source at the new URL does not
/// stand in the way: it is retired (its items stay out of the feeds). A
/// moved row's validators and failures are the old URL's: they are dropped.
fn adopt_moved_sources(tx: &Connection, sources: &[SourceSpec]) -> Result<(), StoreError> {
    let rows = stored_rows(tx)?;
    let by_url: std::collections::HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.url.as_str(), i))
        .collect();
    let at = |url: &str| by_url.get(url).copied();
    let configured: HashSet<&str> = sources.iter().map(|s| s.url.as_str()).collect();
    let names: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    let moving_on = moving_on(&rows, sources, &by_url);
    let movable = |i: usize| !configured.contains(rows[i].url.as_str()) || moving_on.contains(&i);
    let loose: Vec<String> = rows.iter().map(|r| loose_url_key(&r.url)).collect();
    let mut taken: HashSet<usize> = HashSet::new();
    let mut moves: Vec<(&SourceSpec, usize, Option<usize>)> = Vec::new();
    // Sources whose row is found by URL or name first, whatever their order
    // in the file; a row by the loose match of its URL after (a new source at
    // a moved one's old address but for a slash takes not the moved one's row).
    let mut unmatched: Vec<&SourceSpec> = Vec::new();
    for s in sources {
        let exact = at(&s.url);
        let named = |taken: &HashSet<usize>| {
            (0..rows.len()).find(|&i| {
                let r = &rows[i];
                !taken.contains(&i)
                    && movable(i)
                    && r.active
                    && r.kind == s.kind
                    && r.name == s.name
            })
        };
        // The URL's row stays its own unless its source moves on (a chain)
        // or was removed, and this source has a row of its own to bring.
        let stays = |e: usize| {
            rows[e].active && !moving_on.contains(&e) && names.contains(rows[e].name.as_str())
        };
        let found = match exact {
            Some(e) if stays(e) || (rows[e].active && rows[e].name == s.name) => continue,
            Some(e) if rows[e].active && !moving_on.contains(&e) => match named(&taken) {
                Some(i) => Some(i),
                None => continue,
            },
            Some(e) if rows[e].active => match named(&taken) {
                Some(i) => Some(i),
                None => continue,
            },
            // A removed source's row at this URL comes back, unless a
            // source configured until now moves here.
            Some(_) => named(&taken),
            None => {
                let found = named(&taken);
                if found.is_none() {
                    unmatched.push(s);
                }
                found
            }
        };
        if let Some(i) = found {
            taken.insert(i);
            // The row left at the URL is retired, unless it moves on itself.
            moves.push((s, i, exact.filter(|e| !moving_on.contains(e))));
        }
    }
    for s in unmatched {
        let key = loose_url_key(&s.url);
        let found = (0..rows.len()).find(|&i| {
            !taken.contains(&i) && movable(i) && rows[i].kind == s.kind && loose[i] == key
        });
        if let Some(i) = found {
            taken.insert(i);
            moves.push((s, i, None));
        }
    }
    move_sources(tx, &rows, &moves)
}

/// The rows whose source moves on, by index (a chain: Alpha takes Beta's old
/// URL while Beta moves on): the source of that name is configured at a URL
/// with no active row, or with one that moves on itself (chains of any
/// length), and the source configured at the row's URL, if any, has a row of
/// its own to bring there (else the URL's row is renamed, as before).
fn moving_on(
    rows: &[Row],
    sources: &[SourceSpec],
    by_url: &std::collections::HashMap<&str, usize>,
) -> HashSet<usize> {
    // Looked up for every source at every sync (each start): by map, not by
    // a scan of every row per source.
    let mut active: std::collections::HashMap<(&str, &str), usize> = Default::default();
    for (i, r) in rows.iter().enumerate().filter(|(_, r)| r.active) {
        active
            .entry((r.name.as_str(), r.kind.as_str()))
            .or_insert(i);
    }
    let own_row = |name: &str, kind: &str| active.get(&(name, kind)).copied();
    let by_spec_url: std::collections::HashMap<&str, &SourceSpec> =
        sources.iter().map(|t| (t.url.as_str(), t)).collect();
    let at_url = |url: &str| by_spec_url.get(url).copied();
    let mut moving: HashSet<usize> = HashSet::new();
    loop {
        let before = moving.len();
        for t in sources {
            let Some(e) = own_row(&t.name, &t.kind).filter(|e| !moving.contains(e)) else {
                continue;
            };
            if rows[e].url == t.url {
                continue;
            }
            let target_free = by_url
                .get(t.url.as_str())
                .is_none_or(|&i| !rows[i].active || moving.contains(&i));
            // Who takes this row's URL must bring a row of its own.
            let heir_has_row = at_url(&rows[e].url)
                .is_none_or(|h| own_row(&h.name, &h.kind).is_some_and(|i| i != e));
            if target_free && heir_has_row {
                moving.insert(e);
            }
        }
        if moving.len() == before {
            return moving;
        }
    }
}

/// Gives each moved row (`moves`: a source, its row's index in `rows`, the
/// row of a removed source at its URL, to retire) its new URL, dropping
/// the old URL's validators and failures. Through a placeholder, so that
/// rows can pass URLs on.
fn move_sources(
    tx: &Connection,
    rows: &[Row],
    moves: &[(&SourceSpec, usize, Option<usize>)],
) -> Result<(), StoreError> {
    for &(_, i, retired) in moves {
        let r = &rows[i];
        super::exec(
            tx,
            "UPDATE sources SET url = ?2 WHERE id = ?1",
            params![r.id, format!("\u{1}moving {}", r.id)],
        )?;
        if let Some(old) = retired.map(|e| &rows[e]) {
            let mark = format!("\u{1}retired {} {}", old.id, old.url);
            super::exec(
                tx,
                "UPDATE sources SET url = ?2 WHERE id = ?1",
                params![old.id, mark],
            )?;
        }
    }
    for &(s, i, _) in moves {
        let r = &rows[i];
        super::exec(
            tx,
            "UPDATE sources SET url = ?2, etag = NULL, last_modified = NULL, body_hash = NULL,
                error_count = 0, last_error = NULL, next_fetch_at = 0, gone = 0
             WHERE id = ?1",
            params![r.id, s.url],
        )?;
        tracing::info!(
            source = %s.name,
            from = %r.url,
            to = %s.url,
            "source moved to a new URL: it keeps its items and stories"
        );
    }
    Ok(())
}

/// A stored source, as [`adopt_moved_sources`] looks at it.
struct Row {
    id: i64,
    url: String,
    name: String,
    kind: String,
    /// Configured until now.
    active: bool,
}

/// Every stored source, oldest first.
fn stored_rows(tx: &Connection) -> Result<Vec<Row>, StoreError> {
    let mut stmt = tx.prepare("SELECT id, url, name, kind, active FROM sources ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(Row {
            id: r.get(0)?,
            url: r.get(1)?,
            name: r.get(2)?,
            kind: r.get(3)?,
            active: r.get::<_, i64>(4)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A URL without what a move of the same feed often changes: the scheme, a
/// leading `www.`, the fragment and a trailing slash.
fn loose_url_key(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return url.to_string();
    };
    let host = u.host_str().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = u.path().trim_end_matches('/');
    let query = u.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{host}{port}{path}{query}")
}

impl Store {
    /// The URLs of the sources that have stored items.
    pub fn source_urls_with_items(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT url FROM sources s WHERE EXISTS (SELECT 1 FROM items WHERE source_id = s.id)",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes the source table match the config: new sources are added and due now,
    /// changed names are updated, sources no longer configured are deactivated
    /// (their items stay until retention prunes them, out of the published feeds),
    /// sources whose reading settings changed since they were last recorded
    /// are read in full at their next fetch, and a shorter interval brings it forward.
    /// (Whether the published files must change for it is the publisher's to
    /// tell, from the settings they were last published with.)
    pub fn sync_sources(&mut self, sources: &[SourceSpec]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        adopt_moved_sources(&tx, sources)?;
        tx.execute("UPDATE sources SET active = 0", [])?;
        // Three statements a source, each parsed once (`exec`): a start with
        // many sources pays for this before its first fetch.
        let read_again = format!(
            "UPDATE sources SET {READ_AGAIN}
             WHERE url = ?1 AND reading IS NOT NULL AND reading != ?2"
        );
        for s in sources {
            // Articles extracted with other rules are extracted again; kept
            // until then (a page that fails keeps its article). Walls counted
            // under the rules before count no more.
            super::exec(
                &tx,
                "UPDATE items SET full_text = ?3 WHERE full_text >= 1 AND source_id =
                    (SELECT id FROM sources WHERE url = ?1 AND extraction IS NOT NULL
                        AND extraction != ?2)",
                params![s.url, s.extraction, super::items::STALE_FULL_TEXT],
            )?;
            // A row from before readings were recorded (NULL) just takes one.
            super::exec(&tx, &read_again, params![s.url, s.reading])?;
            // Another interval: the next fetch no later than one new interval
            // after the last (a longer one applies from the next fetch on; a
            // failing source keeps its backoff; the feed's <ttl> still stands).
            super::exec(
                &tx,
                "UPDATE sources SET next_fetch_at = MIN(next_fetch_at,
                    COALESCE(last_fetch_at, 0) + MAX(?2, COALESCE(ttl_seconds, 0)))
                 WHERE url = ?1 AND error_count = 0 AND interval_secs IS NOT NULL
                    AND interval_secs != ?2",
                params![s.url, s.interval_secs],
            )?;
            super::exec(
                &tx,
                "INSERT INTO sources (url, kind, name, active, category, reading, interval_secs,
                    extraction)
                    VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7)
                 ON CONFLICT(url) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                    category = excluded.category, reading = excluded.reading,
                    interval_secs = excluded.interval_secs, extraction = excluded.extraction,
                    active = 1",
                params![
                    s.url,
                    s.kind,
                    s.name,
                    s.category,
                    s.reading,
                    s.interval_secs,
                    s.extraction
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether source `id` is still at `url` (it moves when its URL is edited).
    pub fn source_has_url(&self, id: i64, url: &str) -> Result<bool, StoreError> {
        let at: Option<String> = self
            .conn
            .query_row("SELECT url FROM sources WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        // A row that is gone stores nothing either way (see record_fetch).
        Ok(at.is_none_or(|at| at == url))
    }

    /// Active sources, in id order.
    pub fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE active = 1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The site link each feed gives itself (`<link>`), by source URL, for
    /// `htmlUrl` in exported OPML.
    pub fn site_links(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT url, feed_link FROM sources WHERE feed_link IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
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
                &format!("UPDATE sources SET {START_AFRESH} WHERE url = ?1"),
                [url],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Settles a source after a fetch that was made with `reading` settings
    /// and an interval of `interval_secs`, stored at `now`: when a reload
    /// recorded others while it ran, what it stored follows the old settings
    /// (the source is read again in full) and its next fetch the old interval
    /// (brought forward to the new one when that is shorter).
    pub fn settle_after_reload(
        &mut self,
        id: i64,
        reading: &str,
        interval_secs: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        // Run for every stored fetch: through the statement cache (`exec`).
        super::exec(
            &self.conn,
            &format!(
                "UPDATE sources SET {READ_AGAIN}
                 WHERE id = ?1 AND reading IS NOT NULL AND reading != ?2"
            ),
            params![id, reading],
        )?;
        super::exec(
            &self.conn,
            "UPDATE sources SET next_fetch_at = MIN(next_fetch_at,
                ?3 + MAX(interval_secs, COALESCE(ttl_seconds, 0)))
             WHERE id = ?1 AND error_count = 0 AND interval_secs IS NOT NULL
                AND interval_secs != ?2",
            params![id, interval_secs, now],
        )?;
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

    /// The active source with row id `id`, unless it answered 410 Gone.
    pub fn fetchable_source(&self, id: i64) -> Result<Option<SourceRecord>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {SOURCE_COLUMNS} FROM sources WHERE id = ?1 AND active = 1 AND gone = 0"
                ),
                [id],
                source_from_row,
            )
            .optional()?)
    }

    /// The sources due at `now`, oldest due first, and when the next of the
    /// others is due: what the scheduler asks each time it wakes, answered
    /// from an index, so its cost follows the due sources, not all.
    pub fn due_sources(&self, now: i64) -> Result<DueSources, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, next_fetch_at, url, error_count > 0 FROM sources
             WHERE active = 1 AND gone = 0 AND next_fetch_at <= ?1 ORDER BY next_fetch_at",
        )?;
        let due = stmt
            .query_map([now], |r| {
                Ok(DueSource {
                    id: r.get(0)?,
                    next_fetch_at: r.get(1)?,
                    url: r.get(2)?,
                    failing: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let next = self.conn.query_row(
            "SELECT MIN(next_fetch_at) FROM sources WHERE active = 1 AND gone = 0 AND next_fetch_at > ?1",
            [now],
            |r| r.get(0),
        )?;
        Ok((due, next))
    }

    /// Writes the result of one fetch: fetch state and items, in one transaction.
    /// New items join the stories `stories` decides, inside that transaction.
    /// `now` and `next_fetch_at` are Unix seconds.
    pub fn record_fetch(
        &mut self,
        source_id: i64,
        record: &FetchRecord,
        now: i64,
        next_fetch_at: i64,
        stories: &mut dyn StoryDecider,
    ) -> Result<IngestStats, StoreError> {
        // A savepoint: its own transaction, or a part of a batch's
        // ([`Store::write_together`]) that fails alone.
        let tx = self.conn.savepoint()?;
        let mut stats = IngestStats::default();
        match record {
            FetchRecord::Unchanged {
                not_modified,
                etag,
                last_modified,
            } => {
                let status = if *not_modified {
                    "not-modified"
                } else {
                    "unchanged"
                };
                // The same body again: a page that had no links still has none.
                tx.execute(
                    "UPDATE sources SET last_fetch_at = ?2, last_success_at = ?2,
                        last_status = CASE last_status WHEN 'no-links' THEN 'no-links' ELSE ?3 END,
                        last_error = NULL, error_count = 0, gone = 0, next_fetch_at = ?4,
                        etag = COALESCE(?5, etag), last_modified = COALESCE(?6, last_modified)
                     WHERE id = ?1",
                    params![source_id, now, status, next_fetch_at, etag, last_modified],
                )?;
            }
            FetchRecord::Parsed { .. } => {
                stats = record_parsed(&tx, source_id, record, now, next_fetch_at, stories)?;
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

/// Stores a parsed feed's items and its new fetch state.
fn record_parsed(
    tx: &Connection,
    source_id: i64,
    record: &FetchRecord,
    now: i64,
    next_fetch_at: i64,
    stories: &mut dyn StoryDecider,
) -> Result<IngestStats, StoreError> {
    let FetchRecord::Parsed {
        etag,
        last_modified,
        body_hash,
        feed_title,
        feed_link,
        ttl_seconds,
        items,
        found,
        admitted,
        hashes,
    } = record
    else {
        return Ok(IngestStats::default());
    };
    let (source_url, source_name): (String, String) = tx.query_row(
        "SELECT url, name FROM sources WHERE id = ?1",
        [source_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let stats = ingest_items(
        tx,
        source_id,
        (&source_url, &source_name),
        (items, admitted, hashes),
        now,
        stories,
    )?;
    tx.execute(
        "UPDATE sources SET last_fetch_at = ?2, last_success_at = ?2,
            last_status = CASE WHEN kind = 'page' AND ?10 = 0 THEN 'no-links' ELSE 'ok' END,
            last_error = NULL, error_count = 0, gone = 0, next_fetch_at = ?3,
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
            ttl_seconds,
            i64::try_from(*found).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(stats)
}
