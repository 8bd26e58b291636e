#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_scale.sh - scale and exhaustion through the command:
#   1. 2,000 /bin/true calls in 10 levels at -j 10000 under `ulimit -n 256`, and 60 calls of
#      `sleep 1` under `ulimit -n 128`: all ok, no EMFILE anywhere, and never more processes
#      in flight than the descriptors allow (the scheduler's budget, src/exec/runner.c fd_room:
#      6 descriptors each, 16 spare) nor only one at a time.
#   2. 100,000 builtin calls in 10 levels at -j 10000 under `ulimit -n 64`: all ok; tooldag's
#      RSS read from /proc at the end of levels 1 to 9 (--progress json; tooldag cannot run
#      more than a pipe's worth of events ahead of the reader, so it is still in the next
#      level; after the last one it may have exited) grows by less than a bound, and the peak
#      (getrusage of the child) stays bounded (both outside ASan).
#   3. 50,000 calls of 1 MiB each piped into `run GRAPH -` (generated on the fly, never held):
#      refused at the 256 MiB input cap with its message and exit 2, having read no more than
#      the cap (counted by the writer), in bounded time and memory.
# The full 100,000-process version of 1 is bench/run_scale_bench.sh (minutes, by hand).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 is needed"; exit 77; }
[ -x /usr/bin/time ] || { echo "skip: /usr/bin/time is needed for peak RSS"; exit 77; }
asan=0
{ ldd "$TOOLDAG" 2>/dev/null | grep -q libasan || nm "$TOOLDAG" 2>/dev/null | grep -q __asan_init; } &&
	asan=1
D=$T_TMP

# gen TOOL_KIND LEVELS PER_LEVEL: graph (tools l0..l{L-1}, each after the previous) and batch
gen() {
	python3 - "$D" "$@" <<'EOF'
import json, sys
d, kind, levels, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(d + "/g.yaml", "w") as g:
    g.write("version: 1\ntools:\n")
    for k in range(levels):
        g.write("  l%d: {%s%s}\n" % (k, kind, ", depends_on: [l%d]" % (k - 1) if k else ""))
json.dump([{"type": "tool_use", "id": "c%d" % i, "name": "l%d" % (i % levels), "input": {}}
           for i in range(levels * per)], open(d + "/calls.json", "w"))
EOF
}

# ---- 1. processes under a descriptor limit ----
# procs_under FDS LEVELS PER ARGV: LEVELS x PER calls of `run: ARGV` at -j 10000 under
# `ulimit -n FDS`: every call ok, no EMFILE, and at most (FDS - 16 spare - 3 open) / 6 in flight
procs_under() {
	local fds=$1 levels=$2 per=$3 argv=$4 t0
	gen "run: $argv" "$levels" "$per"
	t0=$(date +%s%N)
	T_ARGS="run -j 10000 (ulimit -n $fds, $((levels * per)) x $argv in $levels levels)"
	(ulimit -n "$fds" && exec "$TOOLDAG" run -j 10000 --report "$D/rep.json" "$D/g.yaml" "$D/calls.json") \
		>"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	echo "$((levels * per)) x $argv, ulimit -n $fds: $((($(date +%s%N) - t0) / 1000000)) ms"
	t_exit 0; t_err_empty
	t_json 'len(d["content"]) == '$((levels * per))' and all("is_error" not in b for b in d["content"])'
	T_COUNT=$((T_COUNT + 1))
	python3 - "$D/rep.json" "$levels" $(((fds - 16 - 3) / 6)) <<'EOF' || t_fail "report check"
import json, sys
r = json.load(open(sys.argv[1]))
levels, budget = int(sys.argv[2]), int(sys.argv[3])
c = r["calls"]
bad = [x for x in c if x["status"] != "ok"]
assert not bad, "not ok: %r" % bad[:3]
assert sorted({x["level"] for x in c}) == list(range(levels)), "levels"
# processes in flight at once, from the report (an end before a start at the same instant)
ev = sorted([(x["start_ms"], 1) for x in c] + [(x["end_ms"], -1) for x in c])
cur = peak = 0
for _, e in ev:
    cur += e
    peak = max(peak, cur)
print("  at most %d processes in flight (descriptor budget %d)" % (peak, budget))
assert 2 <= peak <= budget, "peak in flight %d" % peak
EOF
	T_COUNT=$((T_COUNT + 1))
	! grep -qiE "EMFILE|too many open files|cannot start" "$T_TMP/out" "$T_TMP/err" || t_fail "EMFILE seen"
}
# breadth: 2,000 short processes in 10 levels (500 under ASan; process start-up is 100-1,000
# spawns/s on the shared machine: TD_SCALE_PROCS=5000 for more)
procs=${TD_SCALE_PROCS:-$((asan ? 500 : 2000))}
procs_under 256 10 $((procs / 10)) "[/bin/true]"
# depth: 60 processes that live a second, under 128 descriptors: without the budget they would
# hold 180 descriptors at once (3 each) and the later spawns would fail with EMFILE
procs_under 128 1 60 '[/bin/sleep, "1"]'

