//! The command line as a user runs it.

use crate::common;

use std::process::Command;

use common::{feedsieve, FixtureServer};

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
    common::succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 feed,"));
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
    common::succeeded(&out);
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
    common::succeeded(&out);
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

/// A private feed (`https://user:password@…`) is fetched with its credentials,
/// which never reach the published files, the logs or the status commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_feeds_password_is_shown_nowhere() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let private = web.base.replacen("http://", "http://alice:s3cret@", 1);
    let text = web.config_text(dir.path(), "").replace(
        &format!("{}/wirecopy/", web.base),
        &format!("{private}/wirecopy/"),
    );
    // And one that fails, whose error is logged and listed.
    let text = format!("{text}\n[[feed]]\nname = \"Down\"\nurl = \"{private}/nowhere.xml\"\n");
    std::fs::write(&path, text).unwrap();
    let run = |command: &'static str| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            feedsieve()
                .arg("--config")
                .arg(path)
                .arg(command)
                .output()
                .unwrap()
        })
    };
    let mut shown = String::new();
    for command in ["fetch", "status", "sources"] {
        let out = run(command).await.unwrap();
        shown.push_str(&String::from_utf8_lossy(&out.stdout));
        shown.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        shown.contains("alice:***@") && shown.contains("HTTP 404"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    for file in ["feed.xml", "atom.xml", "feed.json", "index.html"] {
        let published = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(published.contains("Wire Copy Daily"), "{file}");
        assert!(
            !published.contains("s3cret") && !published.contains("alice"),
            "{file}"
        );
    }
}

#[test]
fn init_writes_a_valid_starter_config_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf/feeds.toml");
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("init")
        .output()
        .unwrap();
    common::succeeded(&out);
    assert!(
        dir.path().join("conf/db").is_dir(),
        "db/ is created beside the config"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[[feed]]") && text.contains("# "),
        "a commented config"
    );
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("init")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .args(["init", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// Under systemd, `--log-format journald` lines carry their syslog priority,
/// which journald reads (`journalctl -p warning`), and no time of their own.
#[test]
fn journald_log_lines_start_with_their_priority() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "[output]\npath = \"db/feed.xml\"\n[[feed]]\nname = \"Down\"\nurl = \"http://127.0.0.1:1/feed.xml\"\n",
    )
    .unwrap();
    let out = feedsieve()
        .env_remove("RUST_LOG")
        .args(["--log-format", "journald", "--config"])
        .arg(&path)
        .arg("fetch")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('<')).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<4>") && l.contains("fetch failed")),
        "{stderr}"
    );
    assert!(lines.iter().any(|l| l.starts_with("<6>")), "{stderr}");
    let year = chrono::Utc::now().format("%Y-").to_string();
    assert!(
        !stderr.contains(&year),
        "the journal adds the time: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_source_and_json_logs_are_json() {
    let web = FixtureServer::start().await;
    web.set("/metro-herald/atom.xml", common::Behaviour::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, web.config_text_with_page(dir.path(), "")).unwrap();
    let p = path.clone();
    let fetch = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_feedsieve"))
            .env("RUST_LOG", "info")
            .arg("--config")
            .arg(p)
            .args(["--log-format", "json", "fetch"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
    assert!(
        stderr.contains("HTTP 500"),
        "the failure is logged: {stderr}"
    );

    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("status")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("4 sources"), "{stdout}");
    let metro = stdout
        .split("\n\n")
        .find(|b| b.contains("Metro Herald"))
        .unwrap();
    assert!(
        metro.contains("result: error") && metro.contains("last error: HTTP 500"),
        "{metro}"
    );
    assert!(metro.contains("failures in a row: 1"), "{metro}");
    let vue = stdout
        .split("\n\n")
        .find(|b| b.contains("Vue News"))
        .unwrap();
    assert!(
        vue.contains("result: ok") && vue.contains("items: 2"),
        "{vue}"
    );
    let page = stdout
        .split("\n\n")
        .find(|b| b.contains("PRESS AI WORLD"))
        .unwrap();
    // The page source is read: its two articles, found on the section page.
    assert!(
        page.contains("result: ok") && page.contains("items: 2"),
        "{page}"
    );
}

#[test]
fn inspect_out_dir_writes_one_json_per_input() {
    let feeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds");
    let out_dir = tempfile::tempdir().unwrap();
    let out = feedsieve()
        .arg("inspect")
        .arg("--out-dir")
        .arg(out_dir.path())
        .arg(feeds.join("rss10.xml"))
        .arg(feeds.join("lenient.json"))
        .arg(feeds.join("truncated.xml"))
        .arg(feeds.join("html-page.html"))
        .output()
        .unwrap();
    // One input is not a feed: the run says so, the others are still written.
    assert!(!out.status.success());
    let read = |stem: &str| -> serde_json::Value {
        let path = out_dir.path().join(format!("{stem}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    };
    let rss10 = read("rss10");
    assert_eq!(rss10["entries"].as_array().unwrap().len(), 2);
    assert_eq!(rss10["entries"][0]["id"], "http://rdf.example/item/1");
    assert_eq!(read("lenient")["entries"][0]["id"], "42");
    assert_eq!(read("truncated")["entries"][1]["title"], "Half an item");
    let html = read("html-page");
    assert!(
        html["error"].as_str().unwrap().contains("HTML page"),
        "{html}"
    );
}

/// `check` on `text`: its exit status and standard error.
fn check_text(text: &str) -> (bool, String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    let out = feedsieve()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stderr, path, dir)
}

#[test]
fn check_reports_every_error_at_once_in_plain_words() {
    let (ok, stderr, path, _dir) = check_text(concat!(
        "[schedule]\n",
        "concurrency = \"8\"\n",          // 2: a quoted number
        "intervall = \"1h\"\n",           // 3: a typo
        "colour = \"red\"\n",             // 4: unknown, nothing near
        "\n[feed]\n",                     // 6: one bracket
        "url = \"https://a.test/rss\"\n", // 7
        "fulltext = true\n",              // 8: a typo
        "\n[[page]]\n",                   // 10: no name
        "url = \"not a url\"\n",          // 11: bad URL
        "interval = \"-5m\"\n",           // 12: negative
        "exclude = \"(unclosed\"\n",      // 13: bad regex
    ));
    assert!(!ok);
    let at = |line: usize| format!("{}:{line}:", path.display());
    let expect = [
        (
            2,
            "a whole number, e.g. `concurrency = 8`; write it without quotes",
        ),
        (3, "did you mean `interval`?"),
        (4, "unknown key `colour` in [schedule]"),
        (6, "each source is `[[feed]]`, with two brackets"),
        (8, "did you mean `full_text`?"),
        (10, "has no `name`"),
        (11, "not a valid URL"),
        (12, "negative"),
        (13, "not a valid regular expression"),
    ];
    for (line, words) in expect {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&at(line)) && l.contains(words)),
            "line {line} should say {words:?}:\n{stderr}"
        );
    }
    for jargon in ["expected i64", "duplicate key", "missing field", "at 0"] {
        assert!(!stderr.contains(jargon), "{jargon}: {stderr}");
    }
    let prefix = format!("{}:", path.display());
    let lines: Vec<usize> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix)?.split(':').next()?.parse().ok())
        .collect();
    assert!(lines.len() >= expect.len(), "{stderr}");
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "in file order: {stderr}"
    );
}

