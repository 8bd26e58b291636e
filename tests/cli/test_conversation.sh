#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_conversation.sh - whole conversations on the command line, built from the SDKs' recorded
# API payloads (tests/data/recorded/): only the unanswered calls of the last assistant turn
# run, nothing pending is exit 2 with what was answered where, --conversation prints the next
# request in each dialect, and the README's agent loop (curl + jq) runs against a server that
# replays a recorded exchange, sending what the SDK sent.
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "skip: jq is needed"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl is needed"; exit 77; }

R=$TD_SRC/tests/data/recorded
G=$TD_SRC/graphs/calls/recorded.yaml
PY=/usr/bin/python3

# t_jq FILTER: a jq filter over stdout that must print true.
t_jq() {
	T_COUNT=$((T_COUNT + 1))
	[ "$(jq -c "$1" "$T_TMP/out" 2>&1)" = true ] || t_fail "jq check failed: $1"
}

# ---- Anthropic: a code-execution conversation, its second response appended ----
A=$R/anthropic-runner-092be1de-d3f8-4c22-a4ea-a7ad54689836.json
jq '.[1].request.body as $b | .[1].response.body as $r
    | $b | .messages += [{role: "assistant", content: $r.content}]' "$A" >"$T_TMP/a.json"
t_run run "$G" "$T_TMP/a.json"
t_exit 0
t_jq '.role == "user" and (.content | map(.tool_use_id)) == ["toolu_01RXQDRjwv5Un7n98xFahjo8"]'
t_jq '.content[0].content | fromjson == {"location": "New York, NY", "units": "c"}'

# the recorded request itself: its one call is answered already
jq '.[1].request.body' "$A" >"$T_TMP/a1.json"
t_run run "$G" "$T_TMP/a1.json"
t_exit 2
t_out_empty
t_err_has "no call pending: the last assistant turn (message 2) made 1 call, already answered: 'toolu_011MDRpaZRMRRjtFkJizD6nS' (get_weather) in message 3"

# a request the API refused: a tool_result for a call not in the conversation
jq '.[1].request.body' "$R/anthropic-runner-f59a9391-643b-422c-96dc-1f28bc7ea4d7.json" >"$T_TMP/bad.json"
t_run run "$G" "$T_TMP/bad.json"
t_exit 2
t_err_has "bad.json: message 2, content block 1: a tool_result answers call id 'toolu_01GHndag5wQmbzNihYmV2UBj', which no earlier message made"

# --conversation: the same request body, one user message of results appended
t_run run --conversation "$G" "$T_TMP/a.json"
t_exit 0
t_jq '(.messages | length) == 5 and (.messages[4].content[0].tool_use_id) == "toolu_01RXQDRjwv5Un7n98xFahjo8"'
t_jq '.model == "claude-opus-4-5" and .container == "container_011CYVPF4iP8oD6Vsz1NhVih"'

# ---- OpenAI Chat: a recorded completion with two parallel calls ----
C=$R/openai-chat-completion-parallel.json
t_run run "$G" "$C"
t_exit 0
t_jq 'map(.tool_call_id) == ["call_fdNz3vOBKYgOIpMdWotB9MjY", "call_h1DWI1POMJLb0KwIyQHWXD4p"]'
jq '.choices[0]' "$C" >"$T_TMP/choice.json"
t_run run "$G" "$T_TMP/choice.json"
t_exit 0
t_jq 'length == 2'
# the conversation with the first call answered: only the second runs
jq '{model: "gpt-4o", messages: [{role: "user", content: "weather and AAPL"}, .choices[0].message,
     {role: "tool", tool_call_id: .choices[0].message.tool_calls[0].id, content: "12C"}]}' \
	"$C" >"$T_TMP/c.json"
