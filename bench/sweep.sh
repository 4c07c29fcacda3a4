#!/usr/bin/env bash
# Scores `feedsieve cluster` on a dev set for several values of one [dedup] key.
# usage: bench/sweep.sh SET KEY "V1 V2 ..." [EXTRA_TOML_LINES] [BINARY]
#   SET = ecbplus | uci;  e.g. bench/sweep.sh uci title_threshold "0.2 0.25 0.3"
set -euo pipefail
set_name=$1 key=$2 values=$3 extra=${4:-} bin=${5:-target/release/feedsieve}
data=../shared/data/stories-dev/$set_name-dev.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for v in $values; do
  printf '[dedup]\n%s = %s\n%b\n' "$key" "$v" "$extra" > "$tmp/feeds.toml"
  line=$(python3 ../shared/eval/score_clusters.py "$data" \
    --cmd "$bin --config $tmp/feeds.toml cluster --input {input} --output {output}" 2>&1 |
    grep -E '^(B-cubed|Pairwise)' | sed -E 's/ +\(Miranda.*//' | tr '\n' ' ')
  echo "$set_name $key=$v $extra :: $line"
done
