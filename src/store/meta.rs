//! Settings kept with the database (table `meta`): some fixed once (the first
//! value written for a key stays, whatever later callers propose), others
//! overwritten (what the last publish showed).

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

impl Store {
    /// The stored value of each key, storing the proposed value for keys that
    /// have none yet (all in one transaction, so two processes agree).
    pub fn settings_or_init(
        &mut self,
        proposed: &[(&str, &str)],
    ) -> Result<Vec<String>, StoreError> {
        // Read first: once set, the values come back without a write, also
        // from a database that cannot be written (a full disk, read-only).
        let stored: Result<Vec<String>, rusqlite::Error> = {
            let mut select = self
                .conn
                .prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
            proposed
                .iter()
                .map(|(key, _)| select.query_row([key], |r| r.get(0)))
                .collect()
        };
        if let Ok(values) = stored {
            return Ok(values);
        }
        let tx = self.conn.transaction()?;
        let mut values = Vec::with_capacity(proposed.len());
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)")?;
            let mut select = tx.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
            for (key, value) in proposed {
                insert.execute(params![key, value])?;
                values.push(select.query_row([key], |r| r.get(0))?);
            }
        }
        tx.commit()?;
        Ok(values)
    }

    /// The stored value of `key`, if any.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Stores `value` for `key`, replacing any value it had.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_are_read_without_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db.sqlite")).unwrap();
        s.settings_or_init(&[("a", "1")]).unwrap();
        // Writes now fail, as on a full disk or a read-only file.
        s.conn.pragma_update(None, "query_only", true).unwrap();
        assert_eq!(s.settings_or_init(&[("a", "9")]).unwrap(), ["1"]);
        assert!(s.settings_or_init(&[("new", "2")]).is_err());
    }

    #[test]
    fn the_first_value_stays() {
        let mut s = Store::open_in_memory().unwrap();
        let first = s.settings_or_init(&[("a", "1"), ("b", "2")]).unwrap();
        assert_eq!(first, ["1", "2"]);
        let later = s.settings_or_init(&[("b", "9"), ("c", "3")]).unwrap();
        assert_eq!(later, ["2", "3"]);
    }
}
