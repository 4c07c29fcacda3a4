//! The dedup commands: `cluster` (replay articles through the engine), `stories`
//! and `explain` (what the daemon decided, and why).

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;

use crate::config::Config;
use crate::dedup::{DedupArticle, DedupConfig, Engine};
use crate::pipeline::dedup::{stored_article, StoryDedup};
use crate::publish::FeedIds;

/// Reads a date as RFC 3339, RFC 2822 or Unix seconds; empty is no date.
pub fn parse_published(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .or_else(|_| chrono::DateTime::parse_from_rfc2822(s))
                .map(|d| d.timestamp())
                .ok()
                .or_else(|| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                        .ok()
                        .map(|d| d.and_utc().timestamp())
                })
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(12, 0, 0))
                        .map(|d| d.and_utc().timestamp())
                })
                .or_else(|| s.parse().ok())
        }
        _ => None,
    }
}

/// The dedup settings of the config file, or the defaults when the default
/// config file does not exist (so `cluster` works outside a deployment).
pub fn dedup_config(path: &Path, explicit: bool) -> anyhow::Result<DedupConfig> {
    if !explicit && !path.exists() {
        tracing::info!(
            "{} not found: using the default [dedup] settings",
            path.display()
        );
        return Ok(DedupConfig::default());
    }
    let cfg = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(cfg.dedup)
}

/// Most bad input lines reported at once; the rest are counted.
const MAX_LINE_ERRORS: usize = 20;

/// Articles between two refinements in `feedsieve cluster` by default: about
/// one daemon cycle's new items (1,000 feeds, a few new items each).
pub const DEFAULT_BATCH: usize = 500;

/// `feedsieve cluster`: replays a JSONL stream (a file, or `-` for standard
/// input) through the engine, refining the stories every `batch` articles (0:
/// only at the end) and at the end, as the daemon does after each cycle, and
/// writes `{"id","cluster"}` per line, in input order. Every bad line is
/// reported (by its line number) before anything runs.
pub fn cluster(
    config: DedupConfig,
    input: &Path,
    output: &Path,
    batch: usize,
) -> anyhow::Result<usize> {
    let articles = read_articles(input)?;
    // `-` writes to standard output, as `--input -` reads standard input.
    let out: Box<dyn Write> = if output == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(output)
                .with_context(|| format!("creating {}", output.display()))?,
        )
    };
    let mut out = BufWriter::new(out);
    let mut engine = Engine::open(config).context("starting the dedup engine")?;
    let mut replay = Replay::default();
    let n = articles.len();
    let mut raw_ids = Vec::with_capacity(n);
    for (i, (raw_id, article)) in articles.into_iter().enumerate() {
        let ev = engine.assign(&article);
        *replay.by_layer.entry(ev.layer.as_str()).or_default() += 1;
        if let Some(m) = ev.merged {
            replay.merged_into.insert(m.absorbed, m.survivor);
            *replay.by_layer.entry("merges").or_default() += 1;
        }
        replay.index.insert(article.id, i);
        replay.story.push(ev.story.unwrap_or_default());
        raw_ids.push(raw_id);
        if batch > 0 && (i + 1) % batch == 0 {
            replay.refine(&mut engine);
        }
    }
    replay.refine(&mut engine);
    for (i, id) in raw_ids.into_iter().enumerate() {
        let story = replay.final_story(i);
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({ "id": id, "cluster": format!("s{story}") }),
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("writing {}", output.display()))?;
    let layers: Vec<String> = replay
        .by_layer
        .iter()
        .map(|(l, c)| format!("{l} {c}"))
        .collect();
    tracing::info!("{n} articles: {} (decisions by layer)", layers.join(", "));
    Ok(n)
}

/// What `cluster` tracks of every article while it replays them.
#[derive(Default)]
struct Replay {
    /// Each article's story as last decided, by input position.
    story: Vec<crate::dedup::StoryId>,
    /// Input position by article id.
    index: std::collections::HashMap<String, usize>,
    /// Stories merged later take their members along, as they do in the store.
    merged_into: std::collections::HashMap<crate::dedup::StoryId, crate::dedup::StoryId>,
    by_layer: std::collections::BTreeMap<&'static str, usize>,
}

