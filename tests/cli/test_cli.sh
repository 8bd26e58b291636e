#!/usr/bin/env bash
# The command line: usage, help, version, exit codes, check/plan/tools over graphs/.
. "$(dirname "$0")/lib.sh"
G=$TD_SRC/graphs

# usage and help
t_run; t_exit 1; t_err_has "usage: tooldag"
t_run --help; t_exit 0; t_out_has "commands:"
t_run --version; t_exit 0; t_out_has "tooldag 0."
t_run frobnicate; t_exit 1; t_err_has "unknown command 'frobnicate'"
for c in check plan tools run dot; do
	t_run $c --help; t_exit 0; t_out_has "usage: tooldag $c"
	t_run help $c; t_exit 0; t_out_has "usage: tooldag $c"
	# one line saying what was wrong (not getopt's and then ours), then the hint
	t_run $c --bogus-option; t_exit 1
	T_COUNT=$((T_COUNT + 1))
	[ "$(cat "$T_TMP/err")" = "tooldag: $c: unknown option '--bogus-option'
Try 'tooldag $c --help'." ] || t_fail "bad usage message"
	t_run $c -x; t_exit 1; t_err_has "tooldag: $c: unknown option '-x'"
	t_run $c --help=1; t_exit 1; t_err_has "tooldag: $c: option '--help' takes no value"
done
t_run run "$G/travel.yaml" --trace; t_exit 1; t_err_has "tooldag: run: option '--trace' needs a value"
t_run run -qj; t_exit 1; t_err_has "tooldag: run: option '-j' needs a value"
t_run plan --json --mermaid "$G/travel.yaml"; t_exit 1; t_err_has "--json and --mermaid: give one of them"
t_run help bogus; t_exit 1; t_err_has "unknown command 'bogus'"
# a short option's error after a long option names the short one; abbreviations
t_run run --pretty -xq "$G/travel.yaml"; t_exit 1; t_err_has "tooldag: run: unknown option '-x'"
t_run run --report=r.json -xq "$G/travel.yaml"; t_exit 1; t_err_has "tooldag: run: unknown option '-x'"
t_run run --pr "$G/travel.yaml"; t_exit 1; t_err_has "tooldag: run: ambiguous option '--pr': give more of its name"
t_run run "$G/travel.yaml" --trac; t_exit 1; t_err_has "tooldag: run: option '--trace' needs a value"
t_run run --prett=1 "$G/travel.yaml"; t_exit 1; t_err_has "tooldag: run: option '--pretty' takes no value"
t_run check; t_exit 1; t_err_has "expected exactly one GRAPH"
t_run plan; t_exit 1; t_err_has "expected GRAPH [CALLS]"
t_run plan --dialect klingon "$G/travel.yaml"; t_exit 1; t_err_has "unknown dialect 'klingon'"
t_run run -j 0 "$G/travel.yaml"; t_exit 1; t_err_has "-j takes a number"
# numbers in options: whole, decimal, in range (run -j, worker -j, replay --batch)
for j in "" 1000001 4x -3 +4 " 4" 99999999999999999999; do
	t_run run -j "$j" "$G/travel.yaml"; t_exit 1; t_err_has "-j takes a number from 1 to 1000000"
done
t_run run -j 1000000 "$G/travel.yaml"; t_exit 0
for j in 0 4097 x; do
	t_run worker -j "$j" "$G/travel.yaml"; t_exit 1; t_err_has "-j takes a number from 1 to 4096"
done
for b in 0 "" 1.5 +1 " 1" 99999999999999999999; do
	t_run replay --batch "$b" "$T_TMP/none.jsonl"; t_exit 1; t_err_has "--batch takes a number from 1"
done
t_run run --schedule random "$G/travel.yaml"; t_exit 1; t_err_has "--schedule takes level, eager or critical"

# check
t_run check "$G/travel.yaml"; t_exit 0; t_out_has "ok, 5 tools, 8 calls in 2 levels"
t_run check "$G/pipeline.yaml"; t_exit 0; t_out_has "ok, 2 tools, 6 calls in 4 levels"
t_run check "$G/invalid/calls-call-errors.yaml"; t_exit 2; t_out_empty
t_err_has "calls-call-errors.yaml:10:5: call 2 (toolu_02): input: missing required property 'city'"
t_err_has "calls-call-errors.yaml:11:5: call 3 (toolu_03): unknown tool 'fetch_wether'"
printf 'version: 1\ntools: {e: {builtin: echo}}\ncalls: [{id: a, tool: e}]\n' >"$T_TMP/one.yaml"
t_run check "$T_TMP/one.yaml"; t_exit 0; t_out_has "one.yaml: ok, 1 tool, 1 call in 1 level"
t_run check "$T_TMP/missing.yaml"; t_exit 2; t_err_has "missing.yaml"
t_run check "$G"; t_exit 2

# plan: the graph's own calls, and each dialect's batch
t_run plan "$G/travel.yaml"; t_exit 0
t_out_has "level 0 (6 calls)"; t_out_has "level 1 (2 calls)"; t_out_has "8 calls in 2 levels"
t_run plan --json "$G/travel.yaml"; t_exit 0
t_json 'd["levels"] == [["toolu_01","toolu_02","toolu_03","toolu_04","toolu_06","toolu_07"], ["toolu_05","toolu_08"]]'
t_json '[c["level"] for c in d["calls"]] == [0,0,0,0,1,0,0,1]'
t_json 'd["calls"][4]["depends_on"] == ["toolu_04"] and d["calls"][7]["depends_on"] == ["toolu_06","toolu_07"]'
t_json 'all("error" not in c for c in d["calls"])'
for dia in anthropic openai responses; do
	t_run plan --json "$G/travel.yaml" "$G/calls/travel.$dia.json"; t_exit 0
	t_json '[c["level"] for c in d["calls"]] == [0,0,0,0,1,0,0,1]'
	t_json '[c["name"] for c in d["calls"]][4] == "lookup_pollen"'
	t_run --stdin "$G/calls/travel.$dia.json" plan --json --dialect "$dia" "$G/travel.yaml" -
	t_exit 0; t_json 'len(d["calls"]) == 8'
done
t_run --stdin "$G/calls/travel.openai.json" plan --json "$G/travel.yaml" -; t_exit 0
t_json 'd["calls"][0]["id"] == "call_01"'
t_run plan --json --dialect openai "$G/travel.yaml" "$G/calls/travel.anthropic.json"; t_exit 2
t_run plan --json "$G/pipeline.yaml"; t_exit 0
t_json 'd["levels"] == [["split"],["fetch_a","fetch_b"],["parse_a","parse_b"],["merge"]]'

# a call-level error is a per-call error, not a failed batch
cat >"$T_TMP/bad.json" <<'JSON'
[{"type":"tool_use","id":"a","name":"fetch_weather","input":{"city":"Paris"}},
 {"type":"tool_use","id":"b","name":"fetch_wether","input":{"city":"Paris"}},
 {"type":"tool_use","id":"c","name":"fetch_weather","input":{"town":"Paris"}}]
JSON
t_run plan --json "$G/travel.yaml" "$T_TMP/bad.json"; t_exit 0
t_json 'd["levels"] == [["a"]]'
t_json '"unknown tool" in d["calls"][1]["error"] and "fetch_weather" in d["calls"][1]["error"]'
t_json '"city" in d["calls"][2]["error"]'
t_run plan "$G/travel.yaml" "$T_TMP/bad.json"; t_exit 0; t_out_has "call errors (2)"

# batch-level errors fail the batch with exit 2
printf '[{"type":"tool_use",' >"$T_TMP/trunc.json"
t_run plan "$G/travel.yaml" "$T_TMP/trunc.json"; t_exit 2; t_err_has "trunc.json:1:"
printf '[]' >"$T_TMP/empty.json"
t_run plan "$G/travel.yaml" "$T_TMP/empty.json"; t_exit 2; t_err_has "no tool calls"
cat >"$T_TMP/cycle.json" <<'JSON'
[{"type":"tool_use","id":"x","name":"fetch_weather","input":{"city":"A"},"depends_on":["y"]},
 {"type":"tool_use","id":"y","name":"fetch_weather","input":{"city":"B"},"depends_on":["x"]}]
JSON
t_run plan "$G/travel.yaml" "$T_TMP/cycle.json"; t_exit 2
t_err_has "dependency cycle: x (fetch_weather) -> y (fetch_weather) -> x (fetch_weather)"

# ids and tool names are the model's: printed as text, control characters are escaped, so an
# id cannot forge a line of its own (or steer the terminal)
printf 'version: 1\ntools: {echo: {builtin: echo}}\n' >"$T_TMP/echo.yaml"
cat >"$T_TMP/forge.json" <<'JSON'
[{"type":"tool_use","id":"a\nFAILED: fake","name":"nope","input":{}},
 {"type":"tool_use","id":"b\nlevel 9 (1 call)\u001b[31m\u0085","name":"echo","input":{}},
 {"type":"tool_use","id":"c\tx\r","name":"ec\nho","input":{}}]
JSON
forged() { grep -qE '^(FAILED: fake|level 9|ho)' "$T_TMP/out" "$T_TMP/err" && t_fail "a forged line"; }
t_run plan "$T_TMP/echo.yaml" "$T_TMP/forge.json"; t_exit 0; forged
t_out_has 'b\nlevel 9 (1 call)\x1b[31m\xc2\x85  echo'
t_out_has 'a\nFAILED: fake  nope: unknown tool'
t_out_has "c\\tx\\r  ec\\nho: unknown tool 'ec\\nho' (did you mean 'echo'?)"
t_run run --progress=plain "$T_TMP/echo.yaml" "$T_TMP/forge.json"; t_exit 0; forged
t_err_has 'FAILED: a\nFAILED: fake (nope) error'
t_err_has 'started  b\nlevel 9 (1 call)\x1b[31m\xc2\x85 echo (attempt 1)'
t_err_has 'finished c\tx\r ec\nho: error'
cat >"$T_TMP/forge2.json" <<'JSON'
[{"type":"tool_use","id":"x\nFAILED: fake","name":"echo","input":{},"depends_on":["y"]},
 {"type":"tool_use","id":"y","name":"echo","input":{},"depends_on":["x\nFAILED: fake"]}]
JSON
t_run plan "$T_TMP/echo.yaml" "$T_TMP/forge2.json"; t_exit 2; forged
t_err_has 'dependency cycle: x\nFAILED: fake (echo) -> y (echo) -> x\nFAILED: fake (echo)'

# the graph's own calls come in no dialect: --dialect picks the one the results are in
t_run run --dialect openai "$G/pipeline.yaml"; t_exit 0
t_json 'd[0] == {"role": "tool", "tool_call_id": "split", "content": "{\"step\":\"split\"}"} and len(d) == 6'
t_run run --dialect responses "$G/pipeline.yaml"; t_exit 0
t_json 'd[0]["type"] == "function_call_output" and d[0]["call_id"] == "split"'
t_run run "$G/pipeline.yaml"; t_exit 0; t_json 'd["role"] == "user" and d["content"][0]["tool_use_id"] == "split"'
# the graph is a file; closed standard descriptors
t_run run "$G/calls/travel.anthropic.json" "$G/travel.yaml"; t_exit 2
t_err_has "tooldag: hint: GRAPH (the YAML file) comes first, then CALLS"
t_run check "$G/invalid/cycle.yaml"; t_exit 2
T_COUNT=$((T_COUNT + 1)); grep -q hint "$T_TMP/err" && t_fail "a hint for a YAML graph"
t_run check -; t_exit 1; t_err_has "the graph must be a file: '-' (standard input) is for CALLS only"
t_run plan - "$T_TMP/forge.json"; t_exit 1; t_err_has "the graph must be a file"
cat >"$T_TMP/touch.yaml" <<EOF
version: 1
tools: {t: {run: [/usr/bin/touch, "$T_TMP/touched"]}}
calls: [{id: a, tool: t}]
EOF
T_ARGS="run touch.yaml >&-"
"$TOOLDAG" run "$T_TMP/touch.yaml" >&- 2>"$T_TMP/err"; T_RC=$?
t_exit 4; t_err_has "standard output is closed: there is nowhere to write the results"
# check answers with its exit code: a closed stdout does not stop it
T_ARGS="check travel.yaml >&-"
"$TOOLDAG" check "$G/travel.yaml" >&- 2>"$T_TMP/err"; T_RC=$?
t_exit 0; t_err_empty
T_COUNT=$((T_COUNT + 1))
[ ! -e "$T_TMP/touched" ] || t_fail "the tool ran although the results could not be written"
# a closed stdin or stderr is /dev/null: the run goes on, and nothing lands in the results
T_ARGS="run touch.yaml <&- 2>&-"
"$TOOLDAG" run "$T_TMP/touch.yaml" <&- 2>&- >"$T_TMP/out"; T_RC=$?
t_exit 0; t_json 'd["content"][0]["tool_use_id"] == "a" and d["content"][0]["content"] == ""'
T_COUNT=$((T_COUNT + 1))
[ -e "$T_TMP/touched" ] || t_fail "the tool did not run"

# tools in each dialect
t_run tools "$G/travel.yaml"; t_exit 0
t_json '[t["name"] for t in d] == ["get_flight_prices","fetch_weather","lookup_pollen","check_inventory","recommend_product"]'
t_json 'd[0]["input_schema"]["required"] == ["airline","from","to"]'
t_run tools --dialect openai "$G/travel.yaml"; t_exit 0
t_json 'd[1]["type"] == "function" and d[1]["function"]["name"] == "fetch_weather" and "parameters" in d[1]["function"]'
t_run tools --dialect responses "$G/travel.yaml"; t_exit 0
t_json 'd[1]["type"] == "function" and d[1]["name"] == "fetch_weather" and "parameters" in d[1]'

t_done
