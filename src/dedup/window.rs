//! The window: its members, stories and indexes (URLs, MinHash bands, term
//! postings, embedding buckets), and how articles enter and leave it.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use hashbrown::hash_table::{Entry, HashTable};

use super::vectors::{bf16, prefetch, Centroid, Shares, Terms, Vector};
use super::{embed, text, Engine, Prepared, StoryId};

/// What the look-alike guards need of a member: its date and title figures.
#[derive(Debug, Clone, Default)]
pub(super) struct Guard {
    /// Publication time.
    pub(super) time: Option<i64>,
    /// Numbers its title states.
    pub(super) numbers: Box<[u32]>,
}

impl Guard {
    /// The guard data of a prepared article.
    pub(super) fn of(p: &Prepared) -> Guard {
        Guard {
            time: p.time,
            numbers: p.numbers.clone().into_boxed_slice(),
        }
    }
}

/// One article in the window, with what later arrivals are compared against.
#[derive(Debug)]
pub(super) struct Member {
    /// The story it joined (an absorbed story's id until resolved).
    pub(super) story: StoryId,
    /// The caller's article id.
    pub(super) id: Box<str>,
    /// Its canonical URL, if any: shared with the window's URL index.
    pub(super) canonical: Option<Arc<str>>,
    /// Its MinHash signature and band links, when the text is long enough.
    pub(super) fingerprint: Option<Box<Fingerprint>>,
    /// Term shares (weights without IDF) of title and text, of title and
    /// lead, and of names and numbers, one after another ([`Member::full`],
    /// [`Member::head`], [`Member::names`]): one allocation, not three, as
    /// [`Shares::pack`] lays them out (the window's largest part).
    shares: Box<[u8]>,
    /// Where the full, the head and the name shares end in `shares`.
    ends: [u32; 3],
    /// Compared on its whole text.
    pub(super) long: bool,
    /// Has any body text.
    pub(super) body: bool,
    /// Its date, or the time now if later ([`Engine::set_now`]): when it expires.
    pub(super) clock: i64,
    /// Normalised sentence embedding; empty without a model.
    pub(super) embedding: Box<[f32]>,
    /// Its publication time and title figures: the refinement's look-alike guards.
    pub(super) guard: Guard,
    /// Its source when it has a template record (items with a body), so that
    /// refinement discounts a templated source's scores as the online pass does.
    pub(super) source: Option<Arc<str>>,
    /// [`Prepared::text_hash`] of its text.
    pub(super) text_hash: u64,
    /// Its text was replaced ([`Engine::revise_with`]): its MinHash signature
    /// is the old text's, kept only as a link of its band chains.
    pub(super) revised: bool,
}

/// The story of a member while its new text is decided
/// ([`Engine::revise_with`]): in no story, so no lookup finds it.
pub(super) const WITHDRAWN: StoryId = StoryId::MIN;

/// A member's MinHash signature with its places in the LSH band buckets:
/// one allocation for both.
#[derive(Debug)]
pub(super) struct Fingerprint {
    /// The MinHash signature.
    pub(super) sig: [u16; text::MINHASH_SIZE],
    /// Per LSH band, how many sequence numbers back the previous member in
    /// that band's bucket is (0: none): buckets are chains through the
    /// members, so a unique text costs no bucket allocation. A distance, not
    /// the number itself, to fit 32 bits (a window never holds 2^32 members).
    next: [u32; BANDS],
}

impl Fingerprint {
    /// The sequence number of the member before member `seq` (whose
    /// fingerprint this is) in `band`'s bucket, `NO_MEMBER` for none.
    pub(super) fn next(&self, seq: u64, band: usize) -> u64 {
        match self.next.get(band) {
            Some(&d) if d > 0 => seq.checked_sub(u64::from(d)).unwrap_or(NO_MEMBER),
            _ => NO_MEMBER,
        }
    }
}

impl Member {
    /// Replaces its term shares, packed by [`Shares::pack`].
    pub(super) fn set_shares(&mut self, shares: Box<[u8]>, ends: [u32; 3]) {
        self.shares = shares;
        self.ends = ends;
    }

