//! The daemon as a subscriber meets it: fetches on schedule, serves /feed.xml with
//! validators and 304s, answers /healthz, and stops cleanly when asked.

use crate::common;

use std::time::Duration;

use common::{http_client, FixtureServer};
use feedsieve::daemon::{serve, Shutdown};
use feedsieve::pipeline::Context;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_serves_the_combined_feed_with_validators() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let daemon = tokio::spawn(serve(ctx, listener, shutdown.clone()));
    let client = http_client();
    let feed_url = format!("http://{addr}/feed.xml");

    // The scheduler fetches every source at start; wait until all five items are served.
    let served = first_three_stories(&client, &feed_url).await;
    let (headers, body) = served.expect("the daemon published the three fixture stories");
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let last_modified = headers["last-modified"].to_str().unwrap().to_string();
    // The file on disk is the same document.
    assert_eq!(
        std::fs::read(dir.path().join("feed.xml")).unwrap(),
        body.to_vec()
    );

    check_conditional_gets(&client, &feed_url, &etag, &last_modified).await;

    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["published_items"], 3);

    shutdown.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(10), daemon).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the daemon stops cleanly: {stopped:?}"
    );
    assert!(
        client.get(&feed_url).send().await.is_err(),
        "the port is closed after shutdown"
    );
}

