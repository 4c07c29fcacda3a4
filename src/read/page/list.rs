//! Find the list, then its items.
//!
//! Each candidate link (on the site, outside chrome, on an article path) sits in an
//! item: the largest block around it that holds no other candidate address — the
//! card, list item, table row or heading of one story. Links before the page's
//! heading (its only `<h1>`) are dropped when most come after it. Items whose blocks have the
//! same shape path (tags and first classes up to the body) form one structure: a
//! card grid, a list, a table. Each item gives one link, titled by its anchor text
//! or, for an image or "Read more" link, by the card's own title (a picture link in a
//! block without a title is a banner, a logo or a swatch, whatever its alt text says); the items whose
//! titles read as headlines (3+ words) are taken from every structure that has at
//! least two of them. A headline outside any repeated block needs 5+ words.
//! Measured on real listing pages, keeping only the largest structures lost more
//! articles than it saved: sites split one list into differently classed blocks.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::{
    article_path, in_chrome, in_navigation, resolve, same_site, PageLink, PageLinks, Structure,
};

/// Anchor texts that point at a story without naming it.
const MORE_TEXTS: &[&str] = &[
    "read more",
    "more",
    "continue reading",
    "continue",
    "read the full story",
    "full story",
    "read full story",
    "read article",
    "read the article",
    "read post",
    "read the post",
    "learn more",
    "see more",
    "view more",
    "view details",
    "details",
    "more info",
    "keep reading",
    "read",
    "weiterlesen",
    "mehr",
    "lire la suite",
    "lire plus",
    "leer más",
    "seguir leyendo",
    "leggi tutto",
    "leia mais",
    "lees meer",
    "shop now",
    "view product",
    "listen now",
    "watch now",
    "listen to this podcast",
];

/// Anchor texts of actions on an item, never the item itself.
const ACTION_TEXTS: &[&str] = &[
    "add to cart",
    "add to basket",
    "add to bag",
    "add to wishlist",
    "add to wish list",
    "add to compare",
    "buy now",
    "quick view",
    "quick shop",
    "select options",
    "choose options",
    "view all",
    "see all",
    "show all",
    "sign in",
    "log in",
];

/// What names a block: its headings, or elements marked as its title.
static TITLE: LazyLock<Option<Selector>> = LazyLock::new(|| {
    Selector::parse(
        "h1, h2, h3, h4, h5, h6, [class*=title], [class*=headline], [itemprop=name], [itemprop=headline]",
    )
    .ok()
});

/// The page's heading.
static H1: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("h1").ok());

/// Words a title needs to read as a headline (titles of lone links need more).
const HEADLINE_WORDS: usize = 3;
const LONE_HEADLINE_WORDS: usize = 5;

/// A link that may be an article.
struct Candidate<'a> {
    anchor: ElementRef<'a>,
    url: Url,
    /// Index of `url` among the distinct candidate addresses.
    url_id: usize,
    text: String,
}

/// One story block of a structure.
struct Item<'a> {
    block: ElementRef<'a>,
    /// Its first anchor.
    anchor: ElementRef<'a>,
    url_id: usize,
    url: Url,
    title: String,
    /// Position of the first candidate in page order.
    order: usize,
    /// The anchor's own text is a title (not a picture or "Read more").
    named: bool,
    /// The structure's selector, once it is known.
    from: String,
}

/// The page's article links, found from its repeated structures.
pub(super) fn find(doc: &Html, page: &Url) -> PageLinks {
    let candidates = after_heading(doc, main_region(candidates(doc, page)));
    let (lists, lone) = group(one_per_card(items(&candidates)));
    assemble(lists, lone)
}

/// A structure: its selector and its items.
type List<'a> = (String, Vec<Item<'a>>);

