//! One source through the stages, one full cycle over every source, and
//! publishing afterwards. The daemon and `feedsieve fetch` both call these, so
//! what a user runs by hand is what the daemon runs.
//!
//! This is the only module that knows every stage. A source goes through these
//! steps, each in its own file:
//! 1. [`fetch_read`]: fetch (conditionally) and read the feed, or a page's links;
//! 2. [`page_articles`] or [`full_text`]: a page source's links, or a feed's
//!    teasers, become extracted articles;
//! 3. [`filters`]: the include/exclude rules judge the text subscribers would get;
//! 4. [`embedding`]: new items are embedded, when a model is configured;
//! 5. `store_write`: the store write, in one savepoint of a transaction shared
//!    with the other writes queued by then, while the [`dedup`] step decides
//!    which story each new item joins on another thread (`decide_ahead`).
//!
//! A failed store write backs off like a failed fetch (and pauses every fetch
//! while the disk is full); once [`stop`] says the daemon stops, nothing new
//! starts and what is in flight gets a grace period.

mod decide_ahead;
pub mod dedup;
pub mod embedding;
pub mod fetch_read;
pub mod filters;
pub mod full_text;
pub mod page_articles;
#[cfg(test)]
mod refine_tests;
pub mod stop;
mod store_write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::fetch::Fetcher;
use crate::health::Health;
use crate::metrics::{FetchResult, Metrics};
use crate::publish::{page_id, render_with, FeedIds, MovedPage, Publication, StoryPages};
use crate::schedule::{in_words, HostSlots, StartQueue, StoreBackoff};
use crate::store::{
    FetchRecord, IngestStats, SharedStore, SourceRecord, SourceSpec, Store, StoreError, Story,
};

pub use self::dedup::StoryDedup;
pub use fetch_read::FetchedSource;
pub use full_text::{fetch_article, is_teaser};
pub use stop::Stopping;
use store_write::{store_fetch, StoreWrite, WriteQueue};

/// Everything a cycle needs, shared by all fetch tasks.
#[derive(Clone)]
pub struct Context {
    /// The config in force.
    pub config: Arc<Config>,
    /// The one HTTP client.
    pub fetcher: Fetcher,
    /// The one database.
    pub store: SharedStore,
    /// Store writes waiting for the database, written together.
    writes: Arc<WriteQueue>,
    /// How many fetches and sources may run at once.
    pub limits: FetchLimits,
    /// Text work (parsing, extracting, analysing for dedup) running at once
    /// ([`Context::text_work`]).
    text_work: Arc<Semaphore>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Story dedup over the recent window; `None`: every item is its own story.
    pub dedup: Option<Arc<StoryDedup>>,
    /// What is wrong, for `/healthz` and `/status`.
    pub health: Arc<Health>,
    /// Backoff after failed store writes.
    pub store_backoff: Arc<StoreBackoff>,
    /// Article pages of page sources that failed, and when to try them again.
    pub article_backoff: Arc<crate::schedule::ArticleBackoff>,
    /// Hosts that left an article page unanswered (a timeout, a refused
    /// connection), and until when no other article page of theirs is asked
    /// for: a feed keeps its own text instead of waiting out every page.
    pub resting_hosts: Arc<crate::schedule::ArticleBackoff>,
    /// Set when the daemon stops: nothing new starts.
    pub stop: Stopping,
    /// The time fetches are stored and retention counts at.
    pub clock: Clock,
    /// The lock this process holds on the database (the daemon's, which takes
    /// its path's lock again when the `.lock` file is deleted); `None` in tests.
    pub db_lock: Option<Arc<std::sync::Mutex<crate::store::DbLock>>>,
    /// The story pages last written: a story that did not change keeps its page
    /// (neither rendered nor written again).
    pub story_pages: Arc<std::sync::Mutex<Option<StoryPages>>>,
}

/// How many fetches and sources may run at once, from `[schedule]`. A reload
/// that changes them puts new ones in place; fetches already running keep
/// the permits they hold.
#[derive(Clone)]
pub struct FetchLimits {
    /// Fetches in flight overall.
    pub global: Arc<Semaphore>,
    /// Fetches that outran [`Context::slow_after`] and gave their `global`
    /// place back ([`fetch_read::within_limits`]), as many as `global` has.
    pub slow_lane: Arc<Semaphore>,
    /// Sources between the start of their fetch and the end of their store
    /// write. Taken before `global`: a fetched feed waits for the one database
    /// writer holding its items, and without this bound a burst of a thousand
    /// feeds would all be fetched and parsed, each waiting on its own blocking
    /// thread (measured: 515 threads and 364 MiB in the 1000-feed benchmark).
    pub in_flight: Arc<Semaphore>,
    /// Fetches in flight per host.
    pub hosts: HostSlots,
}

