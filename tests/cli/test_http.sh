#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_http.sh - http: tools end to end against a real server on 127.0.0.1 (tests/http_server.py,
# started here with a port the kernel picks, killed at the end; it also exits by itself after
# a few minutes). One section per bullet of the HTTP issue:
#   declaration: method, headers, body input|none, query from_input, ${VAR} at load time,
#     missing variable = load error, no secret in results, reports or messages;
#   results: body = content, status >= 400 = error with status line and body start,
#     connection errors and timeouts = errors with curl's message;
#   protocol: redirects (bounded), compression, TLS verification on, proxy from the environment;
#   limits: timeout, per-tool concurrency, max_output while receiving (memory stays bounded),
#     retries only on connection errors, 429 and 5xx, Retry-After honoured up to the timeout;
#   connection reuse within a run; cancellation by SIGINT.
set -u

TOOLDAG=${TOOLDAG:?TOOLDAG must name the tooldag command}
TD_SRC=${TD_SRC:?TD_SRC must name the repository root}
command -v python3 >/dev/null || { echo "skip: python3 runs the test server"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq is needed to read the results"; exit 77; }

T=$(mktemp -d)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
expect_eq() { [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"; }
# expect_jq WHAT FILE FILTER: the jq filter must print true
expect_jq() { [ "$(jq -r "$3" "$2" 2>&1)" = true ] || fail "$1: $3 on $(head -c 600 "$2")"; }

# start_server NAME [ARGS...]: sets PORT; the server prints "PORT n" once it listens (Python
# may take seconds to start on a loaded machine)
start_server() {
	local name=$1 i
	shift
	python3 "$TD_SRC/tests/http_server.py" --lifetime 240 "$@" >"$T/$name.port" 2>"$T/$name.err" &
	PIDS+=($!)
	for i in $(seq 600); do
		grep -q '^PORT ' "$T/$name.port" && break
		sleep 0.1
	done
	PORT=$(awk '/^PORT/ {print $2}' "$T/$name.port")
	[ -n "$PORT" ] || { echo "cannot start the test server: $(cat "$T/$name.err")"; exit 1; }
}

start_server plain
P=$PORT
U="http://127.0.0.1:$P"

# run NAME GRAPH [ARGS...]: results in $T/NAME.out, report $T/NAME.rep, stderr $T/NAME.err
run() {
	local name=$1 graph=$2
	shift 2
	timeout 60 "$TOOLDAG" run "$graph" --report "$T/$name.rep" "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
}
content() { jq -r ".content[] | select(.tool_use_id == \"$2\") | .content" "$T/$1.out"; }
is_error() { jq -r ".content[] | select(.tool_use_id == \"$2\") | .is_error" "$T/$1.out"; }
field() { jq -r ".calls[] | select(.id == \"$2\") | .$3" "$T/$1.rep"; }

# ---- connection reuse: first, so the server has seen no other connection yet ----
cat >"$T/reuse.yaml" <<EOF
version: 1
tools:
  echo: {http: {url: "$U/echo"}, concurrency: 1}
  conns: {http: {url: "$U/conns", method: GET}, depends_on: [echo]}
calls:
$(for i in 1 2 3 4 5 6 7 8; do echo "  - {id: e$i, tool: echo, input: {i: $i}}"; done)
  - {id: n, tool: conns, input: {}}
EOF
run reuse "$T/reuse.yaml"
expect_eq "reuse exit" "$RC" 0
# nine requests one after another on one keep-alive connection
expect_eq "reuse: connections" "$(content reuse n)" '{"connections": 1}'

# ---- declaration: methods, headers, body, query, ${VAR} ----
cat >"$T/decl.yaml" <<EOF
version: 1
tools:
  post: {http: {url: "$U/echo", headers: {X-Api-Key: "k-\${TD_TEST_KEY}", X-Plain: yes}}}
  get: {http: {url: "$U/echo?fixed=1", method: get}}
  put_none: {http: {url: "$U/echo", method: PUT, body: none}}
  delete: {http: {url: "$U/echo", method: DELETE}}
  patch_query: {http: {url: "$U/echo", method: PATCH, query: from_input}}
  env_url: {http: {url: "\${TD_TEST_BASE}/echo/\${TD_TEST_KEY}"}}
calls:
  - {id: p, tool: post, input: {city: Paris, n: 2}}
  - {id: g, tool: get, input: {city: "Saint-Étienne & co", days: 3, tags: [a, b], skip: null}}
  - {id: u, tool: put_none, input: {x: 1}}
  - {id: d, tool: delete, input: {id: 7}}
  - {id: q, tool: patch_query, input: {a: "1 2"}}
  - {id: v, tool: env_url, input: {}}
EOF
TD_TEST_KEY=s3cr3t-value TD_TEST_BASE="$U" run decl "$T/decl.yaml"
expect_eq "decl exit" "$RC" 0
content decl p >"$T/p.json"
expect_jq "POST body" "$T/p.json" '.method == "POST" and .body == "{\"city\":\"Paris\",\"n\":2}"'
expect_jq "POST headers" "$T/p.json" '.headers["x-api-key"] == "k-s3cr3t-value" and .headers["x-plain"] == "yes" and .headers["content-type"] == "application/json" and (.headers | has("expect") | not)'
content decl g >"$T/g.json"
expect_jq "GET query" "$T/g.json" '.method == "GET" and .body == "" and .query == {"fixed":["1"],"city":["Saint-Étienne & co"],"days":["3"],"tags":["a","b"]}'
content decl u >"$T/u.json"
expect_jq "PUT body none" "$T/u.json" '.method == "PUT" and .body == "" and .query == {}'
content decl d >"$T/d.json"
expect_jq "DELETE query by default" "$T/d.json" '.method == "DELETE" and .query == {"id":["7"]} and .body == ""'
content decl q >"$T/q.json"
expect_jq "PATCH body and query" "$T/q.json" '.method == "PATCH" and .query == {"a":["1 2"]} and .body == "{\"a\":\"1 2\"}"'
content decl v >"$T/v.json"
expect_jq "\${VAR} in url" "$T/v.json" '.path == "/echo/s3cr3t-value"'

# a missing variable is a load error that names the variable, not a value
cat >"$T/missing.yaml" <<EOF
version: 1
tools:
  a: {http: {url: "$U/echo", headers: {Authorization: "Bearer \${TD_TEST_UNSET_VAR}"}}}
  b: {http: {url: "\${TD_TEST_UNSET_BASE}/x"}}
  c: {http: {url: "$U/\${1bad}"}}
  d: {http: {url: "\${TD_TEST_KEY}"}}
  e: {http: {url: "$U/", headers: {"Bad Name": x}}}
  f: {http: {url: "$U/", body: json}}
EOF
unset TD_TEST_UNSET_VAR TD_TEST_UNSET_BASE
TD_TEST_KEY=s3cr3t-value timeout 60 "$TOOLDAG" check "$T/missing.yaml" >"$T/missing.out" 2>&1
expect_eq "missing var exit" "$?" 2
grep -qF "tool 'a': header 'Authorization' uses \${TD_TEST_UNSET_VAR}, which is not set in the environment" "$T/missing.out" || fail "missing header var: $(cat "$T/missing.out")"
grep -qF "missing.yaml:4:19: tool 'b': url uses \${TD_TEST_UNSET_BASE}, which is not set in the environment" "$T/missing.out" || fail "missing url var: $(cat "$T/missing.out")"
grep -qF "tool 'c': url has a bad variable reference: write \${NAME} (letters, digits, '_')" "$T/missing.out" || fail "bad reference: $(cat "$T/missing.out")"
grep -qF "tool 'd': url must start with http:// or https://" "$T/missing.out" || fail "expanded url check: $(cat "$T/missing.out")"
grep -qF "tool 'e': 'Bad Name' is not a valid HTTP header name" "$T/missing.out" || fail "header name: $(cat "$T/missing.out")"
grep -qF "'body' must be 'input' (the call's input is the JSON body) or 'none', got 'json'" "$T/missing.out" || fail "body choice: $(cat "$T/missing.out")"
grep -q "s3cr3t" "$T/missing.out" && fail "a secret in the load errors: $(cat "$T/missing.out")"

# tools, plan and dot only look at the graph: they need no secrets (check and run do)
cat >"$T/nosecret.yaml" <<EOF
version: 1
tools:
  a: {http: {url: "\${TD_TEST_UNSET_BASE}/x", headers: {Authorization: "Bearer \${TD_TEST_UNSET_VAR}"}}, input_schema: {type: object}}
calls: [{id: c1, tool: a}]
EOF
for cmd in tools plan dot; do
	"$TOOLDAG" $cmd "$T/nosecret.yaml" >"$T/ns.out" 2>&1
	expect_eq "$cmd without the secrets" "$?" 0
done
"$TOOLDAG" tools "$T/nosecret.yaml" | jq -e '.[0].name == "a"' >/dev/null || fail "tools without the secrets"
for cmd in check run; do
	"$TOOLDAG" $cmd "$T/nosecret.yaml" >"$T/ns.out" 2>&1
	expect_eq "$cmd needs the secrets" "$?" 2
	grep -qF "uses \${TD_TEST_UNSET_BASE}, which is not set" "$T/ns.out" || fail "$cmd: $(cat "$T/ns.out")"
done

# ---- results: status >= 400, connection errors, timeouts; no secret anywhere ----
cat >"$T/err.yaml" <<EOF
version: 1
defaults: {retries: 2, backoff: 10ms}
tools:
  notfound: {http: {url: "$U/status/404?key=\${TD_TEST_KEY}"}}
  refused: {http: {url: "http://127.0.0.1:1/\${TD_TEST_KEY}", headers: {Authorization: "\${TD_TEST_KEY}"}}}
  slow: {http: {url: "$U/delay/3000", method: GET}, timeout: 300ms}
  cut: {http: {url: "$U/close", method: GET}}
calls:
  - {id: nf, tool: notfound, input: {}}
  - {id: rf, tool: refused, input: {}}
  - {id: sl, tool: slow, input: {}}
  - {id: ct, tool: cut, input: {}}
EOF
TD_TEST_KEY=s3cr3t-value run err "$T/err.yaml"
expect_eq "errors exit" "$RC" 0
expect_eq "404 is an error" "$(is_error err nf)" true
content err nf >"$T/nf.txt"
grep -q '^HTTP/1.1 404 Not Found: status 404 body yyyy' "$T/nf.txt" || fail "404 content: $(head -c 200 "$T/nf.txt")"
expect_eq "404 body start only" "$(($(wc -c <"$T/nf.txt") < 600))" 1
expect_eq "404 not retried" "$(field err nf attempts)" 1
content err rf >"$T/rf.txt"
grep -qx "connection error: Failed to connect to 127.0.0.1 port 1 after [0-9]* ms: Couldn't connect to server" "$T/rf.txt" || fail "refused message: $(cat "$T/rf.txt")"
expect_eq "refused retried" "$(field err rf attempts)" 3
expect_eq "timeout status" "$(field err sl status)" timeout
expect_eq "timeout message" "$(content err sl)" "timed out after 300ms"
expect_eq "timeout not retried" "$(field err sl attempts)" 1
expect_jq "timeout is prompt" "$T/err.rep" '[.calls[] | select(.id == "sl") | .end_ms - .start_ms][0] < 2500'
expect_eq "cut message" "$(content err ct)" "connection error: transfer closed with 99990 bytes remaining to read"
expect_eq "cut retried" "$(field err ct attempts)" 3
cat "$T/err.out" "$T/err.rep" "$T/err.err" | grep -q "s3cr3t" && fail "a secret in results or report"

# ---- descriptor budget: -j far above what RLIMIT_NOFILE allows; excess calls wait ----
cat >"$T/many.yaml" <<EOF
version: 1
tools:
  echo: {http: {url: "$U/echo"}}
EOF
python3 -c 'import json; print(json.dumps([{"type": "tool_use", "id": "m%d" % i, "name": "echo",
  "input": {"i": i}} for i in range(400)]))' >"$T/many.json"
