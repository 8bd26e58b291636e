#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_sim_tables.sh - the level-scheduling tables of bench/README.md and their charts, from the
# graphs in data/ (or larger sets), in one command.
#
#   bench/run_sim_tables.sh [-o OUTDIR] [-s STG_DIR] [-t OPTIMA.tsv] [-w WF_DIR] [-f pdf,png,svg]
#
# STG: every *.stg under STG_DIR/50 and STG_DIR/100 (default data/stg), simulated by
# `tooldag-bench sweep --policy all -j 2,4,8 --optima OPTIMA.tsv`; per set, the mean and worst
# ratio of each policy's makespan to the optimum (published or proven optima only) and to the
# lower bound. WfCommons: every *.json under WF_DIR (default data/wf) at j = 4, 16, inf.
# Writes OUTDIR (default ./sim-tables): the rows as CSV (stg-50.csv, stg-100.csv, wf.csv),
# tables.md (what it also prints), and the charts in each format of -f (default pdf):
# stg-50-ratio, stg-100-ratio (makespan over the optimum / lower bound against j),
# wf-<name>-makespan for each instance, and a Gantt of the first STG graph at j = 4 under
# level and under critical. Needs the build (build/, or $TD_BIN) and python3-matplotlib.
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
BENCH=$TD_BIN/bench/tooldag-bench
PY=/usr/bin/python3
out=sim-tables
stg=$TD_SRC/data/stg
optima=
wf=$TD_SRC/data/wf
formats=pdf
while getopts "o:s:t:w:f:h" opt; do
	case $opt in
	o) out=$OPTARG ;;
	s) stg=$OPTARG ;;
	t) optima=$OPTARG ;;
	w) wf=$OPTARG ;;
	f) formats=$OPTARG ;;
	*)
		sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'
		[ "$opt" = h ] && exit 0
		exit 1
		;;
	esac
done
optima=${optima:-$stg/OPTIMA.tsv}
[ -x "$BENCH" ] || {
	echo "run_sim_tables.sh: $BENCH not built: run 'cmake --workflow --preset default' first" >&2
	exit 1
}
$PY -c 'import matplotlib' 2>/dev/null || {
	echo "run_sim_tables.sh: $PY cannot import matplotlib (apt-get install python3-matplotlib)" >&2
	exit 1
}
mkdir -p "$out"
IFS=, read -r -a fmts <<<"$formats"
outs() { # NAME -> -o OUT/NAME.fmt for every format
	local f
	for f in "${fmts[@]}"; do printf -- '-o\n%s/%s.%s\n' "$out" "$1" "$f"; done
}

for size in 50 100; do
	mapfile -t files < <(find "$stg/$size" -name '*.stg' | sort)
	[ "${#files[@]}" -gt 0 ] || { echo "run_sim_tables.sh: no *.stg under $stg/$size" >&2; exit 1; }
	"$BENCH" sweep --policy all -j 2,4,8 --optima "$optima" --csv "${files[@]}" >"$out/stg-$size.csv"
	mapfile -t o < <(outs "stg-$size-ratio")
	$PY "$TD_SRC/bench/plot.py" ratio "$out/stg-$size.csv" "${o[@]}" \
		--title "STG, $size tasks: makespan over the optimum and the lower bound (${#files[@]} graphs)"
done
first=$(find "$stg/50" -name '*.stg' | sort | head -n 1)
"$BENCH" import stg "$first" -o "$out/gantt-graph"
"$BENCH" simulate "$out/gantt-graph/graph.yaml" "$out/gantt-graph/calls.json" --policy level,critical \
	-j 4 --csv --calls-csv "$out/gantt-calls.csv" >/dev/null
for pol in level critical; do
	mapfile -t o < <(outs "stg-gantt-$pol-j4")
	$PY "$TD_SRC/bench/plot.py" gantt "$out/gantt-calls.csv" --policy "$pol" -j 4 "${o[@]}" \
		--title "$(basename "$first"): $pol, j = 4"
done

mapfile -t wfs < <(find "$wf" -name '*.json' | sort)
"$BENCH" sweep --policy all -j 4,16,inf --csv "${wfs[@]}" >"$out/wf.csv"
for f in "${wfs[@]}"; do
	name=$(basename "$f" .json)
	mapfile -t o < <(outs "wf-$name-makespan")
	$PY "$TD_SRC/bench/plot.py" makespan "$out/wf.csv" --graph "$f" "${o[@]}" --title "$name"
done

$PY - "$out" "$BENCH" <<'PY' | tee "$out/tables.md"
import csv, os, platform, subprocess, sys, time
out, bench = sys.argv[1], sys.argv[2]
ver = subprocess.run([bench, "--version"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"{time.strftime('%Y-%m-%d', time.gmtime())}, {ver}, {cpu} ({os.cpu_count()} CPUs), "
      f"Linux {platform.release()}. Simulated in virtual time: the figures do not depend on the machine.\n")
for size in (50, 100):
    rows = list(csv.DictReader(open(f"{out}/stg-{size}.csv")))
    n = len({r["graph"] for r in rows})
    print(f"STG, {size} tasks ({n} graphs): makespan / optimum and / lower bound, mean and worst\n")
    print("| policy | j | graphs with an optimum | mean / optimum | worst / optimum | mean / lower bound | worst / lower bound |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for pol in ("level", "eager", "critical"):
        for j in ("2", "4", "8"):
            rs = [r for r in rows if r["policy"] == pol and r["j"] == j]
            qo = [float(r["ratio_to_optimum"]) for r in rs if r["ratio_to_optimum"]]
            ql = [float(r["ratio_to_lower_bound"]) for r in rs]
            mo = f"{sum(qo) / len(qo):.4f} | {max(qo):.4f}" if qo else "– | –"
            print(f"| {pol} | {j} | {len(qo)} of {len(rs)} | {mo} | {sum(ql) / len(ql):.4f} | {max(ql):.4f} |")
    print()
rows = list(csv.DictReader(open(f"{out}/wf.csv")))
print("WfCommons: makespan in s (ratio to the lower bound), and what the level barrier costs over eager\n")
print("| instance | calls | levels | critical path (s) | j | level | eager | critical | barrier cost (s) |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
by = {(r["graph"], r["policy"], r["j"]): r for r in rows}
for g in dict.fromkeys(r["graph"] for r in rows):
    for j in ("4", "16", "inf"):
        lv, ea, cr = (by[(g, p, j)] for p in ("level", "eager", "critical"))
        cell = lambda r: f"{float(r['makespan_ms']) / 1000:.1f} ({float(r['ratio_to_lower_bound']):.3f})"
        print(f"| {os.path.basename(g)[:-5]} | {lv['calls']} | {lv['levels']} | "
              f"{float(lv['critical_path_ms']) / 1000:.1f} | {j} | {cell(lv)} | {cell(ea)} | {cell(cr)} | "
              f"{float(lv['barrier_cost_ms']) / 1000:.1f} |")
PY
echo "charts: $(ls "$out" | grep -cE '\.(pdf|png|svg)$') files in $out" >&2
