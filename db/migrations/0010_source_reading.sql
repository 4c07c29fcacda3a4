-- A hash of the settings that decide what is stored from a source's fetch (its
-- filters and the global ones, full_text, content/remove, links): a process
-- that finds it changed reads the source again in full, so an edit made between
-- two `feedsieve fetch` runs applies at the next one, not only in a running daemon.
ALTER TABLE sources ADD COLUMN reading TEXT;
-- The source's fetch interval in force (seconds): a shorter one brings its next
-- fetch forward, also when it is recorded while a fetch made with the old one runs.
ALTER TABLE sources ADD COLUMN interval_secs INTEGER;
