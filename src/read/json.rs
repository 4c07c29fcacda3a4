//! JSON Feed, through feed-rs, after smoothing the deviations publishers commonly
//! make: a missing or non-URL `version`, numeric ids, `tags` as one string, `items`
//! missing. feed-rs rejects all of these although the feed is perfectly usable.

use feed_rs::model::{Entry, Feed, Text};
use serde_json::Value;
use url::Url;

use super::{Enclosure, ParsedFeed, RawItem, ReadError};
use std::time::Duration;

/// Reads a JSON Feed document.
pub fn read_json(text: &str, base: &Url) -> Result<ParsedFeed, ReadError> {
    let mut v: Value =
        serde_json::from_str(text).map_err(|e| ReadError::Parse(format!("invalid JSON: {e}")))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(ReadError::Parse("JSON, but not a JSON Feed object".into()));
    };
    let version = obj.get("version").and_then(Value::as_str).unwrap_or("");
    let has_items = obj.get("items").is_some_and(Value::is_array);
    if !version.contains("jsonfeed.org/version") && !has_items {
        return Err(ReadError::Parse(
            "JSON, but not a JSON Feed (no version, no items)".into(),
        ));
    }
    let version = if version.contains("version/1.1") || !version.contains("jsonfeed.org") {
        "https://jsonfeed.org/version/1.1"
    } else {
        "https://jsonfeed.org/version/1"
    };
    obj.insert("version".into(), Value::String(version.into()));
    if !has_items {
        obj.insert("items".into(), Value::Array(Vec::new()));
    }
    if let Some(Value::Array(items)) = obj.get_mut("items") {
        items.retain(Value::is_object);
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            match item.get("id") {
                Some(Value::Number(n)) => {
                    let s = n.to_string();
                    item.insert("id".into(), Value::String(s));
                }
                Some(Value::String(_)) => {}
                _ => {
                    item.insert("id".into(), Value::String(String::new()));
                }
            }
            if let Some(Value::String(t)) = item.get("tags") {
                let tags: Vec<Value> = t
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.into()))
                    .collect();
                item.insert("tags".into(), Value::Array(tags));
            }
            for key in [
                "title",
                "url",
                "summary",
                "content_html",
                "content_text",
                "date_published",
                "date_modified",
                "external_url",
                "image",
            ] {
                if item.get(key).is_some_and(|v| !v.is_string()) {
                    item.remove(key);
                }
            }
        }
    }
    for key in ["title", "home_page_url", "feed_url", "description"] {
        if obj.get(key).is_some_and(|v| !v.is_string()) {
            obj.remove(key);
        }
    }
    let bytes = serde_json::to_vec(&v).map_err(|e| ReadError::Parse(e.to_string()))?;
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // No invented ids: items without one are keyed by link in the store.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build()
        .parse(bytes.as_slice())
        .map_err(|e| ReadError::Parse(e.to_string()))?;
    Ok(convert(feed, base))
}

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.content.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Resolves a possibly relative link and drops tracking parameters; keeps only
/// http(s) results.
fn absolute(base: &Url, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

fn convert(feed: Feed, base: &Url) -> ParsedFeed {
    let link = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| absolute(base, &l.href));
    ParsedFeed {
        title: text(&feed.title),
        link,
        ttl: feed
            .ttl
            .filter(|m| *m > 0)
            .map(|m| Duration::from_secs(u64::from(m) * 60)),
        items: feed
            .entries
            .into_iter()
            .map(|e| convert_entry(e, base))
            .collect(),
        cut_short: false,
    }
}

fn convert_entry(e: Entry, base: &Url) -> RawItem {
    let item_base = e
        .base
        .as_deref()
        .and_then(|b| base.join(b).ok())
        .unwrap_or_else(|| base.clone());
    let guid = Some(e.id.trim().to_string()).filter(|s| !s.is_empty());
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .and_then(|l| absolute(&item_base, &l.href))
        // A permalink GUID is the article's URL when no <link> is given.
        .or_else(|| {
            guid.as_deref()
                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
                .and_then(|g| absolute(&item_base, g))
        });
    let author = {
        let names: Vec<&str> = e
            .authors
            .iter()
            .map(|p| p.name.trim())
            .filter(|n| !n.is_empty())
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    };
    let enclosures = e
        .media
        .iter()
        .flat_map(|m| m.content.iter())
        .filter_map(|c| {
            let url = c.url.as_ref()?;
            Some(Enclosure {
                url: absolute(&item_base, url.as_str())?,
                mime_type: c.content_type.as_ref().map(|m| m.to_string()),
                length: c.size,
            })
        })
        .collect();
    let mut categories: Vec<String> = Vec::new();
    for c in &e.categories {
        let term = c.label.as_deref().unwrap_or(&c.term).trim().to_string();
        if !term.is_empty() && !categories.contains(&term) {
            categories.push(term);
        }
    }
    RawItem {
        guid,
        link,
        title: text(&e.title),
        summary: text(&e.summary),
        content: e
            .content
            .and_then(|c| c.body)
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty()),
        author,
        published: e.published,
        updated: e.updated,
        categories,
        enclosures,
    }
}
