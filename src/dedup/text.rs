//! Text features: normalised terms for the similarity layer and a SimHash
//! MinHash signature for the near-copy layer.

use std::cell::RefCell;

use fxhash::FxHashMap;
use rust_stemmers::{Algorithm, Stemmer};

/// Common English function words: they say nothing about which event a text is
/// about. Sorted (binary search; a test checks).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "according",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "may",
    "me",
    "might",
    "more",
    "most",
    "mr",
    "mrs",
    "ms",
    "must",
    "my",
    "myself",
    "new",
    "news",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "report",
    "reported",
    "reports",
    "s",
    "said",
    "same",
    "say",
    "says",
    "she",
    "should",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "told",
    "too",
    "two",
    "under",
    "until",
    "up",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
];

/// [`STOPWORDS`] as a set: a token not yet remembered was checked by binary
/// search, eight string comparisons for most words.
static STOPWORD_SET: std::sync::LazyLock<fxhash::FxHashSet<&'static str>> =
    std::sync::LazyLock::new(|| STOPWORDS.iter().copied().collect());

/// An article's tokens, kept end to end in one buffer: splitting a text costs
/// a few allocations, not one per word.
#[derive(Debug, Default)]
pub struct Tokens {
    buf: String,
    /// Where each token ends in `buf`.
    ends: Vec<u32>,
}

impl Tokens {
    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th token.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends the tokens of `text` (see [`tokens`]).
    fn push_text(&mut self, text: &str) {
        let mut start = self.buf.len();
        // Peeking rather than collecting the chars: no copy of the text per call.
        let mut chars = text.chars().peekable();
        // Whether the token so far is digits grouped by spaces ("300 000").
        let mut grouped = false;
        while let Some(ch) = chars.next() {
            // A no-break or thin space groups digits; a plain one only in a
            // run of groups ("1 200 000", not "May 9 200 migrants").
            let plain = match ch {
                '\u{a0}' | '\u{202f}' | '\u{2009}' => Some(false),
                ' ' => Some(true),
                _ => None,
            };
            let groups = |plain| self.space_groups_digits(start, grouped, plain, chars.clone());
            if plain.is_some_and(groups) {
                grouped = true;
                continue;
            }
            let keep = ch.is_alphanumeric()
                || ((ch == '.' || ch == ',')
                    && self.buf[start..].ends_with(|c: char| c.is_ascii_digit())
                    && chars.peek().is_some_and(|c| c.is_ascii_digit()));
            // An apostrophe ends a word: "Ukraine's" → "ukraine", "s" (a stop word).
            if keep {
                if ch.is_ascii() {
                    self.buf.push(ch.to_ascii_lowercase());
                } else {
                    self.buf.extend(ch.to_lowercase());
                }
            } else {
                self.end_token(&mut start);
                grouped = false;
            }
        }
        self.end_token(&mut start);
    }

    /// Whether a space after the token begun at `start` sets thousands apart
    /// ("300 000", "1 200 000"): the token is one to three digits, or digits
    /// `grouped` so already (not a year before a count: "2014 500"), and
    /// exactly three digits follow, then no letter or digit. After a `plain`
    /// space, a lone group needs another group after it ("1 200 000").
    fn space_groups_digits(
        &self,
        start: usize,
        grouped: bool,
        plain: bool,
        next: impl Iterator<Item = char>,
    ) -> bool {
        let token = &self.buf[start..];
        let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
        if !digits || !(grouped || token.len() <= 3) {
            return false;
        }
        let mut next = next.peekable();
        let group = |next: &mut std::iter::Peekable<_>| {
            (0..3).all(|_| next.next().is_some_and(|c: char| c.is_ascii_digit()))
        };
        if !group(&mut next) {
            return false;
        }
        let after = next.next();
        // A plain space after a lone group: another group must follow ("May 9
        // 200 migrants", "December 17 200 flights" are a date and a count).
        if plain && !grouped {
            return after == Some(' ')
                && group(&mut next)
                && next.next().is_none_or(|c| !c.is_alphanumeric());
        }
        after.is_none_or(|c| !c.is_alphanumeric())
    }

    /// Closes the token that began at `start`, if it has any text.
    fn end_token(&mut self, start: &mut usize) {
        if self.buf.len() > *start {
            self.ends.push(self.buf.len() as u32);
            *start = self.buf.len();
        }
    }
}

