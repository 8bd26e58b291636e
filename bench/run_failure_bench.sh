#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_failure_bench.sh - what one failed call costs a large run: tool b depends_on a, CALLS
# builtin-echo calls of each; `ok` has no failure, `fail` has one failing call of a (its
# input breaks a's input_schema: a call-level error), which skips every call of b. Target:
# `fail` within 1.2x of `ok` (a failure must not make the run quadratic).
#
#   bench/run_failure_bench.sh [-r ROUNDS] [-n CALLS] [-B BASEDIR]
#
# `tooldag run -q --progress=none` on both batches, interleaved ROUNDS times (default 5),
# stdout to /dev/null. Prints median wall and CPU (user + sys of the child) and the median of
# the same-round ratios fail / ok. -B BASEDIR: also time BASEDIR/tooldag (another build, e.g.
# of main), interleaved with ours.
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
rounds=5
calls=200000
base=""
while getopts "r:n:B:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	n) calls=$OPTARG ;;
	B) base=$OPTARG ;;
	*)
		sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'
		exit 1
		;;
	esac
done
if [ -f "$TD_BIN/CMakeCache.txt" ]; then
	cmake --build "$TD_BIN" -j2 >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

exec /usr/bin/python3 - "$TD_BIN/tooldag" "$tmp" "$rounds" "$calls" "$base" <<'PY'
import json, os, statistics as st, subprocess, sys, time

tooldag, tmp, rounds, calls, base = sys.argv[1:6]
rounds, calls = int(rounds), int(calls)
with open(f"{tmp}/graph.yaml", "w") as f:
    f.write("version: 1\nconcurrency: 256\ntools:\n"
            "  a:\n    builtin: echo\n    input_schema:\n      type: object\n"
            "      required: [n]\n      properties: {n: {type: integer}}\n"
            "  b:\n    builtin: echo\n    depends_on: [a]\n")
bad = calls // 2
for name in ("ok", "fail"):
    batch = [{"type": "tool_use", "id": f"a{i}", "name": "a",
              "input": {"x": i} if name == "fail" and i == bad else {"n": i}}
             for i in range(calls)]
    batch += [{"type": "tool_use", "id": f"b{i}", "name": "b", "input": {"n": i}}
              for i in range(calls)]
    with open(f"{tmp}/{name}.json", "w") as f:
        json.dump(batch, f, separators=(",", ":"))

builds = [("", tooldag)] + ([("base ", os.path.join(base, "tooldag"))] if base else [])
runs = [(b + v, exe, v) for b, exe in builds for v in ("ok", "fail")]


def run(exe, batch):
    cmd = [exe, "run", "-q", "--progress=none", f"{tmp}/graph.yaml", f"{tmp}/{batch}.json"]
    with open(os.devnull, "w") as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        w = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd}: exit {status}: {err[:300]!r}")
    return w, ru.ru_utime + ru.ru_stime


wall = {n: [] for n, _, _ in runs}
cpu = {n: [] for n, _, _ in runs}
for r in range(rounds):
    order = runs[r % len(runs):] + runs[:r % len(runs)]
    for name, exe, batch in order:
        w, c = run(exe, batch)
        wall[name].append(w)
        cpu[name].append(c)
print(f"### One failed call ({calls} + {calls} builtin-echo calls, b depends_on a, "
      f"{rounds} rounds interleaved)")
print()
print("| build | batch | median wall s | median CPU s | wall / ok | CPU / ok |")
print("|---|---|---:|---:|---:|---:|")
for b, _ in builds:
    for v in ("ok", "fail"):
        n, ok = b + v, b + "ok"
        wr = st.median(x / y for x, y in zip(wall[n], wall[ok]))
        cr = st.median(x / y for x, y in zip(cpu[n], cpu[ok]))
        print(f"| {b.strip() or 'this'} | {v} | {st.median(wall[n]):.3f} | "
              f"{st.median(cpu[n]):.3f} | {wr:.3f} | {cr:.3f} |")
print()
print(f"ratios: medians of the same-round ratios; load average {os.getloadavg()[0]:.1f}, "
      f"{os.cpu_count()} CPUs")
PY
