//! Chrome rules: what marks a block as site furniture rather than article text.
//! Signals are class/id tokens, ARIA roles and labels, image alt text, and the
//! wording of headings ("Related News", "Must Read", … in several languages).

/// How sure a signal is that an element is chrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chrome {
    /// Never article text (scripts, forms controls, navigation landmarks).
    Hard,
    /// Usually chrome (class or id says so); kept if it holds most of the page's text.
    Soft,
}

/// Elements whose content is never article text.
pub fn hard_tag(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "canvas"
            | "iframe"
            | "object"
            | "embed"
            | "button"
            | "input"
            | "select"
            | "textarea"
            | "option"
            | "dialog"
            | "link"
            | "meta"
            | "head"
            | "title"
            | "math"
            | "video"
            | "audio"
            | "map"
    )
}

/// Landmark elements that are chrome when they are not the bulk of the page.
pub fn soft_tag(tag: &str) -> bool {
    matches!(tag, "nav" | "aside" | "footer" | "header" | "form" | "menu")
}

/// Class/id substrings that mark chrome wherever they appear in the token.
const CHROME_SUBSTRINGS: &[&str] = &[
    "related",
    "share",
    "sharing",
    "social",
    "newsletter",
    "cookie",
    "consent",
    "gdpr",
    "sidebar",
    "promo",
    "sponsor",
    "advert",
    "subscribe",
    "subscription",
    "signup",
    "banner",
    "popup",
    "modal",
    "breadcrumb",
    "pagination",
    "pager",
    "recommend",
    "trending",
    "outbrain",
    "taboola",
    "disqus",
    "most-read",
    "mostread",
    "mostpopular",
    "popular",
    "read-more",
    "readmore",
    "readnext",
    "read-next",
    "more-stories",
    "morestories",
    "comments",
    "comment-",
    "toolbar",
    "masthead",
    "navbar",
    "navigation",
    "skiplink",
    "skip-link",
    "screen-reader",
    "sr-only",
    "visually-hidden",
    "visuallyhidden",
    "offscreen",
    "paywall",
    "adsbygoogle",
    "ad-slot",
    "adslot",
    "ad-container",
    "ad-wrapper",
    "dfp",
    "byline",
    "dateline",
    "timestamp",
    "post-meta",
    "entry-meta",
    "article-meta",
    "postmeta",
    "post-nav",
    "post-navigation",
    "prev-next",
    "author-bio",
    "authorbio",
    "author-box",
    "about-author",
    // Author boxes under the story, by their common names (and the WordPress
    // plugin "Simple Author Box"); a byline is handled by its own rule.
    "authorbox",
    "author-details",
    "authordetails",
    "author-description",
    "authordescription",
    "contributor-bio",
    "contributorbio",
    "saboxplugin",
    // Notes under the story and affiliate or legal disclosures.
    "footnotes",
    "disclosure",
    "tags",
    "tagcloud",
    "table-of-contents",
    "tableofcontents",
    "not-prose",
    // Form messages a script shows after sending (Webflow), and the honeypot
    // field spam bots fill in (Gravity Forms): hidden by the site's CSS.
    "w-form-done",
    "w-form-fail",
    "gform_validation",
    // The summary of a post: this one's above the story (repeating it) or
    // other posts' on their cards. Not a bare "excerpt": roundups name their
    // entries' text so ("venue-excerpt").
    "post-excerpt",
    "post__excerpt",
    "entry-excerpt",
    "article-excerpt",
    "the-excerpt",
    "card-excerpt",
    "card__excerpt",
    "item-excerpt",
    "item__excerpt",
    "tile-excerpt",
    // Blocks the site itself marks as not content: for search engines' indexing
    // ("nocontent", "robots-nocontent") and for text-to-speech readers.
    "nocontent",
    "speechify-ignore",
    // A forum post's furniture: its author's card (name, rank, post count),
    // its signature, its vote counter.
    "signature",
    "user-info",
    "userinfo",
    "user-details",
    "userdetails",
    "user-card",
    "votecell",
    "vote-count",
    // Widget areas that themes and plugins put after the story.
    "after-content",
    "after-entry",
    "after-post",
    "after-article",
];

