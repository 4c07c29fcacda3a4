//! The daemon: runs each source when it is due, republishes after changes, serves
//! the feed, and stops cleanly on SIGINT/SIGTERM: nothing new starts, in-flight
//! fetches get `[server] shutdown_grace` to finish, and what was fetched is
//! stored before the database closes.
//!
//! It watches its machine too: a database file deleted or replaced under it
//! stops every write (and a copy of what it holds is saved); a config file
//! emptied, half-written or deleted is not applied.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::pipeline::{self, Context, SourceOutcome};
use crate::schedule::StartQueue;
use crate::server::{router, ServerState};
use crate::store::DueSource;

/// The longest the scheduler sleeps before looking at the sources again.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Changes are published at most this often while fetches are still running.
const PUBLISH_DEBOUNCE: Duration = Duration::from_secs(5);
/// The longest time between two retention prunes (runs every quarter of
/// `[database] max_age`, so a short retention is kept to).
const PRUNE_EVERY_LONGEST: Duration = Duration::from_secs(3600);
/// The shortest time between two retention prunes.
const PRUNE_EVERY_SHORTEST: Duration = Duration::from_secs(5);
/// How often the config file and the database file are checked.
const RELOAD_POLL: Duration = Duration::from_secs(1);
/// The shortest sleep of the scheduler.
const MIN_SLEEP: Duration = Duration::from_millis(200);
/// Past the grace period, how long the store writes of finished fetches may take.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// Watches the config file's content (not its mtime: editors and `git checkout`
/// keep or reset mtimes in surprising ways). Editors' atomic saves (a new file
/// renamed over the old) are read like any other change.
struct ConfigWatch {
    path: std::path::PathBuf,
    last: Option<String>,
    /// Content seen once and not yet applied: a change is applied when the
    /// next look finds the same bytes, so a save in progress is not read.
    settling: Option<String>,
    /// The file could not be read, and that was logged.
    missing: bool,
    /// Why the file as it is now is not applied (shown on `/status` and `/healthz`).
    rejected: Option<String>,
}

impl ConfigWatch {
    fn new(path: &std::path::Path) -> Self {
        let last = std::fs::read(path)
            .ok()
            .map(|b| crate::util::sha256_hex(&b));
        ConfigWatch {
            path: path.to_path_buf(),
            last,
            settling: None,
            missing: false,
            rejected: None,
        }
    }

    /// Forgets what was seen, so the next check reloads whatever is there.
    fn forget(&mut self) {
        self.last = None;
    }

    /// A new valid config when the file changed (and, with `settle`, stayed
    /// so since the last look). An invalid one is logged with its lines and
    /// ignored; so is one without sources while `running` sources are fetched
    /// (an emptied or truncated file): the daemon keeps its last good config.
    fn changed(&mut self, running: usize, settle: bool) -> Option<Config> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => {
                self.rejected = Some(format!("cannot read {}: {e}", self.path.display()));
                if !self.missing {
                    tracing::error!(
                        "cannot read {}: {e}; still running on the last good config ({running} sources) until it is back",
                        self.path.display()
                    );
                    self.missing = true;
                }
                return None;
            }
        };
        if std::mem::take(&mut self.missing) {
            self.rejected = None;
            tracing::info!("{} is back", self.path.display());
        }
        let hash = crate::util::sha256_hex(&bytes);
        if self.last.as_deref() == Some(hash.as_str()) {
            self.settling = None;
            return None;
        }
        if settle && self.settling.as_deref() != Some(hash.as_str()) {
            self.settling = Some(hash);
            return None;
        }
        self.settling = None;
        self.last = Some(hash);
        self.load(running)
    }

    fn load(&mut self, running: usize) -> Option<Config> {
        self.rejected = None;
        match Config::load(&self.path) {
            Ok(cfg) if cfg.sources.is_empty() && running > 0 => {
                tracing::error!(
                    "{} has no sources (emptied, or a save cut short?); still running on the last good config ({running} sources). \
                     To run without sources, restart feedsieve",
                    self.path.display()
                );
                self.rejected = Some(format!("{} has no sources", self.path.display()));
                None
            }
            Ok(cfg) => Some(cfg),
            Err(errors) => {
                let all: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
                self.rejected = Some(all.join("; "));
                for e in &errors.0 {
                    tracing::error!("{e}");
                }
                tracing::error!(
                    "the edited config is not valid; still running on the last good one"
                );
                None
            }
        }
    }
}

