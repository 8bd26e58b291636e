#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_observe.sh - seeing a run from the command line: the status line on a terminal (a
# pseudo-terminal through script(1)) and not on a pipe or with --quiet, --progress=plain|json,
# the FAILED: summary, --trace (a valid, complete Chrome trace), `tooldag dot` (rendered by
# Graphviz's dot when it is installed), `tooldag plan --mermaid`, the usage errors, and that
# none of it changes the results on stdout.
set -u

TOOLDAG=${TOOLDAG:?TOOLDAG must name the tooldag command}
TD_BIN=${TD_BIN:?TD_BIN must name the build directory}
CHILD="$TD_BIN/tests/td_child"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
has() { grep -qF -- "$2" "$1" || fail "$1 lacks [$2]: $(head -c 1500 "$1")"; }
lacks() { ! grep -qF -- "$2" "$1" || fail "$1 has [$2]: $(head -c 1500 "$1")"; }
expect_rc() { [ "$1" -eq "$2" ] || fail "$3: exit $1, want $2"; }

cat >"$T/g.yaml" <<EOF
version: 1
concurrency: 3
tools:
  weather:
    run: ["$CHILD", say, "18C clear"]
  pollen:
    run: ["$CHILD", cat]
    depends_on: [weather]
  flaky:
    run: ["$CHILD", esay, "boom\nsecond line", exit, "3"]
    retries: 1
    backoff: 10ms
  hang:
    run: ["$CHILD", sleep, "20000"]
    timeout: 200ms
  after_flaky:
    run: ["$CHILD", say, "never"]
    depends_on: [flaky]
  echo:
    builtin: echo
calls:
  - {id: w1, tool: weather, input: {}}
  - {id: p1, tool: pollen, input: {city: x}}
  - {id: f1, tool: flaky, input: {}}
  - {id: h1, tool: hang, input: {}}
  - {id: a1, tool: after_flaky, input: {}}
  - {id: e1, tool: echo, input: {n: 1}}
  - {id: e2, tool: echo, input: {n: 2}}
EOF
cat >"$T/ok.yaml" <<EOF
version: 1
tools:
  echo:
    builtin: echo
  after:
    builtin: echo
    depends_on: [echo]
calls:
  - {id: e1, tool: echo, input: {n: 1}}
  - {id: e2, tool: after, input: {n: 2}}
EOF

# ---- observers do not change results: byte-identical stdout ----
"$TOOLDAG" run "$T/g.yaml" >"$T/plain.out" 2>"$T/plain.err"
expect_rc $? 0 "run without observers"
# the trace overwrites a longer file left by an earlier run and cuts it to its own length
head -c 300000 /dev/zero | tr '\0' x >"$T/trace.json"
"$TOOLDAG" run "$T/g.yaml" --progress=json --trace "$T/trace.json" >"$T/obs.out" 2>"$T/obs.err"
expect_rc $? 0 "run with observers"
cmp -s "$T/plain.out" "$T/obs.out" || fail "stdout differs with observers"
"$TOOLDAG" run "$T/g.yaml" --progress=tty -q >"$T/q.out" 2>"$T/q.err"
cmp -s "$T/plain.out" "$T/q.out" || fail "stdout differs with --quiet"

# ---- failure summary: on a pipe too, in call order, first line of the error ----
has "$T/plain.err" "FAILED: f1 (flaky) error, exit code 3: exited with code 3: boom"
has "$T/plain.err" "FAILED: h1 (hang) timeout, signal SIGTERM: timed out after 200ms"
has "$T/plain.err" "tooldag: 2 of 7 calls failed, 1 skipped because a dependency failed"
lacks "$T/plain.err" "second line"
lacks "$T/plain.err" "FAILED: a1"
[ "$(grep -c '^FAILED: ' "$T/plain.err")" -eq 2 ] || fail "want 2 FAILED lines"
[ "$(grep -n '^FAILED: ' "$T/plain.err" | head -1 | cut -d: -f3)" = " f1 (flaky) error, exit code 3" ] ||
	fail "FAILED lines not in call order"
