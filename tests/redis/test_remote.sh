#!/usr/bin/env bash
# test_remote.sh - remote: tools end to end on a real redis-server: a batch split between local
# and remote tools, many calls shared by three workers (each answered once), a queue with no
# worker (timeouts on schedule), a worker killed with -9 or stopped while it holds a call
# (retried elsewhere, or an error naming it), SIGTERM drain, SIGINT give-back, the deadline a
# worker honours.
source "$TD_SRC/tests/redis/lib.sh"
redis_start

cat >"$T_TMP/g.yaml" <<YAML
version: 1
concurrency: 256
tools:
  echo_r: {builtin: echo, remote: {redis: "$U", queue: fast}}
  shout: {run: [tr, a-z, A-Z], remote: {redis: "$U", queue: fast}}
  local: {builtin: echo}
  nobody: {builtin: echo, timeout: 1s, remote: {redis: "$U", queue: nobody}}
  slow: {builtin: sleep, retries: 1, timeout: 20s, remote: {redis: "$U", queue: slow, claim_after: 1s}}
  slow0: {builtin: sleep, timeout: 20s, remote: {redis: "$U", queue: slow, claim_after: 1s}}
YAML

# calls N TOOL INPUT [N TOOL INPUT...]: an Anthropic batch, ids TOOL-i
calls() {
	$PY - "$@" <<'PY'
import json, sys
a, out = sys.argv[1:], []
for k in range(0, len(a), 3):
    for i in range(int(a[k])):
        inp = json.loads(a[k + 2].replace("I", str(i)))
        out.append({"type": "tool_use", "id": f"{a[k + 1]}-{i}", "name": a[k + 1], "input": inp})
print(json.dumps(out))
PY
}

# ---- a batch split between local and remote tools, two workers
calls 200 echo_r '{"n": I}' 3 shout '{"s": "abc"}' 20 local '{"l": I}' >"$T_TMP/c1.json"
worker_start w1 "$T_TMP/g.yaml" --tools echo_r,shout -j 8
worker_start w2 "$T_TMP/g.yaml" --tools echo_r,shout -j 8
t_run run "$T_TMP/g.yaml" "$T_TMP/c1.json"
t_exit 0
t_json "len(d['content']) == 223"
t_json "all(c['content'] == json.dumps({'n': i}, separators=(',', ':')) for i, c in enumerate(d['content'][:200]))"
t_json "all(c['content'] == '{\"S\":\"ABC\"}' for c in d['content'][200:203])"
t_json "all(c['content'] == json.dumps({'l': i}, separators=(',', ':')) for i, c in enumerate(d['content'][203:]))"
t_json "not any(c.get('is_error') for c in d['content'])"
worker_stop w1 TERM
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 0 ] || t_fail "SIGTERM: worker w1 exited $W_RC"
worker_stop w2 TERM
T_COUNT=$((T_COUNT + 1))
[ $(($(answered w1) + $(answered w2))) -eq 203 ] ||
	t_fail "workers answered $(answered w1) + $(answered w2) calls, want 203"

# ---- three workers share 10,000 calls: each answered exactly once, the queue left empty
calls 10000 echo_r '{"n": I}' >"$T_TMP/c2.json"
for w in a b c; do worker_start "m$w" "$T_TMP/g.yaml" -j 64; done
t_run run "$T_TMP/g.yaml" "$T_TMP/c2.json"
t_exit 0
t_json "len(d['content']) == 10000 and not any(c.get('is_error') for c in d['content'])"
t_json "all(c['content'] == '{\"n\":%d}' % i for i, c in enumerate(d['content']))"
for w in a b c; do worker_stop "m$w" TERM; done
T_COUNT=$((T_COUNT + 1))
sum=$(($(answered ma) + $(answered mb) + $(answered mc)))
[ "$sum" -eq 10000 ] || t_fail "10,000 calls: the workers answered $sum"
T_COUNT=$((T_COUNT + 1))
[ "$(rcli XLEN tooldag:queue:fast)" = 0 ] && [ "$(pending fast)" = 0 ] ||
	t_fail "queue 'fast' not empty: $(rcli XLEN tooldag:queue:fast) entries, $(pending fast) pending"
T_COUNT=$((T_COUNT + 1))
[ -z "$(rcli --scan --pattern 'tooldag:reply:*')" ] || t_fail "a reply stream outlived its run"

# ---- a queue with no worker: every call times out on schedule, its message withdrawn
calls 3 nobody '{}' >"$T_TMP/c3.json"
start=$SECONDS
t_run run "$T_TMP/g.yaml" "$T_TMP/c3.json"
t_exit 0
t_json "all(c['is_error'] and c['content'] == \"timed out after 1s: no answer from queue 'nobody'\" for c in d['content'])"
T_COUNT=$((T_COUNT + 1)); [ $((SECONDS - start)) -le 4 ] || t_fail "took $((SECONDS - start))s"
T_COUNT=$((T_COUNT + 1))
[ "$(rcli XLEN tooldag:queue:nobody)" = 0 ] || t_fail "timed-out calls left on the queue"

