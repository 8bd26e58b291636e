#!/usr/bin/env python3
"""A small HTTP test server for tooldag's http: tools (standard library only).

Listens on 127.0.0.1 with a port the kernel picks and prints "PORT <n>" on its first stdout
line; exits after --lifetime seconds whatever happens, so a test that dies cannot leave it
behind for long. With --tls CERT KEY it speaks HTTPS instead.

Endpoints (KEY: a name the test picks, so counters of two tests never mix):
  /echo                     {"method","path","query","headers","body"} of the request
  /delay/MS                 waits MS milliseconds, then {"slept_ms": MS}
  /flaky/KEY/N              500 for the first N requests with this KEY, then 200 {"attempt": k}
  /busy/KEY/N/SECS          429 with Retry-After: SECS for the first N requests, then 200
  /status/CODE              that status, body "status CODE body ..." (long)
  /huge/BYTES               BYTES bytes of 'x' (ending with "END"), streamed in 64 KiB writes
  /close                    promises 100000 bytes, sends 10, closes the connection
  /redirect/N               302 to /redirect/N-1; /redirect/0 answers like /echo
  /gzip                     a body gzip-encoded when the client accepts it
  /conns                    {"connections": distinct client connections seen so far}
  /inflight                 {"inflight": requests being answered, this one not counted}
"""
import argparse
import gzip
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qs, urlsplit

COUNTS = {}
CONNS = set()
INFLIGHT = [0]
LOCK = threading.Lock()


def bump(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace") if n else ""

    def echo(self, body):
        u = urlsplit(self.path)
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        self.reply(200, json.dumps({"method": self.command, "path": u.path,
                                    "query": parse_qs(u.query, keep_blank_values=True),
                                    "headers": hdrs, "body": body}))

    def handle_any(self):
        with LOCK:
            CONNS.add(self.client_address)
            INFLIGHT[0] += 1
        try:
            self.handle_one()
        finally:
            with LOCK:
                INFLIGHT[0] -= 1

    def handle_one(self):
        body = self.read_body()
        parts = urlsplit(self.path).path.strip("/").split("/")
        name = parts[0]
        if name == "echo":
            return self.echo(body)
        if name == "delay":
            ms = int(parts[1])
            time.sleep(ms / 1000.0)
            return self.reply(200, json.dumps({"slept_ms": ms}))
        if name == "flaky":
            k = bump("flaky/" + parts[1])
            if k <= int(parts[2]):
                return self.reply(500, "flaky failure %d" % k, "text/plain")
            return self.reply(200, json.dumps({"attempt": k}))
        if name == "busy":
            k = bump("busy/" + parts[1])
            if k <= int(parts[2]):
                return self.reply(429, "slow down", "text/plain", [("Retry-After", parts[3])])
            return self.reply(200, json.dumps({"attempt": k, "t": time.time()}))
        if name == "status":
            return self.reply(int(parts[1]), "status %s body " % parts[1] + "y" * 2000,
                              "text/plain")
        if name == "huge":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            left = n - 3
            try:
                while left > 0:
                    w = min(left, len(chunk))
                    self.wfile.write(chunk[:w])
                    left -= w
                self.wfile.write(b"END")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if name == "close":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            return None
        if name == "redirect":
            n = int(parts[1])
            if n == 0:
                return self.echo(body)
            return self.reply(302, "", "text/plain", [("Location", "/redirect/%d" % (n - 1))])
        if name == "gzip":
            data = json.dumps({"compressed": True, "pad": "z" * 5000}).encode()
            if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                return self.reply(200, gzip.compress(data), headers=[("Content-Encoding", "gzip")])
            return self.reply(200, data)
        if name == "inflight":
            with LOCK:
                n = INFLIGHT[0] - 1
            return self.reply(200, json.dumps({"inflight": n}))
        if name == "conns":
            with LOCK:
                n = len(CONNS)
            return self.reply(200, json.dumps({"connections": n}))
        return self.reply(404, "no such endpoint: " + name, "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of connections queues instead of retrying SYNs

    def server_bind(self):
        # HTTPServer.server_bind resolves our own name (getfqdn), which takes seconds on a
        # machine without DNS; 127.0.0.1 is all we need
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=int, default=300)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    # a watchdog rather than SIGALRM: the signal may be blocked by whoever started us
    threading.Thread(target=lambda: (time.sleep(a.lifetime), os._exit(0)), daemon=True).start()
    srv = Server(("127.0.0.1", 0), Handler)
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
