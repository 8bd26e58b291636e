#!/usr/bin/env bash
# test_remote_sched.sh - the scheduler's side of remote: tools on a real redis-server: the reply
# stream outlives a call longer than its expiry (refreshed while the run lives) and is trimmed
# as answers are read; a refused TCP connection names HOST:PORT; a long call stays on its live
# worker while another worker is up (heartbeat); one worker on two queues takes no more than
# its room; an http: tool, a max_output cap and a function:
# tool (which the CLI worker cannot run) on a worker.
source "$TD_SRC/tests/redis/lib.sh"
redis_start

# a TCP port nothing listens on (bound, then closed)
DEAD=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# the repository's HTTP test server on 127.0.0.1 (it prints "PORT n" once it listens)
$PY "$TD_SRC/tests/http_server.py" --lifetime 240 >"$T_TMP/http.port" 2>"$T_TMP/http.err" &
HTTP_PID=$!
trap 'kill -KILL $HTTP_PID 2>/dev/null; r_cleanup' EXIT
wait_until 60 grep -q '^PORT ' "$T_TMP/http.port" || { echo "FAIL: no HTTP test server: $(cat "$T_TMP/http.err")"; exit 1; }
HP=$(awk '/^PORT/ {print $2}' "$T_TMP/http.port")

cat >"$T_TMP/g.yaml" <<YAML
version: 1
tools:
  refused: {builtin: echo, remote: {redis: "redis://127.0.0.1:$DEAD", queue: q}}
  long: {builtin: sleep, timeout: 30s, remote: {redis: "$U", queue: long, claim_after: 1s}}
  fast: {builtin: echo, timeout: 10s, remote: {redis: "$U", queue: fast}}
  web: {http: {url: "http://127.0.0.1:$HP/echo"}, timeout: 10s, remote: {redis: "$U", queue: web}}
  flood: {run: [seq, "1", "100000"], max_output: 1KiB, remote: {redis: "$U", queue: flood}}
  fnt: {function: weather, timeout: 10s, remote: {redis: "$U", queue: fnt}}
YAML
use() { printf '[{"type": "tool_use", "id": "%s", "name": "%s", "input": %s}]\n' "$1" "$1" "$2" >"$T_TMP/$1.json"; }

# ---- a refused TCP connection: the documented message, with the port
use refused '{"x": 1}'
t_run run "$T_TMP/g.yaml" "$T_TMP/refused.json"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == 'redis: cannot connect to 127.0.0.1:$DEAD: Connection refused'"

# ---- the reply stream's expiry (2s here) is refreshed while a 5s call runs: its answer arrives
worker_start w1 "$T_TMP/g.yaml" --tools long
use long '{"ms": 5000}'
T_ARGS="run long (reply TTL 2s)"
TD_TEST_REDIS_REPLY_TTL_MS=2000 "$TOOLDAG" run "$T_TMP/g.yaml" "$T_TMP/long.json" --report "$T_TMP/long.rep" \
	>"$T_TMP/out" 2>"$T_TMP/err" &
run_pid=$!
t_check wait_until 20 pending_is long 1
sleep 3 # past the first expiry: the stream must still be there, its expiry at most 2s away
reply=$(rcli --scan --pattern 'tooldag:reply:*')
ttl=$(rcli PTTL "$reply")
T_COUNT=$((T_COUNT + 1))
[ -n "$reply" ] && [ "$ttl" -gt 0 ] && [ "$ttl" -le 2000 ] || t_fail "reply stream '$reply' with PTTL '$ttl' during a long call"
wait $run_pid
T_RC=$?
t_exit 0
t_json "not d['content'][0].get('is_error')"

# ---- a long call (3x claim_after) stays on its live worker while another worker is up
use long '{"ms": 3500}'
T_ARGS="run long (heartbeat)"
"$TOOLDAG" run "$T_TMP/g.yaml" "$T_TMP/long.json" --report "$T_TMP/hb.rep" >"$T_TMP/out" 2>"$T_TMP/err" &
run_pid=$!
t_check wait_until 20 pending_is long 1
worker_start w2 "$T_TMP/g.yaml" --tools long
wait $run_pid
T_RC=$?
t_exit 0
t_json "not d['content'][0].get('is_error')"
t_check $PY -c "import json,sys; c = json.load(open(sys.argv[1]))['calls'][0]; sys.exit(c.get('worker') != 'w1' or c.get('attempts', 1) != 1)" "$T_TMP/hb.rep"
worker_stop w1 TERM
worker_stop w2 TERM
t_check test "$(answered w1)" = 2
t_check grep -q 'w2: 0 taken, 0 answered, 0 taken back' "$T_TMP/w2.log"

