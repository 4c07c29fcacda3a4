#!/usr/bin/env python3
"""Scores `feedsieve clean --text` on an extraction data set and on each of its halves.

usage: bench/extract_halves.py [--data DIR] [--bin BINARY] [--worst N] [--keep DIR]

The binary runs once over every page; the outputs are then scored with the
project scorer's own metric on the whole set and on two halves split by a hash
of the page id (file name), so a rule that only suits one half shows. Per page
type too when the set has several. `--worst N` lists the N pages lowest by
precision (the chrome that survives); `--keep DIR` keeps the outputs.
"""
import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "../../shared/eval"))
from score_extraction import aggregate, page_counts, words  # noqa: E402


def half_of(page_id):
    return int(hashlib.sha1(page_id.encode()).hexdigest(), 16) % 2


def pages_dir(data, cache):
    """The set's pages decompressed once into `cache` (reused between runs)."""
    cache.mkdir(parents=True, exist_ok=True)
    for p in sorted((data / "html").iterdir()):
        stem = p.name.split(".html")[0]
        q = cache / f"{stem}.html"
        if q.exists():
            continue
        raw = gzip.open(p).read() if p.name.endswith(".gz") else p.read_bytes()
        q.write_bytes(raw)
    return cache


def row(name, ids, truth, preds):
    rows = [(*page_counts(truth[i], preds.get(i, "")), 0.0) for i in ids]
    m = aggregate(rows)
    empty = sum(1 for i in ids if not words(preds.get(i, "")))
    return (f"{name:14} n={len(ids):4}  F1 {m['f1']:.4f}  P {m['precision']:.4f}  "
            f"R {m['recall']:.4f}  f1/page {m['f1_page']:.4f}  empty {empty}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE / "../../shared/data/extraction-dev"))
    ap.add_argument("--bin", default=os.environ.get(
        "FEEDSIEVE", str(HERE / "../target/release/feedsieve")))
    ap.add_argument("--worst", type=int, default=0)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    data = Path(args.data).resolve()
    gt = json.loads((data / "ground-truth.json").read_text(encoding="utf8"))
    truth = {k: v.get("articleBody") or "" for k, v in gt.items()}
    types = {k: v.get("page_type") or "" for k, v in gt.items()}
    cache = Path(tempfile.gettempdir()) / f"feedsieve-pages-{data.name}"
    src = pages_dir(data, cache)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        files = sorted(str(p) for p in src.glob("*.html"))
        subprocess.run([args.bin, "clean", "--text", "--out-dir", str(out), *files],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        preds = {}
        for i in truth:
            p = out / f"{i}.txt"
            preds[i] = p.read_text(encoding="utf8", errors="replace") if p.exists() else ""
    ids = sorted(truth)
    print(row("all", ids, truth, preds))
    for h in (0, 1):
        print(row(f"half{h}", [i for i in ids if half_of(i) == h], truth, preds))
    kinds = sorted(set(types.values()))
    if len(kinds) > 1:
        for t in kinds:
            sub = [i for i in ids if types[i] == t]
            print(row(f"type {t}", sub, truth, preds))
            for h in (0, 1):
                print(row(f"  half{h}", [i for i in sub if half_of(i) == h], truth, preds))
    if args.worst:
        scored = []
        for i in ids:
            tp, fp, fn = page_counts(truth[i], preds.get(i, ""))
            if tp + fp > 0:
                scored.append((tp / (tp + fp), (tp / (tp + fn)) if tp + fn else 1.0, i))
        print(f"\n{args.worst} lowest precision:")
        for p, r, i in sorted(scored)[:args.worst]:
            print(f"  {i} half{half_of(i)} P={p:.3f} R={r:.3f} words pred/true="
                  f"{len(words(preds[i]))}/{len(words(truth[i]))}")


if __name__ == "__main__":
    main()
