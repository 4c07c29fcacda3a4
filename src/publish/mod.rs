//! Publishing: the newest stories as RSS 2.0, Atom 1.0, JSON Feed 1.1 and an HTML
//! front page, written atomically beside each other.
//!
//! Every document depends only on stored data (no "now" timestamps), so publishing
//! twice without a change yields the same bytes and no file is rewritten. All four
//! are rendered from one [`Entry`] list, so they carry the same stories, the same
//! sanitised HTML and the same stable ids.

mod atom;
pub mod compare;
mod html;
mod ids;
mod json;
mod rss;
mod settings;
mod story;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use url::Url;

use crate::read::Enclosure;
use crate::sanitize::{clean_html, plain_text, plain_title, strip_tracking};
use crate::store::{JoinRecord, Story, StoryItem, EARLIEST_DATE, FUTURE_MARGIN};
use crate::util::{escape, write_atomically};

pub use ids::FeedIds;
pub use settings::OutputConfig;
pub use story::{
    joined_how, member_diffs, page_id, page_path, write_pages, MovedPage, StoryPage, StoryPages,
    STORY_DIR,
};

/// One rendered document, as served over HTTP.
#[derive(Debug, Clone)]
pub struct PublishedFeed {
    /// The document.
    pub body: Bytes,
    /// Strong validator derived from the bytes (quoted).
    pub etag: String,
    /// Newest change among the stories (Unix seconds).
    pub last_modified: i64,
    /// Number of entries.
    pub items: usize,
    /// The media type it is served with.
    pub content_type: &'static str,
}

impl PublishedFeed {
    /// Wraps rendered bytes with their validators.
    pub fn new(
        body: Vec<u8>,
        last_modified: i64,
        items: usize,
        content_type: &'static str,
    ) -> Self {
        let etag = format!("\"{}\"", &crate::util::sha256_hex(&body)[..32]);
        PublishedFeed {
            body: Bytes::from(body),
            etag,
            last_modified,
            items,
            content_type,
        }
    }
}

/// Every published document of one publish.
#[derive(Debug, Clone)]
pub struct Publication {
    /// RSS 2.0 (`feed.xml`, or the configured `[output] path`).
    pub rss: PublishedFeed,
    /// Atom 1.0 (`atom.xml` beside it).
    pub atom: PublishedFeed,
    /// JSON Feed 1.1 (`feed.json` beside it).
    pub json: PublishedFeed,
    /// The front page (`index.html` beside it).
    pub html: PublishedFeed,
    /// A page per story (`story/<id>.html` beside it).
    pub stories: StoryPages,
}

/// The stylesheet that makes `feed.xml` and `atom.xml` readable when opened in a browser.
pub const FEED_CSS: &str = include_str!("feed.css");

/// How the RSS and Atom feeds are served. Chromium shows `application/rss+xml`
/// and `application/atom+xml` as raw text and ignores their stylesheet, while
/// it applies `<?xml-stylesheet?>` to `application/xml`; feed readers go by the
/// bytes, not the type. (CSS rather than XSLT: Chromium covers XSLT pages with
/// a removal warning and is dropping XSLT.)
pub const FEED_CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// `xml` with the `feed.css` stylesheet instruction after its XML declaration.
pub(crate) fn with_stylesheet(xml: String) -> String {
    match xml.find("?>") {
        Some(end) if xml.starts_with("<?xml") => format!(
            "{}\n<?xml-stylesheet type=\"text/css\" href=\"feed.css\"?>{}",
            &xml[..end + 2],
            &xml[end + 2..]
        ),
        _ => format!("<?xml-stylesheet type=\"text/css\" href=\"feed.css\"?>\n{xml}"),
    }
}