t_run run "$G" "$T_TMP/c.json"
t_exit 0
t_jq 'map(.tool_call_id) == ["call_h1DWI1POMJLb0KwIyQHWXD4p"]'
t_run --stdin "$T_TMP/c.json" run --conversation "$G" -
t_exit 0
t_jq '(.messages | map(.role)) == ["user", "assistant", "tool", "tool"] and .messages[3].tool_call_id == "call_h1DWI1POMJLb0KwIyQHWXD4p"'
# --conversation needs a conversation, and says so before anything runs
t_run run --conversation "$G" "$C"
t_exit 2
t_err_has "holds calls, not a conversation"
t_run run --conversation "$G"
t_exit 1

# ---- OpenAI Responses (the .NET SDK's recordings) ----
D=$R/openai-dotnet-FunctionCallWorks.json
jq '.Entries[0].RequestBody as $b | .Entries[0].ResponseBody.output as $o | $b | .input += $o' \
	"$D" >"$T_TMP/r.json"
t_run run --conversation "$G" "$T_TMP/r.json"
t_exit 0
t_jq '(.input | map(.type)) == ["message", "function_call", "function_call_output"]'
t_jq '.input[2].call_id == .input[1].call_id and .model == "gpt-4o-mini"'
# run the next request again: the call is answered, nothing runs
cp "$T_TMP/out" "$T_TMP/r2.json"
t_run run "$G" "$T_TMP/r2.json"
t_exit 2
t_out_empty
t_err_has "no call pending: the last assistant turn (item 2) made 1 call, already answered:"
# the recorded follow-up continues a stored response: only results, no error about them
jq '.Entries[1].RequestBody' "$D" >"$T_TMP/r3.json"
t_run run "$G" "$T_TMP/r3.json"
t_exit 2
t_err_has "no call pending: the input continues a stored response (previous_response_id)"

# ---- the README's agent loop, against a replayed Anthropic exchange ----
L=$R/anthropic-runner-10e53c1d-51be-4c64-b5bf-99adb3fa4719.json
mkdir "$T_TMP/api"
coproc SRV { exec "$PY" "$TD_SRC/tests/cli/replay_api.py" "$L" "$T_TMP/api" --lifetime 30; }
srv_pid=$SRV_PID
trap 'kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; rm -rf "$T_TMP"' EXIT
read -r _ port <&"${SRV[0]}"
API=http://127.0.0.1:$port ANTHROPIC_API_KEY=test PATH=$(dirname "$TOOLDAG"):$PATH
tools=$(tooldag tools "$G")
# from here to `done`: the loop as the README shows it (graph.yaml is $G)
req=$(jq -n --argjson tools "$tools" '{model: "claude-haiku-4-5", max_tokens: 1024, tools: $tools, messages: [{role: "user", content: "What is the weather in SF?"}]}')
while resp=$(curl -sf "$API/v1/messages" -H "x-api-key: $ANTHROPIC_API_KEY" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" -d "$req") && [ "$(jq -r .stop_reason <<<"$resp")" = tool_use ]; do
	req=$(jq --argjson r "$resp" '.messages += [{role: "assistant", content: $r.content}]' <<<"$req" | tooldag run --conversation "$G" -); done
T_COUNT=$((T_COUNT + 1))
# the loop ended on the recorded final answer, after sending what the SDK sent
[ "$(jq -r .stop_reason <<<"$resp")" = end_turn ] || t_fail "the loop did not end on the final answer"
for n in 0 1; do
	T_COUNT=$((T_COUNT + 1))
	shape='.messages | map({role, ids: (if (.content | type) == "array" then .content | map(.id // .tool_use_id) else null end)})'
	got=$(jq -c "$shape" "$T_TMP/api/request-$n.json")
	want=$(jq -c ".[$n].request.body | $shape" "$L")
	[ "$got" = "$want" ] || t_fail "request $n: sent $got, the SDK sent $want"
done
T_COUNT=$((T_COUNT + 1))
[ ! -e "$T_TMP/api/request-2.json" ] || t_fail "the loop sent a third request"
t_done
