//! Crash safety: the real daemon binary is killed with SIGKILL at random moments
//! (while a feed that changes on every request keeps it writing), restarted, and
//! checked after every kill:
//! - `PRAGMA integrity_check` is ok;
//! - no stored item is lost (every item seen before is still there);
//! - no story is published twice (unique guids, unique links in the feed);
//! - the output file is always a complete, valid feed, also when read while the
//!   daemon writes it;
//! - the restarted daemon serves the feed.
//!
//! `CRASH_RUNS=200 cargo test --release --test it crash_safety -- --nocapture` for a
//! long run; the default keeps CI fast.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{http_client, Behaviour, FixtureServer};
use rand::Rng;

fn start(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_feedsieve"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Every stored item as (source URL, item key), read straight from SQLite.
fn stored_items(db: &Path) -> HashSet<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT s.url, i.item_key FROM items i JOIN sources s ON s.id = i.source_id")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

fn integrity_ok(db: &Path) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    let res: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    res == "ok"
}

/// Parses the output feed; panics if it is not complete and valid, or lists a story twice.
fn check_feed(bytes: &[u8]) -> usize {
    let channel =
        rss::Channel::read_from(bytes).expect("the output file is a complete RSS document");
    let mut guids = HashSet::new();
    let mut links = HashSet::new();
    for item in channel.items() {
        let guid = item
            .guid()
            .expect("every item has a guid")
            .value()
            .to_string();
        assert!(
            guids.insert(guid.clone()),
            "story {guid} is published twice"
        );
        if let Some(link) = item.link() {
            assert!(links.insert(link.to_string()), "{link} is published twice");
        }
    }
    channel.items().len()
}

/// The fixture web with a live feed that grows by one item per request, and the
/// seed feeds without validators, so that every cycle has something to write.
async fn live_web() -> FixtureServer {
    let web = FixtureServer::start().await;
    // A feed that grows by one item per request and keeps its last 100 items,
    // each with a few KB of text, so the daemon is writing most of the time.
    let make: common::Generator = Arc::new(|n| {
        let mut xml = String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Live</title><link>{base}/live/</link><description>d</description>");
        for i in (n.saturating_sub(100)..=n).rev() {
            xml.push_str(&format!(
                "<item><title>Live item {i}</title><link>{{base}}/live/{i}.html</link><guid>live-{i}</guid><description>{}</description></item>",
                "Words of a live story. ".repeat(100)
            ));
        }
        xml.push_str("</channel></rss>");
        xml
    });
    web.set("/live/feed.xml", Behaviour::Dynamic(make));
    for path in [
        "/vue-news/rss.xml",
        "/wirecopy/feed.rss",
        "/metro-herald/atom.xml",
    ] {
        web.set(path, Behaviour::NoValidators);
    }
    web
}

/// A thread that reads and checks the output file every few milliseconds until
/// `stop`, counting its reads.
fn spawn_output_reader(
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
    out: std::path::PathBuf,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(bytes) = std::fs::read(&out) {
                check_feed(&bytes);
                reads.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Whether the daemon on `port` serves a valid feed within five seconds.
async fn serves_a_valid_feed(client: &reqwest::Client, port: u16) -> bool {
    for _ in 0..100 {
        if let Ok(resp) = client
            .get(format!("http://127.0.0.1:{port}/feed.xml"))
            .send()
            .await
        {
            if resp.status() == 200 {
                check_feed(&resp.bytes().await.unwrap());
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Runs one clean `fetch` and checks that every stored story is published once;
/// returns how many items are stored.
fn last_clean_run_publishes_everything(config: &Path, out: &Path, db: &Path) -> usize {
    let out_status = Command::new(env!("CARGO_BIN_EXE_feedsieve"))
        .arg("--config")
        .arg(config)
        .arg("fetch")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(out_status.status.success());
    let published = check_feed(&std::fs::read(out).unwrap());
    let stored = stored_items(db).len();
    assert!(
        stored > 5,
        "the live feed was stored across restarts ({stored} items)"
    );
    // Every story is published once (near-identical live items merge into stories).
    let stories: usize = rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM stories", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    assert_eq!(published, stories.min(200));
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_daemon_at_random_never_loses_or_duplicates() {
    let runs: usize = std::env::var("CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let web = live_web().await;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("feedsieve.sqlite");
    let out = dir.path().join("feed.xml");
    let port = common::free_port();
    let extra = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[schedule]\ninterval = \"1s\"\n\n[[feed]]\nname = \"Live\"\nurl = \"{}/live/feed.xml\"\n",
        web.base
    );
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, web.config_text(dir.path(), &extra)).unwrap();

    // A reader that checks the output file continuously while the daemon runs.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = spawn_output_reader(stop.clone(), reads.clone(), out.clone());

    let client = http_client();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut served_checks = 0;
    for run in 0..runs {
        let mut child = start(&config);
        // Every other run, first wait until the restarted daemon serves the feed.
        if run % 2 == 0 {
            let served = serves_a_valid_feed(&client, port).await;
            assert!(served, "run {run}: the restarted daemon serves the feed");
            served_checks += 1;
        }
        let wait = rand::rng().random_range(20..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        assert!(integrity_ok(&db), "run {run}: integrity_check");
        let now = stored_items(&db);
        let lost: Vec<_> = seen.difference(&now).collect();
        assert!(lost.is_empty(), "run {run}: items lost: {lost:?}");
        seen = now;
        if out.exists() {
            check_feed(&std::fs::read(&out).unwrap());
        }
    }
    stop.store(true, Ordering::Relaxed);
    reader
        .join()
        .expect("every concurrent read saw a complete, valid feed");

    // A last clean run publishes everything stored.
    let stored = last_clean_run_publishes_everything(&config, &out, &db);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    println!(
        "crash runs: {runs}, served checks: {served_checks}, concurrent reads: {}, items stored: {stored}, stale temp files: {}",
        reads.load(Ordering::Relaxed),
        leftovers.len()
    );
}