/// SIGHUP as a stream (never fires where there are no signals).
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Hangup {
                signal: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Hangup {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    }
}

/// How a reload changes the sources.
struct SourceChanges {
    /// URLs of the sources that are new, back after a removal, or enabled again.
    added: Vec<String>,
    /// How many sources went.
    removed: usize,
    /// URLs of the sources whose settings changed (their own, or the global
    /// `[filters]` or default interval they follow). What that changes, the
    /// store works out ([`crate::store::Store::sync_sources`]): a source is read
    /// again in full when what a fetch stores changed, its next fetch comes
    /// sooner when its interval got shorter, and names show at the republish.
    changed: Vec<String>,
}

impl SourceChanges {
    /// What changes from the `old` config's sources to the `new` one's.
    fn between(old: &Config, new: &Config) -> SourceChanges {
        let before = |url: &url::Url| old.sources.iter().find(|o| &o.url == url);
        let interval =
            |c: &Config, s: &crate::config::SourceConfig| s.interval.unwrap_or(c.schedule.interval);
        let urls = |f: &dyn Fn(&crate::config::SourceConfig) -> bool| -> Vec<String> {
            (new.sources.iter())
                .filter(|n| f(n))
                .map(|n| n.url.to_string())
                .collect()
        };
        SourceChanges {
            added: urls(&|n| n.enabled && before(&n.url).is_none_or(|o| !o.enabled)),
            removed: (old.sources.iter())
                .filter(|o| !new.sources.iter().any(|n| n.url == o.url))
                .count(),
            changed: urls(&|n| {
                before(&n.url).is_some_and(|o| {
                    o != n || old.filters != new.filters || interval(old, o) != interval(new, n)
                })
            }),
        }
    }
}

/// Switches the running daemon to `new`: added sources become due at once,
/// removed ones stop, changed ones are fetched again with their new settings
/// (in full when those change what is stored), and names and categories show
/// at the republish this asks for.
/// Returns whether the feeds should be republished, or why the database
/// refused the edit (nothing of it is then applied).
async fn apply_reload(ctx: &mut Context, mut new: Config) -> Result<bool, String> {
    if ctx.health.is_database_lost() {
        tracing::error!(
            "the config changed, but the database file is gone: restart feedsieve to apply it"
        );
        return Ok(false);
    }
    let old = ctx.config.clone();
    if let Some(addr) = old.server.listen_override {
        new.override_listen(addr);
    }
    if new.server.listen != old.server.listen {
        tracing::warn!(
            "[server] listen changed: restart feedsieve to use {}",
            new.server.listen
        );
    }
    if new.database.path != old.database.path {
        tracing::warn!(
            "[database] path changed: restart feedsieve to use {}",
            new.database.path.display()
        );
        new.database.path = old.database.path.clone();
    }
    let SourceChanges {
        added,
        removed,
        changed,
    } = SourceChanges::between(&old, &new);
    // Applied before the sources are recorded (a raised max_size is what lets
    // a full database record them), undone if they cannot be: the next edit
    // is compared with the config in force, so nothing of this one may stay.
    let before = (ctx.fetcher.clone(), ctx.limits.clone(), ctx.dedup.clone());
    apply_settings(ctx, &mut new, &old).await;
    let sources = pipeline::source_specs(&new);
    // A source removed and added again keeps its row, and with it the next
    // fetch it had: it is made due like a new one.
    let (added_count, changed_count) = (added.len(), changed.len());
    let synced = ctx
        .store
        .call(move |s| {
            s.sync_sources(&sources)?;
            s.make_due(&added)?;
            s.sources()
        })
        .await;
    let active = match synced {
        Ok(active) => active.into_iter().map(|s| s.id).collect(),
        Err(e) => {
            tracing::error!("could not apply the new config to the database: {e}");
            (ctx.fetcher, ctx.limits, ctx.dedup) = before;
            // An engine that took the new [dedup] in place takes the old back.
            if let Some(dedup) = ctx.dedup.as_ref().filter(|_| new.dedup != old.dedup) {
                dedup.reconfigure(old.dedup.clone());
            }
            if new.database.max_size != old.database.max_size {
                let bytes = old.database.max_size.unwrap_or(u64::MAX);
                if let Err(e) = ctx.store.call(move |s| s.limit_size(bytes)).await {
                    tracing::error!("could not restore [database] max_size: {e}");
                }
            }
            return Err(format!(
                "the database could not record it ({e}); save the file again or send SIGHUP once that is fixed"
            ));
        }
    };
    ctx.health.sources_unrecorded(None);
    ctx.health.keep_sources(active);
    tracing::info!(
        sources = new.sources.len(),
        added = added_count,
        removed,
        changed = changed_count,
        "reloaded {}",
        new.path.display()
    );
    ctx.config = std::sync::Arc::new(new);
    Ok(true)
}

