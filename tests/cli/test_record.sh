#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_record.sh - `tooldag run --record FILE` and `tooldag replay`: replay prints the bytes run
# printed in all three dialects (compact and --pretty), --batch picks a line, a torn last line
# is ignored with a warning, concurrent runs recording into one file leave whole lines,
# --rerun reports per call what changed (and warns when the tools, an MCP server's settings
# included, are not those recorded; a signal cancels it and leaves no tool running), and an HTTP tool's ${VAR} secrets (in its url and
# in a header) never reach the recording while each attempt's HTTP status code does
# (tests/http_server.py on a port the kernel picks).
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
G="$TD_SRC/graphs/travel.yaml"
R="$T_TMP/rec.jsonl"

# ---- replay = run's output, byte for byte, per dialect ----
n=0
for d in anthropic openai responses; do
	for pretty in "" --pretty; do
		t_run run -q $pretty "$G" "$TD_SRC/graphs/calls/travel.$d.json" --record "$R"
		t_exit 0
		cp "$T_TMP/out" "$T_TMP/run.$d$pretty"
		n=$((n + 1))
		t_run replay $pretty "$R"
		t_exit 0
		T_COUNT=$((T_COUNT + 1))
		cmp -s "$T_TMP/out" "$T_TMP/run.$d$pretty" || t_fail "replay of $d $pretty differs from run"
	done
done
# --batch N: the first batch again (anthropic, compact), from a file of $n lines
t_run replay --batch 1 "$R"
t_exit 0
T_COUNT=$((T_COUNT + 1))
cmp -s "$T_TMP/out" "$T_TMP/run.anthropic" || t_fail "--batch 1 is not the first run's output"
t_run replay --batch $((n + 1)) "$R"
t_exit 2
t_err_has "holds $n batches, not $((n + 1))"
# --graph is --rerun's: alone it is a usage error, not ignored
t_run replay --graph "$G" "$R"
t_exit 1
t_err_has "replay: --graph goes with --rerun"
# --dialect answers the recorded results in another dialect
t_run replay --batch 1 --dialect openai "$R"
t_exit 0
t_json "isinstance(d, list) and d[0]['role'] == 'tool' and d[0]['tool_call_id'] == 'toolu_01'"

# a result with NUL bytes and bytes that are not UTF-8 (written as U+FFFD) replays whole
cat >"$T_TMP/bytes.yaml" <<'EOF2'
version: 1
tools:
  b: {run: [/usr/bin/printf, 'a\377\0b\376c\0\0']}
calls:
  - {id: x, tool: b, input: {}}
EOF2
t_run run -q "$T_TMP/bytes.yaml" --record "$T_TMP/bytes.jsonl"
t_exit 0
cp "$T_TMP/out" "$T_TMP/run.bytes"
t_run replay "$T_TMP/bytes.jsonl"
t_exit 0
T_COUNT=$((T_COUNT + 1))
cmp -s "$T_TMP/out" "$T_TMP/run.bytes" || t_fail "replay of a content with NUL and non-UTF-8 bytes differs from run"

# a streamed response cut off before its first call: run printed nothing, and so does replay
head -n 18 "$TD_SRC/tests/data/recorded/anthropic-stream-tool_use_response.txt" >"$T_TMP/cut.sse"
t_run run "$TD_SRC/graphs/calls/recorded.yaml" "$T_TMP/cut.sse" --record "$T_TMP/cut.jsonl"
t_exit 2
t_out_empty
for rerun in "" --rerun; do
	t_run replay $rerun "$T_TMP/cut.jsonl"
	t_exit 2
	t_out_empty
	t_err_has "cut.jsonl: batch 1 holds no call: nothing ran"
done

# ---- a torn last line: ignored, with a warning naming it ----
head -c 300 "$R" >>"$R"
t_run replay --pretty "$R"
t_exit 0
t_err_has "rec.jsonl:$((n + 1)): a torn last line"
T_COUNT=$((T_COUNT + 1))
cmp -s "$T_TMP/out" "$T_TMP/run.responses--pretty" || t_fail "the torn line changed which batch is last"
# a tooldag killed by SIGKILL mid-run leaves the file as it was: whole lines only
cp "$R" "$T_TMP/killed.jsonl"
cat >"$T_TMP/sleepy.yaml" <<EOF2
version: 1
tools:
  nap: {builtin: sleep}
calls:
  - {id: n, tool: nap, input: {ms: 20000}}
