#!/usr/bin/env bash
# run.sh FUZZER CORPUS SECONDS: replay the seed corpus, then fuzz for SECONDS with the target's
# dictionary (tests/fuzz/NAME.dict, NAME the corpus directory's name). Any crash, leak, timeout
# or out-of-memory fails (libFuzzer exits non-zero; the reproducer is printed as a path under a
# temporary directory that is kept, so it can be copied into the corpus).
set -eu
fuzzer=$1 corpus=$2 seconds=$3
here=$(cd "$(dirname "$0")" && pwd)
dict=$here/$(basename "$corpus").dict
work=$(mktemp -d)
mkdir "$work/new"
cd "$work"
opts=(-timeout=30 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)
[ -f "$dict" ] && opts+=("-dict=$dict")
"$fuzzer" "${opts[@]}" -runs=0 "$corpus"
rc=0
"$fuzzer" "${opts[@]}" -max_total_time="$seconds" "$work/new" "$corpus" >"$work/log" 2>&1 || rc=$?
tail -n 30 "$work/log"
if [ "$rc" -ne 0 ]; then
	echo "run.sh: $fuzzer failed (exit $rc); reproducers kept in $work" >&2
	exit "$rc"
fi
rm -rf "$work"
