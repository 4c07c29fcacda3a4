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
    /// Log format on standard error: human-readable text, or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for journald, Loki, Elasticsearch…).
    Json,
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
    /// Show every source: last fetch, result, items, next fetch, failures, last error.
    Status,
    /// Write a commented starter feeds.toml (at --config) and create its db/ folder.
    Init {
        /// Overwrite an existing config file.
        #[arg(long)]
        force: bool,
    },
    /// Add a source: a feed URL as a [[feed]]; for a web page, the feed it announces
    /// (or one at a common path such as /feed), else the page itself as a [[page]].
    /// Edits the config in place, keeping its comments.
    Add {
        /// The feed or page URL.
        url: String,
        /// The outlet name (default: the feed's or page's own title).
        #[arg(long)]
        name: Option<String>,
        /// A category for the source.
        #[arg(long)]
        category: Option<String>,
    },
    /// Add the sources of an OPML file (folders become categories); skips duplicates.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
    },
    /// Print the configured sources as OPML 2.0 (categories become folders).
    ExportOpml,
    /// Show how feedsieve reads one feed, from a file or a URL.
    Inspect {
        /// Print JSON: {"title","link","entries":[{"id","title","link","published","summary"}]}.
        #[arg(long)]
        json: bool,
        /// A feed file or an http(s) URL.
        target: String,
    },
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
        Command::Status => report(status(&cli.config)),
        Command::Add {
            url,
            name,
            category,
        } => report(add(&cli.config, &url, name, category)),
        Command::ImportOpml { file } => report(import_opml(&cli.config, &file)),
        Command::ExportOpml => report(load(&cli.config).map(|cfg| {
            print!("{}", crate::sources::export_opml(&cfg));
        })),
        Command::Init { force } => report(init(&cli.config, force)),
        Command::Run => report(run_daemon(&cli.config)),
        Command::Fetch => report(fetch_once(&cli.config)),
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
            Some(publication) => println!(
                "published {} stories to {}",
                publication.rss.items,
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

fn add(
    path: &std::path::Path,
    url: &str,
    name: Option<String>,
    category: Option<String>,
) -> anyhow::Result<()> {
    use crate::sources::{append_sources, discover, NewSource};
    let url = Url::parse(url.trim()).with_context(|| format!("{url} is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        anyhow::bail!("only http and https sources can be added");
    }
    let fetch = Config::load(path).map(|c| c.fetch).unwrap_or_default();
    let rt = runtime()?;
    let found = rt.block_on(async {
        let fetcher = Fetcher::new(&fetch)?;
        anyhow::Ok(discover(&fetcher, &url).await?)
    })?;
    let name = name
        .or_else(|| found.title.clone())
        .unwrap_or_else(|| found.url.host_str().unwrap_or("source").to_string());
    let source = NewSource {
        kind: found.kind,
        name,
        url: found.url.clone(),
        category,
    };
    let (added, skipped) = append_sources(path, std::slice::from_ref(&source))?;
    if !skipped.is_empty() {
        anyhow::bail!("{} is already in {}", source.url, path.display());
    }
    for s in added {
        println!(
            "added [[{}]] \"{}\" <{}> to {} ({})",
            s.kind.as_str(),
            s.name,
            s.url,
            path.display(),
            found.how
        );
    }
    Ok(())
}

fn import_opml(path: &std::path::Path, file: &std::path::Path) -> anyhow::Result<()> {
    let xml =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let sources =
        crate::sources::parse_opml(&xml).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (added, skipped) = crate::sources::append_sources(path, &sources)?;
    println!(
        "{}: {} sources read, {} added to {}, {} already there",
        file.display(),
        sources.len(),
        added.len(),
        path.display(),
        skipped.len()
    );
    Ok(())
}

/// The starter config written by `feedsieve init`: the shipped, commented one.
const STARTER_CONFIG: &str = include_str!("../feeds.toml");

fn init(path: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, STARTER_CONFIG).with_context(|| format!("writing {}", path.display()))?;
    let cfg = load(path)?;
    let db_dir = cfg
        .database
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    std::fs::create_dir_all(&db_dir).with_context(|| format!("creating {}", db_dir.display()))?;
    println!(
        "wrote {} ({} sources) and created {}/\nedit it, check it with `feedsieve --config {} check`, then start `feedsieve --config {} run`",
        path.display(),
        cfg.sources.len(),
        db_dir.display(),
        path.display(),
        path.display()
    );
    Ok(())
}

fn status(path: &std::path::Path) -> anyhow::Result<()> {
    let cfg = load(path)?;
    let mut store = crate::store::Store::open(&cfg.database.path)
        .with_context(|| format!("opening {}", cfg.database.path.display()))?;
    store.sync_sources(&cfg.sources)?;
    let gauges = crate::metrics::StoredGauges {
        sources: store.source_stats()?,
        stories: store.story_count()?,
        published: 0,
    };
    let rows = crate::server::status_rows(&gauges);
    println!(
        "{} sources, {} stories stored ({})",
        rows.len(),
        gauges.stories,
        cfg.database.path.display()
    );
    for r in rows {
        println!("\n{}  <{}>", r.name, r.url);
        println!(
            "  last fetch: {}  result: {}  items: {}",
            r.last_fetch, r.result, r.items
        );
        println!(
            "  next fetch: {}  failures in a row: {}",
            r.next_fetch, r.errors
        );
        if !r.last_error.is_empty() {
            println!("  last error: {}", r.last_error);
        }
    }
    Ok(())
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
