//! HTTP fetching: one shared client, conditional GET, size caps and typed errors.
//!
//! The body is read chunk by chunk and cut at the cap *after* decompression, so a
//! gzip bomb or an endless body costs at most `max_body` bytes of memory.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Once};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header;
use reqwest::StatusCode;
use url::Url;

pub use crate::util::http::ResponseHints;

/// The most redirects followed before a fetch fails.
pub const MAX_REDIRECTS: usize = 5;

/// Default cap on a response body, after decompression.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

/// Default cap on items read from one feed document.
pub const DEFAULT_MAX_ITEMS_PER_FEED: usize = 1000;

/// `[fetch]`: HTTP client behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// Whole-request timeout, body included.
    pub timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Largest accepted body, after decompression.
    pub max_body: u64,
    /// Overrides the User-Agent header.
    pub user_agent: Option<String>,
    /// Items kept from one feed document (the first ones, in document order).
    pub max_items_per_feed: usize,
    /// Whether sources may resolve to loopback, private or link-local addresses.
    pub allow_private: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: DEFAULT_MAX_BODY,
            user_agent: None,
            max_items_per_feed: DEFAULT_MAX_ITEMS_PER_FEED,
            allow_private: true,
        }
    }
}

/// Validators from the previous successful fetch, sent for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` the server sent last time.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent last time.
    pub last_modified: Option<String>,
}

/// A completed HTTP exchange with a 2xx or 304 answer.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// HTTP status (200..=299 or 304).
    pub status: u16,
    /// Response headers that later stages care about.
    pub headers: ResponseHints,
    /// The body (empty on 304).
    pub body: Bytes,
    /// The URL after redirects.
    pub final_url: Url,
}

impl Fetched {
    /// True when the server said the resource has not changed.
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }
}

/// Why a fetch failed. Every variant is a per-source error, never a crash.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be fetched at all (bad scheme, no host).
    #[error("cannot fetch {url}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// No answer within the configured time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection could not be made.
    #[error("{reason}")]
    Connect {
        /// What went wrong, in a few words ("connection refused").
        reason: String,
        /// Every cause reqwest reported, for the log.
        detail: String,
    },
    /// More redirects than [`MAX_REDIRECTS`], a loop, or a redirect off HTTP(S).
    #[error("redirect refused: {0}")]
    Redirect(String),
    /// The body is larger than the cap.
    #[error("body larger than the {limit}-byte limit")]
    TooLarge {
        /// The cap in force.
        limit: u64,
    },
    /// The server answered with an error status.
    #[error("HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, when sent (429 and 503).
        retry_after: Option<String>,
    },
    /// The body could not be read (reset, bad compression).
    #[error("reading the body failed: {reason}")]
    Body {
        /// The innermost cause.
        reason: String,
        /// Every cause reqwest reported, for the log.
        detail: String,
    },
    /// The host is a loopback, private or link-local address and `allow_private` is off.
    #[error("refused: {0} is a private, loopback or link-local address (allow_private = false)")]
    PrivateAddress(String),
    /// Anything else reqwest reports.
    #[error("request failed: {reason}")]
    Other {
        /// The innermost cause.
        reason: String,
        /// Every cause reqwest reported, for the log.
        detail: String,
    },
}

impl FetchError {
    /// The HTTP status, if the server answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `Retry-After` from a 429/503 answer.
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            FetchError::Status { retry_after, .. } => retry_after.as_deref(),
            _ => None,
        }
    }

    /// Every cause behind a short message, for the log; None when the message is all.
    pub fn detail(&self) -> Option<&str> {
        match self {
            FetchError::Connect { detail, .. }
            | FetchError::Body { detail, .. }
            | FetchError::Other { detail, .. } => Some(detail),
            _ => None,
        }
    }
}

/// The one HTTP client of the process, shared by every fetch.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
    timeout: Duration,
    allow_private: bool,
}

static INSTALL_CRYPTO: Once = Once::new();

/// The User-Agent sent when the config does not override it.
pub fn default_user_agent() -> String {
    format!(
        "feedsieve/{} (self-hosted news aggregator)",
        env!("CARGO_PKG_VERSION")
    )
}

