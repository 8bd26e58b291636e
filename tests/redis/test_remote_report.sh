#!/usr/bin/env bash
# test_remote_report.sh - who ran what, and how long it waited: two named workers, started
# after the calls have waited on the queue for a known time; the report, the trace and the
# progress events name the worker of each call (checked against the worker that ran the
# program: the program prints its parent, the worker's pid) and a queue wait of at least that
# time (a lower bound only).
source "$TD_SRC/tests/redis/lib.sh"
redis_start
DELAY=1.5

cat >"$T_TMP/g.yaml" <<YAML
version: 1
concurrency: 64
tools:
  who: {run: [sh, -c, 'sleep 0.3; echo \$PPID'], remote: {redis: "$U", queue: rep}}
  here: {builtin: echo}
YAML
$PY - >"$T_TMP/calls.json" <<'PY'
import json
print(json.dumps([{"type": "tool_use", "id": f"w{i}", "name": "who", "input": {}} for i in range(8)]
                 + [{"type": "tool_use", "id": f"h{i}", "name": "here", "input": {"i": i}} for i in range(2)]))
PY

"$TOOLDAG" run "$T_TMP/g.yaml" "$T_TMP/calls.json" --report "$T_TMP/report.json" \
	--trace "$T_TMP/trace.json" --progress=json >"$T_TMP/out" 2>"$T_TMP/err" &
RUN=$!
t_check wait_until 20 queued_is rep 8
sleep "$DELAY"
worker_start wa "$T_TMP/g.yaml" -j 2
worker_start wb "$T_TMP/g.yaml" -j 2
echo "{\"${W_PID[wa]}\": \"wa\", \"${W_PID[wb]}\": \"wb\"}" >"$T_TMP/pids.json"
wait "$RUN"
T_RC=$?
T_ARGS="run --report --trace --progress=json"
t_exit 0
worker_stop wa TERM
worker_stop wb TERM
# the program printed its parent: the pid of the worker that ran it (pids.json)
T_COUNT=$((T_COUNT + 1))
$PY - "$T_TMP" "$DELAY" "$(answered wa)" "$(answered wb)" <<'PY' || t_fail "report, trace or events"
import json, sys
tmp, delay, answered = sys.argv[1], float(sys.argv[2]), {"wa": int(sys.argv[3]), "wb": int(sys.argv[4])}
pids = json.load(open(tmp + "/pids.json"))
out = json.load(open(tmp + "/out"))
rep = json.load(open(tmp + "/report.json"))
trace = json.load(open(tmp + "/trace.json"))["traceEvents"]
events = [json.loads(l) for l in open(tmp + "/err") if l.startswith("{")]
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("FAIL:", what)
        ok = False

ran_by = {}
for c, r in zip(rep["calls"], out["content"]):
    if c["name"] == "who":
        ran_by[c["id"]] = pids.get(r["content"].strip())
        check(c["worker"] == ran_by[c["id"]], f"{c['id']}: report says {c['worker']}, the program ran on {ran_by[c['id']]}")
        check(c["queue_ms"] >= delay * 1000, f"{c['id']}: queue_ms {c['queue_ms']} < {delay * 1000}")
        check(c["attempts_detail"][0]["worker"] == c["worker"], f"{c['id']}: attempt's worker")
    else:
        check("worker" not in c, f"{c['id']} ran here but names a worker")
for w in ("wa", "wb"):
    n = sum(1 for v in ran_by.values() if v == w)
    check(n == answered[w], f"{w}: ran {n} calls by the report, its log says {answered[w]}")

# the trace: the run's slices name the worker and the wait; process 3 has a track per worker
# with that worker's calls on it
tracks = {e["tid"]: e["args"]["name"] for e in trace
          if e["ph"] == "M" and e["pid"] == 3 and e["name"] == "thread_name"}
check(set(tracks.values()) <= {"wa", "wb"} and tracks, f"worker tracks: {tracks}")
on_track = {e["name"].split()[1]: tracks.get(e["tid"]) for e in trace if e["ph"] == "X" and e["pid"] == 3}
check(on_track == ran_by, f"worker tracks hold {on_track}, want {ran_by}")
for e in trace:
    if e["ph"] == "X" and e["pid"] == 1 and e["name"].startswith("who "):
        cid = e["name"].split()[1]
        check(e["args"].get("worker") == ran_by[cid], f"trace slice {cid}: {e['args']}")
        check(e["args"].get("worker_wait_us", 0) >= delay * 1e6, f"trace slice {cid}: {e['args']}")
# the events
fin = {e["id"]: e for e in events if e["event"] == "attempt_finished"}
for cid, w in ran_by.items():
    check(fin[cid].get("worker") == w and fin[cid]["queue_ms"] >= delay * 1000, f"event {fin[cid]}")
check("worker" not in fin["h0"], f"event {fin['h0']}")
sys.exit(0 if ok else 1)
PY

t_done
