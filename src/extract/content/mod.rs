//! Main-content detection on one parsed page, and the text/HTML writers.
//!
//! One pre-order pass records every node (parent, subtree end, tag, chrome signal,
//! text length); a reverse pass sums text up the tree, split into "good" text (blocks
//! that read like prose: long enough, punctuated, few links) and "bad" text. The
//! article root is the element with the most good text net of bad text: going up
//! from the article adds menus and footers (bad), going down loses paragraphs
//! (good). Prose beside the article (other stories' excerpts, legal notes) is good
//! text too, so an `<article>`, `<main>` or `entry-content`-like block holding half
//! the root's prose narrows it.
//! Inside that root, chrome rules drop what is still not article (link lists,
//! grids of teaser cards, related-stories boxes, bylines). Every pass is a loop
//! over arrays, so a 100,000-level DOM costs no stack.
//!
//! Here: the node index, the sums and soft-chrome pruning. The steps after it
//! have their own files: [`root`] chooses the article root, [`rules`] applies
//! the in-article chrome rules, [`render`] writes the text and HTML.

mod explain;
mod fallback;
mod render;
mod root;
mod rules;

use ego_tree::NodeRef;
use scraper::{Html, Node};

use super::chrome::{self, Chrome};
use crate::sanitize::is_block;

pub use render::image_source;
pub use rules::Rule;

const NONE: u32 = u32::MAX;

/// Share of the core's prose that soft chrome may take before the chrome rules are
/// judged wrong about the page.
const ARTICLE_LOST_SHARE: f32 = 0.8;

/// Blocks of one shape that make a discussion's posts ([`Page::unflag_repeated_posts`]).
const MIN_POSTS: usize = 2;

/// Share of the core's prose that brings a block back when the rules were wrong.
const CORE_SHARE_KEPT: f32 = 0.3;

struct N<'a> {
    node: NodeRef<'a, Node>,
    parent: u32,
    end: u32,
    tag: &'a str,
    block: bool,
    in_link: bool,
    /// Inside a hard-chrome element (its text is never measured).
    in_hard: bool,
    /// Inside `<pre>` or `<code>`: syntax highlighters' classes ("hljs-comment",
    /// "token tag") name code, not page parts, so nothing in there is chrome.
    in_code: bool,
    /// A class or id that names the article body (`entry-content`, ...).
    marked: bool,
    chrome: Option<Chrome>,
    /// Own length: the text node's length (text nodes only).
    len: u32,
    punct: u32,
}

#[derive(Clone, Copy, Default)]
struct Sums {
    text: u32,
    link: u32,
    good: u32,
    bad: u32,
}

/// A parsed page ready for extraction.
pub struct Page<'a> {
    nodes: Vec<N<'a>>,
    sums: Vec<Sums>,
    /// Chrome decided for the node itself.
    own_pruned: Vec<bool>,
    /// Chrome itself or inside chrome.
    pruned: Vec<bool>,
    /// The site's host without `www.`, to tell links to the site's other pages.
    host: Option<String>,
}

/// Blocks that articles are built of besides paragraphs.
fn article_structure(tag: &str) -> bool {
    matches!(
        tag,
        "h1" | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "pre"
            | "td"
            | "th"
            | "dd"
            | "dt"
            | "blockquote"
            | "figcaption"
    )
}

