//! Benchmark of the whole pipeline: serves N synthetic RSS feeds of M items each
//! from local servers (feeds spread over several loopback addresses, so the
//! per-host limit applies as it would on the web), then measures
//! - the first cycle (fetch, parse, store, publish) over every feed,
//! - an all-304 cycle (every server answers "not modified"),
//! - the same after a fresh start on the same database (what `feedsieve fetch`
//!   from cron pays: opening, and any dedup window it reads back),
//! - the process's peak resident memory.
//!
//!     cargo run --release --example bench_cycle -- [FEEDS] [ITEMS] [HOSTS] [--no-dedup] [--grouped] [--latency=MS]
//!
//! `--grouped` lists each host's feeds together, as people list a site's
//! sections, instead of taking turns; `--latency=MS` makes every answer wait
//! MS milliseconds, as a server across the network would.
//!
//! Defaults: 1000 feeds, 50 items, 10 hosts, with the default `[schedule]`
//! limits (concurrency 8, per_host 2) and story dedup on, as in a default
//! config. Every item is a distinct synthetic story. Feed bodies are generated
//! per request, so the server side adds little to the memory figure.

#[path = "support/synthetic.rs"]
mod synthetic;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use feedsieve::config::Config;
use feedsieve::pipeline::{run_cycle, Context, Outcome, Selection};
use synthetic::{peak_rss_mb, words};

/// A feed of distinct stories: real feeds do not repeat one text fifty times, and
/// near-identical items would all be merged by story dedup.
fn feed_body(feed: usize, items: usize) -> String {
    let mut xml = String::with_capacity(items * 900);
    let _ = write!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Feed {feed}</title><link>http://feed{feed}.test/</link><description>Synthetic feed {feed}</description>"
    );
    for i in 0..items {
        let mut state = (feed as u64) << 32 | i as u64;
        let title = words(&mut state, 8);
        let p1 = words(&mut state, 45);
        let p2 = words(&mut state, 45);
        let _ = write!(
            xml,
            "<item><title>{title}</title><link>http://feed{feed}.test/2025/12/{i}.html</link><guid>feed{feed}-item{i}</guid><pubDate>Mon, 15 Dec 2025 {:02}:{:02}:00 GMT</pubDate><description>&lt;p&gt;{p1}.&lt;/p&gt;&lt;p&gt;{p2}, see &lt;a href=\"/more/{i}\"&gt;the report&lt;/a&gt; for details.&lt;/p&gt;</description><category>News</category></item>",
            i % 24,
            i % 60
        );
    }
    xml.push_str("</channel></rss>");
    xml
}

async fn serve_feed(Path(feed): Path<String>, headers: HeaderMap, items: usize) -> Response {
    let Ok(n) = feed.trim_end_matches(".xml").parse::<usize>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"feed-{n}-{items}\"");
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
        feed_body(n, items),
    )
        .into_response()
}

/// Starts one server per loopback host; returns their base URLs.
async fn serve(hosts: usize, items: usize, latency: Duration) -> anyhow::Result<Vec<String>> {
    let mut bases = Vec::new();
    for h in 0..hosts {
        let listener = tokio::net::TcpListener::bind(format!("127.0.1.{}:0", h + 1)).await?;
        bases.push(format!("http://{}", listener.local_addr()?));
        let app = Router::new().route(
            "/feeds/{feed}",
            get(move |p, h| async move {
                tokio::time::sleep(latency).await;
                serve_feed(p, h, items).await
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    Ok(bases)
}

/// Writes and loads a config of `feeds` feeds spread over `bases`.
fn write_config(
    dir: &std::path::Path,
    bases: &[String],
    feeds: usize,
    no_dedup: bool,
    grouped: bool,
) -> anyhow::Result<Config> {
    let mut toml = format!(
        "[output]\npath = \"{}\"\n[database]\npath = \"{}\"\n[dedup]\nenabled = {}\n",
        dir.join("feed.xml").display(),
        dir.join("bench.sqlite").display(),
        !no_dedup
    );
    for f in 0..feeds {
        let _ = write!(
            toml,
            "[[feed]]\nname = \"Feed {f}\"\nurl = \"{}/feeds/{f}.xml\"\n",
            match grouped {
                true => &bases[f * bases.len() / feeds],
                false => &bases[f % bases.len()],
            }
        );
    }
    let config_path = dir.join("feeds.toml");
    std::fs::write(&config_path, &toml)?;
    Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (feeds, items, hosts, no_dedup) = synthetic::feed_args((1000, 50, 10), 200)?;
    let grouped = std::env::args().any(|a| a == "--grouped");
    let latency_ms: u64 = std::env::args()
        .find_map(|a| a.strip_prefix("--latency=").map(str::to_string))
        .map_or(Ok(0), |ms| ms.parse())?;

    let bases = serve(hosts, items, Duration::from_millis(latency_ms)).await?;
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &bases, feeds, no_dedup, grouped)?;
    let (concurrency, per_host) = (config.schedule.concurrency, config.schedule.per_host);
    let ctx = Context::open(config.clone())?;

    let t = Instant::now();
    let first = run_cycle(&ctx, Selection::All, |_, _, _| {}).await?;
    let first_s = t.elapsed().as_secs_f64();
    let new_items: usize = first
        .outcomes
        .iter()
        .map(|o| match &o.outcome {
            Outcome::Stored(s) => s.new,
            _ => 0,
        })
        .sum();
    let failed = first
        .outcomes
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Failed(_)))
        .count();

    let t = Instant::now();
    let second = run_cycle(&ctx, Selection::All, |_, _, _| {}).await?;
    let second_s = t.elapsed().as_secs_f64();
    let not_modified = second
        .outcomes
        .iter()
        .filter(|o| o.outcome == Outcome::NotModified)
        .count();

    drop(ctx);
    let t = Instant::now();
    let ctx = Context::open(config)?;
    let fresh = run_cycle(&ctx, Selection::All, |_, _, _| {}).await?;
    let fresh_s = t.elapsed().as_secs_f64();
    let fresh_not_modified = fresh
        .outcomes
        .iter()
        .filter(|o| o.outcome == Outcome::NotModified)
        .count();

    println!("feeds: {feeds}, items per feed: {items}, hosts: {hosts}{}, concurrency: {concurrency}, per_host: {per_host}, latency: {latency_ms} ms, story dedup: {}", if grouped { " (grouped)" } else { "" }, if no_dedup { "off" } else { "on" });
    println!("first cycle: {first_s:.2} s ({new_items} new items, {failed} failed)");
    println!("items/s: {:.0}", new_items as f64 / first_s);
    println!("all-304 cycle: {second_s:.2} s ({not_modified} not modified)");
    println!(
        "all-304 cycle after a fresh start: {fresh_s:.2} s ({fresh_not_modified} not modified)"
    );
    println!("peak RSS: {:.1} MB", peak_rss_mb());
    println!(
        "published stories: {}",
        first.published.map_or(0, |p| p.rss.items)
    );
    Ok(())
}
