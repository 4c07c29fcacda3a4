//! An offline demo: serves the seed-story fixture web (four outlets, one of them
//! with no feed) on 127.0.0.1, runs one feedsieve cycle over it, and prints the
//! combined feed.
//!
//!     cargo run --example offline_demo

#[path = "../tests/common/mod.rs"]
mod common;

use feedsieve::pipeline::{run_cycle, Context, Selection};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let web = common::FixtureServer::start().await;
    let dir = tempfile::tempdir()?;
    let config = web.config(dir.path(), "");
    println!(
        "fixture web at {}; config {}",
        web.base,
        config.path.display()
    );
    let ctx = Context::open(config)?;
    let report = run_cycle(&ctx, Selection::All, |o, done, total| {
        println!("[{done}/{total}] {}: {:?}", o.name, o.outcome);
    })
    .await?;
    let feed = report
        .published
        .ok_or_else(|| anyhow::anyhow!("nothing was published"))?;
    println!(
        "\n--- combined feed ({} stories) ---\n{}",
        feed.rss.items,
        String::from_utf8_lossy(&feed.rss.body)
    );
    Ok(())
}