    /// Term shares (weights without IDF) of title and text.
    pub(super) fn full(&self) -> Shares<'_> {
        self.part(0, self.ends[0])
    }

    /// Term shares of title and lead.
    pub(super) fn head(&self) -> Shares<'_> {
        self.part(self.ends[0], self.ends[1])
    }

    /// Term shares of names and numbers.
    pub(super) fn names(&self) -> Shares<'_> {
        self.part(self.ends[1], self.ends[2])
    }

    /// The shares from `start` to `end` of all parts.
    fn part(&self, start: u32, end: u32) -> Shares<'_> {
        let n = self.ends[2] as usize;
        Shares::part(&self.shares, n, start as usize, end as usize)
    }
}

/// MinHash LSH: per band, the newest member of each bucket (by sequence
/// number), as the number's low 32 bits alone. A bucket's key is not stored:
/// it is worked out again from that member's signature when a probe meets the
/// entry, so an entry takes 4 bytes, not 12 with its key (bench_cycle's
/// window holds 800,000, most in buckets of one). Exact: an entry's member is
/// in the window (it goes when that member leaves), and a window never spans
/// 2^32 numbers.
#[derive(Debug, Default)]
pub(super) struct BandTable([HashTable<u32>; BANDS]);

/// The signature of a window member, by sequence number.
pub(super) type Signatures<'a> = &'a dyn Fn(u64) -> Option<&'a [u16; text::MINHASH_SIZE]>;

impl BandTable {
    /// The number below `end` whose low 32 bits are `low`.
    fn widen(low: u32, end: u64) -> u64 {
        end.saturating_sub(u64::from((end as u32).wrapping_sub(low)))
    }

    /// The key in `band` of the member an entry names (0 when it has none,
    /// which a member in the table always has).
    fn key_of(sigs: Signatures<'_>, band: usize, low: u32, end: u64) -> u64 {
        sigs(Self::widen(low, end)).map_or(0, |sig| text::band_key(sig, band))
    }

    /// The newest member of `key`'s bucket in `band`; `end` is past the newest
    /// member of the window.
    pub(super) fn get(&self, band: usize, key: u64, end: u64, sigs: Signatures<'_>) -> Option<u64> {
        let table = self.0.get(band)?;
        // Band keys are avalanched hashes already: one serves as the table's hash.
        let low = table.find(key, |&low| Self::key_of(sigs, band, low, end) == key)?;
        Some(Self::widen(*low, end))
    }

    /// Makes `seq` (newer than every member in the table) the newest member
    /// of `key`'s bucket in `band`; returns the one it displaced.
    fn insert(&mut self, band: usize, key: u64, seq: u64, sigs: Signatures<'_>) -> Option<u64> {
        let table = self.0.get_mut(band)?;
        let same = |&low: &u32| Self::key_of(sigs, band, low, seq) == key;
        let hash = |&low: &u32| Self::key_of(sigs, band, low, seq);
        match table.entry(key, same, hash) {
            Entry::Occupied(mut e) => {
                let low = std::mem::replace(e.get_mut(), seq as u32);
                Some(Self::widen(low, seq))
            }
            Entry::Vacant(e) => {
                e.insert(seq as u32);
                None
            }
        }
    }

    /// Entries over all bands.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.iter().map(HashTable::len).sum()
    }

    /// Empties `key`'s bucket in `band` if `seq` is its newest member (an
    /// entry of `seq`'s in `band` can only be under its own key).
    fn remove_if(&mut self, band: usize, key: u64, seq: u64) {
        if let Some(table) = self.0.get_mut(band) {
            if let Ok(e) = table.find_entry(key, |&low| low == seq as u32) {
                e.remove();
            }
        }
    }
}

/// LSH bands per MinHash signature.
pub(super) const BANDS: usize = text::MINHASH_SIZE / text::BAND_ROWS;
/// The end of a band chain.
pub(super) const NO_MEMBER: u64 = u64::MAX;

