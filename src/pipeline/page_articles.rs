//! The page-articles step: a page source's links become articles, fetched and
//! extracted; links already stored are not fetched again, unless extracted
//! under `content` or `remove` rules edited since.

use std::collections::{HashMap, HashSet};

use tokio::task::JoinSet;

use super::full_text::{
    article_options, fetch_article, fetch_detail, record_refusals, settle_reread, Reread,
    MAX_ARTICLES_PER_FETCH,
};
use super::Context;
use crate::config::SourceConfig;
use crate::extract::Article;
use crate::read::RawItem;
use crate::schedule::in_words;
use crate::store::{item_key, link_key, StoreError, StoredArticle};

/// The new links to fetch now, at most `max_new`, and whether they are all of
/// them. Links whose page failed lately, or whose host rests, wait their turn
/// and take no place in `max_new`; the listing is read again so that they get it.
fn links_to_fetch(
    ctx: &Context,
    new_links: Vec<String>,
    max_new: usize,
    now: std::time::Instant,
) -> (Vec<String>, bool) {
    let all_new = new_links.len();
    let resting = |link: &str| {
        let host = url::Url::parse(link).ok()?.host_str()?.to_string();
        Some(ctx.resting_hosts.waiting(&host, now))
    };
    let mut fresh: Vec<String> = new_links
        .into_iter()
        .filter(|link| !ctx.article_backoff.waiting(link, now))
        .filter(|link| resting(link) != Some(true))
        .collect();
    let complete = fresh.len() == all_new && fresh.len() <= max_new;
    fresh.truncate(max_new);
    (fresh, complete)
}

/// What a page source's fetch made of its links.
#[derive(Debug, Default)]
pub struct PageArticles {
    /// Keys of the articles extracted with the source's settings now (new
    /// ones, and stored ones extracted again or kept as they are).
    pub keys: Vec<String>,
    /// False when links were left over (the listing is read again next time).
    pub complete: bool,
}

/// Turns a page source's links into articles: links not stored before are
/// fetched and extracted, at most `max_new`; links whose page fails are left for
/// the next fetch. Stored articles extracted under earlier `content` or
/// `remove` rules whose links the listing still shows are extracted again (at
/// most 30 a fetch); the stored one stays when the page fails or gives less
/// (a wall). `items` keeps only the articles to store.
pub async fn fill_page_articles(
    ctx: &Context,
    source_id: i64,
    cfg: &SourceConfig,
    items: &mut Vec<RawItem>,
) -> PageArticles {
    let stored = ctx
        .store
        .call(move |s| {
            Ok::<_, StoreError>((s.known_keys(source_id)?, s.full_text_items(source_id)?))
        })
        .await;
    let (known, extracted) = match stored {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(source = %cfg.name, "cannot read the stored articles: {e}");
            items.clear();
            return PageArticles::default();
        }
    };
    let now = std::time::Instant::now();
    let new_links: Vec<String> = items
        .iter()
        .filter(|i| item_key(i).is_some_and(|k| !known.contains(&k)))
        .filter_map(|i| i.link.clone())
        .collect();
    let (fresh, mut complete) = links_to_fetch(ctx, new_links, cfg.max_new, now);
    let stale = stale_articles(items, &known, &extracted);
    let (again, stale_complete) = links_to_fetch(
        ctx,
        stale.keys().cloned().collect(),
        MAX_ARTICLES_PER_FETCH,
        now,
    );
    complete &= stale_complete;
    let links = fresh.into_iter().map(|l| (l, None));
    let links = links.chain(again.into_iter().map(|l| {
        let stored = stale.get(&l).cloned();
        (l, stored)
    }));
    let mut tasks = fetch_pages(ctx, cfg, links);
    let mut out = PageArticles {
        keys: Vec::new(),
        complete,
    };
    let (mut articles, mut refused) = (Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        let Ok((i, link, stored, result)) = done else {
            out.complete = false;
            continue;
        };
        let article = match stored {
            None => settle_new(ctx, cfg, &link, result, now),
            Some(stale) => settle_stale(ctx, cfg, &link, stale, result, now, &mut refused),
        };
        match article {
            Settled::Article(item) => {
                out.keys.extend(item_key(&item));
                articles.push((i, *item));
            }
            Settled::Kept => out.keys.extend(item_key(&link_item(&link))),
            Settled::Later => out.complete = false,
        }
    }
    record_refusals(ctx, cfg, source_id, refused).await;
    articles.sort_by_key(|(i, _)| *i);
    *items = articles.into_iter().map(|(_, item)| item).collect();
    out
}

