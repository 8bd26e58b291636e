#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_stream_run.sh - `tooldag run` on a streamed response with a tool-level depends_on: the
# SDK's recorded parallel Chat stream (tests/data/recorded/) replayed through a pipe with a
# pause between events. The report's times show the first call starting before the stream
# ended and the second (its tool depends on the first's: level 1) only after it, and after
# its dependency, under every policy; a cut stream runs its complete call before the cut and
# exits 2, and so do `plan` and `dot`; an error event after a complete call; the recording is
# one line with every call, and the duration history learns the calls that joined late.
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "skip: jq is needed"; exit 77; }

R=$TD_SRC/tests/data/recorded
G=$TD_SRC/graphs/calls/recorded.yaml

# the second call's tool depends on the first's: it waits for the stream's end (level 1),
# and for the first call; the first starts before the end
cat >"$T_TMP/dep.yaml" <<'EOF'
version: 1
tools:
  GetWeatherArgs: {builtin: echo}
  get_stock_price: {builtin: echo, depends_on: [GetWeatherArgs]}
EOF
for sched in level eager critical; do
	replay "$R/openai-chat-stream-f82268f2fefd.sse" 40 |
		"$TOOLDAG" run --schedule "$sched" --report "$T_TMP/report.json" "$T_TMP/dep.yaml" - \
			>"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$? T_ARGS="run --schedule $sched $T_TMP/dep.yaml - (replayed)"
	t_exit 0
	t_err_empty
	t_out_has '"tool_call_id":"call_DNYTawLBoN8fj3KN6qU9N1Ou"'
	t_report '.calls[0].start_ms < .stream_end_ms'
	t_report '.calls[1].start_ms >= .stream_end_ms'
	t_report '.calls[1].start_ms >= .calls[0].end_ms'
	t_report '[.calls[].level] == [0, 1]'
done

# the observers see every call though the batch grows while the stream goes on: a trace with
# a slice per call, a progress line per event, the failure summary counting the final batch
replay "$R/openai-chat-stream-f82268f2fefd.sse" 10 |
	"$TOOLDAG" run --trace "$T_TMP/trace.json" --progress plain "$T_TMP/dep.yaml" - \
		>"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$? T_ARGS="run --trace --progress plain $T_TMP/dep.yaml - (replayed)"
t_exit 0
t_err_has "started  call_JMW1whyEaYG438VE1OIflxA2 GetWeatherArgs"
t_err_has "started  call_DNYTawLBoN8fj3KN6qU9N1Ou get_stock_price"
T_COUNT=$((T_COUNT + 1))
[ "$(jq '[.traceEvents[] | select(.ph == "X" and .pid == 1)] | length' "$T_TMP/trace.json")" = 2 ] ||
	t_fail "the trace lacks a slice per call: $(head -c 600 "$T_TMP/trace.json")"
# the run's recording is one line once the stream ended, with every call, and the duration
# history learns them all, those that joined as the stream went on too
replay "$R/openai-chat-stream-f82268f2fefd.sse" 10 |
	"$TOOLDAG" run -q --record "$T_TMP/s.jsonl" "$T_TMP/dep.yaml" - >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$? T_ARGS="run --record $T_TMP/s.jsonl $T_TMP/dep.yaml - (replayed)"
t_exit 0
T_COUNT=$((T_COUNT + 1))
[ "$(jq -c '[.calls[] | [.tool, .status]]' "$T_TMP/s.jsonl")" = \
	'[["GetWeatherArgs","ok"],["get_stock_price","ok"]]' ] ||
	t_fail "not one line with both calls: $(cat "$T_TMP/s.jsonl")"
T_COUNT=$((T_COUNT + 1))
[ "$(jq -cs '[.[1:][] | [.tool // .input_of, .n, (.input | type)]]' "$T_TMP/s.jsonl.durations")" = \
	'[["GetWeatherArgs",1,"null"],["get_stock_price",1,"null"],["GetWeatherArgs",1,"string"],["get_stock_price",1,"string"]]' ] ||
	t_fail "the history lacks a streamed call: $(cat "$T_TMP/s.jsonl.durations")"
cat >"$T_TMP/fail.yaml" <<'EOF'
version: 1
tools:
  GetWeatherArgs: {builtin: sleep}
  get_stock_price: {builtin: echo, depends_on: [GetWeatherArgs]}
EOF
replay "$R/openai-chat-stream-f82268f2fefd.sse" 5 | "$TOOLDAG" run "$T_TMP/fail.yaml" - \
	>"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$? T_ARGS="run $T_TMP/fail.yaml - (replayed)"
t_exit 0
t_err_has "FAILED: call_JMW1whyEaYG438VE1OIflxA2 (GetWeatherArgs) error"
t_err_has "tooldag: 1 of 2 calls failed, 1 skipped because a dependency failed"

# a stream read from a file is read through the loop too: same results, a stream_end_ms
t_run run --report "$T_TMP/report.json" "$T_TMP/dep.yaml" "$R/openai-chat-stream-f82268f2fefd.sse"
t_exit 0
t_report '.stream_end_ms >= 0 and (.calls | length) == 2'

# cut off while the second call is written: the first ran before the cut, the cut call is
# named, exit 2; plan and dot on the same input exit 2 too
n=$(grep -n '"index":1,"id"' "$R/openai-chat-stream-f82268f2fefd.sse" | cut -d: -f1)
head -n "$((n + 2))" "$R/openai-chat-stream-f82268f2fefd.sse" >"$T_TMP/cut.sse"
replay "$T_TMP/cut.sse" 40 | "$TOOLDAG" run --report "$T_TMP/report.json" "$G" - \
	>"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$? T_ARGS="run $G - (replayed cut.sse)"
t_exit 2
t_err_has "call 'call_DNYTawLBoN8fj3KN6qU9N1Ou' (get_stock_price) was cut off before its input was complete: it does not run"
t_report '(.calls | length) == 1 and .calls[0].start_ms < .stream_end_ms'
for cmd in plan dot; do
	t_run --stdin "$T_TMP/cut.sse" "$cmd" "$G" -
	t_exit 2
	t_err_has "was cut off before its input was complete"
done
t_run plan "$G" "$R/openai-chat-stream-f82268f2fefd.sse"
t_exit 0

# an API error after a complete call: that call ran, nothing else, the API's words, exit 2
sed '/"type":"message_delta"/,$d' "$R/anthropic-stream-tool_use_response.txt" | head -n -1 \
	>"$T_TMP/err.sse"
printf 'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n' \
	>>"$T_TMP/err.sse"
t_run --stdin "$T_TMP/err.sse" run "$G" -
t_exit 2
t_out_has '"tool_use_id":"toolu_01NRLabsLyVHZPKxbKvkfSMn"'
t_err_has "<stdin>: the API reported an error: overloaded_error: Overloaded"

# a JSON document on stdin is still read whole, after the bytes looked at to tell
printf '%s' '[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris, France, where the Seine flows"}}]' |
	"$TOOLDAG" run "$G" >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$? T_ARGS="run $G (a document on a pipe)"
t_exit 0
t_out_has '"content":"{\"location\":\"Paris, France, where the Seine flows\"}"'
t_done
