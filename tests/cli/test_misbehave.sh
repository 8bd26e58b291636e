#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_misbehave.sh - every kind of misbehaving tool in ONE batch, side by side with healthy
# siblings (a builtin echo and a process that succeeds, first, in the middle and last):
# SIGSEGV, abort, exit 255, SIGTERM ignored, stdout closed early, 8 MiB of stdin never read
# (exiting, and hanging to its timeout), 1 GiB printed under a 64 KiB cap, invalid UTF-8 and
# NUL bytes on stdout and stderr, a grandchild outliving its parent, a daemon-like descendant
# that leaves the process group (setsid) and has a child in a group of its own, 200 forked
# children with the parent sleeping past its timeout, a missing program (by path and in PATH),
# a file without execute permission and one in no executable format.
#
# For each call: its exact status, exit code or signal and message in the report and in the
# results; that it ended within its timeout plus the grace (2 s) plus slack for a loaded
# machine; the siblings' results intact. Then: the results are valid JSON (strict UTF-8) in
# every dialect; tooldag's peak RSS stayed bounded (outside ASan); and no process is left: every
# child carries TD_MISBEHAVE=<token> in its environment (the tools' env:, inherited by
# grandchildren), and /proc is scanned for it (the scan is checked on a decoy first).
. "$(dirname "$0")/lib.sh" || exit 1
TD_BIN=${TD_BIN:?TD_BIN must name the build directory}
CHILD="$TD_BIN/tests/td_child"
command -v python3 >/dev/null || { echo "skip: python3 is needed to check the results"; exit 77; }
[ -x "$CHILD" ] || { echo "skip: $CHILD is not built"; exit 77; }
ulimit -c 0 # the crashing tools would write core files otherwise

asan=0
{ ldd "$TOOLDAG" 2>/dev/null | grep -q libasan || nm "$TOOLDAG" 2>/dev/null | grep -q __asan_init; } &&
	asan=1
TOKEN="td-misbehave-$$-$RANDOM$RANDOM"
D=$T_TMP
GRACE_MS=2000   # README: SIGTERM, then SIGKILL after 2 s
SLACK_MS=3000   # a loaded, sanitized machine (test_run.sh allows the same)
RSS_MIB=160     # peak RSS bound of tooldag (and of each child: /usr/bin/time sees the largest)
FLOOD=$((1 << 30))

# pids whose environment holds the token (zombies have none: they are dead)
leftovers() {
	grep -laF "TD_MISBEHAVE=$1" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/||; s|/environ$||'
}

# the scan must see a live process, or an empty result would prove nothing
TD_MISBEHAVE="$TOKEN-decoy" sleep 30 &
decoy=$!
for _ in $(seq 50); do [ "$(leftovers "$TOKEN-decoy")" = "$decoy" ] && break; sleep 0.05; done
T_COUNT=$((T_COUNT + 1))
[ "$(leftovers "$TOKEN-decoy")" = "$decoy" ] || t_fail "the /proc scan does not see the decoy $decoy"
kill "$decoy"; wait "$decoy" 2>/dev/null

printf 'not a program\n' >"$D/noexec" && chmod 644 "$D/noexec"
printf '\x01\x02\x03 garbage, no #! and no ELF header\n' >"$D/garbage" && chmod 755 "$D/garbage"

