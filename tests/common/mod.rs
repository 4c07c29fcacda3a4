//! A fixture web for integration tests: serves `tests/fixtures/seed-story/site` on
//! 127.0.0.1 with `{base}` replaced, and lets a test make any path misbehave.
// examples/offline_demo.rs includes this file for the server alone; the tests use
// every helper, so dead code is reported for them.
#![cfg_attr(not(test), allow(dead_code))]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A body made anew for each request; gets the request's 1-based number for its path.
pub type Generator = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// How the server answers one path.
#[derive(Clone)]
pub enum Behaviour {
    /// The file, with an ETag, answering 304 to a matching If-None-Match.
    Normal,
    /// The file, 200 every time, no validators.
    NoValidators,
    /// This status and a short body.
    Status(u16),
    /// This status with a `Retry-After` of so many seconds.
    RetryAfter(u16, u64),
    /// Headers never come.
    Hang,
    /// 200 with a chunked body of this many bytes (no Content-Length).
    Endless(u64),
    /// Fixed text with this content type.
    Body(&'static str, String),
    /// Any status, headers and bytes.
    Raw {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// A feed generated per request (with `{base}` replaced).
    Dynamic(Generator),
}

#[derive(Clone)]
struct Shared {
    root: PathBuf,
    base: String,
    behaviours: Arc<Mutex<HashMap<String, Behaviour>>>,
    hits: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    posts: Arc<Mutex<Vec<(String, String)>>>,
    streamed: Arc<AtomicU64>,
}

/// The running fixture server.
pub struct FixtureServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    shared: Shared,
}

pub fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-story")
}

impl FixtureServer {
    /// Starts serving the seed-story site.
    pub async fn start() -> FixtureServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            root: fixture_root().join("site"),
            base: base.clone(),
            behaviours: Arc::default(),
            hits: Arc::default(),
            posts: Arc::default(),
            streamed: Arc::default(),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FixtureServer { base, shared }
    }

    /// Makes `path` (e.g. "/wirecopy/feed.rss") answer as `b`.
    pub fn set(&self, path: &str, b: Behaviour) {
        self.shared
            .behaviours
            .lock()
            .unwrap()
            .insert(path.to_string(), b);
    }

    /// Bytes produced so far by `Endless` bodies (what the client pulled, plus buffers).
    pub fn streamed(&self) -> u64 {
        self.shared.streamed.load(Ordering::Relaxed)
    }

    /// Bodies of POST requests to `path` (a fake WebSub hub, for instance).
    pub fn posts(&self, path: &str) -> Vec<String> {
        self.shared
            .posts
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Requests received for `path`, with their headers.
    pub fn hits(&self, path: &str) -> Vec<HeaderMap> {
        self.shared
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }

    /// A config for the fixture web's three feeds (from `feeds.toml.in`, without
    /// its page source), plus `extra` TOML, with database and output inside `dir`.
    pub fn config_text(&self, dir: &Path, extra: &str) -> String {
        let full = self.config_text_with_page(dir, extra);
        match full.find("[[page]]") {
            Some(i) => full[..i].to_string(),
            None => full,
        }
    }

    /// Like [`Self::config_text`], with the PRESS AI WORLD page source too.
    pub fn config_text_with_page(&self, dir: &Path, extra: &str) -> String {
        let template = std::fs::read_to_string(fixture_root().join("feeds.toml.in")).unwrap();
        format!(
            "[output]\ntitle = \"Seed news\"\nlink = \"{base}/\"\ndescription = \"test\"\npath = \"{out}\"\n\n[database]\npath = \"{db}\"\n\n{extra}\n\n{sources}",
            base = self.base,
            out = dir.join("feed.xml").display(),
            db = dir.join("feedsieve.sqlite").display(),
            sources = template.replace("{base}", &self.base),
        )
    }

    /// Writes [`Self::config_text_with_page`] to `dir/feeds.toml` and loads it.
    pub fn config_with_page(&self, dir: &Path, extra: &str) -> feedsieve::config::Config {
        let path = dir.join("feeds.toml");
        std::fs::write(&path, self.config_text_with_page(dir, extra)).unwrap();
        feedsieve::config::Config::load(&path).unwrap()
    }

    /// Writes [`Self::config_text`] to `dir/feeds.toml` and loads it.
    pub fn config(&self, dir: &Path, extra: &str) -> feedsieve::config::Config {
        let path = dir.join("feeds.toml");
        std::fs::write(&path, self.config_text(dir, extra)).unwrap();
        feedsieve::config::Config::load(&path).unwrap()
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("xml") if path.to_string_lossy().contains("atom") => "application/atom+xml",
        Some("rss" | "xml") => "application/rss+xml",
        _ => "text/html; charset=utf-8",
    }
}

