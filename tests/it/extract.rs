//! The two seed pages through the extraction stage and through `feedsieve clean`,
//! checked against `tests/fixtures/seed-story/expected.json`.

use crate::common;

use feedsieve::extract::{extract, Options};
use serde_json::Value;
use url::Url;

const BASE: &str = "http://127.0.0.1:9";

struct Expect {
    path: String,
    title: String,
    start: String,
    contains: Vec<String>,
    absent: Vec<String>,
}

fn expectations() -> Vec<Expect> {
    let raw = std::fs::read_to_string(common::fixture_root().join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&raw).unwrap();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    v["pages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, p)| Expect {
            path: path.clone(),
            title: p["title"].as_str().unwrap().to_string(),
            start: p["must_start_with"].as_str().unwrap().to_string(),
            contains: strs(&p["must_contain"]),
            absent: strs(&p["must_not_contain"]),
        })
        .collect()
}

fn page(path: &str) -> Vec<u8> {
    let raw = std::fs::read_to_string(common::fixture_root().join("site").join(path)).unwrap();
    raw.replace("{base}", BASE).into_bytes()
}

/// Checks one cleaned text against the page's expectations.
fn check_text(e: &Expect, text: &str) {
    assert!(
        text.starts_with(&e.start),
        "{}: text starts {:?}",
        e.path,
        text.chars().take(120).collect::<String>()
    );
    for want in &e.contains {
        assert!(
            text.contains(want.as_str()),
            "{}: lost {want:?}\n{text}",
            e.path
        );
    }
    for bad in &e.absent {
        assert!(
            !text.contains(bad.as_str()),
            "{}: kept chrome {bad:?}\n{text}",
            e.path
        );
    }
}

#[test]
fn seed_pages_keep_the_article_and_lose_the_chrome() {
    for e in expectations() {
        let url = Url::parse(&format!("{BASE}/{}", e.path)).unwrap();
        let opts = Options {
            html: true,
            ..Options::default()
        };
        let a = extract(&page(&e.path), &url, Some("utf-8"), &opts).unwrap();
        assert_eq!(a.title.as_deref(), Some(e.title.as_str()), "{}", e.path);
        check_text(&e, &a.text);
        for bad in [
            "share-icon",
            "comment-icon",
            "nav-post-picture",
            "menu-icon",
        ] {
            assert!(!a.html.contains(bad), "{}: {bad} in {}", e.path, a.html);
        }
        assert!(a.published.is_some(), "{}: no date", e.path);
        assert_eq!(a.canonical_url.as_deref(), Some(url.as_str()));
    }
}

#[test]
fn clean_prints_and_writes_the_seed_articles() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let mut files = Vec::new();
    for e in expectations() {
        // Stored gzipped under the page's file name, as the dev data is.
        let name = e.path.rsplit('/').next().unwrap().to_string();
        let file = dir.path().join(format!("{name}.gz"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &page(&e.path)).unwrap();
        std::fs::write(&file, gz.finish().unwrap()).unwrap();
        files.push(file);

        let plain = dir.path().join(&name);
        std::fs::write(&plain, page(&e.path)).unwrap();
        let out = common::feedsieve()
            .args(["clean", "--text", "--url", &format!("{BASE}/{}", e.path)])
            .arg(&plain)
            .output()
            .unwrap();
        common::succeeded(&out);
        check_text(&e, &String::from_utf8_lossy(&out.stdout));
    }
    clean_to_dir(&out_dir, &files);
    for e in expectations() {
        let stem = e.path.rsplit('/').next().unwrap().trim_end_matches(".html");
        let text = std::fs::read_to_string(out_dir.join(format!("{stem}.txt"))).unwrap();
        check_text(&e, &text);
    }
}

/// `feedsieve clean --text --out-dir OUT FILES…`, which must succeed.
fn clean_to_dir(out_dir: &std::path::Path, files: &[std::path::PathBuf]) {
    let out = common::feedsieve()
        .args(["clean", "--text", "--out-dir"])
        .arg(out_dir)
        .args(files)
        .output()
        .unwrap();
    common::succeeded(&out);
}

#[test]
fn clean_run_again_over_its_output_rewrites_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let files: Vec<_> = expectations()
        .iter()
        .map(|e| {
            let file = dir.path().join(e.path.rsplit('/').next().unwrap());
            std::fs::write(&file, page(&e.path)).unwrap();
            file
        })
        .collect();
    clean_to_dir(&out_dir, &files);
    let outputs: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(outputs.len(), files.len());
    // Every output dated a day back; one of them no longer holds its article.
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    for path in &outputs {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(day_ago).unwrap();
    }
    let article = std::fs::read(&outputs[0]).unwrap();
    std::fs::write(&outputs[0], "stale").unwrap();
    clean_to_dir(&out_dir, &files);
    assert_eq!(std::fs::read(&outputs[0]).unwrap(), article);
    let modified = |p: &std::path::PathBuf| std::fs::metadata(p).unwrap().modified().unwrap();
    assert!(modified(&outputs[0]) > day_ago);
    for path in &outputs[1..] {
        assert_eq!(modified(path), day_ago, "{} was rewritten", path.display());
    }
}

#[test]
fn clean_html_mode_is_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let path = "vue-news/zelenskyy-nato.html";
    let file = dir.path().join("page.html");
    std::fs::write(&file, page(path)).unwrap();
    let out = common::feedsieve()
        .args(["clean", "--html", "--url", &format!("{BASE}/{path}")])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("<p>Ukrainian President Volodymyr Zelenskyy"),
        "{html}"
    );
    for bad in [
        "<script",
        "<iframe",
        "Advertisement",
        "dataLayer",
        "Must Read",
    ] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
}

