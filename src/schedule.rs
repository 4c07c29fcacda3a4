//! When to fetch a source next, in what order due sources start
//! ([`StartQueue`]), and how many fetches may run at once per host.
//!
//! The policy is pure (time in, delay out) so it can be tested without a clock:
//! - after a success: the source interval, lengthened (never shortened) by what the
//!   publisher asks for (`<ttl>`, `Cache-Control: max-age`, `Expires`), with hints
//!   capped at [`MAX_HINT`] so a mis-set header cannot silence a source for weeks;
//! - after a failure: exponential backoff from [`BACKOFF_BASE`] up to [`MAX_BACKOFF`],
//!   and never sooner than a `Retry-After` the server sent;
//! - both with ±10 % jitter, so sources added together do not stay in lock-step;
//! - after a failed store write ([`StoreBackoff`]): the same backoff for that
//!   source, and a pause of every fetch while the machine itself fails (a full
//!   disk), since fetching what cannot be stored only loads the sources.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::util::http::{parse_http_date, ResponseHints};

/// The longest a publisher's caching hint may push the next fetch out.
pub const MAX_HINT: Duration = Duration::from_secs(12 * 3600);
/// The first retry delay after a failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5 * 60);
/// The longest backoff, however many failures in a row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// Due sources waiting to start, handed out with hosts taking turns and at
/// most `cap` started sources per host. A started source waiting for its busy
/// host holds one of the places between fetch and store that every host's
/// sources share: without the cap, a site with many feeds that hangs would
/// hold them all, and the other sites would wait for its timeouts. Sources
/// whose last fetch failed start after every other waiting source: on a
/// restart, healthy sources do not wait behind sources that time out.
#[derive(Debug)]
pub struct StartQueue<T> {
    /// The waiting sources of each host, healthy (`false`) or failing, in the
    /// order they came.
    waiting: HashMap<(bool, String), VecDeque<T>>,
    /// The hosts with waiting sources, in turn: healthy ones, then failing.
    turns: [VecDeque<String>; 2],
    /// Sources handed out and not finished, per host.
    started: HashMap<String, usize>,
    len: usize,
}

impl<T> Default for StartQueue<T> {
    fn default() -> Self {
        StartQueue {
            waiting: HashMap::new(),
            turns: [VecDeque::new(), VecDeque::new()],
            started: HashMap::new(),
            len: 0,
        }
    }
}

impl<T> StartQueue<T> {
    /// Queues `source`, whose URL is `url`; `failing` when its last fetch failed.
    pub fn push(&mut self, url: &str, failing: bool, source: T) {
        let host = host_of(url);
        let queue = self.waiting.entry((failing, host.clone())).or_default();
        if queue.is_empty() {
            self.turns[usize::from(failing)].push_back(host);
        }
        queue.push_back(source);
        self.len += 1;
    }

    /// The next source to start, with its host: the first healthy one in turn
    /// whose host has fewer than `cap` started, else the first failing one.
    /// None when none waits, or every host with waiting sources is at its cap.
    pub fn next(&mut self, cap: usize) -> Option<(String, T)> {
        for failing in [false, true] {
            if let Some(next) = self.next_of(failing, cap.max(1)) {
                return Some(next);
            }
        }
        None
    }

    /// The next source of the healthy or the failing turns.
    fn next_of(&mut self, failing: bool, cap: usize) -> Option<(String, T)> {
        let turns = &mut self.turns[usize::from(failing)];
        for _ in 0..turns.len() {
            let host = turns.pop_front()?;
            if self.started.get(&host).copied().unwrap_or(0) >= cap {
                turns.push_back(host);
                continue;
            }
            let key = (failing, host);
            let Some(queue) = self.waiting.get_mut(&key) else {
                continue;
            };
            let Some(source) = queue.pop_front() else {
                continue;
            };
            if queue.is_empty() {
                self.waiting.remove(&key);
            } else {
                turns.push_back(key.1.clone());
            }
            let (_, host) = key;
            *self.started.entry(host.clone()).or_default() += 1;
            self.len -= 1;
            return Some((host, source));
        }
        None
    }

