//! One source through the stages (fetch → read → store), one full cycle over every
//! source, and publishing afterwards. The daemon and `feedsieve fetch` both call
//! these, so what a user runs by hand is what the daemon runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::Url;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::extract::{extract, Article, Options};
use crate::fetch::{FetchError, Fetcher, Validators};
use crate::metrics::{FetchResult, Metrics};
use crate::publish::{render_all, Publication};
use crate::read::{read_feed_as, RawItem};
use crate::sanitize::plain_text;
use crate::schedule::{
    delay_after_failure, delay_after_success, parse_retry_after, publisher_hint, with_jitter,
    HostSlots,
};
use crate::store::{
    item_key, FetchRecord, IngestStats, SharedStore, SourceRecord, Store, StoreError,
};
use crate::util::sha256_hex;

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
            .sync_sources(&config.sources)
            .context("recording the configured sources")?;
        if config.dedup.enabled {
            store
                .enable_dedup(config.dedup.clone(), chrono::Utc::now().timestamp())
                .context("restoring the story dedup window")?;
        }
        Ok(Context {
            global: Arc::new(Semaphore::new(config.schedule.concurrency)),
            in_flight: Arc::new(Semaphore::new(in_flight_limit(config.schedule.concurrency))),
            hosts: HostSlots::new(config.schedule.per_host),
            metrics: Arc::default(),
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

/// With an embedding model, embeds the new items on a blocking thread before
/// the store is locked for ingest: the model is the costly part of dedup, and
/// the store's lock serialises every source.
async fn embed_new_items(ctx: &Context, source_id: i64, record: &FetchRecord) {
    // Without a model (always so in a build without `embed`), no trip
    // through the store's lock.
    if ctx.config.dedup.embedding_model.is_none() {
        return;
    }
    let FetchRecord::Parsed { items, .. } = record else {
        return;
    };
    let Ok(Some(model)) = ctx.store.call(|s| Ok(s.dedup_embedder())).await else {
        return;
    };
    let Ok(known) = ctx.store.call(move |s| s.known_keys(source_id)).await else {
        return;
    };
    // Texts are embedded only when their weight is above 0 (the engine's rule).
    let texts = ctx.config.dedup.embedding_text_weight > 0.0;
    let inputs: Vec<(String, String)> = items
        .iter()
        .filter(|i| item_key(i).is_some_and(|k| !known.contains(&k)))
        .map(|i| {
            let text = crate::store::body_text(i.content.clone(), i.summary.clone());
            (i.title.clone().unwrap_or_default(), text)
        })
        .filter(|(_, text)| texts || text.trim().is_empty())
        .collect();
    if inputs.is_empty() {
        return;
    }
    let done = tokio::task::spawn_blocking(move || {
        inputs
            .into_iter()
            .filter_map(|(title, text)| {
                let e = model.embed(&title, &text).ok()?;
                Some((title, text, e))
            })
            .collect::<Vec<_>>()
    })
    .await;
    if let Ok(done) = done {
        let _ = ctx
            .store
            .call(move |s| {
                s.remember_embeddings(done);
                Ok(())
            })
            .await;
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

/// Fetches, reads and stores one source, and records its next due time.
/// Never fails: every error is recorded against the source and returned as
/// [`Outcome::Failed`].
pub async fn process_source(ctx: &Context, source: &SourceRecord) -> SourceOutcome {
    // Held until the fetch is stored (permits: in_flight, then global, then host).
    let _in_flight = ctx.in_flight.clone().acquire_owned().await.ok();
    let started = Utc::now();
    let clock = std::time::Instant::now();
    let cfg = ctx.config.source(&source.url);
    let interval = cfg
        .map(|s| ctx.config.interval_of(s))
        .unwrap_or(ctx.config.schedule.interval);
    let (mut record, next, bytes) = fetch_and_read(ctx, source, cfg, interval, started).await;
    // Article pages: after the source's permits are released (article fetches
    // take their own). A page source's links become articles; a feed's teasers
    // become full text. Filters then judge the text subscribers would get.
    let mut full_text_keys = Vec::new();
    if let (
        FetchRecord::Parsed {
            items,
            admitted: verdicts,
            etag,
            last_modified,
            body_hash,
            ..
        },
        Some(cfg),
    ) = (&mut record, cfg)
    {
        if cfg.kind == SourceKind::Page {
            if !fill_page_articles(ctx, source.id, cfg, items).await {
                // Links are left for later: read the index again next time even
                // if it has not changed.
                *etag = None;
                *last_modified = None;
                body_hash.clear();
            }
        } else {
            full_text_keys = fill_full_text(ctx, source.id, cfg, items).await;
        }
        *verdicts = admitted(ctx, Some(cfg), items);
    }
    let now = Utc::now().timestamp();
    let next_fetch_at = now + secs(next);
    let outcome = match &record {
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
    };
    embed_new_items(ctx, source.id, &record).await;
    let id = source.id;
    let stored = ctx
        .store
        .call(move |s| {
            let stats = s.record_fetch(id, &record, now, next_fetch_at)?;
            if !full_text_keys.is_empty() {
                s.mark_full_text(id, &full_text_keys)?;
            }
            Ok::<_, StoreError>(stats)
        })
        .await;
    let outcome = match (outcome, stored) {
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
    };
    let (result, new, updated) = match &outcome {
        Outcome::Stored(s) => (FetchResult::Ok, s.new, s.updated),
        Outcome::NotModified => (FetchResult::NotModified, 0, 0),
        Outcome::Unchanged => (FetchResult::Unchanged, 0, 0),
        Outcome::Failed(_) => (FetchResult::Error, 0, 0),
    };
    ctx.metrics
        .record_fetch(&source.name, result, clock.elapsed(), bytes, new, updated);
    SourceOutcome {
        source_id: source.id,
        name: source.name.clone(),
        url: source.url.clone(),
        outcome,
        next_fetch_at,
    }
}

async fn fetch_and_read(
    ctx: &Context,
    source: &SourceRecord,
    cfg: Option<&SourceConfig>,
    interval: Duration,
    now: DateTime<Utc>,
) -> (FetchRecord, Duration, u64) {
    let failed = |error: String, failures: i64, retry_after: Option<Duration>, gone: bool| {
        let n = u32::try_from(failures.max(1)).unwrap_or(u32::MAX);
        (
            FetchRecord::Failed { error, gone },
            with_jitter(delay_after_failure(n, retry_after)),
            0,
        )
    };
    let url = match Url::parse(&source.url) {
        Ok(u) => u,
        Err(e) => {
            return failed(
                format!("invalid URL: {e}"),
                source.error_count + 1,
                None,
                false,
            )
        }
    };
    let host = url.host_str().unwrap_or("").to_string();
    // Permits are taken in this order everywhere (global, then host), so no deadlock.
    let _global = ctx.global.acquire().await.ok();
    let _host = ctx.hosts.acquire(&host).await;
    let validators = Validators {
        etag: source.etag.clone(),
        last_modified: source.last_modified.clone(),
    };
    let fetched = match ctx.fetcher.fetch(&url, &validators).await {
        Ok(f) => f,
        Err(e) => {
            let retry_after = e.retry_after().and_then(|r| parse_retry_after(r, now));
            let gone = matches!(e, FetchError::Status { status: 410, .. });
            return failed(e.to_string(), source.error_count + 1, retry_after, gone);
        }
    };
    let bytes = fetched.body.len() as u64;
    let stored_ttl = source
        .ttl_seconds
        .and_then(|t| u64::try_from(t).ok())
        .map(Duration::from_secs);
    if fetched.not_modified() {
        let hint = publisher_hint(&fetched.headers, stored_ttl, now);
        return (
            FetchRecord::Unchanged {
                not_modified: true,
                etag: fetched.headers.etag,
                last_modified: fetched.headers.last_modified,
            },
            with_jitter(delay_after_success(interval, hint)),
            bytes,
        );
    }
    let body_hash = sha256_hex(&fetched.body);
    if source.body_hash.as_deref() == Some(body_hash.as_str()) {
        let hint = publisher_hint(&fetched.headers, stored_ttl, now);
        return (
            FetchRecord::Unchanged {
                not_modified: false,
                etag: fetched.headers.etag,
                last_modified: fetched.headers.last_modified,
            },
            with_jitter(delay_after_success(interval, hint)),
            bytes,
        );
    }
    if source.kind == SourceKind::Page.as_str() {
        // A page without a feed: its article links, fetched after the permits go.
        let selector = cfg.and_then(|s| s.links.clone());
        let html = String::from_utf8_lossy(&fetched.body).into_owned();
        let base = fetched.final_url.clone();
        let links = tokio::task::spawn_blocking(move || {
            crate::read::page::article_links(&html, &base, selector.as_deref())
        })
        .await
        .unwrap_or_default();
        if links.is_empty() {
            tracing::warn!(source = %source.name, "no article links found on the page; pin them with `links = \"css selector\"`");
        }
        let items = links
            .into_iter()
            .map(|u| RawItem {
                link: Some(u.to_string()),
                ..RawItem::default()
            })
            .collect();
        let hint = publisher_hint(&fetched.headers, None, now);
        return (
            FetchRecord::Parsed {
                etag: fetched.headers.etag,
                last_modified: fetched.headers.last_modified,
                body_hash,
                feed_title: None,
                feed_link: None,
                ttl_seconds: None,
                items,
                admitted: Vec::new(),
            },
            with_jitter(delay_after_success(interval, hint)),
            bytes,
        );
    }
    let final_url = fetched.final_url.clone();
    let body = fetched.body.clone();
    let content_type = fetched.headers.content_type.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        read_feed_as(&body, &final_url, content_type.as_deref())
    })
    .await;
    let feed = match parsed {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => {
            let (record, next, _) = failed(e.to_string(), source.error_count + 1, None, false);
            return (record, next, bytes);
        }
        Err(e) => {
            let msg = format!("the feed reader crashed: {e}");
            let (record, next, _) = failed(msg, source.error_count + 1, None, false);
            return (record, next, bytes);
        }
    };
    let hint = publisher_hint(&fetched.headers, feed.ttl, now);
    let mut items = feed.items;
    let limit = ctx.config.fetch.max_items_per_feed;
    if items.len() > limit {
        tracing::warn!(source = %source.name, items = items.len(), limit, "the feed has more items than max_items_per_feed; keeping the first {limit}");
        items.truncate(limit);
    }
    (
        FetchRecord::Parsed {
            etag: fetched.headers.etag,
            last_modified: fetched.headers.last_modified,
            body_hash,
            feed_title: feed.title,
            feed_link: feed.link,
            ttl_seconds: feed.ttl.map(secs),
            items,
            // Judged in process_source, once full text is in.
            admitted: Vec::new(),
        },
        with_jitter(delay_after_success(interval, hint)),
        bytes,
    )
}

/// Whether each item passes the global and the source's include/exclude filters,
/// matched against its title and plain text.
fn admitted(
    ctx: &Context,
    cfg: Option<&SourceConfig>,
    items: &[crate::read::RawItem],
) -> Vec<bool> {
    let own = cfg.map(|s| &s.filters);
    let global = &ctx.config.filters;
    if global.is_empty() && own.is_none_or(|f| f.is_empty()) {
        return Vec::new();
    }
    items
        .iter()
        .map(|item| {
            let text = format!(
                "{}\n{}",
                item.title
                    .as_deref()
                    .map(crate::sanitize::plain_text)
                    .unwrap_or_default(),
                item.body_html()
                    .map(crate::sanitize::plain_text)
                    .unwrap_or_default()
            );
            global.admits(&text) && own.is_none_or(|f| f.admits(&text))
        })
        .collect()
}

/// Article pages fetched per source per fetch at most; the rest wait for the next one.
const MAX_ARTICLES_PER_FETCH: usize = 30;

/// A block seen on this many pages of a host is part of its template.
const TEMPLATE_MIN_PAGES: i64 = 3;

/// True when an item's content is evidently a teaser of a longer article.
pub fn is_teaser(item: &RawItem) -> bool {
    let html = item
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(item.summary.as_deref())
        .unwrap_or("");
    let text = plain_text(html);
    let lower = text.to_lowercase();
    let lower = lower.trim_end_matches(['.', ' ', '»', '›', '→', ']', ')']);
    let truncated = text.ends_with('…')
        || text.ends_with("...")
        || text.ends_with("[…]")
        || text.ends_with("[...]")
        || [
            "read more",
            "continue reading",
            "read the full story",
            "read full article",
            "more…",
        ]
        .iter()
        .any(|m| lower.ends_with(m));
    truncated || text.chars().count() < 120
}

/// Replaces teasers with the extracted article pages (for `full_text` sources, or
/// items that are evidently teasers). Items already extracted keep their stored
/// article; a page that fails to fetch or extract keeps the feed's content.
/// Returns the keys of the items that now hold full text.
async fn fill_full_text(
    ctx: &Context,
    source_id: i64,
    cfg: &SourceConfig,
    items: &mut [RawItem],
) -> Vec<String> {
    let stored = match ctx.store.call(move |s| s.full_text_items(source_id)).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(source = %cfg.name, "cannot read stored full text: {e}");
            return Vec::new();
        }
    };
    let mut keys = Vec::new();
    let mut wanted = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        let Some(key) = item_key(item) else { continue };
        if let Some((content, author)) = stored.get(&key) {
            item.content = Some(content.clone());
            if item.author.is_none() {
                item.author.clone_from(author);
            }
            keys.push(key);
        } else if item.link.is_some() && (cfg.full_text || is_teaser(item)) {
            wanted.push((i, key));
        }
    }
    if wanted.len() > MAX_ARTICLES_PER_FETCH {
        tracing::debug!(source = %cfg.name, waiting = wanted.len() - MAX_ARTICLES_PER_FETCH, "more articles than one fetch takes; the rest come next time");
        wanted.truncate(MAX_ARTICLES_PER_FETCH);
    }
    let opts = article_options(cfg);
    let mut tasks = JoinSet::new();
    for (i, key) in wanted {
        let Some(link) = items[i].link.clone() else {
            continue;
        };
        let ctx = ctx.clone();
        let opts = opts.clone();
        tasks.spawn(async move { (i, key, fetch_article(&ctx, &link, opts).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let Ok((i, key, result)) = done else { continue };
        let item = &mut items[i];
        match result {
            Ok(article) => {
                let feed_len = plain_text(
                    item.content
                        .as_deref()
                        .or(item.summary.as_deref())
                        .unwrap_or(""),
                )
                .len();
                if article.text.len() <= feed_len {
                    tracing::debug!(source = %cfg.name, link = ?item.link, "the page holds no more than the feed; keeping the feed's text");
                    continue;
                }
                item.content = Some(article.html);
                // The feed's own fields win; the page fills what the feed left out.
                if item.author.is_none() {
                    item.author = article.author;
                }
                keys.push(key);
            }
            Err(e) => {
                tracing::warn!(source = %cfg.name, link = ?item.link, "full text unavailable, keeping the feed's content: {e:#}");
            }
        }
    }
    keys
}

/// How a source's article pages are extracted: its `content`/`remove` rules, as
/// HTML, reporting block fingerprints for the host's template.
fn article_options(cfg: &SourceConfig) -> Options {
    Options {
        content: cfg.content.clone(),
        remove: cfg.remove.clone(),
        html: true,
        learn_template: true,
        ..Options::default()
    }
}

/// Turns a page source's links into articles: links not stored before are
/// fetched and extracted, at most `max_new`; links whose page fails are left for
/// the next fetch. `items` keeps only the new articles. Returns false when links
/// were left over.
async fn fill_page_articles(
    ctx: &Context,
    source_id: i64,
    cfg: &SourceConfig,
    items: &mut Vec<RawItem>,
) -> bool {
    let known = match ctx.store.call(move |s| s.known_keys(source_id)).await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(source = %cfg.name, "cannot read the stored articles: {e}");
            items.clear();
            return false;
        }
    };
    let mut fresh: Vec<String> = items
        .iter()
        .filter(|i| item_key(i).is_some_and(|k| !known.contains(&k)))
        .filter_map(|i| i.link.clone())
        .collect();
    let mut complete = fresh.len() <= cfg.max_new;
    fresh.truncate(cfg.max_new);
    let opts = article_options(cfg);
    let mut tasks = JoinSet::new();
    for (i, link) in fresh.into_iter().enumerate() {
        let ctx = ctx.clone();
        let opts = opts.clone();
        tasks.spawn(async move {
            let result = fetch_article(&ctx, &link, opts).await;
            (i, link, result)
        });
    }
    let mut articles = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let Ok((i, link, result)) = done else {
            complete = false;
            continue;
        };
        match result {
            Ok(article) if !article.text.trim().is_empty() => {
                articles.push((
                    i,
                    RawItem {
                        link: Some(link),
                        title: article.title,
                        content: Some(article.html).filter(|h| !h.trim().is_empty()),
                        author: article.author,
                        published: article.published,
                        ..RawItem::default()
                    },
                ));
            }
            Ok(_) => {
                tracing::warn!(source = %cfg.name, %link, "no article text on the page; trying again next time");
                complete = false;
            }
            Err(e) => {
                tracing::warn!(source = %cfg.name, %link, "article unavailable, trying again next time: {e:#}");
                complete = false;
            }
        }
    }
    articles.sort_by_key(|(i, _)| *i);
    *items = articles.into_iter().map(|(_, item)| item).collect();
    complete
}