impl Fetcher {
    /// Builds the client from the `[fetch]` settings.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        // reqwest is built without a default TLS provider (to avoid compiling aws-lc);
        // ring is installed once per process. A second install attempt is harmless.
        INSTALL_CRYPTO.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let allow_private = cfg.allow_private;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            let scheme = attempt.url().scheme();
            if scheme != "http" && scheme != "https" {
                let msg = format!("redirect to a non-HTTP URL ({})", attempt.url());
                return attempt.error(msg);
            }
            if attempt.previous().iter().any(|u| u == attempt.url()) {
                let msg = format!("redirect loop at {}", attempt.url());
                return attempt.error(msg);
            }
            if !allow_private && literal_private_host(attempt.url()).is_some() {
                let msg = format!("redirect to a private address ({})", attempt.url());
                return attempt.error(msg);
            }
            attempt.follow()
        });
        let user_agent = cfg.user_agent.clone().unwrap_or_else(default_user_agent);
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(redirect)
            .pool_max_idle_per_host(4);
        if !cfg.allow_private {
            // Checked after DNS resolution, so a public name that resolves to a
            // private address (DNS rebinding included) is refused too.
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder.build().map_err(|e| FetchError::Other {
            reason: format!("building the HTTP client: {}", innermost(&e)),
            detail: error_chain(&e),
        })?;
        Ok(Fetcher {
            client,
            max_body: cfg.max_body,
            timeout: cfg.timeout,
            allow_private: cfg.allow_private,
        })
    }

    /// Fetches `url`, conditionally when validators are given.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(FetchError::InvalidUrl {
                url: url.to_string(),
                reason: format!("the scheme {:?} is not fetched", url.scheme()),
            });
        }
        if !self.allow_private {
            // IP literals never reach the resolver; check them here.
            if let Some(ip) = literal_private_host(url) {
                return Err(FetchError::PrivateAddress(ip.to_string()));
            }
        }
        let mut req = self.client.get(url.clone()).header(
            header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
        );
        if let Some(etag) = &validators.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        let resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status();
        let hints = ResponseHints::from_headers(resp.headers());
        let final_url = resp.url().clone();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched {
                status: 304,
                headers: hints,
                body: Bytes::new(),
                final_url,
            });
        }
        if status.is_redirection() {
            return Err(unfollowed_redirect(url, status, resp.headers()));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: hints.retry_after.clone(),
            });
        }
        let body = self.read_capped_body(resp).await?;
        Ok(Fetched {
            status: status.as_u16(),
            headers: hints,
            body,
            final_url,
        })
    }

    /// Reads a body whole, failing as soon as it passes `max_body`.
    async fn read_capped_body(&self, mut resp: reqwest::Response) -> Result<Bytes, FetchError> {
        // A declared length over the cap fails before a byte is read. (With
        // compression the header gives the wire size; the loop below checks the rest.)
        if resp.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }

    /// Tells a WebSub hub that `topics` changed (`hub.mode=publish`).
    pub async fn ping_hub(&self, hub: &Url, topics: &[String]) -> Result<(), FetchError> {
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("hub.mode", "publish");
            for topic in topics {
                // Hubs differ: some read hub.url, others hub.topic; send both.
                form.append_pair("hub.url", topic);
                form.append_pair("hub.topic", topic);
            }
            form.finish()
        };
        let resp = self
            .client
            .post(hub.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(FetchError::Status {
                status: resp.status().as_u16(),
                retry_after: None,
            })
        }
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        if e.is_redirect() {
            return FetchError::Redirect(innermost(&e));
        }
        let detail = error_chain(&e);
        let host = e.url().and_then(Url::host_str).unwrap_or("").to_string();
        if e.is_connect() {
            if detail.contains(PRIVATE_MARKER) {
                return FetchError::PrivateAddress(host);
            }
            let reason = connect_reason(&e, &host);
            return FetchError::Connect { reason, detail };
        }
        let reason = innermost(&e);
        if e.is_body() || e.is_decode() {
            return FetchError::Body { reason, detail };
        }
        FetchError::Other { reason, detail }
    }
}

/// The error for a redirect reqwest handed back instead of following (a Location
/// that is not an HTTP URL, or none at all), saying which.
fn unfollowed_redirect(url: &Url, status: StatusCode, headers: &header::HeaderMap) -> FetchError {
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    FetchError::Redirect(match location {
        Some(loc) => match url.join(&loc) {
            Ok(target) if !matches!(target.scheme(), "http" | "https") => {
                format!("redirect to a non-HTTP URL ({target})")
            }
            _ => format!(
                "HTTP {} redirect to {loc:?} was not followed",
                status.as_u16()
            ),
        },
        None => format!("HTTP {} redirect without a Location", status.as_u16()),
    })
}

/// Why a connection could not be made, in a few words: the operating system's
/// reason for an I/O error, the host for a failed DNS lookup, else the last cause.
fn connect_reason(e: &reqwest::Error, host: &str) -> String {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.to_string().starts_with("dns error") {
            return format!("cannot resolve host {host} (DNS lookup failed)");
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            let what = match io.kind() {
                K::ConnectionRefused => "connection refused",
                K::ConnectionReset => "connection reset",
                K::TimedOut => "connection timed out",
                K::HostUnreachable => "host unreachable",
                K::NetworkUnreachable => "network unreachable",
                _ => break,
            };
            return what.to_string();
        }
        src = s.source();
    }
    format!("connection failed: {}", innermost(e))
}

/// The innermost cause of an error, without the OS error number: the part of a
/// reqwest chain that says what happened ("invalid gzip header").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    let msg = last.to_string();
    match msg.find(" (os error ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// The error with its sources, "a: b: c", for log lines that say what really happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        src = s.source();
    }
    out
}

/// True for addresses a public source must not resolve to: loopback, private
/// (RFC 1918, unique-local), link-local, shared (CGNAT), unspecified, multicast,
/// documentation and broadcast ranges.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

/// The URL's host when it is an IP literal in a private range.
fn literal_private_host(url: &Url) -> Option<IpAddr> {
    let ip = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    is_private_ip(ip).then_some(ip)
}

const PRIVATE_MARKER: &str = "resolves only to private addresses";

/// A resolver that drops private addresses from every answer.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.into_iter().filter(|a| !is_private_ip(a.ip())).collect();
            if public.is_empty() {
                let msg = format!("{host} {PRIVATE_MARKER}");
                return Err(msg.into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}
