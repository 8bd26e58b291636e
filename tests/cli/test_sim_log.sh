#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_sim_log.sh - `tooldag-bench import log`: a recording made here by `tooldag run --record`
# becomes a graph and calls for `simulate` with the durations the calls really took:
#   - every call kept with its id; its plan's dependencies made explicit (an explicit one, a
#     tool-level one); its runtime the recorded attempts' run time, to the microsecond; a call
#     that failed keeps its run time, a call skipped after it takes none;
#   - simulate then runs it, and level at the recorded -j is the sum over levels of LPT
#     (tests/sim_bounds.py);
#   - sweep takes the recording itself: a row set per batch (FILE#N), the same figures;
#   - --batch picks a line (the last by default), out of range refused; a graph that moved
#     is named and --from gives it; a file that is not a recording is refused with file:line;
#     a torn last line is ignored with a warning; --batch on another format is a usage error;
#   - a batch without calls is refused by import and left out by sweep.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
TD_BIN=${TD_BIN:-$TD_SRC/build}
BENCH=${TD_BENCH_PROG:-$TD_BIN/bench/tooldag-bench}
R="$T_TMP/rec.jsonl"

[ -x "$BENCH" ] || { echo "FAIL: $BENCH not built"; exit 1; }

# expect CODE TEXT CMD...: exit code and a text on stderr
expect() {
	local code=$1 want=$2
	shift 2
	T_ARGS="$*"
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	t_exit "$code"
	[ -z "$want" ] || t_err_has "$want"
}

mkdir -p "$T_TMP/g"
cat >"$T_TMP/g/g.yaml" <<'EOF'
version: 1
tools:
  slow: {builtin: sleep}
  fast: {builtin: sleep}
  after:
    builtin: sleep
    depends_on: [slow]
  broken:
    run: [false]
EOF
# batch 1: a alone; batch 2: the graph's shapes
cat >"$T_TMP/one.json" <<'EOF'
[{"type":"tool_use","id":"only","name":"fast","input":{"ms":5}}]
EOF
cat >"$T_TMP/two.json" <<'EOF'
[{"type":"tool_use","id":"a","name":"slow","input":{"ms":60}},
 {"type":"tool_use","id":"b","name":"fast","input":{"ms":10}},
 {"type":"tool_use","id":"c","name":"fast","input":{"ms":20},"depends_on":["b"]},
 {"type":"tool_use","id":"d","name":"after","input":{"ms":5}},
 {"type":"tool_use","id":"x","name":"broken","input":{}},
 {"type":"tool_use","id":"y","name":"fast","input":{"ms":1},"depends_on":["x"]}]
EOF
t_run run -q -j 2 --record "$R" "$T_TMP/g/g.yaml" "$T_TMP/one.json"
t_exit 0
t_run run -q -j 2 --record "$R" "$T_TMP/g/g.yaml" "$T_TMP/two.json"
t_exit 0

# ---- the last batch: ids, dependencies, durations from the recording ----
expect 0 "" "$BENCH" import log "$R" -o "$T_TMP/last"
T_COUNT=$((T_COUNT + 1))
"$PY" - "$R" "$T_TMP/last/calls.json" <<'EOF' || t_fail "import log: $(cat "$T_TMP/last/calls.json")"
import json, sys
line = [json.loads(l) for l in open(sys.argv[1])][-1]
calls = json.load(open(sys.argv[2]))
assert [c["id"] for c in calls] == ["a", "b", "c", "d", "x", "y"], calls
deps = {c["id"]: c.get("depends_on", []) for c in calls}
assert deps == {"a": [], "b": [], "c": ["b"], "d": ["a"], "x": [], "y": ["x"]}, deps
for rc, c in zip(line["calls"], calls):
    ran = sum(a["end_us"] - a["start_us"] for a in rc.get("attempts", []))
    assert round(c["input"]["ms"] * 1000) == ran, (rc, c)
    assert c["name"] == "task", c
ms = {c["id"]: c["input"]["ms"] for c in calls}
assert ms["a"] >= 60 and ms["b"] >= 10 and ms["c"] >= 20 and ms["d"] >= 5, ms  # sleeps: at least
assert ms["x"] > 0 and ms["y"] == 0, ms  # x failed after running; y was skipped
EOF
grep -q "builtin: sleep" "$T_TMP/last/graph.yaml" || t_fail "graph.yaml: $(cat "$T_TMP/last/graph.yaml")"

# ---- simulate on it: level is level-by-level LPT, critical no worse than eager's bound ----
T_COUNT=$((T_COUNT + 1))
if "$BENCH" simulate "$T_TMP/last/graph.yaml" "$T_TMP/last/calls.json" --policy all -j 0,1,2 \
	--csv >"$T_TMP/sim.csv" 2>"$T_TMP/err"; then
	"$PY" "$TD_SRC/tests/sim_bounds.py" "$T_TMP/last/calls.json" "$T_TMP/sim.csv" >"$T_TMP/py" 2>&1 ||
		t_fail "bounds: $(cat "$T_TMP/py")"
