//! The store's own behaviour, with every item its own story (the dedup step's
//! decisions are tested with the pipeline).

use super::*;
use crate::read::RawItem;

/// A feed source at `url`.
pub(crate) fn source(url: &str) -> SourceSpec {
    SourceSpec {
        url: url.into(),
        kind: "feed".into(),
        name: "Outlet".into(),
        category: None,
    }
}

/// An item with a GUID, a title and a link made from the GUID.
pub(crate) fn item(guid: &str, title: &str) -> RawItem {
    RawItem {
        guid: Some(guid.into()),
        title: Some(title.into()),
        link: Some(format!("http://x.test/{guid}")),
        ..Default::default()
    }
}

/// A parsed fetch of these items.
pub(crate) fn parsed(items: Vec<RawItem>) -> FetchRecord {
    FetchRecord::Parsed {
        etag: None,
        last_modified: None,
        body_hash: "h".into(),
        feed_title: None,
        feed_link: None,
        ttl_seconds: None,
        items,
        admitted: Vec::new(),
    }
}

#[test]
fn refetched_items_update_in_place_and_never_duplicate() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_sources(&[source("http://x.test/feed")]).unwrap();
    let id = s.sources().unwrap()[0].id;
    let first = s
        .record_fetch(
            id,
            &parsed(vec![item("a", "A"), item("b", "B"), item("a", "A again")]),
            100,
            200,
            &mut OneStoryPerItem,
        )
        .unwrap();
    assert_eq!(
        first,
        IngestStats {
            new: 2,
            updated: 0,
            skipped: 1
        }
    );
    let same = s
        .record_fetch(
            id,
            &parsed(vec![item("a", "A"), item("b", "B")]),
            300,
            400,
            &mut OneStoryPerItem,
        )
        .unwrap();
    assert_eq!(same, IngestStats::default());
    let changed = s
        .record_fetch(
            id,
            &parsed(vec![item("a", "A, corrected")]),
            500,
            600,
            &mut OneStoryPerItem,
        )
        .unwrap();
    assert_eq!(changed.updated, 1);
    assert_eq!(s.item_count().unwrap(), 2);
    assert_eq!(s.story_count().unwrap(), 2);
}

#[test]
fn items_without_guid_are_keyed_by_link_then_title_and_date() {
    let mut no_guid = item("x", "T");
    no_guid.guid = None;
    assert_eq!(item_key(&no_guid).as_deref(), Some("link:http://x.test/x"));
    let tracked = RawItem {
        link: Some("http://x.test/x?utm_source=rss".into()),
        ..RawItem::default()
    };
    assert_eq!(item_key(&tracked), item_key(&no_guid));
    no_guid.link = None;
    assert!(item_key(&no_guid).unwrap().starts_with("hash:"));
    assert_eq!(item_key(&RawItem::default()), None);
}

#[test]
fn pruned_items_do_not_come_back() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_sources(&[source("http://x.test/feed")]).unwrap();
    let id = s.sources().unwrap()[0].id;
    s.record_fetch(
        id,
        &parsed(vec![item("old", "Old")]),
        1_000,
        0,
        &mut OneStoryPerItem,
    )
    .unwrap();
    assert_eq!(s.prune(2_000, 3_000, 0).unwrap(), 1);
    assert_eq!(s.story_count().unwrap(), 0);
    let again = s
        .record_fetch(
            id,
            &parsed(vec![item("old", "Old")]),
            4_000,
            0,
            &mut OneStoryPerItem,
        )
        .unwrap();
    assert_eq!(again.new, 0);
    assert_eq!(s.item_count().unwrap(), 0);
}

#[test]
fn failures_count_up_and_success_resets() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_sources(&[source("http://x.test/feed")]).unwrap();
    let id = s.sources().unwrap()[0].id;
    let fail = FetchRecord::Failed {
        error: "HTTP 500".into(),
        gone: false,
    };
    s.record_fetch(id, &fail, 10, 70, &mut OneStoryPerItem)
        .unwrap();
    s.record_fetch(id, &fail, 80, 200, &mut OneStoryPerItem)
        .unwrap();
    let rec = s.sources().unwrap().remove(0);
    assert_eq!((rec.error_count, rec.next_fetch_at), (2, 200));
    assert_eq!(rec.last_error.as_deref(), Some("HTTP 500"));
    s.record_fetch(id, &parsed(vec![]), 300, 400, &mut OneStoryPerItem)
        .unwrap();
    let rec = s.sources().unwrap().remove(0);
    assert_eq!((rec.error_count, rec.last_error), (0, None));
}

