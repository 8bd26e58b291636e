#!/usr/bin/env python3
"""Streamed response vs whole message: time from the stream's first byte to the last result.

A model's response with five parallel calls is replayed at a model's pace: the events of the
Anthropic SDK's recorded tool_use stream (tests/data/recorded/), with its one tool_use block
repeated for five calls of a 1-second tool, so the calls complete 50 ms apart and the stream
lasts 2 s. Two ways to run them, interleaved round by round:

  streamed  the stream is piped into `tooldag run GRAPH -` as it is written;
  whole     the host waits for the whole stream, then gives tooldag the message (the
            calls as one JSON document), which is what the SDKs' agent loops do.

Prints one line per round and the medians. Usage: stream_bench.py TOOLDAG REPO [ROUNDS]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CALLS = 5
TOOL_MS = 1000
LAST_CALL_S = 2.0  # when the last call's block closes
GAP_S = 0.05       # between two calls' completion


def events(repo):
    """The recorded stream's events, as (name, data) pairs."""
    path = os.path.join(repo, "tests/data/recorded/anthropic-stream-tool_use_response.txt")
    out, name = [], None
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[6:])))
    return out


def build(repo):
    """[(seconds from the first byte, bytes)] of the five-call stream, and its message."""
    ev = events(repo)
    head = [e for e in ev if e[0] in ("message_start", "ping")]
    tail = [e for e in ev if e[0] in ("message_delta", "message_stop")]
    block = [e for e in ev if e[1].get("index") == 1]  # the recorded tool_use block
    first_done = LAST_CALL_S - (CALLS - 1) * GAP_S
    timed, content = [(0.0, e) for e in head], []
    for k in range(CALLS):
        done = first_done + k * GAP_S
        frags = block[1:-1]
        for j, (name, data) in enumerate(block):
            data = json.loads(json.dumps(data))
            data["index"] = k
            if name == "content_block_start":
                data["content_block"]["id"] = "toolu_bench_%d" % k
                data["content_block"]["name"] = "wait"
            if name == "content_block_delta":
                data["delta"]["partial_json"] = ""
                if j == len(block) - 2:
                    data["delta"]["partial_json"] = '{"ms": %d}' % TOOL_MS
            # a call's fragments spread over the 50 ms before it completes (the first one's
            # over the time before it)
            span = GAP_S if k else first_done
            timed.append((done - span + span * (j + 1) / len(block), (name, data)))
        content.append({"type": "tool_use", "id": "toolu_bench_%d" % k, "name": "wait",
                        "input": {"ms": TOOL_MS}})
    timed += [(LAST_CALL_S, e) for e in tail]
    wire = [(t, ("event: %s\ndata: %s\n\n" % (n, json.dumps(d))).encode()) for t, (n, d) in timed]
    message = {"role": "assistant", "content": content}
    return wire, json.dumps(message).encode()


def run_streamed(tooldag, graph, wire):
    p = subprocess.Popen([tooldag, "run", graph, "-"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    t0 = time.monotonic()
    for at, chunk in wire:
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        p.stdin.write(chunk)
        p.stdin.flush()
    p.stdin.close()
    out = p.stdout.read()
    p.wait()
    return time.monotonic() - t0, out


def run_whole(tooldag, graph, wire, message):
    t0 = time.monotonic()
    time.sleep(max(0.0, t0 + wire[-1][0] - time.monotonic()))  # the host reads the stream
    p = subprocess.run([tooldag, "run", graph, "-"], input=message, stdout=subprocess.PIPE,
                       check=True)
    return time.monotonic() - t0, p.stdout


def main():
    tooldag, repo = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    wire, message = build(repo)
    with tempfile.TemporaryDirectory() as d:
        graph = os.path.join(d, "g.yaml")
        with open(graph, "w") as f:
            f.write("version: 1\ntools:\n  wait: {builtin: sleep}\n")
        s, w = [], []
        for r in range(rounds):
            ts, out_s = run_streamed(tooldag, graph, wire)
            tw, out_w = run_whole(tooldag, graph, wire, message)
            if out_s != out_w or len(json.loads(out_s)["content"]) != CALLS:
                sys.exit("round %d: the two runs' results differ" % r)
            s.append(ts)
            w.append(tw)
            print("round %d: streamed %.3f s, whole %.3f s" % (r + 1, ts, tw))
    ms, mw = statistics.median(s), statistics.median(w)
    print("| input | first byte to last result (median of %d) |" % rounds)
    print("|---|---:|")
    print("| streamed, piped as it is written | %.3f s |" % ms)
    print("| whole message, after the stream | %.3f s |" % mw)
    print("| streamed / whole | %.3f |" % (ms / mw))


if __name__ == "__main__":
    main()
