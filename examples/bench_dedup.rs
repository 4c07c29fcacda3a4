//! Dedup cost benchmark on a synthetic stream (measured, never asserted).
//!
//! `cargo run --release --example bench_dedup -- [SIZES...]` (default 10000 100000 1000000):
//! for each size W, fills the engine with W articles that all sit inside the 72 h
//! window, then times 5,000 more and prints µs per new article, articles/s and the
//! resident memory. Then streams 3×W articles at a rate where the window holds W,
//! to show memory stays bounded by the window rather than by the stream.
//!
//! With `--headlines` first, articles have no text (the headline path: two shared
//! words to join, and merges of split stories).
//!
//! `cargo run --release --example bench_dedup -- --jsonl N FILE` writes a synthetic
//! N-article stream for timing `feedsieve cluster` itself.
//!
//! `cargo run --release --example bench_dedup -- --refine [W]` (default 10000) fills
//! the engine with W articles without refining, then times one refinement of the
//! whole window from scratch (one thread) and prints its scope, pairs and moves.
//!
//! `cargo run --release --example bench_dedup -- --template [FEEDS] [TEMPLATED]` (default
//! 1000 and 200) streams FEEDS feeds of 50 items, one feed after another, of which every
//! FEEDS/TEMPLATED-th is templated (its items drawn from ~240 words, as
//! `synthetic_feeds.py --template` serves them), and prints the µs per article of
//! each kind and how many stories the templated items made.

use std::io::Write;
use std::time::Instant;

use feedsieve::dedup::{DedupArticle, DedupConfig, Engine};

/// A small deterministic generator (xorshift*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    /// Roughly Zipf over 0..n: small numbers are common.
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as u64
    }
}

const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "ber", "dan", "gor", "lin", "mar", "pol",
    "sen", "tur",
];

/// A pronounceable pseudo-word for a number (the stemmer sees word-like input).
fn word(mut n: u64) -> String {
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[(n % 16) as usize]);
        n /= 16;
        if n == 0 {
            break;
        }
    }
    w
}

