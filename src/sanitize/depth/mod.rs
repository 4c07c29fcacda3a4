//! What is cut from a page before parsing ([`trim_for_parse`]): the bodies of
//! scripts and style sheets, the content of SVG drawings and MathML formulas,
//! attributes nothing reads, and nesting beyond a cap. An HTML fragment from a
//! feed item gets the nesting cap alone ([`cap_depth`]) before it is sanitised.
//!
//! Attributes: once code is cut, about a fifth of a news page's bytes are
//! attributes that no rule reads (`data-*` blobs, event handlers, SVG
//! geometry, `tabindex`, `loading`...), and html5ever pays for each one; on
//! the development pages cutting them saves a seventh of the parse.
//! [`read_attribute`](names::read_attribute) lists every attribute the
//! extractor or the tree builder looks at; the rest go.
//!
//! The nesting cap: html5ever's scope checks walk the stack of
//! open elements, so a page nested 100,000 levels deep costs quadratic time (a
//! minute). Browsers cap the DOM depth (Blink at 512); we drop start/end tag pairs
//! past [`MAX_DEPTH`], keeping every piece of text.
//!
//! Here: the plan of cuts and the copies. [`names`] lists the tags and
//! attributes the scan treats specially, [`scan`] reads one tag, comment or
//! raw-text content the way the tokenizer does, [`walk`](mod@walk) goes over
//! a page's tags following the tree builder's state.

mod names;
mod scan;
mod walk;

use scan::{find_ci, Tag};
use walk::walk;

pub use scan::find;

/// Deeper than any real article.
pub const MAX_DEPTH: usize = 400;

/// The page as the parser should see it, or `None` to parse it as it is, and
/// whether its nesting was capped. Four things are cut, found in one scan of
/// the tags so that the usual page costs a single pass:
/// - the code inside `<script>` and `<style>` elements (the elements stay). On
///   real pages code is about 40 % of the bytes, none of it article text. JSON-LD
///   (metadata) is kept;
/// - the content of `<svg>` and `<math>` elements (hard chrome: never read);
/// - with `strip_attributes`, the attributes of start tags that nothing reads
///   (see [`read_attribute`](names::read_attribute)). A caller with user CSS
///   selectors keeps them all: a selector may name any attribute;
/// - start/end tag pairs nested deeper than [`MAX_DEPTH`] (rare: a second pass).
pub fn trim_for_parse(html: &str, strip_attributes: bool) -> (Option<String>, bool) {
    let (cuts, too_deep) = plan_cuts(html.as_bytes(), strip_attributes);
    let total: usize = cuts.iter().map(|(start, end)| end - start).sum();
    let stripped = (total >= MIN_CUT).then(|| apply_cuts(html, &cuts));
    if !too_deep {
        return (stripped, false);
    }
    (Some(flatten(stripped.as_deref().unwrap_or(html))), true)
}

/// The HTML without the tags nested beyond [`MAX_DEPTH`] (every piece of text
/// kept), or `None` when it nests no deeper. Without it a fragment nested
/// 50,000 levels deep costs the parser quadratic time on every use.
pub fn cap_depth(html: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut too_deep = false;
    walk(
        html.as_bytes(),
        false,
        &mut Vec::new(),
        |tag| {
            if tag.closing {
                depth = depth.saturating_sub(1);
            } else if !tag.self_closing {
                depth += 1;
                too_deep = depth > MAX_DEPTH;
            }
            // The first tag past the cap settles it.
            !too_deep
        },
        |_, _, _| None,
    );
    too_deep.then(|| flatten(html))
}

/// The byte ranges [`trim_for_parse`] cuts, in page order, and whether the
/// page nests deeper than [`MAX_DEPTH`].
fn plan_cuts(b: &[u8], strip_attributes: bool) -> (Vec<(usize, usize)>, bool) {
    let mut depth = 0usize;
    let mut too_deep = false;
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    walk(
        b,
        strip_attributes,
        &mut cuts,
        |tag| {
            if tag.closing {
                depth = depth.saturating_sub(1);
            } else if !tag.self_closing {
                depth += 1;
                too_deep |= depth > MAX_DEPTH;
            }
            true
        },
        |tag, start, end| (end > start && is_code(b, tag)).then_some((start, end)),
    );
    (cuts, too_deep)
}

/// The page without the given byte ranges.
fn apply_cuts(html: &str, cuts: &[(usize, usize)]) -> String {
    let total: usize = cuts.iter().map(|(start, end)| end - start).sum();
    let mut out = String::with_capacity(html.len() - total);
    let mut copied = 0usize;
    for &(start, end) in cuts {
        // Tags are ASCII-delimited, so these are char boundaries.
        out.push_str(&html[copied..start]);
        copied = end;
    }
    out.push_str(&html[copied..]);
    out
}

/// True for the content of a style sheet, or of a script that is not JSON-LD.
fn is_code(b: &[u8], tag: &Tag) -> bool {
    match tag.name() {
        b"style" => true,
        b"script" => find_ci(&b[tag.start..tag.end], 0, b"ld+json").is_none(),
        _ => false,
    }
}

/// The page without the tags nested beyond [`MAX_DEPTH`], keeping all text.
fn flatten(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut copied = 0usize;
    let mut depth = 0usize;
    let mut dropped = 0usize;
    walk(
        b,
        false,
        &mut Vec::new(),
        |tag| {
            let keep = if tag.closing {
                if dropped > 0 {
                    dropped -= 1;
                    false
                } else {
                    depth = depth.saturating_sub(1);
                    true
                }
            } else if tag.self_closing {
                true
            } else if depth >= MAX_DEPTH {
                dropped += 1;
                false
            } else {
                depth += 1;
                true
            };
            if !keep {
                // Tags are ASCII-delimited, so these are char boundaries.
                out.push_str(&html[copied..tag.start]);
                copied = tag.end;
            }
            true
        },
        |_, _, _| None,
    );
    out.push_str(&html[copied..]);
    out
}

/// Below this many bytes to cut, copying the page costs more than it saves.
const MIN_CUT: usize = 4096;

#[cfg(test)]
mod tests;
