//! SQLite storage: schema migrations, sources with their fetch state, items and stories.
//!
//! The store records; it never decides. Which story a new item joins is decided by
//! the caller (the pipeline's dedup step, through [`StoryDecider`]) inside the
//! store's transaction, so this module knows nothing of dedup, extraction or the
//! config file. One file per entity: [`sources`] (and their fetch state),
//! [`items`], [`stories`], [`templates`] (learnt site chrome), [`meta`] (settings
//! fixed once per database).
//!
//! One connection, one writer: the async side reaches it through [`SharedStore::call`],
//! which runs the closure on a blocking thread under a mutex. Every write for one
//! fetch of one source stands or falls alone (a savepoint). The file itself (which
//! file it is, and the lock one writing process holds on it) is [`file`](mod@file)'s; a
//! daemon's WAL checkpoints run beside the writer, in [`checkpoint`].

pub mod checkpoint;
pub mod file;
pub mod items;
pub mod meta;
pub mod refined;
pub mod sources;
pub mod stories;
pub mod templates;
#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

pub use file::{DbFile, DbLock};
pub use items::{
    content_hashes, item_key, link_identity, link_key, sort_time, IngestStats, ItemAssignment,
    StoredArticle, WindowItem, EARLIEST_DATE, FUTURE_MARGIN, WINDOW_CHANGES_READ,
};
pub use refined::{MoveKind, RefinedMove, RefinedTarget, StoryMove, StoryRefinement};
pub use sources::{DueSource, DueSources, FetchRecord, SourceRecord, SourceSpec};
pub use stories::{
    JoinRecord, NewItem, NextIds, OneStoryPerItem, Story, StoryDecider, StoryDecision, StoryItem,
    StoryMember, StoryMerge,
};

/// The schema migrations, in order. The database records the last one applied in
/// `PRAGMA user_version`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../db/migrations/0001_initial.sql")),
    (2, include_str!("../../db/migrations/0002_filters.sql")),
    (3, include_str!("../../db/migrations/0003_dedup.sql")),
    (
        4,
        include_str!("../../db/migrations/0004_site_templates.sql"),
    ),
    (5, include_str!("../../db/migrations/0005_story_ids.sql")),
    (6, include_str!("../../db/migrations/0006_feed_ids.sql")),
    (7, include_str!("../../db/migrations/0007_body_words.sql")),
    (8, include_str!("../../db/migrations/0008_story_moves.sql")),
    (9, include_str!("../../db/migrations/0009_due_index.sql")),
    (
        10,
        include_str!("../../db/migrations/0010_source_reading.sql"),
    ),
    (
        11,
        include_str!("../../db/migrations/0011_story_aliases.sql"),
    ),
    (
        12,
        include_str!("../../db/migrations/0012_judged_and_extracted.sql"),
    ),
    (
        13,
        include_str!("../../db/migrations/0013_changed_article_aliases.sql"),
    ),
    (
        14,
        include_str!("../../db/migrations/0014_publish_indexes.sql"),
    ),
];

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database folder could not be created.
    #[error("cannot create the database folder {path}: {source}")]
    Dir {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file was written by a newer feedsieve.
    #[error("the database has schema version {found}, newer than this feedsieve knows ({known}); upgrade feedsieve")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Newest version known here.
        known: i64,
    },
    /// The file is older than this feedsieve, and another process holds it.
    #[error("the database {path} has schema version {found}, older than this feedsieve's ({known}), and another feedsieve process holds it (an older version?): this one upgrades it when it starts; stop that one first")]
    Outdated {
        /// The database path.
        path: String,
        /// Version in the file.
        found: i64,
        /// Newest version known here.
        known: i64,
    },
    /// The blocking task running the query died.
    #[error("the database task failed: {0}")]
    Task(String),
    /// The database file could not be opened to lock it.
    #[error("cannot open the database {path} to lock it: {source}")]
    Lock {
        /// The database path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process holds the database's lock.
    #[error("another feedsieve process ({}) owns the database {path}; a daemon fetches each source when due by itself (`kill -HUP` makes it reread the config): stop it first to run another, or point [database] path at another file", .holder.as_deref().unwrap_or("a running daemon, or a `feedsieve fetch`"))]
    InUse {
        /// The database path.
        path: String,
        /// Who holds it ("pid N: command"), where the system says.
        holder: Option<String>,
    },
}

impl StoreError {
    /// True for faults of the machine rather than of one write: the disk (or
    /// `[database] max_size`) is full, or the file cannot be written at all.
    /// Every write fails alike until they pass, so they pause all writes.
    pub fn is_machine_fault(&self) -> bool {
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = self else {
            return false;
        };
        matches!(
            e.code,
            ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
        )
    }

    /// The same failure again, for each of the writes that one failed commit
    /// held: SQLite's code is kept, so a full disk still reads as one.
    pub fn same_again(&self) -> StoreError {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, message)) => {
                StoreError::Sqlite(rusqlite::Error::SqliteFailure(*e, message.clone()))
            }
            other => StoreError::Task(other.to_string()),
        }
    }
}

