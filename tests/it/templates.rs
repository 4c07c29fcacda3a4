//! Site-template learning through the daemon's full-text path: a block that a
//! site repeats on every article page (here a prose appeal that no one-page rule
//! recognises as chrome) is learnt per host, then left out of later articles.

use crate::common;

use common::{Behaviour, FixtureServer};
use feedsieve::pipeline::{run_cycle, Context, Selection};

const APPEAL: &str = "The Harbour Gazette has been owned by its readers since 1921, and every \
                      donation, however small, keeps our reporting free for everyone in town.";

fn page(i: usize, appeal: &str) -> String {
    let topics = [
        (
            "ferry",
            "The council voted to keep the night ferry running through the winter months",
        ),
        (
            "school",
            "Parents packed the school hall to hear plans for a new science wing",
        ),
        (
            "market",
            "Stallholders at the Saturday market reported their best autumn in a decade",
        ),
        (
            "bridge",
            "Engineers closed the old swing bridge after finding rust in its main gears",
        ),
        (
            "library",
            "The library will open on Sundays from March after a bequest from a reader",
        ),
    ];
    let (word, lead) = topics[i % topics.len()];
    let body: String = (1..=4)
        .map(|n| {
            format!(
                "<p>{lead}, paragraph {n} of the {word} report, with the details residents asked \
                 about at the meeting, the costs the council expects and the dates it gave.</p>"
            )
        })
        .collect();
    format!(
        "<!doctype html><html><head><title>{word} news - Harbour Gazette</title></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav>\
         <article><h1>{lead}</h1>{body}<p>{appeal}</p></article>\
         <footer>Harbour Gazette, Quay Street</footer></body></html>"
    )
}

fn feed(base: &str, items: usize) -> String {
    let entries: String = (0..items)
        .map(|i| {
            format!(
                "<item><title>Story {i}</title><link>{base}/gazette/story-{i}.html</link>\
                 <guid>{base}/gazette/story-{i}.html</guid>\
                 <description>A short teaser for story {i}… Read more</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Harbour Gazette</title>\
         <link>{base}/gazette/</link><description>Local news</description>{entries}</channel></rss>"
    )
}

fn stored_content(ctx: &Context, link: &str) -> String {
    let db = rusqlite::Connection::open(&ctx.config.database.path).unwrap();
    let html: Option<String> = db
        .query_row("SELECT content FROM items WHERE link = ?1", [link], |r| {
            r.get(0)
        })
        .unwrap();
    feedsieve::sanitize::plain_text(&html.expect("the article page replaced the teaser"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_repeated_across_a_sites_pages_is_learnt_and_removed() {
    let web = FixtureServer::start().await;
    for i in 0..5 {
        web.set(
            &format!("/gazette/story-{i}.html"),
            Behaviour::Body("text/html; charset=utf-8", page(i, APPEAL)),
        );
    }
    web.set(
        "/gazette/rss.xml",
        Behaviour::Body("application/rss+xml", feed(&web.base, 4)),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[output]\npath = \"{out}\"\n\n[database]\npath = \"{db}\"\n\n[dedup]\nenabled = false\n\n\
         [[feed]]\nname = \"Harbour Gazette\"\nurl = \"{base}/gazette/rss.xml\"\nfull_text = true\n",
        out = dir.path().join("feed.xml").display(),
        db = dir.path().join("feedsieve.sqlite").display(),
        base = web.base,
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, config).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();

    // Seen on one page, the appeal reads as article text: no one-page rule drops it.
    let first: Vec<String> = (0..4)
        .map(|i| stored_content(&ctx, &format!("{}/gazette/story-{i}.html", web.base)))
        .collect();
    assert!(
        first.iter().any(|t| t.contains("owned by its readers")),
        "{first:?}"
    );

    // Four pages later it is the site's template: a new article comes without it,
    // and with every paragraph of its own.
    web.set(
        "/gazette/rss.xml",
        Behaviour::Body("application/rss+xml", feed(&web.base, 5)),
    );
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    let text = stored_content(&ctx, &format!("{}/gazette/story-4.html", web.base));
    assert!(!text.contains("owned by its readers"), "{text}");
    for n in 1..=4 {
        assert!(
            text.contains(&format!("paragraph {n} of the library report")),
            "{text}"
        );
    }
    let published = std::fs::read_to_string(dir.path().join("feed.xml")).unwrap();
    assert!(published.contains("paragraph 4 of the library report"));
}
