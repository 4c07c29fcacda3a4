//! HTTP header values that several stages read: dates, the charset of a
//! `Content-Type`, and the response headers that steer parsing and scheduling;
//! and source URLs as they may be shown (a private feed's credentials are not).

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};

/// Parses an HTTP date (RFC 7231 IMF-fixdate, also RFC 850/asctime-ish via RFC 2822).
pub fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim();
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(v, "%A, %d-%b-%y %H:%M:%S GMT")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(v, "%a %b %e %H:%M:%S %Y")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Formats a time as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn format_http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The `charset` parameter of a Content-Type header value.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\''))
            .filter(|v| !v.is_empty())
    })
}

/// The response headers that steer parsing and scheduling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHints {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
    /// `Content-Type` (carries the charset hint).
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`.
    pub expires: Option<String>,
    /// `Retry-After`.
    pub retry_after: Option<String>,
    /// `Date`, to interpret `Expires` against the server's clock.
    pub date: Option<String>,
}

impl ResponseHints {
    /// The charset named by `Content-Type`, if any.
    pub fn charset(&self) -> Option<String> {
        self.content_type
            .as_deref()
            .and_then(charset_of)
            .map(str::to_string)
    }

    /// The hints from a response's headers.
    pub fn from_headers(h: &HeaderMap) -> Self {
        let get = |name: header::HeaderName| {
            h.get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        ResponseHints {
            etag: get(header::ETAG),
            last_modified: get(header::LAST_MODIFIED),
            content_type: get(header::CONTENT_TYPE),
            cache_control: get(header::CACHE_CONTROL),
            expires: get(header::EXPIRES),
            retry_after: get(header::RETRY_AFTER),
            date: get(header::DATE),
        }
    }
}

/// `url` without the user name and password it may carry (`https://me:pw@…`,
/// a private feed's credentials): what the published feeds may show of a source.
pub fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.into()
        }
        _ => url.to_string(),
    }
}

/// `url` with its password, if any, shown as `***`: for the operator's status
/// pages, which say which account a source uses but not its secret.
pub fn masked_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.into()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_left_out_of_what_is_shown() {
        let url = "https://alice:s3cret@feeds.test/private.xml";
        assert_eq!(
            super::without_credentials(url),
            "https://feeds.test/private.xml"
        );
        assert_eq!(
            super::masked_password(url),
            "https://alice:***@feeds.test/private.xml"
        );
        let plain = "https://feeds.test/rss?x=1";
        assert_eq!(super::without_credentials(plain), plain);
        assert_eq!(super::masked_password(plain), plain);
    }

    use super::*;

    #[test]
    fn http_dates_round_trip() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(parse_http_date(&format_http_date(t)), Some(t));
    }

    #[test]
    fn charset_is_read_from_content_type() {
        assert_eq!(charset_of("text/xml; charset=\"KOI8-R\""), Some("KOI8-R"));
    }
}
