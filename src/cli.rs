//! Command-line interface. Each command is thin: it calls the same stage
//! functions the daemon calls.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use url::Url;

use crate::config::Config;
use crate::daemon::{self, Shutdown};
use crate::fetch::{FetchConfig, Fetcher, Validators};
use crate::pipeline::{self, Context, Outcome, Selection};
use crate::read::{read_feed, read_feed_as, InspectFeed, ParsedFeed};
use crate::util::write_stdout;

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
    /// Log format on standard error: text, json (one object per line), or journald (text with syslog priorities, for a systemd service).
    // Possible values are named in the line above: every subcommand's help shows
    // this option, and a block per value would repeat there.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, hide_possible_values = true)]
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
    /// One JSON object per line (for Loki, Elasticsearch…).
    Json,
    /// Lines for the systemd journal: no time (the journal adds it), each
    /// starting with its syslog priority, so `journalctl -p warning` works.
    Journald,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: fetch each source when due, publish the combined feed and serve
    /// it over HTTP (GET /feed.xml, GET /healthz) until SIGINT or SIGTERM.
    Run {
        /// Listen on this address instead of `[server] listen` (e.g. 127.0.0.1:9000).
        #[arg(long, value_name = "ADDR", value_parser = crate::config::parse_listen)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Run one full cycle over every source (due or not; a source backing off after a failure waits, unless named by --source), prune past retention, publish, and exit.
    /// Shows progress when standard output is a terminal. Exits 3 when some
    /// sources failed, 4 when every source failed.
    Fetch {
        /// Fetch only this source now (its name or URL).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Validate the config file; exits non-zero and prints each error with its line.
    Check,
    /// Show every source: last fetch, result, items, next fetch, failures, last error.
    Status,
    /// List the configured sources, one a line: kind, name, last result, items,
    /// next fetch, URL (`disabled` for `enabled = false`).
    Sources,
    /// Remove a source (by name or URL) from the config, keeping its comments and
    /// the other sources.
    Remove {
        /// The source's name or URL.
        #[arg(value_name = "NAME|URL")]
        source: String,
    },
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
    /// Replay articles through the story dedup engine (same engine and [dedup]
    /// settings as the daemon): reads {"id","source","url","published","title","text"}
    /// per line in arrival order, writes {"id","cluster"} per line.
    Cluster {
        /// Articles, JSON Lines (`-` reads standard input).
        #[arg(long)]
        input: PathBuf,
        /// Assignments, JSON Lines (`-` writes standard output).
        #[arg(long)]
        output: PathBuf,
        /// Refine the stories every N articles (as the daemon does after each
        /// cycle), and at the end; 0 refines only at the end.
        #[arg(long, default_value_t = crate::dedup_cli::DEFAULT_BATCH)]
        batch: usize,
    },
    /// List the newest stories with their members (representative first, marked
    /// `*`) and the dedup layer that joined each.
    Stories {
        /// How many stories.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per story and line.
        #[arg(long)]
        json: bool,
    },
    /// Show the similarity evidence between two stored items (ids from
    /// `feedsieve stories`) and which layer decided.
    Explain {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// First item id (as `stories` prints it: `#4` or `4`).
        #[arg(value_parser = item_id)]
        item_a: i64,
        /// Second item id.
        #[arg(value_parser = item_id)]
        item_b: i64,
    },
    /// Print the cleaned article of web pages (files, .html.gz files or URLs): the text
    /// (default) or the sanitised HTML. Use it to tune a source's `content`/`remove` rules.
    Clean(crate::clean::CleanArgs),
    /// Print the links a [[page]] source would follow on listing pages (files, .html.gz
    /// files or URLs), with their titles, and say which structure they came from.
    Links(crate::links_cli::LinksArgs),
}

impl Command {
    /// True for the commands that only look (`status`, `stories`, `explain`,
    /// `check`, `export-opml`): they log warnings only, and create no database.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::Status
                | Command::Sources
                | Command::Stories { .. }
                | Command::Explain { .. }
                | Command::Check
                | Command::ExportOpml
        )
    }
}

