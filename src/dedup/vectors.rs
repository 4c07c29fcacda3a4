//! Sparse-vector maths of the similarity layer: story centroids and cosines
//! re-weighted by today's IDF. Vectors are `(term id, weight)` sorted by term id.

/// Terms kept in a story's centroid (pruned back from twice as many).
const CENTROID_TERMS: usize = 256;

/// A sparse vector sorted by term id, read by position: a plain slice, or a
/// member's shares as the window stores them ([`Shares`]).
pub(super) trait Terms: Copy {
    /// How many terms it has.
    fn len(self) -> usize;
    /// The term and weight at position `i` (below `len`).
    fn at(self, i: usize) -> (u32, f32);
    /// Whether it has no terms.
    fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// The term and weight at position `i`, `None` past the end.
    fn get(self, i: usize) -> Option<(u32, f32)> {
        (i < self.len()).then(|| self.at(i))
    }
    /// Its terms and weights in order.
    fn terms(self) -> impl Iterator<Item = (u32, f32)> {
        (0..self.len()).map(move |i| self.at(i))
    }
    /// An owned copy.
    fn to_vec(self) -> Vec<(u32, f32)> {
        self.terms().collect()
    }
}

impl Terms for &[(u32, f32)] {
    fn len(self) -> usize {
        <[(u32, f32)]>::len(self)
    }
    fn at(self, i: usize) -> (u32, f32) {
        self[i]
    }
}

impl Terms for &Vec<(u32, f32)> {
    fn len(self) -> usize {
        Vec::len(self)
    }
    fn at(self, i: usize) -> (u32, f32) {
        self[i]
    }
}

/// A weight at bfloat16 precision (its top 16 bits): what a member's shares
/// keep. Scores did not change at this precision (measured on both dev sets).
pub(super) fn bf16(w: f32) -> f32 {
    f32::from_bits(w.to_bits() & 0xFFFF_0000)
}

/// Term shares of a member in the window's layout: term ids of three bytes
/// (four when one needs them: a vocabulary past 2^24 terms), and weights
/// of two as bfloat16 ([`bf16`]), five bytes a term rather than eight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shares<'a> {
    /// Term ids of this part, `width` bytes each, little-endian.
    ids: &'a [u8],
    /// Weights of this part, the top two bytes of each f32, little-endian.
    weights: &'a [u8],
    /// Bytes per id: 3 or 4.
    width: usize,
}

impl<'a> Shares<'a> {
    /// Packs parts' `(term, weight)` vectors into one buffer: the id width,
    /// the ids of all parts, then their weights (truncated to [`bf16`]);
    /// returns it and where each part ends.
    pub(super) fn pack<const N: usize>(parts: [&[(u32, f32)]; N]) -> (Box<[u8]>, [u32; N]) {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        let all = || parts.iter().flat_map(|p| p.iter());
        let width = if all().all(|&(t, _)| t < 1 << 24) {
            3
        } else {
            4
        };
        let mut buf = Vec::with_capacity(1 + (width + 2) * n);
        buf.push(width as u8);
        let mut ends = [0; N];
        let mut count = 0;
        for (end, part) in ends.iter_mut().zip(parts) {
            for &(t, _) in part {
                buf.extend_from_slice(&t.to_le_bytes()[..width]);
            }
            count += part.len();
            *end = u32::try_from(count).unwrap_or(u32::MAX);
        }
        for &(_, w) in all() {
            buf.extend_from_slice(&w.to_bits().to_le_bytes()[2..]);
        }
        (buf.into_boxed_slice(), ends)
    }

