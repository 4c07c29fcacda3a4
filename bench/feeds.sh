#!/usr/bin/env bash
# Feed reading: agreement with Python feedparser and speed against it, over the
# development corpus in ../shared/data/feeds-dev (read-only; never used by tests).
#
#   bench/feeds.sh                 # default subsets (fp-agg,third-party): agreement + speed
#   SUBSET=all bench/feeds.sh      # the whole corpus
#   REPS=10 bench/feeds.sh         # more repetitions for the timed run
#
# Speed: feedparser parses every file once in one Python process; feedsieve parses
# every file REPS times in one process (`feedsieve bench-read LIST REPS`, a hidden
# command), bodies preloaded in both; the harness prints files/s for both and the
# ratio. Agreement: `feedsieve inspect --json FILE` per file against feedparser.
set -euo pipefail
cd "$(dirname "$0")/.."

SUBSET="${SUBSET:-fp-agg,third-party}"
REPS="${REPS:-5}"
VENV=target/feed-venv
EVAL=../shared/eval/feed_diff.py

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet feedparser chardet
fi
cargo build --release --locked --quiet

"$VENV/bin/python" "$EVAL" \
    --subset "$SUBSET" \
    --cmd 'target/release/feedsieve inspect --json {file}' \
    --ref-cache target/feed-ref-cache.json \
    --summary-json "target/feeds-summary-${SUBSET//[,:]/_}.json" \
    --worst "${WORST:-20}" \
    --time --bench-cmd 'target/release/feedsieve bench-read {listfile} {reps}' \
    --bench-reps "$REPS"
