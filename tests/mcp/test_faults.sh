#!/usr/bin/env bash
# test_faults.sh - MCP servers that fail or break the protocol (tests/mcp/fake_server.py): each
# fault becomes an error result that says what happened, and the rest of the batch goes on.
source "$TD_SRC/tests/cli/lib.sh"
FAKE="$TD_SRC/tests/mcp/fake_server.py"

# graph MODE [SERVER-KEYS] [TOOL-KEYS]: a graph with one fake server and its tools, then $CALLS.
graph() {
	cat >"$T_TMP/g.yaml" <<YAML
version: 1
servers:
  fake: {command: [/usr/bin/python3, $FAKE, $1] ${2:+, $2}}
tools:
  echo: {mcp: fake ${3:+, $3}}
  slow: {mcp: fake ${3:+, $3}}
  never: {mcp: fake, timeout: 1s}
  crash: {mcp: fake}
  garbage: {mcp: fake, timeout: 1s}
  wrong_id: {mcp: fake, tool: wrong-id, timeout: 1s}
  big: {mcp: fake, max_output: 1KiB}
  huge: {mcp: fake}
  ask: {mcp: fake}
  cancelled: {mcp: fake, on_dependency_failure: run}
  echo_after: {mcp: fake, tool: echo, on_dependency_failure: run}
  pid: {mcp: fake}
  fail: {mcp: fake}
  nope: {mcp: fake, tool: no-such-tool}
  structured: {mcp: fake}
  roots: {mcp: fake}
  caps: {mcp: fake}
  local: {builtin: echo}
calls:
$CALLS
YAML
}

# a missing program: every call of the server says so; other tools still run
cat >"$T_TMP/g.yaml" <<YAML
version: 1
servers:
  gone: {command: [no-such-mcp-server-program, --stdio]}
tools:
  t: {mcp: gone}
  local: {builtin: echo}
calls:
  - {id: a, tool: t, input: {}}
  - {id: b, tool: t, input: {}}
  - {id: c, tool: local, input: {x: 1}}
YAML
t_run run "$T_TMP/g.yaml"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == \"mcp server 'gone': cannot start 'no-such-mcp-server-program': program not found in PATH\""
t_json "d['content'][1]['is_error'] and 'program not found' in d['content'][1]['content']"
t_json "not d['content'][2].get('is_error') and d['content'][2]['content'] == '{\"x\":1}'"

# exits before initialize: the exit status and its stderr
CALLS='  - {id: a, tool: echo, input: {text: hi}}'
graph exit-at-start "restarts: 0"
t_run run "$T_TMP/g.yaml"
t_json "d['content'][0]['content'] == \"mcp server 'fake' exited with code 3 during initialize: fake: missing configuration file\""

# exits while answering initialize
graph exit-in-init
t_run run "$T_TMP/g.yaml"
t_json "d['content'][0]['content'] == \"mcp server 'fake' exited with code 4 during initialize: fake: cannot load model weights\""

# a protocol version tooldag does not speak
graph old-version
t_run run "$T_TMP/g.yaml"
t_json "\"answered initialize with protocol version '1999-01-01'; tooldag speaks 2024-11-05 to 2025-11-25\" in d['content'][0]['content']"

# exits with calls in flight: each of them gets the exit status and stderr tail; a later call
# (after the crash, through depends_on) restarts the server once (restarts: 1, the default)
CALLS='  - {id: s1, tool: slow, input: {ms: 3000, text: one}}
  - {id: s2, tool: slow, input: {ms: 3000, text: two}}
  - {id: x, tool: crash, input: {}}
  - {id: l, tool: local, input: {still: running}}
  - {id: after, tool: echo_after, input: {text: again}, depends_on: [x]}'
graph ok
t_run run --schedule eager "$T_TMP/g.yaml"
t_json "d['content'][0]['content'] == \"mcp server 'fake' exited with code 5: crash: fatal error in tool\""
t_json "d['content'][1]['content'] == d['content'][0]['content'] and d['content'][2]['content'] == d['content'][0]['content']"
t_json "d['content'][3]['content'] == '{\"still\":\"running\"}'"
t_json "not d['content'][4].get('is_error') and d['content'][4]['content'] == 'echo: again'"

# restarts: 0: the later call is not started again, and says why
graph ok "restarts: 0"
t_run run --schedule eager "$T_TMP/g.yaml"
t_json "d['content'][4]['is_error'] and 'exited with code 5' in d['content'][4]['content']"

# never answers: the timeout fires at once, notifications/cancelled reaches the server, and a
# stubborn server (ignores stdin EOF and SIGTERM) is killed at the end
CALLS='  - {id: n, tool: never, input: {}}
  - {id: c, tool: cancelled, input: {}, depends_on: [n]}
  - {id: p, tool: pid, input: {}}'
