#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_level_bench.sh - the leveling benchmark and the end-to-end planning targets.
#
#   bench/run_level_bench.sh [-r ROUNDS] [-n "1000 10000 100000 1000000"] [-p PYTHON_MAX]
#
# For each size runs (the build's programs: bench/ref/kahn_ref.c is built with the project)
#   tooldag-bench level -n N -d 3:5   (td_plan_new() alone, on a batch built in-process)
#   kahn_ref -n N -d 3:5              (bare C Kahn on the same graph)
#   python3 bench/level_ref.py -n N -d 3:5   (straightforward Python Kahn, same graph)
# interleaved, ROUNDS times (default 5; the order rotates every round; Python only up to
# PYTHON_MAX calls, default 1000000), and prints a Markdown table: median leveling time and peak
# memory of each, and the ratios tooldag/kahn_ref and python/tooldag as the median of the
# same-round ratios (the machine is shared and noisy: compare within one run only). Then times
# the end-to-end targets with the built `tooldag` (median of ROUNDS, interleaved):
#   tooldag plan GRAPH CALLS --json   on 100,000 calls (tooldag-bench gen calls), target < 1.5 s
#   tooldag check GRAPH               on 10,000 tools (tooldag-bench gen tools),  target < 0.2 s
# and how loading those 10,000 tools compares with libyaml's bare event loop (bench/yaml_floor).
# Uses the build in $TD_BIN (default: build/ of this checkout; `cmake --build` is run on it).
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
rounds=5
sizes="1000 10000 100000 1000000"
pymax=1000000
while getopts "r:n:p:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	n) sizes=$OPTARG ;;
	p) pymax=$OPTARG ;;
	*)
		sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'
		exit 1
		;;
	esac
done

if [ -f "$TD_BIN/CMakeCache.txt" ]; then
	cmake --build "$TD_BIN" -j2 >/dev/null
fi
if [ ! -x "$TD_BIN/tooldag" ] || [ ! -x "$TD_BIN/bench/tooldag-bench" ] ||
	[ ! -x "$TD_BIN/bench/yaml_floor" ] || [ ! -x "$TD_BIN/bench/kahn_ref" ]; then
	echo "run_level_bench.sh: no tooldag build in $TD_BIN: run 'cmake --preset default &&" \
		"cmake --build --preset default' first" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

exec python3 - "$TD_SRC" "$TD_BIN" "$tmp" "$rounds" "$pymax" $sizes <<'EOF'
import json, os, platform, statistics as st, subprocess, sys, time

src, bin_, tmp, rounds, pymax = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sizes = [int(x) for x in sys.argv[6:]]
bench, tooldag = f"{bin_}/bench/tooldag-bench", f"{bin_}/tooldag"
SHAPE = ["-l", "10", "-d", "3:5"]


def timed(argv):
    """argv run through `tooldag-bench time`: Linux carries a parent's peak RSS into its
    children across fork + exec, so anything started straight from this Python would report
    at least this Python's RSS; the small spawner gives each command its own figure."""
    return [bench, "time", "-o", f"{tmp}/time.json"] + argv


def leveling(tool, n):
    """One run of one leveler: its JSON line (each times itself, generation excluded)."""
    argv = {"tooldag": [bench, "level"], "kahn_ref": [f"{bin_}/bench/kahn_ref"],
            "python": [sys.executable, f"{src}/bench/level_ref.py"]}[tool]
    p = subprocess.run(timed(argv + ["-n", str(n)] + SHAPE), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{' '.join(argv)} -n {n} failed ({p.returncode}): {p.stderr[-500:]}")
    return json.loads(p.stdout)


def child_rss_run(argv):
    """Wall time and peak RSS (MB) of one run, stdout to /dev/null."""
    with open(os.devnull, "w") as null:
        p = subprocess.run(timed(argv), stdin=subprocess.DEVNULL, stdout=null,
                           stderr=subprocess.PIPE, text=True)
    if p.returncode:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr[-500:]}")
    with open(f"{tmp}/time.json") as f:
        t = json.load(f)
    return t["wall_s"], t["maxrss_mb"]


# ---- leveling, interleaved ----
tools = ["tooldag", "kahn_ref", "python"]
res = {(t, n): [] for t in tools for n in sizes}
for r in range(rounds):
    for n in sizes:
        order = tools[r % 3:] + tools[:r % 3]
        for t in order:
            if t == "python" and n > pymax:
                continue
            res[(t, n)].append(leveling(t, n))
    print(f"round {r + 1}/{rounds} done", file=sys.stderr)


