#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_run.sh - `tooldag run` end to end with the controllable child (tests/helpers/td_child):
# results per dialect, level barrier from the report, limits, timeouts, output cap, dependency
# failure, --fail-on-error, cancellation by SIGINT (exit 130, complete results), io_uring
# refused, a loop that fails or stalls (exit 4), nothing left behind.
set -u

TOOLDAG=${TOOLDAG:?TOOLDAG must name the tooldag command}
TD_BIN=${TD_BIN:?TD_BIN must name the build directory}
CHILD="$TD_BIN/tests/td_child"

command -v jq >/dev/null || { echo "skip: jq is needed to read the report"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"
}

cat >"$T/g.yaml" <<EOF
version: 1
concurrency: 8
tools:
  weather:
    run: ["$CHILD", say, "18C clear", touch, "$T/weather.done"]
  pollen:
    run: ["$CHILD", cat]
    depends_on: [weather]
    stdin: envelope
  slow:
    run: ["$CHILD", sleep, "300", touch, "$T/slow.done"]
  flaky:
    run: ["$CHILD", esay, "boom", exit, "3"]
  hang:
    run: ["$CHILD", ignore-term, touch, "$T/hang.started", sleep, "20000"]
    timeout: 1500ms
  flood:
    run: ["$CHILD", print, "5000000"]
    max_output: 1KiB
  after_flaky:
    run: ["$CHILD", say, "never"]
    depends_on: [flaky]
  wait:
    builtin: sleep
EOF

# ---- results in each dialect, call order, envelope ----
cat >"$T/a.json" <<'EOF'
[{"type":"tool_use","id":"toolu_02","name":"pollen","input":{"city":"Paris"}},
 {"type":"tool_use","id":"toolu_01","name":"weather","input":{"city":"Paris"}}]
EOF
out=$("$TOOLDAG" run "$T/g.yaml" "$T/a.json")
expect_eq "run exit" "$?" 0
expect_eq "anthropic results" "$out" '{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_02","content":"{\"id\":\"toolu_02\",\"name\":\"pollen\",\"input\":{\"city\":\"Paris\"},\"upstream\":[{\"id\":\"toolu_01\",\"name\":\"weather\",\"content\":\"18C clear\",\"is_error\":false}]}"},{"type":"tool_result","tool_use_id":"toolu_01","content":"18C clear"}]}'

cat >"$T/o.json" <<'EOF'
[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}},
 {"id":"call_2","type":"function","function":{"name":"flaky","arguments":"{}"}}]
EOF
out=$("$TOOLDAG" run "$T/g.yaml" "$T/o.json")
expect_eq "openai exit" "$?" 0
expect_eq "openai results" "$(echo "$out" | jq -c .)" '[{"role":"tool","tool_call_id":"call_1","content":"18C clear"},{"role":"tool","tool_call_id":"call_2","content":"exited with code 3: boom"}]'

cat >"$T/r.json" <<'EOF'
[{"type":"function_call","call_id":"fc_1","name":"weather","arguments":"{}"},
 {"type":"function_call","call_id":"fc_2","name":"nope","arguments":"{}"}]
EOF
out=$("$TOOLDAG" run "$T/g.yaml" "$T/r.json")
expect_eq "responses exit" "$?" 0
expect_eq "responses first" "$(echo "$out" | jq -c '.[0]')" '{"type":"function_call_output","call_id":"fc_1","output":"18C clear"}'
echo "$out" | jq -r '.[1].output' | grep -q "unknown tool 'nope'" || fail "call-level error result: $out"

# identical outcomes, identical bytes
a=$("$TOOLDAG" run "$T/g.yaml" "$T/a.json")
b=$("$TOOLDAG" run "$T/g.yaml" "$T/a.json" -j 1)
expect_eq "deterministic bytes" "$a" "$b"