/// Class/id tokens (whole words) that mark chrome; a `match` compiles to a jump
/// table instead of one string comparison per word.
fn is_chrome_token(t: &[u8]) -> bool {
    matches!(
        t,
        b"ad" | b"ads"
            | b"adv"
            | b"nav"
            | b"menu"
            | b"footer"
            | b"header"
            | b"meta"
            | b"share"
            | b"comment"
            | b"comments"
            | b"author"
            | b"byline"
            | b"date"
            | b"crumbs"
            | b"tag"
            | b"tools"
            | b"icons"
            | b"icon"
            | b"rating"
            | b"login"
            | b"search"
            | b"follow"
            | b"teaser"
            | b"teasers"
            | b"more"
            | b"next"
            | b"prev"
            | b"previous"
            | b"caption"
            | b"credit"
            | b"credits"
            | b"copyright"
            | b"disclaimer"
            | b"bio"
            | b"cta"
            | b"print"
            // Newsletter sign-up boxes ("optin__box", "enews-widget"); whole words,
            // as "adopting" and "screenews" hold the letters.
            | b"optin"
            | b"enews"
    )
}

/// Class/id words that say "this is the article"; they cancel soft signals.
const CONTENT_TOKENS: &[&str] = &[
    "article-body",
    "articlebody",
    "article-content",
    "entry-content",
    "post-content",
    "post-body",
    "story-body",
    "storybody",
    "article-text",
    "main-content",
    "body-text",
    "rich-text",
    "prose",
];

/// What a class or id pattern names: the article body ([`CONTENT_TOKENS`]).
const NAMES_CONTENT: u8 = 1;
/// What a class or id pattern names: chrome ([`CHROME_SUBSTRINGS`]).
const NAMES_CHROME: u8 = 2;

/// The patterns of both lists by their first two bytes, so one pass over a
/// word tests them all: a bit per ASCII byte pair rejects most positions
/// without comparing any pattern. (By first byte alone, most vowels after an
/// 's' or a 'c' led to a dozen comparisons.) Every pattern is ASCII and two
/// bytes or more (a test checks).
struct Index {
    /// A bit per byte pair (`first << 7 | second`) that begins a pattern.
    pairs: [u64; 256],
    /// Pair, pattern and what it names, sorted by pair.
    patterns: Vec<(u16, &'static [u8], u8)>,
}

/// The index key of two ASCII bytes.
#[inline]
fn pair_key(first: u8, second: u8) -> u16 {
    (u16::from(first) << 7) | u16::from(second)
}

impl Index {
    fn new() -> Index {
        let mut pairs = [0u64; 256];
        let mut patterns = Vec::new();
        let lists = [
            (CONTENT_TOKENS, NAMES_CONTENT),
            (CHROME_SUBSTRINGS, NAMES_CHROME),
        ];
        for (list, names) in lists {
            for p in list {
                if let [first, second, ..] = *p.as_bytes() {
                    let key = pair_key(first & 0x7f, second & 0x7f);
                    pairs[usize::from(key >> 6)] |= 1 << (key & 63);
                    patterns.push((key, p.as_bytes(), names));
                }
            }
        }
        patterns.sort_by_key(|&(key, _, _)| key);
        Index { pairs, patterns }
    }

    /// What the patterns found in `text` name ([`NAMES_CONTENT`] and
    /// [`NAMES_CHROME`] bits).
    fn names_in(&self, text: &str) -> u8 {
        let t = text.as_bytes();
        let mut found = 0;
        for (i, w) in t.windows(2).enumerate() {
            if w[0] >= 128 || w[1] >= 128 {
                continue;
            }
            let key = pair_key(w[0], w[1]);
            if self.pairs[usize::from(key >> 6)] & (1 << (key & 63)) == 0 {
                continue;
            }
            let from = self.patterns.partition_point(|&(k, _, _)| k < key);
            for &(k, p, names) in &self.patterns[from..] {
                if k != key {
                    break;
                }
                if found & names == 0 && t[i..].starts_with(p) {
                    found |= names;
                }
            }
            if found == NAMES_CONTENT | NAMES_CHROME {
                break;
            }
        }
        found
    }
}

static INDEX: std::sync::LazyLock<Index> = std::sync::LazyLock::new(Index::new);

/// The attributes chrome rules read, gathered in one pass over an element's
/// attributes (looking each name up separately interns it every time).
#[derive(Debug, Default, Clone, Copy)]
pub struct Attrs<'a> {
    class: Option<&'a str>,
    id: Option<&'a str>,
    role: Option<&'a str>,
    aria_label: Option<&'a str>,
    style: Option<&'a str>,
    hidden: bool,
    aria_hidden: bool,
}