graph stubborn
start=$(date +%s%N)
t_run run "$T_TMP/g.yaml"
took=$((($(date +%s%N) - start) / 1000000))
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == 'timed out after 1s'"
t_json "len(json.loads(d['content'][1]['content'])) == 1"
pid=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['content'][2]['content'])" "$T_TMP/out")
T_COUNT=$((T_COUNT + 1))
if [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null; then t_fail "server $pid still running after the run"; fi
# close wait 1s + SIGTERM wait 1s, then SIGKILL: about 3 s with the 1 s timeout
T_COUNT=$((T_COUNT + 1))
[ "$took" -lt 8000 ] || t_fail "shutting down a stubborn server took ${took}ms"

# not JSON-RPC on stdout: a banner line is ignored; a garbage answer leaves the call to time
# out, and its error quotes what the server wrote
CALLS='  - {id: a, tool: echo, input: {text: fine}}
  - {id: g, tool: garbage, input: {}}'
graph banner
t_run run "$T_TMP/g.yaml"
t_json "d['content'][0]['content'] == 'echo: fine'"
t_json "d['content'][1]['content'].startswith('timed out after 1s')"
t_json "\"(server wrote a line on stdout that is not JSON-RPC: 'fake server listening on stdio')\" in d['content'][1]['content']"
t_json "\"(server wrote a line on stdout that is not JSON-RPC: 'this is not json')\" in d['content'][1]['content']"

# an answer to an id never sent: dropped; the call times out saying so
CALLS='  - {id: w, tool: wrong_id, input: {}}'
graph ok
t_run run "$T_TMP/g.yaml"
t_json "d['content'][0]['content'].startswith('timed out after 1s\n(server answered an id tooldag never sent: ')"

# an answer larger than max_output: head and tail kept, the middle counted
CALLS='  - {id: b, tool: big, input: {bytes: 100000}}'
graph ok
t_run run "$T_TMP/g.yaml"
t_json "not d['content'][0].get('is_error') and len(d['content'][0]['content']) < 1200 and 'truncated' in d['content'][0]['content']"
t_json "d['content'][0]['content'].startswith('x' * 500)"

# a line longer than 16 MiB on stdout: the connection is closed (the server killed and reaped),
# the calls it held get an error saying why, and a later call starts it again
CALLS='  - {id: h, tool: huge, input: {}}
  - {id: s, tool: slow, input: {ms: 3000, text: held}}
  - {id: e, tool: echo_after, input: {text: restarted}, depends_on: [h]}'
graph ok
t_run run --schedule eager "$T_TMP/g.yaml"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == \"mcp server 'fake' sent a message larger than 16 MiB on stdout\""
t_json "d['content'][1]['content'] == d['content'][0]['content']"
t_json "not d['content'][2].get('is_error') and d['content'][2]['content'] == 'echo: restarted'"

# the servers' descriptors count in the run's descriptor budget: with RLIMIT_NOFILE at 52, eight
# running servers (four descriptors each) hold back the 40 processes started beside them
# instead of leaving them to fail with EMFILE
{
	echo "version: 1"
	echo "servers:"
	for i in $(seq 8); do echo "  s$i: {command: [/usr/bin/python3, $FAKE, ok]}"; done
	echo "tools:"
	for i in $(seq 8); do echo "  t$i: {mcp: s$i, tool: slow}"; done
	echo "  nap: {run: [sleep, '0.2']}"
	echo "calls:"
	for i in $(seq 8); do echo "  - {id: m$i, tool: t$i, input: {ms: 1500, text: s$i}}"; done
	for i in $(seq 40); do echo "  - {id: p$i, tool: nap, input: {}}"; done
} >"$T_TMP/fds.yaml"
T_ARGS="run --schedule eager -j 100 fds.yaml (ulimit -n 52)"
(ulimit -n 52 && exec "$TOOLDAG" run --schedule eager -j 100 "$T_TMP/fds.yaml") >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
t_exit 0
t_json "[c['content'] for c in d['content'] if c.get('is_error')] == [] and d['content'][7]['content'] == 'slow: s8'"

# requests of the server's own that tooldag does not serve: an error at once
CALLS='  - {id: q, tool: ask, input: {}}'
graph ok
t_run run "$T_TMP/g.yaml"
t_json "json.loads(d['content'][0]['content']) == {'code': -32601, 'message': 'tooldag does not serve sampling/createMessage requests'}"

# roots: declared only for a server that lists them; roots/list answered with their absolute
# paths as file:// URIs (relative ones against the graph's directory, percent-encoded)
CALLS='  - {id: r, tool: roots, input: {}}
  - {id: c, tool: caps, input: {}}'
graph ok
t_run run "$T_TMP/g.yaml"
t_json "json.loads(d['content'][0]['content']) == {'code': -32601, 'message': 'tooldag does not serve roots/list requests'}"
t_json "json.loads(d['content'][1]['content']) == {}"
mkdir -p "$T_TMP/work dir" "$T_TMP/data"
graph ok "roots: ['work dir', $T_TMP/data/../data]"
t_run run "$T_TMP/g.yaml"
t_json "json.loads(d['content'][0]['content']) == {'roots': [{'uri': 'file://$T_TMP/work%20dir', 'name': 'work dir'}, {'uri': 'file://$T_TMP/data', 'name': 'data'}]}"
t_json "json.loads(d['content'][1]['content']) == {'roots': {'listChanged': False}}"

# isError: true is an error result; a JSON-RPC error names the tool and the code
CALLS='  - {id: f, tool: fail, input: {}}
  - {id: u, tool: nope, input: {}}
  - {id: s, tool: structured, input: {}}'
graph ok
t_run run "$T_TMP/g.yaml"
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == 'it failed'"
t_json "d['content'][1]['is_error'] and d['content'][1]['content'] == \"mcp server 'fake': tools/call 'no-such-tool' failed: unknown tool no-such-tool (code -32602)\""
# structuredContent that no text block carries is appended to the text
t_json "d['content'][2]['content'] == 'see data\\nstructuredContent: {\"a\":1}'"
t_done