# ---- errors, dependency failure, timeouts, cap; report ----
cat >"$T/mix.json" <<'EOF'
[{"type":"tool_use","id":"f1","name":"flaky","input":{}},
 {"type":"tool_use","id":"a1","name":"after_flaky","input":{}},
 {"type":"tool_use","id":"h1","name":"hang","input":{}},
 {"type":"tool_use","id":"x1","name":"flood","input":{}}]
EOF
out=$("$TOOLDAG" run "$T/g.yaml" "$T/mix.json" --report "$T/rep.json")
expect_eq "mixed exit" "$?" 0
expect_eq "skip message" "$(echo "$out" | jq -r '.content[1].content')" "skipped: dependency flaky (f1) failed"
expect_eq "skip is_error" "$(echo "$out" | jq -r '.content[1].is_error')" "true"
expect_eq "timeout message" "$(echo "$out" | jq -r '.content[2].content')" "timed out after 1.5s"
echo "$out" | jq -r '.content[3].content' | grep -q "bytes truncated" || fail "no truncation marker"
expect_eq "report statuses" "$(jq -c '[.calls[].status]' "$T/rep.json")" '["error","skipped","timeout","ok"]'
expect_eq "report exit code" "$(jq -c '.calls[0].exit_code' "$T/rep.json")" 3
expect_eq "report truncated" "$(jq -c '.calls[3].truncated' "$T/rep.json")" true
expect_eq "report signal" "$(jq -c '.calls[2].signal' "$T/rep.json")" 9
# the SIGTERM-ignoring child got SIGKILL after the 2s default grace, and not much later
# (the 1.5s deadline leaves a slow, sanitized child time to ignore SIGTERM first)
d=$(jq '.calls[2].end_ms - .calls[2].start_ms' "$T/rep.json")
jq -e -n "$d >= 3500 and $d < 6000" >/dev/null || fail "timeout + grace took ${d}ms"

"$TOOLDAG" run "$T/g.yaml" "$T/mix.json" --fail-on-error >/dev/null
expect_eq "--fail-on-error" "$?" 3

# ---- level barrier and limits from the report's timestamps ----
{
	printf '['
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf '{"type":"tool_use","id":"s%d","name":"wait","input":{"ms":%d}},' "$i" $((20 + i * 5))
	done
	printf '{"type":"tool_use","id":"w1","name":"weather","input":{}},'
	printf '{"type":"tool_use","id":"p1","name":"pollen","input":{}}]'
} >"$T/lv.json"
"$TOOLDAG" run "$T/g.yaml" "$T/lv.json" -j 4 --report "$T/lv.rep" >/dev/null
expect_eq "levels exit" "$?" 0
# level 1 (p1) starts after every level-0 call ended
jq -e '([.calls[] | select(.level == 0) | .end_ms] | max) <= ([.calls[] | select(.level == 1) | .start_ms] | min)' "$T/lv.rep" >/dev/null || fail "level barrier broken"
# never more than 4 in flight
jq -e '[.calls[] as $c | [.calls[] | select(.start_ms <= $c.start_ms and .end_ms > $c.start_ms)] | length] | max <= 4' "$T/lv.rep" >/dev/null || fail "concurrency 4 exceeded"

# ---- cancellation: SIGINT -> every running group killed, complete results, 130 ----
. "$(dirname "$0")/int_default.sh"
cat >"$T/c.json" <<'EOF'
[{"type":"tool_use","id":"c1","name":"hang","input":{}},
 {"type":"tool_use","id":"c2","name":"slow","input":{}},
 {"type":"tool_use","id":"c3","name":"weather","input":{}},
 {"type":"tool_use","id":"c4","name":"pollen","input":{}}]
EOF
sed 's/timeout: 1500ms/timeout: 60s/' "$T/g.yaml" >"$T/g2.yaml"
rm -f "$T/weather.done" "$T/slow.done"
int_default "$TOOLDAG" run "$T/g2.yaml" "$T/c.json" >"$T/c.out" &
pid=$!
# interrupt once c2 and c3 are done (their children got that far), the others still running
for _ in $(seq 1 200); do
	[ -e "$T/weather.done" ] && [ -e "$T/slow.done" ] && break
	sleep 0.05
