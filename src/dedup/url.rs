//! Canonical article URLs: the same page reached through different links
//! (tracking parameters, AMP and mobile mirrors, `www.`, a trailing slash)
//! gets the same key.

use url::Url;

use crate::sanitize::is_tracking_param;

/// Host prefixes of mirrors that serve the same article (mobile and AMP editions).
const MIRROR_PREFIXES: &[&str] = &["www.", "m.", "mobile.", "amp.", "amp-"];

/// Query parameters that only select an AMP or mobile rendering.
const RENDERING_PARAMS: &[&str] = &["amp", "outputtype", "output", "mobile", "view"];

/// The words of a URL's slug: the longest path segment of at least three
/// alphabetic words joined by `-`, `_` or `+` (`/2014/03/hackers-leak-mt-gox.html`
/// gives hackers, leak, mt, gox); empty when there is none. Ids and dates are
/// no words; two-word segments are mostly sections ("world-news").
pub fn slug_words(raw: &str) -> Vec<String> {
    let Ok(url) = Url::parse(raw.trim()) else {
        return Vec::new();
    };
    let Some(segments) = url.path_segments() else {
        return Vec::new();
    };
    let mut best: Vec<String> = Vec::new();
    for seg in segments {
        let seg = seg.split('.').next().unwrap_or("");
        let words: Vec<String> = seg
            .split(['-', '_', '+'])
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_ascii_lowercase)
            .collect();
        if words.len() >= 3 && words.len() > best.len() {
            best = words;
        }
    }
    best
}

/// The canonical form of an article URL, or `None` for something that is not an
/// absolute http(s) URL. The scheme is dropped (http and https pages are one
/// page), so the result is a key, not a link to fetch.
pub fn canonical_url(raw: &str) -> Option<String> {
    let url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // `Url` already lower-cases the host and drops default ports.
    let mut host = url.host_str()?.trim_end_matches('.').to_string();
    loop {
        match MIRROR_PREFIXES.iter().find(|p| host.starts_with(**p)) {
            // Never strip down to a bare TLD ("m.com").
            Some(p) if host[p.len()..].contains('.') => host = host[p.len()..].to_string(),
            _ => break,
        }
    }
    let mut path: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|seg| !seg.is_empty()).collect())
        .unwrap_or_default();
    // AMP variants: /amp/…, …/amp, …/story.amp, …/story.amp.html.
    path.retain(|seg| !seg.eq_ignore_ascii_case("amp"));
    let mut path = path.join("/");
    for suffix in [".amp.html", ".amp"] {
        if path.len() > suffix.len() && path.to_ascii_lowercase().ends_with(suffix) {
            path.truncate(path.len() - suffix.len());
            if suffix == ".amp.html" {
                path.push_str(".html");
            }
        }
    }
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| {
            let k = k.to_ascii_lowercase();
            !is_tracking_param(&k)
                && !(RENDERING_PARAMS.contains(&k.as_str())
                    && (v.is_empty() || matches!(&*v.to_ascii_lowercase(), "1" | "true" | "amp")))
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // Parameter order carries no meaning.
    query.sort();
    let mut out = host;
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push('/');
    out.push_str(&path);
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&q.join("&"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{canonical_url, slug_words};

    #[test]
    fn a_slug_gives_its_words_and_sections_give_none() {
        assert_eq!(
            slug_words("http://blogs.example.com/2014/03/hackers_leak_mt_gox.php?x=1"),
            vec!["hackers", "leak", "mt", "gox"]
        );
        assert_eq!(
            slug_words(
                "https://example.com/world-news/a557037/titanfall-on-xbox-360-to-offer.html"
            ),
            vec!["titanfall", "on", "xbox", "to", "offer"]
        );
        assert!(slug_words("https://example.com/world-news/article/12345").is_empty());
        assert!(slug_words("not a url").is_empty());
    }

    fn c(u: &str) -> String {
        canonical_url(u).unwrap()
    }

    #[test]
    fn tracking_fragment_case_and_trailing_slash_do_not_matter() {
        let want = c("https://example.com/world/story-1");
        for u in [
            "https://EXAMPLE.com/world/story-1/",
            "http://www.example.com/world/story-1#comments",
            "https://example.com/world/story-1?utm_source=x&utm_medium=rss",
            "https://example.com/world/story-1?fbclid=abc&gclid=def",
            "https://example.com:443/world/story-1",
        ] {
            assert_eq!(c(u), want, "{u}");
        }
    }

    #[test]
    fn amp_and_mobile_mirrors_are_the_same_page() {
        let want = c("https://news.example.org/2025/12/story.html");
        for u in [
            "https://m.news.example.org/2025/12/story.html",
            "https://amp.news.example.org/2025/12/story.html",
            "https://news.example.org/amp/2025/12/story.html",
            "https://news.example.org/2025/12/story.amp.html",
            "https://news.example.org/2025/12/story.html?amp=1",
            "https://news.example.org/2025/12/story.html?outputType=amp",
        ] {
            assert_eq!(c(u), want, "{u}");
        }
    }

    #[test]
    fn different_pages_stay_different() {
        assert_ne!(c("https://example.com/a"), c("https://example.com/b"));
        assert_ne!(c("https://example.com/?p=1"), c("https://example.com/?p=2"));
        assert_ne!(c("https://a.example.com/x"), c("https://b.example.com/x"));
        // Case in the path is significant on most servers.
        assert_ne!(c("https://example.com/A"), c("https://example.com/a"));
        // A parameter that is not tracking is kept; order is normalised.
        assert_eq!(
            c("https://example.com/s?id=3&page=2"),
            c("https://example.com/s?page=2&id=3")
        );
        assert!(canonical_url("mailto:x@example.com").is_none());
        assert!(canonical_url("not a url").is_none());
        assert!(canonical_url("").is_none());
    }
}
