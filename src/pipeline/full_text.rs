//! The full-text step: a feed's teasers (or every item of a `full_text` source)
//! become the articles their links point to, extracted with the host's learnt
//! template.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use tokio::task::JoinSet;
use url::Url;

use super::fetch_read::{within_limits, Stopped};
use super::Context;
use crate::config::SourceConfig;
use crate::extract::{extract, Article, Options};
use crate::fetch::{FetchError, Validators};
use crate::read::RawItem;
use crate::sanitize::plain_text;
use crate::schedule::in_words;
use crate::store::{item_key, link_key, StoredArticle};

/// Article pages fetched per source per fetch at most; the rest wait for the next one.
pub(super) const MAX_ARTICLES_PER_FETCH: usize = 30;

/// A block seen on this many pages of a host is part of its template.
const TEMPLATE_MIN_PAGES: i64 = 3;

/// True when an item's content is evidently a teaser of a longer article.
pub fn is_teaser(item: &RawItem) -> bool {
    let html = item
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(item.summary.as_deref())
        .unwrap_or("");
    let text = plain_text(html);
    let lower = text.to_lowercase();
    let lower = lower.trim_end_matches(['.', ' ', '»', '›', '→', ']', ')']);
    let truncated = text.ends_with('…')
        || text.ends_with("...")
        || text.ends_with("[…]")
        || text.ends_with("[...]")
        || [
            "read more",
            "continue reading",
            "read the full story",
            "read full article",
            "more…",
        ]
        .iter()
        .any(|m| lower.ends_with(m));
    truncated || text.chars().count() < 120
}

/// The items that hold full text after [`fill_full_text`], and whether every
/// page wanted was tried. Pages that did not fit in this fetch, and the page
/// of an item new in this fetch that failed for a while (a timeout, a 5xx, its
/// host resting) or waits out its backoff, leave the feed to be read again at
/// the next fetch, where they are tried; after that, and for a page that fails
/// for good (a 404, not an article), only when the feed changes: a dead host
/// would otherwise keep its feed downloaded in full for good (cron keeps no
/// backoff between runs).
#[derive(Debug, Default)]
pub struct FullText {
    /// Keys of the items that now hold full text.
    pub keys: Vec<String>,
    /// False when some wanted page is left for a later fetch.
    pub complete: bool,
}

/// Gives `item` the article stored for it.
fn take_stored(item: &mut RawItem, article: &StoredArticle) {
    item.content = Some(article.content.clone());
    if item.author.is_none() {
        item.author.clone_from(&article.author);
    }
}

/// What a fetch does with each item's page.
#[derive(Default)]
struct PagePlan<'a> {
    /// Keys of items that keep their stored article.
    keys: Vec<String>,
    /// Items whose page is fetched now (index, key).
    wanted: Vec<(usize, String)>,
    /// Keys of items whose page waits out its backoff.
    retry: Vec<String>,
    /// Items whose stored article was extracted with earlier settings: kept
    /// unless the page answers now.
    stale: Vec<(usize, &'a StoredArticle)>,
}

/// Sorts a fetch's items: those that keep their stored article (which they
/// take), those whose page is wanted now or later.
fn plan_pages<'a>(
    ctx: &Context,
    cfg: &SourceConfig,
    stored: &'a HashMap<String, StoredArticle>,
    items: &mut [RawItem],
    now: Instant,
) -> PagePlan<'a> {
    let mut plan = PagePlan::default();
    for (i, item) in items.iter_mut().enumerate() {
        let Some(key) = item_key(item) else { continue };
        // By link: the full text is its page's. By key only without a link: a
        // feed that gives its keys to other articles (GUIDs numbered by
        // position) would give an item another article's text.
        let known = match item.link.as_deref() {
            Some(link) => stored.get(&link_key(link)),
            None => stored.get(&key),
        };
        let wanted_page = item.link.is_some() && cfg.full_text.wants(is_teaser(item));
        match known {
            // Extracted with the current settings: kept.
            Some(article) if !article.stale => {
                take_stored(item, article);
                plan.keys.push(key);
                continue;
            }
            // Extracted with earlier ones: read again, the stored article
            // kept until the page answers (it may fail, or wait for a later
            // fetch). Not wanted any more (`full_text = false`), the feed's
            // own text stands.
            Some(article) if wanted_page => plan.stale.push((i, article)),
            _ => {}
        }
        if wanted_page {
            let link = item.link.as_deref().unwrap_or_default();
            if ctx.article_backoff.waiting(link, now) {
                plan.retry.push(key);
            } else {
                plan.wanted.push((i, key));
            }
        }
    }
    plan
}

