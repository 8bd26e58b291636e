#!/usr/bin/env bash
# test_pin.sh - `tooldag pin`: the servers' tools/list into the pin file, read back by check,
# tools, plan and run without starting a server; a stale or broken pin is an error naming what.
source "$TD_SRC/tests/cli/lib.sh"
BIN="$TD_SRC/node_modules/.bin"
[ -x "$BIN/mcp-server-everything" ] || { echo "FAIL: $BIN missing: run npm ci in $TD_SRC"; exit 1; }
G="$T_TMP/g.yaml"
P="$T_TMP/g.pin.json"
cat >"$G" <<YAML
version: 1
servers:
  everything: {command: [$BIN/mcp-server-everything, stdio]}
  memory: {command: [$BIN/mcp-server-memory], env: {MEMORY_FILE_PATH: $T_TMP/memory.jsonl}}
tools:
  echo: {mcp: everything}
  sum: {mcp: everything, tool: get-sum}
  read_graph: {mcp: memory}
  own:
    mcp: everything
    tool: echo
    description: the graph's own words
    input_schema: {type: object, properties: {message: {type: string, maxLength: 3}}}
YAML

# without a pin: no schemas, no error
t_run tools "$G"
t_exit 0
t_json "[t['name'] for t in d] == ['echo', 'sum', 'read_graph', 'own'] and d[0]['input_schema'] == {'type': 'object', 'properties': {}}"

t_run pin "$G"
t_exit 0
t_out_has "wrote $P"
T_COUNT=$((T_COUNT + 1))
/usr/bin/python3 -c "
import json, sys
p = json.load(open(sys.argv[1]))['servers']
assert p['everything']['protocolVersion'] == '2025-06-18'
names = [t['name'] for t in p['everything']['tools']]
assert 'echo' in names and 'get-sum' in names, names
assert 'read_graph' in [t['name'] for t in p['memory']['tools']]
" "$P" || t_fail "pin file content"

# the pinned schemas and descriptions feed tools and validation, without a server
t_run tools "$G"
t_json "d[0]['description'] == 'Echoes back the input string' and d[0]['input_schema']['required'] == ['message']"
t_json "d[0]['input_schema']['\$schema'] == 'http://json-schema.org/draft-07/schema#'"
t_json "d[3]['description'] == \"the graph's own words\" and d[3]['input_schema']['properties']['message']['maxLength'] == 3"
cat >"$T_TMP/calls.json" <<'JSON'
[{"type":"tool_use","id":"a","name":"echo","input":{"message":5}},
 {"type":"tool_use","id":"b","name":"sum","input":{"a":1,"b":2}},
 {"type":"tool_use","id":"c","name":"own","input":{"message":"long"}}]
JSON
t_run plan --json "$G" "$T_TMP/calls.json"
t_json "d['calls'][0]['error'] == 'input.message: expected string, got number' and 'error' not in d['calls'][1]"
t_json "'maxLength' in d['calls'][2]['error']"
t_run run "$G" "$T_TMP/calls.json"
t_json "d['content'][0]['is_error'] and d['content'][1]['content'] == 'The sum of 1 and 2 is 3.'"

# a tool the server no longer lists: an error at the tool, naming it and the way out
/usr/bin/python3 -c "
import json, sys
p = json.load(open(sys.argv[1]))
p['servers']['everything']['tools'] = [t for t in p['servers']['everything']['tools'] if t['name'] != 'get-sum']
json.dump(p, open(sys.argv[1], 'w'))
" "$P"
t_run check "$G"
t_exit 2
t_err_has "$G:7:3: tool 'sum': mcp server 'everything' lists no tool 'get-sum' in $P (it changed, or the pin is older than the graph: 'tooldag pin $G' writes it again)"
# refreshing loads the graph without the stale pin, and fixes it
t_run pin "$G"
t_exit 0
t_run check "$G"
t_exit 0

