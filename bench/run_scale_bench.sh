#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scale under a descriptor limit: N process calls (/bin/true) in LEVELS levels at
# -j J under `ulimit -n FDS`, tooldag's memory sampled from /proc/PID/status every 100 ms.
#   bench/run_scale_bench.sh [BUILD_DIR]    env: N (100000), LEVELS (10), J (10000), FDS (256),
#                                           TOOLDAG (BUILD_DIR/tooldag)
# Prints one line per level (time, RSS when it finished, calls done), then RSS after level 1
# against the peak: "memory flat after the first level" means the two are close. The levels come
# from `--progress json` (level_finished events); the run must end with every call ok and no
# EMFILE. Takes minutes: process start-up is 300-1,000 spawns/s on the shared machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
N=${N:-100000}
LEVELS=${LEVELS:-10}
J=${J:-10000}
FDS=${FDS:-256}
tooldag=${TOOLDAG:-$build/tooldag}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -r) nproc=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $N x /bin/true in $LEVELS levels, -j $J, ulimit -n $FDS ($tooldag)"
python3 - "$work" "$N" "$LEVELS" <<'EOF'
import json, sys
d, n, levels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(d + "/g.yaml", "w") as g:
    g.write("version: 1\ntools:\n")
    for k in range(levels):
        g.write("  l%d: {run: [/bin/true]%s}\n" % (k, ", depends_on: [l%d]" % (k - 1) if k else ""))
json.dump([{"type": "tool_use", "id": "c%d" % i, "name": "l%d" % (i * levels // n), "input": {}}
           for i in range(n)], open(d + "/calls.json", "w"))
EOF

(ulimit -n "$FDS" && exec python3 - "$tooldag" "$work" "$J") <<'EOF'
import json, subprocess, sys, threading, time
tooldag, d, j = sys.argv[1:4]

def status(pid):
    f = {}
    try:
        for line in open("/proc/%d/status" % pid):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                f[k] = int(v.split()[0]) / 1024  # MiB
    except OSError:
        pass
    return f

t0 = time.monotonic()
p = subprocess.Popen([tooldag, "run", "-j", j, "--progress", "json", "--report", d + "/rep.json",
                      d + "/g.yaml", d + "/calls.json"],
                     stdout=open(d + "/out.json", "w"), stderr=subprocess.PIPE, text=True)
levels, samples, other = [], [], []

def events():
    for line in p.stderr:
        if line.startswith("{"):
            ev = json.loads(line)
            if ev["event"] == "level_finished":
                levels.append((time.monotonic() - t0, status(p.pid).get("VmRSS", -1), ev))
            elif ev["event"] == "run_finished":
                levels.append((time.monotonic() - t0, status(p.pid).get("VmRSS", -1), ev))
        else:
            other.append(line)

reader = threading.Thread(target=events)
reader.start()
while p.poll() is None:
    s = status(p.pid)
    if s:
        samples.append((time.monotonic() - t0, s["VmRSS"], s["VmHWM"]))
    time.sleep(0.1)
reader.join()
wall = time.monotonic() - t0
rep = json.load(open(d + "/rep.json"))
bad = [c for c in rep["calls"] if c["status"] != "ok"]
emfile = sum("EMFILE" in c.get("error", "") or "open files" in c.get("error", "") for c in bad)
print("exit %d, %.1f s wall, %d calls, %d not ok (%d EMFILE), %d samples; stderr other than "
      "events: %r" % (p.returncode, wall, len(rep["calls"]), len(bad), emfile, len(samples),
                      other[:3]))
print("%-14s %8s %10s" % ("after", "t_s", "RSS_MiB"))
for t, rss, ev in levels:
    name = "level %d" % (ev["level"] + 1) if ev["event"] == "level_finished" else "run end"
    print("%-14s %8.1f %10.1f" % (name, t, rss))
# the batch is decoded before level 1 starts: its peak is not the run's
t1 = levels[0][0] if levels else 0
tn = levels[-2][0] if len(levels) > 1 else 0  # the last level's end (before run_finished)
first = levels[0][1] if levels else -1
before = max((r for t, r, h in samples if t <= t1), default=-1)
during = max((r for t, r, h in samples if t1 < t <= tn), default=-1)
peak = max((h for t, r, h in samples), default=-1)
print("RSS after level 1: %.1f MiB; sampled peak up to level 1's end (batch decoding): %.1f MiB; "
      "after it, to the last level's end: %.1f MiB; VmHWM at the last sample (results JSON "
      "included): %.1f MiB" % (first, before, during, peak))
EOF
