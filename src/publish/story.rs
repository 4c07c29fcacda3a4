//! Story pages (`story/<id>.html` beside `index.html`, served at `/story/<id>`):
//! one story's coverage side by side. The representative's article first, then
//! every other outlet's version with the sentences the versions above it do
//! not report (the rest folded into `<details>`), headline-only members, a
//! timeline, and why the articles are one story, from the recorded evidence.
//!
//! No JavaScript; everything an outlet wrote is escaped text, except the
//! representative's article, which is the sanitised HTML the feeds carry.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use super::compare::{compare, VersionDiff, MAX_SENTENCES, MAX_VERSIONS};
use super::{http_url, plausible, ts, Entry, OutputConfig, PublishedFeed};
use crate::sanitize::{plain_text, plain_title};
use crate::store::{JoinRecord, Story, StoryItem};
use crate::util::{escape, sha256_hex, write_atomically};

/// Folder of the story pages, beside `index.html`.
pub const STORY_DIR: &str = "story";

/// A member with fewer words of text than this (and no article) is listed by
/// its headline only: a feed without text gives nothing to compare.
const HEADLINE_ONLY_WORDS: usize = 25;

/// Bumped when the page layout changes, so that cached pages are rendered again.
const LAYOUT: &str = "story-page-1";

/// One rendered story page.
#[derive(Debug, Clone)]
pub struct StoryPage {
    /// What the page was rendered from (the story's members, their changes and
    /// evidence, the layout): equal fingerprints mean equal pages.
    pub fingerprint: String,
    /// The page.
    pub doc: PublishedFeed,
    /// Rendered by this publish (else carried over unchanged from the last one).
    pub fresh: bool,
}

/// Every story page of one publish, by page id (the hash of the story's id).
#[derive(Debug, Clone, Default)]
pub struct StoryPages {
    pages: Arc<BTreeMap<String, StoryPage>>,
    /// The page ids of merged stories readers may still have, each with the
    /// page of the published story that took it over.
    moved: Arc<BTreeMap<String, MovedPage>>,
}

/// Where the page of a story that left the feed leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedPage {
    /// The page id of the published story that took its articles.
    pub to: String,
    /// It left because its article's text changed (a live blog that went
    /// back to the story it left), not because it was merged: its page says
    /// so and links on, rather than redirecting.
    pub article_changed: bool,
}

impl StoryPages {
    /// Pages without moved ones.
    fn of(pages: BTreeMap<String, StoryPage>) -> StoryPages {
        StoryPages {
            pages: Arc::new(pages),
            moved: Arc::default(),
        }
    }

    /// The page of story `id` (with or without `.html`).
    pub fn get(&self, id: &str) -> Option<&PublishedFeed> {
        let id = id.strip_suffix(".html").unwrap_or(id);
        self.pages.get(id).map(|p| &p.doc)
    }

    /// These pages, with `moved` (old page id → where it leads) for the
    /// merged stories whose heir has a page; a page id in use is never moved.
    pub fn with_moved(
        mut self,
        moved: impl IntoIterator<Item = (String, MovedPage)>,
    ) -> StoryPages {
        let moved = moved
            .into_iter()
            .filter(|(old, new)| {
                is_page_id(old) && !self.pages.contains_key(old) && self.pages.contains_key(&new.to)
            })
            .collect();
        self.moved = Arc::new(moved);
        self
    }

    /// Where a merged story's page `id` (with or without `.html`) leads.
    pub fn moved_to(&self, id: &str) -> Option<&MovedPage> {
        let id = id.strip_suffix(".html").unwrap_or(id);
        self.moved.get(id)
    }

    /// The pages, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &StoryPage)> {
        self.pages.iter()
    }

    /// How many pages there are.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The pages last written in `folder`, to serve beside a kept front page.
    pub fn read_back(folder: &Path, last_modified: i64) -> StoryPages {
        let mut pages = BTreeMap::new();
        for file in std::fs::read_dir(folder).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            // Only pages feedsieve writes: the folder may hold others.
            let Some(id) = name.strip_suffix(".html").filter(|id| is_page_id(id)) else {
                continue;
            };
            let Ok(body) = std::fs::read(file.path()) else {
                continue;
            };
            let doc = PublishedFeed::new(body, last_modified, 1, "text/html; charset=utf-8");
            let page = StoryPage {
                fingerprint: String::new(),
                doc,
                fresh: false,
            };
            pages.insert(id.to_string(), page);
        }
        StoryPages::of(pages)
    }
}