impl FetchLimits {
    /// The limits `schedule` sets.
    pub fn new(schedule: &crate::config::ScheduleConfig) -> Self {
        FetchLimits {
            global: Arc::new(Semaphore::new(schedule.concurrency)),
            slow_lane: Arc::new(Semaphore::new(schedule.concurrency)),
            in_flight: Arc::new(Semaphore::new(in_flight_limit(schedule.concurrency))),
            hosts: HostSlots::new(schedule.per_host),
        }
    }
}

/// Where the pipeline reads the time: the system clock, or one a test sets
/// (dates and retention are then tested without sleeping).
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// A clock that says `at` (Unix seconds) until [`Clock::set`] moves it.
    pub fn fixed(at: i64) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(at))))
    }

    /// Moves a fixed clock to `at`; the system clock is left alone.
    pub fn set(&self, at: i64) {
        if let Some(t) = &self.0 {
            t.store(at, Ordering::Relaxed);
        }
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_utc().timestamp()
    }

    /// Now.
    pub fn now_utc(&self) -> DateTime<Utc> {
        match &self.0 {
            Some(t) => DateTime::from_timestamp(t.load(Ordering::Relaxed), 0).unwrap_or_default(),
            None => Utc::now(),
        }
    }
}

impl Context {
    /// Opens the database and builds the client for `config`, and brings the
    /// stored sources in line with the config.
    pub fn open(config: Config) -> anyhow::Result<Context> {
        use anyhow::Context as _;
        let fetcher = Fetcher::new(&config.fetch).context("setting up the HTTP client")?;
        let store = Store::open(&config.database.path)
            .with_context(|| format!("opening the database {}", config.database.path.display()))?;
        if store.created() {
            warn_about_new_database(&config);
        }
        if let Some(bytes) = config.database.max_size {
            store
                .limit_size(bytes)
                .context("applying [database] max_size")?;
        }
        let health = Arc::new(Health::default());
        let mut store = store;
        // The daemon's writes are the serial part of a big cycle.
        store.checkpoint_in_background();
        match store.sync_sources(&source_specs(&config)) {
            Ok(()) => {}
            // Start anyway and serve what is stored: the sources already
            // recorded are fetched, and writes back off until space returns.
            Err(e) if e.is_machine_fault() => {
                tracing::error!("could not record the configured sources: {e}; starting with the sources recorded before");
                health.sources_unrecorded(Some(e.to_string()));
            }
            Err(e) => return Err(e).context("recording the configured sources"),
        }
        let dedup = if config.dedup.enabled {
            let dedup = StoryDedup::open(config.dedup.clone()).context("starting story dedup")?;
            Some(Arc::new(dedup))
        } else {
            None
        };
        Ok(Context {
            limits: FetchLimits::new(&config.schedule),
            text_work: Arc::new(Semaphore::new(text_work_limit(config.dedup.enabled))),
            metrics: Arc::default(),
            dedup,
            clock: Clock::default(),
            health,
            store_backoff: Arc::default(),
            article_backoff: Arc::default(),
            resting_hosts: Arc::default(),
            stop: Stopping::default(),
            db_lock: None,
            story_pages: Arc::default(),
            config: Arc::new(config),
            fetcher,
            store: SharedStore::new(store),
            writes: Arc::default(),
        })
    }

    /// How long a fetch runs before it moves to the slow lane: a sixth of the
    /// fetch timeout (5 s by default), long past what a healthy feed takes.
    pub fn slow_after(&self) -> Duration {
        self.config.fetch.timeout / 6
    }

    /// Runs CPU-bound text work `f` on a blocking thread, once one of the
    /// `text_work_limit` slots is free.
    pub async fn text_work<R, F>(&self, f: F) -> Result<R, tokio::task::JoinError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let _slot = self.text_work.acquire().await.ok();
        tokio::task::spawn_blocking(f).await
    }
}

/// Says that a new, empty database was created, loudly when a feed published
/// from an earlier one is still there (its history would start over).
fn warn_about_new_database(config: &Config) {
    let db = config.database.path.display();
    match crate::publish::published_items(&config.output) {
        Some(n) if n > 0 => tracing::error!(
            "new database created at {db}, but {} holds {n} published stories from an earlier database: \
             was the database deleted or moved? The published feed is kept until new stories arrive; \
             stop feedsieve and put the old database back to keep its history",
            config.output.path.display()
        ),
        _ => tracing::info!("new database created at {db}"),
    }
}

