//! RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and CDF from the lenient element tree.
//!
//! The rules are the ones feed readers converge on (and feedparser, the reference,
//! implements), so a feed reads the same here as in the reader a subscriber used
//! before: items are found wherever they are (`<item>` beside `<channel>` in RSS 1.0),
//! RSS 1.0 `rdf:about` is the id, a permalink `<guid>` is the link when there is no
//! `<link>`, `dc:`/`dcterms:` fields stand in for the core ones, `xml:base` applies
//! to every link below it, and an element nested in an unknown one still counts.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use url::Url;

use super::date::parse_date;
use super::xml::{decode_entities, Document, Element, Node};
use super::{Enclosure, ParsedFeed, RawItem};

/// What was read from one document, before it becomes a [`ParsedFeed`].
pub struct Reading {
    /// The feed.
    pub feed: ParsedFeed,
    /// True when the root element names a feed format (even with no items).
    pub recognised: bool,
}

#[derive(Default)]
struct Fields {
    title: Option<String>,
    /// `media:title`, used only when there is no other title.
    media_title: Option<String>,
    /// Nesting depth the title came from: a shallower one replaces it.
    title_depth: usize,
    link: Option<String>,
    /// Set by a `<link>` element itself (which beats a permalink guid).
    id: Option<String>,
    summary: Option<String>,
    content: Option<String>,
    author: Option<String>,
    published: Option<Option<DateTime<Utc>>>,
    updated: Option<Option<DateTime<Utc>>>,
    categories: Vec<String>,
    enclosures: Vec<Enclosure>,
    ttl: Option<u32>,
}

/// Reads the feed in `doc`; `base` is where it was fetched from (http(s) only).
pub fn read(doc: &Document, base: Option<&Url>) -> Reading {
    let root = doc
        .roots
        .iter()
        .find(|r| matches!(r.name.as_str(), "rss" | "feed" | "rdf:rdf" | "channel"))
        .or_else(|| doc.roots.first());
    let mut feed = Fields::default();
    let mut entries: Vec<Fields> = Vec::new();
    let mut recognised = false;
    if let Some(root) = root {
        recognised = matches!(root.name.as_str(), "rss" | "feed")
            || (root.name == "rdf:rdf"
                && (root
                    .elements()
                    .any(|e| matches!(e.name.as_str(), "channel" | "item"))
                    || root.attr("xmlns").is_some_and(|ns| {
                        ns.contains("purl.org/rss/1.0")
                            || ns.contains("my.netscape.com/rdf/simple/0.9")
                    })));
        if matches!(root.name.as_str(), "entry" | "item") {
            // A lone Atom entry document (RFC 4287 §4.1.2) is a feed of one.
            let holder = Element {
                children: vec![Node::Elem(root.clone())],
                ..Element::default()
            };
            walk(&holder, &mut feed, Some(&mut entries), base);
        } else {
            let base = child_base(base, root);
            cdf_common(root, &mut feed, base.as_ref());
            walk(root, &mut feed, Some(&mut entries), base.as_ref());
        }
    }
    let mut items: Vec<RawItem> = entries.into_iter().map(into_item).collect();
    if cut_in_its_key(&doc.open_at_end, items.last()) {
        items.pop();
    }
    Reading {
        feed: ParsedFeed {
            title: feed.title,
            link: feed.link,
            ttl: feed
                .ttl
                .filter(|m| *m > 0)
                .map(|m| std::time::Duration::from_secs(u64::from(m) * 60)),
            items,
            cut_short: !doc.open_at_end.is_empty(),
        },
        recognised,
    }
}

/// Whether the item a document ended in may have a cut key: the text ended
/// inside its GUID, id, link or title (an item without GUID or link is keyed
/// by its title), or between its fields before it had a GUID or link (a key
/// made from what came would store it a second time once the whole document
/// comes). An item cut in its description is kept: its key is whole, and the
/// next fetch completes its text.
fn cut_in_its_key(open_at_end: &[String], last: Option<&RawItem>) -> bool {
    let Some(at) = open_at_end
        .iter()
        .rposition(|e| e == "item" || e == "entry")
    else {
        return false;
    };
    match open_at_end.get(at + 1).map(String::as_str) {
        Some("guid" | "id" | "link" | "title") => true,
        Some(_) => false,
        None => last.is_some_and(|i| i.guid.is_none() && i.link.is_none()),
    }
}