/// An item id as typed: `4`, or `#4` as `feedsieve stories` prints it.
fn item_id(arg: &str) -> Result<i64, String> {
    let digits = arg.trim().trim_start_matches('#');
    digits.parse::<i64>().map_err(|_| {
        format!("{arg:?} is not an item id (a number such as 4 or #4, from `feedsieve stories`)")
    })
}

/// `fetch`: some sources failed (the others were read and published).
pub const EXIT_SOME_FAILED: u8 = 3;
/// `fetch`: every source failed.
pub const EXIT_ALL_FAILED: u8 = 4;

/// Runs the parsed command line.
pub fn main_with(cli: Cli) -> ExitCode {
    if cli.command.only_prints() {
        end_quietly_when_the_reader_goes();
    }
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
                        println!(
                            "{}",
                            serde_json::json!({ "error": crate::util::error_text(&e) })
                        );
                    } else {
                        eprintln!("error: {target}: {}", crate::util::error_text(&e));
                    }
                    code = ExitCode::FAILURE;
                }
            }
            code
        }
        Command::Status => report(status(&cli.config)),
        Command::Add {
            url,
            name,
            category,
        } => report(add(&cli.config, &url, name, category)),
        Command::ImportOpml { file } => report(import_opml(&cli.config, &file)),
        Command::ExportOpml => report(crate::sources_cli::export_opml(&cli.config)),
        Command::Init { force } => report(init(&cli.config, force)),
        Command::BenchRead { list, reps } => report(bench_read(&list, reps)),
        Command::Sources => report(
            load_to_look(&cli.config)
                .and_then(|(cfg, errors)| crate::sources_cli::list(&cfg, errors)),
        ),
        Command::Remove { source } => report(crate::sources_cli::remove(&cli.config, &source)),
        Command::Run { listen } => report(run_daemon(&cli.config, listen)),
        Command::Fetch { source } => report_code(fetch_once(&cli.config, source.as_deref())),
        Command::Cluster {
            input,
            output,
            batch,
        } => report(
            crate::dedup_cli::dedup_config(&cli.config, config_given())
                .and_then(|cfg| crate::dedup_cli::cluster(cfg, &input, &output, batch).map(|_| ())),
        ),
        Command::Stories { limit, json } => report(
            load_to_look(&cli.config)
                .and_then(|(cfg, _)| crate::dedup_cli::stories(cfg, limit, json)),
        ),
        Command::Explain {
            json,
            item_a,
            item_b,
        } => report(
            load_to_look(&cli.config)
                .and_then(|(cfg, _)| crate::dedup_cli::explain(cfg, item_a, item_b, json)),
        ),
        Command::Links(args) => report_code(crate::links_cli::run(&args)),
        Command::Clean(args) => match crate::clean::run(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {}", crate::util::error_text(&e));
                ExitCode::FAILURE
            }
        },
    }
}

fn report_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("error: {}", crate::util::error_text(&e));
        ExitCode::FAILURE
    })
}

