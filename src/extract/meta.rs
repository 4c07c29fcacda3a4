//! Article metadata: JSON-LD (`NewsArticle` and kin), Open Graph, `article:*` and
//! `<meta name>` tags, `<time>`, `<h1>`, `<title>` without the site-name suffix.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use scraper::{ElementRef, Html};
use serde_json::Value;
use url::Url;

/// What the page says about itself.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    /// Headline.
    pub title: Option<String>,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Author names, comma separated.
    pub author: Option<String>,
    /// `<link rel=canonical>` or `og:url`, absolute.
    pub canonical: Option<String>,
    /// Outlet name.
    pub site_name: Option<String>,
    /// Lead image, absolute.
    pub image: Option<String>,
    /// The page says it is a discussion (JSON-LD or microdata type
    /// `DiscussionForumPosting` or `QAPage`): its posts are its content.
    pub discussion: bool,
}

/// Schema.org types of a page whose posts are its content (a forum thread,
/// a question with its answers).
const DISCUSSION_TYPES: &[&str] = &["DiscussionForumPosting", "QAPage"];

/// JSON-LD types that describe an article.
const ARTICLE_TYPES: &[&str] = &[
    "Article",
    "NewsArticle",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "BlogPosting",
    "LiveBlogPosting",
    "TechArticle",
    "ScholarlyArticle",
    "Report",
    "SocialMediaPosting",
];

/// Reads the metadata of a parsed page.
pub fn read_meta(doc: &Html, base: &Url) -> Meta {
    let mut m = Meta::default();
    let page = Collected::from_page(doc, base);
    m.discussion = page.discussion_itemtype;
    for raw in &page.ld_json {
        if let Ok(v) = serde_json::from_str::<Value>(raw.trim()) {
            let mut discussions = Vec::new();
            collect_typed(&v, DISCUSSION_TYPES, &mut discussions, 0);
            m.discussion |= !discussions.is_empty();
            let mut found = Vec::new();
            collect_typed(&v, ARTICLE_TYPES, &mut found, 0);
            for a in found {
                fill_from_jsonld(&mut m, a, base);
            }
            if m.site_name.is_none() {
                m.site_name = find_site_name(&v);
            }
        }
    }
    fill_from_tags(&mut m, &page.tags, base);
    if m.published.is_none() {
        m.published = page.time;
    }
    let tags = &page.tags;
    m.canonical = page
        .canonical
        .or_else(|| tags.get("og:url").and_then(|u| absolute(base, &u)));
    if m.title.is_none() {
        m.title = match (page.h1, page.title) {
            (Some(h), Some(t)) if !h.is_empty() && t.contains(&h) => Some(h),
            (_, Some(t)) if !t.is_empty() => Some(strip_site_suffix(&t, m.site_name.as_deref())),
            (Some(h), _) if !h.is_empty() => Some(h),
            _ => None,
        };
    }
    m.title = m
        .title
        .map(|t| strip_site_suffix(&t, m.site_name.as_deref()));
    m
}

/// What the rules of [`read_meta`] look at, gathered in one walk over the
/// page's elements.
#[derive(Default)]
struct Collected {
    /// `<meta>` tags by `property`, `name` or `itemprop`.
    tags: MetaTags,
    /// The JSON-LD scripts.
    ld_json: Vec<String>,
    /// The first `<time datetime>` that parses.
    time: Option<DateTime<Utc>>,
    /// The first `<link rel=canonical>`, absolute.
    canonical: Option<String>,
    /// The first `<h1>`'s text.
    h1: Option<String>,
    /// The `<title>`.
    title: Option<String>,
    /// Some element's microdata `itemtype` is a [`DISCUSSION_TYPES`] one.
    discussion_itemtype: bool,
}

