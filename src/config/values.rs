//! Single values as text: durations, sizes and source URLs.

use std::time::Duration;

use url::Url;

use super::raw::RawSize;

/// Parses a human duration such as "30m", "1h 30m" or "7d".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d >= Duration::from_secs(1) => Ok(d),
        Ok(_) => Err(format!(
            "duration {text:?} is too short (expected at least \"1s\", e.g. \"30m\")"
        )),
        Err(e) => Err(format!(
            "{text:?} is not a duration ({e}; expected e.g. \"15m\", \"1h 30m\" or \"7d\")"
        )),
    }
}

/// Parses a size: a number of bytes, or text such as "10 MiB" or "512 KB".
pub(super) fn parse_size(size: &RawSize) -> Result<u64, String> {
    let bad = |t: &str| {
        format!("{t:?} is not a size (expected bytes as a number, or e.g. \"10 MiB\", \"512 KB\")")
    };
    let text = match size {
        RawSize::Bytes(n) if *n > 0 => return Ok(*n as u64),
        RawSize::Bytes(n) => return Err(bad(&n.to_string())),
        RawSize::Text(t) => t.trim(),
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let num: f64 = num.parse().map_err(|_| bad(text))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "kib" => 1024.0,
        "mb" | "m" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" | "g" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad(text)),
    };
    let bytes = num * mult;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(bad(text));
    }
    Ok(bytes as u64)
}

/// Parses a source (or hub) URL: absolute, http or https, with a host.
pub(super) fn parse_source_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("{text:?} is not a valid URL ({e}; expected e.g. \"https://example.org/feed.xml\")")
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "{text:?} uses the scheme {other:?}: only http and https sources are fetched"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(url)
}
