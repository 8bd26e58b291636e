#!/usr/bin/env bash
# Hostile input through the command: 50,000 calls of 1 MiB each on stdin (refused at the
# 256 MiB input cap, not an OOM), the same as a file (refused from its size, unread),
# /dev/zero as CALLS, graph files that are symlinks to /dev/zero or a FIFO, 100,000 calls,
# a plan JSON that would be quadratic, deep nesting, NUL and non-UTF-8 bytes. Each case: its
# message, its exit code, and a bound on wall time and (outside ASan) peak RSS.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 is needed to generate inputs"; exit 77; }
G=$T_TMP/g.yaml
printf 'version: 1\ntools:\n  a: {builtin: echo}\n  b: {builtin: echo, depends_on: [a]}\n' >"$G"

# ASan's shadow memory and quarantine make RSS meaningless: only time is bounded there.
asan=0
{ ldd "$TOOLDAG" 2>/dev/null | grep -q libasan || nm "$TOOLDAG" 2>/dev/null | grep -q __asan_init; } &&
	asan=1

# b_run SECONDS MIB [--stdin FILE] ARGS...: t_run, then wall time and peak RSS within bounds.
b_run() {
	local secs=$1 mib=$2 t0 ms kb=0
	shift 2
	t0=$(date +%s%N)
	if [ -x /usr/bin/time ]; then
		local in=/dev/null
		if [ "$1" = --stdin ]; then in=$2; shift 2; fi
		T_ARGS="$*"
		/usr/bin/time -f "%M" -o "$T_TMP/rss" "$TOOLDAG" "$@" <"$in" >"$T_TMP/out" 2>"$T_TMP/err"
		T_RC=$?
		kb=$(tail -n 1 "$T_TMP/rss")
	else
		t_run "$@"
	fi
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "bound: tooldag ${T_ARGS:0:60}: ${ms} ms, $((kb / 1024)) MiB peak RSS"
	T_COUNT=$((T_COUNT + 1))
	[ "$ms" -le $((secs * 1000)) ] || t_fail "took $ms ms (bound ${secs}s)"
	[ "$asan" = 1 ] || [ "$((kb / 1024))" -le "$mib" ] || t_fail "peak RSS $((kb / 1024)) MiB (bound $mib)"
}

# 50,000 calls of 1 MiB each, streamed: refused once 256 MiB are in, the writer gets EPIPE
gen_big() {
	python3 -c '
import sys
one = "x" * (1 << 20)
try:
    sys.stdout.write("[")
    for i in range(50000):
        sys.stdout.write("%s{\"type\":\"tool_use\",\"id\":\"c%d\",\"name\":\"a\",\"input\":{\"s\":\"%s\"}}" % ("," if i else "", i, one))
    sys.stdout.write("]")
except BrokenPipeError:
    pass
' 2>/dev/null
}
b_run 120 400 --stdin <(gen_big) plan "$G" -
t_exit 2; t_err_has "tooldag: '<stdin>' is larger than 256 MiB, the most tooldag reads"; t_out_empty

# the same batch as a file (sparse): refused from its size, before any read
truncate -s $((50000 * 1048640)) "$T_TMP/big.json"
b_run 10 16 plan "$G" "$T_TMP/big.json"
t_exit 2; t_err_has "big.json' is larger than 256 MiB, the most tooldag reads"
rm -f "$T_TMP/big.json"

# /dev/zero as the calls: 256 MiB read, then refused
b_run 120 400 plan "$G" /dev/zero
t_exit 2; t_err_has "'/dev/zero' is larger than 256 MiB"

# graph files that are symlinks to /dev/zero or to a FIFO with no writer: refused unread
ln -s /dev/zero "$T_TMP/zero.yaml"
mkfifo "$T_TMP/fifo" && ln -s "$T_TMP/fifo" "$T_TMP/fifo.yaml"
for f in zero fifo; do
	b_run 10 16 check "$T_TMP/$f.yaml"
	t_exit 2; t_err_has "$f.yaml: not a regular file (a FIFO, device or socket): give a graph file"
done

# 100,000 calls, half of b after all of a: levels print; the JSON would list 2.5 billion ids
python3 -c '
import sys
sys.stdout.write("[" + ",".join("{\"type\":\"tool_use\",\"id\":\"c%d\",\"name\":\"%s\"}" % (i, "ab"[i % 2]) for i in range(100000)) + "]")
' >"$T_TMP/100k.json"
b_run 60 300 plan "$G" "$T_TMP/100k.json"
t_exit 0; t_out_has "100000 calls in 2 levels"; t_out_has "c1  b  after c0, c2, c4, c6, c8, c10, c12, c14 and 49992 more"
b_run 60 300 plan --json "$G" "$T_TMP/100k.json"
t_exit 2; t_out_empty
t_err_has "plan --json: the calls' dependency lists are too long to print (tool dependencies between many calls); 'tooldag plan' shows the levels"
# independent calls: the JSON is linear
sed 's/"name":"b"/"name":"a"/g' "$T_TMP/100k.json" >"$T_TMP/100k-a.json"
b_run 60 300 plan --json "$G" "$T_TMP/100k-a.json"
t_exit 0; t_json 'len(d["levels"]) == 1 and len(d["levels"][0]) == 100000'

# 100,000 open brackets: the position where cJSON's limit is passed
python3 -c 'import sys; sys.stdout.write("[" * 100000)' >"$T_TMP/deep.json"
b_run 10 64 plan "$G" "$T_TMP/deep.json"
t_exit 2; t_err_has "deep.json:1:1001: JSON nested deeper than 1000 levels"

# NUL and non-UTF-8: refused with their place, never truncated into another id or tool
printf '[{"type":"tool_use","id":"x\\u0000y","name":"a"}]' >"$T_TMP/nul.json"
t_run plan "$G" "$T_TMP/nul.json"
t_exit 2; t_err_has "nul.json:1:28: \\u0000 (a NUL character) in the JSON text: ids, tool names and inputs cannot hold NUL"
printf '[{"type":"tool_use","id":"x","name":"\xff"}]' >"$T_TMP/latin.json"
t_run plan "$G" "$T_TMP/latin.json"
t_exit 2; t_err_has "latin.json:1:38: not valid JSON: invalid UTF-8 (byte 0xff); JSON text must be UTF-8"

t_done
