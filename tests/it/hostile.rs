//! Hostile servers: each test runs a cycle over one misbehaving source together
//! with the healthy seed-story feeds, and checks that the healthy ones are
//! published in that cycle, the bad one gets a clear recorded error and a backoff
//! (or, where the input is merely odd, is read sensibly), and memory stays bounded.

use crate::common;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::{raw_server, Behaviour, FixtureServer};
use feedsieve::pipeline::{run_cycle, Context, Outcome, Selection, SourceOutcome};
use feedsieve::store::SourceRecord;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Fetch limits for these tests: short timeout, small body cap, few items.
const LIMITS: &str = "[fetch]\ntimeout = \"2s\"\nconnect_timeout = \"2s\"\nmax_body = \"1 MiB\"\nmax_items_per_feed = 500\n[dedup]\nenabled = false\n";

/// The titles of the healthy seed-story feeds' five items (two share a title).
/// Story dedup is off in these tests: they are about fetching, not clustering.
const HEALTHY_TITLES: [&str; 4] = [
    "City council approves 40 km of protected cycle lanes",
    "Overnight barrage leaves hundreds of thousands without electricity across Ukraine",
    "Russia fires 138 drones and ballistic missiles at Ukraine's power grid",
    "Zelenskyy Willing to Forgo NATO Bid for Security Vue",
];
/// Entries the healthy feeds publish without dedup.
const HEALTHY_ENTRIES: usize = 5;

/// A backoff of at least 5 minutes, less the 10 % jitter.
const MIN_BACKOFF: i64 = 270;

struct Run {
    web: FixtureServer,
    ctx: Context,
    _dir: tempfile::TempDir,
    bad_url: String,
    started: i64,
}

impl Run {
    /// Starts the fixture web and a config with the healthy feeds plus `bad_url`
    /// (a path on the fixture web, or a full URL elsewhere).
    async fn new(bad: &str, setup: impl FnOnce(&FixtureServer)) -> Run {
        Run::with_limits(bad, LIMITS, setup).await
    }

    /// Like [`Run::new`] with other `[fetch]` limits.
    async fn with_limits(bad: &str, limits: &str, setup: impl FnOnce(&FixtureServer)) -> Run {
        let web = FixtureServer::start().await;
        setup(&web);
        let bad_url = if bad.starts_with("http") {
            bad.to_string()
        } else {
            format!("{}{bad}", web.base)
        };
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("{limits}\n[[feed]]\nname = \"Hostile\"\nurl = \"{bad_url}\"\n");
        let ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
        Run {
            web,
            ctx,
            _dir: dir,
            bad_url,
            started: Utc::now().timestamp(),
        }
    }

    /// One cycle; asserts the healthy feeds were published in it.
    async fn cycle(&self) -> SourceOutcome {
        let report = run_cycle(&self.ctx, Selection::All, |_, _, _| {})
            .await
            .unwrap();
        for o in report.outcomes.iter().filter(|o| o.name != "Hostile") {
            assert!(
                !matches!(o.outcome, Outcome::Failed(_)),
                "healthy source {} failed: {:?}",
                o.name,
                o.outcome
            );
        }
        let bytes = std::fs::read(&self.ctx.config.output.path).unwrap();
        let channel = rss::Channel::read_from(&bytes[..]).expect("the published feed is valid");
        let published: Vec<&str> = channel
            .items()
            .iter()
            .filter(|i| i.source().is_some_and(|s| s.title() != Some("Hostile")))
            .filter_map(|i| i.title())
            .collect();
        assert_eq!(published.len(), HEALTHY_ENTRIES, "{published:?}");
        assert_eq!(
            published
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>(),
            HEALTHY_TITLES.into_iter().collect(),
            "the healthy feeds are published"
        );
        report
            .outcomes
            .into_iter()
            .find(|o| o.name == "Hostile")
            .expect("the hostile source was visited")
    }

    fn record(&self) -> SourceRecord {
        self.ctx
            .store
            .with(|s| s.source_by_url(&self.bad_url).unwrap().unwrap())
    }

    /// Titles of the hostile source's published entries.
    fn hostile_titles(&self) -> Vec<String> {
        let bytes = std::fs::read(&self.ctx.config.output.path).unwrap();
        let channel = rss::Channel::read_from(&bytes[..]).unwrap();
        channel
            .items()
            .iter()
            .filter(|i| i.source().and_then(|s| s.title()) == Some("Hostile"))
            .filter_map(|i| i.title().map(str::to_string))
            .collect()
    }

