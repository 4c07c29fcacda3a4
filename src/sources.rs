//! Managing sources: `add` with feed autodiscovery, OPML import and export, and
//! editing `feeds.toml` in place (comments and layout kept, through toml_edit).

use std::path::Path;

use quick_xml::events::Event;
use url::Url;

use crate::config::{url_key, Config, SourceKind};
use crate::fetch::{Fetcher, Validators};
use crate::read::{read_feed, ReadError};
use crate::util::{escape, rewrite_kept_file};

/// Media types of feeds announced with `<link rel="alternate">`.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
    "application/xml",
];

/// Paths tried when a page announces no feed.
const COMMON_FEED_PATHS: &[&str] = &[
    "/feed",
    "/rss.xml",
    "/atom.xml",
    "/feed.xml",
    "/rss",
    "/index.xml",
    "/feed.json",
    "/feeds/posts/default",
];

/// Feeds a page announces with `<link rel="alternate" type="…">`, in page order;
/// comment feeds come last.
pub fn announced_feeds(html: &str, page: &Url) -> Vec<Url> {
    let doc = scraper::Html::parse_document(html);
    let Ok(sel) = scraper::Selector::parse("link[href]") else {
        return Vec::new();
    };
    let mut main = Vec::new();
    let mut comments = Vec::new();
    for link in doc.select(&sel) {
        let el = link.value();
        let rel = el.attr("rel").unwrap_or("").to_ascii_lowercase();
        if !rel.split_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let kind = el.attr("type").unwrap_or("").to_ascii_lowercase();
        if !FEED_TYPES.iter().any(|t| kind.trim() == *t) {
            continue;
        }
        let Some(url) = el.attr("href").and_then(|h| page.join(h.trim()).ok()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        let title = el.attr("title").unwrap_or("").to_ascii_lowercase();
        let list = if title.contains("comment") || url.path().contains("/comments") {
            &mut comments
        } else {
            &mut main
        };
        if !list.contains(&url) {
            list.push(url);
        }
    }
    main.extend(comments);
    main
}

/// What `add` found at a URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// Feed or page.
    pub kind: SourceKind,
    /// The URL to configure.
    pub url: Url,
    /// The feed's or page's own title.
    pub title: Option<String>,
    /// How it was found, for the user.
    pub how: String,
}

/// Why `add` could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The URL could not be fetched at all.
    #[error("cannot fetch {url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// The cause, already in the message (not a `source`, which error
        /// reports would print a second time).
        reason: crate::fetch::FetchError,
    },
    /// The URL is one article, not a listing: a page source would find nothing to follow.
    #[error("{url} is an article, not a listing: a page source would find no articles to follow there. {}", article_advice(.offer))]
    Article {
        /// The URL.
        url: String,
        /// What to add instead, when one was found.
        offer: Option<String>,
    },
    /// An OPML file: a list of feeds, for `import-opml`.
    #[error("{0} is an OPML file (a list of feeds): save it and run `feedsieve import-opml FILE` to add its feeds")]
    Opml(String),
    /// XML that is not a feed this reader understands.
    #[error("{url} is XML but not a feed that can be read ({why}): check the address, or whether the site's feed is broken for now")]
    NotAFeed {
        /// The URL.
        url: String,
        /// What the feed reader said.
        why: String,
    },
    /// A page with no feed and no article links: a page source would publish nothing.
    #[error("{broken}{url} has no feed, and no article links were found on it: a page source would publish nothing. \
             Check it with `feedsieve links {url}`; if its articles are there, add it by hand as a [[page]] \
             with `links = \"css selector\"`")]
    NothingToFollow {
        /// The URL.
        url: String,
        /// What was said of a feed the page announced that could not be read ("" when none).
        broken: String,
    },
    /// The source is configured already.
    #[error("{0} is already in the config")]
    Duplicate(String),
    /// The config file could not be read, parsed or written.
    #[error("{0}")]
    Config(String),
}

/// Whether a document is an OPML file: what `import-opml` reads.
fn is_opml(body: &[u8]) -> bool {
    parse_opml(&String::from_utf8_lossy(body)).is_ok()
}

fn article_advice(offer: &Option<String>) -> String {
    match offer {
        Some(offer) => format!("Add {offer}"),
        None => "Add the site's feed or the section page that lists its articles instead \
                 (`feedsieve links URL` shows what a page lists)"
            .into(),
    }
}

fn page_title(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("title").ok()?;
    let t = crate::sanitize::plain_text(&doc.select(&sel).next()?.inner_html());
    (!t.is_empty()).then_some(t)
}

