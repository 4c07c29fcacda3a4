-- feedsieve schema, version 13: where the article of a story a revision emptied went.
-- A story emptied because its article's text changed (a live blog that went back to
-- the story it had left) keeps its GUID too, so readers' entries lead somewhere: its
-- page says the article changed and links the story that article is in now, found
-- through the article (it may move on again), instead of redirecting as a merged
-- story's page does. NULL: a merged story's alias (story_id is its heir).
ALTER TABLE story_aliases ADD COLUMN item_id INTEGER;
