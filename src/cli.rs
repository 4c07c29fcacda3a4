//! Command-line interface. Each command is thin: it calls the same stage
//! functions the daemon calls.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use url::Url;

use crate::config::{Config, FetchConfig};
use crate::daemon::{self, Shutdown};
use crate::fetch::{Fetcher, Validators};
use crate::pipeline::{self, Context, Outcome, Selection};
use crate::read::{read_feed, read_feed_as, InspectFeed, ParsedFeed};

/// feedsieve: fetches the feeds and pages in feeds.toml, keeps them in SQLite and
/// republishes one clean combined feed.
#[derive(Debug, Parser)]
#[command(name = "feedsieve", version, about, long_about = None)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        default_value = "feeds.toml",
        env = "FEEDSIEVE_CONFIG"
    )]
    pub config: PathBuf,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: fetch each source when due, publish the combined feed and serve
    /// it over HTTP (GET /feed.xml, GET /healthz) until SIGINT or SIGTERM.
    Run,
    /// Run one full cycle over every source (due or not), publish, and exit.
    /// Shows progress when standard output is a terminal.
    Fetch,
    /// Validate the config file; exits non-zero and prints each error with its line.
    Check,
    /// Show how feedsieve reads feeds, from files or URLs: exactly what the daemon
    /// would store.
    Inspect {
        /// Print JSON: {"title","link","entries":[{"id","title","link","published","summary"}]}.
        #[arg(long)]
        json: bool,
        /// Write one JSON file per input into DIR (feed.xml -> DIR/feed.json), reading on all cores.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Feed files or http(s) URLs.
        #[arg(required = true, value_name = "FILE_OR_URL")]
        targets: Vec<String>,
    },
    /// Benchmark the feed reader: reads every file named in LIST (one path a line)
    /// REPS times in this process and prints {"files","reps","seconds"}.
    #[command(hide = true)]
    BenchRead {
        /// A file listing one feed path per line.
        list: PathBuf,
        /// Repetitions over the whole list.
        #[arg(default_value_t = 1)]
        reps: u32,
    },
}

/// Runs the parsed command line.
pub fn main_with(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check => check(&cli.config),
        // --out-dir always writes JSON.
        Command::Inspect {
            json: _,
            out_dir: Some(dir),
            targets,
        } => report_code(inspect_to_dir(&targets, &dir)),
        Command::Inspect {
            json,
            out_dir: None,
            targets,
        } => {
            let mut code = ExitCode::SUCCESS;
            for target in &targets {
                if let Err(e) = inspect(target, json) {
                    if json {
                        println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
                    } else {
                        eprintln!("error: {target}: {e:#}");
                    }
                    code = ExitCode::FAILURE;
                }
            }
            code
        }
        Command::BenchRead { list, reps } => report(bench_read(&list, reps)),
        Command::Run => report(run_daemon(&cli.config)),
        Command::Fetch => report(fetch_once(&cli.config)),
    }
}

fn report_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn check(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(cfg) => {
            let feeds = cfg
                .sources
                .iter()
                .filter(|s| s.kind == crate::config::SourceKind::Feed)
                .count();
            println!(
                "{}: ok ({} feeds, {} pages; database {}; feed {})",
                path.display(),
                feeds,
                cfg.sources.len() - feeds,
                cfg.database.path.display(),
                cfg.output.path.display()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

fn run_daemon(path: &std::path::Path) -> anyhow::Result<()> {
    let config = load(path)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let ctx = Context::open(config)?;
        tracing::info!(
            sources = ctx.config.sources.len(),
            database = %ctx.config.database.path.display(),
            "feedsieve {} starting",
            env!("CARGO_PKG_VERSION")
        );
        let shutdown = Shutdown::new();
        daemon::stop_on_signals(shutdown.clone());
        daemon::run(ctx, shutdown).await
    })
}

fn fetch_once(path: &std::path::Path) -> anyhow::Result<()> {
    let config = load(path)?;
    let rt = runtime()?;
    let tty = std::io::stdout().is_terminal();
    rt.block_on(async move {
        let ctx = Context::open(config)?;
        let report = pipeline::run_cycle(&ctx, Selection::All, |o, done, total| {
            if tty {
                println!("[{done}/{total}] {}: {}", o.name, describe(&o.outcome));
            }
        })
        .await?;
        let mut ok = 0;
        let (mut new, mut updated, mut unchanged) = (0, 0, 0);
        let mut failed = Vec::new();
        for o in &report.outcomes {
            match &o.outcome {
                Outcome::Stored(s) => {
                    ok += 1;
                    new += s.new;
                    updated += s.updated;
                }
                Outcome::NotModified | Outcome::Unchanged => unchanged += 1,
                Outcome::Failed(e) => failed.push((o.name.clone(), o.url.clone(), e.clone())),
            }
        }
        println!(
            "{} sources: {ok} read ({new} new items, {updated} updated), {unchanged} unchanged, {} failed",
            report.outcomes.len(),
            failed.len()
        );
        for (name, url, e) in &failed {
            println!("  failed: {name} <{url}>: {e}");
        }
        match &report.published {
            Some(feed) => println!(
                "published {} stories to {}",
                feed.items,
                ctx.config.output.path.display()
            ),
            None => println!(
                "nothing changed; {} left as it was",
                ctx.config.output.path.display()
            ),
        }
        Ok(())
    })
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Stored(s) => format!("{} new, {} updated", s.new, s.updated),
        Outcome::NotModified => "not modified".into(),
        Outcome::Unchanged => "unchanged".into(),
        Outcome::Failed(e) => format!("failed: {e}"),
    }
}

