//! Faults that come in with the content of a feed: HTML nested tens of thousands
//! of levels deep, dates in the far future (and a clock that jumps), GUIDs that
//! change on every fetch, and fields megabytes long. Each test goes through the
//! pipeline (or the binary) and looks at what a subscriber gets.

use crate::common;

use std::sync::Arc;

use common::{feedsieve, Behaviour, FixtureServer};
use feedsieve::pipeline::{prune, publish, run_cycle, Clock, Context, Outcome, Selection};

/// Where the fault feed is served.
const FEED: &str = "/faults/feed.xml";

/// A context for one source, "Faulty", at [`FEED`] (with `source`, more TOML
/// for it), with story dedup off (each item is its own entry, so a duplicate
/// shows) and the database and outputs in `dir`.
fn context(web: &FixtureServer, dir: &std::path::Path, source: &str) -> Context {
    let path = dir.join("feeds.toml");
    std::fs::write(&path, config_text(web, dir) + source).unwrap();
    Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap()
}

fn config_text(web: &FixtureServer, dir: &std::path::Path) -> String {
    format!(
        "[output]\npath = \"{out}\"\nmax_items = 1000\n[database]\npath = \"{db}\"\n\
         [dedup]\nenabled = false\n[[feed]]\nname = \"Faulty\"\nurl = \"{base}{FEED}\"\n",
        out = dir.join("feed.xml").display(),
        db = dir.join("db.sqlite").display(),
        base = web.base,
    )
}

/// An RSS document holding these `<item>`s.
fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>Faulty</title><link>https://faulty.test/</link><description>d</description>\
         {items}</channel></rss>"
    )
}

/// The published RSS feed's items.
fn published(ctx: &Context) -> Vec<rss::Item> {
    let bytes = std::fs::read(&ctx.config.output.path).unwrap();
    rss::Channel::read_from(&bytes[..])
        .expect("the published feed is valid RSS")
        .items()
        .to_vec()
}

async fn cycle(ctx: &Context) {
    let report = run_cycle(ctx, Selection::All, |_, _, _| {}).await.unwrap();
    for o in &report.outcomes {
        assert!(
            !matches!(o.outcome, Outcome::Failed(_)),
            "{}: {:?}",
            o.name,
            o.outcome
        );
    }
}