/// A story as the window holds it (the store keeps its own record of stories).
#[derive(Debug, Default, Clone)]
pub(super) struct WindowStory {
    /// Summed shares of the members; `None` (empty) while `single` stands
    /// for them: boxed, as most stories in a window have one member.
    pub(super) sums: Option<Box<Sums>>,
    /// The only member (by sequence number) of a story nobody has joined yet:
    /// its vectors are the centroid, so they are not stored twice.
    pub(super) single: Option<u64>,
    /// Members in the window. Counts are `u32`, the numbers a boxed slice
    /// and the embedding boxed: the window holds one story per article at
    /// worst, and these took 112 of its 240 bytes (52 now).
    pub(super) members: u32,
    /// Members compared on their whole text.
    pub(super) long_members: u32,
    /// Members with body text.
    pub(super) body_members: u32,
    /// Earliest and latest publication dates of dated members.
    pub(super) dated: Option<(i64, i64)>,
    /// The numbers the members' titles state.
    pub(super) numbers: Numbers,
    /// Members whose title states a number.
    pub(super) titles_with_numbers: u32,
    /// Members counted in `embedding`.
    pub(super) embedded_members: u32,
    /// The source of its first member (empty: unknown), whose likeness
    /// discounts scores against the story ([`super::template::discount`]).
    pub(super) source: Arc<str>,
    /// Sum of the members' embeddings (empty until one has an embedding).
    pub(super) embedding: Box<[f32]>,
}

/// A set of title numbers, sorted: most stories have none or a few, where a
/// hash set costs 48 bytes even empty.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Numbers(Box<[u32]>);

impl Numbers {
    /// Whether `n` is in the set.
    pub(super) fn contains(&self, n: &u32) -> bool {
        self.0.binary_search(n).is_ok()
    }

    /// The numbers, ascending.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, u32> {
        self.0.iter()
    }
}

impl Extend<u32> for Numbers {
    fn extend<I: IntoIterator<Item = u32>>(&mut self, iter: I) {
        let mut all = std::mem::take(&mut self.0).into_vec();
        all.extend(iter);
        all.sort_unstable();
        all.dedup();
        self.0 = all.into_boxed_slice();
    }
}

impl FromIterator<u32> for Numbers {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Numbers {
        let mut set = Numbers::default();
        set.extend(iter);
        set
    }
}

impl IntoIterator for Numbers {
    type Item = u32;
    type IntoIter = std::vec::IntoIter<u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_vec().into_iter()
    }
}

/// A story's summed shares: what [`WindowStory::sums`] holds.
#[derive(Debug, Default, Clone)]
pub(super) struct Sums {
    /// Summed shares of title and text.
    pub(super) full: Centroid,
    /// Summed title and lead shares.
    pub(super) head: Centroid,
    /// Summed name and number shares.
    pub(super) names: Centroid,
}

impl WindowStory {
    /// Adds (`sign` 1) or takes away (-1) one member's full, head and name
    /// shares to the centroids (taking from none leaves none).
    pub(super) fn add_shares(&mut self, shares: [Vector<'_>; 3], sign: f32) {
        let [full, head, names] = shares;
        let sums = match &mut self.sums {
            Some(sums) => sums,
            None if sign > 0.0 => self.sums.insert(Box::default()),
            None => return,
        };
        sums.full.add(full, sign);
        sums.head.add(head, sign);
        sums.names.add(names, sign);
    }

    /// Adds (`sign` 1) or takes away (-1) one member's embedding.
    pub(super) fn add_embedding(&mut self, e: &[f32], sign: f32) {
        if e.is_empty() {
            return;
        }
        if self.embedding.len() != e.len() {
            self.embedding = vec![0.0; e.len()].into_boxed_slice();
        }
        self.embedding
            .iter_mut()
            .zip(e)
            .for_each(|(s, x)| *s += sign * x);
        if sign > 0.0 {
            self.embedded_members += 1;
        } else {
            self.embedded_members = self.embedded_members.saturating_sub(1);
        }
    }

    /// Cosine of an embedding with the mean of the members' embeddings.
    pub(super) fn embedding_cosine(&self, e: &[f32]) -> Option<f64> {
        if e.is_empty() || self.embedded_members == 0 || self.embedding.len() != e.len() {
            return None;
        }
        let norm = embed::cosine(&self.embedding, &self.embedding).sqrt();
        (norm > 1e-9).then(|| embed::cosine(&self.embedding, e) / norm)
    }
}

/// The three vectors a story is compared on.
pub(super) struct StoryVectors<'a> {
    /// Title and text.
    pub(super) full: Vector<'a>,
    /// Title and lead.
    pub(super) head: Vector<'a>,
    /// Names and numbers.
    pub(super) names: Vector<'a>,
}

