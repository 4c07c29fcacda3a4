#!/usr/bin/env bash
# Extraction speed on the development pages: feedsieve clean vs trafilatura vs the
# html5ever parse alone (scraper::Html::parse_document), same pages, same run.
#
#   bash bench/extract_speed.sh [DATA_DIR]      (default ../shared/data/extraction-dev)
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

now() { date +%s.%N; }
t0=$(now)
# A page without article text exits non-zero; that is not a benchmark failure.
target/release/feedsieve clean --text --out-dir "$OUT" "$PAGES"/*.html || true
t1=$(now)
target/release/examples/parse_only "$PAGES"/*.html > /dev/null
t2=$(now)

if [ ! -x target/trafilatura-venv/bin/python ]; then
    python3 -m venv target/trafilatura-venv
    target/trafilatura-venv/bin/pip install --quiet trafilatura lxml_html_clean
fi
TRAF=$(target/trafilatura-venv/bin/python - "$PAGES" <<'PY'
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
)
echo "slowest pages (extraction alone, one thread, pages preloaded):"
target/release/examples/extract_timing "$PAGES"/*.html
python3 - "$N" "$t0" "$t1" "$t2" "$TRAF" <<'PY'
import sys
n, t0, t1, t2, traf = int(sys.argv[1]), *map(float, sys.argv[2:])
fs, parse = t1 - t0, t2 - t1
print(f"pages: {n}")
print(f"feedsieve clean --text --out-dir : {n/fs:8.1f} pages/s ({fs:.2f} s)")
print(f"parse only (scraper, all cores)  : {n/parse:8.1f} pages/s ({parse:.2f} s)")
print(f"trafilatura (all cores)          : {n/traf:8.1f} pages/s ({traf:.2f} s)")
print(f"feedsieve / trafilatura          : {traf/fs:8.1f}x")
print(f"feedsieve / parse-only           : {parse/fs*100:8.1f} %")
PY
