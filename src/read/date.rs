//! Feed dates as publishers really write them: W3C-DTF / ISO 8601 (date only, no
//! seconds, no zone, space instead of `T`), RFC 822 with two-digit years, swapped day
//! and month, missing day name/time/zone, US zone names and `GMT+hh:mm`, and asctime.
//! The rules follow feedparser's, the reference readers are compared with, so an
//! item gets the same date in feedsieve as in any other reader.

use chrono::{DateTime, Duration, NaiveDate, Utc};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn zone_hours(name: &str) -> Option<i64> {
    Some(match name {
        "ut" | "gmt" | "z" | "utc" => 0,
        "adt" => -3,
        "ast" | "at" | "edt" => -4,
        "est" | "et" | "cdt" => -5,
        "cst" | "ct" | "mdt" => -6,
        "mst" | "mt" | "pdt" => -7,
        "pst" | "pt" => -8,
        "a" => -1,
        "n" | "met" => 1,
        "mest" => 2,
        "m" => -12,
        "y" => 12,
        _ => return None,
    })
}

/// Parses a feed date; `None` when it cannot be read.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    w3dtf(s).or_else(|| rfc822(s)).or_else(|| asctime(s))
}

/// Python-like `int()`: optional sign, digits, surrounding spaces.
fn int(s: &str) -> Option<i64> {
    let s = s.trim();
    let d = s.strip_prefix('+').unwrap_or(s);
    if d.is_empty() || d.len() > 12 {
        return None;
    }
    d.parse().ok()
}

fn month_of(s: &str) -> Option<u32> {
    let p = s.get(..3)?;
    MONTHS
        .iter()
        .position(|m| *m == p)
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn build(
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    se: i64,
    offset_min: i64,
) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(y).ok()?,
        u32::try_from(mo).ok()?,
        u32::try_from(d).ok()?,
    )?;
    let t = date.and_hms_opt(
        u32::try_from(h).ok()?,
        u32::try_from(mi).ok()?,
        u32::try_from(se).ok()?,
    )?;
    let utc = t.checked_sub_signed(Duration::try_minutes(offset_min)?)?;
    Some(DateTime::from_naive_utc_and_offset(utc, Utc))
}

/// Numeric offset `+hhmm`, `-hh:mm`, `+hh` in minutes.
fn numeric_offset(z: &str) -> Option<i64> {
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let body = &z[1..];
    let (h, m) = if let Some((h, m)) = body.split_once(':') {
        (int(h)?, if m.is_empty() { 0 } else { int(m)? })
    } else {
        let h = body.get(..2.min(body.len()))?;
        let m = body.get(2..).unwrap_or("");
        (int(h)?, if m.is_empty() { 0 } else { int(m)? })
    };
    Some(sign * (h * 60 + m))
}

fn w3dtf(s: &str) -> Option<DateTime<Utc>> {
    let lower = s.to_lowercase();
    let mut parts: Vec<String> = lower.split('t').map(str::to_string).collect();
    if parts.len() == 1 {
        parts = parts[0].split_whitespace().map(str::to_string).collect();
        if parts.len() == 1 {
            parts.push("00:00:00z".into());
        }
    } else if parts.len() > 2 {
        return None;
    }
    if parts.len() < 2 {
        return None;
    }
    let date: Vec<&str> = parts[0].splitn(3, '-').collect();
    if date.first().map(|d| d.len()) != Some(4) {
        return None;
    }
    let y = int(date[0])?;
    let mo = date.get(1).map_or(Some(1), |m| int(m))?;
    let d = date.get(2).map_or(Some(1), |d| int(d))?;
    let mut time = parts[1].clone();
    let mut zone = parts.get(2).cloned();
    if time.ends_with('z') {
        time.pop();
        zone.get_or_insert_with(|| "z".into());
    }
    let loc = time.find(['-', '+']).unwrap_or(time.len());
    let tz = zone.unwrap_or_else(|| time[loc..].to_string());
    time.truncate(loc);
    let tp: Vec<&str> = time.splitn(3, ':').collect();
    let num = |x: Option<&&str>| -> Option<i64> {
        match x {
            None => Some(0),
            Some(v) => {
                let v = v.trim();
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && f.abs() < 1e9)
                    .map(|f| f.trunc() as i64)
            }
        }
    };
    let (h, mi, se) = (num(tp.first())?, num(tp.get(1))?, num(tp.get(2))?);
    let offset = if tz.starts_with(['-', '+']) {
        let sign = if tz.starts_with('-') { -1 } else { 1 };
        let hh = int(tz.get(1..3)?)?;
        let mm = int(tz.get(4..)?)?;
        sign * (hh * 60 + mm)
    } else {
        zone_hours(tz.trim()).unwrap_or(0) * 60
    };
    build(y, mo, d, h, mi, se, offset)
}

