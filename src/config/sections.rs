//! One builder per table, called in the order their errors are reported.

use std::net::SocketAddr;
use std::path::PathBuf;

use toml::Spanned;
use url::Url;

use super::raw::{
    Patterns, RawConfig, RawDatabase, RawDedup, RawFetch, RawOutput, RawSchedule, RawServer,
};
use super::validate::Ctx;
use super::values::{
    parse_size, parse_source_url, MAX_INTERVAL, MAX_RETENTION, MAX_TIMEOUT, MAX_WINDOW,
};
use super::{
    Config, ConfigErrors, DatabaseConfig, Filters, ScheduleConfig, ServerConfig, DEFAULT_INTERVAL,
    DEFAULT_MAX_AGE, DEFAULT_SHUTDOWN_GRACE,
};
use crate::fetch::FetchConfig;
use crate::publish::OutputConfig;
use serde::Deserialize as _;

/// Where the daemon listens when `[server] listen` is absent or invalid.
const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);
/// The smallest `max_body`: a feed of one item is larger.
const MIN_MAX_BODY: u64 = 1024;

/// The address the daemon serves at, as a URL: `[output] link` when it is not set.
/// An unspecified address (`0.0.0.0`, `::`) is no place to fetch from, so the
/// loopback address of the same family with the same port stands in for it.
pub(super) fn default_link(listen: SocketAddr) -> String {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/")
}