/// Refuses XML that is no web page: an OPML file (for `import-opml`), or a
/// broken feed or another document, which as a page source would follow nothing.
fn refuse_xml(url: &Url, body: &[u8], feed_error: &ReadError) -> Result<(), AddError> {
    if is_opml(body) {
        return Err(AddError::Opml(url.to_string()));
    }
    let declared_xml = body.trim_ascii_start().starts_with(b"<?xml");
    if declared_xml && !crate::read::starts_as_html(body) {
        return Err(AddError::NotAFeed {
            url: url.to_string(),
            why: feed_error.to_string(),
        });
    }
    Ok(())
}

/// Finds the best source at `url`: the URL itself when it is a feed; else a feed
/// the page announces; else a feed at a common path of the site; else the page.
pub async fn discover(fetcher: &Fetcher, url: &Url) -> Result<Discovered, AddError> {
    let fetched = fetcher
        .fetch(url, &Validators::default())
        .await
        .map_err(|reason| {
            if let Some(detail) = reason.detail() {
                tracing::debug!(%url, detail, "fetch failed");
            }
            AddError::Fetch {
                url: url.to_string(),
                reason,
            }
        })?;
    let feed_error = match read_feed(&fetched.body, &fetched.final_url) {
        Ok(feed) => {
            return Ok(Discovered {
                kind: SourceKind::Feed,
                url: url.clone(),
                title: feed.title,
                how: format!("{url} is a feed"),
            })
        }
        Err(e) => e,
    };
    refuse_xml(url, &fetched.body, &feed_error)?;
    let html = String::from_utf8_lossy(&fetched.body).into_owned();
    let page = fetched.final_url.clone();
    let announced = announced_feeds(&html, &page);
    for candidate in &announced {
        if let Some(found) = probe(fetcher, candidate).await {
            return Ok(Discovered {
                how: format!("announced by {page} (<link rel=\"alternate\">)"),
                ..found
            });
        }
    }
    for candidate in common_feed_urls(&page) {
        if let Some(found) = probe(fetcher, &candidate).await {
            return Ok(Discovered {
                how: format!("found at {} on the site", candidate.path()),
                ..found
            });
        }
    }
    let found = crate::read::page::find_links(&fetched.body, &page, None);
    if is_article(&html) {
        let offer = section_offer(fetcher, &html, &page).await;
        return Err(AddError::Article {
            url: url.to_string(),
            offer,
        });
    }
    // A feed the page announces but that cannot be read is worth a word: the
    // site may fix it, and then the feed is the better source.
    let broken = match announced.first() {
        Some(feed) => format!(
            "the feed it announces, {feed}, could not be read as a feed (it may be broken for now: try `feedsieve add {feed}` later); "
        ),
        None => String::new(),
    };
    if found.links.is_empty() {
        return Err(AddError::NothingToFollow {
            url: url.to_string(),
            broken,
        });
    }
    let how = format!(
        "{broken}{url} has no feed: it is added as a page source; {}",
        found.summary()
    );
    Ok(Discovered {
        kind: SourceKind::Page,
        url: url.clone(),
        title: page_title(&html),
        how,
    })
}

/// Where a feed often is, for a page that announces none: the common paths in
/// the page's own folder first (a section's feed sits beside its pages, as
/// `/world/rss.xml`), then at the site's root.
fn common_feed_urls(page: &Url) -> Vec<Url> {
    let in_folder = page.path().trim_start_matches('/').contains('/');
    let beside = COMMON_FEED_PATHS
        .iter()
        .filter(|_| in_folder)
        .filter_map(|p| page.join(p.trim_start_matches('/')).ok());
    let at_root = COMMON_FEED_PATHS.iter().filter_map(|p| page.join(p).ok());
    let mut urls: Vec<Url> = Vec::new();
    for url in beside.chain(at_root) {
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

/// The page says it is one article (`og:type` article, or article structured
/// data), not a listing of them.
fn is_article(html: &str) -> bool {
    let doc = scraper::Html::parse_document(html);
    let Ok(og) = scraper::Selector::parse("meta[property='og:type'][content]") else {
        return false;
    };
    if doc.select(&og).any(|m| {
        m.value()
            .attr("content")
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("article"))
    }) {
        return true;
    }
    let Ok(ld) = scraper::Selector::parse("script[type='application/ld+json']") else {
        return false;
    };
    doc.select(&ld).any(|script| {
        let text = script.text().collect::<String>();
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| ld_article(&v))
    })
}

