//! Atom 1.0 (`atom.xml`): the same entries and ids as the RSS feed.

use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link, Person, Source, Text, TextType,
};
use chrono::FixedOffset;

use super::{
    rss_file_name, self_url, ts, with_stylesheet, Entry, FeedIds, OutputConfig, PublishedFeed,
    FEED_CONTENT_TYPE,
};
use crate::sanitize::xml_safe;

fn safe(s: &str) -> String {
    xml_safe(s).into_owned()
}

fn when(secs: i64) -> chrono::DateTime<FixedOffset> {
    ts(secs).fixed_offset()
}

fn link(rel: &str, href: String, mime: Option<&str>) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: mime.map(str::to_string),
        ..Default::default()
    }
}

/// Renders entries as Atom 1.0.
pub fn render(
    out: &OutputConfig,
    ids: &FeedIds,
    entries: &[Entry],
    last_modified: i64,
) -> PublishedFeed {
    let mut links = vec![link("alternate", safe(&out.link), Some("text/html"))];
    if let Some(href) = self_url(out, "atom.xml") {
        links.push(link("self", href, Some("application/atom+xml")));
    }
    if let Some(href) = self_url(out, &rss_file_name(out)) {
        links.push(link("alternate", href, Some("application/rss+xml")));
    }
    if let Some(hub) = &out.hub {
        links.push(link("hub", hub.to_string(), None));
    }
    let feed = Feed {
        title: Text::plain(safe(&out.title)),
        // Fixed with the database: not the home page, which the config may change.
        id: ids.feed_id(),
        updated: when(last_modified),
        authors: vec![Person {
            name: safe(&out.title),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "feedsieve".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        links,
        subtitle: Some(Text::plain(safe(&out.description))),
        entries: entries.iter().map(entry).collect(),
        ..Default::default()
    };
    PublishedFeed::new(
        with_stylesheet(feed.to_string()).into_bytes(),
        last_modified,
        entries.len(),
        FEED_CONTENT_TYPE,
    )
}

fn entry(e: &Entry) -> AtomEntry {
    let mut links = Vec::new();
    if let Some(l) = &e.link {
        links.push(link("alternate", safe(l), Some("text/html")));
    }
    if let Some(enc) = &e.enclosure {
        links.push(Link {
            href: safe(&enc.url),
            rel: "enclosure".into(),
            mime_type: enc.mime_type.clone(),
            length: enc.length.map(|n| n.to_string()),
            ..Default::default()
        });
    }
    AtomEntry {
        title: Text::plain(safe(&e.title)),
        id: safe(&e.guid),
        updated: when(e.updated),
        published: Some(when(e.date)),
        authors: vec![Person {
            name: safe(e.byline()),
            ..Default::default()
        }],
        categories: e
            .categories
            .iter()
            .map(|c| Category {
                term: safe(c),
                ..Default::default()
            })
            .collect(),
        links,
        source: Some(Source {
            title: Text::plain(safe(&e.source_name)),
            id: safe(&e.source_url),
            updated: when(e.updated),
            links: vec![link("self", safe(&e.source_url), None)],
            ..Default::default()
        }),
        content: if !e.html.is_empty() {
            Some(Content {
                value: Some(safe(&e.html)),
                content_type: Some("html".into()),
                ..Default::default()
            })
        } else if e.link.is_none() {
            // RFC 4287 4.1.1: an entry without content has an alternate link.
            Some(Content {
                value: Some(safe(if e.lead.is_empty() { &e.title } else { &e.lead })),
                content_type: Some("text".into()),
                ..Default::default()
            })
        } else {
            None
        },
        // An entry without any text is one feed validators warn about: a
        // headline-only article's summary is its headline.
        summary: (!e.lead.is_empty() || e.html.is_empty()).then(|| Text {
            value: safe(if e.lead.is_empty() { &e.title } else { &e.lead }),
            r#type: TextType::Text,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::render_all;
    use super::super::tests::{feed_ids, out, stories};

    #[test]
    fn atom_has_the_same_ids_source_and_self_link() {
        let all = render_all(&out(), &feed_ids(), &stories());
        let feed = atom_syndication::Feed::read_from(&all.atom.body[..]).unwrap();
        let e = &feed.entries()[0];
        assert_eq!(e.id(), "tag:example.org,2026:story/abc");
        assert_eq!(e.title().as_str(), "Title bold");
        assert_eq!(e.source().unwrap().title().as_str(), "one");
        let html = e.content().unwrap().value().unwrap();
        assert!(
            html.contains("Also covered by") && !html.contains("script"),
            "{html}"
        );
        assert!(feed
            .links()
            .iter()
            .any(|l| l.rel() == "self" && l.href() == "http://127.0.0.1:8080/atom.xml"));
        // Readable by feed-rs as well.
        let parsed = feed_rs::parser::parse(&all.atom.body[..]).unwrap();
        assert_eq!(parsed.entries.len(), 1);
    }

    /// RFC 4287 4.1.1: an entry without content needs an alternate link, so a
    /// headline without link or text carries its headline as text content.
    #[test]
    fn an_entry_without_link_or_text_still_has_content() {
        let mut stories = stories();
        stories[0].items.truncate(1);
        let only = &mut stories[0].items[0];
        (only.link, only.summary, only.content) = (None, None, None);
        let all = render_all(&out(), &feed_ids(), &stories);
        let feed = atom_syndication::Feed::read_from(&all.atom.body[..]).unwrap();
        let e = &feed.entries()[0];
        assert!(e.links().iter().all(|l| l.rel() != "alternate"));
        let content = e.content().expect("content or an alternate link");
        assert_eq!(content.content_type(), Some("text"));
        assert_eq!(content.value(), Some("Title bold"));
    }
}