(ulimit -n 64 && exec timeout 120 "$TOOLDAG" run -j 1000 "$T/many.yaml" "$T/many.json" \
	>"$T/many.out" 2>"$T/many.err")
expect_eq "budget exit" "$?" 0
expect_eq "budget: every call ok" "$(jq '[.content[] | select(.is_error == true)] | length' "$T/many.out")" 0
expect_eq "budget: every result" "$(jq '.content | length' "$T/many.out")" 400

# ---- a socket whose poll the ring refuses: curl is told, the call ends (no stall) ----
cat >"$T/nopoll.yaml" <<EOF
version: 1
tools:
  echo: {http: {url: "$U/echo"}}
calls:
  - {id: np, tool: echo, input: {}}
EOF
start=$(date +%s)
TD_TEST_HTTP_POLL_FAIL=1 run nopoll "$T/nopoll.yaml"
expect_eq "refused poll exit" "$RC" 0
expect_eq "refused poll is an error" "$(is_error nopoll np)" true
expect_eq "refused poll is prompt" "$(($(date +%s) - start < 10))" 1

# ---- retries: 5xx then success, 429 with Retry-After (waited; too long = not retried) ----
cat >"$T/retry.yaml" <<EOF
version: 1
tools:
  flaky: {http: {url: "$U/flaky/f1/2"}, retries: 3, backoff: 10ms}
  flaky_short: {http: {url: "$U/flaky/f2/5"}, retries: 1, backoff: 10ms}
  busy: {http: {url: "$U/busy/b1/1/1"}, retries: 2, backoff: 10ms}
  busy_long: {http: {url: "$U/busy/b2/1/100"}, retries: 2, timeout: 2s}
