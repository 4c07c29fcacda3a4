use super::names::read_attribute;
use super::{apply_cuts, plan_cuts, trim_for_parse, MAX_DEPTH};

#[test]
fn shallow_pages_are_left_alone() {
    assert_eq!(
        trim_for_parse("<div><p>a<p>b</div><script>if (a<b) {}</script>", true),
        (None, false)
    );
}

#[test]
fn code_is_cut_but_metadata_and_text_stay() {
    let code = "var x = '<p>not text</p>';".repeat(300);
    let page = format!(
        "<html><head><style>p {{ color: red }}</style>\
         <script type=\"application/ld+json\">{{\"headline\":\"Kept\"}}</script>\
         <SCRIPT src=\"a.js\"></SCRIPT><script>{code}</script></head>\
         <body><p>Article text.</p><textarea>{code}</textarea></body></html>"
    );
    let (cut, capped) = trim_for_parse(&page, true);
    let cut = cut.unwrap();
    assert!(!capped);
    assert!(cut.contains("<script></script></head>"));
    assert!(cut.contains("<style></style>"));
    assert!(cut.contains("{\"headline\":\"Kept\"}"));
    assert!(cut.contains("<p>Article text.</p>"));
    // Only scripts and style sheets: a textarea's content is the page's.
    assert_eq!(cut.matches("not text").count(), 300);
    // Little code: nothing to gain from a copy.
    assert_eq!(trim_for_parse("<p>a</p><script>x()</script>", true).0, None);
    // A script that writes a script ends where the parser says it does.
    let odd = format!("<script><!-- {code} <script> </script> --></script><p>b</p>");
    assert_eq!(
        trim_for_parse(&odd, true).0.unwrap(),
        "<script></script><p>b</p>"
    );
}

#[test]
fn deep_pages_keep_their_text_and_lose_extra_tags() {
    let deep = "<div>".repeat(5000) + "<p>deep é text</p>" + &"</div>".repeat(5000);
    let (flat, capped) = trim_for_parse(&deep, true);
    let flat = flat.unwrap();
    assert!(capped);
    assert!(flat.contains("<p>deep é text</p>"));
    assert_eq!(flat.matches("<div>").count(), MAX_DEPTH);
    assert_eq!(flat.matches("</div>").count(), MAX_DEPTH);
}

#[test]
fn unread_attributes_go_and_read_ones_stay() {
    let page = r#"<div class="a" data-track='{"x":1}' onclick=go() hidden><IMG SRC="p.jpg" Loading=lazy DATA-SRC="q.jpg"/></div>"#;
    let (cuts, _) = plan_cuts(page.as_bytes(), true);
    assert_eq!(
        apply_cuts(page, &cuts),
        r#"<div class="a"   hidden><IMG SRC="p.jpg"  DATA-SRC="q.jpg"/></div>"#
    );
    // A caller with CSS selectors keeps every attribute.
    let (cuts, _) = plan_cuts(page.as_bytes(), false);
    assert!(cuts.is_empty());
}

/// Every node of the parsed page in document order, with the attributes
/// [`read_attribute`] keeps; the code in scripts and style sheets and the
/// content of SVG drawings and MathML formulas are left out.
fn parsed(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let foreign = |n: ego_tree::NodeRef<'_, scraper::Node>| {
        n.value()
            .as_element()
            .is_some_and(|el| el.name.ns != markup5ever::ns!(html))
    };
    doc.tree
        .root()
        .descendants()
        .filter(|n| !n.ancestors().any(foreign))
        .filter_map(|n| match n.value() {
            scraper::Node::Element(el) => {
                let mut attrs: Vec<String> = el
                    .attrs
                    .iter()
                    .filter(|(k, _)| k.ns.is_empty() && read_attribute(k.local.as_bytes()))
                    .map(|(k, v)| format!("{}={:?}", &*k.local, &**v))
                    .collect();
                attrs.sort();
                Some(format!(
                    "<{} {} {}>",
                    &*el.name.ns,
                    el.name(),
                    attrs.join(" ")
                ))
            }
            scraper::Node::Text(t) => {
                let code = n
                    .parent()
                    .and_then(|p| p.value().as_element())
                    .is_some_and(|p| {
                        p.name.ns == markup5ever::ns!(html)
                            && matches!(p.name(), "script" | "style")
                    });
                (!code).then(|| format!("text {:?}", &**t))
            }
            scraper::Node::Comment(c) => Some(format!("comment {:?}", &**c)),
            other => Some(format!("{other:?}")),
        })
        .collect()
}