/// The items grouped into lists by shape (those with two or more headlines), and
/// the headlines outside any list.
fn group(items: Vec<Item<'_>>) -> (Vec<List<'_>>, Vec<Item<'_>>) {
    let mut groups: HashMap<String, Vec<Item<'_>>> = HashMap::new();
    for item in items {
        // The first anchor's shape keeps a table's title cells and user cells apart.
        let key = format!("{}|{}", signature(&item.block), shape(&item.anchor));
        groups.entry(key).or_default().push(item);
    }
    let mut lists: Vec<List<'_>> = Vec::new();
    let mut lone: Vec<Item<'_>> = Vec::new();
    for group in groups.into_values() {
        if group.len() == 1 {
            lone.extend(
                group
                    .into_iter()
                    .filter(|i| headline(&i.title, LONE_HEADLINE_WORDS)),
            );
            continue;
        }
        let selector = selector_of(&group[0].block);
        let items: Vec<Item<'_>> = group
            .into_iter()
            .filter(|i| headline(&i.title, HEADLINE_WORDS))
            .collect();
        // One headline in a repeated block is a coincidence; two make a list.
        if items.len() >= 2 {
            lists.push((selector, items));
        }
    }
    (lists, lone)
}

/// The links in page order, each saying which structure it came from, and the
/// structures, most links first.
fn assemble(lists: Vec<List<'_>>, lone: Vec<Item<'_>>) -> PageLinks {
    // Lists that differ only above their parent read the same to the user.
    let mut structures: Vec<Structure> = Vec::new();
    for (selector, l) in &lists {
        match structures.iter_mut().find(|s| s.selector == *selector) {
            Some(s) => s.links += l.len(),
            None => structures.push(Structure {
                selector: selector.clone(),
                links: l.len(),
            }),
        }
    }
    structures.sort_by(|a, b| b.links.cmp(&a.links).then(a.selector.cmp(&b.selector)));
    const LONE: &str = "(single headline links)";
    if !lone.is_empty() {
        structures.push(Structure {
            selector: LONE.into(),
            links: lone.len(),
        });
    }
    let mut taken: Vec<Item<'_>> = lists
        .into_iter()
        .flat_map(|(selector, l)| {
            l.into_iter().map(move |item| Item {
                from: selector.clone(),
                ..item
            })
        })
        .collect();
    taken.extend(lone.into_iter().map(|item| Item {
        from: LONE.into(),
        ..item
    }));
    taken.sort_by_key(|item| item.order);
    let links = taken
        .into_iter()
        .map(|item| PageLink {
            url: item.url,
            text: item.title,
            from: item.from,
        })
        .collect();
    PageLinks { links, structures }
}

/// On-site links outside chrome whose path can be an article, in page order.
fn candidates<'a>(doc: &'a Html, page: &Url) -> Vec<Candidate<'a>> {
    let Ok(anchors) = Selector::parse("a[href]") else {
        return Vec::new();
    };
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut chrome = HashMap::new();
    let mut navigation = HashMap::new();
    let mut sections: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let lang = doc
        .root_element()
        .value()
        .attr("lang")
        .map(primary_language);
    let here = current_page_lists(doc);
    for anchor in doc.select(&anchors) {
        if other_language(&anchor, lang.as_deref()) {
            continue;
        }
        let Some(url) = anchor.value().attr("href").and_then(|h| resolve(page, h)) else {
            continue;
        };
        if in_navigation(&anchor, &mut navigation) || in_any(&anchor, &here) {
            // A menu's "trending" entries link stories, which are no sections.
            if !story_address(&url) {
                sections.insert(address_key(&url));
            }
            continue;
        }
        if !same_site(page, &url)
            || !article_path(page, &url)
            || taxonomy_link(&anchor)
            || in_chrome(&anchor, &mut chrome)
        {
            continue;
        }
        let text = shown_text(&anchor);
        if is_action(&text) {
            continue;
        }
        let next = ids.len();
        let url_id = *ids.entry(address_key(&url)).or_insert(next);
        out.push(Candidate {
            anchor,
            url,
            url_id,
            text,
        });
    }
    // What the site's navigation links to is a section, wherever else it is linked;
    // unless that is most of the page's links: then the menu mirrors the list.
    let linked = |c: &Candidate<'_>| sections.contains(&address_key(&c.url));
    if out.iter().filter(|c| linked(c)).count() * 2 <= out.len() {
        out.retain(|c| !linked(c));
    }
    out
}

