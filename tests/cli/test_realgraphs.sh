#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_realgraphs.sh - real task graphs that nobody here wrote, through the whole planning path.
#
# 1. `tooldag-bench import` on bad input: every message and exit code (needs no data).
# 2. import on small hand-written STG and WfCommons files: the exact graph and calls written.
# 3. The STG graphs and WfCommons instances of data/ (schema 1.5 and 1.4), or of the folder
#    TD_REALGRAPHS_DIR (every stg/**/*.stg and wf/**/*.json under it, e.g. the whole sets):
#    import, `tooldag plan --json`, and compare the
#    level count, every call's level and direct dependencies (and each call's `ms` input against
#    the task's runtime) with tests/realgraph_levels.py,
#    an independent leveling (longest path, not Kahn) computed from the original file; the
#    WfCommons level counts and tasks per level must equal the table in wf/README.md.
# 4. The benchmark generators: `gen calls` through `tooldag plan`, `gen tools` through
#    `tooldag check`, and `tooldag-bench level` against bench/level_ref.py (same edges).
# Skips (77), saying so, only when python3 is absent.
set -u

TD_SRC=${TD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TD_BIN=${TD_BIN:-$TD_SRC/build}
TOOLDAG=${TOOLDAG:-$TD_BIN/tooldag}
BENCH=${TD_BENCH_PROG:-$TD_BIN/bench/tooldag-bench}
DATA=${TD_REALGRAPHS_DIR:-$TD_SRC/data}

fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# expect CODE SUBSTRING CMD... : CMD exits CODE and its stderr contains SUBSTRING (if not empty).
expect() {
	local code=$1 want=$2 got
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$code" ]; then
		fail "$* exited $got, expected $code; stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$want" ] && ! grep -qF -- "$want" "$tmp/err"; then
		fail "$*: stderr lacks '$want'; got: $(head -c 300 "$tmp/err")"
	fi
}

# same FILE EXPECTED_TEXT : the file holds exactly that text.
same() {
	if ! diff -u <(printf '%s\n' "$2") "$1" >"$tmp/diff"; then
		fail "$1 differs from what was expected:"
		cat "$tmp/diff"
	fi
}

if [ ! -x "$BENCH" ]; then
	echo "FAIL: $BENCH not built"
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 is needed for the independent leveling and is not installed"
	exit 77
fi

# ---- 1. usage and bad input --------------------------------------------------------------
b=$tmp/bad
mkdir -p "$b"
expect 1 "usage: tooldag-bench COMMAND" "$BENCH"
expect 1 "unknown command 'frobnicate'" "$BENCH" frobnicate
expect 1 "import: unknown format 'xml' (expected stg, wf or log)" "$BENCH" import xml f -o "$b/o"
expect 1 "import: expected FORMAT FILE and -o OUTDIR or --graph G --calls C" \
	"$BENCH" import stg f
expect 1 "import: expected FORMAT FILE and -o OUTDIR" "$BENCH" import stg f --graph g.yaml
expect 1 "--unit-ms: expected a positive number, got 'fast'" \
	"$BENCH" import stg f -o "$b/o" --unit-ms fast
expect 1 "-j: expected an integer in 1..1000000, got '0'" "$BENCH" import stg f -o "$b/o" -j 0
expect 1 "-d: expected LO:HI with 1 <= LO <= HI <= 1000, got '5:3'" "$BENCH" level -d 5:3
expect 1 "usage: tooldag-bench gen calls|tools" "$BENCH" gen
expect 1 "usage: tooldag-bench gen tools" "$BENCH" gen tools -n 10
expect 1 "usage: tooldag-bench gen calls [-n CALLS]" "$BENCH" gen calls -n 10
expect 1 "-n 5 gives no call per level with -l 10" "$BENCH" level -n 5 -l 10
expect 1 "usage: tooldag-bench level" "$BENCH" level extra
expect 1 "usage: tooldag-bench time -o FILE CMD" "$BENCH" time
expect 3 "time: /nonexistent/cmd: No such file or directory" "$BENCH" time -o "$b/t" /nonexistent/cmd
expect 7 "" "$BENCH" time -o "$b/t.json" sh -c 'exit 7'
grep -Eq '^\{"wall_s":[0-9.]+,"maxrss_mb":[0-9.]+,"status":7\}$' "$b/t.json" ||
	fail "time: unexpected report $(cat "$b/t.json")"
"$BENCH" level --help | grep -q "^usage: tooldag-bench COMMAND" || fail "level --help"
expect 2 "$b/none.stg: No such file or directory" "$BENCH" import stg "$b/none.stg" -o "$b/o"
expect 2 "$b: not a regular file" "$BENCH" import wf "$b" -o "$b/o"