/// The served RSS feed (headers and body) once it holds three stories, polling for
/// up to ten seconds.
async fn first_three_stories(
    client: &reqwest::Client,
    feed_url: &str,
) -> Option<(reqwest::header::HeaderMap, bytes::Bytes)> {
    for _ in 0..100 {
        if let Ok(resp) = client.get(feed_url).send().await {
            if resp.status() == 200 {
                let headers = resp.headers().clone();
                let body = resp.bytes().await.unwrap();
                let channel = rss::Channel::read_from(&body[..]).unwrap();
                if channel.items().len() == 3 {
                    return Some((headers, body));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The feed answers 304 to its own validators and 200 to someone else's.
async fn check_conditional_gets(
    client: &reqwest::Client,
    feed_url: &str,
    etag: &str,
    last_modified: &str,
) {
    let resp = client
        .get(feed_url)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = client
        .get(feed_url)
        .header("If-Modified-Since", last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = client
        .get(feed_url)
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_status_and_metrics_are_served() {
    let web = FixtureServer::start().await;
    web.set("/metro-herald/atom.xml", common::Behaviour::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let daemon = tokio::spawn(serve(ctx, listener, shutdown.clone()));
    let client = http_client();

    // Wait for the first cycle: 4 items from the healthy sources (Metro Herald
    // fails), of which the two Zelenskyy reports are one story: 3 entries.
    let ready = wait_for_entries(&client, addr, 3).await;
    assert!(ready, "the healthy sources are published");

    check_every_format(&client, addr).await;

    // The same stories and ids in every format; the files on disk match.
    check_same_stories_everywhere(&client, addr, &dir).await;

    check_status_page(&client, addr).await;

    check_metrics(&client, addr).await;

    shutdown.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(10), daemon).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}

/// Whether the JSON Feed holds `entries` items within ten seconds.
async fn wait_for_entries(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    entries: usize,
) -> bool {
    let get = |path: &str| client.get(format!("http://{addr}{path}"));
    for _ in 0..100 {
        if let Ok(r) = get("/feed.json").send().await {
            if r.status() == 200 {
                let v: serde_json::Value =
                    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
                if v["items"].as_array().is_some_and(|a| a.len() == entries) {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Every published format: its content type, a 304 for its own ETag, and gzip
/// when asked.
async fn check_every_format(client: &reqwest::Client, addr: std::net::SocketAddr) {
    let get = |path: &str| client.get(format!("http://{addr}{path}"));
    let raw_client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap();
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/feed.xml", "application/xml; charset=utf-8"),
        ("/atom.xml", "application/xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/feed.css", "text/css; charset=utf-8"),
    ] {
        let r = get(path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let r = get(path)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path} answers 304 to its own ETag");
        // Compressed when the client asks (this client does not decompress).
        let r = raw_client
            .get(format!("http://{addr}{path}"))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{path}"
        );
        let body = r.bytes().await.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text)
            .unwrap();
        assert!(!text.is_empty(), "{path}");
    }
}

/// The same stories and ids in every format, and the files on disk match.
async fn check_same_stories_everywhere(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    dir: &tempfile::TempDir,
) {
    let get = |path: &str| client.get(format!("http://{addr}{path}"));
    let rss = get("/feed.xml")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let atom = get("/atom.xml")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let json = get("/feed.json")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let ids = |b: &[u8]| {
        let mut v: Vec<String> = feed_rs::parser::parse(b)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&rss), ids(&atom));
    assert_eq!(ids(&rss), ids(&json));
    assert_eq!(
        std::fs::read(dir.path().join("atom.xml")).unwrap(),
        atom.to_vec()
    );
    assert!(dir.path().join("index.html").exists() && dir.path().join("feed.css").exists());
}

/// The status page has a row per source, with the failing one's error.
async fn check_status_page(client: &reqwest::Client, addr: std::net::SocketAddr) {
    let get = |path: &str| client.get(format!("http://{addr}{path}"));
    let status = get("/status").send().await.unwrap().text_lossy().await;
    let doc = scraper::Html::parse_document(&status);
    let sel = scraper::Selector::parse("tbody tr").unwrap();
    let rows: Vec<String> = doc
        .select(&sel)
        .map(|r| r.text().collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let metro = rows.iter().find(|r| r.contains("Metro Herald")).unwrap();
    assert!(
        metro.contains("error") && metro.contains("HTTP 503"),
        "{metro}"
    );
    let vue = rows.iter().find(|r| r.contains("Vue News")).unwrap();
    assert!(vue.contains("|ok|") && vue.contains("|2|"), "{vue}");
    // Behind a proxy's sub-path (`/news/status`), the links still lead home:
    // every link of the server's own pages is relative.
    let missing = get("/no/such/page").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let missing = missing.text_lossy().await;
    for page in [&status, &missing] {
        let doc = scraper::Html::parse_document(page);
        let links = scraper::Selector::parse("a[href]").unwrap();
        for a in doc.select(&links) {
            let href = a.value().attr("href").unwrap_or_default();
            assert!(!href.starts_with('/'), "{href} in {page}");
        }
    }
    assert!(missing.contains("href=\"../../feed.xml\""), "{missing}");
}

/// The Prometheus metrics count fetches, errors, items and entries per source.
async fn check_metrics(client: &reqwest::Client, addr: std::net::SocketAddr) {
    let get = |path: &str| client.get(format!("http://{addr}{path}"));
    let metrics = get("/metrics").send().await.unwrap().text_lossy().await;
    assert!(
        metrics.contains("feedsieve_fetches_total{source=\"Metro Herald\",result=\"error\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("feedsieve_fetches_total{source=\"Vue News\",result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("feedsieve_source_consecutive_errors{source=\"Metro Herald\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("feedsieve_source_items{source=\"Wire Copy Daily\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("feedsieve_published_entries 3"),
        "{metrics}"
    );
}

trait TextLossy {
    async fn text_lossy(self) -> String;
}

impl TextLossy for reqwest::Response {
    async fn text_lossy(self) -> String {
        String::from_utf8_lossy(&self.bytes().await.unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_answers_with_the_figures_last_read_while_the_store_is_busy() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    let store = ctx.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    tokio::spawn(serve(ctx, listener, shutdown.clone()));
    let client = http_client();
    let mut first = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("http://{addr}/status")).send().await {
            first = Some(r.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!first.expect("the daemon answers").contains("is busy"));
    // A long write holds the store (as the dedup window read back after a
    // start does) until the page has answered: it answers from what it read.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (taken, is_taken) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        store.with(|_| {
            taken.send(()).unwrap();
            let _ = held.recv();
        })
    });
    is_taken.recv().unwrap();
    let busy = client.get(format!("http://{addr}/status")).send().await;
    let metrics = client.get(format!("http://{addr}/metrics")).send().await;
    release.send(()).unwrap();
    holder.join().unwrap();
    let busy = busy
        .expect("answered while the store is held")
        .text()
        .await
        .unwrap();
    assert!(busy.contains("The database is busy"), "{busy}");
    assert!(
        busy.contains("<tbody><tr>"),
        "the sources as last read: {busy}"
    );
    assert_eq!(
        metrics.expect("answered while the store is held").status(),
        200
    );
    shutdown.trigger();
}
