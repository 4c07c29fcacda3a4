//! What is cut from a page before parsing ([`trim_for_parse`]): the bodies of
//! scripts and style sheets, and nesting beyond a cap.
//!
//! The nesting cap: html5ever's scope checks walk the stack of
//! open elements, so a page nested 100,000 levels deep costs quadratic time (a
//! minute). Browsers cap the DOM depth (Blink at 512); we drop start/end tag pairs
//! past [`MAX_DEPTH`], keeping every piece of text.

/// Deeper than any real article.
pub const MAX_DEPTH: usize = 400;

/// Tags that never nest or close themselves implicitly; they do not count.
fn uncounted(name: &[u8]) -> bool {
    matches!(
        name,
        b"p" | b"li"
            | b"dt"
            | b"dd"
            | b"tr"
            | b"td"
            | b"th"
            | b"option"
            | b"br"
            | b"img"
            | b"hr"
            | b"input"
            | b"meta"
            | b"link"
            | b"area"
            | b"base"
            | b"col"
            | b"embed"
            | b"source"
            | b"track"
            | b"wbr"
            | b"param"
            | b"keygen"
    )
}

/// Raw-text elements whose content is not markup.
fn raw_text(name: &[u8]) -> bool {
    matches!(
        name,
        b"script" | b"style" | b"textarea" | b"title" | b"xmp" | b"noscript"
    )
}

struct Tag {
    start: usize,
    end: usize,
    closing: bool,
    self_closing: bool,
    /// Lower-cased name (names longer than the buffer are never special).
    name_buf: [u8; 12],
    name_len: usize,
}

impl Tag {
    fn name(&self) -> &[u8] {
        &self.name_buf[..self.name_len]
    }
}

/// Scans the tag that starts at `at` (a `<`).
fn tag_at(b: &[u8], at: usize) -> Option<Tag> {
    let mut i = at + 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == name_start {
        return None;
    }
    let mut name_buf = [0u8; 12];
    let name_len = (i - name_start).min(name_buf.len());
    for (d, s) in name_buf.iter_mut().zip(&b[name_start..i]) {
        *d = s.to_ascii_lowercase();
    }
    // A long name is truncated; mark it so it matches no special tag.
    if i - name_start > name_buf.len() {
        name_buf[0] = b'-';
    }
    // Find the closing '>' outside quotes.
    loop {
        i += memchr::memchr3(b'"', b'\'', b'>', &b[i..])?;
        let c = b[i];
        if c == b'>' {
            let self_closing = i > 0 && b[i - 1] == b'/';
            return Some(Tag {
                start: at,
                end: i + 1,
                closing,
                self_closing,
                name_buf,
                name_len,
            });
        }
        // Skip the quoted value.
        i += 1;
        i += memchr::memchr(c, &b[i..])? + 1;
    }
}

/// The page as the parser should see it, or `None` to parse it as it is, and
/// whether its nesting was capped. Two things are cut, found in one scan of the
/// tags so that the usual page costs a single pass:
/// - the code inside `<script>` and `<style>` elements (the elements stay). On
///   real pages code is about 40 % of the bytes, none of it article text. JSON-LD
///   (metadata) is kept, and so is a script with `<!--` in it, whose end the
///   parser finds by rules this scan does not follow;
/// - start/end tag pairs nested deeper than [`MAX_DEPTH`] (rare: a second pass).
pub fn trim_for_parse(html: &str) -> (Option<String>, bool) {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut too_deep = false;
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut total = 0usize;
    walk(
        b,
        |tag| {
            if tag.closing {
                depth = depth.saturating_sub(1);
            } else if !tag.self_closing {
                depth += 1;
                too_deep |= depth > MAX_DEPTH;
            }
            true
        },
        |tag, start, end| {
            if end > start && is_code(b, tag, start, end) {
                cuts.push((start, end));
                total += end - start;
            }
        },
    );
    let stripped = (total >= MIN_CUT).then(|| {
        let mut out = String::with_capacity(html.len() - total);
        let mut copied = 0usize;
        for (start, end) in cuts {
            // Tags are ASCII-delimited, so these are char boundaries.
            out.push_str(&html[copied..start]);
            copied = end;
        }
        out.push_str(&html[copied..]);
        out
    });
    if !too_deep {
        return (stripped, false);
    }
    (Some(flatten(stripped.as_deref().unwrap_or(html))), true)
}