stg() { printf "$2" >"$b/$1.stg"; }
stg empty ''
expect 2 "$b/empty.stg:1: unexpected end of file: expected the task count on the first line" \
	"$BENCH" import stg "$b/empty.stg" -o "$b/o"
stg comment '# only a comment\n'
expect 2 "$b/comment.stg:2: unexpected end of file: expected the task count" \
	"$BENCH" import stg "$b/comment.stg" -o "$b/o"
stg word '2\n0 0 0\n1 x 1 0\n'
expect 2 "$b/word.stg:3: expected the processing time of task 1 (an integer in 0..2147483647), found 'x'" \
	"$BENCH" import stg "$b/word.stg" -o "$b/o"
stg negative '2\n0 0 0\n1 -4 1 0\n'
expect 2 "$b/negative.stg:3: expected the processing time of task 1 (an integer in 0..2147483647), found '-4'" \
	"$BENCH" import stg "$b/negative.stg" -o "$b/o"
stg short '2\n0 0 0\n1 3 1 0\n2 5 1 1\n'
expect 2 "$b/short.stg:5: unexpected end of file: expected the number of task 3" \
	"$BENCH" import stg "$b/short.stg" -o "$b/o"
stg order '2\n0 0 0\n2 3 1 0\n'
expect 2 "$b/order.stg:3: expected task 1, found task 2 (tasks are numbered 0..3 in order)" \
	"$BENCH" import stg "$b/order.stg" -o "$b/o"
stg range '2\n0 0 0\n1 3 1 0\n2 5 1 9\n3 0 1 2\n'
expect 2 "$b/range.stg:4: expected predecessor 1 of 1 of task 2 (an integer in 0..3), found '9'" \
	"$BENCH" import stg "$b/range.stg" -o "$b/o"
stg self '2\n0 0 0\n1 3 1 0\n2 5 2 1\n 2\n3 0 1 2\n'
expect 2 "$b/self.stg:5: task 2 cannot depend on task 2" "$BENCH" import stg "$b/self.stg" -o "$b/o"
stg exitpred '2\n0 0 0\n1 3 1 3\n2 5 1 1\n3 0 1 2\n'
expect 2 "$b/exitpred.stg:3: task 1 cannot depend on task 3" \
	"$BENCH" import stg "$b/exitpred.stg" -o "$b/o"
stg junk '2\n0 0 0\n1 3 1 0\n2 5 1 1\n3 0 1 2\n# info\njunk 7\n'
expect 2 "$b/junk.stg:7: unexpected 'junk' after the exit task 3 (only '#' comments may follow)" \
	"$BENCH" import stg "$b/junk.stg" -o "$b/o"
stg count '0\n'
expect 2 "$b/count.stg:1: expected the task count on the first line (an integer in 1..50000000), found '0'" \
	"$BENCH" import stg "$b/count.stg" -o "$b/o"

wf() { printf '%s' "$2" >"$b/$1.json"; }
wf syntax $'{"workflow":\n  {"tasks": [,]}}'
expect 2 "$b/syntax.json:2:14: not valid JSON" "$BENCH" import wf "$b/syntax.json" -o "$b/o"
wf notwf '{"name": "x", "workflow": {"jobs": []}}'
expect 2 "$b/notwf.json: not a WfCommons instance: no workflow.specification.tasks (schema 1.5) or workflow.tasks (schema 1.4) array" \
	"$BENCH" import wf "$b/notwf.json" -o "$b/o"
wf noexec '{"workflow": {"specification": {"tasks": []}}}'
expect 2 "$b/noexec.json: schema 1.5 file without a workflow.execution.tasks array" \
	"$BENCH" import wf "$b/noexec.json" -o "$b/o"
wf empty '{"workflow": {"tasks": []}}'
expect 2 "$b/empty.json: workflow.tasks is empty" "$BENCH" import wf "$b/empty.json" -o "$b/o"
wf noid '{"workflow": {"specification": {"tasks": [{"name": "a"}]}, "execution": {"tasks": []}}}'
expect 2 "$b/noid.json: workflow.specification.tasks[0]: no string \"id\"" \
	"$BENCH" import wf "$b/noid.json" -o "$b/o"
wf norun '{"workflow": {"specification": {"tasks": [{"id": "a"}]}, "execution": {"tasks": [{"id": "b", "runtimeInSeconds": 1}]}}}'
expect 2 "$b/norun.json: task 'a' has no entry in workflow.execution.tasks" \
	"$BENCH" import wf "$b/norun.json" -o "$b/o"
