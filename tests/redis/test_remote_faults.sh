#!/usr/bin/env bash
# test_remote_faults.sh - remote: tools when things go wrong: AUTH (missing, wrong, right, an
# ACL user), messages a worker cannot run, answers the scheduler must refuse or drop
# (malformed, duplicate, unknown), and Redis restarted mid-run with AOF on.
source "$TD_SRC/tests/redis/lib.sh"
export REDISCLI_AUTH=s3cret
redis_start --requirepass s3cret --appendonly yes
rcli ACL SETUSER tduser on '>tdpw' '~*' '&*' '+@all' >/dev/null

# graph FILE URL [TOOL-KEYS]: two remote tools on URL
graph() {
	cat >"$1" <<YAML
version: 1
tools:
  echo_r: {builtin: echo, timeout: 10s ${3:+, $3}, remote: {redis: "$2", queue: fast}}
  shout: {run: [tr, a-z, A-Z], timeout: 10s, remote: {redis: "$2", queue: fast}}
  manual: {builtin: echo, timeout: 10s, remote: {redis: "$2", queue: manual}}
  slow: {builtin: sleep, timeout: 30s, retries: 1, remote: {redis: "$2", queue: slow, claim_after: 2s}}
calls:
  - {id: a, tool: echo_r, input: {n: 1}}
  - {id: b, tool: shout, input: {s: ok}}
YAML
}

# ---- AUTH
graph "$T_TMP/none.yaml" "unix://$R_SOCK"
t_run run "$T_TMP/none.yaml"
t_exit 0
t_json "all(c['is_error'] and c['content'].startswith('redis: the server refused the connection: NOAUTH') for c in d['content'])"

export TD_TEST_PW=wrong
graph "$T_TMP/pw.yaml" "unix://:\${TD_TEST_PW}@$R_SOCK"
t_run run "$T_TMP/pw.yaml"
t_exit 0
t_json "all(c['is_error'] and c['content'].startswith('redis: the server refused the connection: WRONGPASS') for c in d['content'])"
t_run worker "$T_TMP/pw.yaml"
t_exit 4
t_err_has "redis: AUTH refused: WRONGPASS"
T_COUNT=$((T_COUNT + 1)); ! grep -q wrong "$T_TMP/err" || t_fail "the password is printed"

export TD_TEST_PW=s3cret
worker_start a1 "$T_TMP/pw.yaml"
t_run run "$T_TMP/pw.yaml"
t_exit 0
t_json "d['content'][0]['content'] == '{\"n\":1}' and d['content'][1]['content'] == '{\"S\":\"OK\"}'"
worker_stop a1 TERM

export TD_TEST_USER_PW=tdpw
graph "$T_TMP/acl.yaml" "unix://tduser:\${TD_TEST_USER_PW}@$R_SOCK"
worker_start a2 "$T_TMP/acl.yaml" --redis 'unix://tduser:${TD_TEST_USER_PW}@'"$R_SOCK"
t_run run "$T_TMP/acl.yaml"
t_exit 0
t_json "not any(c.get('is_error') for c in d['content'])"
worker_stop a2 TERM
G="$T_TMP/pw.yaml"

# ---- messages a worker cannot run: answered with an error saying why, acknowledged either way
R="tooldag:reply:test:1"
rcli XADD "$R" '*' v 1 type open >/dev/null
q() { rcli XADD tooldag:queue:fast '*' "$@" >/dev/null; }
q v 2 call 1.1 reply "$R" tool echo_r id x input '{}'
q v 1 call 2.1 reply "$R" tool echo_r id x
q v 1 call 3.1 reply "$R" tool nope id x input '{}'
q v 1 call 4.1 reply "$R" tool shout id x input '{}'
q v 1 call 5.1 tool echo_r id x input '{}'
q v 1 call 6.1 reply "$R" tool echo_r id x input '{}' deadline_ms 1
q v 1 call 7.1 reply "$R" tool echo_r id x input '{"fine":true}' deadline_ms 0
worker_start m1 "$G" --tools echo_r
t_check wait_until 20 queued_is fast 0
worker_stop m1 TERM
rcli --no-raw XRANGE "$R" - + >"$T_TMP/replies"
for want in \
	'"worker m1 refused the call: message layout version is not 1"' \
	'"worker m1 refused the call: a field is missing (id, input or tool)"' \
	'"worker m1 refused the call: no such tool in its graph"' \
	'"worker m1 refused the call: this worker does not serve that tool"' \
	'"{\"fine\":true}"'; do
	T_COUNT=$((T_COUNT + 1))
	grep -qF -- "$want" "$T_TMP/replies" || t_fail "reply stream lacks $want: $(cat "$T_TMP/replies")"
