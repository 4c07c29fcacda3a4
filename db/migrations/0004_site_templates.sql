-- feedsieve schema, version 2: article extraction.
-- Self-contained so it can be renumbered when merged with other migrations.

-- Blocks seen on pages of a host (fingerprint = FNV-1a of the block's normalised
-- text). A block that shows up on several pages of one host is site chrome.
CREATE TABLE site_templates (
    host        TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,             -- u64 stored as its i64 bit pattern
    pages       INTEGER NOT NULL DEFAULT 1,   -- distinct pages it was seen on
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (host, fingerprint)
) WITHOUT ROWID;
CREATE INDEX site_templates_seen ON site_templates(last_seen);

-- Items whose content is the extracted article page (full text), not the feed's teaser;
-- they are not downloaded again on later fetches.
ALTER TABLE items ADD COLUMN full_text INTEGER NOT NULL DEFAULT 0;
