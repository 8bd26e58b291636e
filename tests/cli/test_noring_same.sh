#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_noring_same.sh - the epoll loop gives what the io_uring loop gives. One batch of
# everything a run does (processes that succeed, fail, crash, time out, flood their output, read
# a large stdin or leave it unread; retries; a failed dependency; builtins; HTTP calls that
# succeed, fail with a status, are retried, redirected and time out; a cancellation by SIGINT)
# runs once on io_uring and once under tests/helpers/noring's seccomp filter (io_uring refused:
# the run goes on epoll). stdout must be the same bytes; the reports must be equal call by call
# once every time (the *_ms fields) is left out.
. "$(dirname "$0")/lib.sh" || exit 1
TD_BIN=${TD_BIN:?TD_BIN must name the build directory}
CHILD="$TD_BIN/tests/td_child"
NORING="$TD_BIN/tests/noring"
[ -x "$NORING" ] || { echo "skip: $NORING is not built"; exit 77; }
[ -x "$CHILD" ] || { echo "skip: $CHILD is not built"; exit 77; }
"$NORING" EPERM --probe >/dev/null 2>"$T_TMP/probe"
[ $? != 77 ] || { echo "skip: $(cat "$T_TMP/probe")"; exit 77; }
sysctl=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)
[ "$sysctl" = 0 ] || { echo "skip: kernel.io_uring_disabled=$sysctl refuses io_uring already"; exit 77; }
unset TOOLDAG_BACKEND
ulimit -c 0
D=$T_TMP

python3 "$TD_SRC/tests/http_server.py" --lifetime 300 >"$D/port" 2>"$D/srv.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$T_TMP"' EXIT
for _ in $(seq 600); do grep -q '^PORT ' "$D/port" && break; sleep 0.1; done
P=$(awk '/^PORT/ {print $2}' "$D/port")
[ -n "$P" ] || { echo "cannot start the test server: $(cat "$D/srv.err")"; exit 1; }
U="http://127.0.0.1:$P"

cat >"$D/g.yaml" <<EOF
version: 1
concurrency: 16
defaults: {timeout: 10s}
tools:
  echo: {builtin: echo}
  nap: {builtin: sleep}
  hello: {run: ["$CHILD", say, hello]}
  cat: {run: ["$CHILD", cat], stdin: input}
  deaf: {run: ["$CHILD", sleep, "200", say, "did not read"], stdin: input}
  segv: {run: ["$CHILD", esay, "about to crash", segv]}
  exit3: {run: ["$CHILD", esay, boom, exit, "3"], retries: 2, backoff: 10ms}
  after3: {run: ["$CHILD", say, never], depends_on: [exit3]}
  hang: {run: ["$CHILD", ignore-term, sleep, "60000"], timeout: 700ms}
  flood: {run: ["$CHILD", print, "3000000"], max_output: 1KiB}
  bytes: {run: ["$CHILD", bytes, ff00c328e282ac1b41fe]}
  missing: {run: [/nonexistent/td-missing]}
  web: {http: {url: "$U/echo"}}
  web_status: {http: {url: "$U/status/404", method: GET}}
  web_flaky: {http: {url: "$U/flaky/\${TD_SAME_KEY}/2", method: GET}, retries: 3, backoff: 10ms}
  web_redirect: {http: {url: "$U/redirect/3", method: GET}}
  web_slow: {http: {url: "$U/delay/5000", method: GET}, timeout: 500ms}
  web_huge: {http: {url: "$U/huge/300000", method: GET}, max_output: 2KiB}
EOF

python3 - "$D/calls.json" <<'EOF'
import json, sys
big = "x" * (4 << 20)
calls = [("echo", {"a": 1}), ("nap", {"ms": 30}), ("hello", {}), ("cat", {"big": big}),
         ("deaf", {"big": big}), ("segv", {}), ("exit3", {}), ("after3", {}), ("hang", {}),
         ("flood", {}), ("bytes", {}), ("missing", {}), ("web", {"city": "Paris"}),
         ("web_status", {}), ("web_flaky", {}), ("web_redirect", {}), ("web_slow", {}),
         ("web_huge", {})]