/// What happened to one source in one cycle.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// New or changed items were stored.
    Stored(IngestStats),
    /// HTTP 304.
    NotModified,
    /// HTTP 200 with the body seen last time.
    Unchanged,
    /// Fetch, parse or store failed; the message says why.
    Failed(String),
    /// Not fetched, or cut short, because the daemon is stopping; nothing was
    /// stored and the source stays due.
    Cancelled,
    /// Fetched, but its source's URL was edited meanwhile: nothing was kept
    /// (the items and failures were the old address's); the source is
    /// fetched at its new URL.
    Moved,
}

/// One source's result in a cycle.
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    /// Source row id.
    pub source_id: i64,
    /// Outlet name.
    pub name: String,
    /// Configured URL.
    pub url: String,
    /// What happened.
    pub outcome: Outcome,
    /// When it is due again (Unix seconds).
    pub next_fetch_at: i64,
}

impl SourceOutcome {
    /// True when stored items changed, so the feed should be republished.
    pub fn changed(&self) -> bool {
        matches!(&self.outcome, Outcome::Stored(s) if s.changed())
    }
}

/// Text work allowed at once: with story dedup, one thread fewer than the
/// cores (at least one), so that the store's write, which decides stories one
/// item after another and bounds a big cycle, keeps a core to itself instead of
/// sharing it with the parses and analyses that only fill its queue further.
/// Measured on 2 cores, 1,000 feeds: 16 of them at once made the first cycle
/// last about 3 % longer.
fn text_work_limit(dedup: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if dedup {
        cores.saturating_sub(1).max(1)
    } else {
        cores
    }
}

/// Sources allowed between fetch and store at once: twice the fetch
/// concurrency, so fetching goes on while the writer stores the previous batch.
pub fn in_flight_limit(concurrency: usize) -> usize {
    concurrency.saturating_mul(2).max(1)
}