done
T_COUNT=$((T_COUNT + 1))
grep -q '7 taken, 1 answered, 0 taken back from silent workers, 5 refused, 1 expired' "$T_TMP/m1.log" ||
	t_fail "worker m1: $(cat "$T_TMP/m1.log")"
T_COUNT=$((T_COUNT + 1)); [ "$(pending fast)" = 0 ] || t_fail "calls left pending"

# ---- answers the scheduler refuses or drops: a duplicate counts once, a malformed one fails
# its call, one for an attempt that is not out is ignored; the run ends without waiting for
# the timeout
cat >"$T_TMP/c.json" <<'JSON'
[{"type":"tool_use","id":"d0","name":"manual","input":{}},
 {"type":"tool_use","id":"d1","name":"manual","input":{}},
 {"type":"tool_use","id":"d2","name":"manual","input":{}},
 {"type":"tool_use","id":"d3","name":"manual","input":{}}]
JSON
start=$SECONDS
"$TOOLDAG" run "$G" "$T_TMP/c.json" >"$T_TMP/out" 2>"$T_TMP/err" &
run=$!
$PY - "$R_SOCK" <<'PY' || t_fail "injecting answers"
import sys, time, redis
r = redis.Redis(unix_socket_path=sys.argv[1], password="s3cret", decode_responses=True)
end = time.time() + 20
while r.xlen("tooldag:queue:manual") < 4 and time.time() < end:
    time.sleep(0.02)
calls = {f["id"]: f for _, f in r.xrange("tooldag:queue:manual")}
def answer(c, **kw):
    f = {"v": "1", "type": "result", "call": c["call"], "worker": "inj", "status": "ok",
         "exit_code": "-1", "signal": "0", "truncated": "0"}
    f.update(kw)
    r.xadd(c["reply"], {k: v for k, v in f.items() if v is not None})
answer(calls["d0"], content="first")
answer(calls["d0"], content="second")
answer(calls["d1"], status="bogus", content="x")
answer(calls["d2"], content=None)
answer(dict(calls["d3"], call="99.1"), content="nobody's")
answer(dict(calls["d3"], call="3.7"), content="an old attempt's")
answer(calls["d3"], type="hello", content="x")
PY
wait "$run"
T_RC=$?
T_ARGS="run (answers injected)"
t_exit 0
t_json "d['content'][0]['content'] == 'first' and not d['content'][0].get('is_error')"
t_json "d['content'][1]['is_error'] and d['content'][1]['content'] == 'malformed answer from worker inj: unknown status'"
t_json "d['content'][2]['is_error'] and d['content'][2]['content'] == 'malformed answer from worker inj: no content'"
t_json "d['content'][3]['is_error'] and d['content'][3]['content'] == \"malformed answer from worker inj: type 'hello'\""
T_COUNT=$((T_COUNT + 1)); [ $((SECONDS - start)) -lt 8 ] || t_fail "the run waited for its timeout"

# ---- Redis restarted mid-run (AOF on): the calls queued and held survive, the run completes
cat >"$T_TMP/c2.json" <<'JSON'
[{"type":"tool_use","id":"s0","name":"slow","input":{"ms":1500}},
 {"type":"tool_use","id":"s1","name":"slow","input":{"ms":1500}},
 {"type":"tool_use","id":"s2","name":"slow","input":{"ms":1500}},
 {"type":"tool_use","id":"s3","name":"slow","input":{"ms":1500}}]
JSON
worker_start r1 "$G" -j 2
"$TOOLDAG" run "$G" "$T_TMP/c2.json" >"$T_TMP/out" 2>"$T_TMP/err" &
run=$!
t_check wait_until 20 pending_ge slow 1
redis_stop
redis_start --requirepass s3cret --appendonly yes
start=$SECONDS
wait "$run"
T_RC=$?
T_ARGS="run (Redis restarted)"
t_exit 0
t_json "len(d['content']) == 4 and all(c['content'] == 'slept 1.5s' for c in d['content'])"
T_COUNT=$((T_COUNT + 1)); [ $((SECONDS - start)) -lt 25 ] || t_fail "took $((SECONDS - start))s after the restart"
worker_stop r1 TERM
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 0 ] || t_fail "worker r1 exited $W_RC: $(cat "$T_TMP/r1.log")"

t_done
