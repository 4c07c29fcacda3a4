//! The front page (`index.html`, served at `/`): the newest stories in the style of
//! Planet. No JavaScript: filtering by source or category uses CSS `:target`, so
//! the same file works from any static web server.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{page_path, rss_file_name, ts, Entry, OutputConfig, PublishedFeed};
use crate::util::escape;

/// The front page's styles, shared by the story pages.
pub(super) const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fdfdfc; --muted: #5b5b66; --line: #e3e3e8; --accent: #0b57d0; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ec; --bg: #16161a; --muted: #a3a3ad; --line: #2c2c33; --accent: #8ab4f8; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 17px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; }
a { color: var(--accent); }
a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.wrap { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
header h1 { margin: 0 0 .25rem; font-size: 1.9rem; line-height: 1.2; }
header p { margin: 0 0 .75rem; color: var(--muted); }
.feeds a { margin-right: .75rem; font-size: .95rem; }
nav.filters { margin: 1.25rem 0 .5rem; font-size: .9rem; color: var(--muted); }
nav.filters ul { display: inline; list-style: none; margin: 0; padding: 0; }
nav.filters li { display: inline-block; margin: .15rem .35rem .15rem 0; }
nav.filters a { display: inline-block; padding: .1rem .55rem; border: 1px solid var(--line); border-radius: 1rem; text-decoration: none; }
.filter { display: none; }
article.story { padding: 1.1rem 0; border-top: 1px solid var(--line); }
article.story h2 { margin: 0 0 .2rem; font-size: 1.2rem; line-height: 1.3; }
article.story h2 a { color: var(--fg); text-decoration: none; }
article.story h2 a:hover { text-decoration: underline; }
.meta { margin: 0 0 .4rem; font-size: .88rem; color: var(--muted); }
.lead { margin: 0 0 .4rem; }
.also { margin: 0; font-size: .9rem; color: var(--muted); }
.empty { color: var(--muted); }
footer { margin-top: 2rem; font-size: .85rem; color: var(--muted); }
"#;

/// A fragment id from a name: lower-case letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "x".into()
    } else {
        s
    }
}

/// Assigns each distinct name a unique fragment id with `prefix`.
fn ids<'a>(names: impl Iterator<Item = &'a str>, prefix: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut used = std::collections::HashSet::new();
    for name in names {
        if out.contains_key(name) {
            continue;
        }
        let base = format!("{prefix}-{}", slug(name));
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        out.insert(name.to_string(), id);
    }
    out
}

/// The classes of a story's `<article>`: one per outlet that covered it (so
/// an outlet's filter shows the stories it also covered) and per configured
/// category of those outlets.
fn story_classes(
    e: &Entry,
    sources: &BTreeMap<String, String>,
    categories: &BTreeMap<String, String>,
) -> String {
    let outlets = std::iter::once(&e.source_name).chain(e.also.iter().map(|a| &a.0));
    let ids: Vec<&str> = outlets
        .filter_map(|name| sources.get(name))
        .chain(e.sections.iter().filter_map(|c| categories.get(c)))
        .map(String::as_str)
        .collect();
    let mut classes = String::from("story");
    for (i, id) in ids.iter().enumerate() {
        if !ids[..i].contains(id) {
            classes.push(' ');
            classes.push_str(id);
        }
    }
    classes
}

/// One story as an `<article>`: headline, outlet and time, lead, and who else covered it.
fn article(h: &mut String, e: &Entry, classes: &str) {
    let when = ts(e.date);
    let headline = match &e.link {
        Some(link) => format!("<a href=\"{}\">{}</a>", escape(link), escape(&e.title)),
        None => escape(&e.title),
    };
    // A story told by several outlets links its page, where they are compared.
    let outlets = if e.also.is_empty() {
        String::new()
    } else {
        format!(
            " · <a class=\"outlets\" href=\"{}\">{} outlets</a>",
            escape(&page_path(&e.page)),
            e.also.len() + 1
        )
    };
    let _ = write!(
        h,
        "<article class=\"{classes}\">\n<h2>{headline}</h2>\n<p class=\"meta\"><span class=\"outlet\">{outlet}</span> · <time datetime=\"{iso}\">{human}</time>{outlets}</p>\n",
        outlet = escape(&e.source_name),
        iso = when.to_rfc3339(),
        human = when.format("%-d %b %Y, %H:%M UTC"),
    );
    if !e.lead.is_empty() {
        let _ = writeln!(h, "<p class=\"lead\">{}</p>", escape(&e.lead));
    }
    if !e.also.is_empty() {
        h.push_str("<p class=\"also\">Also covered by: ");
        for (i, (name, link)) in e.also.iter().enumerate() {
            if i > 0 {
                h.push_str(", ");
            }
            match link {
                Some(l) => {
                    let _ = write!(h, "<a href=\"{}\">{}</a>", escape(l), escape(name));
                }
                None => h.push_str(&escape(name)),
            }
        }
        h.push_str("</p>\n");
    }
    h.push_str("</article>\n");
}