impl<'a> Attrs<'a> {
    /// Collects the chrome-relevant attributes from `(name, value)` pairs.
    pub fn collect(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Attrs<'a> {
        let mut a = Attrs::default();
        for (k, v) in pairs {
            match k {
                "class" => a.class = Some(v),
                "id" => a.id = Some(v),
                "role" => a.role = Some(v),
                "aria-label" => a.aria_label = Some(v),
                "style" => a.style = Some(v),
                "hidden" => a.hidden = true,
                "aria-hidden" => a.aria_hidden = v == "true",
                _ => {}
            }
        }
        a
    }
}

/// What the words of one class or id value say. No pattern holds a space, so
/// reading class and id apart equals reading them joined.
#[derive(Debug, Clone, Copy, Default)]
struct Words {
    /// A word names the article body (`entry-content`, ...).
    content: bool,
    /// A word names chrome, on an element that is not a heading.
    chrome: bool,
    /// A word names chrome on a heading, which is a header by nature
    /// ("header-anchor-post"): there, the word names no page header.
    chrome_on_heading: bool,
}

impl Words {
    /// Reads the words of a class or id value.
    fn read(value: &str) -> Words {
        ascii_lower(value)
            .split_ascii_whitespace()
            .map(Words::of_word)
            .fold(Words::default(), Words::or)
    }

    /// What one lower-cased word says; a value says what any of its words says.
    fn of_word(word: &str) -> Words {
        let names = INDEX.names_in(word);
        let mut w = Words {
            // Tailwind's `not-prose` opts a box (a call to action, a product card)
            // out of the article's typography: it names what is not the article.
            content: names & NAMES_CONTENT != 0 && !word.starts_with("not-"),
            ..Words::default()
        };
        if names & NAMES_CHROME != 0 && !word.contains("commentary") {
            w.chrome = true;
            w.chrome_on_heading = true;
        }
        // A chrome substring already says all a token could.
        if w.chrome_on_heading {
            return w;
        }
        // The word's tokens between non-alphanumeric bytes, by hand: the
        // slice `split` iterator cost as much as the substring search.
        let b = word.as_bytes();
        let mut start = 0;
        for end in 0..=b.len() {
            if b.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            let t = &b[start..end];
            if is_chrome_token(t) {
                w.chrome = true;
                w.chrome_on_heading |= t != b"header";
            }
            start = end + 1;
        }
        w
    }

    /// What either says.
    fn or(self, other: Words) -> Words {
        Words {
            content: self.content || other.content,
            chrome: self.chrome || other.chrome,
            chrome_on_heading: self.chrome_on_heading || other.chrome_on_heading,
        }
    }
}

/// Class values read once per page: menu items, cards and list entries
/// repeat theirs, and reading one costs more than looking it up. Their words
/// too: utility classes ("flex", "wp-block-paragraph") recur in values that
/// differ, and ids are read word by word through the same table.
#[derive(Default)]
pub struct ClassWords<'a> {
    seen: std::collections::HashMap<&'a str, Words, fxhash::FxBuildHasher>,
    words: std::collections::HashMap<&'a str, Words, fxhash::FxBuildHasher>,
}

impl<'a> ClassWords<'a> {
    /// Tables sized for a page of `nodes` nodes: growing them rehashed every
    /// entry several times over (a page holds about one new class value or
    /// class word per ten nodes).
    pub fn for_nodes(nodes: usize) -> ClassWords<'a> {
        let cap = nodes / 8;
        ClassWords {
            seen: std::collections::HashMap::with_capacity_and_hasher(cap, Default::default()),
            words: std::collections::HashMap::with_capacity_and_hasher(cap, Default::default()),
        }
    }

    /// The words of `class`, read on first sight.
    fn get(&mut self, class: &'a str) -> Words {
        if let Some(&w) = self.seen.get(class) {
            return w;
        }
        let w = self.read(class);
        self.seen.insert(class, w);
        w
    }

    /// [`Words::read`], each word looked up before it is read.
    fn read(&mut self, value: &'a str) -> Words {
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            // Its lower-cased words live no longer than this call.
            return Words::read(value);
        }
        let mut w = Words::default();
        for word in value.split_ascii_whitespace() {
            w = w.or(*self
                .words
                .entry(word)
                .or_insert_with(|| Words::of_word(word)));
        }
        w
    }
}