cat >"$D/g.yaml" <<EOF
version: 1
concurrency: 100
defaults: {timeout: 10s}
x-env: &env {TD_MISBEHAVE: "$TOKEN"}
tools:
  echo: {builtin: echo}
  hello: {run: ["$CHILD", say, hello], env: *env}
  segv: {run: ["$CHILD", say, before, esay, "about to crash", segv], env: *env}
  abort: {run: ["$CHILD", esay, "giving up", abort], env: *env}
  exit255: {run: ["$CHILD", esay, bad, exit, "255"], env: *env}
  ignore_term: {run: ["$CHILD", ignore-term, sleep, "60000"], env: *env, timeout: 1500ms}
  close_stdout: {run: ["$CHILD", say, early, close, "1", sleep, "1000", say, late], env: *env}
  no_stdin: {run: ["$CHILD", sleep, "300", say, "did not read"], env: *env}
  no_stdin_hang: {run: ["$CHILD", sleep, "60000"], env: *env, timeout: 1s}
  flood: {run: ["$CHILD", flood, "$FLOOD"], env: *env, max_output: 64KiB, timeout: 60s}
  bad_bytes: {run: ["$CHILD", bytes, ff00c328e282ac1b41fe], env: *env}
  bad_stderr: {run: ["$CHILD", ebytes, ff00c3280a, exit, "1"], env: *env}
  grandchild: {run: ["$CHILD", grandchild, "60000", exit, "0"], env: *env}
  escape: {run: ["$CHILD", escape, "60000", exit, "0"], env: *env}
  fork_bomb: {run: ["$CHILD", forks, "200", "60000", sleep, "60000"], env: *env, timeout: 2s}
  missing: {run: [/nonexistent/td-missing], env: *env}
  missing_path: {run: [td-missing-$TOKEN], env: *env}
  noexec: {run: [./noexec], env: *env}
  garbage: {run: [./garbage], env: *env}
EOF

# the batch: siblings first, in the middle and last; two calls carry 8 MiB inputs
python3 - "$D/calls.json" <<'EOF'
import json, sys
big = {"s": "z" * (8 << 20)}
rows = [("e1", "echo", {"k": "v"}), ("h1", "hello", {}),
        ("segv", "segv", {}), ("abort", "abort", {}), ("exit255", "exit255", {}),
        ("ignore_term", "ignore_term", {}), ("close_stdout", "close_stdout", {}),
        ("e2", "echo", {"k": "v"}), ("h2", "hello", {}),
        ("no_stdin", "no_stdin", big), ("no_stdin_hang", "no_stdin_hang", big),
        ("flood", "flood", {}), ("bad_bytes", "bad_bytes", {}), ("bad_stderr", "bad_stderr", {}),
        ("grandchild", "grandchild", {}), ("escape", "escape", {}), ("fork_bomb", "fork_bomb", {}),
        ("missing", "missing", {}), ("missing_path", "missing_path", {}),
        ("noexec", "noexec", {}), ("garbage", "garbage", {}),
        ("e3", "echo", {"k": "v"}), ("h3", "hello", {})]
