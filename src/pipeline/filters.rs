//! The filters step: which items pass the include/exclude rules, judged on the
//! text subscribers would get (after full text).

use super::Context;
use crate::config::SourceConfig;
use crate::read::RawItem;
use crate::sanitize::plain_text;

/// Whether each item passes the global and the source's include/exclude filters,
/// matched against its title and plain text.
pub fn admitted(ctx: &Context, cfg: Option<&SourceConfig>, items: &[RawItem]) -> Vec<bool> {
    let own = cfg.map(|s| &s.filters);
    let global = &ctx.config.filters;
    if global.is_empty() && own.is_none_or(|f| f.is_empty()) {
        return Vec::new();
    }
    items
        .iter()
        .map(|item| {
            let text = format!(
                "{}\n{}",
                item.title.as_deref().map(plain_text).unwrap_or_default(),
                item.body_html().map(plain_text).unwrap_or_default()
            );
            global.admits(&text) && own.is_none_or(|f| f.admits(&text))
        })
        .collect()
}
