//! JSON Feed 1.1 (`feed.json`): the same entries and ids as the RSS feed.

use serde::Serialize;

use super::{page_path, self_url, ts, Entry, OutputConfig, PublishedFeed};

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<String>,
    description: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Hub {
    r#type: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    /// Without HTML: JSON Feed requires one of the two.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    /// Attribution in a JSON Feed extension (keys starting with `_` are allowed).
    _feedsieve: Extension<'a>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

#[derive(Serialize)]
struct Extension<'a> {
    source: SourceRef<'a>,
    also_covered_by: Vec<SourceLink<'a>>,
    /// The story's page, where the outlets' versions are compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    compare_url: Option<String>,
}

#[derive(Serialize)]
struct SourceRef<'a> {
    name: &'a str,
    feed_url: &'a str,
}

#[derive(Serialize)]
struct SourceLink<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

/// Renders entries as JSON Feed 1.1.
pub fn render(out: &OutputConfig, entries: &[Entry], last_modified: i64) -> PublishedFeed {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &out.title,
        home_page_url: Some(out.link.as_str()),
        feed_url: self_url(out, "feed.json"),
        description: &out.description,
        hubs: out
            .hub
            .iter()
            .map(|h| Hub {
                r#type: "WebSub",
                url: h.to_string(),
            })
            .collect(),
        items: entries
            .iter()
            .map(|e| Item {
                id: &e.guid,
                url: e.link.as_deref(),
                title: &e.title,
                content_html: (!e.html.is_empty()).then_some(e.html.as_str()),
                content_text: e.html.is_empty().then_some(if e.lead.is_empty() {
                    e.title.as_str()
                } else {
                    e.lead.as_str()
                }),
                summary: (!e.lead.is_empty()).then_some(e.lead.as_str()),
                date_published: ts(e.date).to_rfc3339(),
                date_modified: ts(e.updated).to_rfc3339(),
                authors: vec![Author { name: e.byline() }],
                tags: e.categories.iter().map(String::as_str).collect(),
                attachments: e
                    .enclosure
                    .iter()
                    .map(|a| Attachment {
                        url: &a.url,
                        mime_type: a.mime_type.as_deref().unwrap_or("application/octet-stream"),
                        size_in_bytes: a.length,
                    })
                    .collect(),
                _feedsieve: Extension {
                    source: SourceRef {
                        name: &e.source_name,
                        feed_url: &e.source_url,
                    },
                    also_covered_by: e
                        .also
                        .iter()
                        .map(|(name, url)| SourceLink {
                            name,
                            url: url.as_deref(),
                        })
                        .collect(),
                    compare_url: (!e.also.is_empty())
                        .then(|| self_url(out, &page_path(&e.page)))
                        .flatten(),
                },
            })
            .collect(),
    };
    let body = serde_json::to_vec_pretty(&feed).unwrap_or_default();
    PublishedFeed::new(
        body,
        last_modified,
        entries.len(),
        "application/feed+json; charset=utf-8",
    )
}

#[cfg(test)]
mod tests {
    use super::super::render_all;
    use super::super::tests::{feed_ids, out, stories};

    #[test]
    fn json_feed_has_the_same_ids_and_attribution() {
        let all = render_all(&out(), &feed_ids(), &stories());
        let v: serde_json::Value = serde_json::from_slice(&all.json.body).unwrap();
        assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(v["feed_url"], "http://127.0.0.1:8080/feed.json");
        let item = &v["items"][0];
        assert_eq!(item["id"], "tag:example.org,2026:story/abc");
        assert_eq!(item["_feedsieve"]["source"]["name"], "one");
        assert_eq!(
            item["_feedsieve"]["also_covered_by"][0]["url"],
            "https://two.test/b"
        );
        let parsed = feed_rs::parser::parse(&all.json.body[..]).unwrap();
        assert_eq!(parsed.entries[0].id, "tag:example.org,2026:story/abc");
    }
}
