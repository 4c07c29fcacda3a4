//! The link finder on small hand-written pages.

use super::*;

fn page() -> Url {
    Url::parse("http://news.test/pressai/world-news/index.html").unwrap()
}

#[test]
fn the_seed_section_page_yields_its_two_articles_only() {
    let html =
        include_str!("../../../tests/fixtures/seed-story/site/pressai/world-news/index.html");
    let links: Vec<String> = article_links(html, &page(), None)
        .iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(
        links,
        vec![
            "http://news.test/pressai/world-news/zelensky-offers-drop-nato-bid",
            "http://news.test/pressai/world-news/merz-macron-air-defence-fund",
        ]
    );
}

#[test]
fn chrome_listing_and_utility_links_are_skipped() {
    let html = r#"<html><body>
      <nav><a href="/world/big-story-about-something-here">Nav story with many words in it</a></nav>
      <main>
        <ul class="list">
          <li class="card"><a href="/world/2025/12/15/markets-rally-on-rate-cut-hopes">Markets rally on hopes of a rate cut</a></li>
          <li class="card"><a href="/world/2025/12/15/storm-hits-coast">Storm hits the coast overnight, thousands without power</a></li>
          <li class="card"><a href="/tag/economy">Economy news and more from this tag</a></li>
          <li class="card"><a href="/author/jane-doe-smith">Jane Doe Smith writes about the world</a></li>
          <li class="card"><a href="https://elsewhere.test/a-story-on-another-site">A story on another site entirely</a></li>
          <li class="card"><a href="/world/page/2">Older stories on the next page here</a></li>
        </ul>
        <div class="share-bar"><a href="/world/share-this-story-now">Share this story with friends now</a></div>
        <a href="/world/">World</a><a href="/files/report-2025-final.pdf">The full report as a PDF file</a>
      </main>
      <footer><a href="/privacy-policy-and-cookies">Privacy policy and cookie settings page</a></footer>
    </body></html>"#;
    let page = Url::parse("https://news.test/world/").unwrap();
    let links: Vec<String> = article_links(html, &page, None)
        .iter()
        .map(|u| u.path().to_string())
        .collect();
    assert_eq!(
        links,
        vec![
            "/world/2025/12/15/markets-rally-on-rate-cut-hopes",
            "/world/2025/12/15/storm-hits-coast"
        ]
    );
}

#[test]
fn a_selector_pins_the_links() {
    let html = r#"<main><div class="x"><a href="/a">A</a></div><div class="x"><h2><a href="/b#top">B</a></h2></div><a href="/c">C</a></main>"#;
    let page = Url::parse("https://s.test/").unwrap();
    let links: Vec<String> = article_links(html, &page, Some("div.x"))
        .iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(links, vec!["https://s.test/a", "https://s.test/b"]);
}

/// (path and query, title) of the links found on a listing fixture.
fn listing(file: &str, page: &str) -> Vec<(String, String)> {
    let path = format!(
        "{}/tests/fixtures/listings/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let html = std::fs::read(path).unwrap();
    let page = Url::parse(page).unwrap();
    find_links(&html, &page, None)
        .links
        .into_iter()
        .map(|l| {
            let query = l.url.query().map(|q| format!("?{q}")).unwrap_or_default();
            (format!("{}{query}", l.url.path()), l.text)
        })
        .collect()
}

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(u, t)| (u.to_string(), t.to_string()))
        .collect()
}

#[test]
fn a_card_grid_gives_each_card_once_titled_even_when_only_its_picture_links() {
    let got = listing("cards.html", "https://lens.test/science/");
    let want = pairs(&[
        (
            "/science/2026/03/02/comet-returns-after-three-centuries",
            "A comet returns after three centuries away",
        ),
        (
            "/science/2026/03/01/bees-count-to-five",
            "Bees can count to five, a new study finds",
        ),
        (
            "/science/2026/02/28/deep-sea-vents-map",
            "The first full map of the deep-sea vents",
        ),
        (
            "/science/2026/02/27/why-glaciers-sing",
            "Why glaciers sing at night",
        ),
    ]);
    assert_eq!(got, want, "no menu, tag, pagination or footer link");
}

