#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_real_table.sh - the scheduler-overhead table of bench/README.md: `tooldag-bench real` on
# three graphs, each policy and -j run R times (default 5), printed as Markdown.
#
#   bench/run_real_table.sh [-r REPEAT]
#
# Graphs: gen dag --shape layered --dist fixed --mean 10 -n 1000 -w 50 -s 1 (20 levels of 50
# calls of 10 ms), gen dag --shape agent --dist lognormal --mean 100 -n 20 -w 8 -s 1 (an agent
# turn), and data/wf/montage at 1/100 of its runtimes. Needs the build (build/, or $TD_BIN).
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
BENCH=$TD_BIN/bench/tooldag-bench
repeat=5
while getopts "r:h" opt; do
	case $opt in
	r) repeat=$OPTARG ;;
	*)
		sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'
		[ "$opt" = h ] && exit 0
		exit 1
		;;
	esac
done
[ -x "$BENCH" ] || { echo "run_real_table.sh: $BENCH not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BENCH" gen dag --shape layered --dist fixed --mean 10 -n 1000 -w 50 -s 1 -o "$tmp/layered"
"$BENCH" gen dag --shape agent --dist lognormal --mean 100 -n 20 -w 8 -s 1 -o "$tmp/agent"
"$BENCH" import wf "$TD_SRC/data/wf/montage-chameleon-2mass-025d-001.json" -o "$tmp/montage"
run() { # NAME SCALE ARGS...
	local name=$1 scale=$2
	shift 2
	"$BENCH" real "$tmp/$name/graph.yaml" "$tmp/$name/calls.json" --scale "$scale" \
		--repeat "$repeat" "$@" >"$tmp/$name.json"
}
run layered 1 --policy all -j 16,0
run agent 1 --policy all -j 16,0
run montage 0.01 --policy level,critical -j 16
/usr/bin/python3 - "$tmp" "$repeat" <<'PY'
import json, sys
tmp, rep = sys.argv[1], sys.argv[2]
print(f"Medians of {rep} runs each; overhead = measured makespan - simulated makespan "
      "(range over the runs in brackets).\n")
print("| graph | calls | levels | policy | j | measured (ms) | simulated (ms) | overhead (ms) "
      "| per level (ms) | per call (µs) | mean start delay (ms) |")
print("|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|")
for name, scale in (("layered", "x1"), ("agent", "x1"), ("montage", "x0.01")):
    for o in json.load(open(f"{tmp}/{name}.json")):
        pl = "–" if o["overhead_per_level_ms"] is None else f"{o['overhead_per_level_ms']:.2f}"
        print(f"| {name} ({scale}) | {o['calls']} | {o['levels']} | {o['policy']} | {o['j']} "
              f"| {o['makespan_ms']:.1f} | {o['simulated_ms']:.1f} | {o['overhead_ms']:.1f} "
              f"({o['overhead_min_ms']:.1f}–{o['overhead_max_ms']:.1f}) | {pl} "
              f"| {o['overhead_per_call_us']:.0f} | {o['mean_start_delay_ms']:.2f} |")
PY