wf badrun '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": "slow"}]}}'
expect 2 "$b/badrun.json: task 'a': \"runtimeInSeconds\" missing or not a number >= 0" \
	"$BENCH" import wf "$b/badrun.json" -o "$b/o"
wf dup '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": 1}, {"name": "a", "runtimeInSeconds": 2}]}}'
expect 2 "$b/dup.json: duplicate task \"name\" 'a'" "$BENCH" import wf "$b/dup.json" -o "$b/o"
wf parent '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": 1, "parents": ["zz"]}]}}'
expect 2 "$b/parent.json: task 'a' names unknown parent 'zz'" \
	"$BENCH" import wf "$b/parent.json" -o "$b/o"
wf child '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": 1, "children": ["b"]}]}}'
expect 2 "$b/child.json: task 'a' names unknown child 'b'" "$BENCH" import wf "$b/child.json" -o "$b/o"
wf itself '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": 1, "parents": ["a"]}]}}'
expect 2 "$b/itself.json: task 'a' names itself in \"parents\"" \
	"$BENCH" import wf "$b/itself.json" -o "$b/o"
wf notlist '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": 1, "parents": "b"}]}}'
expect 2 "$b/notlist.json: task 'a': \"parents\" is not an array" \
	"$BENCH" import wf "$b/notlist.json" -o "$b/o"
touch "$b/file"
wf ok '{"workflow": {"tasks": [{"name": "a", "runtimeInSeconds": 1}]}}'
expect 3 "$b/file/x: Not a directory" "$BENCH" import wf "$b/ok.json" -o "$b/file/x"

# ---- 2. what import writes ---------------------------------------------------------------
g=$tmp/good
mkdir -p "$g"
# entry 0 and exit 4 dropped, edges to them too; 3 depends on 1 twice (kept once) and on 2;
# a number glued to a comment still counts
printf '  3\n  0  0  0\n  1  4  1  0\n  2  0  1  0\n  3  2  3  1  2  1#x\n  4  0  1  3\n# info\n' \
	>"$g/small.stg"
"$BENCH" import stg "$g/small.stg" -o "$g/stg" --unit-ms 2.5 -j 3 || fail "import small.stg"
same "$g/stg/calls.json" '[
{"type":"tool_use","id":"1","name":"task","input":{"ms":10}},
{"type":"tool_use","id":"2","name":"task","input":{"ms":0}},
{"type":"tool_use","id":"3","name":"task","input":{"ms":5},"depends_on":["1","2"]}
]'
same "$g/stg/graph.yaml" "# Written by tooldag-bench from $g/small.stg (STG: 3 tasks, 2 edges)
version: 1
concurrency: 3
tools:
  task:
    description: One task of the imported graph; sleeps for its runtime in ms.
    builtin: sleep
    timeout: 60s
    input_schema:
      type: object
      required: [ms]
      properties:
        ms: {type: number}"
# 1.5: runtimes from execution.tasks by id; edges from parents and children (union);
# ids needing JSON escapes
printf '%s' '{"schemaVersion": "1.5", "workflow": {"specification": {"tasks": [
 {"id": "split \"1\"", "name": "s", "parents": [], "children": ["b"]},
 {"id": "b", "name": "x", "parents": []},
 {"id": "c", "name": "x", "parents": ["b", "split \"1\""]}]},
 "execution": {"tasks": [{"id": "c", "runtimeInSeconds": 95.0004},
  {"id": "b", "runtimeInSeconds": 0.0006}, {"id": "split \"1\"", "runtimeInSeconds": 1.5}]}}}' \
	>"$g/wf15.json"
"$BENCH" import wf "$g/wf15.json" --graph "$g/wf15.yaml" --calls "$g/wf15c.json" ||
	fail "import wf15.json"
same "$g/wf15c.json" '[
{"type":"tool_use","id":"split \"1\"","name":"task","input":{"ms":1500}},
{"type":"tool_use","id":"b","name":"task","input":{"ms":1},"depends_on":["split \"1\""]},
{"type":"tool_use","id":"c","name":"task","input":{"ms":95000},"depends_on":["b","split \"1\""]}
]'
grep -qx '    timeout: 155s' "$g/wf15.yaml" || fail "wf15.yaml: timeout not above the longest task"
grep -qx 'concurrency: 8' "$g/wf15.yaml" || fail "wf15.yaml: default concurrency is not 8"
# 1.4: the key is `name`, `parents` name tasks by name
printf '%s' '{"schemaVersion": "1.4", "workflow": {"tasks": [
 {"name": "a_1", "id": "ID1", "runtimeInSeconds": 2},
 {"name": "b_2", "id": "ID2", "runtime": 3, "parents": ["a_1"]}]}}' >"$g/wf14.json"
