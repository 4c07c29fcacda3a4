//! The walk over a page's tags ([`walk`]), following the tree builder's
//! state as far as it changes how the tokenizer reads on ([`follow`]).

use super::names::{breaks_out_of_foreign, html_inside_foreign, raw_text, uncounted};
use super::scan::{comment_end, find, raw_content_end, tag_at, Tag};

/// What the tree builder is in, as far as it changes how the tokenizer reads
/// what follows: SVG or MathML content (no raw text there), a `<select>`
/// (which ignores most tags, raw-text ones among them).
#[derive(Default)]
struct Context {
    /// Open SVG/MathML elements, outermost first (lower-case names).
    foreign: Vec<[u8; 24]>,
    /// Inside a `<select>`.
    in_select: bool,
}

/// What a tag does to the [`Context`]: `Some(raw)` when the scan still knows
/// how the tokenizer reads on (`raw`: the element's content is raw text), or
/// `None` when it no longer does.
fn follow(cx: &mut Context, tag: &Tag) -> Option<bool> {
    let name = tag.name();
    let key = tag.key();
    if let Some(top) = cx.foreign.last() {
        if tag.long_name {
            // Cut names could match the wrong open element.
            return None;
        }
        // In an integration point, tags are HTML again: this scan does not
        // follow them (and one is only ever the innermost open element).
        let top_len = top.iter().position(|&c| c == 0).unwrap_or(top.len());
        let in_html_point = html_inside_foreign(&top[..top_len]);
        if tag.closing {
            if matches!(name, b"br" | b"p") {
                if in_html_point {
                    return None;
                }
                // Breaks out to HTML, where it opens nothing raw.
                cx.foreign.clear();
                return Some(false);
            }
            let k = cx.foreign.iter().rposition(|n| *n == key)?;
            cx.foreign.truncate(k);
            return Some(false);
        }
        // A `<font>` breaks out only with `color`, `face` or `size`, which the
        // scan does not keep track of.
        if in_html_point || name == b"font" {
            return None;
        }
        if breaks_out_of_foreign(name) {
            cx.foreign.clear();
            return Some(false);
        }
        if !tag.self_closing {
            cx.foreign.push(key);
        }
        return Some(false);
    }
    if tag.closing {
        if name == b"select" {
            cx.in_select = false;
        }
        // `</template>` may close a select inside the template; a table end
        // tag one inside a table.
        if cx.in_select && (table_part(name) || name == b"template") {
            return None;
        }
        return Some(false);
    }
    if cx.in_select {
        // The select ignores all but a few tags; these close it first.
        match name {
            b"input" | b"keygen" | b"select" => cx.in_select = false,
            b"textarea" => {
                cx.in_select = false;
                return Some(true);
            }
            b"script" => return Some(true),
            b"template" => return None,
            _ if table_part(name) => return None,
            _ => {}
        }
        return Some(false);
    }
    match name {
        b"svg" | b"math" if !tag.self_closing => cx.foreign.push(key),
        b"select" => cx.in_select = true,
        b"frameset" => return None,
        _ => {}
    }
    Some(raw_text(name))
}

/// Table tags that end a `<select>` inside a table (but not elsewhere).
fn table_part(name: &[u8]) -> bool {
    matches!(
        name,
        b"caption" | b"table" | b"tbody" | b"tfoot" | b"thead" | b"tr" | b"td" | b"th"
    )
}

