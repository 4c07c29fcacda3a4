//! The daemon as a subscriber meets it: fetches on schedule, serves /feed.xml with
//! validators and 304s, answers /healthz, and stops cleanly when asked.

mod common;

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
    let mut served = None;
    for _ in 0..100 {
        if let Ok(resp) = client.get(&feed_url).send().await {
            if resp.status() == 200 {
                let headers = resp.headers().clone();
                let body = resp.bytes().await.unwrap();
                let channel = rss::Channel::read_from(&body[..]).unwrap();
                if channel.items().len() == 3 {
                    served = Some((headers, body));
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (headers, body) = served.expect("the daemon published the three fixture stories");
    assert_eq!(
        headers["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let etag = headers["etag"].to_str().unwrap().to_string();
    let last_modified = headers["last-modified"].to_str().unwrap().to_string();
    // The file on disk is the same document.
    assert_eq!(
        std::fs::read(dir.path().join("feed.xml")).unwrap(),
        body.to_vec()
    );

    let resp = client
        .get(&feed_url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = client
        .get(&feed_url)
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = client
        .get(&feed_url)
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

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
