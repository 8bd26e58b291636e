#!/usr/bin/env bash
# Tests .ci/check_layers.sh on small trees built in a temporary folder: a tree that keeps the
# rules passes; each kind of violation fails with a line naming the file.
set -euo pipefail
check=$(cd "$(dirname "$0")" && pwd)/check_layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# A tree with src/{util,load,calls,cli}, include/ and tests/ that keeps every rule.
good_tree() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t"/{src/util,src/load,src/calls,src/cli,include,tests/fuzz/corpus/x}
	cd "$tmp/t"
	echo '#include "tooldag.h"' >src/util/util.h
	printf '#include "util/util.h"\n#include <stdio.h>\n' >src/load/graph.h
	printf '#include "load/graph.h"\n#include "batch.h"\n' >src/calls/batch.c
	printf '#include "../load/graph.h"\n' >src/calls/rel.c
	printf '#include "cli.h"\n#include "tooldag.h"\n' >src/cli/main.c
	seq 1000 >tests/long_enough.c
	seq 5000 >tests/fuzz/corpus/x/big
	cd - >/dev/null
}

# expect PASS|FAIL WHAT-THE-OUTPUT-MUST-SAY NAME
expect() {
	local want=$1 grep_for=$2 name=$3 out rc=0
	out=$("$check" "$tmp/t" 2>&1) || rc=$?
	if { [ "$want" = PASS ] && [ $rc -ne 0 ]; } || { [ "$want" = FAIL ] && [ $rc -ne 1 ]; } ||
		! grep -qF -- "$grep_for" <<<"$out"; then
		echo "FAIL: $name (exit $rc):"
		echo "$out" | sed 's/^/  | /'
		failures=$((failures + 1))
	else
		echo "ok: $name"
	fi
}

good_tree
expect PASS "check_layers: every folder" "a tree that keeps the rules"

good_tree
echo '#include "calls/batch.h"' >>"$tmp/t/src/load/graph.h"
expect FAIL "src/load/graph.h:3: load includes calls/batch.h" "a folder including one above it"

good_tree
echo '#include "../calls/batch.h"' >>"$tmp/t/src/load/graph.h"
expect FAIL "src/load/graph.h:3: load includes ../calls/batch.h" "the same through a relative path"

good_tree
echo '#  include <calls/batch.h>' >>"$tmp/t/src/util/util.h"
expect FAIL "src/util/util.h:2: util includes calls/batch.h" "angle brackets and spaces"

good_tree
echo '#include "load/graph.h"' >>"$tmp/t/src/cli/main.c"
expect FAIL "src/cli/main.c:3: cli includes load/graph.h" "the command reaching past the public header"

good_tree
mkdir "$tmp/t/src/extra" && echo 'int x;' >"$tmp/t/src/extra/x.c"
expect FAIL "src/extra/: not in the layer table" "a folder without a place"

good_tree
seq 1001 >"$tmp/t/tests/long_enough.c"
expect FAIL "tests/long_enough.c: 1001 lines" "a file over 1,000 lines"

good_tree
seq 1001 >"$tmp/t/include/big.h"
expect FAIL "include/big.h: 1001 lines" "a header over 1,000 lines"

if [ $failures -ne 0 ]; then
	echo "check_layers_test: $failures failed"
	exit 1
fi
echo "check_layers_test: all passed"
