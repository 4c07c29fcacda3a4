//! Unit tests of the whole extraction on small pages.

use super::*;

fn url() -> Url {
    Url::parse("https://news.test/world/story.html").unwrap()
}

fn para(n: usize) -> String {
    (0..n)
        .map(|i| format!("<p>Paragraph {i} of the report says that the council met on Tuesday, and that the budget, after long talks, was finally agreed by a narrow margin.</p>"))
        .collect()
}

fn run(html: &str) -> Article {
    extract_str(
        html,
        &url(),
        &Options {
            html: true,
            ..Options::default()
        },
    )
    .unwrap()
}

#[test]
fn article_text_without_menus_and_footer() {
    let page = format!(
        r#"<html><body><nav><ul><li><a href="/">Home</a></li><li><a href="/w">World</a></li></ul></nav>
        <div class="main"><h1>Budget agreed</h1><div class="body">{}</div></div>
        <footer>All rights reserved. <a href="/privacy">Privacy policy</a></footer></body></html>"#,
        para(4)
    );
    let a = run(&page);
    assert!(a.text.starts_with("Paragraph 0"), "{}", a.text);
    assert!(a.text.contains("Paragraph 3"));
    assert!(!a.text.contains("Home"));
    assert!(!a.text.contains("rights reserved"));
    assert!(
        !a.text.contains("Budget agreed"),
        "the title is metadata: {}",
        a.text
    );
}

#[test]
fn related_heading_blocks_go_in_several_languages() {
    for heading in [
        "Related News",
        "Must Read",
        "Lire aussi",
        "You may also like",
    ] {
        let page = format!(
            r#"<article><div>{}<div><h3>{heading}</h3><ul><li><a href="/a">Other story one</a></li><li><a href="/b">Other story two</a></li></ul></div></div></article>"#,
            para(3)
        );
        let a = run(&page);
        assert!(!a.text.contains(heading), "{heading}: {}", a.text);
        assert!(!a.text.contains("Other story"), "{heading}: {}", a.text);
        assert!(a.text.contains("Paragraph 2"));
    }
}

#[test]
fn share_and_comment_icons_are_dropped_by_alt_class_and_label() {
    let page = format!(
        r#"<article><div class="text">{}<p><img src="/i/share.svg" alt="share-icon"> <img src="/photo.jpg" alt="The council chamber"></p>
        <div aria-label="Share this article"><a href="https://x.test/">X</a> Share</div>
        <span><img src="/c.svg" alt="comment-icon">12</span></div></article>"#,
        para(3)
    );
    let a = run(&page);
    assert!(!a.html.contains("share.svg"), "{}", a.html);
    assert!(!a.html.contains("c.svg"), "{}", a.html);
    assert!(a.html.contains("https://news.test/photo.jpg"), "{}", a.html);
    assert!(!a.text.contains("Share"));
}

#[test]
fn bylines_and_dates_become_metadata_not_text() {
    let page = format!(
        r#"<head><meta property="article:published_time" content="2025-12-16T09:00:00Z"><meta name="author" content="Ann Lee"></head>
        <article><div class="x"><p>By Ann Lee</p><p>Published: Tuesday, December 16</p><span>5 hours ago</span>{}</div></article>"#,
        para(3)
    );
    let a = run(&page);
    assert!(a.text.starts_with("Paragraph 0"), "{}", a.text);
    assert_eq!(a.author.as_deref(), Some("Ann Lee"));
    assert_eq!(
        a.published.map(|d| d.to_rfc3339()).as_deref(),
        Some("2025-12-16T09:00:00+00:00")
    );
}