    /// A source of `host` that [`StartQueue::next`] handed out has ended.
    pub fn finished(&mut self, host: &str) {
        if let Some(n) = self.started.get_mut(host) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.started.remove(host);
            }
        }
    }

    /// Sources waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no source waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The host of `url` in lower case, as [`HostSlots`] counts it; the whole
/// string when it does not parse (such a source fails at once).
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_else(|| url.to_string())
}

/// `max-age` from a `Cache-Control` header.
pub fn cache_max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        if k.trim().eq_ignore_ascii_case("max-age") {
            v.trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
        } else {
            None
        }
    })
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long the publisher asks us to wait, from the feed's `<ttl>` and the headers.
pub fn publisher_hint(
    hints: &ResponseHints,
    ttl: Option<Duration>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let max_age = hints.cache_control.as_deref().and_then(cache_max_age);
    let expires = hints.expires.as_deref().and_then(|e| {
        let at = parse_http_date(e)?;
        // Judge Expires against the server's own clock when it sent one.
        let server_now = hints
            .date
            .as_deref()
            .and_then(parse_http_date)
            .unwrap_or(now);
        (at - server_now).to_std().ok()
    });
    // max-age takes precedence over Expires (RFC 9111 §5.3).
    [ttl, max_age.or(expires)].into_iter().flatten().max()
}

/// Delay until the next fetch after a successful one.
pub fn delay_after_success(interval: Duration, hint: Option<Duration>) -> Duration {
    match hint {
        Some(h) => interval.max(h.min(MAX_HINT)),
        None => interval,
    }
}

/// Delay until the retry after the `failures`-th failure in a row (1-based).
pub fn delay_after_failure(failures: u32, retry_after: Option<Duration>) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let backoff = BACKOFF_BASE.saturating_mul(1u32 << exp).min(MAX_BACKOFF);
    match retry_after {
        Some(r) => backoff.max(r.min(MAX_BACKOFF)),
        None => backoff,
    }
}

/// [`delay_after_failure`] spread by [`with_jitter`], but never sooner than
/// the server's `Retry-After` nor later than [`MAX_BACKOFF`]: the jitter
/// spreads the backoff, not the wait a server asked for.
pub fn retry_delay(failures: u32, retry_after: Option<Duration>) -> Duration {
    let backoff = with_jitter(delay_after_failure(failures, None)).min(MAX_BACKOFF);
    match retry_after {
        Some(r) => backoff.max(r.min(MAX_BACKOFF)),
        None => backoff,
    }
}

/// The first pause of every fetch after the database could not be written at all.
pub const STORE_PAUSE_BASE: Duration = Duration::from_secs(60);
/// The longest such pause; one fetch then tries the database again.
pub const MAX_STORE_PAUSE: Duration = Duration::from_secs(30 * 60);

/// Failed article links remembered at most, over all page sources; past it,
/// those whose wait is over are forgotten first (a link gone from its listing
/// is never asked about again).
const MAX_ARTICLE_BACKOFFS: usize = 10_000;

/// Backoff for article pages that failed (too large, timed out, no text), kept
/// in memory: a page source leaves such a link for the next fetch, and
/// without it every cycle downloaded the same doomed pages again. Keyed by
/// link, or by host for the hosts that leave article pages unanswered.
#[derive(Debug, Default)]
pub struct ArticleBackoff(Mutex<HashMap<String, (u32, Instant)>>);