/// Top-level JSON-LD that describes one article (lists of articles are not).
fn ld_article(v: &serde_json::Value) -> bool {
    const TYPES: &[&str] = &[
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNewsArticle",
    ];
    match v {
        serde_json::Value::Array(items) => items.iter().any(ld_article),
        serde_json::Value::Object(o) => {
            if let Some(graph) = o.get("@graph") {
                return ld_article(graph);
            }
            match o.get("@type") {
                Some(serde_json::Value::String(t)) => TYPES.contains(&t.as_str()),
                Some(serde_json::Value::Array(ts)) => ts
                    .iter()
                    .any(|t| t.as_str().is_some_and(|t| TYPES.contains(&t))),
                _ => false,
            }
        }
        _ => false,
    }
}

/// What to add instead of an article: the first of its section pages (the
/// links it has to the folders above it, then the folder itself) that is a
/// feed, announces one, or lists articles.
async fn section_offer(fetcher: &Fetcher, html: &str, page: &Url) -> Option<String> {
    for section in section_pages(html, page).into_iter().take(3) {
        let Ok(fetched) = fetcher.fetch(&section, &Validators::default()).await else {
            continue;
        };
        if read_feed(&fetched.body, &fetched.final_url).is_ok() {
            return Some(format!("its section's feed: `feedsieve add {section}`"));
        }
        let text = String::from_utf8_lossy(&fetched.body).into_owned();
        for feed in announced_feeds(&text, &fetched.final_url) {
            if probe(fetcher, &feed).await.is_some() {
                return Some(format!(
                    "the feed its section page {section} announces: `feedsieve add {feed}`"
                ));
            }
        }
        let found = crate::read::page::find_links(&fetched.body, &fetched.final_url, None);
        if found.links.len() >= 2 {
            return Some(format!(
                "its section page, which lists articles ({}): `feedsieve add {section}`",
                found.summary()
            ));
        }
    }
    None
}

/// The pages above an article: its links to the folders its path is in (deepest
/// first), then its own folder.
fn section_pages(html: &str, page: &Url) -> Vec<Url> {
    let path = page.path();
    let mut out: Vec<Url> = Vec::new();
    let doc = scraper::Html::parse_document(html);
    if let Ok(sel) = scraper::Selector::parse("a[href]") {
        for a in doc.select(&sel) {
            let Some(url) = a
                .value()
                .attr("href")
                .and_then(|h| page.join(h.trim()).ok())
            else {
                continue;
            };
            let dir = url.path().trim_end_matches('/');
            let above = dir.len() > 1 && path.starts_with(&format!("{dir}/"));
            if url.host_str() == page.host_str() && above && !out.contains(&url) {
                out.push(url);
            }
        }
    }
    out.sort_by_key(|u| std::cmp::Reverse(u.path().len()));
    if let Ok(folder) = page.join("./") {
        if folder.path() != "/" && !out.iter().any(|u| u.path() == folder.path()) {
            out.push(folder);
        }
    }
    out
}

async fn probe(fetcher: &Fetcher, url: &Url) -> Option<Discovered> {
    let fetched = fetcher.fetch(url, &Validators::default()).await.ok()?;
    let feed = read_feed(&fetched.body, &fetched.final_url).ok()?;
    Some(Discovered {
        kind: SourceKind::Feed,
        url: url.clone(),
        title: feed.title,
        how: String::new(),
    })
}

/// A source to write into the config.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSource {
    /// Feed or page.
    pub kind: SourceKind,
    /// Outlet name.
    pub name: String,
    /// URL.
    pub url: Url,
    /// Category, if any.
    pub category: Option<String>,
    /// False for a source written with `enabled = false` (an OPML outline
    /// exported from one, `disabled="true"`).
    pub enabled: bool,
}

fn table_key(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Feed => "feed",
        SourceKind::Page => "page",
    }
}

/// Appends sources to the config file in place, keeping its comments and layout.
/// Sources whose URL is configured already (a trailing slash aside) are skipped
/// and returned as such. The result is validated before it is written.
pub fn append_sources(
    path: &Path,
    sources: &[NewSource],
) -> Result<(Vec<NewSource>, Vec<NewSource>), AddError> {
    let text = if path.exists() {
        std::fs::read_to_string(path)
            .map_err(|e| AddError::Config(format!("cannot read {}: {e}", path.display())))?
    } else {
        String::new()
    };
    let existing = if text.trim().is_empty() {
        Vec::new()
    } else {
        Config::parse(&text, path)
            .map_err(|e| AddError::Config(format!("fix the config first:\n{e}")))?
            .sources
    };
    let mut seen: Vec<String> = existing.iter().map(|s| url_key(&s.url)).collect();
    let mut names: Vec<String> = existing.iter().map(|s| s.name.to_lowercase()).collect();
    let (mut added, mut skipped) = (Vec::new(), Vec::new());
    for s in sources {
        let key = url_key(&s.url);
        if seen.contains(&key) {
            skipped.push(s.clone());
            continue;
        }
        seen.push(key);
        let mut s = s.clone();
        s.name = unique_name(&s, &names);
        names.push(s.name.to_lowercase());
        added.push(s);
    }
    if added.is_empty() {
        return Ok((added, skipped));
    }
    let new_text = with_sources(&text, &added);
    Config::parse(&new_text, path)
        .map_err(|e| AddError::Config(format!("the edited config would not be valid:\n{e}")))?;
    rewrite_kept_file(path, new_text.as_bytes())
        .map_err(|e| AddError::Config(format!("cannot write {}: {e}", path.display())))?;
    Ok((added, skipped))
}

