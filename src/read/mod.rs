//! Reading fetched bytes as a feed: RSS, Atom or JSON Feed into plain [`RawItem`]s.
//!
//! Real feeds are broken in every way, so reading is forgiving: [`encoding`] finds the
//! character set (BOM, HTTP charset, XML declaration, sniffing, fallbacks), [`xml`]
//! builds an element tree from whatever markup there is (entities, bare `&`, bad
//! CDATA, truncation), [`feed`] maps RSS/Atom/CDF to items with the rules readers
//! agree on, [`date`] reads the date formats seen in the wild, and JSON Feed goes
//! through feed-rs after its common deviations are smoothed (`json.rs`).
//! Every item's fields are then cut to the caps in [`limits`].
//! Any panic becomes a [`ReadError`].

pub mod date;
pub mod encoding;
pub mod feed;
mod json;
pub mod limits;
pub mod page;
pub mod xml;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use chrono::{DateTime, Utc};
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
    /// The document ended before its root element closed (a connection cut
    /// short, or a server that never finishes it): items may be missing, and an
    /// item cut in the middle has been left out.
    pub cut_short: bool,
}

/// One feed item, before dedup and storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawItem {
    /// The GUID / Atom id as the source wrote it (not generated).
    pub guid: Option<String>,
    /// The article URL as the feed gives it, resolved against `xml:base` and the feed's
    /// address (relative only for a local file). Tracking parameters are dropped on publishing.
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
    /// The document is not a feed the reader understands.
    #[error("not a readable feed: {0}")]
    Parse(String),
    /// The body is an HTML page rather than a feed; it may advertise its feed.
    #[error("this is an HTML page, not a feed; {}", .feed_url.as_ref().map_or_else(|| "it names no feed: `feedsieve add URL` looks for one at the usual paths, and a page without one can be a [[page]] source".to_string(), |u| format!("the page names its feed at {u}: subscribe to that URL instead")))]
    Html {
        /// The feed URL the page announces with `<link rel="alternate">`, if any.
        feed_url: Option<String>,
    },
    /// The body is empty.
    #[error("the document is empty")]
    Empty,
    /// The reader panicked; caught and reported.
    #[error("the feed reader crashed on this document: {0}")]
    Panic(String),
}

/// Parses a feed document fetched from `base`.
pub fn read_feed(body: &[u8], base: &Url) -> Result<ParsedFeed, ReadError> {
    read_feed_as(body, base, None)
}