/// The files a publication is written to: RSS at `out.path`, the rest beside it.
pub fn output_files(out: &OutputConfig) -> [(PathBuf, &'static str); 5] {
    let dir = out.path.parent().map(Path::to_path_buf).unwrap_or_default();
    [
        (out.path.clone(), "rss"),
        (dir.join("atom.xml"), "atom"),
        (dir.join("feed.json"), "json"),
        (dir.join("index.html"), "html"),
        (dir.join("feed.css"), "css"),
    ]
}

impl Publication {
    /// Writes every document atomically; returns how many files changed.
    pub fn write(&self, out: &OutputConfig) -> std::io::Result<usize> {
        let mut changed = 0;
        let files = output_files(out);
        remove_stale_temp_files(&files);
        for (path, kind) in files {
            let bytes: &[u8] = match kind {
                "rss" => &self.rss.body,
                "atom" => &self.atom.body,
                "json" => &self.json.body,
                "html" => &self.html.body,
                _ => FEED_CSS.as_bytes(),
            };
            if write_atomically(&path, bytes)? {
                changed += 1;
            }
        }
        let dir = out.path.parent().map(Path::to_path_buf).unwrap_or_default();
        changed += write_pages(&dir, &self.stories)?;
        Ok(changed)
    }
}

impl Publication {
    /// The documents last written beside `out.path`, as they would be served,
    /// or None when one is missing or the RSS feed does not parse.
    pub fn read_back(out: &OutputConfig) -> Option<Publication> {
        let [(rss, _), (atom, _), (json, _), (html, _), _] = output_files(out);
        let rss_body = std::fs::read(&rss).ok()?;
        let items = ::rss::Channel::read_from(&rss_body[..]).ok()?.items().len();
        let last_modified = std::fs::metadata(&rss)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let doc = |path: &Path, content_type| -> Option<PublishedFeed> {
            let body = std::fs::read(path).ok()?;
            Some(PublishedFeed::new(body, last_modified, items, content_type))
        };
        Some(Publication {
            rss: PublishedFeed::new(rss_body, last_modified, items, FEED_CONTENT_TYPE),
            atom: doc(&atom, FEED_CONTENT_TYPE)?,
            json: doc(&json, "application/feed+json; charset=utf-8")?,
            html: doc(&html, "text/html; charset=utf-8")?,
            stories: StoryPages::read_back(&html.with_file_name(STORY_DIR), last_modified),
        })
    }
}

/// Stories in the RSS feed last written at `out.path`, if there is one.
pub fn published_items(out: &OutputConfig) -> Option<usize> {
    let body = std::fs::read(&out.path).ok()?;
    Some(::rss::Channel::read_from(&body[..]).ok()?.items().len())
}

/// A story as every format shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Stable id (a tag URI, see [`FeedIds`]).
    pub guid: String,
    /// Plain-text headline.
    pub title: String,
    /// The representative article.
    pub link: Option<String>,
    /// Sanitised HTML of the representative, with the "Also covered by" block.
    pub html: String,
    /// A plain-text lead for the front page.
    pub lead: String,
    /// Publication time: the representative's own date (Unix seconds).
    pub date: i64,
    /// Last change: the representative's own updated time, or the last time a
    /// member joined or changed after the story was published, whichever is
    /// later; never before `date` (Unix seconds).
    pub updated: i64,
    /// The representative's outlet.
    pub source_name: String,
    /// The representative's feed URL.
    pub source_url: String,
    /// Category terms, plain text: the representative's, then the configured
    /// category of each other outlet that covered the story.
    pub categories: Vec<String>,
    /// The configured categories of the outlets that covered the story (the
    /// front page's filters; feeds' own tags are too many to be filters).
    pub sections: Vec<String>,
    /// The first attachment.
    pub enclosure: Option<Enclosure>,
    /// Author names, plain text.
    pub author: Option<String>,
    /// Other outlets that covered the story, each once: (outlet, link of its
    /// first article in the story). Not the representative's own outlet.
    pub also: Vec<(String, Option<String>)>,
    /// The id of the story's page (`story/<page>.html`).
    pub page: String,
    /// Length of `html` before the "Also covered by" block: the
    /// representative's article alone.
    pub body_len: usize,
}

