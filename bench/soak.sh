#!/usr/bin/env bash
# The soak run (not in CI; tests/it/machine.rs has a short version): the daemon
# against SOURCES churning feeds for DURATION seconds with a short retention, sampling
# every STEP seconds its RSS, open descriptors, WAL size, database size and item rows
# into a CSV, then a verdict:
#   after warm-up (the first third, and at least one retention prune), RSS and
#   descriptors stay within 10 %, the WAL stops growing (it is checkpointed and reused;
#   the file keeps the size of the largest transaction, a prune), and the database
#   stops growing (last sample within 10 % of the first after warm-up).
#
#   bench/soak.sh                      # 1000 sources, 30 minutes
#   DURATION=600 bench/soak.sh         # 10 minutes
#
# Settings (environment): SOURCES (1000), DURATION (1800 s), STEP (10 s), INTERVAL
# (fetch interval, "30s"), EVERY (seconds between two new items of a feed, 30),
# MAX_AGE ("5m"), PORT (18900), BIN (target/release/feedsieve), OUT (a new temp dir),
# EXTRA (more TOML for the config; default a dedup window as long as MAX_AGE, so that
# the window, not the run's length, bounds memory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SOURCES=${SOURCES:-1000}
DURATION=${DURATION:-1800}
STEP=${STEP:-10}
INTERVAL=${INTERVAL:-30s}
EVERY=${EVERY:-30}
MAX_AGE=${MAX_AGE:-5m}
PORT=${PORT:-18900}
BIN=${BIN:-$here/../target/release/feedsieve}
OUT=${OUT:-$(mktemp -d /tmp/feedsieve-soak.XXXXXX)}
EXTRA=${EXTRA:-"[dedup]\nwindow = \"$MAX_AGE\""}
mkdir -p "$OUT/db"

python3 "$here/churn_server.py" "$PORT" 20 "$EVERY" 1 > "$OUT/server.log" 2>&1 &
server=$!
{
    printf '[output]\npath = "db/feed.xml"\n[server]\nlisten = "127.0.0.1:%s"\n' $((PORT + 1))
    printf '[database]\npath = "db/feedsieve.sqlite"\nmax_age = "%s"\n' "$MAX_AGE"
    printf '[schedule]\ninterval = "%s"\n' "$INTERVAL"
    printf '%b\n' "$EXTRA"
    for ((i = 0; i < SOURCES; i++)); do
        printf '[[feed]]\nname = "Churn %d"\nurl = "http://127.0.0.1:%s/feed/%d.xml"\n' "$i" "$PORT" "$i"
    done
} > "$OUT/feeds.toml"
until grep -q ready "$OUT/server.log"; do sleep 0.2; done
RUST_LOG=${RUST_LOG:-info} "$BIN" --config "$OUT/feeds.toml" run 2> "$OUT/daemon.log" &
daemon=$!
trap 'kill $daemon $server 2>/dev/null || true' EXIT

db="$OUT/db/feedsieve.sqlite"
csv="$OUT/soak.csv"
echo "t,rss_mb,fds,wal_mb,db_mb,items,prunes" > "$csv"
start=$(date +%s)
while (( $(date +%s) - start <= DURATION )); do
    t=$(( $(date +%s) - start ))
    rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$daemon/status")
    fds=$(ls "/proc/$daemon/fd" 2>/dev/null | wc -l || true)
    wal=$( (stat -c %s "$db-wal" 2>/dev/null || echo 0) | awk '{printf "%.2f", $1 / 1e6}')
    size=$( (stat -c %s "$db" 2>/dev/null || echo 0) | awk '{printf "%.2f", $1 / 1e6}')
    items=$(python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
print(c.execute("select count(*) from items").fetchone()[0])' "$db" 2>/dev/null || echo "")
    prunes=$(grep -c "pruned items past retention" "$OUT/daemon.log" || true)
    echo "$t,$rss,$fds,${wal:-0},${size:-0},$items,$prunes" >> "$csv"
    sleep "$STEP"
done

python3 - "$csv" <<'EOF'
import csv, sys
rows = [{k: float(v) if v else 0.0 for k, v in r.items()} for r in csv.DictReader(open(sys.argv[1]))]
warm = [r for r in rows[len(rows) // 3:] if r["prunes"] >= 1]
if len(warm) < 3:
    sys.exit(f"too few samples after warm-up and the first prune ({len(warm)}): run longer")
def flat(key):
    lo, hi = min(r[key] for r in warm), max(r[key] for r in warm)
    return hi <= lo * 1.10, f"{key}: {lo:g} .. {hi:g} after warm-up"
verdicts = [flat("rss_mb"), flat("fds")]
# The WAL file keeps its high-water mark (a prune is one transaction); checkpointed,
# it is reused and stops growing.
wal_warm, wal_end = warm[0]["wal_mb"], warm[-1]["wal_mb"]
verdicts.append((wal_end <= max(wal_warm * 1.10, 16),
                 f"WAL {wal_warm:g} MB after warm-up, {wal_end:g} MB at the end (checkpointed: reused)"))
mid, last = warm[0], warm[-1]
verdicts.append((last["db_mb"] <= mid["db_mb"] * 1.10,
                 f"database {mid['db_mb']:g} MB after warm-up, {last['db_mb']:g} MB at the end"))
verdicts.append((last["items"] <= max(r["items"] for r in warm[: len(warm) // 2 + 1]) * 1.10,
                 f"item rows {mid['items']:g} after warm-up, {last['items']:g} at the end "
                 f"({last['prunes']:g} prunes)"))
for ok, what in verdicts:
    print(("ok    " if ok else "FAIL  ") + what)
print("samples:", sys.argv[1])
sys.exit(0 if all(ok for ok, _ in verdicts) else 1)
EOF