json.dump([{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in rows],
          open(sys.argv[1], "w"))
EOF

t0=$(date +%s%N)
T_ARGS="run g.yaml calls.json --report rep.json"
/usr/bin/time -f %M -o "$D/rss" "$TOOLDAG" run "$D/g.yaml" "$D/calls.json" --report "$D/rep.json" \
	>"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kb=$(tail -n 1 "$D/rss")
echo "matrix: ${ms} ms wall, $((kb / 1024)) MiB peak RSS (tooldag or its largest child)"
t_exit 0
T_COUNT=$((T_COUNT + 1))
[ "$ms" -le 30000 ] || t_fail "the batch took $ms ms"
T_COUNT=$((T_COUNT + 1))
[ "$asan" = 1 ] || [ "$((kb / 1024))" -le "$RSS_MIB" ] || t_fail "peak RSS $((kb / 1024)) MiB > $RSS_MIB"
t_err_has "FAILED: segv (segv) error, signal SIGSEGV: killed by signal 11 (SIGSEGV): about to crash"
t_err_has "tooldag: 11 of 23 calls failed"
# the daemon-like escape (setsid, then setpgid in its child) survived the call's group kill and
# was killed at the end, both processes (the leftover scan below checks they are gone)
t_err_has "tooldag: killed 2 processes that tools left running outside their call's process group"
# the FAILED: lines go to a terminal: a tool's raw stderr bytes must not (invalid UTF-8 -> '?',
# controls dropped)
t_err_has "FAILED: bad_stderr (bad_stderr) error, exit code 1: exited with code 1: ??("
T_COUNT=$((T_COUNT + 1))
python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' <"$T_TMP/err" ||
	t_fail "stderr is not UTF-8"

# Every row: id status exit_code signal message (python literal) [min_ms] [max_ms].
# exit_code / signal None: absent from the report (an exec failure has neither).
T_COUNT=$((T_COUNT + 1))
python3 - "$T_TMP/out" "$D/rep.json" "$D" "$TOKEN" $FLOOD $GRACE_MS $SLACK_MS <<'EOF' || t_fail "see above"
import json, sys
out, rep, d, token = sys.argv[1:5]
flood, grace, slack = map(int, sys.argv[5:])
res = json.loads(open(out, "rb").read().decode("utf-8"))  # strict: valid UTF-8 and JSON
report = json.load(open(rep))
half = "y" * 32768
expect = {
    # id: (status, exit_code, signal, content, timeout_ms, min_ms)
    "e1": ("ok", None, None, '{"k":"v"}', 10000, 0),
    "h1": ("ok", 0, None, "hello", 10000, 0),
    # what it printed before it crashed comes after the stderr tail
    "segv": ("error", None, 11, "killed by signal 11 (SIGSEGV): about to crash\n\nstdout:\nbefore",
             10000, 0),
    "abort": ("error", None, 6, "killed by signal 6 (SIGABRT): giving up", 10000, 0),
    "exit255": ("error", 255, None, "exited with code 255: bad", 10000, 0),
    # SIGTERM ignored: SIGKILL after the grace, so never before timeout + grace
    "ignore_term": ("timeout", None, 9, "timed out after 1.5s", 1500, 1500 + grace),
    # stdout's EOF does not end the call: the exit does, a second later
    "close_stdout": ("ok", 0, None, "early", 10000, 1000),
    "e2": ("ok", None, None, '{"k":"v"}', 10000, 0),
    "h2": ("ok", 0, None, "hello", 10000, 0),
    "no_stdin": ("ok", 0, None, "did not read", 10000, 300),
    "no_stdin_hang": ("timeout", None, 15, "timed out after 1s", 1000, 1000),
    "flood": ("ok", 0, None, half + "[\u2026 %d bytes truncated \u2026]" % (flood - 65536) + half,
              60000, 0),
    "bad_bytes": ("ok", 0, None, "\ufffd\x00\ufffd(\u20ac\x1bA\ufffd", 10000, 0),
    "bad_stderr": ("error", 1, None, "exited with code 1: \ufffd\x00\ufffd(", 10000, 0),
    "grandchild": ("ok", 0, None, None, 10000, 0),
    # its escaped grandchild holds stdout: the call ends when the grace for its EOF runs out
    "escape": ("ok", 0, None, None, 10000, grace),
    "fork_bomb": ("timeout", None, 15, "timed out after 2s", 2000, 2000),
    "missing": ("error", None, None,
                "cannot run '/nonexistent/td-missing': no such file (/nonexistent/td-missing)",
                10000, 0),
    "missing_path": ("error", None, None,
                     "cannot run 'td-missing-%s': program not found in PATH" % token, 10000, 0),
    "noexec": ("error", None, None, "cannot run './noexec': permission denied (%s/noexec)" % d,
               10000, 0),
    "garbage": ("error", None, None, "cannot run './garbage': Exec format error", 10000, 0),
    "e3": ("ok", None, None, '{"k":"v"}', 10000, 0),
    "h3": ("ok", 0, None, "hello", 10000, 0),
}
fails = 0
def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)
def short(x):
    return x[:80] + "..." if isinstance(x, str) and len(x) > 200 else x
blocks = res["content"]
calls = report["calls"]
if [b["tool_use_id"] for b in blocks] != list(expect) or [c["id"] for c in calls] != list(expect):
    fail("results or report not one per call in call order")
    sys.exit(1)