/// Applies an edited config in the scheduler's loop: fetches soon after, a
/// republish, or the database's refusal shown until an edit applies.
async fn reload(ctx: &mut Context, l: &mut Loop, new: Config) {
    match apply_reload(ctx, new).await {
        Ok(republish) => {
            l.dirty |= republish;
            l.refused = None;
        }
        Err(why) => l.refused = Some(why),
    }
    l.next_scan = tokio::time::Instant::now();
}

/// Applies the edited settings that the context holds beyond the config:
/// the HTTP client, the fetch limits, the dedup engine, the database's cap.
async fn apply_settings(ctx: &mut Context, new: &mut Config, old: &Config) {
    if new.fetch != old.fetch {
        match Fetcher::new(&new.fetch) {
            Ok(f) => ctx.fetcher = f,
            Err(e) => tracing::error!("keeping the old [fetch] settings: {e}"),
        }
    }
    let limits = |s: &crate::config::ScheduleConfig| (s.concurrency, s.per_host);
    if limits(&new.schedule) != limits(&old.schedule) {
        ctx.limits = pipeline::FetchLimits::new(&new.schedule);
    }
    if new.dedup != old.dedup {
        reload_dedup(ctx, new, old);
    }
    if new.database.max_size != old.database.max_size {
        // Without a cap, SQLite's own (far larger than any disk) stands.
        let bytes = new.database.max_size.unwrap_or(u64::MAX);
        if let Err(e) = ctx.store.call(move |s| s.limit_size(bytes)).await {
            tracing::error!("could not apply [database] max_size: {e}");
        }
    }
}

/// Applies an edited `[dedup]`: an engine with the new settings, whose
/// window is read back from the store when the next new item needs it (the
/// stories stored so far stay as they are; new items are decided with the
/// new settings). The running engine takes them in place, so that fetches
/// running now store into the new window too; a new engine is started when
/// dedup was off, or its text analysis or model changed. One that cannot
/// start (an embedding model that does not load) keeps the old settings,
/// said in the log.
fn reload_dedup(ctx: &mut Context, new: &mut Config, old: &Config) {
    if !new.dedup.enabled {
        ctx.dedup = None;
        tracing::info!("[dedup] turned off: every new item is a story of its own");
        return;
    }
    if let Some(running) = &ctx.dedup {
        if running.reconfigure(new.dedup.clone()) {
            tracing::info!("[dedup] changed: new items are decided with the new settings");
            return;
        }
    }
    match pipeline::StoryDedup::open(new.dedup.clone()) {
        Ok(dedup) => {
            ctx.dedup = Some(std::sync::Arc::new(dedup));
            tracing::info!("[dedup] changed: new items are decided with the new settings");
        }
        Err(e) => {
            tracing::error!("keeping the old [dedup] settings: {e:#}");
            new.dedup = old.dedup.clone();
        }
    }
}

