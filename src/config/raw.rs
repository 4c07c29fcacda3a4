//! The config as written in the file, before any value is checked.
//!
//! Every value that can be wrong keeps its span, so its error can name its line.

use serde::Deserialize;
use toml::Spanned;

/// The whole file: every table, none required.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) output: Option<RawOutput>,
    pub(super) server: Option<RawServer>,
    pub(super) database: Option<RawDatabase>,
    pub(super) schedule: Option<RawSchedule>,
    pub(super) fetch: Option<RawFetch>,
    pub(super) filters: Option<RawFilters>,
    pub(super) dedup: Option<RawDedup>,
    #[serde(default)]
    pub(super) feed: Vec<Spanned<RawSource>>,
    #[serde(default)]
    pub(super) page: Vec<Spanned<RawSource>>,
}

/// `[filters]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFilters {
    pub(super) include: Option<Spanned<Patterns>>,
    pub(super) exclude: Option<Spanned<Patterns>>,
}

/// One regular expression or a list of them.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum Patterns {
    One(String),
    Many(Vec<String>),
}

/// `[output]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    pub(super) title: Option<String>,
    pub(super) link: Option<Spanned<String>>,
    pub(super) description: Option<String>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) hub: Option<Spanned<String>>,
}

/// `[server]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) shutdown_grace: Option<Spanned<String>>,
}

/// `[database]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub(super) path: Option<String>,
    pub(super) max_age: Option<Spanned<String>>,
    pub(super) max_size: Option<Spanned<RawSize>>,
}

/// `[schedule]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) interval: Option<Spanned<String>>,
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) per_host: Option<Spanned<i64>>,
}

/// `[fetch]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) connect_timeout: Option<Spanned<String>>,
    pub(super) max_body: Option<Spanned<RawSize>>,
    pub(super) user_agent: Option<String>,
    pub(super) max_items_per_feed: Option<Spanned<i64>>,
    pub(super) allow_private: Option<bool>,
}

/// `max_body`: bytes as a number, or text with a unit.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawSize {
    Bytes(i64),
    Text(String),
}

/// One `[[feed]]` or `[[page]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) full_text: Option<bool>,
    pub(super) enabled: Option<bool>,
    pub(super) content: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) remove: Vec<Spanned<String>>,
    pub(super) category: Option<String>,
    pub(super) include: Option<Spanned<Patterns>>,
    pub(super) exclude: Option<Spanned<Patterns>>,
    pub(super) links: Option<Spanned<String>>,
    pub(super) max_new: Option<Spanned<i64>>,
}

/// `[dedup]` as written; see `DedupConfig` for the meaning of each key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDedup {
    pub(super) enabled: Option<bool>,
    pub(super) window: Option<Spanned<String>>,
    pub(super) window_articles: Option<Spanned<i64>>,
    pub(super) copy_similarity: Option<Spanned<f64>>,
    pub(super) copy_min_words: Option<Spanned<i64>>,
    pub(super) text_threshold: Option<Spanned<f64>>,
    pub(super) title_threshold: Option<Spanned<f64>>,
    pub(super) merge_threshold: Option<Spanned<f64>>,
    pub(super) day_penalty: Option<Spanned<f64>>,
    pub(super) name_weight: Option<Spanned<f64>>,
    pub(super) number_penalty: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) prefer: Vec<String>,
    pub(super) embedding_model: Option<Spanned<String>>,
    pub(super) embedding_title_weight: Option<Spanned<f64>>,
    pub(super) embedding_title_threshold: Option<Spanned<f64>>,
    pub(super) embedding_text_weight: Option<Spanned<f64>>,
    pub(super) embedding_text_threshold: Option<Spanned<f64>>,
}
