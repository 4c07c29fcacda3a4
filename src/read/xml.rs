//! A forgiving XML reader: text in, element tree out, whatever the damage.
//!
//! Why not quick-xml (already in the tree via feed-rs) or feed-rs itself: both stop at
//! the first well-formedness error, and real feeds have undeclared HTML entities, bare
//! `&`, `<` in text, mismatched or missing end tags, unterminated CDATA and truncated
//! bodies. Like feedparser's loose mode (and browsers), this reader never fails: it
//! recovers locally and keeps everything it could read. Namespaces are resolved and the
//! well-known feed vocabularies are mapped to fixed prefixes, so `<dc:date>` is found
//! whatever prefix the publisher chose.

use std::collections::HashMap;

/// One element: canonical name (`local` or `prefix:local`, lower-case), attributes
/// (same naming) and children in document order.
#[derive(Debug, Clone, Default)]
pub struct Element {
    /// Canonical name, e.g. `title`, `dc:date`, `content:encoded`.
    pub name: String,
    /// The local name as written (case kept), used when re-serialising markup.
    pub local: String,
    /// Attributes with canonical names (`href`, `rdf:about`, `xml:base`).
    pub attrs: Vec<(String, String)>,
    /// Children.
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone)]
pub enum Node {
    /// An element.
    Elem(Element),
    /// Character data, entities already decoded (CDATA included).
    Text(String),
}

impl Element {
    /// The attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Elem(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// All character data below this element, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for c in &self.children {
            match c {
                Node::Text(t) => out.push_str(t),
                Node::Elem(e) => e.collect_text(out),
            }
        }
    }

    /// The content as markup: text escaped, child elements re-serialised. This is what
    /// a feed means when it puts raw HTML inside `<description>`.
    pub fn inner_markup(&self) -> String {
        let mut out = String::new();
        for c in &self.children {
            serialize(c, &mut out);
        }
        out
    }

    /// True when the element has child elements (embedded markup).
    pub fn has_elements(&self) -> bool {
        self.children.iter().any(|c| matches!(c, Node::Elem(_)))
    }
}

fn escape_into(s: &str, out: &mut String, attr: bool) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

fn serialize(n: &Node, out: &mut String) {
    match n {
        Node::Text(t) => escape_into(t, out, false),
        Node::Elem(e) => {
            out.push('<');
            out.push_str(&e.local);
            for (k, v) in &e.attrs {
                if k.starts_with("xmlns") {
                    continue;
                }
                out.push(' ');
                out.push_str(k.rsplit(':').next().unwrap_or(k));
                out.push_str("=\"");
                escape_into(v, out, true);
                out.push('"');
            }
            if e.children.is_empty() && is_void(&e.local) {
                out.push_str(" />");
                return;
            }
            out.push('>');
            for c in &e.children {
                serialize(c, out);
            }
            out.push_str("</");
            out.push_str(&e.local);
            out.push('>');
        }
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "br" | "img"
            | "hr"
            | "input"
            | "meta"
            | "link"
            | "area"
            | "base"
            | "col"
            | "embed"
            | "source"
            | "track"
            | "wbr"
            | "param"
    )
}

/// A parsed document: the top-level elements (normally one root) and whether the
/// reader had to recover from damage.
#[derive(Debug, Default)]
pub struct Document {
    /// Top-level elements.
    pub roots: Vec<Element>,
    /// True when the text was not well-formed XML.
    pub damaged: bool,
    /// The `<!DOCTYPE` name, lower-case, if any.
    pub doctype: Option<String>,
    /// The canonical names of the elements still open where the text ended,
    /// outermost first: empty for a complete document.
    pub open_at_end: Vec<String>,
}

impl Document {
    /// The first top-level element.
    pub fn root(&self) -> Option<&Element> {
        self.roots.first()
    }
}

