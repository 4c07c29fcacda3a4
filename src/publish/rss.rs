//! RSS 2.0, the main feed.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item, Source};

use super::{
    rss_file_name, self_url, ts, with_stylesheet, Entry, OutputConfig, PublishedFeed,
    FEED_CONTENT_TYPE,
};
use crate::sanitize::xml_safe;

fn safe(s: &str) -> String {
    xml_safe(s).into_owned()
}

/// Renders entries as RSS 2.0.
pub fn render(out: &OutputConfig, entries: &[Entry], last_modified: i64) -> PublishedFeed {
    let items: Vec<Item> = entries.iter().map(item).collect();
    let count = items.len();
    let mut namespaces = BTreeMap::new();
    namespaces.insert(
        "dc".to_string(),
        "http://purl.org/dc/elements/1.1/".to_string(),
    );
    let mut links = Vec::new();
    if let Some(href) = self_url(out, &rss_file_name(out)) {
        links.push(Link {
            rel: "self".into(),
            href,
            mime_type: Some("application/rss+xml".into()),
            ..Default::default()
        });
    }
    if let Some(hub) = &out.hub {
        links.push(Link {
            rel: "hub".into(),
            href: hub.to_string(),
            ..Default::default()
        });
    }
    let channel = Channel {
        title: safe(&out.title),
        link: safe(&out.link),
        description: safe(&out.description),
        generator: Some(format!("feedsieve {}", env!("CARGO_PKG_VERSION"))),
        last_build_date: (last_modified > 0).then(|| ts(last_modified).to_rfc2822()),
        items,
        namespaces,
        atom_ext: (!links.is_empty()).then_some(AtomExtension { links }),
        ..Default::default()
    };
    let body = with_stylesheet(channel.to_string());
    PublishedFeed::new(body.into_bytes(), last_modified, count, FEED_CONTENT_TYPE)
}

fn item(e: &Entry) -> Item {
    Item {
        title: Some(safe(&e.title)),
        link: e.link.as_deref().map(safe),
        description: (!e.html.is_empty()).then(|| safe(&e.html)),
        guid: Some(Guid {
            value: safe(&e.guid),
            permalink: false,
        }),
        pub_date: Some(ts(e.date).to_rfc2822()),
        source: Some(Source {
            url: safe(&e.source_url),
            title: Some(safe(&e.source_name)),
        }),
        categories: e
            .categories
            .iter()
            .map(|c| Category {
                name: safe(c),
                domain: None,
            })
            .collect(),
        enclosure: e.enclosure.as_ref().map(|enc| Enclosure {
            url: safe(&enc.url),
            length: enc.length.unwrap_or(0).to_string(),
            mime_type: enc
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        }),
        dublin_core_ext: Some(DublinCoreExtension {
            creators: vec![safe(e.byline())],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_ids, out, stories};
    use super::super::{entries, render_all};

    #[test]
    fn rss_carries_source_guid_self_link_and_sanitised_html() {
        let mut cfg = out();
        cfg.hub = Some(url::Url::parse("https://hub.test/").unwrap());
        let feed = render_all(&cfg, &feed_ids(), &stories()).rss;
        let text = String::from_utf8(feed.body.to_vec()).unwrap();
        assert!(
            text.contains("<?xml-stylesheet type=\"text/css\" href=\"feed.css\"?>"),
            "{text}"
        );
        let parsed = rss::Channel::read_from(&feed.body[..]).unwrap();
        let it = &parsed.items()[0];
        assert_eq!(it.title(), Some("Title bold"));
        assert_eq!(it.guid().unwrap().value(), "tag:example.org,2026:story/abc");
        assert!(!it.guid().unwrap().is_permalink());
        assert_eq!(it.source().unwrap().url(), "https://one.test/feed");
        assert_eq!(it.source().unwrap().title(), Some("one"));
        let desc = it.description().unwrap();
        assert!(
            !desc.contains("script") && !desc.contains("onclick"),
            "{desc}"
        );
        assert!(
            desc.contains("Also covered by") && desc.contains("https://two.test/b"),
            "{desc}"
        );
        assert_eq!(it.categories()[0].name(), "World");
        assert_eq!(it.enclosure().unwrap().url(), "https://a.test/a.mp3");
        assert!(text.contains("<dc:creator>Ann</dc:creator>"), "{text}");
        let links = parsed.atom_ext().unwrap().links();
        assert!(links
            .iter()
            .any(|l| l.rel() == "self" && l.href() == "http://127.0.0.1:8080/feed.xml"));
        assert!(links
            .iter()
            .any(|l| l.rel() == "hub" && l.href() == "https://hub.test/"));
        assert_eq!(entries(&feed_ids(), &stories()).len(), parsed.items().len());
    }
}