fn into_item(f: Fields) -> RawItem {
    RawItem {
        guid: f.id.filter(|s| !s.is_empty()),
        link: f.link,
        title: f.title.or(f.media_title),
        summary: f.summary.or_else(|| f.content.clone()),
        content: f.content,
        author: f.author,
        published: f.published.flatten(),
        updated: f.updated.flatten(),
        categories: f.categories,
        enclosures: f.enclosures,
    }
}

/// The base in force inside `e`: its `xml:base` resolved against the parent's.
fn child_base(parent: Option<&Url>, e: &Element) -> Option<Url> {
    match e.attr("xml:base").map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => match parent {
            Some(p) => p.join(b).ok().or_else(|| Some(p.clone())),
            None => Url::parse(b).ok(),
        },
        None => parent.cloned(),
    }
}

/// Resolves `href` against `base`; with no base (a local file) it is kept as written.
/// Script and data URLs are dropped.
fn resolve(base: Option<&Url>, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let lower = href.to_ascii_lowercase();
    if lower.starts_with("javascript:")
        || lower.starts_with("data:")
        || lower.starts_with("vbscript:")
    {
        return None;
    }
    // A web address that cannot be parsed ("http://exa[mple/") is dropped rather than
    // published; a relative one with nothing to resolve against is kept as written.
    // Other schemes the URL parser does not know (at://did:plc:…) are kept as written.
    let web = lower.starts_with("http:") || lower.starts_with("https:");
    let parsed = match base {
        Some(b) => b.join(href),
        None => Url::parse(href),
    };
    let joined = match parsed {
        Ok(u) => u.to_string(),
        Err(url::ParseError::RelativeUrlWithoutBase) => href.to_string(),
        Err(_) if web => return None,
        Err(_) => href.to_string(),
    };
    // Tracking parameters are kept here (this is what the source says) and dropped
    // when publishing.
    Some(joined)
}

/// CDF puts the link and date in attributes of `<channel>` / `<item>`.
fn cdf_common(e: &Element, f: &mut Fields, base: Option<&Url>) {
    if let Some(m) = e.attr("lastmod") {
        f.updated = Some(parse_date(m));
    }
    if !matches!(e.name.as_str(), "channel" | "item") {
        return;
    }
    if let Some(h) = e.attr("href") {
        f.link = resolve(base, h);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Html,
    Xhtml,
}

fn kind_of(e: &Element, default: Kind) -> Kind {
    match e.attr("type").map(|t| t.trim().to_ascii_lowercase()) {
        Some(t) => match t.as_str() {
            "text" | "text/plain" => Kind::Text,
            "html" | "text/html" | "escaped" => Kind::Html,
            "xhtml" | "application/xhtml+xml" => Kind::Xhtml,
            _ if t.starts_with("text/") => Kind::Text,
            _ => default,
        },
        None => default,
    }
}

/// Atom 0.3 `mode="base64"`, or an Atom content type that is neither text nor XML
/// (RFC 4287 §3.1.1: such content is base64).
fn is_base64(e: &Element) -> bool {
    if let Some(m) = e.attr("mode") {
        return m.trim().eq_ignore_ascii_case("base64");
    }
    e.attr("type").is_some_and(|t| {
        let t = t.trim().to_ascii_lowercase();
        t.contains('/') && !t.starts_with("text/") && !t.ends_with("xml")
    })
}

/// The element's content as HTML: decoded text is taken as the HTML it carries (what
/// RSS publishers mean), embedded child elements are re-serialised; Atom `type="text"`
/// is escaped; `mode="base64"` is decoded.
fn html_of(e: &Element, default: Kind) -> String {
    let kind = kind_of(e, default);
    if is_base64(e) {
        let raw: String = e.text().chars().filter(|c| !c.is_whitespace()).collect();
        // Text that does not decode to UTF-8 was not base64 after all.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(raw.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some(s) = decoded {
            return if kind == Kind::Text { escape(&s) } else { s };
        }
    }
    match kind {
        Kind::Text if !e.has_elements() => escape(&e.text()),
        Kind::Xhtml => {
            let divs: Vec<&Element> = e.elements().collect();
            let only_div = divs.len() == 1
                && divs[0].local.eq_ignore_ascii_case("div")
                && e.children.iter().all(|c| {
                    matches!(c, Node::Elem(_)) || matches!(c, Node::Text(t) if t.trim().is_empty())
                });
            if only_div {
                divs[0].inner_markup()
            } else {
                e.inner_markup()
            }
        }
        _ => {
            let mut out = String::new();
            raw_html(e, &mut out);
            out
        }
    }
}