/// True when the user named a config file (flag or environment), so a missing
/// file is an error rather than "use the defaults".
fn config_given() -> bool {
    std::env::var_os("FEEDSIEVE_CONFIG").is_some()
        || std::env::args_os()
            .any(|a| a == "--config" || a.to_string_lossy().starts_with("--config="))
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::util::error_text(&e));
            ExitCode::FAILURE
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The config for a command that only looks: what is valid of it, with a
/// warning (and true) when the file has errors, for that is when a user
/// most needs `status`: the daemon goes on with its last good config.
fn load_to_look(path: &std::path::Path) -> anyhow::Result<(Config, bool)> {
    let (config, errors) = Config::load_lenient(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(errors) = &errors {
        let it = if errors.0.len() == 1 { "it" } else { "them" };
        eprintln!(
            "warning: {} has {} (`feedsieve check` lists {it}); showing what it names \
             without {it}. A running daemon keeps its last good config.",
            path.display(),
            crate::util::count(errors.0.len(), "error"),
        );
    }
    Ok((config, errors.is_some()))
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
                "{}: ok ({}, {}; database {}; feed {})",
                path.display(),
                crate::util::count(feeds, "feed"),
                crate::util::count(cfg.sources.len() - feeds, "page"),
                cfg.database.path.display(),
                cfg.output.path.display()
            );
            note_missing_database(&cfg);
            if cfg.sources.is_empty() {
                eprintln!(
                    "note: no sources yet: add one with `feedsieve add URL` (a running daemon \
                     does not reload a file without sources: it keeps its last good config)"
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

/// `check`: says when the database does not exist, so that a start creates a
/// new, empty one, and warns when a published feed says there was one.
fn note_missing_database(cfg: &Config) {
    let db = &cfg.database.path;
    match std::fs::metadata(db) {
        Ok(m) if m.len() > 0 => return,
        Ok(_) => println!(
            "note: the database {} is an empty file: a new database is made of it on the first run or fetch",
            db.display()
        ),
        Err(_) => println!(
            "note: there is no database at {}: a new database is created at {} on the first run or fetch",
            db.display(),
            db.display()
        ),
    }
    if let Some(n) = crate::publish::published_items(&cfg.output).filter(|&n| n > 0) {
        eprintln!(
            "warning: {} holds {n} published stories, but their database {} is missing: was it deleted or moved? \
             A new one starts the history over; put the old file back to keep it",
            cfg.output.path.display(),
            db.display()
        );
    }
}

impl Command {
    /// Commands whose work is their output: a closed pipe (`| head`) ends them.
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Command::Check
                | Command::Inspect { out_dir: None, .. }
                | Command::Status
                | Command::ExportOpml
                | Command::Sources
                | Command::Stories { .. }
                | Command::Explain { .. }
                | Command::Links(_)
                | Command::Clean(_)
        )
    }
}

/// Restores the default SIGPIPE action, as `cat` and `grep` have it: when the
/// reader of a listing goes away (`feedsieve stories | head`), the command ends
/// at once and silently instead of failing on "Broken pipe". Not for `run` or
/// `fetch`, whose sockets must never end the process.
fn end_quietly_when_the_reader_goes() {
    #[cfg(unix)]
    // SAFETY: sets a signal disposition to its default before any thread starts;
    // no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// How long `fetch` and `run` wait for a lock held by someone looking.
const LOOKERS_HOLD: std::time::Duration = std::time::Duration::from_secs(3);

/// Takes the database's lock for this process, or says who owns it.
fn lock_database(cfg: &Config) -> anyhow::Result<crate::store::DbLock> {
    Ok(crate::store::DbLock::acquire_waiting(
        &cfg.database.path,
        LOOKERS_HOLD,
    )?)
}

fn run_daemon(path: &std::path::Path, listen: Option<std::net::SocketAddr>) -> anyhow::Result<()> {
    let mut config = load(path)?;
    if let Some(addr) = listen {
        config.override_listen(addr);
    }
    let listener = daemon::bind(config.server.listen)?;
    // Dropped last, after the runtime and every connection (see DbLock).
    let lock = std::sync::Arc::new(std::sync::Mutex::new(lock_database(&config)?));
    let daemon_lock = lock.clone();
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut ctx = Context::open(config)?;
        ctx.db_lock = Some(daemon_lock);
        tracing::info!(
            sources = ctx.config.sources.len(),
            database = %ctx.config.database.path.display(),
            "feedsieve {} starting",
            env!("CARGO_PKG_VERSION")
        );
        if ctx.config.sources.is_empty() {
            tracing::warn!(
                "no sources in {}: add one with `feedsieve add URL` (the daemon picks it up at once)",
                ctx.config.path.display()
            );
        }
        let shutdown = Shutdown::new();
        daemon::stop_on_signals(shutdown.clone());
        daemon::serve(ctx, listener, shutdown).await
    })
}

