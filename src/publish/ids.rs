//! The ids readers key on: tag URIs (RFC 4151), `tag:AUTHORITY,DATE:story/HASH`
//! for a story and `tag:AUTHORITY,DATE:feed` for the feed, the same in RSS, Atom
//! and JSON Feed.
//!
//! The authority (the host of `[output] link`) and the date (the day of the
//! first publish) are stored with the database the first time, and the hash is
//! the one in the story's stored GUID, so an id never changes: not when a story
//! gains outlets, not across restarts, not when `[output] link` changes.

use url::Url;

use super::{ts, OutputConfig};
use crate::store::{stories::STORY_GUID_PREFIX, Store, StoreError};
use crate::util::sha256_hex;

/// Key of the tag authority in the store's settings.
const AUTHORITY_KEY: &str = "tag_authority";
/// Key of the tag date in the store's settings.
const DATE_KEY: &str = "tag_date";
/// The authority when `[output] link` has no host that is a DNS name (an IPv6
/// address, say).
const FALLBACK_AUTHORITY: &str = "localhost";

/// The tagging entity and date every published id starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedIds {
    /// `tag:AUTHORITY,DATE:`
    prefix: String,
}

impl FeedIds {
    /// Ids made of this authority and date (`YYYY` or `YYYY-MM-DD`).
    pub fn new(authority: &str, date: &str) -> FeedIds {
        FeedIds {
            prefix: format!("tag:{authority},{date}:"),
        }
    }

    /// The ids stored with the database; until they are, made from the host of
    /// `[output] link` and the day of `now`, and stored when `publishing`
    /// stories: a first start with nothing to publish (before the user set
    /// `link`, as the service's install steps go) fixes nothing.
    pub fn load_or_init(
        store: &mut Store,
        out: &OutputConfig,
        now: i64,
        publishing: bool,
    ) -> Result<FeedIds, StoreError> {
        let authority = authority(&out.link);
        let date = ts(now).format("%Y-%m-%d").to_string();
        if !publishing {
            return Ok(
                match (store.setting(AUTHORITY_KEY)?, store.setting(DATE_KEY)?) {
                    (Some(authority), Some(date)) => FeedIds::new(&authority, &date),
                    _ => FeedIds::new(&authority, &date),
                },
            );
        }
        let stored = store.settings_or_init(&[(AUTHORITY_KEY, &authority), (DATE_KEY, &date)])?;
        match stored.as_slice() {
            [authority, date] => Ok(FeedIds::new(authority, date)),
            _ => Ok(FeedIds::new(&authority, &date)),
        }
    }

    /// The feed's own id.
    pub fn feed_id(&self) -> String {
        format!("{}feed", self.prefix)
    }

    /// The published id of a story with this stored GUID: the GUID's hash under
    /// the tag prefix (any other GUID is hashed, so the id is still a valid IRI).
    pub fn story_id(&self, guid: &str) -> String {
        let hash = guid
            .strip_prefix(STORY_GUID_PREFIX)
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| sha256_hex(guid.as_bytes())[..32].to_string());
        format!("{}story/{hash}", self.prefix)
    }
}

/// The host of `link` when it is a DNS name (letters, digits and hyphens in
/// dot-separated labels, lower case), else [`FALLBACK_AUTHORITY`].
fn authority(link: &str) -> String {
    Url::parse(link)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        })
        .filter(|h| is_dns_name(h))
        .unwrap_or_else(|| FALLBACK_AUTHORITY.to_string())
}

/// RFC 4151's `DNSname`: labels of letters and digits, hyphens inside.
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests::out;
    use super::*;

    #[test]
    fn authorities_are_dns_names_of_the_link() {
        assert_eq!(
            authority("https://News.Example.org:8443/feeds/"),
            "news.example.org"
        );
        assert_eq!(authority("http://127.0.0.1:8080/"), "127.0.0.1");
        assert_eq!(authority("http://bücher.test/"), "xn--bcher-kva.test");
        assert_eq!(authority("http://[::1]:8080/"), "localhost");
        assert_eq!(authority("not a url"), "localhost");
    }

    #[test]
    fn story_ids_keep_the_stored_hash() {
        let ids = FeedIds::new("example.org", "2026-12-06");
        assert_eq!(
            ids.story_id("feedsieve:story:0aa04e0a238e5ec0c4f51399fdb7f382"),
            "tag:example.org,2026-12-06:story/0aa04e0a238e5ec0c4f51399fdb7f382"
        );
        assert_eq!(ids.feed_id(), "tag:example.org,2026-12-06:feed");
        let odd = ids.story_id("some other id <&>");
        assert!(
            odd.starts_with("tag:example.org,2026-12-06:story/")
                && odd.len() == "tag:example.org,2026-12-06:story/".len() + 32,
            "{odd}"
        );
    }

    #[test]
    fn the_first_publish_fixes_the_ids() {
        let mut store = Store::open_in_memory().unwrap();
        let mut cfg = out();
        // 2026-12-06T06:44:36Z
        // A first start with nothing to publish fixes nothing.
        let empty = FeedIds::load_or_init(&mut store, &cfg, 1_700_000_000, false).unwrap();
        assert_eq!(empty.feed_id(), "tag:127.0.0.1,2023-11-14:feed");
        let first = FeedIds::load_or_init(&mut store, &cfg, 1_796_539_476, true).unwrap();
        assert_eq!(first.feed_id(), "tag:127.0.0.1,2026-12-06:feed");
        cfg.link = "https://news.example.org/".into();
        for publishing in [true, false] {
            let later = FeedIds::load_or_init(&mut store, &cfg, 1_899_000_000, publishing).unwrap();
            assert_eq!(later, first, "a new link or day changes no id");
        }
    }
}