impl Replay {
    /// Refines the engine's stories, numbering new ones as the engine would.
    fn refine(&mut self, engine: &mut Engine) {
        let next = engine.next_story_id();
        let Ok(r) = engine.refine_with(|r| {
            Ok::<_, std::convert::Infallible>((next..).take(r.new_stories).collect())
        });
        for m in &r.moves {
            let to = match m.to {
                crate::dedup::Target::Story(s) => s,
                crate::dedup::Target::New(k) => next + k as i64,
            };
            if let Some(&i) = self.index.get(&m.article) {
                self.story[i] = to;
            }
        }
        *self.by_layer.entry("refined").or_default() += r.moves.len();
    }

    /// The story of the article at input position `i` after every merge.
    fn final_story(&self, i: usize) -> crate::dedup::StoryId {
        let mut story = self.story[i];
        // Merge chains are short; the bound guards against a cycle.
        for _ in 0..64 {
            match self.merged_into.get(&story) {
                Some(&next) if next != story => story = next,
                _ => break,
            }
        }
        story
    }
}

/// Every article of the input with its id as written, or every bad line's error.
fn read_articles(input: &Path) -> anyhow::Result<Vec<(serde_json::Value, DedupArticle)>> {
    let name = input.display().to_string();
    let reader: Box<dyn BufRead> = if input == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(input).with_context(|| format!("opening {name}"))?;
        Box::new(std::io::BufReader::new(file))
    };
    let name = if name == "-" { "<stdin>".into() } else { name };
    let mut articles = Vec::new();
    let mut errors = Vec::new();
    let mut first_line_of: std::collections::HashMap<String, usize> = Default::default();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        // A byte-order mark some editors write is not part of the JSON.
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            &line
        };
        if line.trim().is_empty() {
            continue;
        }
        match article_of(line) {
            Ok((raw_id, article)) => match first_line_of.get(&article.id) {
                Some(first) => errors.push(format!(
                    "{name}:{}: the id {:?} is already used on line {first}",
                    i + 1,
                    article.id
                )),
                None => {
                    first_line_of.insert(article.id.clone(), i + 1);
                    articles.push((raw_id, article));
                }
            },
            Err(e) => errors.push(format!("{name}:{}: {e}", i + 1)),
        }
    }
    if errors.is_empty() {
        return Ok(articles);
    }
    let more = errors.len().saturating_sub(MAX_LINE_ERRORS);
    errors.truncate(MAX_LINE_ERRORS);
    if more > 0 {
        errors.push(format!("… and {more} more bad lines"));
    }
    anyhow::bail!(
        "{} has lines that are not articles; nothing was clustered:\n{}",
        name,
        errors.join("\n")
    )
}

/// One input line as an article, or what is wrong with it in plain words.
fn article_of(line: &str) -> Result<(serde_json::Value, DedupArticle), String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        let what = e.to_string();
        let what = what.split(" at line ").next().unwrap_or(&what).to_string();
        format!("not valid JSON at column {} ({what})", e.column())
    })?;
    let serde_json::Value::Object(mut obj) = value else {
        return Err(
            "not an article object (expected {\"id\", \"source\", \"url\", \"published\", \"title\", \"text\"})"
                .into(),
        );
    };
    let raw_id = obj.remove("id").ok_or("no `id`")?;
    let id = match &raw_id {
        serde_json::Value::String(s) if !s.trim().is_empty() => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => {
            return Err(format!(
                "`id` must be a non-empty text or a number, not {raw_id}"
            ))
        }
    };
    let mut text_of = |key: &str| -> Result<String, String> {
        match obj.remove(key) {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(other) => Err(format!("`{key}` must be text, not {other}")),
        }
    };
    let (source, url) = (text_of("source")?, text_of("url")?);
    let (title, text) = (text_of("title")?, text_of("text")?);
    if title.trim().is_empty() && text.trim().is_empty() {
        return Err("no `title` and no `text`: nothing to compare (is a key misspelt?)".into());
    }
    let published = match obj.remove("published") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(parse_published(&v).ok_or_else(|| {
            format!(
                "`published` {v} is not a date (expected e.g. \"2025-12-14T18:30:00Z\", \
                 an RFC 2822 date, \"2025-12-14\", Unix seconds, or \"\" for none)"
            )
        })?),
    };
    let article = DedupArticle {
        id,
        source,
        url,
        published,
        title,
        text,
    };
    Ok((raw_id, article))
}

/// The config, its database, and the ids stories are published under (so the
/// commands show the ids readers see); `None` when there is no database yet.
fn open_store(config: Config) -> anyhow::Result<Option<(Config, crate::store::Store, FeedIds)>> {
    if !crate::store::database_exists(&config.database.path) {
        return Ok(None);
    }
    let mut store = crate::store::Store::open_to_read(&config.database.path, |_| Ok(()))
        .with_context(|| format!("opening the database {}", config.database.path.display()))?;
    // Looking fixes no ids: that is the first publish's to do.
    let now = chrono::Utc::now().timestamp();
    let ids = FeedIds::load_or_init(&mut store, &config.output, now, false)
        .context("reading the feed ids")?;
    Ok(Some((config, store, ids)))
}