/// A handle that asks a running daemon to stop.
#[derive(Clone)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    /// A new, un-triggered handle.
    pub fn new() -> Self {
        Shutdown(watch::channel(false).0)
    }

    /// Asks the daemon to stop.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            // The sender is gone: nobody can ask us to stop any more; wait forever.
            std::future::pending::<()>().await;
        }
    }
}

/// Triggers `shutdown` on SIGINT or SIGTERM; a second one exits at once.
pub fn stop_on_signals(shutdown: Shutdown) {
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!(
            "stopping: nothing new starts; in-flight fetches get the grace period \
             ([server] shutdown_grace) to finish (a second Ctrl-C or SIGTERM stops at once)"
        );
        shutdown.trigger();
        stop_signal().await;
        // What is stored is committed or rolled back by SQLite; an interrupted
        // fetch is fetched again by the next run.
        tracing::warn!("second signal: exiting now, without waiting for in-flight fetches");
        std::process::exit(130);
    });
}

/// The next SIGINT or SIGTERM.
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Binds `[server] listen`, before anything else is done: a port in use is
/// said at once, before a database is created or a source fetched. Call
/// [`serve`] with `tokio::net::TcpListener::from_std` of it.
pub fn bind(listen: std::net::SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!("cannot listen on {listen} (is another feedsieve running? change [server] listen)")
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Runs the scheduler and serves the feed on `listener` until `shutdown` fires.
pub async fn serve(
    ctx: Context,
    listener: tokio::net::TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let state = ServerState::new(
        Some(ctx.store.clone()),
        ctx.metrics.clone(),
        &ctx.config.output.title,
    )
    .with_health(ctx.health.clone());
    // Serve what is stored right away, before the first fetch finishes (also
    // on a full disk, where writing the files may fail).
    publish_to(&ctx, &state).await;
    // `/status` has figures to show while the first fetch reads the dedup
    // window back, which holds the store for seconds on a big one.
    state.read_gauges().await;
    let local = listener.local_addr()?;
    tracing::info!(
        "serving the front page at http://{local}/ and the feed at http://{local}/feed.xml"
    );
    let app = router(state.clone());
    let server_stop = shutdown.subscribe();
    let mut server = tokio::spawn(async move {
        let limits = crate::server::HttpLimits::default();
        crate::server::serve_http(listener, app, limits, stopped(server_stop)).await
    });
    let grace = ctx.config.server.shutdown_grace;
    let result = schedule_loop(ctx, &state, shutdown).await;
    // Requests still running (a slow reader) get the grace period too.
    match tokio::time::timeout(grace, &mut server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::error!("the HTTP server failed: {e}"),
        Ok(Err(e)) => tracing::error!("the HTTP server task failed: {e}"),
        Err(_) => {
            tracing::warn!("HTTP requests still running after the grace period are cut off");
            server.abort();
        }
    }
    result
}

/// Task id → source id and host of the fetches running now.
type InFlight = HashMap<tokio::task::Id, (i64, String)>;

/// The scheduler's running state.
struct Loop {
    tasks: JoinSet<SourceOutcome>,
    in_flight: InFlight,
    /// Due sources not started yet, oldest due first with hosts taking turns
    /// and failing sources last: tasks start as others end, a few more than
    /// may fetch at once (a waiting task holds kilobytes), and of one host at
    /// most [`pipeline::started_per_host`].
    queue: StartQueue<i64>,
    /// Sources queued or running, which a scan passes over.
    queued: HashSet<i64>,
    /// When to ask the store again which sources are due.
    next_scan: tokio::time::Instant,
    dirty: bool,
    last_publish: tokio::time::Instant,
    last_prune: Option<tokio::time::Instant>,
    /// The database file was lost and no copy of it is saved yet: when to try again.
    rescue_due: Option<tokio::time::Instant>,
    /// How many checks in a row found another process holding the lock on the
    /// database's path (said once, at the second: a `fetch` that is refused
    /// holds a new `.lock` for a moment before it gives up).
    path_lost: u8,
    /// The last edit of the config, refused by the database, and why (until
    /// an edit applies): shown as a rejected edit.
    refused: Option<String>,
}

async fn schedule_loop(
    mut ctx: Context,
    state: &ServerState,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let mut watch = ConfigWatch::new(&ctx.config.path);
    let mut reload_tick = tokio::time::interval(RELOAD_POLL);
    reload_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = Hangup::new();
    warn_about_gone_sources(&ctx).await;
    let mut stop = shutdown.subscribe();
    let mut l = Loop {
        tasks: JoinSet::new(),
        in_flight: HashMap::new(),
        queue: StartQueue::default(),
        queued: HashSet::new(),
        next_scan: tokio::time::Instant::now(),
        dirty: false,
        last_publish: tokio::time::Instant::now(),
        last_prune: None,
        rescue_due: None,
        path_lost: 0,
        refused: None,
    };
    loop {
        if *stop.borrow() {
            break;
        }
        if !ctx.health.is_database_lost() {
            l.dirty |= prune_when_due(&ctx, &mut l.last_prune).await;
        }
        if tokio::time::Instant::now() >= l.next_scan {
            let sleep_for = queue_due_sources(&ctx, &mut l).await;
            l.next_scan = tokio::time::Instant::now() + sleep_for;
        }
        start_queued(&ctx, &mut l).await;
        tokio::select! {
            _ = stop.changed() => {}
            Some(done) = l.tasks.join_next_with_id(), if !l.tasks.is_empty() => task_done(&mut l, done),
            _ = tokio::time::sleep_until(l.next_scan) => {}
            _ = reload_tick.tick() => {
                check_database_file(&ctx, &mut l.rescue_due).await;
                hold_database_path(&ctx, &mut l.path_lost);
                let running = ctx.config.sources.len();
                if let Some(new) = watch.changed(running, true) {
                    reload(&mut ctx, &mut l, new).await;
                }
                ctx.health.config_rejected(watch.rejected.clone().or(l.refused.clone()));
            }
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reading the config again");
                watch.forget();
                if let Some(new) = watch.changed(ctx.config.sources.len(), false) {
                    reload(&mut ctx, &mut l, new).await;
                }
                ctx.health.config_rejected(watch.rejected.clone().or(l.refused.clone()));
            }
        }
        if l.dirty && (l.tasks.is_empty() || l.last_publish.elapsed() >= PUBLISH_DEBOUNCE) {
            publish_to(&ctx, state).await;
            l.dirty = false;
            l.last_publish = tokio::time::Instant::now();
        }
    }
    finish(&ctx, state, l).await;
    tracing::info!("stopped");
    Ok(())
}

