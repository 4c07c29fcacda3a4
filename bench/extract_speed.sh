#!/usr/bin/env bash
# Extraction speed on the development pages: feedsieve clean vs trafilatura vs the
# html5ever parse alone (scraper::Html::parse_document), same pages, same run.
#
#   bash bench/extract_speed.sh [DATA_DIR]      (default ../shared/data/extraction-dev)
#
# The three run in turn, REPS rounds (default 5); medians and the per-round
# ratios are reported: a run of feedsieve takes about a second, and one run on a
# shared machine is noisy.
#
# Pages are decompressed once into target/bench-pages (page files preloaded by the OS
# cache for every tool). trafilatura runs in a venv under target/ (created on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/extraction-dev}
PAGES=target/bench-pages
OUT=target/bench-out
mkdir -p "$PAGES" "$OUT"
for f in "$DATA"/html/*.html.gz; do
    b=$(basename "$f" .gz)
    [ -s "$PAGES/$b" ] || gzip -dc "$f" > "$PAGES/$b"
done
N=$(ls "$PAGES"/*.html | wc -l)
cargo build --release --locked --quiet --bin feedsieve --example parse_only --example extract_timing
cat "$PAGES"/*.html > /dev/null   # warm the page cache

REPS=${REPS:-5}
now() { date +%s.%N; }
# Prints the wall time of one run of the command.
time_once() {
    local t0 t1
    t0=$(now)
    "$@" > /dev/null 2>&1 || true
    t1=$(now)
    python3 -c "print($t1 - $t0)"
}

if [ ! -x target/trafilatura-venv/bin/python ]; then
    python3 -m venv target/trafilatura-venv
    target/trafilatura-venv/bin/pip install --quiet trafilatura lxml_html_clean
fi
traf_once() {
target/trafilatura-venv/bin/python - "$PAGES" <<'PY'
import sys, time, glob
from concurrent.futures import ProcessPoolExecutor
import os
import trafilatura
files = sorted(glob.glob(sys.argv[1] + "/*.html"))
def one(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        html = f.read()
    return len(trafilatura.extract(html) or "")
start = time.time()
with ProcessPoolExecutor(max_workers=os.cpu_count()) as ex:
    list(ex.map(one, files, chunksize=8))
print(time.time() - start)
PY
}
# The tools take turns, round after round, so that a machine that slows down
# or speeds up during the run weighs on all three alike; the ratios are taken
# within each round. A page without article text exits non-zero; that is not a
# benchmark failure.
ROUNDS=$(mktemp)
for _ in $(seq "$REPS"); do
    fs=$(time_once target/release/feedsieve clean --text --out-dir "$OUT" "$PAGES"/*.html)
    parse=$(time_once target/release/examples/parse_only "$PAGES"/*.html)
    traf=$(traf_once)
    echo "$fs $parse $traf" >> "$ROUNDS"
done
echo "slowest pages (extraction alone, one thread, pages preloaded):"
target/release/examples/extract_timing "$PAGES"/*.html
python3 - "$N" "$ROUNDS" <<'PY'
import sys, statistics as st
n = int(sys.argv[1])
rounds = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
fs, parse, traf = (st.median(r[i] for r in rounds) for i in range(3))
vs_traf = [r[2] / r[0] for r in rounds]
vs_parse = [r[1] / r[0] * 100 for r in rounds]
print(f"pages: {n}; {len(rounds)} rounds, each tool once a round; medians")
print(f"feedsieve clean --text --out-dir : {n/fs:8.1f} pages/s ({fs:.2f} s)")
print(f"parse only (scraper, all cores)  : {n/parse:8.1f} pages/s ({parse:.2f} s)")
print(f"trafilatura (all cores)          : {n/traf:8.1f} pages/s ({traf:.2f} s)")
print(f"feedsieve / trafilatura          : {st.median(vs_traf):8.1f}x (rounds: {min(vs_traf):.1f} to {max(vs_traf):.1f})")
print(f"feedsieve / parse-only           : {st.median(vs_parse):8.1f} % (rounds: {min(vs_parse):.1f} to {max(vs_parse):.1f})")
PY
rm -f "$ROUNDS"