#[test]
fn two_feed_tables_written_with_one_bracket_are_explained() {
    let (ok, stderr, _, _dir) = check_text(
        "[feed]\nname = \"A\"\nurl = \"https://a.test/rss\"\n\n[feed]\nname = \"B\"\nurl = \"https://b.test/rss\"\n",
    );
    assert!(!ok);
    assert!(stderr.contains("two brackets"), "{stderr}");
    assert!(!stderr.contains("duplicate key"), "{stderr}");
}

#[test]
fn durations_take_only_the_units_the_readme_lists() {
    for (value, words) in [
        ("30M", "`M` would mean months"),
        ("1y", "years are not a unit"),
        ("30 minutes", "write \"30m\""),
        ("999999999d", "longer than the most it takes, \"7d\""),
        ("8d", "longer than the most it takes"),
        ("1.5h", "whole numbers"),
        ("30", "has no unit"),
    ] {
        let (ok, stderr, path, _dir) = check_text(&format!(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\ninterval = \"{value}\"\n"
        ));
        assert!(!ok, "{value} is refused");
        assert!(
            stderr.starts_with(&format!("{}:4:", path.display())) && stderr.contains(words),
            "{value}: {stderr}"
        );
    }
    let (ok, stderr, ..) = check_text("[dedup]\nwindow = \"90d\"\n");
    assert!(
        !ok && stderr.contains("`window`") && stderr.contains("30d"),
        "{stderr}"
    );
    let (ok, stderr, ..) = check_text(
        "[schedule]\ninterval = \"1h 30m\"\n[database]\nmax_age = \"90d\"\n[fetch]\ntimeout = \"90s\"\n",
    );
    assert!(ok, "{stderr}");
}