/// Books a finished fetch task: its source may be queued again, and the next
/// scan comes no later than when it is due again.
fn task_done(l: &mut Loop, done: Result<(tokio::task::Id, SourceOutcome), tokio::task::JoinError>) {
    let task = done.as_ref().map_or_else(|e| e.id(), |(id, _)| *id);
    if let Some((source, host)) = l.in_flight.remove(&task) {
        l.queued.remove(&source);
        l.queue.finished(&host);
    }
    match done {
        Ok((_, outcome)) => {
            l.dirty |= outcome.changed();
            // The last scan passed over it while it ran.
            let wait = outcome.next_fetch_at - Utc::now().timestamp();
            let wait = Duration::from_secs(u64::try_from(wait).unwrap_or(0));
            let due = tokio::time::Instant::now() + wait.max(MIN_SLEEP);
            l.next_scan = l.next_scan.min(due);
        }
        Err(e) => tracing::error!("a fetch task failed: {e}"),
    }
}

/// After the stop: nothing new starts, in-flight fetches get the grace period
/// and are then cut short (a fetch that finished is stored, one cut short is
/// fetched again at the next start), and the feeds are published once more.
async fn finish(ctx: &Context, state: &ServerState, mut l: Loop) {
    let grace = ctx.config.server.shutdown_grace;
    ctx.health.stopping();
    ctx.stop.begin(grace);
    if !l.tasks.is_empty() {
        tracing::info!(
            fetches = l.tasks.len(),
            grace = %humantime::format_duration(grace),
            "waiting for in-flight fetches"
        );
    }
    // The pipeline cuts its requests at the deadline; the margin covers the
    // store writes after them. Past it, tasks are aborted (a write already
    // running on its thread still commits or rolls back whole).
    let drain = async {
        while let Some(done) = l.tasks.join_next().await {
            if let Ok(outcome) = done {
                l.dirty |= outcome.changed();
            }
        }
    };
    if tokio::time::timeout(grace + STOP_MARGIN, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            fetches = l.tasks.len(),
            "fetches still running after the grace period are stopped"
        );
        l.tasks.abort_all();
        while l.tasks.join_next().await.is_some() {}
    }
    if l.dirty && !ctx.health.is_database_lost() {
        publish_to(ctx, state).await;
    }
    // A lost database not saved yet: the last chance before its history goes.
    if l.rescue_due.is_some() && rescue(ctx).await.is_some() {
        tracing::error!("stopped with the lost database unsaved: its history is gone");
    }
}

