//! The page-articles step: a page source's links become articles, fetched and
//! extracted; links already stored are not fetched again.

use tokio::task::JoinSet;

use super::full_text::{article_options, fetch_article, fetch_detail};
use super::Context;
use crate::config::SourceConfig;
use crate::read::RawItem;
use crate::schedule::in_words;
use crate::store::item_key;

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

/// Turns a page source's links into articles: links not stored before are
/// fetched and extracted, at most `max_new`; links whose page fails are left for
/// the next fetch. `items` keeps only the new articles. Returns false when links
/// were left over.
pub async fn fill_page_articles(
    ctx: &Context,
    source_id: i64,
    cfg: &SourceConfig,
    items: &mut Vec<RawItem>,
) -> bool {
    let known = match ctx.store.call(move |s| s.known_keys(source_id)).await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(source = %cfg.name, "cannot read the stored articles: {e}");
            items.clear();
            return false;
        }
    };
    let now = std::time::Instant::now();
    let new_links: Vec<String> = items
        .iter()
        .filter(|i| item_key(i).is_some_and(|k| !known.contains(&k)))
        .filter_map(|i| i.link.clone())
        .collect();
    let (fresh, mut complete) = links_to_fetch(ctx, new_links, cfg.max_new, now);
    let opts = article_options(cfg);
    let mut tasks = JoinSet::new();
    for (i, link) in fresh.into_iter().enumerate() {
        let ctx = ctx.clone();
        let opts = opts.clone();
        tasks.spawn(async move {
            let result = fetch_article(&ctx, &link, opts).await;
            (i, link, result)
        });
    }
    let mut articles = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let Ok((i, link, result)) = done else {
            complete = false;
            continue;
        };
        match result {
            Ok(article) if !article.text.trim().is_empty() => {
                ctx.article_backoff.succeeded(&link);
                articles.push((
                    i,
                    RawItem {
                        link: Some(link),
                        title: article.title,
                        content: Some(article.html).filter(|h| !h.trim().is_empty()),
                        author: article.author,
                        published: article.published,
                        ..RawItem::default()
                    },
                ));
            }
            Ok(_) => {
                let retry_in = in_words(ctx.article_backoff.failed(&link, now));
                tracing::warn!(source = %cfg.name, %link, %retry_in, "no article text on the page");
                complete = false;
            }
            Err(e) if e.is::<super::full_text::HostResting>() => {
                tracing::debug!(source = %cfg.name, %link, "{e}; tried at a later fetch");
                complete = false;
            }
            Err(e) => {
                let retry_in = in_words(ctx.article_backoff.failed(&link, now));
                tracing::warn!(source = %cfg.name, %link, %retry_in, detail = fetch_detail(&e), "article unavailable: {e:#}");
                complete = false;
            }
        }
    }
    articles.sort_by_key(|(i, _)| *i);
    *items = articles.into_iter().map(|(_, item)| item).collect();
    complete
}
