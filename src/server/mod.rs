//! The daemon's HTTP server: the front page, the story pages and the feeds (each with ETag,
//! Last-Modified and 304 answers, gzip when asked), the status page, Prometheus
//! metrics, and health: `/healthz` (liveness: always 200, with `"status"` ok or
//! degraded and the problems) and `/readyz` (503 while anything is wrong).

use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use tower_http::compression::CompressionLayer;

use crate::health::{Health, HealthReport};
use crate::metrics::{Metrics, StoredGauges};
use crate::publish::{Publication, PublishedFeed, FEED_CSS};
use crate::store::SharedStore;
use crate::util::escape;
use crate::util::http::{format_http_date, parse_http_date};

mod connections;

pub use connections::{serve_http, HttpLimits};

/// What the server shows; the daemon swaps in a new publication after each publish.
#[derive(Clone)]
pub struct ServerState {
    publication: Arc<RwLock<Option<Publication>>>,
    started: DateTime<Utc>,
    store: Option<SharedStore>,
    metrics: Arc<Metrics>,
    title: Arc<str>,
    health: Arc<Health>,
    /// The gauges last read from the store, with when: served while the
    /// store is busy for long (the dedup window read back after a start).
    last_gauges: Arc<std::sync::Mutex<Option<GaugesRead>>>,
}

/// Gauges read from the store, and when.
type GaugesRead = (DateTime<Utc>, StoredGauges);

/// How long `/status` and `/metrics` wait for a busy store before they show
/// the figures last read.
const BUSY_STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl ServerState {
    /// A state with nothing published yet; `store` feeds `/status` and `/metrics`.
    pub fn new(store: Option<SharedStore>, metrics: Arc<Metrics>, title: &str) -> Self {
        ServerState {
            publication: Arc::default(),
            started: Utc::now(),
            store,
            metrics,
            title: title.into(),
            health: Arc::default(),
            last_gauges: Arc::default(),
        }
    }

    /// The same state, reporting `health` (the daemon's) in `/healthz`,
    /// `/readyz` and `/status`.
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = health;
        self
    }

    /// Reads the gauges from the store now, so that `/status` and
    /// `/metrics` have figures to show while the store is busy later.
    pub async fn read_gauges(&self) {
        if let Err(e) = gauges(self).await {
            tracing::debug!(status = %e.status(), "could not read the status figures");
        }
    }

    /// Replaces the served documents.
    pub fn set_publication(&self, publication: Publication) {
        let mut guard = self.publication.write().unwrap_or_else(|e| e.into_inner());
        *guard = Some(publication);
    }

    fn publication(&self) -> Option<Publication> {
        self.publication
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The routes.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/feed.xml", get(rss))
        .route("/atom.xml", get(atom))
        .route("/feed.json", get(json))
        .route("/feed.css", get(css))
        .route("/story/{id}", get(story))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(CompressionLayer::new().gzip(true))
        .with_state(state)
}

/// Any other path: a page that says where the feeds are, not an empty 404. Its
/// links are relative, so they also lead home behind a proxy's sub-path.
async fn not_found(uri: axum::http::Uri) -> Response {
    let depth = uri.path().matches('/').count().saturating_sub(1);
    let home = if depth == 0 {
        "./".to_string()
    } else {
        "../".repeat(depth)
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>\
         <body><p>Nothing here. The stories are on the <a href=\"{home}\">front page</a>; the feeds are \
         <a href=\"{home}feed.xml\">feed.xml</a> (RSS), <a href=\"{home}atom.xml\">atom.xml</a> and \
         <a href=\"{home}feed.json\">feed.json</a>.</p></body></html>\n"
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    if_none_match.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == bare
    })
}

/// Answers with `doc`, or 304 when the request's validators match it.
fn conditional(doc: &PublishedFeed, headers: &HeaderMap) -> Response {
    let last_modified = DateTime::from_timestamp(doc.last_modified, 0).unwrap_or_default();
    // If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.2.2).
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => etag_matches(inm, &doc.etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| doc.last_modified > 0 && last_modified <= since),
    };
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&doc.etag) {
        out.insert(header::ETAG, v);
    }
    if doc.last_modified > 0 {
        if let Ok(v) = HeaderValue::from_str(&format_http_date(last_modified)) {
            out.insert(header::LAST_MODIFIED, v);
        }
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    (StatusCode::OK, out, doc.body.clone()).into_response()
}

