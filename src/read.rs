//! Reading fetched bytes as a feed: RSS, Atom or JSON Feed into plain [`RawItem`]s.
//!
//! A fresh feed-rs parser is built for every document (a reused parser is known to
//! panic after an error) and any panic inside the parser becomes a [`ReadError`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use serde::Serialize;
use url::Url;

/// One feed, as far as later stages need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    /// The feed's own title.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub link: Option<String>,
    /// RSS `<ttl>`: how long the publisher asks readers to wait.
    pub ttl: Option<Duration>,
    /// Items in document order.
    pub items: Vec<RawItem>,
}

/// One feed item, before dedup and storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawItem {
    /// The GUID / Atom id as the source wrote it (not generated).
    pub guid: Option<String>,
    /// The article URL, absolute.
    pub link: Option<String>,
    /// Plain-text title.
    pub title: Option<String>,
    /// The short description (HTML).
    pub summary: Option<String>,
    /// The full content (HTML), when the feed carries it.
    pub content: Option<String>,
    /// Author names, comma separated.
    pub author: Option<String>,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Last update time.
    pub updated: Option<DateTime<Utc>>,
    /// Category terms.
    pub categories: Vec<String>,
    /// Attached media (podcast audio, images).
    pub enclosures: Vec<Enclosure>,
}

/// A media attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Enclosure {
    /// Absolute URL.
    pub url: String,
    /// MIME type, if known.
    pub mime_type: Option<String>,
    /// Size in bytes, if known.
    pub length: Option<u64>,
}

impl RawItem {
    /// The HTML to publish: the full content, else the summary.
    pub fn body_html(&self) -> Option<&str> {
        self.content
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(self.summary.as_deref())
    }

    /// The date to show and sort by: published, else updated.
    pub fn date(&self) -> Option<DateTime<Utc>> {
        self.published.or(self.updated)
    }
}

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The document is not a feed the parser understands.
    #[error("not a readable feed: {0}")]
    Parse(String),
    /// The body looks like an HTML page rather than a feed.
    #[error("this is an HTML page, not a feed")]
    Html,
    /// The body is empty.
    #[error("the document is empty")]
    Empty,
    /// The parser panicked; caught and reported.
    #[error("the feed parser crashed on this document: {0}")]
    Panic(String),
}

/// Parses a feed document fetched from `base`.
pub fn read_feed(body: &[u8], base: &Url) -> Result<ParsedFeed, ReadError> {
    let head = body.iter().skip_while(|b| b.is_ascii_whitespace());
    if head.clone().next().is_none() {
        return Err(ReadError::Empty);
    }
    let feed = catch_unwind(AssertUnwindSafe(|| {
        // The generated id is replaced by "" so that items with no GUID of their
        // own are keyed by link (or title + date) in the store, not by a hash
        // whose recipe could change between feed-rs versions.
        feed_rs::parser::Builder::new()
            .base_uri(Some(base.as_str()))
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build()
            .parse(body)
    }))
    .map_err(|p| ReadError::Panic(panic_message(&p)))?;
    match feed {
        Ok(feed) => Ok(convert(feed, base)),
        Err(e) => {
            if looks_like_html(body) {
                Err(ReadError::Html)
            } else {
                Err(ReadError::Parse(e.to_string()))
            }
        }
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let start: Vec<u8> = body
        .iter()
        .take(1024)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    let s = String::from_utf8_lossy(&start);
    s.contains("<!doctype html") || s.contains("<html")
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.content.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Resolves a possibly relative link and drops tracking parameters; keeps only
/// http(s) results.
fn absolute(base: &Url, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then(|| crate::sanitize::strip_tracking(url.as_str()).into_owned())
}

fn convert(feed: Feed, base: &Url) -> ParsedFeed {
    let link = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| absolute(base, &l.href));
    ParsedFeed {
        title: text(&feed.title),
        link,
        ttl: feed
            .ttl
            .filter(|m| *m > 0)
            .map(|m| Duration::from_secs(u64::from(m) * 60)),
        items: feed
            .entries
            .into_iter()
            .map(|e| convert_entry(e, base))
            .collect(),
    }
}

fn convert_entry(e: Entry, base: &Url) -> RawItem {
    let item_base = e
        .base
        .as_deref()
        .and_then(|b| base.join(b).ok())
        .unwrap_or_else(|| base.clone());
    let guid = Some(e.id.trim().to_string()).filter(|s| !s.is_empty());
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .and_then(|l| absolute(&item_base, &l.href))
        // A permalink GUID is the article's URL when no <link> is given.
        .or_else(|| {
            guid.as_deref()
                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
                .and_then(|g| absolute(&item_base, g))
        });
    let author = {
        let names: Vec<&str> = e
            .authors
            .iter()
            .map(|p| p.name.trim())
            .filter(|n| !n.is_empty())
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    };
    let enclosures = e
        .media
        .iter()
        .flat_map(|m| m.content.iter())
        .filter_map(|c| {
            let url = c.url.as_ref()?;
            Some(Enclosure {
                url: absolute(&item_base, url.as_str())?,
                mime_type: c.content_type.as_ref().map(|m| m.to_string()),
                length: c.size,
            })
        })
        .collect();
    let mut categories: Vec<String> = Vec::new();
    for c in &e.categories {
        let term = c.label.as_deref().unwrap_or(&c.term).trim().to_string();
        if !term.is_empty() && !categories.contains(&term) {
            categories.push(term);
        }
    }
    RawItem {
        guid,
        link,
        title: text(&e.title),
        summary: text(&e.summary),
        content: e
            .content
            .and_then(|c| c.body)
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty()),
        author,
        published: e.published,
        updated: e.updated,
        categories,
        enclosures,
    }
}

