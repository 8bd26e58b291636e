#!/usr/bin/python3
"""fake_http_server.py PORTFILE LOGFILE - a small MCP Streamable HTTP server that misbehaves on
purpose, for the HTTP fault tests. It listens on 127.0.0.1 on a port of the kernel's choosing,
writes that port to PORTFILE, and appends one line per request to LOGFILE
("METHOD SESSION JSONRPC-METHOD-OR-ID"). It runs until killed.

Every request must carry the header X-Key with the value of the environment variable
FAKE_KEY (when set): otherwise 401. initialize answers as JSON with a new Mcp-Session-Id;
a request naming an unknown session gets 404; notifications and responses get 202.

Tools (tools/call):
  echo {text}          JSON answer "echo: TEXT"
  sse {text}           an event stream: a progress notification, a ping request, the answer
  expire {text}        the server forgets every session and answers 404; in the session that
                       follows it answers "renewed: TEXT"
  gone                 always 404 (the session is forgotten each time)
  busy                 503 with a body, every time
  flaky {text}         503 on the first call, then "flaky: TEXT"
  forbidden            403
  cut                  an event stream with a progress notification, then the connection ends
  html                 200 application/json whose body is not JSON
  pings                how many ping answers the server got back (waits up to 5 s for one)
"""
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
sessions = set()
state = {"expired": set(), "flaky": 0, "pings": 0}
log_path = sys.argv[2]


def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")


def tool_text(rid, text, is_error=False):
    r = {"content": [{"type": "text", "text": text}]}
    if is_error:
        r["isError"] = True
    return {"jsonrpc": "2.0", "id": rid, "result": r}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, msg, headers=None):
        self.reply(200, json.dumps(msg).encode(), headers=headers)

    def reply_sse(self, msgs, end=True):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for m in msgs:
            self.wfile.write(b"event: message\ndata: " + json.dumps(m).encode() + b"\n\n")
            self.wfile.flush()
        if not end:
            # a half event, then the connection ends without the answer
            self.wfile.write(b"event: message\ndata: {\"jsonrpc\"")
            self.wfile.flush()
        self.close_connection = True

    def authorized(self):
        key = os.environ.get("FAKE_KEY")
        if key is None or self.headers.get("X-Key") == key:
            return True
        self.reply(401, b'{"error":"invalid key"}')
        return False

    def do_DELETE(self):
        sid = self.headers.get("Mcp-Session-Id")
        log("DELETE %s" % sid)
        with lock:
            known = sid in sessions
            sessions.discard(sid)
        self.reply(200 if known else 404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sid = self.headers.get("Mcp-Session-Id")
        try:
            msg = json.loads(body)
        except ValueError:
            self.reply(400)
            return
        what = msg.get("method") or "answer:%s" % msg.get("id")
        log("POST %s %s %s" % (sid, what, self.headers.get("MCP-Protocol-Version")))
        if not self.authorized():
            return
        accept = self.headers.get("Accept", "")
        if "application/json" not in accept or "text/event-stream" not in accept:
            self.reply(406)
            return
        if what == "initialize":
            new = str(uuid.uuid4())
            with lock:
                sessions.add(new)
            self.reply_json({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "fake-http", "version": "1"}}},
                headers={"Mcp-Session-Id": new})
            return
        with lock:
            known = sid in sessions
        if not known:
            self.reply(404, b'{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"}}')
            return
        if "method" not in msg:  # an answer to our ping
            with lock:
                state["pings"] += 1
            self.reply(202)
            return
        if "id" not in msg:  # a notification
            self.reply(202)
            return
        if what == "tools/call":
            self.call(msg["id"], msg["params"]["name"], msg["params"].get("arguments", {}), sid)
        else:
            self.reply_json({"jsonrpc": "2.0", "id": msg["id"],
                             "error": {"code": -32601, "message": "no " + what}})

    def call(self, rid, name, args, sid):
        text = str(args.get("text", ""))
        if name == "echo":
            self.reply_json(tool_text(rid, "echo: " + text))
        elif name == "sse":
            token = rid
            self.reply_sse([
                {"jsonrpc": "2.0", "method": "notifications/progress",
                 "params": {"progressToken": token, "progress": 1, "total": 2}},
                {"jsonrpc": "2.0", "id": "ping-%s" % rid, "method": "ping"},
                tool_text(rid, "sse: " + text)])
        elif name == "expire":
            with lock:
                first = sid not in state["expired"] and len(state["expired"]) == 0
                if first:
                    state["expired"].add(sid)
                    sessions.clear()
            if first:
                self.reply(404, b"session expired")
            else:
                self.reply_json(tool_text(rid, "renewed: " + text))
        elif name == "gone":
            with lock:
                sessions.clear()
            self.reply(404, b"no such session")
        elif name == "busy":
            self.reply(503, b"overloaded, try later", ctype="text/plain")
        elif name == "flaky":
            with lock:
                state["flaky"] += 1
                n = state["flaky"]
            if n == 1:
                self.reply(503, b"warming up", ctype="text/plain")
            else:
                self.reply_json(tool_text(rid, "flaky: " + text))
        elif name == "forbidden":
            self.reply(403, b"not for you", ctype="text/plain")
        elif name == "cut":
            self.reply_sse([{"jsonrpc": "2.0", "method": "notifications/progress",
                             "params": {"progressToken": rid, "progress": 1}}], end=False)
        elif name == "html":
            self.reply(200, b"<html><body>Service Unavailable</body></html>")
        elif name == "pings":
            # the ping's answer is a request of its own, which may arrive after this one
            for _ in range(50):
                with lock:
                    n = state["pings"]
                if n:
                    break
                time.sleep(0.1)
            self.reply_json(tool_text(rid, "pings: %d" % n))
        else:
            self.reply_json({"jsonrpc": "2.0", "id": rid,
                             "error": {"code": -32602, "message": "unknown tool " + name}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
server.handle_error = lambda request, address: None  # a client that hung up: not news
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
