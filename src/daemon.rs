//! The daemon: runs each source when it is due, republishes after changes, serves
//! the feed, and stops cleanly on SIGINT/SIGTERM (in-flight fetches finish and
//! their writes are committed before the database closes).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::pipeline::{self, sources_to_fetch, Context, Selection, SourceOutcome};
use crate::server::{router, ServerState};

/// The longest the scheduler sleeps before looking at the sources again.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Changes are published at most this often while fetches are still running.
const PUBLISH_DEBOUNCE: Duration = Duration::from_secs(5);
/// How often retention pruning runs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often the config file is checked for changes.
const RELOAD_POLL: Duration = Duration::from_secs(1);

/// Watches the config file's content (not its mtime: editors and `git checkout`
/// keep or reset mtimes in surprising ways).
struct ConfigWatch {
    path: std::path::PathBuf,
    last: Option<String>,
}

impl ConfigWatch {
    fn new(path: &std::path::Path) -> Self {
        let last = std::fs::read(path)
            .ok()
            .map(|b| crate::util::sha256_hex(&b));
        ConfigWatch {
            path: path.to_path_buf(),
            last,
        }
    }

    /// Forgets what was seen, so the next check reloads whatever is there.
    fn forget(&mut self) {
        self.last = None;
    }

    /// A new valid config when the file changed. An invalid one is logged with
    /// its lines and ignored: the daemon keeps its last good config.
    fn changed(&mut self) -> Option<Config> {
        let bytes = std::fs::read(&self.path).ok()?;
        let hash = crate::util::sha256_hex(&bytes);
        if self.last.as_deref() == Some(hash.as_str()) {
            return None;
        }
        self.last = Some(hash);
        match Config::load(&self.path) {
            Ok(cfg) => Some(cfg),
            Err(errors) => {
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

/// Switches the running daemon to `new`: added sources become due at once,
/// removed ones stop, changed ones are fetched again with their new settings.
/// Returns true when the feeds should be republished.
async fn apply_reload(ctx: &mut Context, mut new: Config) -> bool {
    let old = ctx.config.clone();
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
    let added = new
        .sources
        .iter()
        .filter(|n| !old.sources.iter().any(|o| o.url == n.url))
        .count();
    let removed = old
        .sources
        .iter()
        .filter(|o| !new.sources.iter().any(|n| n.url == o.url))
        .count();
    let changed: Vec<String> = new
        .sources
        .iter()
        .filter(|n| old.sources.iter().any(|o| o.url == n.url && o != *n))
        .map(|n| n.url.to_string())
        .collect();
    if new.fetch != old.fetch {
        match Fetcher::new(&new.fetch) {
            Ok(f) => ctx.fetcher = f,
            Err(e) => tracing::error!("keeping the old [fetch] settings: {e}"),
        }
    }
    if new.schedule.concurrency != old.schedule.concurrency {
        ctx.global = std::sync::Arc::new(tokio::sync::Semaphore::new(new.schedule.concurrency));
        ctx.in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(
            pipeline::in_flight_limit(new.schedule.concurrency),
        ));
    }
    if new.schedule.per_host != old.schedule.per_host {
        ctx.hosts = crate::schedule::HostSlots::new(new.schedule.per_host);
    }
    let sources = new.sources.clone();
    let due = changed.clone();
    let synced = ctx
        .store
        .call(move |s| {
            s.sync_sources(&pipeline::source_specs(&sources))?;
            s.make_due(&due)
        })
        .await;
    if let Err(e) = synced {
        tracing::error!("could not apply the new config to the database: {e}");
        return false;
    }
    tracing::info!(
        sources = new.sources.len(),
        added,
        removed,
        changed = changed.len(),
        "reloaded {}",
        new.path.display()
    );
    ctx.config = std::sync::Arc::new(new);
    true
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

/// Triggers `shutdown` on SIGINT or SIGTERM.
pub fn stop_on_signals(shutdown: Shutdown) {
    tokio::spawn(async move {
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
        tracing::info!("stopping: letting in-flight fetches finish");
        shutdown.trigger();
    });
}

/// Binds `[server] listen` and runs the daemon until `shutdown` fires.
pub async fn run(ctx: Context, shutdown: Shutdown) -> anyhow::Result<()> {
    let listen = ctx.config.server.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (is another feedsieve running? change [server] listen)"
            )
        })?;
    serve(ctx, listener, shutdown).await
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
    );
    // Serve what is stored right away, before the first fetch finishes.
    state.set_publication(pipeline::publish(&ctx).await?);
    let local = listener.local_addr()?;
    tracing::info!(
        "serving the front page at http://{local}/ and the feed at http://{local}/feed.xml"
    );
    let app = router(state.clone());
    let server_stop = shutdown.subscribe();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped(server_stop))
            .await
    });
    let result = schedule_loop(ctx, &state, shutdown).await;
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("the HTTP server failed: {e}"),
        Err(e) => tracing::error!("the HTTP server task failed: {e}"),
    }
    result
}