fn is_heading(tag: &str) -> bool {
    matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Whether `id` is an anchor made from `heading`: its words, lower-cased,
/// after any section number ("5.1."), begin the id's words.
fn anchor_of(id: &str, heading: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let id = words(id);
    let heading: Vec<String> = words(heading)
        .into_iter()
        .skip_while(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    !heading.is_empty() && id.starts_with(&heading)
}

/// Letters and digits plus one per word: a length that ignores markup whitespace.
fn text_len(s: &str) -> (u32, u32) {
    let mut len = 0u32;
    let mut punct = 0u32;
    let mut in_word = false;
    let b = s.as_bytes();
    let mut i = 0;
    // Bytes, not chars: text is mostly ASCII and decoding every char was a tenth of
    // the extraction time; eight ASCII bytes at a time, as most of it is.
    while i < b.len() {
        if let Some(chunk) = b.get(i..i + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
            let w = u64::from_le_bytes(chunk);
            if w & HIGH == 0 {
                let (l, p, w_end) = ascii8_len(w, in_word);
                len += l;
                punct += p;
                in_word = w_end;
                i += 8;
                continue;
            }
        }
        let (space, is_punct) = if b[i].is_ascii() {
            let c = b[i];
            i += 1;
            (
                c.is_ascii_whitespace() || c == 0x0b,
                matches!(c, b'.' | b',' | b';' | b'!' | b'?'),
            )
        } else {
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            i += c.len_utf8();
            (c.is_whitespace(), matches!(c, '。' | '、' | '،'))
        };
        if space {
            in_word = false;
        } else {
            if !in_word {
                len += 1;
                in_word = true;
            }
            len += 1;
            if is_punct {
                punct += 1;
            }
        }
    }
    (len, punct)
}

/// The high bit of every byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Every byte of a word set to `c`.
const fn splat(c: u8) -> u64 {
    (c as u64) * 0x0101_0101_0101_0101
}

/// The high bit of each byte of `x` that is zero (exact: no carry crosses bytes).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & !HIGH) + !HIGH) | x) & HIGH
}

/// [`text_len`] of eight ASCII bytes (little-endian in `w`) after a word
/// (`in_word`) or not: its length, punctuation, and whether it ends in a word.
#[inline]
fn ascii8_len(w: u64, in_word: bool) -> (u32, u32, bool) {
    // Bytes under 0x80 plus (0x80 - n) reach the high bit exactly when >= n.
    let at_least = |n: u8| w.wrapping_add(splat(0x80 - n)) & HIGH;
    let eq = |c: u8| zero_bytes(w ^ splat(c));
    // Tab, line feed, vertical tab, form feed, carriage return, space.
    let space = eq(b' ') | (at_least(9) & !at_least(14));
    let punct = eq(b'.') | eq(b',') | eq(b';') | eq(b'!') | eq(b'?');
    let word = !space & HIGH;
    let before = (word << 8) | if in_word { 0x80 } else { 0 };
    let starts = word & !before;
    // Byte sums by one multiply each (per byte at most 2, 16 in all): the
    // baseline x86-64 target has no popcount instruction, and three
    // `count_ones` a word were a fifth of the page index's own time.
    (
        byte_sum((word >> 7) + (starts >> 7)),
        byte_sum(punct >> 7),
        word >> 63 != 0,
    )
}

/// The sum of the bytes of `x`, each byte small enough that it fits in one.
#[inline]
fn byte_sum(x: u64) -> u32 {
    (x.wrapping_mul(splat(1)) >> 56) as u32
}

/// Every node of the document in pre-order, with its subtree end, its own text
/// length and chrome signal.
fn index_nodes(doc: &Html) -> Vec<N<'_>> {
    // The arena's size (orphans included): growing by doubling copied the
    // table of a large page several times.
    let mut nodes: Vec<N<'_>> = Vec::with_capacity(doc.tree.nodes().len());
    let mut stack: Vec<u32> = Vec::with_capacity(64);
    let mut class_words = chrome::ClassWords::for_nodes(nodes.capacity());
    // The walk of `Tree::traverse` by hand: its iterator, not inlined, cost a
    // call per edge. The stack holds the open nodes, the parent on top.
    let root = doc.tree.root();
    let mut next = Some(root);
    while let Some(node) = next {
        let idx = nodes.len() as u32;
        let parent = stack.last().copied().unwrap_or(NONE);
        let n = open_node(&nodes, node, idx, parent, &mut class_words);
        nodes.push(n);
        stack.push(idx);
        next = node.first_child();
        // Without children the node closes, then each ancestor whose last
        // child it was, up to one with a next sibling (or the root).
        let mut closing = node;
        while next.is_none() {
            if let Some(idx) = stack.pop() {
                nodes[idx as usize].end = nodes.len() as u32;
            }
            if closing == root {
                break;
            }
            next = closing.next_sibling();
            match closing.parent() {
                Some(p) if next.is_none() => closing = p,
                _ => break,
            }
        }
    }
    nodes
}

