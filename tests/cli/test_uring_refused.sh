#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_uring_refused.sh - io_uring refused by the kernel, for real: tests/helpers/noring
# installs a seccomp filter that makes io_uring_setup (and _enter, _register) fail with EPERM
# or ENOSYS, as a container's profile does, then execs tooldag. `run` must go on the epoll loop
# with one line saying why (none with -q), and give the same results; forced onto io_uring
# (TOOLDAG_BACKEND=uring) it must print one line naming the cause and exit 4 (README "Exit
# codes") before any tool starts; `check`, `plan`, `tools` and `dot` need no loop and must work
# unchanged. The harness itself is checked first (--probe): without it a test that "passes"
# might only show that the filter did nothing.
. "$(dirname "$0")/lib.sh"
TD_BIN=${TD_BIN:?TD_BIN must name the build directory}
NORING="$TD_BIN/tests/noring"
[ -x "$NORING" ] || { echo "skip: $NORING is not built"; exit 77; }

# the harness: the filter installs (else skip, saying why) and io_uring_setup fails as asked
for e in EPERM ENOSYS; do
	T_ARGS="(noring $e --probe)"
	"$NORING" $e --probe >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	if [ "$T_RC" = 77 ]; then
		echo "skip: $(cat "$T_TMP/err")"
		exit 77
	fi
	t_exit 0; t_out_has "io_uring_setup failed with $e"
done
# the kernel itself must allow io_uring, or every run would be refused anyway
sysctl=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)
[ "$sysctl" = 0 ] || { echo "skip: kernel.io_uring_disabled=$sysctl refuses io_uring already"; exit 77; }

G=$T_TMP/g.yaml
cat >"$G" <<EOF
version: 1
tools:
  a: {run: [touch, "$T_TMP/ran"]}
  b: {builtin: echo, depends_on: [a]}
calls:
  - {id: c1, tool: a, input: {}}
  - {id: c2, tool: b, input: {x: 1}}
EOF

# without the filter the graph runs on io_uring: the fallback below is the filter's doing
unset TOOLDAG_BACKEND
t_run run "$G"
t_exit 0; t_json 'd["content"][1]["content"] == "{\"x\":1}"'; t_err_empty
cp "$T_TMP/out" "$T_TMP/ring.out"
rm -f "$T_TMP/ran"

# n_run ERRNO ARGS...: tooldag ARGS under the filter, stdin from $N_IN
N_IN=/dev/null
n_run() {
	local e=$1
	shift
	T_ARGS="(noring $e) $*"
	"$NORING" "$e" "$TOOLDAG" "$@" <"$N_IN" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
}
# one_line WANT: stderr is exactly that line
one_line() {
	T_COUNT=$((T_COUNT + 1))
	[ "$(cat "$T_TMP/err")" = "$1" ] || t_fail "want exactly one line: '$1'"
}
why="tooldag: io_uring is disabled (kernel.io_uring_disabled sysctl, or a seccomp filter in this container): io_uring_setup failed with"
for e in EPERM ENOSYS; do
	case $e in
	EPERM) text="Operation not permitted" ;;
	ENOSYS) text="Function not implemented" ;;
	esac
	# automatic: epoll, one line, the same results
	n_run $e run "$G"
	t_exit 0; one_line "tooldag: io_uring refused by the kernel ($text): running on epoll"
	T_COUNT=$((T_COUNT + 1))
	cmp -s "$T_TMP/out" "$T_TMP/ring.out" || t_fail "results differ from the io_uring run's"
	T_COUNT=$((T_COUNT + 1))
	[ -e "$T_TMP/ran" ] || t_fail "the process tool did not run on epoll"
	rm -f "$T_TMP/ran"
	n_run $e run -q "$G"
	t_exit 0; t_err_empty
	rm -f "$T_TMP/ran"
	n_run $e --version
	t_exit 0; t_out_has "event loop: epoll (io_uring is disabled"
	# forced onto io_uring: refused, one line, nothing runs
	export TOOLDAG_BACKEND=uring
	n_run $e run "$G"
	t_exit 4; t_out_empty
	one_line "$why $e"
	T_COUNT=$((T_COUNT + 1))
	[ ! -e "$T_TMP/ran" ] || t_fail "a tool ran although the run could not start"
	# a batch on stdin, a report asked for: the same line, no report written
	printf '[{"type":"tool_use","id":"x","name":"b","input":{}}]' >"$T_TMP/calls.json"
	N_IN=$T_TMP/calls.json n_run $e run --report "$T_TMP/rep.json" "$G" -
	t_exit 4; t_err_has "$why $e"
	# the commands that plan without running need no loop
	n_run $e check "$G"
	t_exit 0; t_out_has "ok, 2 tools, 2 calls in 2 levels"
	n_run $e plan --json "$G"
	t_exit 0; t_json 'd["levels"] == [["c1"], ["c2"]]'
	n_run $e tools "$G"
	t_exit 0; t_json '[t["name"] for t in d] == ["a", "b"]'
	n_run $e dot "$G"
	t_exit 0; t_out_has "digraph"
	unset TOOLDAG_BACKEND
done

t_done