/// Whether a document opens as an HTML page: its first markup, after any byte
/// order mark, XML declaration and comments, is an HTML doctype or an `<html>`,
/// `<head>` or `<body>` tag. Reads only the start, so a caller that holds a
/// page can skip [`read_feed`], which parses the whole document, when this says
/// yes. Says no when unsure (UTF-16, a long prologue): a feed is never an HTML
/// page by this test.
pub fn starts_as_html(body: &[u8]) -> bool {
    /// Bytes of prologue read at most.
    const SNIFF: usize = 4096;
    let mut rest = &body[..body.len().min(SNIFF)];
    rest = rest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rest);
    loop {
        rest = rest.trim_ascii_start();
        let skip_to = |end: &[u8]| {
            rest.windows(end.len())
                .position(|w| w == end)
                .map(|i| i + end.len())
        };
        let skipped = if rest.starts_with(b"<?") {
            skip_to(b"?>")
        } else if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else {
            break;
        };
        match skipped {
            Some(n) => rest = &rest[n..],
            None => return false,
        }
    }
    let opens = |tag: &[u8]| {
        rest.len() > tag.len()
            && rest[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(rest[tag.len()], b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
    };
    opens(b"<!doctype html") || opens(b"<html") || opens(b"<head") || opens(b"<body")
}

/// Parses a feed document fetched from `base`, served with HTTP `content_type` (whose
/// `charset` is the first guess at the encoding).
pub fn read_feed_as(
    body: &[u8],
    base: &Url,
    content_type: Option<&str>,
) -> Result<ParsedFeed, ReadError> {
    catch_unwind(AssertUnwindSafe(|| read_inner(body, base, content_type)))
        .unwrap_or_else(|p| Err(ReadError::Panic(panic_message(&p))))
}

fn read_inner(
    body: &[u8],
    base: &Url,
    content_type: Option<&str>,
) -> Result<ParsedFeed, ReadError> {
    let mut feed = read_document(body, base, content_type)?;
    cap_items(&mut feed, base);
    Ok(feed)
}

/// Cuts every item's fields to their caps ([`limits`]), saying once per
/// document which fields were over.
fn cap_items(feed: &mut ParsedFeed, base: &Url) {
    let mut fields: Vec<&str> = Vec::new();
    let mut items = 0usize;
    for item in &mut feed.items {
        let over = limits::cap_fields(item);
        items += usize::from(!over.is_empty());
        for field in over {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
    }
    if items > 0 {
        tracing::warn!(feed = %base, items, fields = %fields.join(", "), "item fields over their limits were cut (see \"Limits and safety\" in the README)");
    }
}

fn read_document(
    body: &[u8],
    base: &Url,
    content_type: Option<&str>,
) -> Result<ParsedFeed, ReadError> {
    let charset = content_type.and_then(crate::util::http::charset_of);
    let text = encoding::decode(body, charset);
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.trim_end().is_empty() {
        return Err(ReadError::Empty);
    }
    // Links are resolved only against a web address: a local file has none, and
    // its relative links are kept as written.
    let http_base = matches!(base.scheme(), "http" | "https").then_some(base);
    if trimmed.starts_with('{') {
        return json::read_json(trimmed, base);
    }
    let doc = xml::parse(trimmed);
    let reading = feed::read(&doc, http_base);
    if reading.recognised || !reading.feed.items.is_empty() {
        return Ok(reading.feed);
    }
    let root = doc.root().map(|r| r.name.as_str()).unwrap_or("");
    let local = root.rsplit(':').next().unwrap_or(root);
    if matches!(local, "html" | "head" | "body") || doc.doctype.as_deref() == Some("html") {
        return Err(ReadError::Html {
            feed_url: feed::discover_feed(&doc, Some(base)),
        });
    }
    // A binary body "parses" to an element named by its bytes: not worth quoting.
    let readable = root.chars().count() <= 40
        && root
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.'));
    Err(ReadError::Parse(if root.is_empty() {
        "no XML elements found".to_string()
    } else if readable {
        format!("the document is <{root}>, not RSS, Atom or JSON Feed")
    } else {
        "the document is not RSS, Atom or JSON Feed (nor readable text)".to_string()
    }))
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

    #[test]
    fn a_document_that_is_not_a_feed_is_named_only_when_readable() {
        let base = Url::parse("https://x.test/feed").unwrap();
        let e = read_feed(b"<catalog><book/></catalog>", &base).unwrap_err();
        assert!(e.to_string().contains("<catalog>"), "{e}");
        let binary = b"\x1f\x8b<\xc3\x9ew\x01\xff>\x00\x10";
        let e = read_feed(binary, &base).unwrap_err().to_string();
        assert!(e.is_ascii() && !e.contains('<'), "{e}");
    }

    #[test]
    fn pages_are_told_from_feeds_by_their_first_markup() {
        assert!(starts_as_html(
            b"\xEF\xBB\xBF\n<!DOCTYPE html>\n<html lang=\"en\">"
        ));
        assert!(starts_as_html(b"<!-- cached 12:00 --><HTML><HEAD>"));
        assert!(starts_as_html(
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0\">"
        ));
        assert!(starts_as_html(b"  <body>\n<p>A fragment"));
        assert!(!starts_as_html(
            b"<?xml version=\"1.0\"?><rss version=\"2.0\">"
        ));
        assert!(!starts_as_html(
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\">"
        ));
        assert!(!starts_as_html(
            b"{\"version\": \"https://jsonfeed.org/version/1.1\"}"
        ));
        assert!(!starts_as_html(b"<htmlfeed>"));
        assert!(!starts_as_html(b"<!-- never closed"));
    }

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
        assert!(matches!(err, ReadError::Html { .. }), "{err}");
    }

    #[test]
    fn garbage_and_empty_are_errors_not_panics() {
        assert!(matches!(
            read_feed(b"   \n ", &base()),
            Err(ReadError::Empty)
        ));
        assert!(read_feed(b"\xff\xfe\x00<<<>>>&&&", &base()).is_err());
        // A truncated document is read as far as it goes, but not the item it
        // ended in: its link or GUID may be cut too.
        let cut = read_feed(
            b"<rss version=\"2.0\"><channel><item><title>x</title></item><item><link>http://a.test/artic",
            &base(),
        )
        .unwrap();
        assert!(cut.cut_short);
        let titles: Vec<_> = cut.items.iter().map(|i| i.title.as_deref()).collect();
        assert_eq!(titles, [Some("x")]);
        // Cut in its title: an item without GUID or link is keyed by it.
        let in_title = read_feed(
            b"<rss version=\"2.0\"><channel><item><title>x</title></item><item><title>Second story is cu",
            &base(),
        )
        .unwrap();
        assert_eq!(in_title.items.len(), 1);
        let whole = read_feed(
            b"<rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss>",
            &base(),
        )
        .unwrap();
        assert!(!whole.cut_short);
    }
}