EOF2
"$TOOLDAG" run -q "$T_TMP/sleepy.yaml" --record "$T_TMP/killed.jsonl" >/dev/null 2>&1 &
kp=$!
sleep 0.5
kill -KILL "$kp"
wait "$kp" 2>/dev/null
T_COUNT=$((T_COUNT + 1))
cmp -s "$R" "$T_TMP/killed.jsonl" || t_fail "a killed run changed the recording"
t_run replay --pretty "$T_TMP/killed.jsonl"
t_exit 0
t_err_has "killed.jsonl:$((n + 1)): a torn last line"
# not JSON, not a recording
printf 'hello\n' >"$T_TMP/bad.jsonl"
t_run replay "$T_TMP/bad.jsonl"
t_exit 2
t_err_has "bad.jsonl:1: not JSON"
t_run replay "$T_TMP/none.jsonl"
t_exit 2
t_err_has "cannot read the recording"
t_run replay "$T_TMP"
t_exit 2
t_err_has "cannot read the recording: Is a directory"
# an unwritable recording path fails before anything runs
t_run run -q "$G" --record "$T_TMP/no/such/dir/rec.jsonl"
t_exit 4
t_err_has "cannot open the recording"

# ---- concurrent runs into one file: every line whole ----
C="$T_TMP/conc.jsonl"
cat >"$T_TMP/big.yaml" <<EOF2
version: 1
tools:
  e: {builtin: echo, max_output: 1MiB}
EOF2
$PY - "$T_TMP/big.json" <<'EOF2'
import json, sys
calls = [{"type": "tool_use", "id": "c%d" % i, "name": "e", "input": {"s": "x" * 30000}}
         for i in range(8)]
json.dump(calls, open(sys.argv[1], "w"))
EOF2
pids=()
for i in 1 2 3 4 5 6; do
	(for k in 1 2 3 4 5; do "$TOOLDAG" run -q "$T_TMP/big.yaml" "$T_TMP/big.json" --record "$C" >/dev/null || exit 1; done) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { T_COUNT=$((T_COUNT + 1)); t_fail "a concurrent run failed"; }; done
T_COUNT=$((T_COUNT + 1))
$PY - "$C" <<'EOF2' || t_fail "concurrent recordings interleaved"
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "no final newline"
lines = lines[:-1]
assert len(lines) == 30, len(lines)
for l in lines:
    d = json.loads(l)
    assert len(d["calls"]) == 8 and all(len(c["content"]) > 30000 for c in d["calls"])
EOF2

# ---- a line the file size limit (ulimit -f) stops: cut away, reported, exit 4 ----
"$TOOLDAG" run -q "$G" --record "$T_TMP/limit.jsonl" >/dev/null || t_fail "travel did not run"
cp "$T_TMP/limit.jsonl" "$T_TMP/limit.before"
(
	ulimit -f 64 # KiB: the file fits, a line of 8 x 30 kB inputs and contents does not
	exec "$TOOLDAG" run -q "$T_TMP/big.yaml" "$T_TMP/big.json" --record "$T_TMP/limit.jsonl" \
		>/dev/null 2>"$T_TMP/err"
)
T_RC=$?
T_ARGS="run --record limit.jsonl under ulimit -f 64"
t_exit 4
t_err_has "cannot write the recording to '$T_TMP/limit.jsonl'"
T_COUNT=$((T_COUNT + 1))
cmp -s "$T_TMP/limit.before" "$T_TMP/limit.jsonl" || t_fail "the line that did not fit was not cut away"

# ---- --rerun: the same batch against the graph as it is now ----
echo one >"$T_TMP/state"
cat >"$T_TMP/state.yaml" <<EOF2
version: 1
tools:
  read: {run: [/bin/cat, "$T_TMP/state"]}
  echo: {builtin: echo}
calls:
  - {id: r, tool: read, input: {}}
  - {id: e, tool: echo, input: {x: 1}}
EOF2
t_run run -q "$T_TMP/state.yaml" --record "$T_TMP/state.jsonl"
t_exit 0
t_run replay --rerun "$T_TMP/state.jsonl"
t_exit 0
t_out_has "same    r ok"
t_out_has "same    e ok"
echo two >"$T_TMP/state"
t_run replay --rerun "$T_TMP/state.jsonl"
t_exit 3
t_out_has "changed r"
t_out_has '  - one\n'
t_out_has '  + two\n'
t_out_has "same    e ok"
rm "$T_TMP/state"
t_run replay --rerun "$T_TMP/state.jsonl"
t_exit 3
t_out_has "  status: ok -> error"
# a comparison that cannot be written says so
"$TOOLDAG" replay --rerun "$T_TMP/state.jsonl" >/dev/full 2>"$T_TMP/err"
T_RC=$?
T_ARGS="replay --rerun state.jsonl >/dev/full"
t_exit 4
t_err_has "cannot write results: No space left on device"
# ---- --rerun stopped by a signal: cancelled as `run` is, its tools killed, not left running ----
for s in 0 60; do
	cat >"$T_TMP/nap$s.yaml" <<EOF2
