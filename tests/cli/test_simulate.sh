#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_simulate.sh - tooldag-bench simulate / sweep / gen dag / real against makespans computed
# independently (tests/sim_bounds.py reads calls.json and levels it itself):
#   - unlimited concurrency: level == sum over levels of the longest call, eager == critical
#     == the critical path, exactly;
#   - j = 1: every policy == the total work;
#   - every makespan >= max(critical path, total work / j);
#   - no policy beats a published STG optimum (data/stg/OPTIMA.tsv);
#   - the same input gives byte-identical output; every usage error's message;
#   - `tooldag run --schedule critical` runs and reports its schedule.
set -u

TD_SRC=${TD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TD_BIN=${TD_BIN:-$TD_SRC/build}
TOOLDAG=${TOOLDAG:-$TD_BIN/tooldag}
BENCH=${TD_BENCH_PROG:-$TD_BIN/bench/tooldag-bench}
STG=$TD_SRC/data/stg

fails=0
checks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

expect() {
	local code=$1 want=$2 got
	shift 2
	checks=$((checks + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$code" ]; then
		fail "$* exited $got, expected $code; stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$want" ] && ! grep -qF -- "$want" "$tmp/err"; then
		fail "$*: stderr lacks '$want'; got: $(head -c 300 "$tmp/err")"
	fi
}

if [ ! -x "$BENCH" ]; then
	echo "FAIL: $BENCH not built"
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 is needed for the independent bounds and is not installed"
	exit 77
fi

# ---- usage and bad input ----------------------------------------------------------------
b=$tmp/bad
mkdir -p "$b"
"$BENCH" gen dag --shape chain -n 3 -o "$b/ok" || fail "gen dag chain"
expect 1 "usage: tooldag-bench simulate GRAPH CALLS" "$BENCH" simulate
expect 1 "usage: tooldag-bench simulate GRAPH CALLS" "$BENCH" simulate "$b/ok/graph.yaml"
expect 1 "--policy: expected level, eager, critical (comma-separated, at most 3) or all, got 'fifo'" \
	"$BENCH" simulate "$b/ok/graph.yaml" "$b/ok/calls.json" --policy fifo
expect 1 "got 'level,level,eager,critical'" \
	"$BENCH" simulate "$b/ok/graph.yaml" "$b/ok/calls.json" --policy level,level,eager,critical
expect 1 "-j: at most 32 values" "$BENCH" simulate "$b/ok/graph.yaml" "$b/ok/calls.json" \
	-j "$(seq -s, 1 33)"
expect 1 "-j: expected an integer in 0..1000000, got 'many'" \
	"$BENCH" simulate "$b/ok/graph.yaml" "$b/ok/calls.json" -j many
expect 1 "unknown option '--frob'" "$BENCH" simulate --frob "$b/ok/graph.yaml" "$b/ok/calls.json"
expect 1 "usage: tooldag-bench real GRAPH CALLS" "$BENCH" real "$b/ok/graph.yaml" \
	"$b/ok/calls.json" -j 1,2
expect 1 "usage: tooldag-bench sweep" "$BENCH" sweep --summary
expect 1 "usage: tooldag-bench gen dag --shape" "$BENCH" gen dag --shape star -o "$b/x"
expect 1 "usage: tooldag-bench gen dag --shape" "$BENCH" gen dag --shape chain --dist normal -o "$b/x"
expect 1 "usage: tooldag-bench gen dag --shape" "$BENCH" gen dag --shape chain
expect 2 "No such file" "$BENCH" simulate "$b/ok/graph.yaml" "$b/nope.json"
printf '[{"type":"tool_use","id":"a","name":"task","input":{"ms":"slow"}}]' >"$b/noms.json"
printf 'version: 1\ntools:\n  task:\n    builtin: sleep\n' >"$b/free.yaml"
expect 2 "call a: input has no \"ms\" duration (a non-negative number)" \
	"$BENCH" simulate "$b/free.yaml" "$b/noms.json"
printf '[{"type":"tool_use","id":"a","name":"nosuch","input":{"ms":1}}]' >"$b/badtool.json"
expect 2 "call a: " "$BENCH" simulate "$b/free.yaml" "$b/badtool.json"
expect 2 "" "$BENCH" sweep "$b/nope.stg"

# ---- generated graphs: exact makespans ------------------------------------------------
# check DIR: simulate every policy at j = inf, 1, 2, 3, 8 and compare with sim_bounds.py
check() {
	local dir=$1
	checks=$((checks + 1))
	if ! "$BENCH" simulate "$dir/graph.yaml" "$dir/calls.json" --policy all -j 0,1,2,3,8 \
		--csv >"$dir/sim.csv" 2>"$tmp/err"; then
		fail "simulate $dir: $(head -c 300 "$tmp/err")"
		return
	fi
	"$BENCH" simulate "$dir/graph.yaml" "$dir/calls.json" --policy all -j 0,1,2,3,8 --csv \
		>"$dir/sim2.csv" 2>/dev/null
	cmp -s "$dir/sim.csv" "$dir/sim2.csv" || fail "simulate $dir: two runs differ"
	pairs+=("$dir/calls.json" "$dir/sim.csv")
}
pairs=()
# every pair check() collected, through one interpreter
check_bounds() {
	checks=$((checks + 1))
	python3 "$TD_SRC/tests/sim_bounds.py" "${pairs[@]}" >"$tmp/py" 2>&1 ||
		fail "bounds: $(cat "$tmp/py")"
}

g=$tmp/gen
dists=(fixed uniform lognormal bimodal)
k=0
for shape in layered forkjoin chain diamond er agent; do
	# two distributions per shape, rotating: every pair of the 4 x 6 is not needed
	for dist in "${dists[$((k % 4))]}" "${dists[$(((k + 1) % 4))]}"; do
		"$BENCH" gen dag --shape "$shape" --dist "$dist" -n 120 -w 6 -s 7 -o "$g/$shape-$dist" ||
			fail "gen dag $shape $dist"
		check "$g/$shape-$dist"
	done
	k=$((k + 1))
done
# the generator is seeded: same seed, same files; another seed, other files
"$BENCH" gen dag --shape er --dist uniform -n 120 -w 6 -s 7 -o "$g/again"
cmp -s "$g/again/calls.json" "$g/er-uniform/calls.json" || fail "gen dag: same seed differs"
"$BENCH" gen dag --shape er --dist uniform -n 120 -w 6 -s 8 -o "$g/other"
cmp -s "$g/other/calls.json" "$g/er-uniform/calls.json" && fail "gen dag: seed ignored"

# --json: one object with the interface's fields; charts are well-formed SVG
out=$("$BENCH" simulate "$g/layered-fixed/graph.yaml" "$g/layered-fixed/calls.json" \
	--policy eager -j 0 --json)
python3 - "$out" <<'EOF' || fail "simulate --json: $out"
import json, sys
o = json.loads(sys.argv[1])
for k in ("makespan_ms", "critical_path_ms", "total_work_ms", "levels"):
    assert k in o, k
assert o["makespan_ms"] == o["critical_path_ms"], o
EOF
"$BENCH" simulate "$g/diamond-fixed/graph.yaml" "$g/diamond-fixed/calls.json" --policy all \
	-j 1,2,4,0 --svg "$tmp/ms.svg" --gantt "$tmp/gantt.svg" >/dev/null || fail "simulate --svg"
python3 -c 'import sys, xml.dom.minidom as m; [m.parse(f) for f in sys.argv[1:]]' \
	"$tmp/ms.svg" "$tmp/gantt.svg" || fail "SVG not well-formed"
grep -q '<rect x=' "$tmp/gantt.svg" || fail "Gantt chart has no bars"

# ---- real STG graphs against the published optima ------------------------------------------
mapfile -t files < <(ls "$STG"/50/*.stg)
if [ "${#files[@]}" -lt 10 ]; then
	fail "only ${#files[@]} STG graphs in $STG/50"
else
	"$BENCH" sweep --policy all -j 2,4,8 --optima "$STG/OPTIMA.tsv" --csv "${files[@]}" \
		>"$tmp/stg.csv" 2>"$tmp/err" || fail "sweep STG: $(head -c 300 "$tmp/err")"
	grep -q "beats the published optimum" "$tmp/err" && fail "$(cat "$tmp/err")"
	python3 - "$tmp/stg.csv" <<'EOF' || fail "STG optima check"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = len({r["graph"] for r in rows})
assert n >= 10 and len(rows) == n * 9, len(rows)
with_opt = 0
for r in rows:
    if r["optimum_ms"]:
        with_opt += 1
        assert float(r["makespan_ms"]) >= float(r["optimum_ms"]), r
    assert float(r["makespan_ms"]) >= float(r["lower_bound_ms"]), r
assert with_opt >= n * 9 // 2, with_opt
EOF
	checks=$((checks + 1))
	# simulate on the imported files agrees with the in-memory sweep
	f=${files[0]}
	"$BENCH" import stg "$f" -o "$tmp/stg1" || fail "import $f"
	a=$("$BENCH" simulate "$tmp/stg1/graph.yaml" "$tmp/stg1/calls.json" --policy critical -j 4 --csv |
		tail -n 1 | cut -d, -f6)
	s=$("$BENCH" sweep --policy critical -j 4 --csv "$f" | tail -n 1 | cut -d, -f6)
	[ "$a" = "$s" ] || fail "simulate ($a) and sweep ($s) differ on $f"
	check "$tmp/stg1"
fi

check_bounds

# ---- real mode: measured >= simulated, tiny scale ----------------------------------------
out=$("$BENCH" real "$g/forkjoin-uniform/graph.yaml" "$g/forkjoin-uniform/calls.json" --policy level \
	-j 4 --scale 0.1) || fail "real: $out"
python3 - "$out" <<'EOF' || fail "real output: $out"
import json, sys
o = json.loads(sys.argv[1])
assert o["makespan_ms"] >= o["simulated_ms"] > 0, o
assert abs(o["makespan_ms"] - o["simulated_ms"] - o["overhead_ms"]) < 0.002, o
EOF

# ---- tooldag run --schedule critical ----------------------------------------------------
if [ -x "$TOOLDAG" ]; then
	"$TOOLDAG" run --schedule critical --report "$tmp/report.json" "$g/diamond-fixed/graph.yaml" \
		"$g/diamond-fixed/calls.json" >"$tmp/run.out" 2>"$tmp/err" ||
		fail "tooldag run --schedule critical: $(head -c 300 "$tmp/err")"
	grep -q '"schedule":"critical"' "$tmp/report.json" || fail "report lacks schedule critical"
	expect 1 "--schedule takes level, eager or critical" "$TOOLDAG" run --schedule fifo \
		"$g/diamond-fixed/graph.yaml"
fi

echo "test_simulate: $checks checks, $fails failures"
[ "$fails" -eq 0 ]
