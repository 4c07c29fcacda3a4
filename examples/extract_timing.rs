//! Per-page extraction cost: loads every page first, then times `extract` on each
//! (one thread) and prints the total, pages/s and the slowest pages
//! (used by `bench/extract_speed.sh`).

use std::io::Read;
use std::time::Instant;

use feedsieve::extract::{extract, Options};

fn main() {
    let mut pages = Vec::new();
    for f in std::env::args().skip(1) {
        let Ok(raw) = std::fs::read(&f) else { continue };
        let body = if f.ends_with(".gz") {
            let mut out = Vec::new();
            if flate2::read::MultiGzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .is_err()
            {
                continue;
            }
            out
        } else {
            raw
        };
        pages.push((f, body));
    }
    let Ok(url) = url::Url::parse("https://example.test/article") else {
        return;
    };
    let opts = Options::default();
    let mut times = Vec::new();
    let start = Instant::now();
    for (f, body) in &pages {
        let t = Instant::now();
        let _ = extract(body, &url, None, &opts);
        times.push((t.elapsed().as_secs_f64() * 1000.0, f.as_str()));
    }
    let total = start.elapsed().as_secs_f64();
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!(
        "{} pages in {total:.2} s on one thread: {:.1} pages/s",
        pages.len(),
        pages.len() as f64 / total
    );
    for (ms, f) in times.iter().take(5) {
        println!("  {ms:7.1} ms  {f}");
    }
}
