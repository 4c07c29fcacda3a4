//! `[output]` settings: what publishing needs to know, built by `config`.

use std::path::PathBuf;

use url::Url;

/// `[output]`: the combined feed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    /// Channel title.
    pub title: String,
    /// Channel link (the site the feed is about).
    pub link: String,
    /// Channel description.
    pub description: String,
    /// Where the RSS file is written after every cycle.
    pub path: PathBuf,
    /// How many stories the feed holds.
    pub max_items: usize,
    /// A WebSub hub to advertise and ping after each change.
    pub hub: Option<Url>,
}
