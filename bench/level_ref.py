#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""level_ref.py - a straightforward Python Kahn leveling, the baseline of the leveling benchmark.

    python3 bench/level_ref.py [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]

Generates exactly the layered graph of bench/ref/kahn_ref.c and `tooldag-bench level`
(same xorshift64* generator, same draws, so the same edges): CALLS/LEVELS calls per level, each
call of level > 0 depends on LO..HI distinct random calls of the previous level. Generation is not
timed. The timed part is what a leveler does with per-call dependency lists: successor lists,
in-degrees, frontier-by-frontier Kahn, and the check that every call was placed. No networkx.
Prints one JSON line like kahn_ref's.
"""
import argparse
import json
import resource
import sys
import time

MASK = (1 << 64) - 1


def generate(n, levels, lo, hi, seed):
    """Per-call dependency lists, drawn exactly like kahn_ref.c."""
    state = seed
    w = n // levels
    n = w * levels
    deps = []
    for v in range(n):
        lvl = v // w
        if lvl == 0:
            deps.append([])
            continue
        # xorshift64* inlined: this loop runs millions of times
        state ^= state >> 12
        state ^= (state << 25) & MASK
        state ^= state >> 27
        r = ((state * 2685821657736338717) & MASK) >> 32
        k = min(lo + r % (hi - lo + 1), w)
        base = (lvl - 1) * w
        mine = []
        while len(mine) < k:
            state ^= state >> 12
            state ^= (state << 25) & MASK
            state ^= state >> 27
            u = base + (((state * 2685821657736338717) & MASK) >> 32) % w
            if u not in mine:  # distinct deps, redrawn like kahn_ref
                mine.append(u)
        deps.append(mine)
    return deps


def kahn_levels(deps):
    n = len(deps)
    indeg = [len(d) for d in deps]
    succ = [[] for _ in range(n)]
    for v, ds in enumerate(deps):
        for u in ds:
            succ[u].append(v)
    frontier = [v for v in range(n) if indeg[v] == 0]
    levels, placed = [], 0
    while frontier:
        levels.append(frontier)
        placed += len(frontier)
        nxt = []
        for u in frontier:
            for v in succ[u]:
                indeg[v] -= 1
                if indeg[v] == 0:
                    nxt.append(v)
        frontier = nxt
    if placed != n:
        raise SystemExit(f"level_ref.py: cycle (placed {placed} of {n})")
    return levels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100000, help="calls (default 100000)")
    ap.add_argument("-l", type=int, default=10, help="levels (default 10)")
    ap.add_argument("-d", default="1:3", help="LO:HI dependencies per call (default 1:3)")
    ap.add_argument("-s", type=int, default=None, help="seed (default: kahn_ref's 42)")
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.d.split(":"))
    if not (1 <= lo <= hi) or a.l < 1 or a.n // a.l < 1:
        ap.error("need 1 <= LO <= HI and at least one call per level")
    seed = 42 if a.s is None else (a.s | 1)
    t0 = time.perf_counter()
    deps = generate(a.n, a.l, lo, hi, seed)
    t1 = time.perf_counter()
    levels = kahn_levels(deps)
    t2 = time.perf_counter()
    n = len(deps)
    if len(levels) != a.l:
        sys.exit(f"level_ref.py: expected {a.l} levels, found {len(levels)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"tool": "python", "calls": n, "edges": sum(map(len, deps)),
                      "levels": len(levels), "leveling_s": round(t2 - t1, 6),
                      "ns_per_call": round((t2 - t1) * 1e9 / n, 1), "gen_s": round(t1 - t0, 3),
                      "maxrss_mb": round(rss, 1)}, separators=(",", ":")))


if __name__ == "__main__":
    main()