#[test]
fn a_blog_index_follows_read_more_links_titled_by_their_post() {
    let got = listing("blog.html", "https://workshop.test/blog/");
    let want = pairs(&[
        (
            "/blog/cedar-canoe-in-twelve-weekends",
            "Building a cedar canoe in twelve weekends",
        ),
        (
            "/blog/sharpening-chisels",
            "Sharpening chisels without a grinder",
        ),
        ("/blog/old-workbench", "What the old workbench taught me"),
    ]);
    assert_eq!(got, want, "no author, sidebar, tag, pager or footer link");
}

#[test]
fn a_table_list_gives_the_title_of_each_row() {
    let got = listing("table.html", "https://code.test/issues");
    let want = pairs(&[
        (
            "/issues/412",
            "Parser crashes on nested ternary expressions",
        ),
        ("/issues/409", "Support for wide string literals in headers"),
        ("/issues/401", "Linker flags are ignored on FreeBSD builds"),
        (
            "/issues/398",
            "Warning about unused labels is wrong after goto",
        ),
    ]);
    assert_eq!(got, want, "no label, user, sorting, pager or footer link");
}

#[test]
fn a_numbered_list_of_headlines_gives_every_headline() {
    let got = listing("numbered.html", "https://harbour.test/most-read");
    let want = pairs(&[
        (
            "/news/ferry-timetable-changes-from-monday",
            "Ferry timetable changes from Monday",
        ),
        (
            "/news/harbour-wall-repairs-finally-begin",
            "Harbour wall repairs finally begin",
        ),
        (
            "/news/school-choir-wins-national-prize",
            "School choir wins national prize",
        ),
        (
            "/sport/rowing-club-takes-the-regatta",
            "Rowing club takes the regatta",
        ),
        (
            "/news/new-bus-route-to-the-hospital",
            "New bus route to the hospital",
        ),
    ]);
    assert_eq!(got, want, "no navigation, share or footer link");
}

#[test]
fn article_teasers_give_their_headlines_and_not_their_sections() {
    let got = listing("teasers.html", "https://ledger.test/markets/");
    let want = pairs(&[
        (
            "/markets/bond-yields-slip-as-inflation-cools",
            "Bond yields slip as inflation cools",
        ),
        (
            "/markets/copper-hits-a-two-year-high",
            "Copper hits a two-year high",
        ),
        (
            "/markets/small-caps-outrun-the-giants",
            "Small caps outrun the giants",
        ),
    ]);
    assert_eq!(
        got, want,
        "no masthead, breadcrumb, category, aside or footer link"
    );
}

#[test]
fn the_summary_names_the_structure_and_advises_pinning_when_empty() {
    let html = std::fs::read(format!(
        "{}/tests/fixtures/listings/teasers.html",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let page = Url::parse("https://ledger.test/markets/").unwrap();
    let found = find_links(&html, &page, None);
    assert_eq!(
        found.summary(),
        "3 links from section.stream > article.teaser (3)"
    );
    let none = find_links(b"<p>Nothing here</p>", &page, None);
    assert!(none.links.is_empty());
    assert!(none.summary().contains("links = "), "{}", none.summary());
}

#[test]
fn a_card_gives_its_title_link_not_its_reviews_company_or_cart_links() {
    let html = r#"<html><body><main><ul class="grid">
      <li class="tile"><a href="/p/lamp-1?ref_=img_1"><img src="l.jpg" alt="A brass desk lamp on a table"></a>
        <h3 class="tile-title"><a href="/p/lamp-1?ref_=title_1">Brass desk lamp with a linen shade</a></h3>
        <a class="stars" href="/p/lamp-1/reviews">4.5 out of 5 stars 1,204</a>
        <a href="/brands/lumen-works">Lumen Works lighting company</a>
        <a href="/cart.php?action=add&id=1">Add to cart</a></li>
      <li class="tile"><a href="/p/chair-2?ref_=img_2"><img src="c.jpg" alt="An oak chair in a bright room"></a>
        <h3 class="tile-title"><a href="/p/chair-2?ref_=title_2">Oak reading chair with armrests</a></h3>
        <a class="stars" href="/p/chair-2/reviews">4.1 out of 5 stars 310</a>
        <a href="/brands/northwood">Northwood furniture makers here</a>
        <a href="/cart.php?action=add&id=2">Add to cart</a></li>
    </ul></main></body></html>"#;
    let page = Url::parse("https://shop.test/living-room/").unwrap();
    let got: Vec<(String, String)> = find_links(html.as_bytes(), &page, None)
        .links
        .into_iter()
        .map(|l| (l.url.to_string(), l.text))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "https://shop.test/p/lamp-1?ref_=title_1".to_string(),
                "Brass desk lamp with a linen shade".to_string()
            ),
            (
                "https://shop.test/p/chair-2?ref_=title_2".to_string(),
                "Oak reading chair with armrests".to_string()
            ),
        ],
        "one link per card, the title's; no reviews, brand or cart link"
    );
}

