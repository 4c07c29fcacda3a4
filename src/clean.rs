//! `feedsieve clean`: the extraction stage on files and URLs, as users tune it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use url::Url;

use crate::extract::{self, Article, Options, Trace};
use crate::fetch::{FetchConfig, Fetcher, Validators};

/// One page to clean: its bytes, its URL and the HTTP charset if fetched.
pub(crate) struct Input {
    /// The page as served (decompressed).
    pub(crate) body: Vec<u8>,
    /// Its address: `--url`, the final URL after redirects, or the file's URL.
    pub(crate) url: Url,
    /// The charset named in the HTTP headers.
    pub(crate) charset: Option<String>,
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
    /// Print, instead of the article, why the root was chosen (the content
    /// selector, the scorer with its runners-up, or a fallback step) and each
    /// block removed inside it with the rule that removed it.
    #[arg(long, conflicts_with_all = ["html", "out_dir"])]
    pub explain: bool,
    /// Pages (.html or .html.gz files, or http(s) URLs).
    #[arg(required = true, value_name = "FILE_OR_URL")]
    pub inputs: Vec<String>,
}

/// Runs `feedsieve clean`; non-zero exit when any input failed.
pub fn run(args: &CleanArgs) -> anyhow::Result<ExitCode> {
    let base = args
        .url
        .as_deref()
        .map(|u| Url::parse(u).with_context(|| format!("--url {u} is not a valid URL")))
        .transpose()?;
    for css in args.content.iter().chain(&args.remove) {
        extract::check_selector(css)?;
    }
    let opts = Options {
        content: args.content.clone(),
        remove: args.remove.clone(),
        html: args.html,
        ..Options::default()
    };
    match &args.out_dir {
        Some(dir) => to_dir(args, dir, base.as_ref(), &opts),
        None => to_stdout(args, base.as_ref(), &opts),
    }
}