/// Whether there is a database at `path`: a file with something in it (an
/// empty file is what a lock or an interrupted first start leaves, and SQLite
/// makes a new database of it).
pub fn database_exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// The database.
pub struct Store {
    conn: Connection,
    /// The file was created by this open.
    created: bool,
    /// The file it was opened on (None in memory).
    file: Option<DbFile>,
    /// Checkpoints the WAL off the write path, once started.
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl Store {
    /// Opens (creating if needed) the database file and applies migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // An empty file is what SQLite makes a new database of (and what the
        // lock leaves where there was none).
        let created = !database_exists(path);
        let conn = Connection::open(path)?;
        let mut store = Store::init(conn)?;
        store.created = created;
        store.file = Some(DbFile::new(path));
        Ok(store)
    }

    /// Opens an existing database as it is, for a process that does not own
    /// it: another feedsieve holds it (perhaps an older one, which a migration
    /// would leave reading columns it does not know), so nothing is migrated;
    /// a database older than this feedsieve is refused.
    pub fn open_unowned(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        let mut store = Store::init_with(conn, false)?;
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        let found: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found < known {
            return Err(StoreError::Outdated {
                path: path.display().to_string(),
                found,
                known,
            });
        }
        store.file = Some(DbFile::new(path));
        Ok(store)
    }

    /// Opens an existing database for a command that reads it: migrated, and
    /// given to `while_held`, when no other process holds it, whose lock then
    /// goes at once (a `fetch` or a daemon start is not kept out while the
    /// command reads); as it is ([`Store::open_unowned`]) when one does.
    pub fn open_to_read(
        path: &Path,
        while_held: impl FnOnce(&mut Store) -> Result<(), StoreError>,
    ) -> Result<Store, StoreError> {
        let lock = match DbLock::acquire(path) {
            Ok(lock) => lock,
            Err(StoreError::InUse { .. }) => return Store::open_unowned(path),
            // No lock to be had (a read-only folder): nobody else writes either.
            Err(_) => return Store::open(path),
        };
        let mut store = Store::open(path)?;
        while_held(&mut store)?;
        // The store first: closing the lock's handle would release SQLite's
        // own locks on the file.
        drop(store);
        drop(lock);
        Store::open_unowned(path)
    }

    /// True when [`Store::open`] created a new, empty database file.
    pub fn created(&self) -> bool {
        self.created
    }

    /// The file this store was opened on, to check later that it is still there.
    pub fn file(&self) -> Option<DbFile> {
        self.file.clone()
    }

    /// Caps the file at about `bytes` (SQLite's `max_page_count`): a write that
    /// would grow it further fails as on a full disk. A cap below the current
    /// size keeps the current size.
    pub fn limit_size(&self, bytes: u64) -> Result<(), StoreError> {
        let page: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page.max(1);
        self.conn
            .pragma_update(None, "max_page_count", pages.max(1))?;
        let used: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))?;
        if used > pages {
            // SQLite keeps the cap at the file's size: every new item fails.
            tracing::warn!(
                database_bytes = used.saturating_mul(page),
                max_size_bytes = bytes,
                "the database is already larger than [database] max_size: nothing new can be stored until retention (max_age) frees room or max_size is raised"
            );
        }
        Ok(())
    }

    /// Writes a consistent copy of the whole database to `to` (which must not
    /// exist): what a daemon still holds after its file was deleted.
    pub fn save_copy(&self, to: &Path) -> Result<(), StoreError> {
        let existed = to.exists();
        let saved = self
            .conn
            .execute("VACUUM INTO ?1", [to.to_string_lossy().as_ref()]);
        if let Err(e) = saved {
            // A copy cut short (a full disk) is no copy: it would hold the
            // space freed for the next try, and could be taken for the history.
            if !existed {
                for partial in [to.to_path_buf(), file::beside(to, "-journal")] {
                    let _ = std::fs::remove_file(partial);
                }
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Has a thread of its own checkpoint the WAL after this store's shared
    /// transactions ([`Store::write_together`]), so that the writer seldom
    /// does (see [`checkpoint`]). For a long-running writer; not in memory.
    pub fn checkpoint_in_background(&mut self) {
        if let (None, Some(file)) = (&self.checkpointer, &self.file) {
            self.checkpointer = checkpoint::Checkpointer::start(file.path());
            if self.checkpointer.is_some() {
                let pages = checkpoint::WRITER_PAGES;
                if let Err(e) = self.conn.pragma_update(None, "wal_autocheckpoint", pages) {
                    tracing::debug!("the writer keeps checkpointing at 1,000 pages: {e}");
                }
            }
        }
    }

    /// An in-memory database, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        Store::init_with(conn, true)
    }

    /// Sets the connection up, and applies the pending migrations when `migrate`.
    fn init_with(conn: Connection, migrate: bool) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL keeps readers (inspecting tools) from blocking the writer; NORMAL sync
        // is durable against process crashes, which is what a daemon meets.
        enable_wal(&conn)?;
        keep_wal_files(&conn);
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The ingest path alone runs about twenty statements per item: with
        // fewer slots the cache would evict them in turn and parse each again.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut store = Store {
            conn,
            created: false,
            file: None,
            checkpointer: None,
        };
        if migrate {
            store.migrate()?;
        } else if let Ok(found) = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        {
            let known = MIGRATIONS.last().map_or(0, |m| m.0);
            if found > known {
                return Err(StoreError::TooNew { found, known });
            }
        }
        Ok(store)
    }

    /// Applies the pending migrations in one transaction that takes the write
    /// lock before it reads the version again, so two processes opening a new
    /// database at once apply them once (the second waits, then finds none).
    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        // Up to date: no write lock (read-only users and full disks open too).
        let seen: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if seen == known {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        if current == known {
            return Ok(());
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
        }
        tx.commit()?;
        tracing::info!(from = current, to = known, "applied database migrations");
        Ok(())
    }

    /// Runs `f` inside one transaction and commits it: several writes, each in
    /// its own savepoint (as [`Store::record_fetch`] is), then pay for one
    /// commit (and its share of WAL checkpoints) instead of one each. Returns
    /// what `f` returns and whether the commit held; when it did not, nothing
    /// `f` wrote is kept. A write that failed inside was rolled back alone.
    pub fn write_together<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> T,
    ) -> (T, Result<(), StoreError>) {
        if let Err(e) = self.conn.execute_batch("BEGIN") {
            // The writes still run, each in its own transaction.
            tracing::debug!("could not open a shared transaction: {e}");
            return (f(self), Ok(()));
        }
        // A panic inside must not leave the transaction open on the one
        // connection: every later write would fail.
        let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self))) {
            Ok(out) => out,
            Err(panic) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                std::panic::resume_unwind(panic);
            }
        };
        let committed = match self.conn.is_autocommit() {
            // SQLite rolled the transaction back itself after a write failed
            // (a full disk): nothing is left to commit, and the writes that
            // had passed are gone with it (the failure itself is logged).
            true => Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("rolled back with a write that failed".into()),
            ))),
            false => self.conn.execute_batch("COMMIT").map_err(StoreError::from),
        };
        if committed.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if let (Ok(()), Some(checkpointer)) = (&committed, &self.checkpointer) {
            checkpointer.nudge();
        }
        (out, committed)
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs `PRAGMA integrity_check`; true when the file is sound.
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(res == "ok")
    }
}