/// Canonical prefix for a namespace URI: the feed vocabularies get fixed names, the
/// feed formats' own namespaces none (so Atom's `title` and RSS's `title` match).
fn canonical_prefix(uri: &str) -> Option<&'static str> {
    let u = uri.trim().trim_end_matches('#');
    let u = u.strip_suffix('/').unwrap_or(u).to_ascii_lowercase();
    Some(match u.as_str() {
        ""
        | "http://www.w3.org/2005/atom"
        | "http://purl.org/atom/ns"
        | "http://purl.org/rss/1.0"
        | "http://my.netscape.com/rdf/simple/0.9"
        | "http://backend.userland.com/rss2"
        | "http://blogs.law.harvard.edu/tech/rss"
        | "http://backend.userland.com/rss" => "",
        "http://purl.org/dc/elements/1.1" | "http://purl.org/dc/elements/1.0" => "dc",
        "http://purl.org/dc/terms" => "dcterms",
        "http://purl.org/rss/1.0/modules/content" => "content",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns" => "rdf",
        "http://www.w3.org/1999/xhtml" => "xhtml",
        "http://www.w3.org/xml/1998/namespace" => "xml",
        "http://search.yahoo.com/mrss" => "media",
        "http://www.itunes.com/dtds/podcast-1.0.dtd" => "itunes",
        _ => return None,
    })
}

struct Scope {
    /// (prefix, uri) declared on this element.
    decls: Vec<(String, String)>,
}

struct Builder<'a> {
    stack: Vec<(Element, String)>, // element + its raw qualified name
    scopes: Vec<Scope>,
    doc: Document,
    entities: &'a HashMap<String, String>,
}

/// Elements nested deeper than this are flattened into their ancestor: real feeds
/// never come close, and it keeps recursion over the tree bounded.
const MAX_DEPTH: usize = 256;
/// Attributes kept per tag; a real tag has a handful.
const MAX_ATTRS: usize = 64;

impl Builder<'_> {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        for s in self.scopes.iter().rev() {
            for (p, u) in s.decls.iter().rev() {
                if p == prefix {
                    return Some(u);
                }
            }
        }
        None
    }

    fn canonical(&self, qname: &str, is_attr: bool) -> String {
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", qname),
        };
        let local_lc = local.to_ascii_lowercase();
        if prefix.is_empty() && is_attr {
            return local_lc;
        }
        if prefix.eq_ignore_ascii_case("xml") {
            return format!("xml:{local_lc}");
        }
        let uri = self.lookup(prefix);
        let canon = match uri {
            Some(u) => canonical_prefix(u).map(str::to_string),
            // Undeclared prefix: keep what was written.
            None if prefix.is_empty() => Some(String::new()),
            None => Some(prefix.to_ascii_lowercase()),
        }
        .unwrap_or_else(|| prefix.to_ascii_lowercase());
        if canon.is_empty() {
            local_lc
        } else {
            format!("{canon}:{local_lc}")
        }
    }

    fn push_text(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        // C1 control characters in text are Windows-1252 punctuation that went
        // through a Latin-1 decoder somewhere ("don\u{92}t" is "don’t").
        let text = if text.contains(|c: char| ('\u{80}'..='\u{9f}').contains(&c)) {
            text.chars().map(c1_to_cp1252).collect()
        } else {
            text
        };
        if let Some((top, _)) = self.stack.last_mut() {
            if let Some(Node::Text(t)) = top.children.last_mut() {
                t.push_str(&text);
            } else {
                top.children.push(Node::Text(text));
            }
        } else if !text.trim().is_empty() {
            // Text outside any element.
            self.doc.damaged = true;
        }
    }

    fn open(&mut self, raw: &str, attrs: Vec<(String, String)>, empty: bool) {
        if self.stack.len() >= MAX_DEPTH {
            self.doc.damaged = true;
            return;
        }
        let decls = attrs
            .iter()
            .filter_map(|(k, v)| {
                if k == "xmlns" {
                    Some((String::new(), v.clone()))
                } else {
                    k.strip_prefix("xmlns:").map(|p| (p.to_string(), v.clone()))
                }
            })
            .collect();
        self.scopes.push(Scope { decls });
        let name = self.canonical(raw, false);
        let attrs = attrs
            .iter()
            .map(|(k, v)| {
                let k = if k.starts_with("xmlns") {
                    k.clone()
                } else {
                    self.canonical(k, true)
                };
                (k, v.clone())
            })
            .collect();
        let local = raw.rsplit(':').next().unwrap_or(raw).to_string();
        let el = Element {
            name,
            local,
            attrs,
            children: Vec::new(),
        };
        self.stack.push((el, raw.to_string()));
        if empty {
            self.close_top();
        }
    }

    fn close_top(&mut self) {
        if let Some((el, _)) = self.stack.pop() {
            self.scopes.pop();
            match self.stack.last_mut() {
                Some((parent, _)) => parent.children.push(Node::Elem(el)),
                None => self.doc.roots.push(el),
            }
        }
    }

    fn close(&mut self, raw: &str) {
        // Close up to the nearest open element of that name; an end tag that matches
        // nothing open is ignored.
        let Some(pos) = self
            .stack
            .iter()
            .rposition(|(_, r)| r == raw || r.eq_ignore_ascii_case(raw))
        else {
            self.doc.damaged = true;
            return;
        };
        if pos + 1 != self.stack.len() {
            self.doc.damaged = true;
        }
        while self.stack.len() > pos {
            self.close_top();
        }
    }
}

