#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_limits.sh - `limits: {cpu, memory, nofile, procs}` end to end: each limit binds on a
# tool that has it and not on the same tool without it, defaults merge per key, the result
# and the report say what happened; `procs` as an unprivileged user (RLIMIT_NPROC is per real
# user id and not enforced for root), through setpriv when we are root. Loader errors have
# fixtures in graphs/invalid/*limits* (test_check_invalid.sh runs them); a few more here.
source "$(dirname "$0")/lib.sh"
: "${TD_BIN:?TD_BIN must name the build directory}"
CHILD="$TD_BIN/tests/td_child"

# td_child built with ASan reserves terabytes of address space: dd allocates its block instead
if grep -qa __asan_init "$CHILD"; then
	ALLOC='[dd, if=/dev/zero, of=/dev/null, count=1, bs=134217728]'
	ALLOC_FAIL='memory exhausted'
else
	ALLOC="[\"$CHILD\", alloc, \"134217728\"]"
	ALLOC_FAIL='exited with code 3: alloc failed'
fi

cat >"$T_TMP/g.yaml" <<EOF
version: 1
defaults:
  timeout: 120s      # CPU seconds may take many wall seconds on a busy machine
  limits: {cpu: 1s, nofile: 16}
tools:
  spin:
    run: ["$CHILD", spin, "30"]
  spin_free:
    run: ["$CHILD", spin, "1.2"]
    limits: {cpu: unlimited}
  alloc:
    run: $ALLOC
    limits: {memory: 32MiB}
  alloc_free:
    run: $ALLOC
  files:
    run: ["$CHILD", open-files]
  files_free:
    run: ["$CHILD", open-files]
    limits: {nofile: 300}
  wait:
    builtin: sleep
calls:
  - {id: c_spin, tool: spin}
  - {id: c_spin_free, tool: spin_free}
  - {id: c_alloc, tool: alloc}
  - {id: c_alloc_free, tool: alloc_free}
  - {id: c_files, tool: files}
  - {id: c_files_free, tool: files_free}
  - {id: c_wait, tool: wait, input: {ms: 1}}
EOF

t_run check "$T_TMP/g.yaml"
t_exit 0
t_out_has "ok, 7 tools"

t_run run "$T_TMP/g.yaml" --report "$T_TMP/report.json"
t_exit 0
C='d["content"]'
t_json "$C[0]['content'] == 'exceeded its cpu limit of 1s: killed by signal 24 (SIGXCPU)'"
t_json "$C[0].get('is_error') is True"
t_json "$C[1]['content'] == 'spun\n' and 'is_error' not in $C[1]"
t_json "'$ALLOC_FAIL' in $C[2]['content'] and $C[2].get('is_error') is True"
t_json "'is_error' not in $C[3]"
t_json "$C[4]['content'] == '13\n'"
t_json "$C[5]['content'] == '297\n'"
t_json "$C[6]['content'] == 'slept 1ms'"
cp "$T_TMP/out" "$T_TMP/results.json"
# the same results when exits are polled for instead of watched through pidfds
T_COUNT=$((T_COUNT + 1))
TD_TEST_NO_PIDFD=1 "$TOOLDAG" run "$T_TMP/g.yaml" >"$T_TMP/nopidfd.json" 2>/dev/null
cmp -s "$T_TMP/results.json" "$T_TMP/nopidfd.json" || t_fail "TD_TEST_NO_PIDFD=1 gives other results"
# the report agrees with the result
cp "$T_TMP/report.json" "$T_TMP/out"
t_json "d['calls'][0]['status'] == 'error' and d['calls'][0]['signal'] == 24"
t_json "d['calls'][0]['signal_name'] == 'SIGXCPU' and 'exit_code' not in d['calls'][0]"
t_json "d['calls'][0]['error'].startswith('exceeded its cpu limit of 1s')"
t_json "d['calls'][2]['status'] == 'error' and d['calls'][3]['status'] == 'ok'"

# a limit on a tool that starts no process is refused, with its position
printf 'version: 1\ntools:\n  w: {builtin: sleep, limits: {cpu: 1s}}\n' >"$T_TMP/bad.yaml"
t_run check "$T_TMP/bad.yaml"
t_exit 2
t_err_has "bad.yaml:3:23: 'limits' applies to run: tools only"

# ---- procs: as nobody ----
cat >"$T_TMP/procs.yaml" <<EOF
version: 1
tools:
  forker:
    run: ["$CHILD", fork, "10"]
    limits: {procs: 4}
  forker_free:
    run: ["$CHILD", fork, "10"]
    depends_on: [forker]
calls:
  - {id: limited, tool: forker}
  - {id: free, tool: forker_free}
EOF
chmod 755 "$T_TMP"
chmod 644 "$T_TMP/procs.yaml"
if [ "$(id -u)" -eq 0 ]; then
	if ! command -v setpriv >/dev/null ||
		! setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		echo "skip: procs needs an unprivileged user and setpriv cannot switch to 65534"
		t_done
		exit $(( T_FAILS ? 1 : 77 ))
	fi
	AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	if ! "${AS_USER[@]}" test -x "$CHILD" || ! "${AS_USER[@]}" test -x "$TOOLDAG"; then
		echo "skip: user 65534 cannot execute $CHILD or $TOOLDAG"
		t_done
		exit $(( T_FAILS ? 1 : 77 ))
	fi
else
	AS_USER=()
fi
T_ARGS="run procs.yaml (as uid 65534)"
"${AS_USER[@]}" "$TOOLDAG" run "$T_TMP/procs.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
if [ "$T_RC" -eq 4 ] && grep -q io_uring "$T_TMP/err"; then
	echo "skip: io_uring is refused to user 65534: $(cat "$T_TMP/err")"
	t_done
	exit $(( T_FAILS ? 1 : 77 ))
fi
t_exit 0
# RLIMIT_NPROC counts all of the user's processes: tooldag and the child are 2 of the 4, so
# at most 2 forks succeed (fewer if other processes of that user run), all 10 without it
t_json "int($C[0]['content']) <= 2"
t_json "$C[1]['content'] == '10\n'"

t_done
