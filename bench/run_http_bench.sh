#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_http_bench.sh - http: tools against a local server (bench/http_peer.c, 127.0.0.1 only):
#   A. 1,000 calls to a 20 ms endpoint at 100 in flight: makespan vs the ideal 1000/100 x 20 ms;
#   B. N calls to a zero-latency endpoint: tooldag -j 100 side by side with
#      `curl --parallel --parallel-max 100` and Python asyncio + aiohttp (limit 100),
#      rounds interleaved (tooldag, curl, aiohttp, tooldag, ...), medians and ratios.
# Every client makes exactly the requests asked for, each request is bounded by a timeout, and
# the server exits by itself after its lifetime.
#
#   bench/run_http_bench.sh [ROUNDS] [N]      (defaults 5 and 5000; build with the default
#                                              preset first; TD_BIN picks another build dir)
#
# TD_BENCH_RT=1 runs the server and every client (all three alike) under `chrt -f 50`
# (SCHED_FIFO; needs root): on a machine shared with other jobs this measures the programs,
# not the other jobs' load. The kernel's RT throttling still leaves 5% to everything else.
set -eu
ROUNDS=${1:-5}
N=${2:-5000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TD_BIN:-$SRC/build}
TOOLDAG=$BIN/tooldag
# Debian's interpreter, which has python3-aiohttp (a pyenv python3 first in PATH may not)
PY=${TD_PYTHON:-$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
PEER=$BIN/bench/http_peer
T=$(mktemp -d)
PEER_PID=
trap '[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null; rm -rf "$T"' EXIT

PRIO=()
[ "${TD_BENCH_RT:-0}" = 1 ] && PRIO=(chrt -f 50)
"${PRIO[@]}" "$PEER" --lifetime 900 >"$T/port" &
PEER_PID=$!
for _ in $(seq 100); do grep -q PORT "$T/port" && break; sleep 0.1; done
PORT=$(awk '{print $2}' "$T/port")
U="http://127.0.0.1:$PORT"

cat >"$T/g.yaml" <<EOF
version: 1
tools:
  zero: {http: {url: "$U/zero", method: GET}, timeout: 30s}
  lat: {http: {url: "$U/delay/20", method: GET}, timeout: 30s}
EOF
python3 - "$T" "$N" <<'EOF'
import json, sys
t, n = sys.argv[1], int(sys.argv[2])
for tool, count in (("zero", n), ("lat", 1000)):
    json.dump([{"type": "tool_use", "id": "c%d" % i, "name": tool, "input": {}}
               for i in range(count)], open("%s/%s.json" % (t, tool), "w"))
EOF
for tool in zero lat; do
	count=$([ $tool = zero ] && echo "$N" || echo 1000)
	path=$([ $tool = zero ] && echo /zero || echo /delay/20)
	for _ in $(seq "$count"); do printf 'url = "%s%s"\noutput = /dev/null\n' "$U" "$path"; done >"$T/$tool.curl"
done

# each prints: wall_ms cpu_ms [inside_ms]  (cpu: user + sys of the client process, from
# /usr/bin/time: unlike wall time it barely moves when other jobs load the machine)
timed() { /usr/bin/time -f "%e %U %S" -o "$T/time" "${PRIO[@]}" "$@"; }
times_ms() { awk '{printf "%d %d", $1 * 1000, ($2 + $3) * 1000}' "$T/time"; }
run_tooldag() {
	timed timeout 120 "$TOOLDAG" run "$T/g.yaml" "$T/$1.json" -j 100 --report "$T/rep.json" >"$T/out.json"
	[ "$(jq '[.content[] | select(.is_error)] | length' "$T/out.json")" = 0 ] || { echo "tooldag: errors" >&2; exit 1; }
	echo "$(times_ms) $(jq '.makespan_ms | floor' "$T/rep.json")"
}
run_curl() {
	timed timeout 120 curl --no-progress-meter --fail --max-time 30 --parallel --parallel-max 100 -K "$T/$1.curl"
	times_ms
}
run_aiohttp() {
	local path
	path=$([ "$1" = zero ] && echo /zero || echo /delay/20)
	timed timeout 120 "$PY" "$SRC/bench/http_aiohttp.py" "$U$path" "$2" 100 >"$T/inner"
	echo "$(times_ms) $(awk '{printf "%d", $1 * 1000}' "$T/inner")"
}

: >"$T/results"
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS" >&2
	echo "A tooldag $(run_tooldag lat)" >>"$T/results"
	echo "A curl $(run_curl lat)" >>"$T/results"
	echo "A aiohttp $(run_aiohttp lat 1000)" >>"$T/results"
	echo "B tooldag $(run_tooldag zero)" >>"$T/results"
	echo "B curl $(run_curl zero)" >>"$T/results"
	echo "B aiohttp $(run_aiohttp zero "$N")" >>"$T/results"
done

"$PY" - "$T/results" "$N" "$ROUNDS" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
n, rounds = int(sys.argv[2]), sys.argv[3]
def med(part, who, col):
    v = [int(r[col]) for r in rows if r[0] == part and r[1] == who and len(r) > col]
    return st.median(v) if v else None  # ms
def fmt(x):
    return "-" if x is None else "%.0f" % x
print("A. 1,000 calls to a 20 ms endpoint, 100 in flight (ideal makespan 200 ms), medians of %s rounds\n" % rounds)
print("| client | wall ms (process) | inside ms | inside / ideal | CPU ms |")
print("|---|---:|---:|---:|---:|")
for who in ("tooldag", "curl", "aiohttp"):
    w, c, i = med("A", who, 2), med("A", who, 3), med("A", who, 4)
    print("| %s | %s | %s | %s | %s |" % (who, fmt(w), fmt(i), "-" if i is None else "%.2f" % (i / 200.0), fmt(c)))
print("\nB. %d calls to a zero-latency endpoint, 100 in flight, medians of %s rounds\n" % (n, rounds))
print("| client | wall ms | req/s (wall) | inside ms | req/s (inside) | CPU ms | CPU us/req | wall vs tooldag | CPU vs tooldag |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
tw, tc = med("B", "tooldag", 2), med("B", "tooldag", 3)
for who in ("tooldag", "curl", "aiohttp"):
    w, c, i = med("B", who, 2), med("B", who, 3), med("B", who, 4)
    print("| %s | %s | %.0f | %s | %s | %s | %.0f | %.2f | %.2f |" % (who, fmt(w), n / (w / 1000.0),
          fmt(i), "-" if not i else "%.0f" % (n / (i / 1000.0)), fmt(c), c * 1000.0 / n, w / tw, c / max(tc, 1)))
print("\nraw rows (part client wall_ms cpu_ms [inside_ms]):")
for r in rows:
    print("    " + " ".join(r))
EOF