# ---- kill -9 of a worker holding a call, retries left: it runs again on another worker
calls 1 slow '{"ms": 3000}' >"$T_TMP/c4.json"
worker_start k1 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/c4.json"
t_check wait_until 20 pending_is slow 1
worker_stop k1 KILL
worker_start k2 "$T_TMP/g.yaml" -j 1
bg_wait kill-9
t_exit 0
t_json "d['content'][0]['content'] == 'slept 3s' and not d['content'][0].get('is_error')"
T_COUNT=$((T_COUNT + 1))
$PY -c "import json,sys; c=json.load(open(sys.argv[1]))['calls'][0]; sys.exit(0 if c['attempts']==2 and c['attempts_detail'][0]['status']=='error' else 1)" \
	"$T_TMP/bg.report" || t_fail "report: $(cat "$T_TMP/bg.report")"

worker_stop k2 TERM
T_COUNT=$((T_COUNT + 1))
[ "$(answered k2)" = 1 ] || t_fail "worker k2 answered $(answered k2) calls, want 1 (the retry only)"

# ---- the same without retries: an error result naming the lost worker, never a second run
calls 1 slow0 '{"ms": 3000}' >"$T_TMP/c5.json"
worker_start k3 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/c5.json"
t_check wait_until 20 pending_is slow 1
worker_stop k3 KILL
worker_start k4 "$T_TMP/g.yaml" -j 1
bg_wait kill-9-no-retry
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'].startswith('lost: worker k3 took this call and fell silent for claim_after (1000ms)')"
worker_stop k4 TERM
T_COUNT=$((T_COUNT + 1))
grep -q ' 0 answered, 1 taken back from silent workers' "$T_TMP/k4.log" || t_fail "k4: $(cat "$T_TMP/k4.log")"

# ---- a worker that hangs (SIGSTOP) holding a call: taken back, run elsewhere; its late answer
# once it wakes is dropped
worker_start h1 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/c4.json"
t_check wait_until 20 pending_is slow 1
kill -STOP "${W_PID[h1]}"
worker_start h2 "$T_TMP/g.yaml" -j 1
bg_wait hang
t_exit 0
t_json "d['content'][0]['content'] == 'slept 3s' and not d['content'][0].get('is_error')"
kill -CONT "${W_PID[h1]}"
worker_stop h1 TERM
worker_stop h2 TERM
T_COUNT=$((T_COUNT + 1)); [ "$(answered h2)" = 1 ] || t_fail "worker h2 answered $(answered h2)"

# ---- SIGTERM drains: the call held finishes and is answered, nothing new is taken
calls 2 slow '{"ms": 2000}' >"$T_TMP/c6.json"
worker_start d1 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/c6.json"
t_check wait_until 20 pending_is slow 1
worker_stop d1 TERM
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 0 ] || t_fail "drained worker exited $W_RC"
T_COUNT=$((T_COUNT + 1)); [ "$(answered d1)" = 1 ] || t_fail "drained worker answered $(answered d1), want 1"
worker_start d2 "$T_TMP/g.yaml" -j 1
bg_wait drain
t_exit 0
t_json "not any(c.get('is_error') for c in d['content'])"
worker_stop d2 TERM

# ---- SIGINT cancels: the call held is given back at once, an error naming the worker (no
# retries left), long before claim_after would have passed
calls 1 slow0 '{"ms": 5000}' >"$T_TMP/c7.json"
worker_start i1 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/c7.json"
t_check wait_until 20 pending_is slow 1
worker_stop i1 INT
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 130 ] || t_fail "interrupted worker exited $W_RC"
bg_wait interrupt
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == 'lost: worker i1 was interrupted while it held this call'"

# ---- the deadline a call carries: a worker whose own graph allows 30s kills it after the
# scheduler's 1s, and the program never gets to its side effect
cat >"$T_TMP/late.yaml" <<YAML
version: 1
tools:
  late: {run: [sh, -c, 'sleep 3; touch "$T_TMP/late-ran"'], timeout: TIMEOUT, remote: {redis: "$U", queue: late}}
YAML
sed 's/TIMEOUT/30s/' "$T_TMP/late.yaml" >"$T_TMP/late-worker.yaml"
sed -i 's/TIMEOUT/1s/' "$T_TMP/late.yaml"
worker_start l1 "$T_TMP/late-worker.yaml" -j 1
calls 1 late '{}' >"$T_TMP/c8.json"
t_run run "$T_TMP/late.yaml" "$T_TMP/c8.json"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'].startswith('timed out after 1s')"
sleep 3
T_COUNT=$((T_COUNT + 1)); [ ! -e "$T_TMP/late-ran" ] || t_fail "the worker ran the call past its deadline"
worker_stop l1 TERM

t_done
