#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""realgraph_levels.py - an independent leveling of real task graphs, for test_realgraphs.sh.

    python3 tests/realgraph_levels.py [--wf-readme README.md] MANIFEST

MANIFEST has one line per graph: FORMAT<TAB>SOURCE<TAB>PLAN_JSON<TAB>CALLS_JSON, FORMAT being
`stg` or `wf`, SOURCE the original data file, PLAN_JSON what `tooldag plan --json` printed for its
import and CALLS_JSON the imported batch (its `ms` inputs are checked against the runtimes).
For each graph this reads SOURCE itself (not the converter's output) and computes every task's
level as the longest path from a source (a memoised depth-first search over predecessors, not
Kahn's algorithm, so a shared bug cannot hide), then checks the plan: the level count, every
call's level, its direct dependencies, and that `levels` lists each call once, in batch order,
on its level. With --wf-readme, the WfCommons level counts and tasks per level must also equal
the table in that README. Prints one line per graph; exits 1 if any check failed.
"""
import argparse
import json
import math
import os
import re
import sys


def stg_graph(path):
    """Task ids (t1..tN) and predecessors, the dummy entry 0 and exit N+1 left out."""
    with open(path) as f:
        text = "\n".join(line.split("#", 1)[0] for line in f)
    tok = [int(x) for x in text.split()]
    n, pos = tok[0], 1
    ids, preds, ms = [], {}, {}
    for k in range(n + 2):
        num, time, npred = tok[pos:pos + 3]
        assert num == k, f"{path}: task {k} numbered {num}"
        ps = tok[pos + 3:pos + 3 + npred]
        pos += 3 + npred
        if 1 <= k <= n:
            ids.append(str(k))
            preds[str(k)] = {str(p) for p in ps if 1 <= p <= n}
            ms[str(k)] = time  # one time unit = 1 ms by default
    assert pos == len(tok), f"{path}: trailing numbers"
    return ids, preds, ms


def wf_graph(path):
    """Task ids and predecessors from `parents` and `children` (1.5: id; 1.4: name)."""
    with open(path) as f:
        wf = json.load(f)["workflow"]
    if "specification" in wf:
        tasks, key = wf["specification"]["tasks"], "id"
        runtime = {t["id"]: t["runtimeInSeconds"] for t in wf["execution"]["tasks"]}
    else:
        tasks, key = wf["tasks"], "name"
        runtime = {t["name"]: t["runtimeInSeconds"] for t in tasks}
    ids = [t[key] for t in tasks]
    ms = {i: math.floor(runtime[i] * 1000 + 0.5) for i in ids}
    preds = {i: set() for i in ids}
    for t in tasks:
        preds[t[key]].update(t.get("parents", []))
        for c in t.get("children", []):
            preds[c].add(t[key])
    return ids, preds, ms


def longest_path_levels(ids, preds):
    """level(v) = 0 without predecessors, else 1 + max level of them; iterative DFS."""
    level = {}
    for root in ids:
        stack = [root]
        while stack:
            v = stack[-1]
            if v in level:
                stack.pop()
                continue
            todo = [p for p in preds[v] if p not in level]
            if todo:
                if len(stack) > len(ids):
                    raise SystemExit(f"cycle through {v}")
                stack.extend(todo)
                continue
            level[v] = 1 + max((level[p] for p in preds[v]), default=-1)
            stack.pop()
    return level


def readme_table(path):
    """WfCommons README: file name -> (levels, [tasks per level])."""
    rows = {}
    header = None
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if "levels" in cells and "file" in cells:
                header = cells
                continue
            if header and len(cells) == len(header) and cells[0].startswith("`"):
                row = dict(zip(header, cells))
                counts = [int(x) for x in re.findall(r"\d+", row["tasks per level"])]
                rows[row["file"].strip("`")] = (int(row["levels"]), counts)
            elif not line.startswith("|"):
                header = None
    return rows


def check_plan(ids, preds, plan):
    """Problems found comparing the plan with the independent levels (empty: all good)."""
    level = longest_path_levels(ids, preds)
    nlev = 1 + max(level.values())
    bad = []
    calls = plan["calls"]
    if [c["id"] for c in calls] != ids:
        return [f"calls are not the tasks in file order ({len(calls)} calls, {len(ids)} tasks)"]
    if len(plan["levels"]) != nlev:
        bad.append(f"{len(plan['levels'])} levels, expected {nlev}")
    for c in calls:
        if "error" in c:
            bad.append(f"call {c['id']} has an error: {c['error']}")
        if c["level"] != level[c["id"]]:
            bad.append(f"call {c['id']} on level {c['level']}, expected {level[c['id']]}")
        if set(c["depends_on"]) != preds[c["id"]] or len(c["depends_on"]) != len(preds[c["id"]]):
            bad.append(f"call {c['id']} depends_on {sorted(c['depends_on'])}, "
                       f"expected {sorted(preds[c['id']])}")
    want = [[i for i in ids if level[i] == k] for k in range(nlev)]
    if plan["levels"] != want:
        bad.append("`levels` is not each level's calls in batch order")
    return bad[:5]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wf-readme", help="assert WfCommons level counts against this README")
    ap.add_argument("manifest")
    a = ap.parse_args()
    table = readme_table(a.wf_readme) if a.wf_readme else None
    failed = checked = 0
    with open(a.manifest) as f:
        entries = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for fmt, src, plan_path, calls_path in entries:
        ids, preds, ms = stg_graph(src) if fmt == "stg" else wf_graph(src)
        with open(plan_path) as f:
            plan = json.load(f)
        with open(calls_path) as f:
            calls = json.load(f)
        bad = check_plan(ids, preds, plan)
        wrong = [c["id"] for c in calls if c["input"] != {"ms": ms[c["id"]]}]
        if wrong:
            bad.append(f"{len(wrong)} calls with the wrong ms input, first {wrong[0]}")
        if table is not None and fmt == "wf":
            name = os.path.basename(src)
            if name not in table:
                bad.append(f"{name} is not in the README table")
            else:
                nlev, counts = table[name]
                got = [len(lv) for lv in plan["levels"]]
                if len(got) != nlev or got != counts:
                    bad.append(f"tasks per level {got}, README says {nlev} levels {counts}")
        checked += 1
        if bad:
            failed += 1
            print(f"FAIL {src}: " + "; ".join(bad))
        else:
            print(f"ok   {src}: {len(ids)} calls, {len(plan['levels'])} levels")
    print(f"{checked} graphs checked, {failed} failed")
    if checked == 0 or (table is not None and not any(e[0] == "wf" for e in entries)):
        print("nothing was checked")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
