//! Story dedup end to end: the seed-story web through the daemon's cycle, and
//! the seed articles through `feedsieve cluster`.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::{Behaviour, FixtureServer};
use feedsieve::pipeline::{run_cycle, Context, Selection};

async fn cycle(ctx: &Context) {
    run_cycle(ctx, Selection::All, |_, _, _| {}).await.unwrap();
}

/// A cycle over the one source at `path` on `base`.
async fn cycle_of(ctx: &Context, base: &str, path: &str) {
    let url = format!("{base}{path}");
    run_cycle(ctx, Selection::Url(url), |_, _, _| {})
        .await
        .unwrap();
}

/// The articles of each published story.
fn member_sets(dir: &std::path::Path, base: &str) -> impl Iterator<Item = BTreeSet<String>> {
    published(dir, base)
        .into_iter()
        .map(|(_, _, members)| members)
}

/// The published feed as (guid, representative link, every linked article path).
fn published(dir: &std::path::Path, base: &str) -> Vec<(String, String, BTreeSet<String>)> {
    let bytes = std::fs::read(dir.join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    let strip = |u: &str| {
        let u = u.strip_prefix(base).unwrap_or(u);
        u.split('?').next().unwrap_or(u).to_string()
    };
    channel
        .items()
        .iter()
        .map(|item| {
            let link = strip(item.link().unwrap());
            let mut members = BTreeSet::from([link.clone()]);
            let desc = item.description().unwrap_or("");
            // Links of the "Also covered by" block.
            let block = desc.split("class=\"also-covered\"").nth(1);
            // Up to the end of its paragraph: "Compare coverage" follows it.
            if let Some(block) = block.and_then(|b| b.split("</p>").next()) {
                for part in block.split("href=\"").skip(1) {
                    members.insert(strip(part.split('"').next().unwrap()));
                }
            }
            (item.guid().unwrap().value().to_string(), link, members)
        })
        .collect()
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_web_publishes_one_entry_per_story_crediting_every_outlet() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    cycle(&ctx).await;

    let feed = published(dir.path(), &web.base);
    let stories: BTreeSet<BTreeSet<String>> = feed.iter().map(|(_, _, m)| m.clone()).collect();
    let want: BTreeSet<BTreeSet<String>> = [
        set(&[
            "/vue-news/zelenskyy-nato.html",
            "/wirecopy/2025/12/14/zelenskyy-nato-bid.html",
        ]),
        set(&[
            "/vue-news/russia-drones-grid.html",
            "/metro-herald/ukraine-blackouts.html",
        ]),
        set(&["/wirecopy/2025/12/15/cycle-lanes.html"]),
    ]
    .into_iter()
    .collect();
    assert_eq!(stories, want);
    // The representative is the most complete text. Vue News is read in full
    // (full_text = true): its Zelenskyy article and the wire copy are about as
    // long, and the earlier one, Vue News, represents the story; its drone-strike
    // article is longer than Metro Herald's report.
    let reps: BTreeSet<&str> = feed.iter().map(|(_, l, _)| l.as_str()).collect();
    assert!(reps.contains("/vue-news/zelenskyy-nato.html"), "{reps:?}");
    assert!(
        reps.contains("/vue-news/russia-drones-grid.html"),
        "{reps:?}"
    );

    // One <source> per entry: the representative's outlet.
    let bytes = std::fs::read(dir.path().join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(&bytes[..]).unwrap();
    for item in channel.items() {
        let source = item.source().unwrap();
        let outlet = match item.link().unwrap() {
            l if l.contains("/wirecopy/") => "Wire Copy Daily",
            l if l.contains("/vue-news/") => "Vue News",
            l if l.contains("/metro-herald/") => "Metro Herald",
            l => panic!("unexpected representative {l}"),
        };
        assert_eq!(source.title(), Some(outlet));
    }
}

/// The stories of `expected.json`, as sets of article paths.
fn expected_stories() -> BTreeSet<BTreeSet<String>> {
    let raw = std::fs::read_to_string(common::fixture_root().join("expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    v["stories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            st["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().replace("{base}", ""))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_web_gives_the_four_expected_stories_whatever_order_the_outlets_arrive_in() {
    let web = FixtureServer::start().await;
    let want = expected_stories();
    assert_eq!(want.len(), 4);
    let mut order = [
        "/vue-news/rss.xml",
        "/wirecopy/feed.rss",
        "/metro-herald/atom.xml",
        "/pressai/world-news/index.html",
    ];
    // Ten shuffled orders (a fixed generator, so a failure can be replayed);
    // each outlet is fetched in a cycle of its own, so it arrives after the
    // ones before it and the stories are refined in between.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..10 {
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open(web.config_with_page(dir.path(), "")).unwrap();
        for path in order {
            cycle_of(&ctx, &web.base, path).await;
        }
        let got: BTreeSet<BTreeSet<String>> = member_sets(dir.path(), &web.base).collect();
        assert_eq!(got, want, "outlets in the order {order:?}");
    }
}

/// Old reports of one event (the seed web is dated December 2025) meet
/// whatever the order, also when a current item (undated: it takes the time
/// it is fetched) arrives between them and moves the window's clock on a year.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_reports_meet_when_a_current_item_arrives_between_them() {
    let web = FixtureServer::start().await;
    web.set(
        "/today/feed.xml",
        Behaviour::Body(
            "application/rss+xml",
            format!(
                "<rss version=\"2.0\"><channel><title>Today</title><item>\
                 <title>Council approves next year's budget</title>\
                 <link>{}/today/budget.html</link>\
                 <description>The council approved the budget on a show of hands.</description>\
                 </item></channel></rss>",
                web.base
            ),
        ),
    );
    let extra = "[[feed]]\nname = \"Today\"\nurl = \"{base}/today/feed.xml\"\n"
        .replace("{base}", &web.base);
    let drones = set(&[
        "/vue-news/russia-drones-grid.html",
        "/metro-herald/ukraine-blackouts.html",
    ]);
    let orders = [
        [
            "/metro-herald/atom.xml",
            "/today/feed.xml",
            "/vue-news/rss.xml",
        ],
        [
            "/vue-news/rss.xml",
            "/today/feed.xml",
            "/metro-herald/atom.xml",
        ],
        [
            "/today/feed.xml",
            "/metro-herald/atom.xml",
            "/vue-news/rss.xml",
        ],
        [
            "/metro-herald/atom.xml",
            "/vue-news/rss.xml",
            "/today/feed.xml",
        ],
    ];
    // Each outlet in a cycle of its own; with a restart before the last one
    // too, so that the window restored from the store is tested as well.
    for (order, restart) in orders.iter().flat_map(|o| [(o, false), (o, true)]) {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
        for (i, path) in order.iter().enumerate() {
            if restart && i == order.len() - 1 {
                drop(ctx);
                ctx = Context::open(web.config(dir.path(), &extra)).unwrap();
            }
            cycle_of(&ctx, &web.base, path).await;
        }
        let got: Vec<BTreeSet<String>> = member_sets(dir.path(), &web.base).collect();
        assert!(
            got.contains(&drones),
            "in the order {order:?} (restart before the last: {restart}): {got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_keep_their_guid_as_outlets_join_across_a_restart() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // First only Vue News answers.
    web.set("/wirecopy/feed.rss", Behaviour::Status(503));
    web.set("/metro-herald/atom.xml", Behaviour::Status(503));
    let guids_before: HashMap<String, String> = {
        let ctx = Context::open(web.config(dir.path(), "")).unwrap();
        cycle(&ctx).await;
        published(dir.path(), &web.base)
            .into_iter()
            .map(|(g, link, _)| (link, g))
            .collect()
    };
    assert_eq!(guids_before.len(), 2, "{guids_before:?}");

    // A new process on the same database; now the other outlets answer.
    web.set("/wirecopy/feed.rss", Behaviour::Normal);
    web.set("/metro-herald/atom.xml", Behaviour::Normal);
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    cycle(&ctx).await;
    let feed = published(dir.path(), &web.base);
    assert_eq!(feed.len(), 3, "{feed:?}");
    for (link, guid) in &guids_before {
        let entry = feed
            .iter()
            .find(|(_, _, members)| members.contains(link))
            .unwrap_or_else(|| panic!("{link} is still published"));
        assert_eq!(&entry.0, guid, "the story of {link} kept its GUID");
        assert_eq!(entry.2.len(), 2, "{entry:?} gained the other outlet");
    }
    let (items, stories) = ctx
        .store
        .with(|s| (s.item_count().unwrap(), s.story_count().unwrap()));
    assert_eq!((items, stories), (5, 3));

    // And again: nothing new, nothing re-clustered.
    drop(ctx);
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    cycle(&ctx).await;
    assert_eq!(published(dir.path(), &web.base), feed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_can_be_turned_off() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "[dedup]\nenabled = false\n")).unwrap();
    cycle(&ctx).await;
    assert_eq!(published(dir.path(), &web.base).len(), 5);
}

#[test]
fn cluster_merges_the_seed_pair_and_its_syndicated_copy_and_nothing_else() {
    let input = common::fixture_root().join("cluster/articles.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("assign.jsonl");
    let status = common::feedsieve()
        .args(["--config", "/nonexistent/feeds.toml"])
        .env_remove("FEEDSIEVE_CONFIG")
        .arg("cluster")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    // A config named on the command line must exist.
    assert!(!status.status.success());

    let status = common::feedsieve()
        .current_dir(dir.path())
        .env_remove("FEEDSIEVE_CONFIG")
        .arg("cluster")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    common::succeeded(&status);
    let lines = std::fs::read_to_string(&output).unwrap();
    let assign: Vec<(String, String)> = lines
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["cluster"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(assign.len(), 7, "one line per article, in input order");
    assert_eq!(assign[0].0, "vue-zelenskyy");
    let of: HashMap<&str, &str> = assign
        .iter()
        .map(|(i, c)| (i.as_str(), c.as_str()))
        .collect();
    // "Zelenskyy Willing to Forgo NATO Bid…" and "Zelensky Offers to Drop NATO
    // Bid…", two days apart, and the verbatim wire copy: one story.
    assert_eq!(of["vue-zelenskyy"], of["pressai-zelensky"]);
    assert_eq!(of["vue-zelenskyy"], of["wire-zelenskyy"]);
    // Same people (Merz, Macron), same day, another story.
    assert_ne!(of["pressai-merz-macron"], of["vue-zelenskyy"]);
    assert_ne!(of["pressai-merz-macron"], of["metro-blackouts"]);
    assert_ne!(of["wire-cycle-lanes"], of["vue-zelenskyy"]);
    assert_ne!(of["wire-cycle-lanes"], of["metro-blackouts"]);
    assert_ne!(of["metro-blackouts"], of["vue-zelenskyy"]);

    // `-` is standard input and standard output, like other tools' `-`.
    let piped = common::feedsieve()
        .current_dir(dir.path())
        .env_remove("FEEDSIEVE_CONFIG")
        .args(["cluster", "--input", "-", "--output", "-"])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert_eq!(common::succeeded(&piped), lines);
    assert!(!dir.path().join("-").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_and_explain_show_who_joined_and_why() {
    let web = FixtureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(web.config(dir.path(), "")).unwrap();
    cycle(&ctx).await;
    drop(ctx);
    let config = dir.path().join("feeds.toml");
    let run = |args: &[&str]| {
        let out = common::feedsieve()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        common::succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let listing = run(&["stories", "--json"]);
    let stories: Vec<serde_json::Value> = listing
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stories.len(), 3);
    let zel = stories
        .iter()
        .find(|s| {
            s["members"].as_array().unwrap().len() == 2 && {
                let t = s["members"][0]["title"].as_str().unwrap();
                t.contains("Zelenskyy")
            }
        })
        .expect("the Zelenskyy story has two members");
    let members = zel["members"].as_array().unwrap();
    // The representative (first) is Vue News's article, read in full and earlier
    // than the wire copy; the other joined through a dedup layer, not as a new story.
    assert_eq!(members[0]["source"], "Vue News");
    let layers: Vec<&str> = members
        .iter()
        .map(|m| m["layer"].as_str().unwrap())
        .collect();
    assert!(layers.contains(&"new"), "{layers:?}");
    assert!(
        layers
            .iter()
            .any(|l| ["url", "near-copy", "similar"].contains(l)),
        "{layers:?}"
    );

    let a = members[0]["item"].as_i64().unwrap().to_string();
    let b = members[1]["item"].as_i64().unwrap().to_string();
    let explained: serde_json::Value =
        serde_json::from_str(&run(&["explain", "--json", &a, &b])).unwrap();
    assert_eq!(explained["same_story"], true);
    assert!(explained["decided_by"].is_string());
    assert!(explained["evidence"]["full_cosine"].as_f64().unwrap() > 0.3);

    // Items of different stories: not joined, and the text says so.
    let other = stories
        .iter()
        .find(|s| s["members"].as_array().unwrap().len() == 1)
        .unwrap();
    let c = other["members"][0]["item"].as_i64().unwrap().to_string();
    let text = run(&["explain", &a, &c]);
    assert!(text.contains("different stories"), "{text}");
    assert!(text.contains("pair verdict    new"), "{text}");
    // The plain listing marks representatives, and dates each story as the
    // feeds do: by its representative (Vue News, 07:10; Metro Herald opened
    // the story at 09:00).
    let plain = run(&["stories"]);
    assert!(plain.contains("  * #"), "{plain}");
    assert!(
        plain.contains("2025-12-15 07:10  Russia fires 138 drones"),
        "{plain}"
    );
}

#[test]
fn cluster_says_which_input_lines_are_wrong_and_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("assign.jsonl");
    let run = |input: &str, stdin: &str| {
        use std::io::Write as _;
        let mut child = common::feedsieve()
            .current_dir(dir.path())
            .env_remove("FEEDSIEVE_CONFIG")
            .args(["cluster", "--input", input, "--output"])
            .arg(&output)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let good = |id: &str, published: &str| {
        format!(
            r#"{{"id": "{id}", "source": "S", "url": "", "published": "{published}", "title": "Storm hits the coast", "text": ""}}"#
        )
    };
    // A BOM before the first line, as some editors write it, is not an error.
    let input = format!(
        "\u{feff}{}\n{}\n",
        good("a", "2025-12-14T18:30:00Z"),
        good("b", "")
    );
    let out = run("-", &input);
    common::succeeded(&out);
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 2);

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        [
            good("a", "2025-12-14"),
            good("b", "yesterday"),
            r#"{"id": "c", "source": "S", "titel": "typo"}"#.to_string(),
            good("a", ""),
            r#"{"id": "d", "title": "cut off"#.to_string(),
        ]
        .join("\n"),
    )
    .unwrap();
    let out = run(bad.to_str().unwrap(), "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    for (line, words) in [
        (2, "`published` \"yesterday\" is not a date"),
        (3, "no `title` and no `text`"),
        (4, "the id \"a\" is already used on line 1"),
        (5, "not valid JSON at column"),
    ] {
        assert!(
            stderr.contains(&format!("{name}:{line}: {words}")),
            "line {line}: {words}\n{stderr}"
        );
    }
    assert!(!stderr.contains("at line 1 column"), "{stderr}");
    assert_eq!(
        stderr.matches(&format!("{name}:2:")).count(),
        1,
        "once: {stderr}"
    );
}
