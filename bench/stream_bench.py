#!/usr/bin/env python3
"""Streamed response vs whole message: time from the stream's first byte to the results.

A model's response with five parallel calls of a 1-second tool is replayed at a model's pace:
the events of the Anthropic SDK's recorded tool_use stream (tests/data/recorded/), with its
one tool_use block repeated for the five calls; the stream lasts 2 s. Two paces:

  burst   the calls complete 50 ms apart, the last at 2 s (text before them);
  spread  the calls complete 400 ms apart, the last at 2 s (long arguments).

Two ways to run them, interleaved round by round:

  streamed  the stream is piped into `tooldag run GRAPH -` as it is written (calls start
            while it goes on);
  whole     the host waits for the whole stream, then gives tooldag the message (the
            calls as one JSON document), which is what the SDKs' agent loops do.

Each call's result time from the first byte comes from the run report (its end_ms, placed on
the wall clock by the process's exit). Prints one line per round and the medians of the
last, first and mean result times. Usage: stream_bench.py TOOLDAG REPO [ROUNDS]
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
PACES = (("burst", 0.05), ("spread", 0.4))  # between two calls' completion


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


def build(repo, gap):
    """[(seconds from the first byte, bytes)] of the five-call stream, and its message."""
    ev = events(repo)
    head = [e for e in ev if e[0] in ("message_start", "ping")]
    tail = [e for e in ev if e[0] in ("message_delta", "message_stop")]
    block = [e for e in ev if e[1].get("index") == 1]  # the recorded tool_use block
    first_done = LAST_CALL_S - (CALLS - 1) * gap
    timed, content = [(0.0, e) for e in head], []
    for k in range(CALLS):
        done = first_done + k * gap
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
            span = gap if k else first_done
            timed.append((done - span + span * (j + 1) / len(block), (name, data)))
        content.append({"type": "tool_use", "id": "toolu_bench_%d" % k, "name": "wait",
                        "input": {"ms": TOOL_MS}})
    timed += [(LAST_CALL_S, e) for e in tail]
    wire = [(t, ("event: %s\ndata: %s\n\n" % (n, json.dumps(d))).encode()) for t, (n, d) in timed]
    message = {"role": "assistant", "content": content}
    return wire, json.dumps(message).encode()


def result_times(wall, report):
    """Each call's result time from the first byte: its end in the run, placed on the wall
    clock by the run's last end (the process exits right after it)."""
    with open(report, encoding="utf-8") as f:
        rep = json.load(f)
    return sorted(wall - (rep["makespan_ms"] - c["end_ms"]) / 1000 for c in rep["calls"])


def run_streamed(tooldag, graph, wire, report):
    p = subprocess.Popen([tooldag, "run", "--report", report, graph, "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
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
    return result_times(time.monotonic() - t0, report), out


def run_whole(tooldag, graph, wire, message, report):
    t0 = time.monotonic()
    time.sleep(max(0.0, t0 + wire[-1][0] - time.monotonic()))  # the host reads the stream
    p = subprocess.run([tooldag, "run", "--report", report, graph, "-"], input=message,
                       stdout=subprocess.PIPE, check=True)
    return result_times(time.monotonic() - t0, report), p.stdout


def median_of(rounds, pick):
    return statistics.median(pick(r) for r in rounds)


def main():
    tooldag, repo = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rows = []
    with tempfile.TemporaryDirectory() as d:
        graph, report = os.path.join(d, "g.yaml"), os.path.join(d, "report.json")
        with open(graph, "w") as f:
            f.write("version: 1\ntools:\n  wait: {builtin: sleep}\n")
        for pace, gap in PACES:
            wire, message = build(repo, gap)
            s, w = [], []
            for r in range(rounds):
                ts, out_s = run_streamed(tooldag, graph, wire, report)
                tw, out_w = run_whole(tooldag, graph, wire, message, report)
                if out_s != out_w or len(json.loads(out_s)["content"]) != CALLS:
                    sys.exit("%s round %d: the two runs' results differ" % (pace, r))
                s.append(ts)
                w.append(tw)
                print("%s round %d: last result streamed %.3f s, whole %.3f s"
                      % (pace, r + 1, ts[-1], tw[-1]))
            for name, pick in (("last result", lambda t: t[-1]), ("first result", lambda t: t[0]),
                               ("mean of the results", statistics.mean)):
                ms, mw = median_of(s, pick), median_of(w, pick)
                rows.append("| %s (%d ms apart) | %s | %.3f s | %.3f s | %.2f |"
                            % (pace, gap * 1000, name, ms, mw, ms / mw))
    print("| calls complete | first byte to | streamed | whole message | streamed / whole |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(rows))
    print("(median of %d rounds)" % rounds)


if __name__ == "__main__":
    main()
