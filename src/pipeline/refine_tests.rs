//! Story refinement with the store: what subscribers see when the stories of a
//! cycle are clustered again (identities, splits, restarts), and that the
//! daemon's path gives the stories `feedsieve cluster` gives.

use std::collections::{BTreeSet, HashMap};

use chrono::{TimeZone, Utc};

use super::dedup::{AnalysedItems, StoryDedup};
use crate::dedup::tests::{FLOOD_DRESDEN, FLOOD_PIRNA};
use crate::dedup::DedupConfig;
use crate::read::RawItem;
use crate::store::tests::{item, parsed, source};
use crate::store::Store;

/// Stores one fetch of `source` holding `item`, at `at`.
fn store_item(s: &mut Store, dedup: &StoryDedup, source: i64, item: RawItem, at: i64) {
    let mut decider = dedup.decider(s, AnalysedItems::default(), at).unwrap();
    s.record_fetch(source, &parsed(vec![item]), at, at + 100, &mut decider)
        .unwrap();
}

/// A dated report with a body.
fn report(guid: &str, title: &str, text: &str, at: i64) -> RawItem {
    RawItem {
        content: Some(format!("<p>{text}</p>")),
        published: Utc.timestamp_opt(at, 0).single(),
        ..item(guid, title)
    }
}

/// The published stories as sets of item ids, with their GUIDs.
fn published(s: &Store) -> Vec<(String, BTreeSet<i64>)> {
    s.latest_stories(100)
        .unwrap()
        .into_iter()
        .map(|st| (st.guid, st.items.iter().map(|i| i.id).collect()))
        .collect()
}

fn open() -> (Store, i64) {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_sources(&[source("http://x.test/feed")]).unwrap();
    let id = s.sources().unwrap()[0].id;
    (s, id)
}

const DAY: i64 = 86_400;

#[test]
fn a_story_that_only_gains_members_keeps_its_guid_across_refinements_and_restarts() {
    let (mut s, src) = open();
    let config = DedupConfig::default();
    let mut dedup = StoryDedup::restore(&s, config.clone(), 100).unwrap();
    let t0 = 1_700_000_000;
    store_item(
        &mut s,
        &dedup,
        src,
        report("a", "Elbe floods Dresden old town", FLOOD_DRESDEN, t0),
        t0,
    );
    store_item(
        &mut s,
        &dedup,
        src,
        item("snow", "Heavy snow closes the pass to Bergen"),
        t0 + 10,
    );
    dedup.refine(&mut s, t0 + 20).unwrap();
    let guid_of = |s: &Store, item: i64| {
        published(s)
            .into_iter()
            .find(|(_, m)| m.contains(&item))
            .unwrap()
            .0
    };
    let flood = guid_of(&s, 1);
    store_item(
        &mut s,
        &dedup,
        src,
        report("b", "Dresden old town under water", FLOOD_DRESDEN, t0 + 60),
        t0 + 60,
    );
    dedup.refine(&mut s, t0 + 70).unwrap();
    assert_eq!(guid_of(&s, 3), flood);
    assert_eq!(published(&s).len(), 2, "{:?}", published(&s));

    // A new process: the window comes back, a third report joins, refined again.
    dedup = StoryDedup::restore(&s, config, t0 + 100).unwrap();
    store_item(
        &mut s,
        &dedup,
        src,
        report("c", "Elbe flood in Dresden", FLOOD_DRESDEN, t0 + 120),
        t0 + 120,
    );
    dedup.refine(&mut s, t0 + 130).unwrap();
    let stories = published(&s);
    assert_eq!(stories.len(), 2, "{stories:?}");
    let grown = stories.iter().find(|(g, _)| *g == flood).unwrap();
    assert_eq!(grown.1, BTreeSet::from([1, 3, 4]));
    assert!(s.integrity_ok().unwrap());
}