/// Lower-cases only when needed: most class names already are.
fn ascii_lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// React's streamed chunk (`<div hidden id="S:1">`, moved into place by a script).
fn streamed_chunk(id: &str) -> bool {
    id.strip_prefix("S:")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The chrome signal of an element, from its tag, class, id, role and ARIA label.
#[cfg(test)]
pub fn classify(tag: &str, attr: &Attrs<'_>) -> Option<Chrome> {
    signals(tag, attr, &mut ClassWords::default()).1
}

/// Whether an element's class or id marks the article body, and its chrome
/// signal from its tag, class, id, role and ARIA label.
pub fn signals<'a>(
    tag: &str,
    attr: &Attrs<'a>,
    class_words: &mut ClassWords<'a>,
) -> (bool, Option<Chrome>) {
    let class = attr.class.map(|c| class_words.get(c)).unwrap_or_default();
    let id = attr.id.map(|id| class_words.read(id)).unwrap_or_default();
    let marked = class.content || id.content;
    (marked, chrome_signal(tag, attr, marked, class, id))
}

/// The chrome half of [`signals`]: hard tags, then what the attributes say,
/// then class, id and tag names.
fn chrome_signal(
    tag: &str,
    attr: &Attrs<'_>,
    marked: bool,
    class: Words,
    id: Words,
) -> Option<Chrome> {
    if hard_tag(tag) || attr.id.is_some_and(consent_manager) {
        return Some(Chrome::Hard);
    }
    if let Some(signal) = hidden_or_labelled(attr) {
        return Some(signal);
    }
    if matches!(tag, "html" | "body" | "main" | "article") {
        return None;
    }
    if marked {
        return None;
    }
    // A heading's id is its anchor, made from its own words ("h-mattresses-for-
    // side-sleepers"): it says what the heading is about, not what it is.
    let heading = matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
    let named_chrome = if heading {
        class.chrome_on_heading
    } else {
        class.chrome || id.chrome
    };
    if named_chrome {
        return Some(Chrome::Soft);
    }
    if soft_tag(tag) {
        return Some(Chrome::Soft);
    }
    None
}

/// Id prefixes of the dialogs that consent managers (OneTrust, Cookiebot,
/// Didomi, Quantcast, Usercentrics, Sourcepoint, TrustArc, Complianz) put on
/// thousands of sites. Their preference centre holds more prose than a short
/// page (purposes, vendors, legal text) and was chosen as the article of
/// forum threads and front pages; it is never content.
const CONSENT_MANAGER_IDS: &[&str] = &[
    "onetrust-",
    "CybotCookiebot",
    "didomi-",
    "qc-cmp",
    "usercentrics-",
    "sp_message_container",
    "truste-consent",
    "cmplz-",
];

/// Whether an element's id names a consent manager's dialog.
fn consent_manager(id: &str) -> bool {
    CONSENT_MANAGER_IDS.iter().any(|p| id.starts_with(p))
}

/// Soft chrome by the element's attributes alone: hidden (unless a script
/// shows it later), or a role or ARIA label that names page furniture.
fn hidden_or_labelled(attr: &Attrs<'_>) -> Option<Chrome> {
    // What a script shows later is the page's own text: React's streamed chunks,
    // and the collapsed panes of accordions and tabs (FAQ answers, guide steps).
    let shown_later = attr.id.is_some_and(streamed_chunk)
        || attr
            .role
            .is_some_and(|r| matches!(r.trim(), "region" | "tabpanel"));
    // Other hidden blocks are soft chrome: kept only on the way to the article.
    if !shown_later && (attr.hidden || attr.aria_hidden) {
        return Some(Chrome::Soft);
    }
    if let Some(style) = attr.style.filter(|_| !shown_later) {
        let s = style.to_ascii_lowercase().replace(' ', "");
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return Some(Chrome::Soft);
        }
    }
    if let Some(role) = attr.role {
        if matches!(
            role.trim(),
            "navigation"
                | "banner"
                | "contentinfo"
                | "complementary"
                | "search"
                | "dialog"
                | "alertdialog"
                | "menu"
                | "menubar"
                | "toolbar"
                | "tablist"
        ) {
            return Some(Chrome::Soft);
        }
    }
    if let Some(label) = attr.aria_label {
        let l = label.to_lowercase();
        if [
            "share",
            "related",
            "breadcrumb",
            "navigation",
            "social",
            "advert",
            "comments",
        ]
        .iter()
        .any(|w| l.contains(w))
        {
            return Some(Chrome::Soft);
        }
    }
    None
}

