//! The scope of a refinement: which articles are looked at again, each
//! with the features scoring needs (weighted by today's IDF), their nearest
//! articles, and stories built from them. Shared by the split (`refine`) and
//! reassignment (`reassign`).

use std::collections::{HashMap, HashSet};

use super::vectors::Terms;
use super::window::{Member, WindowStory};
use super::{Engine, Prepared, StoryId};

/// Candidate stories per new article that join the scope (its neighbours).
const NEIGHBOUR_STORIES: usize = 8;
/// Terms per article in the local index, and queried.
pub(super) const TERMS: usize = 24;
/// Entries of a long posting list read per query (those nearest in key order).
pub(super) const LIST_READ: usize = 96;
/// Nearest articles scored per article.
pub(super) const NEIGHBOURS: usize = 16;
/// Articles one refinement looks at, at most: each is held with its features
/// for the pass (a few KB), so a first cycle of 50,000 articles in a few
/// hundred large stories would otherwise be held whole. The stories of the
/// earliest new articles come first; the rest wait for a later change.
pub const MAX_SCOPE: usize = 10_000;

/// The local term index of [`Engine::nearest_nodes`]: every (part, term,
/// node) of the nodes' linking terms packed in one u64, sorted, so that the
/// nodes of a (part, term) are one run of it, in increasing order. 8 bytes an
/// entry: keys and lists apart took 16 and more (the index was most of a
/// 10,000-article refinement's memory in `bench_cycle`'s first cycle).
struct TermIndex(Vec<u64>);

/// Parts and nodes of a scope are numbered in 16 bits each in the index.
const _: () = assert!(MAX_SCOPE <= 1 << 16);

impl TermIndex {
    /// The entry of `node` under (`part`, `term`).
    fn entry(part: u32, term: u32, node: usize) -> u64 {
        u64::from(part) << 48 | u64::from(term) << 16 | node as u64
    }

    /// The node an entry names.
    fn node(entry: u64) -> usize {
        (entry & 0xffff) as usize
    }

    /// The index of node i's `terms[ends[i - 1]..ends[i]]` under part
    /// `parts[i]` (both below 2^16: scopes hold at most [`MAX_SCOPE`] nodes).
    fn new(terms: &[(u32, f32)], ends: &[usize], parts: &[u32]) -> TermIndex {
        let mut entries = Vec::with_capacity(terms.len());
        let mut start = 0;
        for ((i, &end), &p) in ends.iter().enumerate().zip(parts) {
            entries.extend(terms[start..end].iter().map(|&(t, _)| Self::entry(p, t, i)));
            start = end;
        }
        entries.sort_unstable();
        TermIndex(entries)
    }

    /// The entries of `term` under `part`, in increasing order of node.
    fn list(&self, part: u32, term: u32) -> &[u64] {
        let lo = self.0.partition_point(|&e| e < Self::entry(part, term, 0));
        let hi = lo + self.0[lo..].partition_point(|&e| e <= Self::entry(part, term, 0xffff));
        &self.0[lo..hi]
    }
}

/// One article of the scope. Its features for scoring are made when a step
/// needs them ([`Engine::prepared`]), not held per node: a scope of 10,000
/// articles held 13 MB of them at the first cycle's memory peak.
pub(super) struct Node {
    /// Its sequence number in the window.
    pub(super) seq: u64,
    /// The story it is in before this pass.
    pub(super) story: StoryId,
    /// The story it joined or was last moved to, before merges: a story that
    /// absorbed another holds the other's members under the other's id.
    pub(super) origin: StoryId,
    /// Headline only (no body): the pair threshold is the title threshold.
    pub(super) headline: bool,
    /// The article's id.
    pub(super) id: String,
    /// Its publication time, Unix seconds.
    pub(super) time: Option<i64>,
}

impl Engine {
    /// The window's sequence numbers of the articles to cluster again: the
    /// members of the stories that new articles joined or were candidates for,
    /// whole stories up to `cap` articles.
    pub(super) fn refine_scope(&self, cap: usize) -> Vec<u64> {
        let end = self.first_seq + self.members.len() as u64;
        let mut stories: HashSet<StoryId> = HashSet::new();
        let mut size = 0;
        // The articles admitted since, and those whose text was replaced.
        let fresh = self.refined_upto.max(self.first_seq)..end;
        for seq in fresh.chain(self.revised.iter().copied()) {
            let Some(m) = self.member(seq) else {
                continue;
            };
            let query = self.weighted_terms(m.full(), m.head(), TERMS);
            let neighbours = self.rank_candidates(&query, None, NEIGHBOUR_STORIES);
            let own = std::iter::once(self.resolve(m.story));
            for s in own.chain(neighbours.into_iter().map(|(s, _)| s)) {
                let members = self.stories.get(&s).map_or(1, |st| st.members as usize);
                if size + members <= cap && stories.insert(s) {
                    size += members;
                }
            }
            if size >= cap {
                break;
            }
        }
        if stories.is_empty() {
            return Vec::new();
        }
        (self.first_seq..end)
            .filter(|&seq| {
                self.member(seq)
                    .is_some_and(|m| stories.contains(&self.resolve(m.story)))
            })
            .collect()
    }

