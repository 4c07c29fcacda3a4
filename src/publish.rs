//! Publishing: the newest stories as one RSS 2.0 document, written atomically.
//!
//! The document depends only on stored data (no "now" timestamps), so publishing
//! twice without a change yields the same bytes and the file is not rewritten.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item, Source};
use url::Url;

use crate::config::OutputConfig;
use crate::sanitize::{clean_html, plain_text, strip_tracking, xml_safe};
use crate::store::{Story, StoryItem};

/// A rendered feed, as served over HTTP.
#[derive(Debug, Clone)]
pub struct PublishedFeed {
    /// The RSS document.
    pub body: Bytes,
    /// Strong validator derived from the bytes (quoted).
    pub etag: String,
    /// Newest change among the stories (Unix seconds).
    pub last_modified: i64,
    /// Number of entries.
    pub items: usize,
}

impl PublishedFeed {
    /// Wraps rendered bytes with their validators.
    pub fn new(body: Vec<u8>, last_modified: i64, items: usize) -> Self {
        let etag = format!("\"{}\"", &crate::store::sha256_hex(&body)[..32]);
        PublishedFeed {
            body: Bytes::from(body),
            etag,
            last_modified,
            items,
        }
    }
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn safe(s: &str) -> String {
    xml_safe(s).into_owned()
}

/// Renders stories as RSS 2.0.
pub fn render_rss(out: &OutputConfig, stories: &[Story]) -> PublishedFeed {
    let last_modified = stories.iter().map(|s| s.updated_at).max().unwrap_or(0);
    let items: Vec<Item> = stories.iter().filter_map(render_item).collect();
    let count = items.len();
    let mut namespaces = BTreeMap::new();
    namespaces.insert(
        "dc".to_string(),
        "http://purl.org/dc/elements/1.1/".to_string(),
    );
    let channel = Channel {
        title: safe(&out.title),
        link: safe(&out.link),
        description: safe(&out.description),
        generator: Some(format!("feedsieve {}", env!("CARGO_PKG_VERSION"))),
        last_build_date: (last_modified > 0).then(|| ts(last_modified).to_rfc2822()),
        items,
        namespaces,
        ..Default::default()
    };
    PublishedFeed::new(channel.to_string().into_bytes(), last_modified, count)
}

fn render_item(story: &Story) -> Option<Item> {
    let rep = story.items.first()?;
    let base = rep.link.as_deref().and_then(|l| Url::parse(l).ok());
    let title = rep
        .title
        .as_deref()
        .map(plain_text)
        .filter(|t| !t.is_empty());
    let mut body = rep
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(rep.summary.as_deref())
        .map(|html| clean_html(html, base.as_ref()))
        .unwrap_or_default();
    let others = &story.items[1..];
    if !others.is_empty() {
        body.push_str(&also_covered_by(others));
    }
    let categories: Vec<Category> = rep
        .categories
        .iter()
        .map(|c| Category {
            name: safe(c),
            domain: None,
        })
        .collect();
    let enclosure = rep.enclosures.first().map(|e| Enclosure {
        url: safe(&strip_tracking(&e.url)),
        length: e.length.unwrap_or(0).to_string(),
        mime_type: e
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
    });
    let dublin_core_ext = rep.author.as_deref().map(|a| DublinCoreExtension {
        creators: vec![safe(a)],
        ..Default::default()
    });
    let date = rep.published_at.unwrap_or(rep.first_seen_at);
    Some(Item {
        title: Some(safe(title.as_deref().unwrap_or("(untitled)"))),
        // The store keeps links as the source wrote them; on the way out, tracking
        // parameters are dropped, and so are links a reader cannot open (an Atom
        // id such as "urn:uuid:…" standing in for a missing link).
        link: rep
            .link
            .as_deref()
            .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
            .map(|l| safe(&strip_tracking(l))),
        description: (!body.is_empty()).then(|| safe(&body)),
        guid: Some(Guid {
            value: safe(&story.guid),
            permalink: false,
        }),
        pub_date: Some(ts(date).to_rfc2822()),
        source: Some(Source {
            url: safe(&rep.source_url),
            title: Some(safe(&rep.source_name)),
        }),
        categories,
        enclosure,
        dublin_core_ext,
        ..Default::default()
    })
}

/// The "Also covered by" block linking every other outlet's article.
fn also_covered_by(others: &[StoryItem]) -> String {
    let mut html = String::from("<p class=\"also-covered\">Also covered by: ");
    for (i, item) in others.iter().enumerate() {
        if i > 0 {
            html.push_str(", ");
        }
        let name = escape(&item.source_name);
        match item.link.as_deref().and_then(|l| Url::parse(l).ok()) {
            Some(link) if matches!(link.scheme(), "http" | "https") => {
                html.push_str(&format!("<a href=\"{}\">{name}</a>", escape(link.as_str())));
            }
            _ => html.push_str(&name),
        }
    }
    html.push_str("</p>");
    html
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers only
/// ever see a complete file. Returns false (and writes nothing) when the file
/// already holds exactly these bytes.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if let Ok(existing) = std::fs::read(path) {
        if existing == bytes {
            return Ok(false);
        }
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feed".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Enclosure as RawEnclosure;
    use std::path::PathBuf;

    fn out() -> OutputConfig {
        OutputConfig {
            title: "Combined".into(),
            link: "http://127.0.0.1:8080/".into(),
            description: "d".into(),
            path: PathBuf::from("feed.xml"),
            max_items: 10,
        }
    }

    fn item(name: &str, link: &str) -> StoryItem {
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
            first_seen_at: 1_765_737_100,
            categories: vec!["World".into()],
            enclosures: vec![RawEnclosure {
                url: "https://a.test/a.mp3".into(),
                mime_type: Some("audio/mpeg".into()),
                length: Some(5),
            }],
        }
    }