/// Terms under which a stored article is indexed: more than are queried, so
/// that two reports whose top terms differ in order still meet.
const INDEX_TERMS: usize = 48;
/// Newest postings read per query term: bounds the cost per article.
const POSTINGS_READ: usize = 64;

/// A story id as posting lists hold it: 32 bits, which any store's story
/// rows fit, halve the memory of the lists and the cache lines each article
/// reads (the list reads were most of candidate retrieval's time). `None`
/// for an id beyond them: such a story is found by URL and near-copy only.
pub(super) fn posting(story: StoryId) -> Option<u32> {
    u32::try_from(story).ok()
}

/// An article's `n` heaviest distinct terms over its full and head vectors:
/// what it is indexed under and what retrieves its candidates.
pub(super) fn top_terms(p: &Prepared, n: usize) -> Vec<(u32, f32)> {
    let mut terms: Vec<(u32, f32)> = p.full.iter().chain(&p.head).copied().collect();
    terms.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut seen_terms = fxhash::FxHashSet::default();
    terms.retain(|(t, _)| seen_terms.insert(*t));
    terms.truncate(n);
    terms
}

/// [`top_terms`] of `p`: a prefix of the ranking `prepare` worked out
/// (ranking and dropping repeats do not depend on `n`), so that deciding and
/// admitting an article sort its terms once.
pub(super) fn heaviest_terms(p: &Prepared, n: usize) -> Cow<'_, [(u32, f32)]> {
    match &p.heaviest {
        Some(ranked) => Cow::Borrowed(&ranked[..n.min(ranked.len())]),
        None => Cow::Owned(top_terms(p, n)),
    }
}

/// Follows merge aliases to the story that holds an id's members now.
/// Takes member `m` (number `seq`) out of its story's centroids and counts
/// (`stories`, after the merges of `aliases`); a story left without members goes.
pub(super) fn leave_story(
    stories: &mut fxhash::FxHashMap<StoryId, WindowStory>,
    aliases: &HashMap<StoryId, StoryId>,
    m: &Member,
    seq: u64,
) {
    let story = resolve_in(aliases, m.story);
    if let Some(s) = stories.get_mut(&story) {
        if s.single != Some(seq) {
            s.add_shares([m.full(), m.head(), m.names()].map(Vector::from), -1.0);
        }
        s.add_embedding(&m.embedding, -1.0);
        s.members -= 1;
        s.long_members -= u32::from(m.long);
        s.body_members -= u32::from(m.body);
        if s.members == 0 {
            stories.remove(&story);
        }
    }
}

pub(super) fn resolve_in(aliases: &HashMap<StoryId, StoryId>, mut story: StoryId) -> StoryId {
    if aliases.is_empty() {
        return story;
    }
    // Chains are short (one link per merge); the bound guards against a cycle.
    for _ in 0..64 {
        match aliases.get(&story) {
            Some(&next) if next != story => story = next,
            _ => break,
        }
    }
    story
}