/// A stored article read again, with its item's key.
type Stale = (StoredArticle, String);

/// Settles a stored article's page read again ([`settle_reread`]); the key
/// of one that answered with a wall goes into `refused`.
fn settle_stale(
    ctx: &Context,
    cfg: &SourceConfig,
    link: &str,
    (stored, key): Stale,
    result: anyhow::Result<Article>,
    now: std::time::Instant,
    refused: &mut Vec<String>,
) -> Settled {
    let stored = (stored.content.as_str(), stored.refused);
    match settle_reread(ctx, cfg, link, stored, result, now) {
        Reread::Take(article) => Settled::Article(Box::new(article_item(link, *article))),
        Reread::Keep => Settled::Kept,
        Reread::Later => Settled::Later,
        Reread::Refused => {
            refused.push(key);
            Settled::Later
        }
    }
}

/// Fetches and extracts the pages of `links` (each with its stored article
/// when it is read again), on tasks of their own: (place in `links`, link,
/// stored article, result).
fn fetch_pages(
    ctx: &Context,
    cfg: &SourceConfig,
    links: impl Iterator<Item = (String, Option<Stale>)>,
) -> JoinSet<(usize, String, Option<Stale>, anyhow::Result<Article>)> {
    let opts = article_options(cfg);
    let mut tasks = JoinSet::new();
    for (i, (link, stored)) in links.enumerate() {
        let ctx = ctx.clone();
        let opts = opts.clone();
        tasks.spawn(async move {
            let result = fetch_article(&ctx, &link, opts).await;
            (i, link, stored, result)
        });
    }
    tasks
}

/// The listing's links whose stored article was extracted under earlier
/// rules, with that article (its text is HTML) and its item's key.
fn stale_articles(
    items: &[RawItem],
    known: &HashSet<String>,
    extracted: &HashMap<String, StoredArticle>,
) -> HashMap<String, Stale> {
    let mut stale = HashMap::new();
    for item in items {
        let (Some(key), Some(link)) = (item_key(item), item.link.as_deref()) else {
            continue;
        };
        let stored = extracted
            .get(&key)
            .or_else(|| extracted.get(&link_key(link)));
        if let Some(article) = stored.filter(|a| a.stale && known.contains(&key)) {
            stale.insert(link.to_string(), (article.clone(), key));
        }
    }
    stale
}

/// A page source's item for `link` before its page is read.
fn link_item(link: &str) -> RawItem {
    RawItem {
        link: Some(link.to_string()),
        ..RawItem::default()
    }
}

/// What became of one article page.
enum Settled {
    /// Its article, to store.
    Article(Box<RawItem>),
    /// Nothing to store; the stored article stands as extracted now.
    Kept,
    /// Nothing now; asked again at a later fetch.
    Later,
}

/// A new link's page: its article, or a failure to try again later.
fn settle_new(
    ctx: &Context,
    cfg: &SourceConfig,
    link: &str,
    result: anyhow::Result<Article>,
    now: std::time::Instant,
) -> Settled {
    match result {
        Ok(article) if !article.text.trim().is_empty() => {
            ctx.article_backoff.succeeded(link);
            Settled::Article(Box::new(article_item(link, article)))
        }
        Ok(_) => {
            let retry_in = in_words(ctx.article_backoff.failed(link, now));
            tracing::warn!(source = %cfg.name, %link, %retry_in, "no article text on the page");
            Settled::Later
        }
        Err(e) if e.is::<super::full_text::HostResting>() => {
            tracing::debug!(source = %cfg.name, %link, "{e}; tried at a later fetch");
            Settled::Later
        }
        Err(e) => {
            let retry_in = in_words(ctx.article_backoff.failed(link, now));
            tracing::warn!(source = %cfg.name, %link, %retry_in, detail = fetch_detail(&e), "article unavailable: {e:#}");
            Settled::Later
        }
    }
}

/// A page source's item made of its link's article.
fn article_item(link: &str, article: Article) -> RawItem {
    RawItem {
        link: Some(link.to_string()),
        title: article.title,
        content: Some(article.html).filter(|h| !h.trim().is_empty()),
        author: article.author,
        published: article.published,
        ..RawItem::default()
    }
}
