//! What `clean --explain` reads off a page: element paths, root scores and the
//! blocks the rules removed. Only called when a trace is asked for.

use scraper::{ElementRef, Node};

use super::root::BAD_WEIGHT;
use super::rules::Rule;
use super::{chrome, Chrome, Page, NONE};

/// Characters of a removed block's text shown.
const SHOWN_CHARS: usize = 60;

impl Page<'_> {
    /// A CSS-like path of an element: `body > main > article.story`.
    pub fn path(&self, i: usize) -> String {
        let mut parts = Vec::new();
        let mut k = i as u32;
        while k != NONE && !matches!(self.nodes[k as usize].tag, "html" | "") {
            let n = &self.nodes[k as usize];
            let mut part = n.tag.to_string();
            if let Node::Element(el) = n.node.value() {
                if let Some(id) = el.id().filter(|id| !id.is_empty()) {
                    part.push('#');
                    part.push_str(id);
                } else if let Some(class) =
                    el.attr("class").and_then(|c| c.split_whitespace().next())
                {
                    part.push('.');
                    part.push_str(class);
                }
            }
            parts.push(part);
            k = n.parent;
        }
        parts.reverse();
        parts.join(" > ")
    }

    /// The scorer's figure for an element: its prose net of weighted other text.
    pub fn score(&self, i: usize) -> f32 {
        let s = self.sums[i];
        s.good as f32 - BAD_WEIGHT * s.bad as f32
    }

    /// The best-scored blocks that neither hold nor sit inside `root`, best first.
    pub fn runners_up(&self, root: usize, n: usize) -> Vec<usize> {
        let root_end = self.nodes[root].end as usize;
        let mut cands: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                let node = &self.nodes[i];
                node.block
                    && !self.pruned[i]
                    && self.sums[i].good > 0
                    && !(root..root_end).contains(&i)
                    && !(i < root && node.end as usize >= root_end)
            })
            .collect();
        cands.sort_by(|&a, &b| self.score(b).total_cmp(&self.score(a)));
        // A wrapper and its only block score alike: show distinct blocks.
        let mut out: Vec<usize> = Vec::new();
        for c in cands {
            let end = self.nodes[c].end as usize;
            let nested = out
                .iter()
                .any(|&o| (o..self.nodes[o].end as usize).contains(&c) || (c..end).contains(&o));
            if !nested {
                out.push(c);
            }
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// The outermost blocks under `root` that `drop` removes, with the rule's
    /// name: an in-article rule from `hits`, a `remove` selector from
    /// `removed_by`, else the chrome signal of the element. Script and
    /// other never-read elements, and blocks without text, are left out.
    pub fn removed_blocks(
        &self,
        root: usize,
        drop: &[bool],
        hits: &[(usize, Rule)],
        removed_by: &[(usize, String)],
    ) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let end = self.nodes[root].end as usize;
        let mut i = root + 1;
        while i < end {
            let n = &self.nodes[i];
            if !drop[i] || n.tag.is_empty() {
                i += 1;
                continue;
            }
            let i_end = n.end as usize;
            let hit = hits.iter().find(|(k, _)| (i..i_end).contains(k));
            let shown = n.chrome != Some(Chrome::Hard)
                && !n.in_hard
                && (self.sums[i].text > 0 || !self.raw_text(i).is_empty() || hit.is_some());
            if shown {
                let rule = if let Some((_, rule)) = hit {
                    rule.name().to_string()
                } else if let Some((_, css)) = removed_by.iter().find(|(k, _)| *k == i) {
                    format!("remove {css:?}")
                } else if self.pruned[i] {
                    self.chrome_reason(i)
                } else {
                    // Boxes and lists after a related or sources heading.
                    hits.iter()
                        .rev()
                        .find(|(k, _)| *k < i)
                        .map_or("related", |(_, r)| r.name())
                        .to_string()
                };
                out.push((rule, i));
            }
            i = i_end;
        }
        out
    }

    /// The first words of an element's text, chrome or not.
    pub fn text_start(&self, i: usize) -> String {
        let text = self.raw_text(i);
        match text.char_indices().nth(SHOWN_CHARS) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text,
        }
    }

    fn raw_text(&self, i: usize) -> String {
        ElementRef::wrap(self.nodes[i].node)
            .map(|el| {
                el.text()
                    .flat_map(str::split_whitespace)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    /// Why the chrome signals marked element `i` (or the chrome it sits in).
    fn chrome_reason(&self, i: usize) -> String {
        let mut k = i as u32;
        while k != NONE {
            let n = &self.nodes[k as usize];
            if self.own_pruned[k as usize] {
                if let Node::Element(el) = n.node.value() {
                    return chrome::reason(n.tag, &|a| el.attr(a));
                }
            }
            k = n.parent;
        }
        "chrome".to_string()
    }
}