/// The page id of a story with this published id (`tag:…:story/HASH` → HASH).
pub fn page_id(published_id: &str) -> &str {
    published_id.rsplit('/').next().unwrap_or(published_id)
}

/// A story page's path relative to the front page.
pub fn page_path(id: &str) -> String {
    format!("{STORY_DIR}/{id}.html")
}

/// The pages of `stories` (paired with their entries), reusing a page of
/// `previous` whose fingerprint did not change.
pub fn render_pages(
    out: &OutputConfig,
    pairs: &[(Entry, &Story)],
    joins: &HashMap<i64, JoinRecord>,
    previous: Option<&StoryPages>,
) -> StoryPages {
    let mut pages = BTreeMap::new();
    for (entry, story) in pairs {
        let id = page_id(&entry.guid).to_string();
        let fingerprint = fingerprint(out, story, joins);
        let kept = previous
            .and_then(|p| p.pages.get(&id))
            .filter(|p| p.fingerprint == fingerprint);
        let page = match kept {
            Some(p) => StoryPage {
                fresh: false,
                ..p.clone()
            },
            None => StoryPage {
                doc: render_page(out, entry, story, joins),
                fingerprint,
                fresh: true,
            },
        };
        pages.insert(id, page);
    }
    StoryPages::of(pages)
}

/// What a story page depends on, hashed: without rendering, a publish sees
/// which stories changed.
fn fingerprint(out: &OutputConfig, story: &Story, joins: &HashMap<i64, JoinRecord>) -> String {
    let mut s = format!(
        "{LAYOUT}\n{}\n{}\n{}\n{}\n{:?}\n",
        out.title, out.link, story.guid, story.updated_at, story.changed_at
    );
    for i in &story.items {
        let j = joins.get(&i.id);
        let _ = writeln!(
            s,
            "{} {} {} {} {:?} {:?} {:?}",
            i.id,
            i.changed_at,
            i.source_name,
            i.source_url,
            j.and_then(|j| j.layer.as_deref()),
            j.and_then(|j| j.score),
            j.and_then(|j| j.matched)
        );
    }
    sha256_hex(s.as_bytes())
}

/// One member as the page shows it.
struct Member<'a> {
    item: &'a StoryItem,
    outlet: String,
    headline: String,
    link: Option<String>,
    /// Its own date, or when feedsieve first saw it.
    time: i64,
    /// Plain text; empty for a headline-only member.
    text: String,
}

impl<'a> Member<'a> {
    fn new(item: &'a StoryItem) -> Member<'a> {
        let body = item
            .content
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(item.summary.as_deref())
            .unwrap_or("");
        let mut text = plain_text(&crate::sanitize::strip_trailing_promo(body));
        let has_article = item
            .content
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        if !has_article && text.split_whitespace().count() < HEADLINE_ONLY_WORDS {
            text.clear();
        }
        Member {
            item,
            outlet: plain_title(&item.source_name),
            headline: super::item_title(item),
            link: item.link.as_deref().and_then(http_url),
            time: plausible(item.published_at, item.first_seen_at).unwrap_or(item.first_seen_at),
            text,
        }
    }
}

/// Each member's comparison, by position in `story.items`: `None` for a
/// headline-only member or one past [`MAX_VERSIONS`].
pub fn member_diffs(story: &Story) -> Vec<Option<VersionDiff>> {
    let members: Vec<Member<'_>> = story.items.iter().map(Member::new).collect();
    diffs(&members)
}

fn diffs(members: &[Member<'_>]) -> Vec<Option<VersionDiff>> {
    let with_text: Vec<usize> = (0..members.len())
        .filter(|&i| !members[i].text.is_empty())
        .collect();
    let texts: Vec<&str> = with_text
        .iter()
        .map(|&i| members[i].text.as_str())
        .collect();
    let mut out: Vec<Option<VersionDiff>> = vec![None; members.len()];
    for (k, diff) in compare(&texts).into_iter().enumerate() {
        out[with_text[k]] = Some(diff);
    }
    out
}

/// "1 sentence", "3 sentences".
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn when(t: i64) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        ts(t).to_rfc3339(),
        ts(t).format("%-d %b %Y, %H:%M UTC")
    )
}