impl Engine {
    /// Adds a prepared article to the window as a member of `story`, and drops
    /// articles that have left the window.
    pub fn admit(&mut self, p: Prepared, story: StoryId) {
        self.next_story = self.next_story.max(story + 1);
        let story = self.resolve(story);
        // Shares are taken with the IDF the vectors were weighted by, before
        // this article counts in the document frequencies.
        let (shares, ends) = self.member_shares(&p);
        self.count_document(&p.terms);
        // Only items with a body teach a template: headlines are too short to
        // tell one from a run of reports on one event (measured on uci-dev).
        if !p.source.is_empty() && p.body {
            if !self.sources.contains_key(p.source.as_str()) {
                self.sources
                    .insert(p.source.as_str().into(), Default::default());
            }
            if let Some(source) = self.sources.get_mut(p.source.as_str()) {
                source.push(&p.terms);
                source.push_vector(&p.full);
            }
        }
        let clock = match p.time {
            Some(t) => t.max(self.clock),
            None => self.clock,
        };
        self.clock = clock;
        let seq = self.first_seq + self.members.len() as u64;
        let (full, rest) = shares.split_at(ends[0]);
        let (head, names) = rest.split_at(ends[1] - ends[0]);
        self.join_story(story, seq, &p, [full, head, names]);
        let (shares, ends) = Shares::pack([full, head, names]);
        self.index_story(story, &p);
        let canonical: Option<Arc<str>> = p.canonical.as_deref().map(Arc::from);
        if let Some(c) = &canonical {
            self.urls.insert(c.clone(), (story, seq));
        }
        let fingerprint = p.fingerprint.as_ref().map(|sig| self.link_bands(sig, seq));
        let guard = Guard::of(&p);
        let source = self
            .sources
            .get_key_value(p.source.as_str())
            .map(|(name, _)| name.clone());
        self.members.push_back(Member {
            story,
            id: p.id.into_boxed_str(),
            canonical,
            fingerprint,
            shares,
            ends,
            long: p.long,
            body: p.body,
            clock: p.time.unwrap_or(clock).max(self.now),
            embedding: p.embedding.into_boxed_slice(),
            guard,
            source,
            text_hash: p.text_hash,
            revised: false,
        });
        self.expire();
        self.sweep_postings();
        self.sweep_vocab();
    }

    /// An article's term shares (full, head, names, one after another) and
    /// where the first two end: `Engine::shares`, without a vector of its own
    /// per part, at the precision stored (the centroids sum what leaves them
    /// later). Vectors hold at most `VECTOR_TERMS` (64) terms each.
    pub(super) fn member_shares(&self, p: &Prepared) -> (Vec<(u32, f32)>, [usize; 2]) {
        let mut shares = Vec::with_capacity(p.full.len() + p.head.len() + p.names.len());
        for v in [&p.full, &p.head, &p.names] {
            shares.extend(v.iter().map(|&(t, w)| (t, bf16(w / self.idf(t)))));
        }
        (shares, [p.full.len(), p.full.len() + p.head.len()])
    }

    /// Counts member `seq` (article `p`, with term `shares` full, head, names)
    /// in `story`: centroids, counts, dates and title numbers.
    pub(super) fn join_story(
        &mut self,
        story: StoryId,
        seq: u64,
        p: &Prepared,
        shares: [&[(u32, f32)]; 3],
    ) {
        let [full, head, names] = shares;
        // A story's first member stands for its centroid; the centroid is
        // built when a second one joins.
        let first = self
            .stories
            .get(&story)
            .and_then(|s| s.single)
            .and_then(|seq| self.member(seq))
            .map(|m| [m.full().to_vec(), m.head().to_vec(), m.names().to_vec()]);
        let source = match self.sources.get_key_value(p.source.as_str()) {
            Some((name, _)) => name.clone(),
            None => Arc::from(""),
        };
        let s = self.stories.entry(story).or_default();
        if s.members == 0 {
            s.single = Some(seq);
            s.source = source;
        } else {
            if let Some([f, h, n]) = &first {
                s.add_shares([f.into(), h.into(), n.into()], 1.0);
            }
            s.single = None;
            s.add_shares([full, head, names].map(Vector::from), 1.0);
        }
        s.add_embedding(&p.embedding, 1.0);
        s.members += 1;
        if p.body {
            s.body_members += 1;
        }
        if p.long {
            s.long_members += 1;
        }
        if let Some(t) = p.time {
            s.dated = Some(match s.dated {
                Some((lo, hi)) => (lo.min(t), hi.max(t)),
                None => (t, t),
            });
        }
        if !p.numbers.is_empty() {
            s.titles_with_numbers += 1;
            s.numbers.extend(p.numbers.iter().copied());
        }
    }