/// Splits text into lower-case word and number tokens. Numbers keep an inner
/// `.` or `,` ("6.1", "1,200") because they tell look-alike events apart.
pub fn tokens(text: &str) -> Tokens {
    // Offsets are 32-bit, and lower-casing grows a text by at most half: a
    // text is read to its first GiB (none that reaches dedup is near it).
    let mut end = text.len().min(1 << 30);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let mut out = Tokens {
        // Lower-casing keeps most lengths; about one token per six bytes of prose.
        buf: String::with_capacity(text.len()),
        ends: Vec::with_capacity(text.len() / 6),
    };
    out.push_text(text);
    out
}

/// Names and figures: capitalised words that do not open a sentence, and
/// numbers. These tell look-alike events apart (another place, another toll).
/// Numbers are cut as [`tokens`] cuts them: a no-break or thin space inside
/// one, or a run of plain-space groups ("1 200 000"), joins its digits.
pub fn entity_tokens(text: &str) -> Tokens {
    let mut out = Tokens::default();
    let mut sentence_start = true;
    // Numbers next to each other, as the text spaced them, cut together.
    let mut numbers = String::new();
    let grouping = |c: char| matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}');
    let words = text.split(|c: char| c.is_whitespace() && !grouping(c));
    for raw in words.filter(|w| !w.is_empty()) {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let first = word.chars().next();
        let is_name = first.is_some_and(|c| c.is_uppercase()) && !sentence_start;
        let is_number = first.is_some_and(|c| c.is_ascii_digit());
        // Punctuation between two numbers parts them: "12, 300" is two.
        if !is_number || !raw.starts_with(word) {
            out.push_text(&numbers);
            numbers.clear();
        }
        if is_number {
            numbers.push(' ');
            numbers.push_str(word);
            if !raw.ends_with(word) {
                out.push_text(&numbers);
                numbers.clear();
            }
        } else if is_name {
            out.push_text(word);
        }
        sentence_start =
            raw.ends_with(['.', '!', '?', ':', '"', '“', '”']) || word.is_empty() && sentence_start;
    }
    out.push_text(&numbers);
    out
}

/// Whether a title is written as a sentence (capitals mark names) rather than
/// in Title Case (capitals on every word): most words after the first are lower case.
pub fn sentence_case(title: &str) -> bool {
    let words: Vec<&str> = title
        .split_whitespace()
        .skip(1)
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    let upper = words
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    !words.is_empty() && upper * 2 < words.len()
}