calls:
  - {id: f, tool: flaky, input: {}}
  - {id: fs, tool: flaky_short, input: {}}
  - {id: b, tool: busy, input: {}}
  - {id: bl, tool: busy_long, input: {}}
EOF
run retry "$T/retry.yaml"
expect_eq "flaky result" "$(content retry f)" '{"attempt": 3}'
expect_eq "flaky attempts" "$(field retry f attempts)" 3
expect_eq "flaky_short gives up" "$(content retry fs)" "HTTP/1.1 500 Internal Server Error: flaky failure 2"
expect_eq "busy result after Retry-After" "$(field retry b status)" ok
expect_eq "busy attempts" "$(field retry b attempts)" 2
# the second attempt waited the server's 1 s, not the 10 ms backoff
expect_jq "Retry-After honoured" "$T/retry.rep" '[.calls[] | select(.id == "b") | .attempts_detail[1].start_ms - .attempts_detail[0].end_ms][0] >= 990'
expect_eq "Retry-After past the timeout" "$(content retry bl)" "HTTP/1.1 429 Too Many Requests: slow down (Retry-After 100s is past the 2s timeout: not retried)"
expect_eq "Retry-After past the timeout: one attempt" "$(field retry bl attempts)" 1

# ---- protocol: redirects, compression, proxy from the environment ----
cat >"$T/proto.yaml" <<EOF
version: 1
tools:
  redir: {http: {url: "$U/redirect/3", method: GET}}
  loop: {http: {url: "$U/redirect/20", method: GET}, retries: 2}
  gz: {http: {url: "$U/gzip", method: GET}}