/// The outlet and category filters: a target anchor per filter, then the chips.
fn filters(
    h: &mut String,
    sources: &BTreeMap<String, String>,
    categories: &BTreeMap<String, String>,
) {
    for id in sources.values().chain(categories.values()) {
        let _ = writeln!(h, "<span class=\"filter\" id=\"{id}\"></span>");
    }
    if !sources.is_empty() {
        h.push_str("<nav class=\"filters\" aria-label=\"Filter by outlet\">Outlets: <ul><li><a href=\"#\">All</a></li>");
        for (name, id) in sources {
            let _ = write!(h, "<li><a href=\"#{id}\">{}</a></li>", escape(name));
        }
        h.push_str("</ul></nav>\n");
    }
    if !categories.is_empty() {
        h.push_str("<nav class=\"filters\" aria-label=\"Filter by category\">Categories: <ul>");
        for (name, id) in categories {
            let _ = write!(h, "<li><a href=\"#{id}\">{}</a></li>", escape(name));
        }
        h.push_str("</ul></nav>\n");
    }
}

/// Renders the front page.
pub fn render(out: &OutputConfig, entries: &[Entry], last_modified: i64) -> PublishedFeed {
    // Every outlet that covered a story gets a chip, also one never chosen
    // as a story's representative.
    let sources = ids(
        entries.iter().flat_map(|e| {
            std::iter::once(e.source_name.as_str()).chain(e.also.iter().map(|a| a.0.as_str()))
        }),
        "source",
    );
    let categories = ids(
        entries
            .iter()
            .flat_map(|e| e.sections.iter().map(String::as_str)),
        "category",
    );
    let title = escape(&out.title);
    let rss = escape(&rss_file_name(out));
    let mut h = String::with_capacity(4096 + entries.len() * 800);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"feedsieve {version}\">\n<title>{title}</title>\n\
         <link rel=\"alternate\" type=\"application/rss+xml\" title=\"{title} (RSS)\" href=\"{rss}\">\n\
         <link rel=\"alternate\" type=\"application/atom+xml\" title=\"{title} (Atom)\" href=\"atom.xml\">\n\
         <link rel=\"alternate\" type=\"application/feed+json\" title=\"{title} (JSON Feed)\" href=\"feed.json\">\n\
         <style>{STYLE}",
        version = env!("CARGO_PKG_VERSION"),
    );
    // One rule per filter: when its anchor is the :target, only matching stories show.
    for id in sources.values().chain(categories.values()) {
        let _ = writeln!(
            h,
            "#{id}:target ~ main article.story:not(.{id}) {{ display: none; }}\n\
             #{id}:target ~ nav.filters a[href=\"#{id}\"] {{ font-weight: 700; border-color: currentColor; }}"
        );
    }
    let _ = write!(
        h,
        "</style>\n</head>\n<body>\n<div class=\"wrap\">\n<header>\n<h1>{title}</h1>\n<p>{desc}</p>\n\
         <p class=\"feeds\">Subscribe: <a href=\"{rss}\">RSS</a> <a href=\"atom.xml\">Atom</a> <a href=\"feed.json\">JSON Feed</a></p>\n</header>\n",
        desc = escape(&out.description),
    );
    filters(&mut h, &sources, &categories);
    h.push_str("<main>\n");
    if entries.is_empty() {
        // The first hour's question: the status page (a relative link, so it
        // works behind a proxy's sub-path too) says what each source answered.
        h.push_str("<p class=\"empty\">No stories yet: the first fetch is still running, or no source has answered. \
                    While the daemon runs, its <a href=\"status\">status page</a> shows each source's last fetch and error \
                    (<code>feedsieve status</code> does too, where these files are served by another web server).</p>\n");
    }
    for e in entries {
        let classes = story_classes(e, &sources, &categories);
        article(&mut h, e, &classes);
    }
    let updated = if last_modified > 0 {
        format!(
            " · updated <time datetime=\"{}\">{}</time>",
            ts(last_modified).to_rfc3339(),
            ts(last_modified).format("%-d %b %Y, %H:%M UTC")
        )
    } else {
        String::new()
    };
    let _ = write!(
        h,
        "</main>\n<footer>{} stories{updated} · made by feedsieve</footer>\n</div>\n</body>\n</html>\n",
        entries.len()
    );
    PublishedFeed::new(
        h.into_bytes(),
        last_modified,
        entries.len(),
        "text/html; charset=utf-8",
    )
}

