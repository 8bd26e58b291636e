#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_no_history.sh - the public header, the sources and the READMEs describe the product:
# no note in them points at an issue number (what changed and why belongs in git log).
. "$(dirname "$0")/lib.sh"

T_ARGS="(grep for issue numbers)"
T_RC=0
grep -rnE '[Ii]ssue #?[0-9]+' "$TD_SRC/include" "$TD_SRC/src" "$TD_SRC/README.md" \
	"$TD_SRC/tests/README.md" >"$T_TMP/out" 2>"$T_TMP/err"
T_COUNT=$((T_COUNT + 1))
[ ! -s "$T_TMP/out" ] || t_fail "notes that refer to issues"
t_done
