#!/usr/bin/env bash
# test_http.sh - url: servers over the Streamable HTTP transport: the reference server-everything
# in its streamableHttp mode (node_modules/, from the mcp_npm_ci fixture) on a private port, and
# tests/mcp/fake_http_server.py for the faults (401/403, 404 on a session, 5xx, a cut event
# stream, a body that is not JSON). Both are stopped at exit, whether the test passed or not.
source "$TD_SRC/tests/cli/lib.sh"
EVERYTHING="$TD_SRC/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
[ -f "$EVERYTHING" ] || { echo "FAIL: $EVERYTHING missing: run npm ci in $TD_SRC"; exit 1; }
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T_TMP"
}
trap cleanup EXIT

# server-everything on a free port (chosen by the kernel, then handed to it; tried again if
# another program took it in between)
EV_PORT=
for attempt in 1 2 3; do
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	PORT=$port node "$EVERYTHING" streamableHttp >"$T_TMP/ev.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q "listening on port" "$T_TMP/ev.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "listening on port" "$T_TMP/ev.log"; then
		PIDS+=("$pid")
		EV_PORT=$port
		break
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
[ -n "$EV_PORT" ] || { echo "FAIL: server-everything did not start:"; cat "$T_TMP/ev.log"; exit 1; }

# the fake server: its own port, written to a file
FAKE_KEY=k3y /usr/bin/python3 "$TD_SRC/tests/mcp/fake_http_server.py" "$T_TMP/fake.port" \
	"$T_TMP/fake.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T_TMP/fake.port" ] && break; sleep 0.1; done
[ -s "$T_TMP/fake.port" ] || { echo "FAIL: fake_http_server.py did not start"; exit 1; }
FAKE_PORT=$(cat "$T_TMP/fake.port")

# ---- the reference server: content of every kind, progress, many calls on one session ----
cat >"$T_TMP/ev.yaml" <<YAML
version: 1
servers:
  ev: {url: "http://127.0.0.1:$EV_PORT/mcp"}
tools:
  echo: {mcp: ev}
  sum: {mcp: ev, tool: get-sum}
  image: {mcp: ev, tool: get-tiny-image}
  structured: {mcp: ev, tool: get-structured-content}
  long: {mcp: ev, tool: trigger-long-running-operation, timeout: 1500ms}
  missing: {mcp: ev, tool: no-such-tool}
calls:
  - {id: e, tool: echo, input: {message: hello}}
  - {id: s, tool: sum, input: {a: 2, b: 40}}
  - {id: i, tool: image, input: {}}
  - {id: st, tool: structured, input: {location: New York}}
  - {id: lo, tool: long, input: {duration: 10, steps: 20}}
  - {id: m, tool: missing, input: {}}
YAML
t_run run "$T_TMP/ev.yaml"
t_exit 0
t_json "d['content'][0]['content'] == 'Echo: hello'"
t_json "d['content'][1]['content'] == 'The sum of 2 and 40 is 42.'"
t_json "[b['type'] for b in d['content'][2]['content']] == ['text', 'image', 'text'] and d['content'][2]['content'][1]['source']['media_type'] == 'image/png'"
t_json "'temperature' in d['content'][3]['content']"
# the progress notifications came on the call's event stream
t_json "d['content'][4]['is_error'] and d['content'][4]['content'].startswith('timed out after 1.5s (last progress ')"
t_json "d['content'][5]['is_error'] and 'no-such-tool' in d['content'][5]['content']"
# one session for the whole run, ended with DELETE at its end
grep -c "Session initialized" "$T_TMP/ev.log" >"$T_TMP/n"
T_COUNT=$((T_COUNT + 1)); [ "$(cat "$T_TMP/n")" = 1 ] || t_fail "sessions started: $(cat "$T_TMP/n")"
T_COUNT=$((T_COUNT + 1)); grep -q "Received session termination request" "$T_TMP/ev.log" ||
	t_fail "the session was not ended with DELETE"

# 200 calls in flight at once, each on its own request, every answer matched to its call
{
	printf 'version: 1\nservers:\n  ev: {url: "http://127.0.0.1:%s/mcp"}\n' "$EV_PORT"
	printf 'tools:\n  echo: {mcp: ev, concurrency: 200}\ncalls:\n'
	for i in $(seq 200); do printf '  - {id: c%d, tool: echo, input: {message: m%d}}\n' "$i" "$i"; done
} >"$T_TMP/many.yaml"
t_run run "$T_TMP/many.yaml"
t_exit 0
t_json "all(c['content'] == 'Echo: m%d' % (k + 1) for k, c in enumerate(d['content']))"