/// Notices once that the database file was deleted or replaced: from then on
/// nothing is fetched or written, `/healthz` says so, and a copy of what the
/// open database still holds is saved beside the lost file; while saving
/// fails (the folder deleted too, a full disk), it is tried every minute.
async fn check_database_file(ctx: &Context, rescue_due: &mut Option<tokio::time::Instant>) {
    if ctx.health.is_database_lost() {
        if rescue_due.is_some_and(|due| tokio::time::Instant::now() >= due) {
            *rescue_due = rescue(ctx).await;
        }
        return;
    }
    let Some(problem) = ctx.store.file_problem() else {
        return;
    };
    ctx.health.database_lost(&problem);
    tracing::error!("{problem}: nothing is fetched or stored any more");
    *rescue_due = rescue(ctx).await;
}

/// Takes the lock on the database's path again when its `.lock` file was
/// deleted; says so once when another process took it meanwhile.
fn hold_database_path(ctx: &Context, path_lost: &mut u8) {
    let Some(lock) = &ctx.db_lock else { return };
    let held = lock.lock().map_or(true, |mut l| l.hold_path());
    *path_lost = if held { 0 } else { path_lost.saturating_add(1) };
    if *path_lost == 2 {
        tracing::error!(
            "another process took the lock beside {} after its .lock file was deleted: stop it, \
             as two writers on one database path lose writes",
            ctx.config.database.path.display()
        );
    }
}

/// How long a failed copy of a lost database waits before the next try.
const RESCUE_RETRY: Duration = Duration::from_secs(60);