    /// Part `start..end` of a buffer that [`Shares::pack`] made of `n` terms
    /// (empty for a range it does not hold).
    pub(super) fn part(buf: &'a [u8], n: usize, start: usize, end: usize) -> Shares<'a> {
        let width = match buf.first() {
            Some(&4) => 4,
            _ => 3,
        };
        let body = buf.get(1..).unwrap_or_default();
        let (ids, weights) = body.split_at((width * n).min(body.len()));
        let (ids, weights) = match (
            ids.get(width * start..width * end),
            weights.get(2 * start..2 * end),
        ) {
            (Some(ids), Some(weights)) => (ids, weights),
            _ => (&[][..], &[][..]),
        };
        Shares {
            ids,
            weights,
            width,
        }
    }
}

impl Terms for Shares<'_> {
    fn len(self) -> usize {
        self.weights.len() / 2
    }
    fn at(self, i: usize) -> (u32, f32) {
        // Fixed-size reads per width: a copy of a variable length was a
        // tenth slower over a whole `feedsieve cluster` run.
        let id = if self.width == 3 {
            let b = &self.ids[3 * i..3 * i + 3];
            u32::from_le_bytes([b[0], b[1], b[2], 0])
        } else {
            let b = &self.ids[4 * i..4 * i + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let w = &self.weights[2 * i..2 * i + 2];
        (id, f32::from_le_bytes([0, 0, w[0], w[1]]))
    }
}

/// A story's vector: a centroid's sums, or its only member's shares.
#[derive(Debug, Clone, Copy)]
pub(super) enum Vector<'a> {
    /// Summed (or computed) weights.
    Summed(&'a [(u32, f32)]),
    /// A member's stored shares.
    Stored(Shares<'a>),
}

impl<'a> From<&'a [(u32, f32)]> for Vector<'a> {
    fn from(v: &'a [(u32, f32)]) -> Self {
        Vector::Summed(v)
    }
}

impl<'a> From<&'a Vec<(u32, f32)>> for Vector<'a> {
    fn from(v: &'a Vec<(u32, f32)>) -> Self {
        Vector::Summed(v)
    }
}

impl<'a> From<Shares<'a>> for Vector<'a> {
    fn from(v: Shares<'a>) -> Self {
        Vector::Stored(v)
    }
}

impl Vector<'_> {
    /// Asks its first cache lines into the cache ([`prefetch`]).
    pub(super) fn prefetch(self) {
        match self {
            Vector::Summed(v) => prefetch(v.iter()),
            Vector::Stored(v) => prefetch(v.ids.iter()),
        }
    }
}

impl Terms for Vector<'_> {
    fn len(self) -> usize {
        match self {
            Vector::Summed(v) => v.len(),
            Vector::Stored(v) => v.len(),
        }
    }
    fn at(self, i: usize) -> (u32, f32) {
        match self {
            Vector::Summed(v) => v[i],
            Vector::Stored(v) => v.at(i),
        }
    }
}

/// A story's summed term shares, sorted by term id. A sorted vector rather
/// than a map: most stories hold one or two articles, and a map per story
/// costs several times the memory of the terms themselves.
#[derive(Debug, Default, Clone)]
pub(super) struct Centroid(pub(super) Vec<(u32, f32)>);

impl Centroid {
    /// Adds (`sign` 1) or takes away (-1) one member's shares.
    pub(super) fn add(&mut self, v: impl Terms, sign: f32) {
        if sign > 0.0 {
            self.add_in_place(v, sign);
        } else {
            self.take_in_place(v, sign);
        }
        self.0.retain(|(_, w)| *w >= 1e-6);
        if self.0.len() > 2 * CENTROID_TERMS {
            self.prune();
        }
    }

    /// The merge of [`Centroid::add`] for a positive `sign`, from the back
    /// into the grown vector: no new vector per member.
    fn add_in_place(&mut self, v: impl Terms, sign: f32) {
        let old = self.0.len();
        let added = v.len() - common(&self.0, v).count();
        // Exact: a centroid is sized to its terms, as a merged copy was.
        self.0.reserve_exact(added);
        self.0.resize(old + added, (0, 0.0));
        let a = &mut self.0;
        let (mut i, mut j, mut k) = (old, v.len(), old + added);
        while j > 0 {
            k -= 1;
            let (tb, wb) = v.at(j - 1);
            if i > 0 && a[i - 1].0 > tb {
                a[k] = a[i - 1];
                i -= 1;
            } else if i > 0 && a[i - 1].0 == tb {
                a[k] = (tb, a[i - 1].1 + sign * wb);
                i -= 1;
                j -= 1;
            } else {
                a[k] = (tb, wb);
                j -= 1;
            }
        }
    }

    /// The merge of [`Centroid::add`] for a negative `sign`, in place: a term
    /// pruned from a big centroid stays out when its member leaves.
    fn take_in_place(&mut self, v: impl Terms, sign: f32) {
        let mut j = 0;
        for (ta, wa) in self.0.iter_mut() {
            while j < v.len() && v.at(j).0 < *ta {
                j += 1;
            }
            if j < v.len() && v.at(j).0 == *ta {
                *wa += sign * v.at(j).1;
                j += 1;
            }
        }
    }

    /// Keeps the heaviest terms of a big story, so that scoring against it
    /// costs the same however many articles it has.
    fn prune(&mut self) {
        self.0
            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        self.0.truncate(CENTROID_TERMS);
        self.0.sort_by_key(|(t, _)| *t);
        self.0.shrink_to_fit();
    }
}