/// The source's name, or with its host (then a number) added when another source
/// has that name already: names label `status` rows and /metrics series.
fn unique_name(s: &NewSource, taken: &[String]) -> String {
    let free = |n: &str| !taken.contains(&n.to_lowercase());
    if free(&s.name) {
        return s.name.clone();
    }
    let with_host = format!("{} ({})", s.name, s.url.host_str().unwrap_or("source"));
    if free(&with_host) {
        return with_host;
    }
    (2..)
        .map(|n| format!("{with_host} {n}"))
        .find(|n| free(n))
        .unwrap_or(with_host)
}

/// `text` with `sources` written in: each kind after the last table of that kind
/// and the comment lines attached to it (commented options such as
/// `# full_text = true` stay with their source), else at the end of the file.
fn with_sources(text: &str, sources: &[NewSource]) -> String {
    let mut insertions: Vec<(usize, String)> = Vec::new();
    for kind in [SourceKind::Feed, SourceKind::Page] {
        let tables: String = sources
            .iter()
            .filter(|s| s.kind == kind)
            .map(source_table)
            .collect::<Vec<_>>()
            .join("\n");
        if tables.is_empty() {
            continue;
        }
        match end_of_last_table(text, table_key(kind)) {
            Some(at) => {
                let follows = text
                    .get(at..)
                    .is_some_and(|rest| rest.lines().next().is_some_and(|l| !l.trim().is_empty()));
                let gap = if follows { "\n" } else { "" };
                insertions.push((at, format!("\n{tables}{gap}")));
            }
            None => {
                let sep = match text {
                    "" => "",
                    t if t.ends_with("\n\n") => "",
                    t if t.ends_with('\n') => "\n",
                    _ => "\n\n",
                };
                insertions.push((text.len(), format!("{sep}{tables}")));
            }
        }
    }
    let mut out = text.to_string();
    // From the end, so earlier offsets stay valid (feeds before pages at one offset).
    insertions.sort_by_key(|(at, _)| *at);
    for (at, tables) in insertions.into_iter().rev() {
        out.insert_str(at, &tables);
    }
    out
}

/// One source as a TOML table, values escaped by the TOML writer.
fn source_table(s: &NewSource) -> String {
    let v = |text: &str| toml_edit::Value::from(text).to_string().trim().to_string();
    let mut t = format!(
        "[[{}]]\nname = {}\nurl = {}\n",
        table_key(s.kind),
        v(&s.name),
        v(s.url.as_str())
    );
    if let Some(c) = &s.category {
        t.push_str(&format!("category = {}\n", v(c)));
    }
    if !s.enabled {
        t.push_str("enabled = false\n");
    }
    t
}

/// The byte offset just after the last `[[key]]` table of `text`: after its last
/// key line and the comment lines that follow it without a blank line between.
fn end_of_last_table(text: &str, key: &str) -> Option<usize> {
    let header = format!("[[{key}]]");
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        lines.push((offset, line));
        offset += line.len();
    }
    let start = lines.iter().rposition(|(_, l)| {
        let l = l.trim();
        l.strip_prefix(&header)
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    })?;
    let texts: Vec<&str> = lines.iter().map(|(_, l)| *l).collect();
    let (at, line) = lines[table_end(&texts, start)];
    Some(at + line.len())
}

/// The index of the last line of the table whose header is `lines[start]`: its
/// last key line, or a comment line that follows it directly (commented
/// options), except prose comments after the last of those that run straight
/// into the next table's header: they are that table's heading
/// ([`table_heading`]).
pub(crate) fn table_end(lines: &[&str], start: usize) -> usize {
    let mut last = start;
    // The last key line or commented option ("# full_text = true").
    let mut last_option = start;
    let options = commented_options(&lines[start + 1..]);
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let l = line.trim();
        if l.starts_with('[') {
            if last == i - 1 {
                last = last_option;
            }
            break;
        }
        if l.is_empty() {
            continue;
        }
        // A commented-out table below is another table, not an option.
        if commented_header(l) {
            break;
        }
        // A key (or a continuation line) belongs to the table even after a blank
        // line; a comment only when it follows on directly.
        let comment = l.starts_with('#');
        if !comment || i == last + 1 {
            last = i;
            if !comment || options[i - start - 1] {
                last_option = i;
            }
        }
    }
    last
}

