//! Sentence comparison of one story's versions: which sentences of each outlet's
//! text the versions before it do not report.
//!
//! Texts are split into sentences; each sentence becomes a set of word
//! trigrams (lower case, punctuation dropped, numbers kept whole: "6.1",
//! "1,200"). A sentence counts as reported above when one earlier sentence
//! holds at least [`SAME_SHARE`] of its trigrams *and* every number it gives:
//! "shot down 112 of the drones" is new after "shot down dozens of the
//! drones". The comparison works on plain text; callers escape what they show.
//!
//! Cost is bounded per story: at most [`MAX_VERSIONS`] versions are compared
//! and at most [`MAX_SENTENCES`] sentences of each; sentences past that cap
//! are returned as `rest`, versions past it are not compared at all.

use std::collections::HashMap;

/// Versions of one story compared (the representative included); later
/// versions are listed without a comparison.
pub const MAX_VERSIONS: usize = 12;

/// Sentences compared per version; the rest of a long text is not compared.
pub const MAX_SENTENCES: usize = 150;

/// Share of a sentence's trigrams an earlier sentence must hold for the
/// sentence to count as already reported.
pub const SAME_SHARE: f64 = 0.5;

/// Sentences shorter than this many words ("Share this story.") are never
/// reported as new: they are captions and leftovers, not facts.
const MIN_NEW_WORDS: usize = 4;

/// What one version says beyond the versions before it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionDiff {
    /// Sentences no earlier version reports, in text order.
    pub new: Vec<String>,
    /// Its other sentences (reported above, too short to count, or past
    /// [`MAX_SENTENCES`]), in text order.
    pub rest: Vec<String>,
    /// True when the text had more than [`MAX_SENTENCES`] sentences.
    pub capped: bool,
}

/// One sentence as compared: its distinct trigram hashes (sorted) and its numbers.
struct Shingled {
    grams: Vec<u64>,
    numbers: Vec<String>,
}

/// The sentences compared so far: each one's numbers, and for each trigram
/// the sentences holding it.
#[derive(Default)]
struct Seen {
    numbers: Vec<Vec<String>>,
    postings: HashMap<u64, Vec<u32>>,
    /// Scratch: trigrams shared with each earlier sentence, and which were touched.
    hits: Vec<u32>,
    touched: Vec<u32>,
}

impl Seen {
    fn add(&mut self, s: Shingled) {
        let at = self.numbers.len() as u32;
        for g in s.grams {
            self.postings.entry(g).or_default().push(at);
        }
        self.numbers.push(s.numbers);
        self.hits.push(0);
    }

    /// True when one earlier sentence holds [`SAME_SHARE`] of `s`'s trigrams
    /// and all of its numbers.
    fn reported(&mut self, s: &Shingled) -> bool {
        if s.grams.is_empty() {
            return false;
        }
        for g in &s.grams {
            for &at in self.postings.get(g).map(Vec::as_slice).unwrap_or_default() {
                if self.hits[at as usize] == 0 {
                    self.touched.push(at);
                }
                self.hits[at as usize] += 1;
            }
        }
        let need = ((s.grams.len() as f64 * SAME_SHARE).ceil() as u32).max(1);
        let mut found = false;
        for at in self.touched.drain(..) {
            let n = std::mem::take(&mut self.hits[at as usize]);
            found = found
                || n >= need
                    && s.numbers
                        .iter()
                        .all(|num| self.numbers[at as usize].contains(num));
        }
        found
    }
}

/// Compares `texts` (plain text, in the order shown: the representative
/// first) and returns one diff per version, at most [`MAX_VERSIONS`]. The
/// first version's sentences are all new.
pub fn compare(texts: &[&str]) -> Vec<VersionDiff> {
    let mut seen = Seen::default();
    let mut out = Vec::new();
    for text in texts.iter().take(MAX_VERSIONS) {
        let sentences = sentences(text);
        let mut diff = VersionDiff {
            capped: sentences.len() > MAX_SENTENCES,
            ..VersionDiff::default()
        };
        let mut mine = Vec::new();
        for (i, sentence) in sentences.into_iter().enumerate() {
            if i >= MAX_SENTENCES {
                diff.rest.push(sentence);
                continue;
            }
            let (shingled, words) = shingle(&sentence);
            if words >= MIN_NEW_WORDS && !seen.reported(&shingled) {
                diff.new.push(sentence);
            } else {
                diff.rest.push(sentence);
            }
            mine.push(shingled);
        }
        // A version is compared with those above it, not with itself.
        for s in mine {
            seen.add(s);
        }
        out.push(diff);
    }
    out
}

/// Splits plain text into sentences: after `.`, `!` or `?` (closing quotes
/// kept) followed by a space, except after initials and abbreviations
/// ("U.S.", "Mr."); bullets and line breaks also end one.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '\n' | '•' | '\u{2023}' | '\u{25aa}') {
            push_sentence(&mut out, &mut cur);
            i += 1;
            continue;
        }
        cur.push(c);
        if matches!(c, '.' | '!' | '?' | '…') {
            // Closing quotes and brackets belong to the sentence they end.
            while let Some(&q) = chars.get(i + 1) {
                if matches!(q, '"' | '\'' | '”' | '’' | ')' | '»') {
                    cur.push(q);
                    i += 1;
                } else {
                    break;
                }
            }
            let next_is_space = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
            if next_is_space && (c != '.' || !is_abbreviation(&cur)) {
                push_sentence(&mut out, &mut cur);
            }
        }
        i += 1;
    }
    push_sentence(&mut out, &mut cur);
    out
}