    /// The `n` heaviest distinct terms of two share vectors, weighted by IDF.
    pub(super) fn weighted_terms(&self, a: impl Terms, b: impl Terms, n: usize) -> Vec<(u32, f32)> {
        let mut v: Vec<(u32, f32)> = a
            .terms()
            .chain(b.terms())
            .map(|(t, c)| (t, c * self.idf(t)))
            .collect();
        // Each term once, at its heaviest: by term, heaviest first, keeping the
        // first of each run (sorting twice costs less than a set of seen terms).
        v.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(y.1.total_cmp(&x.1)));
        v.dedup_by_key(|(t, _)| *t);
        // A total order: the terms are distinct now.
        v.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        v.truncate(n);
        v
    }

    /// The online score of two nodes and its threshold (`None` beyond the
    /// window): the earlier node in the scope's stable order is scored as an
    /// arriving article against the later one alone, so every step of a
    /// refinement scores a pair alike.
    pub(super) fn node_pair(&self, nodes: &[Node], a: usize, b: usize) -> Option<(f64, f64)> {
        let (x, y) = (a.min(b), a.max(b));
        self.pair_adjusted(&self.prepared(&nodes[x])?, &self.single_story(&nodes[y])?)
    }

    /// A story of node `n`'s article alone (`None` once it left the window).
    /// Made when a pair is scored, not held per node: a scope holds 10,000
    /// nodes at the first cycle's memory peak, and pairs are a few per node.
    pub(super) fn single_story(&self, n: &Node) -> Option<WindowStory> {
        let m = self.member(n.seq)?;
        let mut single = WindowStory {
            single: Some(n.seq),
            members: 1,
            long_members: u32::from(m.long),
            body_members: u32::from(m.body),
            dated: m.guard.time.map(|t| (t, t)),
            titles_with_numbers: u32::from(!m.guard.numbers.is_empty()),
            numbers: m.guard.numbers.iter().copied().collect(),
            source: m.source.clone().unwrap_or_default(),
            ..WindowStory::default()
        };
        single.add_embedding(&m.embedding, 1.0);
        Some(single)
    }

    /// The scope's articles in stable order (date, then id).
    pub(super) fn nodes(&self, scope: &[u64]) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::with_capacity(scope.len());
        nodes.extend(scope.iter().filter_map(|&seq| {
            let m = self.member(seq)?;
            Some(Node {
                seq,
                story: self.resolve(m.story),
                origin: m.story,
                headline: !m.body,
                id: m.id.to_string(),
                time: m.guard.time,
            })
        }));
        nodes.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        nodes
    }

    /// Node `n`'s features, weighted by today's IDF, as an arriving
    /// article's (`None` once it left the window).
    pub(super) fn prepared(&self, n: &Node) -> Option<Prepared> {
        let m = self.member(n.seq)?;
        Some(Prepared {
            id: m.id.to_string(),
            canonical: m.canonical.as_deref().map(String::from),
            fingerprint: None,
            full: self.weighted(m.full()),
            head: self.weighted(m.head()),
            names: self.weighted(m.names()),
            terms: Vec::new(),
            numbers: m.guard.numbers.to_vec(),
            long: m.long,
            body: m.body,
            time: m.guard.time,
            embedding: m.embedding.to_vec(),
            embedding_keys: Vec::new(),
            // Scored as the online pass scores: without its source's
            // template, and discounted by its likeness.
            source: m.source.as_deref().unwrap_or_default().to_string(),
            template: self.template_of(m.source.as_deref()),
            heaviest: None,
            // Compared, never admitted.
            text_hash: 0,
        })
    }

    /// Each node's [`NEIGHBOURS`] nearest nodes of the same part (by `part`),
    /// found through a local index of their [`Engine::linking_terms`]: a common term
    /// reads only the [`LIST_READ`] entries nearest in the nodes' stable order.
    pub(super) fn nearest_nodes(
        &self,
        nodes: &[Node],
        part: impl Fn(usize) -> StoryId,
    ) -> Vec<Vec<usize>> {
        // Parts numbered densely, in order of first appearance.
        let mut numbers: HashMap<StoryId, u32> = HashMap::new();
        let parts: Vec<u32> = (0..nodes.len())
            .map(|i| {
                let next = numbers.len() as u32;
                *numbers.entry(part(i)).or_insert(next)
            })
            .collect();
        drop(numbers);
        let (terms, ends) = self.linking_terms(nodes, &parts);
        let index = TermIndex::new(&terms, &ends, &parts);
        // Dense scratch scores: a map per article cost most of the pass.
        let mut partial = vec![0.0f32; nodes.len()];
        let mut touched: Vec<usize> = Vec::new();
        let mut out = Vec::with_capacity(nodes.len());
        for (i, &end) in ends.iter().enumerate() {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            for &(t, w) in &terms[start..end] {
                let list = index.list(parts[i], t);
                // A common term reads the articles nearest in key order.
                let at = list.partition_point(|&e| TermIndex::node(e) < i);
                let lo = at.saturating_sub(LIST_READ / 2);
                let hi = (lo + LIST_READ).min(list.len());
                for &e in &list[lo.min(hi.saturating_sub(LIST_READ))..hi] {
                    let j = TermIndex::node(e);
                    if j != i {
                        if partial[j] == 0.0 {
                            touched.push(j);
                        }
                        // Weights are positive: a touched entry never reads 0 again.
                        partial[j] += w.max(f32::MIN_POSITIVE);
                    }
                }
            }
            let order = |a: &usize, b: &usize| partial[*b].total_cmp(&partial[*a]).then(a.cmp(b));
            if touched.len() > NEIGHBOURS {
                touched.select_nth_unstable_by(NEIGHBOURS, order);
            }
            let mut top = touched[..touched.len().min(NEIGHBOURS)].to_vec();
            top.sort_by(order);
            out.push(top);
            for &j in &touched {
                partial[j] = 0.0;
            }
            touched.clear();
        }
        out
    }

    /// Each node's [`TERMS`] heaviest terms among those another node of its
    /// part also uses, one node's after another (`ends[i]` closes node i's).
    /// A term only one article of its part uses links it to no other: its
    /// heaviest terms are often such words (names new to the window), and
    /// would leave no room for those it shares with its own event.
    fn linking_terms(&self, nodes: &[Node], parts: &[u32]) -> (Vec<(u32, f32)>, Vec<usize>) {
        // Each node's terms are listed to count and ranked again to choose,
        // rather than held for the whole scope: refinement is the first
        // cycle's memory peak (indexing every term of the scope took it from
        // 202 to 227 MB in bench_cycle).
        // Ranked as before features were made on demand: the weighted
        // vectors, weighted again.
        let candidates = |n: &Node| {
            self.member(n.seq).map_or_else(Vec::new, |m| {
                let (full, head) = (self.weighted(m.full()), self.weighted(m.head()));
                self.weighted_terms(&full, &head, usize::MAX)
            })
        };
        // Sharing asks only which terms a node lists, not their ranking.
        let listed = |n: &Node| {
            let Some(m) = self.member(n.seq) else {
                return Vec::new();
            };
            let mut terms: Vec<u32> = (m.full().terms())
                .chain(m.head().terms())
                .map(|(t, _)| t)
                .collect();
            terms.sort_unstable();
            terms.dedup();
            terms
        };
        let shared = shared_keys(nodes, parts, listed);
        let key = |p: u32, t: u32| u64::from(p) << 32 | u64::from(t);
        // A part with no shared term links none of its nodes: not ranked again.
        let links = |p: u32| {
            let at = shared.partition_point(|&k| k < key(p, 0));
            shared.get(at).is_some_and(|&k| k >> 32 == u64::from(p))
        };
        let mut terms = Vec::with_capacity(nodes.len() * TERMS);
        let mut ends = Vec::with_capacity(nodes.len());
        for (n, &p) in nodes.iter().zip(parts) {
            if links(p) {
                let linking = candidates(n)
                    .into_iter()
                    .filter(|&(t, _)| shared.binary_search(&key(p, t)).is_ok());
                terms.extend(linking.take(TERMS));
            }
            ends.push(terms.len());
        }
        (terms, ends)
    }

    /// Shares scaled so that, weighted by today's IDF, they have length 1:
    /// each member weighs the same in a full-text centroid whatever the IDF
    /// was when it arrived (stored shares keep the scale of their admission),
    /// so a refined story does not depend on the order its members arrived
    /// in. Headline and name centroids keep the online pass's sums: scaling
    /// them too was measured slightly worse on uci-dev (B-cubed F1 of one
    /// half 0.916 to 0.914).
    pub(super) fn unit_shares(&self, shares: impl Terms) -> Vec<(u32, f32)> {
        let norm = shares
            .terms()
            .map(|(t, c)| (c * self.idf(t)).powi(2))
            .sum::<f32>()
            .sqrt();
        if norm <= 0.0 {
            return shares.to_vec();
        }
        shares.terms().map(|(t, c)| (t, c / norm)).collect()
    }

    /// The template terms of a source (sorted; none for an unknown source).
    fn template_of(&self, source: Option<&str>) -> Vec<u32> {
        source
            .and_then(|name| self.sources.get(name))
            .filter(|s| s.has_template())
            .map_or_else(Vec::new, |s| s.template().to_vec())
    }

    /// Adds a member's counts and embedding to `s`, and with `centroids` its
    /// vectors (the full text as unit shares, as refinement weighs members).
    pub(super) fn add_member(&self, s: &mut WindowStory, m: &Member, centroids: bool) {
        if centroids {
            let full = self.unit_shares(m.full());
            s.add_shares([(&full).into(), m.head().into(), m.names().into()], 1.0);
        }
        s.add_embedding(&m.embedding, 1.0);
        s.members += 1;
        s.long_members += u32::from(m.long);
        s.body_members += u32::from(m.body);
    }

    /// A story made of these members: centroids, counts, dates, figures, and
    /// the source of its first member (whose likeness discounts scores).
    pub(super) fn story_of_members(&self, seqs: &[u64]) -> WindowStory {
        let mut s = WindowStory::default();
        if let [only] = seqs {
            s.single = Some(*only);
        }
        if let Some(source) = seqs
            .iter()
            .min()
            .and_then(|&seq| self.member(seq))
            .and_then(|m| m.source.clone())
        {
            s.source = source;
        }
        for &seq in seqs {
            let Some(m) = self.member(seq) else { continue };
            self.add_member(&mut s, m, seqs.len() > 1);
            if let Some(t) = m.guard.time {
                s.dated = Some(s.dated.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
            }
            if !m.guard.numbers.is_empty() {
                s.titles_with_numbers += 1;
                s.numbers.extend(m.guard.numbers.iter().copied());
            }
        }
        s
    }
}

