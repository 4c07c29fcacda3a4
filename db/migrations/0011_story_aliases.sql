-- feedsieve schema, version 11: where a merged story went.
-- A story absorbed by another (a merge, or emptied by refinement) is deleted, but
-- feed readers keep its entry, whose "Compare coverage" link names its page. Its
-- GUID is kept here with the story that took its members, so that page redirects
-- to the one that tells the story now. Self-contained: only adds a table.
CREATE TABLE story_aliases (
    guid      TEXT PRIMARY KEY,            -- the absorbed story's GUID
    story_id  INTEGER NOT NULL,            -- the story that took it over (follows later merges)
    merged_at INTEGER NOT NULL
);
CREATE INDEX story_aliases_story ON story_aliases(story_id);
