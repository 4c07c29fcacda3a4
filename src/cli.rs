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
use crate::read::{read_feed, InspectFeed};

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
    /// Show how feedsieve reads one feed, from a file or a URL.
    Inspect {
        /// Print JSON: {"title","link","entries":[{"id","title","link","published","summary"}]}.
        #[arg(long)]
        json: bool,
        /// A feed file or an http(s) URL.
        target: String,
    },
    /// Print the cleaned article of web pages (files, .html.gz files or URLs): the text
    /// (default) or the sanitised HTML. Use it to tune a source's `content`/`remove` rules.
    Clean(CleanArgs),
}

/// Arguments of `feedsieve clean`.
#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// Print the article as plain text (the default).
    #[arg(long, conflicts_with = "html")]
    pub text: bool,
    /// Print the article as sanitised HTML.
    #[arg(long)]
    pub html: bool,
    /// The page's address, for resolving links in files (default: the file's own URL).
    #[arg(long, value_name = "BASE_URL")]
    pub url: Option<String>,
    /// Write DIR/<stem>.txt (or .html) per input instead of printing; files are
    /// processed on all cores.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// CSS selector of the element holding the article (as `content =` in feeds.toml).
    #[arg(long, value_name = "CSS")]
    pub content: Option<String>,
    /// CSS selector of an element to remove (repeatable; as `remove = [...]`).
    #[arg(long, value_name = "CSS")]
    pub remove: Vec<String>,
    /// Pages (.html or .html.gz files, or http(s) URLs).
    #[arg(required = true, value_name = "FILE_OR_URL")]
    pub inputs: Vec<String>,
}

/// Runs the parsed command line.
pub fn main_with(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check => check(&cli.config),
        Command::Inspect { json, target } => match inspect(&target, json) {
            Ok(code) => code,
            Err(e) => {
                if json {
                    println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
                } else {
                    eprintln!("error: {e:#}");
                }
                ExitCode::FAILURE
            }
        },
        Command::Run => report(run_daemon(&cli.config)),
        Command::Fetch => report(fetch_once(&cli.config)),
        Command::Clean(args) => match crate::clean::run(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
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

fn inspect(target: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (body, base) = if target.starts_with("http://") || target.starts_with("https://") {
        let url = Url::parse(target).with_context(|| format!("{target} is not a valid URL"))?;
        let rt = runtime()?;
        let fetched = rt.block_on(async {
            let fetcher = Fetcher::new(&FetchConfig::default())?;
            fetcher.fetch(&url, &Validators::default()).await
        })?;
        (fetched.body.to_vec(), fetched.final_url)
    } else {
        let path = std::path::Path::new(target);
        let body = std::fs::read(path).with_context(|| format!("reading {target}"))?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = Url::from_file_path(&abs)
            .map_err(|()| anyhow::anyhow!("cannot make a URL of {}", abs.display()))?;
        (body, base)
    };
    let feed = read_feed(&body, &base)?;
    let view = InspectFeed::from(&feed);
    if json {
        println!("{}", serde_json::to_string(&view)?);
    } else {
        println!("{}", view.title.as_deref().unwrap_or("(untitled feed)"));
        if let Some(link) = &view.link {
            println!("{link}");
        }
        println!("{} entries", view.entries.len());
        for e in &view.entries {
            println!(
                "- {} | {} | {}",
                e.published.as_deref().unwrap_or("no date"),
                e.title.as_deref().unwrap_or("(untitled)"),
                e.link.as_deref().unwrap_or("(no link)")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
