//! Article extraction: an HTML page (bytes + URL + HTTP charset) → [`Article`].
//!
//! Pure: no network, no database. The caller passes the chrome fingerprints already
//! learnt for the page's host and gets back the fingerprints this page shows, so the
//! store can learn site templates across pages (see [`Article::fingerprints`]).
//!
//! The steps, in the order [`extract`] runs them:
//! - `charset`: bytes to text by the BOM, the HTTP charset or `<meta charset>`;
//! - `sanitize::depth`: what is cut before parsing (code, drawings, unread
//!   attributes, nesting past a cap), with its own tag scanner; it lives with the
//!   sanitiser because feed items' HTML gets the same nesting cap;
//! - `meta`: title, dates, author, canonical URL and image from JSON-LD and
//!   `<meta>` tags;
//! - `content`: the node index and scores, then the article root
//!   (`content::root`), the in-article rules (`content::rules`) and the text and
//!   HTML writers (`content::render`);
//! - `chrome`: the signals the content rules use (class and id words, roles,
//!   related-stories and byline text).

mod charset;
mod chrome;
mod content;
mod meta;
mod trace;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use scraper::{Html, Selector};
use url::Url;

use crate::sanitize::depth;

pub use charset::decode_html;
pub use content::{fingerprint, image_source};
pub use meta::{parse_date, strip_site_suffix};
pub use trace::{Chosen, Removed, Trace};

/// The article on a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    /// Headline, without the site-name suffix.
    pub title: Option<String>,
    /// Sanitised article HTML (empty unless HTML was asked for).
    pub html: String,
    /// Plain text, paragraphs separated by blank lines.
    pub text: String,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Author names, comma separated.
    pub author: Option<String>,
    /// Canonical URL.
    pub canonical_url: Option<String>,
    /// Outlet name.
    pub site_name: Option<String>,
    /// Lead image URL.
    pub image: Option<String>,
    /// Fingerprints of the short blocks on this page, for site-template learning.
    pub fingerprints: Vec<u64>,
    /// The `content`/`remove` selectors that matched nothing on this page (for
    /// `content`, the automatic choice stood in), so a tuner can say so.
    pub unmatched: Vec<String>,
}

/// Per-call settings: per-source overrides and what the host's template is known to hold.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// CSS selector of the element that holds the article (`content =` in feeds.toml).
    pub content: Option<String>,
    /// CSS selectors of elements to remove (`remove = [...]`).
    pub remove: Vec<String>,
    /// Fingerprints of blocks known to repeat on this host's pages: chrome.
    pub known_chrome: HashSet<u64>,
    /// Build the sanitised HTML too (the text is always built).
    pub html: bool,
    /// Report the page's block fingerprints ([`Article::fingerprints`]).
    pub learn_template: bool,
}

/// Why no article came out.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExtractError {
    /// A `content`/`remove` selector does not parse.
    #[error("invalid CSS selector {0:?}")]
    BadSelector(String),
    /// The page holds no readable text.
    #[error("no article text found on the page")]
    NoContent,
}

/// Checks a CSS selector the way [`extract`] will use it (for config validation).
pub fn check_selector(css: &str) -> Result<(), ExtractError> {
    Selector::parse(css)
        .map(|_| ())
        .map_err(|_| ExtractError::BadSelector(css.to_string()))
}

/// Extracts the article from a page.
pub fn extract(
    bytes: &[u8],
    url: &Url,
    http_charset: Option<&str>,
    opts: &Options,
) -> Result<Article, ExtractError> {
    let html = decode_html(bytes, http_charset);
    extract_str(&html, url, opts)
}

/// Extracts the article from already decoded HTML.
pub fn extract_str(html: &str, url: &Url, opts: &Options) -> Result<Article, ExtractError> {
    extract_nested(html, url, opts, 0, None)
}

/// [`extract`], also recording in `trace` why the root was chosen and what the
/// rules removed (for `clean --explain`; the trace is filled even when no
/// article comes out).
pub fn extract_traced(
    bytes: &[u8],
    url: &Url,
    http_charset: Option<&str>,
    opts: &Options,
    trace: &mut Trace,
) -> Result<Article, ExtractError> {
    let html = decode_html(bytes, http_charset);
    extract_nested(&html, url, opts, 0, Some(trace))
}

/// Bytes of article text under which the root is a fragment of the page.
const SHORT_ROOT: usize = 500;

/// How many times more text the page's visible text must hold to replace a
/// fragment root.
const SHORT_ROOT_GAIN: usize = 4;

/// How many `<noscript>` levels deep [`noscript_article`] looks.
const MAX_NOSCRIPT_DEPTH: u8 = 2;