# ---- the reply stream is trimmed as answers are read: 300 answered calls, one still out
worker_start w3 "$T_TMP/g.yaml" --tools fast -j 8
worker_start w5 "$T_TMP/g.yaml" --tools long
$PY -c '
import json
c = [{"type": "tool_use", "id": "f%d" % i, "name": "fast", "input": {"i": i}} for i in range(300)]
c.append({"type": "tool_use", "id": "l", "name": "long", "input": {"ms": 4000}})
print(json.dumps(c))' >"$T_TMP/trim.json"
T_ARGS="run trim"
"$TOOLDAG" run "$T_TMP/g.yaml" "$T_TMP/trim.json" >"$T_TMP/out" 2>"$T_TMP/err" &
run_pid=$!
t_check wait_until 20 pending_is long 1
t_check wait_until 20 pending_is fast 0
sleep 1.5 # an XREAD round: what was read is trimmed
reply=$(rcli --scan --pattern 'tooldag:reply:*')
len=$(rcli XLEN "$reply")
T_COUNT=$((T_COUNT + 1))
[ -n "$reply" ] && [ "$len" -le 2 ] || t_fail "reply stream '$reply' holds $len entries with 300 answers read"
wait $run_pid
T_RC=$?
t_exit 0
t_json "len(d['content']) == 301 and not any(c.get('is_error') for c in d['content'])"
t_check test -z "$(rcli --scan --pattern 'tooldag:reply:*')"
worker_stop w3 TERM
worker_stop w5 TERM

# ---- one worker serving two queues takes no more calls than it has room for (COUNT holds per
# stream in XREADGROUP): with room for 8, and with room for 1 (fewer than its queues), every call
# of both queues is run and answered once, none left pending on it
for jn in 8:300 1:10; do
	j=${jn%:*} n=${jn#*:}
	worker_start w6 "$T_TMP/g.yaml" --tools fast,long -j $j
	$PY -c '
import json, sys
c = [{"type": "tool_use", "id": "f%d" % i, "name": "fast", "input": {"i": i}} for i in range(int(sys.argv[1]))]
c.append({"type": "tool_use", "id": "l", "name": "long", "input": {"ms": 300}})
print(json.dumps(c))' "$n" >"$T_TMP/two.json"
	t_run run "$T_TMP/g.yaml" "$T_TMP/two.json"
	t_exit 0
	t_json "len(d['content']) == $n + 1 and not any(c.get('is_error') for c in d['content'])"
	t_check pending_is fast 0
	t_check pending_is long 0
	worker_stop w6 TERM
	T_COUNT=$((T_COUNT + 1))
	[ "$(answered w6)" = $((n + 1)) ] || t_fail "-j $j: worker w6 answered $(answered w6) of $((n + 1)): $(tail -n 2 "$T_TMP/w6.log")"
done

# ---- an http: tool and max_output, run on a worker
worker_start w4 "$T_TMP/g.yaml" --tools web,flood,fnt
use web '{"greeting": "hello"}'
t_run run "$T_TMP/g.yaml" "$T_TMP/web.json"
t_exit 0
t_json "not d['content'][0].get('is_error') and json.loads(json.loads(d['content'][0]['content'])['body']) == {'greeting': 'hello'}"
use flood '{}'
t_run run "$T_TMP/g.yaml" "$T_TMP/flood.json" --report "$T_TMP/flood.rep"
t_exit 0
t_json "'bytes truncated' in d['content'][0]['content'] and len(d['content'][0]['content']) < 2048"
t_check $PY -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['calls'][0]['truncated'] is not True)" "$T_TMP/flood.rep"
# ---- the CLI worker has no C functions: a function: tool's call gets an error result
use fnt '{}'
t_run run "$T_TMP/g.yaml" "$T_TMP/fnt.json"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == \"function 'weather' is not registered with this run\""
worker_stop w4 TERM
t_done
