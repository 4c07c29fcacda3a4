//! Reading a web page that has no feed: which of its links are articles.
//!
//! Without configuration a link counts as an article when it stays on the site,
//! is not in navigation, header, footer, aside or share/tag/category chrome, does
//! not point at a section, tag, author, pagination or utility page, and looks like
//! an article: a headline-like anchor text, a slug or date path, and extra weight
//! when the same card structure repeats around it. `[[page]] links = "selector"`
//! pins the choice instead.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};
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
    "newsletter",
    "newsletters",
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

/// Class and id words of chrome whose links are not articles.
const CHROME_WORDS: &[&str] = &[
    "nav",
    "menu",
    "header",
    "footer",
    "topbar",
    "breadcrumb",
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
    "widget",
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

/// Elements whose links are chrome wherever they appear.
const CHROME_TAGS: &[&str] = &["nav", "header", "footer", "aside", "form", "button"];

/// Article links of a listing page, in page order, without duplicates.
/// `selector` (from `[[page]] links`) pins the links; otherwise they are found.
pub fn article_links(html: &str, page: &Url, selector: Option<&str>) -> Vec<Url> {
    let doc = Html::parse_document(html);
    if let Some(sel) = selector.and_then(|s| Selector::parse(s).ok()) {
        return pinned_links(&doc, &sel, page);
    }
    let Ok(anchors) = Selector::parse("a[href]") else {
        return Vec::new();
    };
    // How often each card shape (the anchor's enclosing block: tag + classes)
    // occurs: a listing repeats its card.
    let mut shapes: HashMap<String, usize> = HashMap::new();
    let links: Vec<(ElementRef<'_>, Url)> = doc
        .select(&anchors)
        .filter_map(|a| Some((a, resolve(page, a.value().attr("href")?)?)))
        .collect();
    for (a, _) in &links {
        *shapes.entry(card_shape(a)).or_default() += 1;
    }
    let mut scored: Vec<(Url, f32)> = Vec::new();
    for (a, url) in &links {
        if !same_site(page, url) || in_chrome(a) || !article_path(page, url) {
            continue;
        }
        let score = link_score(a, url, &shapes);
        if let Some(existing) = scored.iter_mut().find(|(u, _)| u == url) {
            existing.1 = existing.1.max(score);
        } else {
            scored.push((url.clone(), score));
        }
    }
    scored
        .into_iter()
        .filter(|(_, score)| *score >= 2.0)
        .map(|(url, _)| url)
        .collect()
}

/// The links the `[[page]] links` selector picks: the matched anchors themselves,
/// or the anchors inside the matched elements.
fn pinned_links(doc: &Html, sel: &Selector, page: &Url) -> Vec<Url> {
    let mut out = Vec::new();
    let anchors = Selector::parse("a[href]").ok();
    for el in doc.select(sel) {
        let hrefs: Vec<&str> = if el.value().name() == "a" {
            el.value().attr("href").into_iter().collect()
        } else {
            anchors
                .as_ref()
                .map(|a| {
                    el.select(a)
                        .filter_map(|x| x.value().attr("href"))
                        .collect()
                })
                .unwrap_or_default()
        };
        for href in hrefs {
            if let Some(url) = resolve(page, href) {
                if !out.contains(&url) {
                    out.push(url);
                }
            }
        }
    }
    out
}

/// How much an on-site link looks like a story: a headline's words, a heading
/// around it, a slug path and a card shape the page repeats; 2 or more is a story.
fn link_score(a: &ElementRef<'_>, url: &Url, shapes: &HashMap<String, usize>) -> f32 {
    let text = a.text().collect::<String>();
    let words = text.split_whitespace().count();
    let alt_only = words == 0;
    let mut score = 0.0;
    if words >= 4 {
        score += 1.0;
    }
    if words >= 8 {
        score += 0.5;
    }
    let in_heading = a.descendants().filter_map(ElementRef::wrap).any(is_heading)
        || a.ancestors().filter_map(ElementRef::wrap).any(is_heading);
    if in_heading {
        score += 1.0;
    }
    if slug_like(url) {
        score += 1.0;
    }
    if shapes.get(&card_shape(a)).copied().unwrap_or(0) >= 2 {
        score += 0.5;
    }
    if alt_only {
        score -= 0.5;
    }
    score
}

fn is_heading(el: ElementRef<'_>) -> bool {
    matches!(el.value().name(), "h1" | "h2" | "h3" | "h4")
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

fn in_chrome(a: &ElementRef<'_>) -> bool {
    std::iter::once(*a)
        .chain(a.ancestors().filter_map(ElementRef::wrap))
        .any(|el| {
            let v = el.value();
            if CHROME_TAGS.contains(&v.name()) {
                return true;
            }
            if v.attr("role").is_some_and(|r| {
                matches!(
                    r,
                    "navigation" | "banner" | "contentinfo" | "complementary" | "menu"
                )
            }) {
                return true;
            }
            let mut words = v
                .attr("class")
                .into_iter()
                .chain(v.attr("id"))
                .flat_map(|s| s.split(|c: char| c.is_whitespace() || c == '_'))
                .map(str::to_ascii_lowercase);
            words.any(|w| {
                CHROME_WORDS.iter().any(|c| {
                    w == *c || w.starts_with(&format!("{c}-")) || w.ends_with(&format!("-{c}"))
                })
            })
        })
}

/// A path that can be an article: not the page itself or a section above it, not
/// a file, and no listing or utility segment.
fn article_path(page: &Url, url: &Url) -> bool {
    let path = url.path().trim_end_matches('/');
    let page_path = page.path().trim_end_matches('/');
    let page_dir = page_path.rsplit_once('/').map_or("", |(d, _)| d);
    if path.is_empty()
        || path == page_path
        || path == page_dir
        || page_path.starts_with(&format!("{path}/"))
    {
        return false;
    }
    if url.query().is_some_and(|q| q.contains("page=")) {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if let Some((_, ext)) = last.rsplit_once('.') {
        let ext = ext.to_ascii_lowercase();
        if !matches!(
            ext.as_str(),
            "html" | "htm" | "shtml" | "php" | "asp" | "aspx"
        ) {
            return false;
        }
    }
    !path
        .split('/')
        .any(|seg| NON_ARTICLE_SEGMENTS.contains(&seg.to_ascii_lowercase().as_str()))
}

/// A slug of several words or a dated path: how article URLs usually look.
fn slug_like(url: &Url) -> bool {
    let path = url.path();
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let stem = last.split('.').next().unwrap_or("");
    let words = stem.split(['-', '_']).filter(|w| !w.is_empty()).count();
    let dated = path.split('/').any(|seg| {
        seg.len() == 4 && seg.starts_with("20") && seg.chars().all(|c| c.is_ascii_digit())
    });
    let long_id = stem.len() >= 6 && stem.chars().filter(char::is_ascii_digit).count() >= 5;
    words >= 3 || dated || long_id
}

/// The tag and classes of the block that holds the anchor (the card).
fn card_shape(a: &ElementRef<'_>) -> String {
    a.ancestors()
        .filter_map(ElementRef::wrap)
        .find(|el| {
            matches!(
                el.value().name(),
                "article" | "li" | "div" | "section" | "figure" | "td"
            )
        })
        .map(|el| {
            let mut classes: Vec<&str> = el.value().classes().collect();
            classes.sort_unstable();
            format!("{}.{}", el.value().name(), classes.join("."))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("http://news.test/pressai/world-news/index.html").unwrap()
    }

    #[test]
    fn the_seed_section_page_yields_its_two_articles_only() {
        let html =
            include_str!("../../tests/fixtures/seed-story/site/pressai/world-news/index.html");
        let links: Vec<String> = article_links(html, &page(), None)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            links,
            vec![
                "http://news.test/pressai/world-news/zelensky-offers-drop-nato-bid",
                "http://news.test/pressai/world-news/merz-macron-air-defence-fund",
            ]
        );
    }

    #[test]
    fn chrome_listing_and_utility_links_are_skipped() {
        let html = r#"<html><body>
          <nav><a href="/world/big-story-about-something-here">Nav story with many words in it</a></nav>
          <main>
            <ul class="list">
              <li class="card"><a href="/world/2025/12/15/markets-rally-on-rate-cut-hopes">Markets rally on hopes of a rate cut</a></li>
              <li class="card"><a href="/world/2025/12/15/storm-hits-coast">Storm hits the coast overnight, thousands without power</a></li>
              <li class="card"><a href="/tag/economy">Economy news and more from this tag</a></li>
              <li class="card"><a href="/author/jane-doe-smith">Jane Doe Smith writes about the world</a></li>
              <li class="card"><a href="https://elsewhere.test/a-story-on-another-site">A story on another site entirely</a></li>
              <li class="card"><a href="/world/page/2">Older stories on the next page here</a></li>
            </ul>
            <div class="share-bar"><a href="/world/share-this-story-now">Share this story with friends now</a></div>
            <a href="/world/">World</a><a href="/files/report-2025-final.pdf">The full report as a PDF file</a>
          </main>
          <footer><a href="/privacy-policy-and-cookies">Privacy policy and cookie settings page</a></footer>
        </body></html>"#;
        let page = Url::parse("https://news.test/world/").unwrap();
        let links: Vec<String> = article_links(html, &page, None)
            .iter()
            .map(|u| u.path().to_string())
            .collect();
        assert_eq!(
            links,
            vec![
                "/world/2025/12/15/markets-rally-on-rate-cut-hopes",
                "/world/2025/12/15/storm-hits-coast"
            ]
        );
    }

    #[test]
    fn a_selector_pins_the_links() {
        let html = r#"<main><div class="x"><a href="/a">A</a></div><div class="x"><h2><a href="/b#top">B</a></h2></div><a href="/c">C</a></main>"#;
        let page = Url::parse("https://s.test/").unwrap();
        let links: Vec<String> = article_links(html, &page, Some("div.x"))
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(links, vec!["https://s.test/a", "https://s.test/b"]);
    }
}
