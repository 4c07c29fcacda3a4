//! The source-management commands a user expects: `sources`, `remove`,
//! `enabled = false`, `fetch --source`, `run --listen`.

use std::path::Path;
use std::process::Output;

use crate::common;
use common::{Behaviour, FixtureServer};

use common::feedsieve_with as feedsieve;

async fn run(config: &Path, args: &[&str]) -> Output {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        feedsieve(&config, &args)
    })
    .await
    .unwrap()
}

/// Two feeds served locally and a third, disabled one that is not served at
/// all (fetching it would fail).
async fn three_sources(dir: &Path) -> (FixtureServer, std::path::PathBuf) {
    let server = FixtureServer::start().await;
    for (path, file, kind) in [
        (
            "/vue/rss.xml",
            "site/vue-news/rss.xml",
            "application/rss+xml",
        ),
        (
            "/metro/atom.xml",
            "site/metro-herald/atom.xml",
            "application/atom+xml",
        ),
    ] {
        let body = std::fs::read_to_string(common::fixture_root().join(file))
            .unwrap()
            .replace("{base}", &server.base);
        server.set(path, Behaviour::Body(kind, body));
    }
    let config = dir.join("feeds.toml");
    let text = format!(
        "# My sources.\n[database]\npath = \"{db}\"\n[output]\npath = \"{out}\"\n\n\
         [[feed]]\nname = \"Vue News\"\nurl = \"{base}/vue/rss.xml\"\n# full_text = true\n\n\
         # The wire goes with its heading; Metro's heading, straight after, stays.\n\
         [[feed]] # the wire\nname = \"Wire Copy\"\nurl = \"{base}/wire/feed.rss\"\nenabled = false\n\
         # Metro keeps its comment.\n[[feed]]\nname = \"Metro Herald\"\nurl = \"{base}/metro/atom.xml\"\ncategory = \"City\"\n",
        db = dir.join("db.sqlite").display(),
        out = dir.join("feed.xml").display(),
        base = server.base
    );
    std::fs::write(&config, text).unwrap();
    (server, config)
}