/// Sources of one host started at once: as many as may fetch at once, so one
/// host's sources waiting for its slots hold at most half the places between
/// fetch and store ([`in_flight_limit`]). A `per_host` above that raises it to
/// `per_host`, which the host may then all fetch at once: a config whose
/// sources share one server still fetches past the ones that hang there.
pub fn started_per_host(schedule: &crate::config::ScheduleConfig) -> usize {
    schedule.concurrency.max(schedule.per_host)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

/// The sources as the store records them.
pub fn source_specs(config: &Config) -> Vec<SourceSpec> {
    config
        .sources
        .iter()
        // A disabled source is left inactive, like a removed one: not fetched.
        .filter(|s| s.enabled)
        .map(|s| SourceSpec {
            url: s.url.to_string(),
            kind: s.kind.as_str().to_string(),
            name: s.name.clone(),
            category: s.category.clone(),
            reading: reading(s, config),
            extraction: extraction(s),
            interval_secs: secs(config.interval_of(s)),
        })
        .collect()
}

/// A hash of what decides which of a source's items are stored and published,
/// and with what text: its own settings, the global `[filters]`, and how many
/// items of a feed are read (`[fetch] max_items_per_feed`).
fn reading(s: &SourceConfig, config: &Config) -> String {
    let mut settings = format!(
        "{:?}",
        (
            s.kind,
            s.full_text,
            &s.content,
            &s.remove,
            s.filters.patterns(),
            config.filters.patterns(),
            &s.links,
            s.max_new,
        )
    );
    // Only when set: the hashes of sources recorded before it counted stay
    // the same, so an upgrade reads no source again.
    let items = config.fetch.max_items_per_feed;
    if items != crate::fetch::DEFAULT_MAX_ITEMS_PER_FEED {
        settings.push_str(&format!(" max_items_per_feed {items}"));
    }
    crate::util::sha256_hex(settings.as_bytes())[..16].to_string()
}

/// A hash of how a source's articles are extracted: when it changes, the
/// stored ones are extracted again.
fn extraction(s: &SourceConfig) -> String {
    let settings = format!("{:?}", (s.kind, s.full_text, &s.content, &s.remove));
    crate::util::sha256_hex(settings.as_bytes())[..16].to_string()
}

/// Fetches, reads and stores one source, and records its next due time.
/// Never fails: every error is recorded against the source and returned as
/// [`Outcome::Failed`]. Once the pipeline stops, a source that has not started
/// is not fetched, and a fetch cut short is not stored ([`Outcome::Cancelled`]).
pub async fn process_source(ctx: &Context, source: &SourceRecord) -> SourceOutcome {
    // Held until the fetch is stored (permits: in_flight, then the host, then
    // global, then perhaps the slow lane; see `fetch_read::within_limits`).
    let _in_flight = ctx.limits.in_flight.clone().acquire_owned().await.ok();
    let started = ctx.clock.now_utc();
    let clock = std::time::Instant::now();
    let cfg = ctx.config.source(&source.url);
    let interval = cfg
        .map(|s| ctx.config.interval_of(s))
        .unwrap_or(ctx.config.schedule.interval);
    let fetched = match ctx.stop.is_stopping() {
        true => None,
        false => fetch_read::fetch_and_read(ctx, source, cfg, interval, started).await,
    };
    let Some(FetchedSource {
        mut record,
        next,
        bytes,
        detail,
    }) = fetched
    else {
        return source_outcome(source, Outcome::Cancelled, source.next_fetch_at);
    };
    let full_text_keys = match cfg {
        Some(cfg) => articles_then_filters(ctx, source.id, cfg, &mut record).await,
        None => Vec::new(),
    };
    let now = ctx.clock.now();
    let next_fetch_at = now + secs(next);
    let outcome = fetch_outcome(source, &record, next, detail.as_deref());
    embedding::embed_new_items(ctx, source.id, &record).await;
    let analysed = dedup::analyse_new_items(ctx, source, &record, now).await;
    store_write::hash_items(&mut record);
    let write = StoreWrite {
        source_id: source.id,
        url: source.url.clone(),
        record,
        now,
        next_fetch_at,
        full_text_keys,
        settings: cfg.map(|c| {
            let interval = secs(ctx.config.interval_of(c));
            (reading(c, &ctx.config), interval, extraction(c))
        }),
    };
    let stored = store_fetch(ctx, write, analysed).await;
    if let Some(articles) = ctx.dedup.as_ref().and_then(|d| d.window_len()) {
        ctx.metrics.set_dedup_window(articles);
    }
    let (outcome, next_fetch_at) = stored_outcome(ctx, source, outcome, stored, next_fetch_at);
    record_metrics(ctx, source, &outcome, clock.elapsed(), bytes);
    match &outcome {
        Outcome::Failed(e) => ctx.health.fetched(source.id, Some((&source.name, e))),
        Outcome::Cancelled | Outcome::Moved => {}
        _ => ctx.health.fetched(source.id, None),
    }
    source_outcome(source, outcome, next_fetch_at)
}

fn source_outcome(source: &SourceRecord, outcome: Outcome, next_fetch_at: i64) -> SourceOutcome {
    SourceOutcome {
        source_id: source.id,
        name: source.name.clone(),
        url: source.url.clone(),
        outcome,
        next_fetch_at,
    }
}

/// Article pages, after the source's permits are released (article fetches
/// take their own): a page source's links become articles; a feed's teasers
/// become full text. Filters then judge the text subscribers would get.
/// Returns the keys of the items that now hold full text.
async fn articles_then_filters(
    ctx: &Context,
    source_id: i64,
    cfg: &SourceConfig,
    record: &mut FetchRecord,
) -> Vec<String> {
    let FetchRecord::Parsed {
        items,
        admitted: verdicts,
        etag,
        last_modified,
        body_hash,
        ..
    } = record
    else {
        return Vec::new();
    };
    // The keys of the items that hold an article extracted under the
    // source's settings now.
    let (full_text_keys, complete) = if cfg.kind == SourceKind::Page {
        let pages = page_articles::fill_page_articles(ctx, source_id, cfg, items).await;
        (pages.keys, pages.complete)
    } else {
        let full = full_text::fill_full_text(ctx, source_id, cfg, items).await;
        (full.keys, full.complete)
    };
    if !complete {
        // Pages are left for later: read the document again next time even
        // if it has not changed.
        *etag = None;
        *last_modified = None;
        body_hash.clear();
    }
    // Article pages fill fields too: they get the same caps as the feed's.
    for item in items.iter_mut() {
        crate::read::limits::cap_fields(item);
    }
    *verdicts = filters::admitted(ctx, Some(cfg), items);
    full_text_keys
}

/// What the fetch gave, before it is stored; failures are logged here.
fn fetch_outcome(
    source: &SourceRecord,
    record: &FetchRecord,
    next: Duration,
    detail: Option<&str>,
) -> Outcome {
    match record {
        FetchRecord::Failed { error, gone } => {
            if *gone {
                tracing::error!(source = %source.name, url = %crate::util::http::masked_password(&source.url), "{error}; the source is gone and will not be fetched again: remove it from the config");
            } else {
                tracing::warn!(source = %source.name, url = %crate::util::http::masked_password(&source.url), failures = source.error_count + 1, retry_in = %in_words(next), detail, "fetch failed: {error}");
            }
            Outcome::Failed(error.clone())
        }
        FetchRecord::Unchanged {
            not_modified: true, ..
        } => Outcome::NotModified,
        FetchRecord::Unchanged { .. } => Outcome::Unchanged,
        FetchRecord::Parsed { .. } => Outcome::Stored(IngestStats::default()),
    }
}

/// The source's outcome once the store write is done (or failed), logged, and
/// when it is due again. A failed write backs off like a failed fetch: for the
/// source, and for every source while the machine fails (a full disk).
fn stored_outcome(
    ctx: &Context,
    source: &SourceRecord,
    fetched: Outcome,
    stored: Result<IngestStats, StoreError>,
    next_fetch_at: i64,
) -> (Outcome, i64) {
    let outcome = match (fetched, stored) {
        (_, Ok(stats)) if stats.moved => {
            tracing::info!(source = %source.name, url = %source.url, "the source moved to another URL during this fetch: its result is not kept");
            // Its row, at the new URL, is due now.
            return (Outcome::Moved, Utc::now().timestamp());
        }
        (Outcome::Stored(_), Ok(stats)) => {
            tracing::info!(source = %source.name, new = stats.new, updated = stats.updated, skipped = stats.skipped, "stored");
            Outcome::Stored(stats)
        }
        (other, Ok(_)) => {
            tracing::debug!(source = %source.name, outcome = ?other, "fetched");
            other
        }
        (_, Err(e)) => return store_failed(ctx, source, &e),
    };
    ctx.store_backoff.succeeded(source.id);
    let grew = matches!(&outcome, Outcome::Stored(s) if s.changed());
    ctx.health.store_ok(source.id, grew);
    (outcome, next_fetch_at)
}

/// Backs a source off after its store write failed, and reports it.
fn store_failed(ctx: &Context, source: &SourceRecord, e: &StoreError) -> (Outcome, i64) {
    let machine = e.is_machine_fault();
    let wait = ctx
        .store_backoff
        .failed(source.id, machine, std::time::Instant::now());
    let retry_in = in_words(wait);
    if machine {
        tracing::error!(source = %source.name, %retry_in, "could not store the fetch: {e}; every fetch pauses until the database can be written again");
    } else {
        tracing::error!(source = %source.name, %retry_in, "could not store the fetch: {e}");
    }
    ctx.health.store_failed(source.id, &e.to_string());
    (
        Outcome::Failed(format!("database: {e}")),
        Utc::now().timestamp() + secs(wait),
    )
}

/// Counts the fetch for `/metrics`.
fn record_metrics(
    ctx: &Context,
    source: &SourceRecord,
    outcome: &Outcome,
    took: Duration,
    bytes: u64,
) {
    let (result, new, updated) = match outcome {
        Outcome::Stored(s) => (FetchResult::Ok, s.new, s.updated),
        Outcome::NotModified => (FetchResult::NotModified, 0, 0),
        Outcome::Unchanged => (FetchResult::Unchanged, 0, 0),
        Outcome::Failed(_) => (FetchResult::Error, 0, 0),
        Outcome::Cancelled | Outcome::Moved => return,
    };
    ctx.metrics
        .record_fetch(&source.name, result, took, bytes, new, updated);
}

/// Which sources a cycle visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every active source.
    All,
    /// Every active source but those waiting out a backoff after a failure
    /// (a server's `Retry-After` among them): what `feedsieve fetch` does, so
    /// a fetch from cron is no harder on a failing server than the daemon.
    AllButBackingOff,
    /// Only sources whose next fetch time has come.
    Due,
    /// The one active source with this URL, due or not (`fetch --source`).
    Url(String),
}