# ---- 2. 100,000 builtin calls under 64 descriptors: memory flat after the first level ----
gen "builtin: echo" 10 10000
T_ARGS="run -j 10000 (ulimit -n 64, 100,000 builtin calls in 10 levels)"
T_COUNT=$((T_COUNT + 1))
(ulimit -n 64 && exec python3 - "$TOOLDAG" "$D" "$asan") <<'EOF' >"$T_TMP/py" 2>&1 || t_fail "$(cat "$T_TMP/py")"
import json, resource, subprocess, sys, time
tooldag, d, asan = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None  # exited (a zombie has no VmRSS)
t0 = time.monotonic()
p = subprocess.Popen([tooldag, "run", "-j", "10000", "--progress", "json", "--report",
                      d + "/rep.json", d + "/g.yaml", d + "/calls.json"],
                     stdout=open(d + "/out.json", "w"), stderr=subprocess.PIPE, text=True)
at_level = []
for line in p.stderr:
    if '"level_finished"' in line:
        at_level.append(rss_kib(p.pid))
rc = p.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
res = json.load(open(d + "/out.json"))["content"]
assert rc == 0, "exit %d" % rc
assert len(res) == 100000 and all(b["content"] == "{}" for b in res), "results"
assert len(at_level) == 10, "%d level_finished events" % len(at_level)
at_level = at_level[:9]
assert None not in at_level, "tooldag had exited before level 9's end was read: %r" % at_level
grow = max(at_level) - at_level[0]
print("100,000 builtin calls: %.1f s; RSS after level 1 %.1f MiB, most after levels 2-9 "
      "%.1f MiB, peak (results included) %d MiB" % (time.monotonic() - t0, at_level[0] / 1024,
                                                     max(at_level) / 1024, peak >> 10))
if not asan:  # ASan's quarantine holds freed memory: RSS grows whatever the code does
    assert grow <= 16 << 10, "RSS grew %d KiB after the first level: %r" % (grow, at_level)
    assert peak <= 256 << 10, "peak RSS %d MiB" % (peak >> 10)
EOF
cat "$T_TMP/py"

# ---- 3. 50,000 calls x 1 MiB on stdin: refused at the cap, reading stops there ----
printf 'version: 1\ntools:\n  a: {builtin: echo}\n' >"$D/g.yaml"
gen_big() {
	python3 -c '
import os, sys
one = b"x" * (1 << 20)
sent = 0
def put(b):
    global sent
    while b:
        n = os.write(1, b)
        sent += n
        b = b[n:]
try:
    put(b"[")
    for i in range(50000):
        put(b"%s{\"type\":\"tool_use\",\"id\":\"c%d\",\"name\":\"a\",\"input\":{\"s\":\"" % (b"," if i else b"", i))
        put(one)
        put(b"\"}}")
    put(b"]")
except BrokenPipeError:
    pass
open(sys.argv[1], "w").write("%d\n" % sent)
' "$D/sent"
}
t0=$(date +%s%N)
T_ARGS="run GRAPH - (50,000 x 1 MiB on a pipe)"
gen_big | /usr/bin/time -f %M -o "$D/rss" "$TOOLDAG" run "$D/g.yaml" - >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kb=$(tail -n 1 "$D/rss")
sent=$(cat "$D/sent")
echo "50,000 x 1 MiB on stdin: $sent bytes taken, $ms ms, $((kb / 1024)) MiB peak RSS"
t_exit 2; t_out_empty
t_err_has "tooldag: '<stdin>' is larger than 256 MiB, the most tooldag reads"
T_COUNT=$((T_COUNT + 1))
# the cap, plus what the pipe held and the writer's last partial chunk
[ "$sent" -le $(((256 + 2) << 20)) ] || t_fail "the writer got $sent bytes in"
T_COUNT=$((T_COUNT + 1))
[ "$ms" -le 120000 ] || t_fail "took $ms ms"
T_COUNT=$((T_COUNT + 1))
[ "$asan" = 1 ] || [ "$((kb / 1024))" -le 400 ] || t_fail "peak RSS $((kb / 1024)) MiB"

t_done