/// Replaces teasers with the extracted article pages (for `full_text` sources, or
/// items that are evidently teasers). Items already extracted keep their stored
/// article; a page that fails to fetch or extract keeps the feed's content, and
/// is tried again after its backoff.
pub async fn fill_full_text(
    ctx: &Context,
    source_id: i64,
    cfg: &SourceConfig,
    items: &mut [RawItem],
) -> FullText {
    let stored = match ctx.store.call(move |s| s.full_text_items(source_id)).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(source = %cfg.name, "cannot read stored full text: {e}");
            return FullText::default();
        }
    };
    let now = Instant::now();
    let mut complete = true;
    let PagePlan {
        mut keys,
        mut wanted,
        mut retry,
        stale,
    } = plan_pages(ctx, cfg, &stored, items, now);
    if wanted.len() > MAX_ARTICLES_PER_FETCH {
        // Pages never asked for yet: the next fetch reads the feed again for them.
        complete = false;
        tracing::debug!(source = %cfg.name, waiting = wanted.len() - MAX_ARTICLES_PER_FETCH, "more articles than one fetch takes; the rest come next time");
        wanted.truncate(MAX_ARTICLES_PER_FETCH);
    }
    let opts = article_options(cfg);
    let mut tasks = JoinSet::new();
    for (i, key) in wanted {
        let Some(link) = items[i].link.clone() else {
            continue;
        };
        let ctx = ctx.clone();
        let opts = opts.clone();
        tasks.spawn(async move { (i, key, fetch_article(&ctx, &link, opts).await) });
    }
    let mut settled = settle_pages(ctx, cfg, items, tasks, &stale, now).await;
    record_refusals(ctx, cfg, source_id, std::mem::take(&mut settled.refused)).await;
    keys.append(&mut settled.keys);
    retry.append(&mut settled.retry);
    // A stored article still to be extracted under the rules now: the feed
    // is read again next time, even unchanged, so that its page is asked.
    let stale_keys: HashSet<String> = (stale.iter())
        .filter_map(|(i, _)| item_key(&items[*i]))
        .collect();
    if retry.iter().any(|k| stale_keys.contains(k)) {
        complete = false;
    }
    let (taken, mut kept) = (settled.taken, settled.kept);
    for (i, article) in stale {
        if taken.contains(&i) {
            continue;
        }
        take_stored(&mut items[i], article);
        // A page gone for good, or no better than the feed (a cookie wall):
        // the stored article stands, and is not asked for again.
        if let Some(key) = kept.remove(&i) {
            keys.push(key);
        }
    }
    if complete && !retry.is_empty() {
        // Asked only when a page failed: most fetches have none.
        let known = ctx.store.call(move |s| s.known_keys(source_id)).await;
        complete = known.is_ok_and(|known| retry.iter().all(|k| known.contains(k)));
    }
    FullText { keys, complete }
}

/// What became of a fetch's pages.
#[derive(Default)]
struct Settled {
    /// Keys of the items whose page's article was taken.
    keys: Vec<String>,
    /// Keys of the items whose page is to be tried again.
    retry: Vec<String>,
    /// The items whose page's article was taken.
    taken: HashSet<usize>,
    /// The items whose page answered without an article better than the
    /// feed's, or failed for good, with their keys.
    kept: HashMap<usize, String>,
    /// Keys of the items whose page gave something other than their stored
    /// article ([`Reread::Refused`]).
    refused: Vec<String>,
}