#[test]
fn a_grid_row_of_stories_keeps_every_story() {
    let html = r#"<html><body><main>
      <div class="row"><div class="col"><h2><a href="/news/river-levels-fall-after-the-storm">River levels fall after the storm</a></h2></div>
        <div class="col"><h2><a href="/news/new-library-opens-its-doors">New library opens its doors</a></h2></div></div>
      <div class="row"><div class="col"><h2><a href="/news/council-approves-the-bike-lanes">Council approves the bike lanes</a></h2></div>
        <div class="col"><h2><a href="/news/bakery-wins-the-bread-award">Bakery wins the bread award</a></h2></div></div>
    </main></body></html>"#;
    let page = Url::parse("https://town.test/news/").unwrap();
    assert_eq!(article_links(html, &page, None).len(), 4);
}

/// Paths of the links found on an inline page.
fn paths(html: &str, page: &str) -> Vec<String> {
    let page = Url::parse(page).unwrap();
    article_links(html, &page, None)
        .iter()
        .map(|u| u.path().to_string())
        .collect()
}

/// The titles of the links found on `html` at `page`.
fn titles(html: &str, page: &str) -> Vec<String> {
    let page = Url::parse(page).unwrap();
    find_links(html.as_bytes(), &page, None)
        .links
        .into_iter()
        .map(|l| l.text)
        .collect()
}

#[test]
fn a_post_classed_with_its_tags_is_not_chrome() {
    // Blog engines class a post with its taxonomy: `tag-list` is the post's tag "list".
    let html = r#"<html><body><main>
      <article class="entry hentry tag-list tag-guides category-audio"><div class="entry-content"><ul>
        <li><p><a href="/reviews/alpha-one-review">Alpha One earbuds</a>: the best sound under fifty</p></li>
        <li><p><a href="/reviews/beta-buds-review">Beta Buds Pro</a>: good all round, weak battery</p></li>
        <li><p><a href="/reviews/gamma-fit-review">Gamma Fit Sport</a>: for running, not for music</p></li>
      </ul></div></article>
      <div class="tag-list"><a href="/reviews/more-from-the-guides">More from the guides section here</a></div>
    </main></body></html>"#;
    assert_eq!(
        paths(html, "https://ears.test/guide/best-cheap-earbuds"),
        vec![
            "/reviews/alpha-one-review",
            "/reviews/beta-buds-review",
            "/reviews/gamma-fit-review",
        ],
        "the post's list, not the tag-list block"
    );
}

#[test]
fn a_main_element_around_a_small_featured_block_does_not_hide_the_feed() {
    let html = r#"<html><body>
      <main><ul class="featured">
        <li><a href="/world/2026/3/6/talks-resume-in-geneva">Talks resume in Geneva after a pause</a></li>
        <li><a href="/world/2026/3/6/ports-reopen-after-strike">Ports reopen after the long strike</a></li>
      </ul></main>
      <section class="feed">
        <article class="card"><h3><a href="/economy/2026/3/5/oil-prices-climb-again">Oil prices climb again on supply fears</a></h3></article>
        <article class="card"><h3><a href="/economy/2026/3/5/jobs-report-surprises">The jobs report surprises the markets</a></h3></article>
        <article class="card"><h3><a href="/economy/2026/3/4/central-bank-holds-rates">Central bank holds rates steady for now</a></h3></article>
      </section>
      <footer><a href="/economy/about-our-economy-desk">About our economy desk and its team</a></footer>
    </body></html>"#;
    assert_eq!(
        paths(html, "https://wire.test/economy/"),
        vec![
            "/world/2026/3/6/talks-resume-in-geneva",
            "/world/2026/3/6/ports-reopen-after-strike",
            "/economy/2026/3/5/oil-prices-climb-again",
            "/economy/2026/3/5/jobs-report-surprises",
            "/economy/2026/3/4/central-bank-holds-rates",
        ]
    );
}

