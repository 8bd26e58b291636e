#!/usr/bin/env bash
# million.sh - run by hand (too slow for CTest): a million calls through `tooldag plan`, once
# independent and once with half of them after the other half (a tool-level dependency),
# printing wall time, CPU time and peak RSS of each. Figures in tests/README.md.
#   TOOLDAG=build/tooldag bash tests/cli/million.sh [COUNT]
set -eu
: "${TOOLDAG:?TOOLDAG must point to the built tooldag command}"
n=${1:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'version: 1\ntools:\n  a: {builtin: echo, input_schema: {type: object, properties: {n: {type: integer}}}}\n  b: {builtin: echo, depends_on: [a]}\n' >"$tmp/g.yaml"
for shape in independent dependent; do
	python3 - "$n" "$shape" >"$tmp/calls.json" <<'PY'
import sys
n, shape = int(sys.argv[1]), sys.argv[2]
w = sys.stdout.write
w("[")
for i in range(n):
    tool = "b" if shape == "dependent" and i % 2 else "a"
    w('%s{"type":"tool_use","id":"toolu_%07d","name":"%s","input":{"n":%d}}' % ("," if i else "", i, tool, i % 10))
w("]")
PY
	echo "== $n calls, $shape ($(($(stat -c %s "$tmp/calls.json") >> 20)) MiB of JSON)"
	for mode in "" --json; do
		/usr/bin/time -f "   plan $mode: %e s wall, %U s user, %S s sys, %M KiB peak RSS, exit %x" \
			"$TOOLDAG" plan $mode "$tmp/g.yaml" "$tmp/calls.json" 2>&1 >/dev/null | grep -v '^tooldag:' || true
	done
done
