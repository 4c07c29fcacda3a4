//! The database file as the operating system sees it: which file it is (so a
//! daemon notices when it is deleted or replaced under it), and the lock that
//! keeps a second feedsieve process from writing to it at the same time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use super::StoreError;

/// Which file a path names: device and inode (on Unix), so a file deleted and
/// created anew under the same name is told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    /// The identity of the file at `path`, or None when there is none.
    pub fn of(path: &Path) -> Option<FileIdentity> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Some(FileIdentity {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Some(FileIdentity { dev: 0, ino: 0 })
        }
    }
}

/// The database file a store was opened on, to check later that it is still there.
#[derive(Debug, Clone)]
pub struct DbFile {
    path: PathBuf,
    identity: Option<FileIdentity>,
}

impl DbFile {
    /// Records the identity of the file at `path` now.
    pub fn new(path: &Path) -> DbFile {
        DbFile {
            path: path.to_path_buf(),
            identity: FileIdentity::of(path),
        }
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What happened to the file since it was opened, if anything: deleted, or
    /// replaced by another file. Writes would then go to a file nobody can open.
    pub fn problem(&self) -> Option<String> {
        let opened = self.identity?;
        match FileIdentity::of(&self.path) {
            None => Some(format!(
                "the database file {} was deleted while feedsieve was running",
                self.path.display()
            )),
            Some(now) if now != opened => Some(format!(
                "the database file {} was replaced by another file while feedsieve was running",
                self.path.display()
            )),
            Some(_) => None,
        }
    }
}

/// An exclusive lock on a database, held by the one process that may write to
/// it (the daemon, or a `fetch`) until it is dropped. The lock is SQLite's own
/// on a small file beside the database (`<database>.lock`), so it is released
/// by the operating system when the process ends, even by `kill -9`.
pub struct DbLock {
    _conn: Connection,
}

impl DbLock {
    /// Takes the lock for the database at `db`, or says who holds it.
    pub fn acquire(db: &Path) -> Result<DbLock, StoreError> {
        let path = lock_path(db);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::ZERO)?;
        // An exclusive transaction that is never committed: it holds the
        // file's lock for the connection's life and writes nothing (so it is
        // taken on a full disk too).
        match conn.execute_batch("BEGIN EXCLUSIVE") {
            Ok(()) => Ok(DbLock { _conn: conn }),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
            {
                Err(StoreError::InUse {
                    path: db.display().to_string(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A file beside the database at `db`: its path with `suffix` added.
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The lock file of the database at `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    beside(db, ".lock")
}

/// Removes SQLite's journal (`-wal`, `-shm`) beside the path of a database
/// that was lost (deleted or replaced) once its content is saved: they belong
/// to the lost file (the open connection keeps them open), and SQLite would
/// replay that journal over whatever file is put at the path next (a saved
/// copy, laid out anew, then reads as corrupt).
pub fn remove_lost_journal(db: &Path) {
    for suffix in ["-wal", "-shm"] {
        let name = beside(db, suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => tracing::info!("removed {}, the lost database's journal", name.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::error!(
                "could not remove {} ({e}): delete it before putting a database at {}",
                name.display(),
                db.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_database_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("feedsieve.sqlite");
        let first = DbLock::acquire(&db).unwrap();
        let second = DbLock::acquire(&db);
        assert!(
            matches!(&second, Err(StoreError::InUse { .. })),
            "{:?}",
            second.err()
        );
        drop(first);
        assert!(DbLock::acquire(&db).is_ok());
    }

    #[test]
    fn a_deleted_or_replaced_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("feedsieve.sqlite");
        std::fs::write(&db, b"one").unwrap();
        let file = DbFile::new(&db);
        assert_eq!(file.problem(), None);
        std::fs::remove_file(&db).unwrap();
        assert!(file.problem().unwrap().contains("was deleted"));
        // Another file under the same name (the old one kept open, as SQLite
        // would, so the new one cannot reuse its inode).
        std::fs::write(&db, b"one").unwrap();
        let kept = std::fs::File::open(&db).unwrap();
        let file = DbFile::new(&db);
        let tmp = dir.path().join("new");
        std::fs::write(&tmp, b"two").unwrap();
        std::fs::rename(&tmp, &db).unwrap();
        assert!(file.problem().unwrap().contains("replaced"));
        drop(kept);
    }
}