/// Whether a link's last segment is a feed file (`…/feed.xml`), which readers
/// would open as the site.
fn names_a_feed_file(url: &Url) -> bool {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let lower = last.to_ascii_lowercase();
    [".xml", ".rss", ".atom", ".json"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// `[output] link` as the folder the files are served from: a last path
/// segment without a dot is a folder (`https://example.org/news` is
/// `…/news/`, not a page whose siblings are at `…/`); one with a dot is a page
/// in that folder (`…/news/index.html`).
fn site_folder(mut url: Url) -> String {
    let last = url.path_segments().and_then(|mut s| s.next_back());
    if last.is_some_and(|l| !l.is_empty() && !l.contains('.')) {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.into()
}

impl Ctx<'_> {
    /// Builds every section, leaving out or defaulting what is wrong: the
    /// config (`None` when the text cannot be read as tables at all) and all
    /// errors, in file order.
    pub(super) fn build(mut self) -> (Option<Config>, ConfigErrors) {
        let Some(raw) = self.raw() else {
            return (None, self.finish());
        };
        let server = self.server(raw.server.unwrap_or_default());
        let raw_output = raw.output.unwrap_or_default();
        let output_span = raw_output.path.as_ref().map(Spanned::span);
        let output = self.output(raw_output, server.listen);
        let database = self.database(raw.database.unwrap_or_default());
        self.output_clashes(&output, output_span, &database);
        let schedule = self.schedule(raw.schedule.unwrap_or_default());
        let fetch = self.fetch(raw.fetch.unwrap_or_default());
        let sources = self.sources(raw.feed, raw.page, schedule.interval);
        let raw_filters = raw.filters.unwrap_or_default();
        let filters = self.filters(raw_filters.include, raw_filters.exclude);
        let dedup = self.dedup(raw.dedup.unwrap_or_default());
        let config = Config {
            path: self.path.to_path_buf(),
            output,
            server,
            database,
            schedule,
            fetch,
            sources,
            filters,
            dedup,
            by_url: super::SourceIndex::default(),
        };
        (Some(config), self.finish())
    }

    /// The file as written: syntax errors and shape errors are reported, and what
    /// is left is read into the raw tables (`None` when even that fails).
    fn raw(&mut self) -> Option<RawConfig> {
        let (mut root, syntax) = toml::de::DeTable::parse_recoverable(self.text);
        self.syntax_errors(&syntax);
        self.check_shape(root.get_mut(), syntax.is_empty());
        match RawConfig::deserialize(toml::Deserializer::from(root)) {
            Ok(raw) => Some(raw),
            // The shape check leaves only readable values; this is a safety net.
            Err(e) => {
                let message = e.message().trim().to_string();
                self.error_at(e.span(), message);
                None
            }
        }
    }

    /// Every error found, sorted by where it is in the file.
    fn finish(mut self) -> ConfigErrors {
        self.errors
            .sort_by_key(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)));
        ConfigErrors(self.errors)
    }

    /// `[output]`; without `link`, the feeds are where this daemon serves them.
    fn output(&mut self, out: RawOutput, listen: SocketAddr) -> OutputConfig {
        let link = match out.link {
            Some(link) => match Url::parse(link.get_ref()) {
                Ok(url) if names_a_feed_file(&url) => {
                    self.error_at(
                        Some(link.span()),
                        format!(
                            "`link` {:?} names a feed file: give the address of the folder the feeds are served from, e.g. {:?} (readers open it as the site)",
                            link.get_ref(),
                            url.join("./").map_or_else(|_| url.to_string(), String::from)
                        ),
                    );
                    link.into_inner()
                }
                Ok(url) => site_folder(url),
                Err(_) => {
                    self.error_at(
                        Some(link.span()),
                        format!(
                            "`link` {:?} is not an absolute URL (expected e.g. \"https://news.example.org/\")",
                            link.get_ref()
                        ),
                    );
                    link.into_inner()
                }
            },
            None => default_link(listen),
        };
        OutputConfig {
            title: out.title.unwrap_or_else(|| "feedsieve".to_string()),
            link,
            description: out
                .description
                .unwrap_or_else(|| "Combined news, one entry per story".to_string()),
            path: self.resolve_path(out.path.as_ref().map_or("db/feed.xml", |p| p.get_ref())),
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
        }
    }

    /// Publishing replaces its files: none may be the database, one of its
    /// companion files, this config file, or another of the published files.
    fn output_clashes(
        &mut self,
        out: &OutputConfig,
        span: Option<std::ops::Range<usize>>,
        db: &DatabaseConfig,
    ) {
        let shown = out.path.display();
        if out.path.is_dir() {
            let example = out.path.join("feed.xml");
            let message = format!(
                "`path` {shown} is a folder: give the feed file's name in it, e.g. \"{}\"",
                example.display()
            );
            return self.error_at(span, message);
        }
        let written = crate::publish::output_files(out);
        for (file, kind) in &written[1..] {
            if same_path(&out.path, file) {
                let sibling = match *kind {
                    "atom" => "the Atom feed",
                    "json" => "the JSON Feed",
                    "html" => "the front page",
                    _ => "the feeds' stylesheet",
                };
                let message = format!(
                    "`path` {shown} is where {sibling} is written beside the RSS feed: give the RSS file another name, e.g. \"db/feed.xml\""
                );
                return self.error_at(span, message);
            }
        }
        // SQLite and the lock put their files beside the file the path leads to.
        let real_db = crate::store::file::real_path(&db.path);
        let mut taken: Vec<(PathBuf, &str)> = vec![
            (real_db.clone(), "the database ([database] path)"),
            (self.path.to_path_buf(), "this config file"),
        ];
        for suffix in ["-wal", "-shm", "-journal", ".lock"] {
            let mut name = real_db.clone().into_os_string();
            name.push(suffix);
            taken.push((PathBuf::from(name), "one of the database's own files"));
        }
        for (file, _) in &written {
            if let Some((_, what)) = taken.iter().find(|(t, _)| same_path(file, t)) {
                let message = if file == &out.path {
                    format!("`path` {shown} is {what}: publishing would overwrite it")
                } else {
                    format!(
                        "`path` {shown} puts {} beside it, which is {what}: publishing would overwrite it",
                        file.display()
                    )
                };
                return self.error_at(span, message);
            }
        }
    }

    /// `[server]`.
    fn server(&mut self, server: RawServer) -> ServerConfig {
        let listen = match server.listen {
            Some(listen) => match super::parse_listen(listen.get_ref()) {
                Ok(addr) => addr,
                Err(e) => {
                    self.error_at(Some(listen.span()), format!("`listen` {e}"));
                    SocketAddr::from(DEFAULT_LISTEN)
                }
            },
            None => SocketAddr::from(DEFAULT_LISTEN),
        };
        ServerConfig {
            listen,
            shutdown_grace: self.duration(
                server.shutdown_grace,
                "shutdown_grace",
                DEFAULT_SHUTDOWN_GRACE,
                MAX_TIMEOUT,
            ),
            listen_override: None,
        }
    }

    /// `[database]`.
    fn database(&mut self, db: RawDatabase) -> DatabaseConfig {
        DatabaseConfig {
            path: self.resolve_path(db.path.as_deref().unwrap_or("db/feedsieve.sqlite")),
            max_age: self.duration(db.max_age, "max_age", DEFAULT_MAX_AGE, MAX_RETENTION),
            max_size: db
                .max_size
                .and_then(|size| match parse_size(size.get_ref()) {
                    Ok(n) => Some(n),
                    Err(msg) => {
                        self.error_at(Some(size.span()), format!("`max_size`: {msg}"));
                        None
                    }
                }),
        }
    }

    /// `[schedule]`.
    fn schedule(&mut self, sched: RawSchedule) -> ScheduleConfig {
        ScheduleConfig {
            interval: self.duration(sched.interval, "interval", DEFAULT_INTERVAL, MAX_INTERVAL),
            concurrency: self.positive(sched.concurrency, "concurrency", 8),
            per_host: self.positive(sched.per_host, "per_host", 2),
        }
    }

    /// `[fetch]`.
    fn fetch(&mut self, f: RawFetch) -> FetchConfig {
        let defaults = FetchConfig::default();
        // Checked before the other keys, so its error is reported first.
        let max_body = match f.max_body {
            None => defaults.max_body,
            Some(size) => {
                let span = size.span();
                match parse_size(size.get_ref()) {
                    // No feed or page fits in less: every fetch would fail.
                    Ok(n) if n < MIN_MAX_BODY => {
                        let message = format!(
                            "`max_body` is {n} bytes, less than any feed or page: give at least \"1 KiB\" (a bare number is bytes), e.g. `max_body = \"10 MiB\"`"
                        );
                        self.error_at(Some(span), message);
                        defaults.max_body
                    }
                    Ok(n) => n,
                    Err(msg) => {
                        self.error_at(Some(span), msg);
                        defaults.max_body
                    }
                }
            }
        };
        FetchConfig {
            timeout: self.duration(f.timeout, "timeout", defaults.timeout, MAX_TIMEOUT),
            connect_timeout: self.duration(
                f.connect_timeout,
                "connect_timeout",
                defaults.connect_timeout,
                MAX_TIMEOUT,
            ),
            max_body,
            user_agent: f.user_agent,
            max_items_per_feed: self.positive(
                f.max_items_per_feed,
                "max_items_per_feed",
                defaults.max_items_per_feed,
            ),
            allow_private: f.allow_private.unwrap_or(defaults.allow_private),
        }
    }

    /// `include`/`exclude`, of `[filters]` or of one source.
    pub(super) fn filters(
        &mut self,
        include: Option<Spanned<Patterns>>,
        exclude: Option<Spanned<Patterns>>,
    ) -> Filters {
        Filters {
            include: self.patterns(include, "include"),
            exclude: self.patterns(exclude, "exclude"),
        }
    }

    /// `[dedup]`.
    fn dedup(&mut self, raw: RawDedup) -> crate::dedup::DedupConfig {
        let d = crate::dedup::DedupConfig::default();
        crate::dedup::DedupConfig {
            enabled: raw.enabled.unwrap_or(d.enabled),
            window: self.duration(raw.window, "window", d.window, MAX_WINDOW),
            window_articles: self.positive(
                raw.window_articles,
                "window_articles",
                d.window_articles,
            ),
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
}

/// Whether two paths name the same file: their real paths (symbolic links
/// followed as far as they lead, also to a file not written yet) compared
/// with `.` and `..` folded.
fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    let folded = |p: &std::path::Path| {
        let real = crate::store::file::real_path(p);
        let absolute = std::path::absolute(&real).unwrap_or(real);
        let mut out = PathBuf::new();
        for part in absolute.components() {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    };
    folded(a) == folded(b)
}