/// A short name for why an element is chrome, for `clean --explain`: its tag,
/// `hidden`, its role or label, or the class or id word that names chrome.
pub fn reason<'a>(tag: &str, attr: &dyn Fn(&str) -> Option<&'a str>) -> String {
    if hard_tag(tag) {
        return tag.to_string();
    }
    let style = attr("style")
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace(' ', "");
    if attr("hidden").is_some()
        || attr("aria-hidden") == Some("true")
        || style.contains("display:none")
        || style.contains("visibility:hidden")
    {
        return "hidden".to_string();
    }
    for value in [attr("class"), attr("id")].into_iter().flatten() {
        for word in value.to_ascii_lowercase().split_ascii_whitespace() {
            if let Some(p) = CHROME_SUBSTRINGS.iter().find(|p| word.contains(*p)) {
                return (*p).to_string();
            }
            let token = word.split(|c: char| !c.is_ascii_alphanumeric());
            if let Some(t) = token.into_iter().find(|t| is_chrome_token(t.as_bytes())) {
                return t.to_string();
            }
        }
    }
    if let Some(role) = attr("role") {
        return format!("role={}", role.trim());
    }
    if let Some(label) = attr("aria-label") {
        return format!("aria-label={label:?}");
    }
    tag.to_string()
}

/// Headings that introduce lists of other stories, in several languages.
const RELATED_HEADINGS: &[&str] = &[
    "must read",
    "related",
    "read more",
    "read also",
    "also read",
    "read next",
    "more from",
    "more on",
    "more news",
    "more stories",
    "more articles",
    "trending",
    "recommended",
    "you may also like",
    "you might also like",
    "you may like",
    "we recommend",
    "popular",
    "most read",
    "most viewed",
    "most popular",
    "top stories",
    "latest news",
    "latest stories",
    "latest articles",
    "latest posts",
    "recent posts",
    "further reading",
    "see also",
    "editor's picks",
    "editors' picks",
    "don't miss",
    "in case you missed",
    "share this",
    "comments",
    "leave a reply",
    "leave a comment",
    "about the author",
    "about the authors",
    "about the reviewer",
    "about the writer",
    "meet the author",
    "über den autor",
    "à propos de l'auteur",
    "sobre el autor",
    // Calls to action of the publisher's business under the story.
    "contact us",
    "get in touch",
    "get a free quote",
    "request a demo",
    "request a quote",
    "work with us",
    "ready to get started",
    "sign up",
    "subscribe",
    "newsletter",
    "follow us",
    "tags",
    // Tables of contents: links back into the page, useless in a feed reader.
    "table of contents",
    "in this article",
    "on this page",
    "jump to",
    "jump to section",
    "inhaltsverzeichnis",
    "sommaire",
    "índice",
    "содержание",
    // German, French, Spanish, Italian, Portuguese, Dutch, Russian, Polish
    "mehr zum thema",
    "das könnte sie auch interessieren",
    "auch interessant",
    "weitere artikel",
    "meistgelesen",
    "lire aussi",
    "à lire aussi",
    "sur le même sujet",
    "les plus lus",
    "articles similaires",
    "lee también",
    "te puede interesar",
    "noticias relacionadas",
    "lo más leído",
    "leggi anche",
    "articoli correlati",
    "i più letti",
    "leia também",
    "notícias relacionadas",
    "mais lidas",
    "lees ook",
    "meest gelezen",
    "читайте также",
    "по теме",
    "похожие",
    "czytaj także",
    "zobacz też",
];

/// Headings of the list of sources under a story: the list is plain text
/// (citations, bare URLs), so what follows the heading goes, not only links.
const SOURCE_HEADINGS: &[&str] = &[
    "sources",
    "article sources",
    "citations",
    "footnotes",
    "bibliography",
    "works cited",
    "references",
    "reference list",
    "endnotes",
    "quellen",
    "fuentes",
    "referencias",
    "références",
];

/// True when a heading's text introduces other stories or site furniture.
pub fn is_related_heading(text: &str) -> bool {
    heading_in(text, RELATED_HEADINGS)
}