/// Settles the fetched pages of `tasks` into their items (`stale`: those
/// whose stored article was extracted with earlier rules).
async fn settle_pages(
    ctx: &Context,
    cfg: &SourceConfig,
    items: &mut [RawItem],
    mut tasks: JoinSet<(usize, String, anyhow::Result<Article>)>,
    stale: &[(usize, &StoredArticle)],
    now: Instant,
) -> Settled {
    let mut out = Settled::default();
    while let Some(done) = tasks.join_next().await {
        let Ok((i, key, result)) = done else { continue };
        let stored = stale.iter().find(|(j, _)| *j == i).map(|(_, a)| *a);
        if let Some(stored) = stored {
            let link = items[i].link.clone().unwrap_or_default();
            let stored = (stored.content.as_str(), stored.refused);
            match settle_reread(ctx, cfg, &link, stored, result, now) {
                Reread::Take(article) => {
                    let article = *article;
                    items[i].content = Some(article.html);
                    if items[i].author.is_none() {
                        items[i].author = article.author;
                    }
                    out.taken.insert(i);
                    out.keys.push(key);
                }
                Reread::Keep => {
                    out.kept.insert(i, key);
                }
                Reread::Later => out.retry.push(key),
                Reread::Refused => {
                    out.refused.push(key.clone());
                    out.retry.push(key);
                }
            }
            continue;
        }
        match settle_page(ctx, cfg, &mut items[i], result, now) {
            Page::Taken => {
                out.taken.insert(i);
                out.keys.push(key);
            }
            Page::Kept => {
                out.kept.insert(i, key);
            }
            Page::Retry => out.retry.push(key),
        }
    }
    out
}

/// What to make of a stored article's page read again under edited rules.
pub(super) enum Reread {
    /// The page's article, extracted under the rules now.
    Take(Box<Article>),
    /// The stored article stands, as extracted under the rules now: the page
    /// gives less (a wall, a paywall's lead, an empty result under a rule
    /// that fits it no more) or is gone for good.
    Keep,
    /// The stored article stands; the page is asked again at a later fetch.
    Later,
    /// The page gave something other than the stored article (a wall), which
    /// stands; counted ([`Store::refused_reread`]), the page is asked again at
    /// a later fetch.
    ///
    /// [`Store::refused_reread`]: crate::store::Store::refused_reread
    Refused,
}

/// Re-reads of a page that gave something other than its stored article
/// before the stored one is kept as extracted under the edited rules (a
/// running daemon waits 5, then 10 minutes between them; each `fetch` from
/// cron asks once).
const REREADS_REFUSED_BEFORE_KEEP: u32 = 3;

/// Counts the refused re-reads of these items' pages (by key) in the store.
pub(super) async fn record_refusals(
    ctx: &Context,
    cfg: &SourceConfig,
    source_id: i64,
    keys: Vec<String>,
) {
    if keys.is_empty() {
        return;
    }
    let extraction = super::extraction(cfg);
    let counted = (ctx.store)
        .call(move |s| {
            keys.iter().try_for_each(|k| {
                s.refused_reread(source_id, k, REREADS_REFUSED_BEFORE_KEEP, &extraction)
            })
        })
        .await;
    if let Err(e) = counted {
        // Uncounted, the page is asked again at the next fetch: no harm.
        tracing::debug!(source = %cfg.name, "cannot count the refused re-reads: {e}");
    }
}