#[test]
fn a_products_colour_choices_are_not_articles() {
    // More choices than a card's secondary links: the card rule alone keeps them.
    let html = r#"<html><body><main><div class="products">
      <div class="product"><h3><a href="/p/lund-sofa-101">Lund three seat sofa</a></h3>
        <fieldset class="variants"><label><a href="/p/lund-sofa-102"><img src="g.jpg" alt="Lund sofa in dark grey fabric"></a></label>
        <label><a href="/p/lund-sofa-103">Option: Lund sofa, light beige</a></label>
        <label><a href="/p/lund-sofa-104">Option: Lund sofa, forest green</a></label></fieldset></div>
      <div class="product"><h3><a href="/p/ness-armchair-201">Ness armchair with oak legs</a></h3>
        <fieldset class="variants"><label><a href="/p/ness-armchair-202">Option: Ness armchair, blue velvet</a></label>
        <label><a href="/p/ness-armchair-203">Option: Ness armchair, rust red</a></label>
        <label><a href="/p/ness-armchair-204">Option: Ness armchair, sand linen</a></label></fieldset></div>
    </div></main></body></html>"#;
    assert_eq!(
        paths(html, "https://home.test/cat/sofas/"),
        vec!["/p/lund-sofa-101", "/p/ness-armchair-201"]
    );
}

#[test]
fn picture_links_without_a_title_are_banners_not_stories() {
    let html = r#"<html><body><main>
      <div class="banners">
        <div class="banner"><a href="/deals/spring-garden-sale"><img src="a.jpg" alt="Big spring sale on all garden tools"></a></div>
        <div class="banner"><a href="/deals/free-delivery-week"><img src="b.jpg" alt="Free delivery on every order this week"></a></div>
      </div>
      <ul class="stories">
        <li><a href="/guides/how-to-prune-roses"><img src="r.jpg" alt="Roses"></a><h2>How to prune roses in winter</h2></li>
        <li><a href="/guides/planting-bulbs-late"><img src="t.jpg" alt="Tulips"></a><h2>Planting bulbs late in the year</h2></li>
      </ul>
    </main></body></html>"#;
    assert_eq!(
        paths(html, "https://garden.test/guides/"),
        vec!["/guides/how-to-prune-roses", "/guides/planting-bulbs-late"],
        "the titled picture links stay, the untitled banners go"
    );
}

#[test]
fn promotions_above_the_page_heading_are_not_its_list() {
    let html = r#"<html><body>
      <div class="top-strip">
        <a href="/offers/join-the-club-and-save-today">Join the club and save today on everything</a>
        <a href="/offers/gift-cards-for-every-occasion">Gift cards for every occasion this season</a>
      </div>
      <h1>Mountain bike trails</h1>
      <ul class="trails">
        <li><a href="/trail/101/cedar-creek-loop">Cedar Creek loop trail</a> 9.4 mi</li>
        <li><a href="/trail/102/memorial-park-ridge">Memorial Park ridge trail</a> 12.6 mi</li>
        <li><a href="/trail/103/river-bend-trails">River Bend trails system</a> 6.1 mi</li>
      </ul>
    </body></html>"#;
    assert_eq!(
        paths(html, "https://trails.test/directory/houston"),
        vec![
            "/trail/101/cedar-creek-loop",
            "/trail/102/memorial-park-ridge",
            "/trail/103/river-bend-trails",
        ]
    );
}

#[test]
fn links_marked_as_tags_or_topics_are_not_articles() {
    let html = r#"<html><body><main>
      <div class="chips">
        <a class="topic-tag" href="/topics/deep-neural-networks">deep-neural-networks</a>
        <a class="topic-tag" href="/topics/natural-language-processing">natural-language-processing</a>
        <a class="topic-tag" href="/topics/scikit-learn-python">scikit-learn-python</a>
      </div>
      <p class="filed"><a rel="tag" href="/topics/computer-vision-and-images">Computer vision and images</a>
        <a rel="tag" href="/topics/speech-and-audio-models">Speech and audio models</a></p>
      <article><h3><a href="/alice/llm-course-from-scratch">alice / llm-course-from-scratch</a></h3></article>
      <article><h3><a href="/bob/annotated-paper-implementations">bob / annotated-paper-implementations</a></h3></article>
    </main></body></html>"#;
    assert_eq!(
        paths(html, "https://code.test/topics/machine-learning"),
        vec![
            "/alice/llm-course-from-scratch",
            "/bob/annotated-paper-implementations"
        ]
    );
}

