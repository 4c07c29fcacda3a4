-- feedsieve schema, version 5: story ids are never reused.
-- SQLite gives a new row the largest id + 1, so deleting the newest story (a merge
-- moves its items into an older story) would hand its id to the next story, and
-- anything still naming the old id (the dedup engine's merge aliases) would
-- mean the wrong story. New stories take their id from here instead.
CREATE TABLE story_ids (
    last INTEGER NOT NULL                  -- the largest story id ever given out
);
INSERT INTO story_ids (last) SELECT COALESCE(MAX(id), 0) FROM stories;

-- items.dedup_layer gains the value 'merge': the item that opened a story which
-- was later merged into an older one (dedup_score = the two stories' cosine).
