//! The database file as the operating system sees it: which file it is (so a
//! daemon notices when it is deleted or replaced under it), and the lock that
//! keeps a second feedsieve process from writing to it at the same time.

use std::path::{Path, PathBuf};

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
/// it (the daemon, or a `fetch`) until it is dropped: the operating system's
/// (`flock`) on two files. One is the database file itself, so the lock holds
/// however the file is named (a symbolic link, another path). The other is
/// `<database>.lock` beside it, so the lock also holds for the path when the
/// database file is deleted or replaced under a running daemon (SQLite finds
/// the `-wal` and `-shm` by path: a second writer there would share them).
/// Neither writes anything (taken on a full disk too, where the `.lock` file
/// is there from an earlier run); both are released when the process ends,
/// even by `kill -9`. Drop it only after the process's connections to the
/// database are closed: closing a file releases the process's POSIX locks on
/// it, SQLite's own included (`flock` locks are separate from those on Linux).
pub struct DbLock {
    _database: std::fs::File,
    /// The `.lock` file's path, and the file locked there (with its identity).
    path_lock: PathBuf,
    beside: Option<(std::fs::File, Option<FileIdentity>)>,
}

impl DbLock {
    /// Takes the lock for the database at `db` (creating an empty file when
    /// there is none, which SQLite then makes a new database of), or says who
    /// holds it.
    pub fn acquire(db: &Path) -> Result<DbLock, StoreError> {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // Beside the file the path leads to, whatever links lead there.
        let path_lock = beside(&real_path(db), ".lock");
        let beside = match lock_file(&path_lock) {
            Ok(file) => Some((file, FileIdentity::of(&path_lock))),
            // A full disk may not take a new file: the database's own lock
            // still keeps a second writer out while the file stays.
            Err(LockFailure::Open(e)) => {
                tracing::warn!(
                    "cannot create {} ({e}): locking the database file alone",
                    path_lock.display()
                );
                None
            }
            Err(failure) => return Err(failure.into_store_error(db)),
        };
        let database = lock_file(db).map_err(|f| f.into_store_error(db))?;
        Ok(DbLock {
            _database: database,
            path_lock,
            beside,
        })
    }

    /// [`DbLock::acquire`], waiting up to `wait` while another process holds
    /// it: `feedsieve status` and `sources` hold it for a moment to record the
    /// configured sources, and a cron `fetch` beside them must not fail for it.
    pub fn acquire_waiting(db: &Path, wait: std::time::Duration) -> Result<DbLock, StoreError> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match DbLock::acquire(db) {
                Err(StoreError::InUse { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                done => return done,
            }
        }
    }

    /// Takes the path's lock again when its `.lock` file was deleted or
    /// replaced (it looks stale, and people delete such files): false when
    /// another process holds the new one, so that the path is no longer ours.
    pub fn hold_path(&mut self) -> bool {
        let now = FileIdentity::of(&self.path_lock);
        if now.is_some() && self.beside.as_ref().is_some_and(|(_, held)| *held == now) {
            return true;
        }
        match lock_file(&self.path_lock) {
            Ok(file) => {
                let identity = FileIdentity::of(&self.path_lock);
                self.beside = Some((file, identity));
                true
            }
            Err(LockFailure::Held) => false,
            // Not creatable now (a full disk): the database's own lock stands.
            Err(_) => true,
        }
    }
}

/// The path `db` leads to, where SQLite puts its `-wal` and `-shm`: symbolic
/// links followed (also one that leads nowhere now, as to a deleted database)
/// and the folder made absolute.
pub fn real_path(db: &Path) -> PathBuf {
    if let Ok(real) = db.canonicalize() {
        return real;
    }
    let mut path = db.to_path_buf();
    // As many links as the kernel follows (40 on Linux): a loop ends too.
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&path) else {
            break;
        };
        path = match path.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map_or_else(|_| path.clone(), |dir| dir.join(name)),
        _ => path,
    }
}

/// Why a file could not be locked.
enum LockFailure {
    /// It could not be opened or created.
    Open(std::io::Error),
    /// Another process holds it.
    Held,
    /// Locking failed otherwise.
    Lock(std::io::Error),
}