/// Task id → source id of the fetches running now.
type InFlight = HashMap<tokio::task::Id, i64>;

async fn schedule_loop(
    mut ctx: Context,
    state: &ServerState,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let mut watch = ConfigWatch::new(&ctx.config.path);
    let mut reload_tick = tokio::time::interval(RELOAD_POLL);
    reload_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = Hangup::new();
    warn_about_gone_sources(&ctx).await?;
    let mut stop = shutdown.subscribe();
    let mut tasks: JoinSet<SourceOutcome> = JoinSet::new();
    let mut in_flight: InFlight = HashMap::new();
    let mut dirty = false;
    let mut last_publish = tokio::time::Instant::now();
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        dirty |= prune_when_due(&ctx, &mut last_prune).await;
        let sleep_for = spawn_due_sources(&ctx, &mut tasks, &mut in_flight).await?;
        tokio::select! {
            _ = stop.changed() => {}
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                match done {
                    Ok((task, outcome)) => {
                        in_flight.remove(&task);
                        dirty |= outcome.changed();
                    }
                    Err(e) => {
                        in_flight.remove(&e.id());
                        tracing::error!("a fetch task failed: {e}");
                    }
                }
            }
            _ = tokio::time::sleep(sleep_for) => {}
            _ = reload_tick.tick() => {
                if let Some(new) = watch.changed() {
                    dirty |= apply_reload(&mut ctx, new).await;
                }
            }
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reading the config again");
                watch.forget();
                if let Some(new) = watch.changed() {
                    dirty |= apply_reload(&mut ctx, new).await;
                }
            }
        }
        if dirty && (tasks.is_empty() || last_publish.elapsed() >= PUBLISH_DEBOUNCE) {
            publish_to(&ctx, state).await;
            dirty = false;
            last_publish = tokio::time::Instant::now();
        }
    }
    // Let in-flight fetches finish (each is bounded by the fetch timeout), so their
    // transactions commit before the database closes.
    while let Some(done) = tasks.join_next().await {
        if let Ok(outcome) = done {
            dirty |= outcome.changed();
        }
    }
    if dirty {
        publish_to(&ctx, state).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Reminds the operator of sources that answered 410 Gone and are no longer fetched.
async fn warn_about_gone_sources(ctx: &Context) -> anyhow::Result<()> {
    for s in ctx.store.call(|s| s.sources()).await? {
        if s.gone {
            tracing::warn!(source = %s.name, url = %s.url, "this source answered 410 Gone earlier and is not fetched; remove it from the config");
        }
    }
    Ok(())
}

/// Prunes past retention when [`PRUNE_EVERY`] has passed; true when items went.
async fn prune_when_due(ctx: &Context, last_prune: &mut Option<tokio::time::Instant>) -> bool {
    if !last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
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

/// Starts a task for every due source not already running; returns how long to
/// sleep before the next one is due.
async fn spawn_due_sources(
    ctx: &Context,
    tasks: &mut JoinSet<SourceOutcome>,
    in_flight: &mut InFlight,
) -> anyhow::Result<Duration> {
    let now = Utc::now().timestamp();
    let all = ctx
        .store
        .call(move |s| sources_to_fetch(s, Selection::All, now))
        .await?;
    let mut next_due: Option<i64> = None;
    for source in all {
        if in_flight.values().any(|&id| id == source.id) {
            continue;
        }
        if source.next_fetch_at <= now {
            let task_ctx = ctx.clone();
            let source_id = source.id;
            let handle =
                tasks.spawn(async move { pipeline::process_source(&task_ctx, &source).await });
            in_flight.insert(handle.id(), source_id);
        } else {
            next_due = Some(next_due.map_or(source.next_fetch_at, |d| d.min(source.next_fetch_at)));
        }
    }
    Ok(next_due
        .map(|d| Duration::from_secs(u64::try_from(d - now).unwrap_or(0)))
        .unwrap_or(MAX_SLEEP)
        .clamp(Duration::from_millis(200), MAX_SLEEP))
}

/// Publishes what is stored and hands it to the server; a failure is logged.
async fn publish_to(ctx: &Context, state: &ServerState) {
    match pipeline::publish(ctx).await {
        Ok(publication) => state.set_publication(publication),
        Err(e) => tracing::error!("publishing failed: {e:#}"),
    }
}
