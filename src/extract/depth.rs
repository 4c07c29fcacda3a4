//! What is cut from a page before parsing ([`trim_for_parse`]): the bodies of
//! scripts and style sheets, the content of SVG drawings and MathML formulas,
//! attributes nothing reads, and nesting beyond a cap.
//!
//! Attributes: once code is cut, about a fifth of a news page's bytes are
//! attributes that no rule reads (`data-*` blobs, event handlers, SVG
//! geometry, `tabindex`, `loading`...), and html5ever pays for each one; on
//! the development pages cutting them saves a seventh of the parse.
//! [`read_attribute`] lists every attribute the extractor or the tree builder
//! looks at; the rest go.
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
        b"script"
            | b"style"
            | b"textarea"
            | b"title"
            | b"xmp"
            | b"noscript"
            | b"iframe"
            | b"noembed"
            | b"noframes"
            | b"plaintext"
    )
}

/// Attributes that the extractor (chrome rules, metadata, images, links, the
/// HTML writer) or html5ever's tree builder (`type` of a hidden input in a
/// table, `color`/`face`/`size` of a font in SVG, `encoding` of MathML
/// annotations) reads. `name` is lower-case. Reading a new attribute anywhere
/// in `extract` means adding it here: the test `kept_attributes_cover_every_reader`
/// extracts pages both ways and fails otherwise.
fn read_attribute(name: &[u8]) -> bool {
    matches!(
        name,
        b"class"
            | b"id"
            | b"role"
            | b"aria-label"
            | b"aria-hidden"
            | b"hidden"
            | b"style"
            | b"href"
            | b"rel"
            | b"src"
            | b"srcset"
            | b"data-src"
            | b"data-original"
            | b"data-lazy-src"
            | b"data-lazy"
            | b"data-url"
            | b"data-hi-res-src"
            | b"data-full-src"
            | b"data-srcset"
            | b"data-lazy-srcset"
            | b"alt"
            | b"title"
            | b"width"
            | b"height"
            | b"lang"
            | b"dir"
            | b"colspan"
            | b"rowspan"
            | b"cite"
            | b"datetime"
            | b"start"
            | b"property"
            | b"name"
            | b"itemprop"
            | b"content"
            | b"type"
            | b"color"
            | b"face"
            | b"size"
            | b"encoding"
    )
}

/// Start tags that end SVG or MathML content when met inside it (the tree
/// builder pops back to HTML), as html5ever lists them; `<font>` does so only
/// with some attributes, and [`follow`] stops at it.
fn breaks_out_of_foreign(name: &[u8]) -> bool {
    matches!(
        name,
        b"b" | b"big"
            | b"blockquote"
            | b"body"
            | b"br"
            | b"center"
            | b"code"
            | b"dd"
            | b"div"
            | b"dl"
            | b"dt"
            | b"em"
            | b"embed"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"hr"
            | b"i"
            | b"img"
            | b"li"
            | b"listing"
            | b"menu"
            | b"meta"
            | b"nobr"
            | b"ol"
            | b"p"
            | b"pre"
            | b"ruby"
            | b"s"
            | b"small"
            | b"span"
            | b"strong"
            | b"strike"
            | b"sub"
            | b"sup"
            | b"table"
            | b"tt"
            | b"u"
            | b"ul"
            | b"var"
    )
}

/// SVG and MathML elements whose content is parsed as HTML again
/// (integration points).
fn html_inside_foreign(name: &[u8]) -> bool {
    matches!(
        name,
        b"foreignobject"
            | b"desc"
            | b"title"
            | b"mi"
            | b"mo"
            | b"mn"
            | b"ms"
            | b"mtext"
            | b"annotation-xml"
    )
}

/// Whitespace as the HTML tokenizer knows it.
fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

struct Tag {
    start: usize,
    end: usize,
    closing: bool,
    self_closing: bool,
    /// Lower-cased name; a name longer than the buffer is cut to it and its
    /// last byte set to '-', so that it matches no special tag.
    name_buf: [u8; 24],
    name_len: usize,
    /// The name was cut (no SVG or MathML element has such a name).
    long_name: bool,
}