/// True for the content of a style sheet, or of a script that is neither
/// JSON-LD nor holds `<!--`.
fn is_code(b: &[u8], tag: &Tag, start: usize, end: usize) -> bool {
    match tag.name() {
        b"style" => true,
        b"script" => {
            find_ci(&b[tag.start..tag.end], 0, b"ld+json").is_none()
                && find(&b[start..end], 0, b"<!--").is_none()
        }
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
    scan(b, |tag| {
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
    });
    out.push_str(&html[copied..]);
    out
}

/// Below this many bytes of code, copying the page costs more than it saves.
const MIN_CUT: usize = 4096;

/// Where the content of the raw-text element opened by `tag` ends (its
/// closing tag, else the end of the page).
fn raw_text_end(b: &[u8], from: usize, tag: &Tag) -> usize {
    let mut close = [0u8; 14];
    close[..2].copy_from_slice(b"</");
    close[2..2 + tag.name_len].copy_from_slice(tag.name());
    find_ci(b, from, &close[..2 + tag.name_len]).unwrap_or(b.len())
}

/// Calls `f` on each counted tag, skipping comments and raw-text content.
fn scan(b: &[u8], f: impl FnMut(&Tag) -> bool) {
    walk(b, f, |_, _, _| {});
}

/// One pass over the tags of a page, outside comments: `on_tag` gets each
/// counted tag (and stops the walk by returning false), `on_raw` each raw-text
/// element's opening tag with the byte range of its content.
fn walk(
    b: &[u8],
    mut on_tag: impl FnMut(&Tag) -> bool,
    mut on_raw: impl FnMut(&Tag, usize, usize),
) {
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let at = i + off;
        if b[at..].starts_with(b"<!--") {
            i = find(b, at + 4, b"-->").map_or(b.len(), |e| e + 3);
            continue;
        }
        let Some(tag) = tag_at(b, at) else {
            i = at + 1;
            continue;
        };
        i = tag.end;
        if !tag.closing && raw_text(tag.name()) {
            let end = raw_text_end(b, i, &tag);
            on_raw(&tag, i, end);
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
}

/// Byte-string search: scan for the first byte, then compare (no per-byte memcmp).
pub fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    find_by(b, from, needle, |w, n| w == n)
}

fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    find_by(b, from, needle, <[u8]>::eq_ignore_ascii_case)
}

fn find_by(
    b: &[u8],
    from: usize,
    needle: &[u8],
    eq: impl Fn(&[u8], &[u8]) -> bool,
) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let alt = first.to_ascii_uppercase();
    let mut i = from;
    while i + needle.len() <= b.len() {
        let off = memchr::memchr2(first, alt, &b[i..])?;
        let at = i + off;
        if at + needle.len() > b.len() {
            return None;
        }
        if eq(&b[at..at + needle.len()], needle) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_are_left_alone() {
        assert_eq!(
            trim_for_parse("<div><p>a<p>b</div><script>if (a<b) {}</script>"),
            (None, false)
        );
    }

    #[test]
    fn code_is_cut_but_metadata_and_text_stay() {
        let code = "var x = '<p>not text</p>';".repeat(300);
        let page = format!(
            "<html><head><style>p {{ color: red }}</style>\
             <script type=\"application/ld+json\">{{\"headline\":\"Kept\"}}</script>\
             <SCRIPT src=\"a.js\"></SCRIPT><script>{code}</script></head>\
             <body><p>Article text.</p><textarea>{code}</textarea></body></html>"
        );
        let (cut, capped) = trim_for_parse(&page);
        let cut = cut.unwrap();
        assert!(!capped);
        assert!(cut.contains("<script></script></head>"));
        assert!(cut.contains("<style></style>"));
        assert!(cut.contains("{\"headline\":\"Kept\"}"));
        assert!(cut.contains("<p>Article text.</p>"));
        // Only scripts and style sheets: a textarea's content is the page's.
        assert_eq!(cut.matches("not text").count(), 300);
        // Little code: nothing to gain from a copy.
        assert_eq!(trim_for_parse("<p>a</p><script>x()</script>").0, None);
        // A script with a comment in it ends where the parser says: left alone.
        let odd = format!("<script><!-- {code} </script> --></script><p>b</p>");
        assert_eq!(trim_for_parse(&odd).0, None);
    }

    #[test]
    fn deep_pages_keep_their_text_and_lose_extra_tags() {
        let deep = "<div>".repeat(5000) + "<p>deep é text</p>" + &"</div>".repeat(5000);
        let (flat, capped) = trim_for_parse(&deep);
        let flat = flat.unwrap();
        assert!(capped);
        assert!(flat.contains("<p>deep é text</p>"));
        assert_eq!(flat.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(flat.matches("</div>").count(), MAX_DEPTH);
    }
}
