#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_observe_bench.sh - what observers cost `tooldag run` (target: at most 5 % on a
# 100,000-call builtin-echo run), end to end and inside the library.
#
#   bench/run_observe_bench.sh [-r ROUNDS] [-n CALLS] [-B BASEDIR] [-c] [-L] [-v VARIANTS]
#
# 1. observe-bench: td_run_wait() alone on CALLS calls, with no observer, a no-op observer, a
#    counting observer, td_event_json() of every event, and td_run_trace() (interleaved).
#    -L leaves it out.
# 2. the `tooldag run` command on the same shape of batch (tooldag-bench gen calls, the tool
#    switched to builtin echo), interleaved ROUNDS times (default 7), stdout and stderr to
#    /dev/null, the trace to a file in a temporary directory:
#      none     -q --progress=none       nothing attached
#      default  (stderr not a terminal)  the FAILED: summary observer only
#      tty      --progress=tty           the status line, forced
#      json     --progress=json          a JSON line per event
#      trace    -q --trace FILE          the Chrome trace only, over the last round's file
#      trace_new  -q --trace FILE        the same into a file that does not exist yet
#      record   -q --progress=none --record FILE   the batch's recording line, into a file
#                                        removed (outside the timing) before each round
#    Prints median wall and CPU (user + sys of the child) and the medians of the same-round
#    wall and CPU ratios to `none` of the same build.
#    -B BASEDIR: also time BASEDIR/tooldag (another build, e.g. of main), interleaved with ours.
#    -v VARIANTS: only these (comma-separated, e.g. none,trace,trace_new; `none` always runs).
# -c: instead of 2, each variant once under valgrind --tool=callgrind: instructions executed
#    in user space (deterministic up to the order of completions; the kernel's share, e.g.
#    writing the trace, is not in it), and the ratio to `none`.
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
rounds=7
calls=100000
base=""
callgrind=0
lib=1
only=""
while getopts "r:n:B:cLv:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	n) calls=$OPTARG ;;
	B) base=$OPTARG ;;
	c) callgrind=1 ;;
	L) lib=0 ;;
	v) only=$OPTARG ;;
	*)
		sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'
		exit 1
		;;
	esac
done
if [ -f "$TD_BIN/CMakeCache.txt" ]; then
	cmake --build "$TD_BIN" -j2 >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$lib" = 1 ] && [ "$callgrind" = 0 ]; then
	echo "### td_run_wait() alone ($calls calls, observe-bench -r $rounds)"
	echo
	"$TD_BIN/bench/observe-bench" -n "$calls" -r "$rounds" -t "$tmp/lib-trace.json"
	echo
fi

"$TD_BIN/bench/tooldag-bench" gen calls -n "$calls" -l 10 -d 3:5 -o "$tmp/e2e" >/dev/null
sed -i 's/builtin: sleep/builtin: echo/' "$tmp/e2e/graph.yaml"

exec /usr/bin/python3 - "$TD_BIN/tooldag" "$tmp" "$rounds" "$calls" "$base" "$callgrind" "$only" <<'PY'
import os, re, statistics as st, subprocess, sys, time

tooldag, tmp, rounds, calls, base, callgrind, only = sys.argv[1:8]
rounds, callgrind = int(rounds), callgrind == "1"
builds = [("", tooldag)] + ([("base ", os.path.join(base, "tooldag"))] if base else [])
variants = {
    "none": ["-q", "--progress=none"],
    "default": [],
    "tty": ["--progress=tty"],
    "json": ["--progress=json"],
    "trace": ["-q", "--trace"],
    "trace_new": ["-q", "--trace"],
    "record": ["-q", "--progress=none", "--record"],
}
if only:
    variants = {k: v for k, v in variants.items() if k == "none" or k in only.split(",")}
traces = {"trace": "trace", "trace_new": "fresh", "record": "record"}
runs = [(b + v, exe, args + ([f"{tmp}/{traces[v]}{i}.json"] if v in traces else []))
        for i, (b, exe) in enumerate(builds) for v, args in variants.items()]


def command(exe, args):
    return [exe, "run"] + args + [f"{tmp}/e2e/graph.yaml", f"{tmp}/e2e/calls.json"]


def none_of(name):
    return name[: -len(name.split(" ")[-1])] + "none"


def run(cmd):
    with open(os.devnull, "w") as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=null, stderr=null, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        w = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd}: exit {status}")
    return w, ru.ru_utime + ru.ru_stime


if callgrind:
    ir = {}
    for name, exe, args in runs:
        log = f"{tmp}/cg.log"
        run(["valgrind", "--tool=callgrind", f"--log-file={log}",
             f"--callgrind-out-file={tmp}/cg.out"] + command(exe, args))
        ir[name] = int(re.search(r"Collected : (\d+)", open(log).read()).group(1))
    print(f"### `tooldag run` under callgrind ({calls} builtin-echo calls, instructions)")
    print()
    print("| variant | instructions (M) | / none |")
    print("|---|---:|---:|")
    for name, _, _ in runs:
        print(f"| {name} | {ir[name] / 1e6:.1f} | {ir[name] / ir[none_of(name)]:.3f} |")
    sys.exit(0)

wall = {n: [] for n, _, _ in runs}
cpu = {n: [] for n, _, _ in runs}
wratio = {n: [] for n, _, _ in runs}
cratio = {n: [] for n, _, _ in runs}
for r in range(rounds):
    order = runs[r % len(runs):] + runs[:r % len(runs)]
    for name, exe, args in order:
        if name.endswith(("trace_new", "record")) and os.path.exists(args[-1]):
            os.unlink(args[-1])  # a new file every time, removed outside the timing
        w, c = run(command(exe, args))
        wall[name].append(w)
        cpu[name].append(c)
    for name, _, _ in runs:
        wratio[name].append(wall[name][-1] / wall[none_of(name)][-1])
        cratio[name].append(cpu[name][-1] / cpu[none_of(name)][-1])
print(f"### `tooldag run` end to end ({calls} builtin-echo calls, {rounds} rounds interleaved)")
print()
print("| variant | median wall s | median CPU s | wall / none | CPU / none |")
print("|---|---:|---:|---:|---:|")
for name, _, _ in runs:
    print(f"| {name} | {st.median(wall[name]):.3f} | {st.median(cpu[name]):.3f} "
          f"| {st.median(wratio[name]):.3f} | {st.median(cratio[name]):.3f} |")
sizes = ", ".join(f"{b or 'this build '}{os.path.getsize(f'{tmp}/trace{i}.json') / 1e6:.1f} MB"
                  for i, (b, _) in enumerate(builds)) if "trace" in variants else "-"
print()
print(f"ratios: medians of the same-round ratios; trace file: {sizes}; "
      f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
PY