/// Settles a stored article's page read again under edited rules: the new
/// article replaces `stored` (HTML) when it is that article ([`Against::is_the_article`]);
/// anything else (a cookie wall) is none, whatever the feed's text.
pub(super) fn settle_reread(
    ctx: &Context,
    cfg: &SourceConfig,
    link: &str,
    (stored, refused): (&str, u32),
    result: anyhow::Result<Article>,
    now: Instant,
) -> Reread {
    match result {
        Ok(article) => {
            let against = Against::of(&article.text, stored);
            if against.is_the_article() {
                ctx.article_backoff.succeeded(link);
                return Reread::Take(Box::new(article));
            }
            let Against {
                words,
                stored_words,
                found,
                ..
            } = against;
            // A wall is often passing (a consent page shown once, a site's
            // bad hour): asked again at later fetches (after a backoff in a
            // daemon), a few times, before the stored article is kept for good.
            let refused = refused + 1;
            let later = refused < REREADS_REFUSED_BEFORE_KEEP;
            let retry_in = ctx.article_backoff.failed(link, now);
            let asked_again = match later {
                true => format!("at a fetch after {}", in_words(retry_in)),
                false => "never: the stored article is kept".into(),
            };
            tracing::warn!(source = %cfg.name, link = display(link), words, stored_words, shared = found, refused, of = REREADS_REFUSED_BEFORE_KEEP, %asked_again, "the page read again is not the stored article (a wall?); keeping the stored one");
            match later {
                true => Reread::Refused,
                false => Reread::Keep,
            }
        }
        Err(e) if e.is::<HostResting>() => {
            tracing::debug!(source = %cfg.name, link = display(link), "keeping the stored article: {e}");
            Reread::Later
        }
        Err(e) => {
            let retry_in = in_words(ctx.article_backoff.failed(link, now));
            tracing::warn!(source = %cfg.name, link = display(link), %retry_in, detail = fetch_detail(&e), "article unavailable, keeping the stored one: {e:#}");
            match lasting_failure(&e) {
                true => Reread::Keep,
                false => Reread::Later,
            }
        }
    }
}

/// How a page's text read again stands to the stored article (HTML), the
/// stored one's text read once.
struct Against {
    /// Words of the text.
    words: usize,
    /// Words of the stored article.
    stored_words: usize,
    /// Words of the text the stored article has.
    found: usize,
    /// Long enough to be an article: 20 words, or 100 characters (Chinese or
    /// Japanese prose has a space a paragraph).
    long_enough: bool,
    /// It shows UTF-8 decoded as Windows-1252 or Latin-1 ("â€™" for "’", "Ã©"
    /// for "é") where the stored article had none: a page sent with the wrong
    /// charset, whose words are otherwise the article's.
    mojibake: bool,
}

/// The words of `text` compared by [`Against`]: split at spaces, and a run of
/// Chinese or Japanese characters (a space a paragraph at most) as its pairs
/// of characters, so that a block cut out of every paragraph leaves most of
/// them (single characters would be shared by any two texts).
fn compared_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        let chars: Vec<(usize, char)> = token.char_indices().collect();
        if !chars.iter().any(|&(_, c)| spaceless_script(c)) {
            out.push(token);
            continue;
        }
        if chars.len() < 2 {
            out.push(token);
        }
        for pair in chars.windows(2) {
            let end = pair[1].0 + pair[1].1.len_utf8();
            out.push(&token[pair[0].0..end]);
        }
    }
    out
}

/// A character of a script written without spaces between words, with
/// enough characters that pairs of them tell texts apart (Han, kana). Not
/// Thai: of its 70 or so letters, an unrelated Thai article shared three
/// quarters of its pairs with a stored one (review); Thai puts spaces
/// between phrases, which tell texts apart as words do.
fn spaceless_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}' // hiragana, katakana
        | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' // Han
    )
}

impl Against {
    fn of(text: &str, stored: &str) -> Against {
        let marks = |t: &str| t.matches("â€").count() + t.matches('Ã').count();
        let stored_text = plain_text(stored);
        let stored_words = compared_words(&stored_text);
        let known: HashSet<&str> = stored_words.iter().copied().collect();
        let words = compared_words(text);
        Against {
            words: words.len(),
            stored_words: stored_words.len(),
            found: words.iter().filter(|w| known.contains(*w)).count(),
            long_enough: words.len() >= 20 || text.chars().count() >= 100,
            mojibake: marks(text) > marks(stored) + 2,
        }
    }

    /// The stored article with blocks taken out (by a `remove` rule, or a
    /// `content` rule that keeps less): nine tenths of its words the stored
    /// article's. A wall's words are others; a paywall that shows the first
    /// paragraphs looks like a cut.
    fn is_cut(&self) -> bool {
        self.long_enough && self.words > 0 && self.found * 10 >= self.words * 9 && !self.mojibake
    }

