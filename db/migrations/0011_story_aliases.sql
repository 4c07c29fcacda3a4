-- feedsieve schema, version 11: where a merged story went; items by change time;
-- how a source's articles were extracted.
-- A story absorbed by another (a merge, or emptied by refinement) is deleted, but
-- feed readers keep its entry, whose "Compare coverage" link names its page. Its
-- GUID is kept here with the story that took its members, so that page redirects
-- to the one that tells the story now.
CREATE TABLE story_aliases (
    guid      TEXT PRIMARY KEY,            -- the absorbed story's GUID
    story_id  INTEGER NOT NULL,            -- the story that took it over (follows later merges)
    merged_at INTEGER NOT NULL
);
CREATE INDEX story_aliases_story ON story_aliases(story_id);

-- Items whose text changed since dedup last looked are read by change time:
-- their features in the story dedup window are replaced, and their stories
-- refined again (a live blog that moved on to another event leaves its story).
CREATE INDEX items_changed ON items(changed_at);

-- A hash of how a source's articles are extracted (full_text, content, remove):
-- when it changes, its stored articles are marked items.full_text = 2 (extracted
-- with earlier rules) and their pages are read again, so a `remove` rule added
-- after tuning with `feedsieve clean` reaches the articles already stored.
ALTER TABLE sources ADD COLUMN extraction TEXT;
