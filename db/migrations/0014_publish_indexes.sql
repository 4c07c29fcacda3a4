-- feedsieve schema, version 14: two reads of each publish, through indexes.
-- The aliases that follow an article, found by it.
-- Every publish asks, for each published story, which aliases lead to it: those of
-- merged stories by story_id, those that follow a changed article by the story its
-- item is in. Without an index on item_id the second read the whole table each time
-- (1.6 s a publish for 200 stories beside 150,000 aliases).
CREATE INDEX story_aliases_item ON story_aliases(item_id);

-- Items whose headline or text changed while no process held the story window are
-- marked judged_hash = 0 (no text hashes to 0): the next publish finds them here,
-- reads the window back and judges them, without waiting for a new item.
CREATE INDEX items_unjudged ON items(judged_hash) WHERE judged_hash = 0;

-- An earlier build kept the hash an item was judged by even when it stored a change it
-- did not judge: such changes cannot be told apart from judged ones here. Those of the
-- last three days (the default story window) are marked, so that the first publish
-- judges them once (an item judged already is decided again as it was).
UPDATE items SET judged_hash = 0
 WHERE judged_hash IS NOT NULL AND changed_at > first_seen_at
   AND changed_at >= CAST(strftime('%s', 'now') AS INTEGER) - 3 * 86400;