for b, c in zip(blocks, calls):
    i = b["tool_use_id"]
    status, code, sig, content, timeout, min_ms = expect[i]
    if i in ("grandchild", "escape"):  # its pid
        content = b["content"] if b["content"].strip().isdigit() else "<a pid>"
        if i == "grandchild":
            gpid = int(b["content"]) if b["content"].strip().isdigit() else 0
    got = (c["status"], c.get("exit_code"), c.get("signal"), b["content"])
    want = (status, code, sig, content)
    if got != want:
        fail("%s: got %r, want %r" % (i, tuple(map(short, got)), tuple(map(short, want))))
    if b.get("is_error", False) != (status != "ok"):
        fail("%s: is_error %r for status %s" % (i, b.get("is_error"), status))
    if status != "ok" and c.get("error") != content:
        fail("%s: report error %r" % (i, c.get("error")))
    if sig and c.get("signal_name") != "SIG" + {6: "ABRT", 9: "KILL", 11: "SEGV", 15: "TERM"}[sig]:
        fail("%s: signal_name %r" % (i, c.get("signal_name")))
    if c["attempts"] != 1:
        fail("%s: %d attempts" % (i, c["attempts"]))
    took = c["end_ms"] - c["start_ms"]
    if not (min_ms <= took <= timeout + grace + slack):
        fail("%s: took %.0f ms, want %d..%d" % (i, took, min_ms, timeout + grace + slack))
    if c.get("truncated") != (i == "flood"):
        fail("%s: truncated %r" % (i, c.get("truncated")))
# the grandchild was killed with its parent: gone, or a zombie not yet reaped by init
try:
    state = [l for l in open("/proc/%d/status" % gpid) if l.startswith("State:")][0]
    if "Z" not in state:
        fail("the grandchild %d outlived the call: %s" % (gpid, state.strip()))
except FileNotFoundError:
    pass
# escaping in the text itself: NUL and ESC as \u escapes, U+FFFD as UTF-8 (README, Results)
raw = open(out, "rb").read()
if b'"content":"\xef\xbf\xbd\\u0000\xef\xbf\xbd(\xe2\x82\xac\\u001bA\xef\xbf\xbd"' not in raw:
    fail("bad_bytes not escaped as documented")
sys.exit(1 if fails else 0)
EOF

left=$(leftovers "$TOKEN")
T_COUNT=$((T_COUNT + 1))
[ -z "$left" ] || t_fail "processes left running: $(echo $left) ($(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo; done))"
for p in $left; do kill -9 "$p" 2>/dev/null; done

# the escape alone (its stdout closed first, so the call ends at once): killed with -q and with
# --progress=json too, where stderr stays empty / JSON lines only
cat >"$D/esc.yaml" <<EOF
version: 1
tools:
  escape: {run: ["$CHILD", close, "1", close, "2", escape, "60000", exit, "0"], env: {TD_MISBEHAVE: "$TOKEN-esc"}}
calls:
  - {id: x1, tool: escape, input: {}}
EOF
t_run run -q "$D/esc.yaml"
t_exit 0
t_err_empty
left=$(leftovers "$TOKEN-esc")
T_COUNT=$((T_COUNT + 1))
[ -z "$left" ] || t_fail "-q: processes left running: $(echo $left)"
t_run run --progress=json "$D/esc.yaml"
t_exit 0
T_COUNT=$((T_COUNT + 1))
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$T_TMP/err" ||
	t_fail "--progress=json: stderr is not JSON lines"
left=$(leftovers "$TOKEN-esc")
T_COUNT=$((T_COUNT + 1))
[ -z "$left" ] || t_fail "--progress=json: processes left running: $(echo $left)"
for p in $left; do kill -9 "$p" 2>/dev/null; done

# invalid UTF-8 and NUL bytes in the other dialects: valid JSON, the same text
printf '[{"id":"c1","type":"function","function":{"name":"bad_bytes","arguments":"{}"}}]' >"$D/o.json"
printf '[{"type":"function_call","call_id":"c1","name":"bad_bytes","arguments":"{}"}]' >"$D/r.json"
t_run run "$D/g.yaml" "$D/o.json"
t_exit 0; t_json 'd[0]["content"] == "\ufffd\x00\ufffd(\u20ac\x1bA\ufffd"'
t_run run "$D/g.yaml" "$D/r.json"
t_exit 0; t_json 'd[0]["output"] == "\ufffd\x00\ufffd(\u20ac\x1bA\ufffd"'

t_done