version: 1
tools:
  nap: {run: [/bin/sh, -c, 'echo \$\$ >"$T_TMP/nap.pid"; exec /bin/sleep $s']}
calls:
  - {id: n, tool: nap, input: {}}
EOF2
done
t_run run -q "$T_TMP/nap0.yaml" --record "$T_TMP/nap.jsonl"
t_exit 0
rm -f "$T_TMP/nap.pid"
"$TOOLDAG" replay --rerun --graph "$T_TMP/nap60.yaml" "$T_TMP/nap.jsonl" >"$T_TMP/out" 2>"$T_TMP/err" &
rp=$!
for i in $(seq 200); do [ -s "$T_TMP/nap.pid" ] && break; sleep 0.05; done
kill -TERM "$rp"
wait "$rp"
T_RC=$?
T_ARGS="replay --rerun, then SIGTERM"
t_exit 130
t_err_has "Terminated, cancelling the run"
t_out_has "changed n"
t_out_has "  status: ok -> cancelled"
T_COUNT=$((T_COUNT + 1))
np=$(cat "$T_TMP/nap.pid")
for i in $(seq 50); do kill -0 "$np" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$np" 2>/dev/null; then
	kill "$np"
	t_fail "the rerun's tool was left running"
fi

# a batch recorded against another MCP server (its env changed since) is noticed on --rerun
cat >"$T_TMP/srv.yaml" <<EOF2
version: 1
servers:
  s: {command: [/bin/true], env: {MODE: a}}
tools:
  echo: {builtin: echo}
  m: {mcp: s, input_schema: {type: object}}
calls:
  - {id: e, tool: echo, input: {x: 1}}
EOF2
t_run run -q "$T_TMP/srv.yaml" --record "$T_TMP/srv.jsonl"
t_exit 0
t_run replay --rerun "$T_TMP/srv.jsonl"
t_exit 0
t_err_empty
sed -i 's/MODE: a/MODE: b/' "$T_TMP/srv.yaml"
t_run replay --rerun "$T_TMP/srv.jsonl"
t_exit 0
t_err_has "srv.yaml: the tools are not those recorded"
t_out_has "same    e ok"

# ---- learned durations: --record keeps FILE.durations, --history FILE names another ----
T_COUNT=$((T_COUNT + 1))
$PY - "$R.durations" <<'EOF2' || t_fail "--record did not learn the travel tools' durations"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0] == {"tooldag_durations": 2}, lines[0]
tools = {l["tool"]: l for l in lines[1:] if "tool" in l}
assert tools["get_flight_prices"]["n"] >= 18 and tools["get_flight_prices"]["ewma_us"] > 0, tools
inputs = [l for l in lines[1:] if "input_of" in l]
assert inputs and all(len(l["input"]) == 16 and l["ewma_us"] >= 0 for l in inputs), inputs
# the same inputs, run six times (three dialects, compact and pretty): one entry each
assert sum(l["n"] for l in inputs if l["input_of"] == "get_flight_prices") == \
    tools["get_flight_prices"]["n"], (inputs, tools)
EOF2
cat >"$T_TMP/crit.yaml" <<EOF2
version: 1
tools:
  slow: {builtin: sleep}
  fast: {builtin: sleep}
calls:
  - {id: f0, tool: fast, input: {ms: 1}}
  - {id: f1, tool: fast, input: {ms: 1}, depends_on: [f0]}
  - {id: f2, tool: fast, input: {ms: 1}, depends_on: [f1]}
  - {id: s0, tool: slow, input: {ms: 100}}
