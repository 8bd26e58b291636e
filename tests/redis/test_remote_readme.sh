#!/usr/bin/env bash
# The README's "One machine, in a few commands" block, run as written (bash), with its
# /tmp paths moved into the test's own directory and ./build/tooldag pointed at the built
# command: Redis comes up, two workers answer both calls, and Redis is stopped at the end.
source "$TD_SRC/tests/redis/lib.sh"

block=$(awk '/^\*\*One machine, in a few commands\*\*/ {f = 1; next}
	f && /^```sh$/ {b = 1; next}
	b && /^```$/ {exit}
	b {print}' "$TD_SRC/README.md")
T_ARGS="README block"
T_RC=0
T_COUNT=$((T_COUNT + 1))
[ -n "$block" ] || t_fail "no sh block after 'One machine, in a few commands' in README.md"
t_check grep -q 'redis-cli -s /tmp/td-redis.sock shutdown nosave' <<<"$block"

sock="$T_TMP/td-redis.sock"
script=${block//\/tmp\/td-redis.sock/$sock}
script=${script//\/tmp\/remote.yaml/$T_TMP/remote.yaml}
script=${script//.\/build\/tooldag/$TOOLDAG}
printf '%s\n' "$script" >"$T_TMP/readme.sh"
# run from $T_TMP: a redis-server the block left (it daemonizes) is found by its working
# directory and stopped, even when the block failed
(cd "$T_TMP" && timeout 60 bash -e "$T_TMP/readme.sh") >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
pid=
for p in $(pgrep -x redis-server); do
	[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$T_TMP" ] && pid="$pid $p"
done
pid=${pid# }
[ -n "$pid" ] && kill -KILL $pid
t_exit 0
t_out_has '"HELLO'
t_out_has '"HI'
T_COUNT=$((T_COUNT + 1))
[ -z "$pid" ] || t_fail "the block left redis-server $pid running"
T_COUNT=$((T_COUNT + 1))
[ ! -S "$sock" ] || t_fail "the block left its Redis socket behind"
t_done
