#!/usr/bin/env bash
# npm_ci.sh - the MCP tests' set-up (a CTest fixture): the reference servers pinned in
# package-lock.json, installed into the repository's node_modules/ by `npm ci` when missing or
# older than the lockfile. Without Node.js and npm it fails, saying so: the MCP tests cannot
# run, and a skipped suite would look like a passing one.
set -u
: "${TD_SRC:?TD_SRC must point to the repository root}"
cd "$TD_SRC" || exit 1
for prog in node npm; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		echo "FAIL: '$prog' not found in PATH: the MCP tests run the reference servers on" \
			"Node.js 18 or later (apt-get install nodejs npm, then npm ci in $TD_SRC)"
		exit 1
	fi
done
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "FAIL: Node.js $(node --version) is too old: the MCP reference servers need 18 or later"
	exit 1
fi
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
	echo "npm ci in $TD_SRC"
	npm ci --no-audit --no-fund --loglevel=error || { echo "FAIL: npm ci failed"; exit 1; }
fi
for bin in mcp-server-everything mcp-server-filesystem mcp-server-memory; do
	if [ ! -x "node_modules/.bin/$bin" ]; then
		echo "FAIL: node_modules/.bin/$bin missing after npm ci"
		exit 1
	fi
done
echo "MCP reference servers installed (Node.js $(node --version))"