/// The lists that mark one of their entries as the page being read
/// (`aria-current="page"` or `"location"`): menus, tabs, breadcrumbs and category
/// trees do, a list of stories never does (a card's chosen colour is `"true"`).
fn current_page_lists(doc: &Html) -> HashSet<NodeId> {
    let Some(current) = CURRENT.as_ref() else {
        return HashSet::new();
    };
    doc.select(current)
        .filter(|el| {
            el.value().attr("aria-current").is_some_and(|v| {
                v.eq_ignore_ascii_case("page") || v.eq_ignore_ascii_case("location")
            })
        })
        .filter_map(|el| {
            el.ancestors()
                .filter_map(ElementRef::wrap)
                .find(|a| matches!(a.value().name(), "ul" | "ol" | "menu" | "nav"))
                .map(|list| list.id())
        })
        .collect()
}

/// Elements marking the page being read.
static CURRENT: LazyLock<Option<Selector>> =
    LazyLock::new(|| Selector::parse("[aria-current]").ok());

/// The anchor sits inside one of `blocks`.
fn in_any(anchor: &ElementRef<'_>, blocks: &HashSet<NodeId>) -> bool {
    !blocks.is_empty() && anchor.ancestors().any(|a| blocks.contains(&a.id()))
}

/// The link leads to the page in another language (`hreflang="de"` on an English
/// page): a translation of the site, not one of its stories.
fn other_language(anchor: &ElementRef<'_>, page_lang: Option<&str>) -> bool {
    anchor
        .value()
        .attr("hreflang")
        .is_some_and(|l| page_lang != Some(primary_language(l).as_str()))
}

/// `en` for `en-GB` or `EN_us`.
fn primary_language(tag: &str) -> String {
    tag.trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// An address that names one story: a dated path (`/2026/03/05/…`).
fn story_address(url: &Url) -> bool {
    let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    segments.iter().rev().skip(1).any(|s| {
        s.len() == 4 && s.chars().all(|c| c.is_ascii_digit()) && matches!(&s[..2], "19" | "20")
    })
}

/// Class words of an anchor that files its story rather than names it.
const TAXONOMY_WORDS: &[&str] = &["tag", "tags", "topic", "topics", "category", "categories"];

/// A link that says what a story is filed under (`rel="tag"`, `class="topic-tag"`):
/// its own markup says so, whatever its path looks like.
fn taxonomy_link(anchor: &ElementRef<'_>) -> bool {
    let v = anchor.value();
    if v.attr("rel").is_some_and(|r| {
        r.split_whitespace()
            .any(|w| w.eq_ignore_ascii_case("tag") || w.eq_ignore_ascii_case("category"))
    }) {
        return true;
    }
    v.classes()
        .flat_map(|c| c.split('_'))
        .map(str::to_ascii_lowercase)
        .any(|name| {
            let mut parts = name.split('-');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), None, _) => TAXONOMY_WORDS.contains(&a),
                (Some(a), Some(b), None) => {
                    TAXONOMY_WORDS.contains(&a) || TAXONOMY_WORDS.contains(&b)
                }
                _ => false,
            }
        })
}

/// Query keys that track a click rather than choose a page.
fn tracking_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_")
        || matches!(
            key.as_str(),
            "ref"
                | "ref_"
                | "ref_src"
                | "cm_sp"
                | "psc"
                | "spm"
                | "trk"
                | "fbclid"
                | "gclid"
                | "srsltid"
                | "itmmeta"
                | "_skw"
                | "hash"
                | "source"
                | "src"
        )
}