impl Collected {
    /// Walks the page's elements once; `base` makes the canonical URL absolute.
    fn from_page(doc: &Html, base: &Url) -> Collected {
        let mut c = Collected::default();
        for node in doc.tree.root().descendants() {
            let Some(el) = ElementRef::wrap(node) else {
                continue;
            };
            let v = el.value();
            if let Some(t) = v.attr("itemtype") {
                let name = t.trim_end_matches('/').rsplit('/').next();
                c.discussion_itemtype |= name.is_some_and(|n| DISCUSSION_TYPES.contains(&n));
            }
            match v.name() {
                "meta" => {
                    let key = v
                        .attr("property")
                        .or_else(|| v.attr("name"))
                        .or_else(|| v.attr("itemprop"));
                    if let (Some(k), Some(content)) = (key, v.attr("content")) {
                        c.tags.add(&k.to_ascii_lowercase(), content);
                    }
                }
                "script"
                    if v.attr("type")
                        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
                {
                    c.ld_json.push(el.text().collect::<String>());
                }
                "time" if c.time.is_none() => {
                    c.time = v.attr("datetime").and_then(parse_date);
                }
                "link"
                    if c.canonical.is_none()
                        && v.attr("rel")
                            .is_some_and(|r| r.eq_ignore_ascii_case("canonical")) =>
                {
                    c.canonical = v.attr("href").and_then(|h| absolute(base, h));
                }
                "h1" if c.h1.is_none() => c.h1 = Some(text_of(el)),
                "title" if c.title.is_none() => c.title = Some(text_of(el)),
                _ => {}
            }
        }
        c
    }
}

/// What JSON-LD left unsaid, from the `<meta>` tags: title, site name,
/// publication time, author, lead image.
fn fill_from_tags(m: &mut Meta, tags: &MetaTags, base: &Url) {
    m.title = m
        .title
        .take()
        .or_else(|| tags.get("og:title"))
        .or_else(|| tags.get("twitter:title"))
        .or_else(|| tags.get("headline"));
    m.site_name = m
        .site_name
        .take()
        .or_else(|| tags.get("og:site_name"))
        .or_else(|| tags.get("application-name"));
    if m.published.is_none() {
        m.published = [
            "article:published_time",
            "og:article:published_time",
            "datepublished",
            "pubdate",
            "publishdate",
            "date",
            "dc.date",
            "dc.date.issued",
            "sailthru.date",
            "parsely-pub-date",
        ]
        .iter()
        .find_map(|k| tags.get(k).and_then(|d| parse_date(&d)));
    }
    if m.author.is_none() {
        m.author = tags
            .get("author")
            .or_else(|| tags.get("article:author"))
            .or_else(|| tags.get("parsely-author"))
            .filter(|a| !a.starts_with("http"));
    }
    if m.image.is_none() {
        m.image = tags
            .get("og:image")
            .or_else(|| tags.get("twitter:image"))
            .and_then(|u| absolute(base, &u));
    }
}

/// Text of an element, whitespace folded.
fn text_of(el: ElementRef<'_>) -> String {
    el.text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn absolute(base: &Url, href: &str) -> Option<String> {
    let u = base.join(href.trim()).ok()?;
    matches!(u.scheme(), "http" | "https")
        .then(|| crate::sanitize::strip_tracking(u.as_str()).into_owned())
}

/// Removes a trailing (or leading) " - Site", " | Site", " — Site" from a title.
pub fn strip_site_suffix(title: &str, site: Option<&str>) -> String {
    let t = title.trim();
    if let Some(site) = site.map(str::trim).filter(|s| !s.is_empty()) {
        let lt = t.to_lowercase();
        let ls = site.to_lowercase();
        for sep in [" - ", " | ", " – ", " — ", " :: ", " · ", " • ", " / "] {
            let suffix = format!("{sep}{ls}");
            if lt.ends_with(&suffix) && lt.len() > suffix.len() {
                return t[..t.len() - suffix.len()].trim_end().to_string();
            }
            let prefix = format!("{ls}{sep}");
            if lt.starts_with(&prefix) && lt.len() > prefix.len() {
                return t[prefix.len()..].trim_start().to_string();
            }
        }
    }
    t.to_string()
}

#[derive(Default)]
struct MetaTags(Vec<(String, String)>);

impl MetaTags {
    fn add(&mut self, k: &str, v: &str) {
        self.0.push((k.to_string(), v.to_string()));
    }
    fn get(&self, k: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, v)| key == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    }
}

/// Whether the object's `@type` (a string or a list) is one of `types`.
fn is_type(v: &Value, types: &[&str]) -> bool {
    match v.get("@type") {
        Some(Value::String(t)) => types.contains(&t.as_str()),
        Some(Value::Array(ts)) => ts
            .iter()
            .any(|t| t.as_str().is_some_and(|t| types.contains(&t))),
        _ => false,
    }
}