/// For each of `lines`, whether it is commented-out TOML: a key with a value
/// or a header ([`is_commented_toml`]), or a line of a commented-out array
/// that such a key opens ("# remove = [", "#   \".promo\",", "# ]").
fn commented_options(lines: &[&str]) -> Vec<bool> {
    // Brackets still open in the commented value above.
    let mut open = 0usize;
    let mut flags = Vec::with_capacity(lines.len());
    for line in lines {
        let l = line.trim();
        let body = l.trim_start_matches('#');
        let option = l.starts_with('#') && (open > 0 || is_commented_toml(l));
        open = match (option, open) {
            (false, _) => 0,
            (true, 0) if commented_header(l) => 0,
            (true, 0) => body
                .split_once('=')
                .map_or(0, |(_, value)| brackets_open(value, 0)),
            (true, n) => brackets_open(body, n),
        };
        flags.push(option);
    }
    flags
}

/// The brackets still open after `text` (quoted strings aside), `open` before it.
fn brackets_open(text: &str, open: usize) -> usize {
    let mut open = open;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            // An escape in a basic string: `\"` does not close it.
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => break,
            (None, '[') => open += 1,
            (None, ']') => open = open.saturating_sub(1),
            _ => {}
        }
    }
    open
}

/// The first line of the prose comment lines directly above the header
/// `lines[start]` (a table's heading, such as "# Beta: the German service"),
/// or `start` without any. Commented-out TOML (`# [[feed]]`, `# name = …`)
/// is no heading, nor is a comment that opens the file (the file's own).
pub(crate) fn table_heading(lines: &[&str], start: usize) -> usize {
    // The comment lines right above the header, read from their first.
    let run = lines[..start]
        .iter()
        .rposition(|l| !l.trim().starts_with('#'))
        .map_or(0, |i| i + 1);
    let options = commented_options(&lines[run..start]);
    let mut first = start;
    while first > run && !options[first - 1 - run] {
        first -= 1;
    }
    if first == 0 {
        return start;
    }
    first
}

/// Whether a comment line is commented-out TOML: a key with a value or a
/// table header ("# full_text = true", "# [[page]]").
fn is_commented_toml(comment: &str) -> bool {
    commented_header(comment) || {
        let body = comment.trim_start_matches('#').trim();
        // Keys of feeds.toml are lower case ("# Note = keep this" is prose).
        body.split_once('=').is_some_and(|(key, _)| {
            let key = key.trim();
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
    }
}

/// Whether a comment line is a commented-out table header ("# [[feed]]",
/// "# [output]"), not prose that opens with brackets ("# [DE] Delta").
fn commented_header(comment: &str) -> bool {
    let body = comment.trim_start_matches('#').trim();
    // A comment of its own may follow: "# [[feed]]   # disabled".
    let body = body
        .split_once('#')
        .map_or(body, |(header, _)| header)
        .trim();
    let name = body
        .strip_prefix("[[")
        .and_then(|b| b.strip_suffix("]]"))
        .or_else(|| body.strip_prefix('[').and_then(|b| b.strip_suffix(']')));
    name.map(str::trim)
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// The outline attribute of a source with `enabled = false`, so that a round
/// trip through OPML keeps it disabled (other readers ignore it).
fn disabled(s: &crate::config::SourceConfig) -> &'static str {
    match s.enabled {
        true => "",
        false => " disabled=\"true\"",
    }
}

/// The config's sources as OPML 2.0; categories become folders. `site_links`
/// (source URL to the site's own link, where known) gives each `htmlUrl`.
pub fn export_opml(
    config: &Config,
    site_links: &std::collections::HashMap<String, String>,
) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n",
    );
    out.push_str(&format!(
        "<title>{}</title>\n</head>\n<body>\n",
        escape(&config.output.title)
    ));
    let outline = |s: &crate::config::SourceConfig, indent: &str| {
        match s.kind {
        SourceKind::Feed => format!(
            "{indent}<outline type=\"rss\" text=\"{n}\" title=\"{n}\" xmlUrl=\"{u}\"{h}{d}/>\n",
            n = escape(&s.name),
            u = escape(s.url.as_str()),
            h = site_links
                .get(s.url.as_str())
                .map(|h| format!(" htmlUrl=\"{}\"", escape(h)))
                .unwrap_or_default(),
            d = disabled(s)
        ),
        SourceKind::Page => format!(
            "{indent}<outline type=\"link\" text=\"{n}\" title=\"{n}\" url=\"{u}\" htmlUrl=\"{u}\"{d}/>\n",
            n = escape(&s.name),
            u = escape(s.url.as_str()),
            d = disabled(s)
        ),
    }
    };
    let mut categories: Vec<&str> = Vec::new();
    for s in &config.sources {
        match &s.category {
            Some(c) if !categories.contains(&c.as_str()) => categories.push(c),
            _ => {}
        }
    }
    for s in config.sources.iter().filter(|s| s.category.is_none()) {
        out.push_str(&outline(s, "  "));
    }
    for c in categories {
        out.push_str(&format!(
            "  <outline text=\"{0}\" title=\"{0}\">\n",
            escape(c)
        ));
        for s in config
            .sources
            .iter()
            .filter(|s| s.category.as_deref() == Some(c))
        {
            out.push_str(&outline(s, "    "));
        }
        out.push_str("  </outline>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out
}

/// An outline `import-opml` leaves out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedOutline {
    /// The outline's title or text.
    pub name: String,
    /// Why, with what to do instead.
    pub reason: String,
}

/// What an OPML file holds: the sources to add and the outlines left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Opml {
    /// Feeds and pages, in file order.
    pub sources: Vec<NewSource>,
    /// Outlines that are not sources feedsieve can add as they are.
    pub skipped: Vec<SkippedOutline>,
}

