-- feedsieve schema, version 8: moves made by story refinement.
-- After each cycle the stories that changed are clustered again, independently of
-- the order their articles arrived in; an item that the refinement moves to
-- another story is recorded here with its evidence (its best similarity in the
-- new story and that member), so `feedsieve stories` and `explain` can say why.
-- The item's own dedup_layer becomes 'refined'. Self-contained: only adds a table.
CREATE TABLE story_moves (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    from_story  INTEGER NOT NULL,
    to_story    INTEGER NOT NULL,
    layer       TEXT NOT NULL,               -- 'refined'
    score       REAL,
    matched     INTEGER,
    moved_at    INTEGER NOT NULL
);
CREATE INDEX story_moves_item ON story_moves(item_id);