/// Saves a copy of the lost database beside its path (its folder made again if
/// it went too); on failure, returns when to try again.
async fn rescue(ctx: &Context) -> Option<tokio::time::Instant> {
    let path = ctx.store.path().map(std::path::Path::to_path_buf)?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut copy = path.clone().into_os_string();
    copy.push(format!(".rescued-{stamp}"));
    let copy = std::path::PathBuf::from(copy);
    let to = copy.clone();
    let saved = ctx
        .store
        .call(move |s| {
            if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| crate::store::StoreError::Dir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            s.save_copy(&to)
        })
        .await;
    match saved {
        Ok(()) => {
            // Beside the file the path led to (through any symbolic link):
            // where SQLite kept its journal, and where the copy goes back.
            let real = crate::store::file::real_path(&path);
            crate::store::file::remove_lost_journal(&real);
            ctx.health.rescue_failed(None);
            tracing::error!(
                "what this daemon held is saved in {}; stop feedsieve and move that file to {} to keep the history",
                copy.display(),
                real.display()
            );
            None
        }
        Err(e) => {
            tracing::error!(
                "saving a copy of the lost database to {} failed: {e}; the history is only in this process now: \
                 do not stop it, make room or restore the folder, and a copy is tried again in a minute",
                copy.display()
            );
            ctx.health.rescue_failed(Some(e.to_string()));
            Some(tokio::time::Instant::now() + RESCUE_RETRY)
        }
    }
}

/// Reminds the operator of sources that answered 410 Gone and are no longer fetched.
async fn warn_about_gone_sources(ctx: &Context) {
    let sources = match ctx.store.call(|s| s.sources()).await {
        Ok(sources) => sources,
        Err(e) => return tracing::error!("could not read the sources: {e}"),
    };
    for s in sources.iter().filter(|s| s.gone) {
        tracing::warn!(source = %s.name, url = %crate::util::http::masked_password(&s.url), "this source answered 410 Gone earlier and is not fetched; remove it from the config (or, if it is back, `feedsieve fetch --source` reads it again once the daemon is stopped)");
    }
}

/// Prunes past retention every quarter of `max_age` (within [`PRUNE_EVERY_SHORTEST`]
/// and [`PRUNE_EVERY_LONGEST`]); true when items went.
async fn prune_when_due(ctx: &Context, last_prune: &mut Option<tokio::time::Instant>) -> bool {
    let every = (ctx.config.database.max_age / 4).clamp(PRUNE_EVERY_SHORTEST, PRUNE_EVERY_LONGEST);
    if !last_prune.is_none_or(|t| t.elapsed() >= every) {
        return false;
    }
    let mut pruned = false;
    match pipeline::prune(ctx).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(items = n, "pruned items past retention");
            pruned = true;
        }
        Err(e) => tracing::error!("pruning failed: {e}"),
    }
    *last_prune = Some(tokio::time::Instant::now());
    pruned
}

/// Queues every due source not already queued or running; returns how long
/// to sleep before the next one is due. Nothing is queued while the database
/// file is gone or every write pauses (a full disk), and a source whose last
/// store failed waits its backoff.
async fn queue_due_sources(ctx: &Context, l: &mut Loop) -> Duration {
    if ctx.health.is_database_lost() {
        return MAX_SLEEP;
    }
    let clock = std::time::Instant::now();
    if let Some(pause) = ctx.store_backoff.paused_for(clock) {
        return pause.clamp(MIN_SLEEP, MAX_SLEEP);
    }
    let now = Utc::now().timestamp();
    // A database that cannot be read now (locked past the busy timeout, a bad
    // page) is asked again later; the daemon keeps serving meanwhile.
    let (due, mut next_due) = match ctx.store.call(move |s| s.due_sources(now)).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!("could not read which sources are due: {e}; asking again in a minute");
            return MAX_SLEEP;
        }
    };
    for DueSource {
        id,
        next_fetch_at,
        url,
        failing,
    } in due
    {
        if l.queued.contains(&id) {
            continue;
        }
        let waits = ctx.store_backoff.source_waits_for(id, clock);
        let due_at = waits.map_or(next_fetch_at, |w| next_fetch_at.max(now + pipeline_secs(w)));
        if due_at <= now {
            l.queue.push(&url, failing, id);
            l.queued.insert(id);
        } else {
            next_due = Some(next_due.map_or(due_at, |d| d.min(due_at)));
        }
    }
    next_due
        .map(|d| Duration::from_secs(u64::try_from(d - now).unwrap_or(0)))
        .unwrap_or(MAX_SLEEP)
        .clamp(MIN_SLEEP, MAX_SLEEP)
}