/// What one `<outline>` is.
enum Outline {
    /// A feed or page to add.
    Source(SourceKind, Url),
    /// A source that cannot be added as it is.
    Skipped(String),
    /// A folder: its name becomes the category of what it holds.
    Folder,
}

/// Reads the sources of an OPML file; folders become categories. A document
/// without an `<opml>` element is refused.
pub fn parse_opml(xml: &str) -> Result<Opml, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut out = Opml::default();
    let mut is_opml = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not valid OPML (at byte {}): {e}", reader.buffer_position()))?;
        let (element, is_empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().as_ref().eq_ignore_ascii_case(b"outline") {
                    folders.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = element.local_name();
        is_opml |= local.as_ref().eq_ignore_ascii_case(b"opml");
        if !local.as_ref().eq_ignore_ascii_case(b"outline") {
            continue;
        }
        let mut attrs = std::collections::HashMap::new();
        for a in element.attributes().flatten() {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).to_ascii_lowercase();
            let value = a
                .decoded_and_normalized_value(quick_xml::XmlVersion::default(), reader.decoder())
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
            attrs.insert(key, value.trim().to_string());
        }
        let name = attrs
            .get("title")
            .or_else(|| attrs.get("text"))
            .map(|n| without_entities(n))
            .filter(|n| !n.is_empty());
        let category = folders.iter().rev().flatten().next().cloned();
        match outline(&attrs, is_empty) {
            Outline::Folder => {
                folders.push(name.filter(|n| !means_no_category(n)));
                continue;
            }
            Outline::Source(kind, url) => out.sources.push(NewSource {
                kind,
                name: name.unwrap_or_else(|| url.host_str().unwrap_or("source").to_string()),
                url,
                category,
                enabled: attrs.get("disabled").is_none_or(|d| d.trim() != "true"),
            }),
            Outline::Skipped(reason) => out.skipped.push(SkippedOutline {
                name: name.unwrap_or_else(|| "(untitled outline)".into()),
                reason,
            }),
        }
        if !is_empty {
            folders.push(None);
        }
    }
    if !is_opml {
        return Err("not an OPML file: it has no <opml> element".into());
    }
    Ok(out)
}