fn rfc822(s: &str) -> Option<DateTime<Utc>> {
    let lower = s.to_lowercase();
    let mut parts: Vec<String> = lower.split_whitespace().map(str::to_string).collect();
    if parts.len() < 5 {
        parts.extend(["00:00:00".to_string(), "0000".to_string()]);
    }
    if parts[0].get(..3).is_some_and(|d| DAYS.contains(&d)) {
        parts.remove(0);
    }
    if parts.len() < 5 {
        return None;
    }
    let mut month = month_of(&parts[1]);
    let day = match int(&parts[0]) {
        Some(d) => d,
        None => {
            let m = month_of(&parts[0])?;
            month = Some(m);
            int(&parts[1])?
        }
    };
    let month = i64::from(month?);
    let mut year = int(&parts[2])?;
    if parts[2].len() <= 2 {
        year += if year < 90 { 2000 } else { 1900 };
    }
    let mut tp: Vec<&str> = parts[3].split(':').collect();
    while tp.len() < 3 {
        tp.push("0");
    }
    if tp.len() != 3 {
        return None;
    }
    let (h, mi, se) = (int(tp[0])?, int(tp[1])?, int(tp[2])?);
    let mut zone = parts[4].clone();
    if let Some(z) = zone.strip_prefix("etc/") {
        zone = z.to_string();
    }
    if let Some(z) = zone.strip_prefix("gmt") {
        let z: String = z.split(':').collect();
        zone = if z.is_empty() { "gmt".into() } else { z };
    }
    let offset = if zone.starts_with(['-', '+']) {
        numeric_offset(&zone)?
    } else {
        zone_hours(&zone).unwrap_or(0) * 60
    };
    build(year, month, day, h, mi, se, offset)
}

fn asctime(s: &str) -> Option<DateTime<Utc>> {
    let mut parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() == 5 {
        parts.insert(4, "+0000");
    }
    if parts.len() != 6 {
        return None;
    }
    rfc822(&[parts[0], parts[2], parts[1], parts[5], parts[3], parts[4]].join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse_date(s).map(|d| d.to_rfc3339())
    }

    #[test]
    fn common_bad_formats() {
        let want = Some("2004-01-26T21:31:00+00:00".to_string());
        assert_eq!(p("Mon, 26 Jan 2004 16:31:00 EST"), want);
        assert_eq!(p("26 January 2004 16:31 -0500"), want);
        assert_eq!(p("Jan 26 04 21:31:00 GMT"), want);
        assert_eq!(p("Mon, 26 Jan 2004 16:31:00 GMT-05:00"), want);
        assert_eq!(p("2004-01-26T16:31:00-05:00"), want);
        assert_eq!(p("2004-01-26 21:31:00"), want);
        assert_eq!(p("Mon Jan 26 21:31:00 2004"), want);
        assert_eq!(p("2004-01-26"), Some("2004-01-26T00:00:00+00:00".into()));
        assert_eq!(p("2004-01-26T21:31:00.123Z"), want);
    }

    #[test]
    fn nonsense_is_none() {
        assert_eq!(p("yesterday"), None);
        assert_eq!(p("Mon, 32 Jan 2004 16:31:00 GMT"), None);
        assert_eq!(p(""), None);
    }
}