/// The page parses the same with its code and unread attributes cut.
fn assert_parses_alike(page: &str) {
    let (cuts, _) = plan_cuts(page.as_bytes(), true);
    let cut = apply_cuts(page, &cuts);
    assert_eq!(parsed(page), parsed(&cut), "\n{page}\n{cut}");
}

/// Markup where a scan that does not follow the tokenizer loses its place.
const TRICKY: &[&str] = &[
    // An unclosed quote swallows the next tags into the value (a real page).
    r#"<div id="rail</div><div data-advert="INLINE" data-target="INLINE"></div><p data-x="1" class="c">text</p>"#,
    r#"<a href=foo'bar data-x=1>t</a><p data-y="2">u</p>"#,
    r#"<div data-a="1"class="k">x</div><p data-x=>t</p><a href="x"/data-y=1>l</a>"#,
    r#"<!--><p data-z="1">v</p><!---><p data-z="2">w</p><!-- a --!><p data-z="3">x</p>"#,
    r#"<!-- a --- b ---><p data-z="1">y</p><!-- <p data-q="1"> -->"#,
    r#"<!x <a data-q="1>2">y</a><?php echo "<b data-x='1'>"; ?><p data-w="1">z</p>"#,
    r#"</ p data-x="y"><p data-x="z">a</p></>b<3 data-x="1">c"#,
    r#"<script><!-- document.write("<script data-x='1'>x</script>"); --></script><p data-k="1">after</p>"#,
    r#"<script>a="</scriptx>"; b='<p data-x="1">'</script ><p data-k=2>k</p>"#,
    r#"<textarea><p data-x="1">raw</p></textarea><title><b data-x=1>t</b></title>"#,
    r#"<iframe><p data-x="1">f</p></iframe><noscript><p data-x="1">n</p></noscript><noembed><i data-x=1></noembed><noframes><i data-x=1></noframes><xmp><i data-x=1></xmp>"#,
    r#"<svg><title>t <b data-x=1>b</b></title><style>.a{}</style><![CDATA[ <p data-x="1"> ]]><foreignObject><div data-x="1">f</div></foreignObject></svg><p data-x="2">after</p>"#,
    r#"<svg><path d="M0 0" data-x=1/><p data-x="1">breakout</p><style><i data-x=1></style><p data-y="2">z</p>"#,
    r#"<svg><desc><style>"</style><p data-x=1>d</p></desc></svg><p data-y=1>e</p>"#,
    r#"<svg><font color=red data-x=1>f</font><font data-y=1>g</font></svg><p data-z=1>h</p>"#,
    r#"<math><mi data-x=1>x</mi><annotation-xml encoding="text/html"><style>"</style><div data-a=1>h</div></annotation-xml></math><p data-b=1>m</p>"#,
    r#"<svg><svg data-x=1></svg><g data-y=1/></svg><script>"<i data-z='</script><p data-x=1>s</p>"#,
    r#"<table><input type=hidden data-x=1><tr><td data-y=1>c</td></tr></table>"#,
    r#"<DIV DATA-X="1" CLASS="Y">z</DIV><o:p data-x=1>w</o:p><my-el data-x=1 role=note>q</my-el>"#,
    r#"<p data-é="ü" title="é">é</p><plaintext><p data-x="1">all text"#,
    r#"<p data-x="1">a</p><p data-x="1"#,
    r#"<svg><feComponentTransfer data-x=1><feFuncA/></feComponentTransferX><style><i data-x=1></style></svg><p data-x=1>t</p>"#,
];