#[test]
fn filtered_items_are_stored_but_not_published() {
    let mut s = Store::open_in_memory().unwrap();
    let mut src = source("http://x.test/feed");
    src.category = Some("World".into());
    s.sync_sources(&[src]).unwrap();
    let id = s.sources().unwrap()[0].id;
    let record = FetchRecord::Parsed {
        etag: None,
        last_modified: None,
        body_hash: "h".into(),
        feed_title: None,
        feed_link: None,
        ttl_seconds: None,
        items: vec![item("a", "Kept"), item("b", "Dropped")],
        admitted: vec![true, false],
    };
    let stats = s
        .record_fetch(id, &record, 100, 200, &mut OneStoryPerItem)
        .unwrap();
    assert_eq!(stats.new, 2);
    assert_eq!(s.item_count().unwrap(), 2, "a filtered item is remembered");
    let stories = s.latest_stories(10).unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].items[0].title.as_deref(), Some("Kept"));
    assert_eq!(stories[0].items[0].categories, vec!["World".to_string()]);
}

#[test]
fn removed_sources_are_deactivated_not_deleted() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_sources(&[source("http://x.test/a"), source("http://x.test/b")])
        .unwrap();
    s.sync_sources(&[source("http://x.test/b")]).unwrap();
    let active: Vec<String> = s.sources().unwrap().into_iter().map(|r| r.url).collect();
    assert_eq!(active, vec!["http://x.test/b".to_string()]);
    assert!(s.source_by_url("http://x.test/a").unwrap().is_some());
}

#[test]
fn site_templates_are_learnt_per_host_after_repeats() {
    let mut s = Store::open_in_memory().unwrap();
    for page in 0..3 {
        s.learn_site_template("a.test", &[7, u64::MAX, 100 + page], 1000)
            .unwrap();
    }
    s.learn_site_template("b.test", &[9], 1000).unwrap();
    let known = s.site_template("a.test", 3).unwrap();
    assert_eq!(known, std::collections::HashSet::from([7, u64::MAX]));
    assert!(s.site_template("b.test", 3).unwrap().is_empty());
    // Rare blocks are forgotten after a month; repeated ones stay.
    s.learn_site_template("a.test", &[], 1000 + 31 * 86400)
        .unwrap();
    assert_eq!(s.site_template("a.test", 1).unwrap().len(), 2);
}

#[test]
fn processes_opening_a_new_database_at_once_all_get_the_schema() {
    // Before the migrations took the write lock first, one of two openers of a
    // new file failed with "table sources already exists" or "database is locked".
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Store::open(&path).map(|s| s.schema_version()))
            })
            .collect();
        let known = MIGRATIONS.last().unwrap().0;
        for opener in openers {
            let version = opener.join().unwrap().expect("every opener succeeds");
            assert_eq!(version.unwrap(), known);
        }
    }
}

#[test]
fn a_capped_database_fails_like_a_full_disk_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("capped.sqlite")).unwrap();
    assert!(s.created());
    s.sync_sources(&[source("http://x.test/a")]).unwrap();
    s.limit_size(1).unwrap();
    let id = s.sources().unwrap()[0].id;
    let many: Vec<RawItem> = (0..200)
        .map(|i| item(&format!("g{i}"), &"a long title ".repeat(40)))
        .collect();
    let err = s
        .record_fetch(id, &parsed(many), 1000, 2000, &mut OneStoryPerItem)
        .unwrap_err();
    assert!(err.is_machine_fault(), "{err}");
    assert!(err.to_string().contains("full"), "{err}");
    // Nothing of the failed write is stored.
    assert!(s.latest_stories(10).unwrap().is_empty());
}