/// Parses `text` leniently. Never fails; a hopeless input yields no roots.
pub fn parse(text: &str) -> Document {
    let mut entities = HashMap::new();
    let b = text.as_bytes();
    // Internal DTD entities first (they may be used anywhere after).
    if let Some(start) = find(b, 0, b"<!DOCTYPE").or_else(|| find(b, 0, b"<!doctype")) {
        let end = doctype_end(b, start);
        collect_entities(&text[start..end], &mut entities);
    }
    let mut bld = Builder {
        stack: Vec::new(),
        scopes: Vec::new(),
        doc: Document::default(),
        entities: &entities,
    };
    let mut pos = 0;
    let n = b.len();
    while pos < n {
        let Some(lt) = memchr::memchr(b'<', &b[pos..]).map(|i| pos + i) else {
            let t = decode_entities(&text[pos..], bld.entities);
            bld.push_text(t);
            break;
        };
        if lt > pos {
            let t = decode_entities(&text[pos..lt], bld.entities);
            bld.push_text(t);
        }
        match bld.markup(text, lt) {
            Some(next) => pos = next,
            None => break,
        }
    }
    bld.finish()
}

/// The markup scanner: each method reads one construct starting at the `<` at `lt`
/// and returns the position after it, or `None` when the rest of the document
/// cannot be read.
impl Builder<'_> {
    fn markup(&mut self, text: &str, lt: usize) -> Option<usize> {
        let b = text.as_bytes();
        let n = b.len();
        let rest = &b[lt..];
        if rest.starts_with(b"<!--") {
            Some(find(b, lt + 4, b"-->").map_or(n, |e| e + 3))
        } else if rest.starts_with(b"<![CDATA[") {
            Some(self.cdata(text, lt))
        } else if rest.starts_with(b"<!") {
            Some(self.declaration(text, lt))
        } else if rest.starts_with(b"<?") {
            Some(find(b, lt + 2, b"?>").map_or(n, |e| e + 2))
        } else if rest.starts_with(b"</") {
            self.end_tag(text, lt)
        } else if rest.len() > 1 && is_name_start(rest[1]) {
            self.start_tag(text, lt)
        } else {
            // A bare '<' in text.
            self.doc.damaged = true;
            self.push_text("<".to_string());
            Some(lt + 1)
        }
    }

    fn cdata(&mut self, text: &str, lt: usize) -> usize {
        match find(text.as_bytes(), lt + 9, b"]]>") {
            Some(e) => {
                self.push_text(text[lt + 9..e].to_string());
                e + 3
            }
            None => {
                // Unterminated CDATA: the rest is its content, as far as it goes.
                self.doc.damaged = true;
                self.push_text(text[lt + 9..].to_string());
                text.len()
            }
        }
    }

    /// A `<!...>` declaration; only a DOCTYPE's name is kept.
    fn declaration(&mut self, text: &str, lt: usize) -> usize {
        let b = text.as_bytes();
        let rest = &b[lt..];
        let end = doctype_end(b, lt);
        if rest.len() > 9 && rest[2..9].eq_ignore_ascii_case(b"doctype") {
            let name: String = text[lt + 9..end]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == ':' || *c == '-')
                .collect();
            self.doc.doctype = Some(name.to_ascii_lowercase());
        }
        end
    }

    fn end_tag(&mut self, text: &str, lt: usize) -> Option<usize> {
        let Some(gt) = memchr::memchr(b'>', &text.as_bytes()[lt..]).map(|i| lt + i) else {
            self.doc.damaged = true;
            return None;
        };
        let name = text[lt + 2..gt].trim();
        if !name.is_empty() {
            self.close(name);
        }
        Some(gt + 1)
    }

    fn start_tag(&mut self, text: &str, lt: usize) -> Option<usize> {
        match parse_tag(text, lt, self.entities) {
            Some((raw, attrs, empty, next)) => {
                self.open(raw, attrs, empty);
                Some(next)
            }
            None => {
                // A tag cut off by the end of the document.
                self.doc.damaged = true;
                None
            }
        }
    }

    /// The tree, with elements still open at the end closed (and the document
    /// marked damaged for it).
    fn finish(mut self) -> Document {
        if !self.stack.is_empty() {
            self.doc.damaged = true;
            self.doc.open_at_end = self.stack.iter().map(|(e, _)| e.name.clone()).collect();
        }
        while !self.stack.is_empty() {
            self.close_top();
        }
        self.doc
    }
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|i| from + i)
}

