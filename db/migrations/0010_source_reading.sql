-- A hash of the settings that decide what is stored from a source's fetch (its
-- filters and the global ones, full_text, content/remove, links): a process
-- that finds it changed reads the source again in full, so an edit made between
-- two `feedsieve fetch` runs applies at the next one, not only in a running daemon.
ALTER TABLE sources ADD COLUMN reading TEXT;