/// Sources the cycle would fetch now. Sources that answered 410 are left out,
/// unless named (`fetch --source`): a source that is back is then read again,
/// and its 410 forgotten.
pub fn sources_to_fetch(
    store: &mut Store,
    selection: Selection,
    now: i64,
) -> Result<Vec<SourceRecord>, StoreError> {
    Ok(store
        .sources()?
        .into_iter()
        .filter(|s| !s.gone || matches!(&selection, Selection::Url(url) if &s.url == url))
        .filter(|s| match &selection {
            Selection::All => true,
            Selection::AllButBackingOff => !s.backing_off(now),
            Selection::Due => s.next_fetch_at <= now,
            Selection::Url(url) => &s.url == url,
        })
        .collect())
}

/// The result of one cycle.
#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    /// Every visited source.
    pub outcomes: Vec<SourceOutcome>,
    /// The documents, when they were published in this cycle.
    pub published: Option<Publication>,
}

/// A cycle's sources: those waiting to start, and those running with the host
/// each was started for.
struct CycleTasks {
    queue: StartQueue<SourceRecord>,
    running: JoinSet<SourceOutcome>,
    hosts: HashMap<tokio::task::Id, String>,
}

impl CycleTasks {
    /// The sources, queued; none started yet.
    fn new(sources: Vec<SourceRecord>) -> Self {
        let mut queue = StartQueue::default();
        for source in sources {
            let (url, failing) = (source.url.clone(), source.error_count > 0);
            queue.push(&url, failing, source);
        }
        CycleTasks {
            queue,
            running: JoinSet::new(),
            hosts: HashMap::new(),
        }
    }