    /// Lists `story` under the article's heaviest terms and its embedding's
    /// LSH buckets, where later articles look for candidates.
    pub(super) fn index_story(&mut self, story: StoryId, p: &Prepared) {
        for &(t, _) in heaviest_terms(p, INDEX_TERMS).iter() {
            let Some(entry) = posting(story) else { break };
            let list = self.postings.entry(t).or_default();
            if list.last() != Some(&entry) {
                // A full list takes one more entry, not twice its size: it is
                // cut back right after, and doubling would leave every common
                // term's list half empty (16 MB of `bench_cycle`'s window).
                if list.len() == 2 * POSTINGS_READ {
                    list.reserve_exact(1);
                }
                list.push(entry);
            }
            // Old postings are never read: keep the list bounded.
            if list.len() > 2 * POSTINGS_READ {
                list.drain(..list.len() - POSTINGS_READ);
            }
        }
        for key in &p.embedding_keys {
            let list = self.embedding_buckets.entry(*key).or_default();
            if list.last() != Some(&story) {
                list.push(story);
            }
            if list.len() > 2 * embed::BUCKET_READ {
                list.drain(..list.len() - embed::BUCKET_READ);
            }
        }
    }

    /// Makes member `seq` the newest of its MinHash band buckets; returns its
    /// fingerprint, linked to the members it displaced.
    fn link_bands(&mut self, sig: &[u16; text::MINHASH_SIZE], seq: u64) -> Box<Fingerprint> {
        let mut links = [0; BANDS];
        let (members, first) = (&self.members, self.first_seq);
        let sigs = |at: u64| signature_in(members, first, at);
        for (band, key) in text::band_keys(sig).enumerate() {
            if let Some(prev) = self.bands.insert(band, key, seq, &sigs) {
                // Out of 32 bits is out of any window: no link.
                links[band] = u32::try_from(seq - prev.min(seq)).unwrap_or(0);
            }
        }
        Box::new(Fingerprint {
            sig: *sig,
            next: links,
        })
    }

    /// Drops posting lists that only name stories gone from the window, once
    /// per as many admissions as there are lists (so the cost per article stays
    /// flat): without it every term ever indexed would keep its list.
    fn sweep_postings(&mut self) {
        self.since_sweep += 1;
        if self.since_sweep < self.postings.len().max(4096) {
            return;
        }
        self.since_sweep = 0;
        let stories = &self.stories;
        let aliases = &self.aliases;
        let live = |s: &StoryId| stories.contains_key(&resolve_in(aliases, *s));
        self.postings
            .retain(|_, list| list.iter().any(|&e| live(&StoryId::from(e))));
        // An alias is needed while the story that absorbed it lives.
        let absorbed: Vec<StoryId> = self.aliases.keys().copied().filter(|s| !live(s)).collect();
        for s in absorbed {
            self.aliases.remove(&s);
        }
    }

    /// The story an id stands for now, after merges.
    pub(super) fn resolve(&self, story: StoryId) -> StoryId {
        resolve_in(&self.aliases, story)
    }