    fn hostile_items(&self) -> i64 {
        let bytes = std::fs::read(&self.ctx.config.output.path).unwrap();
        let channel = rss::Channel::read_from(&bytes[..]).unwrap();
        channel
            .items()
            .iter()
            .filter(|i| i.source().and_then(|s| s.title()) == Some("Hostile"))
            .count() as i64
    }

    /// Asserts the hostile source failed with `needle` in its error and backs off.
    async fn expect_failure(&self, needle: &str, min_delay: i64) -> SourceRecord {
        let outcome = self.cycle().await;
        assert!(
            matches!(&outcome.outcome, Outcome::Failed(e) if e.contains(needle)),
            "expected an error containing {needle:?}, got {:?}",
            outcome.outcome
        );
        let rec = self.record();
        assert_eq!(rec.last_status.as_deref(), Some("error"));
        assert!(rec.last_error.as_deref().unwrap_or("").contains(needle));
        assert_eq!(rec.error_count, 1);
        assert!(
            rec.next_fetch_at >= self.started + min_delay,
            "backs off: due in {}s",
            rec.next_fetch_at - self.started
        );
        assert_eq!(self.hostile_items(), 0);
        rec
    }
}

fn rss_with_items(items: impl IntoIterator<Item = String>) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Hostile</title><link>{base}/</link><description>d</description>",
    );
    for item in items {
        xml.push_str(&item);
    }
    xml.push_str("</channel></rss>");
    xml
}

