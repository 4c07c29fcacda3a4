#!/usr/bin/env bash
# Extraction speed on the development pages: feedsieve clean vs trafilatura vs the
# html5ever parse alone (scraper::Html::parse_document), same pages, same run.
#
#   bash bench/extract_speed.sh [DATA_DIR]      (default ../shared/data/extraction-dev)
#
# Each tool runs REPS times (default 3) and its median time is reported: a run of
# feedsieve takes about a second, and one run on a shared machine is noisy.
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

REPS=${REPS:-3}
now() { date +%s.%N; }
# Prints the median wall time of REPS runs of the command.
median_time() {
    local times=()
    for _ in $(seq "$REPS"); do
        local t0 t1
        t0=$(now)
        "$@" > /dev/null 2>&1 || true
        t1=$(now)
        times+=("$(python3 -c "print($t1 - $t0)")")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# A page without article text exits non-zero; that is not a benchmark failure.
FS=$(median_time target/release/feedsieve clean --text --out-dir "$OUT" "$PAGES"/*.html)
PARSE=$(median_time target/release/examples/parse_only "$PAGES"/*.html)

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
TRAF=$(for _ in $(seq "$REPS"); do traf_once; done | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "slowest pages (extraction alone, one thread, pages preloaded):"
target/release/examples/extract_timing "$PAGES"/*.html
python3 - "$N" "$FS" "$PARSE" "$TRAF" "$REPS" <<'PY'
import sys
n, fs, parse, traf, reps = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"pages: {n}; median of {reps:.0f} runs each")
print(f"feedsieve clean --text --out-dir : {n/fs:8.1f} pages/s ({fs:.2f} s)")
print(f"parse only (scraper, all cores)  : {n/parse:8.1f} pages/s ({parse:.2f} s)")
print(f"trafilatura (all cores)          : {n/traf:8.1f} pages/s ({traf:.2f} s)")
print(f"feedsieve / trafilatura          : {traf/fs:8.1f}x")
print(f"feedsieve / parse-only           : {parse/fs*100:8.1f} %")
PY