fn serve_doc(
    state: &ServerState,
    headers: &HeaderMap,
    pick: impl Fn(&Publication) -> &PublishedFeed,
) -> Response {
    match state.publication() {
        Some(p) => conditional(pick(&p), headers),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
            "nothing has been published yet\n",
        )
            .into_response(),
    }
}

async fn index(State(s): State<ServerState>, h: HeaderMap) -> Response {
    serve_doc(&s, &h, |p| &p.html)
}

async fn rss(State(s): State<ServerState>, h: HeaderMap) -> Response {
    serve_doc(&s, &h, |p| &p.rss)
}

async fn atom(State(s): State<ServerState>, h: HeaderMap) -> Response {
    serve_doc(&s, &h, |p| &p.atom)
}

async fn json(State(s): State<ServerState>, h: HeaderMap) -> Response {
    serve_doc(&s, &h, |p| &p.json)
}

/// A story's page (`/story/<id>`, or `/story/<id>.html` as the static files
/// are named); a merged story's page redirects to its heir's; 404 for a
/// story not in the feed.
async fn story(
    State(s): State<ServerState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    h: HeaderMap,
) -> Response {
    let Some(p) = s.publication() else {
        return serve_doc(&s, &h, |p| &p.html);
    };
    if let Some(moved) = p.stories.moved_to(&id) {
        if moved.article_changed {
            // Its article changed and joined another story: said, and linked.
            return (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                moved.page(),
            )
                .into_response();
        }
        // A merged story's page: on to the story that took it over (relative,
        // as the static files link; `.html` kept when it was asked for).
        let suffix = if id.ends_with(".html") { ".html" } else { "" };
        return (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, format!("{}{suffix}", moved.to))],
        )
            .into_response();
    }
    match p.stories.get(&id) {
        Some(doc) => conditional(doc, &h),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>No such story</title></head>\
             <body><p>This story is not in the feed (any more). <a href=\"../\">Front page</a></p></body></html>\n",
        )
            .into_response(),
    }
}

async fn css(h: HeaderMap) -> Response {
    let doc = PublishedFeed::new(
        FEED_CSS.as_bytes().to_vec(),
        0,
        0,
        "text/css; charset=utf-8",
    );
    conditional(&doc, &h)
}

/// The gauges from the store, and when they were read: now, or, while the
/// store is busy for more than [`BUSY_STORE_WAIT`] (a long write, such as the
/// dedup window read back after a start), as last read.
async fn gauges(state: &ServerState) -> Result<(StoredGauges, Option<DateTime<Utc>>), Response> {
    let published = state.publication().map_or(0, |p| p.rss.items);
    let Some(store) = state.store.clone() else {
        let g = StoredGauges {
            published,
            ..Default::default()
        };
        return Ok((g, None));
    };
    let last = state.last_gauges.clone();
    let mut read = tokio::spawn(async move {
        let g = store
            .call(move |s| {
                Ok(StoredGauges {
                    sources: s.source_stats()?,
                    stories: s.story_count()?,
                    published,
                })
            })
            .await?;
        *last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Utc::now(), g.clone()));
        Ok(g)
    });
    let done = match tokio::time::timeout(BUSY_STORE_WAIT, &mut read).await {
        Ok(done) => done,
        Err(_) => {
            let kept = (state.last_gauges.lock())
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some((at, g)) = kept {
                let g = StoredGauges { published, ..g };
                return Ok((g, Some(at)));
            }
            read.await
        }
    };
    let done: Result<StoredGauges, crate::store::StoreError> =
        done.unwrap_or_else(|e| Err(crate::store::StoreError::Task(e.to_string())));
    done.map(|g| (g, None)).map_err(|e| {
        tracing::error!("reading the database for a status request: {e}");
        (StatusCode::INTERNAL_SERVER_ERROR, "database error\n").into_response()
    })
}

async fn metrics(State(s): State<ServerState>) -> Response {
    match gauges(&s).await {
        Ok((g, _)) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            s.metrics.render(&g),
        )
            .into_response(),
        Err(resp) => resp,
    }
}