/// The store shared by the async side: one connection behind a mutex, used from
/// blocking threads.
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<Store>>, Option<Arc<DbFile>>);

impl SharedStore {
    /// Wraps an open store.
    pub fn new(store: Store) -> Self {
        let file = store.file().map(Arc::new);
        SharedStore(Arc::new(Mutex::new(store)), file)
    }

    /// What happened to the database file since it was opened (deleted or
    /// replaced), checked without waiting for the store's lock.
    pub fn file_problem(&self) -> Option<String> {
        self.1.as_ref().and_then(|f| f.problem())
    }

    /// The database file's path (None in memory).
    pub fn path(&self) -> Option<&Path> {
        self.1.as_ref().map(|f| f.path())
    }

    /// Runs `f` with the store on a blocking thread.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` with the store on the current thread (for sync callers).
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// Prepared statements the connection keeps parsed.
const STATEMENT_CACHE: usize = 64;

/// How long a statement waits for another process's lock on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switches the file to WAL. The switch needs the file to itself, and SQLite
/// answers "database is locked" at once instead of waiting out the busy
/// timeout while another process reads it (measured: one of four processes
/// opening a new file together failed about every other time on a loaded
/// machine), so it is tried again for as long as the timeout.
fn enable_wal(conn: &Connection) -> Result<(), StoreError> {
    let start = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            done => return Ok(done?),
        }
    }
}

/// Keeps the `-wal` and `-shm` files when the process's last connection
/// closes: opening a WAL database whose `-shm` is missing must create and size
/// it, which fails on a full disk, and the daemon is meant to start there and
/// serve what it has. A size limit on the log makes that close truncate the
/// `-wal` to nothing (a kept log must not hold pages a later database could
/// take for its own).
pub(crate) fn keep_wal_files(conn: &Connection) {
    if let Err(e) = conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT) {
        tracing::debug!("could not limit the WAL's size: {e}");
    }
    let mut on: std::ffi::c_int = 1;
    // SAFETY: the handle is the live connection's own, "main" is a
    // NUL-terminated name, and this file control reads and writes one int.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut on as *mut std::ffi::c_int).cast(),
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        tracing::debug!("could not keep the WAL files between runs (SQLite code {rc})");
    }
}

/// What a checkpointed `-wal` file is cut back to (bytes); on close, to nothing.
const WAL_SIZE_LIMIT: i64 = 16 << 20;

/// Runs one statement through the connection's statement cache: the ingest
/// path runs the same statements for every item, and parsing them each time
/// took about 5 % of a first cycle's CPU (`bench_cycle`, profiled).
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// [`exec`] for a query of one row.
fn one_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}