impl ArticleBackoff {
    fn links(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while `link` waits after a failure.
    pub fn waiting(&self, link: &str, now: Instant) -> bool {
        self.links()
            .get(link)
            .is_some_and(|(_, until)| *until > now)
    }

    /// Records a failure of `link`; returns how long it now waits (the
    /// backoff of a failed source: 5 min, doubling, at most a day). Failures
    /// while it already waits (pages of one host that failed together) are
    /// one: the wait is not doubled again.
    pub fn failed(&self, link: &str, now: Instant) -> Duration {
        let mut links = self.links();
        if let Some((_, until)) = links.get(link).filter(|(_, until)| *until > now) {
            return *until - now;
        }
        if links.len() >= MAX_ARTICLE_BACKOFFS && !links.contains_key(link) {
            links.retain(|_, (_, until)| *until > now);
            if links.len() >= MAX_ARTICLE_BACKOFFS {
                links.clear();
            }
        }
        let failures = links.get(link).map_or(0, |f| f.0) + 1;
        let wait = retry_delay(failures, None);
        links.insert(link.to_string(), (failures, now + wait));
        wait
    }

    /// Failures of `link` in a row, as [`ArticleBackoff::failed`] counted them.
    pub fn failures(&self, link: &str) -> u32 {
        self.links().get(link).map_or(0, |f| f.0)
    }

    /// `link` worked: it is forgotten.
    pub fn succeeded(&self, link: &str) {
        self.links().remove(link);
    }
}

/// Backoff after failed store writes, kept in memory (a full disk cannot record
/// it): per source, and for every source while the machine fails.
#[derive(Debug, Default)]
pub struct StoreBackoff(Mutex<StoreBackoffState>);

#[derive(Debug, Default)]
struct StoreBackoffState {
    /// Source id → (failures in a row, not before).
    sources: HashMap<i64, (u32, Instant)>,
    /// (failures in a row, not before) for every source.
    all: Option<(u32, Instant)>,
}

impl StoreBackoff {
    fn state(&self) -> std::sync::MutexGuard<'_, StoreBackoffState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a failed store write of `source`; `machine` when every write
    /// would fail alike (disk full). Returns how long the source waits.
    pub fn failed(&self, source: i64, machine: bool, now: Instant) -> Duration {
        let mut s = self.state();
        let failures = s.sources.get(&source).map_or(0, |f| f.0) + 1;
        let mut wait = retry_delay(failures, None);
        if machine {
            wait = match s.all {
                // Several fetches fail together when the disk fills: one pause.
                Some((_, until)) if until > now => until - now,
                previous => {
                    let n = previous.map_or(0, |a| a.0) + 1;
                    let exp = n.saturating_sub(1).min(20);
                    let pause = STORE_PAUSE_BASE
                        .saturating_mul(1 << exp)
                        .min(MAX_STORE_PAUSE);
                    s.all = Some((n, now + pause));
                    pause
                }
            };
        }
        s.sources.insert(source, (failures, now + wait));
        wait
    }

    /// A store write of `source` succeeded: the database takes writes again.
    pub fn succeeded(&self, source: i64) {
        let mut s = self.state();
        s.sources.remove(&source);
        s.all = None;
    }

    /// How long every fetch still pauses, if it does.
    pub fn paused_for(&self, now: Instant) -> Option<Duration> {
        let until = self.state().all?.1;
        (until > now).then(|| until - now)
    }

