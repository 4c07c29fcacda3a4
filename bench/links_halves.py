#!/usr/bin/env python3
"""Scores `feedsieve links` on the listing pages and on each of their two halves.

usage: bench/links_halves.py [BINARY] [--dump FILE] [--worst N] [--data DIR] [--time EXAMPLE]

The pages are split by a hash of their id, so a rule that only suits one half shows.
Silver labels and page selection are the scorer's own (`score_links.positives`, pages
of type listing or collection with 5+ silver links); figures are micro P/R/F1 and the
share of pages where nothing was found, as `score_links.py` prints them. `--dump`
writes per page the silver and returned links (with their anchor text) for reading
false positives; `--worst N` prints the N pages with the most false positives.
`--time target/release/examples/links_timing` (`cargo build --release --example
links_timing`) times link finding alone on the same pages.
"""
import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../shared/eval"))
from score_links import positives  # noqa: E402


def half_of(key):
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2


def load_pages(data):
    with open(os.path.join(data, "ground-truth.json"), encoding="utf-8") as f:
        gt = json.load(f)
    pages = []
    for k in sorted(gt):
        v = gt[k]
        if v.get("page_type") not in ("listing", "collection"):
            continue
        src = os.path.join(data, "html", f"{k}.html.gz")
        if not os.path.exists(src):
            src = os.path.join(data, "html", f"{k}.html")
        raw = gzip.open(src).read() if src.endswith(".gz") else open(src, "rb").read()
        pos = positives(raw.decode("utf-8", "replace"), v["url"], v.get("articleBody") or "")
        if len(pos) >= 5:
            pages.append((k, v["url"], src, pos))
    return pages


def run(binary, page):
    k, url, src, pos = page
    r = subprocess.run([binary, "links", "--json", "--url", url, src],
                       capture_output=True, timeout=30)
    try:
        links = json.loads(r.stdout or b"{}").get("links", [])
    except ValueError:
        links = []
    got = {}
    for l in links:
        got.setdefault(l["url"].split("#")[0], [l.get("text", ""), l.get("from", "")])
    return k, url, pos, got


def figures(rows):
    tp = fp = npos = empty = 0
    for _, _, pos, got in rows:
        t = len(set(got) & pos)
        tp, fp, npos, empty = tp + t, fp + len(got) - t, npos + len(pos), empty + (not got)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / npos if npos else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"pages={len(rows):3} P={p:.3f} R={r:.3f} F1={f:.3f} empty={empty} ({empty / max(len(rows), 1):.0%})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?", default="/work/target-links/release/feedsieve")
    ap.add_argument("--data", default=os.path.join(HERE, "../../shared/data/extraction-dev-other"))
    ap.add_argument("--dump")
    ap.add_argument("--worst", type=int, default=0)
    ap.add_argument("--time", metavar="EXAMPLE")
    a = ap.parse_args()
    pages = load_pages(a.data)
    if a.time:
        listing = "".join(f"{url}\t{src}\n" for _, url, src, _ in pages)
        out = subprocess.run([a.time], input=listing.encode(), capture_output=True, check=True)
        print(out.stdout.decode().splitlines()[-1])
        return
    with ThreadPoolExecutor(2) as ex:
        rows = list(ex.map(lambda p: run(a.binary, p), pages))
    print("all   ", figures(rows))
    for h in (0, 1):
        print(f"half{h} ", figures([r for r in rows if half_of(r[0]) == h]))
    if a.dump:
        with open(a.dump, "w", encoding="utf-8") as f:
            for k, url, pos, got in rows:
                f.write(json.dumps({"id": k, "url": url, "half": half_of(k), "silver": sorted(pos),
                                    "got": got}, ensure_ascii=False) + "\n")
    if a.worst:
        worst = sorted(rows, key=lambda r: -(len(r[3]) - len(set(r[3]) & r[2])))[: a.worst]
        for k, url, pos, got in worst:
            t = len(set(got) & pos)
            print(f"  fp={len(got) - t:3} tp={t:3} silver={len(pos):3} {k} {url}")


if __name__ == "__main__":
    main()
