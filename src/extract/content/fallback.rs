//! When the article root gives no text: the steps that still find the page's
//! prose, so that a page with text never comes out empty.

use super::{chrome::soft_tag, Chrome, Page, NONE};

/// Which step of [`Page::fallback`] gave the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The root as chosen, without the in-article rules (a list of items).
    RootUnfiltered,
    /// The page's visible text without navigation, header, footer and asides.
    VisibleText,
}

impl Step {
    /// A few words for logs and `clean --explain`.
    pub fn describe(self) -> &'static str {
        match self {
            Step::RootUnfiltered => "the root without the in-article rules",
            Step::VisibleText => "the page's visible text without navigation, header and footer",
        }
    }
}

impl Page<'_> {
    /// Text (and HTML) for a page whose root gave none after the in-article
    /// rules, in steps: the root without those rules, then everything visible
    /// outside navigation, header and footer. `None` when the page shows no
    /// text at all. (A "densest block" step between the two lost text on
    /// lists and shops, whose items are mostly links, and found nothing the
    /// visible text lacked.)
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
}
