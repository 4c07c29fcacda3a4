//! The daemon's full-text path: a `full_text = true` feed (Vue News) whose items carry
//! only a teaser gets the cleaned article pages instead.

use crate::common;

use common::{Behaviour, FixtureServer};
use feedsieve::pipeline::{run_cycle, Context, Selection};
use serde_json::Value;

const ARTICLE: &str = "/vue-news/zelenskyy-nato.html";
const OTHER: &str = "/vue-news/russia-drones-grid.html";

/// (content, full_text flag) of the stored item with this link.
fn stored(ctx: &Context, link: &str) -> (Option<String>, i64) {
    let db = rusqlite::Connection::open(&ctx.config.database.path).unwrap();
    db.query_row(
        "SELECT content, full_text FROM items WHERE link = ?1",
        [link],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

fn page_expectations() -> Value {
    let raw = std::fs::read_to_string(common::fixture_root().join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&raw).unwrap();
    v["pages"]["vue-news/zelenskyy-nato.html"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_feed_publishes_the_cleaned_article_once() {
    let web = FixtureServer::start().await;
    // The second article's page is down: its item keeps the feed's teaser.
    web.set(OTHER, Behaviour::Status(500));
    let dir = tempfile::tempdir().unwrap();
    // Dedup off: this is about full text; merged stories would hide the items checked.
    let ctx = Context::open(web.config(dir.path(), "[dedup]\nenabled = false\n")).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();

    let link = format!("{}{ARTICLE}", web.base);
    let (content, flag) = stored(&ctx, &link);
    let content = content.expect("the article page replaced the teaser");
    assert_eq!(flag, 1);
    let text = feedsieve::sanitize::plain_text(&content);
    let e = page_expectations();
    let start = e["must_start_with"].as_str().unwrap();
    assert!(text.starts_with(start), "{text}");
    for want in e["must_contain"].as_array().unwrap() {
        assert!(text.contains(want.as_str().unwrap()), "lost {want}: {text}");
    }
    for bad in e["must_not_contain"].as_array().unwrap() {
        assert!(
            !content.contains(bad.as_str().unwrap()),
            "kept {bad}: {content}"
        );
    }
    let published = std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
    assert!(published.contains("German Chancellor Friedrich Merz, a key figure"));

    let (other, other_flag) = stored(&ctx, &format!("{}{OTHER}", web.base));
    assert_eq!(other_flag, 0);
    assert!(
        other.is_none(),
        "a failed page leaves the feed's item as it was"
    );
    assert!(published.contains("Russia launched ballistic missiles and 138 attack drones"));

    // The feed changes (one more byte): it is read again, but the article already
    // held in full is not downloaded again, and keeps its text.
    let feed = std::fs::read_to_string(common::fixture_root().join("site/vue-news/rss.xml"))
        .unwrap()
        .replace("{base}", &web.base)
        + "\n";
    web.set(
        "/vue-news/rss.xml",
        Behaviour::Body("application/rss+xml", feed),
    );
    web.set(OTHER, Behaviour::Normal);
    // A later fetch, past the failed page's backoff (a new process).
    let config = ctx.config.as_ref().clone();
    drop(ctx);
    let ctx = Context::open(config).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 1, "fetched once");
    assert_eq!(stored(&ctx, &link).0.as_deref(), Some(content.as_str()));
    // The page that failed is tried again and now holds the article.
    assert_eq!(web.hits(OTHER).len(), 2);
    assert_eq!(stored(&ctx, &format!("{}{OTHER}", web.base)).1, 1);
}

#[test]
fn teasers_are_recognised() {
    use feedsieve::pipeline::is_teaser;
    use feedsieve::read::RawItem;
    let item = |summary: &str| RawItem {
        summary: Some(summary.to_string()),
        ..RawItem::default()
    };
    let long = "The council met on Tuesday and agreed the budget after long talks. ".repeat(5);
    assert!(is_teaser(&item(&format!("{long} Howeve…"))));
    assert!(is_teaser(&item(&format!(
        "{long} <a href=\"/x\">Read more</a>"
    ))));
    assert!(is_teaser(&item("Short.")));
    assert!(!is_teaser(&item(&long)));
    // A full text that happens to end with the word "more" is not a teaser.
    assert!(!is_teaser(&item(&format!(
        "{long} Prices rose by a third and more."
    ))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_leaves_an_article_page_unanswered_is_not_asked_for_the_next() {
    let web = FixtureServer::start().await;
    web.set(ARTICLE, Behaviour::Hang);
    web.set(OTHER, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    let limits = "[fetch]\ntimeout = \"2s\"\n[dedup]\nenabled = false\n";
    let ctx = Context::open(web.config(dir.path(), limits)).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    // One page waited out the timeout; the other was not asked for, and both
    // items are stored with the feed's teaser.
    let asked = web.hits(ARTICLE).len() + web.hits(OTHER).len();
    assert_eq!(
        asked, 1,
        "article pages asked of a host that did not answer"
    );
    for page in [ARTICLE, OTHER] {
        let (_, flag) = stored(&ctx, &format!("{}{page}", web.base));
        assert_eq!(flag, 0, "{page} holds full text");
    }
    let published = std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
    assert!(published.contains("Russia launched ballistic missiles and 138 attack drones"));
}

/// `full_text = false` opts a feed out: not even its teasers' pages are
/// fetched (a paywalled site, or one that refuses scrapers), while unset the
/// teasers' pages are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_false_fetches_no_article_page_and_unset_fetches_the_teasers() {
    for (setting, pages) in [("full_text = false", 0), ("", 2)] {
        let web = FixtureServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let text = web
            .config_text(dir.path(), "[dedup]\nenabled = false\n")
            .replace("full_text = true", setting);
        let path = dir.path().join("feeds.toml");
        std::fs::write(&path, text).unwrap();
        let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
        run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
        let asked = web.hits(ARTICLE).len() + web.hits(OTHER).len();
        assert_eq!(asked, pages, "{setting:?}");
        let published = std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
        assert!(published.contains("Russia launched ballistic missiles and 138 attack drones"));
    }
}

/// A link that sends the reader to a sign-in page, or gives a PDF, is not the
/// article: the feed's teaser stays, and neither page's text is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_wall_or_a_pdf_never_replaces_the_teaser() {
    let web = FixtureServer::start().await;
    web.set(
        ARTICLE,
        Behaviour::Raw {
            status: 302,
            headers: vec![("location", format!("{}/account/login?next=/x", web.base))],
            body: Vec::new(),
        },
    );
    web.set(
        "/account/login",
        Behaviour::Body(
            "text/html",
            format!(
                "<html><body><main><h1>Sign in to continue reading</h1>{}</main></body></html>",
                "<p>Subscribers get unlimited access to every article, the archive and the \
                 daily newsletter. Sign in with your account or start a free trial today, \
                 and cancel at any time from your account settings.</p>"
                    .repeat(12)
            ),
        ),
    );
    web.set(
        OTHER,
        Behaviour::Raw {
            status: 200,
            headers: vec![("content-type", "application/pdf".into())],
            body: format!(
                "%PDF-1.4\n{}",
                "1 0 obj << /Type /Page /Contents (Russia grid report, annual figures) >> endobj\n"
                    .repeat(60)
            )
            .into_bytes(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "[dedup]\nenabled = false\n")).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 1);
    for page in [ARTICLE, OTHER] {
        let (_, flag) = stored(&ctx, &format!("{}{page}", web.base));
        assert_eq!(flag, 0, "{page} holds what the link gave as full text");
    }
    let published = std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
    assert!(!published.contains("Sign in to continue"), "{published}");
    assert!(!published.contains("endobj"), "{published}");
    assert!(published.contains("Russia launched ballistic missiles and 138 attack drones"));
    // Such pages will not change by asking again: the feed's validators are
    // kept, and its next fetch is a conditional one.
    let feed = format!("{}/vue-news/rss.xml", web.base);
    let record = ctx.store.with(|s| s.source_by_url(&feed).unwrap().unwrap());
    assert!(record.etag.is_some(), "{record:?}");
}

/// A page that failed is tried again at a later fetch even when the feed has
/// not changed since (it answers 304): its item gets the article then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_page_is_tried_again_while_the_feed_is_unchanged() {
    let web = FixtureServer::start().await;
    web.set(ARTICLE, Behaviour::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let config = web.config(dir.path(), "[dedup]\nenabled = false\n");
    let first = Context::open(config.clone()).unwrap();
    run_cycle(&first, Selection::All, |_, _, _| {})
        .await
        .unwrap();
    let link = format!("{}{ARTICLE}", web.base);
    assert_eq!(stored(&first, &link).1, 0);
    drop(first);
    // The next run (a `feedsieve fetch` from cron: the page's backoff is over).
    web.set(ARTICLE, Behaviour::Normal);
    let next = Context::open(config).unwrap();
    run_cycle(&next, Selection::All, |_, _, _| {})
        .await
        .unwrap();
    let (content, flag) = stored(&next, &link);
    assert_eq!(flag, 1, "{content:?}");
    assert_eq!(web.hits(ARTICLE).len(), 2);
}

/// A page that still fails at the next fetch (a server error, a dead host)
/// waits for the feed to change: the feed is not downloaded in full at every
/// run of `feedsieve fetch` for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_fails_twice_waits_for_its_feed_to_change() {
    let web = FixtureServer::start().await;
    web.set(ARTICLE, Behaviour::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let config = web.config(dir.path(), "[dedup]\nenabled = false\n");
    let feed = format!("{}/vue-news/rss.xml", web.base);
    for run in 0..3 {
        // Each run a new process, as `feedsieve fetch` from cron.
        let ctx = Context::open(config.clone()).unwrap();
        run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
        let etag = ctx
            .store
            .with(|s| s.source_by_url(&feed).unwrap().unwrap().etag);
        assert_eq!(etag.is_some(), run > 0, "run {run}");
    }
    // Asked at the first fetch and once more at the second, then no more.
    assert_eq!(web.hits(ARTICLE).len(), 2);
    let asked: Vec<bool> = web
        .hits("/vue-news/rss.xml")
        .iter()
        .map(|h| h.contains_key("if-none-match"))
        .collect();
    assert_eq!(asked, [false, false, true]);
}

const DEDUP_OFF: &str = "[dedup]\nenabled = false\n";

/// Vue News fetched once with `full_text = true` (dedup off): the folder, the
/// context, the config's text and the article's link.
async fn fetched_once(web: &FixtureServer) -> (tempfile::TempDir, Context, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), DEDUP_OFF)).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let text = web.config_text(dir.path(), DEDUP_OFF);
    (dir, ctx, text, format!("{}{ARTICLE}", web.base))
}

/// A new process after an edit of Vue News's table, as `fetch` from cron.
fn edited(dir: &std::path::Path, text: &str, ctx: Context, edit: &str) -> Context {
    drop(ctx);
    let path = dir.join("feeds.toml");
    let edited = text.replacen("full_text = true", edit, 1);
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap()
}

/// A `remove` rule for the article's paragraph `n`, as tuned with `feedsieve clean`.
fn rule(n: u8) -> String {
    format!("full_text = true\nremove = [\".entry-content p:nth-of-type({n})\"]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_extraction_rules_reach_the_articles_already_stored() {
    let web = FixtureServer::start().await;
    let (dir, ctx, text, link) = fetched_once(&web).await;
    let merz = "a key figure in European backing";
    let recent = "In recent developments";
    assert!(stored(&ctx, &link).0.unwrap().contains(merz));
    let again = |ctx, edit: &str| edited(dir.path(), &text, ctx, edit);

    // A `remove` rule: the stored article is extracted again, the feed unchanged.
    let ctx = again(ctx, &rule(9));
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 2, "the page is read again");
    let (content, flag) = stored(&ctx, &link);
    let content = content.unwrap();
    assert!(
        !content.contains(merz) && content.contains(recent),
        "{content}"
    );
    assert_eq!(flag, 1);

    // Another rule while the page is down: the stored article stays.
    web.set(ARTICLE, Behaviour::Status(500));
    let ctx = again(ctx, &rule(10));
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 3);
    assert_eq!(stored(&ctx, &link).0.as_deref(), Some(content.as_str()));
    // Up again at a later fetch (the backoff is over: another process), the
    // feed unchanged: the page is asked again and the rule reaches it.
    web.set(ARTICLE, Behaviour::Normal);
    let ctx = again(ctx, &rule(10));
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 4, "asked again after the failure");
    let content = stored(&ctx, &link).0.unwrap();
    assert!(content.contains(merz), "paragraph 9 is back: {content}");

    // `full_text = false`: the feed's own teaser is published again.
    web.set(ARTICLE, Behaviour::Normal);
    let ctx = again(ctx, "full_text = false");
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 4, "no page with full_text = false");
    assert_eq!(stored(&ctx, &link).0, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_answers_with_a_wall_is_asked_again_then_kept() {
    let web = FixtureServer::start().await;
    let (dir, ctx, text, link) = fetched_once(&web).await;
    let content = stored(&ctx, &link).0.unwrap();
    let again = |ctx, edit: &str| edited(dir.path(), &text, ctx, edit);
    // A rule added while the page answers with a cookie wall, longer than
    // the feed's teaser but no article: the stored article stays, and is
    // asked for again only after a backoff (the wall may pass).
    let notice = "We and our partners use cookies and similar technologies to store \
        and access information on your device, to measure audiences and to show you \
        personalised content and advertising. ";
    let wall = format!(
        "<html><body><main><p>{}</p></main></body></html>",
        notice.repeat(3)
    );
    web.set(ARTICLE, Behaviour::Body("text/html", wall.clone()));
    let ctx = again(ctx, &rule(11));
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 2);
    assert_eq!(
        stored(&ctx, &link),
        (Some(content.clone()), 3),
        "kept, to read again (one refusal counted)"
    );
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 2, "not during the backoff");
    // The wall has passed by a later fetch (another process): the rule
    // reaches the article.
    web.set(ARTICLE, Behaviour::Normal);
    let ctx = again(ctx, &rule(11));
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(web.hits(ARTICLE).len(), 3);
    let (now_stored, flag) = stored(&ctx, &link);
    assert_eq!(flag, 1);
    assert_ne!(
        now_stored.as_deref(),
        Some(content.as_str()),
        "extracted by rule 11"
    );
    let content = now_stored.unwrap();

    // Another rule while the wall stays: each `fetch` from cron (a process
    // of its own) asks once; at the third wall the stored article is kept,
    // and not asked for again.
    web.set(ARTICLE, Behaviour::Body("text/html", wall));
    let mut ctx = ctx;
    for (hits, flag) in [(4, 3), (5, 4), (6, 1), (6, 1)] {
        ctx = again(ctx, &rule(12));
        run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
        assert_eq!(web.hits(ARTICLE).len(), hits);
        assert_eq!(stored(&ctx, &link), (Some(content.clone()), flag));
    }
}
