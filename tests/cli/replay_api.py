#!/usr/bin/env python3
"""Replays a recorded model-API exchange (standard library only).

Given one of the Anthropic SDK's recorded request/response lists (tests/data/recorded/
anthropic-runner-*.json), answers the N-th POST with the N-th recorded response body and
status, and saves the body of each request it received as DIR/request-N.json, so a test can
compare what an agent loop sent with what the SDK sent. Listens on 127.0.0.1 with a port the
kernel picks, prints "PORT <n>" first, and exits after --lifetime seconds whatever happens.
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("recording")
    ap.add_argument("dir")
    ap.add_argument("--lifetime", type=float, default=60)
    args = ap.parse_args()
    with open(args.recording, encoding="utf-8") as f:
        exchanges = json.load(f)
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            n = seen[0]
            seen[0] += 1
            with open(os.path.join(args.dir, "request-%d.json" % n), "wb") as out:
                out.write(body)
            if n >= len(exchanges):
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b'{"error":"no more recorded responses"}')
                return
            resp = exchanges[n]["response"]
            payload = json.dumps(resp["body"]).encode()
            self.send_response(resp["status_code"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