/// Renders one story's page.
pub fn render_page(
    out: &OutputConfig,
    entry: &Entry,
    story: &Story,
    joins: &HashMap<i64, JoinRecord>,
) -> PublishedFeed {
    let members: Vec<Member<'_>> = story.items.iter().map(Member::new).collect();
    let diffs = diffs(&members);
    let mut h = String::with_capacity(8192);
    head(&mut h, out, entry, entry.also.len() + 1);
    representative(&mut h, entry, &members[0]);
    versions(&mut h, &members, &diffs);
    headline_only(&mut h, &members, &diffs);
    timeline(&mut h, &members);
    why(&mut h, &members, joins);
    let _ = write!(
        h,
        "</main>\n<footer><a href=\"../\">{}</a> · made by feedsieve</footer>\n</div>\n</body>\n</html>\n",
        escape(&out.title)
    );
    let last_modified = story.updated_at.max(entry.updated);
    PublishedFeed::new(h.into_bytes(), last_modified, 1, "text/html; charset=utf-8")
}

const STYLE: &str = r#"
main section { margin-top: 2rem; }
main h2 { font-size: 1.25rem; margin: 0 0 .5rem; }
main h3 { font-size: 1.05rem; margin: 0 0 .2rem; line-height: 1.35; }
.back { margin: 0 0 1rem; font-size: .95rem; }
.rep .body { overflow-wrap: anywhere; }
.rep .body img { max-width: 100%; height: auto; }
.version { padding: 1rem 0; border-top: 1px solid var(--line); }
.adds { margin: .4rem 0; padding-left: 1.2rem; }
.adds li { margin: .25rem 0; }
.nothing { color: var(--muted); font-style: italic; }
details { margin: .4rem 0 0; color: var(--muted); }
details summary { cursor: pointer; }
details summary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.timeline, .why, .headlines { padding-left: 1.2rem; }
.timeline li, .why li, .headlines li { margin: .3rem 0; }
.first { font-weight: 600; }
"#;

/// The document head, the way back, the headline and who covered it.
fn head(h: &mut String, out: &OutputConfig, entry: &Entry, outlets: usize) {
    let title = escape(&entry.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"feedsieve {version}\">\n<title>{title} · {site}</title>\n\
         <style>{front}{STYLE}</style>\n</head>\n<body>\n<div class=\"wrap\">\n<header>\n\
         <p class=\"back\"><a href=\"../\">← {site}</a></p>\n<h1>{title}</h1>\n\
         <p class=\"meta\">Coverage compared: {outlets}</p>\n</header>\n<main>\n",
        version = env!("CARGO_PKG_VERSION"),
        site = escape(&out.title),
        front = super::html::STYLE,
        outlets = count(outlets, "outlet"),
    );
}

/// The time and link line of a version.
fn byline(h: &mut String, m: &Member<'_>) {
    let _ = write!(h, "<p class=\"meta\">{}", when(m.time));
    if let Some(link) = &m.link {
        let _ = write!(h, " · <a href=\"{}\">original article</a>", escape(link));
    }
    h.push_str("</p>\n");
}

/// The representative's article, as the feeds carry it.
fn representative(h: &mut String, entry: &Entry, rep: &Member<'_>) {
    let _ = writeln!(
        h,
        "<article class=\"rep\" aria-labelledby=\"rep-h\">\n<h2 id=\"rep-h\"><span class=\"outlet\">{}</span>: {}</h2>",
        escape(&rep.outlet),
        escape(&rep.headline)
    );
    byline(h, rep);
    let body = &entry.html[..entry.body_len.min(entry.html.len())];
    if body.trim().is_empty() {
        let _ = writeln!(h, "<p class=\"nothing\">{}</p>", escape(&entry.lead));
    } else {
        let _ = writeln!(h, "<div class=\"body\">{body}</div>");
    }
    h.push_str("</article>\n");
}

