//! Managing sources as a user does: `add` against local sites, OPML round trips.

use crate::common;

use common::{Behaviour, FixtureServer};
use feedsieve::config::{Config, SourceKind};

const CONFIG: &str =
    "# My sources, annotated.\n[schedule]\ninterval = \"45m\" # polite\n\n# Nothing below yet.\n";

use common::feedsieve_with as feedsieve;

async fn add(config: &std::path::Path, url: String) -> std::process::Output {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || feedsieve(&config, &["add", &url]))
        .await
        .unwrap()
}

fn html(head: &str) -> String {
    format!("<!DOCTYPE html><html><head><title>The Site</title>{head}</head><body><p>News.</p></body></html>")
}

/// Three sites on separate servers, so the common-path probe of one cannot find
/// another's feed: one announcing its feeds (and a comments feed), one with a feed
/// at the common path `/feed` only, and one with no feed at all (the one it
/// announces is not there).
async fn three_sites() -> (FixtureServer, FixtureServer, FixtureServer) {
    let announced = FixtureServer::start().await;
    announced.set(
        "/home.html",
        Behaviour::Body(
            "text/html",
            html("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Comments\" href=\"/comments.xml\"><link rel=\"alternate\" type=\"application/atom+xml\" href=\"/metro-herald/atom.xml\">"),
        ),
    );
    let common_path = FixtureServer::start().await;
    common_path.set("/home.html", Behaviour::Body("text/html", html("")));
    let vue = std::fs::read_to_string(common::fixture_root().join("site/vue-news/rss.xml"))
        .unwrap()
        .replace("{base}", &common_path.base);
    common_path.set("/feed", Behaviour::Body("application/rss+xml", vue));
    let nothing = FixtureServer::start().await;
    let listing: String = [
        (
            "council-approves-budget-after-long-debate",
            "Council approves the budget after a long debate",
        ),
        (
            "river-levels-fall-as-rain-eases",
            "River levels fall as the rain eases",
        ),
        (
            "new-library-opens-in-old-station",
            "New library opens in the old station",
        ),
    ]
    .iter()
    .map(|(slug, title)| {
        format!("<article><h2><a href=\"/2026/12/07/{slug}\">{title}</a></h2></article>")
    })
    .collect();
    nothing.set(
        "/home.html",
        Behaviour::Body(
            "text/html",
            html("<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/gone.xml\">")
                .replace("<p>News.</p>", &listing),
        ),
    );
    // No feed, and nothing a page source could follow.
    nothing.set("/about.html", Behaviour::Body("text/html", html("")));
    // XML that is no feed (a broken one, or another document).
    nothing.set(
        "/config.xml",
        Behaviour::Body(
            "application/xml",
            "<?xml version=\"1.0\"?><config><a>1</a></config>".into(),
        ),
    );
    (announced, common_path, nothing)
}