/// True when a heading's text introduces the list of sources under a story.
pub fn is_source_heading(text: &str) -> bool {
    heading_in(text, SOURCE_HEADINGS)
}

fn heading_in(text: &str, headings: &[&str]) -> bool {
    let t = text.trim().to_lowercase();
    let t = t.trim_matches(|c: char| !c.is_alphanumeric());
    if t.is_empty() || t.chars().count() > 48 {
        return false;
    }
    // "Related News", "More from Vue News": the phrase plus at most three words.
    // Most phrases begin with another byte: one compare spares their memcmp
    // (every phrase has one, a test checks).
    let first = t.as_bytes().first();
    headings.iter().any(|h| {
        h.as_bytes().first() == first
            && (t == *h
                || t.strip_prefix(h).is_some_and(|rest| {
                    !rest.starts_with(|c: char| c.is_alphanumeric())
                        && rest.split_whitespace().count() <= 3
                }))
    })
}

/// True for a short block that pitches the site's newsletter or social
/// accounts, or claims its rights: chrome wherever it sits.
pub fn is_pitch(text: &str) -> bool {
    if !may_be_pitch(text) {
        return false;
    }
    const ANYWHERE: &[&str] = &[
        "straight to your inbox",
        "right to your inbox",
        "directly to your inbox",
        "straight into your inbox",
        "delivered to your inbox",
        "follow us on",
        "all rights reserved",
    ];
    // The site's own list ("subscribe to our newsletter"), not newsletters
    // in general (an article on marketing tells readers to sign up for some).
    const LISTS: &[&str] = &["newsletter", "mailing list", "email list"];
    const JOIN: &[&str] = &["sign up for our", "subscribe to our", "join our"];
    let l = text.to_lowercase();
    let has = |ps: &[&str]| ps.iter().any(|p| l.contains(p));
    has(ANYWHERE) || (has(LISTS) && has(JOIN))
}

/// Whether `text` holds a word every pitch [`is_pitch`] knows holds (less the
/// first letter, which may be a capital): a cheap test before lower-casing.
pub fn may_be_pitch(text: &str) -> bool {
    // Searchers built once: `str::contains` builds one per call, which cost
    // more than the search on the short text nodes this is asked about.
    static HINTS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 6]> =
        std::sync::LazyLock::new(|| {
            ["nbox", "ollow", "eserved", "ewsletter", "ailing", "mail"]
                .map(memchr::memmem::Finder::new)
        });
    let t = text.as_bytes();
    // Shorter than every hint (the whitespace between tags, mostly).
    t.len() >= 4 && HINTS.iter().any(|f| f.find(t).is_some())
}

/// How bylines, datelines and credits begin.
const PREFIXES: &[&str] = &[
    "by ",
    "published",
    "updated",
    "last updated",
    "posted on",
    "posted by",
    "written by",
    "share this",
    "share on",
    "share:",
    "follow us",
    "photo:",
    "photo credit",
    "image:",
    "image credit",
    "image source",
    "read time",
    "reading time",
    "credit:",
    "source:",
    "tags:",
    "filed under",
    "von ",
    "par ",
    "por ",
    "di ",
    "veröffentlicht",
    "aktualisiert",
    "publié",
    "mis à jour",
    "publicado",
    "actualizado",
];

/// True for a short line that is a byline, dateline or share prompt, not article text.
pub fn is_meta_line(text: &str) -> bool {
    let t = text.trim();
    let n = t.chars().count();
    if n == 0 || n > 120 {
        return false;
    }
    let l = t.to_lowercase();
    // A first-byte test before each comparison, as in `heading_in`.
    let first = l.as_bytes().first();
    if n < 80
        && PREFIXES
            .iter()
            .any(|p| p.as_bytes().first() == first && l.starts_with(p))
    {
        return true;
    }
    if n <= 160 && is_meta_row(t) {
        return true;
    }
    if matches!(
        l.as_str(),
        "advertisement" | "advertising" | "sponsored" | "anzeige" | "publicité"
    ) || (n < 40
        && (l.ends_with("min read") || l.ends_with("minute read") || l.ends_with("minutes read")))
    {
        return true;
    }
    is_relative_time(&l)
}