def med(t, n, key):
    xs = [x[key] for x in res[(t, n)]]
    return st.median(xs) if xs else None


def ratio(a, b, n):
    xs = [x["leveling_s"] / y["leveling_s"] for x, y in zip(res[(a, n)], res[(b, n)])]
    return st.median(xs) if xs else None


def fmt(x, spec, none="–"):
    return none if x is None else format(x, spec)


# ---- end to end, interleaved ----
e2e = f"{tmp}/e2e"
subprocess.run([bench, "gen", "calls", "-n", "100000", "-o", e2e] + SHAPE, check=True)
subprocess.run([bench, "gen", "tools", "-n", "10000", "-o", f"{tmp}/tools.yaml"], check=True)
targets = [
    ("plan 100,000 calls, JSON out", [tooldag, "plan", f"{e2e}/graph.yaml", f"{e2e}/calls.json", "--json"], 1.5,
     "tooldag plan graph.yaml calls.json --json > /dev/null"),
    ("load 10,000 tools (check)", [tooldag, "check", f"{tmp}/tools.yaml"], 0.2,
     "tooldag check tools.yaml"),
]
times = {t[0]: [] for t in targets}
for r in range(rounds):
    for name, argv, _, _ in targets:
        times[name].append(child_rss_run(argv))

# ---- report ----
rev = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True,
                     text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {rev}, {cpu}, "
      f"{os.cpu_count()} CPUs (shared), {platform.python_implementation()} {platform.python_version()}, "
      f"{rounds} interleaved rounds, graph -l 10 -d 3:5.\n")
print("| calls | edges | tooldag ms | kahn_ref ms | python ms | tooldag / kahn_ref | python / tooldag "
      "| tooldag MB (batch + plan peak) | plan peak MB | kahn_ref MB | python MB | batch build ms |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    tb = res[("tooldag", n)]
    mem = st.median([x["batch_mb"] + x["plan_peak_mb"] for x in tb])
    py = med("python", n, "leveling_s")
    print(f"| {n:,} | {tb[0]['edges']:,} | {med('tooldag', n, 'leveling_s') * 1e3:.2f} "
          f"| {med('kahn_ref', n, 'leveling_s') * 1e3:.2f} | {fmt(py and py * 1e3, '.1f')} "
          f"| {ratio('tooldag', 'kahn_ref', n):.2f} | {fmt(ratio('python', 'tooldag', n), '.0f')} "
          f"| {mem:.1f} | {med('tooldag', n, 'plan_peak_mb'):.1f} "
          f"| {med('kahn_ref', n, 'maxrss_mb'):.1f} | {fmt(med('python', n, 'maxrss_mb'), '.1f')} "
          f"| {med('tooldag', n, 'build_s') * 1e3:.1f} |")
print()
print("| end to end | command | median s | min–max s | peak RSS MB | target | met |")
print("|---|---|---:|---:|---:|---:|---|")
for name, argv, limit, shown in targets:
    walls = [w for w, _ in times[name]]
    rss = st.median([m for _, m in times[name]])
    m = st.median(walls)
    print(f"| {name} | `{shown}` | {m:.3f} | {min(walls):.3f}–{max(walls):.3f} | {rss:.1f} "
          f"| < {limit} s | {'yes' if m < limit else 'NO'} |")
floor = json.loads(subprocess.run([f"{bin_}/bench/yaml_floor", f"{tmp}/tools.yaml", str(rounds)],
                                  check=True, capture_output=True, text=True).stdout)
print(f"\nLoading 10,000 tools in-process (bench/yaml_floor, CPU time, median of {rounds}): "
      f"td_graph_load_buffer() {floor['load_s']:.3f} s, libyaml's bare event loop over the same "
      f"file {floor['libyaml_s']:.3f} s: {floor['load_over_libyaml']:.2f}x the libyaml floor.")
big = max(sizes)
r = ratio("tooldag", "kahn_ref", big)
mem = st.median([x["batch_mb"] + x["plan_peak_mb"] for x in res[("tooldag", big)]])
print(f"\nLeveling at {big:,} calls: tooldag / kahn_ref = {r:.2f} (target <= 1.5: "
      f"{'met' if r <= 1.5 else 'NOT met'}); plan peak {med('tooldag', big, 'plan_peak_mb'):.1f} MB, "
      f"batch + plan {mem:.1f} MB (target < 100 MB: {'met' if mem < 100 else 'NOT met'}).")
EOF
