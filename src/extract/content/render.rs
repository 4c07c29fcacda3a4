//! The writers: the kept nodes under the root as plain text (whitespace
//! collapsed, repeated blocks dropped) and as HTML (a few attributes kept).

use std::collections::{HashMap, HashSet};

use scraper::Node;

use super::{fingerprint, Page};

impl Page<'_> {
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
    /// Fingerprints of the blocks written so far that have one (FxHash: the
    /// keys are already hashes, and SipHash showed in the profile).
    seen: HashSet<u64, fxhash::FxBuildHasher>,
    /// Blocks written so far and not yet fingerprinted, by number of words: a
    /// block can only repeat one with as many words, so most blocks are never
    /// fingerprinted.
    unhashed: HashMap<usize, Vec<(usize, usize)>, fxhash::FxBuildHasher>,
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
        for w in super::words(t) {
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
