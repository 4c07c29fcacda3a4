//! The in-article chrome rules: what inside the root is still not the article
//! (link lists, teaser grids, related-stories boxes, bylines, the headline).

use std::collections::HashSet;

use scraper::Node;

use super::{fingerprint, is_heading, Page, NONE};
use crate::extract::chrome;

/// Which in-article rule removed a block (for `clean --explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An interface icon, logo or avatar image.
    Icon,
    /// A block that is mostly links.
    Links,
    /// A grid of teaser cards for other stories.
    Teasers,
    /// A related-stories heading and what it heads.
    Related,
    /// A sources heading and the list under it.
    Sources,
    /// The headline, repeated in the body.
    Title,
    /// A byline, dateline, share prompt or "Advertisement".
    Meta,
    /// A block the site's template repeats on its other pages.
    Template,
    /// A sign-up, follow or consent line (a pitch, not the story).
    Pitch,
}

impl Rule {
    /// A short stable name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Icon => "icon",
            Rule::Links => "links",
            Rule::Teasers => "teasers",
            Rule::Related => "related",
            Rule::Sources => "sources",
            Rule::Title => "title",
            Rule::Meta => "byline",
            Rule::Template => "template",
            Rule::Pitch => "pitch",
        }
    }
}

/// A story teaser is short: a headline and a summary of a few lines.
const CARD_MAX_TEXT: u32 = 800;

/// A sign-up or follow pitch is a few lines; a longer block that names a
/// newsletter is more likely about it.
const PITCH_MAX_TEXT: u32 = 400;

/// A card's kicker (section name, label, date) is a few words.
const KICKER_MAX_TEXT: u32 = 30;

impl Page<'_> {
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
    /// Decides which nodes under `root` are chrome by the in-article rules.
    /// Returns the drop mask and the fingerprints of short blocks page-wide;
    /// `hits`, when given, gets each element a rule removed and the rule.
    pub fn in_article_rules(
        &self,
        root: usize,
        title: Option<&str>,
        known: &HashSet<u64>,
        learn: bool,
        mut hits: Option<&mut Vec<(usize, Rule)>>,
    ) -> (Vec<bool>, Vec<u64>) {
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
            if let Some(rule) =
                self.is_chrome_in_article(i, root, norm_title.as_deref(), known, &mut drop)
            {
                if let Some(hits) = hits.as_deref_mut() {
                    hits.push((i, rule));
                }
                drop[i] = true;
                i = node.end as usize;
            } else {
                i += 1;
            }
        }
        (drop, self.block_fingerprints(learn))
    }

    /// Whether element `i` under `root` is chrome by the in-article rules; a
    /// related-stories or sources heading also marks what it heads in `drop`.
    fn is_chrome_in_article(
        &self,
        i: usize,
        root: usize,
        norm_title: Option<&str>,
        known: &HashSet<u64>,
        drop: &mut [bool],
    ) -> Option<Rule> {
        let node = &self.nodes[i];
        let s = self.sums[i];
        let mut dropped = None;
        if node.tag == "img" {
            if let Node::Element(el) = node.node.value() {
                dropped = chrome::is_icon_image(&|k| el.attr(k).map(str::to_string))
                    .then_some(Rule::Icon);
            }
        } else if s.text == 0 {
            // Nothing to read: figures and images stay, empty wrappers are harmless.
        } else if (matches!(
            node.tag,
            "ul" | "ol" | "div" | "section" | "table" | "dl" | "p"
        ) && s.link * 2 > s.text
            && (node.tag != "p" || s.text < 300))
        {
            // Blocks only: a span is inline, and one made of a link's words (a
            // cross-reference in a sentence) is judged with its block.
            dropped = Some(Rule::Links);
        } else if self.is_teaser_grid(i) {
            dropped = Some(Rule::Teasers);
        } else if s.text < 200 && !self.same_text_as_child(i) {
            let text = self.element_text(i);
            dropped = self.short_block_rule(i, root, &text, norm_title, known, drop);
            if dropped.is_none() && node.block && self.is_pitch(i, root, Some(&text)) {
                dropped = Some(Rule::Pitch);
            }
        } else if s.text < PITCH_MAX_TEXT && node.block && self.is_pitch(i, root, None) {
            dropped = Some(Rule::Pitch);
        }
        dropped
    }

    /// A block (its `text` when already built) that pitches the site's lists
    /// or accounts. A pitch is a small part of an article; a root made of one
    /// is a page the scorer misread, and its fallback needs the text. The
    /// text nodes are looked at before the block's text is built: most
    /// blocks hold none of a pitch's words.
    fn is_pitch(&self, i: usize, root: usize, text: Option<&str>) -> bool {
        if self.sums[i].text * 2 >= self.sums[root].text {
            return false;
        }
        match text {
            Some(t) => chrome::is_pitch(t),
            None => {
                // A wrapper is judged by its child (which holds all its text):
                // asked first, it spares the wrapper's scan of the same nodes.
                if self.same_text_as_child(i) {
                    return false;
                }
                let end = self.nodes[i].end as usize;
                let hint = (i..end).any(|j| match self.nodes[j].node.value() {
                    Node::Text(t) => !self.pruned[j] && chrome::may_be_pitch(t),
                    _ => false,
                });
                hint && chrome::is_pitch(&self.element_text(i))
            }
        }
    }

    /// The rules for a short block (`text` under 200 letters): a related or
    /// sources heading (which also marks what it heads in `drop`), the
    /// headline, a byline or a block of the site's template.
    fn short_block_rule(
        &self,
        i: usize,
        root: usize,
        text: &str,
        norm_title: Option<&str>,
        known: &HashSet<u64>,
        drop: &mut [bool],
    ) -> Option<Rule> {
        let node = &self.nodes[i];
        let heading_like = is_heading(node.tag)
            || (self.sums[i].text < 50
                && matches!(node.tag, "p" | "div" | "span" | "strong" | "b"));
        if heading_like && chrome::is_related_heading(text) {
            self.drop_related(i, root, drop, false);
            return Some(Rule::Related);
        }
        if heading_like && chrome::is_source_heading(text) {
            self.drop_related(i, root, drop, true);
            return Some(Rule::Sources);
        }
        let is_title = is_heading(node.tag)
            && norm_title.is_some_and(|t| {
                let h = normalise(text);
                !h.is_empty() && (t == h || (t.contains(&h) && h.len() * 2 > t.len()))
            });
        if is_title {
            Some(Rule::Title)
        } else if chrome::is_meta_line(text) {
            Some(Rule::Meta)
        } else if node.block && !known.is_empty() && known.contains(&fingerprint(text)) {
            Some(Rule::Template)
        } else {
            None
        }
    }

    /// With `learn`, the fingerprints of the page's short blocks (outside
    /// chrome), sorted and without repeats, for site-template learning.
    fn block_fingerprints(&self, learn: bool) -> Vec<u64> {
        let n = self.nodes.len();
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
        prints
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
                    // A kicker above the headline (its section, "Sponsored
                    // content", a date) is no headline: the next heading is.
                    if hs.text < KICKER_MAX_TEXT {
                        continue;
                    }
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
}

/// Lower-case letters and digits only: for comparing titles and headings.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}
