#!/usr/bin/env bash
# test_remote_life.sh - what outlives a worker or a scheduler: a worker or `run` killed with -9
# takes its tools' processes with it (the retry elsewhere is the only completion); SIGHUP
# cancels a worker as SIGINT does; a worker's name is its own; a call of a scheduler that died
# (its reply stream gone) is stopped, or never started.
source "$TD_SRC/tests/redis/lib.sh"
redis_start

cat >"$T_TMP/g.yaml" <<YAML
version: 1
tools:
  life: {run: [sh, -c, 'echo \$\$ >> "$T_TMP/life.pids"; sleep 4; echo done >> "$T_TMP/life.log"'],
         retries: 1, timeout: 30s, remote: {redis: "$U", queue: life, claim_after: 3s}}
  here: {run: [sh, -c, 'echo \$\$ >> "$T_TMP/here.pids"; exec sleep 30']}
  slow0: {builtin: sleep, timeout: 20s, remote: {redis: "$U", queue: slow, claim_after: 1s}}
  named: {builtin: echo, remote: {redis: "$U", queue: named, claim_after: 2s}}
  forever: {run: [sh, -c, 'echo \$\$ >> "$T_TMP/forever.pids"; exec sleep 60'], timeout: 0,
            remote: {redis: "$U", queue: forever, claim_after: 3s}}
YAML
echo '[{"type": "tool_use", "id": "l1", "name": "life", "input": {}}]' >"$T_TMP/life.json"
echo '[{"type": "tool_use", "id": "h1", "name": "here", "input": {}}]' >"$T_TMP/here.json"
echo '[{"type": "tool_use", "id": "s1", "name": "slow0", "input": {"ms": 5000}}]' >"$T_TMP/slow.json"
echo '[{"type": "tool_use", "id": "n1", "name": "named", "input": {"x": 1}}]' >"$T_TMP/named.json"
echo '[{"type": "tool_use", "id": "f1", "name": "forever", "input": {}}]' >"$T_TMP/forever.json"

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

# ---- a worker's name is its own: a second worker of a live one's name is refused (exit 4)
# and leaves the first one's key and calls alone
worker_start n1 "$T_TMP/g.yaml" --tools named -j 1
t_check wait_until 20 grep -q serving "$T_TMP/n1.log"
t_run worker "$T_TMP/g.yaml" --tools named --name n1
t_exit 4
t_err_has "worker name 'n1' is in use: a live worker of that name holds tooldag:worker:n1"
T_COUNT=$((T_COUNT + 1))
[ "$(rcli EXISTS tooldag:worker:n1)" = 1 ] || t_fail "the refused worker deleted n1's liveness key"
t_run run "$T_TMP/g.yaml" "$T_TMP/named.json"
t_exit 0
t_json "d['content'][0]['content'] == '{\"x\":1}'"
# a killed worker's name is free again once its key expires (claim_after), not before
worker_stop n1 KILL
t_run worker "$T_TMP/g.yaml" --tools named --name n1
t_exit 4
t_err_has "a killed one holds it until it expires, in "
t_check wait_until 5 sh -c "[ \"\$(redis-cli -s '$R_SOCK' EXISTS tooldag:worker:n1)\" = 0 ]"
worker_start n1 "$T_TMP/g.yaml" --tools named -j 1
t_check wait_until 20 grep -q serving "$T_TMP/n1.log"
worker_stop n1 TERM
T_COUNT=$((T_COUNT + 1)); [ "$W_RC" -eq 0 ] || t_fail "restarted worker n1 exited $W_RC"

# ---- a scheduler that dies: a call without a timeout (no deadline) is stopped at the worker's
# next heartbeat once the run's reply stream is gone (DEL stands in for its expiry)
worker_start f1 "$T_TMP/g.yaml" --tools forever -j 1
run_bg "$T_TMP/forever.json"
t_check wait_until 20 has_line "$T_TMP/forever.pids"
pid=$(head -n 1 "$T_TMP/forever.pids")
kill -KILL "$BG"
wait "$BG" 2>/dev/null
for k in $(rcli --scan --pattern 'tooldag:reply:*'); do rcli DEL "$k" >/dev/null; done
t_check wait_until 5 gone "$pid"
t_check wait_until 5 pending_is forever 0
worker_stop f1 TERM
t_check grep -q ' 1 cancelled$' "$T_TMP/f1.log"
# a call queued by a scheduler that has died since is never started
run_bg "$T_TMP/forever.json"
t_check wait_until 20 queued_is forever 1
kill -KILL "$BG"
wait "$BG" 2>/dev/null
for k in $(rcli --scan --pattern 'tooldag:reply:*'); do rcli DEL "$k" >/dev/null; done
worker_start f2 "$T_TMP/g.yaml" --tools forever -j 1
t_check wait_until 20 queued_is forever 0
worker_stop f2 TERM
t_check grep -q ' 1 expired, 0 cancelled$' "$T_TMP/f2.log"
T_COUNT=$((T_COUNT + 1))
[ "$(wc -l <"$T_TMP/forever.pids")" = 1 ] || t_fail "a call of a dead scheduler started: $(cat "$T_TMP/forever.pids")"

t_done
