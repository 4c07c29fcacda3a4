//! The config's parsing, defaults and located errors.

use super::raw::RawSize;
use super::values::parse_size;
use super::*;
use crate::fetch::DEFAULT_MAX_BODY;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new("/etc/feedsieve/feeds.toml"))
}

fn first_error(text: &str) -> ConfigError {
    parse(text).unwrap_err().0.remove(0)
}

#[test]
fn defaults_and_relative_paths() {
    let cfg = parse("[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n").unwrap();
    assert_eq!(
        cfg.database.path,
        Path::new("/etc/feedsieve/db/feedsieve.sqlite")
    );
    assert_eq!(cfg.output.path, Path::new("/etc/feedsieve/db/feed.xml"));
    assert_eq!(cfg.output.max_items, 200);
    assert_eq!(cfg.schedule.interval, DEFAULT_INTERVAL);
    assert_eq!((cfg.schedule.concurrency, cfg.schedule.per_host), (8, 2));
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(cfg.database.max_age, DEFAULT_MAX_AGE);
    assert_eq!(cfg.fetch.max_body, DEFAULT_MAX_BODY);
    assert_eq!(cfg.sources.len(), 1);
    assert_eq!(cfg.interval_of(&cfg.sources[0]), DEFAULT_INTERVAL);
}

#[test]
fn every_key_is_read() {
    let cfg = parse(
        r#"
[output]
title = "T"
link = "https://me.test/"
description = "D"
path = "/srv/feed.xml"
max_items = 50
hub = "https://hub.example.org/"
[server]
listen = "0.0.0.0:9000"
[database]
path = "data/x.sqlite"
max_age = "7d"
[schedule]
interval = "1h"
concurrency = 4
per_host = 1
[fetch]
timeout = "20s"
connect_timeout = "5s"
max_body = "2 MiB"
user_agent = "me/1"
max_items_per_feed = 30
allow_private = false
[[feed]]
name = "A"
url = "https://a.test/rss"
interval = "15m"
full_text = true
[[page]]
name = "P"
url = "https://p.test/news/"
"#,
    )
    .unwrap();
    assert_eq!(cfg.output.path, Path::new("/srv/feed.xml"));
    assert_eq!(cfg.output.max_items, 50);
    assert_eq!(
        cfg.output.hub.as_ref().map(Url::as_str),
        Some("https://hub.example.org/")
    );
    assert_eq!(cfg.server.listen.port(), 9000);
    assert_eq!(cfg.database.path, Path::new("/etc/feedsieve/data/x.sqlite"));
    assert_eq!(cfg.database.max_age, Duration::from_secs(7 * 86400));
    assert_eq!(cfg.schedule.interval, Duration::from_secs(3600));
    assert_eq!(cfg.fetch.max_body, 2 * 1024 * 1024);
    assert_eq!(cfg.fetch.user_agent.as_deref(), Some("me/1"));
    assert_eq!(cfg.fetch.max_items_per_feed, 30);
    assert!(!cfg.fetch.allow_private);
    assert_eq!(cfg.sources[0].interval, Some(Duration::from_secs(900)));
    assert_eq!(cfg.sources[0].full_text, FullText::Always);
    assert_eq!(cfg.sources[1].kind, SourceKind::Page);
}

#[test]
fn unknown_key_names_line_and_column() {
    let e = first_error("[schedule]\ninterval = \"30m\"\nintervall = \"1h\"\n");
    assert_eq!((e.line, e.column), (Some(3), Some(1)), "{e}");
    assert!(e.message.contains("intervall"), "{e}");
    assert!(
        e.to_string().starts_with("/etc/feedsieve/feeds.toml:3:1: "),
        "{e}"
    );
}

