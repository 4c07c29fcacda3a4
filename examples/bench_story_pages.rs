//! Times story pages: 200 published stories of 3 outlets each (articles of 20
//! sentences, about 60 % of each later version shared with the first), rendered
//! on one thread with the feeds, then again with every page reused, then with
//! one story changed. Run with `cargo run --release --example bench_story_pages`.

#[path = "support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

use std::collections::HashMap;
use std::time::Instant;

use feedsieve::publish::{render_with, FeedIds, OutputConfig};
use feedsieve::store::{JoinRecord, Story, StoryItem};

const STORIES: usize = 200;
const OUTLETS: usize = 3;
const SENTENCES: usize = 20;

fn article(state: &mut u64, shared: &[String]) -> String {
    (0..SENTENCES)
        .map(|i| match shared.get(i) {
            Some(s) if i % 5 < 3 => s.clone(),
            _ => format!("{} {}.", synthetic::words(state, 18), i * 7),
        })
        .map(|s| format!("<p>{s}</p>"))
        .collect()
}

fn member(s: usize, o: usize, content: String) -> StoryItem {
    StoryItem {
        id: (s * OUTLETS + o) as i64 + 1,
        source_name: format!("Outlet {o}"),
        source_url: format!("https://outlet{o}.test/feed"),
        title: Some(format!("Story {s} as outlet {o} tells it")),
        link: Some(format!("https://outlet{o}.test/{s}")),
        summary: None,
        content: Some(content),
        author: None,
        published_at: Some(1_765_000_000 + (s * 600 + o * 60) as i64),
        updated_at: None,
        first_seen_at: 1_765_000_000 + (s * 600 + o * 60) as i64 + 30,
        changed_at: 1_765_000_000 + (s * 600 + o * 60) as i64 + 30,
        categories: Vec::new(),
        source_category: None,
        enclosures: Vec::new(),
    }
}

fn stories() -> (Vec<Story>, HashMap<i64, JoinRecord>) {
    let mut state = 7u64;
    let mut joins = HashMap::new();
    let stories = (0..STORIES)
        .map(|s| {
            let shared: Vec<String> = (0..SENTENCES)
                .map(|i| format!("{} {}.", synthetic::words(&mut state, 18), i))
                .collect();
            let items: Vec<StoryItem> = (0..OUTLETS)
                .map(|o| {
                    member(
                        s,
                        o,
                        article(&mut state, if o == 0 { &[] } else { &shared }),
                    )
                })
                .collect();
            for (o, i) in items.iter().enumerate() {
                let layer = if o == 0 { "new" } else { "similar" };
                let record = JoinRecord {
                    layer: Some(layer.into()),
                    score: Some(0.4),
                    matched: None,
                };
                joins.insert(i.id, record);
            }
            Story {
                id: s as i64 + 1,
                guid: format!("feedsieve:story:{s:032x}"),
                sort_at: 1_765_000_000 + s as i64 * 600,
                updated_at: 1_765_000_000 + s as i64 * 600 + 200,
                changed_at: None,
                items,
            }
        })
        .collect();
    (stories, joins)
}

fn main() {
    let out = OutputConfig {
        title: "bench".into(),
        link: "https://news.example.org/".into(),
        description: "d".into(),
        path: "feed.xml".into(),
        max_items: STORIES,
        hub: None,
    };
    let ids = FeedIds::new("news.example.org", "2026-12-06");
    let (mut stories, joins) = stories();
    for round in 1..=3 {
        let t = Instant::now();
        let first = render_with(&out, &ids, &stories, &joins, None, 0);
        let all = t.elapsed();
        let t = Instant::now();
        let again = render_with(&out, &ids, &stories, &joins, Some(&first.stories), 0);
        let reused = t.elapsed();
        stories[0].updated_at += 1;
        let t = Instant::now();
        let one = render_with(&out, &ids, &stories, &joins, Some(&again.stories), 0);
        let changed = t.elapsed();
        let fresh = one.stories.iter().filter(|(_, p)| p.fresh).count();
        println!(
            "round {round}: {} stories × {OUTLETS} outlets: feeds + all pages {:.1} ms, \
             feeds with every page reused {:.1} ms (pages alone ≈ {:.1} ms); \
             one story changed: {:.1} ms, {fresh} page rendered",
            first.stories.len(),
            all.as_secs_f64() * 1e3,
            reused.as_secs_f64() * 1e3,
            (all.saturating_sub(reused)).as_secs_f64() * 1e3,
            changed.as_secs_f64() * 1e3,
        );
    }
}
