//! The validation context: collects every located error while the settings are built.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{line_col, ConfigError};
use super::raw::Patterns;
use super::values::{parse_duration, show_duration};

/// Unrelated titles with text (as filters see them, "title\ntext"), in
/// several scripts: a pattern that matches every one of them would match
/// any title.
const EVERY_TITLE: [&str; 4] = [
    "Markets rally after rate cut\nShares rose on Tuesday.",
    "Ποδόσφαιρο: νίκη στο 90'\nΟ αγώνας έληξε 2-1.",
    "台风登陆\n多地停课。",
    "7",
];

/// The text being validated and the errors found so far.
pub(super) struct Ctx<'a> {
    /// The config text, for turning spans into lines and columns.
    pub(super) text: &'a str,
    /// The config file, for naming errors and resolving relative paths.
    pub(super) path: &'a Path,
    /// Every error found, in the order they are reported.
    pub(super) errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    /// Records an error at `span` (or at no location) and keeps going.
    pub(super) fn error_at(&mut self, span: Option<Range<usize>>, message: String) {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = line_col(self.text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.errors.push(ConfigError {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        });
    }

    /// A path from the file, relative to the config file's folder.
    pub(super) fn resolve_path(&self, value: &str) -> PathBuf {
        let p = Path::new(value);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            let dir = self.path.parent().unwrap_or(Path::new(""));
            dir.join(p)
        }
    }

    /// A duration value for `key`, at most `max`, or `default` when absent or invalid.
    pub(super) fn duration(
        &mut self,
        value: Option<Spanned<String>>,
        key: &str,
        default: Duration,
        max: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        match parse_duration(value.get_ref()) {
            Ok(d) if d > max => {
                self.error_at(
                    Some(value.span()),
                    format!(
                        "`{key}` = {:?} is longer than the most it takes, \"{}\"",
                        value.get_ref(),
                        show_duration(max)
                    ),
                );
                default
            }
            Ok(d) => d,
            Err(msg) => {
                self.error_at(Some(value.span()), format!("`{key}`: {msg}"));
                default
            }
        }
    }

    /// One or more regular expressions; invalid ones are reported and dropped.
    pub(super) fn patterns(
        &mut self,
        value: Option<Spanned<Patterns>>,
        key: &str,
    ) -> Vec<regex::Regex> {
        let Some(value) = value else {
            return Vec::new();
        };
        let span = value.span();
        let list = match value.into_inner() {
            Patterns::One(p) => vec![p],
            Patterns::Many(v) => v,
        };
        let mut out = Vec::new();
        for p in list {
            match regex::RegexBuilder::new(&p).size_limit(1 << 20).build() {
                // A pattern that any title matches (`""`, `x*`, `.`): an
                // `exclude` of it silently hid every item. Patterns are
                // matched against "title\ntext"; one that only empty text
                // matches (`^\s*$`) is a real filter.
                Ok(r) if EVERY_TITLE.iter().all(|t| r.is_match(t)) => {
                    let effect = match key {
                        "exclude" => "every item would be dropped",
                        _ => "it would filter nothing out",
                    };
                    self.error_at(
                        Some(span.clone()),
                        format!("`{key}`: {p:?} matches every title, so {effect}: give the words to look for, e.g. \"(?i)sponsored\""),
                    )
                }
                Ok(r) => out.push(r),
                Err(e) => {
                    // The regex message draws a caret over several lines; its
                    // last line says what is wrong.
                    let why = e.to_string();
                    let why = why.lines().last().unwrap_or_default();
                    let why = why.trim().trim_start_matches("error: ");
                    self.error_at(
                        Some(span.clone()),
                        format!("`{key}`: {p:?} is not a valid regular expression ({why})"),
                    )
                }
            }
        }
        out
    }

    /// A whole number above 0, or `default` when absent or invalid.
    pub(super) fn positive(
        &mut self,
        value: Option<Spanned<i64>>,
        key: &str,
        default: usize,
    ) -> usize {
        let Some(value) = value else { return default };
        match usize::try_from(*value.get_ref()) {
            Ok(n) if n > 0 => n,
            _ => {
                self.error_at(
                    Some(value.span()),
                    format!("`{key}` must be a whole number above 0"),
                );
                default
            }
        }
    }

    /// A number from 0 to 1, or `default` when absent or invalid.
    pub(super) fn fraction(&mut self, value: Option<Spanned<f64>>, key: &str, default: f64) -> f64 {
        let Some(value) = value else { return default };
        let v = *value.get_ref();
        if (0.0..=1.0).contains(&v) {
            v
        } else {
            self.error_at(
                Some(value.span()),
                format!("`{key}` must be a number from 0 to 1"),
            );
            default
        }
    }
}
