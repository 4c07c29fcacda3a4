//! Page sources: a section page with no feed yields its articles, cleaned, once.

use crate::common;

use common::{Behaviour, FixtureServer};
use feedsieve::pipeline::{run_cycle, Context, Outcome, Selection};

const INDEX: &str = "/pressai/world-news/index.html";
const ZELENSKY: &str = "/pressai/world-news/zelensky-offers-drop-nato-bid";
const MERZ: &str = "/pressai/world-news/merz-macron-air-defence-fund";

fn expected_page() -> serde_json::Value {
    let text = std::fs::read_to_string(common::fixture_root().join("expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["pages"]["pressai/world-news/zelensky-offers-drop-nato-bid"].clone()
}

/// What happened to the page source in a cycle.
fn page_outcome(report: &feedsieve::pipeline::CycleReport) -> &Outcome {
    &report
        .outcomes
        .iter()
        .find(|o| o.name == "PRESS AI WORLD")
        .expect("the page source was visited")
        .outcome
}

/// (title, link, content, published) of the page source's stored items.
fn stored(ctx: &Context) -> Vec<(String, String, String, Option<i64>)> {
    let stories = ctx.store.with(|s| s.latest_stories(100).unwrap());
    let mut out: Vec<_> = stories
        .into_iter()
        .flat_map(|s| s.items)
        .filter(|i| i.source_name == "PRESS AI WORLD")
        .map(|i| {
            (
                i.title.unwrap_or_default(),
                i.link.unwrap_or_default(),
                i.content.unwrap_or_default(),
                i.published_at,
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section_page_yields_its_articles_once() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx =
        Context::open(web.config_with_page(dir.path(), "[dedup]\nenabled = false\n")).unwrap();
    let report = run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let page = page_outcome(&report);
    assert!(matches!(page, Outcome::Stored(s) if s.new == 2), "{page:?}");

    let items = stored(&ctx);
    assert_eq!(items.len(), 2, "exactly the two articles");
    let (merz, zel) = (&items[0], &items[1]);
    assert!(merz.1.ends_with(MERZ) && zel.1.ends_with(ZELENSKY));
    // Title, date and cleaned text come from the article pages.
    let want = expected_page();
    assert_eq!(zel.0, want["title"].as_str().unwrap());
    assert_eq!(
        merz.0,
        "Merz and Macron propose joint European air-defence fund"
    );
    assert!(
        zel.3.is_some() && merz.3.is_some(),
        "dates from the pages' metadata"
    );
    let text = feedsieve::sanitize::plain_text(&zel.2);
    for phrase in want["must_contain"].as_array().unwrap() {
        assert!(text.contains(phrase.as_str().unwrap()), "missing {phrase}");
    }
    for chrome in want["must_not_contain"].as_array().unwrap() {
        assert!(!zel.2.contains(chrome.as_str().unwrap()), "kept {chrome}");
    }
    // No navigation, category or trending link was fetched.
    for nav in [
        "/pressai/",
        "/pressai/world-news/",
        "/pressai/tech/",
        "/pressai/sport/",
    ] {
        assert!(web.hits(nav).is_empty(), "{nav} was fetched");
    }
    assert_eq!(web.hits(ZELENSKY).len(), 1);
    assert_eq!(web.hits(MERZ).len(), 1);

    // Second cycle, the index unchanged: nothing is fetched again.
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ZELENSKY).len(), 1);
    assert_eq!(web.hits(MERZ).len(), 1);

    // The index changes and lists a third article: only that one is fetched.
    let index = std::fs::read_to_string(common::fixture_root().join("site").join(&INDEX[1..]))
        .unwrap()
        .replace("{base}", &web.base)
        .replace(
            "</section>",
            "<article class=\"post-card\"><a href=\"/vue-news/russia-drones-grid.html\"><h2>Russia fires 138 drones and ballistic missiles at the grid</h2></a></article></section>",
        );
    web.set(INDEX, Behaviour::Body("text/html", index));
    let report = run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let page = page_outcome(&report);
    assert!(matches!(page, Outcome::Stored(s) if s.new == 1), "{page:?}");
    assert_eq!(web.hits(ZELENSKY).len(), 1, "no article fetched twice");
    assert_eq!(web.hits(MERZ).len(), 1, "no article fetched twice");
    assert_eq!(stored(&ctx).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_new_limits_each_cycle_and_the_rest_follow() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = web
        .config_text_with_page(dir.path(), "[dedup]\nenabled = false\n")
        .replace(
            "name = \"PRESS AI WORLD\"",
            "name = \"PRESS AI WORLD\"\nmax_new = 1",
        );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(stored(&ctx).len(), 1, "one article per cycle");
    // The index has not changed, but a link was left over: it is read again.
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(stored(&ctx).len(), 2);
    assert_eq!(web.hits(ZELENSKY).len() + web.hits(MERZ).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_web_makes_the_four_expected_stories() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config_with_page(dir.path(), "")).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let text = std::fs::read_to_string(common::fixture_root().join("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let want: std::collections::BTreeSet<std::collections::BTreeSet<String>> = expected["stories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().replace("{base}", &web.base))
                .collect()
        })
        .collect();
    let got: std::collections::BTreeSet<std::collections::BTreeSet<String>> = ctx
        .store
        .with(|s| s.latest_stories(100).unwrap())
        .into_iter()
        .map(|s| {
            s.items
                .into_iter()
                .filter_map(|i| i.link)
                .map(|l| l.split('?').next().unwrap_or("").to_string())
                .collect()
        })
        .collect();
    assert_eq!(got, want);
}

/// `feedsieve links ARGS…`, run off the async workers.
async fn links_command(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || common::feedsieve().arg("links").args(args).output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_prints_what_a_page_source_follows_as_json_lines() {
    let listings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/listings");
    let blog = listings.join("blog.html").display().to_string();
    let table = listings.join("table.html").display().to_string();
    let out = links_command(vec![
        "--json".into(),
        "--url".into(),
        "https://workshop.test/blog/".into(),
        blog.clone(),
        table,
    ])
    .await;
    let stdout = common::succeeded(&out);
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        docs.len(),
        2,
        "one JSON document per input and line: {stdout}"
    );
    let links: Vec<(&str, &str)> = docs[0]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["url"].as_str().unwrap(), l["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        links,
        vec![
            (
                "https://workshop.test/blog/cedar-canoe-in-twelve-weekends",
                "Building a cedar canoe in twelve weekends"
            ),
            (
                "https://workshop.test/blog/sharpening-chisels",
                "Sharpening chisels without a grinder"
            ),
            (
                "https://workshop.test/blog/old-workbench",
                "What the old workbench taught me"
            ),
        ],
        "the posts behind their \"Read more\" links, nothing from the sidebar or footer"
    );
    assert_eq!(docs[1]["links"].as_array().unwrap().len(), 4, "{}", docs[1]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{blog}: 3 links from div#content > div.post (3)")),
        "says how many and from where: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_reads_a_served_page_and_warns_when_it_finds_nothing() {
    let web = FixtureServer::start().await;
    let out = links_command(vec![format!("{}{INDEX}", web.base)]).await;
    let stdout = common::succeeded(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "the two articles, no navigation: {stdout}");
    assert!(
        lines[0].starts_with(&format!("{}{ZELENSKY}  ", web.base)),
        "{stdout}"
    );
    assert!(
        lines[1].ends_with(&format!(
            "{MERZ}  Merz and Macron propose joint European air-defence fund"
        )) && lines[1].starts_with(&web.base),
        "{stdout}"
    );

    // A feed's address given for a page's: said so, with the command for feeds.
    let feed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-story/site/vue-news/rss.xml");
    let out = links_command(vec![feed.display().to_string()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("this is a feed") && stderr.contains("feedsieve inspect"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.html");
    std::fs::write(
        &empty,
        "<html><body><nav><a href=\"/a-b-c-d\">A b c d</a></nav></body></html>",
    )
    .unwrap();
    let out = links_command(vec![empty.display().to_string()]).await;
    common::succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("--url https://"),
        "a saved page without its address: asks for it: {stderr}"
    );
    // The warning for the empty page, given an option and its value.
    let warned = |option: &str, value: &str| {
        let args = vec![option.into(), value.into(), empty.display().to_string()];
        async move { String::from_utf8_lossy(&links_command(args).await.stderr).into_owned() }
    };
    let stderr = warned("--url", "https://news.test/").await;
    assert!(
        stderr.contains("warning:") && stderr.contains("links = "),
        "advises pinning: {stderr}"
    );
    let stderr = warned("--links", "h9 a").await;
    assert!(stderr.contains("\"h9 a\" matches no links"), "{stderr}");

    // A saved page that names its address is read as if fetched from there.
    let listings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/listings");
    let blog = std::fs::read_to_string(listings.join("blog.html")).unwrap();
    let saved = dir.path().join("saved.html");
    let canonical = "<head><link rel=\"canonical\" href=\"https://workshop.test/blog/\">";
    std::fs::write(&saved, blog.replacen("<head>", canonical, 1)).unwrap();
    let stdout = common::succeeded(&links_command(vec![saved.display().to_string()]).await);
    assert!(
        stdout.starts_with("https://workshop.test/blog/cedar-canoe-in-twelve-weekends  "),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

/// `feedsieve --config CONFIG ARGS…`, run off the async workers.
async fn feedsieve_with(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = common::feedsieve();
    cmd.arg("--config").arg(config).args(args);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_on_an_article_offers_its_section_page_and_adds_nothing() {
    let web = FixtureServer::start().await;
    // The article's "World News" link: the section folder, served as its index.
    let index = std::fs::read_to_string(common::fixture_root().join(format!("site{INDEX}")))
        .unwrap()
        .replace("{base}", &web.base);
    web.set("/pressai/world-news/", Behaviour::Body("text/html", index));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    let before = "# mine\n[schedule]\ninterval = \"30m\"\n";
    std::fs::write(&config, before).unwrap();

    let out = feedsieve_with(&config, &["add", &format!("{}{ZELENSKY}", web.base)]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(
        stderr.contains("is an article, not a listing"),
        "says why: {stderr}"
    );
    assert!(
        stderr.contains(&format!("`feedsieve add {}/pressai/world-news/`", web.base))
            && stderr.contains("2 links from"),
        "offers the section page that lists its articles: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // The section page itself is added, saying what it found there.
    let out = feedsieve_with(
        &config,
        &["add", &format!("{}/pressai/world-news/", web.base)],
    )
    .await;
    let stdout = common::succeeded(&out);
    assert!(
        stdout.contains("added [[page]]") && stdout.contains("2 links from"),
        "{stdout}"
    );

    // An article whose section has a feed beside it (/vue-news/rss.xml, not
    // announced): the feed is found in the article's folder and added.
    let out = feedsieve_with(
        &config,
        &["add", &format!("{}/vue-news/zelenskyy-nato.html", web.base)],
    )
    .await;
    let stdout = common::succeeded(&out);
    assert!(
        stdout.contains(&format!("<{}/vue-news/rss.xml>", web.base))
            && stdout.contains("found at /vue-news/rss.xml"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_source_without_links_is_a_warning_in_status() {
    let web = FixtureServer::start().await;
    web.set(
        INDEX,
        Behaviour::Body(
            "text/html",
            "<html><body><nav><a href=\"/pressai/a-story-in-the-menu\">A story in the menu</a></nav><p>Coming soon.</p></body></html>".into(),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = web.config_with_page(dir.path(), "[dedup]\nenabled = false\n");
    let config = dir.path().join("feeds.toml");
    {
        let ctx = Context::open(cfg).unwrap();
        // Twice: the same page again (unchanged) still has no links.
        for _ in 0..2 {
            run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
        }
    }
    let out = feedsieve_with(&config, &["status"]).await;
    let stdout = common::succeeded(&out);
    let page = stdout
        .split("\n\n")
        .find(|block| block.starts_with("PRESS AI WORLD"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        page.contains("result: warning: no links") && page.contains("links = \"css selector\""),
        "{page}"
    );
    assert!(
        page.contains(&format!("feedsieve links {}{INDEX}", web.base)),
        "{page}"
    );
    let feeds_ok = stdout
        .split("\n\n")
        .filter(|b| !b.starts_with("PRESS AI WORLD"))
        .all(|b| !b.contains("warning"));
    assert!(feeds_ok, "feeds with items are not warned about: {stdout}");
}

/// A listing whose markup changes without a new article (a clock, a rotated
/// teaser) still has its links: no "no links" warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_listing_without_new_articles_is_not_a_warning() {
    let web = FixtureServer::start().await;
    let index = std::fs::read_to_string(common::fixture_root().join(format!("site{INDEX}")))
        .unwrap()
        .replace("{base}", &web.base);
    web.set(INDEX, Behaviour::Body("text/html", index.clone()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = web.config_with_page(dir.path(), "[dedup]\nenabled = false\n");
    let config = dir.path().join("feeds.toml");
    let ctx = Context::open(cfg).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let changed = index.replacen("</body>", "<!-- rendered 12:05 --></body>", 1);
    assert_ne!(changed, index);
    web.set(INDEX, Behaviour::Body("text/html", changed));
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    drop(ctx);
    let stdout = common::succeeded(&feedsieve_with(&config, &["status"]).await);
    let page = stdout
        .split("\n\n")
        .find(|block| block.starts_with("PRESS AI WORLD"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(!page.contains("warning"), "{page}");
    assert!(page.contains("result: ok"), "{page}");
}

/// An article page that fails is not downloaded again at the next fetch of
/// its listing: it waits a backoff, as a failing source does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_article_page_waits_before_it_is_tried_again() {
    let web = FixtureServer::start().await;
    web.set(MERZ, Behaviour::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let cfg = web.config_with_page(dir.path(), "[dedup]\nenabled = false\n");
    let ctx = Context::open(cfg).unwrap();
    let page = format!("{}{INDEX}", web.base);
    run_cycle(&ctx, Selection::Url(page.clone()), |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(web.hits(MERZ).len(), 1);
    assert_eq!(web.hits(ZELENSKY).len(), 1);
    for _ in 0..2 {
        run_cycle(&ctx, Selection::Url(page.clone()), |_, _, _| {})
            .await
            .unwrap();
    }
    assert!(web.hits(INDEX).len() >= 3, "the listing is read again");
    assert_eq!(web.hits(MERZ).len(), 1, "the failed page waits its turn");
    assert_eq!(web.hits(ZELENSKY).len(), 1, "the stored one is known");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_rules_reach_a_page_sources_stored_articles() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dedup_off = "[dedup]\nenabled = false\n";
    let ctx = Context::open(web.config_with_page(dir.path(), dedup_off)).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let point = "Zelensky expresses readiness to abandon NATO membership";
    let lead = "Ukrainian President Volodymyr Zelensky has signaled";
    let zelensky = |ctx: &Context| {
        let items = stored(ctx);
        assert_eq!(items.len(), 2, "each article once: {items:?}");
        let zel = items.into_iter().find(|i| i.1.ends_with(ZELENSKY)).unwrap();
        zel.2
    };
    assert!(zelensky(&ctx).contains(point));
    // A new process after each edit of the page source's table.
    let text = web.config_text_with_page(dir.path(), dedup_off);
    let again = |ctx: Context, rule: &str| {
        drop(ctx);
        let path = dir.path().join("feeds.toml");
        let table = "name = \"PRESS AI WORLD\"";
        let edited = text.replacen(table, &format!("{table}\nremove = [\"{rule}\"]"), 1);
        assert_ne!(edited, text);
        std::fs::write(&path, edited).unwrap();
        Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap()
    };

    // A `remove` rule: both stored articles are read again, none twice.
    let ctx = again(ctx, ".key-points");
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ZELENSKY).len(), 2, "the page is read again");
    assert_eq!(web.hits(MERZ).len(), 2);
    let cut = zelensky(&ctx);
    assert!(!cut.contains(point) && cut.contains(lead), "{cut}");
    // Extracted under the rules now: not read again at the next fetch.
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ZELENSKY).len(), 2);

    // Another rule while the page answers with a cookie wall: the stored
    // article stays, and is not asked for again during the backoff.
    let wall = "<html><body><p>Please enable cookies to read this article.</p></body></html>";
    web.set(ZELENSKY, Behaviour::Body("text/html", wall.into()));
    let ctx = again(ctx, ".share-bar");
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ZELENSKY).len(), 3);
    assert_eq!(zelensky(&ctx), cut);
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ZELENSKY).len(), 3);
}