/// `tests/fixtures/page-kinds/NAME`: small pages of kinds other than the seed articles.
fn kind_page(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/page-kinds")
        .join(name)
}

/// `feedsieve clean --text FILE`.
fn clean_text(file: &std::path::Path) -> std::process::Output {
    common::feedsieve()
        .args(["clean", "--text"])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn clean_gives_the_prose_of_a_page_the_scorer_does_not_recognise() {
    // Every paragraph is a link: nothing reads as prose to the scorer, yet the
    // page has text, which must come out without the menu and the footer.
    let text = common::succeeded(&clean_text(&kind_page("linked-prose.html")));
    assert!(
        text.contains("The river rose two metres overnight"),
        "{text}"
    );
    assert!(
        text.contains("a smell that stayed for weeks after"),
        "{text}"
    );
    for chrome in ["About us", "Privacy notice", "Contact the editors"] {
        assert!(!text.contains(chrome), "{chrome} in {text}");
    }
    // Only a menu: nothing to read, and `clean` says so with a failing status.
    let out = clean_text(&kind_page("menu-only.html"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no article text found"));
}

/// Checks `clean` on a page-kind fixture: what must and must not come out.
fn check_kind(name: &str, must: &[&str], must_not: &[&str]) {
    let text = common::succeeded(&clean_text(&kind_page(name)));
    for m in must {
        assert!(text.contains(m), "{name}: {m:?} missing from {text}");
    }
    for m in must_not {
        assert!(!text.contains(m), "{name}: {m:?} in {text}");
    }
}

#[test]
fn clean_gives_the_main_content_of_other_kinds_of_page() {
    // A list page whose only sentence is an intro line: the items are the page.
    check_kind(
        "list.html",
        &[
            "newest first",
            "The cliff path from Porthallow to the lighthouse",
            "Bluebell woods above the river",
            "Two miles.",
        ],
        &[
            "Places to stay",
            "Popular this week",
            "Ship Inn",
            "Privacy policy",
        ],
    );
    // A product: the description, not the cart form or the reviews widget.
    check_kind(
        "product.html",
        &["air-dried English oak", "by our own van"],
        &[
            "Add to basket",
            "Customer reviews",
            "Read all 112 reviews",
            "Returns",
        ],
    );
    // Documentation: the body with its code and headings, not the sidebar.
    check_kind(
        "docs.html",
        &[
            "read in one call",
            "tomlkit::read(\"app.toml\")",
            "Missing keys",
        ],
        &["Quickstart", "API reference", "Edit this page"],
    );
    // A forum thread whose posts are served to readers without scripts.
    check_kind(
        "noscript-forum.html",
        &["rings of Saturn", "six-inch Dobsonian"],
        &["Terms of service", "Privacy"],
    );
}

/// `feedsieve clean --explain ARGS... FILE`: its standard output.
fn explain(file: &std::path::Path, args: &[&str]) -> String {
    let out = common::feedsieve()
        .args(["clean", "--explain"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    common::succeeded(&out)
}

#[test]
fn clean_explain_names_the_root_and_the_rule_behind_each_removed_block() {
    let seed = common::fixture_root().join("site/vue-news/zelenskyy-nato.html");
    // The scorer's choice, with the inline advertisement removed by its class.
    let out = explain(&seed, &[]);
    assert!(
        out.contains("root: body.single-post > main > article.post > div.entry-content\n"),
        "{out}"
    );
    assert!(out.contains("chosen by: the scorer, score"), "{out}");
    assert!(
        out.contains("[ad-slot] body.single-post > main > article.post > div.entry-content > div.ad-slot: \"Advertisement\""),
        "{out}"
    );
    assert!(out.contains("root text: 543 words"), "{out}");
    // The explanation only, not the article.
    assert!(
        !out.contains("Ukrainian President Volodymyr Zelenskyy expressed"),
        "{out}"
    );

    // A wider root by the user's selector: the boxes of other stories beside
    // the article show up with the rule that took each, a `remove` selector too.
    let out = explain(&seed, &["--content", "main", "--remove", ".newsletter-box"]);
    assert!(out.contains("root: body.single-post > main\n"), "{out}");
    assert!(
        out.contains("chosen by: the content selector \"main\""),
        "{out}"
    );
    assert!(
        out.contains("[related] body.single-post > main > section.related-news: \"Related News"),
        "{out}"
    );
    assert!(
        out.contains("body.single-post > main > aside.must-read: \"Must Read"),
        "{out}"
    );
    assert!(
        out.contains("[title] body.single-post > main > article.post > h1.entry-title"),
        "{out}"
    );
    assert!(
        out.contains("[remove \".newsletter-box\"] body.single-post > main > article.post > div.newsletter-box"),
        "{out}"
    );
}

#[test]
fn clean_explain_says_when_the_content_selector_matched_nothing() {
    let out = explain(&kind_page("list.html"), &["--content", ".no-such-box"]);
    assert!(
        out.contains(
            "content selector \".no-such-box\" matched nothing: the automatic choice stands"
        ),
        "{out}"
    );
    assert!(out.contains("chosen by: the scorer"), "{out}");
    // A page whose text comes from a fallback step names the step.
    let out = explain(&kind_page("noscript-forum.html"), &[]);
    assert!(
        out.contains("fallback: the page served in its <noscript>"),
        "{out}"
    );
}
