//! Where the time goes for a feed item whose HTML nests N `<div>`s deep: reading
//! the feed, the plain text the filters and dedup take, and the publish (the
//! sanitiser plus every format), and the sanitiser on the HTML as it came (a
//! row stored before reading capped it). One thread; run in release:
//! `cargo run --release --example deep_nesting -- 5000 20000 50000`.

use std::time::Instant;

use feedsieve::publish::{render_all, FeedIds, OutputConfig};
use feedsieve::read::read_feed;
use feedsieve::sanitize::{clean_html, plain_text};
use feedsieve::store::{Story, StoryItem};

/// HTML nesting `depth` divs.
fn deep_html(depth: usize) -> String {
    format!(
        "{}deep text{}",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    )
}

/// An RSS document with one item whose description nests `depth` divs.
fn feed(depth: usize) -> String {
    let html = deep_html(depth);
    let escaped = html.replace('&', "&amp;").replace('<', "&lt;");
    format!(
        "<rss version=\"2.0\"><channel><title>t</title><item><title>Deep</title>\
         <link>https://deep.test/a</link><guid>a</guid><description>{escaped}</description>\
         </item></channel></rss>"
    )
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn main() {
    let depths: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let base = url::Url::parse("https://deep.test/feed.xml").expect("a valid URL");
    let out = OutputConfig {
        title: "t".into(),
        link: "http://127.0.0.1:8080/".into(),
        description: "d".into(),
        path: "feed.xml".into(),
        max_items: 10,
        hub: None,
    };
    println!("depth\tread_s\tplain_text_s\tclean_html_s\tpublish_s\tpublished_bytes\tclean_raw_s");
    for depth in depths {
        let doc = feed(depth);
        let t = Instant::now();
        let parsed = read_feed(doc.as_bytes(), &base).expect("the feed reads");
        let read = secs(t);
        let item = &parsed.items[0];
        let html = item.body_html().unwrap_or("").to_string();
        let t = Instant::now();
        let text = plain_text(&html);
        let plain = secs(t);
        assert!(text.contains("deep text"));
        let t = Instant::now();
        let _ = clean_html(&html, Some(&base));
        let clean = secs(t);
        let story = Story {
            id: 1,
            guid: "g".into(),
            sort_at: 1,
            updated_at: 1,
            changed_at: None,
            items: vec![StoryItem {
                id: 1,
                source_name: "s".into(),
                source_url: base.to_string(),
                title: item.title.clone(),
                link: item.link.clone(),
                summary: item.summary.clone(),
                content: item.content.clone(),
                author: None,
                published_at: None,
                updated_at: None,
                first_seen_at: 1,
                changed_at: 1,
                categories: Vec::new(),
                source_category: None,
                enclosures: Vec::new(),
            }],
        };
        let t = Instant::now();
        let publication = render_all(&out, &FeedIds::new("localhost", "2026"), &[story]);
        let publish = secs(t);
        let raw = deep_html(depth);
        let t = Instant::now();
        let _ = clean_html(&raw, Some(&base));
        let clean_raw = secs(t);
        println!(
            "{depth}\t{read:.3}\t{plain:.3}\t{clean:.3}\t{publish:.3}\t{}\t{clean_raw:.3}",
            publication.rss.body.len()
        );
    }
}
