//! The tag and attribute names the scan treats specially, as html5ever's
//! tokenizer and tree builder do.

/// Tags that never nest or close themselves implicitly; they do not count.
#[inline]
pub(super) fn uncounted(name: &[u8]) -> bool {
    matches!(
        name,
        b"p" | b"li"
            | b"dt"
            | b"dd"
            | b"tr"
            | b"td"
            | b"th"
            | b"option"
            | b"br"
            | b"img"
            | b"hr"
            | b"input"
            | b"meta"
            | b"link"
            | b"area"
            | b"base"
            | b"col"
            | b"embed"
            | b"source"
            | b"track"
            | b"wbr"
            | b"param"
            | b"keygen"
    )
}

/// Raw-text elements whose content is not markup.
#[inline]
pub(super) fn raw_text(name: &[u8]) -> bool {
    matches!(
        name,
        b"script"
            | b"style"
            | b"textarea"
            | b"title"
            | b"xmp"
            | b"noscript"
            | b"iframe"
            | b"noembed"
            | b"noframes"
            | b"plaintext"
    )
}

/// Attributes that the extractor (chrome rules, metadata, images, links, the
/// HTML writer) or html5ever's tree builder (`type` of a hidden input in a
/// table, `color`/`face`/`size` of a font in SVG, `encoding` of MathML
/// annotations) reads. `name` is lower-case. Reading a new attribute anywhere
/// in `extract` means adding it here: the test `kept_attributes_cover_every_reader`
/// extracts pages both ways and fails otherwise.
#[inline]
pub(super) fn read_attribute(name: &[u8]) -> bool {
    matches!(
        name,
        b"class"
            | b"id"
            | b"role"
            | b"aria-label"
            | b"aria-hidden"
            | b"hidden"
            | b"style"
            | b"href"
            | b"rel"
            | b"src"
            | b"srcset"
            | b"data-src"
            | b"data-original"
            | b"data-lazy-src"
            | b"data-lazy"
            | b"data-url"
            | b"data-hi-res-src"
            | b"data-full-src"
            | b"data-srcset"
            | b"data-lazy-srcset"
            | b"alt"
            | b"title"
            | b"width"
            | b"height"
            | b"lang"
            | b"dir"
            | b"colspan"
            | b"rowspan"
            | b"cite"
            | b"datetime"
            | b"start"
            | b"property"
            | b"name"
            | b"itemprop"
            | b"content"
            | b"type"
            | b"color"
            | b"face"
            | b"size"
            | b"encoding"
    )
}

/// Start tags that end SVG or MathML content when met inside it (the tree
/// builder pops back to HTML), as html5ever lists them; `<font>` does so only
/// with some attributes, and the walk (`follow`) stops at it.
#[inline]
pub(super) fn breaks_out_of_foreign(name: &[u8]) -> bool {
    matches!(
        name,
        b"b" | b"big"
            | b"blockquote"
            | b"body"
            | b"br"
            | b"center"
            | b"code"
            | b"dd"
            | b"div"
            | b"dl"
            | b"dt"
            | b"em"
            | b"embed"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"hr"
            | b"i"
            | b"img"
            | b"li"
            | b"listing"
            | b"menu"
            | b"meta"
            | b"nobr"
            | b"ol"
            | b"p"
            | b"pre"
            | b"ruby"
            | b"s"
            | b"small"
            | b"span"
            | b"strong"
            | b"strike"
            | b"sub"
            | b"sup"
            | b"table"
            | b"tt"
            | b"u"
            | b"ul"
            | b"var"
    )
}

/// SVG and MathML elements whose content is parsed as HTML again
/// (integration points).
#[inline]
pub(super) fn html_inside_foreign(name: &[u8]) -> bool {
    matches!(
        name,
        b"foreignobject"
            | b"desc"
            | b"title"
            | b"mi"
            | b"mo"
            | b"mn"
            | b"ms"
            | b"mtext"
            | b"annotation-xml"
    )
}
