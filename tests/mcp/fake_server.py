#!/usr/bin/python3
"""fake_server.py MODE - a small MCP stdio server that misbehaves on purpose, for the fault tests.

Modes:
  ok              a well-behaved server (the tools below)
  banner          ok, but first prints a line that is not JSON-RPC on stdout
  exit-at-start   writes to stderr and exits 3 before reading anything
  exit-in-init    reads initialize, writes to stderr, exits 4 without answering
  old-version     answers initialize with protocol version 1999-01-01
  stubborn        ok, but ignores SIGTERM and stays after stdin closes (needs SIGKILL)

Tools (any mode that initializes):
  echo {text}        text content "echo: TEXT"
  slow {ms, text}    answers after ms milliseconds (calls run concurrently)
  never              never answers
  crash              writes "crash: fatal error in tool" to stderr, exits 5
  garbage            answers with a line that is not JSON
  wrong-id           answers with an id that was never sent, and nothing else
  big {bytes}        text content of that many 'x'
  huge               an answer of one line longer than 16 MiB
  ask                sends sampling/createMessage to the client, returns its answer
  roots              sends roots/list to the client, returns its answer
  caps               returns the capabilities the client declared in initialize
  cancelled          returns the request ids of every notifications/cancelled seen so far
  pid                returns its process id
  fail               isError: true, text "it failed"
  structured         text "see data" and structuredContent {"a": 1}
"""
import json
import os
import signal
import sys
import threading
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
lock = threading.Lock()
cancelled = []
pending_client = {}  # our request id -> event + answer
client_caps = {}


def send(msg):
    with lock:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()


def text_result(rid, text, is_error=False):
    r = {"content": [{"type": "text", "text": text}]}
    if is_error:
        r["isError"] = True
    send({"jsonrpc": "2.0", "id": rid, "result": r})


def ask_client(rid, method="sampling/createMessage", params=None):
    ev = threading.Event()
    pending_client[9001] = [ev, None]
    send({"jsonrpc": "2.0", "id": 9001, "method": method,
          "params": params if params is not None else {"messages": [], "maxTokens": 10}})
    ev.wait(5)
    text_result(rid, json.dumps(pending_client[9001][1]))


def call(rid, name, args):
    if name == "echo":
        text_result(rid, "echo: " + str(args.get("text", "")))
    elif name == "slow":
        time.sleep(args.get("ms", 100) / 1000.0)
        text_result(rid, "slow: " + str(args.get("text", "")))
    elif name == "never":
        pass
    elif name == "crash":
        sys.stderr.write("crash: fatal error in tool\n")
        sys.stderr.flush()
        os._exit(5)
    elif name == "garbage":
        with lock:
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
    elif name == "wrong-id":
        text_result(rid + 100000, "for nobody")
    elif name == "big":
        text_result(rid, "x" * int(args.get("bytes", 1000)))
    elif name == "huge":
        text_result(rid, "y" * (17 << 20))
    elif name == "ask":
        ask_client(rid)
    elif name == "roots":
        ask_client(rid, "roots/list", {})
    elif name == "caps":
        text_result(rid, json.dumps(client_caps))
    elif name == "cancelled":
        text_result(rid, json.dumps(cancelled))
    elif name == "pid":
        text_result(rid, str(os.getpid()))
    elif name == "structured":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "content": [{"type": "text", "text": "see data"}], "structuredContent": {"a": 1}}})
    elif name == "fail":
        text_result(rid, "it failed", is_error=True)
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "unknown tool " + name}})


def main():
    if mode == "exit-at-start":
        sys.stderr.write("fake: missing configuration file\n")
        sys.exit(3)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "banner":
        print("fake server listening on stdio", flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        method = msg.get("method")
        if method == "initialize":
            client_caps.update(msg["params"].get("capabilities", {}))
            if mode == "exit-in-init":
                sys.stderr.write("fake: cannot load model weights\n")
                sys.stderr.flush()
                os._exit(4)
            version = "1999-01-01" if mode == "old-version" else "2025-06-18"
            send({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": version, "capabilities": {"tools": {}},
                "serverInfo": {"name": "fake", "version": "1"}}})
        elif method == "tools/call":
            p = msg["params"]
            threading.Thread(target=call, args=(msg["id"], p["name"], p.get("arguments", {})),
                             daemon=True).start()
        elif method == "notifications/cancelled":
            cancelled.append(msg["params"]["requestId"])
        elif method is None and msg.get("id") in pending_client:
            pending_client[msg["id"]][1] = msg.get("error") or msg.get("result")
            pending_client[msg["id"]][0].set()
    if mode == "stubborn":
        while True:
            time.sleep(1)


main()