#[test]
fn a_bridging_report_joined_online_is_split_out_and_the_feed_shows_two_entries() {
    let (mut s, src) = open();
    // Wide enough that the event six days later still meets the first.
    let config = DedupConfig {
        window: std::time::Duration::from_secs(10 * DAY as u64),
        ..DedupConfig::default()
    };
    let dedup = StoryDedup::restore(&s, config, 100).unwrap();
    let t0 = 1_700_000_000;
    // Two floods of the Elbe a week apart (a look-alike event), and a report
    // in between that tells both: online, each joined the story it grew into.
    let both = format!("{FLOOD_DRESDEN} {FLOOD_PIRNA}");
    let reports = [
        report("dresden", "Elbe floods Dresden old town", FLOOD_DRESDEN, t0),
        report(
            "review",
            "Elbe floods: Dresden and Pirna",
            &both,
            t0 + 3 * DAY,
        ),
        report(
            "pirna",
            "Elbe floods Pirna market",
            FLOOD_PIRNA,
            t0 + 6 * DAY,
        ),
    ];
    for (i, r) in reports.into_iter().enumerate() {
        let at = t0 + 3 * DAY * i as i64;
        store_item(&mut s, &dedup, src, r, at);
    }
    let online = published(&s);
    assert_eq!(
        online.len(),
        1,
        "online, the bridge joined both: {online:?}"
    );
    let guid = online[0].0.clone();

    let moved = dedup.refine(&mut s, t0 + 6 * DAY + 10).unwrap();
    assert!(moved > 0);
    let refined = published(&s);
    assert_eq!(refined.len(), 2, "{refined:?}");
    let sets: BTreeSet<BTreeSet<i64>> = refined.iter().map(|(_, m)| m.clone()).collect();
    assert!(
        !sets.iter().any(|m| m.contains(&1) && m.contains(&3)),
        "the two floods are apart: {refined:?}"
    );
    // The story that keeps most of the old members keeps its GUID; the other is new.
    assert!(refined.iter().any(|(g, m)| *g == guid && m.len() == 2));
    let split = s.item_assignment(3).unwrap().unwrap();
    let moved_item = if split.layer.as_deref() == Some("refined") {
        3
    } else {
        1
    };
    let moves = s.item_moves(moved_item).unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0].layer, "refined");
    assert!(s.integrity_ok().unwrap());
}

/// The seed web's articles as `feedsieve cluster` reads them.
fn seed_articles() -> (std::path::PathBuf, Vec<serde_json::Value>) {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-story/cluster/articles.jsonl");
    let lines = std::fs::read_to_string(&fixture)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (fixture, lines)
}

/// Stores each seed article as one fetch of its outlet's source (as
/// `cluster` sees them: dedup learns each source's template words), refining
/// after each as the daemon does, and returns the published stories as sets
/// of article ids.
fn through_the_daemon(lines: &[serde_json::Value]) -> BTreeSet<BTreeSet<String>> {
    let names: BTreeSet<String> = lines
        .iter()
        .map(|v| v["source"].as_str().unwrap().to_string())
        .collect();
    let mut s = Store::open_in_memory().unwrap();
    let specs: Vec<_> = names
        .iter()
        .map(|name| crate::store::SourceSpec {
            name: name.clone(),
            ..source(&format!("http://x.test/{}", name.replace(' ', "-")))
        })
        .collect();
    s.sync_sources(&specs).unwrap();
    let source_ids: HashMap<String, i64> = s
        .sources()
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.id))
        .collect();
    let dedup = StoryDedup::restore(&s, DedupConfig::default(), 100).unwrap();
    let mut ids = Vec::new();
    for v in lines {
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let src = source_ids[&text("source")];
        let at = chrono::DateTime::parse_from_rfc3339(&text("published"))
            .unwrap()
            .timestamp();
        let escaped = text("text")
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let raw = RawItem {
            guid: Some(text("id")),
            title: Some(text("title")),
            link: Some(text("url")),
            content: Some(format!("<p>{escaped}</p>")),
            published: Utc.timestamp_opt(at, 0).single(),
            ..RawItem::default()
        };
        store_item(&mut s, &dedup, src, raw, at);
        dedup.refine(&mut s, at).unwrap();
        ids.push(text("id"));
    }
    published(&s)
        .into_iter()
        .map(|(_, m)| m.iter().map(|i| ids[*i as usize - 1].clone()).collect())
        .collect()
}

#[test]
fn the_daemon_path_gives_the_stories_cluster_gives_for_the_same_articles() {
    let (fixture, lines) = seed_articles();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("assign.jsonl");
    crate::dedup_cli::cluster(DedupConfig::default(), &fixture, &out, 1).unwrap();
    let mut by_cluster: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        by_cluster
            .entry(v["cluster"].as_str().unwrap().into())
            .or_default()
            .insert(v["id"].as_str().unwrap().into());
    }
    let from_cluster: BTreeSet<BTreeSet<String>> = by_cluster.into_values().collect();
    let from_daemon = through_the_daemon(&lines);
    assert_eq!(from_daemon, from_cluster);
    let zelenskyy: BTreeSet<String> = ["vue-zelenskyy", "wire-zelenskyy", "pressai-zelensky"]
        .map(String::from)
        .into();
    assert!(from_daemon.contains(&zelenskyy), "{from_daemon:?}");
}

#[test]
fn an_aggregator_feed_of_several_outlets_still_joins_their_reports_of_one_event() {
    // One feed carrying every outlet's articles (a news aggregator): three of
    // its items report one event, so the feed's items are more alike than an
    // outlet's mixed news, yet that is the event's evidence, not a template.
    let (_, mut lines) = seed_articles();
    for v in &mut lines {
        v["source"] = "Aggregator".into();
    }
    let stories = through_the_daemon(&lines);
    let zelenskyy: BTreeSet<String> = ["vue-zelenskyy", "wire-zelenskyy", "pressai-zelensky"]
        .map(String::from)
        .into();
    assert!(stories.contains(&zelenskyy), "{stories:?}");
}