/// Cosine of a vector with term shares re-weighted by today's IDF: a story's
/// early members were weighted with little evidence of which terms are common.
/// Both sides are sorted by term id.
pub(super) fn cosine_idf(shares: impl Terms, v: &[(u32, f32)], idf: impl Fn(u32) -> f32) -> f64 {
    let mut norm = 0.0f64;
    let mut dot = 0.0f64;
    let mut j = 0;
    for (t, c) in shares.terms() {
        let w = f64::from(c) * f64::from(idf(t));
        norm += w * w;
        while j < v.len() && v[j].0 < t {
            j += 1;
        }
        if j < v.len() && v[j].0 == t {
            dot += w * f64::from(v[j].1);
            j += 1;
        }
    }
    if norm <= 1e-12 {
        return 0.0;
    }
    dot / norm.sqrt()
}

/// The weights of the terms two vectors (sorted by term id) have in common.
pub(super) fn common(a: impl Terms, b: impl Terms) -> impl Iterator<Item = (f32, f32)> {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            let ((ta, wa), (tb, wb)) = (a.at(i), b.at(j));
            match ta.cmp(&tb) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let pair = (wa, wb);
                    i += 1;
                    j += 1;
                    return Some(pair);
                }
            }
        }
        None
    })
}

/// Cosine of two share vectors, both re-weighted by today's IDF.
pub(super) fn cosine_shares(a: impl Terms, b: impl Terms, idf: impl Fn(u32) -> f32) -> f64 {
    let (mut i, mut j) = (0, 0);
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some((ta, wa)), Some((tb, wb))) if ta == tb => {
                let k = f64::from(idf(ta));
                let (x, y) = (f64::from(wa) * k, f64::from(wb) * k);
                dot += x * y;
                na += x * x;
                nb += y * y;
                i += 1;
                j += 1;
            }
            (Some((ta, wa)), Some((tb, _))) if ta < tb => {
                let x = f64::from(wa) * f64::from(idf(ta));
                na += x * x;
                i += 1;
            }
            (Some((ta, wa)), None) => {
                let x = f64::from(wa) * f64::from(idf(ta));
                na += x * x;
                i += 1;
            }
            (_, Some((tb, wb))) => {
                let y = f64::from(wb) * f64::from(idf(tb));
                nb += y * y;
                j += 1;
            }
            (None, None) => break,
        }
    }
    if na <= 1e-12 || nb <= 1e-12 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// Dot product of two vectors (a cosine when both are normalised);
/// [`DotWith`] is quicker for one vector against many.
pub(super) fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f64 {
    common(a, b).map(|(x, y)| f64::from(x) * f64::from(y)).sum()
}

/// One vector set up for dot products with many others: a bit per hashed
/// term says which terms it may hold, so most of another vector's terms are
/// ruled out by one load, and only the rest are looked up.
pub(super) struct DotWith<'a> {
    terms: &'a [(u32, f32)],
    bits: [u64; 16],
}

impl<'a> DotWith<'a> {
    /// Sets up `terms` (sorted by term id).
    pub(super) fn new(terms: &'a [(u32, f32)]) -> Self {
        let mut bits = [0u64; 16];
        for &(t, _) in terms {
            let h = Self::slot(t);
            bits[h >> 6] |= 1 << (h & 63);
        }
        DotWith { terms, bits }
    }

    /// One of 1,024 bits for a term.
    fn slot(t: u32) -> usize {
        (t.wrapping_mul(0x9E37_79B1) >> 22) as usize
    }

    /// The dot product with `other` (sorted by term id): the same sum, in the
    /// same order, as [`dot`] of the two.
    pub(super) fn dot(&self, other: &[(u32, f32)]) -> f64 {
        let mut sum = 0.0f64;
        for &(t, w) in other {
            let h = Self::slot(t);
            if self.bits[h >> 6] & (1 << (h & 63)) == 0 {
                continue;
            }
            if let Ok(i) = self.terms.binary_search_by_key(&t, |&(u, _)| u) {
                sum += f64::from(w) * f64::from(self.terms[i].1);
            }
        }
        sum
    }
}

