//! WAL checkpoints on a thread of their own, off the write path.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint
//! copies them back into the database file. SQLite does that in the committing
//! connection once the log holds 1,000 pages: in a big first cycle, where the
//! one writing connection *is* the serial section, the commits and their
//! checkpoints took 1.4–1.6 s of a 12 s cycle (`bench_cycle 1000 50 10`,
//! timed around `COMMIT`). A second connection on its own thread runs a
//! passive checkpoint shortly after commits instead, while the writer goes on:
//! a passive checkpoint never waits for, nor blocks, the writer. The writer's
//! own automatic checkpoint stays, at [`WRITER_PAGES`], as the backstop that
//! lets the log start over; it has little left to copy when this thread keeps
//! up. First cycle, 4 rounds taking turns: 11.62–11.96 s without this thread,
//! 11.09–11.42 s with it and the writer at 1,000 pages, 10.63–11.02 s with
//! the writer at 4,000.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// The least time between two background checkpoints: each one ends with an
/// fsync of the database file, so a burst of commits is copied in one go.
const PAUSE: Duration = Duration::from_millis(100);

/// The log's size in pages at which the writer checkpoints itself (SQLite's
/// default is 1,000, 4 MB): so the log stays under about 16 MB plus one
/// transaction, and starts over once this thread has copied it.
pub const WRITER_PAGES: i64 = 4_000;

/// A thread that checkpoints the WAL of one database file after commits.
/// Dropping it stops the thread and waits for its checkpoint under way.
pub struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, with its own connection to the file at `path`; None
    /// (the writer then checkpoints as before) when either cannot be had.
    pub fn start(path: &Path) -> Option<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // One pending nudge is enough: it means "there was a commit since".
        let (nudge, nudged) = mpsc::sync_channel(1);
        let started = Connection::open_with_flags(path, flags)
            .map_err(|e| e.to_string())
            .and_then(|conn| {
                // Whichever connection closes last decides what is kept.
                super::keep_wal_files(&conn);
                std::thread::Builder::new()
                    .name("feedsieve-checkpoint".into())
                    .spawn(move || checkpoint_when_nudged(&conn, &nudged))
                    .map_err(|e| e.to_string())
            });
        match started {
            Ok(thread) => Some(Checkpointer {
                nudge: Some(nudge),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::warn!("no background WAL checkpoints (the writer checkpoints): {e}");
                None
            }
        }
    }

    /// Says that a transaction was committed: the thread checkpoints soon.
    pub fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            match nudge.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    tracing::debug!("the background checkpoint thread has stopped");
                }
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        self.nudge = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's loop: a passive checkpoint after each nudge, at most one per
/// [`PAUSE`], until the channel closes.
fn checkpoint_when_nudged(conn: &Connection, nudged: &Receiver<()>) {
    let mut last: Option<Instant> = None;
    while nudged.recv().is_ok() {
        if let Some(last) = last {
            // Nudges that come meanwhile are the same news; a closed channel stops.
            while let Some(left) = PAUSE.checked_sub(last.elapsed()) {
                if let Err(RecvTimeoutError::Disconnected) = nudged.recv_timeout(left) {
                    return;
                }
            }
        }
        let copied = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match copied {
            Ok((log, done)) => tracing::trace!(log, done, "background WAL checkpoint"),
            // Nothing is lost: the writer's own checkpoint copies the pages.
            Err(e) => tracing::debug!("background WAL checkpoint failed: {e}"),
        }
        last = Some(Instant::now());
    }
}
