//! HTML sanitising for everything that reaches a subscriber.
//!
//! An allow-list (ammonia) removes scripts, styles, iframes, forms, event handlers
//! and `javascript:`/`data:` URLs. On top of it: links and images are made absolute
//! against the article URL, `utm_*`/`fbclid`-style tracking parameters are dropped,
//! and 1×1 tracking pixels are removed.
//!
//! HTML is parsed here only after its nesting is capped (`depth`, shared with
//! the article extractor): html5ever's scope checks make a fragment nested
//! 50,000 levels deep cost quadratic time, so [`clean_html`] and [`plain_text`]
//! stay linear. [`bound_html`] also caps the size of a feed item's HTML.

pub(crate) mod depth;

use std::borrow::Cow;
use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Query parameters that only track the reader.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wt_mc",
    "ref_src",
];

/// True for a query parameter that exists only to track the reader.
pub fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_") || TRACKING_PARAMS.contains(&n.as_str())
}

/// Removes tracking parameters from an absolute URL; other URLs are returned as-is.
/// Only the tracking pairs go: the rest of the URL keeps its exact spelling, so
/// the same link with and without `utm_*` is one item key (re-encoding the query
/// turned `a=b/c` into `a=b%2Fc`).
pub fn strip_tracking(url: &str) -> Cow<'_, str> {
    if Url::parse(url).is_err() {
        return Cow::Borrowed(url);
    }
    let Some(start) = url.find('?') else {
        return Cow::Borrowed(url);
    };
    let end = url[start..].find('#').map_or(url.len(), |i| start + i);
    let is_tracking_pair = |pair: &str| {
        url::form_urlencoded::parse(pair.as_bytes())
            .next()
            .is_some_and(|(name, _)| is_tracking_param(&name))
    };
    let pairs = url[start + 1..end].split('&');
    if !pairs.clone().any(is_tracking_pair) {
        return Cow::Borrowed(url);
    }
    let kept: Vec<&str> = pairs
        .filter(|pair| !pair.is_empty() && !is_tracking_pair(pair))
        .collect();
    let mut stripped = url[..start].to_string();
    if !kept.is_empty() {
        stripped.push('?');
        stripped.push_str(&kept.join("&"));
    }
    stripped.push_str(&url[end..]);
    Cow::Owned(stripped)
}

/// A feed item's HTML as later stages may parse it: at most `max_bytes` (cut
/// before the last tag that would cross the limit, so no half tag is left),
/// with its nesting capped at `depth::MAX_DEPTH` (400) levels, every piece of text
/// within the size kept.
pub fn bound_html(html: &str, max_bytes: usize) -> Cow<'_, str> {
    let mut html = Cow::Borrowed(html);
    if html.len() > max_bytes {
        let mut end = max_bytes;
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        // A tag cut in half would swallow what follows it when parsed.
        let cut = &html[..end];
        let end = match (cut.rfind('<'), cut.rfind('>')) {
            (Some(lt), Some(gt)) if lt > gt => lt,
            (Some(lt), None) => lt,
            _ => end,
        };
        html = Cow::Owned(html[..end].to_string());
    }
    match depth::cap_depth(&html) {
        Some(capped) => Cow::Owned(capped),
        None => html,
    }
}

/// What the links that feeds append to an item's text say ("Subscribe to …",
/// "Read more", WordPress's "The post … appeared first on …"): the site's
/// furniture, not the story.
const PROMO_PHRASES: &[&str] = &[
    "subscribe",
    "newsletter",
    "sign up",
    "follow us",
    "continue reading",
    "read more",
    "read the full",
    "appeared first on",
];

/// A paragraph of furniture is short: a longer one is the story's own text.
const PROMO_MAX_WORDS: usize = 12;

