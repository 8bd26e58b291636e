#!/usr/bin/env bash
# test_remote_envelope.sh - a `stdin: envelope` tool run by a worker reads byte for byte the
# envelope it reads when run here (its upstream results, a failed and a truncated one among
# them, carried in the message); a message whose `upstream` is missing or malformed is refused
# with an error result that says why.
source "$TD_SRC/tests/redis/lib.sh"
redis_start

# graph WHERE REMOTE: the same graph, the envelope tool writing its stdin to $T_TMP/env-WHERE
graph() {
	cat <<YAML
version: 1
tools:
  up_ok: {builtin: echo}
  up_fail: {run: [sh, -c, 'printf "bad \\"quote\\"\\n\\tline"; exit 3']}
  up_big: {run: [seq, 1, 20000], max_output: 1KiB}
  env:
    run: [tee, "$T_TMP/env-$1"]
    stdin: envelope
    depends_on: [up_ok, up_fail, up_big]
    on_dependency_failure: run
    $2
YAML
}
graph local "" >"$T_TMP/local.yaml"
graph remote "remote: {redis: \"$U\", queue: env}" >"$T_TMP/remote.yaml"
cat >"$T_TMP/calls.json" <<'JSON'
[{"type": "tool_use", "id": "u1", "name": "up_ok", "input": {"s": "caf\u00e9 \"q\" \\ \n"}},
 {"type": "tool_use", "id": "u2", "name": "up_fail", "input": {}},
 {"type": "tool_use", "id": "u3", "name": "up_big", "input": {}},
 {"type": "tool_use", "id": "e\"1", "name": "env", "input": {"k": [1, {"upstream": []}]}}]
JSON

t_run run "$T_TMP/local.yaml" "$T_TMP/calls.json"
t_exit 0
worker_start w1 "$T_TMP/remote.yaml"
t_run run "$T_TMP/remote.yaml" "$T_TMP/calls.json"
t_exit 0
t_json "not d['content'][3].get('is_error')"
T_COUNT=$((T_COUNT + 1))
cmp "$T_TMP/env-local" "$T_TMP/env-remote" ||
	t_fail "the remote envelope differs: $(diff <(tr , '\n' <"$T_TMP/env-local") <(tr , '\n' <"$T_TMP/env-remote") | head -c 1500)"
# the envelope has what it should: a failed and a truncated upstream result among them
T_COUNT=$((T_COUNT + 1))
/usr/bin/python3 - "$T_TMP/env-remote" <<'PY' || t_fail "envelope: $(head -c 1500 "$T_TMP/env-remote")"
import json, sys
d = json.load(open(sys.argv[1]))
u = d["upstream"]
ok = (d["id"] == 'e"1' and d["name"] == "env" and d["input"] == {"k": [1, {"upstream": []}]}
      and [x["id"] for x in u] == ["u1", "u2", "u3"]
      and u[0]["content"] == json.dumps({"s": 'café "q" \\ \n'}, ensure_ascii=False, separators=(",", ":"))
      and u[1]["is_error"] and u[1]["content"].endswith('bad "quote"\n\tline')
      and not u[2]["is_error"] and "truncated" in u[2]["content"] and len(u[2]["content"]) < 2048)
sys.exit(0 if ok else 1)
PY

# ---- malformed messages queued by another program: refused with an error result that says why
rcli XADD tooldag:reply:test '*' v 1 type open >/dev/null
# bad UPSTREAM: queues one call of env with that upstream field (none when "-") and waits for
# the worker's answer; $T_TMP/answer has its content
n=0
bad() {
	n=$((n + 1))
	local extra=()
	[ "$1" = - ] || extra=(upstream "$1")
	rcli XADD tooldag:queue:env '*' v 1 call "$n.1" reply tooldag:reply:test tool env id x \
		input '{}' attempt 1 deadline_ms 0 timeout_ms 0 "${extra[@]}" >/dev/null
	wait_until 10 answered_test "$n.1"
	rcli --raw XRANGE tooldag:reply:test - + | awk -v t="$n.1" '
		prev == "call" { c = $0 } prev == "content" && c == t { print; exit } { prev = $0 }' \
		>"$T_TMP/answer"
}
answered_test() { rcli --raw XRANGE tooldag:reply:test - + | grep -qx "$1"; }
bad_says() {
	T_COUNT=$((T_COUNT + 1))
	grep -qF "worker w1 refused the call: $1" "$T_TMP/answer" ||
		t_fail "malformed upstream: answer '$(cat "$T_TMP/answer")', want '$1'"
}
bad -
bad_says 'the tool reads an envelope (stdin: envelope) and upstream is missing'
bad '{"id": "a"}'
bad_says 'upstream is not a JSON array'
bad '[{"id": "a", "name": "b", "content": "c", "is_error": fals'
bad_says 'upstream is not a JSON array'
bad '[{"id": "a", "name": "b", "is_error": false}]'
bad_says 'an upstream entry lacks a string id, name or content'
bad '[{"id": "a", "name": "b", "content": "c", "is_error": 0}]'
bad_says 'an upstream entry lacks a boolean is_error'
bad '[7]'
bad_says 'an upstream entry lacks a string id, name or content'
# and the worker goes on serving
t_run run "$T_TMP/remote.yaml" "$T_TMP/calls.json"
t_exit 0
t_json "not d['content'][3].get('is_error')"
T_COUNT=$((T_COUNT + 1))
[ "$(pending env)" = 0 ] && [ "$(rcli XLEN tooldag:queue:env)" = 0 ] ||
	t_fail "queue 'env': refused messages were not acknowledged"
worker_stop w1 TERM

t_done