/// End (exclusive) of a `<!...>` declaration, skipping a `[...]` internal subset.
fn doctype_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = start + 2;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' if depth > 0 => quote = Some(c),
                b'[' => depth += 1,
                b']' => depth -= 1,
                b'>' if depth <= 0 => return i + 1,
                _ => {}
            },
        }
        i += 1;
    }
    b.len()
}

fn collect_entities(doctype: &str, out: &mut HashMap<String, String>) {
    let mut rest = doctype;
    while let Some(i) = rest.find("<!ENTITY") {
        rest = &rest[i + 8..];
        let decl = rest.trim_start();
        if decl.starts_with('%') {
            continue;
        }
        let name: String = decl
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect();
        let after = decl[name.len()..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = after[1..].find(q) {
            let value = &after[1..1 + end];
            if !name.is_empty() && out.len() < 1000 {
                // Values are expanded once, against the standard entities only, so
                // that recursive definitions cannot blow up.
                let v = decode_entities(value, &HashMap::new());
                out.insert(name, v);
            }
        }
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'-' || c == b'.'
}

type Tag<'t> = (&'t str, Vec<(String, String)>, bool, usize);

/// Parses a start tag at `lt`; returns the name, attributes, whether it is
/// self-closing and the position after `>`. `None` when the document ends inside it.
fn parse_tag<'t>(text: &'t str, lt: usize, ents: &HashMap<String, String>) -> Option<Tag<'t>> {
    let b = text.as_bytes();
    let mut i = lt + 1;
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    let name = &text[lt + 1..i];
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        match b[i] {
            b'>' => return Some((name, attrs, false, i + 1)),
            b'/' => {
                if b.get(i + 1) == Some(&b'>') {
                    return Some((name, attrs, true, i + 2));
                }
                i += 1;
            }
            b'<' => {
                // A tag that never closed: end it here, the '<' starts the next one.
                return Some((name, attrs, false, i));
            }
            c if is_name_char(c) => {
                let ks = i;
                while i < b.len() && is_name_char(b[i]) {
                    i += 1;
                }
                let key = &text[ks..i];
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let mut value = String::new();
                if b.get(i) == Some(&b'=') {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    match b.get(i) {
                        Some(&q) if q == b'"' || q == b'\'' => {
                            let end = memchr::memchr(q, &b[i + 1..]).map(|e| i + 1 + e)?;
                            value = decode_entities(&text[i + 1..end], ents);
                            i = end + 1;
                        }
                        Some(_) => {
                            let vs = i;
                            while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                                i += 1;
                            }
                            value = decode_entities(&text[vs..i], ents);
                        }
                        None => return None,
                    }
                }
                if attrs.len() < MAX_ATTRS
                    && !attrs.iter().any(|(k, _): &(String, String)| k == key)
                {
                    attrs.push((key.to_string(), value));
                }
            }
            _ => i += 1, // stray character inside a tag
        }
    }
}

/// Windows-1252 meanings of the C1 range, which numeric references often mean.
const CP1252: [u32; 32] = [
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
];