/// Adding a feed of `base` that `config` has already is refused and changes
/// nothing; found through a page, the refusal says how and under which name.
async fn duplicates_are_refused(config: &std::path::Path, base: &str) {
    let before = std::fs::read_to_string(config).unwrap();
    let out = add(config, format!("{base}/wirecopy/feed.rss")).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in"));
    let out = add(config, format!("{base}/home.html?again")).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is already in")
            && stderr.contains("(as \"")
            && stderr.contains("announced by"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(config).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_finds_the_right_source_and_keeps_comments() {
    let (announced, common_path, nothing) = three_sites().await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, CONFIG).unwrap();

    // 1. A feed URL.
    let out = add(&config, format!("{}/wirecopy/feed.rss", announced.base)).await;
    common::succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("is a feed"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("did not exist"));
    // Into a file that is not there (a forgotten --config): it is made, and said.
    let elsewhere = dir.path().join("other.toml");
    let out = add(&elsewhere, format!("{}/wirecopy/feed.rss", announced.base)).await;
    common::succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("other.toml did not exist") && stderr.contains("--config"),
        "{stderr}"
    );
    assert_eq!(Config::load(&elsewhere).unwrap().sources.len(), 1);
    // 2. A page announcing its feed (the comments feed is not chosen).
    let out = add(&config, format!("{}/home.html", announced.base)).await;
    common::succeeded(&out);
    // 3. A page with nothing announced but a feed at /feed.
    let out = add(&config, format!("{}/home.html", common_path.base)).await;
    common::succeeded(&out);
    // 4. A page with no feed at all: the one it announces cannot be read, and
    //    `add` says so.
    let out = add(&config, format!("{}/home.html", nothing.base)).await;
    let stdout = common::succeeded(&out);
    assert!(stdout.contains("[[page]]"), "{stdout}");
    assert!(
        stdout.contains(&format!("{}/gone.xml, could not be read", nothing.base)),
        "{stdout}"
    );
    duplicates_are_refused(&config, &announced.base).await;

    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("# My sources, annotated.\n"), "{text}");
    assert!(text.contains("interval = \"45m\" # polite"), "{text}");
    assert!(text.contains("# Nothing below yet."), "{text}");
    let cfg = Config::load(&config).unwrap();
    let got: Vec<(SourceKind, String, String)> = cfg
        .sources
        .iter()
        .map(|s| (s.kind, s.name.clone(), s.url.to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                SourceKind::Feed,
                "Wire Copy Daily".into(),
                format!("{}/wirecopy/feed.rss", announced.base)
            ),
            (
                SourceKind::Feed,
                "Metro Herald".into(),
                format!("{}/metro-herald/atom.xml", announced.base)
            ),
            (
                SourceKind::Feed,
                "Vue News - Global News".into(),
                format!("{}/feed", common_path.base)
            ),
            (
                SourceKind::Page,
                "The Site".into(),
                format!("{}/home.html", nothing.base)
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_refuses_what_a_page_source_could_not_follow() {
    // A page with no feed and no article links, XML that is no feed, and an
    // OPML file: refused, the config unchanged.
    let (_announced, _common_path, nothing) = three_sites().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let before = std::fs::read_to_string(&config).unwrap();
    nothing.set(
        "/subs.opml",
        Behaviour::Body(
            "text/xml",
            "<?xml version=\"1.0\"?><opml version=\"2.0\"><body><outline text=\"A\" xmlUrl=\"https://a.test/rss\"/></body></opml>".into(),
        ),
    );
    for (path, says) in [
        ("/about.html", "no article links were found"),
        ("/config.xml", "is XML but not a feed"),
        ("/subs.opml", "feedsieve import-opml FILE"),
    ] {
        let out = add(&config, format!("{}{path}", nothing.base)).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{path}: {stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
}

#[test]
fn opml_round_trip_of_a_hundred_sources() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.toml");
    let mut text = String::from("# a big config\n");
    for i in 0..100 {
        let kind = if i % 10 == 9 { "page" } else { "feed" };
        text.push_str(&format!(
            "\n[[{kind}]]\nname = \"Outlet {i} & Sons <{i}>\"\nurl = \"https://outlet{i}.test/{kind}.xml?a=1&b={i}\"\n"
        ));
        if i % 3 != 0 {
            text.push_str(&format!("category = \"Topic {}\"\n", i % 7));
        }
        if i % 11 == 5 {
            text.push_str("enabled = false\n");
        }
    }
    std::fs::write(&original, &text).unwrap();
    let out = feedsieve(&original, &["export-opml"]);
    common::succeeded(&out);
    let opml = dir.path().join("export.opml");
    std::fs::write(&opml, &out.stdout).unwrap();

    let imported = dir.path().join("imported.toml");
    std::fs::write(&imported, "# empty to start with\n").unwrap();
    let out = feedsieve(&imported, &["import-opml", opml.to_str().unwrap()]);
    common::succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("100 sources read, 100 added"));

    let view = |path: &std::path::Path| {
        let mut v: Vec<(SourceKind, String, String, Option<String>, bool)> = Config::load(path)
            .unwrap()
            .sources
            .into_iter()
            .map(|s| (s.kind, s.name, s.url.to_string(), s.category, s.enabled))
            .collect();
        v.sort_by(|a, b| a.2.cmp(&b.2));
        v
    };
    assert_eq!(
        view(&original),
        view(&imported),
        "kinds, names, categories, disabled"
    );
    assert_eq!(view(&imported).len(), 100);
    assert_eq!(view(&imported).iter().filter(|s| !s.4).count(), 9);
    // Importing again adds nothing.
    let out = feedsieve(&imported, &["import-opml", opml.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 added"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_already_is_changed_and_said_so() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    common::succeeded(&add(&config, format!("{}/wirecopy/feed.rss", web.base)).await);
    let url = format!("{}/vue-news/rss.xml", web.base);
    let args = ["add", url.as_str(), "--name", "wire copy daily"].map(String::from);
    let config2 = config.clone();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        feedsieve(&config2, &args)
    })
    .await
    .unwrap();
    common::succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another source is named \"wire copy daily\" already")
            && stderr.contains("so this one is \"wire copy daily (127.0.0.1)\""),
        "{stderr}"
    );
    let names: Vec<String> = Config::load(&config)
        .unwrap()
        .sources
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Wire Copy Daily", "wire copy daily (127.0.0.1)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_sources_go_after_the_commented_options_of_the_last_one() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    common::succeeded(&feedsieve(&config, &["init"]));
    let out = add(&config, format!("{}/wirecopy/feed.rss", web.base)).await;
    common::succeeded(&out);
    let opml = dir.path().join("more.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body><outline text="Late" xmlUrl="https://late.test/rss"/><outline text="A page" type="link" url="https://page.test/news/"/></body></opml>"#,
    )
    .unwrap();
    common::succeeded(&feedsieve(
        &config,
        &["import-opml", opml.to_str().unwrap()],
    ));

    let text = std::fs::read_to_string(&config).unwrap();
    // Deutsche Welle's commented options stay with Deutsche Welle.
    let dw = text.find("name = \"Deutsche Welle\"").unwrap();
    let options = text.find("# remove = [\".newsletter-signup\"").unwrap();
    let added = text.find("name = \"Wire Copy Daily\"").unwrap();
    let late = text.find("name = \"Late\"").unwrap();
    assert!(dw < options && options < added && added < late, "{text}");
    // Uncommenting them applies them to Deutsche Welle, not to the added feeds.
    let edited = text.replace("# full_text = true", "full_text = true");
    std::fs::write(&config, edited).unwrap();
    let cfg = Config::load(&config).unwrap();
    let full_text: Vec<(&str, bool)> = cfg
        .sources
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.full_text == feedsieve::config::FullText::Always,
            )
        })
        .filter(|(n, _)| ["Deutsche Welle", "Wire Copy Daily", "Late"].contains(n))
        .collect();
    assert_eq!(
        full_text,
        vec![
            ("Deutsche Welle", true),
            ("Wire Copy Daily", false),
            ("Late", false)
        ]
    );
    assert_eq!(cfg.sources.last().unwrap().kind, SourceKind::Page);
    // The example [[page]] block is still the commented block it was.
    assert!(text.contains("\n# A [[page]] is a web page"), "{text}");

    // A feed URL with a trailing slash is the same feed.
    let out = add(&config, format!("{}/wirecopy/feed.rss/", web.base)).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already in"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