# no status line on a pipe, nothing at all with --quiet or when every call succeeded
lacks "$T/plain.err" "[level"
[ ! -s "$T/q.err" ] || fail "--quiet still wrote: $(cat "$T/q.err")"
"$TOOLDAG" run "$T/ok.yaml" >/dev/null 2>"$T/ok.err"
[ ! -s "$T/ok.err" ] || fail "a clean run on a pipe wrote to stderr: $(cat "$T/ok.err")"
# --fail-on-error keeps its exit code with the summary
"$TOOLDAG" run "$T/g.yaml" --fail-on-error >/dev/null 2>"$T/foe.err"
expect_rc $? 3 "--fail-on-error"
has "$T/foe.err" "FAILED: f1"

# ---- --progress=json: every stderr line is one JSON event ----
python3 - "$T/obs.err" <<'EOF' || fail "--progress=json lines"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
evs = [json.loads(l) for l in lines]  # raises on any non-JSON line (no summary mixed in)
kinds = [e["event"] for e in evs]
assert kinds[0] == "level_started" and kinds[-1] == "run_finished", kinds
fin = [e for e in evs if e["event"] == "call_finished"]
assert sorted(e["id"] for e in fin) == ["a1", "e1", "e2", "f1", "h1", "p1", "w1"], fin
st = {e["id"]: e for e in fin}
assert st["f1"]["status"] == "error" and st["f1"]["exit_code"] == 3 and st["f1"]["attempts"] == 2
assert st["h1"]["status"] == "timeout" and st["h1"]["signal_name"] == "SIGTERM"
assert st["a1"]["status"] == "skipped" and st["a1"]["ms"] is None
assert st["w1"]["status"] == "ok" and st["w1"]["ms"] >= 0
retry = [e for e in evs if e["event"] == "attempt_finished" and e["retrying"]]
assert [e["id"] for e in retry] == ["f1"], retry
assert evs[-1]["done"] == 7 and evs[-1]["failed"] == 3 and evs[-1]["calls"] == 7
t = [e["t_ms"] for e in evs if e["event"] in ("level_started", "level_finished")]
assert t == sorted(t), t
EOF

# ---- --progress=plain ----
"$TOOLDAG" run "$T/g.yaml" --progress=plain >/dev/null 2>"$T/pl.err"
has "$T/pl.err" "] level 0 started"
has "$T/pl.err" "] started  w1 weather (attempt 1)"
has "$T/pl.err" "] retry    f1 flaky: attempt 1 error after "
has "$T/pl.err" "] finished a1 after_flaky: skipped"
has "$T/pl.err" "] run finished: 7 calls, 3 failed"
has "$T/pl.err" "FAILED: f1 (flaky)"

# ---- the status line on a terminal (a pseudo-terminal through script) ----
if command -v script >/dev/null; then
	script -qec "'$TOOLDAG' run '$T/g.yaml' >/dev/null" /dev/null >"$T/tty.raw" 2>&1
	has "$T/tty.raw" "[level 1/2] "
	has "$T/tty.raw" " running ("
	has "$T/tty.raw" "7/7 done, 3 failed"
	grep -q $'\r\\[level' "$T/tty.raw" || fail "status line not overprinted with CR"
	grep -q $'\033\\[K' "$T/tty.raw" || fail "status line does not clear to end of line"
	has "$T/tty.raw" "FAILED: f1 (flaky)"
	script -qec "'$TOOLDAG' run --quiet '$T/g.yaml' >/dev/null" /dev/null >"$T/ttyq.raw" 2>&1
	lacks "$T/ttyq.raw" "[level"
	lacks "$T/ttyq.raw" "FAILED"
	script -qec "'$TOOLDAG' run --progress=none '$T/ok.yaml' >/dev/null" /dev/null \
		>"$T/ttyn.raw" 2>&1
	lacks "$T/ttyn.raw" "[level"
else
	fail "script(1) (bsdutils) is needed for the terminal checks"
fi

# ---- --trace: valid, complete Chrome trace-event JSON ----
python3 - "$T/trace.json" <<'EOF' || fail "trace file"
import json, sys
raw = open(sys.argv[1]).read()
assert "xxx" not in raw and raw.endswith("}\n"), raw[-200:]
d = json.loads(raw)
evs = d["traceEvents"]
x = [e for e in evs if e["ph"] == "X" and e["pid"] == 1]
# a slice is named "TOOL ID" (+ " [STATUS]" when it failed); its args do not repeat them
for e in x:
    e["tool"], e["id"] = e["name"].split(" ")[:2]
    assert "id" not in e["args"] and "tool" not in e["args"], e