/// Reads one file or URL the way the daemon does.
fn read_target(target: &str) -> anyhow::Result<ParsedFeed> {
    if target.starts_with("http://") || target.starts_with("https://") {
        let url = Url::parse(target).with_context(|| format!("{target} is not a valid URL"))?;
        let rt = runtime()?;
        let fetched = rt.block_on(async {
            let fetcher = Fetcher::new(&FetchConfig::default())?;
            fetcher.fetch(&url, &Validators::default()).await
        })?;
        Ok(read_feed_as(
            &fetched.body,
            &fetched.final_url,
            fetched.headers.content_type.as_deref(),
        )?)
    } else {
        let path = std::path::Path::new(target);
        let body = std::fs::read(path).with_context(|| format!("reading {target}"))?;
        Ok(read_feed(&body, &file_url(path)?)?)
    }
}

fn file_url(path: &std::path::Path) -> anyhow::Result<Url> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Url::from_file_path(&abs)
        .map_err(|()| anyhow::anyhow!("cannot make a URL of {}", abs.display()))
}

fn inspect(target: &str, json: bool) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let feed = read_target(target)?;
    let view = InspectFeed::from(&feed);
    let mut out = String::new();
    if json {
        out = serde_json::to_string(&view)?;
        out.push('\n');
    } else {
        let _ = writeln!(
            out,
            "{}",
            view.title.as_deref().unwrap_or("(untitled feed)")
        );
        if let Some(link) = &view.link {
            let _ = writeln!(out, "{link}");
        }
        let _ = writeln!(out, "{} entries", view.entries.len());
        for e in &view.entries {
            let _ = writeln!(
                out,
                "- {} | {} | {}",
                e.published.as_deref().unwrap_or("no date"),
                e.title.as_deref().unwrap_or("(untitled)"),
                e.link.as_deref().unwrap_or("(no link)")
            );
        }
    }
    write_stdout(&out)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to standard output"))
        }
        _ => Ok(()),
    }
}

/// `inspect --out-dir`: DIR/<stem>.json per input (an `{"error"}` object for one
/// that cannot be read), inputs shared out over all cores.
fn inspect_to_dir(targets: &[String], dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut seen = std::collections::HashSet::new();
    let clashes: Vec<&String> = targets
        .iter()
        .filter(|t| !seen.insert(stem_of(t)))
        .collect();
    if let Some(first) = clashes.first() {
        eprintln!(
            "warning: {} inputs have the same file name as an earlier one (e.g. {first}); \
             their JSON overwrites the earlier file's",
            clashes.len()
        );
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .min(targets.len().max(1));
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(target) = targets.get(i) else {
                            return Ok(());
                        };
                        let json = match read_target(target) {
                            Ok(feed) => serde_json::to_string(&InspectFeed::from(&feed))?,
                            Err(e) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                serde_json::json!({ "error": format!("{e:#}") }).to_string()
                            }
                        };
                        let out = dir.join(format!("{}.json", stem_of(target)));
                        std::fs::write(&out, json)
                            .with_context(|| format!("writing {}", out.display()))?;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("an inspect worker crashed"))??;
        }
        Ok(())
    })?;
    let failed = failed.into_inner();
    if failed > 0 {
        eprintln!(
            "{failed} of {} inputs could not be read as feeds",
            targets.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The output name for an input: its file name without the last extension.
fn stem_of(target: &str) -> String {
    let name = target
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(target);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "feed".to_string()
    } else {
        stem
    }
}

/// The hidden `bench-read` command: read every listed file `reps` times in one
/// process (bodies preloaded, like the reference timing) and print the wall time.
fn bench_read(list: &std::path::Path, reps: u32) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?;
    let mut docs = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = std::path::Path::new(line);
        let body = std::fs::read(path).with_context(|| format!("reading {line}"))?;
        docs.push((body, file_url(path)?));
    }
    let started = std::time::Instant::now();
    let mut entries = 0usize;
    for _ in 0..reps {
        for (body, base) in &docs {
            if let Ok(feed) = read_feed(body, base) {
                entries += InspectFeed::from(&feed).entries.len();
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({ "files": docs.len(), "reps": reps, "seconds": seconds, "entries": entries })
    );
    Ok(())
}