#[test]
fn what_the_sites_menu_links_to_is_a_section_wherever_it_is_linked() {
    let html = r#"<html><body>
      <div class="main-menu"><a href="/roses-and-climbers">Roses</a><a href="/fruit-and-vegetables">Fruit</a></div>
      <main>
        <div class="tiles">
          <div class="tile"><a href="/roses-and-climbers">Roses, climbers and ramblers</a></div>
          <div class="tile"><a href="/fruit-and-vegetables">Fruit and vegetable growing</a></div>
        </div>
        <ul class="posts">
          <li><a href="/2026/03/pruning-climbing-roses">Pruning climbing roses in March</a></li>
          <li><a href="/2026/03/sowing-early-tomatoes">Sowing early tomatoes indoors</a></li>
          <li><a href="/2026/02/planning-a-small-orchard">Planning a small orchard at home</a></li>
        </ul>
      </main>
    </body></html>"#;
    assert_eq!(
        paths(html, "https://allotment.test/latest"),
        vec![
            "/2026/03/pruning-climbing-roses",
            "/2026/03/sowing-early-tomatoes",
            "/2026/02/planning-a-small-orchard",
        ]
    );
}

#[test]
fn a_menu_that_mirrors_the_list_does_not_empty_it() {
    let html = r#"<html><body>
      <nav><a href="/programs/data-science-certificate">Data science</a>
        <a href="/programs/product-management-certificate">Product management</a>
        <a href="/programs/sustainable-design-certificate">Sustainable design</a></nav>
      <main><div class="programs">
        <div class="program"><h3><a href="/programs/data-science-certificate">Certificate in data science</a></h3></div>
        <div class="program"><h3><a href="/programs/product-management-certificate">Certificate in product management</a></h3></div>
        <div class="program"><h3><a href="/programs/sustainable-design-certificate">Certificate in sustainable design</a></h3></div>
      </div></main>
    </body></html>"#;
    assert_eq!(
        paths(html, "https://school.test/certificates").len(),
        3,
        "the menu is the list's own index"
    );
}

#[test]
fn a_wikis_category_and_special_pages_are_not_articles() {
    // The categories a list belongs to sit at the bottom of the page, outside any menu.
    let html = r#"<html><body><main><div class="mw-parser-output"><ul>
        <li><a href="/wiki/Marie_Curie">Marie Skłodowska Curie</a>, physics and chemistry</li>
        <li><a href="/wiki/Albert_Michelson">Albert Abraham Michelson</a>, physics</li>
        <li><a href="/wiki/Dorothy_Hodgkin">Dorothy Crowfoot Hodgkin</a>, chemistry</li>
      </ul></div>
      <div id="catlinks"><ul>
        <li><a href="/wiki/Category:Lists_of_Nobel_laureates">Lists of Nobel laureates</a></li>
        <li><a href="/wiki/Category:Articles_with_short_description">Articles with short description</a></li>
        <li><a href="/wiki/Special:Random_page_of_the_day">Random page of the day</a></li>
      </ul></div></main></body></html>"#;
    assert_eq!(
        paths(html, "https://wiki.test/wiki/List_of_laureates"),
        vec![
            "/wiki/Marie_Curie",
            "/wiki/Albert_Michelson",
            "/wiki/Dorothy_Hodgkin"
        ]
    );
}

#[test]
fn a_category_page_keeps_its_members() {
    let html = r#"<html><body><main><div class="mw-category"><ul>
        <li><a href="/wiki/Category:Functional_programming_languages">Functional programming languages</a></li>
        <li><a href="/wiki/Category:Object-oriented_programming_languages">Object-oriented programming languages</a></li>
        <li><a href="/wiki/Template:Programming_languages_sidebar">Template:Programming languages sidebar</a></li>
      </ul></div></main></body></html>"#;
    assert_eq!(
        paths(
            html,
            "https://wiki.test/wiki/Category:Programming_languages"
        )
        .len(),
        3,
        "a category page lists its members, whatever their namespace"
    );
}