/// Reads one element per cache line of the first four lines `items` walks
/// (a list's newest entries when walked from its end) and ignores it: the
/// loads of several lists overlap, where reading each list in turn waits for
/// each. A plain read, not a prefetch instruction (those need `unsafe`); no
/// effect on results.
pub(super) fn prefetch<'a, T: Copy + 'a>(items: impl Iterator<Item = &'a T>) {
    let per_line = (64 / std::mem::size_of::<T>().max(1)).max(1);
    for x in items.step_by(per_line).take(4) {
        std::hint::black_box(*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Centroid::add` as it was, merging into a new vector: the reference
    /// the in-place merges must match bit for bit.
    fn add_by_copy(a: &[(u32, f32)], v: &[(u32, f32)], sign: f32) -> Vec<(u32, f32)> {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        loop {
            match (a.get(i), v.get(j)) {
                (Some(&(ta, wa)), Some(&(tb, wb))) if ta == tb => {
                    out.push((ta, wa + sign * wb));
                    (i, j) = (i + 1, j + 1);
                }
                (Some(&(ta, wa)), Some(&(tb, _))) if ta < tb => {
                    out.push((ta, wa));
                    i += 1;
                }
                (Some(&(ta, wa)), None) => {
                    out.push((ta, wa));
                    i += 1;
                }
                (_, Some(&(tb, wb))) => {
                    if sign > 0.0 {
                        out.push((tb, wb));
                    }
                    j += 1;
                }
                (None, None) => break,
            }
        }
        out.retain(|(_, w)| *w >= 1e-6);
        if out.len() > 2 * CENTROID_TERMS {
            let mut c = Centroid(out);
            c.prune();
            out = c.0;
        }
        out
    }

    /// Sorted vectors with distinct terms, some weights tiny or equal.
    fn vectors(n: usize) -> Vec<Vec<(u32, f32)>> {
        let mut seed: u64 = 11;
        // Terms from 1,500: centroids outgrow the pruning bound.
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        (0..n)
            .map(|_| {
                let mut v: Vec<(u32, f32)> = (0..1 + next() % 80)
                    .map(|_| {
                        let w = match next() % 10 {
                            0 => 1e-7,
                            1 => 0.125,
                            k => k as f32 / 7.0,
                        };
                        (next() % 1500, w)
                    })
                    .collect();
                v.sort_by_key(|(t, _)| *t);
                v.dedup_by_key(|(t, _)| *t);
                v
            })
            .collect()
    }

    /// Weights as bits: equal sums, not merely close ones.
    fn bits(v: &[(u32, f32)]) -> Vec<(u32, u32)> {
        v.iter().map(|&(t, w)| (t, w.to_bits())).collect()
    }

    #[test]
    fn packed_shares_read_back_as_bfloat16() {
        let full = [(1, 0.5f32), (70_000, 1.0 / 3.0), ((1 << 24) - 1, 2.75)];
        let head = [(5, 0.1f32)];
        for wide in [false, true] {
            let mut names = vec![(9, 1e-3f32)];
            if wide {
                names.push((u32::MAX, 0.25));
            }
            let (buf, ends) = Shares::pack([&full[..], &head[..], &names[..]]);
            let n = ends[2] as usize;
            let read = |a: u32, b: u32| Shares::part(&buf, n, a as usize, b as usize).to_vec();
            let rounded =
                |v: &[(u32, f32)]| v.iter().map(|&(t, w)| (t, bf16(w))).collect::<Vec<_>>();
            assert_eq!(read(0, ends[0]), rounded(&full));
            assert_eq!(read(ends[0], ends[1]), rounded(&head));
            assert_eq!(read(ends[1], ends[2]), rounded(&names));
            assert_eq!(buf.len(), 1 + if wide { 6 * 4 } else { 5 * 3 } + 2 * n);
        }
    }

    #[test]
    fn in_place_merges_match_merging_into_a_copy() {
        let vs = vectors(40);
        let (mut c, mut reference) = (Centroid::default(), Vec::new());
        for (k, v) in vs.iter().enumerate() {
            c.add(v, 1.0);
            reference = add_by_copy(&reference, v, 1.0);
            assert_eq!(bits(&c.0), bits(&reference), "adding {k}");
            if k % 3 == 2 {
                let gone = &vs[k - 2];
                c.add(gone, -1.0);
                reference = add_by_copy(&reference, gone, -1.0);
                assert_eq!(bits(&c.0), bits(&reference), "taking {k}");
            }
        }
    }

    /// The likeness of a source's items is read against a fixed threshold:
    /// the filtered product must be the merge's, bit for bit.
    #[test]
    fn a_dot_product_through_the_term_filter_is_the_merges() {
        let vs = vectors(40);
        for a in &vs {
            let with = DotWith::new(a);
            for b in &vs {
                // `+ 0.0`: the merge's empty sum is -0.0, the filter's 0.0.
                assert_eq!((with.dot(b) + 0.0).to_bits(), (dot(b, a) + 0.0).to_bits());
            }
        }
    }
}