    #[test]
    fn rss_carries_source_guid_and_sanitised_html() {
        let story = Story {
            guid: "feedsieve:story:abc".into(),
            sort_at: 1,
            updated_at: 2,
            items: vec![
                item("one", "https://one.test/a"),
                item("two", "https://two.test/b"),
            ],
        };
        let feed = render_rss(&out(), &[story]);
        let text = String::from_utf8(feed.body.to_vec()).unwrap();
        let parsed = rss::Channel::read_from(&feed.body[..]).unwrap();
        let it = &parsed.items()[0];
        assert_eq!(it.title(), Some("Title bold"));
        assert_eq!(it.guid().unwrap().value(), "feedsieve:story:abc");
        assert!(!it.guid().unwrap().is_permalink());
        assert_eq!(it.source().unwrap().url(), "https://one.test/feed");
        assert_eq!(it.source().unwrap().title(), Some("one"));
        let desc = it.description().unwrap();
        assert!(
            !desc.contains("script") && !desc.contains("onclick"),
            "{desc}"
        );
        assert!(desc.contains("Also covered by"), "{desc}");
        assert!(desc.contains("https://two.test/b"), "{desc}");
        assert_eq!(it.categories()[0].name(), "World");
        assert_eq!(it.enclosure().unwrap().url(), "https://a.test/a.mp3");
        assert!(text.contains("<dc:creator>Ann</dc:creator>"), "{text}");
    }

    #[test]
    fn published_links_drop_tracking_and_non_web_addresses() {
        let story = |link: &str| Story {
            guid: "g".into(),
            sort_at: 1,
            updated_at: 2,
            items: vec![item("one", link)],
        };
        let feed = render_rss(&out(), &[story("https://one.test/a?id=7&utm_source=rss")]);
        let parsed = rss::Channel::read_from(&feed.body[..]).unwrap();
        assert_eq!(parsed.items()[0].link(), Some("https://one.test/a?id=7"));
        let feed = render_rss(&out(), &[story("urn:uuid:1225c695-cfb8")]);
        let parsed = rss::Channel::read_from(&feed.body[..]).unwrap();
        assert_eq!(parsed.items()[0].link(), None);
    }

    #[test]
    fn same_stories_render_the_same_bytes() {
        let story = Story {
            guid: "g".into(),
            sort_at: 1,
            updated_at: 2,
            items: vec![item("one", "https://one.test/a")],
        };
        let a = render_rss(&out(), std::slice::from_ref(&story));
        let b = render_rss(&out(), &[story]);
        assert_eq!(a.body, b.body);
        assert_eq!(a.etag, b.etag);
    }

    #[test]
    fn atomic_write_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/feed.xml");
        assert!(write_atomically(&p, b"one").unwrap());
        assert!(!write_atomically(&p, b"one").unwrap());
        assert!(write_atomically(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers = std::fs::read_dir(p.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files are cleaned up");
    }
}
