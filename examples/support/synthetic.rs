//! What the pipeline benchmarks share: a synthetic vocabulary and the peak
//! memory of the process (included by `bench_cycle` and `bench_scale`).

/// A word from a 20,000-word synthetic vocabulary, skewed like natural text (a
/// few words are common, most are rare), picked by a deterministic generator.
pub fn word(state: &mut u64) -> String {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let r = ((*state >> 33) as f64) / ((1u64 << 31) as f64);
    let rank = (20_000f64.powf(r)) as u32; // log-uniform: Zipf-like
    let syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da"];
    let mut w = String::new();
    let mut n = rank + 1;
    while n > 0 {
        w.push_str(syllables[(n % 10) as usize]);
        n /= 10;
    }
    w
}

/// Words joined by spaces, `n` of them.
pub fn words(state: &mut u64, n: usize) -> String {
    (0..n).map(|_| word(state)).collect::<Vec<_>>().join(" ")
}

/// The peak resident memory of this process, in MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The benchmarks' arguments `[FEEDS] [ITEMS] [HOSTS] [--no-dedup]`, with
/// these defaults; hosts are clamped to `1..=max_hosts`.
pub fn feed_args(
    defaults: (usize, usize, usize),
    max_hosts: usize,
) -> anyhow::Result<(usize, usize, usize, bool)> {
    let no_dedup = std::env::args().any(|a| a == "--no-dedup");
    // Other flags (`--name` or `--name=value`) are the example's own.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let feeds = args.first().copied().unwrap_or(defaults.0);
    let items = args.get(1).copied().unwrap_or(defaults.1);
    let hosts = args
        .get(2)
        .copied()
        .unwrap_or(defaults.2)
        .clamp(1, max_hosts);
    Ok((feeds, items, hosts, no_dedup))
}
