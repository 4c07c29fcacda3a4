//! Small helpers shared by several stages: hashing, HTTP header values, escaping
//! and atomic file writes. Nothing here knows about feeds, articles or stories.

pub mod http;

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Position of `needle` (starting with `<`) in `hay`, ASCII case-insensitive:
/// a tag in markup, found without a lower-cased copy of it.
pub fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'<', hay).find(|&p| {
        hay.get(p..p + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// "1 feed", "2 feeds", "2 stories": a count with its noun, for messages.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    // A consonant and a y make "-ies" ("story", "entry"); "day" takes an s.
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    // Digit by digit: a `format!` per byte was most of the cost of hashing the
    // short strings that name items and stories, under the store's lock.
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    hex
}

/// Escapes text for HTML and XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// True when the file at `path` holds exactly `bytes` (a file of another size
/// is not read).
pub fn holds(path: &Path, bytes: &[u8]) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers only
/// ever see a complete file. Returns false (and writes nothing) when the file
/// already holds exactly these bytes.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    write_through_temp(path, bytes, None)
}

/// Like [`write_atomically`], for a file a person keeps (`feeds.toml`): written
/// to the file a symbolic link leads to (the link stays, as configuration tools
/// expect), with the mode and owner the file had (a config holding a private
/// feed's password stays private; one edited by root stays the service's).
pub fn rewrite_kept_file(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let before = std::fs::metadata(&target).ok();
    write_through_temp(&target, bytes, before.as_ref())
}

/// Writes `bytes` to `path` through a temporary file given `keep`'s mode and
/// owner (when it can: only root gives a file to another user), then a rename.
fn write_through_temp(
    path: &Path,
    bytes: &[u8],
    keep: Option<&std::fs::Metadata>,
) -> std::io::Result<bool> {
    if holds(path, bytes) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feed".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    // A failed write (a full disk) leaves no partial temporary file behind.
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        if let Some(meta) = keep {
            f.set_permissions(meta.permissions())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt as _;
                let _ = std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()));
            }
        }
        f.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
    Ok(true)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// `text` on one line (whitespace runs become one space), cut to `width`
/// characters with a `…` when longer, so that table columns stay aligned.
pub fn fit(text: &str, width: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= width {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An error with its causes, as `{:#}` shows it, except that a cause the
/// message already ends with is not said again (many errors put their cause
/// at the end of their own message: "cannot create db: No such file…: No such file…").
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_kept_file_is_rewritten_through_its_link_with_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v2.toml");
        let link = dir.path().join("feeds.toml");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("v2.toml", &link).unwrap();
        assert!(rewrite_kept_file(&link, b"new").unwrap());
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(io).context("cannot create db: No such file");
        assert_eq!(error_text(&e), "cannot create db: No such file");
        let e = anyhow::anyhow!("disk full").context("storing the fetch");
        assert_eq!(error_text(&e), "storing the fetch: disk full");
        // A cause that only occurs inside the message is still said.
        let e = anyhow::anyhow!("feed").context("reading the feed list");
        assert_eq!(error_text(&e), "reading the feed list: feed");
    }

    #[test]
    fn counts_take_their_plural() {
        assert_eq!(count(1, "story"), "1 story");
        assert_eq!(count(2, "story"), "2 stories");
        assert_eq!(count(0, "entry"), "0 entries");
        assert_eq!(count(3, "day"), "3 days");
        assert_eq!(count(2, "feed"), "2 feeds");
    }

    #[test]
    fn hashes_are_the_standard_lowercase_hex_digests() {
        // Stored item hashes and story GUIDs must not change with the encoder.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn atomic_write_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/feed.xml");
        assert!(write_atomically(&p, b"one").unwrap());
        assert!(!write_atomically(&p, b"one").unwrap());
        assert!(write_atomically(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers = std::fs::read_dir(p.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files are cleaned up");
    }
}
