//! The daemon's HTTP server: the combined feed with ETag/Last-Modified and 304s,
//! and a health check.

use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};

use crate::publish::PublishedFeed;
use crate::schedule::{format_http_date, parse_http_date};

/// What the server shows; the daemon swaps in a new feed after each publish.
#[derive(Clone, Default)]
pub struct ServerState {
    feed: Arc<RwLock<Option<PublishedFeed>>>,
    started: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl ServerState {
    /// A state with nothing published yet.
    pub fn new() -> Self {
        let state = ServerState::default();
        if let Ok(mut s) = state.started.write() {
            *s = Some(Utc::now());
        }
        state
    }

    /// Replaces the served feed.
    pub fn set_feed(&self, feed: PublishedFeed) {
        let mut guard = self.feed.write().unwrap_or_else(|e| e.into_inner());
        *guard = Some(feed);
    }

    fn feed(&self) -> Option<PublishedFeed> {
        self.feed.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The routes: `GET /feed.xml`, `GET /healthz`.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/feed.xml", get(feed_xml))
        .route("/healthz", get(healthz))
        .with_state(state)
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    if_none_match.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == bare
    })
}

async fn feed_xml(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    let Some(feed) = state.feed() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
            "the feed has not been published yet\n",
        )
            .into_response();
    };
    let last_modified = DateTime::from_timestamp(feed.last_modified, 0).unwrap_or_default();
    // If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.2.2).
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => etag_matches(inm, &feed.etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| feed.last_modified > 0 && last_modified <= since),
    };
    let mut resp_headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&feed.etag) {
        resp_headers.insert(header::ETAG, v);
    }
    if feed.last_modified > 0 {
        if let Ok(v) = HeaderValue::from_str(&format_http_date(last_modified)) {
            resp_headers.insert(header::LAST_MODIFIED, v);
        }
    }
    resp_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    if not_modified {
        return (StatusCode::NOT_MODIFIED, resp_headers).into_response();
    }
    resp_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml; charset=utf-8"),
    );
    (StatusCode::OK, resp_headers, feed.body.clone()).into_response()
}

async fn healthz(State(state): State<ServerState>) -> Response {
    let feed = state.feed();
    let started = *state.started.read().unwrap_or_else(|e| e.into_inner());
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "started": started.map(|t| t.to_rfc3339()),
        "published_items": feed.as_ref().map(|f| f.items),
        "feed_last_modified": feed
            .as_ref()
            .filter(|f| f.last_modified > 0)
            .and_then(|f| DateTime::from_timestamp(f.last_modified, 0))
            .map(|t| t.to_rfc3339()),
    });
    (
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
}
