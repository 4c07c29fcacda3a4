#!/usr/bin/env python3
"""Writes the articles `synthetic_feeds.py --template` serves as one `feedsieve cluster` input.

    bench/template_stream.py FEEDS TEMPLATED ITEMS [--by-time] > stream.jsonl

FEEDS feeds of ITEMS items each, the first TEMPLATED of them templated (~240 words), the
others drawn log-uniformly from 20,000 pseudo-words, in feed order (as a cycle fetches
them) or, with --by-time, oldest first. Every item is its own event, so the gold
`cluster` is the item itself: `score_clusters.py` on this file gives the B-cubed
precision of whatever the clusterer joined, e.g.

    python3 bench/template_stream.py 300 150 50 > /tmp/t.jsonl
    python3 ../shared/eval/score_clusters.py /tmp/t.jsonl \\
        --cmd 'target/release/feedsieve cluster --input {input} --output {output}'
"""
import datetime
import json
import random
import sys

FEEDS, TEMPLATED, ITEMS = (int(a) for a in sys.argv[1:4])
_r = random.Random(42)
WORDS = ["".join(_r.choice("bcdfghklmnprstvz") + _r.choice("aeiou") for _ in range(1 + _r.randrange(3)))
         for _ in range(20000)]
TWORDS = [(random.Random(i).choice("bcdfghklmnprstvz") + random.Random(i * 7).choice("aeiou")) * (1 + i % 3)
          for i in range(20000)]


def para(rng, vocab, n):
    return " ".join(vocab[int(20000 ** rng.random()) - 1] for _ in range(n))


articles = []
for i in range(FEEDS):
    rng = random.Random(i)
    vocab = TWORDS if i < TEMPLATED else WORDS
    for j in range(ITEMS):
        at = datetime.datetime.fromtimestamp(1765000000 - j * 600 - i, datetime.timezone.utc)
        title = para(rng, vocab, 8).title()
        text = para(rng, vocab, 60) + "\n\n" + para(rng, vocab, 60)
        articles.append({"id": f"{i}/{j}", "source": f"Feed {i}", "url": f"http://example.org/{i}/{j}.html",
                         "published": at.isoformat(), "title": title, "text": text, "cluster": f"{i}/{j}"})
if "--by-time" in sys.argv:
    articles.sort(key=lambda a: a["published"])
for a in articles:
    print(json.dumps(a))
