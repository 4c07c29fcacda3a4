//! The command line as a user runs it.

mod common;

use std::process::Command;

use common::FixtureServer;

fn feedsieve() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedsieve"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

#[test]
fn check_reports_the_line_of_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "[schedule]\ninterval = \"30m\"\n\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\ninterval = \"every day\"\n",
    )
    .unwrap();
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:7:12:", path.display())),
        "names the line and column: {stderr}"
    );
    assert!(stderr.contains("not a duration"), "{stderr}");

    std::fs::write(
        &path,
        "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n",
    )
    .unwrap();
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 feeds"));
}

#[test]
fn the_shipped_config_is_valid() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
    let out = feedsieve()
        .arg("--config")
        .arg(&shipped)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_and_fetch_fail_clearly_without_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = feedsieve()
        .current_dir(dir.path())
        .arg("fetch")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("feeds.toml") && stderr.contains("cannot read"),
        "{stderr}"
    );
}

#[test]
fn inspect_prints_the_feed_as_json() {
    let file = common::fixture_root().join("site/wirecopy/feed.rss");
    let out = feedsieve()
        .args(["inspect", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "Wire Copy Daily");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["id"],
        "{base}/wirecopy/2025/12/14/zelenskyy-nato-bid.html"
    );
    assert_eq!(entries[0]["published"], "2025-12-14T20:05:00+00:00");
    assert_eq!(
        entries[1]["title"],
        "City council approves 40 km of protected cycle lanes"
    );

    let out = feedsieve()
        .args(["inspect", "--json"])
        .arg(common::fixture_root().join("site/pressai/world-news/index.html"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "an HTML page is not a feed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("HTML page"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_runs_one_cycle_and_writes_the_feed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, web.config_text(dir.path(), "")).unwrap();
    let run = |path: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            feedsieve()
                .arg("--config")
                .arg(path)
                .arg("fetch")
                .output()
                .unwrap()
        })
    };
    let out = run(path.clone()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 sources: 3 read (5 new items, 0 updated), 0 unchanged, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("published 3 stories"), "{stdout}");
    let channel =
        rss::Channel::read_from(&std::fs::read(dir.path().join("feed.xml")).unwrap()[..]).unwrap();
    assert_eq!(channel.title(), "Seed news");
    assert_eq!(channel.items().len(), 3);

    let out = run(path).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 unchanged"), "{stdout}");
    assert!(stdout.contains("nothing changed"), "{stdout}");
}