#[cfg(test)]
mod tests {
    use super::super::render_all;
    use super::super::tests::{feed_ids, out, stories};
    use super::*;

    #[test]
    fn front_page_lists_stories_with_outlet_and_coverage() {
        let page = render_all(&out(), &feed_ids(), &stories()).html;
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        let doc = scraper::Html::parse_document(&html);
        let sel = |s: &str| scraper::Selector::parse(s).unwrap();
        let story = doc.select(&sel("article.story")).next().unwrap();
        assert_eq!(
            story
                .select(&sel("h2 a"))
                .next()
                .unwrap()
                .value()
                .attr("href"),
            Some("https://one.test/a")
        );
        assert_eq!(
            story
                .select(&sel(".outlet"))
                .next()
                .unwrap()
                .text()
                .collect::<String>(),
            "one"
        );
        let also: Vec<_> = story
            .select(&sel(".also a"))
            .map(|a| a.value().attr("href"))
            .collect();
        assert_eq!(also, vec![Some("https://two.test/b")]);
        // "2 outlets" opens the story's page, a relative link that works from
        // the daemon and from the static files alike.
        let outlets = story.select(&sel(".meta a.outlets")).next().unwrap();
        assert_eq!(outlets.text().collect::<String>(), "2 outlets");
        assert_eq!(outlets.value().attr("href"), Some("story/abc.html"));
        assert!(story.value().classes().any(|c| c == "source-one"));
        // "two" only also covered the story: it still has a chip, and its
        // filter shows the story.
        assert!(story.value().classes().any(|c| c == "source-two"));
        assert!(doc
            .select(&sel("nav.filters a[href='#source-two']"))
            .next()
            .is_some());
        assert!(html.contains("#source-two:target"), "CSS filter rule");
        assert!(doc.select(&sel("script")).next().is_none(), "no JavaScript");
        assert!(html.contains("#source-one:target"), "CSS filter rule");
        assert!(doc
            .select(&sel("link[rel=alternate][href='atom.xml']"))
            .next()
            .is_some());
    }

    #[test]
    fn an_empty_front_page_points_to_the_status_page() {
        let page = render_all(&out(), &feed_ids(), &[]).html;
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse("main p.empty a").unwrap();
        let link = doc.select(&sel).next().expect("a link on the empty page");
        assert_eq!(link.value().attr("href"), Some("status"));
        // With stories there is nothing to explain.
        let page = render_all(&out(), &feed_ids(), &stories()).html;
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        assert!(!html.contains("class=\"empty\""), "{html}");
    }

    #[test]
    fn a_configured_category_filters_every_story_its_outlets_covered() {
        // "one" represents the story with a feed tag of its own; "two" only
        // also covered it, from a source configured with `category = "City"`.
        let mut stories = stories();
        stories[0].items[0].categories = vec!["Misc & stuff".into()];
        stories[0].items[1].source_category = Some("City".into());
        let page = render_all(&out(), &feed_ids(), &stories).html;
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        let doc = scraper::Html::parse_document(&html);
        let sel = |s: &str| scraper::Selector::parse(s).unwrap();
        let chips: Vec<String> = doc
            .select(&sel("nav.filters[aria-label='Filter by category'] a"))
            .map(|a| a.text().collect())
            .collect();
        // A feed's own tags are not filters: real feeds bring hundreds.
        assert_eq!(chips, ["City"]);
        let story = doc.select(&sel("article.story")).next().unwrap();
        assert!(story.value().classes().any(|c| c == "category-city"));
        // The feeds carry both: the representative's tag and the outlet's category.
        let rss =
            String::from_utf8(render_all(&out(), &feed_ids(), &stories).rss.body.to_vec()).unwrap();
        assert!(
            rss.contains("<category>Misc &amp; stuff</category>"),
            "{rss}"
        );
        assert!(rss.contains("<category>City</category>"), "{rss}");
    }

    #[test]
    fn slugs_are_unique_and_safe() {
        let m = ids(["BBC News", "bbc-news", "<script>"].into_iter(), "source");
        assert_eq!(m["BBC News"], "source-bbc-news");
        assert_eq!(m["bbc-news"], "source-bbc-news-2");
        assert_eq!(m["<script>"], "source-script");
    }
}
