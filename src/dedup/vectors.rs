//! Sparse-vector maths of the similarity layer: story centroids and cosines
//! re-weighted by today's IDF. Vectors are `(term id, weight)` sorted by term id.

/// Terms kept in a story's centroid (pruned back from twice as many).
const CENTROID_TERMS: usize = 256;

/// A story's summed term shares, sorted by term id. A sorted vector rather
/// than a map: most stories hold one or two articles, and a map per story
/// costs several times the memory of the terms themselves.
#[derive(Debug, Default, Clone)]
pub(super) struct Centroid(pub(super) Vec<(u32, f32)>);

impl Centroid {
    /// Adds (`sign` 1) or takes away (-1) one member's shares.
    pub(super) fn add(&mut self, v: &[(u32, f32)], sign: f32) {
        let a = &self.0;
        let mut out = Vec::with_capacity(a.len() + if sign > 0.0 { v.len() } else { 0 });
        let (mut i, mut j) = (0, 0);
        loop {
            match (a.get(i), v.get(j)) {
                (Some(&(ta, wa)), Some(&(tb, wb))) if ta == tb => {
                    out.push((ta, wa + sign * wb));
                    i += 1;
                    j += 1;
                }
                (Some(&(ta, wa)), Some(&(tb, _))) if ta < tb => {
                    out.push((ta, wa));
                    i += 1;
                }
                (Some(&(ta, wa)), None) => {
                    out.push((ta, wa));
                    i += 1;
                }
                // A term pruned from a big centroid stays out when its member leaves.
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
        self.0 = out;
        if self.0.len() > 2 * CENTROID_TERMS {
            self.prune();
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
pub(super) fn cosine_idf(shares: &[(u32, f32)], v: &[(u32, f32)], idf: impl Fn(u32) -> f32) -> f64 {
    let mut norm = 0.0f64;
    let mut dot = 0.0f64;
    let mut j = 0;
    for &(t, c) in shares {
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
pub(super) fn common<'a>(
    a: &'a [(u32, f32)],
    b: &'a [(u32, f32)],
) -> impl Iterator<Item = (f32, f32)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let pair = (a[i].1, b[j].1);
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
pub(super) fn cosine_shares(a: &[(u32, f32)], b: &[(u32, f32)], idf: impl Fn(u32) -> f32) -> f64 {
    let (mut i, mut j) = (0, 0);
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&(ta, wa)), Some(&(tb, wb))) if ta == tb => {
                let k = f64::from(idf(ta));
                let (x, y) = (f64::from(wa) * k, f64::from(wb) * k);
                dot += x * y;
                na += x * x;
                nb += y * y;
                i += 1;
                j += 1;
            }
            (Some(&(ta, wa)), Some(&(tb, _))) if ta < tb => {
                let x = f64::from(wa) * f64::from(idf(ta));
                na += x * x;
                i += 1;
            }
            (Some(&(ta, wa)), None) => {
                let x = f64::from(wa) * f64::from(idf(ta));
                na += x * x;
                i += 1;
            }
            (_, Some(&(tb, wb))) => {
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

/// Dot product of two vectors (a cosine when both are normalised).
pub(super) fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f64 {
    common(a, b).map(|(x, y)| f64::from(x) * f64::from(y)).sum()
}
