#!/usr/bin/env python3
"""Writes ecbplus-dev with simulated sources, to score how per-source rules
(dedup's source templates) behave on feeds: the dev set itself has no sources.

usage: bench/source_sim.py OUT_DIR

  OUT_DIR/ecb-topical.jsonl  each article's source is its topic's desk 70 % of
                             the time (a section feed), else one of 20 outlets
  OUT_DIR/ecb-src5.jsonl     one of 5 outlets at random
  OUT_DIR/ecb-src20.jsonl    one of 20 outlets at random

then e.g. python3 ../shared/eval/score_clusters.py OUT_DIR/ecb-topical.jsonl --orders 7
--cmd 'target/release/feedsieve cluster --input {input} --output {output}'.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEV = os.path.join(HERE, "../../shared/data/stories-dev/ecbplus-dev.jsonl")


def write(path, lines, source_of):
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(dict(line, source=source_of(line))) + "\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = [json.loads(l) for l in open(DEV)]
    for n in (5, 20):
        r = random.Random(n)
        write(os.path.join(out, f"ecb-src{n}.jsonl"), lines, lambda _: f"Outlet {r.randrange(n)}")
    r = random.Random(3)

    def desk(line):
        topic = line["cluster"].split("_")[0]
        return f"Desk {topic}" if r.random() < 0.7 else f"Outlet {r.randrange(20)}"

    write(os.path.join(out, "ecb-topical.jsonl"), lines, desk)


if __name__ == "__main__":
    main()
