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
