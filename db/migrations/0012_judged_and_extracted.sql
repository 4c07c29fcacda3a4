-- feedsieve schema, version 12: the text story dedup last judged each item by;
-- a [[page]] source's articles marked as extracted.
-- An item whose title or text changes after it joined a story (a live blog that
-- moved on, a correction) is decided again by the process that holds the story
-- window. A change stored while no process held it (a cron `fetch` that found
-- nothing new, a daemon stopped before its next refinement) is found when the
-- window is next read back: the hash of the item's text differs from this one.
-- NULL: stored by an earlier build, or with dedup off (read as judged).
ALTER TABLE items ADD COLUMN judged_hash INTEGER;

-- A [[page]] source's articles are extracted from their pages too: marked as
-- such (items.full_text = 1), an edit of the source's `content` or `remove`
-- reaches them as it reaches a `full_text` feed's (marked 2, read again).
UPDATE items SET full_text = 1
 WHERE full_text = 0 AND content IS NOT NULL
   AND source_id IN (SELECT id FROM sources WHERE kind = 'page');