calls:
  - {id: r, tool: redir, input: {}}
  - {id: l, tool: loop, input: {}}
  - {id: z, tool: gz, input: {}}
EOF
run proto "$T/proto.yaml"
content proto r >"$T/r.json"
expect_jq "redirects followed" "$T/r.json" '.path == "/redirect/0"'
expect_eq "redirects bounded" "$(content proto l)" "request failed: Maximum (10) redirects followed"
expect_eq "redirect loop not retried" "$(field proto l attempts)" 1
content proto z >"$T/z.json"
expect_jq "gzip decoded" "$T/z.json" '.compressed == true and (.pad | length) == 5000'
cat >"$T/proxy.yaml" <<EOF
version: 1
tools:
  far: {http: {url: "http://tooldag-test.invalid/echo", method: GET}}
calls:
  - {id: x, tool: far, input: {}}
EOF
http_proxy="$U" run proxy "$T/proxy.yaml"
content proxy x >"$T/x.json"
expect_jq "proxy from the environment" "$T/x.json" '.headers.host == "tooldag-test.invalid" and .path == "/echo"'

# ---- limits: per-tool concurrency; max_output while receiving, memory bounded ----
cat >"$T/lim.yaml" <<EOF
version: 1
concurrency: 16
tools:
  slow: {http: {url: "$U/delay/200", method: GET}, concurrency: 2}
  huge: {http: {url: "$U/huge/100000000", method: GET}, max_output: 64KiB, timeout: 50s}
