//! The seed articles through `feedsieve cluster` with sentence embeddings on
//! (`embed` feature). Needs the model files named by `FEEDSIEVE_EMBEDDING_MODEL`;
//! without them every test here prints why and passes (CI has no weights).
#![cfg(feature = "embed")]

use crate::common;

use std::collections::HashMap;
use std::path::PathBuf;

fn model_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("FEEDSIEVE_EMBEDDING_MODEL").map(PathBuf::from) else {
        eprintln!("skipped: FEEDSIEVE_EMBEDDING_MODEL is not set (see the README)");
        return None;
    };
    if let Err(why) = feedsieve::dedup::embed::check_model_dir(&dir) {
        eprintln!("skipped: {why}");
        return None;
    }
    Some(dir)
}

/// Runs `cluster` on `input` with the model; the cluster of each article id.
fn cluster(model: &std::path::Path, input: &std::path::Path) -> HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        format!(
            "[dedup]\nembedding_model = {:?}\n",
            model.display().to_string()
        ),
    )
    .unwrap();
    let output = dir.path().join("assign.jsonl");
    let out = common::feedsieve()
        .arg("--config")
        .arg(&config)
        .arg("cluster")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    common::succeeded(&out);
    let lines = std::fs::read_to_string(&output).unwrap();
    lines
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["cluster"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn cluster_with_embeddings_merges_the_seed_pair_and_nothing_else() {
    let Some(model) = model_dir() else { return };
    let input = common::fixture_root().join("cluster/articles.jsonl");
    let of = cluster(&model, &input);
    assert_eq!(of.len(), 7);
    assert_eq!(of["vue-zelenskyy"], of["pressai-zelensky"]);
    assert_eq!(of["vue-zelenskyy"], of["wire-zelenskyy"]);
    assert_ne!(of["pressai-merz-macron"], of["vue-zelenskyy"]);
    assert_ne!(of["pressai-merz-macron"], of["metro-blackouts"]);
    assert_ne!(of["wire-cycle-lanes"], of["vue-zelenskyy"]);
    assert_ne!(of["wire-cycle-lanes"], of["metro-blackouts"]);
    assert_ne!(of["metro-blackouts"], of["vue-zelenskyy"]);
}

#[test]
fn check_rejects_a_model_folder_without_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, "[dedup]\nembedding_model = \"nowhere\"\n").unwrap();
    let out = common::feedsieve()
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2:") && err.contains("embedding_model"),
        "{err}"
    );
}

#[test]
fn headlines_alone_still_merge_the_seed_pair() {
    let Some(model) = model_dir() else { return };
    // The seed articles without their texts: the embedding decides with TF-IDF.
    let text =
        std::fs::read_to_string(common::fixture_root().join("cluster/articles.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("headlines.jsonl");
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"] = serde_json::Value::String(String::new());
            v.to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let of = cluster(&model, &input);
    assert_eq!(of["vue-zelenskyy"], of["pressai-zelensky"]);
    assert_ne!(of["pressai-merz-macron"], of["vue-zelenskyy"]);
    assert_ne!(of["wire-cycle-lanes"], of["vue-zelenskyy"]);
    assert_ne!(of["wire-cycle-lanes"], of["metro-blackouts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_cycle_loads_the_model_and_keeps_the_seed_stories() {
    let Some(model) = model_dir() else { return };
    let web = common::FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[dedup]\nembedding_model = {:?}\n",
        model.display().to_string()
    );
    let ctx = feedsieve::pipeline::Context::open(web.config(dir.path(), &extra)).unwrap();
    feedsieve::pipeline::run_cycle(&ctx, feedsieve::pipeline::Selection::All, |_, _, _| {})
        .await
        .unwrap();
    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    // As without the model: the seed web has three stories.
    assert_eq!(channel.items().len(), 3);
}