/// The objects of one of `types` in a JSON-LD document, its `@graph` lists
/// and `mainEntity` objects.
fn collect_typed<'a>(v: &'a Value, types: &[&str], out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Array(items) => items
            .iter()
            .for_each(|i| collect_typed(i, types, out, depth + 1)),
        Value::Object(o) => {
            if is_type(v, types) {
                out.push(v);
            }
            if let Some(g) = o.get("@graph") {
                collect_typed(g, types, out, depth + 1);
            }
            if let Some(g) = o.get("mainEntity") {
                collect_typed(g, types, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn find_site_name(v: &Value) -> Option<String> {
    let objs: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => match o.get("@graph") {
            Some(Value::Array(a)) => a.iter().collect(),
            _ => vec![v],
        },
        _ => vec![],
    };
    objs.into_iter()
        .find(|o| o.get("@type").and_then(Value::as_str) == Some("WebSite"))
        .and_then(|o| o.get("name").and_then(Value::as_str))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(a) => a.iter().find_map(str_of),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("url"))
            .or_else(|| o.get("@id"))
            .and_then(str_of),
        _ => None,
    }
}

fn names_of(v: &Value) -> Option<String> {
    let names: Vec<String> = match v {
        Value::Array(a) => a.iter().filter_map(str_of).collect(),
        other => str_of(other).into_iter().collect(),
    };
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| !n.starts_with("http"))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn fill_from_jsonld(m: &mut Meta, a: &Value, base: &Url) {
    if m.title.is_none() {
        m.title = a
            .get("headline")
            .or_else(|| a.get("name"))
            .and_then(str_of)
            .map(|t| decode_entities(&t));
    }
    if m.published.is_none() {
        m.published = a
            .get("datePublished")
            .or_else(|| a.get("dateCreated"))
            .and_then(Value::as_str)
            .and_then(parse_date);
    }
    if m.author.is_none() {
        m.author = a.get("author").and_then(names_of);
    }
    if m.image.is_none() {
        m.image = a
            .get("image")
            .and_then(str_of)
            .and_then(|u| absolute(base, &u));
    }
    if m.site_name.is_none() {
        m.site_name = a
            .get("publisher")
            .and_then(str_of)
            .filter(|s| !s.starts_with("http"));
    }
}

/// JSON-LD strings sometimes carry HTML entities (`&#x27;`): decode them.
fn decode_entities(s: &str) -> String {
    if s.contains('&') {
        let frag = Html::parse_fragment(s);
        frag.root_element().text().collect()
    } else {
        s.to_string()
    }
}

/// Parses the date formats found in page metadata.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc());
        }
    }
    let day = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(html: &str) -> Meta {
        read_meta(
            &Html::parse_document(html),
            &Url::parse("https://news.test/a/b.html").unwrap(),
        )
    }

    #[test]
    fn jsonld_news_article_in_a_graph() {
        let m = meta(
            r#"<script type="application/ld+json">{"@graph":[{"@type":"WebSite","name":"The Test"},
            {"@type":["NewsArticle"],"headline":"Rates rise","datePublished":"2025-03-01T10:00:00+01:00",
            "author":[{"@type":"Person","name":"A. Writer"},{"name":"B. Writer"}],"image":{"url":"/i.jpg"}}]}</script>"#,
        );
        assert_eq!(m.title.as_deref(), Some("Rates rise"));
        assert_eq!(m.author.as_deref(), Some("A. Writer, B. Writer"));
        assert_eq!(m.site_name.as_deref(), Some("The Test"));
        assert_eq!(m.image.as_deref(), Some("https://news.test/i.jpg"));
        assert_eq!(
            m.published.map(|d| d.to_rfc3339()),
            Some("2025-03-01T09:00:00+00:00".into())
        );
    }

    #[test]
    fn open_graph_time_and_canonical() {
        let m = meta(
            r#"<head><meta property="og:title" content="Storm hits coast"><meta property="og:site_name" content="Herald">
            <link rel="canonical" href="/story?utm_source=x"></head><body><time datetime="2024-12-01">1 Dec</time></body>"#,
        );
        assert_eq!(m.title.as_deref(), Some("Storm hits coast"));
        assert_eq!(m.canonical.as_deref(), Some("https://news.test/story"));
        assert_eq!(
            m.published.map(|d| d.date_naive().to_string()),
            Some("2024-12-01".into())
        );
    }

    #[test]
    fn title_loses_the_site_name() {
        let m = meta("<title>Bridge reopens - PRESS AI WORLD</title><meta property='og:site_name' content='PRESS AI WORLD'>");
        assert_eq!(m.title.as_deref(), Some("Bridge reopens"));
        assert_eq!(
            strip_site_suffix("Herald | Bridge reopens", Some("Herald")),
            "Bridge reopens"
        );
        assert_eq!(
            strip_site_suffix("Bridge - reopens", None),
            "Bridge - reopens"
        );
    }
}
