//! Caps on the fields of one item, applied where items are read (and again
//! once an article page has filled them in): a hostile feed's 2 MB title,
//! 100,000-character URL or 10,000 categories would otherwise be stored,
//! compared and republished whole on every publish. The README's "Limits and
//! safety" table lists each cap.

use super::RawItem;
use crate::sanitize::bound_html;
use crate::util::sha256_hex;

/// Longest title kept, in characters (longer ones are cut and end in "…").
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Longest author field kept, in characters.
pub const MAX_AUTHOR_CHARS: usize = 500;
/// Longest link or enclosure URL, in bytes; a longer one is dropped, since a
/// cut URL leads nowhere.
pub const MAX_URL_BYTES: usize = 4_096;
/// Longest GUID kept as written, in bytes; a longer one is replaced by its
/// SHA-256, which still tells items apart.
pub const MAX_GUID_BYTES: usize = 2_048;
/// Largest summary or content HTML, in bytes (cut at a tag).
pub const MAX_HTML_BYTES: usize = 256 * 1024;
/// Most categories kept per item (the first ones, without repeats).
pub const MAX_CATEGORIES: usize = 50;
/// Longest category, in characters.
pub const MAX_CATEGORY_CHARS: usize = 100;
/// Most enclosures kept per item.
pub const MAX_ENCLOSURES: usize = 20;

/// Cuts every field of `item` to its cap (HTML also gets its nesting capped).
/// Returns the names of the fields that were over.
pub fn cap_fields(item: &mut RawItem) -> Vec<&'static str> {
    let mut over = Vec::new();
    let mut note = |cut: bool, field: &'static str| {
        if cut {
            over.push(field);
        }
    };
    if let Some(guid) = item.guid.as_mut().filter(|g| g.len() > MAX_GUID_BYTES) {
        *guid = format!("sha256:{}", sha256_hex(guid.as_bytes()));
        note(true, "guid");
    }
    note(cut_text(&mut item.title, MAX_TITLE_CHARS), "title");
    note(cut_text(&mut item.author, MAX_AUTHOR_CHARS), "author");
    if item.link.as_ref().is_some_and(|l| l.len() > MAX_URL_BYTES) {
        item.link = None;
        note(true, "link");
    }
    note(cut_html(&mut item.summary), "summary");
    note(cut_html(&mut item.content), "content");
    note(cut_categories(&mut item.categories), "categories");
    let enclosures = item.enclosures.len();
    item.enclosures.retain(|e| e.url.len() <= MAX_URL_BYTES);
    item.enclosures.truncate(MAX_ENCLOSURES);
    note(item.enclosures.len() < enclosures, "enclosures");
    over
}

/// Cuts a text field to `max` characters, ending it in "…"; true when it was longer.
fn cut_text(field: &mut Option<String>, max: usize) -> bool {
    let Some(text) = field.as_mut() else {
        return false;
    };
    let Some((end, _)) = text.char_indices().nth(max) else {
        return false;
    };
    let mut end = end;
    // Drop the character the "…" takes the place of.
    if let Some((last, _)) = text[..end].char_indices().next_back() {
        end = last;
    }
    text.truncate(end);
    text.push('…');
    true
}

/// Bounds an HTML field's size and nesting; true when it was changed.
fn cut_html(field: &mut Option<String>) -> bool {
    let Some(html) = field.as_mut() else {
        return false;
    };
    match bound_html(html, MAX_HTML_BYTES) {
        std::borrow::Cow::Borrowed(_) => false,
        std::borrow::Cow::Owned(bounded) => {
            *html = bounded;
            true
        }
    }
}

/// Keeps the first [`MAX_CATEGORIES`] categories, each at most
/// [`MAX_CATEGORY_CHARS`] long; true when any was cut or dropped.
fn cut_categories(categories: &mut Vec<String>) -> bool {
    let mut cut = categories.len() > MAX_CATEGORIES;
    categories.truncate(MAX_CATEGORIES);
    for category in categories.iter_mut() {
        let mut field = Some(std::mem::take(category));
        cut |= cut_text(&mut field, MAX_CATEGORY_CHARS);
        *category = field.unwrap_or_default();
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Enclosure;

    #[test]
    fn every_field_is_cut_to_its_cap() {
        let mut item = RawItem {
            guid: Some("g".repeat(10_000)),
            link: Some(format!("https://a.test/{}", "x".repeat(100_000))),
            title: Some("T".repeat(2_000_000)),
            author: Some("Ann ".repeat(1_000)),
            summary: Some(format!("<p>{}</p>", "word ".repeat(100_000))),
            categories: (0..10_000).map(|i| format!("c{i}")).collect(),
            enclosures: vec![
                Enclosure {
                    url: "https://a.test/a.mp3".into(),
                    ..Enclosure::default()
                };
                30
            ],
            ..RawItem::default()
        };
        let over = cap_fields(&mut item);
        assert_eq!(
            over,
            [
                "guid",
                "title",
                "author",
                "link",
                "summary",
                "categories",
                "enclosures"
            ]
        );
        assert!(item.guid.as_deref().unwrap().starts_with("sha256:"));
        assert_eq!(
            item.title.as_deref().unwrap().chars().count(),
            MAX_TITLE_CHARS
        );
        assert!(item.title.as_deref().unwrap().ends_with('…'));
        assert_eq!(item.link, None);
        assert!(item.summary.as_deref().unwrap().len() <= MAX_HTML_BYTES);
        assert_eq!(item.categories.len(), MAX_CATEGORIES);
        assert_eq!(item.enclosures.len(), MAX_ENCLOSURES);
        // Capped once, an item is within every cap.
        let again = item.clone();
        assert!(cap_fields(&mut item).is_empty());
        assert_eq!(item, again);
    }

    #[test]
    fn ordinary_items_are_left_alone() {
        let mut item = RawItem {
            guid: Some("https://a.test/1".into()),
            title: Some("Élection: résultats".into()),
            categories: vec!["World".into(), "Politics".into()],
            ..RawItem::default()
        };
        assert!(cap_fields(&mut item).is_empty());
        assert_eq!(item.title.as_deref(), Some("Élection: résultats"));
    }
}
