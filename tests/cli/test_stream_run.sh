#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_stream_run.sh - `tooldag run` on a streamed response starts calls while the stream goes
# on: the SDKs' recorded streams (tests/data/recorded/) replayed through a pipe with a pause
# between events. The report's times show each call with no possible predecessor starting
# before the stream ended, a call of a tool with depends_on (and the second level) only after
# it, and after its dependency; the results are those of the whole recording read from a file.
# `plan` and `dot` on a cut stream exit 2.
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "skip: jq is needed"; exit 77; }

R=$TD_SRC/tests/data/recorded
G=$TD_SRC/graphs/calls/recorded.yaml

# replay FILE MS: the file's lines, pausing MS milliseconds after each event's blank line
replay() {
	local line pause
	pause=$(printf '0.%03d' "$2")
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
		[ -n "$line" ] || sleep "$pause"
	done <"$1"
}

# check JQ_EXPR: the expression over the report ($T_TMP/report.json) must be true
check() {
	T_COUNT=$((T_COUNT + 1))
	[ "$(jq "$1" "$T_TMP/report.json")" = true ] ||
		t_fail "report: $1 is not true: $(cat "$T_TMP/report.json")"
}

jq -r '.[0].response.body' "$R/anthropic-runner-555fb399-a54c-455b-9ac5-2c9673f18e12.json" \
	>"$T_TMP/anthropic.sse"
jq -r '.Entries[0].ResponseBody | join("")' "$R/openai-dotnet-FunctionCallStreamingWorks.json" \
	>"$T_TMP/responses.sse"

# every recorded stream, replayed with 60 ms between events: each call starts before the end
for s in "$R/anthropic-stream-tool_use_response.txt" "$T_TMP/anthropic.sse" \
	"$R/openai-chat-stream-f82268f2fefd.sse" "$R/openai-chat-stream-c6aa7e397b71.sse" \
	"$T_TMP/responses.sse"; do
	t_run run "$G" "$s"
	t_exit 0
	cp "$T_TMP/out" "$T_TMP/whole"
	replay "$s" 60 | "$TOOLDAG" run --report "$T_TMP/report.json" "$G" - >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$? T_ARGS="run --report $G - (replayed $s)"
	t_exit 0
	t_err_empty
	T_COUNT=$((T_COUNT + 1))
	cmp -s "$T_TMP/whole" "$T_TMP/out" || t_fail "replayed results differ from the file's"
	check '.calls | length > 0'
	check '.stream_end_ms as $e | all(.calls[]; .start_ms < $e)'
	check '.stream_end_ms >= 60'
done

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
	check '.calls[0].start_ms < .stream_end_ms'
	check '.calls[1].start_ms >= .stream_end_ms'
	check '.calls[1].start_ms >= .calls[0].end_ms'
	check '[.calls[].level] == [0, 1]'
done

# a stream read from a file is read through the loop too: same results, a stream_end_ms
t_run run --report "$T_TMP/report.json" "$T_TMP/dep.yaml" "$R/openai-chat-stream-f82268f2fefd.sse"
t_exit 0
check '.stream_end_ms >= 0 and (.calls | length) == 2'

# cut off while the second call is written: the first ran before the cut, the cut call is
# named, exit 2; plan and dot on the same input exit 2 too
n=$(grep -n '"index":1,"id"' "$R/openai-chat-stream-f82268f2fefd.sse" | cut -d: -f1)
head -n "$((n + 2))" "$R/openai-chat-stream-f82268f2fefd.sse" >"$T_TMP/cut.sse"
replay "$T_TMP/cut.sse" 40 | "$TOOLDAG" run --report "$T_TMP/report.json" "$G" - \
	>"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$? T_ARGS="run $G - (replayed cut.sse)"
t_exit 2
t_err_has "call 'call_DNYTawLBoN8fj3KN6qU9N1Ou' (get_stock_price) was cut off before its input was complete: it does not run"
check '(.calls | length) == 1 and .calls[0].start_ms < .stream_end_ms'
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
