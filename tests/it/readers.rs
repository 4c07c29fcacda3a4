//! Real clients read what the daemon publishes: feedparser (Python) with a strict
//! XML parser, structural checks and the JSON Feed 1.1 schema; newsboat subscribed
//! to the daemon's URL; headless Chromium rendering the front page.
//!
//! These need external programs. `.ci/run` installs them, and under CI (`CI` set)
//! a missing one fails the test; elsewhere the test says it is skipped and why.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{http_client, FixtureServer};
use feedsieve::daemon::{serve, Shutdown};
use feedsieve::pipeline::Context;

/// Finds `name` on PATH; under CI its absence is a failure.
fn tool(name: &str, install: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is required under CI: {install}"
        );
        eprintln!("SKIPPED: {name} is not installed ({install})");
    }
    found
}

/// A Python venv with feedparser and jsonschema, made once under target/.
fn python_with_feedparser() -> Option<PathBuf> {
    let python = tool("python3", "install Python 3")?;
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reader-venv");
    let bin = venv.join("bin/python");
    let ready = bin.is_file()
        && Command::new(&bin)
            .args(["-c", "import feedparser, jsonschema"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "feedparser", "jsonschema"])
                .status()
                .is_ok_and(|s| s.success());
        if !made {
            assert!(
                std::env::var_os("CI").is_none(),
                "could not create a venv with feedparser under CI"
            );
            eprintln!(
                "SKIPPED: could not install feedparser into {}",
                venv.display()
            );
            return None;
        }
    }
    Some(bin)
}

struct Daemon {
    base: String,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _web: FixtureServer,
    _dir: tempfile::TempDir,
    /// Titles the daemon itself published (from its JSON Feed).
    titles: Vec<String>,
}

