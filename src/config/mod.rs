//! `feeds.toml`: parsing, defaults, validation and path resolution.
//!
//! Every error names the file, line and column, and says what was expected, so a
//! typo in a long config is found at once.
//!
//! Each stage owns its settings type (`fetch::FetchConfig`, `publish::OutputConfig`);
//! this module only parses the file, checks it and builds them. Files: `raw` (the
//! file as written), `validate` (the error-collecting context), `sections` and
//! `sources` (one builder per table), `values` (durations, sizes, URLs), `error`.

mod error;
mod raw;
mod schema;
mod sections;
mod sources;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::fetch::FetchConfig;
use crate::publish::OutputConfig;
pub use error::{ConfigError, ConfigErrors};
use validate::Ctx;
pub use values::{parse_duration, parse_listen, url_key};

/// Default fetch interval for sources that do not set their own.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Default age after which stored items are pruned.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default time in-flight requests get to finish after SIGTERM (systemd's
/// `TimeoutStopSec` in the shipped unit is 60 s).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The validated configuration, with paths resolved against the config file's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the config was read from.
    pub path: PathBuf,
    /// The combined feed.
    pub output: OutputConfig,
    /// The HTTP server of the daemon.
    pub server: ServerConfig,
    /// The SQLite database.
    pub database: DatabaseConfig,
    /// Default intervals and concurrency limits.
    pub schedule: ScheduleConfig,
    /// HTTP client limits.
    pub fetch: FetchConfig,
    /// Feeds and pages, in file order.
    pub sources: Vec<SourceConfig>,
    /// `[filters]`: applied to every source, before its own.
    pub filters: Filters,
    /// Merging the same story across outlets.
    pub dedup: crate::dedup::DedupConfig,
    /// `sources` by URL, built at the first look-up: with 100,000 sources a
    /// scan per fetch made a cycle quadratic.
    by_url: SourceIndex,
}

/// Positions in `Config::sources` by URL (never part of a comparison).
#[derive(Clone, Default)]
struct SourceIndex(std::sync::OnceLock<std::collections::HashMap<String, usize>>);

impl PartialEq for SourceIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for SourceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceIndex")
    }
}

/// `[server]`: where the daemon serves the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address and port to bind.
    pub listen: SocketAddr,
    /// How long in-flight fetches and requests may run on after SIGTERM.
    pub shutdown_grace: Duration,
    /// Set by `run --listen`: it wins over the file's `listen`, on reloads too.
    pub listen_override: Option<SocketAddr>,
}

/// `[database]`: storage and retention.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// SQLite file.
    pub path: PathBuf,
    /// Items older than this are pruned.
    pub max_age: Duration,
    /// The largest the file may grow, in bytes; past it writes fail as on a full disk.
    pub max_size: Option<u64>,
}

/// `[schedule]`: defaults for every source and global limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    /// Default fetch interval.
    pub interval: Duration,
    /// Fetches in flight overall.
    pub concurrency: usize,
    /// Fetches in flight per host.
    pub per_host: usize,
}

/// Whether a source is a feed or a web page without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// An HTML page that lists article links.
    Page,
}

impl SourceKind {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Page => "page",
        }
    }
}

/// One `[[feed]]` or `[[page]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Feed or page.
    pub kind: SourceKind,
    /// Outlet name shown as attribution.
    pub name: String,
    /// Where to fetch it.
    pub url: Url,
    /// Own interval, else the `[schedule]` default.
    pub interval: Option<Duration>,
    /// Which items' pages are fetched and cleaned instead of trusting the feed's content.
    pub full_text: FullText,
    /// CSS selector of the element that holds the article on this source's pages.
    pub content: Option<String>,
    /// CSS selectors of elements to remove from this source's articles.
    pub remove: Vec<String>,
    /// A category given to every story this source told or also covered.
    pub category: Option<String>,
    /// Which of this source's items are published.
    pub filters: Filters,
    /// `[[page]]` only: CSS selector of the article links on the index page.
    pub links: Option<String>,
    /// `[[page]]` only: most new articles fetched per cycle.
    pub max_new: usize,
    /// `enabled = false`: kept in the file, but neither fetched nor published.
    pub enabled: bool,
}

/// `full_text`: which of a feed's items get their article page fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FullText {
    /// Unset: the teasers (a summary cut short, "Read more"), not full items.
    #[default]
    Teasers,
    /// `true`: every item, whatever the feed gives.
    Always,
    /// `false`: none; the feed's text is published as it is.
    Never,
}

impl FullText {
    /// Whether an item (a teaser or not) gets its page fetched.
    pub fn wants(self, teaser: bool) -> bool {
        match self {
            FullText::Teasers => teaser,
            FullText::Always => true,
            FullText::Never => false,
        }
    }
}

/// Default for `[[page]] max_new`.
pub const DEFAULT_MAX_NEW: usize = 20;

/// Include/exclude regular expressions matched against an item's title and text.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// If any, an item must match one of these.
    pub include: Vec<regex::Regex>,
    /// An item matching any of these is not published.
    pub exclude: Vec<regex::Regex>,
}

impl PartialEq for Filters {
    fn eq(&self, other: &Self) -> bool {
        self.patterns() == other.patterns()
    }
}

impl Filters {
    /// The include and exclude patterns as written: what tells two filters apart.
    pub fn patterns(&self) -> (Vec<&str>, Vec<&str>) {
        fn list(v: &[regex::Regex]) -> Vec<&str> {
            v.iter().map(regex::Regex::as_str).collect()
        }
        (list(&self.include), list(&self.exclude))
    }