/// The record of a node met in pre-order (its subtree end set on closing),
/// with what it inherits from its `parent` among the `nodes` indexed so far.
#[inline]
fn open_node<'a>(
    nodes: &[N<'a>],
    node: NodeRef<'a, Node>,
    idx: u32,
    parent: u32,
    class_words: &mut chrome::ClassWords<'a>,
) -> N<'a> {
    let parent_in_link = parent != NONE && nodes[parent as usize].in_link;
    // Nothing under a script, style, svg or other hard chrome counts:
    // measuring its text (inline JSON, CSS) and classifying its
    // elements (svg paths) was wasted time.
    let parent_hard = parent != NONE
        && (nodes[parent as usize].chrome == Some(Chrome::Hard) || nodes[parent as usize].in_hard);
    let parent_code = parent != NONE && {
        let p = &nodes[parent as usize];
        p.in_code || matches!(p.tag, "pre" | "code")
    };
    let mut n = N {
        node,
        parent,
        end: idx + 1,
        tag: "",
        block: false,
        in_link: parent_in_link,
        in_hard: parent_hard,
        in_code: parent_code,
        marked: false,
        chrome: None,
        len: 0,
        punct: 0,
    };
    match node.value() {
        Node::Element(el) => {
            let tag = el.name();
            n.tag = tag;
            n.block = is_block(tag);
            n.in_link |= tag == "a";
            if !parent_hard && !parent_code {
                let attrs = chrome::Attrs::collect(el.attrs());
                (n.marked, n.chrome) = chrome::signals(tag, &attrs, class_words);
            }
        }
        Node::Text(t) if !parent_hard => {
            let (len, punct) = text_len(t);
            n.len = len;
            n.punct = punct;
        }
        Node::Comment(_) | Node::ProcessingInstruction(_) | Node::Doctype(_) => {
            n.chrome = Some(Chrome::Hard);
        }
        _ => {}
    }
    n
}