fn row<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{listing}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_lists_state_and_disabled_sources_are_not_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;

    // Before any fetch: listed, and no database is created by looking.
    let before = common::succeeded(&run(&config, &["sources"]).await);
    assert!(
        row(&before, "Vue News").contains("never fetched"),
        "{before}"
    );
    assert!(row(&before, "Wire Copy").contains("disabled"), "{before}");
    assert!(before.contains("no database yet"), "{before}");
    assert!(!dir.path().join("db.sqlite").exists());
    assert!(common::succeeded(&feedsieve(&config, &["check"])).contains("ok"));

    // The disabled source is not fetched: the unserved URL would fail the run.
    let fetched = common::succeeded(&run(&config, &["fetch"]).await);
    assert!(fetched.contains("2 sources"), "{fetched}");
    assert!(!fetched.contains("Wire Copy"), "{fetched}");

    let after = common::succeeded(&run(&config, &["sources"]).await);
    let vue = row(&after, "Vue News");
    assert!(vue.starts_with("feed "), "{after}");
    assert!(vue.contains(" ok "), "{after}");
    assert!(!vue.contains(" 0 "), "items are counted: {after}");
    assert!(row(&after, "Wire Copy").contains("disabled"), "{after}");
    let status = common::succeeded(&run(&config, &["status"]).await);
    assert!(
        status.contains("disabled (enabled = false): Wire Copy"),
        "status names it too: {status}"
    );
    // The URL column starts at the same place on every line (times are wider
    // than "at the next run").
    let url_at: Vec<Option<usize>> = after
        .lines()
        .map(|l| l.find("http").or_else(|| l.find("URL")))
        .collect();
    assert!(url_at.windows(2).all(|w| w[0] == w[1]), "{after}");

    // The site moves: the source keeps its row (and its items) at its new URL,
    // and shows so before it is fetched there.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("/vue/rss.xml", "/vue/feed.xml")).unwrap();
    let moved = common::succeeded(&run(&config, &["sources"]).await);
    let vue = row(&moved, "Vue News");
    assert!(vue.contains("/vue/feed.xml"), "{moved}");
    assert!(!vue.contains("never fetched"), "{moved}");
    assert!(!vue.contains(" 0 "), "items are kept: {moved}");

    // One source now, by name (case aside).
    let one = common::succeeded(&run(&config, &["fetch", "--source", "metro herald"]).await);
    assert!(one.starts_with("1 source:"), "{one}");
    let refused = run(&config, &["fetch", "--source", "Wire Copy"]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("enabled = false"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_never_records_sources_behind_a_running_daemons_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;
    common::succeeded(&run(&config, &["fetch"]).await);
    let db = dir.path().join("db.sqlite");
    let active = || {
        feedsieve::store::Store::open(&db)
            .unwrap()
            .sources()
            .unwrap()
            .len()
    };
    assert_eq!(active(), 2);
    // A daemon owns the database; the file is cut down to no source (the
    // daemon refuses it and runs on): looking records nothing.
    let daemon = feedsieve::store::DbLock::acquire(&db).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let cut = text.split("[[feed]]").next().unwrap().to_string();
    std::fs::write(&config, cut).unwrap();
    for look in ["sources", "status"] {
        run(&config, &[look]).await;
        assert_eq!(active(), 2, "{look} recorded the cut file");
    }
    // With no daemon, looking records the file as it stands.
    drop(daemon);
    std::fs::write(&config, text.replace("/vue/rss.xml", "/vue/feed.xml")).unwrap();
    let moved = common::succeeded(&run(&config, &["sources"]).await);
    assert!(
        !row(&moved, "Vue News").contains("never fetched"),
        "{moved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_neither_keeps_a_fetch_out_nor_migrates_behind_a_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;
    common::succeeded(&run(&config, &["fetch"]).await);
    let db = dir.path().join("db.sqlite");
    // `status` in a loop beside a cron `fetch`: the lock a looker holds for a
    // moment (here 300 ms) is waited for, not taken for a daemon's.
    let looker = feedsieve::store::DbLock::acquire(&db).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(looker);
    });
    common::succeeded(&run(&config, &["fetch"]).await);
    release.join().unwrap();
    // Looking lets the lock go once the sources are recorded.
    common::succeeded(&run(&config, &["status"]).await);
    drop(feedsieve::store::DbLock::acquire(&db).unwrap());
    // An older daemon holds a database of its older schema: looking does not
    // migrate it under it (the daemon would write rows without the new columns).
    let version = |set: Option<i64>| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        if let Some(v) = set {
            conn.pragma_update(None, "user_version", v).unwrap();
        }
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let current = version(None);
    version(Some(current - 1));
    let daemon = feedsieve::store::DbLock::acquire(&db).unwrap();
    for look in ["status", "sources", "stories"] {
        let out = run(&config, &[look]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{look}: {err}");
        assert!(err.contains("older than this feedsieve's"), "{look}: {err}");
        assert_eq!(version(None), current - 1, "{look} migrated the database");
    }
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_takes_one_table_out_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = three_sources(dir.path()).await;
    let before = std::fs::read_to_string(&config).unwrap();

    let unknown = run(&config, &["remove", "Reuters"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("\"Vue News\", \"Wire Copy\", \"Metro Herald\""),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // By URL (trailing slash aside), then by name.
    let url = format!("{}/wire/feed.rss/", server.base);
    common::succeeded(&run(&config, &["remove", &url]).await);
    let out = common::succeeded(&run(&config, &["remove", "vue news"]).await);
    assert!(out.contains("removed [[feed]] \"Vue News\""), "{out}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        text,
        format!(
            "# My sources.\n[database]\npath = \"{db}\"\n[output]\npath = \"{out}\"\n\n\
             # Metro keeps its comment.\n[[feed]]\nname = \"Metro Herald\"\nurl = \"{base}/metro/atom.xml\"\ncategory = \"City\"\n",
            db = dir.path().join("db.sqlite").display(),
            out = dir.path().join("feed.xml").display(),
            base = server.base
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_listen_overrides_the_configured_address() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;
    let port = common::free_port();
    let mut child = common::feedsieve()
        .arg("--config")
        .arg(&config)
        .args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = common::http_client();
    let mut health = None;
    for _ in 0..100 {
        if let Ok(resp) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            health = Some(resp.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(health, Some(reqwest::StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_opml_says_what_it_skipped_and_export_keeps_html_url() {
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = three_sources(dir.path()).await;
    let opml = dir.path().join("subs.opml");
    std::fs::write(
        &opml,
        "<?xml version=\"1.0\"?><opml version=\"2.0\"><head/><body><outline text=\"News\">\
         <outline text=\"Good\" type=\"rss\" xmlUrl=\"https://good.test/rss\"/>\
         <outline text=\"Blog\" htmlUrl=\"https://blog.test/\"/>\
         <outline text=\"Old\" xmlUrl=\"feed://old.test/rss\"/>\
         <outline text=\"Rel\" xmlUrl=\"/local/rss.xml\"/>\
         <outline text=\"Bare\"/></outline></body></opml>",
    )
    .unwrap();
    let out = common::succeeded(&run(&config, &["import-opml", opml.to_str().unwrap()]).await);
    assert!(out.contains("1 added"), "{out}");
    assert!(out.contains("4 outlines skipped"), "{out}");
    for (name, why) in [
        ("Blog", "feedsieve add https://blog.test/"),
        ("Old", "feedsieve add http://old.test/rss"),
        ("Rel", "relative URL"),
        ("Bare", "no xmlUrl"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("skipped \"{name}\"")) && l.contains(why)),
            "{name}: {why} in\n{out}"
        );
    }

    // A file that is not OPML at all is an error, and changes nothing.
    let before = std::fs::read_to_string(&config).unwrap();
    let html = dir.path().join("page.html");
    std::fs::write(&html, "<html><body><p>hello</p></body></html>").unwrap();
    let refused = run(&config, &["import-opml", html.to_str().unwrap()]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an OPML file"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // Remove the source that cannot be reached, fetch, and export: the feed's own
    // site link is its htmlUrl.
    common::succeeded(&run(&config, &["remove", "Good"]).await);
    common::succeeded(&run(&config, &["fetch"]).await);
    let exported = common::succeeded(&run(&config, &["export-opml"]).await);
    let vue = exported
        .lines()
        .find(|l| l.contains("Vue News"))
        .unwrap_or_else(|| panic!("{exported}"));
    assert!(
        vue.contains(&format!("htmlUrl=\"{}/vue-news/\"", server.base)),
        "{exported}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_listing_stays_aligned_and_explain_takes_what_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;
    let long = "The Extraordinarily Long-Named Metropolitan Herald";
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"Metro Herald\"", &format!("{long:?}"));
    std::fs::write(&config, text).unwrap();
    common::succeeded(&run(&config, &["fetch"]).await);
    // A title stored over two lines (as some sources write them).
    let db = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    db.execute(
        "UPDATE items SET title = 'Broken\n   over two lines' WHERE id = (SELECT MIN(id) FROM items)",
        [],
    )
    .unwrap();
    drop(db);

    let listing = common::succeeded(&run(&config, &["stories"]).await);
    assert!(listing.contains("Broken over two lines"), "{listing}");
    assert!(!listing.contains(long), "{listing}");
    assert!(listing.contains("The Extraordinarily…"), "{listing}");
    let members: Vec<Vec<char>> = listing
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains('#'))
        .map(|l| l.chars().collect())
        .collect();
    assert!(members.len() >= 3, "{listing}");
    for m in &members {
        // The id, outlet and layer columns end where they do on every row.
        assert_eq!(
            (m[4], m[11], m[32], m[49]),
            ('#', ' ', ' ', ' '),
            "{listing}"
        );
    }
    let ids: Vec<String> = members
        .iter()
        .take(2)
        .map(|m| m[4..11].iter().collect::<String>().trim().to_string())
        .collect();
    common::succeeded(&run(&config, &["explain", &ids[0], &ids[1]]).await);

    let none = common::succeeded(&run(&config, &["stories", "--limit", "0"]).await);
    assert_eq!(none, "");
    let help = common::succeeded(&run(&config, &["stories", "--help"]).await);
    assert!(!help.contains("Possible values"), "{help}");
    assert!(help.contains("--log-format"), "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_due_now_for_a_source_never_fetched_on_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = three_sources(dir.path()).await;
    common::succeeded(&run(&config, &["fetch"]).await);
    // A source added after the database exists has never been fetched.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[feed]]\nname = \"Added Later\"\nurl = \"{}/later/rss.xml\"\n",
        server.base
    ));
    std::fs::write(&config, text).unwrap();
    let status = common::succeeded(&run(&config, &["status"]).await);
    let added = status
        .split("\n\n")
        .find(|block| block.contains("Added Later"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(added.contains("next fetch: due now"), "{status}");
    assert!(added.contains("last fetch: never"), "{status}");
    assert!(!status.contains("1970"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_closes_the_pipe_early_gets_no_error() {
    // `feedsieve stories --json | head -c 0`: the reader is gone before the
    // listing is written. Like `cat`, the command ends quietly (by SIGPIPE or
    // successfully), with nothing on stderr.
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;
    common::succeeded(&run(&config, &["fetch"]).await);
    for args in [
        &["stories", "--json"][..],
        &["stories"],
        &["status"],
        &["sources"],
    ] {
        let mut child = common::feedsieve()
            .arg("--config")
            .arg(&config)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr, "", "{args:?}");
        use std::os::unix::process::ExitStatusExt as _;
        assert!(
            out.status.success() || out.status.signal() == Some(13),
            "{args:?}: {:?}",
            out.status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_and_removing_work_while_the_config_has_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = three_sources(dir.path()).await;
    common::succeeded(&run(&config, &["fetch"]).await);
    let good = std::fs::read_to_string(&config).unwrap();
    // A pasted source that repeats a name, and a broken URL in another source.
    let mut broken: String = good
        .lines()
        .map(|l| match l.contains("/metro/atom.xml") {
            true => "url = \"metro/atom.xml\"\n".to_string(),
            false => format!("{l}\n"),
        })
        .collect();
    broken.push_str("\n[[feed]]\nname = \"Vue News\"\nurl = \"https://elsewhere.test/rss\"\n");
    std::fs::write(&config, &broken).unwrap();
    assert!(!run(&config, &["check"]).await.status.success());

    // The commands that look still answer, and say the file has errors.
    for args in [&["status"][..], &["sources"], &["stories"]] {
        let out = run(&config, args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("has 2 errors"), "{args:?}: {stderr}");
        let stdout = common::succeeded(&out);
        assert!(stdout.contains("Vue News"), "{args:?}: {stdout}");
    }
    // Looking did not take the source with a broken URL out of the database.
    let status = common::succeeded(&run(&config, &["status"]).await);
    assert!(status.contains("Metro Herald"), "{status}");

    // Removing the pasted duplicate, by its URL, is the fix; the typo remains.
    let out = run(&config, &["remove", "https://elsewhere.test/rss"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = common::succeeded(&out);
    assert!(stdout.contains("removed [[feed]]"), "{stdout}");
    assert!(stderr.contains("still has 1 error"), "{stderr}");
    assert!(stderr.contains("metro/atom.xml"), "{stderr}");
    let left = std::fs::read_to_string(&config).unwrap();
    assert!(!left.contains("elsewhere.test"), "{left}");
    assert!(left.contains("name = \"Vue News\"\nurl = \""), "{left}");

    // A table pasted twice (the same URL) loses the copy below, not the
    // original with its comments.
    let wire = left.find("# The wire goes").unwrap();
    let copy = "\n[[feed]]\nname = \"Wire again\"\nurl = \"WIRE\"\n";
    let url_line = left[wire..]
        .lines()
        .find(|l| l.starts_with("url = "))
        .unwrap();
    let url = url_line
        .trim_start_matches("url = \"")
        .trim_end_matches('"');
    let pasted = format!("{left}{}", copy.replace("WIRE", url));
    std::fs::write(&config, &pasted).unwrap();
    common::succeeded(&run(&config, &["remove", url]).await);
    let left_now = std::fs::read_to_string(&config).unwrap();
    assert!(!left_now.contains("Wire again"), "{left_now}");
    assert!(left_now.contains("# The wire goes"), "{left_now}");
}
