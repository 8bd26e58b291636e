#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sim_bounds.py CALLS.json SIM.csv [CALLS.json SIM.csv...] - checks tooldag-bench simulate's makespans against bounds
computed here from the calls alone (levels by longest path in calls, not the library's plan):

  any j   : level == sum over levels of LPT on the level's calls (longest first, each on the
            slot that frees first; at j = inf the level's longest call), exactly
  j = inf : eager == critical == critical path
  j = 1   : every policy == total work
  any j   : max(critical path, work / j) <= makespan <= total work
            eager, critical (greedy list schedules): makespan <= work / j + critical path
Exits 1 with a message naming the first row that breaks one.

sim_bounds.py --stg OPTIMA.tsv SWEEP.csv FILE.stg... - the same exact level figure, from the
STG files read here (not through the importer), against the level rows of `tooldag-bench sweep
--csv`; checks the sweep's ratios and prints the mean makespan over the optimum per j of the
barrier with longest first and with call order inside each level (what level does when no
durations are known)."""
import csv
import heapq
import json
import os
import sys


def lpt(durations, j, order=False):
    """Makespan of longest-processing-time-first list scheduling on j slots (0: unlimited);
    order: in the given order instead of longest first."""
    if not durations:
        return 0
    if j == 0 or j >= len(durations):
        return max(durations)
    free = [0] * j
    for d in durations if order else sorted(durations, reverse=True):
        heapq.heapreplace(free, free[0] + d)
    return max(free)


def level_lpt(us, level, j, order=False):
    """Sum over levels of LPT on that level's calls (order: in call order instead)."""
    by = {}
    for i, lv in level.items():
        by.setdefault(lv, []).append(us[i])
    return sum(lpt(ds, j, order) for ds in by.values())


def main(calls_path, csv_path):
    calls = json.load(open(calls_path))
    us = {c["id"]: round(c["input"]["ms"] * 1000) for c in calls}
    deps = {c["id"]: c.get("depends_on", []) for c in calls}
    level, finish = {}, {}
    for c in calls:  # the importer and generator write predecessors first
        i = c["id"]
        level[i] = 1 + max((level[d] for d in deps[i]), default=-1)
        finish[i] = us[i] + max((finish[d] for d in deps[i]), default=0)
    nlev = 1 + max(level.values())
    lmax = [0] * nlev
    for i, lv in level.items():
        lmax[lv] = max(lmax[lv], us[i])
    cp, work, lsum = max(finish.values()), sum(us.values()), sum(lmax)
    rows = list(csv.DictReader(open(csv_path)))
    assert rows, "no rows"
    for r in rows:
        pol, j = r["policy"], 0 if r["j"] == "inf" else int(r["j"])
        m = round(float(r["makespan_ms"]) * 1000)
        where = f"{csv_path}: {pol} j={j}: makespan {m} us"
        assert int(r["levels"]) == nlev, f"{where}: {r['levels']} levels, expected {nlev}"
        assert round(float(r["critical_path_ms"]) * 1000) == cp, f"{where}: critical path"
        assert round(float(r["total_work_ms"]) * 1000) == work, f"{where}: total work"
        if pol == "level":
            want = level_lpt(us, level, j)
            assert j or want == lsum, "LPT at j = inf is not the sum of the longest calls"
            assert m == want, f"{where}, expected exactly {want} (level by level LPT)"
        if j == 0:
            assert pol == "level" or m == cp, f"{where}, expected exactly {cp}"
            continue
        if j == 1:
            assert m == work, f"{where}, expected the total work {work}"
        assert m >= max(cp, work / j) - 1e-9, f"{where} beats the lower bound"
        assert m <= work, f"{where} above the total work {work}"
        if pol != "level":
            ub = work / j + cp
            assert m <= ub + 1e-6, f"{where} above the list-scheduling bound {ub:.0f}"


def read_stg(path):
    """Durations and levels of the real tasks of an STG file (dummy entry and exit dropped)."""
    nums = []
    for line in open(path):
        line = line.split("#", 1)[0]
        nums += [int(x) for x in line.split()]
    n, at, us, preds = nums[0], 1, {}, {}
    for _ in range(n + 2):
        t, dur, np_ = nums[at : at + 3]
        preds[t], us[t] = nums[at + 3 : at + 3 + np_], dur * 1000
        at += 3 + np_
    level = {}
    for t in range(1, n + 1):  # STG lists predecessors before their successors
        level[t] = 1 + max((level[q] for q in preds[t] if 1 <= q <= n), default=-1)
    return {t: us[t] for t in range(1, n + 1)}, level


def check_stg(optima_path, csv_path, files):
    optima = {}
    for r in csv.DictReader(open(optima_path), delimiter="\t"):
        if r["optimum"]:
            optima[(r["graph"], int(r["m"]))] = float(r["optimum"])
    root = os.path.dirname(os.path.abspath(optima_path))
    rows = {(os.path.abspath(r["graph"]), int(r["j"])): r
            for r in csv.DictReader(open(csv_path)) if r["policy"] == "level"}
    ratios = {}
    for f in files:
        us, level = read_stg(f)
        rel = os.path.relpath(os.path.abspath(f), root)
        for j in (2, 4, 8):
            want = level_lpt(us, level, j)
            r = rows[(os.path.abspath(f), j)]
            got = round(float(r["makespan_ms"]) * 1000)
            assert got == want, f"{f} j={j}: level {got} us, level by level LPT gives {want}"
            if (rel, j) in optima:
                q = want / 1000 / optima[(rel, j)]
                assert abs(float(r["ratio_to_optimum"]) - q) < 1e-4, f"{f} j={j}: ratio"
                ratios.setdefault(j, []).append(q)
                q = level_lpt(us, level, j, True) / 1000 / optima[(rel, j)]
                ratios.setdefault(-j, []).append(q)
    for j in sorted(ratios, key=abs):
        q = ratios[j]
        how = "in call order" if j < 0 else "longest first"
        print(f"level ({how} inside levels), j = {abs(j)}: {sum(q) / len(q):.4f} mean over "
              f"the optimum ({len(q)} graphs)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stg"]:
        try:
            check_stg(sys.argv[2], sys.argv[3], sys.argv[4:])
        except AssertionError as e:
            print(e)
            sys.exit(1)
        sys.exit(0)
    bad = 0
    for k in range(1, len(sys.argv) - 1, 2):  # one interpreter start for every pair
        try:
            main(sys.argv[k], sys.argv[k + 1])
        except AssertionError as e:
            print(e)
            bad = 1
    sys.exit(bad)
