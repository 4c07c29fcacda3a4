#!/usr/bin/env python3
"""Scores `feedsieve cluster` on a dev set and on each of its two halves.

usage: bench/halves.py SET [BINARY] [EXTRA_ARGS...]   (SET = ecbplus | uci)

The halves split the stories, not the articles: ecbplus by topic (both look-alike
events of a topic stay in the same half), uci by gold story. Each half is clustered
on its own, in the original order, so a setting that only suits one half shows.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../shared/eval"))
from score_clusters import score  # noqa: E402


def topic(set_name, cluster):
    return cluster.split("_")[0] if set_name == "ecbplus" else cluster


def half_of(key):
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2


def run(binary, extra, lines, tmp, name):
    inp, out = os.path.join(tmp, name + ".in"), os.path.join(tmp, name + ".out")
    with open(inp, "w", encoding="utf-8") as f:
        for d in lines:
            d = dict(d)
            d.pop("cluster")
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    subprocess.run([binary, *extra, "cluster", "--input", inp, "--output", out],
                   check=True, stderr=subprocess.DEVNULL)
    pred = {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            pred[str(d["id"])] = str(d["cluster"])
    gold = {str(d["id"]): d["cluster"] for d in lines}
    return score(gold, pred)


def main():
    set_name = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/feedsieve"
    extra = sys.argv[3:]
    path = f"../shared/data/stories-dev/{set_name}-dev.jsonl"
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    parts = {"all": lines}
    for h in (0, 1):
        parts[f"half{h}"] = [d for d in lines if half_of(topic(set_name, d["cluster"])) == h]
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in parts.items():
            s = run(binary, extra, part, tmp, name)
            print(f"{set_name:8} {name:5} n={s['n']:5}  B3 P {s['bcubed_p']:.3f} "
                  f"R {s['bcubed_r']:.3f} F1 {s['bcubed_f1']:.4f}  pair F1 {s['pair_f1']:.4f}  "
                  f"clusters {s['pred_clusters']}/{s['gold_clusters']}")


if __name__ == "__main__":
    main()
