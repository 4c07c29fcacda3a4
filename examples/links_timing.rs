//! Times link finding per listing page: `find_links` (parse + find) against a bare
//! parse, best of three runs each, one thread (used by `bench/links_halves.py --time`).
//!
//! Reads `URL<TAB>FILE` lines (`.html` or `.html.gz`) on standard input; prints one
//! `ms_total ms_parse FILE` line per page, then the median and the slowest.

use std::io::{BufRead, Read};
use std::time::Instant;

use feedsieve::read::page::find_links;
use url::Url;

fn read(file: &str) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(file)?;
    if !file.ends_with(".gz") {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out)?;
    Ok(out)
}

/// Best of three, in milliseconds.
fn best(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let mut finds: Vec<(f64, String)> = Vec::new();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let Some((url, file)) = line.split_once('\t') else {
            continue;
        };
        let (Ok(url), Ok(body)) = (Url::parse(url), read(file)) else {
            eprintln!("skipped: {line}");
            continue;
        };
        let total = best(|| {
            std::hint::black_box(find_links(&body, &url, None));
        });
        let parse = best(|| {
            let text = String::from_utf8_lossy(&body);
            std::hint::black_box(scraper::Html::parse_document(&text));
        });
        println!("{total:.1} {parse:.1} {file}");
        finds.push((total - parse, file.to_string()));
    }
    finds.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let (Some(mid), Some(max)) = (finds.get(finds.len() / 2), finds.last()) {
        println!(
            "finding alone (total - parse): median {:.1} ms, slowest {:.1} ms ({})",
            mid.0, max.0, max.1
        );
    }
}
