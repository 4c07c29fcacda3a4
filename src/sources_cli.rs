//! `feedsieve sources` (the configured sources with their state) and
//! `feedsieve remove` (one source's table taken out of feeds.toml in place).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::config::{url_key, Config, SourceConfig, SourceKind};
use crate::util::{rewrite_kept_file, write_stdout};

/// `feedsieve sources`: one line per configured source, in file order, with its
/// state from the database (never created; the configured sources are recorded
/// first, as `status` does).
pub fn list(cfg: &Config, has_errors: bool) -> anyhow::Result<()> {
    let rows = if crate::store::database_exists(&cfg.database.path) {
        let store = &open_to_look(cfg, has_errors)?;
        let gauges = crate::metrics::StoredGauges {
            sources: store.source_stats()?,
            stories: 0,
            published: 0,
        };
        crate::server::status_rows(&gauges)
    } else {
        Vec::new()
    };
    let mut table: Vec<[String; 6]> =
        vec![["KIND", "NAME", "LAST RESULT", "ITEMS", "NEXT FETCH", "URL"].map(String::from)];
    for s in &cfg.sources {
        // The status rows show a private feed's URL with its password masked.
        let url = crate::util::http::masked_password(s.url.as_str());
        let row = rows.iter().find(|r| r.url == url);
        let (result, items, next) = match (s.enabled, row) {
            (false, _) => ("disabled".to_string(), "-".to_string(), "-".to_string()),
            (true, Some(r)) => (r.result.clone(), r.items.to_string(), r.next_fetch.clone()),
            (true, None) => ("never fetched".into(), "0".into(), "at the next run".into()),
        };
        let name = crate::util::fit(&s.name, 24);
        let kind = s.kind.as_str().to_string();
        table.push([kind, name, result, items, next, url]);
    }
    // Each column as wide as its widest cell: results ("warning: no links")
    // and times vary in length.
    let width = |c: usize| {
        table
            .iter()
            .map(|r| r[c].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w: [usize; 5] = std::array::from_fn(width);
    let mut out = String::new();
    for r in &table {
        let _ = writeln!(
            out,
            "{:<w0$} {:<w1$} {:<w2$} {:>w3$}  {:<w4$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4],
        );
    }
    if !crate::store::database_exists(&cfg.database.path) {
        let _ = writeln!(
            out,
            "(no database yet at {}: nothing fetched so far)",
            cfg.database.path.display()
        );
    }
    write_stdout(&out).context("writing to standard output")
}

/// The configured source called `target` (case aside) or with that URL (a
/// trailing slash aside); else an error listing the names.
pub fn find<'a>(cfg: &'a Config, target: &str) -> anyhow::Result<&'a SourceConfig> {
    let target = target.trim();
    let by_url = url::Url::parse(target).ok().map(|u| url_key(&u));
    cfg.sources
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(target) || by_url.as_ref() == Some(&url_key(&s.url)))
        .ok_or_else(|| {
            let names: Vec<String> = cfg
                .sources
                .iter()
                .map(|s| format!("{:?}", s.name))
                .collect();
            anyhow::anyhow!(
                "no source is named or has the URL {target:?}; the sources are: {}",
                if names.is_empty() {
                    "(none)".to_string()
                } else {
                    names.join(", ")
                }
            )
        })
}

/// `feedsieve remove NAME|URL`: takes the source's table (with the comment lines
/// attached to it) out of the file; every other line stays as it was.
pub fn remove(path: &Path, target: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // A file with errors can still lose a source: that may be the fix (a
    // duplicate), and a running daemon goes on with its last good config.
    let (cfg, errors) = Config::parse_lenient(&text, path)
        .map_err(|e| anyhow::anyhow!("fix the config first:\n{e}"))?;
    let errors_before = errors.map_or(0, |e| e.0.len());
    let (kind, label, new_text) = match find(&cfg, target) {
        Ok(source) => {
            // With errors, a table given twice is a paste: the later one goes.
            let last = errors_before > 0;
            let new_text =
                without_source(&text, source.kind, &source.url, last).with_context(|| {
                    format!(
                        "cannot find the table of {:?} in {}",
                        source.name,
                        path.display()
                    )
                })?;
            let label = format!("\"{}\" <{}>", source.name, source.url);
            (source.kind, label, new_text)
        }
        // A duplicate is not among the valid sources, but its table can go by URL.
        Err(not_found) => {
            let url = url::Url::parse(target.trim())
                .ok()
                .filter(|_| errors_before > 0);
            let table = url.as_ref().and_then(|url| {
                [SourceKind::Feed, SourceKind::Page]
                    .into_iter()
                    .find_map(|kind| Some((kind, without_source(&text, kind, url, true)?)))
            });
            match (url, table) {
                (Some(url), Some((kind, new_text))) => (kind, format!("<{url}>"), new_text),
                _ => return Err(not_found),
            }
        }
    };
    let (left, errors_left) = Config::parse_lenient(&new_text, path)
        .map_err(|e| anyhow::anyhow!("the edited config would not be valid:\n{e}"))?;
    if let Some(errors) = errors_left.as_ref().filter(|e| e.0.len() > errors_before) {
        anyhow::bail!("the edited config would not be valid:\n{errors}");
    }
    rewrite_kept_file(path, new_text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "removed [[{}]] {label} from {} ({} left; its stored items stay until retention)",
        kind.as_str(),
        path.display(),
        crate::util::count(left.sources.len(), "source")
    );
    if let Some(errors) = errors_left {
        let n = crate::util::count(errors.0.len(), "error");
        eprintln!("warning: {} still has {n}:\n{errors}", path.display());
    }
    Ok(())
}

