//! Real clients read what the daemon publishes: feedparser (Python) with a strict
//! XML parser, structural checks and the JSON Feed 1.1 schema; newsboat subscribed
//! to the daemon's URL; headless Chromium rendering the front page.
//!
//! These need external programs. `.ci/run` installs them, and under CI (`CI` set)
//! a missing one fails the test; elsewhere the test says it is skipped and why.
//!
//! The W3C feed validator is not one of them (it is not packaged): the rules of
//! it that real feeds' content could make feedsieve break (ids, dates, relative
//! links, attachments, blank names) are checked by a strict reader of our own,
//! below, on the seed web and on feeds full of such content.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{http_client, Behaviour, FixtureServer};
use feedsieve::daemon::{serve, Shutdown};
use feedsieve::pipeline::{self, run_cycle, Context, Selection};

/// Finds `name` on PATH; under CI its absence is a failure.
pub(crate) fn tool(name: &str, install: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is required under CI: {install}"
        );
        eprintln!("SKIPPED: {name} is not installed ({install})");
    }
    found
}

/// A Python venv with feedparser and jsonschema, made once under target/.
fn python_with_feedparser() -> Option<PathBuf> {
    let python = tool("python3", "install Python 3")?;
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reader-venv");
    let bin = venv.join("bin/python");
    let ready = bin.is_file()
        && Command::new(&bin)
            .args(["-c", "import feedparser, jsonschema"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "feedparser", "jsonschema"])
                .status()
                .is_ok_and(|s| s.success());
        if !made {
            assert!(
                std::env::var_os("CI").is_none(),
                "could not create a venv with feedparser under CI"
            );
            eprintln!(
                "SKIPPED: could not install feedparser into {}",
                venv.display()
            );
            return None;
        }
    }
    Some(bin)
}

struct Daemon {
    base: String,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _web: FixtureServer,
    _dir: tempfile::TempDir,
    /// Titles the daemon itself published (from its JSON Feed).
    titles: Vec<String>,
}