impl<'a> Page<'a> {
    /// Indexes the document and scores every element; `discussion`: the page
    /// says it is a forum thread or a question with answers.
    pub fn new(doc: &'a Html, discussion: bool) -> Page<'a> {
        let nodes = index_nodes(doc);
        let n = nodes.len();
        let mut page = Page {
            nodes,
            sums: vec![Sums::default(); n],
            host: None,
            own_pruned: vec![false; n],
            pruned: vec![false; n],
        };
        page.unflag_heading_anchors();
        for (i, node) in page.nodes.iter().enumerate() {
            page.pruned[i] = node.chrome == Some(Chrome::Hard);
        }
        page.sum_up();
        if discussion {
            page.unflag_repeated_posts();
        }
        page.prune_soft_chrome();
        page.sum_up();
        page.own_pruned.clone_from(&page.pruned);
        page.propagate_pruned();
        page
    }

    /// A section whose id is its own heading's anchor ("more-on-lists" for "5.1.
    /// More on Lists", "cookies" for "Cookies") is named after its subject, as a
    /// heading's own id is: documentation generators do this for every section.
    /// Such an id says nothing of the section's role; its class still does.
    fn unflag_heading_anchors(&mut self) {
        /// Elements read from a section's start for its heading.
        const HEADING_WITHIN: usize = 4;
        for i in 0..self.nodes.len() {
            let node = &self.nodes[i];
            if node.chrome != Some(Chrome::Soft) || !matches!(node.tag, "section" | "div") {
                continue;
            }
            let Node::Element(el) = node.node.value() else {
                continue;
            };
            let Some(id) = el.id() else { continue };
            let heading = (i + 1..node.end as usize)
                .filter(|&j| !self.nodes[j].tag.is_empty())
                .take(HEADING_WITHIN)
                .find(|&j| is_heading(self.nodes[j].tag));
            let Some(h) = heading else { continue };
            if !anchor_of(id, &self.element_text(h)) {
                continue;
            }
            let attrs = chrome::Attrs::collect(el.attrs().filter(|(k, _)| *k != "id"));
            let (_, chrome) = chrome::signals(node.tag, &attrs, &mut chrome::ClassWords::default());
            self.nodes[i].chrome = chrome;
        }
    }

    /// The posts of a discussion (a forum thread, a page of answers) are soft
    /// chrome by name ("comment-4398546_wrap", "reply"), but they are what the
    /// page is for: on a page that says it is one, blocks of one shape (tag,
    /// class, id without its numbers), at least [`MIN_POSTS`] of them, that
    /// together hold most of the page's prose are its content. Only there:
    /// without that gate, three of extraction-dev's articles took in their
    /// comments, which outweighed them.
    fn unflag_repeated_posts(&mut self) {
        /// The blocks of one shape, outermost only.
        #[derive(Default)]
        struct Shape {
            members: Vec<usize>,
            good: u32,
            /// Where the last member's subtree ends.
            end: usize,
        }
        let total_good = self.sums.first().map_or(0, |s| s.good);
        let mut shapes: std::collections::HashMap<String, Shape> = Default::default();
        for i in 0..self.nodes.len() {
            let node = &self.nodes[i];
            if node.chrome != Some(Chrome::Soft) || chrome::soft_tag(node.tag) {
                continue;
            }
            let Node::Element(el) = node.node.value() else {
                continue;
            };
            let id: String = el
                .id()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            let key = format!("{}.{}#{id}", node.tag, el.attr("class").unwrap_or(""));
            let shape = shapes.entry(key).or_default();
            // A reply nested in a post of the same shape is counted with it.
            if i < shape.end {
                continue;
            }
            shape.members.push(i);
            shape.good += self.sums[i].good;
            shape.end = node.end as usize;
        }
        for shape in shapes.into_values() {
            if shape.members.len() >= MIN_POSTS && shape.good as f32 >= 0.5 * total_good as f32 {
                for i in shape.members {
                    self.nodes[i].chrome = None;
                }
            }
        }
    }

    /// Soft chrome goes, except on the path to the prose core found so far: a
    /// wrapper with an unlucky class ("widget", "meta") must not take the article
    /// with it.
    fn prune_soft_chrome(&mut self) {
        let n = self.nodes.len();
        let total_good = self.sums.first().map_or(0, |s| s.good);
        let mut keep = vec![false; n];
        let core = self.best_root();
        if let Some(core) = core {
            let mut a = core as u32;
            while a != NONE {
                keep[a as usize] = true;
                a = self.nodes[a as usize].parent;
            }
        }
        for (i, kept) in keep.iter().enumerate() {
            let s = self.sums[i];
            if self.nodes[i].chrome == Some(Chrome::Soft)
                && !kept
                && ((s.text - s.link) as f32) < 0.5 * total_good as f32
            {
                self.pruned[i] = true;
            }
        }
        if let Some(core) = core {
            self.keep_split_article(core, total_good);
        }
    }

    /// Soft chrome that held most of the core's prose was the article itself, cut
    /// in sections under an unlucky class ("content-nav-section"): its big parts
    /// come back. Chrome inside an article is a small share of its prose. Only for
    /// a core that holds most of the page's prose (`total_good`): a small core
    /// (a notice banner) says little about where the article is.
    fn keep_split_article(&mut self, core: usize, total_good: u32) {
        let core_good = self.sums[core].good as f32;
        if core_good < 0.5 * total_good as f32 {
            return;
        }
        let end = self.nodes[core].end as usize;
        let mut lost = 0u32;
        let mut i = core + 1;
        while i < end {
            if self.pruned[i] {
                lost += self.sums[i].good;
                i = self.nodes[i].end as usize;
            } else {
                i += 1;
            }
        }
        if (lost as f32) < ARTICLE_LOST_SHARE * core_good {
            return;
        }
        let mut i = core + 1;
        while i < end {
            if self.pruned[i] {
                if self.nodes[i].chrome == Some(Chrome::Soft)
                    && self.sums[i].good as f32 >= CORE_SHARE_KEPT * core_good
                {
                    self.pruned[i] = false;
                }
                i = self.nodes[i].end as usize;
            } else {
                i += 1;
            }
        }
    }

    /// Sets the site's host (from the canonical or page URL) for telling links to
    /// the site's own pages.
    pub fn set_host(&mut self, host: Option<&str>) {
        self.host = host.map(|h| h.trim_start_matches("www.").to_ascii_lowercase());
    }

    /// Makes `root` the article whatever its own class says (a user's `content` rule);
    /// chrome inside it still goes.
    pub fn force_root(&mut self, root: usize) {
        self.own_pruned[root] = false;
        let end = self.nodes[root].end as usize;
        for i in root..end {
            let p = self.nodes[i].parent;
            self.pruned[i] =
                self.own_pruned[i] || (i != root && p != NONE && self.pruned[p as usize]);
        }
    }

    /// Sums text bottom-up, skipping pruned subtrees.
    fn sum_up(&mut self) {
        let n = self.nodes.len();
        let mut sums = vec![Sums::default(); n];
        // Text not yet owned by a block, on its way up: (len, link len, punct).
        let mut own = vec![(0u32, 0u32, 0u32); n];
        for i in (0..n).rev() {
            let node = &self.nodes[i];
            if node.len > 0 {
                sums[i].text = node.len;
                if node.in_link {
                    sums[i].link = node.len;
                }
                own[i] = (node.len, sums[i].link, node.punct);
            }
            if node.block {
                let (len, link, punct) = own[i];
                if len > 0 {
                    let few_links = link * 2 < len;
                    let prose = few_links && (len >= 80 || (len >= 25 && punct > 0));
                    if prose {
                        sums[i].good += len - link;
                        sums[i].bad += link;
                    } else if few_links && matches!(node.tag, "td" | "th") {
                        // Cells of a data table (rankings, results, figures): an
                        // article made mostly of one must not lose to a sidebar's
                        // paragraph. Menus in tables are links, and count as chrome.
                    } else if few_links && article_structure(node.tag) {
                        // Headings, list items and code of the article itself: not
                        // prose, but not the mark of chrome either.
                        sums[i].bad += len * 3 / 10;
                    } else {
                        sums[i].bad += len;
                    }
                }
                own[i] = (0, 0, 0);
            }
            if self.pruned[i] || node.parent == NONE {
                continue;
            }
            let p = node.parent as usize;
            let s = sums[i];
            sums[p].text += s.text;
            sums[p].link += s.link;
            sums[p].good += s.good;
            sums[p].bad += s.bad;
            let o = own[i];
            own[p].0 += o.0;
            own[p].1 += o.1;
            own[p].2 += o.2;
        }
        self.sums = sums;
    }

    fn propagate_pruned(&mut self) {
        for i in 0..self.nodes.len() {
            let p = self.nodes[i].parent;
            if p != NONE && self.pruned[p as usize] {
                self.pruned[i] = true;
            }
        }
    }

    /// Pre-order index of a node (for selector overrides).
    pub fn index_of(&self, id: ego_tree::NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| n.node.id() == id)
    }