/// A byline row: parts joined by separators ("By Ann Lee | Updated May 2,
/// 2025 | 4 min read"), one of them a short byline or reading time. A "by"
/// part must name someone ("By experts with ..." is a claim, not a byline).
fn is_meta_row(t: &str) -> bool {
    if !t.contains(['|', '·', '•']) && !t.contains(" – ") && !t.contains(" - ") {
        return false;
    }
    let parts: Vec<&str> = t
        .split(['|', '·', '•'])
        .flat_map(|p| p.split(" – "))
        .flat_map(|p| p.split(" - "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    parts.len() >= 2
        && parts.iter().any(|p| {
            let words = p.split_whitespace().count();
            let l = p.to_lowercase();
            let named = |rest: &str| rest.trim_start().starts_with(char::is_uppercase);
            let byline = PREFIXES.iter().any(|x| {
                l.starts_with(x) && (!x.ends_with(' ') || p.get(x.len()..).is_some_and(named))
            });
            (words <= 6 && byline) || (words <= 4 && l.ends_with("min read"))
        })
}

/// "5 hours ago", "2 days ago", "vor 3 Stunden".
fn is_relative_time(l: &str) -> bool {
    // Three words exactly, read without collecting them: every short block
    // of an article is asked, and the vector was most of the rule's cost.
    let mut words = l.split_whitespace();
    let [Some(first), Some(second), Some(third), None] = std::array::from_fn(|_| words.next())
    else {
        return false;
    };
    let number = |w: &str| w.chars().all(|c| c.is_ascii_digit());
    (third == "ago" && number(first) && second.starts_with(['s', 'm', 'h', 'd', 'w', 'y']))
        || (first == "vor" && number(second))
}

/// Images that are interface icons, not article pictures.
pub fn is_icon_image(attr: &dyn Fn(&str) -> Option<String>) -> bool {
    let text = format!(
        "{} {} {}",
        attr("alt").unwrap_or_default(),
        attr("class").unwrap_or_default(),
        attr("src").unwrap_or_default()
    )
    .to_ascii_lowercase();
    [
        "icon", "logo", "avatar", "sprite", "share", "nav-post", "emoji", "gravatar", "badge",
        "pixel", "spacer", "facebook", "twitter", "whatsapp", "linkedin", "telegram",
    ]
    .iter()
    .any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_not_empty() {
        for h in RELATED_HEADINGS
            .iter()
            .chain(SOURCE_HEADINGS)
            .chain(PREFIXES)
        {
            assert!(!h.is_empty());
        }
    }

    #[test]
    fn patterns_are_ascii_pairs_or_longer() {
        for p in CONTENT_TOKENS.iter().chain(CHROME_SUBSTRINGS) {
            assert!(p.len() >= 2 && p.is_ascii(), "{p:?}");
        }
    }

    #[test]
    fn index_finds_what_contains_finds() {
        let naive = |w: &str| {
            let any = |list: &[&str]| list.iter().any(|p| w.contains(p));
            u8::from(any(CONTENT_TOKENS)) * NAMES_CONTENT
                + u8::from(any(CHROME_SUBSTRINGS)) * NAMES_CHROME
        };
        let words = [
            "",
            "a",
            "ad",
            "entry-content",
            "sidebar-related",
            "x-post-content-share",
            "prose",
            "not-prose",
            "héader-sharé",
            "shar",
            "wp-block-group",
            "c-comments-",
            "dfp",
            "sr-onl",
            "é",
            "article-bodysocial",
            "gform_validation_container",
        ];
        for w in words {
            assert_eq!(INDEX.names_in(w), naive(w), "{w:?}");
        }
    }

    fn attrs<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn class_id_role_and_label_signals() {
        assert_eq!(
            classify("div", &Attrs::collect([("class", "social-share")])),
            Some(Chrome::Soft)
        );
        assert_eq!(
            classify("div", &Attrs::collect([("id", "cookie-consent")])),
            Some(Chrome::Soft)
        );
        assert_eq!(
            classify("div", &Attrs::collect([("class", "ad-slot ad-inline")])),
            Some(Chrome::Soft)
        );
        assert_eq!(
            classify("div", &Attrs::collect([("role", "navigation")])),
            Some(Chrome::Soft)
        );
        assert_eq!(
            classify("div", &Attrs::collect([("aria-label", "Share this story")])),
            Some(Chrome::Soft)
        );
        assert_eq!(classify("script", &Attrs::default()), Some(Chrome::Hard));
        assert_eq!(
            classify("div", &Attrs::collect([("style", "display: none")])),
            Some(Chrome::Soft)
        );
    }

    #[test]
    fn content_classes_are_not_chrome() {
        assert_eq!(
            classify("div", &Attrs::collect([("class", "entry-content")])),
            None
        );
        assert_eq!(
            classify("div", &Attrs::collect([("class", "headline")])),
            None
        );
        assert_eq!(
            classify("div", &Attrs::collect([("class", "loading")])),
            None
        );
        assert_eq!(
            classify("section", &Attrs::collect([("class", "commentary")])),
            None
        );
        assert_eq!(classify("p", &Attrs::default()), None);
    }

    #[test]
    fn related_headings_in_several_languages() {
        for h in [
            "Must Read",
            "Related News",
            "Read more",
            "More from Vue News",
            "Trending",
            "Recommended",
            "You may also like",
            "Lire aussi",
            "Mehr zum Thema",
            "Lee también",
            "Читайте также",
        ] {
            assert!(is_related_heading(h), "{h}");
        }
        for h in [
            "Related talks stall in Geneva as envoys leave",
            "Popularity of cycling grows",
            "Readmission rules",
            "What happened next",
        ] {
            assert!(!is_related_heading(h), "{h}");
        }
    }

    #[test]
    fn bylines_and_datelines() {
        assert!(is_meta_line("By Staff reporter"));
        assert!(is_meta_line("Published: Tuesday, December 16"));
        assert!(is_meta_line("Updated: Tuesday, December 16"));
        assert!(is_meta_line("5 hours ago"));
        assert!(is_meta_line("vor 3 Stunden"));
        assert!(!is_meta_line("5 hours ago now"));
        assert!(!is_meta_line("hours ago"));
        assert!(is_meta_line("Advertisement"));
        assert!(is_meta_line("6 min read"));
        assert!(is_meta_line("Image credit: Eurogamer"));
        assert!(!is_meta_line("By Sunday the talks had collapsed, and both delegations left Berlin without a joint statement on the guarantees."));
        assert!(!is_meta_line("Prices rose by 5% in the year to March."));
        assert!(is_meta_line(
            "By Ann Lee – Updated Sep 9, 2025 at 1:00 PM EST | Fact-checked by Bo Ray"
        ));
        assert!(is_meta_line("March 15, 2022 · 3 min read · Staff"));
        assert!(!is_meta_line(
            "Professionally written - By experts with specialised experience."
        ));
        assert!(!is_meta_line(
            "Lee Miller, Tate Britain, October 2, 2025 – February 15, 2026"
        ));
    }

    #[test]
    fn pitches_of_the_sites_own_lists() {
        assert!(is_pitch("Get the best stories delivered to your inbox."));
        assert!(is_pitch("Subscribe to our newsletter for weekly tips"));
        assert!(is_pitch("Follow us on LinkedIn"));
        assert!(is_pitch("© 2025 The Paper. All Rights Reserved."));
        assert!(!is_pitch("Subscribe to industry newsletters to keep up."));
        assert!(!is_pitch("Our newsletter readers grew by 20% this year."));
    }

    #[test]
    fn icon_images() {
        assert!(is_icon_image(&attrs(&[
            ("alt", "share-icon"),
            ("src", "/i/s.svg")
        ])));
        assert!(is_icon_image(&attrs(&[
            ("alt", "nav-post-picture"),
            ("src", "/p.jpg")
        ])));
        assert!(is_icon_image(&attrs(&[("alt", "comment-icon")])));
        assert!(!is_icon_image(&attrs(&[
            ("alt", "Zelensky in Berlin"),
            ("src", "/img/z.jpg")
        ])));
    }

    #[test]
    fn chrome_reasons_name_the_signal() {
        let of = |tag: &str, pairs: &'static [(&'static str, &'static str)]| {
            reason(tag, &|k| {
                pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
            })
        };
        assert_eq!(of("div", &[("class", "post social-share")]), "share");
        assert_eq!(of("div", &[("id", "Newsletter-Box")]), "newsletter");
        assert_eq!(of("div", &[("class", "byline")]), "byline");
        assert_eq!(of("div", &[("class", "share"), ("hidden", "")]), "hidden");
        assert_eq!(of("div", &[("style", "display: none")]), "hidden");
        assert_eq!(of("div", &[("role", "navigation")]), "role=navigation");
        assert_eq!(of("aside", &[("class", "must-read")]), "aside");
        assert_eq!(of("iframe", &[]), "iframe");
    }
}
