//! `feeds.toml`: parsing, defaults, validation and path resolution.
//!
//! Every error names the file, line and column, and says what was expected, so a
//! typo in a long config is found at once.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// Default fetch interval for sources that do not set their own.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Default cap on a response body, after decompression.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
/// Default age after which stored items are pruned.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A config error with its location in the file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The config file the error is in.
    pub path: PathBuf,
    /// 1-based line, when the error has a location.
    pub line: Option<usize>,
    /// 1-based column, when the error has a location.
    pub column: Option<usize>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(col)) => write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                line,
                col,
                self.message
            ),
            _ => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// All errors found in one config file (validation keeps going after the first).
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

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
}

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

/// `[server]`: where the daemon serves the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address and port to bind.
    pub listen: SocketAddr,
}

/// `[database]`: storage and retention.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// SQLite file.
    pub path: PathBuf,
    /// Items older than this are pruned.
    pub max_age: Duration,
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

/// `[fetch]`: HTTP client behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// Whole-request timeout, body included.
    pub timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Largest accepted body, after decompression.
    pub max_body: u64,
    /// Overrides the User-Agent header.
    pub user_agent: Option<String>,
    /// Items kept from one feed document (the first ones, in document order).
    pub max_items_per_feed: usize,
    /// Whether sources may resolve to loopback, private or link-local addresses.
    pub allow_private: bool,
}

/// Default cap on items read from one feed document.
pub const DEFAULT_MAX_ITEMS_PER_FEED: usize = 1000;

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: DEFAULT_MAX_BODY,
            user_agent: None,
            max_items_per_feed: DEFAULT_MAX_ITEMS_PER_FEED,
            allow_private: true,
        }
    }
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
    /// Fetch and clean each item's page instead of trusting the feed's content.
    pub full_text: bool,
    /// CSS selector of the element that holds the article on this source's pages.
    pub content: Option<String>,
    /// CSS selectors of elements to remove from this source's articles.
    pub remove: Vec<String>,
    /// A category added to every item of this source in the published feeds.
    pub category: Option<String>,
    /// Which of this source's items are published.
    pub filters: Filters,
    /// `[[page]]` only: CSS selector of the article links on the index page.
    pub links: Option<String>,
    /// `[[page]]` only: most new articles fetched per cycle.
    pub max_new: usize,
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
        let pats =
            |v: &[regex::Regex]| v.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>();
        pats(&self.include) == pats(&other.include) && pats(&self.exclude) == pats(&other.exclude)
    }
}

