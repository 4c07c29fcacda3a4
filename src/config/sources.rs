//! `[[feed]]` and `[[page]]` tables: each checked, then duplicates refused.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::error::line_col;
use super::raw::RawSource;
use super::validate::Ctx;
use super::values::{parse_source_url, url_key, MAX_INTERVAL};
use super::{FullText, SourceConfig, SourceKind, DEFAULT_MAX_NEW};

impl Ctx<'_> {
    /// Every source in file order; `fallback_interval` stands in for an invalid `interval`.
    /// Two sources with the same URL (a trailing slash aside) or the same name
    /// (case aside) are refused: the name labels `/metrics` and `status` rows.
    pub(super) fn sources(
        &mut self,
        feeds: Vec<Spanned<RawSource>>,
        pages: Vec<Spanned<RawSource>>,
        fallback_interval: Duration,
    ) -> Vec<SourceConfig> {
        let mut sources = Vec::new();
        let mut urls: HashMap<String, usize> = HashMap::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut raws: Vec<(SourceKind, Spanned<RawSource>)> = Vec::new();
        raws.extend(feeds.into_iter().map(|s| (SourceKind::Feed, s)));
        raws.extend(pages.into_iter().map(|s| (SourceKind::Page, s)));
        // Report in file order, whatever the table kind.
        raws.sort_by_key(|(_, s)| s.span().start);
        for (kind, spanned) in raws {
            // Names first: a source with another error still takes its name.
            let unique_name = match &spanned.get_ref().name {
                Some(name) => self.unique_name(&mut names, name),
                None => true,
            };
            let Some(found) = self.source(kind, spanned, fallback_interval) else {
                continue;
            };
            let (source, url_span) = found;
            let key = url_key(&source.url);
            if let Some(first_line) = urls.get(&key) {
                self.error_at(
                    Some(url_span),
                    format!(
                        "duplicate source: {} is already configured on line {first_line}",
                        source.url
                    ),
                );
                continue;
            }
            urls.insert(key, line_col(self.text, url_span.start).0);
            if unique_name {
                sources.push(source);
            }
        }
        sources
    }

    /// Records a source's name; false (and an error) when an earlier source
    /// has it already, case aside.
    fn unique_name(&mut self, names: &mut HashMap<String, usize>, name: &Spanned<String>) -> bool {
        let shown = name.get_ref().trim();
        if shown.is_empty() {
            return true;
        }
        let line = line_col(self.text, name.span().start).0;
        if let Some(first_line) = names.get(&shown.to_lowercase()) {
            self.error_at(
                Some(name.span()),
                format!(
                    "duplicate name: {shown:?} is already the name of the source on line \
                     {first_line}; give each source its own name (it labels its rows \
                     in `status` and /metrics)"
                ),
            );
            return false;
        }
        names.insert(shown.to_lowercase(), line);
        true
    }

    /// One source with the span of its `url`; `None` when the URL is
    /// invalid or a required key is missing (the shape check reported that).
    /// Every key is checked either way, so all its errors are reported.
    fn source(
        &mut self,
        kind: SourceKind,
        spanned: Spanned<RawSource>,
        fallback_interval: Duration,
    ) -> Option<(SourceConfig, Range<usize>)> {
        let table_span = spanned.span();
        let src = spanned.into_inner();
        let name = src.name.as_ref().map(|n| n.get_ref().trim().to_string());
        if let (Some(""), Some(n)) = (name.as_deref(), &src.name) {
            self.error_at(
                Some(n.span()),
                "`name` is empty (expected the outlet's name, shown as attribution)".into(),
            );
        }
        let url = src
            .url
            .as_ref()
            .and_then(|u| match parse_source_url(u.get_ref()) {
                Ok(url) => Some(url),
                Err(msg) => {
                    self.error_at(Some(u.span()), msg);
                    None
                }
            });
        let interval = src
            .interval
            .clone()
            .map(|i| self.duration(Some(i), "interval", fallback_interval, MAX_INTERVAL));
        self.keys_of_the_other_kind(kind, &src, table_span);
        let links = src.links.and_then(|l| self.links(l));
        let max_new = self.positive(src.max_new, "max_new", DEFAULT_MAX_NEW);
        let filters = self.filters(src.include, src.exclude);
        let category = src
            .category
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        let content = src.content.and_then(|css| self.selector(css));
        let remove: Vec<String> = src
            .remove
            .into_iter()
            .filter_map(|css| self.selector(css))
            .collect();
        let url_span = src.url?.span();
        src.name.as_ref()?;
        let source = SourceConfig {
            kind,
            name: name.filter(|n| !n.is_empty())?,
            url: url?,
            interval,
            full_text: match src.full_text {
                None => FullText::Teasers,
                Some(true) => FullText::Always,
                Some(false) => FullText::Never,
            },
            category,
            filters,
            links,
            max_new,
            content,
            remove,
            enabled: src.enabled.unwrap_or(true),
        };
        Some((source, url_span))
    }

    /// Keys that only one kind of table takes, set on the other kind.
    fn keys_of_the_other_kind(
        &mut self,
        kind: SourceKind,
        src: &RawSource,
        table_span: Range<usize>,
    ) {
        if kind == SourceKind::Page && src.full_text.is_some() {
            self.error_at(
                Some(table_span),
                "`full_text` applies to [[feed]] only: a [[page]] is always read in full".into(),
            );
        }
        if kind == SourceKind::Feed {
            if let Some(links) = &src.links {
                self.error_at(
                    Some(links.span()),
                    "`links` applies to [[page]] only: it picks article links on a page".into(),
                );
            }
            if let Some(max_new) = &src.max_new {
                self.error_at(
                    Some(max_new.span()),
                    "`max_new` applies to [[page]] only".into(),
                );
            }
        }
    }

    /// `links`: a CSS selector of the article links on a page.
    fn links(&mut self, links: Spanned<String>) -> Option<String> {
        if scraper::Selector::parse(links.get_ref()).is_ok() {
            Some(links.into_inner())
        } else {
            self.error_at(
                Some(links.span()),
                format!("`links`: {:?} is not a valid CSS selector", links.get_ref()),
            );
            None
        }
    }

    /// `content` or one `remove` entry: a selector the extractor can use.
    fn selector(&mut self, css: Spanned<String>) -> Option<String> {
        let span = css.span();
        let css = css.into_inner();
        match crate::extract::check_selector(&css) {
            Ok(()) => Some(css),
            Err(e) => {
                self.error_at(Some(span), e.to_string());
                None
            }
        }
    }
}
