//! Poisoned content: every XSS vector of `tests/fixtures/xss/vectors.txt`, placed in
//! the titles, summaries, content and links of RSS, Atom and JSON Feed items, must
//! come out of the published feed harmless; control characters never make the
//! published feed invalid XML.

use crate::common;

use common::{Behaviour, FixtureServer};
use feedsieve::config::Config;
use feedsieve::pipeline::{run_cycle, Context, Outcome, Selection};

fn vectors() -> Vec<String> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xss/vectors.txt"),
    )
    .unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.replace("\\n", "\n")
                .replace("\\t", "\t")
                .replace("\\r", "\r")
                .replace("\\0", "\0")
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    // A real XML feed cannot carry characters XML forbids; the JSON Feed below does.
    feedsieve::sanitize::xml_safe(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rss(vectors: &[String]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>Poison RSS</title><link>https://ok.test/</link><description>x</description>");
    for (i, v) in vectors.iter().enumerate() {
        let e = xml_escape(v);
        // Every other item also tries a script URL as its link.
        let link = if i % 2 == 0 {
            format!("https://ok.test/rss/{i}")
        } else {
            "javascript:alert(1)".into()
        };
        xml.push_str(&format!(
            "<item><title>{e}</title><link>{link}</link><guid>rss-{i}</guid><description>{e}</description><content:encoded>{e}</content:encoded><category>{e}</category></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

fn atom(vectors: &[String]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Poison Atom</title><id>urn:poison</id><updated>2025-12-15T09:00:00Z</updated>");
    for (i, v) in vectors.iter().enumerate() {
        let e = xml_escape(v);
        xml.push_str(&format!(
            "<entry><title type=\"html\">{e}</title><link href=\"https://ok.test/atom/{i}\"/><id>atom-{i}</id><updated>2025-12-15T09:00:00Z</updated><author><name>{e}</name></author><summary type=\"html\">{e}</summary><content type=\"html\">{e}</content></entry>"
        ));
    }
    xml.push_str("</feed>");
    xml
}

fn json_feed(vectors: &[String]) -> String {
    let items: Vec<serde_json::Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::json!({
                "id": format!("json-{i}"),
                "url": if i % 3 == 0 { v.clone() } else { format!("https://ok.test/json/{i}") },
                // Raw control characters are legal in JSON strings.
                "title": format!("{v}\u{1}\u{8}\u{1b}\u{7f}\u{fffe}"),
                "content_html": format!("{v}\u{0}\u{b}"),
                "summary": v,
                "tags": [v],
                "date_published": "2025-12-15T09:00:00Z",
            })
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Poison JSON",
        "items": items,
    })
    .to_string()
}

const DANGEROUS_TAGS: &[&str] = &[
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "keygen",
    "link",
    "meta",
    "base",
    "template",
    "noscript",
    "video",
    "audio",
    "source",
    "isindex",
    "marquee",
    "body",
    "html",
    "xss",
    "animate",
    "set",
    "use",
    "foreignobject",
    "maction",
];

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "cite",
    "data",
    "dynsrc",
    "lowsrc",
    "xlink:href",
    "srcdoc",
    "srcset",
];

/// Fails if `html` could run script or load anything but http(s) resources.
fn assert_safe_html(html: &str, context: &str) {
    let doc = scraper::Html::parse_fragment(html);
    // skip(1): the <html> wrapper that parse_fragment itself adds.
    for node in doc.root_element().descendants().skip(1) {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        let name = el.name().to_ascii_lowercase();
        assert!(
            !DANGEROUS_TAGS.contains(&name.as_str()),
            "<{name}> survived ({context}): {html}"
        );
        for (attr, value) in el.attrs() {
            let attr = attr.to_ascii_lowercase();
            assert!(
                !attr.starts_with("on"),
                "{attr} survived ({context}): {html}"
            );
            assert!(
                attr != "style",
                "style attribute survived ({context}): {html}"
            );
            if URL_ATTRIBUTES.contains(&attr.as_str()) {
                let v: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                assert!(
                    v.starts_with("https://")
                        || v.starts_with("http://")
                        || v.starts_with("mailto:"),
                    "{attr}={value:?} survived ({context}): {html}"
                );
            }
        }
    }
}

/// Text fields are plain text: nothing a reader that renders them could take
/// for a tag that acts. A bare word in angle brackets (`vector<int>`) may stay:
/// without attributes, and not one of these, it does nothing.
fn assert_plain_text(text: &str, context: &str) {
    const ACTING: &[&str] = &[
        "a",
        "base",
        "embed",
        "form",
        "iframe",
        "img",
        "link",
        "math",
        "meta",
        "noscript",
        "object",
        "plaintext",
        "script",
        "style",
        "svg",
        "table",
        "template",
        "textarea",
        "title",
        "xmp",
    ];
    let b = text.as_bytes();
    for (i, _) in text.match_indices('<') {
        let rest = &text[i + 1..];
        assert!(
            !rest.starts_with(['/', '!', '?']),
            "markup in text ({context}): {text:?}"
        );
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.is_empty() || !b[i + 1].is_ascii_alphabetic() {
            continue;
        }
        assert!(
            rest[name.len()..].starts_with('>')
                && !ACTING.contains(&name.to_ascii_lowercase().as_str()),
            "markup in text ({context}): {text:?}"
        );
    }
}

/// Every character of the document is allowed by XML 1.0, also through character references.
fn assert_xml_chars(doc: &str) {
    let ok = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if let Some(bad) = doc.chars().find(|&c| !ok(c)) {
        panic!(
            "invalid XML character U+{:04X} in the published feed",
            bad as u32
        );
    }
    for part in doc.split("&#").skip(1) {
        let Some(end) = part.find(';') else { continue };
        let num = &part[..end];
        let code = if let Some(hex) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            u32::from_str_radix(hex, 16)
        } else {
            num.parse()
        };
        if let Ok(code) = code {
            let c = char::from_u32(code).unwrap_or('\0');
            assert!(
                ok(c),
                "invalid character reference &#{num}; in the published feed"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_vector_survives_into_the_published_feed() {
    let vectors = vectors();
    assert!(
        vectors.len() >= 100,
        "the corpus has {} cases",
        vectors.len()
    );
    let web = FixtureServer::start().await;
    web.set(
        "/p/rss.xml",
        Behaviour::Body("application/rss+xml", rss(&vectors)),
    );
    web.set(
        "/p/atom.xml",
        Behaviour::Body("application/atom+xml", atom(&vectors)),
    );
    web.set(
        "/p/feed.json",
        Behaviour::Body("application/feed+json", json_feed(&vectors)),
    );
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        // Dedup is off: the same vector in three formats would merge into one story.
        "[output]\npath = \"{out}\"\nmax_items = 1000\n[database]\npath = \"{db}\"\n[dedup]\nenabled = false\n\
         [[feed]]\nname = \"Poison <script>alert(1)</script> RSS\"\nurl = \"{b}/p/rss.xml\"\n\
         [[feed]]\nname = \"Poison Atom\"\nurl = \"{b}/p/atom.xml\"\n\
         [[feed]]\nname = \"Poison JSON\"\nurl = \"{b}/p/feed.json\"\n",
        out = dir.path().join("feed.xml").display(),
        db = dir.path().join("db.sqlite").display(),
        b = web.base
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, toml).unwrap();
    let ctx = Context::open(Config::load(&path).unwrap()).unwrap();
    let report = run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    for o in &report.outcomes {
        assert!(
            matches!(o.outcome, Outcome::Stored(s) if s.new == vectors.len()),
            "{}: {:?}",
            o.name,
            o.outcome
        );
    }

    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let text = String::from_utf8(bytes.clone()).expect("the feed is UTF-8");
    assert_xml_chars(&text);
    // Two independent strict readers accept the document.
    feed_rs::parser::parse(&bytes[..]).expect("feed-rs reads the published feed");
    let channel = rss::Channel::read_from(&bytes[..]).expect("rss reads the published feed");
    assert_eq!(channel.items().len(), 3 * vectors.len());

    for item in channel.items() {
        let guid = item.guid().map(|g| g.value()).unwrap_or("?");
        assert_plain_text(item.title().unwrap_or(""), guid);
        if let Some(desc) = item.description() {
            assert_safe_html(desc, guid);
        }
        if let Some(link) = item.link() {
            assert!(
                link.starts_with("https://") || link.starts_with("http://"),
                "link {link:?} ({guid})"
            );
        }
        if let Some(source) = item.source() {
            assert_plain_text(source.title().unwrap_or(""), guid);
        }
        for c in item.categories() {
            assert_plain_text(c.name(), guid);
        }
    }
}

#[test]
fn the_sanitiser_alone_neutralises_every_vector() {
    let base = url::Url::parse("https://ok.test/article.html").unwrap();
    for v in vectors() {
        let clean = feedsieve::sanitize::clean_html(&v, Some(&base));
        assert_safe_html(&clean, &v);
        assert_plain_text(&feedsieve::sanitize::plain_title(&v), &v);
    }
}

/// An article page with some vectors set between real paragraphs, so that the
/// extractor keeps them as part of the article.
fn article_page(n: usize, vectors: &[String]) -> String {
    let prose = "The council met on Monday to discuss the budget for the coming year, and members spoke at length about schools, roads and the new library that opened last spring.";
    let mut body = format!(
        "<!DOCTYPE html><html><head><title>Poisoned story {n} - Evil Site</title>\
         <meta property=\"og:title\" content=\"Poisoned story {n} {v}\"></head><body>\
         <nav><a href=\"/\">Home</a></nav><article><h1>Poisoned story {n}</h1>",
        v = vectors[0].replace('"', "&quot;")
    );
    for v in vectors {
        body.push_str(&format!(
            "<p>{prose}</p>\n{v}\n<p>{prose} Again, for story {n}.</p>\n"
        ));
    }
    body.push_str("</article><footer>Evil Site</footer></body></html>");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_vector_survives_from_article_pages() {
    let vectors = vectors();
    let web = FixtureServer::start().await;
    let chunks: Vec<&[String]> = vectors.chunks(10).collect();
    let mut feed = String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Poison pages</title><link>https://ok.test/</link><description>x</description>");
    let mut index = String::from("<!DOCTYPE html><html><body><main><ul>");
    for (n, chunk) in chunks.iter().enumerate() {
        web.set(
            &format!("/poison/story-number-{n}.html"),
            Behaviour::Body("text/html", article_page(n, chunk)),
        );
        feed.push_str(&format!(
            "<item><title>Story {n}</title><link>{{base}}/poison/story-number-{n}.html</link><guid>p-{n}</guid><description>Teaser…</description></item>"
        ));
        index.push_str(&format!(
            "<li class=\"card\"><h2><a href=\"/poison/story-number-{n}.html\">Poisoned story number {n} with a long headline</a></h2></li>"
        ));
    }
    feed.push_str("</channel></rss>");
    index.push_str("</ul></main></body></html>");
    web.set(
        "/poison/rss.xml",
        Behaviour::Body("application/rss+xml", feed.replace("{base}", &web.base)),
    );
    web.set("/poison/index.html", Behaviour::Body("text/html", index));
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[output]\npath = \"{out}\"\nmax_items = 1000\n[database]\npath = \"{db}\"\n[dedup]\nenabled = false\n\
         [[feed]]\nname = \"Poison full text\"\nurl = \"{b}/poison/rss.xml\"\nfull_text = true\n\
         [[page]]\nname = \"Poison page\"\nurl = \"{b}/poison/index.html\"\nmax_new = 100\n",
        out = dir.path().join("feed.xml").display(),
        db = dir.path().join("db.sqlite").display(),
        b = web.base
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, toml).unwrap();
    let ctx = Context::open(Config::load(&path).unwrap()).unwrap();
    run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();

    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_xml_chars(&text);
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    // Both sources published every page, with the article text (not the teaser).
    assert_eq!(channel.items().len(), 2 * chunks.len());
    for item in channel.items() {
        let guid = item.guid().map(|g| g.value()).unwrap_or("?");
        let desc = item.description().unwrap_or("");
        assert!(
            desc.contains("The council met on Monday"),
            "article text kept ({guid})"
        );
        assert_safe_html(desc, guid);
        assert_plain_text(item.title().unwrap_or(""), guid);
    }
}