#[test]
fn lazy_images_resolve_and_pixels_go() {
    let page = format!(
        r#"<article><div>{}<img src="data:image/gif;base64,R0lGOD" data-src="/img/a.jpg" alt="a">
        <img src="/blank.gif" data-original="img/b.jpg" alt="b"><img srcset="/s.jpg 320w, /l.jpg 1024w" alt="c">
        <img src="https://pixel.test/t.gif" width="1" height="1"></div></article>"#,
        para(3)
    );
    let a = run(&page);
    assert!(
        a.html.contains(r#"src="https://news.test/img/a.jpg""#),
        "{}",
        a.html
    );
    assert!(
        a.html
            .contains(r#"src="https://news.test/world/img/b.jpg""#),
        "{}",
        a.html
    );
    assert!(
        a.html.contains(r#"src="https://news.test/l.jpg""#),
        "{}",
        a.html
    );
    assert!(!a.html.contains("pixel.test"), "{}", a.html);
    assert!(!a.html.contains("data:"), "{}", a.html);
}

#[test]
fn output_html_is_sanitised_and_links_lose_tracking() {
    let page = format!(
        r#"<article><div>{}<p>See <a href="/report?utm_source=rss&amp;id=4" onclick="x()">the report</a>, which was published on Monday by the council.</p><script>alert(1)</script></div></article>"#,
        para(3)
    );
    let a = run(&page);
    assert!(
        a.html.contains(r#"href="https://news.test/report?id=4""#),
        "{}",
        a.html
    );
    assert!(
        !a.html.contains("onclick") && !a.html.contains("script"),
        "{}",
        a.html
    );
}

#[test]
fn overrides_pick_content_and_remove_blocks() {
    let page = format!(
        r#"<div id="teaser"><p>A short teaser paragraph that the site puts above everything else, longer than most.</p></div>
        <div id="story">{}<p class="promo-line">Buy our magazine today, it is printed on paper, and it is good.</p></div>"#,
        para(2)
    );
    let opts = Options {
        content: Some("#teaser".into()),
        ..Options::default()
    };
    let a = extract_str(&page, &url(), &opts).unwrap();
    assert!(a.text.starts_with("A short teaser"), "{}", a.text);
    let opts = Options {
        remove: vec!["p.promo-line".into()],
        ..Options::default()
    };
    let a = extract_str(&page, &url(), &opts).unwrap();
    assert!(!a.text.contains("magazine"), "{}", a.text);
    let bad = Options {
        remove: vec!["p[".into()],
        ..Options::default()
    };
    assert_eq!(
        extract_str(&page, &url(), &bad),
        Err(ExtractError::BadSelector("p[".into()))
    );
}

#[test]
fn learnt_template_blocks_are_removed() {
    let page = format!(
        r#"<article><div>{}<p>Our journalism is free, and you can support it with a donation, today.</p></div></article>"#,
        para(3)
    );
    let learn = Options {
        learn_template: true,
        ..Options::default()
    };
    let first = extract_str(&page, &url(), &learn).unwrap();
    assert!(first.text.contains("Our journalism"));
    let print =
        fingerprint("Our journalism is free, and you can support it with a donation, today.");
    assert!(first.fingerprints.contains(&print));
    let opts = Options {
        known_chrome: HashSet::from([print]),
        ..Options::default()
    };
    let second = extract_str(&page, &url(), &opts).unwrap();
    assert!(!second.text.contains("Our journalism"), "{}", second.text);
    assert!(second.text.contains("Paragraph 2"));
}

#[test]
fn hostile_pages_do_not_panic() {
    let deep = "<div>".repeat(100_000) + "<p>deep text, still here.</p>";
    let a = extract(
        deep.as_bytes(),
        &url(),
        None,
        &Options {
            html: true,
            ..Options::default()
        },
    );
    assert!(a.is_ok_and(|a| a.text.contains("deep text")));
    let junk: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let _ = extract(&junk, &url(), Some("utf-8"), &Options::default());
    assert_eq!(
        extract(b"", &url(), None, &Options::default()),
        Err(ExtractError::NoContent)
    );
}

/// Three story cards, each a linked headline and a summary, linking to `host`.
fn cards(host: &str) -> String {
    (1..=3)
        .map(|i| format!(r#"<div class="card"><img src="/i/{i}.jpg"><h3><a href="{host}/story-{i}">Another story number {i} from the desk</a></h3><p>A summary of the other story, which says what happened, in a sentence or two.</p></div>"#))
        .collect()
}

#[test]
fn teaser_cards_of_the_sites_other_stories_go() {
    for host in ["", "https://www.news.test"] {
        let page = format!(
            r#"<html><body><article><h1>Budget agreed</h1>{}<div class="grid">{}</div></article></body></html>"#,
            para(4),
            cards(host)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 3"), "{}", a.text);
        assert!(!a.text.contains("Another story"), "{host}: {}", a.text);
        assert!(!a.text.contains("summary of the other story"), "{}", a.text);
    }
}

#[test]
fn teaser_cards_with_a_kicker_above_the_headline_go() {
    // A section label or "Sponsored" heading above each linked headline.
    let cards: String = ["Travel", "Sponsored Content", "Dining"]
        .iter()
        .enumerate()
        .map(|(i, k)| format!(r#"<div class="item"><h5>{k}</h5><h3><a href="/story-{i}">Another story number {i} from the desk</a></h3><p>A summary of the other story, which says what happened, in a sentence or two.</p></div>"#))
        .collect();
    let page = format!(
        r#"<html><body><div><h1>Budget agreed</h1>{}<div class="list">{cards}</div></div></body></html>"#,
        para(4)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 3"), "{}", a.text);
    assert!(!a.text.contains("Another story"), "{}", a.text);
    assert!(!a.text.contains("summary of the other story"), "{}", a.text);
}

#[test]
fn a_roundup_of_other_sites_keeps_its_entries() {
    let page = format!(
        r#"<html><body><article><h1>Ten projects</h1>{}<div class="list">{}</div></article></body></html>"#,
        para(2),
        cards("https://elsewhere.test")
    );
    let a = run(&page);
    assert!(a.text.contains("Another story number 2"), "{}", a.text);
    assert!(a.text.contains("summary of the other story"), "{}", a.text);
}

#[test]
fn the_article_element_wins_over_prose_beside_it() {
    let other = "<p>An excerpt of another story on the site, long enough to read like prose, with commas, and a full stop.</p>";
    let page = format!(
        r#"<html><body><div><article><h1>Budget agreed</h1>{}</article><div class="extra">{}</div></div></body></html>"#,
        para(4),
        other.repeat(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 3"), "{}", a.text);
    assert!(!a.text.contains("another story"), "{}", a.text);
}

#[test]
fn nested_landmarks_narrow_to_the_innermost_body() {
    // `main` holds the article and a subscription pitch long enough to read
    // like prose; the article holds its body and its own sign-up box.
    let pitch = "<p>Join thousands of readers who get our weekly letter, with tips, long reads, and a podcast, every Sunday morning.</p>";
    let page = format!(
        r#"<html><body><main><article><div class="post-content">{}</div><div class="box">{pitch}{pitch}</div></article><div class="pitch">{pitch}{pitch}</div></main></body></html>"#,
        para(5)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 0"), "{}", a.text);
    assert!(a.text.contains("Paragraph 4"), "{}", a.text);
    assert!(!a.text.contains("Join thousands"), "{}", a.text);
}

#[test]
fn a_body_class_inside_a_body_class_is_not_narrowed_again() {
    // A marked block is the body: a marked part of it (a quote box) is not.
    let quote = "<p>A quote from a reader, long enough to read like prose, with commas, and a full stop at its end.</p>";
    let page = format!(
        r#"<html><body><div class="entry-content"><div class="rich-text">{}</div><div class="quotes">{quote}{quote}</div></div><div class="side">{quote}</div></body></html>"#,
        para(4)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 3"), "{}", a.text);
    assert!(a.text.contains("A quote from a reader"), "{}", a.text);
}

#[test]
fn a_block_named_as_the_article_body_wins_unless_the_body_is_split() {
    let other = "<p>An excerpt of another story on the site, long enough to read like prose, with commas, and a full stop.</p>";
    let page = format!(
        r#"<html><body><div><div class="entry-content">{}</div><div class="extra">{}</div></div></body></html>"#,
        para(4),
        other.repeat(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 3"), "{}", a.text);
    assert!(!a.text.contains("another story"), "{}", a.text);

    // Intro and main text in two marked blocks: both are the article.
    let intro = "<p>The introduction of the report explains, in plain words, why the council had to meet again this week.</p>";
    let page = format!(
        r#"<html><body><div><div class="rich-text">{}</div><div class="ad-free"></div><div class="rich-text">{}</div></div></body></html>"#,
        intro.repeat(2),
        para(4)
    );
    let a = run(&page);
    assert!(a.text.contains("introduction of the report"), "{}", a.text);
    assert!(a.text.contains("Paragraph 3"), "{}", a.text);
}

#[test]
fn author_boxes_footnotes_and_disclosures_after_the_story_go() {
    for (class, text) in [
        (
            "saboxplugin-wrap",
            "Jane Doe started the site in 2010 and has written about budgets for years.",
        ),
        (
            "post-authorbox",
            "Jane Doe is a senior writer who covers city budgets and local politics.",
        ),
        (
            "contributor-bio",
            "Jane Doe is a senior writer who covers city budgets and local politics.",
        ),
        (
            "card bio",
            "Jane Doe is a senior writer who covers city budgets and local politics.",
        ),
        (
            "wp-block-footnotes",
            "The council publishes its minutes, which were consulted for this report.",
        ),
        (
            "affiliate-disclosure",
            "We may earn a commission when you buy through links on this page, at no cost to you.",
        ),
    ] {
        let page = format!(
            r#"<html><body><article><h1>Budget agreed</h1>{}<div class="{class}"><p>{text}</p></div></article></body></html>"#,
            para(4)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 3"), "{class}: {}", a.text);
        assert!(!a.text.contains(text), "{class}: {}", a.text);
    }
}

#[test]
fn source_lists_under_the_story_go() {
    for heading in [
        "Sources",
        "Article Sources:",
        "Citations",
        "Works cited",
        "References",
    ] {
        let page = format!(
            r#"<html><body><article><h1>Budget agreed</h1>{}<p><strong>{heading}</strong></p><p>Council minutes, 3 March 2025. https://council.test/minutes</p><p>Budget office, annual report 2024, pages 3 to 9, with the tables of spending by department.</p></article></body></html>"#,
            para(4)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 3"), "{heading}: {}", a.text);
        assert!(!a.text.contains("Council minutes"), "{heading}: {}", a.text);
        assert!(!a.text.contains("Budget office"), "{heading}: {}", a.text);
    }
}

#[test]
fn reviewer_boxes_and_calls_to_action_under_the_story_go() {
    for heading in ["About the Reviewer", "Contact Us Today!", "Get in touch"] {
        let page = format!(
            r#"<html><body><article><h1>Budget agreed</h1>{}<div><h3>{heading}</h3><p>Our team of advisers has helped councils balance their books for twenty years, call us.</p></div></article></body></html>"#,
            para(4)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 3"), "{heading}: {}", a.text);
        assert!(
            !a.text.contains("Our team of advisers"),
            "{heading}: {}",
            a.text
        );
    }
}

#[test]
fn captions_stay_in_the_html_but_not_in_the_text() {
    let page = format!(
        r#"<html><body><article><h1>Budget agreed</h1>{}<figure><img src="/c.jpg" alt="Council"><figcaption>The council chamber on Tuesday. Photo: Jane Doe for News Test</figcaption></figure>{}</article></body></html>"#,
        para(2),
        para(2)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 1"), "{}", a.text);
    assert!(!a.text.contains("council chamber"), "{}", a.text);
    assert!(a.html.contains("council chamber"), "{}", a.html);
    // A numbered figure is referred to by the text: its caption stays.
    let page = page.replace("The council chamber", "Figure 2. The council chamber");
    assert!(run(&page).text.contains("council chamber"));
}

#[test]
fn an_article_made_mostly_of_a_data_table_beats_a_sidebar_paragraph() {
    let rows: String = (1..=30)
        .map(|i| format!("<tr><td>{i}</td><td>Business School {i}</td><td>{}%</td><td>3.{i}</td><td>${i}0,000</td></tr>", 20 + i))
        .collect();
    let page = format!(
        r#"<html><body><div class="menu"><h5>The Eternal Question</h5>
        <p>That is the first question most of our clients ask, so we gathered admission data across our client pool to define themes and strategies for applicants.</p></div>
        <article><h1>MBA rankings</h1><p>Ranking reports in aggregate can help an applicant to see trends around each program's brand, and to weigh reach against reasonable options. The data for the top schools is in the chart below.</p>
        <table><tr><th>Rank</th><th>School</th><th>Acceptance</th><th>GPA</th><th>Salary</th></tr>{rows}</table>
        </article></body></html>"#
    );
    let a = run(&page);
    assert!(a.text.contains("Business School 30"), "{}", a.text);
    assert!(!a.text.contains("Eternal Question"), "{}", a.text);
}

#[test]
fn a_root_inside_an_article_with_much_more_prose_widens_to_the_article() {
    let links: String = (1..=12)
        .map(|i| format!(r#"<li><a href="https://git.test/pr/{i}">Support for target feature number {i} in the backend</a></li>"#))
        .collect();
    let section = |text: &str| {
        format!(r#"<div class="sect"><div class="paragraph"><p>{text}</p></div></div>"#)
    };
    let page = format!(
        r#"<html><body><main><article><h1>Progress report</h1>
        {}
        <div class="sect"><div class="ulist"><ul>{links}</ul></div></div>
        {}
        {}
        </article></main></body></html>"#,
        section("This month the backend gained support for a new architecture, and with those changes it is possible to build the compiler natively with very few workarounds, which took most of the time."),
        section("Second, the test suite now runs in continuous integration on every pull request, so regressions show up early."),
        section("Finally, the next months will go to debug information and to making the build faster for everyone."),
    );
    let a = run(&page);
    assert!(a.text.contains("new architecture"), "{}", a.text);
    assert!(a.text.contains("continuous integration"), "{}", a.text);
    assert!(a.text.contains("debug information"), "{}", a.text);
}

#[test]
fn streamed_chunks_and_collapsed_panes_are_part_of_the_article() {
    let page = format!(
        r#"<html><body><main><h1>Index funds</h1>{}<template id="B:1"></template>
        <div class="faq"><h2>Questions</h2><button aria-controls="a1">Are they safe?</button>
        <div id="a1" role="region" style="display:none"><p>Index funds spread money over hundreds of companies, so one failure matters little, although the market as a whole can still fall for years.</p></div></div>
        </main>
        <div hidden id="S:1">{}</div>
        <div hidden><p>Sign in to your account to keep reading this and every other article on the site, it is free and takes a minute.</p></div>
        <script>$RC("B:1","S:1")</script></body></html>"#,
        para(2),
        (0..4)
            .map(|i| format!("<p>Streamed part {i}: the fund tracks the whole market, and its fees, which are low, stay low because nobody picks the stocks.</p>"))
            .collect::<String>()
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 1"), "{}", a.text);
    assert!(a.text.contains("Streamed part 3"), "{}", a.text);
    assert!(a.text.contains("hundreds of companies"), "{}", a.text);
    assert!(!a.text.contains("Sign in"), "{}", a.text);
}

#[test]
fn syntax_highlighted_code_keeps_its_comment_lines() {
    let page = format!(
        r#"<html><body><article><h1>A brief intro to git</h1>{}
        <pre><code class="language-bash"><span class="hljs-comment"># see available branches</span>
git branch
<span class="hljs-comment"># delete a branch locally</span>
git branch -d old</code></pre>{}</article>
        <div class="comments"><p>Great post, thanks for writing it, I learnt a lot from the part about rebasing branches.</p></div></body></html>"#,
        para(2),
        para(1)
    );
    let a = run(&page);
    assert!(a.text.contains("# see available branches"), "{}", a.text);
    assert!(a.text.contains("# delete a branch locally"), "{}", a.text);
    assert!(!a.text.contains("Great post"), "{}", a.text);
}

#[test]
fn one_long_paragraph_of_a_short_post_does_not_stand_alone() {
    let long = "Elixir and Phoenix are the siren song, always tantalising, but even today the debugging story is primitive, and I cannot live without a debugger; in any case the other framework now seems good enough that live views hold less intrigue for me than they did, and the tooling around it has matured a great deal over the past two years, with hot reload, a real debugger and a package manager that just works.";
    let page = format!(
        r#"<html><body><article><div class="body"><p>It has been a big year for <a href="https://a.test/">server side frameworks</a>.</p>
        <ul><li>Excellent tooling support</li><li>High quality documentation</li><li>Job availability</li></ul>
        <p>{long}</p></div></article></body></html>"#
    );
    let a = run(&page);
    assert!(a.text.contains("a big year"), "{}", a.text);
    assert!(a.text.contains("Job availability"), "{}", a.text);
    assert!(a.text.contains("siren song"), "{}", a.text);
}

#[test]
fn an_article_cut_in_sections_under_a_chrome_class_is_kept() {
    // Three sections, none of them half of the page's prose: the class ("nav")
    // would take each one, and so the whole article.
    let section = |k: usize| {
        format!(
            r#"<div class="content-nav-section">{}</div>"#,
            (0..2)
                .map(|i| format!("<p>Section {k} part {i} says that the council met on Tuesday, and that the budget, after long talks, was finally agreed by a narrow margin.</p>"))
                .collect::<String>()
        )
    };
    let page = format!(
        r#"<html><body><nav><ul><li><a href="/">Home</a></li><li><a href="/w">World</a></li></ul></nav>
        <main><h1>Budget agreed</h1>{}{}{}
        <div class="share-tools"><a href="/s">Share this story</a></div></main>
        <footer><p>The council publishes its minutes, agendas and budget papers online, and welcomes comments from residents.</p></footer></body></html>"#,
        section(1),
        section(2),
        section(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Section 1 part 0"), "{}", a.text);
    assert!(a.text.contains("Section 3 part 1"), "{}", a.text);
    assert!(!a.text.contains("Share this story"), "{}", a.text);
    assert!(!a.text.contains("publishes its minutes"), "{}", a.text);
}

#[test]
fn a_box_opted_out_of_the_article_typography_goes() {
    let page = format!(
        r#"<html><body><article><div class="prose">{}
        <div class="not-prose rounded-xl"><p>Compare the top online programs of the year and find the right school for your budget and your schedule today.</p></div>
        {}</div></article></body></html>"#,
        para(2),
        para(1)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 1"), "{}", a.text);
    assert!(!a.text.contains("Compare the top"), "{}", a.text);
}

#[test]
fn form_messages_shown_after_sending_go() {
    let page = format!(
        r#"<html><body><article><div class="post-body">{}
        <div class="w-form"><div class="w-form-done"><div>Thank you! Your submission has been received!</div></div>
        <div class="w-form-fail"><div>Oops! Something went wrong while submitting the form.</div></div></div>
        <div class="gform_validation_container"><p>This field is for validation purposes and should be left unchanged.</p></div>
        </div></article></body></html>"#,
        para(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 2"), "{}", a.text);
    assert!(
        !a.text.contains("submission has been received"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("Something went wrong"), "{}", a.text);
    assert!(!a.text.contains("validation purposes"), "{}", a.text);
}

#[test]
fn the_summary_of_a_post_above_the_story_goes() {
    let page = format!(
        r#"<html><body><article><div class="post-excerpt"><p>In short: the council agreed its budget after long talks, and here is what that means for you.</p></div>
        <div class="content">{}</div></article></body></html>"#,
        para(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 2"), "{}", a.text);
    assert!(!a.text.contains("In short"), "{}", a.text);
}

#[test]
fn blocks_the_site_marks_as_not_content_go() {
    for class in [
        "nocontent",
        "robots-nocontent sd-sharing",
        "speechify-ignore",
    ] {
        let page = format!(
            r#"<html><body><article>{}<div class="{class}"><p>Get the weekly chart in your inbox, with analysis from our research team and the newest case studies.</p></div>{}</article></body></html>"#,
            para(2),
            para(1)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 1"), "{class}: {}", a.text);
        assert!(!a.text.contains("weekly chart"), "{class}: {}", a.text);
    }
}

#[test]
fn newsletter_opt_in_boxes_go_but_words_holding_the_letters_stay() {
    for class in ["optin__box", "widget enews-widget"] {
        let page = format!(
            r#"<html><body><article>{}<div class="{class}"><p>Join twenty thousand gardeners and get my free guide to growing tomatoes, sent every Friday morning.</p></div>{}</article></body></html>"#,
            para(2),
            para(1)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 1"), "{class}: {}", a.text);
        assert!(!a.text.contains("twenty thousand"), "{class}: {}", a.text);
    }
    let page = format!(
        r#"<html><body><article>{}<h2 id="adopting-rust">Adopting Rust</h2>{}</article></body></html>"#,
        para(2),
        para(1)
    );
    assert!(run(&page).text.contains("Adopting Rust"));
}

#[test]
fn newsletter_and_follow_pitches_in_the_story_go() {
    let page = format!(
        r#"<html><body><article>{}<p>Love budgets? Sign up for our Town Hall newsletter, delivered every Friday.</p>{}<p>Follow us on Instagram and Facebook for more local news.</p><p>Copyright 2025 The Town Paper. All rights reserved.</p></article></body></html>"#,
        para(3),
        para(2)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 2"), "{}", a.text);
    assert!(!a.text.contains("Town Hall newsletter"), "{}", a.text);
    assert!(!a.text.contains("Follow us"), "{}", a.text);
    assert!(!a.text.contains("rights reserved"), "{}", a.text);
}

#[test]
fn advice_to_sign_up_for_newsletters_in_general_stays() {
    let advice = "<p>Follow the trade press: sign up for industry newsletters, and read them every week.</p>";
    let page = format!(
        r#"<html><body><article>{}{advice}</article></body></html>"#,
        para(3)
    );
    let a = run(&page);
    assert!(
        a.text.contains("sign up for industry newsletters"),
        "{}",
        a.text
    );
}

#[test]
fn a_heading_whose_anchor_holds_a_chrome_word_stays() {
    let page = format!(
        r#"<html><body><article>{}<h2 id="h-sharing-the-load-with-your-team">Sharing the load with your team</h2>{}
        <h3 id="related-costs">Related costs of a new office</h3>{}</article></body></html>"#,
        para(2),
        para(1),
        para(1)
    );
    let a = run(&page);
    assert!(a.text.contains("Sharing the load"), "{}", a.text);
    assert!(a.text.contains("Related costs"), "{}", a.text);
}

#[test]
fn widget_areas_after_the_story_go() {
    let page = format!(
        r#"<html><body><article><div class="entry">{}<div class="plugin-after-content"><h2>A message from our founder</h2><p>Support our mission to keep this site free by joining the alumni network of readers and makers.</p></div></div></article></body></html>"#,
        para(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 2"), "{}", a.text);
    assert!(!a.text.contains("Support our mission"), "{}", a.text);
}

#[test]
fn a_heading_classed_as_a_header_stays() {
    let page = format!(
        r#"<html><body><header class="site-header"><a href="/">Home</a></header><article>{}<h3 class="header-anchor-post">What understanding provides</h3>{}</article></body></html>"#,
        para(2),
        para(2)
    );
    let a = run(&page);
    assert!(a.text.contains("What understanding provides"), "{}", a.text);
    assert!(!a.text.contains("Home"), "{}", a.text);
}

/// Extraction cuts the attributes nothing reads before parsing (when no user
/// selector may name one): every field must come out as from the whole page.
#[test]
fn kept_attributes_cover_every_reader() {
    let padding: String = (0..200)
        .map(|i| format!(r#"<span data-track-id="{i}" onclick="track({i})" tabindex="0">x</span>"#))
        .collect();
    let page = format!(
        r#"<html lang="en"><head><title>Budget agreed - The Paper</title>
        <meta property="og:title" content="Budget agreed"><meta name="author" content="Ann Lee">
        <meta itemprop="datePublished" content="2024-05-01T10:00:00Z"><meta name="og:site_name" content="The Paper">
        <meta property="og:image" content="/lead.jpg"><link rel="canonical" href="https://news.test/budget">
        <script type="application/ld+json">{{"@type":"NewsArticle","headline":"Budget agreed"}}</script></head>
        <body><nav role="navigation" data-menu="main">{padding}</nav>
        <div hidden data-x="1">Hidden note that is long enough to count as a paragraph of text, really.</div>
        <div style="display:none" data-y="2">Another hidden note, just as long as the first one, more or less.</div>
        <div aria-hidden="true">A third note that readers never see on the page, hidden from them.</div>
        <div aria-label="Share this story" data-z="3"><a href="/share">Share</a></div>
        <article class="story" data-id="9" id="main"><h1>Budget agreed</h1><time datetime="2024-05-01">May 1</time>
        {}
        <p dir="rtl" lang="ar" title="t" data-p="1">Paragraph in Arabic script that is long enough to be prose, surely.</p>
        <figure><img src="blank.gif" data-src="/a.jpg" alt="The council" width="600" height="400" loading="lazy" decoding="async">
        <img data-srcset="/b-320.jpg 320w, /b-960.jpg 960w" alt="Chart"><img data-lazy-src="/c.jpg" alt="Crowd">
        <img data-original="/d.jpg"><img data-hi-res-src="/e.jpg"><img data-full-src="/f.jpg"><img data-url="/g.jpg"><img data-lazy="/h.jpg">
        <img class="share-icon" src="/icons/share.svg" alt="share"><figcaption>Figure 1. The council</figcaption></figure>
        <table><tr><td colspan="2" rowspan="1" data-cell="1">Revenue by year, in millions of euros.</td></tr></table>
        <ol start="3"><li>Third point, cited.</li></ol><blockquote cite="https://x.test/q">A quote from the mayor, who spoke at length about the budget and its cost.</blockquote>
        <p><a href="https://other.test/a" rel="nofollow" target="_blank" data-ga="1">An outside source</a> said more about the budget, and it was agreed.</p>
        </article><aside class="related" data-widget="r"><h3>Related News</h3><ul><li><a href="/a">Other story</a></li></ul></aside>
        </body></html>"#,
        para(4)
    );
    let opts = Options {
        html: true,
        learn_template: true,
        ..Options::default()
    };
    let stripped = extract_str(&page, &url(), &opts).unwrap();
    // A `remove` rule keeps every attribute (and this one matches nothing).
    let whole = Options {
        remove: vec!["feedsieve-matches-nothing".to_string()],
        ..opts
    };
    let mut kept = extract_str(&page, &url(), &whole).unwrap();
    assert_eq!(kept.unmatched, ["feedsieve-matches-nothing"]);
    kept.unmatched.clear();
    assert_eq!(stripped, kept);
    assert_eq!(stripped.author.as_deref(), Some("Ann Lee"));
    assert!(stripped.html.contains("/a.jpg"), "{}", stripped.html);
    assert!(!stripped.text.contains("Hidden note"));
}

/// Template fingerprints are stored per host: their values must not change.
#[test]
fn fingerprints_are_stable_across_builds() {
    assert_eq!(fingerprint("Must  Read"), 0x8318_fdf8_5a15_fb44);
    assert_eq!(fingerprint("MUST read\n"), fingerprint("must read"));
}

/// A block the page shows twice (a tab and its mobile copy) is written once,
/// however its words are split across tags and whatever their case; blocks
/// with as many words but other text stay.
#[test]
fn repeated_blocks_are_written_once() {
    let page = format!(
        r#"<article>{}<div class="tab"><p>The council voted on the plan late on Tuesday night.</p></div>
        <div class="mobile"><p>The <b>coun</b>cil voted on the PLAN late on Tuesday night.</p></div>
        <p>The mayor spoke on the plan early on Wednesday morning.</p></article>"#,
        para(3)
    );
    let a = run(&page);
    assert_eq!(a.text.matches("late on Tuesday").count(), 1, "{}", a.text);
    assert!(a.text.contains("early on Wednesday"), "{}", a.text);
}

#[test]
fn words_of_a_linked_name_inside_a_sentence_stay() {
    // Documentation wraps cross-references in spans inside links: the words
    // are part of the sentence, not a block of links.
    let page = format!(
        r#"<html><body><div class="body">{}
        <p>Transform a method into a property whose value is computed once. Similar to
        <a class="reference internal" href="functions.html#property"><code class="xref"><span class="pre">property()</span></code></a>,
        with the addition of caching; see <a href="/faq"><span class="std">How do I cache method calls?</span></a></p>
        </div></body></html>"#,
        para(3)
    );
    let a = run(&page);
    assert!(a.text.contains("Similar to property(), with"), "{}", a.text);
    assert!(
        a.text.contains("see How do I cache method calls?"),
        "{}",
        a.text
    );
}

#[test]
fn a_section_named_after_its_own_heading_is_content_whatever_the_words() {
    // Documentation generators give each section its heading's anchor as id:
    // "more-on-lists" and "cookies" name the subject, not a "more" box or a banner.
    let prose = |topic: &str| {
        format!("<p>The {topic} type has several methods that the examples below use in turn, and each returns a new value rather than changing the old one.</p>")
            .repeat(3)
    };
    let page = format!(
        r#"<html><body><div class="body"><h1>Data structures</h1>{}
        <section id="more-on-lists"><h2>5.1. More on Lists</h2>{}</section>
        <section id="cookies"><h2>Cookies</h2>{}</section>
        <div id="comments"><h3>Comments (2)</h3><p>Great post, thanks a lot for sharing this with all of us here today!</p></div>
        </div></body></html>"#,
        prose("dictionary"),
        prose("list"),
        prose("cookie")
    );
    let a = run(&page);
    assert!(a.text.contains("The list type"), "{}", a.text);
    assert!(a.text.contains("The cookie type"), "{}", a.text);
    assert!(!a.text.contains("Great post"), "{}", a.text);
}

/// A thread of `posts` posts, each in a block named like a comment
/// ("comment-101_wrap"), as forum software writes them, after `head`.
fn thread(head: &str, posts: usize) -> String {
    let post = |i: usize| {
        format!(
            r#"<article id="elComment_{i}"><aside class="author">Member{i} 120 posts</aside>
            <div id="comment-{i}_wrap" class="post-wrap"><p>Post {i}: I have had this case for a year now, and the two little slots are for the cable ties that come in the box, as the manual says on its last page.</p></div></article>"#,
            i = 100 + i
        )
    };
    let posts: String = (0..posts).map(post).collect();
    format!(
        r#"<html><head>{head}</head><body><nav><a href="/">Forums</a> <a href="/new">New posts</a></nav>
        <main><h1>What are these two slots for?</h1><div id="comments">{posts}</div></main>
        <aside class="sidebar"><p>Welcome to the forums! Please read the rules before you post, and be kind to each other at all times.</p></aside></body></html>"#
    )
}

#[test]
fn a_page_that_says_it_is_a_forum_thread_keeps_its_posts() {
    let ld = r#"<script type="application/ld+json">{"@context":"https://schema.org","@type":"DiscussionForumPosting","headline":"What are these two slots for?"}</script>"#;
    for posts in [2, 4] {
        let a = run(&thread(ld, posts));
        for i in 0..posts {
            assert!(a.text.contains(&format!("Post {}:", 100 + i)), "{}", a.text);
        }
        assert!(!a.text.contains("Welcome to the forums"), "{}", a.text);
    }
    // Microdata says so too.
    let page = thread("", 3).replace(
        "<main>",
        r#"<main itemscope itemtype="https://schema.org/DiscussionForumPosting">"#,
    );
    assert!(run(&page).text.contains("Post 102:"));
}

#[test]
fn comments_under_an_article_stay_out_even_when_they_outweigh_it() {
    // The same blocks under an article on a page that does not say it is a
    // discussion: a comment section, however long.
    let page = thread("", 6).replace(
        r#"<div id="comments">"#,
        &format!(
            r#"<article class="story">{}</article><div class="thread">"#,
            para(3)
        ),
    );
    let a = run(&page);
    assert!(a.text.contains("Paragraph 1"), "{}", a.text);
    assert!(!a.text.contains("Post 100:"), "{}", a.text);
}

#[test]
fn a_consent_managers_preference_centre_is_never_the_article() {
    // Its purposes and legal text outweigh a short article.
    let legal = "<p>When you visit any website, it may store or retrieve information on your browser, mostly in the form of cookies, which you can choose not to allow.</p>".repeat(6);
    for id in [
        "onetrust-consent-sdk",
        "CybotCookiebotDialog",
        "didomi-host",
    ] {
        let page = format!(
            r#"<html><body><div class="main"><h1>Budget agreed</h1><div class="body">{}</div></div>
            <div id="{id}"><div class="pc-content"><h2>Privacy Preference Center</h2>{legal}</div></div></body></html>"#,
            para(2)
        );
        let a = run(&page);
        assert!(a.text.contains("Paragraph 1"), "{id}: {}", a.text);
        assert!(!a.text.contains("retrieve information"), "{id}: {}", a.text);
    }
}

#[test]
fn a_posts_author_card_signature_and_votes_go() {
    let post = |i: usize| {
        format!(
            r#"<div class="post"><div class="votecell"><span class="js-vote-count">{i}7</span></div>
            <div class="post-text"><p>Answer {i}: the neutral carries the return current, so it is at about the ground's potential while the circuit is closed.</p></div>
            <div class="user-info"><a href="/u/{i}">member{i}</a> 2,360 reputation 6 gold badges</div>
            <div class="signature">My rig: a Ryzen box, two screens and far too many cables under the desk.</div></div>"#
        )
    };
    let page = format!(
        r#"<html><head><script type="application/ld+json">{{"@type":"QAPage"}}</script></head>
        <body><main>{}</main></body></html>"#,
        (0..3).map(post).collect::<String>()
    );
    let a = run(&page);
    assert!(a.text.contains("Answer 2:"), "{}", a.text);
    assert!(!a.text.contains("reputation"), "{}", a.text);
    assert!(!a.text.contains("My rig"), "{}", a.text);
    assert!(!a.text.contains("27"), "{}", a.text);
}