# at run time the pin is checked against what the server lists now: a tool whose inputSchema
# changed since the pin, or that the server no longer lists, is an error naming it; the others
# run (here the pin is edited to stand for a server that changed since it was written)
/usr/bin/python3 -c "
import json, sys
p = json.load(open(sys.argv[1]))
tools = p['servers']['everything']['tools']
echo = [t for t in tools if t['name'] == 'echo'][0]
echo['inputSchema']['properties']['loud'] = {'type': 'boolean'}
tools.append({'name': 'ghost', 'inputSchema': {'type': 'object'}})
json.dump(p, open(sys.argv[1], 'w'))
" "$P"
cat >"$T_TMP/calls.json" <<'JSON'
[{"type":"tool_use","id":"a","name":"echo","input":{"message":"hi"}},
 {"type":"tool_use","id":"b","name":"sum","input":{"a":1,"b":2}},
 {"type":"tool_use","id":"c","name":"ghost","input":{}}]
JSON
cp "$G" "$T_TMP/g.yaml.orig"
echo "  ghost: {mcp: everything}" >>"$G"
t_run run "$G" "$T_TMP/calls.json"
t_exit 0
t_json "d['content'][0]['is_error'] and d['content'][0]['content'] == \"tool 'echo': mcp server 'everything' changed the inputSchema of 'echo' since $P was written ('tooldag pin $G' writes it again)\""
t_json "d['content'][1]['content'] == 'The sum of 1 and 2 is 3.'"
t_json "d['content'][2]['content'] == \"tool 'ghost': mcp server 'everything' no longer lists 'ghost' since $P was written ('tooldag pin $G' writes it again)\""
cp "$T_TMP/g.yaml.orig" "$G"

# a pin that is not one
echo '[1, 2]' >"$P"
t_run check "$G"
t_exit 2
t_err_has "$P: not a pin file (JSON with \"servers\"): write it again with 'tooldag pin $G'"

# import: every tool a server lists, under a prefix; declared tools keep their own entry
cat >"$T_TMP/imp.yaml" <<YAML
version: 1
defaults: {timeout: 7s}
servers:
  everything: {command: [$BIN/mcp-server-everything, stdio], import: ev_}
  memory: {command: [$BIN/mcp-server-memory], env: {MEMORY_FILE_PATH: $T_TMP/m2.jsonl}, import: ''}
tools:
  ev_echo: {mcp: everything, tool: echo, description: mine}
calls:
  - {id: a, tool: ev_echo, input: {message: hi}}
  - {id: b, tool: ev_get-sum, input: {a: 2, b: 3}}
  - {id: c, tool: read_graph, input: {}}
YAML
t_run check "$T_TMP/imp.yaml"
t_exit 2
t_err_has "$T_TMP/imp.yaml:4:3: server 'everything' imports its tools, but $T_TMP/imp.pin.json does not exist: 'tooldag pin $T_TMP/imp.yaml' writes it"
t_run pin "$T_TMP/imp.yaml"
t_exit 0
t_run tools "$T_TMP/imp.yaml"
t_json "d[0]['name'] == 'ev_echo' and d[0]['description'] == 'mine'"
t_json "'ev_get-sum' in [t['name'] for t in d] and 'ev_trigger-long-running-operation' in [t['name'] for t in d]"
t_json "'read_graph' in [t['name'] for t in d] and 'create_entities' in [t['name'] for t in d]"
t_json "[t for t in d if t['name'] == 'ev_get-sum'][0]['input_schema']['required'] == ['a', 'b']"
t_run run "$T_TMP/imp.yaml"
t_json "d['content'][0]['content'] == 'Echo: hi' and d['content'][1]['content'] == 'The sum of 2 and 3 is 5.'"
t_json "json.loads(d['content'][2]['content']) == {'entities': [], 'relations': []}"

# a server that cannot be listed: no pin written, the error at the server
cat >"$T_TMP/bad.yaml" <<YAML
version: 1
servers:
  gone: {command: [no-such-mcp-server-program]}
  broken: {command: [/usr/bin/python3, $TD_SRC/tests/mcp/fake_server.py, exit-in-init]}
tools:
  t: {mcp: gone}
  u: {mcp: broken}
YAML
t_run pin "$T_TMP/bad.yaml"
t_exit 2
t_err_has "$T_TMP/bad.yaml:3:3: mcp server 'gone': cannot start 'no-such-mcp-server-program': program not found in PATH"
t_err_has "$T_TMP/bad.yaml:4:3: mcp server 'broken' exited with code 4 during initialize: fake: cannot load model weights"
T_COUNT=$((T_COUNT + 1))
[ ! -e "$T_TMP/bad.pin.json" ] || t_fail "a pin was written for servers that failed"
t_done
