//! Story pages on the seed web: every outlet's version of a story side by side,
//! with what each adds; linked from the front page and the feeds, written
//! beside `index.html` and served by the daemon.

use crate::common;
use crate::readers::{run_chromium, tool};

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{http_client, Behaviour, FixtureServer};
use feedsieve::daemon::{serve, Shutdown};
use feedsieve::pipeline::{self, run_cycle, Context, Selection};

fn sel(s: &str) -> scraper::Selector {
    scraper::Selector::parse(s).unwrap()
}

fn text(el: scraper::ElementRef<'_>) -> String {
    el.text().collect::<String>()
}

/// Words only, lower case: sentences compare whatever the spacing and quotes.
fn norm(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A story page as a reader sees it.
#[derive(Debug)]
struct Page {
    /// The representative's outlet and article text.
    rep: (String, String),
    /// Every other compared version: outlet, what it adds, the rest.
    versions: Vec<(String, Vec<String>, String)>,
    html: String,
}

impl Page {
    fn parse(html: &str) -> Page {
        let doc = scraper::Html::parse_document(html);
        let rep = doc
            .select(&sel("article.rep"))
            .next()
            .expect("a representative");
        let outlet = |el: scraper::ElementRef<'_>| {
            text(el.select(&sel("h2 .outlet, h3 .outlet")).next().unwrap())
        };
        let versions = doc
            .select(&sel("article.version"))
            .map(|v| {
                let adds = v.select(&sel(".adds li")).map(text).collect();
                let rest = v.select(&sel("details p")).map(text).collect();
                (outlet(v), adds, rest)
            })
            .collect();
        let body = rep.select(&sel(".body")).map(text).collect();
        Page {
            rep: (outlet(rep), body),
            versions,
            html: html.to_string(),
        }
    }

    fn outlets(&self) -> Vec<String> {
        let mut all: Vec<String> = std::iter::once(self.rep.0.clone())
            .chain(self.versions.iter().map(|v| v.0.clone()))
            .collect();
        all.sort();
        all
    }

    /// Everything an outlet's version says on the page.
    fn text_of(&self, outlet: &str) -> String {
        if self.rep.0 == outlet {
            return self.rep.1.clone();
        }
        let v = self.versions.iter().find(|v| v.0 == outlet).unwrap();
        format!("{} {}", v.1.join(" "), v.2)
    }

    fn adds(&self, outlet: &str) -> Vec<String> {
        let v = self.versions.iter().find(|v| v.0 == outlet);
        v.unwrap_or_else(|| panic!("{outlet} is compared"))
            .1
            .clone()
    }
}

/// The story page the front page links as "N outlets" from the story whose
/// headline contains `headline`.
fn linked_page(dir: &Path, headline: &str) -> (String, String) {
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let doc = scraper::Html::parse_document(&index);
    let story = doc
        .select(&sel("article.story"))
        .find(|a| text(a.select(&sel("h2")).next().unwrap()).contains(headline))
        .unwrap_or_else(|| panic!("a story about {headline}"));
    let link = story
        .select(&sel("a.outlets"))
        .next()
        .expect("N outlets link");
    let href = link.value().attr("href").unwrap().to_string();
    let html = std::fs::read_to_string(dir.join(&href)).unwrap();
    (href, html)
}

async fn cycle(ctx: &Context) {
    run_cycle(ctx, Selection::All, |_, _, _| {}).await.unwrap();
}

