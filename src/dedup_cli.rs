//! The dedup commands: `cluster` (replay articles through the engine), `stories`
//! and `explain` (what the daemon decided, and why).

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::config::Config;
use crate::dedup::{Article, DedupConfig, Engine};

/// One input line of `cluster`.
#[derive(Debug, Deserialize)]
struct InputArticle {
    id: serde_json::Value,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published: Option<serde_json::Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// Reads a date as RFC 3339, RFC 2822 or Unix seconds; empty is no date.
pub fn parse_published(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .or_else(|_| chrono::DateTime::parse_from_rfc2822(s))
                .map(|d| d.timestamp())
                .ok()
                .or_else(|| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                        .ok()
                        .map(|d| d.and_utc().timestamp())
                })
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(12, 0, 0))
                        .map(|d| d.and_utc().timestamp())
                })
                .or_else(|| s.parse().ok())
        }
        _ => None,
    }
}

/// The dedup settings of the config file, or the defaults when the default
/// config file does not exist (so `cluster` works outside a deployment).
pub fn dedup_config(path: &Path, explicit: bool) -> anyhow::Result<DedupConfig> {
    if !explicit && !path.exists() {
        tracing::info!(
            "{} not found: using the default [dedup] settings",
            path.display()
        );
        return Ok(DedupConfig::default());
    }
    let cfg = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(cfg.dedup)
}

/// `feedsieve cluster`: replays a JSONL stream through the engine and writes
/// `{"id","cluster"}` per line, in input order.
pub fn cluster(config: DedupConfig, input: &Path, output: &Path) -> anyhow::Result<usize> {
    let file =
        std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let out =
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let mut out = BufWriter::new(out);
    let mut engine = Engine::new(config);
    let mut n = 0;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", input.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let a: InputArticle = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not an article object", input.display(), i + 1))?;
        let id = match &a.id {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let article = Article {
            id: id.clone(),
            source: a.source.unwrap_or_default(),
            url: a.url.unwrap_or_default(),
            published: a.published.as_ref().and_then(parse_published),
            title: a.title.unwrap_or_default(),
            text: a.text.unwrap_or_default(),
        };
        let ev = engine.assign(&article);
        let story = ev.story.unwrap_or_default();
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({ "id": a.id, "cluster": format!("s{story}") }),
        )?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()
        .with_context(|| format!("writing {}", output.display()))?;
    Ok(n)
}