/// [`extract_str`] on a page that is itself the `<noscript>` content of
/// another `depth` levels up; `trace`, when given, records the decisions.
fn extract_nested(
    html: &str,
    url: &Url,
    opts: &Options,
    depth: u8,
    mut trace: Option<&mut Trace>,
) -> Result<Article, ExtractError> {
    let strip_attributes = opts.content.is_none() && opts.remove.is_empty();
    let (trimmed, capped) = depth::trim_for_parse(html, strip_attributes);
    if capped {
        tracing::debug!(url = %url, "nesting capped at {} levels", depth::MAX_DEPTH);
    }
    let doc = parse_document(trimmed.as_deref().unwrap_or(html));
    let meta = meta::read_meta(&doc, url);
    let mut page = content::Page::new(&doc, meta.discussion);
    let canonical_host = meta
        .canonical
        .as_deref()
        .and_then(|c| Url::parse(c).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    page.set_host(canonical_host.as_deref().or(url.host_str()));
    let mut unmatched = apply_remove(&doc, &mut page, &opts.remove)?;
    let root = choose_root(&doc, &mut page, opts, &mut unmatched)?;
    match root {
        Some(root) => tracing::debug!(root = %page.describe(root), "article root"),
        None => tracing::debug!("no article root"),
    }
    let title = meta.title.clone().or_else(|| page.first_h1());
    let mut hits = trace.as_ref().map(|_| Vec::new());
    let (drop, fingerprints) = page.in_article_rules(
        root.unwrap_or_else(|| page.body()),
        title.as_deref(),
        &opts.known_chrome,
        opts.learn_template,
        hits.as_mut(),
    );
    // With no root found the body's text after the rules is what the rules
    // missed (menus in plain links, footers): the fallback steps instead.
    let (text, body) = match root {
        Some(root) => page.render(root, &drop, opts.html),
        None => (String::new(), String::new()),
    };
    if let Some(t) = trace.as_deref_mut() {
        let traced = Traced {
            doc: &doc,
            page: &page,
            opts,
            unmatched: &unmatched,
        };
        traced.record(t, root, &drop, &hits.unwrap_or_default(), &text);
    }
    let (text, html) = with_fallback(&doc, &page, root, url, opts, depth, text, body, trace)?;
    Ok(Article {
        title,
        html,
        text,
        published: meta.published,
        author: meta.author,
        canonical_url: meta.canonical,
        site_name: meta.site_name,
        image: meta.image,
        fingerprints,
        unmatched,
    })
}

/// [`Html::parse_document`] with the node arena sized up front: grown by
/// doubling, it was copied several times over on a large page.
fn parse_document(html: &str) -> Html {
    use html5ever::tendril::TendrilSink as _;
    // Real pages hold about one node per '<' (elements, and the text between
    // tags), rarely 1.4: a half more spares most pages any copy.
    let lt = memchr::memchr_iter(b'<', html.as_bytes()).count();
    let mut doc = Html::new_document();
    doc.tree = ego_tree::Tree::with_capacity(scraper::Node::Document, lt + lt / 2 + 16);
    html5ever::driver::parse_document(scraper::HtmlTreeSink::new(doc), Default::default()).one(html)
}

/// The text and HTML of the page: the root's, or the fallback steps' when
/// the root gave nothing or only a few lines. Records the step in `trace`.
#[allow(clippy::too_many_arguments)]
fn with_fallback(
    doc: &Html,
    page: &content::Page,
    root: Option<usize>,
    url: &Url,
    opts: &Options,
    depth: u8,
    text: String,
    body: String,
    trace: Option<&mut Trace>,
) -> Result<(String, String), ExtractError> {
    // A few lines of text (an intro, a notice) are not what a page of items
    // (a list, a shop's category, a thread's first line) is about: its visible
    // text is, when it holds several times more.
    let short = opts.content.is_none() && !text.trim().is_empty() && text.len() < SHORT_ROOT;
    let root = match root {
        Some(root) if !short => root,
        _ => page.body(),
    };
    let (text, html, step) = if text.trim().is_empty() || short {
        let min_len = if short {
            SHORT_ROOT_GAIN * text.len()
        } else {
            0
        };
        match rescue(doc, page, root, url, opts, depth, min_len) {
            Some((text, html, step)) => (text, html, Some(step)),
            None if short => (text, sanitized(&body, url, opts), None),
            None => return Err(ExtractError::NoContent),
        }
    } else {
        (text, sanitized(&body, url, opts), None)
    };
    if let Some(t) = trace {
        t.fallback = step;
        t.words = text.split_whitespace().count();
    }
    Ok((text, html))
}

/// What [`Traced::record`] reads the decisions from.
struct Traced<'p, 'd> {
    doc: &'d Html,
    page: &'p content::Page<'d>,
    opts: &'p Options,
    unmatched: &'p [String],
}

impl Traced<'_, '_> {
    /// Fills `t` with the root, how it was chosen, the blocks removed inside
    /// it (`drop`, with the in-article rules' `hits`) and its `text`'s words.
    fn record(
        &self,
        t: &mut Trace,
        root: Option<usize>,
        drop: &[bool],
        hits: &[(usize, content::Rule)],
        text: &str,
    ) {
        let page = self.page;
        t.content_unmatched = self
            .opts
            .content
            .clone()
            .filter(|css| self.unmatched.contains(css));
        t.chosen = match (root, &self.opts.content) {
            (None, _) => Chosen::Nothing,
            (Some(_), Some(css)) if t.content_unmatched.is_none() => Chosen::Selector(css.clone()),
            (Some(r), _) => Chosen::Scorer {
                score: page.score(r),
                runners_up: page
                    .runners_up(r, 2)
                    .into_iter()
                    .map(|i| (page.path(i), page.score(i)))
                    .collect(),
            },
        };
        t.root = root.map(|r| page.path(r));
        t.root_words = text.split_whitespace().count();
        let mut removed_by = Vec::new();
        for css in &self.opts.remove {
            if let Ok(sel) = Selector::parse(css) {
                for el in self.doc.select(&sel) {
                    if let Some(i) = page.index_of(el.id()) {
                        removed_by.push((i, css.clone()));
                    }
                }
            }
        }
        let under = root.unwrap_or_else(|| page.body());
        t.removed = page
            .removed_blocks(under, drop, hits, &removed_by)
            .into_iter()
            .map(|(rule, i)| Removed {
                rule,
                path: page.path(i),
                text: page.text_start(i),
            })
            .collect();
    }
}

/// The article root: the `content` selector's element, else the automatic
/// choice; `None` when the page has no prose to choose by. A selector that
/// matched nothing goes to `unmatched`.
fn choose_root(
    doc: &Html,
    page: &mut content::Page,
    opts: &Options,
    unmatched: &mut Vec<String>,
) -> Result<Option<usize>, ExtractError> {
    let chosen = match &opts.content {
        Some(css) => {
            let sel = Selector::parse(css).map_err(|_| ExtractError::BadSelector(css.clone()))?;
            let chosen = doc
                .select(&sel)
                .next()
                .and_then(|el| page.index_of(el.id()));
            match chosen {
                Some(i) => page.force_root(i),
                None => unmatched.insert(0, css.clone()),
            }
            chosen
        }
        None => None,
    };
    Ok(chosen.or_else(|| page.best_root()))
}

/// The sanitised article HTML, when HTML was asked for.
fn sanitized(body: &str, url: &Url, opts: &Options) -> String {
    if opts.html {
        crate::sanitize::clean_html(body, Some(url))
    } else {
        String::new()
    }
}

/// Text and HTML for a page whose root gave nothing (or a fragment): the
/// page's own fallback steps, or the page served in its `<noscript>` (forums
/// and shops render the posts there for readers without scripts) when that
/// holds more text. `None` when neither holds more than `min_len` bytes.
fn rescue(
    doc: &Html,
    page: &content::Page,
    root: usize,
    url: &Url,
    opts: &Options,
    depth: u8,
    min_len: usize,
) -> Option<(String, String, &'static str)> {
    let own = page
        .fallback(root, opts.html)
        .filter(|(t, _, _)| t.len() > min_len);
    let hidden = if depth < MAX_NOSCRIPT_DEPTH {
        noscript_article(doc, url, opts, depth).filter(|a| a.text.len() > min_len)
    } else {
        None
    };
    match (own, hidden) {
        (own, Some(a)) if own.as_ref().is_none_or(|(t, _, _)| a.text.len() > t.len()) => {
            tracing::debug!("article root gave no text: the <noscript> page instead");
            Some((a.text, a.html, "the page served in its <noscript>"))
        }
        (Some((text, body, step)), _) => {
            tracing::debug!(
                step = step.describe(),
                "article root gave no text: fallback"
            );
            let html = sanitized(&body, url, opts);
            Some((text, html, step.describe()))
        }
        (None, _) => None,
    }
}

/// The article of the page in the largest `<noscript>` that holds markup
/// (its content is raw text to a parser that runs scripts).
fn noscript_article(doc: &Html, url: &Url, opts: &Options, depth: u8) -> Option<Article> {
    let sel = Selector::parse("noscript").ok()?;
    let inner = doc
        .select(&sel)
        .map(|el| el.text().collect::<String>())
        .filter(|t| t.len() >= 200 && t.contains('<'))
        .max_by_key(String::len)?;
    extract_nested(&inner, url, opts, depth + 1, None).ok()
}

/// Prunes what the `remove` selectors match; returns those that matched nothing.
fn apply_remove(
    doc: &Html,
    page: &mut content::Page,
    remove: &[String],
) -> Result<Vec<String>, ExtractError> {
    let mut unmatched = Vec::new();
    for css in remove {
        let sel = Selector::parse(css).map_err(|_| ExtractError::BadSelector(css.clone()))?;
        let mut matched = false;
        for el in doc.select(&sel) {
            if let Some(i) = page.index_of(el.id()) {
                page.remove(i);
                matched = true;
            }
        }
        if !matched {
            unmatched.push(css.clone());
        }
    }
    if !remove.is_empty() {
        page.rescore();
    }
    Ok(unmatched)
}

#[cfg(test)]
mod tests;
