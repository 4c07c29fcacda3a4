-- feedsieve schema, version 11: where a merged story went; items by change time.
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
