#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_stream.sh - streamed responses on the command line: the SDKs' recorded Server-Sent
# Event streams (tests/data/recorded/), replayed through a pipe with a pause between events,
# answer exactly as the whole recording read from a file, each call starting before the stream
# ended (the report's times); a stream cut off runs its complete
# calls, names the cut one and exits 2; an API error event exits 2.
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "skip: jq is needed"; exit 77; }

R=$TD_SRC/tests/data/recorded
G=$TD_SRC/graphs/calls/recorded.yaml

jq -r '.[0].response.body' "$R/anthropic-runner-555fb399-a54c-455b-9ac5-2c9673f18e12.json" \
	>"$T_TMP/anthropic.sse"
jq -r '.Entries[0].ResponseBody | join("")' "$R/openai-dotnet-FunctionCallStreamingWorks.json" \
	>"$T_TMP/responses.sse"
for s in "$R/anthropic-stream-tool_use_response.txt" "$T_TMP/anthropic.sse" \
	"$R/openai-chat-stream-f82268f2fefd.sse" "$R/openai-chat-stream-c6aa7e397b71.sse" \
	"$T_TMP/responses.sse"; do
	t_run run "$G" "$s"
	t_exit 0
	cp "$T_TMP/out" "$T_TMP/whole"
	T_COUNT=$((T_COUNT + 1))
	[ -s "$T_TMP/whole" ] || t_fail "$s: no results"
	replay "$s" 40 | "$TOOLDAG" run --report "$T_TMP/report.json" "$G" - >"$T_TMP/out" \
		2>"$T_TMP/err"
	T_RC=$? T_ARGS="run --report $G - (replayed $s)"
	t_exit 0
	t_err_empty
	T_COUNT=$((T_COUNT + 1))
	cmp -s "$T_TMP/whole" "$T_TMP/out" || t_fail "replayed results differ from the file's"
	# every call here has no possible predecessor: each started before the stream ended
	t_report '.calls | length > 0'
	t_report '.stream_end_ms as $e | all(.calls[]; .start_ms < $e)'
	t_report '.stream_end_ms >= 40'
done
# the parallel Chat calls: both, in call order, in the Chat dialect
t_run run "$G" "$R/openai-chat-stream-f82268f2fefd.sse"
T_COUNT=$((T_COUNT + 1))
[ "$(jq -c 'map(.tool_call_id)' "$T_TMP/out")" = '["call_JMW1whyEaYG438VE1OIflxA2","call_DNYTawLBoN8fj3KN6qU9N1Ou"]' ] ||
	t_fail "the two calls in call order"

# cut off while the second call is written: the first runs, the second is named, exit 2
n=$(grep -n '"index":1,"id"' "$R/openai-chat-stream-f82268f2fefd.sse" | cut -d: -f1)
head -n "$((n + 2))" "$R/openai-chat-stream-f82268f2fefd.sse" >"$T_TMP/cut.sse"
t_run --stdin "$T_TMP/cut.sse" run "$G" -
t_exit 2
t_out_has '"tool_call_id":"call_JMW1whyEaYG438VE1OIflxA2"'
T_COUNT=$((T_COUNT + 1))
[ "$(jq length "$T_TMP/out")" = 1 ] || t_fail "only the complete call ran"
t_err_has "<stdin>: the stream stopped before its end (finish_reason and [DONE]): it was cut off"
t_err_has "call 'call_DNYTawLBoN8fj3KN6qU9N1Ou' (get_stock_price) was cut off before its input was complete: it does not run"

# an API error before the call's block closed: nothing runs, the API's words, exit 2
sed '/"type":"content_block_stop","index":1/,$d' "$R/anthropic-stream-tool_use_response.txt" \
	| head -n -1 >"$T_TMP/err.sse"
printf 'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n' \
	>>"$T_TMP/err.sse"
t_run --stdin "$T_TMP/err.sse" run "$G" -
t_exit 2
t_out_empty
t_err_has "<stdin>: the API reported an error: overloaded_error: Overloaded"
t_done