impl Tag {
    fn name(&self) -> &[u8] {
        &self.name_buf[..self.name_len]
    }
}

/// Scans the tag that starts at `at` (`<` or `</`, then a letter) by the
/// tokenizer's rules for names and attribute values (quoted, unquoted or
/// none), so that it ends where the parser's tag ends. With `cuts`, the byte
/// ranges of a start tag's attributes that [`read_attribute`] does not list
/// are added to it. `None` when the page ends inside the tag (the parser
/// drops it).
fn tag_at(b: &[u8], at: usize, mut cuts: Option<&mut Vec<(usize, usize)>>) -> Option<Tag> {
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
        // The name: its first byte may be '=', the rest stops at '='.
        let attr_start = i;
        i += 1;
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
                None => break None,
                Some(&q @ (b'"' | b'\'')) => match memchr::memchr(q, &b[j + 1..]) {
                    Some(off) => j += off + 2,
                    None => break None,
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
        if let Some(cuts) = cuts.as_deref_mut() {
            let name = &b[attr_start..name_end];
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
                let mut start = attr_start;
                while b[start - 1] == b'/' {
                    start -= 1;
                }
                cuts.push((start, i));
            }
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

/// The page as the parser should see it, or `None` to parse it as it is, and
/// whether its nesting was capped. Four things are cut, found in one scan of
/// the tags so that the usual page costs a single pass:
/// - the code inside `<script>` and `<style>` elements (the elements stay). On
///   real pages code is about 40 % of the bytes, none of it article text. JSON-LD
///   (metadata) is kept;
/// - the content of `<svg>` and `<math>` elements (hard chrome: never read);
/// - with `strip_attributes`, the attributes of start tags that nothing reads
///   (see [`read_attribute`]). A caller with user CSS selectors keeps them all:
///   a selector may name any attribute;
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
fn comment_end(b: &[u8], at: usize) -> usize {
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

/// What the tree builder is in, as far as it changes how the tokenizer reads
/// what follows: SVG or MathML content (no raw text there), a `<select>`
/// (which ignores most tags, raw-text ones among them).
#[derive(Default)]
struct Context {
    /// Open SVG/MathML elements, outermost first (lower-case names).
    foreign: Vec<[u8; 24]>,
    in_select: bool,
}

/// What a tag does to the [`Context`]: `Some(raw)` when the scan still knows
/// how the tokenizer reads on (`raw`: the element's content is raw text), or
/// `None` when it no longer does.
fn follow(cx: &mut Context, tag: &Tag) -> Option<bool> {
    let name = tag.name();
    let mut key = [0u8; 24];
    key[..name.len()].copy_from_slice(name);
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
fn walk(
    b: &[u8],
    strip: bool,
    cuts: &mut Vec<(usize, usize)>,
    mut on_tag: impl FnMut(&Tag) -> bool,
    mut on_raw: impl FnMut(&Tag, usize, usize) -> Option<(usize, usize)>,
) {
    let mut cx = Context::default();
    let mut exact = true;
    // Where the open SVG/MathML content starts, and the cuts made before it;
    // the contents cut so far.
    let mut drawing: Option<(usize, usize)> = None;
    let mut drawings: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let at = i + off;
        let next = b.get(at + 1).copied();
        if b[at..].starts_with(b"<!--") {
            i = comment_end(b, at);
            continue;
        }
        if !cx.foreign.is_empty() && b[at..].starts_with(b"<![CDATA[") {
            i = find(b, at + 9, b"]]>").map_or(b.len(), |e| e + 3);
            continue;
        }
        let tag_start = match next {
            Some(c) if c.is_ascii_alphabetic() => true,
            Some(b'/') => match b.get(at + 2) {
                Some(c) if c.is_ascii_alphabetic() => true,
                // `</>` is dropped; `</ ...>` is a bogus comment.
                Some(b'>') => {
                    i = at + 3;
                    continue;
                }
                _ => false,
            },
            _ => false,
        };
        if !tag_start {
            // `<!DOCTYPE ...>`, `<?xml ...>`, `</ ...>`: up to the next '>'.
            // A '<' before anything else is text.
            i = if matches!(next, Some(b'!' | b'?' | b'/')) {
                memchr::memchr(b'>', &b[at..]).map_or(b.len(), |e| at + e + 1)
            } else {
                at + 1
            };
            continue;
        }
        let Some(tag) = tag_at(b, at, (strip && exact).then_some(&mut *cuts)) else {
            break;
        };
        i = tag.end;
        // The text of a drawing tells the parser the page is no frameset
        // (`frameset-ok`): with a frameset about, drawings stay whole.
        if !tag.closing && tag.name() == b"frameset" {
            drawings.clear();
        }
        let raw = if exact {
            let was_foreign = !cx.foreign.is_empty();
            let step = follow(&mut cx, &tag);
            exact = step.is_some();
            // The content of an SVG drawing or MathML formula (hard chrome,
            // never read) goes, from the outermost start tag to its own end
            // tag; a drawing left some other way (a breakout) stays whole.
            match (was_foreign, cx.foreign.is_empty()) {
                (false, false) => drawing = Some((tag.end, cuts.len())),
                (true, true) => {
                    if let Some((start, mark)) = drawing.take() {
                        if exact && tag.closing && matches!(tag.name(), b"svg" | b"math") {
                            cuts.truncate(mark);
                            drawings.push((start, tag.start));
                        }
                    }
                }
                _ => {}
            }
            if !exact {
                drawing = None;
            }
            step.unwrap_or(false)
        } else {
            // Past what the scan models: read on as if in HTML, cutting nothing.
            !tag.closing && raw_text(tag.name())
        };
        if raw {
            let end = if tag.name() == b"script" {
                script_end(b, i)
            } else {
                raw_text_end(b, i, &tag)
            };
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
    if !drawings.is_empty() {
        cuts.extend(drawings);
        cuts.sort_unstable();
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
            trim_for_parse("<div><p>a<p>b</div><script>if (a<b) {}</script>", true),
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
        let (cut, capped) = trim_for_parse(&page, true);
        let cut = cut.unwrap();
        assert!(!capped);
        assert!(cut.contains("<script></script></head>"));
        assert!(cut.contains("<style></style>"));
        assert!(cut.contains("{\"headline\":\"Kept\"}"));
        assert!(cut.contains("<p>Article text.</p>"));
        // Only scripts and style sheets: a textarea's content is the page's.
        assert_eq!(cut.matches("not text").count(), 300);
        // Little code: nothing to gain from a copy.
        assert_eq!(trim_for_parse("<p>a</p><script>x()</script>", true).0, None);
        // A script that writes a script ends where the parser says it does.
        let odd = format!("<script><!-- {code} <script> </script> --></script><p>b</p>");
        assert_eq!(
            trim_for_parse(&odd, true).0.unwrap(),
            "<script></script><p>b</p>"
        );
    }

    #[test]
    fn deep_pages_keep_their_text_and_lose_extra_tags() {
        let deep = "<div>".repeat(5000) + "<p>deep é text</p>" + &"</div>".repeat(5000);
        let (flat, capped) = trim_for_parse(&deep, true);
        let flat = flat.unwrap();
        assert!(capped);
        assert!(flat.contains("<p>deep é text</p>"));
        assert_eq!(flat.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(flat.matches("</div>").count(), MAX_DEPTH);
    }

    #[test]
    fn unread_attributes_go_and_read_ones_stay() {
        let page = r#"<div class="a" data-track='{"x":1}' onclick=go() hidden><IMG SRC="p.jpg" Loading=lazy DATA-SRC="q.jpg"/></div>"#;
        let (cuts, _) = plan_cuts(page.as_bytes(), true);
        assert_eq!(
            apply_cuts(page, &cuts),
            r#"<div class="a"   hidden><IMG SRC="p.jpg"  DATA-SRC="q.jpg"/></div>"#
        );
        // A caller with CSS selectors keeps every attribute.
        let (cuts, _) = plan_cuts(page.as_bytes(), false);
        assert!(cuts.is_empty());
    }

    /// Every node of the parsed page in document order, with the attributes
    /// [`read_attribute`] keeps; the code in scripts and style sheets and the
    /// content of SVG drawings and MathML formulas are left out.
    fn parsed(html: &str) -> Vec<String> {
        let doc = scraper::Html::parse_document(html);
        let foreign = |n: ego_tree::NodeRef<'_, scraper::Node>| {
            n.value()
                .as_element()
                .is_some_and(|el| el.name.ns != markup5ever::ns!(html))
        };
        doc.tree
            .root()
            .descendants()
            .filter(|n| !n.ancestors().any(foreign))
            .filter_map(|n| match n.value() {
                scraper::Node::Element(el) => {
                    let mut attrs: Vec<String> = el
                        .attrs
                        .iter()
                        .filter(|(k, _)| k.ns.is_empty() && read_attribute(k.local.as_bytes()))
                        .map(|(k, v)| format!("{}={:?}", &*k.local, &**v))
                        .collect();
                    attrs.sort();
                    Some(format!(
                        "<{} {} {}>",
                        &*el.name.ns,
                        el.name(),
                        attrs.join(" ")
                    ))
                }
                scraper::Node::Text(t) => {
                    let code = n
                        .parent()
                        .and_then(|p| p.value().as_element())
                        .is_some_and(|p| {
                            p.name.ns == markup5ever::ns!(html)
                                && matches!(p.name(), "script" | "style")
                        });
                    (!code).then(|| format!("text {:?}", &**t))
                }
                scraper::Node::Comment(c) => Some(format!("comment {:?}", &**c)),
                other => Some(format!("{other:?}")),
            })
            .collect()
    }

    /// The page parses the same with its code and unread attributes cut.
    fn assert_parses_alike(page: &str) {
        let (cuts, _) = plan_cuts(page.as_bytes(), true);
        let cut = apply_cuts(page, &cuts);
        assert_eq!(parsed(page), parsed(&cut), "\n{page}\n{cut}");
    }

    /// Markup where a scan that does not follow the tokenizer loses its place.
    const TRICKY: &[&str] = &[
        // An unclosed quote swallows the next tags into the value (a real page).
        r#"<div id="rail</div><div data-advert="INLINE" data-target="INLINE"></div><p data-x="1" class="c">text</p>"#,
        r#"<a href=foo'bar data-x=1>t</a><p data-y="2">u</p>"#,
        r#"<div data-a="1"class="k">x</div><p data-x=>t</p><a href="x"/data-y=1>l</a>"#,
        r#"<!--><p data-z="1">v</p><!---><p data-z="2">w</p><!-- a --!><p data-z="3">x</p>"#,
        r#"<!-- a --- b ---><p data-z="1">y</p><!-- <p data-q="1"> -->"#,
        r#"<!x <a data-q="1>2">y</a><?php echo "<b data-x='1'>"; ?><p data-w="1">z</p>"#,
        r#"</ p data-x="y"><p data-x="z">a</p></>b<3 data-x="1">c"#,
        r#"<script><!-- document.write("<script data-x='1'>x</script>"); --></script><p data-k="1">after</p>"#,
        r#"<script>a="</scriptx>"; b='<p data-x="1">'</script ><p data-k=2>k</p>"#,
        r#"<textarea><p data-x="1">raw</p></textarea><title><b data-x=1>t</b></title>"#,
        r#"<iframe><p data-x="1">f</p></iframe><noscript><p data-x="1">n</p></noscript><noembed><i data-x=1></noembed><noframes><i data-x=1></noframes><xmp><i data-x=1></xmp>"#,
        r#"<svg><title>t <b data-x=1>b</b></title><style>.a{}</style><![CDATA[ <p data-x="1"> ]]><foreignObject><div data-x="1">f</div></foreignObject></svg><p data-x="2">after</p>"#,
        r#"<svg><path d="M0 0" data-x=1/><p data-x="1">breakout</p><style><i data-x=1></style><p data-y="2">z</p>"#,
        r#"<svg><desc><style>"</style><p data-x=1>d</p></desc></svg><p data-y=1>e</p>"#,
        r#"<svg><font color=red data-x=1>f</font><font data-y=1>g</font></svg><p data-z=1>h</p>"#,
        r#"<math><mi data-x=1>x</mi><annotation-xml encoding="text/html"><style>"</style><div data-a=1>h</div></annotation-xml></math><p data-b=1>m</p>"#,
        r#"<svg><svg data-x=1></svg><g data-y=1/></svg><script>"<i data-z='</script><p data-x=1>s</p>"#,
        r#"<table><input type=hidden data-x=1><tr><td data-y=1>c</td></tr></table>"#,
        r#"<DIV DATA-X="1" CLASS="Y">z</DIV><o:p data-x=1>w</o:p><my-el data-x=1 role=note>q</my-el>"#,
        r#"<p data-é="ü" title="é">é</p><plaintext><p data-x="1">all text"#,
        r#"<p data-x="1">a</p><p data-x="1"#,
        r#"<svg><feComponentTransfer data-x=1><feFuncA/></feComponentTransferX><style><i data-x=1></style></svg><p data-x=1>t</p>"#,
    ];

    #[test]
    fn stripped_pages_parse_as_the_originals() {
        for page in TRICKY {
            assert_parses_alike(page);
        }
        // Every pair, in both orders: what one leaves open, the next meets.
        for a in TRICKY {
            for b in TRICKY {
                assert_parses_alike(&format!("{a}{b}"));
            }
        }
    }

    #[test]
    fn random_markup_parses_as_the_original() {
        const PIECES: &[&str] = &[
            "<",
            ">",
            "\"",
            "'",
            "=",
            " ",
            "/",
            "!",
            "-",
            "?",
            "<p",
            "</p>",
            "<div",
            "</div>",
            "<svg",
            "</svg>",
            "<math",
            "</math>",
            "<script>",
            "</script>",
            "<style>",
            "</style>",
            "<title>",
            "</title>",
            "<textarea>",
            "</textarea>",
            "<!--",
            "-->",
            "--!>",
            "<![CDATA[",
            "]]>",
            " data-x=",
            " class=",
            " id=",
            " href=",
            " onclick=",
            "\"v\"",
            "'w'",
            "text ",
            "<b",
            "<font",
            " color",
            "<foreignObject>",
            "<desc>",
            "</desc>",
            "<iframe>",
            "</iframe>",
            "<noscript>",
            "</noscript>",
            "<table>",
            "<input type=hidden",
            "<mi>",
            "<annotation-xml",
            " encoding=\"text/html\"",
            "<!DOCTYPE html>",
            "<?x ",
            "</ ",
            "<3",
            "é",
            "\n",
            "<a",
            "<img",
            " data-src=",
            "<xmp>",
            "</xmp>",
            "<template>",
            "</template>",
            "</br>",
            "<br>",
            "<plaintext>",
            "<select>",
            "</select>",
            "<option>",
            "<td>",
            "</table>",
            "<frameset>",
            "<g>",
            "</g>",
            " data-y=\"a b\"",
            " data-z=u'v",
            "/>",
            " alt=",
            "<title",
            "<script",
            "</script",
            "<style",
            "<!-->",
            "<svg/>",
            "<math/>",
            "</mi>",
            "<keygen>",
            "<font color=red>",
            "<feComponentTransfer>",
            "</fecomponenttransfer>",
            "</feComponentTransferX>",
        ];
        // xorshift: the same pages on every run.
        let mut state = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..std::env::var("FUZZ_PAGES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(3000)
        {
            let len = 5 + next() % 60;
            let page: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            assert_parses_alike(&page);
        }
    }
}