#[test]
fn stripped_pages_parse_as_the_originals() {
    for page in TRICKY {
        assert_parses_alike(page);
    }
    // Every pair, in both orders: what one leaves open, the next meets.
    for a in TRICKY {
        for b in TRICKY {
            assert_parses_alike(&format!("{a}{b}"));
        }
    }
}

#[test]
fn random_markup_parses_as_the_original() {
    for page in random_pages() {
        assert_parses_alike(&page);
    }
}

/// The bits random pages are made of: the tokenizer's delimiters, tags that
/// change its state (raw text, SVG and MathML, selects, framesets), attributes
/// kept and cut.
const PIECES: &[&str] = &[
    "<",
    ">",
    "\"",
    "'",
    "=",
    " ",
    "/",
    "!",
    "-",
    "?",
    "<p",
    "</p>",
    "<div",
    "</div>",
    "<svg",
    "</svg>",
    "<math",
    "</math>",
    "<script>",
    "</script>",
    "<style>",
    "</style>",
    "<title>",
    "</title>",
    "<textarea>",
    "</textarea>",
    "<!--",
    "-->",
    "--!>",
    "<![CDATA[",
    "]]>",
    " data-x=",
    " class=",
    " id=",
    " href=",
    " onclick=",
    "\"v\"",
    "'w'",
    "text ",
    "<b",
    "<font",
    " color",
    "<foreignObject>",
    "<desc>",
    "</desc>",
    "<iframe>",
    "</iframe>",
    "<noscript>",
    "</noscript>",
    "<table>",
    "<input type=hidden",
    "<mi>",
    "<annotation-xml",
    " encoding=\"text/html\"",
    "<!DOCTYPE html>",
    "<?x ",
    "</ ",
    "<3",
    "é",
    "\n",
    "<a",
    "<img",
    " data-src=",
    "<xmp>",
    "</xmp>",
    "<template>",
    "</template>",
    "</br>",
    "<br>",
    "<plaintext>",
    "<select>",
    "</select>",
    "<option>",
    "<td>",
    "</table>",
    "<frameset>",
    "<g>",
    "</g>",
    " data-y=\"a b\"",
    " data-z=u'v",
    "/>",
    " alt=",
    "<title",
    "<script",
    "</script",
    "<style",
    "<!-->",
    "<svg/>",
    "<math/>",
    "</mi>",
    "<keygen>",
    "<font color=red>",
    "<feComponentTransfer>",
    "</fecomponenttransfer>",
    "</feComponentTransferX>",
];

/// Pages of 5 to 64 random [`PIECES`]; `FUZZ_SEED` and `FUZZ_PAGES` (3000
/// unless set) choose other pages and how many.
fn random_pages() -> impl Iterator<Item = String> {
    // xorshift: the same pages on every run.
    let mut state = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pages: usize = std::env::var("FUZZ_PAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    (0..pages).map(move |_| {
        let len = 5 + next() % 60;
        (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect()
    })
}

#[test]
fn fragments_nested_too_deep_are_flattened_keeping_the_text() {
    assert_eq!(super::cap_depth("<div><b>fine</b></div>"), None);
    let deep = format!(
        "{}deep text{}<p>after</p>",
        "<div>".repeat(MAX_DEPTH * 3),
        "</div>".repeat(MAX_DEPTH * 3)
    );
    let capped = super::cap_depth(&deep).unwrap();
    assert_eq!(capped.matches("<div>").count(), MAX_DEPTH);
    assert_eq!(capped.matches("</div>").count(), MAX_DEPTH);
    assert!(capped.contains("deep text") && capped.ends_with("<p>after</p>"));
}
