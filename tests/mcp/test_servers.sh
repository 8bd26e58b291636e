#!/usr/bin/env bash
# test_servers.sh - the MCP reference servers from npm (node_modules/, installed by the
# mcp_npm_ci fixture): every kind of content, dependent calls on the filesystem and memory
# servers, a long-running operation timed out with its progress seen, results in each dialect.
source "$TD_SRC/tests/cli/lib.sh"
BIN="$TD_SRC/node_modules/.bin"
for b in mcp-server-everything mcp-server-filesystem mcp-server-memory; do
	[ -x "$BIN/$b" ] || { echo "FAIL: $BIN/$b missing: run npm ci in $TD_SRC"; exit 1; }
done
mkdir -p "$T_TMP/root"

cat >"$T_TMP/everything.yaml" <<YAML
version: 1
servers:
  everything: {command: [$BIN/mcp-server-everything, stdio]}
tools:
  echo: {mcp: everything}
  sum: {mcp: everything, tool: get-sum}
  image: {mcp: everything, tool: get-tiny-image}
  annotated: {mcp: everything, tool: get-annotated-message}
  links: {mcp: everything, tool: get-resource-links}
  reference: {mcp: everything, tool: get-resource-reference}
  structured: {mcp: everything, tool: get-structured-content}
  long: {mcp: everything, tool: trigger-long-running-operation, timeout: 4s}
  missing: {mcp: everything, tool: no-such-tool}
calls:
  - {id: e, tool: echo, input: {message: hello}}
  - {id: s, tool: sum, input: {a: 2, b: 40}}
  - {id: i, tool: image, input: {}}
  - {id: a, tool: annotated, input: {messageType: error, includeImage: true}}
  - {id: l, tool: links, input: {count: 2}}
  - {id: r, tool: reference, input: {resourceType: Text, resourceId: 1}}
  - {id: st, tool: structured, input: {location: New York}}
  - {id: lo, tool: long, input: {duration: 20, steps: 40}}
  - {id: m, tool: missing, input: {}}
YAML
t_run run "$T_TMP/everything.yaml"
t_exit 0
t_json "d['content'][0]['content'] == 'Echo: hello'"
t_json "d['content'][1]['content'] == 'The sum of 2 and 40 is 42.'"
# images: Anthropic tool_result content blocks, the image as a base64 source
t_json "[b['type'] for b in d['content'][2]['content']] == ['text', 'image', 'text'] and d['content'][2]['content'][0]['text'] == \"Here's the image you requested:\""
t_json "d['content'][2]['content'][1]['source']['type'] == 'base64' and d['content'][2]['content'][1]['source']['media_type'] == 'image/png' and len(d['content'][2]['content'][1]['source']['data']) > 1000"
t_json "d['content'][3]['content'][0] == {'type': 'text', 'text': 'Error: Operation failed'} and d['content'][3]['content'][1]['type'] == 'image'"
t_json "'[resource link: Text Resource 2 <demo://resource/dynamic/text/2> (text/plain): Resource 2: plaintext resource]' in d['content'][4]['content']"
t_json "'[resource demo://resource/dynamic/text/1 (text/plain)]\nResource 1: This is a plaintext resource' in d['content'][5]['content']"
t_json "json.loads(d['content'][6]['content']).keys() == {'temperature', 'conditions', 'humidity'}"
# the timeout fires at 4 s of a 20 s operation; progress notifications arrived on the way
t_json "d['content'][7]['is_error'] and d['content'][7]['content'].startswith('timed out after 4s (last progress ')"
t_json "'/40' in d['content'][7]['content']"
t_json "d['content'][8]['is_error'] and 'no-such-tool' in d['content'][8]['content']"