    /// The stored article under edited rules: cut, or otherwise extracted,
    /// with at least three fifths of its words and half of them the stored
    /// article's (a cookie wall of the same length, or a text decoded with the
    /// wrong charset, is not).
    fn is_the_article(&self) -> bool {
        let like = self.words * 5 >= self.stored_words * 3 && self.found * 2 >= self.words;
        self.is_cut() || (like && self.words > 0 && !self.mojibake)
    }
}

/// Whether `text` is the article `stored` (HTML) with blocks taken out ([`Against::is_cut`]).
#[cfg(test)]
fn is_cut_from(text: &str, stored: &str) -> bool {
    Against::of(text, stored).is_cut()
}

/// Whether `text` is the article `stored` (HTML) ([`Against::is_the_article`]).
#[cfg(test)]
fn is_the_article(text: &str, stored: &str) -> bool {
    Against::of(text, stored).is_the_article()
}

/// What became of one fetched article page.
enum Page {
    /// Its article replaced the item's text.
    Taken,
    /// The item keeps the feed's text (the page holds no more, or fails for good).
    Kept,
    /// The item keeps the feed's text; the page is tried again at the next
    /// fetch if the item is new here (the failure may pass).
    Retry,
}

/// Takes a fetched page's article into its item when it holds more than the
/// feed's text.
fn settle_page(
    ctx: &Context,
    cfg: &SourceConfig,
    item: &mut RawItem,
    result: anyhow::Result<Article>,
    now: Instant,
) -> Page {
    match result {
        Ok(article) => {
            if let Some(link) = &item.link {
                ctx.article_backoff.succeeded(link);
            }
            let feed_text = item.content.as_deref().or(item.summary.as_deref());
            if article.text.len() <= plain_text(feed_text.unwrap_or("")).len() {
                tracing::debug!(source = %cfg.name, link = item.link.as_deref().map(display), "the page holds no more than the feed; keeping the feed's text");
                return Page::Kept;
            }
            item.content = Some(article.html);
            // The feed's own fields win; the page fills what the feed left out.
            if item.author.is_none() {
                item.author = article.author;
            }
            Page::Taken
        }
        Err(e) if e.is::<HostResting>() => {
            tracing::debug!(source = %cfg.name, link = item.link.as_deref().map(display), "keeping the feed's content: {e}");
            Page::Retry
        }
        Err(e) => {
            let link = item.link.as_deref().unwrap_or_default();
            let retry_in = in_words(ctx.article_backoff.failed(link, now));
            tracing::warn!(source = %cfg.name, link = display(link), %retry_in, detail = fetch_detail(&e), "full text unavailable, keeping the feed's content: {e:#}");
            // A page that will not change by asking again (gone, refused, not
            // an article) waits for the feed to change.
            match lasting_failure(&e) {
                true => Page::Kept,
                false => Page::Retry,
            }
        }
    }
}

/// Whether a page's failure will last: a client error (404, 403, 410…, not a
/// timeout or "too many requests") or an answer that is not the article.
fn lasting_failure(e: &anyhow::Error) -> bool {
    e.is::<NotAnArticle>()
        || e.downcast_ref::<FetchError>()
            .and_then(FetchError::status)
            .is_some_and(|s| (400..500).contains(&s) && !matches!(s, 408 | 425 | 429))
}

/// How a source's article pages are extracted: its `content`/`remove` rules, as
/// HTML, reporting block fingerprints for the host's template.
pub(super) fn article_options(cfg: &SourceConfig) -> Options {
    Options {
        content: cfg.content.clone(),
        remove: cfg.remove.clone(),
        html: true,
        learn_template: true,
        ..Options::default()
    }
}

/// What lies behind an article's short fetch error, for the log line that reports it.
pub(super) fn fetch_detail(e: &anyhow::Error) -> Option<&str> {
    e.downcast_ref::<crate::fetch::FetchError>()
        .and_then(crate::fetch::FetchError::detail)
}

