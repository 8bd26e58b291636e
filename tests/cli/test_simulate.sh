#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_simulate.sh - tooldag-bench simulate / sweep / gen dag / real against makespans computed
# independently (tests/sim_bounds.py reads calls.json and levels it itself):
#   - level == the sum over levels of LPT on each level's calls, exactly (at unlimited
#     concurrency: of the longest call), also on every STG graph of data/stg;
#   - unlimited concurrency: eager == critical == the critical path, exactly;
#   - critical within 0.2 % of the optimum on average at j = 2, 4, 8 on data/stg;
#   - j = 1: every policy == the total work;
#   - every makespan >= max(critical path, total work / j);
#   - no policy beats a published STG optimum (data/stg/OPTIMA.tsv);
#   - optima tables: refused when unreadable, matched by the path relative to the table's
#     folder, bounds apart from optima, a warning counting graphs without a row; --optimum
#     refused with several -j, below the lower bound or above a makespan;
#   - the columns: barrier cost = level - eager, one utilization at -j 0 and a huge -j, j
#     spelled "inf" in every output, JSON always an array;
#   - real: --repeat, several policies and -j, the up-front scale and timeout checks;
#   - every chart kind of bench/plot.py from a small graph, as SVG, PDF and PNG, with its
#     titles and tick labels;
#   - the same input gives byte-identical output; every usage error's message; help per
#     command;
#   - rank: critical's chosen rule per -j, never worse than b-level, its prediction exactly
#     what simulate measures;
#   - `tooldag run --schedule critical` runs and reports its schedule.
set -u