/// Fetches one article page (within the global and per-host limits), extracts it
/// with the host's learnt template, and records what the page showed of the template.
pub async fn fetch_article(
    ctx: &Context,
    link: &str,
    mut opts: Options,
) -> anyhow::Result<Article> {
    use anyhow::Context as _;
    let url = Url::parse(link).with_context(|| format!("invalid article URL {link}"))?;
    let host = url.host_str().unwrap_or("").to_string();
    let fetched = {
        let _global = ctx.global.acquire().await.ok();
        let _host = ctx.hosts.acquire(&host).await;
        ctx.fetcher.fetch(&url, &Validators::default()).await?
    };
    let charset = fetched.headers.charset();
    let h = host.clone();
    opts.known_chrome = ctx
        .store
        .call(move |s| s.site_template(&h, TEMPLATE_MIN_PAGES))
        .await
        .unwrap_or_default();
    let final_url = fetched.final_url.clone();
    let article = tokio::task::spawn_blocking(move || {
        extract(&fetched.body, &final_url, charset.as_deref(), &opts)
    })
    .await
    .context("the extractor crashed")??;
    let prints = article.fingerprints.clone();
    let now = Utc::now().timestamp();
    if let Err(e) = ctx
        .store
        .call(move |s| s.learn_site_template(&host, &prints, now))
        .await
    {
        tracing::warn!("cannot record the site template: {e}");
    }
    Ok(article)
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
    let now = Utc::now().timestamp();
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
    let stories = ctx.store.call(move |s| s.latest_stories(limit)).await?;
    let out = ctx.config.output.clone();
    let publication = tokio::task::spawn_blocking(move || -> anyhow::Result<(Publication, bool)> {
        use anyhow::Context as _;
        let publication = render_all(&out, &stories);
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

/// Prunes items older than the configured retention.
pub async fn prune(ctx: &Context) -> Result<usize, StoreError> {
    let max_age = secs(ctx.config.database.max_age);
    let now = Utc::now().timestamp();
    // Keys of pruned items are kept for four retention periods (at least a year),
    // so a feed that keeps listing an old item does not bring it back.
    let keep_keys = (4 * max_age).max(365 * 86400);
    ctx.store
        .call(move |s| s.prune(now - max_age, now, now - keep_keys))
        .await
}