/// True when the text ends with an abbreviation's dot: an initial ("J."),
/// dotted letters ("U.S."), or a title ("Mr.", "Dr.", "St.").
fn is_abbreviation(text: &str) -> bool {
    let last = text
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .trim_start_matches(['(', '"', '“', '\'']);
    let word = last.trim_end_matches('.');
    const TITLES: [&str; 12] = [
        "Mr", "Mrs", "Ms", "Dr", "St", "Prof", "Gen", "Col", "Lt", "Sgt", "Rep", "Sen",
    ];
    let single = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
    single || word.contains('.') || TITLES.contains(&word)
}

/// Adds the sentence being built to `out` (trimmed, when it has a letter or digit).
fn push_sentence(out: &mut Vec<String>, cur: &mut String) {
    let s = cur.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().any(char::is_alphanumeric) {
        out.push(s);
    }
    cur.clear();
}

/// A sentence's distinct word trigrams (hashed, sorted), its numbers, and
/// its word count; a sentence of one or two words is one gram.
fn shingle(sentence: &str) -> (Shingled, usize) {
    let mut numbers = Vec::new();
    let words = word_hashes(sentence, &mut numbers);
    let mut grams: Vec<u64> = if words.len() < 3 {
        vec![words.iter().fold(FNV_OFFSET, |h, w| mix(h, *w))]
    } else {
        words
            .windows(3)
            .map(|w| mix(mix(mix(FNV_OFFSET, w[0]), w[1]), w[2]))
            .collect()
    };
    grams.sort_unstable();
    grams.dedup();
    (Shingled { grams, numbers }, words.len())
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// Folds a word's hash into a trigram's.
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(FNV_PRIME).rotate_left(23)
}

/// The hashes (FNV-1a: stable, fast, good enough within one story) of the
/// lower-case words and numbers of `text`: a number keeps an inner `.` or
/// `,` ("6.1", "1,200"), apostrophes end a word ("Ukraine’s" → "ukraine",
/// "s"); the numbers are also added to `numbers`.
fn word_hashes(text: &str, numbers: &mut Vec<String>) -> Vec<u64> {
    let mut out = Vec::new();
    let (mut h, mut len, mut prev_digit) = (FNV_OFFSET, 0usize, false);
    let mut number: Option<String> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let inner_sep =
            matches!(c, '.' | ',') && prev_digit && chars.peek().is_some_and(char::is_ascii_digit);
        if c.is_alphanumeric() || inner_sep {
            if len == 0 && c.is_ascii_digit() {
                number = Some(String::new());
            }
            for l in c.to_lowercase() {
                h = (h ^ u64::from(l)).wrapping_mul(FNV_PRIME);
            }
            if let Some(n) = number.as_mut() {
                n.push(c);
            }
            len += 1;
            prev_digit = c.is_ascii_digit();
        } else if len > 0 {
            out.push(h);
            numbers.extend(number.take());
            (h, len, prev_digit) = (FNV_OFFSET, 0, false);
        }
    }
    if len > 0 {
        out.push(h);
        numbers.extend(number);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_stops_but_not_at_initials() {
        let s = sentences(
            "He met U.S. envoy Steve Witkoff in Berlin. \"It went well,\" he said! Mr. Merz agreed.\n• A bullet point",
        );
        assert_eq!(
            s,
            vec![
                "He met U.S. envoy Steve Witkoff in Berlin.",
                "\"It went well,\" he said!",
                "Mr. Merz agreed.",
                "A bullet point"
            ]
        );
        assert_eq!(
            sentences("Prices rose 6.1 per cent. Then fell."),
            vec!["Prices rose 6.1 per cent.", "Then fell."]
        );
    }

    #[test]
    fn a_copy_adds_nothing_and_a_rewrite_adds_its_own_sentences() {
        let first = "Russia launched 138 drones overnight, the air force said. Air defence units shot down 112 of the drones. Repairs went on all day.";
        let copy = "Russia launched 138 drones overnight, the air force said. Air defence units shot down 112 of the drones.";
        let other = "Air defence units shot down dozens of the drones. Hundreds of thousands of homes lost power on Monday.";
        let d = compare(&[first, copy, other]);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].new.len(), 3, "the first version is all new");
        assert!(d[1].new.is_empty(), "{:?}", d[1]);
        assert_eq!(d[1].rest.len(), 2);
        assert_eq!(
            d[2].new,
            vec!["Hundreds of thousands of homes lost power on Monday."],
            "the same claim without the figure is not new"
        );
        // The other way round, the figure is what the later version adds.
        let d = compare(&[other, first]);
        assert!(d[1]
            .new
            .contains(&"Air defence units shot down 112 of the drones.".to_string()));
    }

    #[test]
    fn short_leftovers_are_never_new() {
        let d = compare(&["One whole sentence about the vote.", "Share this story."]);
        assert!(d[1].new.is_empty());
        assert_eq!(d[1].rest, vec!["Share this story."]);
    }

    #[test]
    fn the_caps_bound_versions_and_sentences() {
        let long: String = (0..MAX_SENTENCES + 10)
            .map(|i| format!("Sentence number {i} says a different thing. "))
            .collect();
        let d = compare(&[&long]);
        assert!(d[0].capped);
        assert_eq!(d[0].new.len(), MAX_SENTENCES);
        assert_eq!(d[0].rest.len(), 10);
        let many = vec!["A text of a few words."; MAX_VERSIONS + 3];
        assert_eq!(compare(&many).len(), MAX_VERSIONS);
    }
}