/// The (part, term) keys, `part << 32 | term`, sorted, of the terms that two
/// or more nodes of a part list among `terms_of` (each node's distinct terms). One part at a time, as bare
/// terms: the scope's every key at once took 8 bytes a use, the first cycle's
/// memory peak in `bench_cycle`.
fn shared_keys<N>(nodes: &[N], parts: &[u32], terms_of: impl Fn(&N) -> Vec<u32>) -> Vec<u64> {
    let mut order: Vec<usize> = (0..nodes.len().min(parts.len())).collect();
    order.sort_by_key(|&i| parts[i]);
    let mut shared = Vec::new();
    let mut used: Vec<u32> = Vec::new();
    // A node lists each term once: a part of one node shares none.
    for group in order
        .chunk_by(|&a, &b| parts[a] == parts[b])
        .filter(|g| g.len() > 1)
    {
        used.clear();
        for &i in group {
            used.extend(terms_of(&nodes[i]));
        }
        used.sort_unstable();
        let part = u64::from(parts[group[0]]) << 32;
        let twice = used.chunk_by(|a, b| a == b).filter(|run| run.len() > 1);
        shared.extend(twice.map(|run| part | u64::from(run[0])));
    }
    // Sorted: parts in turn, each part's terms in order.
    shared
}

#[cfg(test)]
mod tests {
    use super::{shared_keys, TermIndex};