fn date(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "no date".into())
}

/// `feedsieve stories`: the newest stories with their members, representative
/// first, and how each member joined.
pub fn stories(config: Config, limit: usize, json: bool) -> anyhow::Result<()> {
    let Some((_, store, ids)) = open_store(config)? else {
        println!("no stories: there is no database yet (run `feedsieve fetch` first)");
        return Ok(());
    };
    let stories = store.latest_stories(limit).context("reading stories")?;
    use std::fmt::Write as _;
    // Written at once, so that a reader that goes away (`| head`) is no error.
    let mut out = String::new();
    for story in &stories {
        let mut members = Vec::new();
        for item in &story.items {
            let d = store.item_assignment(item.id).context("reading an item")?;
            members.push((item, d));
        }
        if json {
            // What each member reports that the members before it do not
            // (null: headline only, or past the comparison cap).
            let diffs = crate::publish::member_diffs(story);
            let m: Vec<serde_json::Value> = members
                .iter()
                .zip(&diffs)
                .map(|((item, d), diff)| {
                    serde_json::json!({
                        "item": item.id,
                        "source": item.source_name,
                        "title": item.title,
                        "link": item.link,
                        "published": item.published_at,
                        "layer": d.as_ref().and_then(|d| d.layer.clone()),
                        "score": d.as_ref().and_then(|d| d.score),
                        "matched": d.as_ref().and_then(|d| d.matched),
                        "unique_sentences": diff.as_ref().map(|d| &d.new),
                    })
                })
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::json!({ "guid": ids.story_id(&story.guid), "sort_at": story.sort_at, "members": m })
            )?;
        } else {
            let representative = story.items.first();
            let title =
                representative.map_or_else(|| "(untitled)".into(), crate::publish::item_title);
            // The representative's date, as the feeds and the front page show it.
            let shown = representative.map_or(story.sort_at, crate::publish::shown_date);
            writeln!(
                out,
                "{}  {}  [{}]",
                date(Some(shown)),
                crate::util::fit(&title, 200),
                ids.story_id(&story.guid)
            )?;
            for (i, (item, d)) in members.iter().enumerate() {
                let how = match d.as_ref().and_then(|d| d.layer.as_deref()) {
                    Some(layer) => match d.as_ref().and_then(|d| d.score) {
                        Some(score) if layer != "new" => format!("{layer} {score:.3}"),
                        _ => layer.to_string(),
                    },
                    None => "before dedup".into(),
                };
                writeln!(
                    out,
                    "  {} {:<7} {:<20} {:<16} {}",
                    if i == 0 { "*" } else { " " },
                    format!("#{}", item.id),
                    crate::util::fit(&item.source_name, 20),
                    how,
                    crate::util::fit(&crate::publish::item_title(item), 200)
                )?;
            }
        }
    }
    if !json && stories.is_empty() && limit > 0 {
        writeln!(out, "no stories yet: run `feedsieve fetch`")?;
    }
    crate::util::write_stdout(&out).context("writing to standard output")
}

