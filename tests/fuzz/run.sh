#!/usr/bin/env bash
# run.sh FUZZER CORPUS SECONDS: replay the seed corpus, then fuzz for SECONDS. Any crash, leak,
# timeout or out-of-memory fails (libFuzzer exits non-zero and leaves a crash-* file here).
set -eu
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$fuzzer" -runs=0 "$corpus"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-print_final_stats=1 "$work" "$corpus" 2>&1 | tail -n 20
exit "${PIPESTATUS[0]}"
