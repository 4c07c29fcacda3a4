//! The choice of the article root: the element with the most prose net of
//! other text, widened or narrowed by the page's structure.

use super::{Page, NONE};

/// Widening the root to its parent is worth one unit of prose per two of other text.
const CLIMB_PROSE_PER_OTHER: f32 = 0.5;

/// Weight of text outside prose blocks against the prose the root holds.
pub(super) const BAD_WEIGHT: f32 = 1.5;

impl Page<'_> {
    /// The element that holds the article: most prose net of everything else.
    pub fn best_root(&self) -> Option<usize> {
        let root = self.most_prose()?;
        let root = self.widen(root);
        let root = self.widen_to_article(root);
        // Landmarks nest (`main` > `article` > `entry-content`): an `<article>`
        // or `<main>` is a container, so look inside it again for the one that
        // holds half its prose; a block named as the body is the body itself.
        let mut root = root;
        loop {
            let inner = self.narrow_to_landmark(root);
            if inner == root {
                return Some(root);
            }
            root = inner;
            if !matches!(self.nodes[root].tag, "article" | "main") {
                return Some(root);
            }
        }
    }

    /// The block with the highest score: its prose net of weighted other text.
    fn most_prose(&self) -> Option<usize> {
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
        Some(best?.1)
    }

    /// A root holding a fraction of the prose next to it (one paragraph of many,
    /// each in its own wrapper) widens to the parent when that adds much prose
    /// for little else.
    fn widen(&self, mut root: usize) -> usize {
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
        root
    }

    /// A root inside an `<article>` that holds much more prose than it is one
    /// part of that article, even when the rest is mostly lists of links (a
    /// changelog, a report with references) that stopped the climb in [`Page::widen`].
    fn widen_to_article(&self, mut root: usize) -> usize {
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
        root
    }

    /// An `<article>`, `<main>` or block whose class names the article body
    /// (`entry-content`), holding at least half of the root's prose, is the
    /// article: what lies beside it (excerpts of other stories, comments, legal
    /// notes) reads as prose too but is not this story.
    fn narrow_to_landmark(&self, root: usize) -> usize {
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
                return l;
            }
        }
        root
    }
}
