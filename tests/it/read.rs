//! The feed reader on broken real-world shapes: each fixture in `fixtures/feeds`
//! is one class of breakage that other readers cope with and subscribers expect
//! to just work.

use std::path::PathBuf;

use feedsieve::read::{read_feed, read_feed_as, ParsedFeed, ReadError};
use url::Url;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn base() -> Url {
    Url::parse("https://example.test/feeds/main.xml").unwrap()
}

fn read(name: &str) -> ParsedFeed {
    read_feed(&fixture(name), &base()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn titles(f: &ParsedFeed) -> Vec<Option<&str>> {
    f.items.iter().map(|i| i.title.as_deref()).collect()
}

fn dates(f: &ParsedFeed) -> Vec<Option<String>> {
    f.items
        .iter()
        .map(|i| i.date().map(|d| d.to_rfc3339()))
        .collect()
}

#[test]
fn rss_without_version_is_read() {
    let f = read("rss-no-version.xml");
    assert_eq!(f.title.as_deref(), Some("Harbour Gazette"));
    assert_eq!(titles(&f), vec![Some("Ferry timetable changes")]);
    assert_eq!(dates(&f), vec![Some("2025-06-03T06:15:00+00:00".into())]);
}

#[test]
fn html_entities_and_bare_ampersands_are_decoded() {
    let f = read("html-entities.xml");
    assert_eq!(f.title.as_deref(), Some("Café & Bar — News"));
    assert_eq!(
        titles(&f),
        vec![
            Some("Prices rise … again – R&D says “no”"),
            // An entity nobody defines is left as written rather than dropped.
            Some("Fish & Chips © 2025 &unknownentity;"),
        ]
    );
    assert_eq!(
        f.items[0].link.as_deref(),
        Some("https://cafe.example/a?x=1&y=2")
    );
}

#[test]
fn utf16_and_utf32_documents_are_transcoded() {
    for name in ["utf16le-bom.xml", "utf16be-nobom.xml"] {
        let f = read(name);
        assert_eq!(f.title.as_deref(), Some("Новости дня"), "{name}");
        assert_eq!(titles(&f), vec![Some("Погода: снег")], "{name}");
    }
    let f = read("utf32be.xml");
    assert_eq!(titles(&f), vec![Some("Ünïcödé")]);
}

#[test]
fn undeclared_and_misdeclared_encodings_are_detected() {
    let f = read("windows-1251-undeclared.xml");
    assert_eq!(f.title.as_deref(), Some("Городские новости"));
    for name in ["latin1-declared-utf8.xml", "utf8-declared-latin1.xml"] {
        let f = read(name);
        assert_eq!(f.title.as_deref(), Some("Café crème"), "{name}");
        assert_eq!(titles(&f), vec![Some("Déjà vu à Genève")], "{name}");
    }
}

#[test]
fn http_charset_is_the_first_guess() {
    // "Привет" in KOI8-R, with nothing in the document saying so.
    let mut body = b"<rss><channel><title>".to_vec();
    body.extend_from_slice(&[0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]);
    body.extend_from_slice(b"</title></channel></rss>");
    let f = read_feed_as(&body, &base(), Some("application/rss+xml; charset=KOI8-R")).unwrap();
    assert_eq!(f.title.as_deref(), Some("Привет"));
}

#[test]
fn atom_03_is_read() {
    let f = read("atom03.xml");
    assert_eq!(f.title.as_deref(), Some("Old Atom blog"));
    assert_eq!(f.link.as_deref(), Some("http://old.example/"));
    let e = &f.items[0];
    assert_eq!(e.guid.as_deref(), Some("tag:old.example,2004:1"));
    assert_eq!(e.link.as_deref(), Some("http://old.example/2004/01/first"));
    assert_eq!(
        e.published.map(|d| d.to_rfc3339()).as_deref(),
        Some("2004-01-26T21:31:00+00:00")
    );
    assert_eq!(
        e.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2004-01-27T10:00:00+00:00")
    );
    // mode="base64" content is decoded.
    assert_eq!(e.summary.as_deref(), Some("Hello, world"));
}

#[test]
fn rss_10_items_keep_rdf_about_ids_and_untitled_items() {
    let f = read("rss10.xml");
    assert_eq!(f.items.len(), 2, "the untitled item is kept");
    assert_eq!(
        f.items[0].guid.as_deref(),
        Some("http://rdf.example/item/1")
    );
    assert_eq!(
        f.items[1].guid.as_deref(),
        Some("http://rdf.example/item/2")
    );
    assert_eq!(f.items[1].title, None);
    assert_eq!(f.items[1].summary.as_deref(), Some("No title here"));
    assert_eq!(dates(&f)[0].as_deref(), Some("2005-03-01T11:00:00+00:00"));
}

#[test]
fn permalink_guid_is_the_link_only_when_there_is_none() {
    let f = read("permalink-guid.xml");
    let links: Vec<_> = f.items.iter().map(|i| i.link.as_deref()).collect();
    assert_eq!(
        links,
        vec![
            Some("https://guid.example/posts/1"),
            None,
            Some("https://guid.example/p/3")
        ]
    );
    assert_eq!(f.items[1].guid.as_deref(), Some("post-2"));
    // An id is kept exactly as written: it is what the item is known by.
    let body = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>HTTP://Example.org</id></entry></feed>";
    let f = read_feed(body, &base()).unwrap();
    assert_eq!(f.items[0].guid.as_deref(), Some("HTTP://Example.org"));
    // A relative permalink guid resolves like any link.
    let body = b"<rss><channel><item><guid>/posts/9</guid></item></channel></rss>";
    let f = read_feed(body, &base()).unwrap();
    assert_eq!(
        f.items[0].link.as_deref(),
        Some("https://example.test/posts/9")
    );
}

#[test]
fn xml_base_and_relative_links_resolve() {
    let f = read("xml-base.xml");
    assert_eq!(f.link.as_deref(), Some("http://base.example/blog/"));
    assert_eq!(
        f.items[0].link.as_deref(),
        Some("http://base.example/blog/2025/post.html")
    );
    assert_eq!(
        f.items[1].link.as_deref(),
        Some("http://base.example/about")
    );
    // Without xml:base, links resolve against the address the feed came from.
    let f = read("dc-fields.xml");
    assert_eq!(f.items[0].link.as_deref(), Some("https://dc.example/1"));
    let body = b"<rss><channel><item><title>t</title><link>../a.html</link></item></channel></rss>";
    let f = read_feed(body, &base()).unwrap();
    assert_eq!(
        f.items[0].link.as_deref(),
        Some("https://example.test/a.html")
    ); // An address that cannot be parsed is no link at all.
    let body =
        b"<rss><channel><item><title>t</title><link>http://exa[mple/</link></item></channel></rss>";
    let f = read_feed(body, &base()).unwrap();
    assert_eq!(f.items[0].link, None);
}

#[test]
fn truncated_documents_are_read_as_far_as_they_go() {
    let f = read("truncated.xml");
    assert_eq!(
        titles(&f),
        vec![Some("Complete item"), Some("Half an item")]
    );
    assert_eq!(f.items[1].link.as_deref(), Some("https://cut.example/2"));
}

#[test]
fn bad_cdata_and_bare_markup_do_not_lose_items() {
    let f = read("bad-cdata.xml");
    assert_eq!(titles(&f), vec![Some("Ok bold & fine"), Some("Unclosed")]);
    assert_eq!(
        f.items[1].summary.as_deref(),
        Some("<p>text that never ends")
    );
    let f = read("bare-markup.xml");
    assert_eq!(
        titles(&f),
        vec![
            Some("a < b and c > d"),
            Some("Stray end tags"),
            Some("Mismatched bold")
        ]
    );
    let links: Vec<_> = f.items.iter().map(|i| i.link.as_deref()).collect();
    assert_eq!(
        links,
        vec![
            Some("https://broken.example/1"),
            Some("https://broken.example/2"),
            Some("https://broken.example/3")
        ]
    );
}

#[test]
fn common_bad_date_formats_are_understood() {
    let f = read("dates.xml");
    let want = Some("2004-01-26T21:31:00+00:00".to_string());
    let d = dates(&f);
    assert_eq!(
        &d[..6],
        &[
            want.clone(),
            want.clone(),
            want.clone(),
            want.clone(),
            want.clone(),
            want
        ]
    );
    assert_eq!(d[6].as_deref(), Some("2004-01-26T00:00:00+00:00"));
    assert_eq!(
        d[7], None,
        "an unreadable date is no date, not a made-up one"
    );
}

#[test]
fn dublin_core_fields_stand_in_for_missing_core_ones() {
    let f = read("dc-fields.xml");
    assert_eq!(f.title.as_deref(), Some("DC channel"));
    let e = &f.items[0];
    assert_eq!(e.title.as_deref(), Some("DC title"));
    assert_eq!(e.author.as_deref(), Some("Ada Lovelace"));
    assert_eq!(e.categories, vec!["Maths".to_string()]);
}

#[test]
fn json_feed_deviations_are_tolerated() {
    let f = read("lenient.json");
    assert_eq!(f.title.as_deref(), Some("Loose JSON"));
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items[0].guid.as_deref(), Some("42"));
    assert_eq!(f.items[0].link.as_deref(), Some("https://json.example/42"));
    assert_eq!(
        f.items[0].categories,
        vec!["a".to_string(), "b".to_string()]
    );
    assert_eq!(dates(&f)[0].as_deref(), Some("2025-02-03T04:05:06+00:00"));
}

#[test]
fn an_html_page_names_its_feed() {
    let err = read_feed(&fixture("html-page.html"), &base()).unwrap_err();
    match &err {
        ReadError::Html { feed_url } => {
            assert_eq!(
                feed_url.as_deref(),
                Some("https://example.test/feeds/all.rss")
            );
        }
        other => panic!("expected an HTML error, got {other}"),
    }
    assert!(
        err.to_string()
            .contains("https://example.test/feeds/all.rss"),
        "{err}"
    );
}

#[test]
fn an_xhtml_page_without_a_feed_link_is_still_an_html_error() {
    let page = br#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>
        <link rel="alternate" type="application/atom+xml" href="atom.xml"/></head><body/></html>"#;
    let err = read_feed(page, &base()).unwrap_err();
    assert!(
        matches!(&err, ReadError::Html { feed_url: Some(u) } if u == "https://example.test/feeds/atom.xml"),
        "{err}"
    );
    let err = read_feed(b"<body><p>just a fragment</p></body>", &base()).unwrap_err();
    assert!(matches!(err, ReadError::Html { feed_url: None }), "{err}");
}

#[test]
fn xml_that_is_not_a_feed_is_a_clear_error() {
    let err = read_feed(&fixture("not-a-feed.xml"), &base()).unwrap_err();
    assert!(err.to_string().contains("<config>"), "{err}");
}
