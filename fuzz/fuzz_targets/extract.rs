//! Any bytes as an article page: an Article or an ExtractError, never a panic or a hang.
#![no_main]

use feedsieve::extract::{extract, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = url::Url::parse("https://news.example.test/world/story.html") else {
        return;
    };
    let opts = Options {
        html: true,
        learn_template: true,
        ..Options::default()
    };
    // The first byte picks an HTTP charset hint, as servers send all sorts.
    let (charset, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 4 {
                0 => None,
                1 => Some("utf-8"),
                2 => Some("windows-1251"),
                _ => Some("utf-16"),
            },
            rest,
        ),
        None => (None, data),
    };
    if let Ok(article) = extract(body, &url, charset, &opts) {
        // What comes out must be safe to publish.
        let clean = feedsieve::sanitize::clean_html(&article.html, Some(&url));
        assert!(!clean.contains("<script"));
    }
});