#[test]
fn links_to_the_page_in_other_languages_are_not_articles() {
    let html = r#"<html lang="en-GB"><body><main>
      <ul class="posts">
        <li><a href="/2026/03/pruning-climbing-roses">Pruning climbing roses in March</a></li>
        <li><a href="/2026/03/sowing-early-tomatoes" hreflang="en">Sowing early tomatoes indoors</a></li>
      </ul>
      <ul class="languages">
        <li><a href="https://de.garden.test/neueste-beitraege-aus-dem-garten" hreflang="de">Deutsch: Neueste Beiträge aus dem Garten</a></li>
        <li><a href="https://fr.garden.test/derniers-articles-du-jardin" hreflang="fr">Français: Derniers articles du jardin</a></li>
      </ul>
    </main></body></html>"#;
    assert_eq!(
        paths(html, "https://garden.test/latest"),
        vec![
            "/2026/03/pruning-climbing-roses",
            "/2026/03/sowing-early-tomatoes"
        ]
    );
}

#[test]
fn a_story_the_menu_features_stays_in_the_list() {
    // A news site's "trending" bar is navigation, but its entries are stories, not sections.
    let html = r#"<html><body>
      <nav class="trending"><a href="/2026/03/05/council-votes-on-the-new-bridge">Bridge</a>
        <a href="/transport">Transport</a></nav>
      <main><ul class="posts">
        <li><a href="/2026/03/05/council-votes-on-the-new-bridge">Council votes on the new bridge tonight</a></li>
        <li><a href="/2026/03/04/buses-to-run-later-on-weekends">Buses to run later on weekends</a></li>
        <li><a href="/transport">Everything about transport in town</a></li>
      </ul></main>
    </body></html>"#;
    assert_eq!(
        paths(html, "https://town.test/"),
        vec![
            "/2026/03/05/council-votes-on-the-new-bridge",
            "/2026/03/04/buses-to-run-later-on-weekends"
        ]
    );
}

#[test]
fn a_list_that_marks_the_page_being_read_is_navigation() {
    // A category tree beside the best-seller list: it marks "Books" as where the reader is.
    // A card's chosen colour (`aria-current="true"`) does not make the product list a menu.
    let html = r#"<html><body><main>
      <div class="tree"><ul>
        <li><span aria-current="page">Books</span></li>
        <li><ul>
          <li><a href="/best-sellers-books-arts-photography/zgbs/1">Arts &amp; Photography books</a></li>
          <li><a href="/best-sellers-books-science-fiction/zgbs/25">Science Fiction &amp; Fantasy</a></li>
        </ul></li>
      </ul></div>
      <ul class="grid">
        <li><a href="/the-long-walk-home/dp/111">The Long Walk Home</a>
          <button aria-current="true">Paperback</button></li>
        <li><a href="/a-garden-in-winter/dp/222">A Garden in Winter</a>
          <button aria-current="true">Hardcover</button></li>
      </ul>
    </main></body></html>"#;
    assert_eq!(
        paths(html, "https://shop.test/best-sellers/books"),
        vec!["/the-long-walk-home/dp/111", "/a-garden-in-winter/dp/222"]
    );
}

#[test]
fn a_pictures_noscript_fallback_is_not_its_title() {
    // The parser keeps a noscript's `<img …>` as text; a reader never sees it.
    let html = r#"<html><body><main><div class="cards">
      <a class="card" href="/chicken-chili-recipe-1182"><noscript><img src="/thumb/chili.jpg" alt="chili"></noscript>
        <span class="card__title">Creamy white chicken chili</span></a>
      <a class="card" href="/hot-honey-cornbread-recipe-1180"><noscript><img src="/thumb/bread.jpg" alt="bread"></noscript>
        <span class="card__title">Hot honey jalapeño cornbread</span></a>
    </div></main></body></html>"#;
    assert_eq!(
        titles(html, "https://recipes.test/dinner/"),
        vec!["Creamy white chicken chili", "Hot honey jalapeño cornbread"]
    );
}

#[test]
fn a_link_around_a_whole_card_is_titled_by_the_cards_heading() {
    let html = r#"<html><body><main><div class="stories">
      <div class="story"><a href="/news/articles/c1"><span>2 hrs ago</span>
        <h2>Drones and AI used to help farmers tackle weeds</h2><p>Researchers tested the sprayers on six farms.</p></a></div>
      <div class="story"><a href="/news/articles/c2"><span>1 day ago</span>
        <h2>Robot mice developed to inspect the collider</h2><p>The machines crawl through the tunnels.</p></a></div>
    </div></main></body></html>"#;
    assert_eq!(
        titles(html, "https://news.test/news/technology"),
        vec![
            "Drones and AI used to help farmers tackle weeds",
            "Robot mice developed to inspect the collider"
        ]
    );
}