impl Entry {
    /// Who the feeds name as the entry's author: the article's author, else its
    /// outlet, so that a reader shows where an entry comes from rather than
    /// the combined feed's own title.
    pub fn byline(&self) -> &str {
        self.author.as_deref().unwrap_or(&self.source_name)
    }
}

/// Longest front-page lead, in characters.
const LEAD_CHARS: usize = 320;

/// A date an article gives itself, unless it is implausible: before
/// [`EARLIEST_DATE`], or later than `stored_at`, when feedsieve stored that
/// version, by more than [`FUTURE_MARGIN`] (clock skew, time zones): the
/// margin the store sorts items by too.
fn plausible(date: Option<i64>, stored_at: i64) -> Option<i64> {
    date.filter(|d| (EARLIEST_DATE..=stored_at.saturating_add(FUTURE_MARGIN)).contains(d))
}

/// The date an item is published with: its own if plausible, else when it
/// was first seen.
pub fn shown_date(item: &StoryItem) -> i64 {
    plausible(item.published_at, item.first_seen_at).unwrap_or(item.first_seen_at)
}

/// A story's publication and last-change times, from stored data only.
fn entry_times(story: &Story, rep: &StoryItem) -> (i64, i64) {
    let date = shown_date(rep);
    let own_updated = plausible(rep.updated_at, rep.changed_at).map_or(date, |u| u.max(date));
    (
        date,
        story.changed_at.map_or(own_updated, |c| c.max(own_updated)),
    )
}

/// Builds the shared view of the stories (representative first in each), with
/// the ids of `ids`.
pub fn entries(ids: &FeedIds, stories: &[Story]) -> Vec<Entry> {
    stories.iter().filter_map(|s| entry(ids, s, None)).collect()
}

/// A story's entry; with `site` (`[output] link`), a story told by several
/// outlets links its page ("Compare coverage") after "Also covered by".
fn entry(ids: &FeedIds, story: &Story, site: Option<&Url>) -> Option<Entry> {
    let rep = story.items.first()?;
    let (date, updated) = entry_times(story, rep);
    let link = rep.link.as_deref().and_then(http_url);
    let base = link.as_deref().and_then(|l| Url::parse(l).ok());
    let body = rep
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(rep.summary.as_deref())
        .unwrap_or("");
    // Outlets, not articles: an outlet's second article (an update under a new
    // URL, a syndicated copy) is not another outlet, and the entry's own outlet
    // is not "also".
    let mut outlets = HashSet::from([plain_title(&rep.source_name)]);
    let also: Vec<(String, Option<String>)> = story.items[1..]
        .iter()
        .filter_map(|i| {
            let name = plain_title(&i.source_name);
            outlets
                .insert(name.clone())
                .then(|| (name, i.link.as_deref().and_then(http_url)))
        })
        .collect();
    let mut html = if body.is_empty() {
        String::new()
    } else {
        clean_html(body, base.as_ref())
    };
    let body_len = html.len();
    let guid = ids.story_id(&story.guid);
    let page = page_id(&guid).to_string();
    if !also.is_empty() {
        let compare = site.and_then(|s| s.join(&page_path(&page)).ok());
        html.push_str(&also_covered_by(&also, compare.as_ref()));
    }
    let lead = lead(rep.summary.as_deref(), body);
    let sections = story
        .items
        .iter()
        .filter_map(|i| i.source_category.as_ref());
    Some(Entry {
        guid,
        page,
        body_len,
        title: item_title(rep),
        link,
        lead,
        html,
        date,
        updated,
        source_name: plain_title(&rep.source_name),
        source_url: crate::util::http::without_credentials(&rep.source_url),
        categories: unique_plain(rep.categories.iter().chain(sections.clone())),
        sections: unique_plain(sections),
        enclosure: rep.enclosures.iter().find_map(enclosure),
        author: rep
            .author
            .as_deref()
            .map(plain_title)
            .filter(|a| !a.is_empty()),
        also,
    })
}