/// A lower-case word spelled as its variants share it: combining marks
/// dropped after Unicode decomposition (accents, the Greek tonos, Arabic
/// vowel signs: "zürich" is "zurich", "ёлка" is "елка"), and the letters that
/// carry theirs built in written plainly ("łódź" is "lodz", "straße" is
/// "strasse", a final "ς" is "σ" as an all-caps Greek headline lower-cases).
pub fn folded(token: &str) -> std::borrow::Cow<'_, str> {
    if token.is_ascii() {
        return std::borrow::Cow::Borrowed(token);
    }
    let nfd = icu_normalizer::DecomposingNormalizerBorrowed::new_nfd();
    let mut out = String::with_capacity(token.len());
    for c in nfd.normalize_iter(token.chars()) {
        match c {
            '\u{300}'..='\u{36f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}'
            | '\u{591}'..='\u{5c7}'
            | '\u{610}'..='\u{61a}'
            | '\u{64b}'..='\u{65f}'
            | '\u{670}'
            | '\u{640}' => {}
            'ł' => out.push('l'),
            'đ' => out.push('d'),
            'ø' => out.push('o'),
            'ı' => out.push('i'),
            'ħ' => out.push('h'),
            'ς' => out.push('σ'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A number token written as its value where its separators say so
/// unambiguously: thousands grouped by commas or dots ("1,200", "1.200.000",
/// "1.234,5", "1,234.5" are 1200, 1200000, 1234.5, 1234.5) and a decimal
/// comma ("5,4" is 5.4). A lone dot is a decimal point, kept ("1.125" is an
/// English rate as often as a German thousand), and so are separators in
/// groups of other sizes ("17.1.2", "1.12.2024"). `None` for a token that is
/// not digits and separators alone ("1990s", "a380").
pub fn number_value(token: &str) -> Option<String> {
    if !token
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let groups: Vec<&str> = token.split(['.', ',']).collect();
    let seps: Vec<u8> = token.bytes().filter(|b| !b.is_ascii_digit()).collect();
    // Thousands groups: the first of one to three digits, the others of three.
    let grouped = |groups: &[&str]| {
        groups
            .first()
            .is_some_and(|g| (1..=3).contains(&g.len()) && !g.starts_with('0'))
            && groups[1..].iter().all(|g| g.len() == 3)
    };
    let Some((last, others)) = seps.split_last() else {
        return Some(token.to_string());
    };
    let (whole, fraction) = groups.split_at(groups.len() - 1);
    let value = if others.is_empty() {
        // One separator: a comma before three digits groups, another comma
        // is a decimal one; a dot stays a decimal point.
        match *last {
            b',' if grouped(&groups) => groups.concat(),
            b',' => groups.join("."),
            _ => token.to_string(),
        }
    } else if others.iter().all(|b| b != last) && grouped(whole) {
        // The last separator the decimal sign, the others of the other kind.
        format!("{}.{}", whole.concat(), fraction[0])
    } else if others.iter().all(|b| b == last) && grouped(&groups) {
        // One kind throughout: thousands when every group is one.
        groups.concat()
    } else {
        token.to_string()
    };
    Some(value)
}

/// Turns tokens into comparable terms: stop words dropped, English stems,
/// doubled letters collapsed so that transliteration variants of a name meet
/// ("Zelenskyy" / "Zelensky", "Gaddafi" / "Gadafi").
pub struct Normalizer {
    stemmer: Stemmer,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

/// The languages whose function words are known besides English (NLTK's
/// lists, by ISO 639-1 code), each a bit of a token's stop-word mask after
/// bit 0, English's ([`STOPWORDS`]). Chinese has no spaces to split words
/// at, and Hinglish's words are English's too.
const OTHER_LANGUAGES: [&str; 30] = [
    "sq", "ar", "az", "eu", "be", "bn", "ca", "da", "nl", "fi", "fr", "de", "el", "he", "hu", "id",
    "it", "kk", "ne", "no", "pt", "ro", "ru", "sl", "es", "sv", "ta", "tg", "tr", "uz",
];

/// Each function word of [`OTHER_LANGUAGES`] (as [`folded`] spells it) with
/// the bits of the languages that have it; English's own are left out, so
/// that they tell no language but English (folded Romanian "în" is "in"):
/// short English headlines then are not taken for another language's.
static OTHER_STOPWORDS: std::sync::LazyLock<FxHashMap<String, u32>> =
    std::sync::LazyLock::new(|| {
        let mut words: FxHashMap<String, u32> = FxHashMap::default();
        for (i, code) in OTHER_LANGUAGES.iter().enumerate() {
            for w in stop_words::lookup(code).unwrap_or_default() {
                let word = folded(&w.trim().to_lowercase()).into_owned();
                // A Latin letter alone is no evidence of a language: initials
                // and names have them ("Jim O'Brien" is no Slovenian). Greek
                // or Cyrillic ones are ("ο", "и").
                let initial = word.len() == 1;
                if !initial && !STOPWORD_SET.contains(word.as_str()) {
                    *words.entry(word).or_default() |= 1 << (i + 1);
                }
            }
        }
        words
    });

/// Which language's function words an article's are, if not English's: a
/// stop-word mask bit (0 for English alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Language(u32);

impl Language {
    /// English: only its function words are left out.
    pub const ENGLISH: Language = Language(0);

    /// The ISO 639-1 code of the language (`en` for English alone).
    pub fn code(self) -> &'static str {
        match self.0.trailing_zeros() as usize {
            0 | 32.. => "en",
            bit => OTHER_LANGUAGES[bit - 1],
        }
    }
}

/// Tokens whose terms a thread keeps in its newer half of memory before that
/// half becomes the older one (and the older is forgotten): words follow
/// Zipf's law, so the few hundred commonest make up much of any text, and
/// stemming each anew was a sixth of the dedup work. Small because every
/// thread of the blocking pool keeps its own (measured with one map emptied
/// when full, `bench_cycle` first cycle peak RSS: 245 MB without a cache,
/// 305 MB at 65,536 tokens, 258 MB at 4,096, 244 MB at 256; `bench_dedup
/// 100000` 119 µs per article at 256 against 126 µs at 65,536 in
/// back-to-back runs). Two halves of 256 run `bench_dedup 5000` in 2.3 %
/// fewer instructions than one map of 256 (callgrind, same output).
const TERM_CACHE: usize = 1 << 8;

/// A thread's memory of [`Normalizer::term`] in two halves: a token found in
/// the older half moves to the newer one, so common words survive the
/// newer half's turnover (emptying one map when full forgot them all).
#[derive(Default)]
struct TermMemory {
    newer: FxHashMap<Box<str>, Remembered>,
    older: FxHashMap<Box<str>, Remembered>,
}

/// A token's term, and the languages whose function word it is (bit 0:
/// English, see [`Language`]).
type Remembered = (Option<Box<str>>, u32);

thread_local! {
    /// Each thread's memory of [`Normalizer::term`], a pure function of the
    /// token (every normaliser stems English alike), so one memory serves all.
    static TERMS: RefCell<TermMemory> = RefCell::default();
}

impl Normalizer {
    /// The term for one token, or `None` for a stop word or noise.
    pub fn term(&self, token: &str) -> Option<String> {
        self.with_term(token, |term| term.map(String::from))
    }

    /// Calls `f` with the term for one token, borrowed from this thread's
    /// memory of terms: no copy of the term for a caller that only looks at
    /// it. `f` must not ask for another term (the memory is borrowed).
    pub fn with_term<R>(&self, token: &str, f: impl FnOnce(Option<&str>) -> R) -> R {
        self.with_term_in(token, Language::ENGLISH, f)
    }

    /// [`Normalizer::with_term`] for a text in `language`: its function
    /// words are no terms either.
    pub fn with_term_in<R>(
        &self,
        token: &str,
        language: Language,
        f: impl FnOnce(Option<&str>) -> R,
    ) -> R {
        self.with_remembered(token, |(term, stops)| {
            f(term.filter(|_| stops & language.0 == 0))
        })
    }

    /// The language of a text with these tokens, judged by its function
    /// words: another language's when at least two of them are that
    /// language's, and more than are English's (of equals, the first in
    /// [`OTHER_LANGUAGES`]).
    pub fn language<'a>(&self, tokens: impl Iterator<Item = &'a str>) -> Language {
        let mut hits = [0u32; 32];
        for token in tokens {
            self.with_remembered(token, |(_, stops)| {
                let mut bits = stops;
                while bits != 0 {
                    hits[bits.trailing_zeros() as usize] += 1;
                    bits &= bits - 1;
                }
            });
        }
        let (best, n) = (1..=OTHER_LANGUAGES.len())
            .map(|i| (i, hits[i]))
            .fold((0, 0), |b, x| if x.1 > b.1 { x } else { b });
        match n >= 2 && n > hits[0] {
            true => Language(1 << best),
            false => Language::ENGLISH,
        }
    }

    /// Calls `f` with the token's term and stop-word mask, from this thread's
    /// memory (see [`Normalizer::with_term`]).
    fn with_remembered<R>(&self, token: &str, f: impl FnOnce((Option<&str>, u32)) -> R) -> R {
        TERMS.with(|memory| {
            let mut memory = memory.borrow_mut();
            if let Some((term, stops)) = memory.newer.get(token) {
                return f((term.as_deref(), *stops));
            }
            let remembered = match memory.older.remove(token) {
                Some(r) => r,
                None => {
                    let (term, stops) = self.term_uncached(token);
                    (term.map(String::into_boxed_str), stops)
                }
            };
            if memory.newer.len() >= TERM_CACHE {
                memory.older = std::mem::take(&mut memory.newer);
            }
            let r = f((remembered.0.as_deref(), remembered.1));
            memory.newer.insert(token.into(), remembered);
            r
        })
    }

    /// [`Normalizer::term`] worked out, with the token's stop-word mask.
    fn term_uncached(&self, token: &str) -> (Option<String>, u32) {
        if token.chars().any(|c| c.is_ascii_digit()) {
            // Numbers are kept whole; a lone digit is mostly noise ("2 people").
            let token = number_value(token).unwrap_or_else(|| token.to_string());
            return (
                (token.len() >= 2 || token.contains('.')).then_some(token),
                0,
            );
        }
        let token = &*folded(token);
        let english = STOPWORD_SET.contains(token);
        let stops = OTHER_STOPWORDS.get(token).copied().unwrap_or(0) | u32::from(english);
        if token.chars().count() < 2 || english {
            return (None, stops);
        }
        // Collapse doubled letters first, then stem, so that both spellings
        // take the same path through the stemmer.
        let mut single = String::with_capacity(token.len());
        let mut last = None;
        for c in token.chars() {
            if Some(c) != last {
                single.push(c);
            }
            last = Some(c);
        }
        (Some(self.stemmer.stem(&single).into_owned()), stops)
    }

    /// All terms of a text, in order.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.terms_in(text, Language::ENGLISH)
    }

    /// All terms of a text in `language`, in order.
    pub fn terms_in(&self, text: &str, language: Language) -> Vec<String> {
        let terms = tokens(text);
        let term = |t: &str| self.with_term_in(t, language, |term| term.map(String::from));
        terms.iter().filter_map(term).collect()
    }
}

/// FNV-1a, 64 bit: a stable hash (the fingerprints must not change between runs).
pub fn fnv64(bytes: &[u8]) -> u64 {
    fnv64_parts(&[bytes])
}

/// [`fnv64`] of the concatenated `parts`, without building the concatenation.
fn fnv64_parts(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    // Final avalanche (splitmix64) so that nearby inputs spread over all bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d049bb133111eb);
    h ^ (h >> 31)
}

/// Hashes in a MinHash signature.
pub const MINHASH_SIZE: usize = 64;
/// Rows per LSH band: 16 bands of 4 rows find pairs above ~0.7 Jaccard
/// almost surely, and rarely anything below 0.4.
pub const BAND_ROWS: usize = 4;

/// A MinHash signature over word 4-shingles of the raw tokens (stop words kept:
/// near-copies share them in order). Robust to added page chrome: a copy with
/// a menu and a footer keeps most of its shingles. `None` when the text is too
/// short: two short summaries are not "copies" of each other.
///
/// Each slot keeps the low 16 bits of its minimum (b-bit MinHash): unequal
/// minima agree by chance once in 65,536 slots, far below what moves an
/// estimate across a threshold, and the window stores half the bytes.
pub fn minhash(tokens: &Tokens, min_tokens: usize) -> Option<Box<[u16; MINHASH_SIZE]>> {
    if tokens.len() < min_tokens.max(4) {
        return None;
    }
    let mut sig = [u32::MAX; MINHASH_SIZE];
    let words: Vec<&str> = tokens.iter().collect();
    for w in words.windows(4) {
        // The hash of "w0 w1 w2 w3", without formatting a string per shingle.
        let h = fnv64_parts(&[
            w[0].as_bytes(),
            b" ",
            w[1].as_bytes(),
            b" ",
            w[2].as_bytes(),
            b" ",
            w[3].as_bytes(),
        ]);
        for (i, slot) in sig.iter_mut().enumerate() {
            // One cheap permutation per slot: mix the shingle hash with the slot.
            let mut x = h ^ (i as u64).wrapping_mul(0x9e3779b97f4a7c15);
            x ^= x >> 33;
            x = x.wrapping_mul(0xff51afd7ed558ccd);
            x ^= x >> 33;
            let v = (x >> 32) as u32;
            if v < *slot {
                *slot = v;
            }
        }
    }
    Some(Box::new(sig.map(|v| v as u16)))
}

/// The share of equal slots: an estimate of the Jaccard similarity of the shingle sets.
pub fn minhash_similarity(a: &[u16; MINHASH_SIZE], b: &[u16; MINHASH_SIZE]) -> f64 {
    a.iter().zip(b.iter()).filter(|(x, y)| x == y).count() as f64 / MINHASH_SIZE as f64
}

/// The LSH band keys of a signature.
pub fn band_keys(sig: &[u16; MINHASH_SIZE]) -> impl Iterator<Item = u64> + '_ {
    (0..MINHASH_SIZE / BAND_ROWS).map(|band| band_key(sig, band))
}

