-- feedsieve schema, version 14: the aliases that follow an article, found by it.
-- Every publish asks, for each published story, which aliases lead to it: those of
-- merged stories by story_id, those that follow a changed article by the story its
-- item is in. Without an index on item_id the second read the whole table each time
-- (1.6 s a publish for 200 stories beside 150,000 aliases).
CREATE INDEX story_aliases_item ON story_aliases(item_id);