/// What `feedsieve inspect --json` prints for one feed.
#[derive(Debug, Serialize)]
pub struct InspectFeed {
    /// Feed title.
    pub title: Option<String>,
    /// Feed link.
    pub link: Option<String>,
    /// Entries in document order.
    pub entries: Vec<InspectEntry>,
}

/// One entry of [`InspectFeed`].
#[derive(Debug, Serialize)]
pub struct InspectEntry {
    /// The source's own id, or null.
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Absolute link.
    pub link: Option<String>,
    /// RFC 3339, or null.
    pub published: Option<String>,
    /// Summary (else content) HTML.
    pub summary: Option<String>,
}

impl From<&ParsedFeed> for InspectFeed {
    fn from(f: &ParsedFeed) -> Self {
        InspectFeed {
            title: f.title.clone(),
            link: f.link.clone(),
            entries: f
                .items
                .iter()
                .map(|i| InspectEntry {
                    id: i.guid.clone(),
                    title: i.title.clone(),
                    link: i.link.clone(),
                    published: i.date().map(|d| d.to_rfc3339()),
                    summary: i.summary.clone().or_else(|| i.content.clone()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://example.test/news/feed.xml").unwrap()
    }

    #[test]
    fn rss_items_keep_guid_link_and_dates() {
        let xml = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>/news/</link><ttl>90</ttl>
            <item><title>A</title><link>a.html</link><guid isPermaLink="false">g-1</guid><pubDate>Sun, 14 Dec 2025 18:30:00 GMT</pubDate><description>s</description><category>World</category>
            <enclosure url="/a.mp3" type="audio/mpeg" length="123"/></item>
            <item><title>B</title><guid>https://example.test/b</guid></item>
            <item><title>C</title></item></channel></rss>"#;
        let f = read_feed(xml, &base()).unwrap();
        assert_eq!(f.title.as_deref(), Some("T"));
        assert_eq!(f.link.as_deref(), Some("http://example.test/news/"));
        assert_eq!(f.ttl, Some(Duration::from_secs(90 * 60)));
        let a = &f.items[0];
        assert_eq!(a.guid.as_deref(), Some("g-1"));
        assert_eq!(a.link.as_deref(), Some("http://example.test/news/a.html"));
        assert_eq!(
            a.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-12-14T18:30:00+00:00")
        );
        assert_eq!(a.categories, vec!["World".to_string()]);
        assert_eq!(a.enclosures[0].url, "http://example.test/a.mp3");
        assert_eq!(a.enclosures[0].length, Some(123));
        // A permalink guid serves as the link.
        assert_eq!(f.items[1].link.as_deref(), Some("https://example.test/b"));
        // No guid: none is invented.
        assert_eq!(f.items[2].guid, None);
    }

    #[test]
    fn html_page_is_reported_as_html() {
        let err = read_feed(b"<!DOCTYPE html><html><body>hi</body></html>", &base()).unwrap_err();
        assert!(matches!(err, ReadError::Html), "{err}");
    }

    #[test]
    fn garbage_and_empty_are_errors_not_panics() {
        assert!(matches!(
            read_feed(b"   \n ", &base()),
            Err(ReadError::Empty)
        ));
        assert!(read_feed(b"\xff\xfe\x00<<<>>>&&&", &base()).is_err());
        assert!(read_feed(b"<rss version=\"2.0\"><channel><item><title>x", &base()).is_err());
    }
}
