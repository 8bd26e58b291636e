#!/usr/bin/env bash
# Interleaved side-by-side benchmark of tooldag's executor.
#   bench/run_exec_bench.sh [BUILD_DIR]     env: N (10000), ROUNDS (3), PS ("2 8 64"),
#                                           SKIP_SPAWN=1, SKIP_INPROC=1,
#                                           SKIP_LEVELRUN=1, TD_BENCH_RT=1
# TD_BENCH_RT=1 runs every timed command (all peers alike) under `chrt -f 50` (SCHED_FIFO, needs
# root; children inherit it): on a machine shared with other jobs this measures the programs,
# not the other jobs' load. The kernel's RT throttling still leaves 5% to everything else.
# Spawn throughput: N x /bin/true, each P, every peer once per round in turn (same-round ratios
# only: this machine drifts), wall time measured here around each command the same way.
# Level overhead with processes: 10 levels x 50 `run: [sleep, "0.020"]` calls through
# `tooldag run` against level_ref (bench/ref/level_ref.c: posix_spawn a whole level, wait for
# all, next level; no pipes) on the same levels, interleaved, ROUNDS rounds, both with LC_ALL=C.
# spawn_ref and level_ref are the C references in bench/ref/, built with the project.
# In-process: build/bench/exec_bench echo/sleep/level/rss, ROUNDS rounds each, medians.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
build=$(cd "$build" && pwd)
N=${N:-10000}
ROUNDS=${ROUNDS:-3}
PS=${PS:-2 8 64}
for p in spawn_ref level_ref exec_bench; do
	[ -x "$build/bench/$p" ] || { echo "run_exec_bench.sh: $build/bench/$p not built" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
PRIO=()
[ "${TD_BENCH_RT:-0}" = 1 ] && PRIO=(chrt -f 50)
wall() { # wall seconds of "$@", stdout/stderr discarded; fails loudly on non-zero exit
	local t0 t1
	t0=$(date +%s%N)
	"${PRIO[@]}" "$@" >/dev/null 2>"$work/err" || { echo "FAILED: $*" >&2; cat "$work/err" >&2; return 1; }
	t1=$(date +%s%N)
	echo "scale=4; ($t1 - $t0) / 1000000000" | bc
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -r) nproc=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg) ${PRIO[*]}"

