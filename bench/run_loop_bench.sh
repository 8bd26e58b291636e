#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_loop_bench.sh - the io_uring loop and the epoll loop side by side, in one run: every
# workload runs once on each loop per round (io_uring, epoll, io_uring, ...; TOOLDAG_BACKEND
# picks the loop), and the table gives medians and the median of the per-round ratios
# epoll / io_uring (same-round ratios only: a shared machine drifts).
#
#   bench/run_loop_bench.sh [ROUNDS]        (default 7; build with the default preset first;
#                                            TD_BIN picks another build dir)
#
#   spawn   10,000 x /bin/true through `tooldag run -j 8` (a child, 3 pipes, a pidfd each)
#   fn      100,000 INLINE function calls in 10 levels (bench/fn_bench inline: run time only)
#   fnwait  4,000 BLOCKING calls of 1 ms on 4 workers (completions through the eventfd)
#   http    400 GET calls at -j 100 to bench/http_peer on 127.0.0.1 (curl's sockets), ten runs
#           one after the other (one run is too short for /usr/bin/time's 10 ms resolution)
#   timers  10,000 builtin sleep calls of 200 ms at -j 10000 (one heap, one kernel wait)
#
# Wall time and CPU time (user + sys, from /usr/bin/time; fn: as fn_bench reports them) of each
# command, milliseconds. TD_BENCH_RT=1 runs every timed command under `chrt -f 50` (needs root).
set -eu
ROUNDS=${1:-7}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TD_BIN:-$SRC/build}
TOOLDAG=$BIN/tooldag
PEER=$BIN/bench/http_peer
FNB=$BIN/bench/fn_bench
for p in "$TOOLDAG" "$PEER" "$FNB"; do
	[ -x "$p" ] || { echo "run_loop_bench.sh: $p is not built" >&2; exit 1; }
done
T=$(mktemp -d)
PEER_PID=
trap '[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null; rm -rf "$T"' EXIT
PRIO=()
[ "${TD_BENCH_RT:-0}" = 1 ] && PRIO=(chrt -f 50)
"$TOOLDAG" --version | sed -n 2p
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -r) nproc=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg) ${PRIO[*]}"

"${PRIO[@]}" "$PEER" --lifetime 3600 >"$T/port" &
PEER_PID=$!
for _ in $(seq 100); do grep -q PORT "$T/port" && break; sleep 0.1; done
U="http://127.0.0.1:$(awk '{print $2}' "$T/port")"

cat >"$T/g.yaml" <<EOF
version: 1
tools:
  t: {run: ["/bin/true"]}
  web: {http: {url: "$U/zero", method: GET}, timeout: 30s}
  nap: {builtin: sleep}
EOF
python3 - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
def calls(name, n, inp):
    json.dump([{"type": "tool_use", "id": "c%d" % i, "name": name, "input": inp}
               for i in range(n)], open("%s/%s.json" % (t, name), "w"))
calls("t", 10000, {})
calls("web", 400, {})
calls("nap", 10000, {"ms": 200})
EOF

# run LOOP NAME: prints "wall_ms cpu_ms"; fails loudly if the run failed or a call did
run() {
	local loop=$1 name=$2
	case $name in
	spawn) set -- "$TOOLDAG" run -q "$T/g.yaml" "$T/t.json" -j 8 ;;
	http) set -- bash -c 'for i in 1 2 3 4 5 6 7 8 9 10; do "$0" run -q "$1" "$2" -j 100 >"$3.$i" || exit; done; cat "$3.10"' "$TOOLDAG" "$T/g.yaml" "$T/web.json" "$T/http" ;;
	timers) set -- "$TOOLDAG" run -q "$T/g.yaml" "$T/nap.json" -j 10000 ;;
	fn) set -- "$FNB" inline 100000 10 ;;
	fnwait) set -- "$FNB" blocking 4000 1 4 ;;
	esac
	TOOLDAG_BACKEND=$loop /usr/bin/time -f "%e %U %S" -o "$T/time" "${PRIO[@]}" "$@" \
		>"$T/out" 2>"$T/err" || { echo "FAILED ($loop): $*" >&2; cat "$T/err" >&2; exit 1; }
	case $name in
	spawn | http | timers)
		[ "$(jq '[.content[] | select(.is_error)] | length' "$T/out")" = 0 ] ||
			{ echo "FAILED ($loop): $name: error results" >&2; exit 1; } ;;
	esac
	case $name in
	fn) sed -n 's/.*: \([0-9.]*\) s, .*(CPU \([0-9.]*\) s.*/\1 \2/p' "$T/out" |
		awk '{printf "%d %d\n", $1 * 1000, $2 * 1000}' ;;
	*) awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' "$T/time" ;;
	esac
}

: >"$T/results"
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS" >&2
	for name in spawn fn fnwait http timers; do
		for loop in uring epoll; do
			echo "$r $name $loop $(run $loop $name)" >>"$T/results"
		done
	done
done

python3 - "$T/results" "$ROUNDS" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
names = ["spawn", "fn", "fnwait", "http", "timers"]
print("| workload | io_uring wall ms | epoll wall ms | epoll/io_uring wall | io_uring CPU ms | epoll CPU ms | epoll/io_uring CPU |")
print("|---|---|---|---|---|---|---|")
for n in names:
    v = {}
    for r, name, loop, wall, cpu in rows:
        if name == n:
            v.setdefault(loop, {})[int(r)] = (int(wall), int(cpu))
    rw = [v["epoll"][r][0] / max(v["uring"][r][0], 1) for r in v["uring"]]
    rc = [v["epoll"][r][1] / max(v["uring"][r][1], 1) for r in v["uring"]]
    med = lambda loop, i: st.median(x[i] for x in v[loop].values())
    print("| %s | %d | %d | %.2f | %d | %d | %.2f |" % (n, med("uring", 0), med("epoll", 0),
          st.median(rw), med("uring", 1), med("epoll", 1), st.median(rc)))
print("\n%s rounds; medians; ratios are medians of the per-round ratios" % sys.argv[2])
EOF