else
	t_fail "simulate the imported batch: $(cat "$T_TMP/err")"
fi

# ---- --batch N; out of range ----
expect 0 "" "$BENCH" import log "$R" --batch 1 --graph "$T_TMP/b1.yaml" --calls "$T_TMP/b1.json"
T_COUNT=$((T_COUNT + 1))
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); assert [x["id"] for x in c] == ["only"] and c[0]["input"]["ms"] >= 5, c' \
	"$T_TMP/b1.json" || t_fail "--batch 1: $(cat "$T_TMP/b1.json")"
expect 2 "--batch 3, but the file holds 2 batches" "$BENCH" import log "$R" --batch 3 -o "$T_TMP/x"
expect 1 "--batch and --from are for recordings" "$BENCH" import stg "$R" --batch 1 -o "$T_TMP/x"

# ---- the graph moved: named, and --from gives it ----
mv "$T_TMP/g" "$T_TMP/moved"
expect 2 "cannot read the graph it ran on (name it with --from GRAPH)" \
	"$BENCH" import log "$R" -o "$T_TMP/x"
expect 0 "" "$BENCH" import log "$R" --from "$T_TMP/moved/g.yaml" -o "$T_TMP/from"
T_COUNT=$((T_COUNT + 1))
cmp -s "$T_TMP/from/calls.json" "$T_TMP/last/calls.json" || t_fail "--from gives other calls"
# a graph that does not have the recorded tools
printf 'version: 1\ntools:\n  other: {builtin: sleep}\n' >"$T_TMP/other.yaml"
expect 2 "batch 2, call a: " "$BENCH" import log "$R" --from "$T_TMP/other.yaml" -o "$T_TMP/x"

# ---- sweep takes recordings: every batch, the same figures as simulate on the import ----
T_COUNT=$((T_COUNT + 1))
if "$BENCH" sweep --policy all -j 0,1,2 --csv --from "$T_TMP/moved/g.yaml" "$R" \
	>"$T_TMP/sweep.csv" 2>"$T_TMP/err"; then
	"$PY" - "$T_TMP/sweep.csv" "$T_TMP/sim.csv" "$R" <<'EOF' || t_fail "sweep of a recording"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sim = list(csv.DictReader(open(sys.argv[2])))
rec = sys.argv[3]
assert [r["graph"] for r in rows] == [rec + "#1"] * 9 + [rec + "#2"] * 9, rows
two = [r for r in rows if r["graph"] == rec + "#2"]
key = lambda r: (r["policy"], r["j"], r["makespan_ms"], r["critical_path_ms"], r["levels"])
assert sorted(map(key, two)) == sorted(map(key, sim)), (two, sim)
EOF
else
	t_fail "sweep of a recording: $(cat "$T_TMP/err")"
fi
expect 2 "cannot read the graph it ran on (name it with --from GRAPH)" "$BENCH" sweep "$R"

# ---- not a recording; a torn last line ----
printf '{"not":"a recording"}\n' >"$T_TMP/bad.jsonl"
expect 2 "bad.jsonl:1: not a tooldag recording" "$BENCH" import log "$T_TMP/bad.jsonl" -o "$T_TMP/x"
expect 2 "no batch recorded" "$BENCH" import log /dev/null -o "$T_TMP/x"
cp "$R" "$T_TMP/torn.jsonl"
head -c 100 "$R" >>"$T_TMP/torn.jsonl"
expect 0 "torn.jsonl:3: warning: an unfinished last line" \
	"$BENCH" import log "$T_TMP/torn.jsonl" --from "$T_TMP/moved/g.yaml" -o "$T_TMP/torn"
T_COUNT=$((T_COUNT + 1))
cmp -s "$T_TMP/torn/calls.json" "$T_TMP/last/calls.json" || t_fail "the torn line changed the last batch"

# ---- a batch without calls (a streamed response cut off before its first call) ----
head -n 18 "$TD_SRC/tests/data/recorded/anthropic-stream-tool_use_response.txt" >"$T_TMP/cut.sse"
cp "$R" "$T_TMP/cut.jsonl"
t_run run -q --record "$T_TMP/cut.jsonl" "$TD_SRC/graphs/calls/recorded.yaml" "$T_TMP/cut.sse"
t_exit 2
expect 2 "cut.jsonl: batch 3 holds no call: nothing ran" \
	"$BENCH" import log "$T_TMP/cut.jsonl" -o "$T_TMP/x"
T_COUNT=$((T_COUNT + 1))
[ ! -e "$T_TMP/x" ] || t_fail "import log wrote a pair without calls"
# sweep leaves it out, and says so: it is no schedule to weigh the policies on
expect 0 "cut.jsonl#3: no call, left out" \
	"$BENCH" sweep --policy all -j 0,1,2 --csv --from "$T_TMP/moved/g.yaml" "$T_TMP/cut.jsonl"
T_COUNT=$((T_COUNT + 1))
sed "s|$T_TMP/cut.jsonl#|$R#|" "$T_TMP/out" | cmp -s - "$T_TMP/sweep.csv" ||
	t_fail "sweep: the batch without calls changed the rows"

t_done