if [ "${SKIP_SPAWN:-0}" != 1 ]; then
	printf 'version: 1\ntools:\n  t:\n    run: ["/bin/true"]\n' >"$work/tools.yaml"
	python3 -c "import json,sys; n=int(sys.argv[1]); json.dump([{'type':'tool_use','id':'c%d'%i,'name':'t','input':{}} for i in range(n)], open(sys.argv[2],'w'))" "$N" "$work/calls.json"
	seq "$N" >"$work/jobs.txt"
	{ printf 'all:'; for i in $(seq "$N"); do printf ' j%d' "$i"; done; printf '\n.PHONY: all'
	  for i in $(seq "$N"); do printf ' j%d' "$i"; done; printf '\n'
	  for i in $(seq "$N"); do printf 'j%d:\n\t@/bin/true\n' "$i"; done; } >"$work/Makefile"
	names="tooldag spawn_ref spawn_ref_pipes xargs make"
	declare -A cmd
	for P in $PS; do
		cmd[tooldag]="$build/tooldag run $work/tools.yaml $work/calls.json -j $P"
		cmd[spawn_ref]="$build/bench/spawn_ref -n $N -p $P -- /bin/true"
		cmd[spawn_ref_pipes]="$build/bench/spawn_ref -i -n $N -p $P -- /bin/true"
		cmd[xargs]="xargs -P $P -n 1 -a $work/jobs.txt /bin/true"
		cmd[make]="make -s -j $P -f $work/Makefile"
		for r in $(seq "$ROUNDS"); do
			for p in $names; do
				t=$(wall ${cmd[$p]})
				echo "$P $r $p $t" >>"$work/spawn.tsv"
			done
		done
		echo "## spawn N=$N P=$P load: $(cut -d' ' -f1-3 /proc/loadavg)"
		for p in $names; do echo "#   $p: ${cmd[$p]}"; done
		awk -v P="$P" '$1==P {print "#   P round peer seconds:", $0}' "$work/spawn.tsv"
		for p in $names; do
			s=$(awk -v P="$P" -v p="$p" '$1==P && $3==p {print $4}' "$work/spawn.tsv" | median)
			# per-round ratio to spawn_ref, then the median of those ratios
			ratio=$(awk -v P="$P" -v p="$p" '$1==P && $3=="spawn_ref" {ref[$2]=$4}
				$1==P && $3==p {t[$2]=$4} END {for (r in t) print t[r]/ref[r]}' "$work/spawn.tsv" | median)
			printf 'spawn\tP=%s\t%-16s\tmedian_s=%s\tjobs_per_s=%.0f\tratio_to_spawn_ref=%.3f\n' \
				"$P" "$p" "$s" "$(echo "$N / $s" | bc -l)" "$ratio"
		done
	done
fi

if [ "${SKIP_LEVELRUN:-0}" != 1 ]; then
	L=10 W=50
	{ printf 'version: 1\nconcurrency: %d\ntools:\n' "$W"
	  for l in $(seq 0 $((L - 1))); do
		printf '  l%d:\n    run: ["sleep", "0.020"]\n' "$l"
		[ "$l" -gt 0 ] && printf '    depends_on: [l%d]\n' $((l - 1))
	  done; } >"$work/levels.yaml"
	python3 -c "import json,sys; L,W=int(sys.argv[1]),int(sys.argv[2]); json.dump([{'type':'tool_use','id':'c%d_%d'%(l,i),'name':'l%d'%l,'input':{}} for l in range(L) for i in range(W)], open(sys.argv[3],'w'))" "$L" "$W" "$work/levels.json"
	for l in $(seq 0 $((L - 1))); do for i in $(seq "$W"); do printf '%d\tsleep 0.020\n' "$l"; done; done >"$work/levels.tsv"
	for r in $(seq "$ROUNDS"); do
		t=$(LC_ALL=C wall "$build/tooldag" run "$work/levels.yaml" "$work/levels.json" --report "$work/levels.report")
		mk=$(jq .makespan_ms "$work/levels.report")
		echo "$r tooldag $t $mk" >>"$work/levelrun.tsv"
		LC_ALL=C "${PRIO[@]}" "$build/bench/level_ref" "$work/levels.tsv" >"$work/level_ref.json"
		t=$(jq .exec_s "$work/level_ref.json")
		echo "$r level_ref $t $(echo "$t * 1000" | bc)" >>"$work/levelrun.tsv"
	done
	echo "## level overhead with processes: $L levels x $W sleep 0.020, ideal $((L * 20)) ms, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "#   tooldag: LC_ALL=C $build/tooldag run levels.yaml levels.json --report R (makespan_ms from R)"
	echo "#   level_ref: LC_ALL=C level_ref levels.tsv (exec_s)"
	awk '{print "#   round peer wall_s makespan_ms:", $0}' "$work/levelrun.tsv"
	for p in tooldag level_ref; do
		mk=$(awk -v p="$p" '$2==p {print $4}' "$work/levelrun.tsv" | median)
		ratio=$(awk -v p="$p" '$2=="level_ref" {ref[$1]=$4} $2==p {t[$1]=$4}
			END {for (r in t) print t[r]/ref[r]}' "$work/levelrun.tsv" | median)
		printf 'levelrun\t%-10s\tmakespan_ms=%s\tper_level_overhead_ms=%.2f\tratio_to_level_ref=%.3f\n' \
			"$p" "$mk" "$(echo "($mk - $L * 20) / $L" | bc -l)" "$ratio"
	done
fi

if [ "${SKIP_INPROC:-0}" != 1 ]; then
	eb="$build/bench/exec_bench"
	for r in $(seq "$ROUNDS"); do
		for a in "echo 100000 10" "sleep 1000 1" "sleep 10000 1" "level 10 50 20" "rss 100000 1000"; do
			# shellcheck disable=SC2086
			"${PRIO[@]}" "$eb" $a
		done
	done >"$work/inproc.jsonl"
	echo "## in-process, $ROUNDS rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	python3 - "$work/inproc.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(sel, key):
    return statistics.median(r[key] for r in rows if sel(r))
e = lambda r: r["bench"] == "echo"
print("echo 100000 calls / 10 levels: calls_per_s median %.0f (makespan %.3f s; per CPU second of td_run_wait %.0f; incl. batch+plan+run_new build %.0f/s)"
      % (med(e, "calls_per_s"), med(e, "makespan_s"), med(e, "calls_per_cpu_s"), med(e, "calls_per_s_incl_build")))
for n in (1000, 10000):
    s = lambda r, n=n: r["bench"] == "sleep" and r["calls"] == n
    print("sleep %d x 1 ms: lateness from each call's start median %.3f ms, p99 %.3f ms, max %.3f ms; from the run's start median %.3f ms, p99 %.3f ms"
          % (n, med(s, "late_median_ms"), med(s, "late_p99_ms"), med(s, "late_max_ms"), med(s, "late0_median_ms"), med(s, "late0_p99_ms")))
l = lambda r: r["bench"] == "level"
print("level 10 x 50 x 20 ms: makespan %.3f ms, overhead per level %.3f ms, worst level %.3f ms"
      % (med(l, "makespan_ms"), med(l, "overhead_per_level_ms"), med(l, "worst_level_over_ms")))
m = lambda r: r["bench"] == "rss"
print("rss 100000 sleeps in flight: peak RSS %.1f MiB (base %.1f MiB), %.0f bytes per call"
      % (med(m, "peak_rss_kib") / 1024, med(m, "base_rss_kib") / 1024, med(m, "bytes_per_call")))
PY
fi