"$BENCH" import wf "$g/wf14.json" -o "$g/wf14" || fail "import wf14.json"
same "$g/wf14/calls.json" '[
{"type":"tool_use","id":"a_1","name":"task","input":{"ms":2000}},
{"type":"tool_use","id":"b_2","name":"task","input":{"ms":3000},"depends_on":["a_1"]}
]'

if [ ! -d "$DATA/stg" ] || [ ! -d "$DATA/wf" ]; then
	echo "FAIL: $DATA/stg or $DATA/wf absent"
	exit 1
fi

# ---- 3. every real graph: import, plan, compare -------------------------------------------
r=$tmp/real
manifest=$tmp/manifest.tsv
: >"$manifest"
n=0
plan_one() { # FORMAT SOURCE
	local out=$r/$n
	n=$((n + 1))
	if ! "$BENCH" import "$1" "$2" -o "$out" 2>"$tmp/err"; then
		fail "import $1 $2: $(cat "$tmp/err")"
		return
	fi
	if ! "$TOOLDAG" plan "$out/graph.yaml" "$out/calls.json" --json >"$out/plan.json" \
		2>"$tmp/err"; then
		fail "tooldag plan of $2: $(head -c 300 "$tmp/err")"
		return
	fi
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$out/plan.json" "$out/calls.json" >>"$manifest"
}
nstg=0
while IFS= read -r f; do
	plan_one stg "$f"
	nstg=$((nstg + 1))
done < <(find "$DATA/stg" -name '*.stg' | sort)
nwf=0
while IFS= read -r f; do
	plan_one wf "$f"
	nwf=$((nwf + 1))
done < <(find "$DATA/wf" -name '*.json' | sort)
# data/ holds 23 STG graphs and 3 WfCommons files; another folder must hold some of each
if [ -z "${TD_REALGRAPHS_DIR:-}" ]; then
	[ "$nstg" = 23 ] || fail "$nstg STG graphs under $DATA/stg, expected 23"
	[ "$nwf" = 3 ] || fail "$nwf WfCommons files under $DATA/wf, expected 3"
else
	[ "$nstg" -gt 0 ] || fail "no STG graph under $DATA/stg"
	[ "$nwf" -gt 0 ] || fail "no WfCommons file under $DATA/wf"
fi
python3 "$TD_SRC/tests/realgraph_levels.py" --wf-readme "$DATA/wf/README.md" "$manifest" \
	>"$tmp/levels.txt"
rc=$?
grep -v '^ok ' "$tmp/levels.txt"
[ "$rc" = 0 ] || fail "independent leveling disagrees with tooldag plan (see above)"

# ---- 4. the benchmark's generators through the command and the library -------------------
"$BENCH" gen calls -n 2000 -l 10 -d 3:5 -o "$tmp/gen" || fail "gen calls"
if "$TOOLDAG" plan "$tmp/gen/graph.yaml" "$tmp/gen/calls.json" --json >"$tmp/gen/plan.json"; then
	python3 - "$tmp/gen/plan.json" <<-'EOF' || fail "gen calls: levels are not index / 200"
		import json, sys
		p = json.load(open(sys.argv[1]))
		assert len(p["levels"]) == 10, len(p["levels"])
		assert all(c["level"] == i // 200 for i, c in enumerate(p["calls"]))
		assert all(3 <= len(c["depends_on"]) <= 5 for c in p["calls"][200:])
	EOF
else
	fail "tooldag plan of gen calls output"
fi
"$BENCH" gen tools -n 300 -o "$tmp/tools.yaml" || fail "gen tools"
"$TOOLDAG" check "$tmp/tools.yaml" >/dev/null || fail "tooldag check of gen tools output"
lvl=$("$BENCH" level -n 3000 -l 10 -d 3:5 -s 7) || fail "tooldag-bench level"
ref=$(python3 "$TD_SRC/bench/level_ref.py" -n 3000 -l 10 -d 3:5 -s 7) || fail "level_ref.py"
python3 - "$lvl" "$ref" <<-'EOF' || fail "level and level_ref.py disagree: $lvl / $ref"
	import json, sys
	a, b = (json.loads(x) for x in sys.argv[1:])
	assert (a["calls"], a["edges"], a["levels"]) == (b["calls"], b["edges"], b["levels"]) == \
	    (3000, b["edges"], 10)
EOF

echo "$nstg STG graphs, $nwf WfCommons files; $fails failure(s)"
[ "$fails" = 0 ]
