#!/usr/bin/env bash
# The layering and size rules, checked from the source text (no build needed):
#
#   1. each folder of src/ includes headers only from the folders below it:
#        util <- schema <- load <- calls <- plan <- run <- exec <- host <- api <- report <- cli
#      (the command, src/cli/, includes only the public header tooldag.h and its own files);
#   2. no file in src/, include/, bench/ or tests/ is over 1,000 lines (fuzz corpora and
#      recorded payloads are data, not code, and are not counted).
#
# Usage: .ci/check_layers.sh [REPO]   (REPO defaults to the checkout this script is in)
# Prints one line per violation and exits 1 when there is any; 0 otherwise.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# What each src/ folder may include, besides itself and the public header. A new folder goes
# here with its place in the order, or the check fails.
declare -A allowed=(
	[util]=""
	[schema]="util"
	[load]="util schema"
	[calls]="util schema load"
	[plan]="util schema load calls"
	[run]="util schema load calls plan"
	[exec]="util schema load calls plan run"
	[host]="util schema load calls plan run exec"
	[api]="util schema load calls plan run exec host"
	[report]="util schema load calls plan run exec host api"
	[cli]=""
)

# Edges that break the order today, "from -> to" (one line each, with what removes them).
known=(
)

max_lines=1000

fail=0
say() {
	echo "$*"
	fail=1
}

is_known() {
	local e
	for e in ${known[@]+"${known[@]}"}; do
		[ "$(echo "${e%%#*}" | xargs)" = "$1 -> $2" ] && return 0
	done
	return 1
}

# The src/ folder an include names, or nothing (a system header, the public header, a file
# of the same folder). $1: the including file, $2: the path between the quotes or brackets.
target_folder() {
	local file=$1 path=$2 resolved
	case $path in
	../* | ./*)
		resolved=$(realpath -m --relative-to=src "$(dirname "$file")/$path")
		;;
	*/*)
		resolved=$path
		;;
	*)
		return 0
		;;
	esac
	resolved=${resolved%%/*}
	[ -n "${allowed[$resolved]+set}" ] && echo "$resolved"
	return 0
}

used=()
for dir in src/*/; do
	folder=$(basename "$dir")
	if [ -z "${allowed[$folder]+set}" ]; then
		say "src/$folder/: not in the layer table of .ci/check_layers.sh: give it its place"
		continue
	fi
	while IFS=: read -r file line text; do
		path=$(echo "$text" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*)[>"].*/\1/')
		to=$(target_folder "$file" "$path")
		[ -z "$to" ] || [ "$to" = "$folder" ] && continue
		case " ${allowed[$folder]} " in
		*" $to "*) continue ;;
		esac
		if is_known "$folder" "$to"; then
			used+=("$folder -> $to")
			continue
		fi
		if [ "$folder" = cli ]; then
			say "$file:$line: cli includes $path: the command uses only the public header tooldag.h"
		else
			say "$file:$line: $folder includes $path, a layer above it or beside it" \
				"(${folder} may include: ${allowed[$folder]:-nothing})"
		fi
	done < <(grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' -r "$dir" \
		--include='*.c' --include='*.h' || true)
done

for e in ${known[@]+"${known[@]}"}; do
	edge=$(echo "${e%%#*}" | xargs)
	printf '%s\n' ${used[@]+"${used[@]}"} | grep -qxF "$edge" ||
		echo "note: the known exception '$edge' no longer occurs: remove it from .ci/check_layers.sh"
done

# Tracked files and new ones not ignored: a file about to be committed counts too.
if git rev-parse --git-dir >/dev/null 2>&1; then
	list() { git ls-files -z --cached --others --exclude-standard -- src include bench tests; }
else
	list() { find src include bench tests -type f -print0; }
fi
while IFS= read -r -d '' f; do
	case $f in
	tests/fuzz/corpus/* | tests/data/*) continue ;;
	esac
	[ -f "$f" ] || continue
	n=$(wc -l <"$f")
	[ "$n" -le "$max_lines" ] || say "$f: $n lines, over $max_lines: split it along its seams"
done < <(list)

if [ "$fail" -ne 0 ]; then
	echo "check_layers: FAILED"
	exit 1
fi
echo "check_layers: every folder includes only the layers below it; no file over $max_lines lines"
