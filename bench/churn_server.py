#!/usr/bin/env python3
"""Serves RSS feeds whose items keep changing, for the soak run (bench/soak.sh).

    churn_server.py PORT ITEMS EVERY_SECS [HOSTS]

GET http://127.0.H.1:PORT/feed/<i>.xml (H = 0..HOSTS-1, any i) returns RSS 2.0 with ITEMS
items. Every EVERY_SECS seconds each feed publishes a new "edition" with two new items
(the oldest two drop off), like a busy news feed; each item is a distinct story (title
and two paragraphs of ~60 words from a 20,000-word vocabulary drawn log-uniformly, as
synthetic_feeds.py does). ETag / If-None-Match give 304s within an edition. Feeds start
at different offsets so editions do not all change at once.
Prints "ready" when every address listens; runs until killed.
"""
import email.utils
import http.server
import random
import socketserver
import sys
import threading
import time

PORT, ITEMS, EVERY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
HOSTS = int(sys.argv[4]) if len(sys.argv) > 4 else 1

_r = random.Random(42)
WORDS = ["".join(_r.choice("bcdfghklmnprstvz") + _r.choice("aeiou") for _ in range(1 + _r.randrange(3)))
         for _ in range(20000)]
START = time.time()


def para(rng, n):
    return " ".join(WORDS[int(20000 ** rng.random()) - 1] for _ in range(n))


def edition(feed):
    return int((time.time() - START + (feed * 7919 % 1000) / 1000 * EVERY) / EVERY)


def body(feed, ed):
    out = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Churn {feed}</title>'
           f"<link>http://churn.test/{feed}/</link><description>churning feed {feed}</description>"]
    first = 2 * ed
    for j in range(first + ITEMS - 1, first - 1, -1):
        rng = random.Random(feed * 1_000_003 + j)
        date = email.utils.formatdate(START + j * EVERY / 2, usegmt=True)
        out.append(f"<item><title>{para(rng, 8).title()}</title>"
                   f"<link>http://churn.test/{feed}/{j}.html</link><guid>churn-{feed}-{j}</guid>"
                   f"<pubDate>{date}</pubDate><description><![CDATA[<p>{para(rng, 60)}</p>"
                   f"<p>{para(rng, 60)}</p>]]></description></item>")
    out.append("</channel></rss>")
    return "".join(out).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            feed = int(self.path.rsplit("/", 1)[-1].split(".")[0])
        except ValueError:
            self.send_error(404)
            return
        ed = edition(feed)
        etag = f'"{feed}-{ed}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        b = body(feed, ed)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512


for h in range(HOSTS):
    srv = Server((f"127.0.{h}.1", PORT), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