#[test]
fn sources_with_the_same_name_or_the_same_url_are_refused() {
    let (ok, stderr, path, _dir) = check_text(
        "[[feed]]\nname = \"Metro\"\nurl = \"https://a.test/rss.xml\"\n\n[[feed]]\nname = \"metro\"\nurl = \"https://b.test/rss.xml\"\n\n[[feed]]\nname = \"C\"\nurl = \"https://a.test/rss.xml/\"\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{}:6:", path.display()))
            && stderr.contains("duplicate name")
            && stderr.contains("on line 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:11:", path.display()))
            && stderr.contains("already configured on line 3"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_exit_code_says_whether_some_or_all_sources_failed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, web.config_text(dir.path(), "")).unwrap();
    let fetch = |path: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_feedsieve"))
                .env("RUST_LOG", "info")
                .arg("--config")
                .arg(path)
                .arg("fetch")
                .output()
                .unwrap()
        })
    };
    web.set("/metro-herald/atom.xml", common::Behaviour::Status(500));
    let out = fetch(path.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(3), "some failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 500"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes in a file: {stderr}"
    );

    web.set("/vue-news/rss.xml", common::Behaviour::Status(500));
    web.set("/wirecopy/feed.rss", common::Behaviour::Status(500));
    let out = fetch(path.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(4), "all failed");
    // The source that failed first waits out its backoff: a fetch from cron
    // does not ask a failing server again at once.
    assert_eq!(web.hits("/metro-herald/atom.xml").len(), 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not fetched: Metro Herald failed lately and waits"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 failed; 1 not fetched while backing off"),
        "the summary counts what the exit status counts: {stdout}"
    );
    // Still failing while they wait: the next run is no success either.
    let out = fetch(path.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(4), "every source backs off");
}

#[test]
fn looking_at_a_config_or_a_port_in_use_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "[database]\npath = \"data/feedsieve.sqlite\"\n\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_feedsieve"))
            .env_remove("RUST_LOG")
            .arg("--config")
            .arg(&path)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["status"]);
    let stdout = common::succeeded(&out);
    assert!(stdout.contains("no database yet"), "{stdout}");
    assert!(
        stdout.contains("last fetch: never") && !stdout.contains("1970"),
        "{stdout}"
    );
    let out = run(&["stories"]);
    assert!(common::succeeded(&out).contains("no database yet"));
    let out = run(&["explain", "1", "2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database yet"));
    for out in [run(&["status"]), run(&["stories"])] {
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("INFO"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");

    // `run` on a port in use says so before it creates anything.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let out = run(&["run", "--listen", &listen]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {listen}")),
        "{stderr}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn the_systemd_example_reloads_instead_of_restarting() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/feedsieve.service"),
    )
    .unwrap();
    assert!(
        unit.lines()
            .any(|l| l.trim() == "ExecReload=/bin/kill -HUP $MAINPID"),
        "{unit}"
    );
    assert!(unit.contains("systemctl reload feedsieve"), "{unit}");
    assert!(!unit.contains("Reload after editing feeds.toml: sudo systemctl restart"));
    // A file with errors fails the reload first (systemd runs the lines in turn).
    let reloads: Vec<&str> = (unit.lines())
        .filter_map(|l| l.trim().strip_prefix("ExecReload="))
        .collect();
    assert!(
        reloads.len() == 2 && reloads[0].ends_with(" check"),
        "{reloads:?}"
    );
    assert!(unit.lines().any(|l| l.trim() == "UMask=0027"), "{unit}");
}

/// A `fetch` from cron applies `max_age` as the daemon does: items past
/// retention leave the database and the published feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_prunes_items_past_retention() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let text = web
        .config_text(dir.path(), "")
        .replace("[database]\n", "[database]\nmax_age = \"1s\"\n");
    std::fs::write(&path, text).unwrap();
    let fetch = |path: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || common::feedsieve_with(&path, &["fetch"]))
    };
    common::succeeded(&fetch(path.clone()).await.unwrap());
    let published = || std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
    assert_eq!(published().matches("<item>").count(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let stdout = common::succeeded(&fetch(path).await.unwrap());
    assert_eq!(published().matches("<item>").count(), 0, "{stdout}");
    let db = rusqlite::Connection::open(dir.path().join("feedsieve.sqlite")).unwrap();
    let items: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 0);
}
