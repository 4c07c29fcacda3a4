//! The first steps of a source: fetch it (conditionally), then read it as a feed
//! or, for a page source, as the list of its article links.

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use super::{secs, Context};
use crate::config::{SourceConfig, SourceKind};
use crate::fetch::{FetchError, Fetched, Validators};
use crate::read::{read_feed_as, RawItem};
use crate::schedule::{
    delay_after_success, parse_retry_after, publisher_hint, retry_delay, with_jitter,
};
use crate::store::{FetchRecord, SourceRecord};
use crate::util::sha256_hex;

/// What fetching and reading one source gave.
#[derive(Debug)]
pub struct FetchedSource {
    /// What to store: unchanged, parsed items, or the failure.
    pub record: FetchRecord,
    /// How long until the source is due again.
    pub next: Duration,
    /// Bytes received.
    pub bytes: u64,
    /// Every cause behind a failure's short message, for the log.
    pub detail: Option<String>,
}

impl FetchedSource {
    /// A failed fetch or read, due again after the backoff for its `failures`.
    fn failed(error: String, failures: i64, retry_after: Option<Duration>, gone: bool) -> Self {
        let n = u32::try_from(failures.max(1)).unwrap_or(u32::MAX);
        FetchedSource {
            record: FetchRecord::Failed { error, gone },
            next: retry_delay(n, retry_after),
            bytes: 0,
            detail: None,
        }
    }

    /// A successful read, due again after the interval as the publisher's hint
    /// lengthens it.
    fn read(record: FetchRecord, interval: Duration, hint: Option<Duration>, bytes: u64) -> Self {
        FetchedSource {
            record,
            next: with_jitter(delay_after_success(interval, hint)),
            bytes,
            detail: None,
        }
    }
}

/// Fetches a source within the global and per-host limits (the permits are
/// released on return) and reads what came back. None when the pipeline
/// stopped before the fetch started or before its grace period let it finish.
pub async fn fetch_and_read(
    ctx: &Context,
    source: &SourceRecord,
    cfg: Option<&SourceConfig>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Option<FetchedSource> {
    let url = match Url::parse(&source.url) {
        Ok(u) => u,
        Err(e) => {
            let error = format!("invalid URL: {e}");
            return Some(FetchedSource::failed(
                error,
                source.error_count + 1,
                None,
                false,
            ));
        }
    };
    let host = url.host_str().unwrap_or("").to_string();
    let validators = Validators {
        etag: source.etag.clone(),
        last_modified: source.last_modified.clone(),
    };
    let fetched = match within_limits(ctx, &host, ctx.fetcher.fetch(&url, &validators)).await {
        Ok(fetched) => fetched,
        Err(Stopped::BeforeStart) => return None,
        Err(Stopped::CutShort) => {
            tracing::warn!(source = %source.name, "fetch cut short: feedsieve is stopping");
            return None;
        }
    };
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            let retry_after = e.retry_after().and_then(|r| parse_retry_after(r, now));
            let gone = matches!(e, FetchError::Status { status: 410, .. });
            let error = e.to_string();
            let failures = source.error_count + 1;
            let failed = FetchedSource::failed(error, failures, retry_after, gone);
            let detail = e.detail().map(str::to_string);
            return Some(FetchedSource { detail, ..failed });
        }
    };
    if fetched.not_modified() && validators.etag.is_none() && validators.last_modified.is_none() {
        // Nothing was asked to compare: taken as "unchanged", a source that
        // answers so would show nothing, without an error, for good.
        let error =
            "HTTP 304 Not Modified to a request without validators (a broken server or cache)";
        return Some(FetchedSource::failed(
            error.to_string(),
            source.error_count + 1,
            None,
            false,
        ));
    }
    let bytes = fetched.body.len() as u64;
    let body_hash = sha256_hex(&fetched.body);
    let unchanged = fetched.not_modified() || source.body_hash.as_deref() == Some(&body_hash);
    if unchanged {
        let stored_ttl = source
            .ttl_seconds
            .and_then(|t| u64::try_from(t).ok())
            .map(Duration::from_secs);
        let hint = publisher_hint(&fetched.headers, stored_ttl, now);
        let record = FetchRecord::Unchanged {
            not_modified: fetched.not_modified(),
            etag: fetched.headers.etag,
            last_modified: fetched.headers.last_modified,
        };
        return Some(FetchedSource::read(record, interval, hint, bytes));
    }
    if source.kind == SourceKind::Page.as_str() {
        let selector = cfg.and_then(|s| s.links.clone());
        return Some(read_page_links(source, fetched, body_hash, selector, interval, now).await);
    }
    Some(read_feed_items(ctx, source, fetched, body_hash, interval, now).await)
}

/// Why [`within_limits`] gave no result: feedsieve began stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stopped {
    /// Before the fetch started: it never did.
    BeforeStart,
    /// While it ran, past the grace period.
    CutShort,
}

