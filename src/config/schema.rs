//! The shape of `feeds.toml`, checked before any value is read: which tables and
//! keys exist and what kind of value each takes. Every unknown key and every value
//! of the wrong kind is reported in the user's words (with the nearest known key),
//! then dropped, so the values that remain are still checked in the same run.

use std::ops::Range;

use serde::de::{DeserializeOwned, Deserializer, Visitor};
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::raw::{
    RawConfig, RawDatabase, RawDedup, RawFetch, RawFilters, RawOutput, RawSchedule, RawServer,
    RawSource,
};
use super::validate::Ctx;

/// What a key's value must be, in the user's terms.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Text in quotes.
    Text,
    /// A whole number.
    Int,
    /// A number (integers are numbers too).
    Number,
    /// true or false.
    Bool,
    /// A duration in quotes.
    Duration,
    /// Bytes as a number, or text with a unit.
    Size,
    /// Text, or a list of texts.
    TextOrList,
    /// A list of texts.
    List,
}

/// The kind of value `key` takes and an example of it; `None` leaves the check to
/// the section's builder.
fn kind_of(key: &str) -> Option<(Kind, &'static str)> {
    use Kind::*;
    Some(match key {
        "title" => (Text, "\"World news\""),
        "link" => (Text, "\"https://news.example.org/\""),
        "hub" => (Text, "\"https://hub.example.org/\""),
        "description" | "user_agent" | "category" => (Text, "\"World\""),
        "path" => (Text, "\"db/feed.xml\""),
        "listen" => (Text, "\"127.0.0.1:8080\""),
        "name" => (Text, "\"Reuters World\""),
        "url" => (Text, "\"https://example.org/rss.xml\""),
        "content" | "links" => (Text, "\"main article\""),
        "embedding_model" => (Text, "\"models/minilm\""),
        "max_items" => (Int, "200"),
        "concurrency" => (Int, "8"),
        "per_host" => (Int, "2"),
        "max_items_per_feed" => (Int, "1000"),
        "copy_min_words" => (Int, "60"),
        "window_articles" => (Int, "100000"),
        "max_new" => (Int, "20"),
        "max_age" => (Duration, "\"30d\""),
        "interval" => (Duration, "\"30m\""),
        "timeout" => (Duration, "\"30s\""),
        "connect_timeout" => (Duration, "\"10s\""),
        "window" => (Duration, "\"72h\""),
        "shutdown_grace" => (Duration, "\"10s\""),
        "max_body" | "max_size" => (Size, "\"10 MiB\""),
        "allow_private" | "enabled" | "full_text" => (Bool, "true"),
        "include" | "exclude" => (TextOrList, "[\"(?i)ukraine\", \"Kyiv\"]"),
        "remove" => (List, "[\".promo\", \"aside\"]"),
        "prefer" => (List, "[\"Reuters\"]"),
        k if k.ends_with("_threshold")
            || k.ends_with("_weight")
            || k.ends_with("_penalty")
            || k == "copy_similarity" =>
        {
            (Number, "0.3")
        }
        _ => return None,
    })
}

fn matches(kind: Kind, value: &DeValue<'_>) -> bool {
    let all_text = |a: &DeArray<'_>| a.iter().all(|v| v.get_ref().is_str());
    match kind {
        Kind::Text | Kind::Duration => value.is_str(),
        Kind::Int => value.is_integer(),
        Kind::Number => value.is_integer() || value.is_float(),
        Kind::Bool => value.is_bool(),
        Kind::Size => value.is_integer() || value.is_str(),
        Kind::TextOrList => value.is_str() || value.as_array().is_some_and(all_text),
        Kind::List => value.as_array().is_some_and(all_text),
    }
}

/// What `key` should be, in plain words, with a hint about what was written.
fn expected(kind: Kind, key: &str, example: &str, value: &DeValue<'_>) -> String {
    let what = match kind {
        Kind::Text => "text in quotes",
        Kind::Int => "a whole number",
        Kind::Number => "a number",
        Kind::Bool => "true or false",
        Kind::Duration => "a duration in quotes",
        Kind::Size => "a size",
        Kind::TextOrList => "a regular expression in quotes, or a list of them",
        Kind::List => "a list of texts in quotes",
    };
    let quoted_number = value
        .as_str()
        .is_some_and(|s| s.trim().parse::<f64>().is_ok());
    let hint = match kind {
        Kind::Int | Kind::Number if quoted_number => "; write it without quotes",
        Kind::Bool if value.as_str().is_some() => "; write it without quotes",
        Kind::Text | Kind::Duration if value.as_array().is_some() => "; one value, not a list",
        Kind::Text | Kind::Duration if !value.is_str() => "; put it in quotes",
        _ => "",
    };
    if let (Kind::List, Some(one)) = (kind, value.as_str()) {
        // A list of one is still a list.
        return format!("`{key}` must be {what}, even of one: `{key} = [{one:?}]`");
    }
    format!("`{key}` must be {what}, e.g. `{key} = {example}`{hint}")
}