TD_SRC=${TD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TD_BIN=${TD_BIN:-$TD_SRC/build}
TOOLDAG=${TOOLDAG:-$TD_BIN/tooldag}
BENCH=${TD_BENCH_PROG:-$TD_BIN/bench/tooldag-bench}
PY=/usr/bin/python3
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
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
	echo "FAIL: $PY with matplotlib (python3-matplotlib) is needed for the bounds and the charts"
	exit 1
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
expect 1 "real: expected GRAPH and CALLS, got 1 argument" "$BENCH" real "$b/ok/graph.yaml"
expect 1 "sweep: no graph files given" "$BENCH" sweep --summary
expect 1 "option '--optima' needs a value" "$BENCH" sweep --optima
expect 1 "--repeat: expected an integer in 1..1000, got '0'" "$BENCH" real "$b/ok/graph.yaml" \
	"$b/ok/calls.json" --repeat 0
for c in simulate real sweep; do
	checks=$((checks + 1))
	"$BENCH" $c --help >"$tmp/help" 2>&1 || fail "$c --help exited $?"
	head -n 1 "$tmp/help" | grep -q "^usage: tooldag-bench $c " || fail "$c --help: $(head -n 1 "$tmp/help")"
done
"$BENCH" import --help | grep -q "call ids 1..N" || fail "import --help does not say ids are 1..N"
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
	"$PY" "$TD_SRC/tests/sim_bounds.py" "${pairs[@]}" >"$tmp/py" 2>&1 ||
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

# --json: always an array, with the interface's fields; j spelled "inf" everywhere; the
# barrier cost is level minus eager at the same j; one utilization for -j 0 and a huge -j
lf=$g/layered-fixed
"$BENCH" simulate "$lf/graph.yaml" "$lf/calls.json" --policy eager -j 0 --json >"$tmp/one.json"
"$BENCH" simulate "$lf/graph.yaml" "$lf/calls.json" --policy level,eager -j 0,1000000,3 --json \
	>"$tmp/all.json"
"$BENCH" simulate "$lf/graph.yaml" "$lf/calls.json" --policy level -j 0,3 --csv >"$tmp/lv.csv"
"$BENCH" simulate "$lf/graph.yaml" "$lf/calls.json" --policy level -j 0 >"$tmp/table.txt"
"$PY" - "$tmp/one.json" "$tmp/all.json" "$tmp/lv.csv" "$tmp/table.txt" <<'EOF' || fail "simulate columns"
import csv, json, sys
one = json.load(open(sys.argv[1]))
assert isinstance(one, list) and len(one) == 1, one
o = one[0]
for k in ("makespan_ms", "critical_path_ms", "total_work_ms", "levels", "level_bound_ms",
          "lower_bound_ms", "barrier_cost_ms", "barrier_cost_ratio", "utilization", "peak",
          "optimum_ms", "opt_lower_ms", "opt_upper_ms", "ratio_to_optimum", "ratio_to_lower_bound"):
    assert k in o, k
assert o["makespan_ms"] == o["critical_path_ms"] and o["j"] == "inf", o
assert o["barrier_cost_ms"] is None and o["optimum_ms"] is None, o
rows = {(r["policy"], r["j"]): r for r in json.load(open(sys.argv[2]))}
for j in ("inf", 1000000, 3):
    lv, ea = rows[("level", j)], rows[("eager", j)]
    assert abs(lv["barrier_cost_ms"] - (lv["makespan_ms"] - ea["makespan_ms"])) < 1e-9, (lv, ea)
    assert abs(lv["barrier_cost_ratio"] - lv["makespan_ms"] / ea["makespan_ms"]) < 1e-4, lv
for p in ("level", "eager"):
    a, b = rows[(p, "inf")], rows[(p, 1000000)]
    assert a["utilization"] == b["utilization"] > 0, (a, b)
    want = a["total_work_ms"] / (a["peak"] * a["makespan_ms"])
    assert abs(a["utilization"] - want) < 1e-4, (a, want)
c = list(csv.DictReader(open(sys.argv[3])))
assert [r["j"] for r in c] == ["inf", "3"], c
assert "inf" in open(sys.argv[4]).read().split("\n")[1].split(), "table j"
EOF
checks=$((checks + 1))

# ---- charts: every kind, every format, titles and tick labels -----------------------------
d=$g/diamond-fixed
"$BENCH" simulate "$d/graph.yaml" "$d/calls.json" --policy all -j 1,2,4,0 --csv \
	--calls-csv "$tmp/calls.csv" >"$tmp/rows.csv" || fail "simulate --calls-csv"
"$PY" - "$tmp/calls.csv" "$tmp/rows.csv" <<'EOF' || fail "--calls-csv"
import csv, sys
calls = list(csv.DictReader(open(sys.argv[1])))
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(calls) == 12 * int(rows[0]["calls"]), len(calls)
for r in rows:
    mine = [c for c in calls if c["policy"] == r["policy"] and c["j"] == r["j"]]
    assert max(float(c["end_ms"]) for c in mine) == float(r["makespan_ms"]), r
EOF
checks=$((checks + 1))
plot() { # KIND INPUT NAME [ARGS...]: one chart in three formats
	local kind=$1 input=$2 name=$3 f
	shift 3
	checks=$((checks + 1))
	if ! "$PY" "$TD_SRC/bench/plot.py" "$kind" "$input" -o "$tmp/$name.svg" -o "$tmp/$name.pdf" \
		-o "$tmp/$name.png" "$@" 2>"$tmp/err"; then
		fail "plot.py $kind: $(head -c 300 "$tmp/err")"
		return
	fi
	for f in svg pdf png; do [ -s "$tmp/$name.$f" ] || fail "plot.py $kind: no $name.$f"; done
	head -c 4 "$tmp/$name.pdf" | grep -q '%PDF' || fail "$name.pdf is not a PDF"
	head -c 8 "$tmp/$name.png" | grep -q 'PNG' || fail "$name.png is not a PNG"
}
# has NAME TEXT...: the SVG carries each text (as text: plot.py keeps SVG fonts as text)
has() {
	local name=$1 t
	shift
	for t in "$@"; do
		grep -qF -- ">$t<" "$tmp/$name.svg" || fail "$name.svg lacks the text '$t'"
	done
}
plot makespan "$tmp/rows.csv" ms --title "Diamond makespans"
has ms "Diamond makespans" "diamond-fixed/calls.json" "concurrency j (slots)" "makespan (ms)" \
	1 2 4 inf level eager critical "lower bound"
plot gantt "$tmp/calls.csv" gantt --policy level -j 2
has gantt "slot 1" "slot 2" "level 0" "time (ms)" lane
grep -qF "diamond-fixed/calls.json: level, j = 2, makespan" "$tmp/gantt.svg" ||
	fail "gantt.svg lacks its title"
grep -qF ">slot 3<" "$tmp/gantt.svg" && fail "gantt at j = 2 has a third lane"
# the ratio chart from a sweep of two STG graphs with the optima table
"$BENCH" sweep --policy all -j 2,4,8 --optima "$STG/OPTIMA.tsv" --csv "$STG/50/rand0000.stg" \
	"$STG/50/rand0001.stg" >"$tmp/sweep2.csv" || fail "sweep for the ratio chart"
plot ratio "$tmp/sweep2.csv" ratio
has ratio "Makespan over the optimum and the lower bound (2 graphs)" "mean makespan / optimum" \
	"mean makespan / lower bound" 2 4 8 "concurrency j (slots)"
expect 2 "no column" "$PY" "$TD_SRC/bench/plot.py" gantt "$tmp/rows.csv" -o "$tmp/x.svg"
expect 1 "the extension must be .pdf, .svg or .png" "$PY" "$TD_SRC/bench/plot.py" makespan \
	"$tmp/rows.csv" -o "$tmp/x.jpg"

# ---- optima: refused when unreadable, matched by relative path, bounds apart ---------------
expect 2 "$b/none.tsv: No such file or directory" "$BENCH" sweep --optima "$b/none.tsv" \
	"$STG/50/rand0000.stg"
printf 'graph\tm\tvalue\n' >"$b/cols.tsv"
expect 2 "$b/cols.tsv:1: not an optima table: no column 'optimum'" \
	"$BENCH" sweep --optima "$b/cols.tsv" "$STG/50/rand0000.stg"
printf 'graph\tm\toptimum\tlower\tupper\tstatus\n50/a.stg\t2\tfast\t\t\tpublished\n' >"$b/num.tsv"
expect 2 "$b/num.tsv:2: optimum, lower and upper must be numbers" \
	"$BENCH" sweep --optima "$b/num.tsv" "$STG/50/rand0000.stg"
printf 'graph\tm\toptimum\tlower\tupper\tstatus\n50/a.stg\t2\t5\t5\t5\tguessed\n' >"$b/st.tsv"
expect 2 "$b/st.tsv:2: expected the status published, proven or bounds" \
	"$BENCH" sweep --optima "$b/st.tsv" "$STG/50/rand0000.stg"
printf 'graph\tm\toptimum\tlower\tupper\tstatus\n50/a.stg\t2\t5\t6\t7\tpublished\n' >"$b/lo.tsv"
expect 2 "$b/lo.tsv:2: needs lower <= optimum <= upper" \
	"$BENCH" sweep --optima "$b/lo.tsv" "$STG/50/rand0000.stg"
printf 'graph\tm\toptimum\tlower\tupper\tstatus\n50/a.stg\t2\t5\t4\t6\tbounds\n' >"$b/bo.tsv"
expect 2 "$b/bo.tsv:2: optimum, lower and upper must be numbers > 0 (no optimum with status bounds" \
	"$BENCH" sweep --optima "$b/bo.tsv" "$STG/50/rand0000.stg"
# two graphs of the same base name in two folders, each with its own row
o=$tmp/opt
mkdir -p "$o/50" "$o/100"
cp "$STG/50/rand0000.stg" "$o/50/"
cp "$STG/100/rand0000.stg" "$o/100/"
printf 'graph\tm\toptimum\tlower\tupper\tstatus\n50/rand0000.stg\t2\t131\t131\t131\tpublished\n100/rand0000.stg\t2\t\t280\t300\tbounds\n' \
	>"$o/OPTIMA.tsv"
"$BENCH" sweep --policy critical -j 2 --optima "$o/OPTIMA.tsv" --csv "$o/50/rand0000.stg" \
	"$o/100/rand0000.stg" "$STG/50/rand0001.stg" >"$tmp/rel.csv" 2>"$tmp/err" ||
	fail "sweep with relative rows: $(cat "$tmp/err")"
grep -qF "warning: 1 of 3 graphs have no row in $o/OPTIMA.tsv" "$tmp/err" ||
	fail "no warning counting the graphs without a row: $(cat "$tmp/err")"
"$PY" - "$tmp/rel.csv" <<'EOF' || fail "optima by relative path: $(cat "$tmp/rel.csv")"
import csv, sys
r = {row["graph"].split("/opt/")[-1].split("/stg/")[-1]: row for row in csv.DictReader(open(sys.argv[1]))}
a, b, c = r["50/rand0000.stg"], r["100/rand0000.stg"], r["50/rand0001.stg"]
assert (a["optimum_ms"], a["opt_lower_ms"], a["opt_upper_ms"]) == ("131", "131", "131"), a
assert a["ratio_to_optimum"], a
assert (b["optimum_ms"], b["opt_lower_ms"], b["opt_upper_ms"]) == ("", "280", "300"), b
assert b["ratio_to_optimum"] == "", b
assert c["optimum_ms"] == c["opt_lower_ms"] == "", c
EOF
checks=$((checks + 1))
# --summary counts only optima: the 50-task set has one graph with bounds only at j = 2
"$BENCH" sweep --policy level -j 2 --optima "$STG/OPTIMA.tsv" --summary "$STG"/50/*.stg \
	>"$tmp/sum.txt" || fail "sweep --summary"
n50=$(ls "$STG"/50/*.stg | wc -l)
awk -v n="$n50" '$1 == "level" && $2 == 2 {exit !($3 == n && $4 == n - 1)}' "$tmp/sum.txt" ||
	fail "summary does not count bounds apart: $(cat "$tmp/sum.txt")"
# --optimum: one -j only, never below the lower bound nor above a makespan
ok=$b/ok
expect 1 "--optimum holds for one -j value, 2 given" "$BENCH" simulate "$ok/graph.yaml" \
	"$ok/calls.json" -j 2,4 --optimum 5
"$BENCH" import stg "$STG/50/rand0000.stg" -o "$tmp/r0" || fail "import rand0000"
expect 2 "--optimum 10 is below the lower bound 131.000 ms at -j 2" \
	"$BENCH" simulate "$tmp/r0/graph.yaml" "$tmp/r0/calls.json" -j 2 --optimum 10
expect 2 "--optimum 140: level at -j 2 takes 137.000 ms" \
	"$BENCH" simulate "$tmp/r0/graph.yaml" "$tmp/r0/calls.json" -j 2 --policy all --optimum 140
expect 0 "" "$BENCH" simulate "$tmp/r0/graph.yaml" "$tmp/r0/calls.json" -j 2 --optimum 131

# ---- real STG graphs against the published optima ------------------------------------------
mapfile -t files < <(ls "$STG"/50/*.stg)
if [ "${#files[@]}" -lt 10 ]; then
	fail "only ${#files[@]} STG graphs in $STG/50"
else
	"$BENCH" sweep --policy all -j 2,4,8 --optima "$STG/OPTIMA.tsv" --csv "${files[@]}" \
		>"$tmp/stg.csv" 2>"$tmp/err" || fail "sweep STG: $(head -c 300 "$tmp/err")"
	grep -q "the table or the graph is wrong" "$tmp/err" && fail "$(cat "$tmp/err")"
	"$PY" - "$tmp/stg.csv" <<'EOF' || fail "STG optima check"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = len({r["graph"] for r in rows})
assert n >= 10 and len(rows) == n * 9, len(rows)
with_opt = 0
for r in rows:
    if r["optimum_ms"]:
        with_opt += 1
        assert float(r["makespan_ms"]) >= float(r["optimum_ms"]), r
    if r["opt_lower_ms"]:
        assert float(r["makespan_ms"]) >= float(r["opt_lower_ms"]), r
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

# ---- STG 50 + 100: level is level-by-level LPT exactly; critical within 0.2 % ---------------
mapfile -t all < <(ls "$STG"/50/*.stg "$STG"/100/*.stg)
checks=$((checks + 1))
if ! "$BENCH" sweep --policy level,critical -j 2,4,8 --optima "$STG/OPTIMA.tsv" --csv "${all[@]}" \
	>"$tmp/stg-all.csv" 2>"$tmp/err"; then
	fail "sweep STG 50 + 100: $(head -c 300 "$tmp/err")"
elif ! "$PY" "$TD_SRC/tests/sim_bounds.py" --stg "$STG/OPTIMA.tsv" "$tmp/stg-all.csv" "${all[@]}" \
	>"$tmp/lpt.txt" 2>&1; then
	fail "level is not level-by-level LPT: $(cat "$tmp/lpt.txt")"
fi
"$PY" - "$tmp/stg-all.csv" <<'EOF' || fail "critical over the STG optima"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["policy"] == "critical"]
for j in ("2", "4", "8"):
    q = [float(r["ratio_to_optimum"]) for r in rows if r["j"] == j and r["ratio_to_optimum"]]
    assert len(q) >= 20, (j, len(q))
    assert sum(q) / len(q) <= 1.002, f"critical at j = {j}: {sum(q) / len(q):.4f} x the optimum"
EOF
checks=$((checks + 1))

# rank: critical's choice per -j, and its prediction is what simulate then measures
"$BENCH" rank "$tmp/r0/graph.yaml" "$tmp/r0/calls.json" -j 2,4 --repeat 2 >"$tmp/rank.jsonl" ||
	fail "rank: $(cat "$tmp/rank.jsonl")"
"$BENCH" simulate "$tmp/r0/graph.yaml" "$tmp/r0/calls.json" --policy critical -j 2,4 --json \
	>"$tmp/rank-sim.json" || fail "simulate for rank"
"$PY" - "$tmp/rank.jsonl" "$tmp/rank-sim.json" <<'EOF' || fail "rank output: $(cat "$tmp/rank.jsonl")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
sim = {o["j"]: o["makespan_ms"] for o in json.load(open(sys.argv[2]))}
assert [o["j"] for o in lines] == [2, 4], lines
for o in lines:
    assert o["calls"] == 50 and o["plays"] >= 1 and o["plan_ms"] >= 0, o
    assert o["rule"] in ("blevel", "blevel+lpt", "blevel+tlevel", "earliest", "blevel+succs", "random"), o
    assert o["makespan_ms"] <= o["blevel_ms"], o
    assert o["makespan_ms"] == sim[o["j"]], (o, sim)
EOF
checks=$((checks + 1))
expect 1 "usage: tooldag-bench rank GRAPH CALLS" "$BENCH" rank "$tmp/r0/graph.yaml"

check_bounds

# ---- real mode: measured >= simulated, tiny scale; repeat; checks before running -----------
fj=$g/forkjoin-uniform
out=$("$BENCH" real "$fj/graph.yaml" "$fj/calls.json" --policy level,critical -j 4,0 --scale 0.1 \
	--repeat 3) || fail "real: $out"
"$PY" - "$out" <<'EOF' || fail "real output: $out"
import json, sys
rows = json.loads(sys.argv[1])
assert [(o["policy"], o["j"]) for o in rows] == \
    [("level", 4), ("level", "inf"), ("critical", 4), ("critical", "inf")], rows
for o in rows:
    assert o["repeat"] == 3 and o["makespan_ms"] >= o["simulated_ms"] > 0, o
    assert o["overhead_min_ms"] <= o["overhead_ms"] <= o["overhead_max_ms"], o
    assert o["overhead_min_ms"] >= 0, o
    assert (o["overhead_per_level_ms"] is None) == (o["policy"] != "level"), o
EOF
checks=$((checks + 1))
expect 2 "real: --scale 1e+308 makes call" "$BENCH" real "$fj/graph.yaml" "$fj/calls.json" \
	--scale 1e308
printf 'version: 1\ntools:\n  task:\n    builtin: sleep\n    timeout: 1s\n' >"$b/t1.yaml"
printf '[{"type":"tool_use","id":"a","name":"task","input":{"ms":400}}]' >"$b/t1.json"
expect 2 "real: at --scale 3 call a sleeps 1.200 s, not less than the 1.000 s timeout of tool 'task'" \
	"$BENCH" real "$b/t1.yaml" "$b/t1.json" --scale 3
# a run over a minute says so before it starts: 400 ms x 200 = 80 s, under a 10 min timeout;
# the message comes before the run, which is cut short after 2 s
printf 'version: 1\ntools:\n  task:\n    builtin: sleep\n    timeout: 10m\n' >"$b/t2.yaml"
timeout 2 "$BENCH" real "$b/t2.yaml" "$b/t1.json" --scale 200 >/dev/null 2>"$tmp/err"
grep -qF "real: the runs will take at least 80 s" "$tmp/err" ||
	fail "no projected time before a long real run: $(cat "$tmp/err")"

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