/// Every other version with text: what it adds, the rest folded away.
fn versions(h: &mut String, members: &[Member<'_>], diffs: &[Option<VersionDiff>]) {
    let shown: Vec<usize> = (1..members.len()).filter(|&i| diffs[i].is_some()).collect();
    if shown.is_empty() {
        return;
    }
    h.push_str("<section aria-labelledby=\"versions-h\">\n<h2 id=\"versions-h\">Other versions and what each adds</h2>\n");
    for i in shown {
        let (m, Some(d)) = (&members[i], &diffs[i]) else {
            continue;
        };
        let _ = write!(
            h,
            "<article class=\"version\" aria-labelledby=\"v{i}-h\">\n<h3 id=\"v{i}-h\"><span class=\"outlet\">{}</span>: {}</h3>\n",
            escape(&m.outlet),
            escape(&m.headline)
        );
        byline(h, m);
        if d.new.is_empty() {
            h.push_str("<p class=\"nothing\">Adds nothing the versions above do not report.</p>\n");
        } else {
            let _ = writeln!(
                h,
                "<p>Reports what the versions above do not ({} of {}):</p>\n<ul class=\"adds\">",
                d.new.len(),
                count(d.new.len() + d.rest.len(), "sentence")
            );
            for s in &d.new {
                let _ = writeln!(h, "<li>{}</li>", escape(s));
            }
            h.push_str("</ul>\n");
        }
        if !d.rest.is_empty() {
            let capped = if d.capped {
                format!(", past the first {MAX_SENTENCES} not compared")
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<details><summary>The rest of its text ({} already reported above{capped})</summary>\n<p>",
                count(d.rest.len(), "sentence")
            );
            h.push_str(&escape(&d.rest.join(" ")));
            h.push_str("</p></details>\n");
        }
        h.push_str("</article>\n");
    }
    h.push_str("</section>\n");
}

/// Members without text to compare (or past the cap): headline and link.
fn headline_only(h: &mut String, members: &[Member<'_>], diffs: &[Option<VersionDiff>]) {
    let listed: Vec<usize> = (1..members.len()).filter(|&i| diffs[i].is_none()).collect();
    if listed.is_empty() {
        return;
    }
    h.push_str("<section aria-labelledby=\"headlines-h\">\n<h2 id=\"headlines-h\">Headlines only</h2>\n<ul class=\"headlines\">\n");
    for i in listed {
        let m = &members[i];
        let headline = match &m.link {
            Some(l) => format!("<a href=\"{}\">{}</a>", escape(l), escape(&m.headline)),
            None => escape(&m.headline),
        };
        let note = if m.text.is_empty() {
            String::new()
        } else {
            format!(" (not compared: only the first {MAX_VERSIONS} versions are)")
        };
        let _ = writeln!(
            h,
            "<li>{headline} — <span class=\"outlet\">{}</span>, {}{note}</li>",
            escape(&m.outlet),
            when(m.time)
        );
    }
    h.push_str("</ul>\n</section>\n");
}

/// Who reported first, and when each outlet joined the story.
fn timeline(h: &mut String, members: &[Member<'_>]) {
    let mut order: Vec<&Member<'_>> = members.iter().collect();
    order.sort_by_key(|m| (m.time, m.item.first_seen_at, m.item.id));
    h.push_str("<section aria-labelledby=\"timeline-h\">\n<h2 id=\"timeline-h\">Timeline</h2>\n<ol class=\"timeline\">\n");
    for (k, m) in order.iter().enumerate() {
        let first = if k == 0 { " class=\"first\"" } else { "" };
        let what = if k == 0 { "reported first" } else { "reported" };
        let _ = write!(
            h,
            "<li{first}>{} — <span class=\"outlet\">{}</span> {what}",
            when(m.time),
            escape(&m.outlet)
        );
        if m.item.first_seen_at > m.time + 3600 {
            let _ = write!(h, "; joined here {}", when(m.item.first_seen_at));
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ol>\n</section>\n");
}

/// Why these articles are one story, in words, from the recorded evidence.
fn why(h: &mut String, members: &[Member<'_>], joins: &HashMap<i64, JoinRecord>) {
    if members.len() < 2 {
        return;
    }
    h.push_str("<section aria-labelledby=\"why-h\">\n<h2 id=\"why-h\">Why these are one story</h2>\n<ul class=\"why\">\n");
    // In the order they were stored: the one first read first.
    let mut order: Vec<&Member<'_>> = members.iter().collect();
    order.sort_by_key(|m| m.item.id);
    for m in order {
        let record = joins.get(&m.item.id);
        let matched = record
            .and_then(|r| r.matched)
            .and_then(|id| members.iter().find(|o| o.item.id == id));
        // A copy read before its original (a slow feed) was matched the other
        // way round: the copy is the one dated later.
        let how = match (record.and_then(|r| r.layer.as_deref()), matched) {
            (Some("near-copy"), Some(o)) if m.time < o.time => {
                let overlap = record
                    .and_then(|r| r.score)
                    .map(|s| format!(" (text overlap {s:.2})"))
                    .unwrap_or_default();
                format!("the original of {}'s later copy{overlap}", o.outlet)
            }
            _ => joined_how(record, matched.map(|o| o.outlet.as_str())),
        };
        let _ = writeln!(
            h,
            "<li><span class=\"outlet\">{}</span>: {}</li>",
            escape(&m.outlet),
            escape(&how)
        );
    }
    h.push_str("</ul>\n</section>\n");
}

/// How a member joined, in words: "same URL", "syndicated copy", "same event,
/// similarity 0.38". A layer this version does not know is named as recorded.
pub fn joined_how(record: Option<&JoinRecord>, matched: Option<&str>) -> String {
    let Some(layer) = record.and_then(|r| r.layer.as_deref()) else {
        return "stored before stories were compared".into();
    };
    let score = record.and_then(|r| r.score);
    let of = matched
        .map(|o| format!(" of {o}'s article"))
        .unwrap_or_default();
    match (layer, score) {
        ("new", _) => "first of its story when it was read".into(),
        ("url", _) => match matched {
            Some(o) => format!("same URL as {o}'s article"),
            None => "same URL".into(),
        },
        ("near-copy", Some(s)) => format!("syndicated copy{of} (text overlap {s:.2})"),
        ("near-copy", None) => format!("syndicated copy{of}"),
        ("similar", Some(s)) => format!("same event, similarity {s:.2}"),
        ("similar", None) => "same event".into(),
        ("merge", Some(s)) => format!("its story merged into this one, similarity {s:.2}"),
        ("merge", None) => "its story merged into this one".into(),
        ("revised", Some(s)) if s > 0.0 => {
            format!("judged again after its text changed, score {s:.2}")
        }
        ("revised", _) => "judged again after its text changed".into(),
        (other, Some(s)) => format!("joined by the “{other}” step, score {s:.2}"),
        (other, None) => format!("joined by the “{other}” step"),
    }
}

/// Writes the pages into `dir/story/`: a page rendered by this publish when its
/// bytes differ from the file, a carried-over page only when its file is
/// missing; a merged story's page leads to its heir's ([`moved_page`]);
/// files of stories no longer published are removed (only files
/// named like a page: the folder may be in a web root with pages of its own).
/// Returns how many files changed.
pub fn write_pages(dir: &Path, pages: &StoryPages) -> std::io::Result<usize> {
    let folder = dir.join(STORY_DIR);
    let mut changed = 0;
    for (id, page) in pages.iter() {
        let path = folder.join(format!("{id}.html"));
        if !page.fresh && path.is_file() {
            continue;
        }
        if write_atomically(&path, &page.doc.body)? {
            changed += 1;
        }
    }
    for (old, new) in pages.moved.iter() {
        if write_atomically(&folder.join(format!("{old}.html")), new.page().as_bytes())? {
            changed += 1;
        }
    }
    let Ok(listing) = std::fs::read_dir(&folder) else {
        return Ok(changed);
    };
    for file in listing.flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".html") else {
            continue;
        };
        if is_page_id(id) && pages.get(id).is_none() && pages.moved_to(id).is_none() {
            std::fs::remove_file(file.path())?;
            changed += 1;
        }
    }
    Ok(changed)
}

impl MovedPage {
    /// The page left at the story's address: for a merged story it sends the
    /// browser on ([`moved_page`]); for one whose article changed it says so
    /// and links the story that article is in now.
    pub fn page(&self) -> String {
        match self.article_changed {
            false => moved_page(&self.to),
            true => format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Story changed</title><link rel=\"canonical\" href=\"{to}.html\"></head>\
                 <body><p>The article this story was about has changed since: it is now part of \
                 <a href=\"{to}.html\">another story</a>.</p></body></html>\n",
                to = self.to
            ),
        }
    }
}

/// The page left at a merged story's address, for static hosting: it sends
/// the browser on to the page of the story that took it over (page id `to`).
pub fn moved_page(to: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Story moved</title><meta http-equiv=\"refresh\" content=\"0; url={to}.html\">\
         <link rel=\"canonical\" href=\"{to}.html\"></head>\
         <body><p>This story is now told with another: <a href=\"{to}.html\">its page</a>.</p></body></html>\n"
    )
}

/// Whether a file name (without `.html`) is one a story page could have: a
/// hash of at least 16 hexadecimal digits.
fn is_page_id(name: &str) -> bool {
    name.len() >= 16 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_ids, item, out};
    use super::super::{render_with, StoryPages};
    use super::*;

    #[test]
    fn only_pages_of_stories_that_left_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(STORY_DIR);
        std::fs::create_dir_all(&folder).unwrap();
        let gone = folder.join("0123456789abcdef0123456789abcdef.html");
        let mine = folder.join("my-trip-to-rome.html");
        std::fs::write(&gone, "old page").unwrap();
        std::fs::write(&mine, "the user's own page").unwrap();
        assert_eq!(write_pages(dir.path(), &StoryPages::default()).unwrap(), 1);
        assert!(!gone.exists());
        assert!(mine.exists(), "a file feedsieve did not write stays");
        // Nor is it served as a story page.
        assert!(StoryPages::read_back(&folder, 0)
            .get("my-trip-to-rome")
            .is_none());
    }

    fn story(items: Vec<StoryItem>) -> Story {
        Story {
            id: 1,
            guid: "feedsieve:story:00aa00aa00aa00aa00aa00aa00aa00aa".into(),
            sort_at: 1,
            updated_at: 2,
            changed_at: None,
            items,
        }
    }

    fn with_text(name: &str, id: i64, text: &str) -> StoryItem {
        let mut i = item(name, &format!("https://{name}.test/a"));
        i.id = id;
        i.content = Some(format!("<p>{text}</p>"));
        i
    }

    fn page(p: &super::super::Publication) -> String {
        let (_, page) = p.stories.iter().next().unwrap();
        String::from_utf8(page.doc.body.to_vec()).unwrap()
    }

    #[test]
    fn outlet_text_is_compared_as_text_and_shown_escaped() {
        let rep = with_text(
            "one",
            1,
            "The vote passed on Monday by 31 to 12 in the council.",
        );
        let mut other = with_text(
            "two",
            2,
            "The vote passed on Monday by 31 to 12 in the council. Critics said &lt;script&gt;alert(1)&lt;/script&gt; was coming soon.",
        );
        other.title = Some("Headline with <b>tags</b> & more".into());
        let mut bare = item("three", "https://three.test/c");
        bare.id = 3;
        bare.summary = None;
        let mut joins = HashMap::new();
        let record = |layer: &str, score| JoinRecord {
            layer: Some(layer.into()),
            score,
            matched: Some(1),
        };
        joins.insert(1, record("new", None));
        joins.insert(2, record("near-copy", Some(0.91)));
        joins.insert(3, record("refined", Some(0.4)));
        let p = render_with(
            &out(),
            &feed_ids(),
            &[story(vec![rep, other, bare])],
            &joins,
            None,
            0,
        );
        let html = page(&p);
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; was coming soon."),
            "{html}"
        );
        let doc = scraper::Html::parse_document(&html);
        let sel = |s: &str| scraper::Selector::parse(s).unwrap();
        let adds: Vec<String> = doc
            .select(&sel(".adds li"))
            .map(|l| l.text().collect())
            .collect();
        assert_eq!(
            adds.len(),
            1,
            "only the sentence the first version lacks: {adds:?}"
        );
        assert!(doc.select(&sel("details summary")).next().is_some());
        let headlines: String = doc
            .select(&sel(".headlines"))
            .flat_map(|l| l.text())
            .collect();
        assert!(
            headlines.contains("three"),
            "a headline-only member is listed: {headlines}"
        );
        let why: String = doc.select(&sel(".why")).flat_map(|l| l.text()).collect();
        assert!(
            why.contains("syndicated copy of one's article (text overlap 0.91)"),
            "{why}"
        );
        assert!(
            why.contains("joined by the “refined” step, score 0.40"),
            "{why}"
        );
        assert!(why.contains("first of its story"), "{why}");
        // The feeds link the page.
        assert!(p.rss.body.windows(16).any(|w| w == b"Compare coverage"));
    }

    #[test]
    fn a_copy_read_before_its_original_is_still_called_the_copy() {
        let text = "The vote passed on Monday by 31 to 12 in the council after a long debate.";
        // The wire's copy (dated later) was read first; the original matched it.
        let mut copy = with_text("wire", 1, text);
        copy.published_at = Some(1_765_740_000);
        let mut original = with_text("vue", 2, text);
        original.published_at = Some(1_765_730_000);
        let mut joins = HashMap::new();
        let record = |layer: &str, score, matched| JoinRecord {
            layer: Some(layer.into()),
            score,
            matched,
        };
        joins.insert(1, record("new", None, None));
        joins.insert(2, record("near-copy", Some(1.0), Some(1)));
        let p = render_with(
            &out(),
            &feed_ids(),
            &[story(vec![copy, original])],
            &joins,
            None,
            0,
        );
        let html = page(&p);
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse(".why li").unwrap();
        let why: Vec<String> = doc.select(&sel).map(|l| l.text().collect()).collect();
        assert_eq!(
            why,
            [
                "wire: first of its story when it was read",
                "vue: the original of wire's later copy (text overlap 1.00)",
            ],
            "{html}"
        );
    }

    #[test]
    fn unchanged_stories_keep_their_page_and_files_of_gone_stories_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = out();
        cfg.path = dir.path().join("feed.xml");
        let s = story(vec![with_text(
            "one",
            1,
            "A sentence of several words here.",
        )]);
        let joins = HashMap::new();
        let first = render_with(&cfg, &feed_ids(), std::slice::from_ref(&s), &joins, None, 0);
        first.write(&cfg).unwrap();
        let file = dir
            .path()
            .join("story/00aa00aa00aa00aa00aa00aa00aa00aa.html");
        assert!(file.is_file());
        let again = render_with(
            &cfg,
            &feed_ids(),
            std::slice::from_ref(&s),
            &joins,
            Some(&first.stories),
            0,
        );
        assert!(
            again.stories.iter().all(|(_, p)| !p.fresh),
            "not rendered again"
        );
        let mut grown = s.clone();
        grown.updated_at = 3;
        grown
            .items
            .push(with_text("two", 2, "Another sentence of several words."));
        let third = render_with(&cfg, &feed_ids(), &[grown], &joins, Some(&again.stories), 0);
        assert!(
            third.stories.iter().all(|(_, p)| p.fresh),
            "a changed story is"
        );
        let gone = dir
            .path()
            .join("story/00bb00bb00bb00bb00bb00bb00bb00bb.html");
        std::fs::write(&gone, "old").unwrap();
        third.write(&cfg).unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().contains("two"));
        assert!(!gone.exists());
        assert_eq!(StoryPages::read_back(&dir.path().join("story"), 0).len(), 1);
    }
}
