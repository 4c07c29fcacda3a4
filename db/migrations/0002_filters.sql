-- Version 2: per-source categories and filtered items.
ALTER TABLE sources ADD COLUMN category TEXT;            -- added to every published item of the source
ALTER TABLE items ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0; -- 1: stored but not published (include/exclude)