# pin over HTTP: tools/list through the session, then tools work without the server's schemas
grep -v "missing" "$T_TMP/ev.yaml" >"$T_TMP/pinned.yaml"
t_run pin "$T_TMP/pinned.yaml"
t_exit 0
T_COUNT=$((T_COUNT + 1))
/usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1])); t=[x['name'] for x in p['servers']['ev']['tools']]; sys.exit(0 if 'echo' in t and 'get-sum' in t else 1)" \
	"$T_TMP/pinned.pin.json" || t_fail "the pin lacks echo or get-sum"
t_run tools "$T_TMP/pinned.yaml"
t_json "[t for t in d if t['name'] == 'sum'][0]['input_schema']['required'] == ['a', 'b']"

# ---- the fake server ----
fake_graph() {
	cat >"$T_TMP/fake.yaml" <<YAML
version: 1
servers:
  fake: {url: "http://127.0.0.1:\${FAKE_PORT}/mcp", headers: {X-Key: "\${FAKE_KEY}"} ${1:-}}
tools:
  echo: {mcp: fake}
  sse: {mcp: fake}
  expire: {mcp: fake}
  gone: {mcp: fake}
  busy: {mcp: fake, retries: 1, backoff: 10ms}
  flaky: {mcp: fake, retries: 1, backoff: 10ms}
  forbidden: {mcp: fake, retries: 2}
  cut: {mcp: fake}
  html: {mcp: fake}
  pings: {mcp: fake}
calls:
$CALLS
YAML
}
export FAKE_PORT

# ${VAR} in the url and the headers; the key right: answers as JSON and as an event stream, a
# request of the server's (ping) on the stream answered
CALLS='  - {id: a, tool: echo, input: {text: hi}}
  - {id: b, tool: sse, input: {text: there}}
  - {id: p, tool: pings, input: {}, depends_on: [b]}'
fake_graph
: >"$T_TMP/fake.log"
FAKE_KEY=k3y t_run run "$T_TMP/fake.yaml"
t_exit 0
t_json "d['content'][0]['content'] == 'echo: hi'"
t_json "d['content'][1]['content'] == 'sse: there'"
t_json "d['content'][2]['content'] == 'pings: 1'"
# every request after initialize carries the session and the protocol version; DELETE at the end
T_COUNT=$((T_COUNT + 1))
/usr/bin/python3 - "$T_TMP/fake.log" <<'PY' || t_fail "requests: $(cat "$T_TMP/fake.log")"
import sys
lines = [l.split() for l in open(sys.argv[1])]
init = [l for l in lines if l[0] == "POST" and l[2] == "initialize"]
rest = [l for l in lines if l[0] == "POST" and l[2] != "initialize"]
sid = {l[1] for l in rest}
assert len(init) == 1 and init[0][1] == "None", init
assert len(sid) == 1 and "None" not in sid, sid
assert all(l[3] == "2025-06-18" for l in rest), rest
# the initialized notification is answered 202 at once and may be logged in any order with the
# requests after it (the server handles each on its own thread); everything else is in order
last = [l for l in lines if not (l[0] == "POST" and l[2] == "notifications/initialized")]
assert last[-1] == ["DELETE", sid.pop()], last[-1]
assert sum(l[0] == "DELETE" for l in lines) == 1, lines
PY

# progress notifications on an event stream reach the observers: a call_progress event (JSON
# progress lines, plain lines) and an instant event on the call's track in the trace
CALLS='  - {id: b, tool: sse, input: {text: there}}'
fake_graph
FAKE_KEY=k3y t_run run --progress=json --trace "$T_TMP/trace.json" "$T_TMP/fake.yaml"
t_exit 0
T_COUNT=$((T_COUNT + 1))
/usr/bin/python3 - "$T_TMP/err" "$T_TMP/trace.json" <<'PY' || t_fail "no progress event"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
p = [e for e in ev if e["event"] == "call_progress"]
assert len(p) == 1 and p[0]["id"] == "b" and p[0]["tool"] == "sse", p
assert p[0]["progress"] == 1 and p[0]["total"] == 2 and p[0]["attempt"] == 1, p
names = [e["event"] for e in ev]
assert names.index("call_started") < names.index("call_progress") < names.index("attempt_finished"), names
marks = [e for e in json.load(open(sys.argv[2]))["traceEvents"] if e.get("cat") == "progress"]
assert len(marks) == 1 and marks[0]["name"] == "progress 1/2" and marks[0]["args"]["id"] == "b", marks
PY
FAKE_KEY=k3y t_run run --progress=plain "$T_TMP/fake.yaml"
t_err_has "progress b sse: 1/2"

