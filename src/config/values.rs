//! Single values as text: durations, sizes and source URLs.

use std::time::Duration;

use url::Url;

use super::raw::RawSize;

/// The longest fetch interval: a source quieter than weekly is still looked at weekly.
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);
/// The longest `[dedup] window`: the window is held in memory, and a story a month
/// old is a new story.
pub(super) const MAX_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// The longest retention (`[database] max_age`), ten years.
pub(super) const MAX_RETENTION: Duration = Duration::from_secs(3650 * 86_400);
/// The longest request timeout: past an hour a fetch is stuck, not slow.
pub(super) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The units a duration takes, in seconds: the ones the README lists.
const UNITS: &[(&str, u64)] = &[("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)];

/// Parses a listening address: an IP address with a port, or `localhost:PORT`
/// (the loopback address; other host names are refused, with what to write).
pub fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    if let Some((scheme, rest)) = text.split_once("://") {
        let rest = rest.trim_end_matches('/');
        return Err(format!(
            "{text:?} is a URL; give the address alone, without {scheme}://, e.g. \"{rest}\""
        ));
    }
    let (host, port) = text.rsplit_once(':').unwrap_or((text, ""));
    let Ok(port) = port.parse::<u16>() else {
        if port.parse::<u64>().is_ok() {
            return Err(format!(
                "{text:?}: port {port} is out of range (1 to 65535)"
            ));
        }
        return Err(format!(
            "{text:?} is not an address with a port (expected e.g. \"127.0.0.1:8080\")"
        ));
    };
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if host.is_empty() {
        return Err(format!(
            "{text:?} has no address before the port: \"127.0.0.1:{port}\" (this machine only) \
             or \"0.0.0.0:{port}\" (every interface)"
        ));
    }
    Err(format!(
        "{text:?}: host names other than localhost are not looked up; give an IP address, \
         e.g. \"127.0.0.1:{port}\" (this machine only) or \"0.0.0.0:{port}\" (every interface)"
    ))
}

/// Parses a duration such as "90s", "30m", "1h 30m" or "7d": whole numbers,
/// each followed by `s`, `m` (minutes), `h` or `d`. Anything else is refused
/// with what to write instead, never read as something the user did not mean.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("the duration is empty (expected e.g. \"30m\" or \"1h 30m\")".into());
    }
    if t.starts_with('-') {
        return Err(format!(
            "{text:?} is negative: a duration is a whole number of s, m, h or d, e.g. \"5m\""
        ));
    }
    let mut rest = t;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(digits);
        if num.is_empty() {
            return Err(format!(
                "{text:?} is not a duration (expected a number and a unit, e.g. \"15m\", \"1h 30m\" or \"7d\")"
            ));
        }
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if next.starts_with(['.', ',']) || (unit.is_empty() && !next.is_empty()) {
            return Err(format!(
                "{text:?}: write whole numbers, e.g. \"1h 30m\" for an hour and a half"
            ));
        }
        let seconds = unit_seconds(text, num, unit)?;
        let n: u64 = num.parse().map_err(|_| too_long(text))?;
        total = n
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| too_long(text))?;
        rest = next.trim_start();
    }
    if total == 0 {
        return Err(format!(
            "{text:?} is zero: a duration is at least \"1s\", e.g. \"30m\""
        ));
    }
    Ok(Duration::from_secs(total))
}

fn too_long(text: &str) -> String {
    format!("{text:?} is far too long for a duration")
}

/// The seconds in one `unit`, or what the user should write instead.
fn unit_seconds(text: &str, num: &str, unit: &str) -> Result<u64, String> {
    if let Some((_, s)) = UNITS.iter().find(|(u, _)| *u == unit) {
        return Ok(*s);
    }
    let units = "the units are s (seconds), m (minutes), h (hours) and d (days)";
    let lower = unit.to_ascii_lowercase();
    let instead = match lower.as_str() {
        "" => {
            return Err(format!(
                "{text:?} has no unit: write e.g. \"{num}m\" for {num} minutes ({units})"
            ))
        }
        "m" => {
            return Err(format!(
                "{text:?}: `M` would mean months, which is not a unit here; \
                 write \"{num}m\" for {num} minutes ({units})"
            ))
        }
        "sec" | "secs" | "second" | "seconds" => "s",
        "min" | "mins" | "minute" | "minutes" => "m",
        "hr" | "hrs" | "hour" | "hours" => "h",
        "day" | "days" => "d",
        "w" | "week" | "weeks" => {
            return Err(format!(
                "{text:?}: weeks are not a unit; write days, e.g. \"{}d\" ({units})",
                num.parse::<u64>().map_or(7, |n| n.saturating_mul(7))
            ))
        }
        "ms" => {
            return Err(format!(
                "{text:?}: milliseconds are not a unit; the shortest duration is \"1s\" ({units})"
            ))
        }
        "y" | "yr" | "year" | "years" => {
            return Err(format!("{text:?}: years are not a unit; {units}"))
        }
        "s" | "h" | "d" => lower.as_str(),
        _ => {
            return Err(format!(
                "{text:?}: `{unit}` is not a unit of time here; {units}, e.g. \"30m\""
            ))
        }
    };
    Err(format!("{text:?}: write \"{num}{instead}\" ({units})"))
}

/// A duration as the user writes it: "7d", "1h 30m", "90s".
pub(super) fn show_duration(d: Duration) -> String {
    let mut left = d.as_secs();
    let mut parts = Vec::new();
    for (unit, secs) in UNITS.iter().rev() {
        if left >= *secs {
            parts.push(format!("{}{unit}", left / secs));
            left %= secs;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// Parses a size: a number of bytes, or text such as "10 MiB" or "512 KB".
pub(super) fn parse_size(size: &RawSize) -> Result<u64, String> {
    let bad = |t: &str| {
        format!("{t:?} is not a size (expected bytes as a number, or e.g. \"10 MiB\", \"512 KB\")")
    };
    let text = match size {
        RawSize::Bytes(n) if *n > 0 => return Ok(*n as u64),
        RawSize::Bytes(n) => return Err(format!("{n} is no size: it must be at least one byte")),
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
    if bytes.is_finite() && bytes < 1.0 {
        return Err(format!("{text:?} is no size: it must be at least one byte"));
    }
    if !bytes.is_finite() {
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

/// What makes two source URLs the same source: the URL without its fragment and
/// without a trailing slash on the path (`…/rss.xml/` is `…/rss.xml`).
pub fn url_key(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    let path = u.path().to_string();
    let trimmed = path.trim_end_matches('/');
    if trimmed.len() < path.len() && !trimmed.is_empty() {
        u.set_path(trimmed);
    }
    u.to_string()
}