impl Daemon {
    async fn start() -> Daemon {
        let web = FixtureServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open(web.config(dir.path(), "")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = Shutdown::new();
        let task = tokio::spawn(serve(ctx, listener, shutdown.clone()));
        let client = http_client();
        // Ready when every fixture feed has been read (metrics say so) and the
        // published JSON Feed no longer changes.
        let mut titles = Vec::new();
        let mut last = None;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Ok(m) = client.get(format!("{base}/metrics")).send().await else {
                continue;
            };
            let metrics = String::from_utf8_lossy(&m.bytes().await.unwrap()).into_owned();
            let all_read = ["Vue News", "Wire Copy Daily", "Metro Herald"]
                .iter()
                .all(|s| {
                    metrics.contains(&format!(
                        "feedsieve_fetches_total{{source=\"{s}\",result=\"ok\"}}"
                    ))
                });
            if !all_read {
                continue;
            }
            let Ok(r) = client.get(format!("{base}/feed.json")).send().await else {
                continue;
            };
            let body = r.bytes().await.unwrap().to_vec();
            // Publishing follows the last fetch within milliseconds; two equal,
            // non-empty reads 300 ms apart mean it has happened.
            let has_items = serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|v| v["items"].as_array().is_some_and(|a| !a.is_empty()));
            if !has_items {
                continue;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if last.as_ref() == Some(&body) {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                titles = v["items"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|i| i["title"].as_str().map(str::to_string))
                    .collect();
                break;
            }
            last = Some(body);
        }
        assert!(
            titles.len() >= 3,
            "the daemon published the fixture web: {titles:?}"
        );
        Daemon {
            base,
            shutdown,
            task,
            _web: web,
            _dir: dir,
            titles,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        let stopped = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
    }
}

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedparser_reads_every_format_without_errors() {
    let Some(python) = python_with_feedparser() else {
        return;
    };
    let daemon = Daemon::start().await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readers");
    let (base, script, schema) = (
        daemon.base.clone(),
        fixtures.join("check_feeds.py"),
        fixtures.join("jsonfeed-1.1.schema.json"),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(schema)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    common::succeeded(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "validation problems"
    );
    let expected = sorted(daemon.titles.clone());
    for format in ["rss", "atom"] {
        let r = &report[format];
        assert_eq!(r["bozo"], false, "{format}: {}", r["bozo_exception"]);
        let entries = r["entries"].as_array().unwrap();
        let titles = sorted(
            entries
                .iter()
                .map(|e| e["title"].as_str().unwrap().to_string()),
        );
        assert_eq!(titles, expected, "{format} titles");
        // Every entry names the outlet of its representative article.
        let known = BTreeSet::from(["Metro Herald", "Vue News", "Wire Copy Daily"]);
        for e in entries {
            let outlet = e["source_title"].as_str().unwrap_or("");
            assert!(
                known.contains(outlet),
                "{format}: entry without its outlet: {e}"
            );
        }
        for e in entries {
            let link = e["link"].as_str().unwrap();
            assert!(link.starts_with("http://127.0.0.1:"), "{format}: {link}");
            assert!(e["id"].as_str().unwrap().starts_with("tag:127.0.0.1,"));
        }
    }
    // RSS <source url> points at each outlet's own feed.
    for e in report["rss"]["entries"].as_array().unwrap() {
        let href = e["source_href"].as_str().unwrap();
        assert!(
            href.ends_with("/rss.xml")
                || href.ends_with("/feed.rss")
                || href.ends_with("/atom.xml"),
            "{href}"
        );
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newsboat_lists_the_published_titles() {
    let Some(newsboat) = tool("newsboat", "apt-get install newsboat") else {
        return;
    };
    let daemon = Daemon::start().await;
    let home = tempfile::tempdir().unwrap();
    let urls = home.path().join("urls");
    let cache = home.path().join("cache.db");
    std::fs::write(&urls, format!("{}/feed.xml\n", daemon.base)).unwrap();
    std::fs::write(home.path().join("config"), "").unwrap();
    let (u, c, conf, h) = (
        urls.clone(),
        cache.clone(),
        home.path().join("config"),
        home.path().to_path_buf(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(newsboat)
            .env("HOME", &h)
            .env("XDG_CONFIG_HOME", h.join(".config"))
            .env("XDG_DATA_HOME", h.join(".local/share"))
            .arg("-u")
            .arg(u)
            .arg("-c")
            .arg(c)
            .arg("-C")
            .arg(conf)
            .args(["-x", "reload"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "newsboat: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // newsboat keeps what it read in SQLite: read its cache like its UI would.
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let mut stmt = conn
        .prepare("SELECT title, url, feedurl FROM rss_item")
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let titles = sorted(rows.iter().map(|r| r.0.clone()));
    assert_eq!(titles, sorted(daemon.titles.clone()));
    for (_, url, feedurl) in &rows {
        assert_eq!(feedurl, &format!("{}/feed.xml", daemon.base));
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    }
    daemon.stop().await;
}

/// The front page as Chromium renders it: every story, each credited to its
/// outlet or covered by others, and no JavaScript.
fn check_front_page(html: &str, daemon: &Daemon) {
    let doc = scraper::Html::parse_document(html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let shown = sorted(
        doc.select(&sel("article.story h2"))
            .map(|h| h.text().collect::<String>().trim().to_string()),
    );
    assert_eq!(
        shown,
        sorted(daemon.titles.clone()),
        "every story is on the page"
    );
    let outlets: BTreeSet<String> = doc
        .select(&sel("article.story .outlet"))
        .map(|o| o.text().collect())
        .collect();
    let known = BTreeSet::from(["Metro Herald", "Vue News", "Wire Copy Daily"].map(String::from));
    assert!(
        !outlets.is_empty() && outlets.is_subset(&known),
        "{outlets:?}"
    );
    // Merged stories credit the other outlets with "Also covered by" links to
    // their own articles; between them, the page names every outlet.
    let also: Vec<(String, String)> = doc
        .select(&sel("article.story .also a"))
        .map(|a| {
            (
                a.text().collect::<String>(),
                a.value().attr("href").unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        !also.is_empty(),
        "the merged stories show who else covered them"
    );
    for (outlet, href) in &also {
        assert!(known.contains(outlet), "{outlet}");
        assert!(href.starts_with("http://127.0.0.1:"), "{href}");
    }
    let credited: BTreeSet<String> = outlets
        .iter()
        .cloned()
        .chain(also.iter().map(|a| a.0.clone()))
        .collect();
    assert_eq!(credited, known, "every outlet is shown or credited");
    assert!(doc.select(&sel("script")).next().is_none(), "no JavaScript");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_front_page() {
    let Some(chromium) = tool("chromium", "apt-get install chromium") else {
        return;
    };
    let daemon = Daemon::start().await;
    let profile = tempfile::tempdir().unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("front-page.png");
    let _ = std::fs::remove_file(&shot);
    let run = |extra: Vec<String>| {
        let chromium = chromium.clone();
        let profile = profile.path().to_path_buf();
        let url = format!("{}/", daemon.base);
        tokio::task::spawn_blocking(move || {
            Command::new(chromium)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .args(extra)
                .arg(url)
                .output()
                .unwrap()
        })
    };
    let dom = run(vec!["--dump-dom".into()]).await.unwrap();
    common::succeeded(&dom);
    let html = String::from_utf8_lossy(&dom.stdout).into_owned();
    check_front_page(&html, &daemon);

    let png = run(vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=1100,1400".into(),
    ])
    .await
    .unwrap();
    common::succeeded(&png);
    let bytes = std::fs::read(&shot).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
    eprintln!("front page screenshot: {}", shot.display());
    daemon.stop().await;
}