/// The i-th article of the stream: stories of 1–4 articles, each article mixing
/// its story's topic words and names with background words.
fn article(rng: &mut Rng, i: u64, at: i64) -> DedupArticle {
    let story = i / 3 + rng.next() % 2;
    let mut srng = Rng(story.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let topic: Vec<String> = (0..8).map(|_| word(1000 + srng.zipf(200_000))).collect();
    let names: Vec<String> = (0..3)
        .map(|_| {
            let mut n = word(srng.zipf(50_000));
            n[..1].make_ascii_uppercase();
            n
        })
        .collect();
    let long = rng.next().is_multiple_of(10);
    let words = if long { 150 } else { 40 };
    let mut text = String::new();
    for k in 0..words {
        let w = match rng.next() % 10 {
            0..=2 => topic[(rng.next() % 8) as usize].clone(),
            3 => names[(rng.next() % 3) as usize].clone(),
            _ => word(rng.zipf(30_000)),
        };
        text.push_str(&w);
        text.push(if k % 15 == 14 { '.' } else { ' ' });
        text.push(' ');
    }
    let title = format!(
        "{} {} {} {} {}",
        names[0], topic[0], topic[1], topic[2], names[1]
    );
    DedupArticle {
        id: i.to_string(),
        source: format!("outlet{}", rng.next() % 500),
        url: format!("https://outlet{}.example/{}", rng.next() % 500, i),
        published: Some(at),
        title,
        text,
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

const WINDOW_SECS: i64 = 72 * 3600;
const T0: i64 = 1_700_000_000;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let headlines = args.first().map(String::as_str) == Some("--headlines");
    if headlines {
        args.remove(0);
    }
    let article = move |rng: &mut Rng, i: u64, at: i64| {
        let mut a = article(rng, i, at);
        if headlines {
            a.text.clear();
        }
        a
    };
    if args.first().map(String::as_str) == Some("--template") {
        template_mix(&args);
        return;
    }
    if args.first().map(String::as_str) == Some("--jsonl") {
        write_jsonl(&args, article);
        return;
    }
    if args.first().map(String::as_str) == Some("--refine") {
        let w = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
        time_refine(w, article);
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        args.iter().filter_map(|s| s.parse().ok()).collect()
    };
    println!("window articles | fill articles/s | µs per new article | articles/s | RSS MiB");
    for &w in &sizes {
        time_window(w, article);
    }
    stream(*sizes.first().unwrap_or(&10_000), article);
}

/// `--jsonl [N] [PATH]`: writes the synthetic stream for `feedsieve cluster`.
fn write_jsonl(args: &[String], article: impl Fn(&mut Rng, u64, i64) -> DedupArticle) {
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let path = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "stream.jsonl".into());
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut rng = Rng(42);
    for i in 0..n {
        let a = article(&mut rng, i, T0 + i as i64 * 10);
        let line = serde_json::json!({
            "id": a.id, "source": a.source, "url": a.url,
            "published": chrono::DateTime::from_timestamp(a.published.unwrap_or(T0), 0)
                .map(|d| d.to_rfc3339()).unwrap_or_default(),
            "title": a.title, "text": a.text,
        });
        writeln!(out, "{line}").unwrap();
    }
    eprintln!("wrote {n} articles to {path}");
}

/// Fills a window of `w` articles, then times `PROBE` new ones against it.
fn time_window(w: u64, article: impl Fn(&mut Rng, u64, i64) -> DedupArticle) {
    const PROBE: u64 = 5_000;
    let mut engine = Engine::new(DedupConfig::default());
    let mut rng = Rng(7);
    // All W articles (and the probe) inside the window.
    let step = WINDOW_SECS as f64 / (w + PROBE) as f64 / 2.0;
    let start = Instant::now();
    for i in 0..w {
        let a = article(&mut rng, i, T0 + (i as f64 * step) as i64);
        engine.assign(&a);
    }
    let fill = w as f64 / start.elapsed().as_secs_f64();
    let probe: Vec<DedupArticle> = (w..w + PROBE)
        .map(|i| article(&mut rng, i, T0 + (i as f64 * step) as i64))
        .collect();
    let start = Instant::now();
    for a in &probe {
        engine.assign(a);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:>15} | {:>15.0} | {:>18.1} | {:>10.0} | {:>7.0}",
        engine.window_len(),
        fill,
        secs * 1e6 / PROBE as f64,
        PROBE as f64 / secs,
        rss_mib()
    );
}

/// Memory bounded by the window: streams 3×W with the window holding about W.
fn stream(w: u64, article: impl Fn(&mut Rng, u64, i64) -> DedupArticle) {
    let mut engine = Engine::new(DedupConfig::default());
    let mut rng = Rng(9);
    let step = WINDOW_SECS / w as i64;
    println!("\nstreaming with about {w} articles in the window:");
    println!("articles streamed | in window | RSS MiB");
    for i in 0..3 * w {
        engine.assign(&article(&mut rng, i, T0 + i as i64 * step.max(1)));
        if (i + 1) % w == 0 {
            println!(
                "{:>17} | {:>9} | {:>7.0}",
                i + 1,
                engine.window_len(),
                rss_mib()
            );
        }
    }
}

/// `--refine [W]`: one refinement of a W-article window from scratch.
fn time_refine(w: u64, article: impl Fn(&mut Rng, u64, i64) -> DedupArticle) {
    let mut engine = Engine::new(DedupConfig::default());
    let mut rng = Rng(11);
    let step = WINDOW_SECS as f64 / w as f64 / 2.0;
    for i in 0..w {
        engine.assign(&article(&mut rng, i, T0 + (i as f64 * step) as i64));
    }
    let next = engine.next_story_id();
    let start = Instant::now();
    let r = engine
        .refine_with(|r| Ok::<_, std::convert::Infallible>((next..).take(r.new_stories).collect()))
        .unwrap_or_default();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "refined {} articles from scratch in {:.3} s: {} pairs scored (cap {}), {} moved, \
         {} new stories, {} emptied; RSS {:.0} MiB",
        r.scope,
        secs,
        r.pairs,
        feedsieve::dedup::MAX_PAIRS,
        r.moves.len(),
        r.new_stories,
        r.emptied.len(),
        rss_mib()
    );
}