done
sleep 1
kill -INT "$pid"
wait "$pid"
expect_eq "cancel exit" "$?" 130
# c1 (60s) and c4 (level 1, behind c1) were unfinished: cancelled. c2 and c3 had finished on
# any sane machine; on a badly overloaded one their exits may not have been seen yet.
expect_eq "cancel results" "$(jq -c '[.content[0].content, .content[3].content]' "$T/c.out")" '["cancelled","cancelled"]'
jq -e '(.content[1].content == "" or .content[1].content == "cancelled") and
       (.content[2].content == "18C clear" or .content[2].content == "cancelled")' "$T/c.out" >/dev/null ||
	fail "finished calls lost their results: $(cat "$T/c.out")"
# by this script's own path: test_misbehave.sh runs td_child ignore-term too, maybe right now
pgrep -f "$CHILD ignore-term touch $T/hang.started" >/dev/null &&
	fail "a cancelled child is still running"

# ---- SIGHUP (the terminal went away) cancels like SIGINT; --progress=json keeps stderr JSON ----
printf '[{"type":"tool_use","id":"h1","name":"hang","input":{}}]' >"$T/h.json"
rm -f "$T/hang.started" "$T/h.rep"
"$TOOLDAG" run --progress=json --report "$T/h.rep" "$T/g2.yaml" "$T/h.json" >"$T/h.out" 2>"$T/h.err" &
pid=$!
for _ in $(seq 1 200); do [ -e "$T/hang.started" ] && break; sleep 0.05; done
kill -HUP "$pid"
wait "$pid"
expect_eq "SIGHUP exit" "$?" 130
expect_eq "SIGHUP result" "$(jq -c '.content[0].content' "$T/h.out")" '"cancelled"'
expect_eq "SIGHUP report" "$(jq -c '[.calls[].status]' "$T/h.rep")" '["cancelled"]'
jq -e . "$T/h.err" >/dev/null || fail "stderr is not JSON lines only: $(cat "$T/h.err")"
grep -q '"status":"cancelled"' "$T/h.err" || fail "no cancelled event on stderr: $(cat "$T/h.err")"
pgrep -f "$CHILD ignore-term touch $T/hang.started" >/dev/null &&
	fail "a child outlived the SIGHUP"
# under nohup (SIGHUP ignored), or as a script's background job (SIGINT ignored), those
# signals are not for us: the run goes on to its end
rm -f "$T/hang.started"
(trap '' HUP INT; exec "$TOOLDAG" run "$T/g.yaml" "$T/h.json" >"$T/h.out" 2>"$T/h.err") &
pid=$!
for _ in $(seq 1 200); do [ -e "$T/hang.started" ] && break; sleep 0.05; done
kill -HUP "$pid"
kill -INT "$pid"
wait "$pid"
expect_eq "ignored SIGHUP exit" "$?" 0
expect_eq "ignored SIGHUP result" "$(jq -c '.content[0].content' "$T/h.out")" '"timed out after 1.5s"'

# ---- --report is opened before anything runs ----
rm -f "$T/hang.started"
err=$(timeout 20 "$TOOLDAG" run --report "$T/no/such/dir/r.json" "$T/g2.yaml" "$T/h.json" 2>&1 >/dev/null)
expect_eq "unwritable report exit" "$?" 4
expect_eq "unwritable report message" "$err" "tooldag: cannot write the report to '$T/no/such/dir/r.json': No such file or directory"
[ -e "$T/hang.started" ] && fail "a tool ran although the report could not be written"
timeout 20 "$TOOLDAG" run --report - "$T/g2.yaml" "$T/h.json" >/dev/null 2>&1
expect_eq "--report - exit" "$?" 1
[ -e "$T/hang.started" ] && fail "a tool ran with --report -"