    /// Starts queued sources while fewer run than a few more than may run at
    /// once: a waiting task holds its future (kilobytes), and 100,000 of them
    /// at once took 700 MB.
    fn start(&mut self, ctx: &Context) {
        let most = in_flight_limit(ctx.config.schedule.concurrency) * 2;
        let per_host = started_per_host(&ctx.config.schedule);
        while self.running.len() < most {
            let Some((host, source)) = self.queue.next(per_host) else {
                break;
            };
            let ctx = ctx.clone();
            let task = self
                .running
                .spawn(async move { process_source(&ctx, &source).await });
            self.hosts.insert(task.id(), host);
        }
    }

    /// The next source to end, with others started in its place; None once
    /// every source has ended.
    async fn next_done(
        &mut self,
        ctx: &Context,
    ) -> Option<Result<SourceOutcome, tokio::task::JoinError>> {
        let done = self.running.join_next_with_id().await?;
        let task = done.as_ref().map_or_else(|e| e.id(), |(id, _)| *id);
        if let Some(host) = self.hosts.remove(&task) {
            self.queue.finished(&host);
        }
        self.start(ctx);
        Some(done.map(|(_, outcome)| outcome))
    }
}

/// Fetches the selected sources concurrently (within the configured limits),
/// then republishes when anything changed. `on_done` sees each source as it ends.
pub async fn run_cycle(
    ctx: &Context,
    selection: Selection,
    mut on_done: impl FnMut(&SourceOutcome, usize, usize),
) -> anyhow::Result<CycleReport> {
    let now = ctx.clock.now();
    let sources = ctx
        .store
        .call(move |s| sources_to_fetch(s, selection, now))
        .await?;
    let total = sources.len();
    let mut tasks = CycleTasks::new(sources);
    tasks.start(ctx);
    let mut report = CycleReport::default();
    while let Some(res) = tasks.next_done(ctx).await {
        match res {
            Ok(outcome) => {
                on_done(&outcome, report.outcomes.len() + 1, total);
                report.outcomes.push(outcome);
            }
            Err(e) => tracing::error!("a fetch task failed: {e}"),
        }
    }
    let changed = report.outcomes.iter().any(SourceOutcome::changed);
    if changed || files_outdated(ctx).await || !ctx.config.output.path.exists() {
        report.published = Some(publish(ctx).await?);
    }
    Ok(report)
}

/// Renders the newest stories in every format and writes the files that changed.
pub async fn publish(ctx: &Context) -> anyhow::Result<Publication> {
    let publication = render(ctx).await?;
    let (served, written) = write_publication(ctx, publication).await;
    written.map(|()| served)
}

/// The `meta` key of [`published_settings`] at the last publish.
const PUBLISHED_SETTINGS_KEY: &str = "published_settings";

/// The `meta` key of when those settings were first published (Unix seconds).
const PUBLISHED_SETTINGS_AT_KEY: &str = "published_settings_at";

/// Whether the published files are older than the config: sources removed,
/// renamed or recategorised, or `[output]` edited since the last publish.
async fn files_outdated(ctx: &Context) -> bool {
    let config = ctx.config.clone();
    (ctx.store)
        .call(move |s| {
            let settings = published_settings(&config, s);
            Ok(s.setting(PUBLISHED_SETTINGS_KEY)?.as_deref() != Some(settings.as_str()))
        })
        .await
        .unwrap_or(true)
}

