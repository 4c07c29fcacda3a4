//! Any bytes into the feed reader: it must return a feed or an error, never panic,
//! hang or overflow. libfuzzer-sys aborts on a panic even inside `catch_unwind`, so
//! panics the reader would have caught are still found here.
#![no_main]

use feedsieve::read::{date, encoding, read_feed_as, xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(base) = url::Url::parse("https://example.test/feeds/main.xml") else {
        return;
    };
    // The first byte picks an HTTP Content-Type, as servers send all sorts.
    let (hint, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 4 {
                0 => None,
                1 => Some("application/rss+xml; charset=utf-8"),
                2 => Some("text/xml; charset=windows-1251"),
                _ => Some("application/xml; charset=\"utf-16\""),
            },
            rest,
        ),
        None => (None, data),
    };
    if let Ok(feed) = read_feed_as(body, &base, hint) {
        for item in &feed.items {
            // Whatever was read must be usable downstream.
            let _ = item.date();
            let _ = item.body_html();
        }
    }
    let text = encoding::decode(body, hint.and_then(encoding::charset_of));
    let doc = xml::parse(&text);
    for root in &doc.roots {
        let _ = root.inner_markup();
    }
    if text.len() < 200 {
        let _ = date::parse_date(&text);
    }
});
