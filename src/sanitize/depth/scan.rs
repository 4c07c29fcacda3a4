//! The tag scanner: where a tag, a comment or raw-text content ends, by the
//! rules of html5ever's tokenizer, and which attributes of a tag go.

use super::names::read_attribute;

/// Whitespace as the HTML tokenizer knows it.
#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// A start or end tag as the tokenizer reads it.
pub(super) struct Tag {
    /// Where its `<` is.
    pub(super) start: usize,
    /// Just past its `>`.
    pub(super) end: usize,
    /// An end tag (`</name`).
    pub(super) closing: bool,
    /// Ends with `/>`.
    pub(super) self_closing: bool,
    /// Lower-cased name; a name longer than the buffer is cut to it and its
    /// last byte set to '-', so that it matches no special tag.
    name_buf: [u8; 24],
    /// How much of `name_buf` the name fills.
    pub(super) name_len: usize,
    /// The name was cut (no SVG or MathML element has such a name).
    pub(super) long_name: bool,
}

impl Tag {
    /// The lower-cased name (see `name_buf`).
    #[inline]
    pub(super) fn name(&self) -> &[u8] {
        &self.name_buf[..self.name_len]
    }

    /// The name zero-padded to the buffer's size: a key for comparing names
    /// without their lengths.
    #[inline]
    pub(super) fn key(&self) -> [u8; 24] {
        self.name_buf
    }
}

/// Scans the tag that starts at `at` (`<` or `</`, then a letter) by the
/// tokenizer's rules for names and attribute values (quoted, unquoted or
/// none), so that it ends where the parser's tag ends. With `cuts`, the byte
/// ranges of a start tag's attributes that [`read_attribute`] does not list
/// are added to it. `None` when the page ends inside the tag (the parser
/// drops it).
pub(super) fn tag_at(
    b: &[u8],
    at: usize,
    mut cuts: Option<&mut Vec<(usize, usize)>>,
) -> Option<Tag> {
    let closing = b.get(at + 1) == Some(&b'/');
    let name_start = at + 1 + usize::from(closing);
    let mut i = name_start;
    while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let mut name_buf = [0u8; 24];
    let name_len = (i - name_start).min(name_buf.len());
    for (d, s) in name_buf.iter_mut().zip(&b[name_start..i]) {
        *d = s.to_ascii_lowercase();
    }
    let long_name = i - name_start > name_buf.len();
    if long_name {
        name_buf[name_buf.len() - 1] = b'-';
    }
    if closing {
        cuts = None;
    }
    let mark = cuts.as_ref().map_or(0, |c| c.len());
    let end = loop {
        // Before an attribute name: whitespace and stray slashes are skipped.
        while i < b.len() && (is_space(b[i]) || (b[i] == b'/' && b.get(i + 1) != Some(&b'>'))) {
            i += 1;
        }
        match b.get(i) {
            None => break None,
            Some(b'>') => break Some((i + 1, false)),
            Some(b'/') => break Some((i + 2, true)),
            Some(_) => {}
        }
        let attr_start = i;
        let Some((name_end, attr_end)) = attribute_end(b, attr_start) else {
            break None;
        };
        i = attr_end;
        if let Some(cuts) = cuts.as_deref_mut() {
            cut_if_unread(b, attr_start, name_end, attr_end, cuts);
        }
    };
    let Some((end, self_closing)) = end else {
        if let Some(cuts) = cuts {
            cuts.truncate(mark);
        }
        return None;
    };
    Some(Tag {
        start: at,
        end,
        closing,
        self_closing,
        name_buf,
        name_len,
        long_name,
    })
}

/// Where the attribute whose name starts at `at` ends: the end of its name,
/// and the end of its value (of the name when it has none). The name's first
/// byte may be '=', the rest stops at '='. `None` when the page ends inside a
/// quoted value or before one.
#[inline]
fn attribute_end(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut i = at + 1;
    while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
        i += 1;
    }
    let name_end = i;
    let mut j = i;
    while j < b.len() && is_space(b[j]) {
        j += 1;
    }
    if b.get(j) == Some(&b'=') {
        j += 1;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        match b.get(j) {
            None => return None,
            Some(&q @ (b'"' | b'\'')) => match memchr::memchr(q, &b[j + 1..]) {
                Some(off) => j += off + 2,
                None => return None,
            },
            // `name=>`: an empty value, and the end of the tag.
            Some(b'>') => {}
            Some(_) => {
                while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                    j += 1;
                }
            }
        }
        i = j;
    }
    Some((name_end, i))
}