async fn handle(State(s): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let request_no = {
        let mut hits = s.hits.lock().unwrap();
        hits.push((path.clone(), req.headers().clone()));
        hits.iter().filter(|(p, _)| *p == path).count()
    };
    if req.method() == axum::http::Method::POST {
        let body = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        s.posts
            .lock()
            .unwrap()
            .push((path, String::from_utf8_lossy(&body).into_owned()));
        return StatusCode::NO_CONTENT.into_response();
    }
    let behaviour = s
        .behaviours
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Behaviour::Normal);
    match behaviour {
        Behaviour::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            format!("status {code}\n"),
        )
            .into_response(),
        Behaviour::RetryAfter(code, secs) => (
            StatusCode::from_u16(code).unwrap(),
            [(header::RETRY_AFTER, secs.to_string())],
            format!("status {code}\n"),
        )
            .into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Behaviour::Endless(total) => endless(&s, total),
        Behaviour::Body(ct, text) => ([(header::CONTENT_TYPE, ct)], text).into_response(),
        Behaviour::Raw {
            status,
            headers,
            body,
        } => {
            let mut resp = Response::builder().status(status);
            for (k, v) in headers {
                resp = resp.header(k, v);
            }
            resp.body(Body::from(body)).unwrap()
        }
        Behaviour::Dynamic(make) => (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            make(request_no).replace("{base}", &s.base),
        )
            .into_response(),
        Behaviour::Normal => serve_file(&s, &path, req.headers(), true),
        Behaviour::NoValidators => serve_file(&s, &path, req.headers(), false),
    }
}

/// `total` bytes of `x`, in chunks made only as the client reads them.
fn endless(s: &Shared, total: u64) -> Response {
    let chunk = vec![b'x'; 64 * 1024];
    let chunks = total.div_ceil(chunk.len() as u64);
    let counter = s.streamed.clone();
    // Lazy: each chunk is made only when the client asks for more.
    let stream = futures_util::stream::iter((0..chunks).map(move |_| {
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(chunk.clone())
    }));
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A file of the site with `{base}` replaced; with `validators`, an ETag, and a
/// 304 when the request's If-None-Match is that ETag.
fn serve_file(s: &Shared, path: &str, request_headers: &HeaderMap, validators: bool) -> Response {
    let rel = path.trim_start_matches('/');
    let file = s.root.join(rel);
    if rel.contains("..") || !file.is_file() {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("{base}", &s.base);
    let ct = content_type(&file);
    if !validators {
        return ([(header::CONTENT_TYPE, ct)], text).into_response();
    }
    let etag = format!(
        "\"{:x}\"",
        text.len() * 31 + text.bytes().map(usize::from).sum::<usize>()
    );
    let matches = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [(header::CONTENT_TYPE, ct.to_string()), (header::ETAG, etag)],
        text,
    )
        .into_response()
}

/// An HTTP client for talking to servers under test.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Titles in the RSS feed served at `url`, or None while it does not answer.
pub async fn served_titles(client: &reqwest::Client, url: &str) -> Option<Vec<String>> {
    let resp = client.get(url).send().await.ok()?;
    if resp.status() != 200 {
        return None;
    }
    let body = resp.bytes().await.ok()?;
    let channel = rss::Channel::read_from(&body[..]).ok()?;
    Some(
        channel
            .items()
            .iter()
            .filter_map(|i| i.title().map(str::to_string))
            .collect(),
    )
}

/// A bare TCP server for misbehaviour below HTTP: runs `serve` on every connection.
pub async fn raw_server<F, Fut>(serve: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let serve = serve.clone();
            tokio::spawn(async move { serve(sock).await });
        }
    });
    base
}

/// A port on 127.0.0.1 that was free a moment ago, for a daemon run as a child
/// process to listen on. Never the same port twice in one process: all integration
/// tests share one, and two daemons restarted on one port would take each other's.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// The feedsieve binary under test, logging only warnings.
#[cfg(test)]
pub fn feedsieve() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_feedsieve"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Runs the binary under test with `--config config` and `args`.
#[cfg(test)]
pub fn feedsieve_with(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    feedsieve()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// Asserts that a command exited 0 (showing its stderr if not); returns its stdout.
pub fn succeeded(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