# ---- io_uring refused: on epoll with one line saying why; forced, one clear line, exit 4 ----
# (TOOLDAG_BACKEND as the test pass set it does not apply: these need the automatic choice)
err=$(env -u TOOLDAG_BACKEND TD_TEST_URING_FAIL=EPERM "$TOOLDAG" run "$T/g.yaml" "$T/a.json" 2>&1 >"$T/epoll.out")
expect_eq "io_uring refused, on epoll: exit" "$?" 0
expect_eq "io_uring refused, on epoll: why" "$err" "tooldag: io_uring refused by the kernel (Operation not permitted): running on epoll"
env -u TOOLDAG_BACKEND "$TOOLDAG" run -q "$T/g.yaml" "$T/a.json" >"$T/uring.out" 2>/dev/null
cmp -s "$T/epoll.out" "$T/uring.out" || fail "results on epoll differ from io_uring's"
err=$(env -u TOOLDAG_BACKEND TD_TEST_URING_FAIL=EPERM "$TOOLDAG" run -q "$T/g.yaml" "$T/a.json" 2>&1 >/dev/null)
expect_eq "io_uring refused, -q: silent" "$err" ""
err=$(TOOLDAG_BACKEND=epoll "$TOOLDAG" run "$T/g.yaml" "$T/a.json" 2>&1 >/dev/null)
expect_eq "epoll asked for: silent" "$err" ""
err=$(TOOLDAG_BACKEND=uring TD_TEST_URING_FAIL=EPERM "$TOOLDAG" run "$T/g.yaml" "$T/a.json" 2>&1 >/dev/null)
expect_eq "io_uring forced and refused exit" "$?" 4
echo "$err" | grep -q "io_uring is disabled" || fail "io_uring refusal message: $err"
expect_eq "io_uring refused: one line" "$(echo "$err" | wc -l)" 1
err=$(TOOLDAG_BACKEND=bogus "$TOOLDAG" run "$T/g.yaml" "$T/a.json" 2>&1 >/dev/null)
expect_eq "bad TOOLDAG_BACKEND exit" "$?" 4
expect_eq "bad TOOLDAG_BACKEND message" "$err" "tooldag: TOOLDAG_BACKEND='bogus': expected 'uring' or 'epoll'"
out=$(TD_TEST_URING_FAIL=ENOSYS "$TOOLDAG" --version)
echo "$out" | grep -q "^event loop: epoll (io_uring is disabled" || fail "--version where io_uring is refused: $out"
out=$("$TOOLDAG" --version)
if [ -n "${TD_NORING:-}" ]; then # this pass runs under a seccomp filter refusing io_uring
	echo "$out" | grep -q "^event loop: epoll (io_uring is disabled" || fail "--version under the filter: $out"
else
	echo "$out" | grep -q "^event loop: io_uring" || fail "--version: $out"
fi

# ---- the loop fails or stalls mid-run: said on stderr, exit 4, no results ----
printf '[{"type":"tool_use","id":"w1","name":"wait","input":{"ms":2000}}]' >"$T/w.json"
for how in step stall; do
	start=$(date +%s)
	err=$(TD_TEST_DRIVE_FAIL=$how timeout 20 "$TOOLDAG" run "$T/g.yaml" "$T/w.json" 2>&1 >"$T/w.out")
	expect_eq "loop fails ($how) exit" "$?" 4
	[ -s "$T/w.out" ] && fail "loop fails ($how): results printed: $(cat "$T/w.out")"
	[ "$how" = step ] || [ $(($(date +%s) - start)) -lt 2 ] ||
		fail "loop fails ($how): waited for the call"
	case $how in
	step) want="tooldag: the run failed: td_run_step: Input/output error" ;;
	stall) want="tooldag: the run stalled: calls remain but nothing can finish them" ;;
	esac
	expect_eq "loop fails ($how) message" "$err" "$want"
done

# ---- the example graphs ----
if [ -n "${TD_SRC:-}" ] && [ -f "$TD_SRC/graphs/travel.yaml" ]; then
	out=$("$TOOLDAG" run "$TD_SRC/graphs/travel.yaml")
	expect_eq "travel exit" "$?" 0
	expect_eq "travel results" "$(echo "$out" | jq '.content | length')" 8
fi

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