# the same batch, answered in OpenAI Chat and Responses shapes
# (OpenAI Chat: images as a text stand-in; Responses: input_text and input_image parts)
t_run run --dialect openai "$T_TMP/everything.yaml"
t_json "d[0]['role'] == 'tool' and d[0]['tool_call_id'] == 'e' and d[0]['content'] == 'Echo: hello'"
t_json "d[2]['content'].startswith(\"Here's the image you requested:\n[image: image/png, \") and 'bytes of base64 data]' in d[2]['content']"
t_run run --dialect responses "$T_TMP/everything.yaml"
t_json "d[0]['type'] == 'function_call_output' and d[0]['call_id'] == 'e' and d[0]['output'] == 'Echo: hello'"
t_json "[p['type'] for p in d[2]['output']] == ['input_text', 'input_image', 'input_text'] and d[2]['output'][1]['image_url'].startswith('data:image/png;base64,iVBOR')"
# an image larger than max_output: the text alone, with its stand-in
sed 's/image: {mcp: everything, tool: get-tiny-image}/image: {mcp: everything, tool: get-tiny-image, max_output: 1KiB}/' \
	"$T_TMP/everything.yaml" >"$T_TMP/small.yaml"
t_run run "$T_TMP/small.yaml"
t_json "d['content'][2]['content'].startswith(\"Here's the image you requested:\n[image: image/png, \")"

# many calls in flight on one connection, each matched to its own answer
{
	echo "version: 1"
	echo "servers: {everything: {command: [$BIN/mcp-server-everything, stdio]}}"
	echo "tools: {echo: {mcp: everything}}"
	echo "calls:"
	for i in $(seq 1 300); do echo "  - {id: c$i, tool: echo, input: {message: m$i}}"; done
} >"$T_TMP/many.yaml"
t_run run -j 300 "$T_TMP/many.yaml"
t_json "all(r['content'] == 'Echo: m%d' % (k + 1) for k, r in enumerate(d['content'])) and len(d['content']) == 300"

# filesystem: write then read in dependent calls; memory: create, add observations, read
cat >"$T_TMP/chain.yaml" <<YAML
version: 1
servers:
  fs: {command: [$BIN/mcp-server-filesystem, $T_TMP/root]}
  memory:
    command: [$BIN/mcp-server-memory]
    env: {MEMORY_FILE_PATH: $T_TMP/memory.jsonl}
tools:
  write_file: {mcp: fs}
  read_text_file: {mcp: fs, depends_on: [write_file]}
  create_entities: {mcp: memory}
  add_observations: {mcp: memory, depends_on: [create_entities]}
  read_graph: {mcp: memory, depends_on: [add_observations]}
calls:
  - {id: w, tool: write_file, input: {path: $T_TMP/root/note.txt, content: "written by tooldag"}}
  - {id: r, tool: read_text_file, input: {path: $T_TMP/root/note.txt}}
  - {id: missing, tool: read_text_file, input: {path: $T_TMP/root/none.txt}}
  - {id: m1, tool: create_entities, input: {entities: [{name: Paris, entityType: city, observations: [capital of France]}]}}
  - {id: m2, tool: add_observations, input: {observations: [{entityName: Paris, contents: [has the Louvre]}]}}
  - {id: m3, tool: read_graph, input: {}}
YAML
t_run run "$T_TMP/chain.yaml"
t_json "d['content'][1]['content'] == 'written by tooldag'"
t_json "d['content'][2]['is_error'] and 'ENOENT' in d['content'][2]['content']"
t_json "json.loads(d['content'][5]['content'])['entities'][0]['observations'] == ['capital of France', 'has the Louvre']"

# the example graph: two servers, dependent calls across them, a built-in beside them
t_run run "$TD_SRC/graphs/mcp.yaml"
t_exit 0
t_json "'[FILE] travel.yaml' in d['content'][0]['content'] and d['content'][1]['content'].startswith('# Planning a trip')"
t_json "'declares airline fare lookups' in d['content'][4]['content'] and not any(r.get('is_error') for r in d['content'])"
t_done