#[test]
fn bad_values_name_their_line() {
    let e = first_error("[[feed]]\nname = \"A\"\nurl = \"not a url\"\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("not a valid URL"), "{e}");

    let e = first_error("[[feed]]\nname = \"A\"\nurl = \"ftp://a.test/x\"\n");
    assert!(e.message.contains("only http and https"), "{e}");

    let e = first_error("[schedule]\n\ninterval = \"often\"\n");
    assert_eq!((e.line, e.column), (Some(3), Some(12)), "{e}");
    assert!(e.message.contains("not a duration"), "{e}");

    let e = first_error("[schedule]\nconcurrency = 0\n");
    assert_eq!(e.line, Some(2), "{e}");

    let e = first_error("[server]\nlisten = \"localhost\"\n");
    assert!(e.message.contains("address with a port"), "{e}");

    let e = first_error("[fetch]\nmax_body = \"lots\"\n");
    assert!(e.message.contains("not a size"), "{e}");

    let e = first_error("[[feed]]\nname = \"A\"\n");
    assert!(e.message.contains("url"), "{e}");
    assert_eq!(e.line, Some(1), "{e}");
}

#[test]
fn duplicate_sources_point_at_the_second() {
    let e = first_error(
        "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n\n[[feed]]\nname = \"B\"\nurl = \"https://a.test/rss\"\n",
    );
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("already configured on line 3"), "{e}");
}