fn item(guid: &str, title: &str) -> String {
    format!("<item><title>{title}</title><link>{{base}}/h/{guid}.html</link><guid>{guid}</guid><description>About {title}</description></item>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/feed.xml", l.local_addr().unwrap())
    };
    let run = Run::new(&closed, |_| {}).await;
    run.expect_failure("connection refused", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_then_never_answers() {
    let base = hanging_server().await;
    let run = Run::new(&format!("{base}/feed.xml"), |_| {}).await;
    run.expect_failure("timed out", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_then_a_stalled_body() {
    let base = raw_server(|mut sock| async move {
        let mut buf = [0u8; 1024];
        let _ = sock.read(&mut buf).await;
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n<rss version=\"2.0\"><channel>")
            .await;
        // Then a byte every half second, forever (slowloris).
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if sock.write_all(b" ").await.is_err() {
                return;
            }
        }
    })
    .await;
    let run = Run::new(&format!("{base}/feed.xml"), |_| {}).await;
    run.expect_failure("timed out", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_gigabyte_body_is_cut_at_the_cap() {
    let run = Run::new("/h/huge.xml", |w| {
        w.set("/h/huge.xml", Behaviour::Endless(10 * 1024 * 1024 * 1024))
    })
    .await;
    run.expect_failure("larger than the 1048576-byte limit", MIN_BACKOFF)
        .await;
    // The client stopped reading at the cap: the server produced only the cap plus
    // what socket buffers hold, not gigabytes.
    assert!(
        run.web.streamed() < 64 * 1024 * 1024,
        "{} bytes were produced",
        run.web.streamed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_is_cut_after_inflating_to_the_cap() {
    // 200 MiB of zeros, about 200 KiB on the wire.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..200 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024);
    let run = Run::new("/h/bomb.xml", move |w| {
        w.set(
            "/h/bomb.xml",
            Behaviour::Raw {
                status: 200,
                headers: vec![
                    ("content-type", "application/rss+xml".into()),
                    ("content-encoding", "gzip".into()),
                ],
                body: bomb,
            },
        )
    })
    .await;
    run.expect_failure("larger than the 1048576-byte limit", MIN_BACKOFF)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop() {
    let run = Run::new("/h/loop-a", |w| {
        for (from, to) in [("/h/loop-a", "/h/loop-b"), ("/h/loop-b", "/h/loop-a")] {
            w.set(
                from,
                Behaviour::Raw {
                    status: 302,
                    headers: vec![("location", to.into())],
                    body: Vec::new(),
                },
            );
        }
    })
    .await;
    run.expect_failure("redirect", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_redirects() {
    let run = Run::new("/h/r0", |w| {
        for i in 0..10 {
            w.set(
                &format!("/h/r{i}"),
                Behaviour::Raw {
                    status: 301,
                    headers: vec![("location", format!("/h/r{}", i + 1))],
                    body: Vec::new(),
                },
            );
        }
    })
    .await;
    run.expect_failure("more than 5 redirects", MIN_BACKOFF)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_non_http_scheme() {
    let run = Run::new("/h/to-file", |w| {
        w.set(
            "/h/to-file",
            Behaviour::Raw {
                status: 302,
                headers: vec![("location", "file:///etc/passwd".into())],
                body: Vec::new(),
            },
        )
    })
    .await;
    run.expect_failure("non-HTTP", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found() {
    let run = Run::new("/h/missing.xml", |_| {}).await;
    let rec = run.expect_failure("HTTP 404", MIN_BACKOFF).await;
    assert!(
        !rec.gone,
        "a 404 may be temporary: keep trying with backoff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_stops_fetching() {
    let run = Run::new("/h/gone.xml", |w| {
        w.set("/h/gone.xml", Behaviour::Status(410))
    })
    .await;
    let rec = run.expect_failure("HTTP 410", MIN_BACKOFF).await;
    assert!(rec.gone);
    let report = run_cycle(&run.ctx, Selection::All, |_, _, _| {})
        .await
        .unwrap();
    assert!(report.outcomes.iter().all(|o| o.name != "Hostile"));
    assert_eq!(run.web.hits("/h/gone.xml").len(), 1, "never asked again");
    // Named (`fetch --source`), a source that is back is read again, for good.
    run.web.set(
        "/h/gone.xml",
        Behaviour::Body(
            "application/rss+xml",
            rss_with_items([item("back", "Back again")]),
        ),
    );
    run_cycle(&run.ctx, Selection::Url(run.bad_url.clone()), |_, _, _| {})
        .await
        .unwrap();
    assert!(!run.record().gone);
    assert_eq!(run.hostile_titles(), ["Back again"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error() {
    let run = Run::new("/h/500.xml", |w| {
        w.set("/h/500.xml", Behaviour::Status(500))
    })
    .await;
    run.expect_failure("HTTP 500", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_with_retry_after() {
    let run = Run::new("/h/503.xml", |w| {
        w.set("/h/503.xml", Behaviour::RetryAfter(503, 3 * 3600))
    })
    .await;
    run.expect_failure("HTTP 503", 3 * 3600 * 9 / 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_with_retry_after_is_honoured() {
    let run = Run::new("/h/429.xml", |w| {
        w.set("/h/429.xml", Behaviour::RetryAfter(429, 7200))
    })
    .await;
    let rec = run.expect_failure("HTTP 429", 7200 * 9 / 10).await;
    assert!(rec.next_fetch_at <= run.started + 7200 * 11 / 10 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_in_the_middle_of_the_body() {
    let base = raw_server(|mut sock| async move {
        let mut buf = [0u8; 1024];
        let _ = sock.read(&mut buf).await;
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 50000\r\n\r\n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title><item><title>cut")
            .await;
        let _ = sock.flush().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SO_LINGER 0: closing sends a TCP reset instead of a clean FIN (and does
        // not block, which is why tokio deprecates the general case).
        #[allow(deprecated)]
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(sock);
    })
    .await;
    let run = Run::new(&format!("{base}/feed.xml"), |_| {}).await;
    run.expect_failure("body", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_served_as_a_feed() {
    let run = Run::new("/vue-news/zelenskyy-nato.html", |_| {}).await;
    run.expect_failure("HTML page, not a feed", MIN_BACKOFF)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_200() {
    let run = Run::new("/h/empty.xml", |w| {
        w.set(
            "/h/empty.xml",
            Behaviour::Body("application/rss+xml", String::new()),
        )
    })
    .await;
    run.expect_failure("empty", MIN_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_with_the_same_guid_is_one_item() {
    let body = rss_with_items((0..20).map(|i| item("same", &format!("Title {i}"))));
    let run = Run::new("/h/same.xml", move |w| {
        w.set("/h/same.xml", Behaviour::Body("application/rss+xml", body))
    })
    .await;
    let outcome = run.cycle().await;
    assert!(
        matches!(outcome.outcome, Outcome::Stored(s) if s.new == 1 && s.skipped == 19),
        "{:?}",
        outcome.outcome
    );
    assert_eq!(run.hostile_items(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_with_a_hundred_thousand_items_is_capped() {
    let items: Vec<String> = (0..100_000)
        // Dated before the fixture's stories, so those stay among the newest.
        .map(|i| format!("<item><guid>g{i}</guid><title>t{i}</title><pubDate>Mon, 01 Jun 2020 00:00:00 GMT</pubDate></item>"))
        .collect();
    let body = rss_with_items(items);
    let limits = LIMITS.replace("1 MiB", "16 MiB");
    let run = Run::with_limits("/h/many.xml", &limits, move |w| {
        w.set("/h/many.xml", Behaviour::Body("application/rss+xml", body))
    })
    .await;
    let outcome = run.cycle().await;
    assert!(
        matches!(outcome.outcome, Outcome::Stored(s) if s.new == 500),
        "{:?}",
        outcome.outcome
    );
    let (items, stories) = run
        .ctx
        .store
        .with(|s| (s.item_count().unwrap(), s.story_count().unwrap()));
    assert_eq!((items, stories), (505, 505));
    // The published feed holds at most max_items stories.
    let bytes = std::fs::read(&run.ctx.config.output.path).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    assert_eq!(channel.items().len(), run.ctx.config.output.max_items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_charset_declaration_does_not_break_the_source() {
    // Declared ISO-8859-1 (in the XML and in HTTP), actually UTF-8: the reader
    // sees valid UTF-8 and reads the characters right.
    let body = rss_with_items([item("c1", "Café in Kyiv — “quoted”")])
        .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    let run = Run::new("/h/charset.xml", move |w| {
        w.set(
            "/h/charset.xml",
            Behaviour::Raw {
                status: 200,
                headers: vec![(
                    "content-type",
                    "application/rss+xml; charset=iso-8859-1".into(),
                )],
                body: body.into_bytes(),
            },
        )
    })
    .await;
    let outcome = run.cycle().await;
    assert!(
        matches!(outcome.outcome, Outcome::Stored(s) if s.new == 1),
        "{:?}",
        outcome.outcome
    );
    assert_eq!(run.hostile_items(), 1);
    assert_eq!(
        run.hostile_titles(),
        vec!["Café in Kyiv — “quoted”".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_read_as_far_as_it_goes() {
    let mut body = rss_with_items([item("u1", "Bad bytes: X")]).into_bytes();
    let at = body.windows(1).position(|w| w == b"X").unwrap();
    body.splice(at..at + 1, [0xff, 0xfe, 0xc3]);
    let run = Run::new("/h/utf8.xml", move |w| {
        w.set(
            "/h/utf8.xml",
            Behaviour::Raw {
                status: 200,
                headers: vec![("content-type", "application/rss+xml".into())],
                body,
            },
        )
    })
    .await;
    let outcome = run.cycle().await;
    // The bad bytes are replaced; the item and the rest of its title survive.
    assert!(
        matches!(outcome.outcome, Outcome::Stored(s) if s.new == 1),
        "{:?}",
        outcome.outcome
    );
    assert_eq!(run.hostile_items(), 1);
    let titles = run.hostile_titles();
    assert!(titles[0].starts_with("Bad bytes: "), "{titles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_that_changes_on_every_request_is_not_republished_endlessly() {
    // Every response differs (a build date, a request counter, item dates set to
    // "now"), but the items are the same: nothing new is stored or published.
    let make: common::Generator = Arc::new(|n| {
        let now = Utc::now().to_rfc2822();
        let items = (0..3).map(|i| {
            format!("<item><title>Stable {i}</title><link>{{base}}/h/s{i}.html</link><guid>s{i}</guid><pubDate>{now}</pubDate></item>")
        });
        rss_with_items(items).replace(
            "<description>d</description>",
            &format!("<description>d</description><lastBuildDate>{now}</lastBuildDate><!-- request {n} -->"),
        )
    });
    let run = Run::new("/h/changing.xml", move |w| {
        w.set("/h/changing.xml", Behaviour::Dynamic(make))
    })
    .await;
    let first = run.cycle().await;
    assert!(matches!(first.outcome, Outcome::Stored(s) if s.new == 3));
    let out = &run.ctx.config.output.path;
    let before = std::fs::read(out).unwrap();
    for _ in 0..3 {
        let report = run_cycle(&run.ctx, Selection::All, |_, _, _| {})
            .await
            .unwrap();
        let hostile = report
            .outcomes
            .iter()
            .find(|o| o.name == "Hostile")
            .unwrap();
        assert_eq!(hostile.outcome, Outcome::Stored(Default::default()));
        assert!(report.published.is_none(), "nothing to republish");
    }
    assert_eq!(std::fs::read(out).unwrap(), before);
    assert_eq!(run.ctx.store.with(|s| s.item_count().unwrap()), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_conditional_get() {
    // Sends an ETag but answers every request with 200 and the full body. The
    // items are whole (no teasers whose pages would be tried again).
    let whole = |guid: &str, title: &str| {
        item(guid, title).replace(
            &format!("About {title}"),
            &format!(
                "{title}: {}",
                "the whole story, told in the feed itself. ".repeat(5)
            ),
        )
    };
    let body = rss_with_items([whole("i1", "One"), whole("i2", "Two")]);
    let run = Run::new("/h/ignores.xml", move |w| {
        w.set(
            "/h/ignores.xml",
            Behaviour::Raw {
                status: 200,
                headers: vec![
                    ("content-type", "application/rss+xml".into()),
                    ("etag", "\"v1\"".into()),
                ],
                body: body.replace("{base}", "http://h.test").into_bytes(),
            },
        )
    })
    .await;
    let first = run.cycle().await;
    assert!(matches!(first.outcome, Outcome::Stored(s) if s.new == 2));
    let out = &run.ctx.config.output.path;
    let before = std::fs::read(out).unwrap();
    let second = run.cycle().await;
    assert_eq!(
        second.outcome,
        Outcome::Unchanged,
        "same bytes: not parsed again"
    );
    let hits = run.web.hits("/h/ignores.xml");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1]["if-none-match"], "\"v1\"", "validators were sent");
    assert_eq!(std::fs::read(out).unwrap(), before, "nothing rewritten");
    assert_eq!(run.hostile_items(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_when_not_allowed() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "[fetch]\nallow_private = false\n")).unwrap();
    let report = run_cycle(&ctx, Selection::All, |_, _, _| {}).await.unwrap();
    assert_eq!(report.outcomes.len(), 3);
    for o in &report.outcomes {
        assert!(
            matches!(&o.outcome, Outcome::Failed(e) if e.contains("private")),
            "{:?}",
            o.outcome
        );
    }
    assert!(
        web.hits("/vue-news/rss.xml").is_empty(),
        "no request was made"
    );
    // Names that resolve to loopback are refused after resolution, too.
    let port = web.base.rsplit(':').next().unwrap();
    let fetcher = feedsieve::fetch::Fetcher::new(&feedsieve::fetch::FetchConfig {
        allow_private: false,
        ..Default::default()
    })
    .unwrap();
    let url = url::Url::parse(&format!("http://localhost:{port}/vue-news/rss.xml")).unwrap();
    let err = fetcher.fetch(&url, &Default::default()).await.unwrap_err();
    assert!(err.to_string().contains("private"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_serving_while_sources_misbehave() {
    let web = FixtureServer::start().await;
    let hang = hanging_server().await;
    web.set("/h/500.xml", Behaviour::Status(500));
    web.set("/h/huge.xml", Behaviour::Endless(u64::MAX / 2));
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "{LIMITS}\n[[feed]]\nname = \"Broken\"\nurl = \"{b}/h/500.xml\"\n[[feed]]\nname = \"Huge\"\nurl = \"{b}/h/huge.xml\"\n[[feed]]\nname = \"Hang\"\nurl = \"{hang}/feed.xml\"\n",
        b = web.base
    );
    let ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = feedsieve::daemon::Shutdown::new();
    let daemon = tokio::spawn(feedsieve::daemon::serve(ctx, listener, shutdown.clone()));
    let client = common::http_client();
    let mut items = 0;
    for _ in 0..100 {
        if let Ok(resp) = client.get(format!("http://{addr}/feed.xml")).send().await {
            let body = resp.bytes().await.unwrap();
            items = rss::Channel::read_from(&body[..]).map_or(0, |c| c.items().len());
            if items == HEALTHY_ENTRIES {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        items, HEALTHY_ENTRIES,
        "healthy items are served while the hanging fetch is still in flight"
    );
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(!daemon.is_finished());
    shutdown.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(10), daemon).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}

/// A server that reads the request and never answers; its base URL.
async fn hanging_server() -> String {
    raw_server(|mut sock| async move {
        let mut buf = [0u8; 1024];
        let _ = sock.read(&mut buf).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
    .await
}

/// One cycle over two feeds at `hang` (listed first) and the healthy feeds,
/// with `limits`; the sources' names in the order they ended.
async fn two_hanging_feeds_first(hang: &str, limits: &str) -> Vec<String> {
    let web = FixtureServer::start().await;
    let extra = format!(
        "{limits}\n[dedup]\nenabled = false\n\
         [[feed]]\nname = \"Hang 1\"\nurl = \"{hang}/1.xml\"\n[[feed]]\nname = \"Hang 2\"\nurl = \"{hang}/2.xml\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
    let mut finished = Vec::new();
    let report = run_cycle(&ctx, Selection::All, |o, _, _| {
        finished.push(o.name.clone())
    })
    .await
    .unwrap();
    for o in &report.outcomes {
        match &o.outcome {
            Outcome::Failed(e) if o.name.starts_with("Hang") => {
                assert!(e.contains("timed out"), "{e}")
            }
            Outcome::Failed(e) => panic!("healthy source {} failed: {e}", o.name),
            _ => assert!(!o.name.starts_with("Hang"), "{o:?}"),
        }
    }
    finished
}

// One thread (in both tests below): the sources reach the fetch limits in
// their order, hanging ones first.
#[tokio::test]
async fn sources_that_hang_do_not_hold_every_fetch_place() {
    // As many hanging sources as fetches may run at once. A fetch moves to
    // the slow lane after a sixth of the timeout (1 s here).
    let limits = "[fetch]\ntimeout = \"6s\"\n[schedule]\nconcurrency = 2\nper_host = 8";
    let finished = two_hanging_feeds_first(&hanging_server().await, limits).await;
    // The healthy sources were stored while the hanging ones still hung, not
    // after their timeout.
    let (healthy, hanging) = finished.split_at(finished.len() - 2);
    assert_eq!(healthy.len(), 3, "{finished:?}");
    assert!(
        hanging.iter().all(|n| n.starts_with("Hang")),
        "{finished:?}"
    );
}

#[tokio::test]
async fn a_hanging_site_with_several_feeds_does_not_hold_up_other_sites() {
    // Another host name for the hanging site than the healthy feeds' 127.0.0.1.
    let hang = hanging_server().await.replace("127.0.0.1", "localhost");
    let limits = "[fetch]\ntimeout = \"3s\"\n[schedule]\nconcurrency = 1\nper_host = 1";
    let finished = two_hanging_feeds_first(&hang, limits).await;
    // The second hanging feed, waiting for its site, held no place that the
    // other site's feeds needed: they ended before the first timeout.
    let (healthy, hanging) = finished.split_at(finished.len() - 2);
    assert_eq!(healthy.len(), 3, "{finished:?}");
    assert!(
        hanging.iter().all(|n| n.starts_with("Hang")),
        "{finished:?}"
    );
}

/// A body that ends before the document closes (no Content-Length, the
/// connection closed early) is read as far as it goes, but the item it ended
/// in is left out and the server's validators are not kept: the next fetch
/// reads the whole document instead of hearing "304 Not Modified".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_cut_short_keeps_neither_its_cut_item_nor_its_validators() {
    let whole = rss_with_items((0..4).map(|i| item(&format!("g{i}"), &format!("Title {i}"))));
    let cut_at = whole.find("<guid>g3").unwrap() + "<guid>g".len();
    let cut = whole[..cut_at].to_string();
    let run = Run::new("/h/cut.xml", move |w| {
        w.set(
            "/h/cut.xml",
            Behaviour::Raw {
                status: 200,
                headers: vec![
                    ("content-type", "application/rss+xml".into()),
                    ("etag", "\"whole\"".into()),
                ],
                body: cut.into_bytes(),
            },
        )
    })
    .await;
    run.cycle().await;
    assert_eq!(run.hostile_items(), 3, "{:?}", run.hostile_titles());
    assert_eq!(run.record().etag, None);
    run.web.set(
        "/h/cut.xml",
        Behaviour::Body("application/rss+xml", whole.clone()),
    );
    run.cycle().await;
    let mut titles = run.hostile_titles();
    titles.sort();
    assert_eq!(titles, ["Title 0", "Title 1", "Title 2", "Title 3"]);
}

/// A 304 to a request that asked nothing to be compared is an error the
/// status shows, not "unchanged" with nothing stored, for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_modified_to_an_unconditional_request() {
    let run = Run::new("/h/304.xml", |w| {
        w.set("/h/304.xml", Behaviour::Status(304))
    })
    .await;
    run.expect_failure(
        "304 Not Modified to a request without validators",
        MIN_BACKOFF,
    )
    .await;
}