ran = {e["id"] for e in x}
assert ran == {"w1", "p1", "f1", "h1", "e1", "e2"}, ran
notrun = [e for e in evs if e["ph"] == "i" and e.get("cat") == "not_run"]
assert [e["args"]["id"] for e in notrun] == ["a1"] and notrun[0]["args"]["status"] == "skipped"
f1 = sorted((e for e in x if e["id"] == "f1"), key=lambda e: e["args"]["attempt"])
assert [e["args"]["attempt"] for e in f1] == [1, 2] and f1[0]["args"].get("retrying") is True
assert f1[0]["name"] == "flaky f1 [error]" and f1[0]["args"]["exit_code"] == 3
h1 = [e for e in x if e["id"] == "h1"]
assert h1[0]["name"] == "hang h1 [timeout]" and h1[0]["args"]["signal"] == "SIGTERM"
assert h1[0]["dur"] >= 200000
backoff = [e for e in evs if e.get("cat") == "backoff"]
assert len(backoff) == 2 and backoff[0]["args"]["id"] == "f1"
# at most `concurrency` slots, named, and no two slices overlap on one slot
names = {e["tid"]: e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
assert names[0] == "not run"
for e in x:
    assert 1 <= e["tid"] <= 3 and names[e["tid"]] == "slot %d" % (e["tid"] - 1), e
for tid in {e["tid"] for e in x}:
    s = sorted((e["ts"], e["ts"] + e["dur"]) for e in x if e["tid"] == tid)
    assert all(a[1] <= b[0] for a, b in zip(s, s[1:])), (tid, s)
# queue wait: one slice per wait on a lane of process 2, named after the call, ending where
# the attempt starts (a1, queued then skipped, where its not-run instant is); each lane named
# once, no two waits overlap on one lane
procs = {e["pid"]: e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"}
assert procs == {1: "tooldag run", 2: "queue"}, procs
named = [(e["pid"], e["tid"]) for e in evs if e["ph"] == "M" and e["name"] == "thread_name"]
assert len(named) == len(set(named)), named
lanes = {e["tid"]: e["args"]["name"] for e in evs
         if e["ph"] == "M" and e["pid"] == 2 and e["name"] == "thread_name"}
q = [e for e in evs if e["ph"] == "X" and e["pid"] == 2]
assert not [e for e in evs if e.get("cat") == "queue"]
ends = sorted([(e["id"], e["ts"]) for e in x] + [(e["args"]["id"], e["ts"]) for e in notrun])
assert sorted((e["name"], e["ts"] + e["dur"]) for e in q) == ends, (q, ends)
for e in q:
    assert e["dur"] >= 0 and lanes[e["tid"]] == "queue %d" % (e["tid"] - 1), e
for tid in lanes:
    s = sorted((e["ts"], e["ts"] + e["dur"]) for e in q if e["tid"] == tid)
    assert all(a[1] <= b[0] for a, b in zip(s, s[1:])), (tid, s)
# the queued counter: samples in time order, none left waiting at the end
cs = [e for e in evs if e["ph"] == "C"]
assert cs and all(e["name"] == "queued" and e["pid"] == 2 for e in cs), cs
assert [e["ts"] for e in cs] == sorted({e["ts"] for e in cs}) and cs[-1]["args"]["calls"] == 0, cs
assert max(e["args"]["calls"] for e in cs) >= 2, cs
# level boundaries: a global marker and an async slice per level
marks = [e["name"] for e in evs if e["ph"] == "i" and e.get("s") == "g"]
assert marks == ["level 0", "level 1"], marks
lv = [(e["ph"], e["name"]) for e in evs if e.get("cat") == "level" and e["ph"] in "be"]
assert sorted(lv) == sorted([("b", "level 0"), ("e", "level 0"), ("b", "level 1"), ("e", "level 1")])
assert d["otherData"]["calls"] == 7 and d["otherData"]["concurrency"] == 3
EOF

# ---- dot ----
"$TOOLDAG" dot "$T/g.yaml" >"$T/tools.dot" 2>"$T/dot.err"
expect_rc $? 0 "dot GRAPH"
has "$T/tools.dot" "digraph tools {"
has "$T/tools.dot" "t0 -> t1;"
[ "$(grep -c 'rank=same' "$T/tools.dot")" -eq 2 ] || fail "tools: want 2 ranks"
"$TOOLDAG" dot "$TD_SRC/graphs/travel.yaml" "$TD_SRC/graphs/calls/travel.openai.json" \
	>"$T/calls.dot" 2>"$T/dot.err"
expect_rc $? 0 "dot GRAPH CALLS"
has "$T/calls.dot" "digraph calls {"
[ "$(grep -c 'rank=same' "$T/calls.dot")" -eq 2 ] || fail "calls: want 2 ranks"
if command -v dot >/dev/null; then
	for f in tools calls; do
		dot -Tsvg "$T/$f.dot" >"$T/$f.svg" 2>"$T/dot.err" || fail "dot -Tsvg $f: $(cat "$T/dot.err")"
		grep -q "<svg" "$T/$f.svg" || fail "dot -Tsvg $f: no svg"
	done
else
	fail "Graphviz's dot is needed to render the DOT output (.ci/run installs graphviz)"
fi
"$TOOLDAG" dot >/dev/null 2>"$T/e"
expect_rc $? 1 "dot without GRAPH"
has "$T/e" "tooldag: dot: expected GRAPH [CALLS]"
"$TOOLDAG" dot --bogus "$T/g.yaml" >/dev/null 2>"$T/e"
expect_rc $? 1 "dot --bogus"
has "$T/e" "tooldag: dot: unknown option"
"$TOOLDAG" dot "$TD_SRC/graphs/invalid/cycle.yaml" >/dev/null 2>"$T/e"
expect_rc $? 2 "dot of a cyclic graph"
has "$T/e" "cycle"
"$TOOLDAG" dot --help >"$T/h"
has "$T/h" "usage: tooldag dot"
"$TOOLDAG" --help >"$T/h"
has "$T/h" "  dot "

# ---- plan --mermaid ----
"$TOOLDAG" plan --mermaid "$TD_SRC/graphs/travel.yaml" >"$T/m" 2>"$T/e"
expect_rc $? 0 "plan --mermaid"
[ "$(head -1 "$T/m")" = "flowchart LR" ] || fail "mermaid: first line $(head -1 "$T/m")"
has "$T/m" '  subgraph level_0["level 0"]'
has "$T/m" '  subgraph level_1["level 1"]'
has "$T/m" '    c4["toolu_05<br/>lookup_pollen"]'
has "$T/m" "  c3 --> c4"
[ "$(grep -c '^  end$' "$T/m")" -eq 2 ] || fail "mermaid: want 2 subgraphs closed"

# ---- usage errors ----
"$TOOLDAG" run --progress=bogus "$T/g.yaml" >/dev/null 2>"$T/e"
expect_rc $? 1 "--progress=bogus"
has "$T/e" "tooldag: run: --progress takes auto, tty, plain, json or none"
"$TOOLDAG" run --trace /nonexistent/dir/t.json "$T/ok.yaml" >"$T/o" 2>"$T/e"
expect_rc $? 4 "--trace to an impossible path"
has "$T/e" "tooldag: cannot write the trace to '/nonexistent/dir/t.json': No such file or directory"
[ ! -s "$T/o" ] || fail "a run that could not trace still ran"
# to a pipe: nothing to cut, nothing to complain about
"$TOOLDAG" run -q --trace /dev/fd/3 "$T/ok.yaml" 3>&1 >/dev/null 2>"$T/e" |
	python3 -c 'import json, sys; assert len(json.load(sys.stdin)["traceEvents"]) > 4' ||
	fail "--trace to a pipe"
[ ! -s "$T/e" ] || fail "--trace to a pipe: $(cat "$T/e")"
if [ -w /dev/full ]; then
	"$TOOLDAG" run --trace /dev/full "$T/ok.yaml" >/dev/null 2>"$T/e"
	expect_rc $? 4 "--trace to a full disk"
	has "$T/e" "tooldag: cannot write the trace to '/dev/full'"
fi

[ "$fails" -eq 0 ] && echo "test_observe.sh: all passed"
[ "$fails" -eq 0 ]