/// Starts queued sources while fewer tasks run than a few more than may fetch
/// at once (twice the sources allowed between fetch and store), unless every
/// write pauses or the database file is gone.
async fn start_queued(ctx: &Context, l: &mut Loop) {
    let most = pipeline::in_flight_limit(ctx.config.schedule.concurrency) * 2;
    let per_host = pipeline::started_per_host(&ctx.config.schedule);
    let paused = || {
        let now = std::time::Instant::now();
        ctx.health.is_database_lost() || ctx.store_backoff.paused_for(now).is_some()
    };
    while l.tasks.len() < most && !paused() {
        let Some((host, id)) = l.queue.next(per_host) else {
            break;
        };
        // Removed, disabled or gone since it was queued: not fetched; one
        // that cannot be read now is queued again by a later scan.
        let source = ctx.store.call(move |s| s.fetchable_source(id)).await;
        let Ok(Some(source)) = source else {
            l.queued.remove(&id);
            l.queue.finished(&host);
            if let Err(e) = source {
                tracing::error!("could not read a queued source: {e}");
                break;
            }
            continue;
        };
        let task_ctx = ctx.clone();
        let handle = l
            .tasks
            .spawn(async move { pipeline::process_source(&task_ctx, &source).await });
        l.in_flight.insert(handle.id(), (id, host));
    }
}

fn pipeline_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4).max(1)
}

/// Publishes what is stored and hands it to the server. Serving does not wait
/// for the files: when writing them fails (a full disk) the new stories are
/// still served, and `/healthz` says what failed.
async fn publish_to(ctx: &Context, state: &ServerState) {
    let rendered = match pipeline::render(ctx).await {
        Ok(p) => p,
        Err(e) => return publish_failed(ctx, &e),
    };
    let (served, written) = pipeline::write_publication(ctx, rendered).await;
    state.set_publication(served);
    match written {
        Ok(()) => ctx.health.publish_ok(),
        Err(e) => publish_failed(ctx, &e),
    }
}

/// Logs a failed publish and shows it on `/healthz`.
fn publish_failed(ctx: &Context, e: &anyhow::Error) {
    let why = crate::util::error_text(e);
    tracing::error!("publishing failed: {why}");
    ctx.health.publish_failed(&why);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "{extra}\n[[feed]]\nname = \"A\"\nurl = \"http://a.test/feed\"\n\
             [[feed]]\nname = \"B\"\nurl = \"http://b.test/feed\"\nexclude = \"sport\"\n"
        );
        Config::parse(&text, std::path::Path::new("feeds.toml")).unwrap()
    }

    #[test]
    fn a_global_edit_changes_the_sources_it_applies_to() {
        let old = config("");
        let changes = SourceChanges::between(&old, &config("[filters]\nexclude = \"(?i)ads\"\n"));
        assert_eq!(changes.changed.len(), 2, "{:?}", changes.changed);
        assert!(changes.added.is_empty() && changes.removed == 0);
        // Only one source's own filter: only that source.
        let mut new = config("");
        new.sources[1].filters = Default::default();
        let changes = SourceChanges::between(&old, &new);
        assert_eq!(changes.changed, ["http://b.test/feed"]);
        // The default interval: the sources without one of their own.
        let mut new = config("[schedule]\ninterval = \"5m\"\n");
        new.sources[1].interval = Some(std::time::Duration::from_secs(60));
        let mut old = config("");
        old.sources[1].interval = Some(std::time::Duration::from_secs(60));
        let changes = SourceChanges::between(&old, &new);
        assert_eq!(changes.changed, ["http://a.test/feed"]);
        // Enabled again: like an added source, fetched at once.
        let mut off = config("");
        off.sources[0].enabled = false;
        let changes = SourceChanges::between(&off, &config(""));
        assert_eq!(changes.added, ["http://a.test/feed"]);
    }
}
