#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sim_bounds.py CALLS.json SIM.csv [CALLS.json SIM.csv...] - checks tooldag-bench simulate's makespans against bounds
computed here from the calls alone (levels by longest path in calls, not the library's plan):

  j = inf : level == sum over levels of the longest call; eager == critical == critical path
  j = 1   : every policy == total work
  any j   : max(critical path, work / j) <= makespan <= total work
            eager, critical (greedy list schedules): makespan <= work / j + critical path
            level: makespan <= sum over levels of (level work / j + longest call of the level)
Exits 1 with a message naming the first row that breaks one."""
import csv
import json
import sys


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
    lmax, lwork = [0] * nlev, [0] * nlev
    for i, lv in level.items():
        lmax[lv] = max(lmax[lv], us[i])
        lwork[lv] += us[i]
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
        if j == 0:
            want = lsum if pol == "level" else cp
            assert m == want, f"{where}, expected exactly {want}"
            continue
        if j == 1:
            assert m == work, f"{where}, expected the total work {work}"
        assert m >= max(cp, work / j) - 1e-9, f"{where} beats the lower bound"
        assert m <= work, f"{where} above the total work {work}"
        if pol == "level":
            ub = sum(w / j + mx for w, mx in zip(lwork, lmax))
        else:
            ub = work / j + cp
        assert m <= ub + 1e-6, f"{where} above the list-scheduling bound {ub:.0f}"


if __name__ == "__main__":
    bad = 0
    for k in range(1, len(sys.argv) - 1, 2):  # one interpreter start for every pair
        try:
            main(sys.argv[k], sys.argv[k + 1])
        except AssertionError as e:
            print(e)
            bad = 1
    sys.exit(bad)