/// The sources `selection` leaves out, each still failing: those waiting out a
/// backoff and those that answered 410 Gone: (name, why, in words).
async fn backing_off(
    ctx: &Context,
    selection: &Selection,
) -> anyhow::Result<Vec<(String, String)>> {
    if !matches!(selection, Selection::AllButBackingOff) {
        return Ok(Vec::new());
    }
    let now = ctx.clock.now();
    let sources = ctx.store.call(|s| s.sources()).await?;
    Ok(sources
        .into_iter()
        .filter(|s| s.gone || s.backing_off(now))
        .map(|s| {
            let why = if s.gone {
                "answered 410 Gone and is not fetched again: remove it from the config".to_string()
            } else {
                let wait = std::time::Duration::from_secs((s.next_fetch_at - now).unsigned_abs());
                format!(
                    "failed lately and waits {} more",
                    crate::schedule::in_words(wait)
                )
            };
            (s.name, why)
        })
        .collect())
}

/// Prints what a `fetch` cycle did: counts, then each failed source and each
/// left out (`resting`: name, why). Returns how many failed.
fn print_summary(report: &pipeline::CycleReport, resting: &[(String, String)]) -> usize {
    let mut ok = 0;
    let (mut new, mut updated, mut unchanged) = (0, 0, 0);
    let mut failed = Vec::new();
    let mut moved = Vec::new();
    for o in &report.outcomes {
        match &o.outcome {
            Outcome::Stored(s) => {
                ok += 1;
                new += s.new;
                updated += s.updated;
            }
            Outcome::NotModified | Outcome::Unchanged | Outcome::Cancelled => unchanged += 1,
            Outcome::Moved => moved.push(o.name.clone()),
            Outcome::Failed(e) => failed.push((
                o.name.clone(),
                crate::util::http::masked_password(&o.url),
                e.clone(),
            )),
        }
    }
    // Those left out count where the exit status counts them.
    let resting_note = match resting.len() {
        0 => String::new(),
        n => format!("; {n} not fetched while backing off"),
    };
    println!(
        "{}: {ok} read ({new} new items, {updated} updated), {unchanged} unchanged, {} failed{resting_note}",
        crate::util::count(report.outcomes.len(), "source"),
        failed.len()
    );
    for (name, url, e) in &failed {
        println!("  failed: {name} <{url}>: {e}");
    }
    for name in moved {
        println!(
            "  not kept: {name}: its url was edited during the fetch (fetched there next time)"
        );
    }
    for (name, why) in resting {
        println!(
            "  not fetched: {name} {why} (`feedsieve fetch --source \"{name}\"` tries it now)"
        );
    }
    failed.len()
}