/// An outline's name without the entities left after the XML's own escapes:
/// readers escape titles twice ("Joe&amp;#8217;s") or use HTML's entities
/// ("Caf&eacute;"), which XML does not know. Angle brackets are text ("C++
/// <template> Weekly"), never markup.
fn without_entities(name: &str) -> String {
    let mut text = name.to_string();
    // Escaped twice, or three times: each round undoes one.
    for _ in 0..3 {
        let decoded = crate::read::xml::decode_entities(&text, &Default::default());
        if decoded == text {
            break;
        }
        text = decoded;
    }
    // What an entity made of a control character or of spaces alone is no
    // name; nor are zero-width characters alone.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let invisible = |c: char| {
        c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
    };
    match text.trim_matches(invisible) {
        "" => name.trim().to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// Folder names readers give feeds that have no category (Miniflux's "All",
/// FreshRSS's and Feedly's "Uncategorized"): imported as none, not as a
/// category that every story would carry.
fn means_no_category(folder: &str) -> bool {
    [
        "all",
        "uncategorized",
        "uncategorised",
        "unsorted",
        "no category",
    ]
    .iter()
    .any(|n| folder.eq_ignore_ascii_case(n))
}

/// What an outline with these (lower-cased) attributes is.
fn outline(attrs: &std::collections::HashMap<String, String>, is_empty: bool) -> Outline {
    let get = |k: &str| attrs.get(k).filter(|v| !v.is_empty());
    let is_link = attrs
        .get("type")
        .is_some_and(|t| t.eq_ignore_ascii_case("link"));
    let (kind, written) = match (get("xmlurl"), get("url").filter(|_| is_link)) {
        (Some(u), _) => (SourceKind::Feed, u),
        (None, Some(u)) => (SourceKind::Page, u),
        (None, None) => {
            return match get("htmlurl") {
                Some(h) => Outline::Skipped(format!(
                    "only an htmlUrl (a web page, no feed): add it as a page with `feedsieve add {h}`"
                )),
                None if is_empty => Outline::Skipped("no xmlUrl".into()),
                None => Outline::Folder,
            };
        }
    };
    if let Some(rest) = written.strip_prefix("feed://") {
        return Outline::Skipped(format!(
            "a feed:// URL (it stands for http://): add it with `feedsieve add http://{rest}`"
        ));
    }
    match Url::parse(written) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Outline::Source(kind, url),
        Ok(url) => Outline::Skipped(format!(
            "{written}: a {}: URL, not http or https",
            url.scheme()
        )),
        Err(url::ParseError::RelativeUrlWithoutBase) => Outline::Skipped(format!(
            "{written} is a relative URL: it needs http:// or https:// and a host"
        )),
        Err(e) => Outline::Skipped(format!("{written} is not a valid URL ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_feed_paths_are_tried_beside_the_page_then_at_the_root() {
        let page = Url::parse("https://news.test/world/2025/story.html").unwrap();
        let urls: Vec<String> = common_feed_urls(&page)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(urls[0], "https://news.test/world/2025/feed");
        assert_eq!(urls[1], "https://news.test/world/2025/rss.xml");
        let root = COMMON_FEED_PATHS.len();
        assert_eq!(urls[root], "https://news.test/feed");
        assert_eq!(urls.len(), 2 * root);
        let home = Url::parse("https://news.test/").unwrap();
        assert_eq!(
            common_feed_urls(&home).len(),
            root,
            "no folder: the root only"
        );
    }

    #[test]
    fn announced_feeds_are_found_in_page_order_comments_last() {
        let page = Url::parse("https://news.test/world/").unwrap();
        let html = r#"<html><head>
            <link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed">
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/atom+xml" href="atom.xml">
            <link rel="alternate feed" type="application/rss+xml" href="https://news.test/rss">
            <link rel="alternate" type="text/html" href="/en/">
            </head></html>"#;
        let found: Vec<String> = announced_feeds(html, &page)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            found,
            vec![
                "https://news.test/world/atom.xml",
                "https://news.test/rss",
                "https://news.test/comments/feed"
            ]
        );
    }

    #[test]
    fn opml_folders_become_categories_and_back() {
        let opml = r#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
            <outline text="Top" xmlUrl="https://a.test/rss"/>
            <outline text="World"><outline text="B &amp; C" type="rss" xmlUrl="https://b.test/feed"/>
              <outline text="Deep"><outline title="D" xmlUrl="https://d.test/atom"/></outline></outline>
            <outline text="Page" type="link" url="https://p.test/news/"/>
            <outline text="Bad" xmlUrl="ftp://x.test/"/>
            <outline text="Uncategorized"><outline text="U" xmlUrl="https://u.test/rss"/></outline>
            <outline text="Tech &amp;amp; Science"><outline title="Joe&amp;#8217;s Blog" xmlUrl="https://j.test/rss"/>
              <outline text="Caf&eacute; News" xmlUrl="https://c.test/rss"/>
              <outline text="&amp;#8203;" xmlUrl="https://z.test/rss"/>
              <outline text="C++ &lt;template&gt; &amp;amp; more" xmlUrl="https://t.test/rss"/></outline>
            </body></opml>"#;
        let got = parse_opml(opml).unwrap();
        assert_eq!(got.skipped.len(), 1, "{:?}", got.skipped);
        assert!(got.skipped[0].reason.contains("ftp"), "{:?}", got.skipped);
        let got = got.sources;
        let view: Vec<(SourceKind, &str, &str, Option<&str>)> = got
            .iter()
            .map(|s| {
                (
                    s.kind,
                    s.name.as_str(),
                    s.url.as_str(),
                    s.category.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                (SourceKind::Feed, "Top", "https://a.test/rss", None),
                (
                    SourceKind::Feed,
                    "B & C",
                    "https://b.test/feed",
                    Some("World")
                ),
                (SourceKind::Feed, "D", "https://d.test/atom", Some("Deep")),
                (SourceKind::Page, "Page", "https://p.test/news/", None),
                (SourceKind::Feed, "U", "https://u.test/rss", None),
                // Escaped twice, or with HTML's entities: read as written.
                (
                    SourceKind::Feed,
                    "Joe\u{2019}s Blog",
                    "https://j.test/rss",
                    Some("Tech & Science")
                ),
                (
                    SourceKind::Feed,
                    "Caf\u{e9} News",
                    "https://c.test/rss",
                    Some("Tech & Science")
                ),
                // A name of zero-width characters keeps its written form.
                (
                    SourceKind::Feed,
                    "&#8203;",
                    "https://z.test/rss",
                    Some("Tech & Science")
                ),
                // Angle brackets are text, also beside an entity.
                (
                    SourceKind::Feed,
                    "C++ <template> & more",
                    "https://t.test/rss",
                    Some("Tech & Science")
                ),
            ]
        );
        let err = parse_opml("<opml><body><outline text=\"x\"></body></opml>").unwrap_err();
        assert!(err.contains("not valid OPML"), "{err}");
    }

    #[test]
    fn a_table_keeps_its_commented_options_and_its_heading() {
        let text = "# My feedsieve config\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/\"\n\
                    # full_text = true\n# remove = [\".x\"]\n# B is the German service\n\
                    [[feed]]\nname = \"B\"\nurl = \"https://b.test/\"\n\n\
                    # Old, disabled\n# [[feed]]\n# name = \"Old\"\n[[page]]\nname = \"P\"\n";
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let header = |name: &str| {
            let at = lines
                .iter()
                .position(|l| l.contains(&format!("name = \"{name}\"")))
                .unwrap();
            at - 1
        };
        let (a, b, p) = (header("A"), header("B"), header("P"));
        // A's commented options stay with it; the prose after them is B's heading.
        assert_eq!(lines[table_end(&lines, a)], "# remove = [\".x\"]\n");
        assert_eq!(
            lines[table_heading(&lines, b)],
            "# B is the German service\n"
        );
        // The file's own comment is no heading; commented-out TOML neither.
        assert_eq!(table_heading(&lines, a), a);
        assert_eq!(table_heading(&lines, p), p);
        assert_eq!(lines[table_end(&lines, b)], "url = \"https://b.test/\"\n");
        // A commented-out table right below is not the table's; prose that
        // opens with brackets is a heading, not a commented table.
        let text = "[[feed]]\nname = \"C\"\n# [[ feed ]]   # disabled\n# name = \"Old\"\n\n\
                    # [DE] Delta heading\n[[feed]]\nname = \"D\"\n";
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        assert_eq!(lines[table_end(&lines, 0)], "name = \"C\"\n");
        assert_eq!(lines[table_heading(&lines, 6)], "# [DE] Delta heading\n");
        // A commented-out array over several lines is one option, the
        // prose after it the next table's heading.
        let text = "[[feed]]\nname = \"E\"\n# remove = [\n#   \".promo\",  # ads\n\
                    #   \"a[href*='share']\", \"a[title=\\\"[x\\\"]\",\n# ]\n# F: the French service\n\
                    [[feed]]\nname = \"F\"\n";
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        assert_eq!(lines[table_end(&lines, 0)], "# ]\n");
        assert_eq!(table_heading(&lines, 7), 6);
        assert_eq!(lines[6], "# F: the French service\n");
    }

    #[test]
    fn appending_keeps_comments_and_refuses_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds.toml");
        std::fs::write(&path, "# my feeds\n[schedule]\ninterval = \"1h\" # hourly\n\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n").unwrap();
        let new = |u: &str| NewSource {
            kind: SourceKind::Feed,
            name: "N".into(),
            url: Url::parse(u).unwrap(),
            category: Some("World".into()),
            enabled: true,
        };
        let (added, skipped) = append_sources(
            &path,
            &[new("https://a.test/rss"), new("https://b.test/rss")],
        )
        .unwrap();
        assert_eq!((added.len(), skipped.len()), (1, 1));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my feeds\n"), "{text}");
        assert!(text.contains("interval = \"1h\" # hourly"), "{text}");
        let cfg = Config::parse(&text, &path).unwrap();
        assert_eq!(cfg.sources.len(), 2);
        assert_eq!(cfg.sources[1].category.as_deref(), Some("World"));
    }
}