/// Puts the link's host to rest when its article page got no answer at all (a
/// timeout, a connection that could not be made). The link's host, not the
/// one a redirect led to, which reqwest's errors do not name: a redirector
/// whose targets hang rests too, and its links keep the feed's text meanwhile.
fn rest_if_unanswered(ctx: &Context, host: &str, e: &FetchError) {
    if matches!(e, FetchError::Timeout(_) | FetchError::Connect { .. }) {
        let wait = ctx.resting_hosts.failed(host, Instant::now());
        tracing::warn!(%host, rest = %in_words(wait), "no other article page of this host is asked for until the rest is over: {e}");
    }
}

/// An article page not asked for: its host left one unanswered lately (a
/// timeout, a refused connection), and each page would wait the whole timeout.
#[derive(Debug, thiserror::Error)]
#[error("not fetched: {0} left an article page unanswered lately")]
pub struct HostResting(pub String);

/// An article link that answered with something other than the article: a
/// sign-in, consent or subscription page it was sent to, the site's home page,
/// or a document that is not a web page (a PDF, an image). Failing the page
/// keeps the feed's own text and tries the link again later.
#[derive(Debug, thiserror::Error)]
#[error("not the article: {0}")]
pub struct NotAnArticle(pub String);

/// Last path segments (without extension) of the pages a site sends a reader
/// to instead of an article they may not read (yet). Only the last: a section
/// may be named "gdpr" or "register" above an article.
const WALL_PAGES: &[&str] = &[
    "login",
    "log-in",
    "logon",
    "signin",
    "sign-in",
    "sign_in",
    "wp-login",
    "signup",
    "sign-up",
    "sign_up",
    "auth",
    "authorize",
    "oauth",
    "sso",
    "consent",
    "gdpr",
    "paywall",
    "subscribe",
    "subscription",
    "register",
    "registration",
];

/// Host labels of consent and sign-in services (consent.example, guce.yahoo.com).
const WALL_HOSTS: &[&str] = &[
    "consent", "guce", "login", "signin", "auth", "accounts", "sso",
];

/// Why the answer to `requested` is not its article, if it is not: see [`NotAnArticle`].
pub fn not_an_article(requested: &Url, fetched: &crate::fetch::Fetched) -> Option<NotAnArticle> {
    let media_type = fetched
        .headers
        .content_type
        .as_deref()
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    if let Some(t) = &media_type {
        // Servers that know no better say octet-stream: the body decides then.
        let web_page = t.starts_with("text/") || t.contains("html") || t.contains("xml");
        if !web_page && t != "application/octet-stream" {
            return Some(NotAnArticle(format!("the link gives {t}, not a web page")));
        }
    }
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF"),
        (b"\x89PNG", "a PNG image"),
        (b"GIF8", "a GIF image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"PK\x03\x04", "a ZIP archive"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| fetched.body.starts_with(m)) {
        return Some(NotAnArticle(format!(
            "the link gives {what}, not a web page"
        )));
    }
    let to = &fetched.final_url;
    let site = |u: &Url| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
    };
    if site(to) == site(requested) && to.path() == requested.path() {
        return None;
    }
    // The site's own front page (a link to another site's front page, from a
    // shortener or a link blog, may be the article).
    let front = |path: &str| {
        let path = path.trim_matches('/').to_ascii_lowercase();
        path.is_empty()
            || matches!(path.as_str(), "index.html" | "index.php" | "index.htm")
            || (path.len() == 2 && path.bytes().all(|b| b.is_ascii_alphabetic()))
    };
    let home = site(to) == site(requested) && front(to.path()) && !front(requested.path());
    let wall_host = to
        .host_str()
        .and_then(|h| h.split('.').next())
        .is_some_and(|label| WALL_HOSTS.contains(&label.to_ascii_lowercase().as_str()));
    let wall_page = to
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .is_some_and(|last| {
            let stem = last.split('.').next().unwrap_or("").to_ascii_lowercase();
            WALL_PAGES.contains(&stem.as_str())
        });
    (home || wall_host || wall_page).then(|| {
        NotAnArticle(format!(
            "the link redirects to {}",
            if home {
                "the site's home page".to_string()
            } else {
                to.to_string()
            }
        ))
    })
}