EOF2
H="$T_TMP/crit.durations"
first() { $PY -c "import json,sys; c=json.load(open(sys.argv[1]))['calls']; print(min(c, key=lambda x: x['start_ms'])['id'])" "$1"; }
t_run run -q -j 1 --schedule critical --history "$H" --report "$T_TMP/c1.json" "$T_TMP/crit.yaml"
t_exit 0
T_COUNT=$((T_COUNT + 1))
[ "$(first "$T_TMP/c1.json")" = f0 ] || t_fail "without history, the longest chain in calls goes first"
t_run run -q -j 1 --schedule critical --history "$H" --report "$T_TMP/c2.json" "$T_TMP/crit.yaml"
t_exit 0
T_COUNT=$((T_COUNT + 1))
[ "$(first "$T_TMP/c2.json")" = s0 ] || t_fail "with learned durations, the 100 ms call goes first"
T_COUNT=$((T_COUNT + 1))
[ "$(grep -c '"tool":"fast","n":6' "$H")" = 1 ] || t_fail "two runs of three fast calls: $(cat "$H")"
printf 'not a history\n' >"$T_TMP/bad.durations"
t_run run -q --history "$T_TMP/bad.durations" "$T_TMP/crit.yaml"
t_exit 2
t_err_has "bad.durations:1: not a tooldag durations file"
# a recording into a pipe keeps no durations next to it (no FIFO.durations; --history names one)
mkfifo "$T_TMP/fifo"
cat "$T_TMP/fifo" >"$T_TMP/fifo.out" &
t_run run -q --record "$T_TMP/fifo" "$T_TMP/crit.yaml"
wait
t_exit 0
T_COUNT=$((T_COUNT + 1))
[ ! -e "$T_TMP/fifo.durations" ] && [ ! -e "$T_TMP/fifo.durations.lock" ] ||
	t_fail "a durations file next to a pipe: $(ls "$T_TMP")"
T_COUNT=$((T_COUNT + 1))
grep -q '^{"tooldag_record":1,' "$T_TMP/fifo.out" || t_fail "no line through the pipe"

# ---- HTTP: no secret from the graph in the recording ----
command -v python3 >/dev/null || { echo "skip: python3 runs the test server"; exit 77; }
$PY "$TD_SRC/tests/http_server.py" --lifetime 120 >"$T_TMP/srv.port" 2>"$T_TMP/srv.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$T_TMP"' EXIT
for i in $(seq 600); do grep -q '^PORT ' "$T_TMP/srv.port" && break; sleep 0.1; done
PORT=$(awk '/^PORT/ {print $2}' "$T_TMP/srv.port")
[ -n "$PORT" ] || { echo "cannot start the test server: $(cat "$T_TMP/srv.err")"; exit 1; }
cat >"$T_TMP/http.yaml" <<EOF2
version: 1
tools:
  slow: {http: {url: "http://127.0.0.1:$PORT/delay/5", headers: {Authorization: "Bearer \${TD_REC_SECRET}"}}}
  fail: {http: {url: "http://127.0.0.1:$PORT/status/500?key=\${TD_REC_SECRET}"}}
  missing: {http: {url: "http://127.0.0.1:$PORT/status/404"}, retries: 2, backoff: 1ms}
  flaky: {http: {url: "http://127.0.0.1:$PORT/flaky/rec$$/1"}, retries: 2, backoff: 1ms}
  refused: {http: {url: "http://127.0.0.1:1/"}}
calls:
  - {id: s, tool: slow, input: {q: 1}}
  - {id: f, tool: fail, input: {q: 2}}
  - {id: m, tool: missing, input: {q: 3}}
  - {id: k, tool: flaky, input: {q: 4}}
  - {id: r, tool: refused, input: {q: 5}}
EOF2
TD_REC_SECRET=sekr1t-token-4711 t_run run -q "$T_TMP/http.yaml" --record "$T_TMP/http.jsonl"
t_exit 0
T_COUNT=$((T_COUNT + 1))
$PY - "$T_TMP/http.jsonl" <<'EOF2' || t_fail "the HTTP recording is not what the run did"
import json, sys
d = json.loads(open(sys.argv[1]).read())
c = {x["id"]: x for x in d["calls"]}
assert c["s"]["status"] == "ok" and "slept_ms" in c["s"]["content"], c["s"]
assert c["f"]["status"] == "error" and "500" in c["f"]["content"], c["f"]
# every attempt that got a response carries its status code; a refused connection none
codes = {i: [a.get("http_status") for a in x["attempts"]] for i, x in c.items()}
assert codes["s"] == [200], codes
assert codes["f"] and all(k == 500 for k in codes["f"]), codes
assert codes["m"] == [404], codes  # a 4xx is not retried
assert codes["k"] == [500, 200] and c["k"]["status"] == "ok", codes
assert codes["r"] and all(k is None for k in codes["r"]), codes
assert c["r"]["status"] == "error", c["r"]
EOF2
T_COUNT=$((T_COUNT + 1))
! grep -q "sekr1t" "$T_TMP/http.jsonl" || t_fail "the secret is in the recording"
T_COUNT=$((T_COUNT + 1))
! grep -q "Bearer\|Authorization" "$T_TMP/http.jsonl" || t_fail "a header is in the recording"
t_done
