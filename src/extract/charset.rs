//! Bytes → text for HTML pages: BOM, then the HTTP charset, then `<meta charset>`,
//! then a UTF-8 validity check with a windows-1252 fallback (what browsers do for
//! unlabeled Western pages). Invalid bytes become U+FFFD; nothing here can panic.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into the page a `<meta charset>` is looked for (the HTML spec prescans 1024
/// bytes; real pages put long `<script>`s first, so we look further).
const PRESCAN: usize = 8192;

/// Decodes an HTML page; `http_charset` is the `charset=` of the Content-Type, if any.
pub fn decode_html<'a>(bytes: &'a [u8], http_charset: Option<&str>) -> Cow<'a, str> {
    let (encoding, bom_len) = pick_encoding(bytes, http_charset);
    // Borrowed when the bytes are already valid UTF-8: no copy of the page.
    let (text, _had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
    text
}

/// The encoding to use and the length of a byte-order mark to skip.
pub fn pick_encoding(bytes: &[u8], http_charset: Option<&str>) -> (&'static Encoding, usize) {
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        return (enc, len);
    }
    if let Some(enc) = http_charset.and_then(label_to_encoding) {
        return (enc, 0);
    }
    if let Some(enc) = meta_charset(&bytes[..bytes.len().min(PRESCAN)]) {
        return (enc, 0);
    }
    if std::str::from_utf8(bytes).is_ok() {
        (UTF_8, 0)
    } else {
        // Unlabeled and not UTF-8: the browsers' default for legacy pages.
        (WINDOWS_1252, 0)
    }
}

/// An encoding label → encoding; UTF-16 labels on an ASCII-compatible page mean UTF-8
/// (HTML spec), and "x-user-defined" is not useful for text.
fn label_to_encoding(label: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(label.trim().trim_matches(['"', '\'']).as_bytes())?;
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Some(UTF_8);
    }
    if enc == encoding_rs::X_USER_DEFINED || enc == encoding_rs::REPLACEMENT {
        return None;
    }
    Some(enc)
}

/// Finds `<meta charset=…>` or `<meta http-equiv content="…; charset=…">` in the head bytes.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
            let rest = &tag[c + b"charset".len()..];
            let rest = trim_start(rest);
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = trim_start(rest);
                let rest = rest
                    .strip_prefix(b"\"")
                    .or_else(|| rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let len = rest
                    .iter()
                    .position(|&b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>'))
                    .unwrap_or(rest.len());
                if let Some(enc) = std::str::from_utf8(&rest[..len])
                    .ok()
                    .and_then(label_to_encoding)
                {
                    return Some(enc);
                }
            }
        }
        from = end;
        if from >= lower.len() {
            break;
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    crate::sanitize::depth::find(hay, 0, needle)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_charset_wins_over_meta() {
        let page = b"<meta charset=\"utf-8\"><p>caf\xe9</p>";
        assert!(decode_html(page, Some("iso-8859-1")).contains("café"));
    }

    #[test]
    fn bom_wins_over_http_header() {
        let page = b"\xef\xbb\xbf<p>caf\xc3\xa9</p>";
        let text = decode_html(page, Some("windows-1252"));
        assert_eq!(text, "<p>café</p>");
    }

    #[test]
    fn meta_charset_and_http_equiv_are_read() {
        let page = b"<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1251'></head><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>";
        assert!(decode_html(page, None).contains("Привет"));
        let page = b"<meta charset=shift_jis><p>\x93\xfa\x96\x7b</p>";
        assert!(decode_html(page, None).contains("日本"));
    }

    #[test]
    fn unlabeled_pages_are_utf8_or_windows_1252() {
        assert!(decode_html("<p>naïve</p>".as_bytes(), None).contains("naïve"));
        assert!(decode_html(b"<p>na\xefve \x93quoted\x94</p>", None).contains("naïve “quoted”"));
    }

    #[test]
    fn invalid_bytes_never_panic() {
        let text = decode_html(b"<meta charset=utf-8><p>ok \xff\xfe\xc3</p>", None);
        assert!(text.contains("ok \u{FFFD}"));
        let _ = decode_html(b"<meta charset=", None);
        let _ = decode_html(b"<meta charset=\"", Some("no-such-charset"));
    }
}
