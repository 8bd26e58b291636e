#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_valgrind.sh - valgrind memcheck of the command on the graphs/ examples: no error, no
# leak (--leak-check=full --error-exitcode=1), and the same results as without valgrind.
# valgrind 3.19 has no pidfd_open, so this also runs the backend's polling path for exits
# end to end. Skips (77) without valgrind, or when the command is built with a sanitizer
# (their runtimes and valgrind exclude each other).
source "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || { echo "skip: valgrind is not installed"; exit 77; }
if grep -qaE '__asan_init|__tsan_init|__msan_init' "$TOOLDAG"; then
	echo "skip: $TOOLDAG is built with a sanitizer"
	exit 77
fi
if [ ! -x "$TD_SRC/graphs/tools/bin/travel" ]; then
	echo "skip: the example tool program is not built ($TD_SRC/graphs/tools/bin/travel)"
	exit 77
fi

VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,possible --error-exitcode=99
	--log-file="$T_TMP/vg.log")

# vg_same ARGS...: tooldag ARGS under valgrind: exit as without it, clean, the same stdout.
vg_same() {
	T_COUNT=$((T_COUNT + 1))
	T_ARGS="$* (under valgrind)"
	"$TOOLDAG" "$@" >"$T_TMP/want" 2>/dev/null
	local want_rc=$?
	"${VG[@]}" "$TOOLDAG" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	# valgrind's own notes (--PID-- lines) are not errors: the unhandled pidfd_open is one
	grep -v '^--[0-9]*-- ' "$T_TMP/vg.log" >"$T_TMP/vg.errors"
	if [ "$T_RC" -ne "$want_rc" ] || [ -s "$T_TMP/vg.errors" ]; then
		t_fail "exit $T_RC (want $want_rc); valgrind says: $(head -c 3000 "$T_TMP/vg.errors")"
	elif ! cmp -s "$T_TMP/want" "$T_TMP/out"; then
		t_fail "stdout differs from the run without valgrind"
	fi
}

G="$TD_SRC/graphs"
vg_same check "$G/travel.yaml"
vg_same tools --dialect openai "$G/travel.yaml"
vg_same plan "$G/travel.yaml" "$G/calls/travel.openai.json"
vg_same run "$G/travel.yaml"
vg_same run "$G/travel.yaml" "$G/calls/travel.anthropic.json"
vg_same run "$G/travel.yaml" "$G/calls/travel.responses.json"
vg_same run --schedule eager "$G/pipeline.yaml"
vg_same check "$G/invalid/many-errors.yaml"

# the limits path (clone child) and a timeout under valgrind. Not nofile: valgrind lets a
# program change only its soft descriptor limit, so setrlimit fails in the child. Not an exec
# failure: valgrind runs vfork-style children as forks, so the child's error record is not
# shared and such a failure shows as "exited with code 127" (posix_spawn's too).
CHILD="$TD_BIN/tests/td_child"
cat >"$T_TMP/g.yaml" <<EOF
version: 1
tools:
  limited:
    run: ["$CHILD", say, ok]
    limits: {cpu: 5s, memory: 1GiB}
  slow:
    run: ["$CHILD", sleep, "5000"]
    timeout: 300ms
calls:
  - {id: a, tool: limited}
  - {id: b, tool: slow}
EOF
vg_same run "$T_TMP/g.yaml"
t_out_has '"content":"ok"'
t_out_has '"content":"timed out after 300ms"'

t_done
