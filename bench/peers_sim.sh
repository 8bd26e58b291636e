#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# peers_sim.sh - the same task graphs run by tooldag (level, eager, critical), make -j, ninja -j
# and a Python asyncio level barrier, interleaved round by round, wall-clock timed the same way
# (the whole command, process start included). Prints medians and ratios, and what the
# simulation says each graph should take (tooldag-bench simulate: zero overhead).
#
#   bench/peers_sim.sh [-j N] [-r ROUNDS] [GRAPH_DIR...]
#
# A GRAPH_DIR holds graph.yaml + calls.json as `tooldag-bench gen dag` or `import` writes them
# (one `task` tool, builtin sleep, input {"ms": N}, explicit depends_on). Without one, three
# graphs are generated: layered (200 calls, 10 levels, log-normal 20 ms), an agent turn (24
# calls, log-normal 100 ms) and a fork-join (100 calls, bimodal 20 ms).
#
# What each runner does with a call of N ms:
#   tooldag  `tooldag run --schedule P -j J`: the builtin sleep, an in-process timer
#   make     a phony target per call, prerequisites = depends_on, recipe `sleep N/1000`
#   ninja    an always-dirty edge per call, order-only inputs = depends_on, `sleep N/1000`
#   asyncio  level barrier: asyncio.gather(asyncio.sleep(N/1000) for the level), next level
#            (an asyncio.Semaphore(J) caps concurrency)
# make and ninja start one `sleep` process per call; tooldag and asyncio start none, so the
# comparison is of scheduling, with process start-up as the peers' handicap where they have it.
#
# Needs: make, ninja (apt-get install ninja-build), python3; tooldag built in ./build (or
# $TD_BIN). CI does not run this (it is a benchmark, timing-dependent).
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
TOOLDAG=${TOOLDAG:-$TD_BIN/tooldag}
BENCH=${BENCH:-$TD_BIN/bench/tooldag-bench}
J=8
ROUNDS=3
while getopts "j:r:" o; do
	case $o in
	j) J=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 [-j N] [-r ROUNDS] [GRAPH_DIR...]" >&2 && exit 1 ;;
	esac
done
shift $((OPTIND - 1))
for t in make ninja python3; do
	command -v $t >/dev/null || { echo "$0: $t is needed (apt-get install ninja-build)" >&2; exit 1; }
done

# the interpreter itself, not a version manager's shim (which costs a second per start here)
PY=$(python3 -c 'import sys; print(sys.executable)')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
	"$BENCH" gen dag --shape layered --dist lognormal --mean 20 -n 200 -w 20 -s 1 -o "$tmp/layered"
	"$BENCH" gen dag --shape agent --dist lognormal --mean 100 -n 24 -w 8 -s 1 -o "$tmp/agent"
	"$BENCH" gen dag --shape forkjoin --dist bimodal --mean 20 -n 100 -w 8 -s 1 -o "$tmp/forkjoin"
	dirs=("$tmp/layered" "$tmp/agent" "$tmp/forkjoin")
fi

# make + ninja + asyncio inputs from calls.json
cat >"$tmp/peers.py" <<'EOF'
import asyncio, json, os, sys, time

def load(path):
    calls = json.load(open(path))
    return [(c["id"], c["input"]["ms"], c.get("depends_on", [])) for c in calls]

def write(calls, out):
    name = {cid: f"t{i}" for i, (cid, _, _) in enumerate(calls)}
    with open(os.path.join(out, "Makefile"), "w") as f:
        f.write(".PHONY: all " + " ".join(name.values()) + "\nall: " + " ".join(name.values()) + "\n")
        for cid, ms, deps in calls:
            f.write(f"{name[cid]}: {' '.join(name[d] for d in deps)}\n\t@sleep {ms / 1000:.6f}\n")
    with open(os.path.join(out, "build.ninja"), "w") as f:
        f.write("rule sleep\n  command = sleep $secs\n")
        for cid, ms, deps in calls:
            oo = " || " + " ".join(name[d] for d in deps) if deps else ""
            f.write(f"build {name[cid]}: sleep{oo}\n  secs = {ms / 1000:.6f}\n")
        f.write("default " + " ".join(name.values()) + "\n")