impl Daemon {
    async fn start() -> Daemon {
        let web = FixtureServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open(web.config(dir.path(), "")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = Shutdown::new();
        let task = tokio::spawn(serve(ctx, listener, shutdown.clone()));
        let client = http_client();
        // Ready when every fixture feed has been read (metrics say so) and the
        // published JSON Feed no longer changes.
        let mut titles = Vec::new();
        let mut last = None;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Ok(m) = client.get(format!("{base}/metrics")).send().await else {
                continue;
            };
            let metrics = String::from_utf8_lossy(&m.bytes().await.unwrap()).into_owned();
            let all_read = ["Vue News", "Wire Copy Daily", "Metro Herald"]
                .iter()
                .all(|s| {
                    metrics.contains(&format!(
                        "feedsieve_fetches_total{{source=\"{s}\",result=\"ok\"}}"
                    ))
                });
            if !all_read {
                continue;
            }
            let Ok(r) = client.get(format!("{base}/feed.json")).send().await else {
                continue;
            };
            let body = r.bytes().await.unwrap().to_vec();
            // Publishing follows the last fetch within milliseconds; two equal,
            // non-empty reads 300 ms apart mean it has happened.
            let has_items = serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|v| v["items"].as_array().is_some_and(|a| !a.is_empty()));
            if !has_items {
                continue;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if last.as_ref() == Some(&body) {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                titles = v["items"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|i| i["title"].as_str().map(str::to_string))
                    .collect();
                break;
            }
            last = Some(body);
        }
        assert!(
            titles.len() >= 3,
            "the daemon published the fixture web: {titles:?}"
        );
        Daemon {
            base,
            shutdown,
            task,
            _web: web,
            _dir: dir,
            titles,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        let stopped = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
    }
}

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedparser_reads_every_format_without_errors() {
    let Some(python) = python_with_feedparser() else {
        return;
    };
    let daemon = Daemon::start().await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readers");
    let (base, script, schema) = (
        daemon.base.clone(),
        fixtures.join("check_feeds.py"),
        fixtures.join("jsonfeed-1.1.schema.json"),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(schema)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    common::succeeded(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "validation problems"
    );
    let expected = sorted(daemon.titles.clone());
    for format in ["rss", "atom"] {
        let r = &report[format];
        assert_eq!(r["bozo"], false, "{format}: {}", r["bozo_exception"]);
        let entries = r["entries"].as_array().unwrap();
        let titles = sorted(
            entries
                .iter()
                .map(|e| e["title"].as_str().unwrap().to_string()),
        );
        assert_eq!(titles, expected, "{format} titles");
        // Every entry names the outlet of its representative article.
        let known = BTreeSet::from(["Metro Herald", "Vue News", "Wire Copy Daily"]);
        for e in entries {
            let outlet = e["source_title"].as_str().unwrap_or("");
            assert!(
                known.contains(outlet),
                "{format}: entry without its outlet: {e}"
            );
        }
        for e in entries {
            let link = e["link"].as_str().unwrap();
            assert!(link.starts_with("http://127.0.0.1:"), "{format}: {link}");
            assert!(e["id"].as_str().unwrap().starts_with("tag:127.0.0.1,"));
        }
    }
    // RSS <source url> points at each outlet's own feed.
    for e in report["rss"]["entries"].as_array().unwrap() {
        let href = e["source_href"].as_str().unwrap();
        assert!(
            href.ends_with("/rss.xml")
                || href.ends_with("/feed.rss")
                || href.ends_with("/atom.xml"),
            "{href}"
        );
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newsboat_lists_the_published_titles() {
    let Some(newsboat) = tool("newsboat", "apt-get install newsboat") else {
        return;
    };
    let daemon = Daemon::start().await;
    let home = tempfile::tempdir().unwrap();
    let urls = home.path().join("urls");
    let cache = home.path().join("cache.db");
    std::fs::write(&urls, format!("{}/feed.xml\n", daemon.base)).unwrap();
    std::fs::write(home.path().join("config"), "").unwrap();
    let (u, c, conf, h) = (
        urls.clone(),
        cache.clone(),
        home.path().join("config"),
        home.path().to_path_buf(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(newsboat)
            .env("HOME", &h)
            .env("XDG_CONFIG_HOME", h.join(".config"))
            .env("XDG_DATA_HOME", h.join(".local/share"))
            .arg("-u")
            .arg(u)
            .arg("-c")
            .arg(c)
            .arg("-C")
            .arg(conf)
            .args(["-x", "reload"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "newsboat: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // newsboat keeps what it read in SQLite: read its cache like its UI would.
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let mut stmt = conn
        .prepare("SELECT title, url, feedurl FROM rss_item")
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let titles = sorted(rows.iter().map(|r| r.0.clone()));
    assert_eq!(titles, sorted(daemon.titles.clone()));
    for (_, url, feedurl) in &rows {
        assert_eq!(feedurl, &format!("{}/feed.xml", daemon.base));
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    }
    daemon.stop().await;
}

/// The front page as Chromium renders it: every story, each credited to its
/// outlet or covered by others, and no JavaScript.
fn check_front_page(html: &str, daemon: &Daemon) {
    let doc = scraper::Html::parse_document(html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let shown = sorted(
        doc.select(&sel("article.story h2"))
            .map(|h| h.text().collect::<String>().trim().to_string()),
    );
    assert_eq!(
        shown,
        sorted(daemon.titles.clone()),
        "every story is on the page"
    );
    let outlets: BTreeSet<String> = doc
        .select(&sel("article.story .outlet"))
        .map(|o| o.text().collect())
        .collect();
    let known = BTreeSet::from(["Metro Herald", "Vue News", "Wire Copy Daily"].map(String::from));
    assert!(
        !outlets.is_empty() && outlets.is_subset(&known),
        "{outlets:?}"
    );
    // Merged stories credit the other outlets with "Also covered by" links to
    // their own articles; between them, the page names every outlet.
    let also: Vec<(String, String)> = doc
        .select(&sel("article.story .also a"))
        .map(|a| {
            (
                a.text().collect::<String>(),
                a.value().attr("href").unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        !also.is_empty(),
        "the merged stories show who else covered them"
    );
    for (outlet, href) in &also {
        assert!(known.contains(outlet), "{outlet}");
        assert!(href.starts_with("http://127.0.0.1:"), "{href}");
    }
    let credited: BTreeSet<String> = outlets
        .iter()
        .cloned()
        .chain(also.iter().map(|a| a.0.clone()))
        .collect();
    assert_eq!(credited, known, "every outlet is shown or credited");
    // Every outlet has a filter chip, also one that only ever "also covered",
    // and its filter keeps each story it published or also covered.
    for chip in doc.select(&sel(
        "nav.filters[aria-label='Filter by outlet'] a[href^='#source-']",
    )) {
        let class = chip
            .value()
            .attr("href")
            .unwrap_or("#")
            .trim_start_matches('#');
        let name: String = chip.text().collect();
        for story in doc.select(&sel("article.story")) {
            let covers = story
                .select(&sel(".outlet, .also a"))
                .any(|o| o.text().collect::<String>() == name);
            assert_eq!(
                story.value().classes().any(|c| c == class),
                covers,
                "{name}"
            );
        }
    }
    let chips: BTreeSet<String> = doc
        .select(&sel("nav.filters a[href^='#source-']"))
        .map(|a| a.text().collect())
        .collect();
    assert_eq!(chips, known, "a chip per outlet");
    assert!(doc.select(&sel("script")).next().is_none(), "no JavaScript");
}

/// Runs headless Chromium on `url` with `extra` arguments (a dump or a screenshot).
pub(crate) fn run_chromium(
    chromium: &Path,
    profile: &Path,
    extra: Vec<String>,
    url: String,
) -> tokio::task::JoinHandle<std::process::Output> {
    let chromium = chromium.to_path_buf();
    let profile = profile.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(url)
            .output()
            .unwrap()
    })
}

/// A browser opening `/feed.xml` or `/atom.xml` gets the feed as an XML
/// document styled by `feed.css` (not the raw text Chromium shows for
/// `application/rss+xml`), with every published title in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_feeds_as_pages() {
    let Some(chromium) = tool("chromium", "apt-get install chromium") else {
        return;
    };
    let daemon = Daemon::start().await;
    let profile = tempfile::tempdir().unwrap();
    for (path, root) in [("/feed.xml", "<rss"), ("/atom.xml", "<feed")] {
        let url = format!("{}{path}", daemon.base);
        let r = http_client().get(&url).send().await.unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "application/xml; charset=utf-8"
        );
        let dom = run_chromium(&chromium, profile.path(), vec!["--dump-dom".into()], url);
        let dom = dom.await.unwrap();
        common::succeeded(&dom);
        let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
        // Shown as text, the feed would come back as `<html>…<pre>&lt;rss…`.
        assert!(dom.trim_start().starts_with(root), "{path}: {dom}");
        assert!(!dom.contains("<pre"), "{path} shown as raw text: {dom}");
        for title in &daemon.titles {
            let shown = title.replace('&', "&amp;").replace('<', "&lt;");
            assert!(dom.contains(&shown), "{path} lacks {title:?}");
        }
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_front_page() {
    let Some(chromium) = tool("chromium", "apt-get install chromium") else {
        return;
    };
    let daemon = Daemon::start().await;
    let profile = tempfile::tempdir().unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("front-page.png");
    let _ = std::fs::remove_file(&shot);
    let run = |extra: Vec<String>| {
        run_chromium(
            &chromium,
            profile.path(),
            extra,
            format!("{}/", daemon.base),
        )
    };
    let dom = run(vec!["--dump-dom".into()]).await.unwrap();
    common::succeeded(&dom);
    let html = String::from_utf8_lossy(&dom.stdout).into_owned();
    check_front_page(&html, &daemon);

    let png = run(vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=1100,1400".into(),
    ])
    .await
    .unwrap();
    common::succeeded(&png);
    let bytes = std::fs::read(&shot).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
    eprintln!("front page screenshot: {}", shot.display());
    daemon.stop().await;
}

// A strict check of the feed validator's rules (W3C feedvalidator, level AA) that
// real feeds' content could make feedsieve break. The patterns are the validator's.

/// A tag URI (RFC 4151), as the validator matches it.
const TAG_URI: &str = r"^tag:([a-z0-9\-._]+?@)?[a-z0-9.\-]+?,\d{4}(-\d{2}(-\d{2})?)?:[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*(#[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*)?$";
/// A `urn:uuid:` URI.
const UUID_URN: &str =
    r"^urn:uuid:[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$";
/// A media type, as the validator matches an enclosure's.
const MEDIA_TYPE: &str = r#"^[^\s()<>,;:"/\[\]?=]+/[^\s()<>,;:"/\[\]?=]+(\s*;\s*[^\s()<>,;:"/\[\]?=]+=("(\\"|[^"])*"|[^\s()<>,;:"/\[\]?=]+))*$"#;
/// Elements the validator accepts in HTML content without a security warning.
#[rustfmt::skip]
const SAFE_ELEMENTS: &[&str] = &[
    "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "bdi", "big",
    "blockquote", "br", "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup",
    "command", "data", "datagrid", "datalist", "dd", "del", "details", "dfn", "dialog", "dir",
    "div", "dl", "dt", "em", "eventsource", "fieldset", "figcaption", "figure", "footer", "font",
    "form", "header", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "hr", "i", "img", "input",
    "ins", "keygen", "kbd", "label", "legend", "li", "m", "main", "map", "mark", "menu", "meter",
    "multicol", "nav", "nextid", "ol", "output", "optgroup", "option", "p", "picture", "pre",
    "progress", "q", "rp", "rt", "ruby", "s", "samp", "section", "select", "small", "sound",
    "source", "spacer", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "template", "textarea", "time", "tfoot", "th", "thead", "tr", "track", "tt", "u", "ul",
    "var", "video", "noscript", "wbr",
];

fn re_match(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(text)
}

/// An id the validator takes as an IRI with a registered scheme.
fn is_feed_id(id: &str) -> bool {
    re_match(TAG_URI, id) || re_match(UUID_URN, id)
}

/// An absolute http(s) URL with a host.
fn is_web_url(u: &str) -> bool {
    url::Url::parse(u)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Not before 1990 and not more than ten minutes ahead (the validator's "implausible").
fn plausible(d: chrono::DateTime<chrono::FixedOffset>) -> bool {
    let now = chrono::Utc::now().timestamp();
    d.timestamp() >= 631_152_000 && d.timestamp() <= now + 600
}

/// What the validator would say about the HTML of one entry: elements it calls
/// unsafe, style and event attributes, and relative or non-web references.
fn html_problems(at: &str, html: &str, problems: &mut Vec<String>) {
    let doc = scraper::Html::parse_fragment(html);
    for el in doc
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
    {
        let name = el.value().name();
        if name != "html" && !SAFE_ELEMENTS.contains(&name) {
            problems.push(format!("{at}: unsafe element <{name}>"));
        }
        for (attr, value) in el.value().attrs() {
            if attr == "style" || attr.starts_with("on") {
                problems.push(format!("{at}: {attr} attribute on <{name}>"));
            }
            let reference = matches!((name, attr), ("a", "href") | ("img", "src"));
            let absolute = is_web_url(value) || value.starts_with("mailto:");
            if reference && !absolute {
                problems.push(format!("{at}: relative or odd reference {value:?}"));
            }
        }
    }
}

/// Every `xml:base` in a document must be an absolute web address.
fn xml_base_problems(xml: &str, problems: &mut Vec<String>) {
    for part in xml.split("xml:base=\"").skip(1) {
        let value = part.split('"').next().unwrap_or("");
        if !is_web_url(value) {
            problems.push(format!("xml:base {value:?} is not absolute"));
        }
    }
}

/// An attachment: a web address, a non-negative length, a media type if any.
fn enclosure_problems(
    at: &str,
    url: &str,
    length: Option<&str>,
    mime: Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_web_url(url) {
        problems.push(format!("{at}: enclosure at {url:?}"));
    }
    if length.is_some_and(|l| l.parse::<u64>().is_err()) {
        problems.push(format!("{at}: enclosure length {length:?}"));
    }
    // Optional in Atom; RSS always gives one (empty when missing).
    if mime.is_some_and(|m| !re_match(MEDIA_TYPE, m)) {
        problems.push(format!("{at}: enclosure type {mime:?}"));
    }
    problems
}

/// The validator's complaints about an Atom document, but for equal `updated`
/// values (see [`atom_updated`]).
fn atom_problems(xml: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    xml_base_problems(&String::from_utf8_lossy(xml), &mut problems);
    let feed = atom_syndication::Feed::read_from(xml).unwrap();
    if !is_feed_id(feed.id()) {
        problems.push(format!("feed id {:?}", feed.id()));
    }
    let mut ids = BTreeSet::new();
    for e in feed.entries() {
        let at = e.id();
        if !is_feed_id(at) {
            problems.push(format!("entry id {at:?}"));
        }
        if !ids.insert(at.to_string()) {
            problems.push(format!("{at}: id used twice"));
        }
        if e.title().as_str().trim().is_empty() {
            problems.push(format!("{at}: blank title"));
        }
        let published = e.published().copied().unwrap_or(*e.updated());
        if !plausible(*e.updated()) || !plausible(published) || published > *e.updated() {
            problems.push(format!("{at}: dates {published} / {}", e.updated()));
        }
        let blank_person = e.authors().iter().any(|a| a.name().trim().is_empty());
        let blank_term = e.categories().iter().any(|c| c.term().trim().is_empty());
        if blank_person || blank_term {
            problems.push(format!("{at}: blank author name or category"));
        }
        for l in e.links() {
            if !is_web_url(l.href()) {
                problems.push(format!("{at}: link {:?}", l.href()));
            }
            if l.rel() == "enclosure" {
                problems.extend(enclosure_problems(at, l.href(), l.length(), l.mime_type()));
            }
        }
        if let Some(source) = e.source() {
            let source_ok = is_web_url(source.id())
                && !source.title().as_str().trim().is_empty()
                && plausible(*source.updated())
                && source.links().iter().all(|l| is_web_url(l.href()));
            if !source_ok {
                problems.push(format!("{at}: source {source:?}"));
            }
        }
        if let Some(html) = e.content().and_then(|c| c.value()) {
            html_problems(at, html, &mut problems);
        }
        let text = e.content().and_then(|c| c.value());
        let text = text.or(e.summary().map(|t| t.as_str()));
        if text.is_none_or(|t| t.trim().is_empty()) {
            problems.push(format!("{at}: neither content nor summary"));
        }
    }
    problems
}

/// The `updated` value of each Atom entry, by id.
fn atom_updated(xml: &[u8]) -> BTreeMap<String, chrono::DateTime<chrono::FixedOffset>> {
    let feed = atom_syndication::Feed::read_from(xml).unwrap();
    feed.entries()
        .iter()
        .map(|e| (e.id().to_string(), *e.updated()))
        .collect()
}

/// The validator's complaints about an RSS 2.0 document.
fn rss_problems(xml: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    xml_base_problems(&String::from_utf8_lossy(xml), &mut problems);
    let channel = rss::Channel::read_from(xml).unwrap();
    let mut guids = BTreeSet::new();
    for item in channel.items() {
        let at = item.guid().map(|g| g.value()).unwrap_or("(no guid)");
        if !guids.insert(at.to_string()) || at.trim().is_empty() {
            problems.push(format!("{at}: guid missing or used twice"));
        }
        if item.title().is_none_or(|t| t.trim().is_empty()) {
            problems.push(format!("{at}: blank title"));
        }
        let date = item.pub_date().map(chrono::DateTime::parse_from_rfc2822);
        if !matches!(date, Some(Ok(d)) if plausible(d)) {
            problems.push(format!("{at}: pubDate {:?}", item.pub_date()));
        }
        if item.link().is_some_and(|l| !is_web_url(l)) {
            problems.push(format!("{at}: link {:?}", item.link()));
        }
        if item.source().is_none_or(|s| !is_web_url(s.url())) {
            problems.push(format!("{at}: <source> {:?}", item.source()));
        }
        if item.categories().iter().any(|c| c.name().trim().is_empty()) {
            problems.push(format!("{at}: blank category"));
        }
        if let Some(enc) = item.enclosure() {
            let length = Some(enc.length());
            problems.extend(enclosure_problems(
                at,
                enc.url(),
                length,
                Some(enc.mime_type()),
            ));
        }
        if let Some(html) = item.description() {
            html_problems(at, html, &mut problems);
        }
    }
    problems
}

/// The ids of the JSON Feed's items; each must have some content (the spec
/// requires `content_html` or `content_text`).
fn json_ids(bytes: &[u8]) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let items = v["items"].as_array().unwrap();
    for i in items {
        let text = i["content_html"].as_str().or(i["content_text"].as_str());
        assert!(text.is_some_and(|t| !t.trim().is_empty()), "{i}");
    }
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn read_output(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

async fn cycle(ctx: &Context) {
    run_cycle(ctx, Selection::All, |_, _, _| {}).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_web_meets_the_feed_validators_rules() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config_with_page(dir.path(), "")).unwrap();
    cycle(&ctx).await;
    let (atom, rss) = (
        read_output(dir.path(), "atom.xml"),
        read_output(dir.path(), "feed.xml"),
    );
    assert_eq!(atom_problems(&atom), Vec::<String>::new());
    assert_eq!(rss_problems(&rss), Vec::<String>::new());
    let feed = atom_syndication::Feed::read_from(&atom[..]).unwrap();
    assert!(re_match(TAG_URI, feed.id()), "{}", feed.id());
    let updated = atom_updated(&atom);
    assert_eq!(updated.len(), 4, "the seed web's four stories: {updated:?}");
    for id in updated.keys() {
        assert!(re_match(TAG_URI, id), "{id}");
    }
    // Stored in one cycle, each keeps its own article's date.
    let instants: BTreeSet<_> = updated.values().collect();
    assert_eq!(instants.len(), 4, "{updated:?}");
    assert!(
        updated.values().all(|u| u.timestamp() < 1_767_225_600),
        "the articles' own dates (2025), not the cycle's: {updated:?}"
    );
    // One id per story across the three formats.
    let channel = rss::Channel::read_from(&rss[..]).unwrap();
    let guids: BTreeSet<String> = channel
        .items()
        .iter()
        .map(|i| i.guid().unwrap().value().to_string())
        .collect();
    let atom_ids: BTreeSet<String> = updated.keys().cloned().collect();
    assert_eq!(guids, atom_ids);
    assert_eq!(json_ids(&read_output(dir.path(), "feed.json")), atom_ids);
}

/// The Atom entry whose alternate link ends with `path`: (id, updated).
fn atom_entry(atom: &[u8], path: &str) -> (String, chrono::DateTime<chrono::FixedOffset>) {
    let feed = atom_syndication::Feed::read_from(atom).unwrap();
    let e = feed
        .entries()
        .iter()
        .find(|e| e.links().iter().any(|l| l.href().ends_with(path)))
        .unwrap_or_else(|| panic!("an entry links {path}"));
    (e.id().to_string(), *e.updated())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_that_gains_an_outlet_later_is_updated_later() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // First only Vue News answers.
    web.set("/wirecopy/feed.rss", Behaviour::Status(503));
    web.set("/metro-herald/atom.xml", Behaviour::Status(503));
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    cycle(&ctx).await;
    let (id, first) = atom_entry(
        &read_output(dir.path(), "atom.xml"),
        "/vue-news/zelenskyy-nato.html",
    );
    assert_eq!(
        first.to_rfc3339(),
        "2025-12-14T18:30:00+00:00",
        "its own date"
    );

    web.set("/wirecopy/feed.rss", Behaviour::Normal);
    web.set("/metro-herald/atom.xml", Behaviour::Normal);
    let joined_after = chrono::Utc::now().timestamp();
    cycle(&ctx).await;
    let atom = read_output(dir.path(), "atom.xml");
    // Same id (whichever outlet now represents the story), a later `updated`.
    let later = atom_updated(&atom)[&id];
    assert!(
        later.timestamp() >= joined_after,
        "the time the wire copy joined: {later}"
    );
    assert!(atom_updated(&atom).len() == 3 && atom_problems(&atom).is_empty());
    // A story nobody had seen keeps its own date, although it was stored now.
    let (_, cycle_lanes) = atom_entry(&atom, "/wirecopy/2025/12/15/cycle-lanes.html");
    assert_eq!(cycle_lanes.to_rfc3339(), "2025-12-15T21:40:00+00:00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_stay_when_the_public_address_changes() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    let ids = |atom: &[u8]| {
        let feed = atom_syndication::Feed::read_from(atom).unwrap();
        let entries: BTreeSet<String> = feed.entries().iter().map(|e| e.id().to_string()).collect();
        (feed.id().to_string(), entries)
    };
    let before = {
        let ctx = Context::open(web.config(dir.path(), "")).unwrap();
        cycle(&ctx).await;
        ids(&read_output(dir.path(), "atom.xml"))
    };
    assert_eq!(before.1.len(), 3);
    // The site moves to its public address; a new process publishes.
    let moved = web.config_text(dir.path(), "").replace(
        &format!("link = \"{}/\"", web.base),
        "link = \"https://news.example.org/world/\"",
    );
    std::fs::write(&config, moved).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&config).unwrap()).unwrap();
    let publication = pipeline::publish(&ctx).await.unwrap();
    assert_eq!(ids(&publication.atom.body[..]), before);
    let text = String::from_utf8_lossy(&publication.atom.body).into_owned();
    assert!(
        text.contains("https://news.example.org/world/atom.xml"),
        "{text}"
    );
    assert!(before.0.starts_with("tag:127.0.0.1,"), "{before:?}");
}

/// An RSS feed with what real feeds carry: dates of 1970 and 2999, empty and
/// markup-only titles, relative links under `xml:base`, an enclosure with a
/// relative address, no media type and a negative length, another on FTP,
/// blank categories and authors, a headline with no text and no date.
fn odd_rss(base: &str) -> String {
    format!(
        r##"<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Odd</title><link>{base}/odd/</link><description>d</description>
<item><title></title><link>{base}/odd/one.html</link><guid>odd-1</guid><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate><category></category><dc:creator> </dc:creator>
<description>&lt;p&gt;One &lt;a href="/odd/two.html"&gt;next&lt;/a&gt; &lt;a href="#top"&gt;top&lt;/a&gt; &lt;img src="pic.jpg" width="300"&gt;&lt;bdo dir="rtl"&gt;x&lt;/bdo&gt;&lt;/p&gt;</description>
<enclosure url="/odd/a.mp3" type="mp3" length="-1"/></item>
<item xml:base="{base}/elsewhere/"><title>&lt;b&gt;&lt;/b&gt;</title><guid>odd-2</guid><pubDate>Tue, 31 Dec 2999 23:59:59 GMT</pubDate>
<description>&lt;a href="rel/page.html"&gt;rel&lt;/a&gt; &lt;img src="../img/b.png"&gt;</description><enclosure url="ftp://files.test/b.mp3" type="audio/mpeg" length="12"/></item>
<item><title>Headline only</title><link>{base}/odd/three.html</link></item>
</channel></rss>"##
    )
}

/// An Atom feed with dates out of range, `xml:base` on the entry and its
/// content, an enclosure link with a bad length and type, no title, blank names.
fn odd_atom(base: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/odd-atom/"><title>Odd Atom</title><id>urn:odd</id><updated>2025-12-15T09:00:00Z</updated>
<entry xml:base="posts/"><id>odd-a</id><link href="one.html"/><updated>0001-01-01T00:00:00Z</updated><published>9999-12-31T23:59:59Z</published><author><name></name></author><category term=""/>
<link rel="enclosure" href="../media/c.ogg" length="12x" type="not a type"/><content type="html" xml:base="deeper/">&lt;p&gt;See &lt;a href="x.html"&gt;x&lt;/a&gt; and &lt;img src="/y.png"&gt;&lt;/p&gt;</content></entry>
</feed>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_content_still_meets_the_feed_validators_rules() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    web.set(
        "/odd/rss.xml",
        Behaviour::Body("application/rss+xml", odd_rss(&web.base)),
    );
    web.set(
        "/odd/atom.xml",
        Behaviour::Body("application/atom+xml", odd_atom(&web.base)),
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        format!(
            "[output]\ntitle = \"Odd\"\nlink = \"{b}/\"\ndescription = \"d\"\npath = \"{out}\"\n\n\
             [database]\npath = \"{db}\"\n\n[dedup]\nenabled = false\n\n\
             [[feed]]\nname = \"Odd RSS\"\nurl = \"{b}/odd/rss.xml\"\n\n\
             [[feed]]\nname = \"Odd Atom\"\nurl = \"{b}/odd/atom.xml\"\n",
            b = web.base,
            out = dir.path().join("feed.xml").display(),
            db = dir.path().join("feedsieve.sqlite").display(),
        ),
    )
    .unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    cycle(&ctx).await;
    let (atom, rss) = (
        read_output(dir.path(), "atom.xml"),
        read_output(dir.path(), "feed.xml"),
    );
    assert_eq!(atom_updated(&atom).len(), 4, "every item is published");
    assert_eq!(atom_problems(&atom), Vec::<String>::new());
    assert_eq!(rss_problems(&rss), Vec::<String>::new());
    assert_eq!(json_ids(&read_output(dir.path(), "feed.json")).len(), 4);
}

#[test]
fn the_strict_check_rejects_what_the_validator_would() {
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>feedsieve:feed</id><updated>1970-01-01T00:00:00Z</updated>
        <entry><title> </title><id>feedsieve:story:1</id><updated>1970-01-01T00:00:00Z</updated><link href="/rel"/>
        <content type="html">&lt;a href="x.html"&gt;x&lt;/a&gt;&lt;bdo&gt;b&lt;/bdo&gt;</content></entry></feed>"#;
    // Feed id, entry id, title, dates, link, relative reference, unsafe element.
    assert_eq!(
        atom_problems(atom.as_bytes()).len(),
        7,
        "{:?}",
        atom_problems(atom.as_bytes())
    );
    let rss = r#"<rss version="2.0"><channel><title>t</title><link>http://x.test/</link><description>d</description>
        <item><title> </title><guid>g</guid><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>
        <enclosure url="/a.mp3" type="mp3" length="-1"/><description>&lt;img src="a.png"&gt;</description></item></channel></rss>"#;
    // Title, date, no <source>, the enclosure's address, length and type, the image.
    assert_eq!(
        rss_problems(rss.as_bytes()).len(),
        7,
        "{:?}",
        rss_problems(rss.as_bytes())
    );
}