    /// Marks a subtree as chrome (user `remove` rules).
    pub fn remove(&mut self, idx: usize) {
        self.own_pruned[idx] = true;
        let end = self.nodes[idx].end as usize;
        for p in &mut self.pruned[idx..end] {
            *p = true;
        }
    }

    /// Re-sums after [`Page::remove`].
    pub fn rescore(&mut self) {
        self.sum_up();
    }

    /// `tag.class#id good/bad/text/link` of a node, for logs.
    pub fn describe(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let (class, id) = match n.node.value() {
            Node::Element(el) => (el.attr("class").unwrap_or(""), el.attr("id").unwrap_or("")),
            _ => ("", ""),
        };
        let s = self.sums[i];
        format!(
            "{}.{class}#{id} good={} bad={} text={} link={}",
            n.tag, s.good, s.bad, s.text, s.link
        )
    }

    /// The `body` element, the fallback root.
    pub fn body(&self) -> usize {
        self.nodes.iter().position(|n| n.tag == "body").unwrap_or(0)
    }

    /// The element's words (outside chrome), one space between.
    fn element_text(&self, i: usize) -> String {
        // Its letters plus one per word are about its bytes (once summed):
        // growing the string from empty reallocated it several times.
        let estimate = self.sums.get(i).map_or(0, |s| s.text as usize);
        let mut out = String::with_capacity(estimate.min(1 << 16));
        // Whitespace since the last word: a word may span two text nodes
        // ("<b>Rel</b>ated").
        let mut space = false;
        let end = self.nodes[i].end as usize;
        let mut j = i;
        while j < end {
            if self.pruned[j] && j != i {
                j = self.nodes[j].end as usize;
                continue;
            }
            if let Node::Text(t) = self.nodes[j].node.value() {
                space |= t.starts_with(char::is_whitespace);
                for (k, word) in words(t).enumerate() {
                    if !out.is_empty() && (space || k > 0) {
                        out.push(' ');
                    }
                    out.push_str(word);
                    space = false;
                }
                space |= t.ends_with(char::is_whitespace);
            }
            j += 1;
        }
        out
    }