impl LockFailure {
    fn into_store_error(self, db: &Path) -> StoreError {
        let path = db.display().to_string();
        match self {
            LockFailure::Held => StoreError::InUse {
                holder: holder_of(&beside(&real_path(db), ".lock")).or_else(|| holder_of(db)),
                path,
            },
            LockFailure::Open(source) | LockFailure::Lock(source) => {
                StoreError::Lock { path, source }
            }
        }
    }
}

/// Who holds the `flock` on the file at `path`, as "pid N: its command line",
/// read from Linux's `/proc/locks`; `None` where that cannot be read.
fn holder_of(path: &Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata(path).ok()?.ino();
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"
        let pid: u32 = locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let file = fields.get(5)?;
            let held_inode: u64 = file.rsplit(':').next()?.parse().ok()?;
            (fields.get(1) == Some(&"FLOCK") && held_inode == inode)
                .then(|| fields.get(4)?.parse().ok())
                .flatten()
        })?;
        let command = std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .map(|raw| {
                let args: Vec<String> = raw
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                crate::util::fit(&args.join(" "), 120)
            })
            .filter(|c| !c.is_empty());
        Some(match command {
            Some(command) => format!("pid {pid}: {command}"),
            None => format!("pid {pid}"),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// Opens (creating it empty, as SQLite would, when there is none) and locks
/// the file at `path`. Read-only is enough to lock: a database that cannot be
/// written is still locked, and the store says what is wrong when it writes.
fn lock_file(path: &Path) -> Result<std::fs::File, LockFailure> {
    let file = match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut options = std::fs::File::options();
            options.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
            options.open(path)
        }
        opened => opened,
    }
    .map_err(LockFailure::Open)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockFailure::Held),
        Err(std::fs::TryLockError::Error(e)) => Err(LockFailure::Lock(e)),
    }
}

/// A file beside the database at `db`: its path with `suffix` added.
pub(super) fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
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
        // The message names the holder, where the system says who it is.
        #[cfg(target_os = "linux")]
        if std::path::Path::new("/proc/locks").exists() {
            let message = second.err().map(|e| e.to_string()).unwrap_or_default();
            let pid = format!("process (pid {}: ", std::process::id());
            assert!(message.contains(&pid), "{message}");
        }
        drop(first);
        assert!(DbLock::acquire(&db).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_holds_through_another_name_for_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("feedsieve.sqlite");
        let link = dir.path().join("link.sqlite");
        let _first = DbLock::acquire(&db).unwrap();
        std::os::unix::fs::symlink(&db, &link).unwrap();
        assert!(matches!(
            DbLock::acquire(&link),
            Err(StoreError::InUse { .. })
        ));
        // Its `.lock` file deleted as if stale, the database's own lock holds.
        std::fs::remove_file(dir.path().join("feedsieve.sqlite.lock")).unwrap();
        assert!(matches!(
            DbLock::acquire(&db),
            Err(StoreError::InUse { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_deleted_database_is_still_locked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let db = dir.path().join("db/feedsieve.sqlite");
        let link = dir.path().join("link.sqlite");
        std::os::unix::fs::symlink("db/feedsieve.sqlite", &link).unwrap();
        let _first = DbLock::acquire(&db).unwrap();
        // The file gone, the link leads nowhere: the path's lock still holds.
        std::fs::remove_file(&db).unwrap();
        assert!(matches!(
            DbLock::acquire(&link),
            Err(StoreError::InUse { .. })
        ));
    }

    #[test]
    fn the_path_stays_locked_when_its_files_are_deleted_or_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("feedsieve.sqlite");
        let lock = dir.path().join("feedsieve.sqlite.lock");
        let replaced_then_refused = || {
            // A backup restored over the path while the daemon runs.
            std::fs::remove_file(&db).unwrap();
            std::fs::write(&db, b"").unwrap();
            matches!(DbLock::acquire(&db), Err(StoreError::InUse { .. }))
        };
        let mut first = DbLock::acquire(&db).unwrap();
        assert!(replaced_then_refused());
        // The `.lock` deleted as stale: its holder takes a new one.
        std::fs::remove_file(&lock).unwrap();
        assert!(first.hold_path());
        assert!(lock.exists(), "made and locked again");
        assert!(replaced_then_refused());
    }

    #[test]
    fn a_lock_on_a_new_database_leaves_an_empty_file_the_store_calls_new() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub/feedsieve.sqlite");
        let _lock = DbLock::acquire(&db).unwrap();
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
        assert!(super::super::Store::open(&db).unwrap().created());
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
