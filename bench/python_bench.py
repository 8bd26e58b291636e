#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""python_bench.py - the Python binding against what a Python program would write without it.

    /usr/bin/python3 bench/python_bench.py [--calls 100000] [--levels 10] [--workers 8]
        [--rounds 5] [--proc-calls 2000] [--skip-proc | --skip-inproc]

The in-process workload is that of the peers' in-process benchmark: CALLS no-op calls in
LEVELS levels, each call of a level > 0 depending on 1-3 random calls of the previous level
(seeded). Each round runs every contender once, in turn, in this process:

  binding-async   await g.run_async(plan, functions={"noop": coroutine})   (the plan built
                  beforehand; the level schedule, concurrency unbounded)
  binding-async-e2e  the same from the calls as Python dicts: JSON, decoding, planning,
                  running, and the results as dicts
  gather          await asyncio.gather(*(noop(input) for each call of the level)), level by
                  level (levels computed beforehand)
  binding-sync    g.run(plan, functions={"noop": plain function}, workers=W)
  threads         ThreadPoolExecutor(W): submit every call of the level, wait for all, next
                  level (the seed's Python runtime)

Process tools: PROC_CALLS calls of `run: [/bin/true]` in 10 levels (same dependency shape),
concurrency 8, through `tooldag run GRAPH CALLS` (the whole command) and through g.run(CALLS
text) (the whole call, results included), in turn each round, which goes first alternating. Prints a Markdown table of
medians and per-round ratios (each ratio from one round), then one JSON line.
Environment: TOOLDAG_LIBRARY (default build/libtooldag.so), TOOLDAG (default build/tooldag).
"""
import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TOOLDAG_LIBRARY", os.path.join(ROOT, "build", "libtooldag.so"))
sys.path.insert(0, os.path.join(ROOT, "python"))
import tooldag  # noqa: E402


def layered(n, levels, seed):
    """Per-call dependency lists: level k > 0 calls depend on 1-3 calls of level k-1."""
    rnd = random.Random(seed)
    width = n // levels
    deps = []
    for lvl in range(levels):
        for _ in range(width):
            base = (lvl - 1) * width
            deps.append([] if lvl == 0 else
                        [base + j for j in rnd.sample(range(width), rnd.randint(1, 3))])
    return deps, [list(range(k * width, (k + 1) * width)) for k in range(levels)]


def batch(deps, tool):
    return [{"type": "tool_use", "id": "c%d" % i, "name": tool, "input": {"i": i},
             "depends_on": ["c%d" % d for d in ds]} for i, ds in enumerate(deps)]


async def noop(args):
    return "ok"


def noop_sync(args):
    return "ok"


def timed(fn):
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def in_process(args):
    deps, levels = layered(args.calls, args.levels, 42)
    calls = batch(deps, "noop")
    inputs = [c["input"] for c in calls]
    g = tooldag.Graph.loads("version: 1\nconcurrency: %d\ntools:\n  noop: {function: noop}\n"
                            % args.calls, name="bench.yaml")
    plan = g.plan(calls)

    def check(out):
        blocks = out[0]["content"]
        assert len(blocks) == args.calls and all(b["content"] == "ok" for b in blocks[:100])

    def binding_async():
        check(asyncio.run(g.run_async(plan, functions={"noop": noop})))

    def binding_async_e2e():
        check(asyncio.run(g.run_async(calls, functions={"noop": noop})))

    def gather():
        async def main():
            done = 0
            for level in levels:
                res = await asyncio.gather(*(noop(inputs[c]) for c in level))
                done += len(res)
            return done
        assert asyncio.run(main()) == args.calls

    def binding_sync():
        check(g.run(plan, functions={"noop": noop_sync}, workers=args.workers))

    def threads():
        with ThreadPoolExecutor(max_workers=args.workers) as ex:
            for level in levels:
                wait([ex.submit(noop_sync, inputs[c]) for c in level])

    contenders = [("binding-async", binding_async), ("binding-async-e2e", binding_async_e2e),
                  ("gather", gather), ("binding-sync", binding_sync), ("threads", threads)]
    rounds = {name: [] for name, _ in contenders}
    for r in range(args.rounds):
        for name, fn in contenders:
            rounds[name].append(timed(fn)[0])
        print("round %d: %s" % (r + 1, ", ".join("%s %.3f s" % (n, rounds[n][-1])
                                                  for n, _ in contenders)), file=sys.stderr)
    return rounds


def processes(args, tmp):
    deps, _ = layered(args.proc_calls, 10, 7)
    graph = os.path.join(tmp, "graph.yaml")
    calls = os.path.join(tmp, "calls.json")
    with open(graph, "w") as f:
        f.write("version: 1\nconcurrency: 8\ntools:\n  t: {run: [/bin/true]}\n")
    with open(calls, "w") as f:
        json.dump(batch(deps, "t"), f)
    with open(calls) as f:
        text = f.read()
    g = tooldag.Graph.load(graph)
    cli = os.environ.get("TOOLDAG", os.path.join(ROOT, "build", "tooldag"))

    def command():
        subprocess.run([cli, "run", graph, calls], check=True, stdout=subprocess.DEVNULL)

    def binding():
        out = g.run(text)
        assert not any(b.get("is_error") for b in out[0]["content"])

    rounds = {"cli": [], "binding": []}
    for r in range(args.rounds):
        order = [("cli", command), ("binding", binding)]
        for name, fn in order if r % 2 == 0 else order[::-1]:  # neither always goes first
            rounds[name].append(timed(fn)[0])
        print("process round %d: cli %.3f s, binding %.3f s"
              % (r + 1, rounds["cli"][-1], rounds["binding"][-1]), file=sys.stderr)
    return rounds


def ratios(a, b):
    return [x / y for x, y in zip(a, b)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--levels", type=int, default=10)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--proc-calls", type=int, default=2000)
    ap.add_argument("--skip-proc", action="store_true")
    ap.add_argument("--skip-inproc", action="store_true")
    args = ap.parse_args()
    out = {}
    if not args.skip_inproc:
        out = in_process_table(args)
    if not args.skip_proc:
        out.update(process_table(args))
    print(json.dumps(out))


def in_process_table(args):
    res = in_process(args)
    med = {k: statistics.median(v) for k, v in res.items()}
    print("| contender | median s | calls/s |\n|---|---:|---:|")
    for k, v in med.items():
        print("| %s | %.3f | %s |" % (k, v, format(round(args.calls / v), ",")))
    r_async = statistics.median(ratios(res["gather"], res["binding-async"]))
    r_e2e = statistics.median(ratios(res["gather"], res["binding-async-e2e"]))
    r_sync = statistics.median(ratios(res["threads"], res["binding-sync"]))
    print("\ngather / binding-async %.2f, gather / binding-async-e2e %.2f, "
          "threads / binding-sync %.2f (medians of per-round ratios; > 1: the binding is faster)"
          % (r_async, r_e2e, r_sync))
    return {"calls": args.calls, "levels": args.levels, "workers": args.workers,
            "rounds": res, "gather_over_binding_async": r_async,
            "gather_over_binding_async_e2e": r_e2e, "threads_over_binding_sync": r_sync}


def process_table(args):
    with tempfile.TemporaryDirectory() as tmp:
        proc = processes(args, tmp)
    cli, binding = statistics.median(proc["cli"]), statistics.median(proc["binding"])
    r_proc = statistics.median(ratios(proc["cli"], proc["binding"]))
    print("\n%d process calls: cli %.3f s (%s calls/s), binding %.3f s (%s calls/s), "
          "cli / binding %.2f" % (args.proc_calls, cli, format(round(args.proc_calls / cli), ","),
                                  binding, format(round(args.proc_calls / binding), ","), r_proc))
    return {"proc_calls": args.proc_calls, "process_rounds": proc, "cli_over_binding": r_proc}


if __name__ == "__main__":
    sys.exit(main())
