-- feedsieve schema, version 7: each deduplicated item's length in words.
-- A story's representative is its most complete text; choosing it read every
-- member's HTML and turned it into text on every join, which made a story of
-- thousands of near-identical items cost seconds per new member. The dedup
-- step now records the length once, when it decides; rows from before stay
-- NULL and are measured from their text as before.
-- An item whose content changes gets NULL again, and so do the members of a
-- story that retention thins out (its longest member may be gone). With every length known, a
-- join only compares the representative, the longest member and the newcomer
-- (the index finds the longest), so a join costs the same in a story of three
-- members or of thousands.
ALTER TABLE items ADD COLUMN body_words INTEGER;
CREATE INDEX items_story_words ON items(story_id, body_words);