    /// The first `h1` text anywhere on the page.
    pub fn first_h1(&self) -> Option<String> {
        (0..self.nodes.len())
            .find(|&i| self.nodes[i].tag == "h1")
            .map(|i| self.element_text(i))
            .filter(|t| !t.is_empty())
    }
}

/// A stable 64-bit fingerprint (FNV-1a) of a block's normalised text; stable across
/// builds because it is stored.
pub fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = [0u8; 4];
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    if text.is_ascii() {
        // The same bytes as the loop below in one pass, without splitting
        // into words: each word lower-cased, then a space.
        let mut in_word = false;
        for &b in text.as_bytes() {
            if ascii_space(b) {
                if in_word {
                    eat(b' ');
                }
                in_word = false;
            } else {
                eat(b.to_ascii_lowercase());
                in_word = true;
            }
        }
        if in_word {
            eat(b' ');
        }
        return h;
    }
    for word in words(text) {
        if word.is_ascii() {
            // Same bytes as the general path below, without per-char case mapping.
            for &b in word.as_bytes() {
                eat(b.to_ascii_lowercase());
            }
        } else {
            for c in word.chars().flat_map(char::to_lowercase) {
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    eat(b);
                }
            }
        }
        eat(b' ');
    }
    h
}

/// The words of `s`, as `str::split_whitespace` gives them: ASCII bytes are
/// tested without decoding a char (that iterator's char-by-char search was
/// most of the text writer's time).
pub(super) fn words(s: &str) -> Words<'_> {
    Words { s, at: 0 }
}

/// The iterator of [`words`].
pub(super) struct Words<'a> {
    s: &'a str,
    /// Where the search for the next word starts.
    at: usize,
}

impl Words<'_> {
    /// The byte length of the whitespace char that starts at `i` with the
    /// non-ASCII byte `lead`, `None` for another char or a byte inside one.
    #[inline]
    fn wide_space(&self, i: usize, lead: u8) -> Option<usize> {
        // Non-ASCII whitespace (U+0085, U+00A0, U+1680, U+2000 to U+205F,
        // U+3000) starts with one of these bytes.
        if !matches!(lead, 0xc2 | 0xe1 | 0xe2 | 0xe3) {
            return None;
        }
        let c = self.s.get(i..)?.chars().next()?;
        c.is_whitespace().then(|| c.len_utf8())
    }
}