/// The address without its tracking parameters: a picture and a headline linking
/// one story with different `ref` tags are one item.
fn address_key(url: &Url) -> String {
    if url.query().is_none() {
        return url.as_str().to_string();
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !tracking_key(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut key = url.clone();
    key.set_query(None);
    if !kept.is_empty() {
        key.query_pairs_mut().extend_pairs(kept);
    }
    key.into()
}

/// Keeps the candidates inside the page's `<main>` (or `role="main"`) element when
/// it holds some: what lies outside is the site around the list. A `<main>` holding
/// fewer than half of them wraps a featured block, not the page's list (whose feed
/// then sits beside it), and is not trusted.
fn main_region(candidates: Vec<Candidate<'_>>) -> Vec<Candidate<'_>> {
    let in_main = |c: &Candidate<'_>| {
        c.anchor
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|el| el.value().name() == "main" || el.value().attr("role") == Some("main"))
    };
    let inside = candidates.iter().filter(|c| in_main(c)).count();
    if inside < 2 || inside * 2 < candidates.len() {
        return candidates;
    }
    candidates.into_iter().filter(|c| in_main(c)).collect()
}

/// Per element: the one candidate address under it, or `None` when it holds several.
type Holdings = HashMap<NodeId, Option<usize>>;

/// Each candidate address's story blocks: the largest ancestor of its anchors
/// that holds no other candidate address (one item per block).
fn items<'a>(candidates: &[Candidate<'a>]) -> Vec<Item<'a>> {
    let mut holds: Holdings = HashMap::new();
    for c in candidates {
        for el in c.anchor.ancestors().filter_map(ElementRef::wrap) {
            let entry = holds.entry(el.id()).or_insert(Some(c.url_id));
            if *entry != Some(c.url_id) {
                *entry = None;
            }
        }
    }
    let mut by_block: HashMap<NodeId, usize> = HashMap::new();
    let mut items: Vec<Item<'a>> = Vec::new();
    for (order, c) in candidates.iter().enumerate() {
        let block = story_block(c, &holds);
        let title = link_title(&c.anchor, &c.text, &block);
        let named = word_count(&c.text) > 0 && !is_more(&c.text);
        match by_block.get(&block.id()) {
            Some(&i) => {
                let item = &mut items[i];
                // The headline's own address, not the picture's (they may differ in tracking).
                if named && !item.named {
                    item.anchor = c.anchor;
                    item.url = c.url.clone();
                    item.named = true;
                }
                if better_title(&title, &item.title) {
                    item.title = title;
                }
            }
            None => {
                by_block.insert(block.id(), items.len());
                items.push(Item {
                    block,
                    anchor: c.anchor,
                    url_id: c.url_id,
                    url: c.url.clone(),
                    title,
                    order,
                    named,
                    from: String::new(),
                });
            }
        }
    }
    merge_same_address(items)
}

/// One item per address: the same story linked from two blocks (a featured
/// picture and a headline elsewhere) keeps its first place, and the headline's
/// block and title.
fn merge_same_address(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    let mut first: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Item<'_>> = Vec::new();
    for item in items {
        match first.get(&item.url_id) {
            Some(&i) => {
                // A headline beats a picture (whose alt text describes the picture).
                let named = item.named && !out[i].named;
                if named
                    || word_count(&out[i].title) < HEADLINE_WORDS
                        && better_title(&item.title, &out[i].title)
                {
                    out[i] = Item {
                        order: out[i].order,
                        ..item
                    };
                }
            }
            None => {
                first.insert(item.url_id, out.len());
                out.push(item);
            }
        }
    }
    out
}

/// The largest ancestor of the anchor holding only its address (the anchor
/// itself when its parent holds others), never the body.
fn story_block<'a>(c: &Candidate<'a>, holds: &Holdings) -> ElementRef<'a> {
    let mut block = c.anchor;
    for el in c.anchor.ancestors().filter_map(ElementRef::wrap) {
        if matches!(el.value().name(), "body" | "html" | "main")
            || holds.get(&el.id()).copied().flatten() != Some(c.url_id)
        {
            break;
        }
        block = el;
    }
    block
}

