//! Counters for operators, exposed as Prometheus text at `GET /metrics`.
//!
//! Counters live in memory (they restart at zero with the process, as Prometheus
//! expects); gauges about stored data are read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::store::SourceRecord;

/// The result label of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FetchResult {
    /// Parsed and stored.
    Ok,
    /// HTTP 304.
    NotModified,
    /// Same body as last time.
    Unchanged,
    /// Failed.
    Error,
}

impl FetchResult {
    fn label(self) -> &'static str {
        match self {
            FetchResult::Ok => "ok",
            FetchResult::NotModified => "not_modified",
            FetchResult::Unchanged => "unchanged",
            FetchResult::Error => "error",
        }
    }
}

#[derive(Default)]
struct PerSource {
    fetches: BTreeMap<FetchResult, u64>,
    seconds_sum: f64,
    seconds_count: u64,
    bytes: u64,
    items_new: u64,
    items_updated: u64,
}

/// Process-wide counters, shared by every fetch task.
pub struct Metrics {
    sources: Mutex<BTreeMap<String, PerSource>>,
    /// Articles in the story dedup window; -1 before it is read back (or without dedup).
    dedup_window: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            sources: Mutex::default(),
            dedup_window: AtomicI64::new(-1),
        }
    }
}

/// Gauges read from the store when scraped.
#[derive(Debug, Clone, Default)]
pub struct StoredGauges {
    /// Every active source with its fetch state and item count.
    pub sources: Vec<(SourceRecord, i64)>,
    /// Stories stored.
    pub stories: i64,
    /// Entries in the published feed.
    pub published: usize,
}

impl Metrics {
    /// Records one fetch of `source`.
    pub fn record_fetch(
        &self,
        source: &str,
        result: FetchResult,
        took: Duration,
        bytes: u64,
        new: usize,
        updated: usize,
    ) {
        let mut map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.entry(source.to_string()).or_default();
        *s.fetches.entry(result).or_default() += 1;
        s.seconds_sum += took.as_secs_f64();
        s.seconds_count += 1;
        s.bytes += bytes;
        s.items_new += new as u64;
        s.items_updated += updated as u64;
    }

    /// Records how many articles the story dedup window holds now.
    pub fn set_dedup_window(&self, articles: usize) {
        let n = i64::try_from(articles).unwrap_or(i64::MAX);
        self.dedup_window.store(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self, gauges: &StoredGauges) -> String {
        let mut o = self.render_counters();
        render_gauges(gauges, &mut o);
        let window = self.dedup_window.load(Ordering::Relaxed);
        if window >= 0 {
            family(
                "feedsieve_dedup_window_articles",
                "gauge",
                "Articles in the story dedup window (bounded by [dedup] window and window_articles).",
                &mut o,
            );
            let _ = writeln!(o, "feedsieve_dedup_window_articles {window}");
        }
        o
    }

    /// The counters, per source.
    fn render_counters(&self) -> String {
        let map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let mut o = String::new();
        family(
            "feedsieve_fetches_total",
            "counter",
            "Fetches by source and result.",
            &mut o,
        );
        for (src, s) in map.iter() {
            for (result, n) in &s.fetches {
                let _ = writeln!(
                    o,
                    "feedsieve_fetches_total{{source=\"{}\",result=\"{}\"}} {n}",
                    label(src),
                    result.label()
                );
            }
        }
        family(
            "feedsieve_fetch_duration_seconds",
            "summary",
            "Time spent fetching, reading and storing a source.",
            &mut o,
        );
        for (src, s) in map.iter() {
            let _ = writeln!(
                o,
                "feedsieve_fetch_duration_seconds_sum{{source=\"{0}\"}} {1}\nfeedsieve_fetch_duration_seconds_count{{source=\"{0}\"}} {2}",
                label(src),
                s.seconds_sum,
                s.seconds_count
            );
        }
        family(
            "feedsieve_fetched_bytes_total",
            "counter",
            "Body bytes received (after decompression).",
            &mut o,
        );
        for (src, s) in map.iter() {
            let _ = writeln!(
                o,
                "feedsieve_fetched_bytes_total{{source=\"{}\"}} {}",
                label(src),
                s.bytes
            );
        }
        family(
            "feedsieve_items_stored_total",
            "counter",
            "Items stored for the first time.",
            &mut o,
        );
        for (src, s) in map.iter() {
            let _ = writeln!(
                o,
                "feedsieve_items_stored_total{{source=\"{}\"}} {}",
                label(src),
                s.items_new
            );
        }
        family(
            "feedsieve_items_updated_total",
            "counter",
            "Stored items whose content changed.",
            &mut o,
        );
        for (src, s) in map.iter() {
            let _ = writeln!(
                o,
                "feedsieve_items_updated_total{{source=\"{}\"}} {}",
                label(src),
                s.items_updated
            );
        }
        o
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
fn family(name: &str, kind: &str, help: &str, o: &mut String) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The gauges read from the store.
fn render_gauges(gauges: &StoredGauges, o: &mut String) {
    family(
        "feedsieve_source_items",
        "gauge",
        "Items stored per source.",
        o,
    );
    for (rec, items) in &gauges.sources {
        let _ = writeln!(
            o,
            "feedsieve_source_items{{source=\"{}\"}} {items}",
            label(&rec.name)
        );
    }
    family(
        "feedsieve_source_consecutive_errors",
        "gauge",
        "Failures in a row per source (0 when healthy).",
        o,
    );
    for (rec, _) in &gauges.sources {
        let _ = writeln!(
            o,
            "feedsieve_source_consecutive_errors{{source=\"{}\"}} {}",
            label(&rec.name),
            rec.error_count
        );
    }
    family(
        "feedsieve_source_next_fetch_timestamp_seconds",
        "gauge",
        "When each source is due next.",
        o,
    );
    for (rec, _) in &gauges.sources {
        let _ = writeln!(
            o,
            "feedsieve_source_next_fetch_timestamp_seconds{{source=\"{}\"}} {}",
            label(&rec.name),
            rec.next_fetch_at
        );
    }
    family("feedsieve_stories", "gauge", "Stories stored.", o);
    let _ = writeln!(o, "feedsieve_stories {}", gauges.stories);
    family(
        "feedsieve_published_entries",
        "gauge",
        "Entries in the published feed.",
        o,
    );
    let _ = writeln!(o, "feedsieve_published_entries {}", gauges.published);
}

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_per_source_and_result() {
        let m = Metrics::default();
        m.record_fetch(
            "A \"quoted\"",
            FetchResult::Ok,
            Duration::from_millis(250),
            100,
            3,
            1,
        );
        m.record_fetch(
            "A \"quoted\"",
            FetchResult::Error,
            Duration::from_millis(750),
            0,
            0,
            0,
        );
        let text = m.render(&StoredGauges {
            stories: 7,
            published: 5,
            ..Default::default()
        });
        assert!(
            text.contains("feedsieve_fetches_total{source=\"A \\\"quoted\\\"\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("result=\"error\"} 1"), "{text}");
        assert!(
            text.contains("feedsieve_fetch_duration_seconds_sum{source=\"A \\\"quoted\\\"\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("feedsieve_fetch_duration_seconds_count{source=\"A \\\"quoted\\\"\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("feedsieve_items_stored_total{source=\"A \\\"quoted\\\"\"} 3"),
            "{text}"
        );
        assert!(text.contains("feedsieve_stories 7"), "{text}");
        assert!(
            text.contains("# TYPE feedsieve_fetches_total counter"),
            "{text}"
        );
    }
}