/// `html` without the paragraphs of furniture that end it (at most three):
/// short paragraphs that are all link, and say one of [`PROMO_PHRASES`].
pub fn strip_trailing_promo(html: &str) -> Cow<'_, str> {
    let full = html.trim_end().len();
    let mut end = full;
    for _ in 0..3 {
        // Bytes, not a lower-cased copy: this runs on every item and article.
        let body = &html.as_bytes()[..end];
        if body.len() < 4 || !body[body.len() - 4..].eq_ignore_ascii_case(b"</p>") {
            break;
        }
        // The last paragraph's start: `<p>` or `<p ` (not `<pre`, `<param`).
        let start = (0..body.len().saturating_sub(2)).rev().find(|&i| {
            body[i] == b'<'
                && body[i + 1].eq_ignore_ascii_case(&b'p')
                && matches!(body[i + 2], b'>' | b' ' | b'\t' | b'\n')
        });
        match start {
            Some(start) if is_promo(&html[start..end]) => end = html[..start].trim_end().len(),
            _ => break,
        }
    }
    if end == full {
        Cow::Borrowed(html)
    } else {
        Cow::Owned(html[..end].to_string())
    }
}

/// Whether a paragraph is furniture (see [`strip_trailing_promo`]).
fn is_promo(block: &str) -> bool {
    let doc = scraper::Html::parse_fragment(block);
    let all: String = doc.root_element().text().collect();
    let lower = all.to_lowercase();
    if all.split_whitespace().count() > PROMO_MAX_WORDS
        || !PROMO_PHRASES.iter().any(|p| lower.contains(p))
    {
        return false;
    }
    let Ok(links) = scraper::Selector::parse("a") else {
        return false;
    };
    let linked: String = doc.select(&links).flat_map(|a| a.text()).collect();
    let bare = |s: &str| -> String { s.chars().filter(|c| c.is_alphanumeric()).collect() };
    bare(&linked) == bare(&all)
        || (lower.trim_start().starts_with("the post ") && lower.contains("appeared first on"))
}

/// Sanitises an HTML fragment for publication; relative URLs resolve against `base`.
/// Furniture that a feed appends to the text ([`strip_trailing_promo`]) is left out.
pub fn clean_html(html: &str, base: Option<&Url>) -> String {
    let capped = depth::cap_depth(html);
    let html = capped.as_deref().unwrap_or(html);
    let stripped = strip_trailing_promo(html);
    let unwrapped = without_noscript_tags(stripped.as_ref());
    let html = unwrapped.as_ref();
    let pixels = tracking_pixel_sources(html);
    let mut builder = Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        // Their content is raw text to an HTML parser: kept, it would show as
        // escaped markup ("&lt;img src=…&gt;", an iframe's fallback text).
        // Not <xmp> and <textarea>: browsers show theirs as text, and so do we
        // (code samples).
        .clean_content_tags(HashSet::from([
            "script", "style", "noembed", "noframes", "template",
        ]))
        // Kept with its address only, to become a link below.
        .add_tags(["iframe"])
        .add_tag_attributes("iframe", ["src"])
        // Feed validators call these unsafe; their text stays.
        .rm_tags(["bdo", "rtc"])
        .add_generic_attributes(["lang", "dir"])
        .add_tag_attributes("img", ["loading"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .attribute_filter(move |element, attribute, value| {
            match (element, attribute) {
                ("img", "src") if pixels.contains(value) => None,
                // srcset holds several URLs that ammonia cannot vet one by one.
                (_, "srcset") => None,
                (_, "href" | "src") => Some(strip_tracking(value).into_owned().into()),
                // URL attributes ammonia keeps without vetting their scheme.
                (_, "cite" | "longdesc") if !safe_url_scheme(value) => None,
                _ => Some(value.into()),
            }
        });
    match base {
        Some(base) => {
            builder.url_relative(UrlRelative::Custom(Box::new(ResolveAgainst(base.clone()))));
        }
        None => {
            builder.url_relative(UrlRelative::Deny);
        }
    }
    let cleaned = builder.clean(html).to_string();
    without_sourceless_images(frames_as_links(cleaned))
}

/// `html` with its `<noscript>` tags removed and their content kept as markup:
/// lazy-loading pages put the real `<img>` there, and a feed reader runs no
/// script to load the placeholder's.
fn without_noscript_tags(html: &str) -> Cow<'_, str> {
    let b = html.as_bytes();
    // Most items have none: no copy of the text is made for them.
    if crate::util::find_ascii_ci(b, b"<noscript").is_none() {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut from = 0;
    for lt in memchr::memchr_iter(b'<', b) {
        if lt < from {
            continue;
        }
        let name = lt + 1 + usize::from(b.get(lt + 1) == Some(&b'/'));
        let is_tag = b
            .get(name..name + 8)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"noscript"))
            && b.get(name + 8)
                .is_some_and(|c| matches!(c, b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/'));
        if !is_tag {
            continue;
        }
        let Some(end) = memchr::memchr(b'>', &b[name..]).map(|i| name + i + 1) else {
            break;
        };
        out.push_str(&html[from..lt]);
        from = end;
    }
    out.push_str(&html[from..]);
    Cow::Owned(out)
}

/// The sanitised `html` with each `<iframe>` (its address vetted by the
/// sanitiser, its fallback text escaped) replaced by a link to what it embeds
/// (a video, a map): readers show no frames, and the reader keeps the way to
/// it. Ammonia's output quotes every attribute and escapes every `<` in text
/// and attributes, so each `<iframe` found is a frame, and one pass is linear.
fn frames_as_links(html: String) -> String {
    if !html.contains("<iframe") {
        return html;
    }
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<iframe") {
        out.push_str(&rest[..start]);
        let frame = &rest[start..];
        let open_end = frame.find('>').map_or(frame.len(), |i| i + 1);
        let end = frame
            .find("</iframe>")
            .map_or(frame.len(), |i| i + "</iframe>".len())
            .max(open_end);
        let src = frame[..open_end]
            .split_once(" src=\"")
            .and_then(|(_, v)| v.split_once('"'))
            .map(|(v, _)| {
                // Ammonia's escapes in an attribute value, undone (`&amp;` last).
                v.replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&")
            });
        if let Some(link) = src.as_deref().and_then(embedded_page) {
            let host = Url::parse(&link)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| h.trim_start_matches("www.").to_string())
                })
                .unwrap_or_default();
            let link = link.replace('&', "&amp;").replace('"', "&quot;");
            out.push_str(&format!(
                "<a href=\"{link}\" rel=\"noopener noreferrer\">Embedded content ({host})</a>"
            ));
        }
        rest = &frame[end..];
    }
    out.push_str(rest);
    out
}