/// The non-empty plain-text forms of `terms`, each once, in order.
fn unique_plain<'a>(terms: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in terms.map(|t| plain_title(t)) {
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The front-page lead: the summary, unless it is a teaser (cut short with an
/// ellipsis, or the start of the fetched article), then the article's text.
fn lead(summary: Option<&str>, body: &str) -> String {
    let summary = summary.map(plain_text).filter(|s| !s.trim().is_empty());
    let text = match summary {
        Some(s) if !is_teaser(&s, body) => s,
        _ => plain_text(body),
    };
    truncate_chars(&text, LEAD_CHARS)
}

/// True when `summary` is only the start of the article `body`.
fn is_teaser(summary: &str, body: &str) -> bool {
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut = summary.trim_end();
    let stem = ["[…]", "[...]", "…", "..."]
        .iter()
        .find_map(|m| cut.strip_suffix(m))
        .map(&words);
    let body = words(&plain_text(body));
    match stem {
        // Cut by the feed: a teaser whenever the article says more.
        Some(stem) => body.chars().count() > stem.chars().count(),
        None => body.len() > cut.len() && body.starts_with(&words(cut)),
    }
}

/// An attachment as published: at an http(s) URL without tracking parameters,
/// with a media type only when it is one (`type/subtype`).
fn enclosure(e: &Enclosure) -> Option<Enclosure> {
    let url = http_url(&e.url)?;
    let given = e
        .mime_type
        .as_deref()
        .and_then(|m| m.split(';').next())
        .map(str::trim)
        .filter(|m| is_media_type(m) && !m.eq_ignore_ascii_case("application/octet-stream"));
    Some(Enclosure {
        // Podcast apps may refuse to play "application/octet-stream", which is
        // what a missing type would be published as: the file's extension says more.
        mime_type: given.or_else(|| media_type_of(&url)).map(str::to_string),
        url,
        length: e.length,
    })
}

/// The media type a file's extension names, for the common attachments.
fn media_type_of(url: &str) -> Option<&'static str> {
    let path = Url::parse(url).ok()?.path().to_ascii_lowercase();
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "mp3" => "audio/mpeg",
        "m4a" | "m4b" => "audio/mp4",
        "aac" => "audio/aac",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "pdf" => "application/pdf",
        "epub" => "application/epub+zip",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

/// True for `type/subtype` with token characters only.
fn is_media_type(m: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(m.split_once('/'), Some((t, s)) if token(t) && token(s))
}

/// A link readers can open: http(s) only (an Atom id such as "urn:uuid:…" can stand
/// in for a missing link), without tracking parameters.
fn http_url(link: &str) -> Option<String> {
    let url = Url::parse(link).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| strip_tracking(url.as_str()).into_owned())
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    // End at a word boundary when there is one.
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].to_string(),
        _ => cut,
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// The "Also covered by" block linking every other outlet's article, and the
/// story's page when its address is known.
fn also_covered_by(also: &[(String, Option<String>)], compare: Option<&Url>) -> String {
    let mut html = String::from("<p class=\"also-covered\">Also covered by: ");
    for (i, (name, link)) in also.iter().enumerate() {
        if i > 0 {
            html.push_str(", ");
        }
        let name = escape(name);
        match link {
            Some(link) => html.push_str(&format!("<a href=\"{}\">{name}</a>", escape(link))),
            None => html.push_str(&name),
        }
    }
    html.push_str("</p>");
    // Its own paragraph: the "Also covered by" links are the outlets' articles.
    if let Some(url) = compare {
        html.push_str(&format!(
            "<p class=\"compare-coverage\"><a href=\"{}\">Compare coverage</a></p>",
            escape(url.as_str())
        ));
    }
    html
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The URL a document is published at: `[output] link` joined with its file name.
fn self_url(out: &OutputConfig, file: &str) -> Option<String> {
    Url::parse(&out.link)
        .ok()?
        .join(file)
        .ok()
        .map(|u| u.to_string())
}

/// The file name of the RSS document (the configured path's name).
fn rss_file_name(out: &OutputConfig) -> String {
    out.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feed.xml".into())
}

/// Renders every format from the stories, with the ids of `ids`, and their
/// pages without the recorded evidence of how members joined.
pub fn render_all(out: &OutputConfig, ids: &FeedIds, stories: &[Story]) -> Publication {
    render_with(out, ids, stories, &HashMap::new(), None, 0)
}

/// Renders every format and every story page; `joins` says how each member
/// joined its story, and a page of `previous` whose story did not change is
/// reused as it is. The files are last modified no earlier than
/// `settings_changed` (Unix seconds): an edit of what they show (a title, a
/// link, a source's name) changes them as a new story does, for readers
/// asking If-Modified-Since.
pub fn render_with(
    out: &OutputConfig,
    ids: &FeedIds,
    stories: &[Story],
    joins: &HashMap<i64, JoinRecord>,
    previous: Option<&StoryPages>,
    settings_changed: i64,
) -> Publication {
    let site = Url::parse(&out.link).ok();
    let pairs: Vec<(Entry, &Story)> = stories
        .iter()
        .filter_map(|s| Some((entry(ids, s, site.as_ref())?, s)))
        .collect();
    let stories_pages = story::render_pages(out, &pairs, joins, previous);
    let entries: Vec<Entry> = pairs.into_iter().map(|(e, _)| e).collect();
    // Any change in the store, a new story with an old date included, so that
    // readers asking If-Modified-Since see it.
    let last_modified = stories
        .iter()
        .map(|s| s.updated_at)
        .chain(entries.iter().map(|e| e.updated))
        .chain(std::iter::once(settings_changed))
        .max()
        .unwrap_or(0);
    Publication {
        rss: rss::render(out, &entries, last_modified),
        atom: atom::render(out, ids, &entries, last_modified),
        json: json::render(out, &entries, last_modified),
        html: html::render(out, &entries, last_modified),
        stories: stories_pages,
    }
}

/// Words of an untitled item's text that stand for its title, and
/// characters at most (for scripts written without spaces).
const TITLE_WORDS: usize = 12;
const TITLE_CHARS: usize = 80;

/// An item's title as readers see it: its own, or for an item without one
/// (RSS lets an item have a description only) its text's first words, as
/// feed readers show such items.
pub(crate) fn item_title(item: &StoryItem) -> String {
    if let Some(title) = item
        .title
        .as_deref()
        .map(plain_title)
        .filter(|t| !t.is_empty())
    {
        return title;
    }
    // The first of summary and article that has words (a summary may be
    // an image alone). As a title: text that spells out markup ("&lt;img
    // …&gt;") is no tag in readers that render titles.
    let text = [item.summary.as_deref(), item.content.as_deref()]
        .into_iter()
        .flatten()
        .map(plain_title)
        .find(|t| !t.trim().is_empty())
        .unwrap_or_default();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut title = words[..words.len().min(TITLE_WORDS)].join(" ");
    // Chinese or Japanese has no spaces to count words by: characters then,
    // at the last space when there is one (a long German compound).
    let cut = title.char_indices().nth(TITLE_CHARS).map(|(at, _)| at);
    if let Some(at) = cut {
        title.truncate(at);
        if let Some(space) = title.rfind(' ') {
            title.truncate(space);
        }
    }
    match (title.is_empty(), cut.is_some() || words.len() > TITLE_WORDS) {
        (true, _) => "(untitled)".into(),
        (false, true) => format!("{}…", title.trim_end()),
        (false, false) => title,
    }
}

/// Temporary files older than this are left over from a crash, not in progress.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(120);

/// Deletes temporary files that a killed process left beside the outputs.
fn remove_stale_temp_files(files: &[(PathBuf, &'static str)]) {
    for (path, _) in files {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let prefix = format!(".{}.", name.to_string_lossy());
        let Ok(listing) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in listing.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if !(file_name.starts_with(&prefix) && file_name.ends_with(".tmp")) {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::StoryItem;

    pub(crate) fn out() -> OutputConfig {
        OutputConfig {
            title: "Combined".into(),
            link: "http://127.0.0.1:8080/".into(),
            description: "d".into(),
            path: PathBuf::from("feed.xml"),
            max_items: 10,
            hub: None,
        }
    }

    pub(crate) fn feed_ids() -> FeedIds {
        FeedIds::new("example.org", "2026")
    }

    pub(crate) fn item(name: &str, link: &str) -> StoryItem {
        StoryItem {
            id: 1,
            source_name: name.into(),
            source_url: format!("https://{name}.test/feed"),
            title: Some("Title <b>bold</b>".into()),
            link: Some(link.into()),
            summary: Some("<p onclick=x>Sum<script>bad()</script></p>".into()),
            content: None,
            author: Some("Ann".into()),
            published_at: Some(1_765_737_000),
            updated_at: None,
            first_seen_at: 1_765_737_100,
            changed_at: 1_765_737_100,
            categories: vec!["World".into()],
            source_category: None,
            enclosures: vec![Enclosure {
                url: "https://a.test/a.mp3".into(),
                mime_type: Some("audio/mpeg".into()),
                length: Some(5),
            }],
        }
    }

    pub(crate) fn stories() -> Vec<Story> {
        vec![Story {
            id: 1,
            guid: "feedsieve:story:abc".into(),
            sort_at: 1,
            updated_at: 2,
            changed_at: None,
            items: vec![
                item("one", "https://one.test/a"),
                item("two", "https://two.test/b"),
            ],
        }]
    }

    #[test]
    fn an_item_without_a_title_is_titled_by_its_first_words() {
        let mut i = item("one", "https://one.test/a");
        i.title = Some("  ".into());
        i.summary = Some("<p>The council met on <b>Tuesday</b> and agreed the budget after long talks with the unions.</p>".into());
        assert_eq!(
            item_title(&i),
            "The council met on Tuesday and agreed the budget after long talks…"
        );
        i.summary = Some("<p>Short note.</p>".into());
        assert_eq!(item_title(&i), "Short note.");
        // A summary that is an image alone: the article's words.
        i.summary = Some("<img src=\"https://one.test/a.jpg\">".into());
        i.content = Some("<p>The article itself.</p>".into());
        assert_eq!(item_title(&i), "The article itself.");
        // Chinese has no spaces: cut by characters.
        i.summary = Some(format!(
            "<p>{}</p>",
            "市政府周二公布了新的预算方案".repeat(30)
        ));
        let title = item_title(&i);
        assert_eq!(title.chars().count(), TITLE_CHARS + 1, "{title}");
        assert!(title.ends_with('…'));
        // Long words: cut at a space.
        i.summary = Some("<p>Die Bundesverkehrswegeplanungsbeschleunigungsgesetzesnovelle wurde vom Verkehrsausschuss angenommen.</p>".into());
        assert_eq!(
            item_title(&i),
            "Die Bundesverkehrswegeplanungsbeschleunigungsgesetzesnovelle wurde vom…"
        );
        i.summary = None;
        i.content = None;
        assert_eq!(item_title(&i), "(untitled)");
    }

    #[test]
    fn entries_share_one_sanitised_view() {
        let e = &entries(&feed_ids(), &stories())[0];
        assert_eq!(e.title, "Title bold");
        assert!(
            !e.html.contains("script") && !e.html.contains("onclick"),
            "{}",
            e.html
        );
        assert!(e.html.contains("Also covered by"), "{}", e.html);
        assert_eq!(
            e.also,
            vec![("two".to_string(), Some("https://two.test/b".to_string()))]
        );
        assert_eq!(e.lead, "Sum");
    }

    #[test]
    fn each_other_outlet_is_named_once_and_the_entrys_own_never() {
        let mut stories = stories();
        stories[0].items = vec![
            item("Alpha", "https://alpha.test/a"),
            item("Beta", "https://beta.test/b"),
            item("Alpha", "https://alpha.test/a-republished"),
            item("Beta", "https://beta.test/b-update"),
            item("Delta", "https://delta.test/d"),
        ];
        let e = &entries(&feed_ids(), &stories)[0];
        let named: Vec<&str> = e.also.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(named, ["Beta", "Delta"]);
        assert_eq!(e.also[0].1.as_deref(), Some("https://beta.test/b"));
        let p = render_all(&out(), &feed_ids(), &stories);
        let front = String::from_utf8_lossy(&p.html.body);
        assert!(front.contains(">3 outlets</a>"), "{front}");
    }

    #[test]
    fn an_entry_without_an_author_names_its_outlet_as_one() {
        let mut stories = stories();
        stories[0].items[0].author = None;
        let p = render_all(&out(), &feed_ids(), &stories);
        let text = |doc: &PublishedFeed| String::from_utf8_lossy(&doc.body).into_owned();
        assert!(text(&p.rss).contains("<dc:creator>one</dc:creator>"));
        assert!(text(&p.atom).contains("<author><name>one</name></author>"));
        let json: serde_json::Value = serde_json::from_slice(&p.json.body).unwrap();
        assert_eq!(json["items"][0]["authors"][0]["name"], "one");
    }

    #[test]
    fn a_private_feeds_credentials_are_not_published() {
        let mut stories = stories();
        stories[0].items[0].source_url = "https://alice:s3cret@one.test/private.xml".into();
        let p = render_all(&out(), &feed_ids(), &stories);
        for doc in [&p.rss, &p.atom, &p.json, &p.html] {
            let text = String::from_utf8_lossy(&doc.body);
            assert!(
                !text.contains("s3cret") && !text.contains("alice@"),
                "{text}"
            );
        }
        let rss = String::from_utf8_lossy(&p.rss.body).into_owned();
        assert!(
            rss.contains("url=\"https://one.test/private.xml\""),
            "{rss}"
        );
    }

    #[test]
    fn published_links_drop_tracking_and_non_web_addresses() {
        let story = |link: &str| Story {
            id: 1,
            guid: "g".into(),
            sort_at: 1,
            updated_at: 2,
            changed_at: None,
            items: vec![item("one", link)],
        };
        let e = &entries(
            &feed_ids(),
            &[story("https://one.test/a?id=7&utm_source=rss")],
        )[0];
        assert_eq!(e.link.as_deref(), Some("https://one.test/a?id=7"));
        let e = &entries(&feed_ids(), &[story("urn:uuid:1225c695-cfb8")])[0];
        assert_eq!(e.link, None);
    }

    #[test]
    fn entry_dates_are_the_articles_own_and_plausible() {
        let dated = |published: Option<i64>, updated: Option<i64>, changed: Option<i64>| {
            let mut rep = item("one", "https://one.test/a");
            rep.published_at = published;
            rep.updated_at = updated;
            rep.first_seen_at = 1_765_800_000;
            rep.changed_at = 1_765_900_000;
            let story = Story {
                id: 1,
                guid: "g".into(),
                sort_at: 1,
                updated_at: 2,
                changed_at: changed,
                items: vec![rep],
            };
            let e = entries(&feed_ids(), &[story]).remove(0);
            (e.date, e.updated)
        };
        let day = 1_765_700_000;
        assert_eq!(dated(Some(day), None, None), (day, day));
        assert_eq!(dated(Some(day), Some(day + 60), None), (day, day + 60));
        // A later member (or edit) after publication moves `updated` on.
        assert_eq!(
            dated(Some(day), Some(day + 60), Some(1_766_000_000)),
            (day, 1_766_000_000)
        );
        // A zero timestamp, a date from before 1990 or from more than an hour
        // after the article was stored is not published as its own; within
        // the hour (clock skew) it is, as the store sorts it.
        assert_eq!(dated(Some(0), None, None), (1_765_800_000, 1_765_800_000));
        assert_eq!(
            dated(Some(1_765_803_601), None, None),
            (1_765_800_000, 1_765_800_000)
        );
        assert_eq!(
            dated(Some(1_765_801_800), None, None),
            (1_765_801_800, 1_765_801_800)
        );
        assert_eq!(dated(Some(day), Some(i64::MAX), None), (day, day));
        assert_eq!(dated(None, None, None), (1_765_800_000, 1_765_800_000));
    }

    #[test]
    fn attachments_need_a_web_address_and_a_real_media_type() {
        let with = |url: &str, mime: Option<&str>| {
            let mut rep = item("one", "https://one.test/a");
            rep.enclosures = vec![Enclosure {
                url: url.into(),
                mime_type: mime.map(str::to_string),
                length: Some(7),
            }];
            let story = Story {
                id: 1,
                guid: "g".into(),
                sort_at: 1,
                updated_at: 2,
                changed_at: None,
                items: vec![rep],
            };
            entries(&feed_ids(), &[story]).remove(0).enclosure
        };
        assert_eq!(with("/relative.mp3", Some("audio/mpeg")), None);
        assert_eq!(with("magnet:?xt=urn:btih:abc", Some("audio/mpeg")), None);
        let e = with("https://a.test/a.mp3?utm_source=x", Some("audio/mpeg; q=1")).unwrap();
        assert_eq!(e.url, "https://a.test/a.mp3");
        assert_eq!(e.mime_type.as_deref(), Some("audio/mpeg"));
        // Not a media type, none, or octet-stream: the extension says what it is.
        for given in [Some("mp3"), None, Some("application/octet-stream")] {
            let e = with("https://a.test/ep-12.MP3", given).unwrap();
            assert_eq!(e.mime_type.as_deref(), Some("audio/mpeg"), "{given:?}");
        }
        assert_eq!(with("https://a.test/ep-12", None).unwrap().mime_type, None);
    }

    #[test]
    fn teaser_summaries_give_way_to_the_fetched_article() {
        let article =
            "<p>The council voted on Tuesday. However, the mayor said the plan would wait.</p>";
        assert_eq!(
            lead(Some("The council voted on Tuesday. Howeve…"), article),
            "The council voted on Tuesday. However, the mayor said the plan would wait."
        );
        assert_eq!(
            lead(Some("The council voted on Tuesday. Howeve"), article),
            "The council voted on Tuesday. However, the mayor said the plan would wait."
        );
        // A summary of its own stays the lead.
        assert_eq!(lead(Some("Vote delayed."), article), "Vote delayed.");
        // Without an article, the teaser is all there is.
        assert_eq!(lead(Some("Cut short…"), ""), "Cut short…");
    }

    #[test]
    fn leads_are_cut_at_a_word() {
        let long = "word ".repeat(200);
        let lead = truncate_chars(&long, 50);
        assert!(lead.ends_with('…') && lead.chars().count() <= 51, "{lead}");
        assert_eq!(truncate_chars("short", 50), "short");
    }

    #[test]
    fn same_stories_render_the_same_bytes_in_every_format() {
        let a = render_all(&out(), &feed_ids(), &stories());
        let b = render_all(&out(), &feed_ids(), &stories());
        for (x, y) in [
            (&a.rss, &b.rss),
            (&a.atom, &b.atom),
            (&a.json, &b.json),
            (&a.html, &b.html),
        ] {
            assert_eq!(x.body, y.body);
            assert_eq!(x.etag, y.etag);
        }
    }

    #[test]
    fn stale_temp_files_from_a_crash_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = out();
        cfg.path = dir.path().join("feed.xml");
        let stale = dir.path().join(".feed.xml.12345.tmp");
        let fresh = dir.path().join(".atom.xml.999.tmp");
        std::fs::write(&stale, b"half").unwrap();
        std::fs::write(&fresh, b"in progress").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        render_all(&cfg, &feed_ids(), &stories())
            .write(&cfg)
            .unwrap();
        assert!(!stale.exists(), "a crash leftover is removed");
        assert!(
            fresh.exists(),
            "a recent one may belong to a running writer"
        );
        assert!(dir.path().join("index.html").exists());
    }
}
