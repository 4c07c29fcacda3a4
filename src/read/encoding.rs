//! Bytes to text: BOM, HTTP charset, XML declaration and sniffing, in the order
//! feedparser (and RFC 3023) use them, with fallbacks for mis-declared documents.
//!
//! Transcoding is encoding_rs; UTF-32, which encoding_rs (a WHATWG implementation)
//! does not carry, is decoded here. When nothing declared fits, chardetng (the
//! detector Firefox uses) guesses the legacy encoding from the bytes.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wide {
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

/// Decodes a feed body to text. `http_charset` is the `charset=` of the HTTP
/// Content-Type, if any. Never fails: when no candidate decodes cleanly the
/// document is read as Windows-1252, which maps every byte.
pub fn decode(body: &[u8], http_charset: Option<&str>) -> String {
    let (wide, skip) = sniff(body);
    let data = &body[skip..];
    if let Some(w) = wide {
        // A UTF-16/32 document says so in its first bytes; a charset claiming
        // otherwise cannot be right.
        return decode_wide(data, w);
    }
    // Valid UTF-8 with non-ASCII text is practically never a legacy encoding by
    // accident, while "ISO-8859-1" left in a template over UTF-8 bytes is common.
    if !data.is_ascii() {
        if let Ok(s) = std::str::from_utf8(data) {
            return s.to_string();
        }
    }
    let declared = xml_declared(data);
    for label in [http_charset, declared.as_deref()].into_iter().flatten() {
        let Some(enc) = label_to_encoding(label) else {
            continue;
        };
        if enc == UTF_16LE || enc == UTF_16BE || enc == UTF_8 {
            // UTF-16 without its shape, or UTF-8 that did not decode: wrong label.
            continue;
        }
        if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(data) {
            return text.into_owned();
        }
    }
    // Nothing declared that fits: guess from the bytes, as browsers do.
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(data, true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    for enc in [guess, WINDOWS_1252] {
        if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(data) {
            return text.into_owned();
        }
    }
    WINDOWS_1252
        .decode_without_bom_handling(data)
        .0
        .into_owned()
}

fn label_to_encoding(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().to_ascii_lowercase();
    let l = match l.as_str() {
        // Names Python knows that the WHATWG list does not.
        "utf8" | "utf_8" | "u8" => "utf-8",
        "latin1" | "latin-1" | "iso8859-1" | "iso_8859_1" => "iso-8859-1",
        "cp1251" | "win-1251" => "windows-1251",
        "cp1252" => "windows-1252",
        "gb2312" => "gb18030",
        other => other,
    };
    Encoding::for_label(l.as_bytes())
}

/// BOM or the shape of `<?` in a wide encoding. Returns the encoding and how many
/// bytes of BOM to skip.
fn sniff(b: &[u8]) -> (Option<Wide>, usize) {
    match b {
        [0x00, 0x00, 0xFE, 0xFF, ..] => (Some(Wide::Utf32Be), 4),
        [0xFF, 0xFE, 0x00, 0x00, ..] => (Some(Wide::Utf32Le), 4),
        [0xFE, 0xFF, ..] => (Some(Wide::Utf16Be), 2),
        [0xFF, 0xFE, ..] => (Some(Wide::Utf16Le), 2),
        [0xEF, 0xBB, 0xBF, ..] => (None, 3),
        [0x00, 0x00, 0x00, b'<', ..] => (Some(Wide::Utf32Be), 0),
        [b'<', 0x00, 0x00, 0x00, ..] => (Some(Wide::Utf32Le), 0),
        [0x00, b'<', 0x00, _, ..] => (Some(Wide::Utf16Be), 0),
        [b'<', 0x00, _, 0x00, ..] => (Some(Wide::Utf16Le), 0),
        _ => (None, 0),
    }
}

fn decode_wide(data: &[u8], w: Wide) -> String {
    match w {
        Wide::Utf16Le => UTF_16LE.decode_without_bom_handling(data).0.into_owned(),
        Wide::Utf16Be => UTF_16BE.decode_without_bom_handling(data).0.into_owned(),
        Wide::Utf32Le | Wide::Utf32Be => data
            .chunks(4)
            .map(|c| {
                let mut a = [0u8; 4];
                a[..c.len()].copy_from_slice(c);
                let v = if w == Wide::Utf32Le {
                    u32::from_le_bytes(a)
                } else {
                    u32::from_be_bytes(a)
                };
                char::from_u32(v).unwrap_or('\u{FFFD}')
            })
            .collect(),
    }
}

/// The `encoding` of an `<?xml ...?>` declaration at the start of `data`.
fn xml_declared(data: &[u8]) -> Option<String> {
    let start = data.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &data[start..data.len().min(start + 512)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = memchr::memmem::find(head, b"?>")?;
    let decl: Cow<'_, str> = String::from_utf8_lossy(&head[..end]);
    let i = decl.find("encoding")?;
    let rest = decl[i + 8..].trim_start().strip_prefix('=')?.trim_start();
    let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let value = &value[..value.find(q)?];
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let s = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>Привет</rss>";
        assert_eq!(decode(&utf16le(s, true), None), s);
        assert_eq!(decode(&utf16le(s, false), None), s);
    }

    #[test]
    fn utf32_big_endian() {
        let s = "<rss>é</rss>";
        let bytes: Vec<u8> = s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        assert_eq!(decode(&bytes, None), s);
    }

    #[test]
    fn declared_encoding_and_http_charset_are_used() {
        let body = b"<?xml version='1.0' encoding='windows-1251'?><t>\xcf\xf0\xe8</t>";
        assert_eq!(
            decode(body, None),
            "<?xml version='1.0' encoding='windows-1251'?><t>При</t>"
        );
        assert_eq!(decode(b"<t>\xcf\xf0\xe8</t>", Some("cp1251")), "<t>При</t>");
    }

    #[test]
    fn utf8_declared_but_latin1_bytes_fall_back() {
        let body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>caf\xe9</t>";
        assert!(decode(body, None).ends_with("<t>café</t>"));
    }
}
