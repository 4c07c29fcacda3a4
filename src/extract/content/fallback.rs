//! When the article root gives no text: the steps that still find the page's
//! prose, so that a page with text never comes out empty.

use super::{chrome::soft_tag, Chrome, Page, NONE};

/// Which step of [`Page::fallback`] gave the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The root as chosen, without the in-article rules (a list of items).
    RootUnfiltered,
    /// The block with the most text outside links.
    DensestBlock,
    /// The page's visible text without navigation, header, footer and asides.
    VisibleText,
}

impl Step {
    /// A few words for logs and `clean --explain`.
    pub fn describe(self) -> &'static str {
        match self {
            Step::RootUnfiltered => "the root without the in-article rules",
            Step::DensestBlock => "the block with the most text outside links",
            Step::VisibleText => "the page's visible text without navigation, header and footer",
        }
    }
}

/// A densest block must hold this share of the page's visible text outside
/// links; a lone notice beside a long list is not the page.
const DENSEST_SHARE: u32 = 4;

impl Page<'_> {
    /// Text (and HTML) for a page whose root gave none after the in-article
    /// rules, in steps: the root without those rules, the block with the most
    /// text outside links, then everything visible outside navigation, header
    /// and footer. `None` when the page shows no text at all.
    pub fn fallback(&self, root: usize, want_html: bool) -> Option<(String, String, Step)> {
        let nonempty =
            |(t, h): (String, String), step| (!t.trim().is_empty()).then_some((t, h, step));
        let body = self.body();
        // A root the scorer chose (not the body it falls back to) is where the
        // page's items are, only the rules took them all.
        if root != body {
            if let Some(out) = nonempty(
                self.render(root, &self.pruned, want_html),
                Step::RootUnfiltered,
            ) {
                return Some(out);
            }
        }
        let visible = self.visible_mask();
        if let Some(block) = self.densest_block(body, &visible) {
            if let Some(out) = nonempty(self.render(block, &visible, want_html), Step::DensestBlock)
            {
                return Some(out);
            }
        }
        nonempty(self.render(body, &visible, want_html), Step::VisibleText)
    }

    /// Hard chrome and page landmarks (`nav`, `header`, `footer`, `aside`,
    /// `menu`, not `form`: some sites wrap the whole page in one) with all they hold.
    fn visible_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            let parent_masked = n.parent != NONE && mask[n.parent as usize];
            mask[i] = parent_masked
                || n.chrome == Some(Chrome::Hard)
                || n.in_hard
                || (soft_tag(n.tag) && n.tag != "form");
        }
        mask
    }

    /// The block under `body` with the most text outside links (net of twice
    /// its link text), when it holds a fair share of the visible text.
    fn densest_block(&self, body: usize, mask: &[bool]) -> Option<usize> {
        let end = self.nodes[body].end as usize;
        // Text and link text per node outside the mask, summed bottom-up.
        let mut text = vec![0u32; end - body];
        let mut link = vec![0u32; end - body];
        for i in (body..end).rev() {
            let n = &self.nodes[i];
            if mask[i] {
                continue;
            }
            let k = i - body;
            text[k] += n.len;
            if n.in_link {
                link[k] += n.len;
            }
            if i > body && n.parent != NONE {
                let p = n.parent as usize - body;
                text[p] += text[k];
                link[p] += link[k];
            }
        }
        let total = text[0].saturating_sub(link[0]);
        let score = |k: usize| i64::from(text[k]) - 2 * i64::from(link[k]);
        let best = (body + 1..end)
            .filter(|&i| self.nodes[i].block && !mask[i])
            .max_by_key(|&i| score(i - body))?;
        let k = best - body;
        (score(k) > 0 && text[k].saturating_sub(link[k]) * DENSEST_SHARE >= total).then_some(best)
    }
}
