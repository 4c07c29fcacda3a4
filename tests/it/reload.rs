//! Live reload: the running daemon follows edits of feeds.toml, survives a broken
//! edit (logging its line and column) and recovers when it is fixed.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{http_client, FixtureServer};

/// Waits up to `limit` for `ok`; returns how long it took.
async fn wait_for(
    client: &reqwest::Client,
    port: u16,
    limit: Duration,
    ok: impl Fn(&[String]) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if common::served_titles(client, &format!("http://127.0.0.1:{port}/feed.xml"))
            .await
            .is_some_and(|t| ok(&t))
        {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// A daemon started by a test: killed when the test ends, also by a failed
/// assertion (it would run on, holding its port and files).
struct Daemon(Child);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `feedsieve run` on `config`, logging at info level into `log`.
fn start_daemon(config: &Path, log: &Path, extra: &[&str]) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_feedsieve"))
        .env("RUST_LOG", "info")
        .arg("--config")
        .arg(config)
        .arg("run")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Daemon(child)
}

/// Writes an invalid `interval` into the config (otherwise `good`) and waits until
/// the daemon's log names its line and column.
async fn break_the_config(config: &Path, good: &str, log: &Path) {
    let broken = good.replace(
        "name = \"Metro Herald\"",
        "name = \"Metro Herald\"\ninterval = \"whenever\"",
    );
    std::fs::write(config, &broken).unwrap();
    let line = broken.lines().position(|l| l.contains("whenever")).unwrap() + 1;
    let needle = format!("{}:{line}:12:", config.display());
    let start = Instant::now();
    let mut logged = String::new();
    while start.elapsed() < Duration::from_secs(15) {
        logged = std::fs::read_to_string(log).unwrap_or_default();
        if logged.contains(&needle) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        logged.contains(&needle),
        "the error names {needle}: {logged}"
    );
    assert!(logged.contains("not a duration"), "{logged}");
}

/// `/healthz` (status code and JSON) and the `/status` page.
async fn health_and_status(
    client: &reqwest::Client,
    port: u16,
) -> (u16, serde_json::Value, String) {
    let base = format!("http://127.0.0.1:{port}");
    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    let code = r.status().as_u16();
    let health = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let r = client.get(format!("{base}/status")).send().await.unwrap();
    (code, health, r.text().await.unwrap())
}

/// Sends SIGTERM and waits up to 15 s for the daemon to exit.
async fn stop_with_sigterm(child: &mut Child) -> std::process::ExitStatus {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the daemon stops on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A rejected edit shows on /healthz (still 200 and "ok": it works) and on
/// /status (the log line comes a moment before the daemon records it).
async fn the_rejected_edit_is_shown(client: &reqwest::Client, port: u16) {
    let mut shown = health_and_status(client, port).await;
    for _ in 0..50 {
        if shown.1["warnings"] != serde_json::json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        shown = health_and_status(client, port).await;
    }
    let (code, health, status) = shown;
    assert_eq!(code, 200);
    assert_eq!(health["status"], "ok", "{health}");
    let warning = health["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("rejected") && warning.contains("not a duration"),
        "{health}"
    );
    assert!(status.contains("not a duration"), "{status}");
    let up = regex::Regex::new(r"up \d+ (s|min), since <time datetime=\S+>\d\d:\d\d UTC</time>");
    assert!(up.unwrap().is_match(&status), "uptime in words: {status}");
}

/// Step 4 of the reload test: Metro Herald leaves `fixed` (the config in
/// force) and comes back; it is fetched at once, like a new source (its row,
/// and the next fetch it had, outlived the removal).
async fn removed_and_added_again(
    web: &FixtureServer,
    config: &Path,
    fixed: &str,
    client: &reqwest::Client,
    port: u16,
) {
    let metro = "/metro-herald/atom.xml";
    let without_metro = fixed.replace(
        &format!(
            "[[feed]]\nname = \"Metro Herald\"\nurl = \"{}{metro}\"\n",
            web.base
        ),
        "",
    );
    assert_ne!(without_metro, fixed);
    std::fs::write(config, &without_metro).unwrap();
    assert!(
        wait_for(client, port, Duration::from_secs(15), |t| {
            !t.iter().any(|x| x.starts_with("Overnight barrage"))
        })
        .await
        .is_some(),
        "the removed source leaves the feed"
    );
    let fetched = web.hits(metro).len();
    std::fs::write(config, fixed).unwrap();
    let start = Instant::now();
    while web.hits(metro).len() == fetched && start.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        web.hits(metro).len() > fetched,
        "the re-added source is fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_follows_edits_and_survives_broken_ones() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let head = format!(
        "# feeds for the reload test (dedup off: this is about reloading)\n[output]\npath = \"{out}\"\n[database]\npath = \"{db}\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n[dedup]\nenabled = false\n\n[[feed]]\nname = \"Vue News\"\nurl = \"{b}/vue-news/rss.xml\"\n\n[[feed]]\nname = \"Wire Copy Daily\"\nurl = \"{b}/wirecopy/feed.rss\"\n",
        out = dir.path().join("feed.xml").display(),
        db = dir.path().join("db.sqlite").display(),
        b = web.base
    );
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, &head).unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = start_daemon(&config, &log, &[]);
    let client = http_client();
    assert!(
        wait_for(&client, port, Duration::from_secs(20), |t| t.len() == 4)
            .await
            .is_some(),
        "the first cycle publishes the two feeds"
    );

    // 1. Append a source: its items are published within seconds.
    let with_metro = format!(
        "{head}\n[[feed]]\nname = \"Metro Herald\"\nurl = \"{}/metro-herald/atom.xml\"\n",
        web.base
    );
    std::fs::write(&config, &with_metro).unwrap();
    let took = wait_for(&client, port, Duration::from_secs(15), |t| {
        t.iter().any(|x| x.starts_with("Overnight barrage"))
    })
    .await
    .expect("the added source is published");
    // The latency is reported, not asserted: shared machines are noisy. (The
    // config is checked every second; a local fetch takes milliseconds.)
    eprintln!("an added source was published {took:?} after the edit");

    // 2. A broken edit: logged with its line and column; the daemon keeps serving.
    break_the_config(&config, &with_metro, &log).await;
    let titles = common::served_titles(&client, &format!("http://127.0.0.1:{port}/feed.xml"))
        .await
        .expect("still serving");
    assert_eq!(titles.len(), 5, "the last good config keeps running");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon did not exit"
    );
    the_rejected_edit_is_shown(&client, port).await;

    // 3. Fixed, with a changed setting: an exclude filter on Wire Copy Daily
    //    applies to the items it already has.
    let fixed = with_metro.replace(
        "name = \"Wire Copy Daily\"",
        "name = \"Wire Copy Daily\"\nexclude = \"(?i)cycle lanes\"",
    );
    std::fs::write(&config, &fixed).unwrap();
    assert!(
        wait_for(&client, port, Duration::from_secs(15), |t| {
            t.len() == 4 && !t.iter().any(|x| x.contains("cycle lanes"))
        })
        .await
        .is_some(),
        "the fixed config is applied"
    );
    let (_, health, status) = health_and_status(&client, port).await;
    assert_eq!(health["warnings"], serde_json::json!([]), "{health}");
    assert!(!status.contains("not a duration"), "{status}");

    // 4. A source removed and added again is fetched at once, like a new one.
    removed_and_added_again(&web, &config, &fixed, &client, port).await;

    // 5. SIGTERM stops it cleanly.
    let status = stop_with_sigterm(&mut child).await;
    assert!(status.success(), "exit status {status:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("reloaded"), "{logged}");
    assert!(logged.contains("stopped"), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_listen_outlives_a_reload_and_the_self_links_follow_it() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    // The file names another port, which nothing must use, and no `link`.
    let head = format!(
        "[output]\npath = \"{out}\"\n[database]\npath = \"{db}\"\n[server]\nlisten = \"127.0.0.1:9\"\n[dedup]\nenabled = false\n\n[[feed]]\nname = \"Vue News\"\nurl = \"{b}/vue-news/rss.xml\"\n",
        out = dir.path().join("feed.xml").display(),
        db = dir.path().join("db.sqlite").display(),
        b = web.base
    );
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, &head).unwrap();
    let log = dir.path().join("daemon.log");
    let listen = format!("127.0.0.1:{port}");
    let mut child = start_daemon(&config, &log, &["--listen", &listen]);
    let client = http_client();
    assert!(
        wait_for(&client, port, Duration::from_secs(20), |t| t.len() == 2)
            .await
            .is_some(),
        "the daemon serves on the --listen address"
    );

    let edited = format!(
        "{head}\n[[feed]]\nname = \"Wire Copy Daily\"\nurl = \"{}/wirecopy/feed.rss\"\n",
        web.base
    );
    std::fs::write(&config, &edited).unwrap();
    assert!(
        wait_for(&client, port, Duration::from_secs(15), |t| t.len() == 4)
            .await
            .is_some(),
        "the edit is applied"
    );
    let rss = client
        .get(format!("http://127.0.0.1:{port}/feed.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        rss.contains(&format!("href=\"http://127.0.0.1:{port}/feed.xml\"")),
        "the self link is where the daemon listens: {rss}"
    );
    stop_with_sigterm(&mut child).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("reloaded"), "{logged}");
    assert!(
        !logged.contains("listen changed"),
        "the file's listen did not change, so no restart is asked for: {logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_dedup_section_applies_to_the_next_items() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let head = format!(
        "[output]\npath = \"{out}\"\n[database]\npath = \"{db}\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n\n[[feed]]\nname = \"Vue News\"\nurl = \"{b}/vue-news/rss.xml\"\n\n[[feed]]\nname = \"Wire Copy Daily\"\nurl = \"{b}/wirecopy/feed.rss\"\n",
        out = dir.path().join("feed.xml").display(),
        db = dir.path().join("db.sqlite").display(),
        b = web.base
    );
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, &head).unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = start_daemon(&config, &log, &[]);
    let client = http_client();
    // With dedup on, the syndicated copy joins Vue News's report: 3 entries.
    assert!(
        wait_for(&client, port, Duration::from_secs(20), |t| t.len() == 3)
            .await
            .is_some(),
        "the first cycle publishes three stories"
    );
    // Dedup turned off with Metro Herald added: its drone report, which
    // joins Vue News's story with dedup on (see the seed web's expected
    // stories), is an entry of its own.
    let edited = format!(
        "{head}\n[[feed]]\nname = \"Metro Herald\"\nurl = \"{}/metro-herald/atom.xml\"\n\n[dedup]\nenabled = false\n",
        web.base
    );
    std::fs::write(&config, &edited).unwrap();
    assert!(
        wait_for(&client, port, Duration::from_secs(15), |t| t.len() == 4)
            .await
            .is_some(),
        "the new item is not merged: {:?}",
        common::served_titles(&client, &format!("http://127.0.0.1:{port}/feed.xml")).await
    );
    stop_with_sigterm(&mut child).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("[dedup] turned off"), "{logged}");
}
