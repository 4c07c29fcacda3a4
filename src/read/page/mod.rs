//! Reading a web page that has no feed: which of its links are articles.
//!
//! A listing page is one or a few repeated structures (cards, list items, table
//! rows, heading + blurb blocks) holding the articles. Without configuration the
//! links are found in two steps ([`list`]): find the repeated item blocks of the
//! page's main region, then take each item's title link. Guards keep out what is
//! never an article: other sites, navigation, header, footer, aside and
//! share/tag/trending chrome, a form's labels and fieldsets, anchors marked as
//! tags, lists marking the page being read (`aria-current`), links to other
//! languages (`hreflang`), addresses the site's navigation links to (a dated story
//! excepted), a wiki's `Category:`/`Special:` pages, and section, tag, author,
//! pagination or utility paths. `[[page]] links = "selector"` pins the choice instead.

mod list;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use serde::Serialize;
use url::Url;

/// Path segments of pages that list or describe rather than tell a story.
const NON_ARTICLE_SEGMENTS: &[&str] = &[
    "tag",
    "tags",
    "category",
    "categories",
    "topic",
    "topics",
    "section",
    "author",
    "authors",
    "user",
    "users",
    "profile",
    "profiles",
    "member",
    "members",
    "page",
    "search",
    "about",
    "contact",
    "privacy",
    "terms",
    "login",
    "signin",
    "signup",
    "register",
    "subscribe",
    "account",
    "feed",
    "rss",
    "archive",
    "archives",
    "sitemap",
    "cookies",
    "advertise",
    "jobs",
    "careers",
    "help",
    "faq",
    "cart",
    "checkout",
    "ical",
    "ics",
];

/// Section landings: not an article themselves, but what is below them can be
/// (`/events` is a listing, `/events/spring-fair-2026` an event).
const SECTION_SEGMENTS: &[&str] = &[
    "newsletter",
    "newsletters",
    "shop",
    "store",
    "events",
    "podcasts",
    "video",
    "videos",
    "live",
    "weather",
    "games",
    "puzzles",
    "horoscope",
];

/// Class and id words of chrome whose links are not articles: a class or id
/// that is one of them, or a two-part name made with one (`site-header`, `nav-menu`,
/// `share-bar`) unless the other part only qualifies it (see [`QUALIFIERS`]).
const CHROME_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "header",
    "footer",
    "topbar",
    "breadcrumb",
    "breadcrumbs",
    "share",
    "social",
    "trending",
    "popular",
    "related",
    "tags",
    "tag-list",
    "category-strip",
    "categories",
    "pagination",
    "pager",
    "sidebar",
    "newsletter",
    "subscribe",
    "cookie",
    "advert",
    "promo",
    "sponsor",
    "comments",
    "author",
    "byline",
    "skip",
    "login",
];

/// The chrome words that name the site's navigation.
const NAVIGATION_WORDS: &[&str] = &["nav", "navbar", "navigation", "menu"];

/// Name parts that describe a block rather than make it chrome: `has-sidebar`,
/// `sticky-header` and `card-header` are not the site's sidebar or header.
const QUALIFIERS: &[&str] = &[
    "has",
    "no",
    "with",
    "without",
    "hide",
    "show",
    "sticky",
    "fixed",
    "transparent",
    "default",
    "full",
    "flex",
    "content",
    "card",
    "entry",
    "post",
    "item",
    "section",
    "table",
    "list",
];

/// Elements whose links are chrome wherever they appear (`header` and `footer`
/// only outside articles, sections and list items: there they head a story).
/// A form's `label` and `fieldset` hold its choices (a product's colours), not stories.
const CHROME_TAGS: &[&str] = &[
    "nav", "header", "footer", "aside", "button", "label", "fieldset",
];

/// Ancestors inside which a header or footer belongs to its block, not the site.
const SCOPING_TAGS: &[&str] = &["article", "main", "section", "li", "td"];

/// One link a page source follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLink {
    /// The article's address (absolute, without fragment).
    pub url: Url,
    /// Its title: the anchor text, or the card's title for an image or "Read more" link.
    pub text: String,
    /// The structure it was taken from (a [`Structure::selector`]).
    pub from: String,
}

/// A structure the links came from, for telling the user how they were found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Structure {
    /// The item blocks as a CSS selector (pinnable as `links = "…"`), or a
    /// description in parentheses for links found outside repeated blocks.
    pub selector: String,
    /// Links taken from it.
    pub links: usize,
}

/// The links of a listing page and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// Article links in page order, without duplicates.
    pub links: Vec<PageLink>,
    /// The structures they were taken from, most links first.
    pub structures: Vec<Structure>,
}

impl PageLinks {
    /// "12 links from article.card (10), ol > li (2)": for logs and `feedsieve links`.
    pub fn summary(&self) -> String {
        if self.links.is_empty() {
            return "no article links found; pin them with `links = \"css selector\"`".into();
        }
        let from: Vec<String> = self
            .structures
            .iter()
            .map(|s| format!("{} ({})", s.selector, s.links))
            .collect();
        let n = self.links.len();
        let s = if n == 1 { "" } else { "s" };
        format!("{n} link{s} from {}", from.join(", "))
    }
}

