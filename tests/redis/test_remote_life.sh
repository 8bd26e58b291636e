#!/usr/bin/env bash
# test_remote_life.sh - what outlives a worker or a scheduler: a worker or `run` killed with -9
# takes its tools' processes with it (the retry elsewhere is the only completion); SIGHUP
# cancels a worker as SIGINT does.
source "$TD_SRC/tests/redis/lib.sh"
redis_start
U="unix://$R_SOCK"
PY=/usr/bin/python3

cat >"$T_TMP/g.yaml" <<YAML
version: 1
tools:
  life: {run: [sh, -c, 'echo \$\$ >> "$T_TMP/life.pids"; sleep 4; echo done >> "$T_TMP/life.log"'],
         retries: 1, timeout: 30s, remote: {redis: "$U", queue: life, claim_after: 3s}}
  here: {run: [sh, -c, 'echo \$\$ >> "$T_TMP/here.pids"; exec sleep 30']}
  slow0: {builtin: sleep, timeout: 20s, remote: {redis: "$U", queue: slow, claim_after: 1s}}
YAML
echo '[{"type": "tool_use", "id": "l1", "name": "life", "input": {}}]' >"$T_TMP/life.json"
echo '[{"type": "tool_use", "id": "h1", "name": "here", "input": {}}]' >"$T_TMP/here.json"
echo '[{"type": "tool_use", "id": "s1", "name": "slow0", "input": {"ms": 5000}}]' >"$T_TMP/slow.json"

run_bg() {
	"$TOOLDAG" run "$T_TMP/g.yaml" "$1" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
	BG=$!
}
bg_wait() {
	wait "$BG"
	T_RC=$?
	cp "$T_TMP/bg.out" "$T_TMP/out"
	cp "$T_TMP/bg.err" "$T_TMP/err"
	T_ARGS="run (background) $*"
}
# gone PID: no such process, or a zombie waiting for its new parent to reap it
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
has_line() { [ -s "$1" ]; }

# ---- kill -9 of a worker mid-call: its tool dies with it; the retry on another worker is the
# only completion
worker_start d1 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/life.json"
t_check wait_until 20 has_line "$T_TMP/life.pids"
pid=$(head -n 1 "$T_TMP/life.pids")
worker_stop d1 KILL
t_check wait_until 1 gone "$pid"
worker_start d2 "$T_TMP/g.yaml" -j 1
bg_wait kill-9-worker
t_exit 0
t_json "d['content'][0]['content'] == '' and not d['content'][0].get('is_error')"
sleep 1 # the killed attempt would have written by now
T_COUNT=$((T_COUNT + 1))
[ "$(cat "$T_TMP/life.log")" = done ] || t_fail "life.log: $(cat "$T_TMP/life.log"), want one 'done'"
worker_stop d2 TERM

# ---- kill -9 of `run` while a local tool runs: the tool dies with it
run_bg "$T_TMP/here.json"
t_check wait_until 20 has_line "$T_TMP/here.pids"
pid=$(head -n 1 "$T_TMP/here.pids")
kill -KILL "$BG"
wait "$BG" 2>/dev/null
t_check wait_until 1 gone "$pid"

# ---- SIGHUP cancels a worker as SIGINT does: the call held is given back at once, exit 130
worker_start h1 "$T_TMP/g.yaml" -j 1
run_bg "$T_TMP/slow.json"
t_check wait_until 20 pending_is slow 1
worker_stop h1 HUP
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 130 ] || t_fail "worker given SIGHUP exited $W_RC"
bg_wait hangup
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == 'lost: worker h1 was interrupted while it held this call'"

t_done