/// The `unique_sentences` that `stories --json` gives the members of
/// `source` other than a story's representative.
fn json_unique_sentences(dir: &std::path::Path, source: &str) -> Vec<String> {
    let out = common::feedsieve_with(&dir.join("feeds.toml"), &["stories", "--json"]);
    let stdout = common::succeeded(&out);
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        // The representative comes first and is compared with nothing: skip
        // it, whichever member opened the story (that one depends on which
        // outlet's fetch finished first).
        .flat_map(|s| {
            let members = s["members"].as_array().cloned().unwrap_or_default();
            members.into_iter().skip(1)
        })
        .filter(|m| m["source"] == source)
        .flat_map(|m| {
            m["unique_sentences"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_pages_show_what_each_outlet_adds() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config_with_page(dir.path(), "")).unwrap();
    cycle(&ctx).await;

    let (href, html) = linked_page(dir.path(), "NATO");
    assert!(
        href.starts_with("story/") && href.ends_with(".html"),
        "{href}"
    );
    assert!(!html.contains("<script"), "no JavaScript");
    let page = Page::parse(&html);
    assert_eq!(
        page.outlets(),
        ["PRESS AI WORLD", "Vue News", "Wire Copy Daily"],
        "{page:?}"
    );
    let vue = norm(&page.text_of("Vue News"));
    assert!(vue.len() > 2000, "Vue News' article is on the page");
    // The wire copy is Vue News' text: it adds at most what it really adds
    // (its own sign-off), nothing Vue News says.
    let wire = if page.rep.0 == "Wire Copy Daily" {
        page.adds("Vue News")
    } else {
        page.adds("Wire Copy Daily")
    };
    assert!(
        wire.len() <= 1,
        "a near-copy adds (almost) nothing: {wire:?}"
    );
    // PRESS AI WORLD tells it in its own words: what it adds is its own.
    let press = page.adds("PRESS AI WORLD");
    assert!(!press.is_empty(), "{page:?}");
    for s in press.iter().chain(&wire) {
        assert!(!vue.contains(&norm(s)), "Vue News reports {s:?} already");
    }
    assert!(
        html.contains("same event, similarity") && html.contains("copy"),
        "why they are one story, in words"
    );
    // Whichever was read first, the wire's later text is the copy.
    assert!(
        !html.contains("syndicated copy of Wire Copy Daily"),
        "Vue News is no copy of the wire: {html}"
    );

    // Metro Herald's figures that Vue News lacks.
    let (_, html) = linked_page(dir.path(), "drones");
    let page = Page::parse(&html);
    let vue = norm(&page.text_of("Vue News"));
    let herald = if page.rep.0 == "Metro Herald" {
        vec![page.rep.1.clone()]
    } else {
        page.adds("Metro Herald")
    };
    let figure = herald
        .iter()
        .find(|s| s.contains("Hundreds of thousands"))
        .unwrap_or_else(|| panic!("Metro Herald's toll is shown: {herald:?}"));
    assert!(!vue.contains(&norm(figure)), "{figure}");
    assert!(!vue.contains("hundreds of thousands"));

    // `stories --json` gives each member's own sentences.
    let press_sentences = json_unique_sentences(dir.path(), "PRESS AI WORLD");
    assert_eq!(press_sentences, press, "the same comparison as the page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_page_changes_only_with_its_story_and_leaves_with_it() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("story");
    // First only Vue News answers: two stories of one outlet each.
    web.set("/wirecopy/feed.rss", Behaviour::Status(503));
    web.set("/metro-herald/atom.xml", Behaviour::Status(503));
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    cycle(&ctx).await;
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(&pages)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(files().len(), 2, "a page per story in the feed");
    let old = SystemTime::now() - Duration::from_secs(86_400);
    let age_all = || {
        for name in files() {
            let f = std::fs::File::options()
                .write(true)
                .open(pages.join(name))
                .unwrap();
            f.set_modified(old).unwrap();
        }
    };
    let rewritten = || -> Vec<String> {
        files()
            .into_iter()
            .filter(|n| {
                std::fs::metadata(pages.join(n))
                    .unwrap()
                    .modified()
                    .unwrap()
                    > old
            })
            .collect()
    };
    // Published again without a change: no page is written.
    age_all();
    pipeline::publish(&ctx).await.unwrap();
    assert_eq!(rewritten(), Vec::<String>::new());

    // The other outlets answer: both stories gain an outlet, a third appears.
    web.set("/wirecopy/feed.rss", Behaviour::Normal);
    web.set("/metro-herald/atom.xml", Behaviour::Normal);
    cycle(&ctx).await;
    let (nato, html) = linked_page(dir.path(), "NATO");
    assert!(
        html.contains("Wire Copy Daily"),
        "the page shows the new outlet"
    );
    let nato = nato.trim_start_matches("story/").to_string();
    assert!(rewritten().contains(&nato), "{:?}", rewritten());
    assert_eq!(files().len(), 3);

    // Wire Copy Daily leaves the config: its cycle-lanes story leaves the
    // feed, and its page with it; the NATO page no longer lists it.
    let cycle_lanes = files();
    drop(ctx);
    let text = web.config_text(dir.path(), "");
    let start = text.find("[[feed]]\nname = \"Wire Copy Daily\"").unwrap();
    let end = start + text[start + 1..].find("[[feed]]").unwrap() + 1;
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let ctx = Context::open(feedsieve::config::Config::load(&path).unwrap()).unwrap();
    cycle(&ctx).await;
    assert_eq!(files().len(), 2, "{:?} → {:?}", cycle_lanes, files());
    let (_, html) = linked_page(dir.path(), "drones");
    assert!(!html.contains("Wire Copy Daily"));
    let nato_page = std::fs::read_to_string(pages.join(&nato)).unwrap();
    assert!(!nato_page.contains("Wire Copy Daily"));
}

/// The daemon serving the seed web's stories, its `[output] link` its own address.
async fn daemon(web: &FixtureServer, dir: &Path) -> (String, Shutdown) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = web.config_with_page(dir, "");
    config.output.link = format!("{base}/");
    let ctx = Context::open(config).unwrap();
    cycle(&ctx).await;
    let shutdown = Shutdown::new();
    tokio::spawn(serve(ctx, listener, shutdown.clone()));
    for _ in 0..100 {
        let r = http_client().get(format!("{base}/")).send().await;
        if r.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (base, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_story_pages_the_front_page_and_feeds_link() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, shutdown) = daemon(&web, dir.path()).await;
    let client = http_client();
    // Every "Compare coverage" link of the feeds opens a page.
    let body = client
        .get(format!("{base}/feed.json"))
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body.bytes().await.unwrap()).unwrap();
    let mut links = Vec::new();
    for item in json["items"].as_array().unwrap() {
        let html = item["content_html"].as_str().unwrap_or_default();
        let doc = scraper::Html::parse_fragment(html);
        let compare: Vec<String> = doc
            .select(&sel(".also-covered + .compare-coverage a"))
            .filter(|a| text(*a) == "Compare coverage")
            .map(|a| a.value().attr("href").unwrap().to_string())
            .collect();
        let outlets = item["_feedsieve"]["also_covered_by"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(compare.len(), usize::from(outlets > 0), "{html}");
        if let Some(url) = compare.first() {
            assert_eq!(
                item["_feedsieve"]["compare_url"].as_str(),
                Some(url.as_str())
            );
            links.push(url.clone());
        }
    }
    let rss = client.get(format!("{base}/feed.xml")).send().await.unwrap();
    let rss = rss::Channel::read_from(&rss.bytes().await.unwrap()[..]).unwrap();
    let in_rss = rss
        .items()
        .iter()
        .filter(|i| {
            i.description()
                .unwrap_or_default()
                .contains("Compare coverage")
        })
        .count();
    assert_eq!(in_rss, 2, "the two stories told by several outlets");
    assert_eq!(links.len(), 2);
    for url in &links {
        assert!(url.starts_with(&base), "{url}");
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert!(r.text().await.unwrap().contains("Why these are one story"));
        // The daemon's own address without `.html` serves the same page.
        let bare = client
            .get(url.trim_end_matches(".html"))
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), 200);
    }
    let missing = client
        .get(format!("{base}/story/0123"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Any other path says where the feeds are.
    let elsewhere = client.get(format!("{base}/rss")).send().await.unwrap();
    assert_eq!(elsewhere.status(), 404);
    let body = elsewhere.text().await.unwrap();
    assert!(body.contains("href=\"./feed.xml\""), "{body}");
    shutdown.trigger();
}

/// Moves every item of the story with a member titled like `from` into the
/// story with a member titled like `to`, as a refinement that empties one
/// story into another does.
async fn empty_into(ctx: &Context, from: &'static str, to: &'static str) {
    move_all(ctx, from, to, feedsieve::store::MoveKind::Refined).await;
}

/// Moves every item of the story about `from` into the story about `to`, as
/// moves of `kind` (a refinement's, or a revision's when texts changed).
async fn move_all(
    ctx: &Context,
    from: &'static str,
    to: &'static str,
    kind: feedsieve::store::MoveKind,
) {
    move_items(ctx, from, to, kind, &[]).await;
}

/// [`move_all`] for the items whose titles contain one of `only` (all of
/// them when it is empty).
async fn move_items(
    ctx: &Context,
    from: &'static str,
    to: &'static str,
    kind: feedsieve::store::MoveKind,
    only: &'static [&'static str],
) {
    ctx.store
        .call(move |s| {
            let stories = s.latest_stories(10)?;
            let about = |w: &str| {
                let title = |st: &&feedsieve::store::Story| {
                    let t = |i: &feedsieve::store::StoryItem| {
                        i.title.as_deref().unwrap_or_default().contains(w)
                    };
                    st.items.iter().any(t)
                };
                stories.iter().find(title).unwrap()
            };
            let (from, to) = (about(from), about(to));
            let picked = |i: &&feedsieve::store::StoryItem| {
                let title = i.title.as_deref().unwrap_or_default();
                only.is_empty() || only.iter().any(|w| title.contains(w))
            };
            let moves = (from.items.iter().filter(picked))
                .map(|i| feedsieve::store::RefinedMove {
                    item_id: i.id,
                    from: from.id,
                    to: feedsieve::store::RefinedTarget::Story(to.id),
                    score: 0.4,
                    matched: None,
                })
                .collect();
            let r = feedsieve::store::StoryRefinement {
                moves,
                new_stories: 0,
            };
            let now = chrono::Utc::now().timestamp();
            s.apply_moves(&r, kind, now, &feedsieve::store::OneStoryPerItem)
        })
        .await
        .unwrap();
}

/// Serves `ctx` (the daemon: scheduler and server) on a free port: its base
/// URL, and the switch that stops it.
async fn serving(ctx: Context) -> (String, Shutdown) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    tokio::spawn(serve(ctx, listener, shutdown.clone()));
    (base, shutdown)
}

/// The first answer to `url` once the daemon listens.
async fn first_answer(client: &reqwest::Client, url: String) -> reqwest::Response {
    for _ in 0..100 {
        if let Ok(r) = client.get(&url).send().await {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the daemon does not answer {url}");
}

/// The seed web fetched and published into `dir`: the context, and the page
/// ids of the NATO and the drones stories.
async fn nato_and_drones(web: &FixtureServer, dir: &Path) -> (Context, String, String) {
    let ctx = Context::open(web.config(dir, "")).unwrap();
    cycle(&ctx).await;
    let page_of = |headline: &str| {
        let href = linked_page(dir, headline).0;
        let id = href.trim_start_matches("story/").trim_end_matches(".html");
        id.to_string()
    };
    (ctx, page_of("NATO"), page_of("drones"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_storys_page_leads_to_the_story_that_took_it_over() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, nato, drones) = nato_and_drones(&web, dir.path()).await;
    // Readers keep the drones entry and its "Compare coverage" link.
    empty_into(&ctx, "drones", "NATO").await;
    pipeline::publish(&ctx).await.unwrap();
    // The static file sends a browser on to the NATO story's page.
    let file = std::fs::read_to_string(dir.path().join(format!("story/{drones}.html"))).unwrap();
    assert!(
        file.contains(&format!("url={nato}.html")) && !file.contains("Why these are one story"),
        "{file}"
    );
    // The daemon answers with a redirect.
    let (base, shutdown) = serving(ctx).await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = first_answer(&plain, format!("{base}/story/{drones}.html")).await;
    assert_eq!(r.status(), 301);
    assert_eq!(r.headers()["location"], format!("{nato}.html").as_str());
    let bare = plain
        .get(format!("{base}/story/{drones}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.headers()["location"], nato.as_str());
    // Followed, it is the page of the story that tells it now.
    let followed = http_client()
        .get(format!("{base}/story/{drones}"))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 200);
    let page = Page::parse(&followed.text().await.unwrap());
    assert!(
        page.html.contains("drones") && page.html.contains("NATO"),
        "{}",
        page.html
    );
    shutdown.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_whose_article_changed_and_left_says_so_and_links_on() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, nato, drones) = nato_and_drones(&web, dir.path()).await;
    // The drones reports' texts changed and joined the NATO story (a live
    // blog that went back to the story it had left): readers keep the entry.
    move_all(&ctx, "drones", "NATO", feedsieve::store::MoveKind::Revised).await;
    pipeline::publish(&ctx).await.unwrap();
    let says = |page: &str| {
        page.contains("has changed since")
            && page.contains(&format!("href=\"{nato}.html\""))
            && !page.contains("http-equiv")
    };
    let file = std::fs::read_to_string(dir.path().join(format!("story/{drones}.html"))).unwrap();
    assert!(says(&file), "{file}");
    // The article moves on again: the page follows it.
    // (the drones reports alone: the NATO story they were in stays)
    let drones_reports: &[&str] = &["drones", "barrage"];
    let revised = feedsieve::store::MoveKind::Revised;
    move_items(&ctx, "drones", "cycle lanes", revised, drones_reports).await;
    pipeline::publish(&ctx).await.unwrap();
    let file = std::fs::read_to_string(dir.path().join(format!("story/{drones}.html"))).unwrap();
    assert!(file.contains("has changed since"), "{file}");
    let href = file
        .split("href=\"")
        .nth(2)
        .and_then(|h| h.split('"').next());
    let now_in = href.expect("a link to the story it is in").to_string();
    assert_ne!(now_in, format!("{nato}.html"), "{file}");
    let page = std::fs::read_to_string(dir.path().join("story").join(&now_in)).unwrap();
    assert!(
        page.contains("cycle lanes") && page.contains("drones"),
        "{page}"
    );
    let says = |page: &str| page.contains("has changed since") && page.contains(&now_in);
    let (base, shutdown) = serving(ctx).await;
    let r = first_answer(&http_client(), format!("{base}/story/{drones}.html")).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(says(&page), "{page}");
    shutdown.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_a_story_page() {
    let Some(chromium) = tool("chromium", "apt-get install chromium") else {
        return;
    };
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, shutdown) = daemon(&web, dir.path()).await;
    let profile = tempfile::tempdir().unwrap();
    let front = run_chromium(
        &chromium,
        profile.path(),
        vec!["--dump-dom".into()],
        format!("{base}/"),
    );
    let front = common::succeeded(&front.await.unwrap());
    let doc = scraper::Html::parse_document(&front);
    let href = doc
        .select(&sel("article.story"))
        .find(|a| text(*a).contains("NATO"))
        .and_then(|a| a.select(&sel("a.outlets")).next())
        .and_then(|a| a.value().attr("href").map(str::to_string))
        .expect("the front page links the story's page");
    let url = format!("{base}/{href}");
    let dom = run_chromium(
        &chromium,
        profile.path(),
        vec!["--dump-dom".into()],
        url.clone(),
    );
    let dom = common::succeeded(&dom.await.unwrap());
    assert!(!dom.contains("<script"), "no JavaScript");
    let page = Page::parse(&dom);
    assert_eq!(page.outlets().len(), 3, "{page:?}");
    assert!(page.html.contains("<details>"), "the rest is folded away");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, width) in [("story-page.png", 1100), ("story-page-390.png", 390)] {
        let shot = shots.join(name);
        let _ = std::fs::remove_file(&shot);
        let png = run_chromium(
            &chromium,
            profile.path(),
            vec![
                format!("--screenshot={}", shot.display()),
                format!("--window-size={width},2200"),
            ],
            url.clone(),
        );
        common::succeeded(&png.await.unwrap());
        assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
        eprintln!("story page screenshot: {}", shot.display());
    }
    shutdown.trigger();
}
