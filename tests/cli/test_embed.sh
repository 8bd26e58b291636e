#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_embed.sh - the library as an embedding program gets it: `cmake --install` of this build
# into a temporary prefix; only td_* symbols exported by the shared library (nm -D); the
# example host tests/embed/host.c built against the INSTALLED package three ways
# (find_package with tooldag::tooldag, with tooldag::tooldag_static, and pkg-config), each run
# on tests/embed/travel.yaml (inline, blocking and async function tools mixed with processes,
# driven from the host's own poll() loop) and compared with tests/embed/expected.json.
set -u

TD_BIN=${TD_BIN:?TD_BIN must name the build directory}
TD_SRC=${TD_SRC:?TD_SRC must name the repository root}
for tool in cmake nm pkg-config; do
	command -v "$tool" >/dev/null || { echo "skip: $tool is not installed"; exit 77; }
done
[ -x "$TD_SRC/graphs/tools/bin/travel" ] || { echo "skip: graphs/tools/bin/travel not built"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# The build's compiler, and its sanitizer flags: a host linking an ASan-built library must be
# built with the same runtime.
cache="$TD_BIN/CMakeCache.txt"
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache")
FLAGS=""
if grep -q '^TD_SANITIZE:BOOL=ON' "$cache"; then
	FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
if grep -q '^TD_TSAN:BOOL=ON' "$cache"; then
	FLAGS="-fsanitize=thread"
fi

# ---- install ----
prefix="$T/prefix"
if ! cmake --install "$TD_BIN" --prefix "$prefix" >"$T/install.log" 2>&1; then
	cat "$T/install.log"
	echo "FAIL: cmake --install"
	exit 1
fi
so=$(find "$prefix" -name 'libtooldag.so' | head -n1)
pc=$(find "$prefix" -name 'tooldag.pc' | head -n1)
for f in "$prefix/include/tooldag.h" "$prefix/include/tooldag/record.h" \
	"$prefix/include/tooldag/worker.h" "$so" "$(dirname "$so")/libtooldag.a" "$pc" \
	"$(dirname "$so")/cmake/tooldag/tooldagConfig.cmake"; do
	[ -n "$f" ] && [ -f "$f" ] || fail "not installed: ${f:-a library or tooldag.pc}"
done

# ---- exported symbols: the public API only ----
nm -D --defined-only "$so" | awk '$2 ~ /^[TDRBVWi]$/ {print $3}' >"$T/syms"
[ -s "$T/syms" ] || fail "nm -D lists no symbols in $so"
if grep -v '^td_[a-z]' "$T/syms" >"$T/extra"; then
	fail "exported beyond the public td_* API: $(tr '\n' ' ' <"$T/extra")"
fi
grep -qx td_run_step "$T/syms" || fail "td_run_step is not exported"
grep -qx td_fn_complete "$T/syms" || fail "td_fn_complete is not exported"
# every TD_API declaration of the headers is exported
cat "$TD_SRC"/include/tooldag.h "$TD_SRC"/include/tooldag/*.h | grep -o '^TD_API [^(]*(' | sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' |
	sort -u >"$T/declared"
missing=$(comm -23 "$T/declared" <(sort -u "$T/syms"))
[ -z "$missing" ] || fail "declared TD_API but not exported: $missing"

# ---- the example host, three builds against the installed package ----
# check NAME BINARY: runs it on the example graph from tests/embed (relative run: paths)
check() {
	local name=$1 bin=$2
	if ! (cd "$TD_SRC/tests/embed" && "$bin" travel.yaml >"$T/$name.out" 2>"$T/$name.err"); then
		fail "$name: the host failed: $(head -c 1000 "$T/$name.err")"
		return
	fi
	diff -u "$TD_SRC/tests/embed/expected.json" "$T/$name.out" >"$T/$name.diff" ||
		fail "$name: results differ from expected.json: $(cat "$T/$name.diff")"
	[ "$(grep -c '^finished toolu_0[1-8] [a-z_]* ok$' "$T/$name.err")" = 8 ] ||
		fail "$name: expected 8 streamed 'finished ... ok' lines: $(cat "$T/$name.err")"
	# streamed in finish order: the inline weather call ends first, the dependents last
	[ "$(head -n1 "$T/$name.err")" = "finished toolu_04 fetch_weather ok" ] ||
		fail "$name: first to finish is not the inline call: $(head -n1 "$T/$name.err")"
	tail -n2 "$T/$name.err" | grep -q toolu_05 || fail "$name: lookup_pollen not among the last"
	tail -n2 "$T/$name.err" | grep -q toolu_08 || fail "$name: recommend_product not among the last"
}

build_cmake() {
	local name=$1
	shift
	if ! cmake -S "$TD_SRC/tests/embed" -B "$T/$name" -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" \
		"$@" >"$T/$name.cfg" 2>&1 || ! cmake --build "$T/$name" >>"$T/$name.cfg" 2>&1; then
		fail "$name: cannot build the example: $(tail -n 20 "$T/$name.cfg")"
		return 1
	fi
}
build_cmake find_package && check find_package "$T/find_package/embed_host"
build_cmake find_package_static -DEMBED_STATIC=ON &&
	check find_package_static "$T/find_package_static/embed_host"

export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046 # pkg-config output is a list of flags
if $CC $FLAGS -Wall -Wextra -Werror -o "$T/host_pc" "$TD_SRC/tests/embed/host.c" \
	$(pkg-config --cflags --libs tooldag) -Wl,-rpath,"$(dirname "$so")" 2>"$T/pc.log"; then
	check pkg-config "$T/host_pc"
else
	fail "pkg-config build: $(cat "$T/pc.log")"
fi
# the README's static line: the archive by name, the dependencies shared
# shellcheck disable=SC2046
if $CC $FLAGS -Wall -Wextra -Werror -o "$T/host_pc_static" "$TD_SRC/tests/embed/host.c" \
	$(pkg-config --cflags tooldag) "$(pkg-config --variable=libdir tooldag)/libtooldag.a" \
	$(pkg-config --libs $(pkg-config --print-requires-private tooldag)) -lm -pthread \
	2>"$T/pcs.log"; then
	check pkg-config-static "$T/host_pc_static"
	ldd "$T/host_pc_static" | grep -q libtooldag && fail "pkg-config static: linked libtooldag.so"
else
	fail "pkg-config static build: $(cat "$T/pcs.log")"
fi
[ "$(pkg-config --modversion tooldag)" = 0.1.0 ] || fail "pkg-config --modversion"

# a version the package does not satisfy is refused
cat >"$T/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(v LANGUAGES C)
find_package(tooldag 1.0 REQUIRED)
CM
if cmake -S "$T" -B "$T/vb" -DCMAKE_PREFIX_PATH="$prefix" >"$T/v.log" 2>&1; then
	fail "find_package(tooldag 1.0) accepted version 0.1.0"
fi
grep -q 'tooldagConfig.cmake, version: 0.1.0' "$T/v.log" ||
	fail "find_package(tooldag 1.0) did not say which version it found: $(cat "$T/v.log")"

[ "$fails" -eq 0 ] && echo "embed: all passed"
exit $((fails > 0))