/// When the files' settings `settings` were first published: `now` when they
/// are not the recorded ones (this publish is the first with them).
fn settings_changed_at(s: &Store, settings: &str, now: i64) -> i64 {
    let recorded = s.setting(PUBLISHED_SETTINGS_KEY).ok().flatten();
    let at = s.setting(PUBLISHED_SETTINGS_AT_KEY).ok().flatten();
    match (recorded, at.and_then(|t| t.parse().ok())) {
        (Some(r), Some(at)) if r == settings => at,
        // Settings recorded by a build that kept no time: nothing to compare.
        (Some(r), None) if r == settings => 0,
        _ => now,
    }
}

/// Records `settings` as the published ones, since `now` when they are new.
fn record_published_settings(s: &mut Store, settings: &str, now: i64) -> Result<(), StoreError> {
    if s.setting(PUBLISHED_SETTINGS_KEY)?.as_deref() != Some(settings) {
        s.set_setting(PUBLISHED_SETTINGS_KEY, settings)?;
        s.set_setting(PUBLISHED_SETTINGS_AT_KEY, &now.to_string())?;
    }
    Ok(())
}

/// A hash of the settings the published files show: `[output]`, and the name
/// and category of each enabled source that has stored items. A source added
/// with nothing stored yet (or failing) changes no file: counting it rewrote
/// every file with a new date, and readers fetched the feed again for nothing.
fn published_settings(config: &Config, store: &Store) -> String {
    let with_items = store.source_urls_with_items().ok();
    let sources: Vec<_> = (config.sources.iter())
        .filter(|s| s.enabled)
        .filter(|s| {
            with_items
                .as_ref()
                .is_none_or(|w| w.contains(s.url.as_str()))
        })
        .map(|s| (s.url.as_str(), &s.name, &s.category))
        .collect();
    let settings = format!("{:?}", (&config.output, sources));
    crate::util::sha256_hex(settings.as_bytes())[..16].to_string()
}

/// Renders the newest stories in every format.
pub async fn render(ctx: &Context) -> anyhow::Result<Publication> {
    let limit = ctx.config.output.max_items;
    let out = ctx.config.output.clone();
    let now = Utc::now().timestamp();
    // Read and marked published under one lock: a member joining in between
    // would otherwise be missing from the document and not count as a change.
    let dedup = ctx.dedup.clone();
    let config = ctx.config.clone();
    let (ids, stories, joins, settings_changed, moved) = ctx
        .store
        .call(move |s| {
            // The stories that changed since the last publish are refined
            // first (a no-op when nothing new was stored).
            if let Some(dedup) = &dedup {
                if let Err(e) = dedup.refine(s, now) {
                    tracing::error!("refining the stories failed: {e}");
                }
            }
            let stories = s.latest_stories(limit)?;
            let ids = FeedIds::load_or_init(s, &out, now, !stories.is_empty())?;
            let settings = published_settings(&config, s);
            let settings_changed = settings_changed_at(s, &settings, now);
            let shown: Vec<i64> = stories.iter().map(|st| st.id).collect();
            // A database that cannot be written (full, read-only) still has
            // its stories served; the marks are made by the next publish.
            if let Err(e) = s.mark_published(&shown, now) {
                tracing::warn!("could not mark the published stories: {e}");
            }
            let members: Vec<i64> = stories
                .iter()
                .flat_map(|st| &st.items)
                .map(|i| i.id)
                .collect();
            let joins = s.join_records(&members)?;
            let moved = moved_pages(&ids, &stories, s.story_aliases(&shown)?);
            Ok((ids, stories, joins, settings_changed, moved))
        })
        .await?;
    let out = ctx.config.output.clone();
    let previous = ctx
        .story_pages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(tokio::task::spawn_blocking(move || {
        let previous = previous.as_ref();
        let publication = render_with(&out, &ids, &stories, &joins, previous, settings_changed);
        Publication {
            stories: publication.stories.with_moved(moved),
            ..publication
        }
    })
    .await?)
}

/// The page ids of merged stories (`aliases`: their GUIDs, each with the id of
/// the story that took it over), each with its heir's page id.
fn moved_pages(
    ids: &FeedIds,
    stories: &[Story],
    aliases: Vec<(String, i64, bool)>,
) -> Vec<(String, MovedPage)> {
    let guids: HashMap<i64, &str> = stories.iter().map(|s| (s.id, s.guid.as_str())).collect();
    let page = |guid: &str| page_id(&ids.story_id(guid)).to_string();
    aliases
        .into_iter()
        .filter_map(|(old, heir, article_changed)| {
            let to = page(guids.get(&heir)?);
            Some((
                page(&old),
                MovedPage {
                    to,
                    article_changed,
                },
            ))
        })
        .collect()
}

