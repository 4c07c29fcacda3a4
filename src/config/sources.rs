//! `[[feed]]` and `[[page]]` tables: each checked, then duplicates refused.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::error::line_col;
use super::raw::RawSource;
use super::validate::Ctx;
use super::values::{parse_duration, parse_source_url};
use super::{SourceConfig, SourceKind, DEFAULT_MAX_NEW};

impl Ctx<'_> {
    /// Every source in file order; `fallback_interval` stands in for an invalid `interval`.
    pub(super) fn sources(
        &mut self,
        feeds: Vec<Spanned<RawSource>>,
        pages: Vec<Spanned<RawSource>>,
        fallback_interval: Duration,
    ) -> Vec<SourceConfig> {
        let mut sources = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut raws: Vec<(SourceKind, Spanned<RawSource>)> = Vec::new();
        raws.extend(feeds.into_iter().map(|s| (SourceKind::Feed, s)));
        raws.extend(pages.into_iter().map(|s| (SourceKind::Page, s)));
        // Report in file order, whatever the table kind.
        raws.sort_by_key(|(_, s)| s.span().start);
        for (kind, spanned) in raws {
            let Some((source, url_span)) = self.source(kind, spanned, fallback_interval) else {
                continue;
            };
            let key = source.url.as_str().to_string();
            if let Some(first_line) = seen.get(&key) {
                self.error_at(
                    Some(url_span),
                    format!("duplicate source: {key} is already configured on line {first_line}"),
                );
                continue;
            }
            seen.insert(key, line_col(self.text, url_span.start).0);
            sources.push(source);
        }
        sources
    }

    /// One source with the span of its `url`; `None` when the URL is invalid.
    /// Every key is checked either way, so all its errors are reported.
    fn source(
        &mut self,
        kind: SourceKind,
        spanned: Spanned<RawSource>,
        fallback_interval: Duration,
    ) -> Option<(SourceConfig, Range<usize>)> {
        let table_span = spanned.span();
        let src = spanned.into_inner();
        let name = src.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.error_at(
                Some(src.name.span()),
                "`name` is empty (expected the outlet's name, shown as attribution)".into(),
            );
        }
        let url = match parse_source_url(src.url.get_ref()) {
            Ok(url) => Some(url),
            Err(msg) => {
                self.error_at(Some(src.url.span()), msg);
                None
            }
        };
        let interval = src.interval.as_ref().map(|i| {
            let span = i.span();
            match parse_duration(i.get_ref()) {
                Ok(d) => d,
                Err(msg) => {
                    self.error_at(Some(span), msg);
                    fallback_interval
                }
            }
        });
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
        let url_span = src.url.span();
        let url = url?;
        let source = SourceConfig {
            kind,
            name,
            url,
            interval,
            full_text: src.full_text,
            category,
            filters,
            links,
            max_new,
            content,
            remove,
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
        if kind == SourceKind::Page && src.full_text {
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