    #[test]
    fn term_lists_hold_the_nodes_of_their_own_part_in_order() {
        // Nodes 0, 2 and 3 in part 0, node 1 in part 1; term 7 everywhere.
        let terms = [(7, 1.0), (9, 1.0), (7, 1.0), (7, 1.0), (9, 1.0), (7, 1.0)];
        let ends = [2, 3, 5, 6];
        let parts = [0, 1, 0, 0];
        let index = TermIndex::new(&terms, &ends, &parts);
        let nodes = |l: &[u64]| l.iter().map(|&e| TermIndex::node(e)).collect::<Vec<_>>();
        assert_eq!(nodes(index.list(0, 7)), [0, 2, 3]);
        assert_eq!(nodes(index.list(1, 7)), [1]);
        assert_eq!(nodes(index.list(0, 9)), [0, 2]);
        assert!(index.list(1, 9).is_empty());
        assert!(index.list(0, 8).is_empty());
    }

    #[test]
    fn shared_terms_are_those_two_nodes_of_one_part_list() {
        let lists: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![2, 4], vec![1, 5], vec![2, 3], vec![2]];
        // Part 1 holds nodes 0, 3 and 4; part 0 nodes 1 and 2; part 2 none.
        let parts = [1, 0, 0, 1, 1];
        let shared = shared_keys(&lists, &parts, |l| l.clone());
        let key = |p: u64, t: u64| p << 32 | t;
        // Term 1 is used in two parts once each: shared in neither.
        assert_eq!(shared, [key(1, 2), key(1, 3)]);
    }
}