/// The page a frame's address stands for, if it is a web address: a YouTube
/// or Vimeo player's video page, else the address itself.
fn embedded_page(src: &str) -> Option<String> {
    let src = src.trim();
    let url = Url::parse(src)
        .or_else(|_| Url::parse(&format!("https:{src}")))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let host = url.host_str().unwrap_or("").trim_start_matches("www.");
    let id = url
        .path_segments()
        .and_then(|mut s| s.nth(1))
        .filter(|id| !id.is_empty());
    let page = match (host, url.path_segments().and_then(|mut s| s.next()), id) {
        ("youtube.com" | "youtube-nocookie.com", Some("embed"), Some(id)) => {
            format!("https://www.youtube.com/watch?v={id}")
        }
        ("player.vimeo.com", Some("video"), Some(id)) => format!("https://vimeo.com/{id}"),
        _ => strip_tracking(url.as_str()).into_owned(),
    };
    Some(page)
}

/// `html` without its `<img>` tags that have no `src` (a tracking pixel's was
/// taken out; its `width="1" height="1"` are noise). Ammonia's output puts
/// every attribute value in double quotes (a `>` in one would not end the tag).
fn without_sourceless_images(html: String) -> String {
    if !html.contains("<img") {
        return html;
    }
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<img") {
        let mut quoted = false;
        let end = rest[start..].char_indices().find_map(|(i, c)| match c {
            '"' => {
                quoted = !quoted;
                None
            }
            '>' if !quoted => Some(start + i),
            _ => None,
        });
        let Some(end) = end else {
            break;
        };
        let tag = &rest[start..=end];
        out.push_str(&rest[..start]);
        let has_source = tag.contains(" src=\"");
        if has_source {
            out.push_str(tag);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// True when a URL is relative or uses http, https or mailto.
fn safe_url_scheme(value: &str) -> bool {
    let v: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    match v.find(':') {
        // A colon after a path, query or fragment start is not a scheme.
        Some(i) if !v[..i].contains(['/', '?', '#']) => {
            let scheme = v[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Resolves relative URLs against the article URL and strips tracking parameters.
struct ResolveAgainst(Url);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for ResolveAgainst {
    fn evaluate<'url>(&self, rel: &'url str) -> Option<Cow<'url, str>> {
        self.0
            .join(rel)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https" | "mailto"))
            .map(|u| Cow::Owned(strip_tracking(u.as_str()).into_owned()))
    }
}

/// `src` values of images that declare themselves 1×1 (or 0×0): tracking pixels.
fn tracking_pixel_sources(html: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    if !html.contains("<img") && !html.contains("<IMG") {
        return out;
    }
    let doc = scraper::Html::parse_fragment(html);
    let Ok(sel) = scraper::Selector::parse("img") else {
        return out;
    };
    for img in doc.select(&sel) {
        let el = img.value();
        let tiny = |name: &str| {
            el.attr(name)
                .map(|v| v.trim().trim_end_matches("px").trim())
                .and_then(|v| v.parse::<f32>().ok())
                .is_some_and(|n| n <= 1.0)
        };
        let style_tiny = el.attr("style").is_some_and(|s| {
            let s = s.replace(' ', "").to_ascii_lowercase();
            (s.contains("width:1px") || s.contains("width:0"))
                && (s.contains("height:1px") || s.contains("height:0"))
        });
        if (tiny("width") && tiny("height")) || style_tiny {
            if let Some(src) = el.attr("src") {
                out.insert(src.to_string());
            }
        }
    }
    out
}

/// Removes characters that XML 1.0 forbids (control characters, lone surrogates,
/// U+FFFE/U+FFFF), so one bad byte in a title can never make the feed invalid XML.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| allowed(c)).collect())
    }
}

/// Plain text from an HTML or text title: tags dropped, entities decoded, spaces folded.
pub fn plain_text(html: &str) -> String {
    let text = if html.contains('<') || html.contains('&') {
        let capped = depth::cap_depth(html);
        let frag = scraper::Html::parse_fragment(capped.as_deref().unwrap_or(html));
        let mut out = String::new();
        let mut hidden = 0usize;
        for edge in frag.root_element().traverse() {
            match edge {
                ego_tree::iter::Edge::Open(node) => {
                    if let Some(el) = node.value().as_element() {
                        // Code and styles are not text a reader should see.
                        if matches!(el.name(), "script" | "style" | "noscript" | "template") {
                            hidden += 1;
                        } else if breaks_text(el.name()) {
                            out.push(' ');
                        }
                    } else if let Some(text) = node.value().as_text() {
                        if hidden == 0 {
                            out.push_str(text);
                        }
                    }
                }
                ego_tree::iter::Edge::Close(node) => {
                    if let Some(el) = node.value().as_element() {
                        if matches!(el.name(), "script" | "style" | "noscript" | "template") {
                            hidden = hidden.saturating_sub(1);
                        } else if breaks_text(el.name()) {
                            // Paragraphs must not run together ("said.Ukraine").
                            out.push(' ');
                        }
                    }
                }
            }
        }
        out
    } else {
        html.to_string()
    };
    // Control characters part words like spaces: JSON would carry them
    // as they are, and XML cannot.
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Elements that start a new block of text (the extractor scores by these too).
pub(crate) fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "pre"
            | "td"
            | "th"
            | "tr"
            | "table"
            | "tbody"
            | "thead"
            | "dd"
            | "dt"
            | "dl"
            | "figure"
            | "figcaption"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "form"
            | "fieldset"
            | "address"
            | "details"
            | "summary"
            | "body"
            | "html"
            | "center"
            | "hr"
            | "caption"
    )
}

/// Elements after which plain text starts a new line: blocks, and breaks.
fn breaks_text(name: &str) -> bool {
    is_block(name) || matches!(name, "br" | "hr")
}

/// A title as plain text that stays plain even in readers that render titles as
/// HTML: entity-escaped markup (`&amp;lt;script&amp;gt;`) is decoded and stripped
/// until nothing tag-like is left. A bare tag that is no markup a title would
/// carry (`std::vector<int>`, `Option<T>`) stays as text: without attributes
/// it can do nothing in a reader that renders it.
pub fn plain_title(html: &str) -> String {
    let mut text = plain_text(&escape_bare_words(html));
    for _ in 0..3 {
        if !looks_like_markup(&text) {
            return text;
        }
        text = plain_text(&escape_bare_words(&text));
    }
    if looks_like_markup(&text) {
        text.retain(|c| c != '<' && c != '>');
    }
    text
}

/// Elements a feed's title may carry as markup (formatting, wrappers), and
/// those that could harm, hide or swallow text or break the layout in a reader
/// that renders titles: these are markup in a title even without attributes.
const TITLE_MARKUP: &[&str] = &[
    "area",
    "audio",
    "bgsound",
    "canvas",
    "datalist",
    "dir",
    "map",
    "menu",
    "meter",
    "output",
    "param",
    "picture",
    "progress",
    "rp",
    "rt",
    "ruby",
    "slot",
    "source",
    "track",
    "video",
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "col",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hr",
    "image",
    "isindex",
    "keygen",
    "label",
    "legend",
    "li",
    "listing",
    "nav",
    "ol",
    "optgroup",
    "option",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "a",
    "abbr",
    "acronym",
    "applet",
    "b",
    "base",
    "big",
    "blink",
    "body",
    "br",
    "button",
    "center",
    "cite",
    "code",
    "del",
    "dfn",
    "div",
    "em",
    "embed",
    "font",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "link",
    "mark",
    "marquee",
    "math",
    "meta",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "p",
    "plaintext",
    "q",
    "s",
    "samp",
    "script",
    "select",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "sup",
    "svg",
    "template",
    "textarea",
    "title",
    "tt",
    "u",
    "var",
    "wbr",
    "xmp",
];

/// Whether the `<` at `at` opens markup: a comment, declaration or processing
/// instruction, an end tag, a tag with attributes, or a tag of [`TITLE_MARKUP`].
/// A bare tag of another name (`vector<int>`) is text in a title.
pub fn opens_markup(b: &[u8], at: usize) -> bool {
    let mut i = at + 1;
    // An end tag is markup: a bare tag kept as text has none.
    if matches!(b.get(i), Some(b'!' | b'?' | b'/')) {
        return true;
    }
    let start = i;
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    while b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-')
    {
        i += 1;
    }
    let name = &b[start..i];
    b.get(i) != Some(&b'>')
        || TITLE_MARKUP
            .iter()
            .any(|m| m.as_bytes().eq_ignore_ascii_case(name))
}

/// `text` with the `<` of each bare tag that is not markup escaped, so that
/// parsing it as HTML keeps the tag as text.
fn escape_bare_words(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    // A bare tag opens with a letter; `opens_markup` says which are markup.
    let bare: Vec<usize> = memchr::memchr_iter(b'<', b)
        .filter(|&i| b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) && !opens_markup(b, i))
        .collect();
    if bare.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 3 * bare.len());
    let mut from = 0;
    for i in bare {
        out.push_str(&text[from..i]);
        out.push_str("&lt;");
        from = i + 1;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

fn looks_like_markup(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'<', b).any(|i| opens_markup(b, i))
        || (text.contains('&') && text.contains(';') && plain_text(text) != text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.test/world/story.html").unwrap()
    }

    #[test]
    fn scripts_handlers_and_javascript_urls_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script></p>
            <a href="javascript:alert(1)">x</a><iframe src="https://evil.test"></iframe>
            <style>body{}</style><img src="x.png" onerror="alert(1)"><a href="data:text/html,<script>">d</a>"#;
        let clean = clean_html(dirty, Some(&base()));
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "<style",
            "data:",
        ] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert!(clean.contains("<p>Hi</p>"), "{clean}");
    }

    #[test]
    fn relative_urls_become_absolute_and_tracking_params_go() {
        let clean = clean_html(
            r#"<a href="/next?id=3&utm_source=rss">n</a><img src="img/a.jpg"><a href="https://x.test/?fbclid=abc">x</a>"#,
            Some(&base()),
        );
        assert!(
            clean.contains(r#"href="https://news.test/next?id=3""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="https://news.test/world/img/a.jpg""#),
            "{clean}"
        );
        assert!(clean.contains(r#"href="https://x.test/""#), "{clean}");
    }

    #[test]
    fn tracking_pairs_go_and_the_rest_of_the_link_keeps_its_spelling() {
        let cases = [
            (
                "https://n.test/a.php?section=world/europe&id=7&utm_source=rss",
                "https://n.test/a.php?section=world/europe&id=7",
            ),
            (
                "https://n.test/a?utm_source=rss&utm_medium=feed#live-3",
                "https://n.test/a#live-3",
            ),
            (
                "https://n.test/a?q=two+words&&fbclid=x&b=%2C",
                "https://n.test/a?q=two+words&b=%2C",
            ),
            (
                "https://n.test/a?section=world/europe",
                "https://n.test/a?section=world/europe",
            ),
            ("/relative?utm_source=rss", "/relative?utm_source=rss"),
        ];
        for (link, expected) in cases {
            assert_eq!(strip_tracking(link), expected, "{link}");
        }
    }

    #[test]
    fn an_embedded_player_leaves_a_link_to_its_page() {
        let clean = clean_html(
            r#"<p>Watch:</p><iframe width="560" src="https://www.youtube.com/embed/dQw4w9WgXcQ?si=x&amp;rel=0" allowfullscreen></iframe><iframe src="//player.vimeo.com/video/76979871"></iframe><iframe src="javascript:alert(1)"></iframe>"#,
            Some(&base()),
        );
        assert!(
            clean.contains(r#"<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ" rel="noopener noreferrer">Embedded content (youtube.com)</a>"#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"href="https://vimeo.com/76979871""#),
            "{clean}"
        );
        assert!(
            !clean.contains("javascript") && !clean.contains("<iframe"),
            "{clean}"
        );
        // Frame-like text in an attribute or a code sample is no frame.
        let clean = clean_html(
            r#"<img alt="<iframe src=https://evil.test/x>" src="https://good.test/pic.jpg"><xmp><iframe src="https://v.test/1"></iframe></xmp>"#,
            Some(&base()),
        );
        assert!(
            clean.contains(r#"src="https://good.test/pic.jpg""#),
            "{clean}"
        );
        assert!(!clean.contains("Embedded content"), "{clean}");
    }

    #[test]
    fn raw_text_elements_never_show_as_escaped_markup() {
        let clean = clean_html(
            r#"<p>Before</p><img data-src="a.jpg"><noscript><img src="/img/a.jpg" alt="pier"></noscript><iframe src="https://v.test/e/1">Your browser cannot show <a href="https://v.test/1">this</a></iframe><p>After</p><xmp><b>bold</b> is written so</xmp>"#,
            Some(&base()),
        );
        assert!(!clean.contains("Your browser"), "{clean}");
        // A code sample in <xmp> shows as the text it is, as in a browser.
        assert!(
            clean.contains("&lt;b&gt;bold&lt;/b&gt; is written so"),
            "{clean}"
        );
        assert!(!clean.contains("&lt;img"), "{clean}");
        assert!(
            clean.contains(r#"<img src="https://news.test/img/a.jpg" alt="pier">"#),
            "{clean}"
        );
        assert!(
            clean.contains("Before") && clean.contains("After"),
            "{clean}"
        );
    }

    #[test]
    fn elements_feed_validators_reject_keep_only_their_text() {
        let clean = clean_html(
            r#"<p><bdo dir="rtl">abc</bdo><ruby>漢<rtc>kan</rtc></ruby></p>"#,
            Some(&base()),
        );
        assert!(
            !clean.contains("<bdo") && !clean.contains("<rtc"),
            "{clean}"
        );
        assert!(clean.contains("abc") && clean.contains("kan"), "{clean}");
    }

    #[test]
    fn the_furniture_a_feed_appends_is_left_out_and_the_story_kept() {
        let story = "<p>Ukraine reported 138 drones overnight.</p>";
        let pixel = "<p><img src=\"https://t.test/o.gif\" width=\"1\" height=\"1\"></p>";
        let with = format!(
            "{story}{pixel}\n<p><a href=\"/subscribe\">Subscribe to Wire Copy Daily</a></p>\n"
        );
        let cleaned = clean_html(&with, None);
        assert!(!cleaned.contains("Subscribe"), "{cleaned}");
        assert!(cleaned.contains("138 drones"), "{cleaned}");
        let wordpress = "<p>The post <a href=\"https://b.test/x\">X</a> appeared first on \
                         <a href=\"https://b.test/\">B</a>.</p>";
        let both = format!("{story}<p><a href=\"/x\">Continue reading →</a></p>{wordpress}");
        assert_eq!(strip_trailing_promo(&both), story);
        // Kept: a link paragraph that says something else, a long one, a
        // sentence with a link in it, and furniture that is not at the end.
        for kept in [
            "<p><a href=\"/x\">Full statement of the ministry</a></p>",
            "<p><a href=\"/x\">Read more about how the council voted on the budget, \
             line by line, and what it means for next year</a></p>",
            "<p>Readers can <a href=\"/s\">subscribe</a> to the council's minutes.</p>",
        ] {
            let text = format!("{story}{kept}");
            assert_eq!(strip_trailing_promo(&text), text.as_str());
        }
        let inside = format!("<p><a href=\"/s\">Subscribe</a></p>{story}");
        assert_eq!(strip_trailing_promo(&inside), inside.as_str());
    }

    #[test]
    fn tracking_pixels_are_removed() {
        let clean = clean_html(
            r#"<p>Text</p><p><img src="https://pixel.test/open.gif?id=77" width="1" height="1" alt=""></p><img src="https://news.test/photo.jpg" width="640" height="1">"#,
            Some(&base()),
        );
        assert!(!clean.contains("pixel.test"), "{clean}");
        assert!(clean.contains("photo.jpg"), "{clean}");
        // Nor is a bare <img width="1" height="1"> left behind.
        assert_eq!(clean.matches("<img").count(), 1, "{clean}");
        let quoted = clean_html(
            r#"<img alt="a > b" src="https://pixel.test/p.gif" width="1" height="1"><img alt="x > y" src="https://news.test/p.jpg">"#,
            Some(&base()),
        );
        assert_eq!(
            quoted, r#"<img alt="x &gt; y" src="https://news.test/p.jpg">"#,
            "{quoted}"
        );
    }

    #[test]
    fn invalid_xml_characters_are_dropped() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\u{FFFE}"), "abc");
        assert!(matches!(xml_safe("fine é"), Cow::Borrowed(_)));
    }

    #[test]
    fn titles_never_carry_markup() {
        assert_eq!(plain_title("A &lt; B and C > D"), "A < B and C > D");
        // Decoded twice it is a script element, whose code is not text.
        assert_eq!(
            plain_title("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"),
            ""
        );
        assert_eq!(plain_title("<img src=x onerror=alert(1)>Hi"), "Hi");
        assert!(!plain_title("&amp;amp;lt;b&amp;amp;gt;x").contains('<'));
        // A bare tag no title carries as markup is text; one with attributes is not.
        assert_eq!(
            plain_title("Use std::vector<int> or Option<T> in 5 < 6 steps"),
            "Use std::vector<int> or Option<T> in 5 < 6 steps"
        );
        // An element that would hide or swallow the rest in a reader is markup.
        assert_eq!(plain_title("The <details> element"), "The element");
        assert_eq!(
            plain_title("Use Vec&lt;String&gt; <b>now</b>"),
            "Use Vec<String> now"
        );
        assert_eq!(plain_title("<x onmouseover=alert(1)>Hi</x>"), "Hi");
        assert_eq!(plain_title("&lt;textarea&gt;swallowed"), "swallowed");
    }

    #[test]
    fn item_html_is_bounded_in_size_and_depth() {
        let html = format!("<p>{}</p><p>tail</p>", "word ".repeat(100));
        // Cut before the tag that would cross the limit, not inside it.
        assert_eq!(bound_html(&html, 509), html[..507]);
        assert_eq!(bound_html(&html, 1 << 20), html);
        assert!(matches!(bound_html("<p>é</p>", 4), Cow::Owned(s) if s == "<p>"));
        let deep = format!("{}x{}", "<i>".repeat(5000), "</i>".repeat(5000));
        let bounded = bound_html(&deep, 1 << 20);
        assert_eq!(bounded.matches("<i>").count(), depth::MAX_DEPTH);
        assert_eq!(plain_text(&deep), "x");
    }

    #[test]
    fn control_characters_part_words_and_never_reach_a_title() {
        assert_eq!(
            plain_title("Control\u{1}chars\u{b}in\u{1f}title"),
            "Control chars in title"
        );
    }

    #[test]
    fn plain_text_decodes_entities_and_strips_tags() {
        assert_eq!(
            plain_text("Ukraine&#x27;s <b>grid</b>\n  hit"),
            "Ukraine's grid hit"
        );
    }
}
