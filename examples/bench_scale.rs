//! How far one machine goes: serves N synthetic RSS feeds of M items from
//! loopback servers and measures, in one process:
//! - the first cycle (every item new),
//! - an all-304 cycle (every server answers "not modified"),
//! - a cycle where 5 % of the feeds have 2 new items,
//! - the peak resident memory and the database size (with its WAL),
//! - the scheduler's overhead per due check (finding the due sources).
//!
//!     cargo run --release --example bench_scale -- [FEEDS] [ITEMS] [HOSTS] [--no-dedup]
//!
//! Defaults: 1000 feeds of 20 items over 20 loopback hosts, the default
//! `[schedule]` limits and story dedup on. Each item is a distinct synthetic
//! story; a feed's body is generated per request from its "edition", which the
//! 5 % cycle bumps, so the server holds no bodies.

#[path = "support/synthetic.rs"]
mod synthetic;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use feedsieve::config::Config;
use feedsieve::pipeline::{run_cycle, sources_to_fetch, Context, CycleReport, Outcome, Selection};
use synthetic::{peak_rss_mb, words};

/// The feeds' editions: feed `f` at edition `e` lists items `2e .. 2e + ITEMS`,
/// so a new edition brings exactly two new items.
struct Editions {
    items: usize,
    edition: Vec<AtomicU32>,
}

fn feed_body(feed: usize, edition: u32, items: usize) -> String {
    let mut xml = String::with_capacity(items * 700);
    let _ = write!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Feed {feed}</title><link>http://feed{feed}.test/</link><description>Synthetic feed {feed}</description>"
    );
    let first = 2 * edition as usize;
    for i in (first..first + items).rev() {
        let mut state = (feed as u64) << 32 | i as u64;
        let title = words(&mut state, 8);
        let text = words(&mut state, 60);
        let _ = write!(
            xml,
            "<item><title>{title}</title><link>http://feed{feed}.test/{i}.html</link><guid>feed{feed}-item{i}</guid><pubDate>Mon, 15 Dec 2025 {:02}:{:02}:00 GMT</pubDate><description>&lt;p&gt;{text}.&lt;/p&gt;</description></item>",
            (i / 60) % 24,
            i % 60
        );
    }
    xml.push_str("</channel></rss>");
    xml
}

async fn serve_feed(
    Path(feed): Path<String>,
    State(editions): State<Arc<Editions>>,
    headers: HeaderMap,
) -> Response {
    let Some(n) = feed
        .trim_end_matches(".xml")
        .parse::<usize>()
        .ok()
        .filter(|n| *n < editions.edition.len())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let edition = editions.edition[n].load(Ordering::Relaxed);
    let etag = format!("\"feed-{n}-{edition}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml".to_string()),
            (header::ETAG, etag),
        ],
        feed_body(n, edition, editions.items),
    )
        .into_response()
}

/// Size of the database file and its WAL, in MB.
fn database_mb(path: &std::path::Path) -> f64 {
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = path.with_extension("sqlite-wal");
    (size(path.to_path_buf()) + size(wal)) as f64 / 1e6
}

/// Counts of a cycle's outcomes: (new items, not modified, failed).
fn counts(report: &CycleReport) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for o in &report.outcomes {
        match &o.outcome {
            Outcome::Stored(s) => c.0 += s.new,
            Outcome::NotModified => c.1 += 1,
            Outcome::Failed(_) => c.2 += 1,
            Outcome::Unchanged | Outcome::Cancelled | Outcome::Moved => {}
        }
    }
    c
}

/// Times one cycle over every source and prints what it did.
async fn timed_cycle(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let report = run_cycle(ctx, Selection::All, |_, _, _| {}).await?;
    let secs = t.elapsed().as_secs_f64();
    let (new, not_modified, failed) = counts(&report);
    println!("{name}: {secs:.2} s ({new} new items, {not_modified} not modified, {failed} failed)");
    Ok(())
}

/// Starts `hosts` loopback servers sharing the editions; returns their base URLs.
async fn start_servers(hosts: usize, editions: Arc<Editions>) -> anyhow::Result<Vec<String>> {
    let mut bases = Vec::new();
    for h in 0..hosts {
        let listener = tokio::net::TcpListener::bind(format!("127.0.2.{}:0", h + 1)).await?;
        bases.push(format!("http://{}", listener.local_addr()?));
        let app = Router::new()
            .route("/feeds/{feed}", get(serve_feed))
            .with_state(editions.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    Ok(bases)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (feeds, items, hosts, no_dedup) = synthetic::feed_args((1000, 20, 20), 250)?;
    let editions = Arc::new(Editions {
        items,
        edition: (0..feeds).map(|_| AtomicU32::new(0)).collect(),
    });
    let bases = start_servers(hosts, editions.clone()).await?;

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.sqlite");
    let mut toml = format!(
        "[output]\npath = \"{}\"\n[database]\npath = \"{}\"\n[dedup]\nenabled = {}\n",
        dir.path().join("feed.xml").display(),
        db.display(),
        !no_dedup
    );
    for f in 0..feeds {
        let url = format!("{}/feeds/{f}.xml", bases[f % hosts]);
        let _ = write!(toml, "[[feed]]\nname = \"Feed {f}\"\nurl = \"{url}\"\n");
    }
    let config_path = dir.path().join("feeds.toml");
    std::fs::write(&config_path, &toml)?;
    let config = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (concurrency, per_host) = (config.schedule.concurrency, config.schedule.per_host);
    let ctx = Context::open(config)?;
    println!(
        "feeds: {feeds}, items per feed: {items}, hosts: {hosts}, concurrency: {concurrency}, per_host: {per_host}, story dedup: {}",
        if no_dedup { "off" } else { "on" }
    );

    timed_cycle(&ctx, "first cycle").await?;
    timed_cycle(&ctx, "all-304 cycle").await?;
    for f in (0..feeds).step_by(20) {
        editions.edition[f].fetch_add(1, Ordering::Relaxed);
    }
    timed_cycle(&ctx, "5% new cycle").await?;

    // The daemon asks the store which sources are due every time it wakes
    // (none is, right after a cycle), and `fetch` reads every source.
    let now = chrono::Utc::now().timestamp();
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        ctx.store.call(move |s| s.due_sources(now)).await?;
    }
    let per_check = t.elapsed().as_secs_f64() / rounds as f64;
    let t = Instant::now();
    ctx.store
        .call(move |s| sources_to_fetch(s, Selection::All, now))
        .await?;
    let all = t.elapsed().as_secs_f64();
    println!(
        "due check: {:.2} ms per check (reading all {feeds} sources: {:.1} ms, {:.2} µs per source)",
        per_check * 1e3,
        all * 1e3,
        all * 1e6 / feeds as f64
    );
    println!("peak RSS: {:.1} MB", peak_rss_mb());
    println!("database: {:.1} MB (with WAL)", database_mb(&db));
    Ok(())
}
