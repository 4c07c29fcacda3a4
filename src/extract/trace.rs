//! `clean --explain`: what the extractor decided on one page (the root, how
//! it was chosen, what the rules removed), collected only when asked for.

use std::fmt;

/// How the article root was chosen.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Chosen {
    /// No block of the page reads like prose: there was no root to choose.
    #[default]
    Nothing,
    /// The `content` selector matched it.
    Selector(String),
    /// The scorer: the root's score and the best other blocks with theirs.
    Scorer {
        /// The root's score (prose net of weighted other text).
        score: f32,
        /// The best-scored blocks outside the root: path and score.
        runners_up: Vec<(String, f32)>,
    },
}

/// A block the extractor removed from the root.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    /// The rule's short name (`related`, `links`, `share`, `hidden`, `remove "…"`).
    pub rule: String,
    /// The element's CSS-like path.
    pub path: String,
    /// The first characters of its text.
    pub text: String,
}

/// What the extractor decided on one page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// The root's CSS-like path (`body > main > article.story`).
    pub root: Option<String>,
    /// How the root was chosen.
    pub chosen: Chosen,
    /// The `content` selector when it matched nothing on the page.
    pub content_unmatched: Option<String>,
    /// Words of the root's text after the rules.
    pub root_words: usize,
    /// The blocks removed inside the root, in page order.
    pub removed: Vec<Removed>,
    /// The fallback step that gave the text when the root gave too little.
    pub fallback: Option<&'static str>,
    /// Words of the article text that came out.
    pub words: usize,
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(css) = &self.content_unmatched {
            writeln!(
                f,
                "content selector {css:?} matched nothing: the automatic choice stands"
            )?;
        }
        writeln!(f, "root: {}", self.root.as_deref().unwrap_or("(none)"))?;
        match &self.chosen {
            Chosen::Nothing => writeln!(f, "chosen by: nothing (no block reads like prose)")?,
            Chosen::Selector(css) => writeln!(f, "chosen by: the content selector {css:?}")?,
            Chosen::Scorer { score, runners_up } => {
                writeln!(f, "chosen by: the scorer, score {score:.0}")?;
                for (path, score) in runners_up {
                    writeln!(f, "  runner-up: {path} (score {score:.0})")?;
                }
            }
        }
        writeln!(f, "root text: {} words", self.root_words)?;
        writeln!(f, "removed blocks: {}", self.removed.len())?;
        for r in &self.removed {
            writeln!(f, "  [{}] {}: {:?}", r.rule, r.path, r.text)?;
        }
        if let Some(step) = self.fallback {
            writeln!(f, "fallback: {step}")?;
        }
        write!(f, "result: {} words", self.words)
    }
}

#[cfg(test)]
mod tests {
    use super::{Chosen, Removed, Trace};

    #[test]
    fn the_report_names_root_choice_removals_and_counts() {
        let trace = Trace {
            root: Some("body > main > article.story".into()),
            chosen: Chosen::Scorer {
                score: 812.4,
                runners_up: vec![("body > aside.more".into(), 40.0)],
            },
            root_words: 120,
            removed: vec![Removed {
                rule: "related".into(),
                path: "body > main > article.story > div.more".into(),
                text: "Related News Other story".into(),
            }],
            words: 110,
            ..Trace::default()
        };
        assert_eq!(
            trace.to_string(),
            "root: body > main > article.story\n\
             chosen by: the scorer, score 812\n\
             \x20 runner-up: body > aside.more (score 40)\n\
             root text: 120 words\n\
             removed blocks: 1\n\
             \x20 [related] body > main > article.story > div.more: \"Related News Other story\"\n\
             result: 110 words"
        );
    }
}
