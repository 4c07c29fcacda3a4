//! What a new user trips over in the first hour: defaults that follow the rest of
//! the config, one short message per failure, `clean` that says what it did.

use crate::common;

use common::{feedsieve, FixtureServer};

/// Runs the binary with these arguments off the async runtime (the fixture web
/// serves on it); returns its output.
async fn run(args: Vec<std::ffi::OsString>) -> std::process::Output {
    tokio::task::spawn_blocking(move || feedsieve().args(args).output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_link_the_self_links_follow_the_listen_address() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let text = web.config_text(dir.path(), "[server]\nlisten = \"127.0.0.1:18220\"\n");
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("link = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let out = run(vec!["--config".into(), path.into(), "fetch".into()]).await;
    common::succeeded(&out);

    let rss = std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(rss.as_bytes()).unwrap();
    assert_eq!(channel.link(), "http://127.0.0.1:18220/");
    assert!(
        rss.contains("href=\"http://127.0.0.1:18220/feed.xml\"") && rss.contains("rel=\"self\""),
        "{rss}"
    );
    assert!(!rss.contains(":8080"), "{rss}");
    let atom = std::fs::read_to_string(dir.path().join("atom.xml")).unwrap();
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    assert!(
        feed.links()
            .iter()
            .any(|l| l.rel() == "self" && l.href() == "http://127.0.0.1:18220/atom.xml"),
        "{atom}"
    );
}

/// A URL on 127.0.0.1 where nothing listens.
fn closed_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/feed.xml", l.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_is_said_once_in_a_few_words() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, web.config_text(dir.path(), "")).unwrap();
    let config = || vec!["--config".into(), path.clone().into_os_string()];

    web.set("/gone.xml", common::Behaviour::Status(404));
    let url = format!("{}/gone.xml", web.base);
    let out = run([config(), vec!["add".into(), url.into()]].concat()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.matches("HTTP 404").count(), 1, "{stderr}");

    // An address without its scheme is offered with one; words are not.
    for (typed, says) in [
        ("example.org/feed", "did you mean https://example.org/feed?"),
        (
            "localhost:8080/feed",
            "did you mean http://localhost:8080/feed?",
        ),
        ("./subs.opml", "not a valid URL (e.g. https://"),
        ("not a url", "not a valid URL (e.g. https://"),
        (
            "news.example.org/rss feed",
            "not a valid URL (e.g. https://",
        ),
    ] {
        let out = run([config(), vec!["add".into(), typed.into()]].concat()).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{stderr}");
    }
    // A file (an OPML export, say) is no address.
    let file = path.clone().into_os_string();
    let out = run([config(), vec!["add".into(), file]].concat()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is a file") && stderr.contains("import-opml"),
        "{stderr}"
    );

    let closed = closed_url();
    let out = run([config(), vec!["add".into(), closed.clone().into()]].concat()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(": connection refused"), "{stderr}");
    assert!(
        stderr.trim().lines().count() == 1 && stderr.len() < 100,
        "{stderr}"
    );

    // A source that refuses: the log line says so once, with the cause as a field;
    // `status` shows only the few words.
    let text = std::fs::read_to_string(&path).unwrap();
    let text = format!("{text}\n[[feed]]\nname = \"Closed\"\nurl = \"{closed}\"\n");
    std::fs::write(&path, text).unwrap();
    let out = run([config(), vec!["fetch".into()]].concat()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("Closed")).unwrap_or("");
    assert!(
        line.contains("fetch failed: connection refused"),
        "{stderr}"
    );
    assert_eq!(line.matches("Connection refused").count(), 1, "{line}");
    assert!(line.contains("detail="), "{line}");
    let out = run([config(), vec!["status".into()]].concat()).await;
    let status = common::succeeded(&out);
    assert!(status.contains("connection refused"), "{status}");
    assert!(!status.contains("error sending request"), "{status}");
}

#[test]
fn clean_says_when_a_selector_matched_nothing_or_the_input_is_a_feed() {
    let site = common::fixture_root().join("site");
    let page = site.join("vue-news/zelenskyy-nato.html");
    let clean = |args: &[&str], input: &std::path::Path| {
        feedsieve()
            .arg("clean")
            .args(args)
            .arg(input)
            .output()
            .unwrap()
    };
    let automatic = common::succeeded(&clean(&[], &page));
    let out = clean(&["--content", ".nothing-here"], &page);
    assert_eq!(
        common::succeeded(&out),
        automatic,
        "the automatic choice stands in"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--content \".nothing-here\" matched nothing on this page"),
        "{stderr}"
    );
    let out = clean(&["--content", "body", "--remove", ".no-such-box"], &page);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("--content"), "body matched: {stderr}");
    assert!(
        stderr.contains("--remove \".no-such-box\" matched nothing"),
        "{stderr}"
    );

    let feed = site.join("wirecopy/feed.rss");
    let out = clean(&[], &feed);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no XML text run together");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is a feed") && stderr.contains("feedsieve inspect"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_source_leaves_the_feeds_at_the_next_publish() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let text = web.config_text(dir.path(), "");
    std::fs::write(&path, &text).unwrap();
    let fetch = || run(vec!["--config".into(), path.clone().into(), "fetch".into()]);
    common::succeeded(&fetch().await);
    let published = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    for file in ["feed.xml", "feed.json", "atom.xml"] {
        assert!(published(file).contains("Metro Herald"), "{file}");
    }
    let before = rss::Channel::read_from(published("feed.xml").as_bytes()).unwrap();

    let start = text.find("[[feed]]\nname = \"Metro Herald\"").unwrap();
    let end = text[start + 1..]
        .find("[[")
        .map_or(text.len(), |i| start + 1 + i);
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let stdout = common::succeeded(&fetch().await);
    assert!(stdout.contains("published"), "{stdout}");
    for file in ["feed.xml", "feed.json", "atom.xml", "index.html"] {
        let doc = published(file);
        assert!(!doc.contains("Metro Herald"), "{file}: {doc}");
        assert!(!doc.contains("/metro-herald/"), "{file}: {doc}");
    }
    // The stories the other outlets told are still there, under the same ids.
    let after = rss::Channel::read_from(published("feed.xml").as_bytes()).unwrap();
    assert!(!after.items().is_empty());
    let ids = |c: &rss::Channel| -> Vec<String> {
        c.items()
            .iter()
            .filter_map(|i| i.guid().map(|g| g.value().to_string()))
            .collect()
    };
    assert!(ids(&after).iter().all(|g| ids(&before).contains(g)));
}