/// `char::is_whitespace` on ASCII: tab to carriage return, and space.
#[inline]
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let mut i = self.at;
        // Past the whitespace before the word.
        let start = loop {
            match b.get(i) {
                None => {
                    self.at = i;
                    return None;
                }
                Some(&c) if c.is_ascii() && ascii_space(c) => i += 1,
                Some(&c) if c.is_ascii() => break i,
                Some(&c) => match self.wide_space(i, c) {
                    Some(n) => i += n,
                    None => break i,
                },
            }
        };
        // To the whitespace after it; bytes inside a char (0x80 to 0xbf) are
        // stepped over one at a time, they start no whitespace.
        while let Some(&c) = b.get(i) {
            let space = if c.is_ascii() {
                ascii_space(c)
            } else {
                self.wide_space(i, c).is_some()
            };
            if space {
                break;
            }
            i += 1;
        }
        self.at = i;
        self.s.get(start..i)
    }
}

#[cfg(test)]
mod tests {
    use super::text_len;

    /// [`text_len`] one char at a time: what the eight-byte path must equal.
    fn text_len_by_char(s: &str) -> (u32, u32) {
        let (mut len, mut punct, mut in_word) = (0u32, 0u32, false);
        for c in s.chars() {
            let space = c.is_whitespace() || c == '\u{b}';
            if space {
                in_word = false;
                continue;
            }
            len += 1 + u32::from(!in_word);
            in_word = true;
            punct += u32::from(matches!(c, '.' | ',' | ';' | '!' | '?' | '。' | '、' | '،'));
        }
        (len, punct)
    }

    /// [`fingerprint`] as it was first stored: word by word.
    fn fingerprint_by_words(text: &str) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for word in text.split_whitespace() {
            for c in word.chars().flat_map(char::to_lowercase) {
                for &b in c.encode_utf8(&mut [0u8; 4]).as_bytes() {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
            h ^= u64::from(b' ');
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// 4,000 strings of 0 to `longest - 1` chars of `alphabet`, the same every
    /// run (a fixed linear congruential sequence from `seed`). Of each
    /// `weight` draws, `weight - 1` take one of the first `common` chars:
    /// mostly ASCII, as pages are, so that the fast paths run.
    fn random_strings(
        alphabet: &str,
        seed: u64,
        longest: usize,
        weight: usize,
        common: usize,
    ) -> Vec<String> {
        let chars: Vec<char> = alphabet.chars().collect();
        let mut x = seed;
        (0..4000usize)
            .map(|n| {
                (0..n % longest)
                    .map(|_| {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        let k = (x >> 33) as usize % (chars.len() * weight);
                        chars[if k < chars.len() * (weight - 1) {
                            k % common
                        } else {
                            k % chars.len()
                        }]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn fingerprints_equal_word_by_word() {
        let alphabet = "aB z\t\n\u{b}\u{c}\r.\u{a0}É€";
        for s in random_strings(alphabet, 0x9e37_79b9_7f4a_7c15, 37, 4, 10) {
            assert_eq!(super::fingerprint(&s), fingerprint_by_words(&s), "{s:?}");
        }
    }

    #[test]
    fn words_are_split_whitespace() {
        let alphabet = "ab Z\t\n\u{b}\u{c}\r\u{85}\u{a0}\u{2009}\u{3000}é€\u{1f600}\u{1c}";
        for s in random_strings(alphabet, 0x2545_f491_4f6c_dd1d, 41, 1, 1) {
            let ours: Vec<&str> = super::words(&s).collect();
            let std: Vec<&str> = s.split_whitespace().collect();
            assert_eq!(ours, std, "{s:?}");
        }
    }

    #[test]
    fn text_len_by_words_equals_by_chars() {
        let alphabet = "ab Z9.,;!?\t\n\u{b}\u{c}\r-_<é。、،\u{a0}\u{3000}€\u{1f600}";
        for s in random_strings(alphabet, 0x2545_f491_4f6c_dd1d, 67, 3, 12) {
            assert_eq!(text_len(&s), text_len_by_char(&s), "{s:?}");
        }
        assert_eq!(text_len("  Hello, world.  Again  "), (20, 2));
    }
}
