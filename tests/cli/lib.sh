# lib.sh - tiny assertion helpers for the command-level tests (sourced, not run).
# Each test script: source this, call `t_run ARGS...` then assertions; `t_done` at the end.
set -u
: "${TOOLDAG:?TOOLDAG must point to the built tooldag command}"
: "${TD_SRC:?TD_SRC must point to the repository root}"
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT
T_FAILS=0
T_COUNT=0

# t_run [--stdin FILE] ARGS...: runs tooldag, keeps exit code, stdout and stderr.
t_run() {
	local in=/dev/null
	if [ "${1:-}" = --stdin ]; then in=$2; shift 2; fi
	T_ARGS="$*"
	"$TOOLDAG" "$@" <"$in" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
}
t_fail() {
	T_FAILS=$((T_FAILS + 1))
	echo "FAIL: tooldag $T_ARGS: $*"
	echo "  exit: $T_RC"; echo "  stdout:"; head -c 2000 "$T_TMP/out" | sed 's/^/    /'
	echo "  stderr:"; head -c 2000 "$T_TMP/err" | sed 's/^/    /'
}
t_exit() { T_COUNT=$((T_COUNT + 1)); [ "$T_RC" -eq "$1" ] || t_fail "expected exit $1"; }
t_out_has() { T_COUNT=$((T_COUNT + 1)); grep -qF -- "$1" "$T_TMP/out" || t_fail "stdout lacks '$1'"; }
t_err_has() { T_COUNT=$((T_COUNT + 1)); grep -qF -- "$1" "$T_TMP/err" || t_fail "stderr lacks '$1'"; }
t_out_empty() { T_COUNT=$((T_COUNT + 1)); [ ! -s "$T_TMP/out" ] || t_fail "stdout not empty"; }
t_err_empty() { T_COUNT=$((T_COUNT + 1)); [ ! -s "$T_TMP/err" ] || t_fail "stderr not empty"; }
# t_json EXPR: a Python expression over `d` (stdout parsed as JSON) that must be true.
t_json() {
	T_COUNT=$((T_COUNT + 1))
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
		"$T_TMP/out" 2>"$T_TMP/pyerr" || t_fail "JSON check failed: $1 $(cat "$T_TMP/pyerr")"
}
# replay FILE MS: a streamed response as a model writes it, the file's lines with a pause of
# MS milliseconds after each event's blank line
replay() {
	local line pause
	pause=$(printf '0.%03d' "$2")
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
		[ -n "$line" ] || sleep "$pause"
	done <"$1"
}
# t_report JQ_EXPR: the jq expression over the run report $T_TMP/report.json must be true.
t_report() {
	T_COUNT=$((T_COUNT + 1))
	[ "$(jq "$1" "$T_TMP/report.json")" = true ] ||
		t_fail "report: $1 is not true: $(cat "$T_TMP/report.json")"
}
t_done() {
	echo "$((T_COUNT - T_FAILS)) passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}