/// `text` without a `[[feed]]`/`[[page]]` table (`kind`) whose `url` is
/// `url`: the first, or with `last` the last (of a duplicate, the one pasted
/// later).
fn without_source(text: &str, kind: SourceKind, url: &url::Url, last: bool) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header = format!("[[{}]]", kind.as_str());
    let order: Box<dyn Iterator<Item = usize>> = match last {
        true => Box::new((0..lines.len()).rev()),
        false => Box::new(0..lines.len()),
    };
    for start in order {
        let l = lines[start].trim();
        let is_header = l
            .strip_prefix(&header)
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'));
        if !is_header {
            continue;
        }
        let end = crate::sources::table_end(&lines, start);
        let body: String = lines[start + 1..=end].concat();
        let table_url = toml::from_str::<toml::Table>(&body)
            .ok()
            .and_then(|t| t.get("url").and_then(|u| u.as_str()).map(str::to_string))
            .and_then(|u| url::Url::parse(u.trim()).ok());
        if table_url.is_some_and(|u| url_key(&u) == url_key(url)) {
            // One blank line after the table goes with it.
            let mut to = end + 1;
            if lines.get(to).is_some_and(|l| l.trim().is_empty()) {
                to += 1;
            }
            let mut out: String = lines[..crate::sources::table_heading(&lines, start)].concat();
            out.push_str(&lines[to..].concat());
            return Some(out);
        }
    }
    None
}

/// `feedsieve export-opml`: the sources as OPML, with each feed's site link as
/// `htmlUrl` where a fetch has learnt it (the database is read, never created).
pub fn export_opml(path: &Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let links = match crate::store::database_exists(&cfg.database.path) {
        true => match crate::store::Store::open_to_read(&cfg.database.path, |_| Ok(())) {
            Ok(store) => store.site_links()?,
            // The sources are the config's: only their site links are missing.
            Err(e @ crate::store::StoreError::Outdated { .. }) => {
                eprintln!("note: {e}; the sources are exported without their site links");
                Default::default()
            }
            Err(e) => {
                return Err(e).with_context(|| format!("opening {}", cfg.database.path.display()))
            }
        },
        false => Default::default(),
    };
    write_stdout(&crate::sources::export_opml(&cfg, &links)).context("writing to standard output")
}

/// Opens the existing database to show it. When no other feedsieve owns it,
/// the configured sources are recorded first, so that sources added to the
/// file, and sources whose URL was edited (which keep their row), show as
/// they stand before they are fetched; not from a file with errors
/// (`has_errors`), whose broken sources would look removed. A running daemon
/// records its file itself, and refuses one it cannot use (no sources):
/// looking never overrides it.
pub(crate) fn open_to_look(cfg: &Config, has_errors: bool) -> anyhow::Result<crate::store::Store> {
    let record = |store: &mut crate::store::Store| match has_errors {
        true => Ok(()),
        false => match store.sync_sources(&crate::pipeline::source_specs(cfg)) {
            // A read-only copy (a backup) or a full disk: what is recorded is shown.
            Err(e) if e.is_machine_fault() => {
                eprintln!("note: the configured sources could not be recorded ({e}); showing the sources as recorded");
                Ok(())
            }
            done => done,
        },
    };
    crate::store::Store::open_to_read(&cfg.database.path, record)
        .with_context(|| format!("opening {}", cfg.database.path.display()))
}
