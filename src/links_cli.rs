//! `feedsieve links`: the links a `[[page]]` source would follow, as users check
//! a page before adding it (and as the link scorer calls it).

use std::process::ExitCode;

use anyhow::Context as _;
use url::Url;

use crate::read::page::{find_links, PageLinks};
use crate::util::write_stdout;

/// Arguments of `feedsieve links`.
#[derive(Debug, clap::Args)]
pub struct LinksArgs {
    /// Print one JSON document per input and line:
    /// {"links":[{"url","text","from"}],"structures":[{"selector","links"}]}.
    #[arg(long)]
    pub json: bool,
    /// The page's address, for resolving links in files (default: the address the
    /// page gives as canonical, `og:url` or `<base>`, else the file's own URL).
    #[arg(long, value_name = "BASE_URL")]
    pub url: Option<String>,
    /// CSS selector of the article links (as `links =` in feeds.toml) instead of finding them.
    #[arg(long, value_name = "CSS")]
    pub links: Option<String>,
    /// Listing pages (.html or .html.gz files, or http(s) URLs).
    #[arg(required = true, value_name = "FILE_OR_URL")]
    pub inputs: Vec<String>,
}

/// Runs `feedsieve links`; non-zero exit when an input could not be read.
pub fn run(args: &LinksArgs) -> anyhow::Result<ExitCode> {
    let base = args
        .url
        .as_deref()
        .map(|u| Url::parse(u).with_context(|| format!("--url {u} is not a valid URL")))
        .transpose()?;
    if let Some(css) = &args.links {
        if scraper::Selector::parse(css).is_err() {
            anyhow::bail!("--links {css:?} is not a valid CSS selector");
        }
    }
    let mut failed = false;
    for (n, target) in args.inputs.iter().enumerate() {
        let is_file = !target.starts_with("http://") && !target.starts_with("https://");
        let loaded = crate::clean::load(target, base.as_ref());
        let loaded =
            loaded.and_then(|input| crate::clean::refuse_feed(target, &input).map(|()| input));
        let found = loaded.map(|input| {
            // A saved page's links are relative to where it was saved from,
            // which it usually says; its file:// address finds none of them.
            let page = match (is_file && base.is_none(), page_address(&input.body)) {
                (true, Some(address)) => address,
                _ => input.url,
            };
            let file_url = page.scheme() == "file";
            (
                find_links(&input.body, &page, args.links.as_deref()),
                file_url,
            )
        });
        let text = match &found {
            Ok((links, file_url)) => {
                if let (true, Some(css)) = (links.links.is_empty(), &args.links) {
                    eprintln!("warning: {target}: --links {css:?} matches no links on the page");
                } else if links.links.is_empty() && *file_url {
                    eprintln!(
                        "warning: {target}: no article links found; a saved page's links are \
                         relative to its web address, which it does not say: pass it as \
                         --url https://..."
                    );
                } else if links.links.is_empty() {
                    eprintln!("warning: {target}: {}", links.summary());
                } else {
                    eprintln!("{target}: {}", links.summary());
                }
                if args.json {
                    to_json(links)
                } else {
                    to_text(links, (args.inputs.len() > 1).then_some((n, target)))
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {target}: {}", crate::util::error_text(e));
                if !args.json {
                    continue;
                }
                format!(
                    "{}\n",
                    serde_json::json!({ "error": crate::util::error_text(e) })
                )
            }
        };
        write_stdout(&text).context("writing to standard output")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The absolute address a saved page gives for itself: `<base href>`, the
/// canonical link, or `og:url`.
fn page_address(body: &[u8]) -> Option<Url> {
    let doc = scraper::Html::parse_document(&String::from_utf8_lossy(body));
    [
        "base[href]",
        "link[rel~=canonical][href]",
        "meta[property='og:url'][content]",
    ]
    .iter()
    .filter_map(|css| scraper::Selector::parse(css).ok())
    .find_map(|sel| {
        let el = doc.select(&sel).next()?;
        let value = el.attr("href").or_else(|| el.attr("content"))?;
        Url::parse(value.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    })
}

/// One line of JSON for one page.
fn to_json(found: &PageLinks) -> String {
    let links: Vec<serde_json::Value> = found
        .links
        .iter()
        .map(|l| serde_json::json!({ "url": l.url.as_str(), "text": l.text, "from": l.from }))
        .collect();
    let doc = serde_json::json!({ "links": links, "structures": found.structures });
    format!("{doc}\n")
}

/// `URL  title` a line; with several inputs, each under a `==> input <==` header.
fn to_text(found: &PageLinks, header: Option<(usize, &String)>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some((n, target)) = header {
        if n > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "==> {target} <==");
    }
    for l in &found.links {
        let _ = writeln!(out, "{}  {}", l.url, l.text);
    }
    out
}