impl Filters {
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
    /// The configured source with this URL.
    pub fn source(&self, url: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.url.as_str() == url)
    }

    /// The effective interval of a source.
    pub fn interval_of(&self, source: &SourceConfig) -> Duration {
        source.interval.unwrap_or(self.schedule.interval)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                path: path.to_path_buf(),
                line: None,
                column: None,
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` locates relative paths and names errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let ctx = Ctx {
            text,
            path,
            errors: Vec::new(),
        };
        ctx.parse()
    }
}

// ---- raw, as written in the file ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    output: Option<RawOutput>,
    server: Option<RawServer>,
    database: Option<RawDatabase>,
    schedule: Option<RawSchedule>,
    fetch: Option<RawFetch>,
    filters: Option<RawFilters>,
    dedup: Option<RawDedup>,
    #[serde(default)]
    feed: Vec<Spanned<RawSource>>,
    #[serde(default)]
    page: Vec<Spanned<RawSource>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFilters {
    include: Option<Spanned<Patterns>>,
    exclude: Option<Spanned<Patterns>>,
}

/// One regular expression or a list of them.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Patterns {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    title: Option<String>,
    link: Option<Spanned<String>>,
    description: Option<String>,
    path: Option<String>,
    max_items: Option<Spanned<i64>>,
    hub: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    path: Option<String>,
    max_age: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    interval: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<RawSize>>,
    user_agent: Option<String>,
    max_items_per_feed: Option<Spanned<i64>>,
    allow_private: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSize {
    Bytes(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    url: Spanned<String>,
    interval: Option<Spanned<String>>,
    #[serde(default)]
    full_text: bool,
    content: Option<Spanned<String>>,
    #[serde(default)]
    remove: Vec<Spanned<String>>,
    category: Option<String>,
    include: Option<Spanned<Patterns>>,
    exclude: Option<Spanned<Patterns>>,
    links: Option<Spanned<String>>,
    max_new: Option<Spanned<i64>>,
}

/// `[dedup]` as written; see `DedupConfig` for the meaning of each key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    enabled: Option<bool>,
    window: Option<Spanned<String>>,
    copy_similarity: Option<Spanned<f64>>,
    copy_min_words: Option<Spanned<i64>>,
    text_threshold: Option<Spanned<f64>>,
    title_threshold: Option<Spanned<f64>>,
    merge_threshold: Option<Spanned<f64>>,
    day_penalty: Option<Spanned<f64>>,
    name_weight: Option<Spanned<f64>>,
    number_penalty: Option<Spanned<f64>>,
    #[serde(default)]
    prefer: Vec<String>,
    embedding_model: Option<Spanned<String>>,
    embedding_title_weight: Option<Spanned<f64>>,
    embedding_title_threshold: Option<Spanned<f64>>,
    embedding_text_weight: Option<Spanned<f64>>,
    embedding_text_threshold: Option<Spanned<f64>>,
}

struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn error_at(&mut self, span: Option<Range<usize>>, message: String) {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = line_col(self.text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.errors.push(ConfigError {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        });
    }

    fn resolve_path(&self, value: &str) -> PathBuf {
        let p = Path::new(value);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            let dir = self.path.parent().unwrap_or(Path::new(""));
            dir.join(p)
        }
    }

    fn duration(&mut self, value: Option<Spanned<String>>, default: Duration) -> Duration {
        let Some(value) = value else { return default };
        match parse_duration(value.get_ref()) {
            Ok(d) => d,
            Err(msg) => {
                self.error_at(Some(value.span()), msg);
                default
            }
        }
    }

    fn patterns(&mut self, value: Option<Spanned<Patterns>>, key: &str) -> Vec<regex::Regex> {
        let Some(value) = value else {
            return Vec::new();
        };
        let span = value.span();
        let list = match value.into_inner() {
            Patterns::One(p) => vec![p],
            Patterns::Many(v) => v,
        };
        let mut out = Vec::new();
        for p in list {
            match regex::RegexBuilder::new(&p).size_limit(1 << 20).build() {
                Ok(r) => out.push(r),
                Err(e) => self.error_at(
                    Some(span.clone()),
                    format!("`{key}`: {p:?} is not a valid regular expression ({e})"),
                ),
            }
        }
        out
    }

    fn positive(&mut self, value: Option<Spanned<i64>>, key: &str, default: usize) -> usize {
        let Some(value) = value else { return default };
        match usize::try_from(*value.get_ref()) {
            Ok(n) if n > 0 => n,
            _ => {
                self.error_at(
                    Some(value.span()),
                    format!("`{key}` must be a whole number above 0"),
                );
                default
            }
        }
    }

    fn fraction(&mut self, value: Option<Spanned<f64>>, key: &str, default: f64) -> f64 {
        let Some(value) = value else { return default };
        let v = *value.get_ref();
        if (0.0..=1.0).contains(&v) {
            v
        } else {
            self.error_at(
                Some(value.span()),
                format!("`{key}` must be a number from 0 to 1"),
            );
            default
        }
    }

    fn dedup(&mut self, raw: RawDedup) -> crate::dedup::DedupConfig {
        let d = crate::dedup::DedupConfig::default();
        crate::dedup::DedupConfig {
            enabled: raw.enabled.unwrap_or(d.enabled),
            window: self.duration(raw.window, d.window),
            copy_similarity: self.fraction(
                raw.copy_similarity,
                "copy_similarity",
                d.copy_similarity,
            ),
            copy_min_words: self.positive(raw.copy_min_words, "copy_min_words", d.copy_min_words),
            text_threshold: self.fraction(raw.text_threshold, "text_threshold", d.text_threshold),
            title_threshold: self.fraction(
                raw.title_threshold,
                "title_threshold",
                d.title_threshold,
            ),
            merge_threshold: self.fraction(
                raw.merge_threshold,
                "merge_threshold",
                d.merge_threshold,
            ),
            day_penalty: self.fraction(raw.day_penalty, "day_penalty", d.day_penalty),
            name_weight: self.fraction(raw.name_weight, "name_weight", d.name_weight),
            number_penalty: self.fraction(raw.number_penalty, "number_penalty", d.number_penalty),
            prefer: raw.prefer,
            embedding_model: self.embedding_model(raw.embedding_model),
            embedding_title_weight: self.fraction(
                raw.embedding_title_weight,
                "embedding_title_weight",
                d.embedding_title_weight,
            ),
            embedding_text_weight: self.fraction(
                raw.embedding_text_weight,
                "embedding_text_weight",
                d.embedding_text_weight,
            ),
            embedding_text_threshold: self.fraction(
                raw.embedding_text_threshold,
                "embedding_text_threshold",
                d.embedding_text_threshold,
            ),
            embedding_title_threshold: self.fraction(
                raw.embedding_title_threshold,
                "embedding_title_threshold",
                d.embedding_title_threshold,
            ),
        }
    }

    /// `embedding_model`: an error, not a warning, when the feature is off, so
    /// that a deployment never runs a different dedup than its config asks for.
    fn embedding_model(&mut self, value: Option<Spanned<String>>) -> Option<PathBuf> {
        let value = value?;
        let span = value.span();
        if !cfg!(feature = "embed") {
            self.error_at(
                Some(span),
                "`embedding_model` needs feedsieve built with the `embed` feature \
                 (cargo build --release --features embed); remove the key to use TF-IDF alone"
                    .into(),
            );
            return None;
        }
        let dir = self.resolve_path(value.get_ref());
        if let Err(msg) = crate::dedup::embed::check_model_dir(&dir) {
            self.error_at(Some(span), format!("`embedding_model`: {msg}"));
            return None;
        }
        Some(dir)
    }

    fn parse(mut self) -> Result<Config, ConfigErrors> {
        let raw: RawConfig = match toml::from_str(self.text) {
            Ok(raw) => raw,
            Err(e) => {
                let message = e.message().trim().to_string();
                self.error_at(e.span(), message);
                return Err(ConfigErrors(self.errors));
            }
        };

        let out = raw.output.unwrap_or_default();
        let link = match out.link {
            Some(link) => {
                if Url::parse(link.get_ref()).is_err() {
                    self.error_at(
                        Some(link.span()),
                        format!(
                            "`link` {:?} is not an absolute URL (expected e.g. \"https://news.example.org/\")",
                            link.get_ref()
                        ),
                    );
                }
                link.into_inner()
            }
            None => "http://127.0.0.1:8080/".to_string(),
        };
        let output = OutputConfig {
            title: out.title.unwrap_or_else(|| "feedsieve".to_string()),
            link,
            description: out
                .description
                .unwrap_or_else(|| "Combined news, one entry per story".to_string()),
            path: self.resolve_path(out.path.as_deref().unwrap_or("db/feed.xml")),
            max_items: self.positive(out.max_items, "max_items", 200),
            hub: out
                .hub
                .and_then(|hub| match parse_source_url(hub.get_ref()) {
                    Ok(url) => Some(url),
                    Err(msg) => {
                        self.error_at(Some(hub.span()), format!("`hub`: {msg}"));
                        None
                    }
                }),
        };

        let listen = match raw.server.unwrap_or_default().listen {
            Some(listen) => match listen.get_ref().parse::<SocketAddr>() {
                Ok(addr) => addr,
                Err(_) => {
                    self.error_at(
                        Some(listen.span()),
                        format!(
                            "`listen` {:?} is not an address with a port (expected e.g. \"127.0.0.1:8080\")",
                            listen.get_ref()
                        ),
                    );
                    SocketAddr::from(([127, 0, 0, 1], 8080))
                }
            },
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };

        let db = raw.database.unwrap_or_default();
        let database = DatabaseConfig {
            path: self.resolve_path(db.path.as_deref().unwrap_or("db/feedsieve.sqlite")),
            max_age: self.duration(db.max_age, DEFAULT_MAX_AGE),
        };

        let sched = raw.schedule.unwrap_or_default();
        let schedule = ScheduleConfig {
            interval: self.duration(sched.interval, DEFAULT_INTERVAL),
            concurrency: self.positive(sched.concurrency, "concurrency", 8),
            per_host: self.positive(sched.per_host, "per_host", 2),
        };

        let f = raw.fetch.unwrap_or_default();
        let defaults = FetchConfig::default();
        let max_body = match f.max_body {
            None => defaults.max_body,
            Some(size) => {
                let span = size.span();
                match parse_size(size.get_ref()) {
                    Ok(n) => n,
                    Err(msg) => {
                        self.error_at(Some(span), msg);
                        defaults.max_body
                    }
                }
            }
        };
        let fetch = FetchConfig {
            timeout: self.duration(f.timeout, defaults.timeout),
            connect_timeout: self.duration(f.connect_timeout, defaults.connect_timeout),
            max_body,
            user_agent: f.user_agent,
            max_items_per_feed: self.positive(
                f.max_items_per_feed,
                "max_items_per_feed",
                defaults.max_items_per_feed,
            ),
            allow_private: f.allow_private.unwrap_or(defaults.allow_private),
        };

        let mut sources = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut raws: Vec<(SourceKind, Spanned<RawSource>)> = Vec::new();
        raws.extend(raw.feed.into_iter().map(|s| (SourceKind::Feed, s)));
        raws.extend(raw.page.into_iter().map(|s| (SourceKind::Page, s)));
        // Report in file order, whatever the table kind.
        raws.sort_by_key(|(_, s)| s.span().start);
        for (kind, spanned) in raws {
            let table_span = spanned.span();
            let src = spanned.into_inner();
            let name = src.name.get_ref().trim().to_string();
            if name.is_empty() {
                self.error_at(
                    Some(src.name.span()),
                    "`name` is empty (expected the outlet's name, shown as attribution)".into(),
                );
            }
            let url = match parse_source_url(src.url.get_ref()) {
                Ok(url) => Some(url),
                Err(msg) => {
                    self.error_at(Some(src.url.span()), msg);
                    None
                }
            };
            let interval = src.interval.map(|i| {
                let span = i.span();
                match parse_duration(i.get_ref()) {
                    Ok(d) => d,
                    Err(msg) => {
                        self.error_at(Some(span), msg);
                        schedule.interval
                    }
                }
            });
            if kind == SourceKind::Page && src.full_text {
                self.error_at(
                    Some(table_span.clone()),
                    "`full_text` applies to [[feed]] only: a [[page]] is always read in full"
                        .into(),
                );
            }
            if kind == SourceKind::Feed {
                if let Some(links) = &src.links {
                    self.error_at(
                        Some(links.span()),
                        "`links` applies to [[page]] only: it picks article links on a page".into(),
                    );
                }
                if let Some(max_new) = &src.max_new {
                    self.error_at(
                        Some(max_new.span()),
                        "`max_new` applies to [[page]] only".into(),
                    );
                }
            }
            let links = src.links.and_then(|l| {
                if scraper::Selector::parse(l.get_ref()).is_ok() {
                    Some(l.into_inner())
                } else {
                    self.error_at(
                        Some(l.span()),
                        format!("`links`: {:?} is not a valid CSS selector", l.get_ref()),
                    );
                    None
                }
            });
            let max_new = self.positive(src.max_new, "max_new", DEFAULT_MAX_NEW);
            let filters = Filters {
                include: self.patterns(src.include, "include"),
                exclude: self.patterns(src.exclude, "exclude"),
            };
            let category = src
                .category
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
            let mut selector = |css: Spanned<String>| {
                let span = css.span();
                let css = css.into_inner();
                match crate::extract::check_selector(&css) {
                    Ok(()) => Some(css),
                    Err(e) => {
                        self.error_at(Some(span), e.to_string());
                        None
                    }
                }
            };
            let content = src.content.and_then(&mut selector);
            let remove: Vec<String> = src.remove.into_iter().filter_map(&mut selector).collect();
            let Some(url) = url else { continue };
            let key = url.as_str().to_string();
            if let Some(first_line) = seen.get(&key) {
                self.error_at(
                    Some(src.url.span()),
                    format!("duplicate source: {key} is already configured on line {first_line}"),
                );
                continue;
            }
            seen.insert(key, line_col(self.text, src.url.span().start).0);
            sources.push(SourceConfig {
                kind,
                name,
                url,
                interval,
                full_text: src.full_text,
                category,
                filters,
                links,
                max_new,
                content,
                remove,
            });
        }
        let raw_filters = raw.filters.unwrap_or_default();
        let filters = Filters {
            include: self.patterns(raw_filters.include, "include"),
            exclude: self.patterns(raw_filters.exclude, "exclude"),
        };

        let dedup = self.dedup(raw.dedup.unwrap_or_default());
        if !self.errors.is_empty() {
            return Err(ConfigErrors(self.errors));
        }
        Ok(Config {
            path: self.path.to_path_buf(),
            output,
            server: ServerConfig { listen },
            database,
            schedule,
            fetch,
            sources,
            filters,
            dedup,
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Parses a human duration such as "30m", "1h 30m" or "7d".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d >= Duration::from_secs(1) => Ok(d),
        Ok(_) => Err(format!(
            "duration {text:?} is too short (expected at least \"1s\", e.g. \"30m\")"
        )),
        Err(e) => Err(format!(
            "{text:?} is not a duration ({e}; expected e.g. \"15m\", \"1h 30m\" or \"7d\")"
        )),
    }
}

/// Parses a size: a number of bytes, or text such as "10 MiB" or "512 KB".
fn parse_size(size: &RawSize) -> Result<u64, String> {
    let bad = |t: &str| {
        format!("{t:?} is not a size (expected bytes as a number, or e.g. \"10 MiB\", \"512 KB\")")
    };
    let text = match size {
        RawSize::Bytes(n) if *n > 0 => return Ok(*n as u64),
        RawSize::Bytes(n) => return Err(bad(&n.to_string())),
        RawSize::Text(t) => t.trim(),
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let num: f64 = num.parse().map_err(|_| bad(text))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "kib" => 1024.0,
        "mb" | "m" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" | "g" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad(text)),
    };
    let bytes = num * mult;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(bad(text));
    }
    Ok(bytes as u64)
}

fn parse_source_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("{text:?} is not a valid URL ({e}; expected e.g. \"https://example.org/feed.xml\")")
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "{text:?} uses the scheme {other:?}: only http and https sources are fetched"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse(text, Path::new("/etc/feedsieve/feeds.toml"))
    }

    fn first_error(text: &str) -> ConfigError {
        parse(text).unwrap_err().0.remove(0)
    }

    #[test]
    fn defaults_and_relative_paths() {
        let cfg = parse("[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n").unwrap();
        assert_eq!(
            cfg.database.path,
            Path::new("/etc/feedsieve/db/feedsieve.sqlite")
        );
        assert_eq!(cfg.output.path, Path::new("/etc/feedsieve/db/feed.xml"));
        assert_eq!(cfg.output.max_items, 200);
        assert_eq!(cfg.schedule.interval, DEFAULT_INTERVAL);
        assert_eq!((cfg.schedule.concurrency, cfg.schedule.per_host), (8, 2));
        assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cfg.database.max_age, DEFAULT_MAX_AGE);
        assert_eq!(cfg.fetch.max_body, DEFAULT_MAX_BODY);
        assert_eq!(cfg.sources.len(), 1);
        assert_eq!(cfg.interval_of(&cfg.sources[0]), DEFAULT_INTERVAL);
    }

    #[test]
    fn every_key_is_read() {
        let cfg = parse(
            r#"
[output]
title = "T"
link = "https://me.test/"
description = "D"
path = "/srv/feed.xml"
max_items = 50
hub = "https://hub.example.org/"
[server]
listen = "0.0.0.0:9000"
[database]
path = "data/x.sqlite"
max_age = "7d"
[schedule]
interval = "1h"
concurrency = 4
per_host = 1
[fetch]
timeout = "20s"
connect_timeout = "5s"
max_body = "2 MiB"
user_agent = "me/1"
max_items_per_feed = 30
allow_private = false
[[feed]]
name = "A"
url = "https://a.test/rss"
interval = "15m"
full_text = true
[[page]]
name = "P"
url = "https://p.test/news/"
"#,
        )
        .unwrap();
        assert_eq!(cfg.output.path, Path::new("/srv/feed.xml"));
        assert_eq!(cfg.output.max_items, 50);
        assert_eq!(
            cfg.output.hub.as_ref().map(Url::as_str),
            Some("https://hub.example.org/")
        );
        assert_eq!(cfg.server.listen.port(), 9000);
        assert_eq!(cfg.database.path, Path::new("/etc/feedsieve/data/x.sqlite"));
        assert_eq!(cfg.database.max_age, Duration::from_secs(7 * 86400));
        assert_eq!(cfg.schedule.interval, Duration::from_secs(3600));
        assert_eq!(cfg.fetch.max_body, 2 * 1024 * 1024);
        assert_eq!(cfg.fetch.user_agent.as_deref(), Some("me/1"));
        assert_eq!(cfg.fetch.max_items_per_feed, 30);
        assert!(!cfg.fetch.allow_private);
        assert_eq!(cfg.sources[0].interval, Some(Duration::from_secs(900)));
        assert!(cfg.sources[0].full_text);
        assert_eq!(cfg.sources[1].kind, SourceKind::Page);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let e = first_error("[schedule]\ninterval = \"30m\"\nintervall = \"1h\"\n");
        assert_eq!((e.line, e.column), (Some(3), Some(1)), "{e}");
        assert!(e.message.contains("intervall"), "{e}");
        assert!(
            e.to_string().starts_with("/etc/feedsieve/feeds.toml:3:1: "),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = first_error("[[feed]]\nname = \"A\"\nurl = \"not a url\"\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("not a valid URL"), "{e}");

        let e = first_error("[[feed]]\nname = \"A\"\nurl = \"ftp://a.test/x\"\n");
        assert!(e.message.contains("only http and https"), "{e}");

        let e = first_error("[schedule]\n\ninterval = \"often\"\n");
        assert_eq!((e.line, e.column), (Some(3), Some(12)), "{e}");
        assert!(e.message.contains("not a duration"), "{e}");

        let e = first_error("[schedule]\nconcurrency = 0\n");
        assert_eq!(e.line, Some(2), "{e}");

        let e = first_error("[server]\nlisten = \"localhost\"\n");
        assert!(e.message.contains("address with a port"), "{e}");

        let e = first_error("[fetch]\nmax_body = \"lots\"\n");
        assert!(e.message.contains("not a size"), "{e}");

        let e = first_error("[[feed]]\nname = \"A\"\n");
        assert!(e.message.contains("url"), "{e}");
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn duplicate_sources_point_at_the_second() {
        let e = first_error(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n\n[[feed]]\nname = \"B\"\nurl = \"https://a.test/rss\"\n",
        );
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("already configured on line 3"), "{e}");
    }

    #[test]
    fn dedup_settings_have_defaults_and_located_errors() {
        let cfg = parse("").unwrap();
        assert_eq!(cfg.dedup, crate::dedup::DedupConfig::default());
        assert!(cfg.dedup.enabled);
        assert_eq!(cfg.dedup.window, Duration::from_secs(72 * 3600));
        let cfg = parse(
            "[dedup]\nenabled = false\nwindow = \"2d\"\ntext_threshold = 0.4\nprefer = [\"Reuters\"]\n",
        )
        .unwrap();
        assert!(!cfg.dedup.enabled);
        assert_eq!(cfg.dedup.window, Duration::from_secs(48 * 3600));
        assert_eq!(cfg.dedup.text_threshold, 0.4);
        assert_eq!(cfg.dedup.prefer, vec!["Reuters".to_string()]);
        let e = first_error("[dedup]\n\ntext_threshold = 1.5\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("text_threshold"), "{e}");
        let e = first_error("[dedup]\nthreshold = 0.3\n");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn embedding_model_is_located_when_it_cannot_be_used() {
        let e = first_error("[dedup]\nembedding_model = \"no-such-model\"\n");
        assert_eq!((e.line, e.column), (Some(2), Some(19)), "{e}");
        if cfg!(feature = "embed") {
            assert!(e.message.contains("not a folder"), "{e}");
        } else {
            assert!(e.message.contains("`embed` feature"), "{e}");
        }
        let e = first_error("[dedup]\nembedding_text_weight = 2.5\n");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let errs = parse("[schedule]\ninterval = \"x\"\nper_host = -1\n").unwrap_err();
        assert_eq!(errs.0.len(), 2, "{errs}");
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let e = first_error("[output\ntitle = 1\n");
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn filters_categories_and_page_options() {
        let cfg = parse(
            "[filters]\nexclude = \"(?i)sponsored\"\n\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\ncategory = \"World\"\ninclude = [\"Ukraine\", \"Kyiv\"]\n\n[[page]]\nname = \"P\"\nurl = \"https://p.test/\"\nlinks = \"article h2 a\"\nmax_new = 5\n",
        )
        .unwrap();
        assert!(!cfg.filters.admits("SPONSORED: buy"));
        let a = &cfg.sources[0];
        assert_eq!(a.category.as_deref(), Some("World"));
        assert!(a.filters.admits("Kyiv under attack"));
        assert!(!a.filters.admits("Cycle lanes"));
        let p = &cfg.sources[1];
        assert_eq!((p.links.as_deref(), p.max_new), (Some("article h2 a"), 5));
        assert_eq!(cfg.sources[0].max_new, DEFAULT_MAX_NEW);

        let e = first_error(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nexclude = \"(unclosed\"\n",
        );
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("not a valid regular expression"), "{e}");
        let e = first_error("[[page]]\nname = \"P\"\nurl = \"https://p.test/\"\nlinks = \"a[\"\n");
        assert!(e.message.contains("not a valid CSS selector"), "{e}");
        let e = first_error("[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nmax_new = 3\n");
        assert!(e.message.contains("[[page]] only"), "{e}");
    }

    #[test]
    fn sizes_accept_units() {
        assert_eq!(parse_size(&RawSize::Bytes(10)), Ok(10));
        assert_eq!(parse_size(&RawSize::Text("512 KB".into())), Ok(512_000));
        assert_eq!(parse_size(&RawSize::Text("1.5MiB".into())), Ok(1_572_864));
        assert!(parse_size(&RawSize::Text("-3".into())).is_err());
        assert!(parse_size(&RawSize::Bytes(0)).is_err());
    }

    #[test]
    fn extraction_overrides_are_read_and_checked() {
        let cfg = parse(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\ncontent = \"div.story\"\nremove = [\".promo\", \"aside\"]\n",
        )
        .unwrap();
        assert_eq!(cfg.sources[0].content.as_deref(), Some("div.story"));
        assert_eq!(cfg.sources[0].remove, vec![".promo", "aside"]);
        let e = first_error(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nremove = [\"p[\"]\n",
        );
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("invalid CSS selector"), "{e}");
    }
}