/// Adds the attribute at `start..end` (name up to `name_end`) to `cuts`
/// unless [`read_attribute`] lists it.
#[inline]
fn cut_if_unread(
    b: &[u8],
    start: usize,
    name_end: usize,
    end: usize,
    cuts: &mut Vec<(usize, usize)>,
) {
    let name = &b[start..name_end];
    let mut lower = [0u8; 20];
    let read = name.len() <= lower.len() && {
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        read_attribute(&lower[..name.len()])
    };
    if !read {
        // Slashes before the name go with it: left behind, one could
        // meet the tag's '>' and make the element self-closing.
        let mut start = start;
        while b[start - 1] == b'/' {
            start -= 1;
        }
        cuts.push((start, end));
    }
}

/// Where the content of the raw-text element opened by `tag`, which starts at
/// `from`, ends: a script's by [`script_end`], the others' by [`raw_text_end`].
#[inline]
pub(super) fn raw_content_end(b: &[u8], from: usize, tag: &Tag) -> usize {
    if tag.name() == b"script" {
        script_end(b, from)
    } else {
        raw_text_end(b, from, tag)
    }
}

/// Where the content of the raw-text element opened by `tag` ends: its
/// closing tag (`</name` then whitespace, '/' or '>'), else the end of the
/// page. `<plaintext>` never ends.
fn raw_text_end(b: &[u8], from: usize, tag: &Tag) -> usize {
    if tag.name() == b"plaintext" {
        return b.len();
    }
    let mut close = [0u8; 26];
    close[..2].copy_from_slice(b"</");
    close[2..2 + tag.name_len].copy_from_slice(tag.name());
    let close = &close[..2 + tag.name_len];
    let mut i = from;
    while let Some(at) = find_ci(b, i, close) {
        match b.get(at + close.len()) {
            Some(&c) if is_space(c) || c == b'/' || c == b'>' => return at,
            None => return at,
            _ => i = at + 1,
        }
    }
    b.len()
}

/// Where the comment opened at `at` (`<!--`) ends, by the tokenizer's rules:
/// `<!-->` and `<!--->` are whole comments, and `--!>` closes one too.
pub(super) fn comment_end(b: &[u8], at: usize) -> usize {
    let body = at + 4;
    match (b.get(body), b.get(body + 1)) {
        (Some(b'>'), _) => return body + 1,
        (Some(b'-'), Some(b'>')) => return body + 2,
        _ => {}
    }
    let mut i = body;
    while let Some(dashes) = find(b, i, b"--") {
        let mut k = dashes + 2;
        while b.get(k) == Some(&b'-') {
            k += 1;
        }
        match (b.get(k), b.get(k + 1)) {
            (Some(b'>'), _) => return k + 1,
            (Some(b'!'), Some(b'>')) => return k + 2,
            _ => i = k,
        }
    }
    b.len()
}

/// Where the content of the `<script>` whose content starts at `from` ends, by
/// the tokenizer's script states: after `<!--`, a `<script` inside the
/// comment-like part hides the next `</script>` (`document.write` of a script).
fn script_end(b: &[u8], from: usize) -> usize {
    #[derive(PartialEq)]
    enum State {
        Data,
        Escaped,
        DoubleEscaped,
    }
    let closes = |at: usize, name_len: usize| {
        b.get(at + name_len)
            .is_none_or(|&c| is_space(c) || c == b'/' || c == b'>')
    };
    let mut state = State::Data;
    let mut i = from;
    // Outside the comment-like part only '<' matters: scripts are full of '-'.
    while let Some(off) = if state == State::Data {
        memchr::memchr(b'<', &b[i..])
    } else {
        memchr::memchr2(b'<', b'-', &b[i..])
    } {
        let at = i + off;
        i = at + 1;
        let rest = &b[at..];
        if rest.starts_with(b"-->") {
            state = State::Data;
        } else if rest.first() != Some(&b'<') {
        } else if rest.len() >= 8 && rest[..8].eq_ignore_ascii_case(b"</script") && closes(at, 8) {
            if state == State::DoubleEscaped {
                state = State::Escaped;
            } else {
                return at;
            }
        } else if state == State::Data && rest.starts_with(b"<!--") {
            state = State::Escaped;
            // The dashes of `<!--` may end it at once (`<!-->`).
            i = at + 2;
        } else if state == State::Escaped
            && rest.len() >= 7
            && rest[..7].eq_ignore_ascii_case(b"<script")
            && closes(at, 7)
        {
            state = State::DoubleEscaped;
        }
    }
    b.len()
}

/// Byte-string search: scan for the first byte, then compare (no per-byte memcmp).
#[inline]
pub fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    find_by(b, from, needle, |w, n| w == n)
}

/// [`find`] ignoring ASCII case.
#[inline]
pub(super) fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    find_by(b, from, needle, <[u8]>::eq_ignore_ascii_case)
}

/// The first `needle` in `b` from `from` on, comparing candidates with `eq`.
#[inline]
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