    /// The member with sequence number `seq`, if still in the window.
    pub(super) fn member(&self, seq: u64) -> Option<&Member> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.members.get(i)
    }

    /// The MinHash signature of member `seq`, if it is in the window and has one.
    pub(super) fn signature(&self, seq: u64) -> Option<&[u16; text::MINHASH_SIZE]> {
        signature_in(&self.members, self.first_seq, seq)
    }

    /// Tells the window the time now (the daemon does, with each fetch's
    /// time): the clock moves on to it, and articles admitted afterwards stay
    /// in the window at least a window's length past it, whatever their own
    /// dates. An old report (a backlog, last week's news) then stays
    /// matchable as long as a current one fetched with it, and whether two
    /// old reports meet does not depend on a current one arriving between
    /// them. Without it (`feedsieve cluster`), the articles' dates are the clock.
    pub fn set_now(&mut self, now: i64) {
        self.now = self.now.max(now);
        self.advance_clock(now);
    }

    /// Moves the clock on to `t` (if later), and lets out what then lies
    /// beyond the window.
    pub(super) fn advance_clock(&mut self, t: i64) {
        if t > self.clock {
            self.clock = t;
            self.expire();
        }
    }

    /// Drops the members older than the window, and the oldest past
    /// `window_articles`, from their stories and indexes.
    pub(super) fn expire(&mut self) {
        let horizon = self
            .clock
            .saturating_sub(self.config.window.as_secs() as i64);
        let cap = self.config.window_articles.max(1);
        while self.members.len() > cap || self.members.front().is_some_and(|m| m.clock < horizon) {
            let Some(m) = self.members.pop_front() else {
                break;
            };
            let seq = self.first_seq;
            self.first_seq += 1;
            leave_story(&mut self.stories, &self.aliases, &m, seq);
            if let Some(c) = &m.canonical {
                // The entry names this member or a live one: it goes when
                // its article id is this member's.
                let same_id = |&(_, at): &(StoryId, u64)| {
                    at == seq || self.member(at).is_some_and(|o| o.id == m.id)
                };
                if self.urls.get(c).is_some_and(same_id) {
                    self.urls.remove(c);
                }
            }
            if let Some(f) = &m.fingerprint {
                // Older members of a bucket left before this one: a bucket whose
                // newest member leaves is empty.
                for (band, key) in text::band_keys(&f.sig).enumerate() {
                    self.bands.remove_if(band, key, seq);
                }
            }
        }
    }

    /// What a story is compared on: its centroid, or its only member's vectors.
    pub(super) fn story_vectors<'a>(&'a self, s: &'a WindowStory) -> StoryVectors<'a> {
        match s.single.and_then(|seq| self.member(seq)) {
            Some(m) => StoryVectors {
                full: m.full().into(),
                head: m.head().into(),
                names: m.names().into(),
            },
            None => match &s.sums {
                Some(sums) => StoryVectors {
                    full: (&sums.full.0).into(),
                    head: (&sums.head.0).into(),
                    names: (&sums.names.0).into(),
                },
                None => StoryVectors {
                    full: Vector::Summed(&[]),
                    head: Vector::Summed(&[]),
                    names: Vector::Summed(&[]),
                },
            },
        }
    }

    /// The `n` stories that the newest postings of the `query` terms name with
    /// the highest summed weight, by the ids they hold now (postings are
    /// rewritten on merge, so only a few entries still name an absorbed story
    /// and need resolving), without `exclude`.
    pub(super) fn rank_candidates(
        &self,
        query: &[(u32, f32)],
        exclude: Option<StoryId>,
        n: usize,
    ) -> Vec<(StoryId, f32)> {
        let mut partial = self.partial.borrow_mut();
        partial.clear();
        partial.reserve(query.len() * POSTINGS_READ / 2);
        // The lists first, each asked into the cache, then read: the lists
        // are scattered over the heap, and waiting for one before asking for
        // the next was a third of this function's time.
        let lists: Vec<(&[u32], f32)> = query
            .iter()
            .filter_map(|(t, w)| {
                let list = self.postings.get(t)?;
                let newest = &list[list.len().saturating_sub(POSTINGS_READ)..];
                prefetch(newest.iter().rev());
                Some((newest, *w))
            })
            .collect();
        let (terms, mut postings) = (lists.len(), 0);
        for (list, w) in lists {
            for s in list.iter().rev() {
                postings += 1;
                *partial.entry(*s).or_default() += w;
            }
        }
        self.count(|c| {
            c.terms += terms;
            c.postings += postings;
        });
        // Table order does not matter: the order below is total (ids are distinct).
        let mut ranked = self.ranked.borrow_mut();
        ranked.clear();
        ranked.extend(partial.drain());
        drop(partial);
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0));
        // Only the head is read: select it and sort it; the rest is sorted
        // only when resolving merged ids leaves the head short.
        let head = (2 * n + 8).min(ranked.len());
        if head < ranked.len() {
            ranked.select_nth_unstable_by(head, order);
        }
        ranked[..head].sort_unstable_by(order);
        let mut out: Vec<(StoryId, f32)> = Vec::with_capacity(n);
        for (i, &(sid, score)) in ranked.iter().enumerate() {
            if i == head {
                break;
            }
            let sid = self.resolve(StoryId::from(sid));
            if Some(sid) != exclude && !out.iter().any(|(s, _)| *s == sid) {
                out.push((sid, score));
                if out.len() == n {
                    return out;
                }
            }
        }
        ranked[head..].sort_unstable_by(order);
        for &(sid, score) in &ranked[head..] {
            let sid = self.resolve(StoryId::from(sid));
            if Some(sid) != exclude && !out.iter().any(|(s, _)| *s == sid) {
                out.push((sid, score));
                if out.len() == n {
                    break;
                }
            }
        }
        out
    }
}