# a missing variable is a load error naming it, never its value
CALLS='  - {id: a, tool: echo, input: {text: hi}}'
fake_graph
(unset FAKE_KEY; t_run run "$T_TMP/fake.yaml"; echo "$T_RC" >"$T_TMP/rc")
T_RC=$(cat "$T_TMP/rc")
t_exit 2
t_err_has "server 'fake': header 'X-Key' uses \${FAKE_KEY}, which is not set in the environment"

# a wrong key: 401, a clear error naming the server, not retried
FAKE_KEY=wrong t_run run "$T_TMP/fake.yaml"
t_json "d['content'][0]['is_error'] and d['content'][0]['content'].startswith(\"mcp server 'fake' refused initialize: HTTP 401 Unauthorized (check the credentials in its headers)\")"

# 404 on the session: initialize again once, then the call is sent again in the new session
CALLS='  - {id: x, tool: expire, input: {text: again}}
  - {id: g, tool: gone, input: {}, depends_on: [x]}'
fake_graph
: >"$T_TMP/fake.log"
FAKE_KEY=k3y t_run run "$T_TMP/fake.yaml"
t_json "d['content'][0]['content'] == 'renewed: again'"
# a second 404 (in the new session too) is that call's error
t_json "d['content'][1]['is_error'] and d['content'][1]['content'] == \"mcp server 'fake' answered the request with HTTP 404 in a new session too: no such session\""
T_COUNT=$((T_COUNT + 1))
[ "$(grep -c ' initialize ' "$T_TMP/fake.log")" = 3 ] || t_fail "initialize sent: $(cat "$T_TMP/fake.log")"

# 5xx: an error result, retried as the tool says (retries: 1): flaky succeeds the second time,
# busy fails twice; 403: not retried (retries: 2); a cut event stream and a body that is not
# JSON: that call's error, the others go on
CALLS='  - {id: b, tool: busy, input: {}}
  - {id: f, tool: flaky, input: {text: ok}}
  - {id: fo, tool: forbidden, input: {}}
  - {id: c, tool: cut, input: {}}
  - {id: h, tool: html, input: {}}
  - {id: e, tool: echo, input: {text: still}}'
fake_graph
: >"$T_TMP/fake.log"
FAKE_KEY=k3y t_run run --trace "$T_TMP/trace.jsonl" "$T_TMP/fake.yaml"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == \"mcp server 'fake' answered the request with HTTP 503: overloaded, try later\""
t_json "d['content'][1]['content'] == 'flaky: ok'"
t_json "d['content'][2]['content'] == \"mcp server 'fake' refused the request: HTTP 403 Forbidden (check the credentials in its headers): not for you\""
t_json "d['content'][3]['content'] == \"mcp server 'fake': the event stream ended before the answer\""
t_json "d['content'][4]['content'] == \"mcp server 'fake' answered with a body that is not JSON-RPC: '<html><body>Service Unavailable</body></html>'\""
t_json "d['content'][5]['content'] == 'echo: still'"
T_COUNT=$((T_COUNT + 1))
[ "$(grep -c ' tools/call ' "$T_TMP/fake.log")" = 8 ] ||
	t_fail "tools/call requests (busy 2, flaky 2, forbidden 1, cut, html, echo): $(cat "$T_TMP/fake.log")"

# a server that is not there: a connection error for each call, the rest of the batch goes on
cat >"$T_TMP/down.yaml" <<YAML
version: 1
servers:
  down: {url: "http://127.0.0.1:1/mcp", restarts: 0}
tools:
  t: {mcp: down}
  local: {builtin: echo}
calls:
  - {id: a, tool: t, input: {}}
  - {id: b, tool: local, input: {x: 1}}
YAML
t_run run "$T_TMP/down.yaml"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'].startswith(\"mcp server 'down': connection error: \")"
t_json "d['content'][1]['content'] == '{\"x\":1}'"

t_done