#[test]
fn dedup_settings_have_defaults_and_located_errors() {
    let cfg = parse("").unwrap();
    assert_eq!(cfg.dedup, crate::dedup::DedupConfig::default());
    assert!(cfg.dedup.enabled);
    assert_eq!(cfg.dedup.window, Duration::from_secs(72 * 3600));
    let cfg = parse(
        "[dedup]\nenabled = false\nwindow = \"2d\"\ntext_threshold = 0.4\nprefer = [\"Reuters\"]\n",
    )
    .unwrap();
    assert!(!cfg.dedup.enabled);
    assert_eq!(cfg.dedup.window, Duration::from_secs(48 * 3600));
    assert_eq!(cfg.dedup.text_threshold, 0.4);
    assert_eq!(cfg.dedup.prefer, vec!["Reuters".to_string()]);
    let e = first_error("[dedup]\n\ntext_threshold = 1.5\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("text_threshold"), "{e}");
    let e = first_error("[dedup]\nthreshold = 0.3\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn embedding_model_is_located_when_it_cannot_be_used() {
    let e = first_error("[dedup]\nembedding_model = \"no-such-model\"\n");
    assert_eq!((e.line, e.column), (Some(2), Some(19)), "{e}");
    if cfg!(feature = "embed") {
        assert!(e.message.contains("not a folder"), "{e}");
    } else {
        assert!(e.message.contains("`embed` feature"), "{e}");
    }
    let e = first_error("[dedup]\nembedding_text_weight = 2.5\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn all_errors_are_reported_at_once() {
    let errs = parse("[schedule]\ninterval = \"x\"\nper_host = -1\n").unwrap_err();
    assert_eq!(errs.0.len(), 2, "{errs}");
}

#[test]
fn a_one_bracket_feed_above_listed_ones_hides_none_of_their_errors() {
    let errs = parse(concat!(
        "[feed]\nname = \"A\"\nurl = \"https://a.test/rss\"\n",
        "\n[[feed]]\nname = \"B\"\nurl = \"not a url\"\n",
        "\n[[feed]]\nname = \"C\"\nurl = \"https://c.test/rss\"\nfulltext = true\n",
        "\n[ page ]  # a comment\nname = \"P\"\nurl = \"https://p.test/\"\n",
    ))
    .unwrap_err();
    let got: Vec<(Option<usize>, &str)> = errs
        .0
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    let want = [
        (1, "`[[feed]]`"),
        (7, "not a valid URL"),
        (12, "full_text"),
        (14, "`[[page]]`"),
    ];
    assert_eq!(got.len(), want.len(), "{errs}");
    for ((line, message), (want_line, fragment)) in got.iter().zip(want) {
        assert!(
            *line == Some(want_line) && message.contains(fragment),
            "{errs}"
        );
    }
}

#[test]
fn listen_takes_ip_addresses_and_localhost() {
    let cfg = parse("[server]\nlisten = \"localhost:9000\"\n").unwrap();
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:9000");
    let cfg = parse("[server]\nlisten = \"[::1]:9000\"\n").unwrap();
    assert_eq!(cfg.server.listen.to_string(), "[::1]:9000");
    let e = first_error("[server]\nlisten = \"news.example.org:80\"\n");
    assert!(e.message.contains("give an IP address"), "{e}");
    assert!(e.message.contains("0.0.0.0:80"), "{e}");
    let e = first_error("[server]\nlisten = \"8080\"\n");
    assert!(e.message.contains("not an address with a port"), "{e}");
    // What people type instead, each told what to write.
    for (typed, says) in [
        (":9000", "no address before the port: \"127.0.0.1:9000\""),
        (
            "http://127.0.0.1:9000/",
            "without http://, e.g. \"127.0.0.1:9000\"",
        ),
        ("127.0.0.1:99999", "port 99999 is out of range"),
    ] {
        let e = first_error(&format!("[server]\nlisten = \"{typed}\"\n"));
        assert!(e.message.contains(says), "{typed}: {e}");
    }
}

#[test]
fn syntax_errors_have_a_location() {
    let e = first_error("[output\ntitle = 1\n");
    assert_eq!(e.line, Some(1), "{e}");
}

#[test]
fn filters_categories_and_page_options() {
    let cfg = parse(
        "[filters]\nexclude = \"(?i)sponsored\"\n\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\ncategory = \"World\"\ninclude = [\"Ukraine\", \"Kyiv\"]\n\n[[page]]\nname = \"P\"\nurl = \"https://p.test/\"\nlinks = \"article h2 a\"\nmax_new = 5\n",
    )
    .unwrap();
    assert!(!cfg.filters.admits("SPONSORED: buy"));
    let a = &cfg.sources[0];
    assert_eq!(a.category.as_deref(), Some("World"));
    assert!(a.filters.admits("Kyiv under attack"));
    assert!(!a.filters.admits("Cycle lanes"));
    let p = &cfg.sources[1];
    assert_eq!((p.links.as_deref(), p.max_new), (Some("article h2 a"), 5));
    assert_eq!(cfg.sources[0].max_new, DEFAULT_MAX_NEW);

    let e = first_error(
        "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nexclude = \"(unclosed\"\n",
    );
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("not a valid regular expression"), "{e}");
    // An empty pattern (or one that any title matches) matches every title.
    for (key, value, says) in [
        ("exclude", "\"\"", "every item would be dropped"),
        ("exclude", "\".\"", "every item would be dropped"),
        ("include", "[\"Kyiv\", \"x*\"]", "filter nothing out"),
    ] {
        let e = first_error(&format!(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n{key} = {value}\n"
        ));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(
            e.message.contains("matches every title") && e.message.contains(says),
            "{e}"
        );
    }
    // Filters that only empty text matches are real filters.
    for pattern in ["^$", "^\\\\s*$", "^(?:Sponsored)?$"] {
        let text = format!(
            "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nexclude = \"{pattern}\"\n"
        );
        assert!(parse(&text).is_ok(), "{pattern}");
    }
    let e = first_error("[[page]]\nname = \"P\"\nurl = \"https://p.test/\"\nlinks = \"a[\"\n");
    assert!(e.message.contains("not a valid CSS selector"), "{e}");
    let e = first_error("[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nmax_new = 3\n");
    assert!(e.message.contains("[[page]] only"), "{e}");
}

#[test]
fn sizes_accept_units() {
    assert_eq!(parse_size(&RawSize::Bytes(10)), Ok(10));
    assert_eq!(parse_size(&RawSize::Text("512 KB".into())), Ok(512_000));
    assert_eq!(parse_size(&RawSize::Text("1.5MiB".into())), Ok(1_572_864));
    assert!(parse_size(&RawSize::Text("-3".into())).is_err());
    assert!(parse_size(&RawSize::Bytes(0)).is_err());
}

#[test]
fn extraction_overrides_are_read_and_checked() {
    let cfg = parse(
        "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\ncontent = \"div.story\"\nremove = [\".promo\", \"aside\"]\n",
    )
    .unwrap();
    assert_eq!(cfg.sources[0].content.as_deref(), Some("div.story"));
    assert_eq!(cfg.sources[0].remove, vec![".promo", "aside"]);
    let e =
        first_error("[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\nremove = [\"p[\"]\n");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("invalid CSS selector"), "{e}");
}

#[test]
fn durations_read_the_listed_units_and_nothing_else() {
    let secs = |t: &str| parse_duration(t).map(|d| d.as_secs());
    assert_eq!(secs("90s"), Ok(90));
    assert_eq!(secs("15m"), Ok(900));
    assert_eq!(secs("1h 30m"), Ok(5400));
    assert_eq!(secs("1h30m"), Ok(5400));
    assert_eq!(secs(" 7d "), Ok(7 * 86_400));
    for (text, words) in [
        ("30M", "months"),
        ("1y", "years"),
        ("2w", "\"14d\""),
        ("30 minutes", "\"30m\""),
        ("-5m", "negative"),
        ("0s", "zero"),
        ("", "empty"),
        ("99999999999999999999d", "far too long"),
        ("5 parsecs", "not a unit of time"),
    ] {
        let e = parse_duration(text).unwrap_err();
        assert!(e.contains(words), "{text}: {e}");
    }
}

#[test]
fn wrong_kinds_of_values_are_named_in_plain_words() {
    let errs = parse("[schedule]\nconcurrency = \"8\"\nper_host = 2.5\n[fetch]\nallow_private = \"no\"\n[output]\ntitle = 3\n").unwrap_err();
    let all = errs.to_string();
    assert_eq!(errs.0.len(), 4, "{all}");
    assert!(
        all.contains(
            "`concurrency` must be a whole number, e.g. `concurrency = 8`; write it without quotes"
        ),
        "{all}"
    );
    assert!(
        all.contains("`allow_private` must be true or false"),
        "{all}"
    );
    assert!(all.contains("`title` must be text in quotes"), "{all}");
    // A list where one value goes, and one value where a list goes.
    let feed = "[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n";
    let e = first_error(&format!("{feed}category = [\"World\", \"Europe\"]\n"));
    assert!(e.message.ends_with("; one value, not a list"), "{e}");
    let e = first_error("[fetch]\nmax_body = 10\n");
    assert!(e.message.contains("`max_body` is 10 bytes"), "{e}");
    let e = first_error(&format!("{feed}remove = \"figure\"\n"));
    assert!(
        e.message.contains("even of one: `remove = [\"figure\"]`"),
        "{e}"
    );
    let e = first_error("interval = \"30m\"\n");
    assert!(e.message.contains("belongs in [schedule]"), "{e}");
    let e = first_error("[sheduel]\ninterval = \"30m\"\n");
    assert!(e.message.contains("did you mean `[schedule]`?"), "{e}");
    let e = first_error("[[feed]]\nname = \"A\"\nurl = \"https://a.test/\"\nmax-new = 3\n");
    assert!(e.message.contains("did you mean `max_new`?"), "{e}");
}

#[test]
fn a_trailing_slash_or_fragment_is_the_same_source_url() {
    let key = |u: &str| url_key(&Url::parse(u).unwrap());
    assert_eq!(
        key("https://a.test/rss.xml/"),
        key("https://a.test/rss.xml")
    );
    assert_eq!(
        key("https://a.test/rss.xml#x"),
        key("https://a.test/rss.xml")
    );
    assert_eq!(key("https://a.test/"), "https://a.test/");
    assert_ne!(key("https://a.test/rss?x=1"), key("https://a.test/rss?x=2"));
}

#[test]
fn without_a_link_the_feeds_are_where_the_daemon_listens() {
    let link = |server: &str| parse(server).unwrap().output.link;
    assert_eq!(link(""), "http://127.0.0.1:8080/");
    assert_eq!(
        link("[server]\nlisten = \"127.0.0.1:18220\"\n"),
        "http://127.0.0.1:18220/"
    );
    assert_eq!(
        link("[server]\nlisten = \"0.0.0.0:9000\"\n"),
        "http://127.0.0.1:9000/"
    );
    assert_eq!(
        link("[server]\nlisten = \"[::]:9000\"\n"),
        "http://[::1]:9000/"
    );
    let set = "[output]\nlink = \"https://me.test/\"\n[server]\nlisten = \"127.0.0.1:1\"\n";
    assert_eq!(link(set), "https://me.test/");
}

#[test]
fn a_link_to_a_sub_path_is_the_folder_the_files_are_in() {
    let link = |l: &str| {
        parse(&format!("[output]\nlink = \"{l}\"\n"))
            .unwrap()
            .output
            .link
    };
    // Without the slash, the feeds' self links lost `/news` (…/feed.xml).
    assert_eq!(link("https://me.test/news"), "https://me.test/news/");
    assert_eq!(link("https://me.test/news/"), "https://me.test/news/");
    assert_eq!(
        link("https://me.test/news/index.html"),
        "https://me.test/news/index.html"
    );
    assert_eq!(link("https://me.test"), "https://me.test/");
    // A feed file is not the site: said, with the folder to give instead.
    let e = first_error("[output]\nlink = \"https://me.test/news/feed.xml\"\n");
    assert!(
        e.message.contains("names a feed file") && e.message.contains("\"https://me.test/news/\""),
        "{e}"
    );
}

#[test]
fn the_feed_may_not_overwrite_the_database_the_config_or_its_siblings() {
    let feed = "\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n";
    let cases = [
        ("db/feedsieve.sqlite", "is the database"),
        (
            "/etc/feedsieve/db/./feedsieve.sqlite-wal",
            "database's own files",
        ),
        ("db/feedsieve.sqlite-shm", "database's own files"),
        ("feeds.toml", "is this config file"),
        ("db/atom.xml", "the Atom feed"),
        ("index.html", "the front page"),
        ("db/../db/feedsieve.sqlite", "is the database"),
    ];
    for (path, says) in cases {
        let e = first_error(&format!("[output]\npath = \"{path}\"\n{feed}"));
        assert_eq!(e.line, Some(2), "{path}: {e}");
        assert!(e.message.contains(says), "{path}: {e}");
    }
    // A folder (as `path = "db"` would be).
    let dir = std::env::temp_dir();
    let e = first_error(&format!(
        "[output]\npath = {:?}\n{feed}",
        dir.display().to_string()
    ));
    assert_eq!(e.line, Some(2), "{e}");
    assert!(
        e.message.contains("is a folder") && e.message.contains("feed.xml"),
        "{e}"
    );
    // A sibling written onto the database.
    let e = first_error(&format!(
        "[output]\npath = \"data/news.rss\"\n[database]\npath = \"data/index.html\"\n{feed}"
    ));
    assert!(
        e.message
            .contains("puts /etc/feedsieve/data/index.html beside it"),
        "{e}"
    );
    // Moved together, or apart, they are fine.
    let moved = "[output]\npath = \"db/feedsieve.sqlite\"\n[database]\npath = \"data/db.sqlite\"\n";
    assert!(parse(&format!("{moved}{feed}")).is_ok());
    assert!(parse(&format!("[output]\npath = \"www/news.rss\"\n{feed}")).is_ok());
}

#[test]
fn a_duplicate_name_is_reported_beside_the_first_sources_other_error() {
    let text = "[[feed]]\nname = \"Two\"\nurl = \"example.org/feed\"\n\
                [[feed]]\nname = \"two\"\nurl = \"http://example.org/b\"\n";
    let errors = parse(text).unwrap_err().0;
    let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(3), Some(5)], "{errors:?}");
    assert!(errors[1].message.contains("duplicate name"), "{errors:?}");
}

#[cfg(unix)]
#[test]
fn a_linked_database_s_own_files_are_found_beside_its_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("db")).unwrap();
    std::fs::create_dir_all(dir.path().join("real")).unwrap();
    // The target not created yet, as before a first run.
    std::os::unix::fs::symlink(
        "../real/data.sqlite",
        dir.path().join("db/feedsieve.sqlite"),
    )
    .unwrap();
    for path in [
        "real/data.sqlite-wal",
        "real/data.sqlite",
        "real/data.sqlite.lock",
    ] {
        let text = format!(
            "[output]\npath = \"{path}\"\n[[feed]]\nname = \"A\"\nurl = \"https://a.test/rss\"\n"
        );
        let errors = Config::parse(&text, &dir.path().join("feeds.toml")).unwrap_err();
        assert!(
            errors.0[0].message.contains("the database"),
            "{path}: {errors}"
        );
    }
}
