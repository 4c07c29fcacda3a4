-- feedsieve schema, version 2: story dedup (merging the same story across outlets).
-- Self-contained: only adds columns and an index, so it applies on top of any version-1 file.

-- How each item found its story: the layer that decided ('url', 'near-copy',
-- 'similar', 'new', or 'source' for the same item re-fetched), its score, and the
-- stored item it matched (URL and near-copy layers). NULL for items stored before dedup.
ALTER TABLE items ADD COLUMN canonical_url TEXT;
ALTER TABLE items ADD COLUMN dedup_layer TEXT;
ALTER TABLE items ADD COLUMN dedup_score REAL;
ALTER TABLE items ADD COLUMN dedup_match INTEGER;

-- The item published as the story's entry (most complete text, then preferred
-- outlet, then earliest). NULL means the first stored item.
ALTER TABLE stories ADD COLUMN representative_id INTEGER;

CREATE INDEX items_canonical ON items(canonical_url);
