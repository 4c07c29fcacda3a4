//! Any bytes served as a feed yield items or a ReadError, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let base = url::Url::parse("https://fuzz.test/feed.xml").unwrap();
    let _ = feedsieve::read::read_feed(data, &base);
});