/// The MinHash signature of member `seq` of a window whose first member is `first`.
fn signature_in(
    members: &VecDeque<Member>,
    first: u64,
    seq: u64,
) -> Option<&[u16; text::MINHASH_SIZE]> {
    let i = usize::try_from(seq.checked_sub(first)?).ok()?;
    Some(&members.get(i)?.fingerprint.as_ref()?.sig)
}

#[cfg(test)]
mod tests {
    use super::{text, BandTable, Signatures};
    use crate::dedup::text::{BAND_ROWS, MINHASH_SIZE};

    /// Signatures whose every band key differs, by number.
    fn sig(n: u64) -> [u16; MINHASH_SIZE] {
        std::array::from_fn(|i| (n as u16).wrapping_mul(31).wrapping_add(i as u16))
    }

    #[test]
    fn band_numbers_widen_across_32_bit_wraps() {
        let old = (1u64 << 32) - 3;
        let newer = old + 5;
        let (a, b) = (sig(1), sig(2));
        // Member `newer` shares band 7 with `old`, not band 3.
        let mut c = b;
        c[7 * BAND_ROWS..8 * BAND_ROWS].copy_from_slice(&a[7 * BAND_ROWS..8 * BAND_ROWS]);
        let lookup = |seq: u64| match seq {
            s if s == old => Some(&a),
            s if s == newer => Some(&c),
            _ => None,
        };
        let sigs: Signatures<'_> = &lookup;
        let mut t = BandTable::default();
        let key = |s: &[u16; MINHASH_SIZE], band| text::band_key(s, band);
        assert_eq!(t.insert(7, key(&a, 7), old, sigs), None);
        assert_eq!(t.insert(3, key(&a, 3), old, sigs), None);
        assert_eq!(t.get(7, key(&a, 7), old + 10, sigs), Some(old));
        assert_eq!(t.insert(7, key(&c, 7), newer, sigs), Some(old));
        assert_eq!(t.insert(3, key(&c, 3), newer, sigs), None);
        // The newest number widens from far past a wrap of its low bits.
        assert_eq!(t.get(7, key(&a, 7), (1 << 33) + 1, sigs), Some(newer));
        let end = newer + 1;
        assert_eq!(t.get(7, key(&a, 7), end, sigs), Some(newer));
        assert_eq!(t.get(3, key(&a, 3), end, sigs), Some(old));
        assert_eq!(t.get(3, key(&c, 3), end, sigs), Some(newer));
        // A key nobody has, and a known key asked of another band.
        assert_eq!(t.get(3, key(&sig(9), 3), end, sigs), None);
        assert_eq!(t.get(4, key(&a, 3), end, sigs), None);
        t.remove_if(7, key(&a, 7), old);
        assert_eq!(t.get(7, key(&a, 7), newer + 1, sigs), Some(newer));
        t.remove_if(7, key(&c, 7), newer);
        assert_eq!(t.get(7, key(&a, 7), newer + 1, sigs), None);
        assert_eq!(t.get(3, key(&a, 3), newer + 1, sigs), Some(old));
    }

    #[test]
    fn band_buckets_stay_found_as_the_table_grows() {
        let sigs_of: Vec<[u16; MINHASH_SIZE]> = (0..5000).map(sig).collect();
        let lookup = |seq: u64| sigs_of.get(seq as usize);
        let sigs: Signatures<'_> = &lookup;
        let mut t = BandTable::default();
        for (seq, s) in sigs_of.iter().enumerate() {
            assert_eq!(t.insert(0, text::band_key(s, 0), seq as u64, sigs), None);
        }
        for (seq, s) in sigs_of.iter().enumerate() {
            assert_eq!(t.get(0, text::band_key(s, 0), 5000, sigs), Some(seq as u64));
        }
    }
}
