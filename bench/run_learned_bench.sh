#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_learned_bench.sh - what learned durations give `--schedule critical`, for real: the
# WfCommons instances of data/wf/ imported (tooldag-bench import wf: one builtin-sleep call
# per task, input.ms its recorded runtime), scaled so that `level` takes about T seconds in
# simulation, and run with `tooldag run -j J` (makespan from --report), in R rounds:
#
#   level             no history: batch order inside a level (the warm-up run: it fills H)
#   level learned     --history H: the longest calls of a level first
#   critical          no history: every call weighs the same
#   critical learned  --history H, learned by the one warm-up run (per tool and input)
#   critical exact    --history E, every input's exact scaled duration, written here
#
# Prints, per instance, the median makespan of each and the ratios learned / exact and
# level / critical learned, beside the simulated makespans (tooldag-bench simulate, exact
# durations: level there starts a level's longest calls first). E is keyed as tooldag keys
# inputs (a hash of the tool's name and the compact input); the keys are checked against
# those the warm-up run wrote into H. About 45 s with the defaults.
#
#   bench/run_learned_bench.sh [-j J] [-t T] [-r R]      (defaults: -j 16 -t 1 -r 3)
set -euo pipefail

TD_SRC=$(cd "$(dirname "$0")/.." && pwd)
TD_BIN=${TD_BIN:-$TD_SRC/build}
j=16
target=1
rounds=3
while getopts "j:t:r:h" opt; do
	case $opt in
	j) j=$OPTARG ;;
	t) target=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*)
		sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'
		[ "$opt" = h ] && exit 0
		exit 1
		;;
	esac
done
[ -x "$TD_BIN/tooldag" ] && [ -x "$TD_BIN/bench/tooldag-bench" ] ||
	{ echo "run_learned_bench.sh: build first (cmake --workflow --preset default)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
names=()
for f in "$TD_SRC"/data/wf/*.json "$TD_SRC"/data/wf/schema-1.4/*.json; do
	name=$(basename "$f" .json)
	"$TD_BIN/bench/tooldag-bench" import wf "$f" -o "$tmp/$name" >/dev/null
	names+=("$name")
done

exec /usr/bin/python3 - "$TD_BIN" "$tmp" "$j" "$target" "$rounds" "${names[@]}" <<'PY'
import json, os, re, shutil, statistics as st, subprocess, sys

bin_dir, tmp, j, target, rounds = sys.argv[1:6]
j, target, rounds = int(j), float(target), int(rounds)
names = sys.argv[6:]
tooldag, bench = os.path.join(bin_dir, "tooldag"), os.path.join(bin_dir, "bench", "tooldag-bench")
M64, K = (1 << 64) - 1, 0x9E3779B97F4A7C15


def hash_bytes(h, b):
    """history.c's hash_bytes(): eight little-endian bytes at a time."""
    i = 0
    while len(b) - i >= 8:
        h = ((h ^ int.from_bytes(b[i:i + 8], "little")) * K) & M64
        h ^= h >> 32
        i += 8
    n = len(b) - i
    h = ((h ^ int.from_bytes(b[i:] + bytes(8 - n), "little") ^ ((n << 61) & M64)) * K) & M64
    return h ^ (h >> 29)


def input_key(tool, compact):
    k = hash_bytes(hash_bytes(0x5BD1E9955BD1E995, tool.encode() + b"\0"), compact.encode())
    return k or 1


def simulate(d, calls, policy):
    out = subprocess.run([bench, "simulate", f"{d}/graph.yaml", calls, "--policy", policy,
                          "-j", str(j), "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)[0]["makespan_ms"]


def run(d, calls, schedule, history=None, record=None):
    rep = f"{d}/report.json"
    cmd = [tooldag, "run", "-q", "--progress=none", "-j", str(j), "--schedule", schedule,
           "--report", rep]
    cmd += ["--history", history] if history else []
    cmd += ["--record", record] if record else []
    subprocess.run(cmd + [f"{d}/graph.yaml", calls], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(rep))["makespan_ms"]


rows = []
for name in names:
    d = f"{tmp}/{name}"
    calls = json.load(open(f"{d}/calls.json"))
    scale = target * 1000 / simulate(d, f"{d}/calls.json", "level")
    for c in calls:
        c["input"]["ms"] = round(c["input"]["ms"] * scale, 3)
    scaled = f"{d}/scaled.json"
    with open(scaled, "w") as f:
        json.dump(calls, f, separators=(",", ":"))
    sim = {p: simulate(d, scaled, p) for p in ("level", "critical")}
    got = {k: [] for k in ("level", "level_learned", "critical", "learned", "exact")}
    for r in range(rounds):
        h, e, rec = f"{d}/learned{r}.durations", f"{d}/exact{r}.durations", f"{d}/warm{r}.jsonl"
        got["level"].append(run(d, scaled, "level", history=h, record=rec))
        # the exact history: each input as the recording holds it (the bytes tooldag hashes)
        line = open(rec).read()
        inputs = re.findall(r'"tool":"([^"]*)","input":(\{[^}]*\})', line)
        assert len(inputs) == len(calls), (len(inputs), len(calls))
        exact = {}
        for (tool, text), c in zip(inputs, calls):
            exact[input_key(tool, text)] = (tool, round(c["input"]["ms"] * 1000))
        learned = {int(l["input"], 16) for l in map(json.loads, open(h)) if "input_of" in l}
        assert learned == set(exact), "input keys differ from tooldag's"
        with open(e, "w") as f:
            f.write('{"tooldag_durations":2}\n')
            for k, (tool, us) in exact.items():
                f.write(json.dumps({"input_of": tool, "input": f"{k:016x}", "n": 1,
                                    "ewma_us": us, "p95_us": us, "seq": 1, "recent": [us]},
                                   separators=(",", ":")) + "\n")
        for k in (1, 2):  # each run learned from the warm-up only (a run updates its history)
            shutil.copy(h, f"{h}.{k}")
        got["critical"].append(run(d, scaled, "critical"))
        got["learned"].append(run(d, scaled, "critical", history=f"{h}.1"))
        got["level_learned"].append(run(d, scaled, "level", history=f"{h}.2"))
        got["exact"].append(run(d, scaled, "critical", history=e))
    med = {k: st.median(v) for k, v in got.items()}
    rows.append((name, len(calls), scale, sim, med))

print(f"### Learned durations, for real (-j {j}, medians of {rounds} rounds, level ~{target:g} s)")
print()
print("| instance | calls | sim: level | sim: critical | level | level, learned "
      "| critical, no history | critical, learned | critical, exact "
      "| learned / exact | level / critical learned |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for name, n, scale, sim, m in rows:
    print(f"| {name.split('-')[0]} | {n} | {sim['level']:.0f} | {sim['critical']:.0f} "
          f"| {m['level']:.0f} | {m['level_learned']:.0f} | {m['critical']:.0f} "
          f"| {m['learned']:.0f} | {m['exact']:.0f} "
          f"| **{m['learned'] / m['exact']:.3f}** | {m['level'] / m['learned']:.3f} |")
print()
print("Makespans in ms; scales: " + ", ".join(f"{r[0].split('-')[0]} {r[2]:.2e}" for r in rows)
      + ".")
print()
print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
PY