/// The title of a link: the heading inside it, else its text, or for a picture or
/// "Read more" link the title of the block it sits in.
fn link_title(anchor: &ElementRef<'_>, text: &str, block: &ElementRef<'_>) -> String {
    if word_count(text) > 0 && !is_more(text) {
        // A link around a whole card ("2 hrs ago", headline, blurb, price) is titled
        // by the card's heading inside it.
        return block_title(anchor)
            .filter(|t| word_count(t) >= HEADLINE_WORDS)
            .unwrap_or_else(|| text.to_string());
    }
    block_title(block).unwrap_or_default()
}

/// A block's own title: its first heading, or an element named as a title.
fn block_title(block: &ElementRef<'_>) -> Option<String> {
    block
        .select(TITLE.as_ref()?)
        .map(|el| shown_text(&el))
        .find(|t| word_count(t) > 0 && !is_more(t))
}

fn better_title(new: &str, old: &str) -> bool {
    word_count(new) > word_count(old)
}

/// Anchor text that points at a story without naming it ("Read more »").
fn is_more(text: &str) -> bool {
    let lower = text.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphanumeric());
    MORE_TEXTS.contains(&core)
}

/// Anchor text of an action on an item ("Add to cart"), not a link to read.
fn is_action(text: &str) -> bool {
    let lower = text.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphanumeric());
    ACTION_TEXTS.contains(&core)
}

/// A title reads as a headline: `min` words, one of them with letters (a row
/// of numbers does not).
fn headline(title: &str, min: usize) -> bool {
    let lettered = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    word_count(title) >= min && lettered >= 1
}

/// Words of a title: runs of letters and digits (`two-year` is two), and a
/// run of CJK letters counts a word per two letters.
pub(super) fn word_count(text: &str) -> usize {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let wide = w.chars().filter(|c| *c as u32 >= 0x2E80).count();
            if wide >= 4 {
                wide / 2
            } else {
                1
            }
        })
        .sum()
}

/// The text a reader sees in an element, whitespace squashed: without what sits in
/// `noscript` (a picture's fallback `<img …>` markup, kept as text by the parser),
/// scripts, styles or templates.
pub(super) fn shown_text(el: &ElementRef<'_>) -> String {
    let hidden = |node: &ego_tree::NodeRef<'_, scraper::Node>| {
        node.ancestors().take_while(|a| a.id() != el.id()).any(|a| {
            a.value()
                .as_element()
                .is_some_and(|e| matches!(e.name(), "noscript" | "script" | "style" | "template"))
        })
    };
    let text: String = el
        .descendants()
        .filter_map(|n| n.value().as_text().filter(|_| !hidden(&n)).map(|t| &**t))
        .collect();
    squash(&text)
}

/// Whitespace runs as one space, trimmed.
pub(super) fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The block's shape path up to the body: items of one list share it.
fn signature(block: &ElementRef<'_>) -> String {
    let mut parts: Vec<String> = std::iter::once(*block)
        .chain(block.ancestors().filter_map(ElementRef::wrap))
        .take_while(|el| el.value().name() != "html")
        .map(|el| shape(&el))
        .collect();
    parts.reverse();
    parts.join(">")
}

/// Tag and first class, digits dropped (`post-17` and `post-18` are one shape).
fn shape(el: &ElementRef<'_>) -> String {
    let class = el
        .value()
        .classes()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect::<String>();
    format!("{}.{class}", el.value().name())
}

/// A CSS selector for a structure's items (parent > item), pinnable as `links`.
fn selector_of(block: &ElementRef<'_>) -> String {
    match block.parent().and_then(ElementRef::wrap) {
        Some(parent) if parent.value().name() != "html" => {
            format!("{} > {}", css_part(&parent), css_part(block))
        }
        _ => css_part(block),
    }
}

/// `tag.first-class`, else `tag#id`, else `tag` (names CSS would need escaped are left out).
fn css_part(el: &ElementRef<'_>) -> String {
    let plain = |s: &&str| {
        s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            && s.starts_with(|ch: char| ch.is_ascii_alphabetic())
    };
    let name = el.value().name();
    if let Some(class) = el.value().classes().next().filter(plain) {
        format!("{name}.{class}")
    } else if let Some(id) = el.value().id().filter(plain) {
        format!("{name}#{id}")
    } else {
        name.to_string()
    }
}