    /// How long `source` still waits after its failed store, if it does.
    pub fn source_waits_for(&self, source: i64, now: Instant) -> Option<Duration> {
        let until = self.state().sources.get(&source)?.1;
        (until > now).then(|| until - now)
    }
}

/// A wait in words to whole seconds ("4m 33s"), for the log.
pub fn in_words(wait: Duration) -> String {
    humantime::format_duration(Duration::from_secs(wait.as_secs())).to_string()
}

/// Spreads a delay by ±10 %.
pub fn with_jitter(delay: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    delay.mul_f64(factor)
}

/// Per-host fetch slots: at most `per_host` requests in flight to one host, of
/// which article pages take at most half.
#[derive(Clone)]
pub struct HostSlots {
    per_host: usize,
    slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    page_slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl HostSlots {
    /// Slots allowing `per_host` concurrent fetches per host.
    pub fn new(per_host: usize) -> Self {
        HostSlots {
            per_host: per_host.max(1),
            slots: Arc::default(),
            page_slots: Arc::default(),
        }
    }

    /// Waits for a slot for `host`; the slot is freed when the permit drops.
    pub async fn acquire(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let sem = Self::semaphore(&self.slots, host, self.per_host);
        sem.acquire_owned().await.ok()
    }

    /// Waits for an article page's share of `host` (take [`HostSlots::acquire`]
    /// after it): pages take at most half the host's slots, so one source's
    /// hanging pages never hold every slot that the feeds of that host need.
    pub async fn acquire_page_share(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let sem = Self::semaphore(&self.page_slots, host, (self.per_host / 2).max(1));
        sem.acquire_owned().await.ok()
    }

    /// The semaphore of `host` in `map`, made with `permits` on first use.
    fn semaphore(
        map: &Mutex<HashMap<String, Arc<Semaphore>>>,
        host: &str,
        permits: usize,
    ) -> Arc<Semaphore> {
        let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(host.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(permits)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn article_pages_leave_a_host_half_its_slots() {
        let slots = HostSlots::new(4);
        let wait = std::time::Duration::from_millis(50);
        let mut held = Vec::new();
        // Two pages hang, each with its share and a slot of the host.
        for _ in 0..2 {
            held.push(slots.acquire_page_share("news.test").await);
            held.push(slots.acquire("news.test").await);
        }
        let third = tokio::time::timeout(wait, slots.acquire_page_share("NEWS.test")).await;
        assert!(third.is_err(), "a third page of the host started");
        // The host's feeds still get its other two slots; other hosts their own.
        for _ in 0..2 {
            let feed = tokio::time::timeout(wait, slots.acquire("news.test")).await;
            held.push(feed.expect("a feed of the host waits behind its pages"));
        }
        let other = tokio::time::timeout(wait, slots.acquire_page_share("other.test")).await;
        assert!(other.is_ok());
    }

    #[test]
    fn failing_sources_start_after_every_healthy_one() {
        let due = [
            ("https://big.test/a", false),
            ("https://big.test/b", false),
            ("https://BIG.test/c", false),
            ("https://down.test/feed", true),
            ("https://small.test/feed", false),
            ("https://big.test/d", true),
            ("https://other.test/feed", false),
        ];
        let mut queue = StartQueue::default();
        for (url, failing) in due {
            queue.push(url, failing, url);
        }
        let order: Vec<&str> = std::iter::from_fn(|| queue.next(8).map(|(_, s)| s)).collect();
        assert_eq!(
            order,
            [
                "https://big.test/a",
                "https://small.test/feed",
                "https://other.test/feed",
                "https://big.test/b",
                "https://BIG.test/c",
                "https://down.test/feed",
                "https://big.test/d",
            ]
        );
    }

    #[test]
    fn no_host_has_more_than_its_cap_started_and_hosts_take_turns() {
        let mut queue = StartQueue::default();
        for n in 0..5 {
            queue.push(
                &format!("https://busy.test/{n}"),
                false,
                format!("busy {n}"),
            );
        }
        queue.push("https://quiet.test/feed", false, "quiet".to_string());
        queue.push("https://BUSY.test/late", false, "busy late".to_string());
        let mut started = Vec::new();
        while let Some((_, source)) = queue.next(2) {
            started.push(source);
        }
        assert_eq!(started, ["busy 0", "quiet", "busy 1"]);
        assert_eq!(queue.len(), 4, "busy.test is at its cap");
        // A source arriving later for another host starts at once.
        queue.push("https://other.test/feed", false, "other".to_string());
        assert_eq!(queue.next(2).map(|(_, s)| s).as_deref(), Some("other"));
        assert!(queue.next(2).is_none());
        queue.finished("busy.test");
        assert_eq!(queue.next(2), Some(("busy.test".into(), "busy 2".into())));
        queue.finished("busy.test");
        queue.finished("busy.test");
        let rest: Vec<String> = std::iter::from_fn(|| queue.next(2).map(|(_, s)| s)).collect();
        assert_eq!(rest, ["busy 3", "busy 4"]);
        assert!(queue.next(2).is_none() && !queue.is_empty());
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-12-15T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn hints_lengthen_but_never_shorten_the_interval() {
        let thirty = Duration::from_secs(1800);
        assert_eq!(delay_after_success(thirty, None), thirty);
        assert_eq!(
            delay_after_success(thirty, Some(Duration::from_secs(60))),
            thirty
        );
        assert_eq!(
            delay_after_success(thirty, Some(Duration::from_secs(7200))),
            Duration::from_secs(7200)
        );
        // A year-long max-age is capped.
        assert_eq!(
            delay_after_success(thirty, Some(Duration::from_secs(31_536_000))),
            MAX_HINT
        );
    }

    #[test]
    fn publisher_hint_reads_ttl_max_age_and_expires() {
        let mut h = ResponseHints::default();
        assert_eq!(publisher_hint(&h, None, now()), None);
        assert_eq!(
            publisher_hint(&h, Some(Duration::from_secs(3600)), now()),
            Some(Duration::from_secs(3600))
        );
        h.cache_control = Some("public, max-age=7200".into());
        h.expires = Some("Mon, 15 Dec 2025 10:30:00 GMT".into());
        assert_eq!(
            publisher_hint(&h, None, now()),
            Some(Duration::from_secs(7200))
        );
        h.cache_control = None;
        assert_eq!(
            publisher_hint(&h, None, now()),
            Some(Duration::from_secs(1800))
        );
        // Expires is read against the server's Date when present.
        h.date = Some("Mon, 15 Dec 2025 10:20:00 GMT".into());
        assert_eq!(
            publisher_hint(&h, None, now()),
            Some(Duration::from_secs(600))
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_day_and_honours_retry_after() {
        assert_eq!(delay_after_failure(1, None), Duration::from_secs(300));
        assert_eq!(delay_after_failure(2, None), Duration::from_secs(600));
        assert_eq!(delay_after_failure(4, None), Duration::from_secs(2400));
        assert_eq!(delay_after_failure(40, None), MAX_BACKOFF);
        assert_eq!(
            delay_after_failure(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(3600)
        );
        assert_eq!(
            delay_after_failure(1, Some(Duration::from_secs(10 * 86400))),
            MAX_BACKOFF
        );
    }

    #[test]
    fn a_failing_article_link_waits_longer_each_time_until_it_works() {
        let b = ArticleBackoff::default();
        let now = Instant::now();
        let link = "https://news.test/huge.html";
        assert!(!b.waiting(link, now));
        let first = b.failed(link, now);
        assert!(b.waiting(link, now + first / 2));
        assert!(!b.waiting(link, now + first + Duration::from_secs(1)));
        let second = b.failed(link, now + first);
        assert!(second > first, "{second:?} after {first:?}");
        assert!(!b.waiting("https://news.test/other.html", now));
        b.succeeded(link);
        assert!(!b.waiting(link, now + first));
        // Failures while it already waits (a host's pages failing together)
        // are one: the wait is not doubled again.
        let host = "slow.test";
        let wait = b.failed(host, now);
        assert!(b.failed(host, now + Duration::from_secs(1)) < wait);
        assert!(!b.waiting(host, now + wait + Duration::from_secs(1)));
    }

    #[test]
    fn a_retry_never_comes_before_retry_after_nor_after_a_day() {
        for _ in 0..200 {
            let wait = retry_delay(1, Some(Duration::from_secs(900)));
            assert!(wait >= Duration::from_secs(900), "{wait:?}");
            assert!(retry_delay(40, None) <= MAX_BACKOFF);
            assert!(retry_delay(1, Some(10 * MAX_BACKOFF)) == MAX_BACKOFF);
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 15 Dec 2025 11:00:00 GMT", now()),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn failed_stores_back_off_per_source_and_a_full_disk_pauses_everything() {
        let b = StoreBackoff::default();
        let t0 = Instant::now();
        let wait = b.failed(1, false, t0);
        assert!(wait >= Duration::from_secs(270), "{wait:?}");
        assert!(b.source_waits_for(1, t0).is_some());
        assert_eq!(b.source_waits_for(2, t0), None);
        assert_eq!(
            b.paused_for(t0),
            None,
            "one source's failure pauses only it"
        );
        // A full disk: every source pauses, and the pause doubles per round.
        assert_eq!(b.failed(2, true, t0), STORE_PAUSE_BASE);
        assert_eq!(b.failed(3, true, t0), STORE_PAUSE_BASE, "same round");
        assert_eq!(b.paused_for(t0), Some(STORE_PAUSE_BASE));
        let later = t0 + STORE_PAUSE_BASE;
        assert_eq!(b.paused_for(later), None);
        assert_eq!(b.failed(2, true, later), 2 * STORE_PAUSE_BASE);
        let mut now = later;
        for _ in 0..30 {
            now += Duration::from_secs(86400);
            assert!(b.failed(2, true, now) <= MAX_STORE_PAUSE);
        }
        assert_eq!(b.paused_for(now), Some(MAX_STORE_PAUSE));
        b.succeeded(2);
        assert_eq!(b.paused_for(t0), None);
        assert_eq!(b.source_waits_for(2, t0), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(1000)).as_secs_f64();
            assert!((900.0..=1100.0).contains(&d), "{d}");
        }
    }
}
