#!/usr/bin/env bash
# test_remote_cancel.sh - a cancelled run stops the remote call a worker is running: its process
# group is gone within a couple of seconds, the worker answers and acknowledges it and serves
# the next call; a cancel for an attempt no worker holds is harmless; a call cancelled before
# any worker took it is acknowledged unstarted; a cancel that names nothing is ignored with a
# message that says why.
source "$TD_SRC/tests/redis/lib.sh"
redis_start

cat >"$T_TMP/g.yaml" <<YAML
version: 1
tools:
  hold: {run: [sh, -c, 'echo \$\$ >"$T_TMP/pid"; exec sleep 30'], timeout: 60s, remote: {redis: "$U", queue: hold}}
  quick: {builtin: echo, remote: {redis: "$U", queue: hold}}
YAML
echo '[{"type": "tool_use", "id": "h", "name": "hold", "input": {}}]' >"$T_TMP/hold.json"
echo '[{"type": "tool_use", "id": "q", "name": "quick", "input": {"n": 1}}]' >"$T_TMP/quick.json"

# gone PID: no process of the group PID is left
gone() { ! kill -0 -- "-$1" 2>/dev/null; }
# quick_ok: a call of the same queue runs through the same worker
quick_ok() {
	t_run run "$T_TMP/g.yaml" "$T_TMP/quick.json"
	t_exit 0
	t_json "d['content'][0]['content'] == '{\"n\":1}' and not d['content'][0].get('is_error')"
}

worker_start w1 "$T_TMP/g.yaml" -j 2

# cancel NAME SIGNAL: a run of `hold` in the background, sent SIGNAL once the worker runs the
# call; the tool's process group must be gone within 2 seconds, the call answered and
# acknowledged
cancel() {
	rm -f "$T_TMP/pid"
	# a background job of a script starts with SIGINT ignored: given back its default
	$PY -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
		"$TOOLDAG" run "$T_TMP/g.yaml" "$T_TMP/hold.json" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
	BG=$!
	t_check wait_until 20 test -s "$T_TMP/pid"
	pid=$(cat "$T_TMP/pid")
	t_check kill -0 -- "-$pid"
	kill -"$2" "$BG"
	wait "$BG"
	T_RC=$?
	cp "$T_TMP/bg.out" "$T_TMP/out"
	cp "$T_TMP/bg.err" "$T_TMP/err"
	T_ARGS="run (background, $1)"
	t_check wait_until 2 gone "$pid"
	t_check wait_until 5 pending_is hold 0
	t_check queued_is hold 0
}
cancel sigint INT
t_exit 130
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == 'cancelled'"
cancel sigterm TERM
t_exit 130
quick_ok
worker_stop w1 TERM
T_COUNT=$((T_COUNT + 1))
grep -q ' 3 answered, .* 2 cancelled$' "$T_TMP/w1.log" || t_fail "worker w1: $(cat "$T_TMP/w1.log")"

# ---- a cancel for an attempt no worker holds changes nothing; nor do malformed ones, which
# are listed
worker_start w2 "$T_TMP/g.yaml"
subscribed() { [ "$(rcli PUBSUB NUMSUB tooldag:cancel:hold | tail -n 1)" = 1 ]; }
t_check wait_until 10 subscribed
rcli PUBLISH tooldag:cancel:hold "1 tooldag:reply:nobody 7.1" >/dev/null
rcli PUBLISH tooldag:cancel:hold "garbage" >/dev/null
rcli PUBLISH tooldag:cancel:hold "2 tooldag:reply:nobody 7.1" >/dev/null
rcli PUBLISH tooldag:cancel:hold "1 elsewhere 7.1" >/dev/null
rcli PUBLISH tooldag:cancel:hold "1 tooldag:reply:nobody" >/dev/null
quick_ok

# ---- a call cancelled before a worker took it: acknowledged, never started, not answered
rm -f "$T_TMP/pid"
rcli XADD tooldag:reply:early '*' v 1 type open >/dev/null
rcli PUBLISH tooldag:cancel:hold "1 tooldag:reply:early 5.1" >/dev/null
rcli XADD tooldag:queue:hold '*' v 1 call 5.1 reply tooldag:reply:early tool hold id x \
	input '{}' attempt 1 deadline_ms 0 timeout_ms 0 >/dev/null
t_check wait_until 5 queued_is hold 0
t_check pending_is hold 0
sleep 0.5
T_COUNT=$((T_COUNT + 1)); [ ! -e "$T_TMP/pid" ] || t_fail "a call cancelled before it was taken ran"
T_COUNT=$((T_COUNT + 1))
[ "$(rcli XLEN tooldag:reply:early)" = 1 ] || t_fail "a call cancelled before it was taken was answered"
quick_ok
worker_stop w2 TERM
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 0 ] || t_fail "worker w2 exited $W_RC"
T_COUNT=$((T_COUNT + 1))
grep -q ' 2 answered, .* 1 cancelled$' "$T_TMP/w2.log" || t_fail "worker w2: $(cat "$T_TMP/w2.log")"
for why in "(it is not 'VERSION REPLY CALL'): 'garbage'" \
	"(its layout version is not 1): '2 tooldag:reply:nobody 7.1'" \
	"(its reply stream is not tooldag:reply:...): '1 elsewhere 7.1'" \
	"(it is not 'VERSION REPLY CALL'): '1 tooldag:reply:nobody'"; do
	T_COUNT=$((T_COUNT + 1))
	grep -qF "tooldag: ignored a cancel on tooldag:cancel:hold that names no call $why" "$T_TMP/w2.log" ||
		t_fail "worker w2 does not say: $why: $(cat "$T_TMP/w2.log")"
done

t_done