/// `feedsieve explain A B`: the evidence between two stored items, and which
/// layer decided (or would decide) whether they are one story.
pub fn explain(config: Config, a: i64, b: i64, json: bool) -> anyhow::Result<()> {
    let Some((config, store, ids)) = open_store(config)? else {
        anyhow::bail!(
            "there is no database yet, so no items to explain (run `feedsieve fetch` first)"
        );
    };
    let ia = store
        .item_assignment(a)?
        .with_context(|| format!("no item #{a} (see `feedsieve stories`)"))?;
    let ib = store
        .item_assignment(b)?
        .with_context(|| format!("no item #{b} (see `feedsieve stories`)"))?;
    // The window's statistics (IDF) as the daemon has them now.
    let dedup = StoryDedup::restore(&store, config.dedup.clone(), chrono::Utc::now().timestamp())
        .context("restoring the dedup window")?;
    let mut engine = dedup.engine();
    let ev = engine.compare(&stored_article(&ia), &stored_article(&ib));
    let same = ia.story_id == ib.story_id;
    // The later item's stored decision is what joined (or did not join) them.
    let later = if b > a { &ib } else { &ia };
    let (moves_a, moves_b) = (store.item_moves(a)?, store.item_moves(b)?);
    if json {
        let moves = |ms: &[crate::store::StoryMove]| -> Vec<serde_json::Value> {
            ms.iter()
                .map(|m| {
                    serde_json::json!({ "from_story": m.from_story, "to_story": m.to_story,
                    "layer": m.layer, "score": m.score, "matched": m.matched, "at": m.moved_at })
                })
                .collect()
        };
        println!(
            "{}",
            serde_json::json!({
                "same_story": same,
                "decided_by": if same { later.layer.clone() } else { None },
                "a": { "item": a, "story": ids.story_id(&ia.story_guid), "layer": ia.layer, "score": ia.score, "matched": ia.matched, "moves": moves(&moves_a) },
                "b": { "item": b, "story": ids.story_id(&ib.story_guid), "layer": ib.layer, "score": ib.score, "matched": ib.matched, "moves": moves(&moves_b) },
                "evidence": ev,
            })
        );
        return Ok(());
    }
    for (n, i, moves) in [(a, &ia, &moves_a), (b, &ib, &moves_b)] {
        println!(
            "#{n} {} | {} | {}\n    story {} ({})",
            i.source,
            date(i.published_at),
            i.title.as_deref().unwrap_or_default(),
            ids.story_id(&i.story_guid),
            i.layer.as_deref().unwrap_or("stored before dedup"),
        );
        print_moves(moves, |row| match store.story_guid(row) {
            Ok(Some(guid)) => ids.story_id(&guid),
            _ => format!("a story no longer stored (row {row})"),
        });
    }
    if same {
        println!(
            "same story: joined by the {} layer{}",
            later.layer.as_deref().unwrap_or("(unknown)"),
            later
                .matched
                .map(|m| format!(" (matched #{m})"))
                .unwrap_or_default()
        );
    } else {
        println!("different stories");
    }
    print_evidence(&ev, engine.config());
    print_pair_note(&ev, same);
    Ok(())
}

/// Why the pair's verdict can differ from where the two were stored: the pair
/// is scored alone; the daemon scored each article against whole stories, in
/// the window as it was then.
fn print_pair_note(ev: &crate::dedup::PairEvidence, same: bool) {
    let pair_joins = ev.layer != crate::dedup::Layer::New;
    if pair_joins && !same {
        println!(
            "  (alone, the two would be one story; each was judged against the stories in the \
             window when it arrived, whole stories with their other members, and the story it \
             would have joined may have left the window or scored lower)"
        );
    } else if !pair_joins && same {
        println!(
            "  (alone, the two would stay apart today; they are one story through its other \
             members, or one of them changed after it joined)"
        );
    }
}

/// An item's recorded moves between stories, one line each.
/// `story` names a story by its row id: its id in the feeds while it is stored.
fn print_moves(moves: &[crate::store::StoryMove], story: impl Fn(i64) -> String) {
    for m in moves {
        println!(
            "    {} {}: moved from {} to {}{}{}",
            date(Some(m.moved_at)),
            match m.layer.as_str() {
                "merge" => "its story merged into another",
                "refined" => "refined",
                "revised" => "judged again after its text changed",
                other => other,
            },
            story(m.from_story),
            story(m.to_story),
            m.score
                .map(|s| format!(", similarity {s:.3}"))
                .unwrap_or_default(),
            m.matched
                .map(|x| format!(" (most like #{x})"))
                .unwrap_or_default(),
        );
    }
}

/// The pair evidence of `explain`, one line per measure.
fn print_evidence(ev: &crate::dedup::PairEvidence, config: &DedupConfig) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    println!(
        "evidence:\n  canonical URLs  {} | {}",
        ev.canonical.0.as_deref().unwrap_or("-"),
        ev.canonical.1.as_deref().unwrap_or("-")
    );
    println!(
        "  shingle overlap {} (near-copy from {:.2})",
        opt(ev.copy_similarity),
        config.copy_similarity
    );
    println!(
        "  cosine          full text {:.3}, title+lead {:.3}",
        ev.full_cosine, ev.head_cosine
    );
    if let Some(e) = ev.embedding_cosine {
        println!("  embeddings      cosine {e:.3}");
    }
    println!(
        "  days apart      {}",
        ev.days_apart.map_or("-".into(), |d| format!("{d:.1}"))
    );
    println!("  numbers differ  {}", ev.conflicting_numbers);
    println!(
        "  adjusted        {:.3} against threshold {:.3}",
        ev.adjusted, ev.threshold
    );
    println!("  pair verdict    {}", ev.layer.as_str());
}
