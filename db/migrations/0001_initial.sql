-- feedsieve schema, version 1.
-- Times are Unix seconds (UTC). Applied once; the version lives in PRAGMA user_version.

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL UNIQUE,      -- the configured URL; identity of a source
    kind            TEXT NOT NULL,             -- 'feed' or 'page'
    name            TEXT NOT NULL,             -- outlet name used for attribution
    active          INTEGER NOT NULL DEFAULT 1,-- 0 when removed from feeds.toml (rows are kept)
    feed_title      TEXT,
    feed_link       TEXT,
    etag            TEXT,
    last_modified   TEXT,
    body_hash       TEXT,                      -- sha256 of the last parsed body
    ttl_seconds     INTEGER,                   -- the feed's <ttl>, kept for 304 answers
    last_fetch_at   INTEGER,
    last_success_at INTEGER,
    last_status     TEXT,                      -- 'ok', 'not-modified', 'unchanged' or 'error'
    last_error      TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,-- consecutive failures; drives the backoff
    next_fetch_at   INTEGER NOT NULL DEFAULT 0,
    gone            INTEGER NOT NULL DEFAULT 0 -- 1 after HTTP 410: never fetched again
);

-- A story is what gets published. Several items (one per outlet) may share one.
CREATE TABLE stories (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,          -- stable id in the published feed
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    sort_at     INTEGER NOT NULL               -- the representative's date, for ordering
);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    item_key      TEXT NOT NULL,               -- guid, else link, else hash of title + date
    guid          TEXT,
    link          TEXT,
    title         TEXT,
    summary       TEXT,
    content       TEXT,
    author        TEXT,
    published_at  INTEGER,                     -- the item's date: published, else updated
    updated_at    INTEGER,
    categories    TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    enclosures    TEXT NOT NULL DEFAULT '[]',  -- JSON array of {url, mime_type, length}
    content_hash  TEXT NOT NULL,               -- detects real changes on re-fetch
    first_seen_at INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL,
    story_id      INTEGER NOT NULL REFERENCES stories(id),
    UNIQUE (source_id, item_key)
);
CREATE INDEX items_story ON items(story_id);
CREATE INDEX items_first_seen ON items(first_seen_at);
CREATE INDEX stories_sort ON stories(sort_at DESC);

-- Keys of pruned items, so a feed that still lists an old item does not bring it back.
CREATE TABLE pruned_items (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    item_key  TEXT NOT NULL,
    pruned_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, item_key)
) WITHOUT ROWID;