/// Runs `fetch` once `host` has a free slot and then the global limit does
/// (always in that order, so no deadlock: a fetch waiting for its busy host
/// holds no global place that other hosts' fetches could use). A fetch still
/// running after [`Context::slow_after`] gives its global place back as soon
/// as the slow lane has room, so a few servers that hang until the timeout
/// never hold every place; at most twice `concurrency` fetches are in flight.
pub(super) async fn within_limits<F: std::future::Future>(
    ctx: &Context,
    host: &str,
    fetch: F,
) -> Result<F::Output, Stopped> {
    let _host = ctx.limits.hosts.acquire(host).await;
    let global = ctx.limits.global.clone().acquire_owned().await.ok();
    // Queued fetches do not start once feedsieve stops; running ones get the
    // grace period.
    if ctx.stop.is_stopping() {
        return Err(Stopped::BeforeStart);
    }
    let run = async {
        tokio::pin!(fetch);
        tokio::select! {
            out = &mut fetch => return out,
            () = tokio::time::sleep(ctx.slow_after()) => {}
        }
        tokio::select! {
            out = &mut fetch => out,
            slow = ctx.limits.slow_lane.clone().acquire_owned() => {
                drop(global);
                let _slow = slow.ok();
                fetch.await
            }
        }
    };
    tokio::select! {
        out = run => Ok(out),
        () = ctx.stop.grace_over() => Err(Stopped::CutShort),
    }
}

/// A page without a feed: its article links, as items to fetch after the
/// permits go.
async fn read_page_links(
    source: &SourceRecord,
    fetched: Fetched,
    body_hash: String,
    selector: Option<String>,
    interval: Duration,
    now: DateTime<Utc>,
) -> FetchedSource {
    let bytes = fetched.body.len() as u64;
    let body = fetched.body.clone();
    let base = fetched.final_url.clone();
    let found = tokio::task::spawn_blocking(move || {
        crate::read::page::find_links(&body, &base, selector.as_deref())
    })
    .await
    .unwrap_or_default();
    if found.links.is_empty() {
        tracing::warn!(source = %source.name, url = %crate::util::http::masked_password(&source.url), "{}", found.summary());
    } else {
        tracing::debug!(source = %source.name, "{}", found.summary());
    }
    let items: Vec<RawItem> = found
        .links
        .into_iter()
        .map(|l| RawItem {
            link: Some(l.url.to_string()),
            ..RawItem::default()
        })
        .collect();
    let hint = publisher_hint(&fetched.headers, None, now);
    let record = FetchRecord::Parsed {
        etag: fetched.headers.etag,
        last_modified: fetched.headers.last_modified,
        body_hash,
        feed_title: None,
        feed_link: None,
        ttl_seconds: None,
        found: items.len(),
        items,
        admitted: Vec::new(),
        hashes: Vec::new(),
    };
    FetchedSource::read(record, interval, hint, bytes)
}

/// A feed: its items, at most `max_items_per_feed`, read on a blocking thread.
async fn read_feed_items(
    ctx: &Context,
    source: &SourceRecord,
    fetched: Fetched,
    body_hash: String,
    interval: Duration,
    now: DateTime<Utc>,
) -> FetchedSource {
    let bytes = fetched.body.len() as u64;
    let final_url = fetched.final_url.clone();
    let body = fetched.body.clone();
    let content_type = fetched.headers.content_type.clone();
    let parsed = ctx
        .text_work(move || read_feed_as(&body, &final_url, content_type.as_deref()))
        .await;
    let feed = match parsed {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => {
            return FetchedSource {
                bytes,
                ..FetchedSource::failed(e.to_string(), source.error_count + 1, None, false)
            }
        }
        Err(e) => {
            let msg = format!("the feed reader crashed: {e}");
            return FetchedSource {
                bytes,
                ..FetchedSource::failed(msg, source.error_count + 1, None, false)
            };
        }
    };
    let hint = publisher_hint(&fetched.headers, feed.ttl, now);
    let mut items = feed.items;
    if items.is_empty() {
        // Logged when the body changed only: an empty feed read again is skipped.
        tracing::warn!(source = %source.name, "the feed lists no items (a broken template, or nothing published yet); what was stored stays");
    }
    let limit = ctx.config.fetch.max_items_per_feed;
    if items.len() > limit {
        tracing::warn!(source = %source.name, items = items.len(), limit, "the feed has more items than max_items_per_feed; keeping the newest {limit}");
        keep_newest(&mut items, limit, now.timestamp());
    }
    // The server's validators name the whole document, not the part that came:
    // kept, they would answer 304 while the items after the cut are still unread.
    let (etag, last_modified) = if feed.cut_short {
        tracing::warn!(source = %source.name, items = items.len(), %bytes, "the feed document ends before its last element closes (cut short?); storing the items that came complete and reading it again in full next time");
        (None, None)
    } else {
        (fetched.headers.etag, fetched.headers.last_modified)
    };
    let record = FetchRecord::Parsed {
        etag,
        last_modified,
        body_hash,
        feed_title: feed.title,
        feed_link: feed.link,
        ttl_seconds: feed.ttl.map(secs),
        found: items.len(),
        items,
        // Judged once full text is in (see the filters step).
        admitted: Vec::new(),
        hashes: Vec::new(),
    };
    FetchedSource::read(record, interval, hint, bytes)
}