fn raw_html(e: &Element, out: &mut String) {
    for c in &e.children {
        match c {
            Node::Text(t) => out.push_str(t),
            Node::Elem(child) => {
                out.push('<');
                out.push_str(&child.local);
                for (k, v) in &child.attrs {
                    if k.starts_with("xmlns") {
                        continue;
                    }
                    out.push(' ');
                    out.push_str(k.rsplit(':').next().unwrap_or(k));
                    out.push_str("=\"");
                    out.push_str(&v.replace('"', "&quot;"));
                    out.push('"');
                }
                out.push('>');
                raw_html(child, out);
                out.push_str("</");
                out.push_str(&child.local);
                out.push('>');
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Plain text from HTML: tags, comments and script/style bodies dropped, entities
/// decoded, whitespace folded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let b = html.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        let next = b.get(lt + 1).copied().unwrap_or(b' ');
        if b[lt..].starts_with(b"<!--") {
            out.push_str(&html[last..lt]);
            // An unclosed comment hides the rest, as in a browser.
            i = memchr::memmem::find(&b[lt + 4..], b"-->").map_or(b.len(), |e| lt + 4 + e + 3);
            last = i;
            continue;
        }
        let name_len = b[lt + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let name = &b[lt + 1..lt + 1 + name_len];
        let raw_text: Option<&[u8]> = if name.eq_ignore_ascii_case(b"script") {
            Some(b"</script")
        } else if name.eq_ignore_ascii_case(b"style") {
            Some(b"</style")
        } else {
            None
        };
        if let Some(close) = raw_text {
            out.push_str(&html[last..lt]);
            i = crate::util::find_ascii_ci(&b[lt..], close)
                .and_then(|e| memchr::memchr(b'>', &b[lt + e..]).map(|g| lt + e + g + 1))
                .unwrap_or(b.len());
            last = i;
            continue;
        }
        let markup = next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?';
        if markup && crate::sanitize::opens_markup(b, lt) {
            if let Some(gt) = memchr::memchr(b'>', &b[lt..]) {
                out.push_str(&html[last..lt]);
                out.push(' ');
                i = lt + gt + 1;
                last = i;
                continue;
            }
        }
        i = lt + 1;
    }
    out.push_str(&html[last..]);
    let decoded = if out.contains('&') {
        decode_entities(&out, &Default::default())
    } else {
        out
    };
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The element's own character data (not that of child elements: markup inside a
/// `<guid>` or a date is not part of its value).
fn text_value(e: &Element) -> Option<String> {
    let mut t = String::new();
    for c in &e.children {
        if let Node::Text(s) = c {
            t.push_str(s);
        }
    }
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn title_of(e: &Element) -> Option<String> {
    let html = html_of(e, Kind::Html);
    let t = html_to_text(&html);
    (!t.is_empty()).then_some(t)
}

/// Walks `e`'s children into `f`. `entries` is `Some` at feed level, where items
/// start new entries; inside an entry it is `None`.
fn walk(e: &Element, f: &mut Fields, entries: Option<&mut Vec<Fields>>, base: Option<&Url>) {
    walk_at(e, f, entries, base, 0);
}

fn walk_at(
    e: &Element,
    f: &mut Fields,
    mut entries: Option<&mut Vec<Fields>>,
    base: Option<&Url>,
    depth: usize,
) {
    for c in e.elements() {
        let cbase = child_base(base, c);
        let b = cbase.as_ref();
        match c.name.as_str() {
            "item" | "entry" => {
                if let Some(list) = entries.as_deref_mut() {
                    list.push(read_entry(c, b));
                }
            }
            "image" | "textinput" | "source" => {}
            "media:title" => {
                if f.media_title.is_none() {
                    f.media_title = title_of(c);
                }
            }
            "title" | "dc:title" => {
                if f.title.is_none() || depth < f.title_depth {
                    if let Some(t) = title_of(c) {
                        f.title = Some(t);
                        f.title_depth = depth;
                    }
                }
            }
            "link" => read_link(c, f, b),
            "guid" | "id" => read_id(c, f, b),
            "pubdate" | "published" | "issued" | "dcterms:issued" => {
                f.published = Some(text_value(c).and_then(|t| parse_date(&t)));
            }
            "updated" | "modified" | "lastbuilddate" | "dc:date" | "dcterms:modified" => {
                f.updated = Some(text_value(c).and_then(|t| parse_date(&t)));
            }
            // The first description-like element is the summary (a second one is
            // usually the same text again, or the full content).
            "description" | "summary" | "dc:description" | "abstract" | "itunes:summary"
            | "media:description" => {
                if f.summary.is_none() {
                    f.summary = summary_of(c);
                }
            }
            "content:encoded" | "content" | "xhtml:body" | "body" | "fullitem" => {
                if let Some(h) = content_of(c) {
                    f.content = Some(h);
                }
            }
            "author" | "dc:creator" | "dc:author" | "managingeditor" | "itunes:author" => {
                if f.author.is_none() {
                    f.author = author_of(c);
                }
            }
            "category" | "dc:subject" => read_category(c, f),
            "enclosure" | "media:content" => {
                read_enclosure(c, f, b);
                walk_at(c, f, None, b, depth + 1);
            }
            "ttl" => {
                f.ttl = text_value(c).and_then(|t| t.parse().ok());
            }
            _ => walk_at(c, f, entries.as_deref_mut(), b, depth + 1),
        }
    }
}

/// One `<item>`/`<entry>`, read on its own: RSS 1.0 `rdf:about` is its id unless
/// a guid or id inside says otherwise.
fn read_entry(c: &Element, base: Option<&Url>) -> Fields {
    let mut item = Fields::default();
    if let Some(about) = c.attr("rdf:about").map(str::trim).filter(|a| !a.is_empty()) {
        item.id = Some(about.to_string());
    }
    cdf_common(c, &mut item, base);
    walk(c, &mut item, None, base);
    item
}

/// A `<link>`: an Atom-style one (URL in `href`, `url` or `uri`) is the page when
/// it is an HTML alternate and an enclosure when it says so; a plain one holds the
/// URL as text.
fn read_link(c: &Element, f: &mut Fields, b: Option<&Url>) {
    // Publishers also write the URL in `url` or `uri`.
    if let Some(href) = c
        .attr("url")
        .or_else(|| c.attr("uri"))
        .or_else(|| c.attr("href"))
    {
        let rel = c.attr("rel").map(str::trim).unwrap_or("alternate");
        let ty = c
            .attr("type")
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "text/html".into());
        if rel == "alternate"
            && matches!(
                ty.as_str(),
                "text/html" | "application/xhtml+xml" | "html" | "xhtml"
            )
        {
            f.link = resolve(b, href);
        } else if rel == "enclosure" {
            if let Some(url) = resolve(b, href) {
                f.enclosures.push(Enclosure {
                    url,
                    mime_type: c.attr("type").map(str::to_string),
                    length: c.attr("length").and_then(|l| l.trim().parse().ok()),
                });
            }
        }
    } else if let Some(t) = text_value(c) {
        f.link = resolve(b, &t.replace("&amp;", "&"));
    }
}

/// A `<guid>` or `<id>`: the entry's id, and its link when it is a permalink and
/// there is no `<link>`.
fn read_id(c: &Element, f: &mut Fields, b: Option<&Url>) {
    let permalink = c.attr("ispermalink").is_none_or(|v| v.trim() == "true");
    if let Some(v) = text_value(c) {
        let resolved = if permalink { resolve(b, &v) } else { None };
        // A permalink guid (the RSS default) is the article's address
        // when there is no <link>, as in feedparser and Miniflux. Links
        // that are not web addresses are left out when publishing.
        if f.link.is_none() {
            f.link.clone_from(&resolved);
        }
        // Ids are opaque and must stay stable: only a relative one is
        // resolved (against xml:base), an absolute one is kept byte for byte.
        let relative = matches!(Url::parse(&v), Err(url::ParseError::RelativeUrlWithoutBase));
        f.id = Some(match resolved {
            Some(r) if relative => r,
            _ => v,
        });
    }
}

/// A description-like element's HTML (Atom's `<summary>` is text unless it says
/// otherwise), unless it is blank.
fn summary_of(c: &Element) -> Option<String> {
    let default = if c.name == "summary" {
        Kind::Text
    } else {
        Kind::Html
    };
    non_blank_html(c, default)
}

/// A content element's HTML (Atom's `<content>` is text unless it says otherwise),
/// unless it is blank.
fn content_of(c: &Element) -> Option<String> {
    let default = if c.name == "content" {
        Kind::Text
    } else {
        Kind::Html
    };
    non_blank_html(c, default)
}

/// The element's HTML, trimmed, unless there is nothing but whitespace.
fn non_blank_html(c: &Element, default: Kind) -> Option<String> {
    let h = html_of(c, default);
    (!h.trim().is_empty()).then(|| h.trim().to_string())
}

/// An author's name as plain text: an Atom `<name>` inside, else the element's text.
fn author_of(c: &Element) -> Option<String> {
    let name = c
        .elements()
        .find(|n| n.name == "name")
        .and_then(text_value)
        .or_else(|| text_value(c));
    name.map(|n| html_to_text(&n)).filter(|n| !n.is_empty())
}

/// A category (Atom `term` or the text), each one once.
fn read_category(c: &Element, f: &mut Fields) {
    let term = c
        .attr("term")
        .map(str::to_string)
        .or_else(|| text_value(c))
        .map(|t| t.trim().to_string());
    if let Some(t) = term.filter(|t| !t.is_empty()) {
        if !f.categories.contains(&t) {
            f.categories.push(t);
        }
    }
}

/// An `<enclosure>` or `<media:content>`, unless one with the same URL was seen.
fn read_enclosure(c: &Element, f: &mut Fields, b: Option<&Url>) {
    if let Some(url) = c
        .attr("url")
        .or_else(|| c.attr("href"))
        .and_then(|u| resolve(b, u))
    {
        if !f.enclosures.iter().any(|e| e.url == url) {
            f.enclosures.push(Enclosure {
                url,
                mime_type: c.attr("type").map(str::to_string).filter(|t| !t.is_empty()),
                length: c
                    .attr("length")
                    .or_else(|| c.attr("filesize"))
                    .and_then(|l| l.trim().parse().ok()),
            });
        }
    }
}

/// A feed URL advertised by an HTML page (`<link rel="alternate" type="…rss/atom…">`).
pub fn discover_feed(doc: &Document, base: Option<&Url>) -> Option<String> {
    fn find(e: &Element, base: Option<&Url>) -> Option<String> {
        if e.local.eq_ignore_ascii_case("link") {
            let rel = e.attr("rel").unwrap_or("").to_ascii_lowercase();
            let ty = e.attr("type").unwrap_or("").to_ascii_lowercase();
            if rel.split_whitespace().any(|r| r == "alternate")
                && (ty.contains("rss")
                    || ty.contains("atom")
                    || ty.contains("feed+json")
                    || ty.contains("rdf"))
            {
                if let Some(h) = e.attr("href").and_then(|h| resolve(base, h)) {
                    return Some(h);
                }
            }
        }
        e.elements().find_map(|c| find(c, base))
    }
    doc.roots.iter().find_map(|r| find(r, base))
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn text_of_html_drops_scripts_styles_and_comments() {
        assert_eq!(
            html_to_text("safe<script>alert('x')</script> <style>p{}</style>text<!-- c > d -->!"),
            "safe text!"
        );
        assert_eq!(
            html_to_text("a &lt; b <b>bold</b><!-- never closed"),
            "a < b bold"
        );
        assert_eq!(html_to_text("<scripts are not tags> x"), "x");
    }
}