fn to_stdout(args: &CleanArgs, base: Option<&Url>, opts: &Options) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let stdout = std::io::stdout();
    for (n, target) in args.inputs.iter().enumerate() {
        let mut trace = args.explain.then(Trace::default);
        let result =
            load(target, base).and_then(|input| clean_one(target, &input, opts, trace.as_mut()));
        let mut out = stdout.lock();
        if args.inputs.len() > 1 && (result.is_ok() || trace.is_some()) {
            if n > 0 {
                writeln!(out)?;
            }
            writeln!(out, "==> {target} <==")?;
        }
        if let Some(trace) = &trace {
            writeln!(out, "{trace}")?;
        }
        match result {
            Ok(article) => {
                warn_unmatched(target, &article, opts);
                if trace.is_none() {
                    writeln!(out, "{}", render(&article, args.html))?;
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("{target}: {}", crate::util::error_text(&e));
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn to_dir(
    args: &CleanArgs,
    dir: &Path,
    base: Option<&Url>,
    opts: &Options,
) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ext = if args.html { "html" } else { "txt" };
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(args.inputs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(target) = args.inputs.get(i) else {
                    break;
                };
                let out = dir.join(format!("{}.{ext}", stem(target)));
                let result =
                    load(target, base).and_then(|input| clean_one(target, &input, opts, None));
                let body = match result {
                    Ok(article) => {
                        warn_unmatched(target, &article, opts);
                        render(&article, args.html)
                    }
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{target}: {}", crate::util::error_text(&e));
                        String::new()
                    }
                };
                if let Err(e) = write_if_changed(&out, &body) {
                    failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("{}: {e}", out.display());
                }
            });
        }
    });
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("{failed} of {} inputs failed", args.inputs.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `body` to `path`, unless the file there holds it already: a file
/// whose article did not change keeps its time, so `ls -t` shows what a new
/// `--remove` rule changed. Rewriting every file was also slow: on ext4,
/// closing a truncated and rewritten file writes it out at once (the
/// `auto_da_alloc` safeguard), and 786 pages took 0.81–0.84 s run over their
/// own output against 0.69–0.70 s into a new directory (`/usr/bin/time`).
/// Not [`crate::util::write_atomically`]: an fsync per file suits the feeds
/// readers fetch, not hundreds of outputs a person reads afterwards.
fn write_if_changed(path: &Path, body: &str) -> std::io::Result<()> {
    if crate::util::holds(path, body.as_bytes()) {
        return Ok(());
    }
    std::fs::write(path, body)
}

/// `dir/0001.html.gz` → `0001`; a URL → its last path segment.
pub fn stem(target: &str) -> String {
    let name = target
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(target);
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let name = name
        .strip_suffix(".html")
        .or_else(|| name.strip_suffix(".htm"))
        .unwrap_or(name);
    if name.is_empty() {
        "index".to_string()
    } else {
        name.to_string()
    }
}

fn render(article: &Article, html: bool) -> String {
    if html {
        article.html.clone()
    } else {
        article.text.clone()
    }
}

/// Says on standard error which `--content`/`--remove` selectors matched nothing,
/// since the output alone does not show that a rule had no effect.
fn warn_unmatched(target: &str, article: &Article, opts: &Options) {
    for css in &article.unmatched {
        if opts.content.as_ref() == Some(css) {
            eprintln!("{target}: warning: --content {css:?} matched nothing on this page; the automatic choice is shown");
        } else {
            eprintln!("{target}: warning: --remove {css:?} matched nothing on this page");
        }
    }
}

/// Refuses a feed given where a web page is wanted (its XML is no page),
/// pointing at the command that reads feeds.
pub(crate) fn refuse_feed(target: &str, input: &Input) -> anyhow::Result<()> {
    // Most inputs are pages: only a document that might be a feed is parsed as one.
    if !crate::read::starts_as_html(&input.body)
        && crate::read::read_feed(&input.body, &input.url).is_ok()
    {
        anyhow::bail!(
            "this is a feed, not a web page: `feedsieve inspect {target}` shows its entries"
        );
    }
    Ok(())
}

/// The article of one page; a feed is refused (its XML text run together is no
/// article), pointing at the command that reads feeds. With `trace`, the
/// extractor's decisions go there too.
fn clean_one(
    target: &str,
    input: &Input,
    opts: &Options,
    trace: Option<&mut Trace>,
) -> anyhow::Result<Article> {
    refuse_feed(target, input)?;
    let charset = input.charset.as_deref();
    Ok(match trace {
        Some(trace) => extract::extract_traced(&input.body, &input.url, charset, opts, trace)?,
        None => extract::extract(&input.body, &input.url, charset, opts)?,
    })
}

/// Reads a page from a file (`.gz` decompressed) or fetches it from a URL.
pub(crate) fn load(target: &str, base: Option<&Url>) -> anyhow::Result<Input> {
    if target.starts_with("http://") || target.starts_with("https://") {
        let url = Url::parse(target).with_context(|| format!("{target} is not a valid URL"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let fetched = rt.block_on(async {
            let fetcher = Fetcher::new(&FetchConfig::default())?;
            fetcher.fetch(&url, &Validators::default()).await
        })?;
        let charset = fetched.headers.charset();
        return Ok(Input {
            body: fetched.body.to_vec(),
            url: base.cloned().unwrap_or(fetched.final_url),
            charset,
        });
    }
    let path = PathBuf::from(target);
    let raw = std::fs::read(&path).with_context(|| format!("reading {target}"))?;
    let body = if target.ends_with(".gz") {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("decompressing {target}"))?;
        out
    } else {
        raw
    };
    let url = match base {
        Some(u) => u.clone(),
        None => {
            let abs = std::path::absolute(&path).unwrap_or(path);
            Url::from_file_path(&abs)
                .map_err(|()| anyhow::anyhow!("cannot make a URL of {}", abs.display()))?
        }
    };
    Ok(Input {
        body,
        url,
        charset: None,
    })
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn stems_drop_html_and_gz() {
        assert_eq!(stem("data/0001.html.gz"), "0001");
        assert_eq!(stem("data/0001.html"), "0001");
        assert_eq!(
            stem("https://x.test/world/zelensky-offers-drop-nato-bid"),
            "zelensky-offers-drop-nato-bid"
        );
        assert_eq!(stem("page.htm"), "page");
    }
}