/// A deserializer that only records the field names a struct asks for.
struct Names(&'static [&'static str]);

impl<'de> Deserializer<'de> for &mut Names {
    type Error = serde::de::value::Error;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("names only"))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(serde::de::Error::custom("names only"))
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
        enum identifier ignored_any
    }
}

/// The key names a raw struct accepts, read from its serde derive so the list
/// never drifts from the struct.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names = Names(&[]);
    let _ = <T as serde::Deserialize>::deserialize(&mut names);
    names.0
}

/// The keys of a `[section]`, or `None` when there is no such section.
fn section_keys(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "output" => fields_of::<RawOutput>(),
        "server" => fields_of::<RawServer>(),
        "database" => fields_of::<RawDatabase>(),
        "schedule" => fields_of::<RawSchedule>(),
        "fetch" => fields_of::<RawFetch>(),
        "filters" => fields_of::<RawFilters>(),
        "dedup" => fields_of::<RawDedup>(),
        _ => return None,
    })
}

/// Edit distance counting a swap of two neighbours as one edit, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The known name nearest to `name`, when it is near enough to be a typo.
fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase().replace('-', "_");
    known
        .iter()
        .map(|k| (distance(&lower, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 4 + 1).min(3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The sections (and sources) that take a key named `key`.
fn homes_of(key: &str) -> Vec<String> {
    let mut homes: Vec<String> = fields_of::<RawConfig>()
        .iter()
        .filter(|s| section_keys(s).is_some_and(|keys| keys.contains(&key)))
        .map(|s| format!("[{s}]"))
        .collect();
    if fields_of::<RawSource>().contains(&key) {
        homes.push("a [[feed]] or [[page]]".into());
    }
    homes
}

impl Ctx<'_> {
    /// Records an error unless one is reported on that line already (the parser's
    /// word on a repeated `[feed]` says the same).
    fn error_once_on_line(&mut self, span: Range<usize>, message: String) {
        let line = super::error::line_col(self.text, span.start).0;
        if !self.errors.iter().any(|e| e.line == Some(line)) {
            self.error_at(Some(span), message);
        }
    }

    /// Checks the document's shape, reporting every problem and dropping what is
    /// wrong. `complete` is false after a syntax error: keys the parser could not
    /// read are then not reported missing.
    pub(super) fn check_shape(&mut self, root: &mut DeTable<'_>, complete: bool) {
        let sections = fields_of::<RawConfig>();
        let mut dropped = Vec::new();
        for (key, value) in root.iter_mut() {
            let name = key.get_ref().as_ref();
            if name == "feed" || name == "page" {
                if !self.check_sources(name, key.span(), value, complete) {
                    dropped.push(key.clone());
                }
            } else if let Some(keys) = section_keys(name) {
                if !value.get_ref().is_table() {
                    self.error_at(
                        Some(key.span()),
                        format!("`{name}` is a section: write `[{name}]` on a line of its own, then its keys below it"),
                    );
                    dropped.push(key.clone());
                } else if let DeValue::Table(table) = value.get_mut() {
                    self.check_table(table, keys, &format!("[{name}]"));
                }
            } else {
                let message = self.unknown_section(name, sections);
                self.error_at(Some(key.span()), message);
                dropped.push(key.clone());
            }
        }
        for key in dropped {
            root.remove(&key);
        }
    }

    fn unknown_section(&self, name: &str, sections: &[&str]) -> String {
        let homes = homes_of(name);
        if !homes.is_empty() {
            return format!("`{name}` belongs in {}", homes.join(" or "));
        }
        match nearest(name, sections) {
            Some(k @ ("feed" | "page")) => {
                format!("unknown section `{name}` (did you mean `[[{k}]]`?)")
            }
            Some(k) => format!("unknown section `{name}` (did you mean `[{k}]`?)"),
            None => format!(
                "unknown section `{name}`; the sections are [output], [server], [database], \
                 [schedule], [fetch], [filters], [dedup], and the sources [[feed]] and [[page]]"
            ),
        }
    }

    /// `feed` or `page`: a list of tables. A single `[feed]` table is reported
    /// and then checked as the one source it was meant to be. False: drop it.
    fn check_sources(
        &mut self,
        name: &str,
        key_span: Range<usize>,
        value: &mut Spanned<DeValue<'_>>,
        complete: bool,
    ) -> bool {
        let span = value.span();
        if value.get_ref().is_table() {
            self.error_once_on_line(
                key_span.clone(),
                format!(
                    "each source is `[[{name}]]`, with two brackets (`[{name}]` is a single table)"
                ),
            );
            let table = std::mem::replace(value.get_mut(), DeValue::Boolean(false));
            let list: DeArray<'_> = std::iter::once(Spanned::new(span.clone(), table)).collect();
            *value = Spanned::new(span, DeValue::Array(list));
        }
        let DeValue::Array(list) = value.get_mut() else {
            self.error_at(
                Some(key_span),
                format!("`{name}` is a source: write `[[{name}]]` on a line of its own, then its `name` and `url`"),
            );
            return false;
        };
        let keys = fields_of::<RawSource>();
        let mut kept = DeArray::new();
        for mut item in std::mem::replace(list, DeArray::new()) {
            let at = item.span();
            let DeValue::Table(table) = item.get_mut() else {
                self.error_at(Some(at), format!("`{name}` holds [[{name}]] tables only"));
                continue;
            };
            self.check_table(table, keys, &format!("[[{name}]]"));
            for required in ["name", "url"] {
                if complete && !table.contains_key(required) {
                    self.error_at(
                        Some(at.clone()),
                        format!(
                            "this [[{name}]] has no `{required}` (e.g. `{required} = {}`)",
                            kind_of(required).map_or("\"…\"", |(_, e)| e)
                        ),
                    );
                }
            }
            kept.push(item);
        }
        *list = kept;
        true
    }

    /// The keys of one table: unknown ones and values of the wrong kind are
    /// reported and removed.
    fn check_table(&mut self, table: &mut DeTable<'_>, keys: &[&str], table_name: &str) {
        let mut dropped = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if !keys.contains(&name) {
                let message = match nearest(name, keys) {
                    Some(k) => {
                        format!("unknown key `{name}` in {table_name} (did you mean `{k}`?)")
                    }
                    None => {
                        let homes = homes_of(name);
                        if homes.is_empty() {
                            format!(
                                "unknown key `{name}` in {table_name}; it takes: {}",
                                keys.join(", ")
                            )
                        } else {
                            format!(
                                "`{name}` does not go in {table_name}: it belongs in {}",
                                homes.join(" or ")
                            )
                        }
                    }
                };
                self.error_at(Some(key.span()), message);
                dropped.push(key.clone());
                continue;
            }
            if let Some((kind, example)) = kind_of(name) {
                if !matches(kind, value.get_ref()) {
                    let message = expected(kind, name, example, value.get_ref());
                    self.error_at(Some(value.span()), message);
                    dropped.push(key.clone());
                }
            }
        }
        for key in dropped {
            table.remove(&key);
        }
    }
}

impl Ctx<'_> {
    /// The parser's errors in the user's words. A table opened twice is the classic
    /// `[feed]` written for `[[feed]]`: said once, without the keys it then "repeats".
    pub(super) fn syntax_errors(&mut self, errors: &[toml::de::Error]) {
        let mut repeated_tables = Vec::new();
        for e in errors {
            let span = e.span();
            let at = span.as_ref().map_or(0, |s| s.start);
            let line = line_at(self.text, at);
            let message = e.message().lines().next().unwrap_or("").trim();
            if !message.contains("duplicate") {
                self.error_at(span, message.to_string());
            } else if let Some(kind) = ["feed", "page"]
                .into_iter()
                .find(|k| line.starts_with(&format!("[{k}]")))
            {
                repeated_tables.push(at);
                self.error_at(
                    span,
                    format!(
                        "each source is `[[{kind}]]`, with two brackets: `[{kind}]` opens one \
                         single table, so a second one is an error"
                    ),
                );
            } else if line.starts_with("[[") {
                self.error_at(
                    span,
                    format!(
                        "`{line}` makes a list of tables, but that name is already set \
                         above; only sources are lists (`[[feed]]`, `[[page]]`): write other \
                         sections once, with one bracket"
                    ),
                );
            } else if line.starts_with('[') {
                self.error_at(
                    span,
                    format!("the section `{line}` appears twice; write each section once"),
                );
            } else if header_above(self.text, at).is_some_and(|h| {
                repeated_tables
                    .iter()
                    .any(|t| header_above(self.text, *t + 1) == Some(h))
            }) {
                // A key of a repeated `[feed]`: already explained above.
            } else {
                let key = line.split('=').next().unwrap_or(line).trim();
                self.error_at(
                    span,
                    format!("`{key}` is set twice in the same table; keep one"),
                );
            }
        }
    }
}

/// The line of `text` holding byte `at`, trimmed.
fn line_at(text: &str, at: usize) -> &str {
    let at = at.min(text.len());
    let start = text
        .get(..at)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    text.get(start..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("")
        .trim()
}

/// The start of the table header line at or above byte `at`.
fn header_above(text: &str, at: usize) -> Option<usize> {
    let before = text.get(..at.min(text.len()))?;
    let mut end = before.len();
    loop {
        let start = before.get(..end)?.rfind('\n').map_or(0, |i| i + 1);
        if line_at(text, start).starts_with('[') {
            return Some(start);
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}
