//! Site templates: block fingerprints seen on several pages of a host, which the
//! extractor treats as that site's chrome.

use std::collections::HashSet;

use rusqlite::params;

use super::{Store, StoreError};

impl Store {
    /// Fingerprints seen on at least `min_pages` pages of `host`: its template (chrome).
    pub fn site_template(&self, host: &str, min_pages: i64) -> Result<HashSet<u64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT fingerprint FROM site_templates WHERE host = ?1 AND pages >= ?2",
        )?;
        let rows = stmt.query_map(params![host, min_pages], |r| r.get::<_, i64>(0))?;
        // The u64 fingerprint is stored as its i64 bit pattern.
        Ok(rows
            .map(|r| r.map(|v| v as u64))
            .collect::<Result<_, _>>()?)
    }

    /// Records the block fingerprints of one page of `host`; old, rare ones are
    /// forgotten so the table stays small.
    pub fn learn_site_template(
        &mut self,
        host: &str,
        fingerprints: &[u64],
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO site_templates (host, fingerprint, pages, last_seen) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (host, fingerprint) DO UPDATE SET pages = pages + 1, last_seen = ?3",
            )?;
            for f in fingerprints {
                stmt.execute(params![host, *f as i64, now])?;
            }
            tx.execute(
                "DELETE FROM site_templates WHERE host = ?1 AND pages < 2 AND last_seen < ?2",
                params![host, now - 30 * 86400],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
