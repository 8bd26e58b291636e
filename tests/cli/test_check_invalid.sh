#!/usr/bin/env bash
# test_check_invalid.sh - `tooldag check` on every graphs/invalid/*.yaml fixture: exit code 2 and
# the diagnostic named on the fixture's first line ("# expect: <text>", where <text> is a
# substring of stderr such as ":6:5: unknown key 'timout' ..."). Then the file-level cases that
# cannot be fixtures: a missing file, a directory, a FIFO, a 100 MB sparse file.
set -u

: "${TOOLDAG:?TOOLDAG must name the tooldag command}"
: "${TD_SRC:?TD_SRC must name the source tree}"

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run_check FILE -> sets $code and $err
run_check() {
	err=$("$TOOLDAG" check "$1" 2>&1 >/dev/null)
	code=$?
}

count=0
for f in "$TD_SRC"/graphs/invalid/*.yaml; do
	count=$((count + 1))
	expect=$(head -n 1 "$f")
	if [[ $expect != "# expect: "* ]]; then
		fail "$f: first line must be '# expect: <message>'"
		continue
	fi
	expect=${expect#"# expect: "}
	# every diagnostic line starts with the file name as given
	[[ $expect == :* ]] && expect="$f$expect"
	run_check "$f"
	[[ $code -eq 2 ]] || fail "$f: exit code $code, want 2"
	grep -qF -- "$expect" <<<"$err" || fail "$f: stderr lacks: $expect
--- stderr:
$err"
done
[[ $count -ge 20 ]] || fail "only $count fixtures in graphs/invalid"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A problem with the file itself: non-zero exit, a one-line reason naming the file.
expect_file() {
	run_check "$1"
	[[ $code -ne 0 ]] || fail "$1: exit code 0"
	grep -qF -- "$1: $2" <<<"$err" || fail "$1: stderr lacks: $1: $2
--- stderr:
$err"
}

expect_file "$tmp/missing.yaml" "cannot open graph file: No such file or directory"
expect_file "$tmp" "is a directory, not a graph file"
mkfifo "$tmp/fifo.yaml"
expect_file "$tmp/fifo.yaml" "not a regular file (a FIFO, device or socket): give a graph file"
truncate -s 100000000 "$tmp/big.yaml"
expect_file "$tmp/big.yaml" "graph file too large: 100000000 bytes, the limit is 16 MiB"

if [[ $failures -ne 0 ]]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "ok: $count fixtures and 4 file cases"