/// The links of a fetched listing page, as the daemon follows them: `selector`
/// (from `[[page]] links`) pins them, otherwise they are found.
pub fn find_links(body: &[u8], page: &Url, selector: Option<&str>) -> PageLinks {
    let html = String::from_utf8_lossy(body);
    let doc = Html::parse_document(&html);
    match selector.and_then(|s| Selector::parse(s).ok()) {
        Some(sel) => {
            let from = format!("{} (pinned)", selector.unwrap_or_default());
            let links = pinned_links(&doc, &sel, page, &from);
            let structures = vec![Structure {
                selector: from,
                links: links.len(),
            }];
            PageLinks { links, structures }
        }
        None => list::find(&doc, page),
    }
}

/// Article links of a listing page, in page order, without duplicates.
/// `selector` (from `[[page]] links`) pins the links; otherwise they are found.
pub fn article_links(html: &str, page: &Url, selector: Option<&str>) -> Vec<Url> {
    find_links(html.as_bytes(), page, selector)
        .links
        .into_iter()
        .map(|l| l.url)
        .collect()
}

/// The links the `[[page]] links` selector picks: the matched anchors themselves,
/// or the anchors inside the matched elements.
fn pinned_links(doc: &Html, sel: &Selector, page: &Url, from: &str) -> Vec<PageLink> {
    let mut out: Vec<PageLink> = Vec::new();
    let anchors = Selector::parse("a[href]").ok();
    for el in doc.select(sel) {
        let found: Vec<ElementRef<'_>> = if el.value().name() == "a" {
            vec![el]
        } else {
            anchors
                .as_ref()
                .map(|a| el.select(a).collect())
                .unwrap_or_default()
        };
        for a in found {
            let Some(url) = a.value().attr("href").and_then(|h| resolve(page, h)) else {
                continue;
            };
            if !out.iter().any(|l| l.url == url) {
                let text = list::shown_text(&a);
                out.push(PageLink {
                    url,
                    text,
                    from: from.to_string(),
                });
            }
        }
    }
    out
}

/// Absolute http(s) URL without fragment.
fn resolve(page: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let mut url = page.join(href).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

/// The same site: the same host, or hosts sharing their last two labels
/// (www.example.org and news.example.org).
fn same_site(page: &Url, url: &Url) -> bool {
    let (Some(a), Some(b)) = (page.host_str(), url.host_str()) else {
        return false;
    };
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let tail = |h: &str| {
        let labels: Vec<&str> = h.rsplitn(3, '.').collect();
        labels
            .into_iter()
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
            .to_ascii_lowercase()
    };
    a.contains('.') && tail(a) == tail(b)
}

/// The element or one of its ancestors is navigation, header, footer, aside or
/// share/tag/trending chrome. `seen` remembers the answer per element, so a page's
/// anchors share the walk up their common ancestors.
fn in_chrome(a: &ElementRef<'_>, seen: &mut HashMap<NodeId, bool>) -> bool {
    marked_above(a, seen, |el| {
        let scoped = || {
            el.ancestors()
                .filter_map(ElementRef::wrap)
                .any(|o| SCOPING_TAGS.contains(&o.value().name()))
        };
        is_chrome(el, scoped)
    })
}

/// The element or one of its ancestors is the site's navigation: a `nav`, a
/// navigation or menu role, or a class or id named as a menu (`main-menu`, `navbar`).
fn in_navigation(a: &ElementRef<'_>, seen: &mut HashMap<NodeId, bool>) -> bool {
    marked_above(a, seen, |el| {
        let v = el.value();
        v.name() == "nav"
            || v.attr("role")
                .is_some_and(|r| matches!(r, "navigation" | "menu" | "menubar"))
            || class_names(el)
                .any(|n| chrome_word(&n).is_some_and(|w| NAVIGATION_WORDS.contains(&w)))
    })
}

/// Whether `mark` holds for the element or an ancestor, remembered per element in `seen`.
fn marked_above<'a>(
    a: &ElementRef<'a>,
    seen: &mut HashMap<NodeId, bool>,
    mark: impl Fn(&ElementRef<'a>) -> bool,
) -> bool {
    // Up to the first element whose answer is known (a loop: pages nest deeply).
    let mut unknown: Vec<ElementRef<'a>> = Vec::new();
    let mut above = false;
    for el in std::iter::once(*a).chain(a.ancestors().filter_map(ElementRef::wrap)) {
        if let Some(&known) = seen.get(&el.id()) {
            above = known;
            break;
        }
        unknown.push(el);
    }
    // Then down again: an element is marked when it or anything above it is.
    for el in unknown.into_iter().rev() {
        above = above || mark(&el);
        seen.insert(el.id(), above);
    }
    above
}

/// The lower-cased class and id names of an element (`_` separates names too).
fn class_names<'a>(el: &ElementRef<'a>) -> impl Iterator<Item = String> + 'a {
    let v = el.value();
    v.attr("class")
        .into_iter()
        .chain(v.attr("id"))
        .flat_map(|s| s.split(|c: char| c.is_whitespace() || c == '_'))
        .map(str::to_ascii_lowercase)
}