/// The status page's styles: a visually hidden caption for screen readers,
/// and error cells cut to one line (the full text is their tooltip).
const STATUS_CSS: &str = ":root{color-scheme:light dark;font:15px/1.45 system-ui,sans-serif}body{margin:1.5rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid rgba(127,127,127,.3);vertical-align:top}\
td.msg{max-width:28rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.error{color:#c5221f}.warning{color:#b06000}.ok{color:#188038}\
@media (prefers-color-scheme:dark){.error{color:#f28b82}.warning{color:#fdd663}.ok{color:#81c995}}";

/// How long the daemon has run, in words: "3 h 12 min", "2 d 4 h", "45 s".
fn uptime(started: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - started).num_seconds().max(0);
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// "up 3 h 12 min, since 04:37 UTC" (with the date when it was not today).
fn up_since(started: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let since = if started.date_naive() == now.date_naive() {
        started.format("%H:%M UTC")
    } else {
        started.format("%Y-%m-%d %H:%M UTC")
    };
    format!(
        "up {}, since <time datetime=\"{}\">{since}</time>",
        uptime(started, now),
        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// A table cell that keeps its row one line high: `text` cut short, all of
/// it in the tooltip.
fn short_cell(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return format!("<td class=\"msg\">{}</td>", escape(text));
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!(
        "<td class=\"msg\" title=\"{}\">{}…</td>",
        escape(text),
        escape(cut.trim_end())
    )
}

async fn status(State(s): State<ServerState>) -> Response {
    let (g, as_of) = match gauges(&s).await {
        Ok(read) => read,
        Err(resp) => return resp,
    };
    // Figures read before the store got busy say so.
    let as_of = as_of.map_or(String::new(), |at| {
        format!(
            "<p class=\"warning\">The database is busy (a long write, such as reading the story window back after a start): figures as of {}.</p>",
            at.format("%H:%M:%S UTC")
        )
    });
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Status · {title}</title><style>{STATUS_CSS}</style></head><body>\
         <h1>Status · {title}</h1><p>{stories} stories stored, {published} published · {up}</p>{as_of}{problems}\
         <table><caption class=\"sr-only\">Sources</caption><thead><tr><th scope=\"col\">Source</th><th scope=\"col\">Last fetch</th><th scope=\"col\">Result</th>\
         <th scope=\"col\">Items</th><th scope=\"col\">Next fetch</th><th scope=\"col\">Failures in a row</th><th scope=\"col\">Last error</th></tr></thead><tbody>",
        title = escape(&s.title),
        stories = g.stories,
        published = g.published,
        up = up_since(s.started, Utc::now()),
        problems = problems_html(&s.health.report()),
    );
    for row in status_rows(&g) {
        let class = match row.result.as_str() {
            "error" => "error",
            r if r.starts_with("warning") => "warning",
            _ => "ok",
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"{url}\">{name}</a></td><td>{last}</td><td class=\"{class}\">{result}</td><td>{items}</td><td>{next}</td><td>{errors}</td>{error}</tr>",
            url = escape(&row.url),
            name = escape(&row.name),
            last = escape(&row.last_fetch),
            result = escape(&row.result),
            items = row.items,
            next = escape(&row.next_fetch),
            errors = row.errors,
            error = short_cell(&row.last_error),
        );
    }
    // Relative: served at /status, also under a proxy's sub-path.
    h.push_str("</tbody></table><p><a href=\"metrics\">metrics</a> · <a href=\"./\">front page</a></p></body></html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], h).into_response()
}

/// One source as the status page and `feedsieve status` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    /// Outlet name.
    pub name: String,
    /// Configured URL.
    pub url: String,
    /// Last attempt, or "never".
    pub last_fetch: String,
    /// ok / not-modified / unchanged / error / gone / not fetched yet, or
    /// "warning: no links" for a page source whose page gave no article links.
    pub result: String,
    /// Items stored.
    pub items: i64,
    /// Next due time, or "never" for gone sources.
    pub next_fetch: String,
    /// Failures in a row.
    pub errors: i64,
    /// The last error message.
    pub last_error: String,
}

fn when(ts: Option<i64>) -> String {
    // 0 (or less) is a time never set, not 1970.
    ts.filter(|t| *t > 0)
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

/// The rows of the status table.
pub fn status_rows(g: &StoredGauges) -> Vec<StatusRow> {
    let now = chrono::Utc::now().timestamp();
    g.sources
        .iter()
        .map(|(rec, items)| StatusRow {
            name: rec.name.clone(),
            url: crate::util::http::masked_password(&rec.url),
            last_fetch: when(rec.last_fetch_at),
            result: if rec.gone {
                "gone".into()
            } else if rec.last_status.as_deref() == Some(NO_LINKS) {
                "warning: no links".into()
            } else {
                rec.last_status
                    .clone()
                    .unwrap_or_else(|| "not fetched yet".into())
            },
            items: *items,
            next_fetch: if rec.gone {
                "never".into()
            } else if rec.next_fetch_at <= now {
                // Never fetched (0) or overdue: not a date in 1970 or the past.
                "due now".into()
            } else {
                when(Some(rec.next_fetch_at))
            },
            errors: rec.error_count,
            last_error: match rec.last_status.as_deref() {
                Some(NO_LINKS) if !rec.gone => {
                    no_links_advice(&crate::util::http::masked_password(&rec.url))
                }
                _ => rec.last_error.clone().unwrap_or_default(),
            },
        })
        .collect()
}

/// The stored result of a page source whose page gave no article links.
const NO_LINKS: &str = "no-links";

/// What to do about a page source that finds no links.
fn no_links_advice(url: &str) -> String {
    format!(
        "no article links found on the page; see what it offers with `feedsieve links {url}` \
         and pin them with `links = \"css selector\"` on the source (or add the site's feed instead)"
    )
}

/// The problems and warnings as lists for the status page (nothing when all is well).
fn problems_html(report: &HealthReport) -> String {
    let mut h = String::new();
    for (class, heading, items) in [
        ("error", report.status, &report.problems),
        ("warning", "warning", &report.warnings),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<section class=\"{class}\" role=\"alert\"><h2>{}</h2><ul>",
            escape(heading)
        );
        for p in items {
            let _ = write!(h, "<li>{}</li>", escape(p));
        }
        h.push_str("</ul></section>");
    }
    h
}

/// Liveness: 200 while the process answers, with `"status"` "ok", "degraded"
/// or "stopping" and the problems in words, for monitoring to alert on.
async fn healthz(State(state): State<ServerState>) -> Response {
    let p = state.publication();
    let report = state.health.report();
    let body = serde_json::json!({
        "status": report.status,
        "problems": report.problems,
        "warnings": report.warnings,
        "version": env!("CARGO_PKG_VERSION"),
        "started": state.started.to_rfc3339(),
        "published_items": p.as_ref().map(|p| p.rss.items),
        "feed_last_modified": p
            .as_ref()
            .filter(|p| p.rss.last_modified > 0)
            .and_then(|p| DateTime::from_timestamp(p.rss.last_modified, 0))
            .map(|t| t.to_rfc3339()),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Readiness: 200 when nothing is wrong, else 503 with the same JSON.
async fn readyz(State(state): State<ServerState>) -> Response {
    let report = state.health.report();
    let code = if report.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": report.status,
        "problems": report.problems,
        "warnings": report.warnings,
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_strong_weak_lists_and_star() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }

    #[test]
    fn uptime_reads_in_hours_and_minutes() {
        let start = DateTime::parse_from_rfc3339("2026-12-06T04:37:08.255159547Z")
            .unwrap()
            .to_utc();
        let now = start + chrono::Duration::seconds(3 * 3600 + 12 * 60 + 5);
        assert_eq!(
            up_since(start, now),
            "up 3 h 12 min, since <time datetime=\"2026-12-06T04:37:08Z\">04:37 UTC</time>"
        );
        assert_eq!(uptime(start, start + chrono::Duration::seconds(42)), "42 s");
        let later = start + chrono::Duration::days(2);
        assert!(up_since(start, later).contains("2 d 0 h, since"));
        assert!(up_since(start, later).contains("2026-12-06 04:37 UTC"));
    }

    #[test]
    fn long_errors_are_cut_with_the_whole_text_as_tooltip() {
        let long = "dns error: failed to lookup address information: ".repeat(5);
        let cell = short_cell(&long);
        assert!(cell.contains(&format!("title=\"{}\"", long)), "{cell}");
        assert!(cell.chars().filter(|c| *c == '…').count() == 1, "{cell}");
        assert_eq!(short_cell("HTTP 404"), "<td class=\"msg\">HTTP 404</td>");
        assert_eq!(when(Some(0)), "never");
    }
}
