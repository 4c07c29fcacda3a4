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

use std::collections::{HashMap, HashSet};

use ego_tree::iter::Edge;
use ego_tree::NodeRef;
use scraper::{Html, Node};

use super::chrome::{self, Chrome};
use crate::sanitize::is_block;

const NONE: u32 = u32::MAX;

/// Widening the root to its parent is worth one unit of prose per two of other text.
const CLIMB_PROSE_PER_OTHER: f32 = 0.5;

/// A story teaser is short: a headline and a summary of a few lines.
const CARD_MAX_TEXT: u32 = 800;

/// Share of the core's prose that soft chrome may take before the chrome rules are
/// judged wrong about the page.
const ARTICLE_LOST_SHARE: f32 = 0.8;

/// Share of the core's prose that brings a block back when the rules were wrong.
const CORE_SHARE_KEPT: f32 = 0.3;

/// Weight of text outside prose blocks against the prose the root holds.
const BAD_WEIGHT: f32 = 1.5;

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

/// Letters and digits plus one per word: a length that ignores markup whitespace.
fn text_len(s: &str) -> (u32, u32) {
    let mut len = 0u32;
    let mut punct = 0u32;
    let mut in_word = false;
    let b = s.as_bytes();
    let mut i = 0;
    // Bytes, not chars: text is mostly ASCII and decoding every char was a tenth of
    // the extraction time.
    while i < b.len() {
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

impl<'a> Page<'a> {
    /// Indexes the document and scores every element.
    pub fn new(doc: &'a Html) -> Page<'a> {
        let mut nodes: Vec<N<'a>> = Vec::with_capacity(1024);
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        let mut class_words = chrome::ClassWords::default();
        for edge in doc.tree.root().traverse() {
            match edge {
                Edge::Open(node) => {
                    let idx = nodes.len() as u32;
                    let parent = stack.last().copied().unwrap_or(NONE);
                    let parent_in_link = parent != NONE && nodes[parent as usize].in_link;
                    // Nothing under a script, style, svg or other hard chrome counts:
                    // measuring its text (inline JSON, CSS) and classifying its
                    // elements (svg paths) was wasted time.
                    let parent_hard = parent != NONE
                        && (nodes[parent as usize].chrome == Some(Chrome::Hard)
                            || nodes[parent as usize].in_hard);
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
                                (n.marked, n.chrome) =
                                    chrome::signals(tag, &attrs, &mut class_words);
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
                    nodes.push(n);
                    stack.push(idx);
                }
                Edge::Close(_) => {
                    if let Some(idx) = stack.pop() {
                        nodes[idx as usize].end = nodes.len() as u32;
                    }
                }
            }
        }
        let n = nodes.len();
        let mut page = Page {
            nodes,
            sums: vec![Sums::default(); n],
            host: None,
            own_pruned: vec![false; n],
            pruned: vec![false; n],
        };
        for (i, node) in page.nodes.iter().enumerate() {
            page.pruned[i] = node.chrome == Some(Chrome::Hard);
        }
        page.sum_up();
        // Soft chrome goes, except on the path to the prose core found so far: a
        // wrapper with an unlucky class ("widget", "meta") must not take the article
        // with it.
        let total_good = page.sums.first().map_or(0, |s| s.good);
        let mut keep = vec![false; n];
        let core = page.best_root();
        if let Some(core) = core {
            let mut a = core as u32;
            while a != NONE {
                keep[a as usize] = true;
                a = page.nodes[a as usize].parent;
            }
        }
        for (i, kept) in keep.iter().enumerate() {
            let s = page.sums[i];
            if page.nodes[i].chrome == Some(Chrome::Soft)
                && !kept
                && ((s.text - s.link) as f32) < 0.5 * total_good as f32
            {
                page.pruned[i] = true;
            }
        }
        if let Some(core) = core {
            page.keep_split_article(core, total_good);
        }
        page.sum_up();
        page.own_pruned.clone_from(&page.pruned);
        page.propagate_pruned();
        page
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

    /// True when `href` leads to another page of the same site.
    fn is_internal(&self, href: &str) -> bool {
        let h = href.trim();
        if h.is_empty() || h.starts_with('#') {
            return false;
        }
        let rest = if let Some(r) = h.strip_prefix("//") {
            r
        } else if let Some(r) = h
            .strip_prefix("https://")
            .or_else(|| h.strip_prefix("http://"))
        {
            r
        } else {
            // Relative: same site, unless it is another scheme (mailto:, javascript:).
            return match (h.find(':'), h.find('/')) {
                (None, _) => true,
                (Some(colon), Some(slash)) => slash < colon,
                (Some(_), None) => false,
            };
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.trim_start_matches("www.");
        self.host
            .as_deref()
            .is_some_and(|site| host.eq_ignore_ascii_case(site))
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

    /// The element that holds the article: most prose net of everything else.
    pub fn best_root(&self) -> Option<usize> {
        let mut best: Option<(f32, usize)> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.tag.is_empty()
                || self.pruned[i]
                || !n.block
                || matches!(
                    n.tag,
                    "li" | "tr" | "td" | "th" | "dd" | "dt" | "figcaption"
                )
            {
                continue;
            }
            let s = self.sums[i];
            if s.good == 0 {
                continue;
            }
            let score = s.good as f32 - BAD_WEIGHT * s.bad as f32;
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        // A root holding a fraction of the prose next to it (one paragraph of many,
        // each in its own wrapper) widens to the parent when that adds much prose
        // for little else.
        let mut root = best?.1;
        loop {
            let p = self.nodes[root].parent;
            if p == NONE || matches!(self.nodes[p as usize].tag, "body" | "html" | "") {
                break;
            }
            let (cur, up) = (self.sums[root], self.sums[p as usize]);
            let more_good = up.good.saturating_sub(cur.good) as f32;
            let more_bad = up.bad.saturating_sub(cur.bad) as f32;
            // A paragraph is never the article alone when its parent adds prose
            // (one long paragraph of a short post outweighs the rest).
            let lone_paragraph = self.nodes[root].tag == "p" && more_good > 0.0;
            if (lone_paragraph || up.good as f32 >= 1.5 * cur.good as f32)
                && more_good >= CLIMB_PROSE_PER_OTHER * more_bad
            {
                root = p as usize;
            } else {
                break;
            }
        }
        // A root inside an `<article>` that holds much more prose than it is one
        // part of that article, even when the rest is mostly lists of links (a
        // changelog, a report with references) that stopped the climb above.
        let mut up = self.nodes[root].parent;
        while up != NONE {
            let a = up as usize;
            if self.nodes[a].tag == "article" {
                if !self.pruned[a] && self.sums[a].good as f32 >= 1.5 * self.sums[root].good as f32
                {
                    root = a;
                }
                break;
            }
            up = self.nodes[a].parent;
        }
        // An `<article>`, `<main>` or block whose class names the article body
        // (`entry-content`), holding at least half of the root's prose, is the
        // article: what lies beside it (excerpts of other stories, comments, legal
        // notes) reads as prose too but is not this story.
        let end = self.nodes[root].end as usize;
        let is_landmark = |i: usize| {
            (matches!(self.nodes[i].tag, "article" | "main") || self.nodes[i].marked)
                && !self.pruned[i]
        };
        let landmark = (root + 1..end)
            .filter(|&i| is_landmark(i))
            .max_by_key(|&i| self.sums[i].good);
        if let Some(l) = landmark {
            let l_end = self.nodes[l].end as usize;
            // A class-marked body with another marked body beside it (intro and
            // main text in two blocks) is only part of the article.
            let split = !matches!(self.nodes[l].tag, "article" | "main")
                && (root + 1..end).any(|k| {
                    k != l
                        && self.nodes[k].marked
                        && !self.pruned[k]
                        && !(k > l && k < l_end)
                        && !(k < l && self.nodes[k].end as usize >= l_end)
                        && self.sums[k].good * 10 >= self.sums[l].good
                });
            if self.sums[l].good * 2 >= self.sums[root].good && !split {
                root = l;
            }
        }
        Some(root)
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
        let mut out = String::new();
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
                for (k, word) in t.split_whitespace().enumerate() {
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

    /// Decides which nodes under `root` are chrome by the in-article rules.
    /// Returns the drop mask and the fingerprints of short blocks page-wide.
    pub fn in_article_rules(
        &self,
        root: usize,
        title: Option<&str>,
        known: &HashSet<u64>,
        learn: bool,
    ) -> (Vec<bool>, Vec<u64>) {
        let n = self.nodes.len();
        let mut drop = self.pruned.clone();
        let root_end = self.nodes[root].end as usize;
        let norm_title = title.map(normalise);
        let mut i = root + 1;
        while i < root_end {
            let node = &self.nodes[i];
            if drop[i] {
                i = node.end as usize;
                continue;
            }
            if node.tag.is_empty() {
                i += 1;
                continue;
            }
            let s = self.sums[i];
            let mut dropped = false;
            if node.tag == "img" {
                if let Node::Element(el) = node.node.value() {
                    dropped = chrome::is_icon_image(&|k| el.attr(k).map(str::to_string));
                }
            } else if s.text == 0 {
                // Nothing to read: figures and images stay, empty wrappers are harmless.
            } else if (matches!(
                node.tag,
                "ul" | "ol" | "div" | "section" | "table" | "dl" | "p" | "span"
            ) && s.link * 2 > s.text
                && (node.tag != "p" || s.text < 300))
                || self.is_teaser_grid(i)
            {
                dropped = true;
            } else if s.text < 200 && !self.same_text_as_child(i) {
                let text = self.element_text(i);
                let heading_like = is_heading(node.tag)
                    || (s.text < 50 && matches!(node.tag, "p" | "div" | "span" | "strong" | "b"));
                if heading_like && chrome::is_related_heading(&text) {
                    self.drop_related(i, root, &mut drop, false);
                    dropped = true;
                } else if heading_like && chrome::is_source_heading(&text) {
                    self.drop_related(i, root, &mut drop, true);
                    dropped = true;
                } else {
                    let is_title = is_heading(node.tag)
                        && norm_title.as_deref().is_some_and(|t| {
                            let h = normalise(&text);
                            !h.is_empty() && (t == h || (t.contains(&h) && h.len() * 2 > t.len()))
                        });
                    dropped = is_title
                        || chrome::is_meta_line(&text)
                        || (node.block && !known.is_empty() && known.contains(&fingerprint(&text)));
                }
            }
            if dropped {
                drop[i] = true;
                i = node.end as usize;
            } else {
                i += 1;
            }
        }
        let mut prints = Vec::new();
        for i in 0..if learn { n } else { 0 } {
            let node = &self.nodes[i];
            if node.block
                && !self.pruned[i]
                && (1..200).contains(&self.sums[i].text)
                && !self.same_text_as_child(i)
            {
                let f = fingerprint(&self.element_text(i));
                prints.push(f);
            }
        }
        prints.sort_unstable();
        prints.dedup();
        (drop, prints)
    }

    /// A related-stories heading: drop the box it heads, or the link lists after it.
    /// Under a sources heading everything up to the next heading goes; the heading
    /// counts as its wrappers (`<p><strong>Sources</strong></p>`) so that the
    /// list beside them is found.
    fn drop_related(&self, h: usize, root: usize, drop: &mut [bool], sources: bool) {
        let mut h = h;
        if sources {
            loop {
                let p = self.nodes[h].parent;
                if p == NONE
                    || p as usize == root
                    || self.sums[p as usize].text != self.sums[h].text
                {
                    break;
                }
                h = p as usize;
            }
        }
        let parent = self.nodes[h].parent as usize;
        if parent != root && self.nodes[h].parent != NONE {
            let ps = self.sums[parent];
            let hs = self.sums[h];
            let rest_text = ps.text.saturating_sub(hs.text);
            let rest_link = ps.link.saturating_sub(hs.link);
            let first_text = self.first_text_child(parent) == Some(h);
            if first_text && (rest_link * 3 > rest_text || ps.good < 400) {
                let end = self.nodes[parent].end as usize;
                for d in &mut drop[parent..end] {
                    *d = true;
                }
                return;
            }
        }
        // Otherwise drop the following siblings that are links, lists or pictures.
        let pend = if self.nodes[h].parent == NONE {
            self.nodes.len()
        } else {
            self.nodes[parent].end as usize
        };
        let mut j = self.nodes[h].end as usize;
        while j < pend {
            let sj = &self.nodes[j];
            let s = self.sums[j];
            if is_heading(sj.tag) {
                break;
            }
            let linky =
                sources || s.text == 0 || s.link * 3 > s.text || matches!(sj.tag, "ul" | "ol");
            if !linky {
                break;
            }
            let end = sj.end as usize;
            for d in &mut drop[j..end] {
                *d = true;
            }
            j = end;
        }
    }

    /// A grid of story cards: at least three children that each lead with a linked
    /// headline (a teaser: headline, maybe a picture and a summary), holding most of
    /// the element's text. Other stories, not this one.
    fn is_teaser_grid(&self, i: usize) -> bool {
        let total = self.sums[i].text;
        if self.sums[i].link == 0 {
            return false;
        }
        let end = self.nodes[i].end as usize;
        let (mut cards, mut card_text) = (0u32, 0u32);
        let mut j = i + 1;
        while j < end {
            if !self.pruned[j] && self.sums[j].link > 0 && self.is_card(j) {
                cards += 1;
                card_text += self.sums[j].text;
            }
            j = self.nodes[j].end as usize;
        }
        cards >= 3 && card_text * 10 >= total * 7
    }

    /// A teaser card: short, its first heading is a link, and the card leads to
    /// another page of this site (a roundup of other sites' pages is content).
    fn is_card(&self, c: usize) -> bool {
        if self.nodes[c].tag.is_empty() || self.sums[c].text > CARD_MAX_TEXT {
            return false;
        }
        let end = self.nodes[c].end as usize;
        // The first link of the card: its picture's or its headline's.
        let mut internal = None;
        for h in c..end {
            if internal.is_none() {
                internal = self.link_is_internal(h);
            }
            if is_heading(self.nodes[h].tag) {
                let hs = self.sums[h];
                if !(hs.text >= 15 && hs.link * 5 >= hs.text * 4) {
                    return false;
                }
                let h_end = self.nodes[h].end as usize;
                let internal =
                    internal.or_else(|| (h..h_end).find_map(|k| self.link_is_internal(k)));
                return internal == Some(true);
            }
        }
        false
    }

    /// For an `a` element with an `href`: whether it leads to this site.
    fn link_is_internal(&self, k: usize) -> Option<bool> {
        let n = &self.nodes[k];
        if n.tag != "a" {
            return None;
        }
        match n.node.value() {
            Node::Element(el) => el
                .attrs()
                .find(|(name, _)| *name == "href")
                .map(|(_, v)| self.is_internal(v)),
            _ => None,
        }
    }

    /// True when one child holds all of the element's text: rules look at the child
    /// instead (keeps wrapper chains linear).
    fn same_text_as_child(&self, i: usize) -> bool {
        let end = self.nodes[i].end as usize;
        let total = self.sums[i].text;
        let mut j = i + 1;
        while j < end {
            let t = self.sums[j].text;
            if t > 0 && !self.pruned[j] {
                return t == total && !self.nodes[j].tag.is_empty();
            }
            j = self.nodes[j].end as usize;
        }
        false
    }

    /// A caption of a numbered figure or table ("Figure 2. Throughput by
    /// client"): the text refers to it, so it is part of the article's text.
    fn numbered_caption(&self, c: usize) -> bool {
        let end = self.nodes[c].end as usize;
        let Some(first) = (c + 1..end).find_map(|j| match self.nodes[j].node.value() {
            Node::Text(t) if !t.trim().is_empty() => Some(t.trim_start()),
            _ => None,
        }) else {
            return false;
        };
        let mut words = first.split_whitespace();
        let label = words.next().unwrap_or_default().to_lowercase();
        let number = words.next().unwrap_or_default();
        matches!(
            label.trim_end_matches('.'),
            "figure"
                | "fig"
                | "table"
                | "chart"
                | "abbildung"
                | "abb"
                | "tabelle"
                | "tableau"
                | "figura"
                | "tabla"
                | "рисунок"
                | "рис"
                | "таблица"
        ) && number.starts_with(|ch: char| ch.is_ascii_digit())
    }

    fn first_text_child(&self, parent: usize) -> Option<usize> {
        let end = self.nodes[parent].end as usize;
        let mut j = parent + 1;
        while j < end {
            if self.sums[j].text > 0 && !self.pruned[j] {
                // Descend to the outermost element that holds the first text.
                return Some(j);
            }
            j = self.nodes[j].end as usize;
        }
        None
    }

    /// Writes the kept nodes under `root` as text (and HTML when asked).
    pub fn render(&self, root: usize, drop: &[bool], want_html: bool) -> (String, String) {
        let mut text = TextOut::default();
        let mut html = String::new();
        let end = self.nodes[root].end as usize;
        let mut open: Vec<usize> = Vec::new();
        // Captions and picture credits stay in the HTML, under their picture, but
        // are not the article's text: a text reader has no picture to caption.
        let mut caption_end = 0usize;
        let mut i = root;
        loop {
            // Close elements whose subtree ends here.
            while let Some(&top) = open.last() {
                if (self.nodes[top].end as usize) <= i {
                    open.pop();
                    let t = self.nodes[top].tag;
                    if self.nodes[top].block {
                        text.block_break();
                    }
                    if want_html && !is_void(t) {
                        html.push_str("</");
                        html.push_str(t);
                        html.push('>');
                    }
                } else {
                    break;
                }
            }
            if i >= end {
                break;
            }
            let node = &self.nodes[i];
            if i != root && drop[i] {
                i = node.end as usize;
                continue;
            }
            match node.node.value() {
                Node::Text(t) => {
                    if i >= caption_end {
                        text.push(t);
                    }
                    if want_html {
                        escape_into(&mut html, t, false);
                    }
                }
                Node::Element(el) => {
                    let t = node.tag;
                    if t == "figcaption" && i != root && !self.numbered_caption(i) {
                        caption_end = caption_end.max(node.end as usize);
                    }
                    if t == "br" {
                        text.line_break();
                    } else if node.block {
                        text.block_break();
                    }
                    if want_html {
                        write_open_tag(&mut html, t, el);
                    }
                    open.push(i);
                }
                _ => {}
            }
            i += 1;
        }
        (text.finish(), html)
    }

    /// The first `h1` text anywhere on the page.
    pub fn first_h1(&self) -> Option<String> {
        (0..self.nodes.len())
            .find(|&i| self.nodes[i].tag == "h1")
            .map(|i| self.element_text(i))
            .filter(|t| !t.is_empty())
    }
}

fn is_void(tag: &str) -> bool {
    matches!(
        tag,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Lower-case letters and digits only: for comparing titles and headings.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
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
    for word in text.split_whitespace() {
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

fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Placeholders lazy-loading scripts put in `src` until the real image loads.
fn is_placeholder(src: &str) -> bool {
    let s = src.trim().to_ascii_lowercase();
    s.is_empty()
        || s.starts_with("data:")
        || [
            "blank.",
            "placeholder",
            "spacer",
            "lazy",
            "transparent.",
            "1x1",
            "grey.gif",
            "loading",
        ]
        .iter()
        .any(|p| s.contains(p))
}

/// The largest candidate of a `srcset`.
fn best_of_srcset(srcset: &str) -> Option<String> {
    srcset
        .split(',')
        .filter_map(|c| {
            let mut parts = c.split_whitespace();
            let url = parts.next()?;
            let size = parts
                .next()
                .and_then(|d| d.trim_end_matches(['w', 'x']).parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((size, url))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, u)| u.to_string())
}

/// The real source of an image, resolving lazy-loading attributes.
pub fn image_source(attr: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let src = attr("src").filter(|s| !is_placeholder(s));
    let lazy = [
        "data-src",
        "data-original",
        "data-lazy-src",
        "data-lazy",
        "data-url",
        "data-hi-res-src",
        "data-full-src",
    ]
    .iter()
    .find_map(|k| attr(k).filter(|s| !is_placeholder(s)));
    lazy.or(src).or_else(|| {
        ["srcset", "data-srcset", "data-lazy-srcset"]
            .iter()
            .find_map(|k| attr(k).and_then(|s| best_of_srcset(&s)))
            .filter(|s| !is_placeholder(s))
    })
}

fn write_open_tag(out: &mut String, tag: &str, el: &scraper::node::Element) {
    out.push('<');
    out.push_str(tag);
    if tag == "img" {
        let get = |k: &str| el.attr(k).map(str::to_string);
        if let Some(src) = image_source(&get) {
            out.push_str(" src=\"");
            escape_into(out, &src, true);
            out.push('"');
        }
        for k in ["alt", "title", "width", "height"] {
            if let Some(v) = el.attr(k) {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape_into(out, v, true);
                out.push('"');
            }
        }
    } else {
        for (k, v) in el.attrs() {
            if matches!(
                k,
                "href"
                    | "title"
                    | "lang"
                    | "dir"
                    | "colspan"
                    | "rowspan"
                    | "cite"
                    | "datetime"
                    | "start"
            ) {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape_into(out, v, true);
                out.push('"');
            }
        }
    }
    out.push('>');
}

/// Plain-text writer: collapses whitespace, blank line between blocks.
#[derive(Default)]
struct TextOut {
    s: String,
    block_start: usize,
    /// Fingerprints of the blocks written so far that have one.
    seen: HashSet<u64>,
    /// Blocks written so far and not yet fingerprinted, by number of words: a
    /// block can only repeat one with as many words, so most blocks are never
    /// fingerprinted.
    unhashed: HashMap<usize, Vec<(usize, usize)>>,
    /// Words written since the block started.
    block_words: usize,
    /// 0 nothing, 1 space, 2 newline, 3 blank line
    pending: u8,
}

impl TextOut {
    fn push(&mut self, t: &str) {
        let mut first = true;
        if t.starts_with(char::is_whitespace) && self.pending == 0 {
            self.pending = 1;
        }
        for w in t.split_whitespace() {
            if !first && self.pending == 0 {
                self.pending = 1;
            }
            first = false;
            // Without a separator the word continues the last one ("<b>Rel</b>ated").
            if self.s.is_empty() || self.pending != 0 {
                self.block_words += 1;
            }
            if !self.s.is_empty() {
                match self.pending {
                    1 => self.s.push(' '),
                    2 => self.s.push('\n'),
                    3 => self.s.push_str("\n\n"),
                    _ => {}
                }
            }
            self.pending = 0;
            self.s.push_str(w);
        }
        if t.ends_with(char::is_whitespace) && self.pending == 0 && !t.trim().is_empty() {
            self.pending = 1;
        }
    }
    fn line_break(&mut self) {
        self.pending = self.pending.max(2);
    }
    fn block_break(&mut self) {
        self.end_block();
        self.pending = 3;
    }
    /// Drops a block whose text repeats an earlier one (tabs and mobile copies
    /// of the same content).
    fn end_block(&mut self) {
        let written = &self.s[self.block_start..];
        let block = written.trim();
        // 80 bytes always hold 20 characters.
        if block.len() >= 80 || block.chars().count() >= 20 {
            let start = self.block_start + written.len() - written.trim_start().len();
            let range = (start, start + block.len());
            let repeat = match self.unhashed.get_mut(&self.block_words) {
                None => {
                    self.unhashed.insert(self.block_words, vec![range]);
                    false
                }
                Some(same_count) => {
                    // Fingerprint the earlier blocks of as many words now.
                    for (a, b) in same_count.drain(..) {
                        self.seen.insert(fingerprint(&self.s[a..b]));
                    }
                    !self.seen.insert(fingerprint(&self.s[range.0..range.1]))
                }
            };
            if repeat {
                self.s.truncate(self.block_start);
            }
        }
        self.block_start = self.s.len();
        self.block_words = 0;
    }

    fn finish(mut self) -> String {
        self.end_block();
        self.s.trim_end().to_string()
    }
}