/// Whether this one element is chrome; `scoped` tells whether it sits inside a
/// story block (where a header or footer is the block's own).
fn is_chrome(el: &ElementRef<'_>, scoped: impl Fn() -> bool) -> bool {
    let v = el.value();
    let name = v.name();
    // The page's own classes say how it is laid out, not what is chrome.
    if matches!(name, "html" | "body" | "main") {
        return false;
    }
    if CHROME_TAGS.contains(&name) {
        return !(matches!(name, "header" | "footer") && scoped());
    }
    if v.attr("role").is_some_and(|r| {
        matches!(
            r,
            "navigation" | "banner" | "contentinfo" | "complementary" | "menu"
        )
    }) {
        return true;
    }
    // An article's classes name its story's tags, category and author
    // (`tag-list`, `category-news`): they say what it is about, not that it is chrome.
    if name == "article" {
        return false;
    }
    for word in class_names(el) {
        let Some(hit) = chrome_word(&word) else {
            continue;
        };
        if !(matches!(hit, "header" | "footer") && scoped()) {
            return true;
        }
    }
    false
}

/// The chrome word a class or id name is, or is made with.
fn chrome_word(name: &str) -> Option<&'static str> {
    if let Some(c) = CHROME_WORDS.iter().find(|c| **c == name) {
        return Some(c);
    }
    let (first, second) = name.split_once('-')?;
    if second.contains('-') {
        return None;
    }
    let (word, other) = if CHROME_WORDS.contains(&first) {
        (first, second)
    } else {
        (second, first)
    };
    if QUALIFIERS.contains(&other) {
        return None;
    }
    CHROME_WORDS.iter().copied().find(|c| *c == word)
}

/// A path that can be an article: not the page itself or a section above it, not
/// a file, and no listing or utility segment.
fn article_path(page: &Url, url: &Url) -> bool {
    let path = url.path().trim_end_matches('/');
    let page_path = page.path().trim_end_matches('/');
    let page_dir = page_path.rsplit_once('/').map_or("", |(d, _)| d);
    if path.is_empty() || path == page_dir || page_path.starts_with(&format!("{path}/")) {
        return false;
    }
    if path == page_path && url.query() == page.query() {
        return false;
    }
    if url
        .query_pairs()
        .any(|(k, _)| matches!(k.as_ref(), "page" | "p" | "sort" | "order" | "filter"))
    {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if let Some((stem, ext)) = last.rsplit_once('.') {
        // `cart.php`, `login.aspx`: the utility page behind a script name.
        if NON_ARTICLE_SEGMENTS.contains(&stem.to_ascii_lowercase().as_str()) {
            return false;
        }
        let ext = ext.to_ascii_lowercase();
        if !matches!(
            ext.as_str(),
            "html" | "htm" | "shtml" | "php" | "asp" | "aspx"
        ) && ext.chars().all(|c| c.is_ascii_alphabetic())
        {
            return false;
        }
    }
    if SECTION_SEGMENTS.contains(&last.to_ascii_lowercase().as_str()) {
        return false;
    }
    // A segment the page's own path has at the same place is the site's scheme
    // (`/page/785/forms` listing `/page/1237/divorce`), not a listing marker.
    let own: Vec<&str> = page_path.split('/').collect();
    !path.split('/').enumerate().any(|(i, seg)| {
        if own.get(i) == Some(&seg) {
            return false;
        }
        if NON_ARTICLE_SEGMENTS.contains(&seg.to_ascii_lowercase().as_str()) {
            return true;
        }
        // A wiki's `Category:Physics` or `Special:Random` is not an article, unless the
        // page is itself such a page: a category lists its members, whatever their kind.
        own.get(i).and_then(|o| namespace(o)).is_none()
            && namespace(seg).is_some_and(|ns| {
                NON_ARTICLE_SEGMENTS.contains(&ns.as_str())
                    || WIKI_NAMESPACES.contains(&ns.as_str())
            })
    })
}

/// Wiki namespaces of pages that are not articles (besides [`NON_ARTICLE_SEGMENTS`]).
const WIKI_NAMESPACES: &[&str] = &[
    "special", "talk", "file", "image", "media", "template", "help", "portal", "module", "draft",
];

/// The lower-cased namespace of a wiki path segment (`Category:Physics` gives `category`).
fn namespace(seg: &str) -> Option<String> {
    let (ns, title) = seg.split_once(':')?;
    (!ns.is_empty() && !title.is_empty() && ns.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| ns.to_ascii_lowercase())
}
