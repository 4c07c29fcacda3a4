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
//! 5. the store write, in one transaction, where the [`dedup`] step decides which
//!    story each new item joins.

pub mod dedup;
pub mod embedding;
pub mod fetch_read;
pub mod filters;
pub mod full_text;
pub mod page_articles;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::fetch::Fetcher;
use crate::metrics::{FetchResult, Metrics};
use crate::publish::{render_all, FeedIds, Publication};
use crate::schedule::HostSlots;
use crate::store::{
    FetchRecord, IngestStats, OneStoryPerItem, SharedStore, SourceRecord, SourceSpec, Store,
    StoreError,
};

pub use self::dedup::StoryDedup;
pub use fetch_read::FetchedSource;
pub use full_text::{fetch_article, is_teaser};

/// Everything a cycle needs, shared by all fetch tasks.
#[derive(Clone)]
pub struct Context {
    /// The config in force.
    pub config: Arc<Config>,
    /// The one HTTP client.
    pub fetcher: Fetcher,
    /// The one database.
    pub store: SharedStore,
    /// Fetches in flight overall.
    pub global: Arc<Semaphore>,
    /// Sources between the start of their fetch and the end of their store
    /// write. Taken before `global`: a fetched feed waits for the one database
    /// writer holding its items, and without this bound a burst of a thousand
    /// feeds would all be fetched and parsed, each waiting on its own blocking
    /// thread (measured: 515 threads and 364 MiB in the 1000-feed benchmark).
    pub in_flight: Arc<Semaphore>,
    /// Fetches in flight per host.
    pub hosts: HostSlots,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Story dedup over the recent window; `None`: every item is its own story.
    pub dedup: Option<Arc<StoryDedup>>,
    /// The time fetches are stored and retention counts at.
    pub clock: Clock,
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
        let mut store = Store::open(&config.database.path)
            .with_context(|| format!("opening the database {}", config.database.path.display()))?;
        store
            .sync_sources(&source_specs(&config.sources))
            .context("recording the configured sources")?;
        let dedup = if config.dedup.enabled {
            let dedup = StoryDedup::open(config.dedup.clone()).context("starting story dedup")?;
            Some(Arc::new(dedup))
        } else {
            None
        };
        Ok(Context {
            global: Arc::new(Semaphore::new(config.schedule.concurrency)),
            in_flight: Arc::new(Semaphore::new(in_flight_limit(config.schedule.concurrency))),
            hosts: HostSlots::new(config.schedule.per_host),
            metrics: Arc::default(),
            dedup,
            clock: Clock::default(),
            config: Arc::new(config),
            fetcher,
            store: SharedStore::new(store),
        })
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

/// Sources allowed between fetch and store at once: twice the fetch
/// concurrency, so fetching goes on while the writer stores the previous batch.
pub fn in_flight_limit(concurrency: usize) -> usize {
    concurrency.saturating_mul(2).max(1)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

/// The sources as the store records them.
pub fn source_specs(sources: &[SourceConfig]) -> Vec<SourceSpec> {
    sources
        .iter()
        .map(|s| SourceSpec {
            url: s.url.to_string(),
            kind: s.kind.as_str().to_string(),
            name: s.name.clone(),
            category: s.category.clone(),
        })
        .collect()
}

/// Fetches, reads and stores one source, and records its next due time.
/// Never fails: every error is recorded against the source and returned as
/// [`Outcome::Failed`].
pub async fn process_source(ctx: &Context, source: &SourceRecord) -> SourceOutcome {
    // Held until the fetch is stored (permits: in_flight, then global, then host).
    let _in_flight = ctx.in_flight.clone().acquire_owned().await.ok();
    let started = ctx.clock.now_utc();
    let clock = std::time::Instant::now();
    let cfg = ctx.config.source(&source.url);
    let interval = cfg
        .map(|s| ctx.config.interval_of(s))
        .unwrap_or(ctx.config.schedule.interval);
    let fetched = fetch_read::fetch_and_read(ctx, source, cfg, interval, started).await;
    let FetchedSource {
        mut record,
        next,
        bytes,
    } = fetched;
    let full_text_keys = match cfg {
        Some(cfg) => articles_then_filters(ctx, source.id, cfg, &mut record).await,
        None => Vec::new(),
    };
    let now = ctx.clock.now();
    let next_fetch_at = now + secs(next);
    let outcome = fetch_outcome(source, &record, next);
    embedding::embed_new_items(ctx, source.id, &record).await;
    let analysed = dedup::analyse_new_items(ctx, source, &record, now).await;
    let write = StoreWrite {
        source_id: source.id,
        record,
        now,
        next_fetch_at,
        full_text_keys,
    };
    let stored = store_fetch(ctx, write, analysed).await;
    let outcome = stored_outcome(source, outcome, stored);
    record_metrics(ctx, source, &outcome, clock.elapsed(), bytes);
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
    let mut full_text_keys = Vec::new();
    if cfg.kind == SourceKind::Page {
        if !page_articles::fill_page_articles(ctx, source_id, cfg, items).await {
            // Links are left for later: read the index again next time even
            // if it has not changed.
            *etag = None;
            *last_modified = None;
            body_hash.clear();
        }
    } else {
        full_text_keys = full_text::fill_full_text(ctx, source_id, cfg, items).await;
    }
    // Article pages fill fields too: they get the same caps as the feed's.
    for item in items.iter_mut() {
        crate::read::limits::cap_fields(item);
    }
    *verdicts = filters::admitted(ctx, Some(cfg), items);
    full_text_keys
}

/// What the fetch gave, before it is stored; failures are logged here.
fn fetch_outcome(source: &SourceRecord, record: &FetchRecord, next: Duration) -> Outcome {
    match record {
        FetchRecord::Failed { error, gone } => {
            if *gone {
                tracing::error!(source = %source.name, url = %source.url, "{error}; the source is gone and will not be fetched again: remove it from the config");
            } else {
                tracing::warn!(source = %source.name, url = %source.url, failures = source.error_count + 1, retry_in = %humantime::format_duration(Duration::from_secs(next.as_secs())), "fetch failed: {error}");
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

/// What one source's store write holds.
struct StoreWrite {
    source_id: i64,
    record: FetchRecord,
    /// When the fetch is stored (Unix seconds).
    now: i64,
    /// When the source is due again (Unix seconds).
    next_fetch_at: i64,
    /// Items that now hold the extracted article.
    full_text_keys: Vec<String>,
}

/// Writes the fetch in one transaction, with the dedup step deciding stories
/// (from the items analysed before), and marks the items that now hold full text.
async fn store_fetch(
    ctx: &Context,
    write: StoreWrite,
    analysed: dedup::AnalysedItems,
) -> Result<IngestStats, StoreError> {
    let dedup = ctx.dedup.clone();
    ctx.store
        .call(move |s| {
            let StoreWrite {
                source_id,
                record,
                now,
                next_fetch_at,
                full_text_keys,
            } = write;
            // Only a parsed fetch with new items needs the engine (and, the
            // first time, its window read back from the store).
            let deciding = matches!(record, FetchRecord::Parsed { .. }) && !analysed.none_new();
            let stats = match &dedup {
                Some(dedup) if deciding => {
                    let mut decider = dedup.decider(s, analysed, now)?;
                    s.record_fetch(source_id, &record, now, next_fetch_at, &mut decider)?
                }
                _ => {
                    s.record_fetch(source_id, &record, now, next_fetch_at, &mut OneStoryPerItem)?
                }
            };
            if !full_text_keys.is_empty() {
                s.mark_full_text(source_id, &full_text_keys)?;
            }
            Ok(stats)
        })
        .await
}

/// The source's outcome once the store write is done (or failed), logged.
fn stored_outcome(
    source: &SourceRecord,
    fetched: Outcome,
    stored: Result<IngestStats, StoreError>,
) -> Outcome {
    match (fetched, stored) {
        (Outcome::Stored(_), Ok(stats)) => {
            tracing::info!(source = %source.name, new = stats.new, updated = stats.updated, skipped = stats.skipped, "stored");
            Outcome::Stored(stats)
        }
        (other, Ok(_)) => {
            tracing::debug!(source = %source.name, outcome = ?other, "fetched");
            other
        }
        (_, Err(e)) => {
            tracing::error!(source = %source.name, "could not store the fetch: {e}");
            Outcome::Failed(format!("database: {e}"))
        }
    }
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
    };
    ctx.metrics
        .record_fetch(&source.name, result, took, bytes, new, updated);
}

/// Which sources a cycle visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every active source (what `feedsieve fetch` does).
    All,
    /// Only sources whose next fetch time has come.
    Due,
}

/// Sources the cycle would fetch now. Sources that answered 410 are left out.
pub fn sources_to_fetch(
    store: &mut Store,
    selection: Selection,
    now: i64,
) -> Result<Vec<SourceRecord>, StoreError> {
    Ok(store
        .sources()?
        .into_iter()
        .filter(|s| !s.gone)
        .filter(|s| selection == Selection::All || s.next_fetch_at <= now)
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
    let mut tasks = JoinSet::new();
    for source in sources {
        let ctx = ctx.clone();
        tasks.spawn(async move { process_source(&ctx, &source).await });
    }
    let mut report = CycleReport::default();
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok(outcome) => {
                on_done(&outcome, report.outcomes.len() + 1, total);
                report.outcomes.push(outcome);
            }
            Err(e) => tracing::error!("a fetch task failed: {e}"),
        }
    }
    let changed = report.outcomes.iter().any(SourceOutcome::changed);
    if changed || !ctx.config.output.path.exists() {
        report.published = Some(publish(ctx).await?);
    }
    Ok(report)
}

/// Renders the newest stories in every format and writes the files that changed.
pub async fn publish(ctx: &Context) -> anyhow::Result<Publication> {
    let limit = ctx.config.output.max_items;
    let out = ctx.config.output.clone();
    let now = Utc::now().timestamp();
    // Read and marked published under one lock: a member joining in between
    // would otherwise be missing from the document and not count as a change.
    let (ids, stories) = ctx
        .store
        .call(move |s| {
            let ids = FeedIds::load_or_init(s, &out, now)?;
            let stories = s.latest_stories(limit)?;
            let shown: Vec<i64> = stories.iter().map(|st| st.id).collect();
            s.mark_published(&shown, now)?;
            Ok((ids, stories))
        })
        .await?;
    let out = ctx.config.output.clone();
    let publication = tokio::task::spawn_blocking(move || -> anyhow::Result<(Publication, bool)> {
        use anyhow::Context as _;
        let publication = render_all(&out, &ids, &stories);
        let written = publication
            .write(&out)
            .with_context(|| format!("writing the feeds beside {}", out.path.display()))?;
        if written > 0 {
            tracing::info!(path = %out.path.display(), stories = publication.rss.items, "published");
        }
        Ok((publication, written > 0))
    })
    .await??;
    let (publication, changed) = publication;
    if changed {
        ping_hub(ctx);
    }
    Ok(publication)
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
    ctx.store
        .call(move |s| {
            let now = s.retention_now(clock)?;
            s.prune(now - max_age, now, now - keep_keys)
        })
        .await
}