/// The key of one LSH band of a signature.
pub fn band_key(sig: &[u16; MINHASH_SIZE], band: usize) -> u64 {
    // On the stack: sixteen small allocations per signature otherwise.
    let mut bytes = [0u8; 2 * BAND_ROWS + 1];
    bytes[0] = band as u8;
    for (k, r) in sig
        .iter()
        .skip(band * BAND_ROWS)
        .take(BAND_ROWS)
        .enumerate()
    {
        bytes[1 + 2 * k..3 + 2 * k].copy_from_slice(&r.to_le_bytes());
    }
    fnv64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_terms_match_fresh_ones_across_the_memory_turning_over() {
        let n = Normalizer::default();
        // Many distinct tokens turn both halves over several times; the
        // common ones come back from the older half, the rare from the stemmer.
        for i in 0..5 * TERM_CACHE {
            for token in [format!("runnings{i}x"), format!("walkers{}", i % 7)] {
                let fresh = n.term_uncached(&token);
                assert_eq!(n.term(&token), fresh.0, "{token}");
            }
            assert_eq!(n.term("reports"), n.term_uncached("reports").0);
            assert_eq!(n.term("the"), None);
        }
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = STOPWORDS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, STOPWORDS);
    }

    #[test]
    fn spelling_variants_of_names_meet() {
        let n = Normalizer::default();
        assert_eq!(n.term("zelenskyy"), n.term("zelensky"));
        assert_eq!(n.term("müüller"), n.term("müller"));
        assert_eq!(n.term("offers"), n.term("offer"));
        assert_eq!(n.term("the"), None);
        assert_eq!(
            n.terms("Magnitude 6.1 quake, 1,200 dead"),
            vec!["magnitud", "6.1", "quak", "1200", "dead"]
        );
    }

    #[test]
    fn sentence_titles_are_told_from_title_case_headlines() {
        assert!(sentence_case(
            "The Indian navy captured 23 pirates in the Gulf of Aden on Saturday"
        ));
        assert!(!sentence_case("Sixers Hire Maurice Cheeks as Head Coach"));
        assert!(!sentence_case("Update"));
    }

    #[test]
    fn shingle_and_band_hashes_are_those_of_the_joined_bytes() {
        let words = ["magnitude", "6.1", "quake", "été"];
        let joined = format!("{} {} {} {}", words[0], words[1], words[2], words[3]);
        let parts = words.map(str::as_bytes);
        let spaced = [parts[0], b" ", parts[1], b" ", parts[2], b" ", parts[3]];
        assert_eq!(fnv64_parts(&spaced), fnv64(joined.as_bytes()));
        let sig: [u16; MINHASH_SIZE] = std::array::from_fn(|i| (i as u16).wrapping_mul(40503));
        for (b, key) in band_keys(&sig).enumerate() {
            let mut bytes = vec![b as u8];
            for r in &sig[b * BAND_ROWS..(b + 1) * BAND_ROWS] {
                bytes.extend_from_slice(&r.to_le_bytes());
            }
            assert_eq!(key, fnv64(&bytes));
        }
    }

    #[test]
    fn remembered_terms_are_the_worked_out_ones() {
        let n = Normalizer::default();
        let text = "Zelenskyy's offers: the 6.1 quake, 1,200 dead; Zelenskyy offers again";
        for token in tokens(text).iter().chain(tokens(text).iter()) {
            assert_eq!(n.term(token), n.term_uncached(token).0, "{token}");
        }
    }

    #[test]
    fn spellings_with_and_without_accents_meet() {
        let n = Normalizer::default();
        for (a, b) in [
            ("Zürich", "Zurich"),
            ("Łódź", "Lodz"),
            ("Straße", "Strasse"),
            ("ΣΕΙΣΜΟΣ", "σεισμός"),
            ("İzmir", "Izmir"),
            ("ёлка", "елка"),
            ("المَدِينَة", "المدينة"),
        ] {
            assert_eq!(n.terms(a), n.terms(b), "{a} / {b}");
        }
        assert_ne!(n.terms("Köln"), n.terms("Kiel"));
    }

    #[test]
    fn another_languages_function_words_are_no_terms_in_its_texts() {
        let n = Normalizer::default();
        let terms = |text: &str| {
            let language = n.language(tokens(text).iter());
            (language.code(), n.terms_in(text, language))
        };
        let (fr, a) = terms("Le prix de la baguette augmente dans les boulangeries de Lyon");
        assert_eq!(fr, "fr");
        assert!(
            !a.iter()
                .any(|t| ["le", "de", "la", "dan", "les"].contains(&t.as_str())),
            "{a:?}"
        );
        let (nl, b) = terms("Code oranje voor het noorden van het land door de storm");
        assert_eq!(nl, "nl");
        assert!(
            !b.iter()
                .any(|t| ["het", "voor", "van", "door", "de"].contains(&t.as_str())),
            "{b:?}"
        );
        // English stays English: its own words of other lists still count.
        let (en, c) = terms("Dozens die in floods as the war in the north goes on");
        assert_eq!(en, "en");
        assert!(
            c.contains(&"die".to_string()) && c.contains(&"war".to_string()),
            "{c:?}"
        );
        // One foreign function word is not enough to tell.
        assert_eq!(terms("Die Hard actor honoured").0, "en");
    }

    #[test]
    fn numbers_meet_whatever_their_separators() {
        let n = Normalizer::default();
        for (a, b) in [
            ("1,200 people", "1200 people"),
            ("1200 people", "1\u{a0}200 people"),
            ("1,200,000", "1.200.000"),
            ("1 200 000", "1200000"),
            ("300\u{202f}000", "300\u{a0}000"),
            ("5,4 magnitude", "5.4 magnitude"),
            ("1,234.5", "1.234,5"),
        ] {
            assert_eq!(n.terms(a), n.terms(b), "{a} / {b}");
        }
        // A lone dot is a decimal point; groups of other sizes are kept.
        for kept in ["0.125", "3.14", "1.125", "17.1.2", "1.12.2024"] {
            assert_eq!(number_value(kept).as_deref(), Some(kept));
        }
        assert_eq!(number_value("0,125").as_deref(), Some("0.125"));
        assert_ne!(n.terms("Firefox 17.1.2"), n.terms("Firefox 1.71.2"));
        // Numbers next to each other stay apart: a date and a count, a year.
        assert_eq!(n.terms("May 9 200 migrants"), ["200", "migrant"]);
        assert_eq!(n.terms("2014 500"), ["2014", "500"]);
        assert_eq!(n.terms("12 1234"), ["12", "1234"]);
        assert_eq!(number_value("1990s"), None);
        assert_eq!(
            n.terms("December 17 200 flights"),
            ["decemb", "17", "200", "flight"]
        );
    }

    #[test]
    fn possessives_do_not_make_new_words() {
        assert_eq!(
            tokens("Ukraine's grid").iter().collect::<Vec<_>>(),
            vec!["ukraine", "s", "grid"]
        );
    }

    #[test]
    fn tokens_end_where_words_end_and_names_are_cut_alike() {
        let text = "Mayor Müller said 1,200 homes, 6.1 km away, lost power. Again,3 times.";
        assert_eq!(
            tokens(text).iter().collect::<Vec<_>>(),
            vec![
                "mayor", "müller", "said", "1,200", "homes", "6.1", "km", "away", "lost", "power",
                "again", "3", "times"
            ]
        );
        // Names are split one word at a time into one buffer: a number never
        // runs on into the next word.
        assert_eq!(
            entity_tokens(text).iter().collect::<Vec<_>>(),
            vec!["müller", "1,200", "6.1"]
        );
        assert!(tokens(" ,. ").is_empty());
    }

    #[test]
    fn names_cut_numbers_as_the_text_does() {
        for text in [
            "Officials said 300\u{a0}000 people left, then 1 200 000 more.",
            "On May 9 200 migrants landed; 12, 300 and 2014 500 stay apart.",
            "Prices rose 5,4 percent (1.200.000 euros) for Müller.",
            "A fund of (1 200 000 euros) and 7 000, then 3 400 500.",
        ] {
            let names = entity_tokens(text);
            let names: Vec<&str> = names.iter().collect();
            let all = tokens(text);
            let numbers: Vec<&str> = (all.iter())
                .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
                .collect();
            let named: Vec<&str> = (names.iter().copied())
                .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
                .collect();
            assert_eq!(named, numbers, "{text}");
        }
    }
}