calls += [("hello", {}) for _ in range(20)] + [("web", {"i": i}) for i in range(20)]
out = [{"type": "tool_use", "id": "c%02d" % i, "name": n, "input": inp}
       for i, (n, inp) in enumerate(calls)]
json.dump(out, open(sys.argv[1], "w"))
EOF

# strip_times REPORT: the report without any *_ms field, on one line
strip_times() {
	python3 - "$1" <<'EOF'
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not k.endswith("_ms")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
d = strip(json.load(open(sys.argv[1])))
for c in d.pop("calls"):
    print(json.dumps(c, sort_keys=True))
print(json.dumps(d, sort_keys=True))
EOF
}

# same NAME: compares $D/NAME.{ring,epoll}.{out,rep}
same() {
	T_COUNT=$((T_COUNT + 1))
	cmp -s "$D/$1.ring.out" "$D/$1.epoll.out" ||
		{ t_fail "$1: results differ"; diff <(tr ',' '\n' <"$D/$1.ring.out") <(tr ',' '\n' <"$D/$1.epoll.out") | head -20; }
	strip_times "$D/$1.ring.rep" >"$D/$1.ring.calls"
	strip_times "$D/$1.epoll.rep" >"$D/$1.epoll.calls"
	T_COUNT=$((T_COUNT + 1))
	[ -s "$D/$1.ring.calls" ] || t_fail "$1: no report"
	diff "$D/$1.ring.calls" "$D/$1.epoll.calls" >"$D/$1.diff" ||
		{ t_fail "$1: reports differ call by call"; head -20 "$D/$1.diff"; }
}

# the whole batch on each loop (a fresh key for the flaky endpoint each time)
T_ARGS="run (io_uring)"
TD_SAME_KEY=ring timeout 120 "$TOOLDAG" run -q --report "$D/all.ring.rep" "$D/g.yaml" "$D/calls.json" \
	>"$D/all.ring.out" 2>"$D/err"
T_RC=$?; t_exit 0
T_ARGS="run (noring EPERM: epoll)"
TD_SAME_KEY=epoll timeout 120 "$NORING" EPERM "$TOOLDAG" run --report "$D/all.epoll.rep" "$D/g.yaml" \
	"$D/calls.json" >"$D/all.epoll.out" 2>"$D/err"
T_RC=$?; t_exit 0
T_COUNT=$((T_COUNT + 1))
grep -qx "tooldag: io_uring refused by the kernel (Operation not permitted): running on epoll" "$D/err" ||
	t_fail "no line saying the run is on epoll: $(head -3 "$D/err")"
same all

# cancellation by SIGINT once both hang tools have started: the same results and statuses
. "$(dirname "$0")/int_default.sh"
cat >"$D/c.yaml" <<EOF
version: 1
tools:
  hang: {run: ["$CHILD", ignore-term, touch, "$D/started", sleep, "60000"]}
  web_hang: {http: {url: "$U/delay/60000", method: GET}}
  later: {builtin: echo, depends_on: [hang]}
calls:
  - {id: h, tool: hang, input: {}}
  - {id: w, tool: web_hang, input: {}}
  - {id: l, tool: later, input: {}}
EOF
for loop in ring epoll; do
	pre=()
	[ $loop = epoll ] && pre=("$NORING" EPERM)
	rm -f "$D/started"
	int_default "${pre[@]}" "$TOOLDAG" run -q --report "$D/cancel.$loop.rep" "$D/c.yaml" \
		>"$D/cancel.$loop.out" 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do [ -e "$D/started" ] && break; sleep 0.05; done
	sleep 0.3
	kill -INT $pid
	wait $pid
	T_RC=$?; T_ARGS="run (cancelled, $loop)"; t_exit 130
done
same cancel

t_done