/// Deepest element nesting of an HTML fragment, as a browser builds it.
fn nesting(html: &str) -> usize {
    let doc = scraper::Html::parse_fragment(html);
    doc.root_element()
        .descendants()
        .map(|n| n.ancestors().count())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_item_html_is_published_flat_with_its_text() {
    // 40,000 levels cost a parser quadratic time on every fetch and publish.
    let levels = 40_000;
    let deep = format!(
        "<p>Lead paragraph.</p>{}deep text{}",
        "<div>".repeat(levels),
        "</div>".repeat(levels)
    );
    let items = format!(
        "<item><title>Deep</title><link>https://faulty.test/deep</link><guid>deep</guid>\
         <description>{}</description></item>\
         <item><title>Plain</title><link>https://faulty.test/plain</link><guid>plain</guid>\
         <description>&lt;p&gt;Plain text.&lt;/p&gt;</description></item>",
        deep.replace('<', "&lt;")
    );
    let web = FixtureServer::start().await;
    web.set(FEED, Behaviour::Body("application/rss+xml", rss(&items)));
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(&web, dir.path(), "");
    cycle(&ctx).await;
    let items = published(&ctx);
    assert_eq!(items.len(), 2, "both items are published");
    let deep = items.iter().find(|i| i.title() == Some("Deep")).unwrap();
    let html = deep.description().unwrap_or("");
    assert!(
        html.contains("Lead paragraph.") && html.contains("deep text"),
        "the text is kept"
    );
    assert!(
        nesting(html) <= 410,
        "nesting is capped, not republished {levels} levels deep: {}",
        nesting(html)
    );
    // The front page stays a page, not half a megabyte of tags.
    let front = std::fs::read(dir.path().join("index.html")).unwrap();
    assert!(front.len() < 100_000, "index.html is {} bytes", front.len());
}

/// 2026-09-21T14:13:20Z: a fixed "now" for the time tests.
const T0: i64 = 1_790_000_000;
const DAY: i64 = 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_dates_show_the_fetch_time_and_a_clock_jump_loses_nothing() {
    // Each fetch differs (a comment), so the feed is read every time.
    let feed: common::Generator = Arc::new(|n| {
        rss(&format!(
            "<!-- fetch {n} -->\
             <item><title>Far future</title><link>https://faulty.test/a</link><guid>a</guid>\
             <pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item>\
             <item><title>Wrong year</title><link>https://faulty.test/b</link><guid>b</guid>\
             <pubDate>Sun, 01 Jun 2031 08:00:00 GMT</pubDate></item>\
             <item><title>Yesterday</title><link>https://faulty.test/c</link><guid>c</guid>\
             <pubDate>Sun, 20 Sep 2026 12:00:00 GMT</pubDate></item>"
        ))
    });
    let web = FixtureServer::start().await;
    web.set(FEED, Behaviour::Dynamic(feed));
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(&web, dir.path(), "");
    ctx.clock = Clock::fixed(T0);
    cycle(&ctx).await;
    let dates = |ctx: &Context| -> Vec<(String, i64)> {
        published(ctx)
            .iter()
            .map(|i| {
                let date = chrono::DateTime::parse_from_rfc2822(i.pub_date().unwrap()).unwrap();
                (i.title().unwrap().to_string(), date.timestamp())
            })
            .collect()
    };
    for (title, date) in dates(&ctx) {
        match title.as_str() {
            "Yesterday" => assert_eq!(date, 1_789_905_600),
            // Dated beyond now: published as when they were fetched.
            _ => assert_eq!(date, T0, "{title} is shown with the fetch time"),
        }
    }

    // The clock jumps a year ahead: retention prunes nothing fetched minutes ago.
    ctx.clock.set(T0 + 400 * DAY);
    assert_eq!(prune(&ctx).await.unwrap(), 0);
    // Once a fetch is stored at the new time the store believes it, and prunes...
    cycle(&ctx).await;
    assert_eq!(prune(&ctx).await.unwrap(), 3);
    // ...but when the clock is put right, the keys remembered "next year" go,
    // and the feed's items come back.
    ctx.clock.set(T0 + 600);
    prune(&ctx).await.unwrap();
    cycle(&ctx).await;
    assert_eq!(dates(&ctx).len(), 3, "nothing is kept out for good");

    // A month on, items dated 9999 and 2031 are pruned like any other.
    ctx.clock.set(T0 + 600 + 31 * DAY);
    cycle(&ctx).await;
    assert_eq!(prune(&ctx).await.unwrap(), 3);
    publish(&ctx).await.unwrap();
    assert_eq!(dates(&ctx), Vec::new(), "retention removed every item");
}

/// A zero timestamp (1970) sorts as when the item was fetched, like a future
/// date: it was sinking below the feed's cut, never to be published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_dated_1970_sorts_as_when_it_was_fetched() {
    let feed = rss(
        "<item><title>Yesterday</title><link>https://faulty.test/c</link>\
         <pubDate>Sun, 20 Sep 2026 12:00:00 GMT</pubDate></item>\
         <item><title>Last week</title><link>https://faulty.test/w</link>\
         <pubDate>Sun, 13 Sep 2026 12:00:00 GMT</pubDate></item>\
         <item><title>Epoch</title><link>https://faulty.test/d</link>\
         <pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>",
    );
    let web = FixtureServer::start().await;
    web.set(FEED, Behaviour::Body("application/rss+xml", feed));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let text = config_text(&web, dir.path()).replace("max_items = 1000", "max_items = 2");
    std::fs::write(&path, text).unwrap();
    let mut ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    ctx.clock = Clock::fixed(T0);
    cycle(&ctx).await;
    let titles: Vec<String> = published(&ctx)
        .iter()
        .map(|i| i.title().unwrap_or_default().to_string())
        .collect();
    assert_eq!(titles, vec!["Epoch", "Yesterday"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_guids_keep_one_entry_per_link() {
    // First no GUIDs at all; then a new GUID for each link on every fetch.
    let feed: common::Generator = Arc::new(|n| {
        let items: String = SLUGS
            .iter()
            .enumerate()
            .map(|(i, slug)| {
                let link = format!("{{base}}/story/{slug}");
                let guid = match n {
                    1 => String::new(),
                    _ => format!("<guid>{link}#{}</guid>", (n * 3 + i) % 7),
                };
                format!("<item><title>Story {slug}</title><link>{link}?utm_source=feed{n}</link>{guid}</item>")
            })
            .collect();
        rss(&items)
    });
    let web = FixtureServer::start().await;
    web.set(FEED, Behaviour::Dynamic(feed));
    for slug in SLUGS {
        let page = format!(
            "<html><body><article><h1>Story {slug}</h1><p>{}</p></article></body></html>",
            "The whole story, told at length on the article page. ".repeat(12)
        );
        web.set(
            &format!("/story/{slug}"),
            Behaviour::Body("text/html", page),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // Full text: a new GUID must not fetch the same page again either.
    let ctx = context(&web, dir.path(), "full_text = true\n");
    for _ in 0..4 {
        cycle(&ctx).await;
    }
    let mut titles: Vec<String> = published(&ctx)
        .iter()
        .filter_map(|i| i.title().map(str::to_string))
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Story one", "Story three", "Story two"],
        "one entry per story after four fetches"
    );
    assert_eq!(ctx.store.with(|s| s.item_count().unwrap()), 3);
    for slug in SLUGS {
        let downloads = web.hits(&format!("/story/{slug}")).len();
        assert_eq!(
            downloads, 1,
            "the article page of {slug} is downloaded once"
        );
    }
    assert!(published(&ctx)
        .iter()
        .all(|i| i.description().unwrap_or("").contains("The whole story")));
}

/// The stories of the rotating-GUID feed.
const SLUGS: [&str; 3] = ["one", "two", "three"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_item_fields_are_capped_and_logged() {
    let categories: String = (0..10_000)
        .map(|i| format!("<category>topic {i}</category>"))
        .collect();
    let items = format!(
        "<item><title>{title}</title><link>https://faulty.test/{long}</link><guid>huge</guid>\
         <description>Huge fields.</description>{categories}</item>\
         <item><title>Ordinary</title><link>https://faulty.test/ordinary</link><guid>ok</guid>\
         <description>Fine.</description><category>World</category></item>",
        title = "T".repeat(2_000_000),
        long = "x".repeat(100_000),
    );
    let web = FixtureServer::start().await;
    web.set(FEED, Behaviour::Body("application/rss+xml", rss(&items)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, config_text(&web, dir.path())).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        feedsieve()
            .arg("--config")
            .arg(&path)
            .arg("fetch")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    common::succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("item fields over their limits were cut")
            && stderr.contains("title, link")
            && stderr.contains("categories"),
        "the log says what was cut: {stderr}"
    );
    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    assert_eq!(channel.items().len(), 2, "nothing is lost");
    let huge = channel
        .items()
        .iter()
        .find(|i| i.title() != Some("Ordinary"))
        .unwrap();
    let title = huge.title().unwrap();
    assert!(title.starts_with("TTT") && title.chars().count() <= 1_000);
    assert!(huge.link().is_none_or(|l| l.len() <= 4_096));
    assert!(huge.categories().len() <= 50);
    for file in ["feed.xml", "index.html", "atom.xml", "feed.json"] {
        let len = std::fs::metadata(dir.path().join(file)).unwrap().len();
        assert!(len < 100_000, "{file} is {len} bytes");
    }
}
