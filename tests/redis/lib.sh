# lib.sh - a private redis-server and tooldag workers for the Redis tests (sourced, not run).
# Builds on tests/cli/lib.sh. redis_start starts redis-server on a unix socket in the test's
# temporary directory (no TCP port: --port 0) with its own data directory; worker_start starts
# `tooldag worker` in the background. Everything started is killed on exit, failed or not.
source "$TD_SRC/tests/cli/lib.sh"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "FAIL: redis-server and redis-cli are needed (Debian: apt-get install redis-server)"
	exit 1
fi

R_SOCK="$T_TMP/redis.sock"
U="unix://$R_SOCK" # the server's URL, for the graphs' remote: keys
PY=/usr/bin/python3
R_PID=
declare -A W_PID=()

r_cleanup() {
	local p
	for p in "${W_PID[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ -n "$R_PID" ] && kill -KILL "$R_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T_TMP"
}
trap r_cleanup EXIT

# redis_start [redis-server options...]
redis_start() {
	mkdir -p "$T_TMP/rdata"
	redis-server --port 0 --unixsocket "$R_SOCK" --unixsocketperm 700 --dir "$T_TMP/rdata" \
		--save "" --appendonly no "$@" >"$T_TMP/redis.log" 2>&1 &
	R_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$R_SOCK" ] && rcli PING 2>/dev/null | grep -q -e PONG -e NOAUTH && return 0
		sleep 0.05
	done
	echo "FAIL: redis-server did not start"; cat "$T_TMP/redis.log"; exit 1
}
redis_stop() {
	[ -n "$R_PID" ] && kill -TERM "$R_PID" 2>/dev/null && wait "$R_PID" 2>/dev/null
	R_PID=
}
rcli() { redis-cli -s "$R_SOCK" "$@"; }

# worker_start NAME GRAPH [worker options...]: its log in $T_TMP/NAME.log
worker_start() {
	local name=$1 graph=$2
	shift 2
	"$TOOLDAG" worker "$graph" --name "$name" "$@" >"$T_TMP/$name.log" 2>&1 &
	W_PID[$name]=$!
}
# worker_stop NAME SIGNAL: sends it and waits; its exit code in $W_RC
worker_stop() {
	kill -"$2" "${W_PID[$1]}" 2>/dev/null
	wait "${W_PID[$1]}" 2>/dev/null
	W_RC=$?
	unset "W_PID[$1]"
}
# answered NAME: how many results the worker says it sent (from its last log line)
answered() { sed -n 's/.*taken, \([0-9]*\) answered.*/\1/p' "$T_TMP/$1.log" | tail -n 1; }

# wait_until SECONDS COMMAND...: true once COMMAND succeeds, false after SECONDS
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}
# pending QUEUE: calls taken by a worker and not acknowledged
pending() { rcli XPENDING "tooldag:queue:$1" tooldag 2>/dev/null | head -n 1; }
# pending_is QUEUE N, queued_is QUEUE N: for wait_until
pending_is() { [ "$(pending "$1")" = "$2" ]; }
pending_ge() { [ "$(pending "$1")" -ge "$2" ] 2>/dev/null; }
queued_is() { [ "$(rcli XLEN "tooldag:queue:$1")" = "$2" ]; }
# t_check COMMAND...: one assertion, a failure when COMMAND fails
t_check() { T_COUNT=$((T_COUNT + 1)); "$@" || t_fail "not true: $*"; }
# run_bg BATCH: `run` of $T_TMP/g.yaml on BATCH in the background (its pid in $BG, its report in
# $T_TMP/bg.report); bg_wait LABEL: waits for it and hands its exit code and output to t_exit,
# t_json and t_err_has
run_bg() {
	"$TOOLDAG" run "$T_TMP/g.yaml" "$1" --report "$T_TMP/bg.report" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
	BG=$!
}
bg_wait() {
	wait "$BG"
	T_RC=$?
	cp "$T_TMP/bg.out" "$T_TMP/out"
	cp "$T_TMP/bg.err" "$T_TMP/err"
	T_ARGS="run (background) $*"
}