/// Distinct addresses counted per element, up to this many (a card holds a few).
const CARD_ADDRESSES: usize = 3;

/// One item per card: a card (the smallest block around an item that holds two or
/// three addresses) whose items differ in shape is one story with secondary links
/// (its company, author, comments or category): only its title link is kept. Cards
/// whose items share a shape are rows of stories (a grid row of columns) and keep all.
fn one_per_card(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    let mut held: HashMap<NodeId, Vec<usize>> = HashMap::new();
    for item in &items {
        for el in item.block.ancestors().filter_map(ElementRef::wrap) {
            let ids = held.entry(el.id()).or_default();
            if ids.len() <= CARD_ADDRESSES && !ids.contains(&item.url_id) {
                ids.push(item.url_id);
            }
        }
    }
    let card_of = |item: &Item<'_>| -> Option<NodeId> {
        let el = item
            .block
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|el| held.get(&el.id()).is_some_and(|ids| ids.len() >= 2))?;
        let small = held
            .get(&el.id())
            .is_some_and(|ids| ids.len() <= CARD_ADDRESSES);
        (small && !matches!(el.value().name(), "body" | "html" | "main")).then(|| el.id())
    };
    let mut cards: HashMap<NodeId, Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(card) = card_of(item) {
            cards.entry(card).or_default().push(i);
        }
    }
    let mut drop = vec![false; items.len()];
    for members in cards.values() {
        let first = signature(&items[members[0]].block);
        if members.iter().all(|&i| signature(&items[i].block) == first) {
            continue;
        }
        let best = members
            .iter()
            .copied()
            .max_by_key(|&i| {
                let item = &items[i];
                let words = word_count(&item.title);
                (
                    words >= HEADLINE_WORDS,
                    titled(item),
                    words,
                    usize::MAX - item.order,
                )
            })
            .unwrap_or(members[0]);
        for &i in members {
            drop[i] = i != best;
        }
    }
    items
        .into_iter()
        .zip(drop)
        .filter_map(|(item, d)| (!d).then_some(item))
        .collect()
}

/// The item's link is its block's title: inside a heading or an element named as a
/// title, or holding one.
fn titled(item: &Item<'_>) -> bool {
    let named = |el: &ElementRef<'_>| {
        let v = el.value();
        matches!(v.name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
            || v.classes().any(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("title") || c.contains("headline")
            })
    };
    let block = item.block.id();
    let mut up =
        std::iter::once(item.anchor).chain(item.anchor.ancestors().filter_map(ElementRef::wrap));
    let mut inside = false;
    for el in up.by_ref() {
        inside |= named(&el);
        if el.id() == block {
            break;
        }
    }
    inside
        || TITLE
            .as_ref()
            .is_some_and(|t| item.anchor.select(t).next().is_some())
}

/// Drops the candidates before the page's heading (its only `<h1>`) when most come
/// after it: what precedes the heading is the site's masthead and promotions.
fn after_heading<'a>(doc: &'a Html, candidates: Vec<Candidate<'a>>) -> Vec<Candidate<'a>> {
    let Some(h1) = H1.as_ref() else {
        return candidates;
    };
    let mut heads = doc.select(h1);
    let (Some(head), None) = (heads.next(), heads.next()) else {
        return candidates;
    };
    // Document order: the candidate anchors met before the heading.
    let anchors: HashSet<NodeId> = candidates.iter().map(|c| c.anchor.id()).collect();
    let before: HashSet<NodeId> = doc
        .root_element()
        .descendants()
        .take_while(|n| n.id() != head.id())
        .map(|n| n.id())
        .filter(|id| anchors.contains(id))
        .collect();
    let early = candidates
        .iter()
        .filter(|c| before.contains(&c.anchor.id()))
        .count();
    if early == 0 || early * 2 > candidates.len() {
        return candidates;
    }
    candidates
        .into_iter()
        .filter(|c| !before.contains(&c.anchor.id()))
        .collect()
}