async def level_barrier(calls, j):
    level, sem = {}, asyncio.Semaphore(j if j > 0 else len(calls))
    for cid, _, deps in calls:  # predecessors come first in the file
        level[cid] = 1 + max((level[d] for d in deps), default=-1)
    async def one(ms):
        async with sem:
            await asyncio.sleep(ms / 1000)
    for lv in range(1 + max(level.values())):
        await asyncio.gather(*(one(ms) for cid, ms, _ in calls if level[cid] == lv))

if sys.argv[1] == "write":
    write(load(sys.argv[2]), sys.argv[3])
else:
    asyncio.run(level_barrier(load(sys.argv[2]), int(sys.argv[3])))
EOF

now() { date +%s.%N; }
# run NAME CMD...: wall seconds of CMD appended to $tmp/times
run() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "$name failed: $*" >&2; return 1; }
	t1=$(now)
	awk -v g="$g" -v n="$name" -v a="$t0" -v b="$t1" 'BEGIN { print g, n, b - a }' >>"$tmp/times"
}

: >"$tmp/times"
for d in "${dirs[@]}"; do
	g=$(basename "$d")
	mkdir -p "$tmp/w/$g"
	python3 "$tmp/peers.py" write "$d/calls.json" "$tmp/w/$g"
	for p in level eager critical; do
		"$BENCH" simulate "$d/graph.yaml" "$d/calls.json" --policy $p -j "$J" --csv |
			tail -n 1 | awk -F, -v g="$g" -v p="$p" '{print g, "sim-" p, $6 / 1000}' >>"$tmp/sim"
	done
done
for r in $(seq "$ROUNDS"); do
	for d in "${dirs[@]}"; do
		g=$(basename "$d")
		w=$tmp/w/$g
		run tooldag-level "$TOOLDAG" run --schedule level -j "$J" "$d/graph.yaml" "$d/calls.json"
		run make make -s -j "$J" -C "$w" -f Makefile all
		run asyncio-level "$PY" "$tmp/peers.py" run "$d/calls.json" "$J"
		run tooldag-eager "$TOOLDAG" run --schedule eager -j "$J" "$d/graph.yaml" "$d/calls.json"
		rm -f "$w/.ninja_log" "$w/.ninja_deps"
		run ninja ninja -C "$w" -j "$J"
		run tooldag-critical "$TOOLDAG" run --schedule critical -j "$J" "$d/graph.yaml" \
			"$d/calls.json"
	done
done

python3 - "$tmp/times" "$tmp/sim" "$J" "$ROUNDS" <<'EOF'
import statistics, sys
from collections import defaultdict
t = defaultdict(list)
for line in open(sys.argv[1]):
    g, name, s = line.split()
    t[(g, name)].append(float(s))
sim = {}
for line in open(sys.argv[2]):
    g, name, s = line.split()
    sim[(g, name)] = float(s)
graphs = sorted({g for g, _ in t}, key=lambda g: list(t).index((g, "tooldag-level")))
names = ["tooldag-level", "asyncio-level", "tooldag-eager", "make", "ninja", "tooldag-critical"]
print(f"-j {sys.argv[3]}, {sys.argv[4]} rounds interleaved; wall seconds (median); "
      "ratio = runner / tooldag with the same kind of schedule")
print(f"{'graph':10} {'runner':17} {'median_s':>9} {'sim_s':>7} {'ratio':>6}")
for g in graphs:
    for n in names:
        m = statistics.median(t[(g, n)])
        kind = "level" if "level" in n else "critical" if "critical" in n else "eager"
        base = statistics.median(t[(g, "tooldag-" + kind)])
        print(f"{g:10} {n:17} {m:9.3f} {sim[(g, 'sim-' + kind)]:7.3f} {m / base:6.2f}")
EOF
