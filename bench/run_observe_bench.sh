#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_observe_bench.sh - what observers cost `tooldag run` (issue 8: at most 5 % on a
# 100,000-call builtin-echo run), end to end and inside the library.
#
#   bench/run_observe_bench.sh [-r ROUNDS] [-n CALLS]
#
# 1. observe-bench: td_run_wait() alone on CALLS calls, with no observer, a no-op observer, a
#    counting observer, td_event_json() of every event, and td_run_trace() (interleaved).
# 2. the `tooldag run` command on the same shape of batch (tooldag-bench gen calls, the tool
#    switched to builtin echo), interleaved ROUNDS times (default 7), stdout and stderr to
#    /dev/null:
#      none     -q --progress=none       nothing attached
#      default  (stderr not a terminal)  the FAILED: summary observer only
#      tty      --progress=tty           the status line, forced
#      json     --progress=json          a JSON line per event
#      trace    -q --trace FILE          the Chrome trace only
#    Prints median wall and CPU (user + sys of the child) and the median of the same-round
#    wall ratios to `none`.
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
rounds=7
calls=100000
while getopts "r:n:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	n) calls=$OPTARG ;;
	*)
		sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 1
		;;
	esac
done
if [ -f "$TD_BIN/CMakeCache.txt" ]; then
	cmake --build "$TD_BIN" -j2 >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "### td_run_wait() alone ($calls calls, observe-bench -r $rounds)"
echo
"$TD_BIN/bench/observe-bench" -n "$calls" -r "$rounds" -t "$tmp/lib-trace.json"
echo

"$TD_BIN/bench/tooldag-bench" gen calls -n "$calls" -l 10 -d 3:5 -o "$tmp/e2e" >/dev/null
sed -i 's/builtin: sleep/builtin: echo/' "$tmp/e2e/graph.yaml"

exec python3 - "$TD_BIN/tooldag" "$tmp" "$rounds" "$calls" <<'PY'
import os, statistics as st, subprocess, sys, time

tooldag, tmp, rounds, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
base = [tooldag, "run", f"{tmp}/e2e/graph.yaml", f"{tmp}/e2e/calls.json"]
variants = {
    "none": ["-q", "--progress=none"],
    "default": [],
    "tty": ["--progress=tty"],
    "json": ["--progress=json"],
    "trace": ["-q", "--trace", f"{tmp}/trace.json"],
}
names = list(variants)
wall = {n: [] for n in names}
cpu = {n: [] for n in names}
ratio = {n: [] for n in names}
for r in range(rounds):
    order = names[r % len(names):] + names[:r % len(names)]
    got = {}
    for n in order:
        with open(os.devnull, "w") as null:
            t0 = time.perf_counter()
            p = subprocess.Popen(base + variants[n], stdout=null, stderr=null,
                                 stdin=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            w = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{n}: exit {status}")
        wall[n].append(w)
        cpu[n].append(ru.ru_utime + ru.ru_stime)
        got[n] = w
    for n in names:
        ratio[n].append(got[n] / got["none"])
print(f"### `tooldag run` end to end ({calls} builtin-echo calls, {rounds} rounds interleaved)")
print()
print("| variant | median wall s | median CPU s | wall / none (median of rounds) |")
print("|---|---:|---:|---:|")
for n in names:
    print(f"| {n} | {st.median(wall[n]):.3f} | {st.median(cpu[n]):.3f} | {st.median(ratio[n]):.3f} |")
size = os.path.getsize(f"{tmp}/trace.json")
print()
print(f"trace file: {size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
PY