    /// True when the text passes: matches an include (if any) and no exclude.
    pub fn admits(&self, text: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(text)))
            && !self.exclude.iter().any(|r| r.is_match(text))
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

impl Config {
    /// Listens on `addr` whatever the file says (`run --listen`); feeds
    /// without an `[output] link` follow the daemon to its new address.
    pub fn override_listen(&mut self, addr: SocketAddr) {
        if self.output.link == sections::default_link(self.server.listen) {
            self.output.link = sections::default_link(addr);
        }
        self.server.listen = addr;
        self.server.listen_override = Some(addr);
    }

    /// The configured source with this URL.
    pub fn source(&self, url: &str) -> Option<&SourceConfig> {
        let index = self.by_url.0.get_or_init(|| {
            let urls = self.sources.iter().enumerate();
            urls.map(|(i, s)| (s.url.to_string(), i)).collect()
        });
        match index.get(url).and_then(|&i| self.sources.get(i)) {
            Some(s) if s.url.as_str() == url => Some(s),
            // `sources` was changed after the index was built.
            _ => self.sources.iter().find(|s| s.url.as_str() == url),
        }
    }

    /// The effective interval of a source.
    pub fn interval_of(&self, source: &SourceConfig) -> Duration {
        source.interval.unwrap_or(self.schedule.interval)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::parse(&read_config(path)?, path)
    }

    /// Parses and validates config text; `path` locates relative paths and names errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        match Config::build(text, path) {
            (Some(config), errors) if errors.0.is_empty() => Ok(config),
            (_, errors) => Err(errors),
        }
    }

    /// Reads a config file for a command that only looks (`status`, `sources`,
    /// `stories`) or that may be the fix (`remove`): what is valid, and the
    /// errors, if any. The daemon goes on with its last good config while the
    /// file is wrong, and these commands are how a user sees it. Errs only
    /// when the file cannot be read or is not tables at all.
    pub fn load_lenient(path: &Path) -> Result<(Config, Option<ConfigErrors>), ConfigErrors> {
        Config::parse_lenient(&read_config(path)?, path)
    }

    /// [`Config::load_lenient`] for config text.
    pub fn parse_lenient(
        text: &str,
        path: &Path,
    ) -> Result<(Config, Option<ConfigErrors>), ConfigErrors> {
        match Config::build(text, path) {
            (Some(config), errors) if errors.0.is_empty() => Ok((config, None)),
            (Some(config), errors) => Ok((config, Some(errors))),
            (None, errors) => Err(errors),
        }
    }

    /// Builds what is valid of config text, and every error.
    fn build(text: &str, path: &Path) -> (Option<Config>, ConfigErrors) {
        // A `[feed]` above `[[feed]]` stops the parser at every later source
        // ("duplicate key"): the file is checked as if each were `[[feed]]`,
        // so that the sources' own errors are reported too, not only that one.
        if let Some((fixed, single)) = with_source_lists(text) {
            let (config, ConfigErrors(mut errors)) = Config::build(&fixed, path);
            for (line, kind) in single {
                errors.push(ConfigError {
                    path: path.to_path_buf(),
                    line: Some(line),
                    column: Some(1),
                    message: format!(
                        "each source is `[[{kind}]]`, with two brackets (`[{kind}]` is a single table)"
                    ),
                });
            }
            errors.sort_by_key(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)));
            return (config, ConfigErrors(errors));
        }
        let ctx = Ctx {
            text,
            path,
            errors: Vec::new(),
        };
        ctx.build()
    }
}

/// A config file's text, or the error that says why it cannot be read.
fn read_config(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "cannot read the config file: {e} (`feedsieve init` writes a commented \
                     one there; or name yours with --config PATH or FEEDSIEVE_CONFIG)"
                ),
                _ => format!("cannot read the config file: {e}"),
            },
        }])
    })
}

/// The text with every `[feed]` / `[page]` header written `[[feed]]` /
/// `[[page]]`, and those headers' lines (1-based) and kinds, when the file
/// also has the list form of one of them; `None` otherwise.
fn with_source_lists(text: &str) -> Option<(String, Vec<(usize, &'static str)>)> {
    let header = |line: &str, open: &str, kind: &str| {
        let rest = line.trim_start().strip_prefix(open)?.trim_start();
        let rest = rest.strip_prefix(kind)?.trim_start();
        let close = &open.replace('[', "]");
        let after = rest.strip_prefix(close.as_str())?.trim_start();
        (after.is_empty() || after.starts_with('#')).then_some(())
    };
    let mut single = Vec::new();
    let mut fixed = String::with_capacity(text.len() + 16);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let kind = ["feed", "page"]
            .into_iter()
            .find(|kind| header(line, "[", kind).is_some());
        match kind {
            Some(kind) => {
                single.push((i + 1, kind));
                let at = line.find('[').unwrap_or(0);
                fixed.push_str(&line[..at]);
                fixed.push('[');
                let close = line.find(']').unwrap_or(line.len());
                fixed.push_str(&line[at..close]);
                fixed.push(']');
                fixed.push_str(&line[close..]);
            }
            None => fixed.push_str(line),
        }
    }
    let listed = |kind: &str| text.lines().any(|l| header(l, "[[", kind).is_some());
    // Every single header is an error; only a list beside one hides the rest.
    single
        .iter()
        .any(|(_, kind)| listed(kind))
        .then_some((fixed, single))
}
