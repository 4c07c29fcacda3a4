-- feedsieve schema, version 6: ids readers can rely on, and each entry's own `updated`.
-- Self-contained: only adds a table and columns, so it applies on top of any version-5 file.

-- Settings fixed once and kept with the database. The published ids are tag URIs
-- (RFC 4151) made of 'tag_authority' and 'tag_date', written by the first publish
-- (from the host of [output] link and that day), so changing [output] link later
-- never changes an id.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- When the story was first in a published document (NULL: never yet). A member
-- that joins a story nobody has seen yet changes nothing a reader saw.
ALTER TABLE stories ADD COLUMN published_at INTEGER;
-- The last time a member joined, a member changed or the story absorbed another
-- after it was first published (NULL: never). An entry's `updated` is the later
-- of this and its representative's own date.
ALTER TABLE stories ADD COLUMN changed_at INTEGER;
-- Stories stored before this version have been published already.
UPDATE stories SET published_at = created_at;
