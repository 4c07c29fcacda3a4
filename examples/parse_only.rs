//! The floor for extraction speed: read each file and parse it with
//! `scraper::Html::parse_document`, on all cores, nothing else
//! (used by `bench/extract_speed.sh`).

use std::sync::atomic::{AtomicUsize, Ordering};

// Linked for its global allocator only (with the `jemalloc` feature), so that the
// floor is measured with the allocator `feedsieve clean` runs on.
use feedsieve as _;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let next = AtomicUsize::new(0);
    let nodes = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let Ok(bytes) = std::fs::read(f) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                let doc = scraper::Html::parse_document(&text);
                nodes.fetch_add(doc.tree.nodes().count(), Ordering::Relaxed);
            });
        }
    });
    println!(
        "{} files, {} nodes",
        files.len(),
        nodes.load(Ordering::Relaxed)
    );
}