fn c1_to_cp1252(c: char) -> char {
    let cp = u32::from(c);
    if (0x80..0xA0).contains(&cp) {
        char::from_u32(CP1252[(cp - 0x80) as usize]).unwrap_or(c)
    } else {
        c
    }
}

/// Decodes one entity name (without `&` and `;`): numeric references, the XML five,
/// DTD-declared ones and every HTML named entity.
pub fn entity(name: &str, ents: &HashMap<String, String>) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let cp = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse::<u32>().ok()?
        };
        let cp = if (0x80..0xA0).contains(&cp) {
            CP1252[(cp - 0x80) as usize]
        } else {
            cp
        };
        return Some(char::from_u32(cp).unwrap_or('\u{FFFD}').to_string());
    }
    match name {
        "amp" => return Some("&".into()),
        "lt" => return Some("<".into()),
        "gt" => return Some(">".into()),
        "quot" => return Some("\"".into()),
        "apos" => return Some("'".into()),
        _ => {}
    }
    if let Some(v) = ents.get(name) {
        return Some(v.clone());
    }
    // HTML 4 (what feeds were written against) maps these to the CJK angle
    // brackets; HTML 5 changed them.
    match name {
        "lang" => return Some("\u{2329}".into()),
        "rang" => return Some("\u{232A}".into()),
        _ => {}
    }
    let key = format!("{name};");
    let &(a, b) = markup5ever::data::NAMED_ENTITIES.get(key.as_str())?;
    let mut s = String::new();
    s.push(char::from_u32(a)?);
    if b != 0 {
        s.push(char::from_u32(b)?);
    }
    Some(s)
}

/// Decodes entity and character references in `s`; unknown ones and bare `&` are
/// kept as written.
pub fn decode_entities(s: &str, ents: &HashMap<String, String>) -> String {
    let Some(first) = s.find('&') else {
        return s.to_string();
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..]
            .char_indices()
            .take(40)
            .find(|(_, c)| {
                !(c.is_ascii_alphanumeric() || *c == '#' || *c == '_' || *c == '-' || *c == '.')
            })
            .filter(|(_, c)| *c == ';')
            .map(|(i, _)| i + 1);
        match semi.and_then(|e| entity(&rest[1..e], ents).map(|v| (e, v))) {
            Some((e, v)) => {
                out.push_str(&v);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_from_mismatched_and_missing_end_tags() {
        let d = parse("<rss><channel><title>A &amp; B &hellip; &nbsp;x & y</title><item><title>one</item><item><title>two");
        let root = d.root().unwrap();
        assert!(d.damaged);
        let ch = root.elements().next().unwrap();
        let items: Vec<_> = ch.elements().filter(|e| e.name == "item").collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            ch.elements().next().unwrap().text(),
            "A & B \u{2026} \u{a0}x & y"
        );
    }

    #[test]
    fn absurd_nesting_is_flattened_not_a_stack_overflow() {
        let deep = "<a>".repeat(100_000) + "x";
        let d = parse(&deep);
        let mut depth = 0;
        let mut e = d.root().unwrap();
        while let Some(c) = e.elements().next() {
            e = c;
            depth += 1;
        }
        assert!(depth < MAX_DEPTH);
        assert_eq!(e.text(), "x");
    }

    #[test]
    fn c1_controls_read_as_windows_1252_punctuation() {
        let d = parse("<t>don\u{92}t \u{93}quote\u{94} &#150;</t>");
        assert_eq!(
            d.root().unwrap().text(),
            "don\u{2019}t \u{201c}quote\u{201d} \u{2013}"
        );
    }

    #[test]
    fn namespaces_map_to_fixed_prefixes() {
        let d = parse(
            r#"<r xmlns:x="http://purl.org/dc/elements/1.1/" xmlns="http://purl.org/rss/1.0/"><x:Date>d</x:Date><foo:bar/></r>"#,
        );
        let names: Vec<_> = d
            .root()
            .unwrap()
            .elements()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(names, vec!["dc:date", "foo:bar"]);
    }

    #[test]
    fn unterminated_cdata_and_doctype_entities() {
        let d = parse("<!DOCTYPE rss [<!ENTITY me \"Jo\">]><rss><t>&me; <![CDATA[a < b");
        assert_eq!(
            d.root().unwrap().elements().next().unwrap().text(),
            "Jo a < b"
        );
    }
}
