#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_ci_skips.sh - CI's check on skipped tests (.ci/skips.py) against a real ctest run of a
# small project: a test that skips saying why passes the check, one that skips silently fails
# it, and a run without skips passes.
. "$(dirname "$0")/lib.sh"

proj="$T_TMP/proj"
mkdir -p "$proj"
cat >"$proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(skips NONE)
enable_testing()
add_test(NAME passes COMMAND bash -c "echo fine")
add_test(NAME says_why COMMAND bash -c "echo 'skip: the kernel has no seccomp'; exit 77")
add_test(NAME silent COMMAND bash -c "echo 'usage: x'; exit 77")
set_tests_properties(says_why silent PROPERTIES SKIP_RETURN_CODE 77)
CM
cmake -S "$proj" -B "$proj/b" >/dev/null 2>&1 || { echo "FAIL: cannot configure"; exit 1; }

check() { # check REGEX: run ctest on the tests matching REGEX, then skips.py
	ctest --test-dir "$proj/b" -R "$1" >"$T_TMP/console" 2>&1
	T_ARGS="skips.py ($1)"
	/usr/bin/python3 "$TD_SRC/.ci/skips.py" "$T_TMP/console" "$proj/b" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
}

check '^(passes|says_why)$'
t_exit 0
t_out_has "ci: says_why skipped: skip: the kernel has no seccomp"
check '^(passes|silent)$'
t_exit 1
t_out_has "ci: silent was skipped without printing a reason"
check '^passes$'
t_exit 0
t_out_empty
t_done