/// A word of the templated feeds' ~240-word vocabulary: a syllable said once
/// to three times (what `synthetic_feeds.py --template` draws from).
fn template_word(i: u64) -> String {
    const C: &[u8] = b"bcdfghklmnprstvz";
    const V: &[u8] = b"aeiou";
    let syllable = [C[(i % 16) as usize], V[(i / 16 % 5) as usize]];
    let syllable = std::str::from_utf8(&syllable).unwrap_or("ba");
    syllable.repeat(1 + (i % 3) as usize)
}

/// Item `i` of templated feed `feed`: a title of 8 and two paragraphs of 60
/// words, drawn log-uniformly from 20,000 ranks folded onto the small vocabulary.
fn template_article(feed: u64, i: u64, at: i64) -> DedupArticle {
    let mut rng = Rng((feed << 32 | i).wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let mut draw = |n: usize| {
        (0..n)
            .map(|_| {
                let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                template_word(20_000f64.powf(u) as u64 - 1)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let title = draw(8);
    let text = format!("{}.\n{}.", draw(60), draw(60));
    DedupArticle {
        id: format!("t{feed}-{i}"),
        source: format!("Template feed {feed}"),
        url: format!("http://example.org/{feed}/{i}.html"),
        published: Some(at),
        title,
        text,
    }
}

/// `--template [FEEDS] [TEMPLATED]`: templated feeds among normal ones, feed by feed.
fn template_mix(args: &[String]) {
    const ITEMS: u64 = 50;
    let feeds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let templated: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let every = (feeds / templated.max(1)).max(1);
    let mut engine = Engine::new(DedupConfig::default());
    let mut rng = Rng(11);
    let (mut t_secs, mut t_n, mut n_secs, mut n_n) = (0.0f64, 0u64, 0.0f64, 0u64);
    let mut template_stories: std::collections::HashMap<i64, usize> = Default::default();
    let mut normal_i = 0u64;
    // Every decision (story and layer) in one number: two builds that print the
    // same digest decided the whole stream alike.
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    for f in 0..feeds {
        let is_template = f % every == 0 && f / every < templated;
        for i in 0..ITEMS {
            let at = T0 + ((f * ITEMS + i) * 5) as i64;
            let a = if is_template {
                template_article(f, i, at)
            } else {
                normal_i += 1;
                article(&mut rng, normal_i, at)
            };
            let start = Instant::now();
            let ev = engine.assign(&a);
            let secs = start.elapsed().as_secs_f64();
            for x in [ev.story.unwrap_or(-1) as u64, ev.layer as u64] {
                digest = (digest ^ x).wrapping_mul(0x0100_0000_01b3);
            }
            if is_template {
                (t_secs, t_n) = (t_secs + secs, t_n + 1);
                if let Some(s) = ev.story {
                    *template_stories.entry(s).or_default() += 1;
                }
                if let Some(m) = ev.merged {
                    let moved = template_stories.remove(&m.absorbed).unwrap_or(0);
                    *template_stories.entry(m.survivor).or_default() += moved;
                }
            } else {
                (n_secs, n_n) = (n_secs + secs, n_n + 1);
            }
        }
    }
    let largest = template_stories.values().max().copied().unwrap_or(0);
    println!(
        "feeds: {feeds} ({templated} templated), {ITEMS} items each, window {} articles",
        engine.window_len()
    );
    println!(
        "normal articles: {n_n}, {:.1} µs per article",
        n_secs * 1e6 / n_n.max(1) as f64
    );
    println!(
        "templated articles: {t_n}, {:.1} µs per article",
        t_secs * 1e6 / t_n.max(1) as f64
    );
    println!(
        "templated articles made {} stories (largest {largest} articles)",
        template_stories.len()
    );
    println!("decisions digest: {digest:016x}");
}