calls:
$(for i in 1 2 3 4 5 6; do echo "  - {id: s$i, tool: slow, input: {}}"; done)
  - {id: h, tool: huge, input: {}}
EOF
python3 - "$TOOLDAG" "$T/lim.yaml" "$T/lim.rep" "$T/lim.out" <<'EOF' >"$T/lim.rss"
import resource, subprocess, sys
with open(sys.argv[4], "w") as out:
    subprocess.run([sys.argv[1], "run", sys.argv[2], "--report", sys.argv[3]], stdout=out, timeout=60)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
expect_jq "per-tool concurrency 2" "$T/lim.rep" '[.calls[] | select(.name == "slow")] as $s | [$s[] as $c | [$s[] | select(.start_ms <= $c.start_ms and .end_ms > $c.start_ms)] | length] | max == 2'
expect_eq "huge truncated" "$(field lim h truncated)" true
expect_eq "huge ok" "$(field lim h status)" ok
content lim h >"$T/h.txt"
expect_eq "huge kept head and tail" "$(head -c 5 "$T/h.txt")$(tail -c 4 "$T/h.txt" | head -c 3)" xxxxxEND
grep -q "99934464 bytes truncated" "$T/h.txt" || fail "huge truncation marker: $(grep -o '\[[^]]*truncated[^]]*\]' "$T/h.txt")"
# 100 MB went through: peak memory far below it shows the body was never held whole
expect_eq "huge: peak RSS under 48 MB (got $(cat "$T/lim.rss") KiB)" "$(($(cat "$T/lim.rss") < 49152))" 1

# ---- TLS: verification is on (a self-signed certificate is refused) ----
if command -v openssl >/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
	start_server tls --tls "$T/cert.pem" "$T/key.pem"
	cat >"$T/tls.yaml" <<EOF
version: 1
tools:
  secure: {http: {url: "https://127.0.0.1:$PORT/echo"}, retries: 2}
calls:
  - {id: t, tool: secure, input: {}}
EOF
	run tls "$T/tls.yaml"
	expect_eq "TLS verified" "$(content tls t)" "request failed: SSL certificate problem: self-signed certificate"
	expect_eq "TLS failure not retried" "$(field tls t attempts)" 1
else
	echo "note: openssl cannot make a certificate here; TLS section skipped"
fi

# ---- cancellation: SIGINT while requests are out ----
. "$(dirname "$0")/int_default.sh"
cat >"$T/cancel.yaml" <<EOF
version: 1
tools:
  slow: {http: {url: "$U/delay/20000", method: GET}}
calls:
  - {id: c1, tool: slow, input: {}}
  - {id: c2, tool: slow, input: {}}
EOF
int_default "$TOOLDAG" run "$T/cancel.yaml" >"$T/cancel.out" 2>"$T/cancel.err" &
pid=$!
# both requests reach the server before the signal (a loaded machine may start us slowly)
for _ in $(seq 300); do
	[ "$(curl -s "$U/inflight")" = '{"inflight": 2}' ] && break
	sleep 0.1
done
kill -INT "$pid"
start=$(date +%s)
wait "$pid"
expect_eq "cancel exit" "$?" 130
expect_eq "cancel results" "$(jq -c '[.content[].content]' "$T/cancel.out")" '["cancelled","cancelled"]'
expect_eq "cancel is prompt" "$(($(date +%s) - start < 5))" 1

echo "test_http: $fails failure(s)"
[ "$fails" -eq 0 ]