/// Keeps the `limit` newest items by their dates, in document order; without
/// dates on most items, the first `limit` (feeds list the newest first).
fn keep_newest(items: &mut Vec<RawItem>, limit: usize, now: i64) {
    // A date far ahead (a wrong clock, "9999") is no date: it would always win.
    let latest = now.saturating_add(crate::store::FUTURE_MARGIN);
    let dates: Vec<Option<i64>> = items
        .iter()
        .map(|i| i.date().map(|d| d.timestamp()).filter(|d| *d <= latest))
        .collect();
    if dates.iter().filter(|d| d.is_some()).count() * 2 <= items.len() {
        items.truncate(limit);
        return;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Newest first; undated items after dated ones; ties by document order.
    order.sort_by_key(|&i| (std::cmp::Reverse(dates[i]), i));
    let mut kept = vec![false; items.len()];
    for &i in order.iter().take(limit) {
        kept[i] = true;
    }
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        kept[index - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::pending;

    /// A context allowing 2 fetches at once overall and 1 per host.
    fn context(dir: &std::path::Path) -> Context {
        let text = format!(
            "[database]\npath = \"{}\"\n[output]\npath = \"{}\"\n[schedule]\nconcurrency = 2\nper_host = 1\n[dedup]\nenabled = false\n",
            dir.join("db.sqlite").display(),
            dir.join("feed.xml").display()
        );
        let config = crate::config::Config::parse(&text, &dir.join("feeds.toml")).unwrap();
        Context::open(config).unwrap()
    }

    /// Starts a fetch from `host` that never ends.
    async fn hang(ctx: &Context, host: &'static str) -> tokio::task::JoinHandle<()> {
        let ctx = ctx.clone();
        let task = tokio::spawn(async move {
            let _ = within_limits(&ctx, host, pending::<()>()).await;
        });
        // Let it take what it can before the next one asks.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        task
    }

    #[test]
    fn a_long_feed_keeps_its_newest_items_whichever_way_it_is_sorted() {
        const NOW: i64 = 1_797_000_000;
        let dated = |day: u32| RawItem {
            title: Some(format!("day {day}")),
            published: chrono::DateTime::from_timestamp(1_796_000_000 + i64::from(day) * 86_400, 0),
            ..RawItem::default()
        };
        let titles = |items: &[RawItem]| -> Vec<String> {
            items.iter().filter_map(|i| i.title.clone()).collect()
        };
        let mut oldest_first: Vec<RawItem> = (1..=6).map(dated).collect();
        keep_newest(&mut oldest_first, 3, NOW);
        assert_eq!(titles(&oldest_first), ["day 4", "day 5", "day 6"]);
        let mut newest_first: Vec<RawItem> = (1..=6).rev().map(dated).collect();
        keep_newest(&mut newest_first, 3, NOW);
        assert_eq!(titles(&newest_first), ["day 6", "day 5", "day 4"]);
        // A date years ahead is no reason to keep an item.
        let mut skewed: Vec<RawItem> = (1..=4).map(dated).collect();
        skewed[0].published = chrono::DateTime::from_timestamp(253_402_300_799, 0);
        keep_newest(&mut skewed, 2, NOW);
        assert_eq!(titles(&skewed), ["day 3", "day 4"]);
        let mut undated: Vec<RawItem> = (1..=6)
            .map(|n| RawItem {
                title: Some(format!("item {n}")),
                ..RawItem::default()
            })
            .collect();
        keep_newest(&mut undated, 2, NOW);
        assert_eq!(titles(&undated), ["item 1", "item 2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_waiting_for_its_busy_host_leaves_its_place_to_other_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let _running = hang(&ctx, "busy.test").await;
        let _waiting = hang(&ctx, "busy.test").await;
        let other = within_limits(&ctx, "other.test", async { "fetched" });
        // Well before the hanging fetch could move to the slow lane.
        let other = tokio::time::timeout(Duration::from_secs(1), other).await;
        assert_eq!(other, Ok(Ok("fetched")));
    }

    #[tokio::test(start_paused = true)]
    async fn hanging_fetches_give_their_places_back_up_to_the_slow_lanes_size() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let slow_after = ctx.slow_after();
        let _first = hang(&ctx, "a.test").await;
        let _second = hang(&ctx, "b.test").await;
        let healthy = || within_limits(&ctx, "healthy.test", async { "fetched" });
        // Both places are taken until the hanging fetches move to the slow lane.
        let early = tokio::time::timeout(slow_after / 2, healthy()).await;
        assert!(early.is_err(), "a third fetch ran beside two hanging ones");
        let later = tokio::time::timeout(slow_after, healthy()).await;
        assert_eq!(later, Ok(Ok("fetched")));
        // The slow lane is full now: two more hanging fetches keep their places.
        let _third = hang(&ctx, "c.test").await;
        let _fourth = hang(&ctx, "d.test").await;
        let blocked = tokio::time::timeout(slow_after * 10, healthy()).await;
        assert!(
            blocked.is_err(),
            "more than twice `concurrency` fetches ran"
        );
    }
}