/// Fetches one article page (within the global and per-host limits), extracts it
/// with the host's learnt template, and records what the page showed of the template.
pub async fn fetch_article(
    ctx: &Context,
    link: &str,
    mut opts: Options,
) -> anyhow::Result<Article> {
    let url = Url::parse(link).with_context(|| format!("invalid article URL {link}"))?;
    let host = url.host_str().unwrap_or("").to_string();
    let fetched = {
        // A page's share of its host first, then the host and global limits.
        let _page = ctx.limits.hosts.acquire_page_share(&host).await;
        if ctx.resting_hosts.waiting(&host, Instant::now()) {
            return Err(HostResting(host).into());
        }
        let validators = Validators::default();
        // The feed's own text is stored instead when feedsieve stops.
        match within_limits(ctx, &host, ctx.fetcher.fetch(&url, &validators)).await {
            Ok(fetched) => {
                match &fetched {
                    // Any answer, an error status too, shows the host answers.
                    Ok(_) | Err(FetchError::Status { .. }) => ctx.resting_hosts.succeeded(&host),
                    Err(e) => rest_if_unanswered(ctx, &host, e),
                }
                fetched?
            }
            Err(Stopped::BeforeStart) => anyhow::bail!("not fetched: feedsieve is stopping"),
            Err(Stopped::CutShort) => anyhow::bail!("cut short: feedsieve is stopping"),
        }
    };
    if let Some(refused) = not_an_article(&url, &fetched) {
        return Err(refused.into());
    }
    let charset = fetched.headers.charset();
    let h = host.clone();
    opts.known_chrome = ctx
        .store
        .call(move |s| s.site_template(&h, TEMPLATE_MIN_PAGES))
        .await
        .unwrap_or_default();
    let final_url = fetched.final_url.clone();
    let article = ctx
        .text_work(move || extract(&fetched.body, &final_url, charset.as_deref(), &opts))
        .await
        .context("the extractor crashed")??;
    let prints = article.fingerprints.clone();
    let now = Utc::now().timestamp();
    if let Err(e) = ctx
        .store
        .call(move |s| s.learn_site_template(&host, &prints, now))
        .await
    {
        tracing::warn!("cannot record the site template: {e}");
    }
    Ok(article)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::Fetched;
    use crate::util::http::ResponseHints;

    fn answer(final_url: &str, content_type: &str, body: &'static [u8]) -> Fetched {
        Fetched {
            status: 200,
            headers: ResponseHints {
                content_type: Some(content_type.into()),
                ..ResponseHints::default()
            },
            body: body.into(),
            final_url: Url::parse(final_url).unwrap(),
        }
    }

    #[test]
    fn an_article_cut_by_a_new_rule_is_told_from_a_page_in_its_place() {
        let body = "The council met on Tuesday and agreed the budget after long talks. ".repeat(4);
        let stored =
            format!("<p>{body}</p><div>Related: ten things to do this weekend in town.</div>");
        assert!(is_cut_from(&body, &stored) && is_the_article(&body, &stored));
        // A `content` rule that keeps a fifth of the article is a cut too
        // (and so, alas, is a paywall that shows the first paragraphs).
        let long = format!("<p>{}</p>", body.repeat(5));
        assert!(is_the_article(&body, &long));
        // Walls are other words, whatever their length.
        assert!(!is_the_article(
            "Please enable cookies to continue reading this page.",
            &stored
        ));
        let wall = "Subscribe now to read this article and get unlimited access to all our news. "
            .repeat(3);
        assert!(!is_the_article(&wall, &stored));
        let cookies = "We and our 842 partners store and access information on your device, \
            such as cookies, to measure audiences and personalise what you see. ";
        assert!(!is_the_article(&cookies.repeat(3), &stored));
        // Another extraction of the same article, as long, is it.
        let rewritten = format!("Budget day. {}", body.replace("long", "lengthy"));
        assert!(is_the_article(&rewritten, &stored));
        // The same bytes decoded with the wrong charset are not.
        let quoted = "The minister said the government “won’t back down” on the budget. ";
        let stored = format!("<p>{}</p>", quoted.repeat(5));
        let garbled = quoted
            .replace('“', "â€œ")
            .replace('’', "â€™")
            .replace('”', "â€\u{9d}");
        assert!(!is_the_article(&garbled.repeat(5), &stored));
        // A cut of Japanese prose (a space a paragraph) is a cut.
        let paragraph = "東京都は火曜日、新しい予算案を発表した。議会は長い議論の末に承認した。";
        let body: Vec<String> = (0..10).map(|i| format!("{paragraph}{i}")).collect();
        let boxed: Vec<String> = (0..20).map(|i| format!("関連記事{i}はこちら")).collect();
        let stored = format!("<p>{}</p><div>{}</div>", body.join(" "), boxed.join(" "));
        assert!(is_the_article(&body.join(" "), &stored));
        // A byline taken out of every paragraph of Chinese prose is a cut; a
        // Chinese cookie notice in its place is not the article.
        let paragraphs: Vec<String> = (0..8)
            .map(|i| {
                format!(
                    "市政府周二公布了新的预算方案（记者王明报道），议会经过长时间讨论后批准{i}。"
                )
            })
            .collect();
        let stored = format!("<p>{}</p>", paragraphs.join("</p><p>"));
        let cut: Vec<String> = paragraphs
            .iter()
            .map(|p| p.replace("（记者王明报道）", ""))
            .collect();
        assert!(is_cut_from(&cut.join("\n"), &stored));
        // Thai (few letters, spaces between phrases): another article is not it.
        let flood = "น้ำท่วมในจังหวัดเชียงใหม่ ทำให้ประชาชนต้องอพยพ เจ้าหน้าที่เร่งช่วยเหลือผู้ประสบภัย ";
        let economy = "ธนาคารแห่งประเทศไทยคงอัตราดอกเบี้ยนโยบาย นักเศรษฐศาสตร์คาดว่าเศรษฐกิจจะฟื้นตัว ";
        let stored_thai = format!("<p>{}</p>", flood.repeat(8));
        assert!(!is_the_article(&economy.repeat(8), &stored_thai));
        let notice = "我们和我们的合作伙伴使用Cookie在您的设备上存储和访问信息，用于衡量受众和展示个性化内容与广告。";
        assert!(!is_the_article(&notice.repeat(3), &stored));
    }

    #[test]
    fn walls_home_pages_and_documents_are_not_the_article() {
        let link = Url::parse("http://news.test/world/2026/quake-toll-rises").unwrap();
        let html = "text/html; charset=utf-8";
        let page = b"<html><p>The toll rose.</p></html>".as_slice();
        let refused = [
            answer("http://news.test/account/login?next=/world", html, page),
            answer("https://consent.news.test/collect?sessionId=1", html, page),
            answer("http://news.test/subscribe.html", html, page),
            answer("http://news.test/wp-login.php?redirect_to=x", html, page),
            answer("https://www.news.test/signup?next=/world", html, page),
            answer("http://news.test/", html, page),
            answer("https://www.news.test/en/", html, page),
            answer(link.as_str(), "application/pdf", b"%PDF-1.4"),
            answer(link.as_str(), "application/octet-stream", b"\x89PNG\r\n"),
            answer(link.as_str(), "", b"%PDF-1.4"),
        ];
        for fetched in &refused {
            assert!(
                not_an_article(&link, fetched).is_some(),
                "{}",
                fetched.final_url
            );
        }
        let accepted = [
            answer(link.as_str(), html, page),
            answer("https://news.test/world/2026/quake-toll-rises", html, page),
            answer(
                "https://www.news.test/world/2026/quake-toll-rises/",
                html,
                page,
            ),
            answer(
                "http://cdn.news.test/amp/quake-toll-rises",
                "application/xhtml+xml",
                page,
            ),
            answer(link.as_str(), "application/octet-stream", page),
            // A section named like a wall, above the article.
            answer(
                "http://news.test/news/gdpr/regulator-fines-big-tech/",
                html,
                page,
            ),
            // A shortener or link blog pointing at another site's front page.
            answer("https://project.example/", html, page),
        ];
        for fetched in &accepted {
            assert!(
                not_an_article(&link, fetched).is_none(),
                "{}",
                fetched.final_url
            );
        }
    }
}