/// One cycle; the exit code says whether every source, some or none failed.
fn fetch_once(path: &std::path::Path, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    if config.sources.is_empty() {
        eprintln!(
            "note: no sources in {}: add one with `feedsieve add URL`",
            path.display()
        );
    }
    let selection = match only {
        None => Selection::AllButBackingOff,
        Some(target) => {
            let source = crate::sources_cli::find(&config, target)?;
            if !source.enabled {
                anyhow::bail!(
                    "\"{}\" has `enabled = false` in {}: enable it to fetch it",
                    source.name,
                    path.display()
                );
            }
            Selection::Url(source.url.to_string())
        }
    };
    // A daemon on the same database fetches on its own; two writers would
    // fetch every source twice.
    let _lock = lock_database(&config)?;
    let rt = runtime()?;
    let tty = std::io::stdout().is_terminal();
    rt.block_on(async move {
        let ctx = Context::open(config)?;
        let resting = backing_off(&ctx, &selection).await?;
        let mut report = pipeline::run_cycle(&ctx, selection, |o, done, total| {
            if tty {
                println!("[{done}/{total}] {}: {}", o.name, describe(&o.outcome));
            }
        })
        .await?;
        let failed = print_summary(&report, &resting);
        // Retention, as the daemon applies it (after the fetches: it counts
        // to the newest one), and the feeds without what it took.
        let pruned = pipeline::prune(&ctx)
            .await
            .context("cannot prune items past retention")?;
        if pruned > 0 {
            tracing::info!(items = pruned, "pruned items past retention");
            report.published = Some(pipeline::publish(&ctx).await?);
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
        // A source left out while it backs off is still failing: cron hears of it.
        let failing = failed + resting.len();
        Ok(match failing {
            0 => ExitCode::SUCCESS,
            n if n == report.outcomes.len() + resting.len() => ExitCode::from(EXIT_ALL_FAILED),
            _ => ExitCode::from(EXIT_SOME_FAILED),
        })
    })
}

/// The http or https URL a user typed for `add`. A site's name without its
/// scheme ("example.org/feed", "localhost:8080/feed", which parses with
/// "localhost" as its scheme) is offered with one, when that is an address:
/// http for a local server, https otherwise.
fn source_url(typed: &str) -> anyhow::Result<Url> {
    let typed = typed.trim();
    if std::path::Path::new(typed).is_file() {
        anyhow::bail!(
            "{typed} is a file: `feedsieve add` takes a web address (an OPML file of feeds is \
             added with `feedsieve import-opml {typed}`)"
        );
    }
    let offered = ["https://", "http://"].map(|scheme| Url::parse(&format!("{scheme}{typed}")));
    let host = offered[0]
        .as_ref()
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let local = host.as_deref().is_some_and(|h| {
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[')
    });
    let named = host
        .as_deref()
        .is_some_and(|h| h.contains('.') && h.split('.').all(|label| !label.is_empty()));
    let addressable =
        !typed.contains("://") && !typed.contains(char::is_whitespace) && (local || named);
    let suggestion = match (addressable, local) {
        (true, true) => format!(": did you mean http://{typed}?"),
        (true, false) => format!(": did you mean https://{typed}?"),
        (false, _) => " (e.g. https://example.org/news/feed.xml)".into(),
    };
    let url =
        Url::parse(typed).map_err(|_| anyhow::anyhow!("{typed} is not a valid URL{suggestion}"))?;
    match (matches!(url.scheme(), "http" | "https"), addressable) {
        (true, _) => Ok(url),
        (false, true) => anyhow::bail!("{typed} is no web address{suggestion}"),
        (false, false) => anyhow::bail!("only http and https sources can be added"),
    }
}

fn add(
    path: &std::path::Path,
    url: &str,
    name: Option<String>,
    category: Option<String>,
) -> anyhow::Result<()> {
    use crate::sources::{append_sources, discover, NewSource};
    let url = source_url(url)?;
    let config = Config::load(path).ok();
    // Known already (a trailing slash aside): say so without fetching anything.
    if let Some(known) = config.as_ref().and_then(|c| {
        c.sources
            .iter()
            .find(|s| crate::config::url_key(&s.url) == crate::config::url_key(&url))
    }) {
        anyhow::bail!(
            "{url} is already in {} (as \"{}\")",
            path.display(),
            known.name
        );
    }
    let fetch = config.map(|c| c.fetch).unwrap_or_default();
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
        enabled: true,
    };
    let created = !path.exists();
    let (added, skipped) = append_sources(path, std::slice::from_ref(&source))?;
    if !skipped.is_empty() {
        // Found through the page (its feed, a section): say how, and as what.
        let known = Config::load(path).ok().and_then(|c| {
            let key = crate::config::url_key(&source.url);
            (c.sources.into_iter()).find(|s| crate::config::url_key(&s.url) == key)
        });
        let named = known
            .map(|k| format!(" (as \"{}\")", k.name))
            .unwrap_or_default();
        anyhow::bail!(
            "{} is already in {}{named}: {}",
            source.url,
            path.display(),
            found.how
        );
    }
    for s in added {
        println!(
            "added [[{}]] \"{}\" <{}> to {} ({})",
            s.kind.as_str(),
            s.name,
            crate::util::http::masked_password(s.url.as_str()),
            path.display(),
            found.how
        );
        if s.name != source.name {
            eprintln!(
                "note: another source is named \"{}\" already (names label `status` rows and \
                 /metrics series), so this one is \"{}\"; edit its `name` or `remove` and add it \
                 again with --name to choose another",
                source.name, s.name
            );
        }
    }
    say_created(path, created);
    Ok(())
}

/// After a command wrote sources to a config file that was not there: says
/// so, for a user who meant another file (a daemon's `--config`) would
/// otherwise believe the daemon got them.
fn say_created(path: &std::path::Path, created: bool) {
    if created {
        eprintln!(
            "note: {} did not exist, so it was created with only these sources (database and \
             feeds in db/ beside it). If your config is elsewhere, pass --config PATH (or set \
             FEEDSIEVE_CONFIG) and add them there; `feedsieve init` writes a commented config.",
            path.display()
        );
    }
}

fn import_opml(path: &std::path::Path, file: &std::path::Path) -> anyhow::Result<()> {
    let xml =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let opml =
        crate::sources::parse_opml(&xml).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let created = !path.exists();
    let (added, skipped) = crate::sources::append_sources(path, &opml.sources)?;
    say_created(path, created && !added.is_empty());
    println!(
        "{}: {} read, {} added to {}, {} already there, {} skipped",
        file.display(),
        crate::util::count(opml.sources.len(), "source"),
        added.len(),
        path.display(),
        skipped.len(),
        crate::util::count(opml.skipped.len(), "outline")
    );
    for s in &opml.skipped {
        println!("  skipped \"{}\": {}", s.name, s.reason);
    }
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
    let (cfg, has_errors) = load_to_look(path)?;
    // Looking must not create (or migrate) a database.
    if !crate::store::database_exists(&cfg.database.path) {
        println!(
            "{} configured; no database yet at {} (`feedsieve fetch` or `feedsieve run` creates it)",
            crate::util::count(cfg.sources.len(), "source"),
            cfg.database.path.display()
        );
        for s in &cfg.sources {
            let url = crate::util::http::masked_password(s.url.as_str());
            println!("\n{}  <{url}>\n  last fetch: never", s.name);
        }
        return Ok(());
    }
    let store = &crate::sources_cli::open_to_look(&cfg, has_errors)?;
    let gauges = crate::metrics::StoredGauges {
        sources: store.source_stats()?,
        stories: store.story_count()?,
        published: 0,
    };
    let rows = crate::server::status_rows(&gauges);
    println!(
        "{}, {} stored ({})",
        crate::util::count(rows.len(), "source"),
        crate::util::count(usize::try_from(gauges.stories).unwrap_or(0), "story"),
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
        if r.result.starts_with("warning") {
            println!("  warning: {}", r.last_error);
        } else if !r.last_error.is_empty() {
            println!("  last error: {}", r.last_error);
        }
    }
    // Not fetched, so not among the rows: named, as `sources` shows them.
    let disabled: Vec<&str> = (cfg.sources.iter())
        .filter(|s| !s.enabled)
        .map(|s| s.name.as_str())
        .collect();
    if !disabled.is_empty() {
        println!("\ndisabled (enabled = false): {}", disabled.join(", "));
    }
    Ok(())
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Stored(s) => format!("{} new, {} updated", s.new, s.updated),
        Outcome::NotModified => "not modified".into(),
        Outcome::Unchanged => "unchanged".into(),
        Outcome::Failed(e) => format!("failed: {e}"),
        Outcome::Cancelled => "not fetched: stopping".into(),
        Outcome::Moved => "not kept: its url was edited during the fetch".into(),
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
        let _ = writeln!(out, "{}", crate::util::count(view.entries.len(), "entry"));
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
    write_stdout(&out).context("writing to standard output")
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
                                serde_json::json!({ "error": crate::util::error_text(&e) })
                                    .to_string()
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