/// One pass over the tags of a page, as html5ever's tokenizer sees them:
/// comments, bogus comments (`<!DOCTYPE>`, `<?xml?>`) and raw-text content
/// (scripts, style sheets, `<textarea>`...) are not tags. `on_tag` gets each
/// counted tag (and stops the walk by returning false); `on_raw` gets each
/// raw-text element's opening tag with the byte range of its content, and
/// may return a range to cut. With `strip`, the unread attributes of start
/// tags are cut too. Cuts are added in page order, and only while the scan
/// follows the parser exactly: from a construct it does not model (HTML
/// inside SVG, a `<frameset>`), the rest of the page is left as it is.
pub(super) fn walk(
    b: &[u8],
    strip: bool,
    cuts: &mut Vec<(usize, usize)>,
    mut on_tag: impl FnMut(&Tag) -> bool,
    mut on_raw: impl FnMut(&Tag, usize, usize) -> Option<(usize, usize)>,
) {
    let mut cx = Context::default();
    let mut exact = true;
    let mut drawings = Drawings::default();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let at = i + off;
        if let Some(next) = skip_non_tag(b, at, !cx.foreign.is_empty()) {
            i = next;
            continue;
        }
        let Some(tag) = tag_at(b, at, (strip && exact).then_some(&mut *cuts)) else {
            break;
        };
        i = tag.end;
        // The text of a drawing tells the parser the page is no frameset
        // (`frameset-ok`): with a frameset about, drawings stay whole.
        if !tag.closing && tag.name() == b"frameset" {
            drawings.done.clear();
        }
        let raw = if exact {
            let was_foreign = !cx.foreign.is_empty();
            let step = follow(&mut cx, &tag);
            exact = step.is_some();
            drawings.follow(&tag, was_foreign, !cx.foreign.is_empty(), exact, cuts);
            step.unwrap_or(false)
        } else {
            // Past what the scan models: read on as if in HTML, cutting nothing.
            !tag.closing && raw_text(tag.name())
        };
        if raw {
            let end = raw_content_end(b, i, &tag);
            if let Some(cut) = on_raw(&tag, i, end).filter(|_| exact) {
                cuts.push(cut);
            }
            i = end;
            continue;
        }
        if uncounted(tag.name()) {
            continue;
        }
        if !on_tag(&tag) {
            break;
        }
    }
    if !drawings.done.is_empty() {
        cuts.extend(drawings.done);
        cuts.sort_unstable();
    }
}

/// Where the walk goes on when the `<` at `at` opens no tag: past a comment,
/// a CDATA section (only in SVG or MathML content, `in_foreign`), `</>`
/// (dropped) or a bogus comment, or one byte on for a '<' that is text.
/// `None` when a tag starts there.
#[inline]
fn skip_non_tag(b: &[u8], at: usize, in_foreign: bool) -> Option<usize> {
    let next = b.get(at + 1).copied();
    if b[at..].starts_with(b"<!--") {
        return Some(comment_end(b, at));
    }
    if in_foreign && b[at..].starts_with(b"<![CDATA[") {
        return Some(find(b, at + 9, b"]]>").map_or(b.len(), |e| e + 3));
    }
    let tag_start = match next {
        Some(c) if c.is_ascii_alphabetic() => true,
        Some(b'/') => match b.get(at + 2) {
            Some(c) if c.is_ascii_alphabetic() => true,
            // `</>` is dropped; `</ ...>` is a bogus comment.
            Some(b'>') => return Some(at + 3),
            _ => false,
        },
        _ => false,
    };
    if tag_start {
        return None;
    }
    // `<!DOCTYPE ...>`, `<?xml ...>`, `</ ...>`: up to the next '>'.
    // A '<' before anything else is text.
    Some(if matches!(next, Some(b'!' | b'?' | b'/')) {
        memchr::memchr(b'>', &b[at..]).map_or(b.len(), |e| at + e + 1)
    } else {
        at + 1
    })
}

/// The content of SVG drawings and MathML formulas (hard chrome, never read)
/// goes, from the outermost start tag to its own end tag; a drawing left some
/// other way (a breakout) stays whole.
#[derive(Default)]
struct Drawings {
    /// Where the open drawing's content starts, and the cuts made before it.
    open: Option<(usize, usize)>,
    /// The contents cut so far.
    done: Vec<(usize, usize)>,
}

impl Drawings {
    /// Follows a tag the walk still modelled before it: whether SVG/MathML
    /// content was open before the tag and is after it, and whether the walk
    /// still follows the parser exactly.
    #[inline]
    fn follow(
        &mut self,
        tag: &Tag,
        was_foreign: bool,
        is_foreign: bool,
        exact: bool,
        cuts: &mut Vec<(usize, usize)>,
    ) {
        match (was_foreign, is_foreign) {
            (false, false) => {}
            (false, true) => self.open = Some((tag.end, cuts.len())),
            (true, false) => {
                if let Some((start, mark)) = self.open.take() {
                    if exact && tag.closing && matches!(tag.name(), b"svg" | b"math") {
                        cuts.truncate(mark);
                        self.done.push((start, tag.start));
                    }
                }
            }
            (true, true) => {}
        }
        if !exact {
            self.open = None;
        }
    }
}
