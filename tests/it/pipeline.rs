//! End-to-end: the seed-story fixture web through fetch → read → store → publish.

use crate::common;

use std::collections::HashSet;

use chrono::Utc;
use common::{Behaviour, FixtureServer};
use feedsieve::pipeline::{run_cycle, Context, Outcome, Selection};

const FEEDS: [&str; 3] = [
    "/vue-news/rss.xml",
    "/wirecopy/feed.rss",
    "/metro-herald/atom.xml",
];

async fn cycle(ctx: &Context) -> feedsieve::pipeline::CycleReport {
    run_cycle(ctx, Selection::All, |_, _, _| {}).await.unwrap()
}

fn counts(ctx: &Context) -> (i64, i64) {
    ctx.store
        .with(|s| (s.item_count().unwrap(), s.story_count().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_cycle_publishes_every_item_with_its_source() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Dedup off: this checks every item of every feed, one entry each.
    let ctx = Context::open(web.config(dir.path(), "[dedup]\nenabled = false\n")).unwrap();

    let report = cycle(&ctx).await;
    // The page source is not fetched by the feed pipeline; the three feeds are.
    assert_eq!(report.outcomes.len(), 3);
    for o in &report.outcomes {
        assert!(
            matches!(o.outcome, Outcome::Stored(s) if s.new > 0),
            "{o:?}"
        );
    }
    assert_eq!(counts(&ctx), (5, 5));

    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    // Valid for feed-rs (a strict reader) …
    let parsed = feed_rs::parser::parse(&bytes[..]).expect("published feed parses");
    assert_eq!(parsed.entries.len(), 5);
    // … and every item credits its outlet with <source url="FEED URL">.
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    let mut guids = HashSet::new();
    for item in channel.items() {
        let source = item.source().expect("every item has a <source>");
        let (path, name) = match source.url().strip_prefix(&web.base) {
            Some("/vue-news/rss.xml") => ("/vue-news/", "Vue News"),
            Some("/wirecopy/feed.rss") => ("/wirecopy/", "Wire Copy Daily"),
            Some("/metro-herald/atom.xml") => ("/metro-herald/", "Metro Herald"),
            other => panic!("unexpected source {other:?}"),
        };
        assert_eq!(source.title(), Some(name));
        assert!(item.link().unwrap().contains(path), "{:?}", item.link());
        let guid = item.guid().unwrap();
        assert!(!guid.is_permalink());
        assert!(guids.insert(guid.value().to_string()), "guids are unique");
        assert!(item.pub_date().is_some());
    }
    let wire = channel
        .items()
        .iter()
        .find(|i| {
            i.title() == Some("Zelenskyy Willing to Forgo NATO Bid for Security Vue")
                && i.link().unwrap().contains("wirecopy")
        })
        .expect("the wire copy is published");
    let desc = wire.description().unwrap();
    assert!(desc.contains("Ukrainian President Volodymyr Zelenskyy expressed willingness"));
    assert!(
        !desc.contains("pixel.wirecopy.test"),
        "tracking pixel removed"
    );
    assert!(
        !desc.contains("Subscribe to Wire Copy Daily"),
        "the feed's furniture after the text is left out: {desc}"
    );
    assert!(
        !wire.link().unwrap().contains("utm_"),
        "tracking parameters removed from the link"
    );
    // Entities in titles are decoded, not doubled.
    assert!(channel.items().iter().any(|i| i.title()
        == Some("Russia fires 138 drones and ballistic missiles at Ukraine's power grid")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_feeds_add_nothing_and_rewrite_nothing() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    let out = dir.path().join("feed.xml");

    cycle(&ctx).await;
    let before = (
        std::fs::read(&out).unwrap(),
        std::fs::metadata(&out).unwrap().modified().unwrap(),
    );
    assert_eq!(counts(&ctx), (5, 3));

    // Second cycle: the server answers 304 to our validators.
    let report = cycle(&ctx).await;
    for o in &report.outcomes {
        assert_eq!(o.outcome, Outcome::NotModified, "{}", o.name);
    }
    for path in FEEDS {
        let hits = web.hits(path);
        assert_eq!(hits.len(), 2);
        assert!(
            hits[1].contains_key("if-none-match"),
            "conditional GET for {path}"
        );
    }
    assert!(report.published.is_none());

    // Third cycle: the server ignores validators and sends the same bytes again.
    for path in FEEDS {
        web.set(path, Behaviour::NoValidators);
    }
    let report = cycle(&ctx).await;
    for o in &report.outcomes {
        assert_eq!(o.outcome, Outcome::Unchanged, "{}", o.name);
    }
    assert!(report.published.is_none());
    assert_eq!(counts(&ctx), (5, 3));
    let after = (
        std::fs::read(&out).unwrap(),
        std::fs::metadata(&out).unwrap().modified().unwrap(),
    );
    assert_eq!(before, after, "the output file is not rewritten");

    // A source added that has nothing yet (it fails): no file shows it, none
    // is rewritten (a new date would have every reader fetch the feed again).
    drop(ctx);
    let path = dir.path().join("feeds.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    web.set("/new.xml", Behaviour::Status(500));
    let added = format!(
        "{text}\n[[feed]]\nname = \"New\"\nurl = \"{}/new.xml\"\n",
        web.base
    );
    std::fs::write(&path, &added).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    let report = cycle(&ctx).await;
    assert!(
        report.published.is_none(),
        "published for a source with no items"
    );
    assert_eq!(std::fs::read(&out).unwrap(), after.0);
    // A source with items removed: its items leave the feed.
    drop(ctx);
    let start = added.find("[[feed]]").unwrap();
    let end = start + 1 + added[start + 1..].find("[[feed]]").unwrap();
    std::fs::write(&path, format!("{}{}", &added[..start], &added[end..])).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    let report = cycle(&ctx).await;
    assert!(
        report.published.is_some(),
        "a removed source's items leave the feed"
    );
    assert_ne!(std::fs::read(&out).unwrap(), after.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_on_the_same_database_adds_no_duplicates() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = web.config(dir.path(), "");
    {
        let ctx = Context::open(config.clone()).unwrap();
        cycle(&ctx).await;
        assert_eq!(counts(&ctx), (5, 3));
        let dedup = ctx.dedup.as_ref().unwrap();
        assert_eq!(dedup.window_len(), Some(5), "new items filled the window");
    }
    // A restarted daemon re-reads feeds whose bytes changed (here: the channel
    // description) but whose items did not.
    let vue = std::fs::read_to_string(common::fixture_root().join("site/vue-news/rss.xml"))
        .unwrap()
        .replace("{base}", &web.base)
        .replace(
            "Global news from Vue News",
            "Global news, now with a new tagline",
        );
    web.set(
        "/vue-news/rss.xml",
        Behaviour::Body("application/rss+xml", vue),
    );
    web.set("/wirecopy/feed.rss", Behaviour::NoValidators);

    let ctx = Context::open(config).unwrap();
    let report = cycle(&ctx).await;
    let vue_outcome = report
        .outcomes
        .iter()
        .find(|o| o.name == "Vue News")
        .unwrap();
    assert_eq!(
        vue_outcome.outcome,
        Outcome::Stored(Default::default()),
        "re-read, nothing new"
    );
    assert_eq!(counts(&ctx), (5, 3));
    assert_eq!(
        ctx.dedup.as_ref().unwrap().window_len(),
        None,
        "a process that finds nothing new does no dedup work"
    );
    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    assert_eq!(
        rss::Channel::read_from(&bytes[..]).unwrap().items().len(),
        3
    );
}

/// Config for six sources that fail in different ways (500, hanging, too big,
/// 429 with Retry-After, 410, an HTML page), set up on `web`.
fn six_failing_sources(web: &FixtureServer) -> String {
    let extra = format!(
        "[fetch]\ntimeout = \"2s\"\nmax_body = \"256 KiB\"\n\n{}",
        [
            ("Broken", "/bad/500.xml"),
            ("Hanging", "/bad/hang.xml"),
            ("Huge", "/bad/huge.xml"),
            ("Busy", "/bad/429.xml"),
            ("Gone", "/bad/410.xml"),
            ("Not a feed", "/bad/page.html"),
        ]
        .iter()
        .map(|(n, p)| format!("[[feed]]\nname = \"{n}\"\nurl = \"{}{p}\"\n", web.base))
        .collect::<String>()
    );
    web.set("/bad/500.xml", Behaviour::Status(500));
    web.set("/bad/hang.xml", Behaviour::Hang);
    web.set("/bad/huge.xml", Behaviour::Endless(8 * 1024 * 1024));
    web.set("/bad/429.xml", Behaviour::RetryAfter(429, 7200));
    web.set("/bad/410.xml", Behaviour::Status(410));
    web.set(
        "/bad/page.html",
        Behaviour::Body(
            "text/html",
            "<!DOCTYPE html><html><body><p>Hello</p></body></html>".into(),
        ),
    );
    extra
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_sources_back_off_while_the_others_publish() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = six_failing_sources(&web);
    let ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
    let started = Utc::now().timestamp();

    let report = cycle(&ctx).await;
    assert_eq!(report.outcomes.len(), 9);
    // The healthy sources are published in the same cycle.
    assert_eq!(counts(&ctx), (5, 3));
    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    assert_eq!(
        rss::Channel::read_from(&bytes[..]).unwrap().items().len(),
        3
    );

    let expect = [
        ("/bad/500.xml", "HTTP 500", 270),
        ("/bad/hang.xml", "timed out", 270),
        ("/bad/huge.xml", "larger than the 262144-byte limit", 270),
        ("/bad/429.xml", "HTTP 429", 7200 * 9 / 10),
        ("/bad/410.xml", "HTTP 410", 270),
        ("/bad/page.html", "can be a [[page]] source", 270),
    ];
    for (path, error, min_delay) in expect {
        let url = format!("{}{path}", web.base);
        let rec = ctx.store.with(|s| s.source_by_url(&url).unwrap().unwrap());
        assert_eq!(rec.last_status.as_deref(), Some("error"), "{path}");
        let last_error = rec.last_error.clone().unwrap_or_default();
        assert!(last_error.contains(error), "{path}: {last_error}");
        assert_eq!(rec.error_count, 1, "{path}");
        assert!(
            rec.next_fetch_at >= started + min_delay,
            "{path} backs off: due in {}s",
            rec.next_fetch_at - started
        );
        assert_eq!(rec.gone, path == "/bad/410.xml", "{path}");
    }

    // The second failure in a row doubles the backoff; the gone source is not asked again.
    // (Counted from before the cycle: a slow source in it, the hanging one, may
    // finish long after the failing one was stored.)
    let second = Utc::now().timestamp();
    let report = cycle(&ctx).await;
    assert_eq!(
        report.outcomes.len(),
        8,
        "the 410 source is no longer fetched"
    );
    let rec = ctx.store.with(|s| {
        s.source_by_url(&format!("{}/bad/500.xml", web.base))
            .unwrap()
            .unwrap()
    });
    assert_eq!(rec.error_count, 2);
    assert!(
        rec.next_fetch_at >= second + 540,
        "due in {}s",
        rec.next_fetch_at - second
    );
    assert_eq!(web.hits("/bad/410.xml").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websub_hub_is_advertised_and_pinged_after_a_change() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = web.config(dir.path(), "");
    config.output.hub = Some(url::Url::parse(&format!("{}/hub", web.base)).unwrap());
    let ctx = Context::open(config).unwrap();
    cycle(&ctx).await;

    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    let links = channel.atom_ext().unwrap().links();
    assert!(links
        .iter()
        .any(|l| l.rel() == "hub" && l.href() == format!("{}/hub", web.base)));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("feed.json")).unwrap()).unwrap();
    assert_eq!(json["hubs"][0]["type"], "WebSub");

    // The ping is sent in the background; give it a moment.
    let mut posts = Vec::new();
    for _ in 0..50 {
        posts = web.posts("/hub");
        if !posts.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(posts.len(), 1, "one ping per publish that changed the feed");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(posts[0].as_bytes())
        .into_owned()
        .collect();
    assert!(form.contains(&("hub.mode".into(), "publish".into())));
    let link = format!("{}/", web.base);
    assert!(
        form.contains(&("hub.url".into(), format!("{link}feed.xml"))),
        "{form:?}"
    );
    assert!(
        form.contains(&("hub.url".into(), format!("{link}atom.xml"))),
        "{form:?}"
    );

    // Nothing changed: no second ping.
    cycle(&ctx).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(web.posts("/hub").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_hold_items_back_and_categories_reach_the_feed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = web
        .config_text(dir.path(), "[filters]\nexclude = \"(?i)sponsored\"\n")
        .replace(
            "name = \"Wire Copy Daily\"",
            "name = \"Wire Copy Daily\"\ncategory = \"Wire\"\nexclude = [\"(?i)cycle lanes\"]",
        );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    cycle(&ctx).await;
    // Stored (so it is not fetched as new again) but not published.
    assert_eq!(counts(&ctx).0, 5);
    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    let titles: Vec<&str> = channel.items().iter().filter_map(|i| i.title()).collect();
    // Of the three stories (two merged pairs and the cycle lanes) the last is excluded.
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        !titles.iter().any(|t| t.contains("cycle lanes")),
        "{titles:?}"
    );
    // A story Wire Copy Daily told or also covered carries its category,
    // whichever outlet represents it.
    let mut wire_stories = 0;
    for item in channel.items() {
        let told = item.source().and_then(|s| s.title()) == Some("Wire Copy Daily");
        let also = item
            .description()
            .is_some_and(|d| d.contains(">Wire Copy Daily<"));
        let has_category = item.categories().iter().any(|c| c.name() == "Wire");
        assert_eq!(told || also, has_category, "{:?}", item.title());
        wire_stories += usize::from(has_category);
    }
    assert_eq!(wire_stories, 1);
}

/// Edits between two `feedsieve fetch` runs (each a new process, with the
/// sources answering as before) show in the files the second run writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_between_two_fetch_runs_reach_the_published_feed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let text = web.config_text(dir.path(), "[dedup]\nenabled = false\n");
    std::fs::write(&path, &text).unwrap();
    let run = || async {
        let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
        cycle(&ctx).await;
        let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
        rss::Channel::read_from(&bytes[..]).unwrap()
    };
    let has_cycle_lanes = |c: &rss::Channel| {
        (c.items().iter()).any(|i| i.title().is_some_and(|t| t.contains("cycle lanes")))
    };
    let first = run().await;
    assert!(has_cycle_lanes(&first));
    // A global filter and a new title; the sources' answers are the same bytes.
    let edited = text.replacen(
        "[dedup]",
        "[filters]\nexclude = \"(?i)cycle lanes\"\n[dedup]",
        1,
    );
    let renamed = |t: &str| t.replacen("title = \"Seed news\"", "title = \"Renamed\"", 1);
    let edited = renamed(&edited);
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();
    let second = run().await;
    assert_eq!(second.title(), "Renamed");
    assert!(!has_cycle_lanes(&second), "the global filter applied");
    assert_eq!(second.items().len(), first.items().len() - 1);
    // The filter taken away again, the item comes back.
    std::fs::write(&path, renamed(&text)).unwrap();
    let third = run().await;
    assert!(has_cycle_lanes(&third));
    // A title alone: no story changed, yet the files are newer, so readers that
    // ask If-Modified-Since get them (the clock moves on a second first).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let retitled = text.replacen("title = \"Seed news\"", "title = \"Again\"", 1);
    std::fs::write(&path, retitled).unwrap();
    let fourth = run().await;
    let built = |c: &rss::Channel| {
        chrono::DateTime::parse_from_rfc2822(c.last_build_date().unwrap()).unwrap()
    };
    assert_eq!(fourth.title(), "Again");
    assert!(
        built(&fourth) > built(&third),
        "{:?}",
        fourth.last_build_date()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_feeds_are_stored_and_html_pages_name_their_feed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[feed]]\nname = \"Sloppy\"\nurl = \"{0}/sloppy/rss\"\n\n[[feed]]\nname = \"Blog page\"\nurl = \"{0}/blog/\"\n",
        web.base
    );
    // No version, HTML entities, a relative link, and the body cut off mid-item.
    web.set(
        "/sloppy/rss",
        Behaviour::Body(
            "text/xml; charset=utf-8",
            "<rss><channel><title>Sloppy &mdash; News</title>\
             <item><title>Caf&eacute; reopens &amp; more</title><link>/sloppy/cafe.html</link>\
             <guid isPermaLink=\"false\">sloppy-1</guid></item><item><title>Cut off"
                .into(),
        ),
    );
    web.set(
        "/blog/",
        Behaviour::Body(
            "text/html",
            "<!DOCTYPE html><html><head><link rel=\"alternate\" type=\"application/atom+xml\" \
             href=\"/blog/atom.xml\"></head><body>Blog</body></html>"
                .into(),
        ),
    );
    let ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
    cycle(&ctx).await;

    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    let cafe = channel
        .items()
        .iter()
        .find(|i| i.title() == Some("Café reopens & more"))
        .expect("the sloppy feed's item is published");
    let want = format!("{}/sloppy/cafe.html", web.base);
    assert_eq!(cafe.link(), Some(want.as_str()));
    assert!(
        channel.items().iter().all(|i| i.title() != Some("Cut off")),
        "an item cut in its title is left out: its key may be cut"
    );

    let rec = ctx.store.with(|s| {
        s.source_by_url(&format!("{}/blog/", web.base))
            .unwrap()
            .unwrap()
    });
    let err = rec.last_error.unwrap_or_default();
    assert!(
        err.contains(&format!("{}/blog/atom.xml", web.base)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dedup_window_holds_no_article_retention_removed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Retention (1 s) shorter than the dedup window (72 h).
    let extra = "[database]\nmax_age = \"1s\"\n";
    let text = web
        .config_text(dir.path(), "")
        .replace("[database]\n", extra);
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    cycle(&ctx).await;
    let dedup = ctx.dedup.as_ref().unwrap();
    assert!(dedup.window_len().is_some_and(|n| n > 0));
    // Retention counts to the newest fetch: one more, past it.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    cycle(&ctx).await;
    assert!(feedsieve::pipeline::prune(&ctx).await.unwrap() > 0);
    assert_eq!(ctx.store.with(|s| s.item_count()).unwrap(), 0);
    // Dropped, and read back from the store (which holds none of them) at
    // the next publish, as after a restart: changes are judged at once.
    assert_eq!(dedup.window_len(), None);
    feedsieve::pipeline::publish(&ctx).await.unwrap();
    assert_eq!(dedup.window_len(), Some(0));
}