/// Writes the files of `publication` that changed (and pings the hub when any
/// did). Returns what to serve, and whether writing worked. An empty
/// publication from a database that never held a story never replaces
/// published stories (the old database was lost): those files are kept,
/// served, and a warning says why.
pub async fn write_publication(
    ctx: &Context,
    publication: Publication,
) -> (Publication, anyhow::Result<()>) {
    use anyhow::Context as _;
    let out = ctx.config.output.clone();
    let fallback = publication.clone();
    // Only a database that never held a story can stand for a lost one; one
    // that retention emptied publishes its empty feed.
    let new_database = ctx.store.with(|s| s.stories_ever().is_ok_and(|n| n == 0));
    let done = tokio::task::spawn_blocking(move || {
        if publication.rss.items == 0 && new_database {
            if let Some(kept) = Publication::read_back(&out).filter(|p| p.rss.items > 0) {
                tracing::warn!(path = %out.path.display(), stories = kept.rss.items, "the database holds no stories: keeping the published feed instead of replacing it with an empty one (delete it to publish an empty feed)");
                return (kept, Ok(false));
            }
        }
        let written = publication
            .write(&out)
            .with_context(|| format!("writing the feeds beside {}", out.path.display()));
        if matches!(written, Ok(n) if n > 0) {
            tracing::info!(path = %out.path.display(), stories = publication.rss.items, "published");
        }
        (publication, written.map(|n| n > 0))
    })
    .await;
    match done {
        Ok((served, Ok(changed))) => {
            // Only pages known to be on disk are carried over by the next publish.
            *ctx.story_pages.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(served.stories.clone());
            if changed {
                ping_hub(ctx);
            }
            let config = ctx.config.clone();
            let now = Utc::now().timestamp();
            let recorded = (ctx.store)
                .call(move |s| record_published_settings(s, &published_settings(&config, s), now))
                .await;
            if let Err(e) = recorded {
                tracing::debug!("could not record the published settings: {e}");
            }
            (served, Ok(()))
        }
        Ok((served, Err(e))) => (served, Err(e)),
        Err(e) => (
            fallback,
            Err(anyhow::anyhow!("the publishing task failed: {e}")),
        ),
    }
}

/// Tells the configured WebSub hub, in the background, that the feeds changed.
fn ping_hub(ctx: &Context) {
    let Some(hub) = ctx.config.output.hub.clone() else {
        return;
    };
    let base = url::Url::parse(&ctx.config.output.link).ok();
    let rss_name = ctx
        .config
        .output
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feed.xml".into());
    let topics: Vec<String> = [rss_name.as_str(), "atom.xml", "feed.json"]
        .iter()
        .filter_map(|f| base.as_ref()?.join(f).ok())
        .map(|u| u.to_string())
        .collect();
    let fetcher = ctx.fetcher.clone();
    tokio::spawn(async move {
        match fetcher.ping_hub(&hub, &topics).await {
            Ok(()) => tracing::info!(%hub, "notified the WebSub hub"),
            Err(e) => tracing::warn!(%hub, "notifying the WebSub hub failed: {e}"),
        }
    });
}

/// Prunes items older than the configured retention, counting no further than
/// the newest fetch stored (see [`Store::retention_now`]): a clock that jumps
/// forward does not prune what was fetched minutes ago.
pub async fn prune(ctx: &Context) -> Result<usize, StoreError> {
    let max_age = secs(ctx.config.database.max_age);
    let clock = ctx.clock.now();
    // Keys of pruned items are kept for four retention periods (at least a year),
    // so a feed that keeps listing an old item does not bring it back.
    let keep_keys = (4 * max_age).max(365 * 86400);
    let pruned = ctx
        .store
        .call(move |s| {
            let now = s.retention_now(clock)?;
            s.prune(now - max_age, now, now - keep_keys)
        })
        .await?;
    // With a retention shorter than the dedup window, the window held what
    // was just pruned: it is read back from the store, as after a restart,
    // so that it holds no article (nor story) the store no longer has.
    if let Some(dedup) = ctx.dedup.as_ref() {
        if pruned > 0 && ctx.config.database.max_age < ctx.config.dedup.window {
            dedup.forget_pruned();
        }
    }
    Ok(pruned)
}
