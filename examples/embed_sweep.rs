//! Calibrates the embedding settings of `[dedup]` on a labelled JSONL set
//! (`{"id","source","url","published","title","text","cluster"}` a line).
//!
//! `cargo run --release --features embed --example embed_sweep -- MODEL_DIR GOLD.jsonl`
//! (`WEIGHTS` and `THRESHOLDS`, space-separated, set the grid)
//!
//! Embeds every article once (cached next to GOLD as `GOLD.emb`, raw f32), then
//! replays the stream through the engine for a grid of weights and thresholds
//! and prints B-cubed and pairwise F1 on the whole set and on its two halves
//! (split by gold cluster id), so that a setting chosen on one half can be
//! checked on the other.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use feedsieve::dedup::embed::Embedder;
use feedsieve::dedup::{DedupArticle, DedupConfig, Engine};

struct Item {
    article: DedupArticle,
    gold: String,
}

fn load(path: &Path) -> anyhow::Result<Vec<Item>> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut items = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        items.push(Item {
            article: DedupArticle {
                id: s("id"),
                source: s("source"),
                url: s("url"),
                published: feedsieve::dedup_cli::parse_published(&v["published"]),
                title: s("title"),
                text: s("text"),
            },
            gold: s("cluster"),
        });
    }
    Ok(items)
}

fn embeddings(model: &Path, gold: &Path, items: &[Item]) -> anyhow::Result<Vec<Vec<f32>>> {
    let cache = PathBuf::from(format!("{}.emb", gold.display()));
    if let Ok(mut f) = std::fs::File::open(&cache) {
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if floats.len() == items.len() * 384 {
            return Ok(floats.chunks(384).map(<[f32]>::to_vec).collect());
        }
    }
    let m = Embedder::load(model)?;
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    for it in items {
        let e = m.embed(&it.article.title, &it.article.text)?;
        anyhow::ensure!(e.len() == 384, "{}: no embedding", it.article.id);
        out.push(e);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "embedded {} articles in {secs:.1}s ({:.1}/s)",
        items.len(),
        items.len() as f64 / secs
    );
    let mut f = std::fs::File::create(&cache)?;
    for e in &out {
        for x in e {
            f.write_all(&x.to_le_bytes())?;
        }
    }
    Ok(out)
}

/// (B-cubed F1, pairwise F1, B-cubed precision, B-cubed recall) of `pred`
/// against `gold`, over the items in `keep`.
fn score(gold: &[&str], pred: &[i64], keep: &[bool]) -> (f64, f64, f64, f64) {
    let mut both: HashMap<(&str, i64), f64> = HashMap::new();
    let mut g: HashMap<&str, f64> = HashMap::new();
    let mut p: HashMap<i64, f64> = HashMap::new();
    let mut n = 0.0;
    for i in 0..gold.len() {
        if !keep[i] {
            continue;
        }
        n += 1.0;
        *both.entry((gold[i], pred[i])).or_default() += 1.0;
        *g.entry(gold[i]).or_default() += 1.0;
        *p.entry(pred[i]).or_default() += 1.0;
    }
    let (mut bp, mut br) = (0.0, 0.0);
    let pairs = |c: f64| c * (c - 1.0) / 2.0;
    let mut tp = 0.0;
    for ((gi, pi), c) in &both {
        bp += c * c / p[pi];
        br += c * c / g[gi];
        tp += pairs(*c);
    }
    let (bp, br) = (bp / n, br / n);
    let pp: f64 = p.values().map(|c| pairs(*c)).sum();
    let gp: f64 = g.values().map(|c| pairs(*c)).sum();
    let f = |a: f64, b: f64| {
        if a + b > 0.0 {
            2.0 * a * b / (a + b)
        } else {
            0.0
        }
    };
    (f(bp, br), f(tp / pp.max(1.0), tp / gp.max(1.0)), bp, br)
}

fn run(items: &[Item], emb: &[Vec<f32>], config: DedupConfig) -> Vec<i64> {
    let mut e = Engine::new(config);
    let mut next = 1;
    items
        .iter()
        .zip(emb)
        .map(|(it, v)| {
            let p = e.prepare(&it.article).with_embedding(v.clone());
            let story = e.decide(&p).story.unwrap_or_else(|| {
                next += 1_000_000;
                next
            });
            e.admit(p, story);
            story
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, gold] = &args[..] else {
        anyhow::bail!("usage: embed_sweep MODEL_DIR GOLD.jsonl");
    };
    let gold_path = Path::new(gold);
    let items = load(gold_path)?;
    let emb = embeddings(Path::new(model), gold_path, &items)?;
    let labels: Vec<&str> = items.iter().map(|i| i.gold.as_str()).collect();
    // Halves by a hash of the gold cluster id: whole stories on each side.
    let half: Vec<bool> = labels
        .iter()
        .map(|l| {
            l.bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
                % 2
                == 0
        })
        .collect();
    let all = vec![true; items.len()];
    let other: Vec<bool> = half.iter().map(|h| !h).collect();
    let line = |name: String, pred: &[i64]| {
        let (a, b, c) = (
            score(&labels, pred, &all),
            score(&labels, pred, &half),
            score(&labels, pred, &other),
        );
        println!(
            "{name:<28} all {:.3}/{:.3} (P {:.3} R {:.3})  h0 {:.3}/{:.3}  h1 {:.3}/{:.3}",
            a.0, a.1, a.2, a.3, b.0, b.1, c.0, c.1
        );
    };
    // `NAME_WEIGHT` and `NUMBER_PENALTY` override those of the TF-IDF part.
    let var = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let d = DedupConfig::default();
    let base = DedupConfig {
        name_weight: var("NAME_WEIGHT", d.name_weight),
        number_penalty: var("NUMBER_PENALTY", d.number_penalty),
        ..d
    };
    line(
        "tf-idf alone".into(),
        &run(&items, &vec![Vec::new(); items.len()], base.clone()),
    );
    // The grid: `WEIGHTS="0.3 0.5"` and `THRESHOLDS="0.2 0.3"` override it.
    let grid = |var: &str, default: &[f64]| -> Vec<f64> {
        std::env::var(var)
            .ok()
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_else(|| default.to_vec())
    };
    let weights = grid("WEIGHTS", &[0.3, 0.5, 0.7, 1.0]);
    let thresholds = grid("THRESHOLDS", &[0.2, 0.3, 0.4, 0.5, 0.6]);
    for &w in &weights {
        for &t in &thresholds {
            let config = DedupConfig {
                embedding_title_weight: w,
                embedding_title_threshold: t,
                embedding_text_weight: w,
                embedding_text_threshold: t,
                ..base.clone()
            };
            line(
                format!("weight {w:.2} threshold {t:.2}"),
                &run(&items, &emb, config),
            );
        }
    }
    Ok(())
}
