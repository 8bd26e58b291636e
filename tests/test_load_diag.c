/* SPDX-License-Identifier: MIT */
/*
 * test_load_diag.c - the YAML graph loader on bad input: every class of diagnostic with its
 * exact message and position, several problems in one pass, cycles, bounded alias expansion,
 * mutated graphs and allocation failures. test_load.c has the good input.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load/graph.h"
#include "schema/schema.h"
#include "td_test_cpu.h"
#include "td_test_load.h"

/* ---- bounded alias expansion ---- */

static const char laughs[] = "version: 1\n"
                             "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                             "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                             "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                             "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                             "x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                             "x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                             "x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                             "x-h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                             "x-i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
                             "tools:\n"
                             "  bomb:\n"
                             "    builtin: echo\n"
                             "    input_schema: {type: object, default: *i}\n"
                             "calls:\n"
                             "  - {id: c1, tool: bomb, input: {x: *i}}\n";

START_TEST(billion_laughs)
{
	struct td_diag d = {0};
	int64_t t0 = cpu_us();

	ck_assert_int_eq(load_bad(laughs, &d), TD_EGRAPH);
	ck_assert_msg(cpu_us() - t0 < 3000000, "took %lld us of CPU", (long long)(cpu_us() - t0));
	/* reported once, where the expanded value is written; the calls' input stops at once */
	ck_assert_uint_eq(d.count, 1);
	ck_assert_diag(&d, "g.yaml:14:19: alias expansion too large");
	td_diag_clear(&d);

	/* small expansions are fine */
	td_graph_free(
	    load_ok("version: 1\n"
	            "x-a: &a [1, 2, 3]\n"
	            "x-b: &b [*a, *a, *a]\n"
	            "tools: {t: {builtin: echo, input_schema: {type: object, default: *b}}}\n"));
}
END_TEST

START_TEST(alias_depth_and_nesting)
{
	struct td_diag d = {0};
	char *yaml = malloc(700 * 40), *p = yaml;
	int i;

	/* a chain of 600 anchors, each one list deeper: expansion depth, not size */
	p += sprintf(p, "version: 1\nx-0: &a0 [x]\n");
	for (i = 1; i < 600; i++)
		p += sprintf(p, "x-%d: &a%d [*a%d]\n", i, i, i - 1);
	sprintf(p, "tools: {t: {builtin: echo, input_schema: {default: *a599}}}\n");
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_str_eq(d.items[0].message, "alias expansion too large");
	td_diag_clear(&d);

	/* nesting as written */
	p = yaml;
	p += sprintf(p, "version: 1\nx: ");
	for (i = 0; i < 300; i++)
		*p++ = '[';
	for (i = 0; i < 300; i++)
		*p++ = ']';
	strcpy(p, "\n");
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_diag(&d, "g.yaml:2:259: nesting deeper than 256 levels");
	td_diag_clear(&d);
	free(yaml);
}
END_TEST

START_TEST(unknown_alias_no_cascade)
{
	struct td_diag d = {0};

	/* the stand-in null must not add "'input_schema' must be a mapping, got nothing" */
	ck_assert_int_eq(
	    load_bad("version: 1\n"
	             "tools: {a: {builtin: echo, input_schema: *nope, timeout: *nope}}\n",
	             &d),
	    TD_EGRAPH);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_diag(&d, "g.yaml:2:42: unknown alias '*nope' (an alias must follow its complete "
	                   "&nope node)");
	td_diag_clear(&d);
}
END_TEST

START_TEST(merge_explosion)
{
	struct td_diag d = {0};
	size_t cap = 3000 * 64, off = 0;
	char *yaml = malloc(cap);
	int i;

	/* each mapping merges the previous one and adds a key: quadratic pairs, refused */
	off += (size_t)snprintf(yaml + off, cap - off, "version: 1\nx-0: &m0 {k0: 0}\n");
	for (i = 1; i < 3000; i++)
		off += (size_t)snprintf(yaml + off, cap - off, "x-%d: &m%d {<<: *m%d, k%d: 0}\n", i,
		                        i, i - 1, i);
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_str_eq(d.items[0].message, "alias expansion too large");
	td_diag_clear(&d);
	free(yaml);
}
END_TEST

/* ---- diagnostics, one class at a time ---- */

static const struct bad_case {
	const char *yaml;
	int code;
	const char *want;
} bad_cases[] = {
    /* YAML syntax */
    {"version: 1\ntools:\n  a: {run: [x]\n", TD_ESYNTAX,
     "g.yaml:4:1: did not find expected ',' or '}' (while parsing a flow mapping started at "
     "3:6)"},
    {"version: 1\ntools:\n  a: [x\n  b: 1\n", TD_ESYNTAX,
     "g.yaml:4:4: did not find expected ',' or ']' (while parsing a flow sequence started at 3:6)"},
    {"version: 1\n\ttools:\n", TD_ESYNTAX,
     "g.yaml:2:1: found a tab character that violates indentation (while scanning a plain scalar "
     "started at 1:10)"},
    {"version: 1\ntools:\n  a: {run: [x\x01]}\n", TD_ESYNTAX,
     "g.yaml:3:14: control characters are not allowed (byte 0x01)"},
    {"version: 1\ntools:\n  a: {description: \"caf\xc3\xa9 \xff\", builtin: echo}\n", TD_ESYNTAX,
     "g.yaml:3:26: invalid UTF-8 (byte 0xff)"},
    {"version: 1\ntools:\n  a: {description: x\xed\xa0\x80}\n", TD_ESYNTAX,
     "g.yaml:3:21: invalid UTF-8 (byte 0xed)"},
    /* "\0" in a double-quoted scalar would cut every C string made of it */
    {"version: 1\ntools:\n  a: {run: [\"/bin/echo\\0x\"]}\n", TD_EGRAPH,
     "g.yaml:3:13: a NUL character (\\0) in a value: graph files cannot hold NUL"},
    {"version: 1\ntools: {a: {builtin: echo}}\ncalls:\n  - {id: \"c\\0d\", tool: a}\n", TD_EGRAPH,
     "g.yaml:4:10: a NUL character (\\0) in a value: graph files cannot hold NUL"},
    /* document shape */
    {"", TD_EGRAPH, "g.yaml: empty graph file: expected 'version: 1' and 'tools:'"},
    {"# nothing\n\n", TD_EGRAPH, "g.yaml: empty graph file: expected 'version: 1' and 'tools:'"},
    {"---\n", TD_EGRAPH, "g.yaml: empty graph file: expected 'version: 1' and 'tools:'"},
    {"- version: 1\n", TD_EGRAPH,
     "g.yaml:1:1: a graph file must be a mapping with 'version: 1' and 'tools:', got a list"},
    {"hello\n", TD_EGRAPH,
     "g.yaml:1:1: a graph file must be a mapping with 'version: 1' and 'tools:', got a plain "
     "value"},
    {"version: 1\ntools: {}\n---\nversion: 1\n", TD_EGRAPH,
     "g.yaml:3:1: a graph file holds one YAML document; a second one starts here"},
    {"tools: {a: {builtin: echo}}\n", TD_EGRAPH,
     "g.yaml:1:1: missing 'version: 1' at the top of the graph file"},
    {"version: 2\ntools: {}\n", TD_EGRAPH,
     "g.yaml:1:10: unsupported version '2': this tooldag reads version 1"},
    {"version: 1\n", TD_EGRAPH,
     "g.yaml:1:1: missing 'tools': a mapping of tool names to declarations"},
    {"version: 1\ntools: [a, b]\n", TD_EGRAPH,
     "g.yaml:2:8: 'tools' must be a mapping of tool names to declarations, got a list"},
    {"version: 1\ntool: {}\n", TD_EGRAPH,
     "g.yaml:2:1: unknown key 'tool' at the top level (did you mean 'tools'?)"},
    {"version: 1\nconcurrency: 0\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:14: 'concurrency' must be a whole number from 1 to 1000000, got '0'"},
    {"version: 1\nconcurrency: many\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:14: 'concurrency' must be a whole number from 1 to 1000000, got 'many'"},
    /* duplicates */
    {"version: 1\ntools:\n  a: {builtin: echo}\n  a: {builtin: sleep}\n", TD_EGRAPH,
     "g.yaml:4:3: duplicate tool 'a' (first declared at 3:3)"},
    {"version: 1\ntools:\n  a:\n    builtin: echo\n    timeout: 1s\n    timeout: 2s\n", TD_EGRAPH,
     "g.yaml:6:5: duplicate key 'timeout' (first at 5:5)"},
    {"version: 1\nversion: 1\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:1: duplicate key 'version' (first at 1:1)"},
    {"version: 1\ntools:\n  a:\n    builtin: echo\n    input_schema: {type: object, type: "
     "string}\n",
     TD_EGRAPH, "g.yaml:5:34: duplicate key 'type' (first at 5:20)"},
    {"version: 1\ntools: {a: {builtin: echo}}\n? [x]\n: 1\n", TD_EGRAPH,
     "g.yaml:3:3: a mapping key must be a plain value, got a list"},
    {"version: 1\ntools: {a: {builtin: echo, <<: 5}}\n", TD_EGRAPH,
     "g.yaml:2:28: '<<' must merge a mapping or a list of mappings"},
    {"version: 1\ntools: {a: {builtin: echo, input_schema: *nope}}\n", TD_EGRAPH,
     "g.yaml:2:42: unknown alias '*nope' (an alias must follow its complete &nope node)"},
    {"version: 1\ntools: {a: {builtin: echo, input_schema: *nope, timeout: *nope}}\n", TD_EGRAPH,
     "g.yaml:2:58: unknown alias '*nope' (an alias must follow its complete &nope node)"},
    {"version: 1\nx: &self [*self]\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:11: unknown alias '*self' (an alias must follow its complete &self node)"},
    /* tool names and kinds */
    {"version: 1\ntools:\n  \"a\\nb\": {builtin: echo}\n", TD_EGRAPH,
     "g.yaml:3:3: invalid tool name 'a b': use 1 to 64 letters, digits, '_' or '-'"},
    {"version: 1\ntools:\n  a:\n    builtin: echo\n    timeout: |\n      5s\n      10s\n",
     TD_EGRAPH, "g.yaml:5:14: 'timeout' must be a duration like 250ms, 5s or 2m, got '5s...'"},
    {"version: 1\ntools:\n  a: {builtin: echo, timeout: "
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
     "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9}\n",
     TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got "
     "'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
     "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...'"},
    {"version: 1\ntools:\n  bad name: {builtin: echo}\n", TD_EGRAPH,
     "g.yaml:3:3: invalid tool name 'bad name': use 1 to 64 letters, digits, '_' or '-'"},
    {"version: 1\ntools:\n  "
     "a12345678901234567890123456789012345678901234567890123456789012345: {builtin: echo}\n",
     TD_EGRAPH,
     "g.yaml:3:3: invalid tool name "
     "'a12345678901234567890123456789012345678901234567890123456789012345': use 1 to 64 "
     "letters, digits, '_' or '-'"},
    {"version: 1\ntools:\n  a:\n    description: nothing to run\n", TD_EGRAPH,
     "g.yaml:3:3: tool 'a' has no kind: give one of run, http, builtin, function or mcp"},
    {"version: 1\ntools:\n  a:\n    run: [x]\n    http: {url: http://h/}\n", TD_EGRAPH,
     "g.yaml:5:5: tool 'a' has two kinds, 'run' and 'http': give exactly one"},
    {"version: 1\ntools:\n  a:\n", TD_EGRAPH,
     "g.yaml:3:5: tool 'a' must be a mapping with a kind (run, http, builtin, function or mcp), "
     "got "
     "nothing"},
    {"version: 1\ntools:\n  a: echo\n", TD_EGRAPH,
     "g.yaml:3:6: tool 'a' must be a mapping with a kind (run, http, builtin, function or mcp), "
     "got 'echo'"},
    {"version: 1\ntools:\n  a: {run: ./tool --flag}\n", TD_EGRAPH,
     "g.yaml:3:12: 'run' must be a non-empty list: the program and its arguments, like "
     "[./tools/weather, --units, metric] (no shell), got './tool --flag'"},
    {"version: 1\ntools:\n  a: {run: []}\n", TD_EGRAPH,
     "g.yaml:3:12: 'run' must be a non-empty list: the program and its arguments, like "
     "[./tools/weather, --units, metric] (no shell), got a list"},
    {"version: 1\ntools:\n  a: {run: [x, {y: 1}]}\n", TD_EGRAPH,
     "g.yaml:3:16: 'run' must be a list of strings, got a mapping"},
    {"version: 1\ntools:\n  a: {builtin: slep}\n", TD_EGRAPH,
     "g.yaml:3:16: 'builtin' must be sleep or echo, got 'slep'"},
    {"version: 1\ntools:\n  a: {function: [f]}\n", TD_EGRAPH,
     "g.yaml:3:17: 'function' must be the name a C function is registered under, got a list"},
    {"version: 1\ntools:\n  a: {http: {method: GET}}\n", TD_EGRAPH,
     "g.yaml:3:7: http of tool 'a' needs a 'url'"},
    {"version: 1\ntools:\n  a: {http: http://x/}\n", TD_EGRAPH,
     "g.yaml:3:13: 'http' must be a mapping like {url: \"http://host/path\", method: POST}, "
     "got 'http://x/'"},
    {"version: 1\ntools:\n  a: {http: {url: ftp://x/}}\n", TD_EGRAPH,
     "g.yaml:3:19: 'url' must be a URL starting with http:// or https://, got 'ftp://x/'"},
    {"version: 1\ntools:\n  a: {http: {url: http://x/, method: FETCH}}\n", TD_EGRAPH,
     "g.yaml:3:38: 'method' must be one of GET, POST, PUT, PATCH, DELETE, got 'FETCH'"},
    {"version: 1\ntools:\n  a: {http: {url: http://x/, header: {}}}\n", TD_EGRAPH,
     "g.yaml:3:30: unknown key 'header' in http of tool 'a' (did you mean 'headers'?)"},
    {"version: 1\ntools:\n  a: {http: {url: http://x/, headers: [a]}}\n", TD_EGRAPH,
     "g.yaml:3:39: 'headers' must be a mapping of header names to values, got a list"},
    /* unknown keys */
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    timout: 5s\n", TD_EGRAPH,
     "g.yaml:5:5: unknown key 'timout' in tool 'x' (did you mean 'timeout'?)"},
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    colour: red\n", TD_EGRAPH,
     "g.yaml:5:5: unknown key 'colour' in tool 'x'"},
    {"version: 1\ndefaults: {retrys: 1}\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:12: unknown key 'retrys' in defaults (did you mean 'retries'?)"},
    {"version: 1\ndefaults: {run: [x]}\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:12: unknown key 'run' in defaults"},
    {"version: 1\ndefaults: 5s\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:11: 'defaults' must be a mapping of limits, got '5s'"},
    /* values */
    {"version: 1\ntools:\n  x: {builtin: echo, timeout: fast}\n", TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got 'fast'"},
    {"version: 1\ntools:\n  x: {builtin: echo, timeout: -1s}\n", TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got '-1s'"},
    {"version: 1\ntools:\n  x: {builtin: echo, backoff: [1s]}\n", TD_EGRAPH,
     "g.yaml:3:31: 'backoff' must be a duration like 250ms, 5s or 2m, got a list"},
    {"version: 1\ntools:\n  x: {builtin: echo, timeout: 999999999h}\n", TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got '999999999h'"},
    {"version: 1\ntools:\n  x: {builtin: echo, rate: 10/fortnight}\n", TD_EGRAPH,
     "g.yaml:3:28: 'rate' must be a rate like 10/s, 100/m or 3/250ms, got '10/fortnight'"},
    {"version: 1\ntools:\n  x: {builtin: echo, max_output: 1TB}\n", TD_EGRAPH,
     "g.yaml:3:34: 'max_output' must be a size like 64KiB, 1MiB or 65536 (bytes), got '1TB'"},
    {"version: 1\ntools:\n  x: {builtin: echo, retries: 101}\n", TD_EGRAPH,
     "g.yaml:3:31: 'retries' must be a whole number from 0 to 100, got '101'"},
    {"version: 1\ntools:\n  x: {builtin: echo, concurrency: -1}\n", TD_EGRAPH,
     "g.yaml:3:35: 'concurrency' must be a whole number, 0 for no per-tool limit, got '-1'"},
    {"version: 1\ntools:\n  x: {builtin: echo, on_dependency_failure: ignore}\n", TD_EGRAPH,
     "g.yaml:3:45: 'on_dependency_failure' must be skip or run, got 'ignore'"},
    {"version: 1\ntools:\n  x: {builtin: echo, inherit_env: yes}\n", TD_EGRAPH,
     "g.yaml:3:35: 'inherit_env' must be true or false, got 'yes'"},
    {"version: 1\ntools:\n  x: {builtin: echo, stdin: json}\n", TD_EGRAPH,
     "g.yaml:3:29: 'stdin' must be input or envelope, got 'json'"},
    {"version: 1\ntools:\n  x: {builtin: echo, env: [A=1]}\n", TD_EGRAPH,
     "g.yaml:3:27: 'env' must be a mapping of variable names to values, got a list"},
    {"version: 1\ntools:\n  x: {builtin: echo, env: {A: {b: 1}}}\n", TD_EGRAPH,
     "g.yaml:3:31: 'A' must be a plain value, got a mapping"},
    {"version: 1\ntools:\n  x: {builtin: echo, env: {A=B: 1}}\n", TD_EGRAPH,
     "g.yaml:3:27: invalid environment variable name 'A=B'"},
    {"version: 1\ntools:\n  x: {builtin: echo, cwd: ''}\n", TD_EGRAPH,
     "g.yaml:3:27: 'cwd' must be a directory, got ''"},
    {"version: 1\ntools:\n  x: {builtin: echo, description: {a: 1}}\n", TD_EGRAPH,
     "g.yaml:3:35: 'description' must be a string, got a mapping"},
    {"version: 1\ntools:\n  x: {builtin: echo, input_schema: object}\n", TD_EGRAPH,
     "g.yaml:3:36: 'input_schema' must be a mapping (a JSON Schema), got 'object'"},
    /* a schema's mistake is placed where it is, through its path (keys, odd keys) */
    {"version: 1\ntools:\n  b:\n    builtin: echo\n    input_schema:\n      type: object\n"
     "      properties:\n        n:\n          type: integer\n          minimum: x\n",
     TD_EGRAPH, "g.yaml:10:20: tool 'b': input_schema.properties.n.minimum: must be a number"},
    {"version: 1\ntools:\n  b:\n    builtin: echo\n    input_schema:\n      properties:\n"
     "        \"odd key\": {type: [string,\n                          strng]}\n",
     TD_EGRAPH,
     "g.yaml:7:27: tool 'b': input_schema.properties[\"odd key\"].type: unknown type 'strng' "
     "(did you mean 'string'?)"},
    {"version: 1\ntools: {e: {builtin: echo}}\ncalls: []\n", TD_EGRAPH,
     "g.yaml:3:8: 'calls' is an empty list: give at least one call, or leave 'calls' out and "
     "pass the calls on the command line"},
    /* a value left out: the comma ended the description (the key is where it points) */
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    input_schema:\n      properties:\n"
     "        date: {type: string, description: day, YYYY-MM-DD}\n",
     TD_EGRAPH,
     "g.yaml:7:48: tool 'x': 'YYYY-MM-DD' in input_schema has no value (a comma ends a value "
     "inside {...}: quote text that holds one; write null for null)"},
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    input_schema:\n      type: object\n"
     "      title:\n",
     TD_EGRAPH,
     "g.yaml:7:7: tool 'x': 'title' in input_schema has no value (a comma ends a value "
     "inside {...}: quote text that holds one; write null for null)"},
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    input_schema:\n"
     "      oneOf: [{type: string}, {const: 1, default}]\n",
     TD_EGRAPH,
     "g.yaml:6:42: tool 'x': 'default' in input_schema has no value (a comma ends a value "
     "inside {...}: quote text that holds one; write null for null)"},
    /* dependencies */
    {"version: 1\ntools:\n  fetch_weather: {run: [w]}\n"
     "  lookup_pollen: {run: [p], depends_on: [fetch_wether]}\n",
     TD_EGRAPH,
     "g.yaml:4:42: tool 'lookup_pollen' depends on unknown tool 'fetch_wether' (did you mean "
     "'fetch_weather'?)"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: [zzz]}\n", TD_EGRAPH,
     "g.yaml:3:30: tool 'a' depends on unknown tool 'zzz'"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: b}\n", TD_EGRAPH,
     "g.yaml:3:29: 'depends_on' must be a list of tool names like [fetch_weather], got 'b'"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: [[b]]}\n", TD_EGRAPH,
     "g.yaml:3:30: 'depends_on' must be a list of tool names, got a list"},
    {"version: 1\ntools:\n  fetch_weather: {run: [w], depends_on: [lookup_pollen]}\n"
     "  lookup_pollen: {run: [p], depends_on: [fetch_weather]}\n",
     TD_ECYCLE, "g.yaml:3:42: dependency cycle: fetch_weather -> lookup_pollen -> fetch_weather"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: [a]}\n", TD_ECYCLE,
     "g.yaml:3:30: dependency cycle: a -> a"},
    /* calls */
    {"version: 1\ntools: {}\ncalls: {id: x}\n", TD_EGRAPH,
     "g.yaml:3:8: 'calls' must be a list of {id, tool, input}, got a mapping"},
    {"version: 1\ntools: {}\ncalls: [x]\n", TD_EGRAPH,
     "g.yaml:3:9: call #1 must be a mapping {id, tool, input}, got 'x'"},
    {"version: 1\ntools: {}\ncalls:\n  - {tool: a}\n", TD_EGRAPH,
     "g.yaml:4:5: call #1 needs an 'id'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1}\n", TD_EGRAPH,
     "g.yaml:4:5: call #1 needs a 'tool'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: [c1], tool: a}\n", TD_EGRAPH,
     "g.yaml:4:10: 'id' of call #1 must be a string, got a list"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, input: 5}\n", TD_EGRAPH,
     "g.yaml:4:30: 'input' of call #1 must be a mapping, got '5'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, depends_on: c0}\n", TD_EGRAPH,
     "g.yaml:4:35: 'depends_on' of call #1 must be a list of call ids, got 'c0'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, name: a}\n", TD_EGRAPH,
     "g.yaml:4:14: unknown key 'name' in call (did you mean 'tool'? a graph's calls are {id, "
     "tool, input, depends_on})"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, arguments: {}}\n", TD_EGRAPH,
     "g.yaml:4:23: unknown key 'arguments' in call (did you mean 'input'? a graph's calls are "
     "{id, tool, input, depends_on})"},
    {"version: 1\ntools: {}\ncalls:\n  - {type: tool_use, id: c1, tool: a}\n", TD_EGRAPH,
     "g.yaml:4:6: unknown key 'type' in call (a graph's calls are {id, tool, input, "
     "depends_on}, not API blocks)"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, inputs: {}}\n", TD_EGRAPH,
     "g.yaml:4:23: unknown key 'inputs' in call (did you mean 'input'?)"},
};

START_TEST(each_diagnostic)
{
	const struct bad_case *c = &bad_cases[_i];

	expect_one(c->yaml, c->code, c->want);
}
END_TEST

/* Schemas are checked by td__schema_check() (src/schema); whatever it says is reported. */
START_TEST(schema_problems)
{
	struct td_diag d = {0};
	cJSON *schema = cJSON_Parse("{\"type\":\"objekt\"}");
	char err[256] = "", want[512];

	if (td__schema_check(schema, err, sizeof(err)) == 0) {
		cJSON_Delete(schema);
		td_graph_free(load_ok("version: 1\ntools: {a: {builtin: echo, input_schema: "
		                      "{type: objekt}}}\n"));
		return; /* the stand-in checker accepts everything */
	}
	cJSON_Delete(schema);
	ck_assert_int_eq(load_bad("version: 1\ntools: {a: {builtin: echo, input_schema: "
	                          "{type: objekt}}}\n",
	                          &d),
	                 TD_EGRAPH);
	/* at the bad value itself, which the checker's path leads to */
	if (strncmp(err, "input_schema", 12) == 0)
		snprintf(want, sizeof(want), "g.yaml:2:49: tool 'a': %s", err);
	else
		snprintf(want, sizeof(want), "g.yaml:2:42: input_schema of tool 'a': %s", err);
	ck_assert_diag(&d, want);
	td_diag_clear(&d);
}
END_TEST

START_TEST(all_in_one_pass)
{
	struct td_diag d = {0};
	static const char yaml[] = "version: 1\n"
	                           "defaults: {timout: 5s}\n"
	                           "tools:\n"
	                           "  fetch_weather:\n"
	                           "    run: [./w]\n"
	                           "    timeout: fast\n"
	                           "    depends_on: [lookup_pollen]\n"
	                           "  lookup_pollen:\n"
	                           "    run: [./p]\n"
	                           "    builtin: echo\n"
	                           "    depends_on: [fetch_wether, fetch_weather]\n"
	                           "  lookup_pollen:\n"
	                           "    run: [./q]\n"
	                           "  idle:\n"
	                           "    retries: lots\n";

	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_diag(&d, "g.yaml:12:3: duplicate tool 'lookup_pollen' (first declared at 8:3)");
	ck_assert_diag(&d,
	               "g.yaml:2:12: unknown key 'timout' in defaults (did you mean 'timeout'?)");
	ck_assert_diag(
	    &d, "g.yaml:6:14: 'timeout' must be a duration like 250ms, 5s or 2m, got 'fast'");
	ck_assert_diag(&d, "g.yaml:10:5: tool 'lookup_pollen' has two kinds, 'run' and 'builtin': "
	                   "give exactly one");
	ck_assert_diag(&d, "g.yaml:15:14: 'retries' must be a whole number from 0 to 100, got "
	                   "'lots'");
	ck_assert_diag(&d, "g.yaml:14:3: tool 'idle' has no kind: give one of run, http, builtin, "
	                   "function or mcp");
	ck_assert_diag(&d, "g.yaml:11:18: tool 'lookup_pollen' depends on unknown tool "
	                   "'fetch_wether' (did you mean 'fetch_weather'?)");
	ck_assert_diag(&d, "g.yaml:7:18: dependency cycle: fetch_weather -> lookup_pollen -> "
	                   "fetch_weather");
	ck_assert_uint_eq(d.count, 8);
	ck_assert_int_eq(d.code, TD_EGRAPH);
	td_diag_clear(&d);
}
END_TEST

START_TEST(cycles_normalised)
{
	struct td_diag d = {0};

	/* the search enters at q, but the report starts at the earliest-declared tool, q */
	ck_assert_int_eq(load_bad("version: 1\n"
	                          "tools:\n"
	                          "  p: {builtin: echo, depends_on: [r]}\n"
	                          "  q: {builtin: echo, depends_on: [r]}\n"
	                          "  r: {builtin: echo, depends_on: [q]}\n",
	                          &d),
	                 TD_ECYCLE);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_diag(&d, "g.yaml:4:35: dependency cycle: q -> r -> q");
	td_diag_clear(&d);

	/* two cycles through b: both reported */
	ck_assert_int_eq(load_bad("version: 1\n"
	                          "tools:\n"
	                          "  a: {builtin: echo, depends_on: [b]}\n"
	                          "  b: {builtin: echo, depends_on: [c]}\n"
	                          "  c: {builtin: echo, depends_on: [b, a]}\n",
	                          &d),
	                 TD_ECYCLE);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_diag(&d, "g.yaml:4:35: dependency cycle: b -> c -> b");
	ck_assert_diag(&d, "g.yaml:3:35: dependency cycle: a -> b -> c -> a");
	ck_assert_int_eq(d.items[0].code, TD_ECYCLE);
	td_diag_clear(&d);

	/* a diamond is not a cycle */
	td_graph_free(load_ok("version: 1\n"
	                      "tools:\n"
	                      "  a: {builtin: echo, depends_on: [b, c]}\n"
	                      "  b: {builtin: echo, depends_on: [d]}\n"
	                      "  c: {builtin: echo, depends_on: [d]}\n"
	                      "  d: {builtin: echo}\n"));
}
END_TEST

START_TEST(diag_limit)
{
	struct td_diag d = {.limit = 3};
	char yaml[4096] = "version: 1\ntools:\n";
	int i;

	for (i = 0; i < 10; i++)
		snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "  t%d: {}\n", i);
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_uint_eq(d.count, 3);
	ck_assert_uint_eq(d.dropped, 7);
	td_diag_clear(&d);
}
END_TEST

START_TEST(null_diag_and_args)
{
	struct td_graph *g = NULL;

	ck_assert_int_eq(td_graph_load_buffer("version: 1\n", 11, NULL, NULL, &g, NULL), TD_EGRAPH);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(td_graph_load_buffer(NULL, 3, NULL, NULL, &g, NULL), TD_EINVAL);
	ck_assert_int_eq(td_graph_load_buffer("x", 1, NULL, NULL, NULL, NULL), TD_EINVAL);
	ck_assert_int_eq(td_graph_load_file(NULL, &g, NULL), TD_EINVAL);
	ck_assert_uint_eq(td_graph_tool_count(NULL), 0);
	ck_assert_ptr_null(td_graph_tool_name(NULL, 0));
	ck_assert_int_eq(td_graph_tool_find(NULL, "a"), TD_ENOTFOUND);
	ck_assert_int_eq(td_graph_has_calls(NULL), 0);
	td_graph_free(NULL);
}
END_TEST

START_TEST(buffer_names_and_dirs)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	char cwd[PATH_MAX];
	static const char text[] = "version: 1\ntools: {a: {builtin: echo, cwd: .}}\nJUNK";

	/* not NUL-terminated: len stops before JUNK */
	ck_assert_int_eq(td_graph_load_buffer(text, strlen(text) - 4, NULL, NULL, &g, &d), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_str_eq(g->dir, cwd);
	ck_assert_str_eq(g->tools[0].cwd, cwd);
	ck_assert_str_eq(g->name, "<buffer>");
	td_graph_free(g);

	ck_assert_int_eq(td_graph_load_buffer("", 0, NULL, NULL, &g, &d), TD_EGRAPH);
	ck_assert_str_eq(d.items[0].file, "<buffer>");
	td_diag_clear(&d);

	ck_assert_int_eq(
	    td_graph_load_buffer(text, strlen(text) - 4, "mine", "/nonexistent/dir", &g, &d), 0);
	ck_assert_str_eq(g->dir, "/nonexistent/dir");
	ck_assert_str_eq(g->tools[0].cwd, "/nonexistent/dir");
	td_graph_free(g);
}
END_TEST

/* Every allocation failure point: clean failure, no leak (the ASan build checks). */
START_TEST(allocation_failures)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	long n, total, fails = 0;
	int rc;

	td__alloc_fail_at(0);
	ck_assert_int_eq(td_graph_load_buffer(weather, strlen(weather), "g.yaml", "/tmp", &g, &d),
	                 0);
	total = td__alloc_fail_at(0);
	td_graph_free(g);
	ck_assert_int_gt(total, 50);
	for (n = 1; n <= total; n++) {
		g = NULL;
		td__alloc_fail_at(n);
		rc = td_graph_load_buffer(weather, strlen(weather), "g.yaml", "/tmp", &g, &d);
		td__alloc_fail_at(0);
		td_diag_clear(&d);
		/* a few failures are absorbed (arrays reserved up front just grow later) */
		ck_assert_msg(rc == 0 || rc == TD_ENOMEM, "n=%ld rc=%s", n, td_errname(rc));
		ck_assert(rc == 0 ? g != NULL : g == NULL);
		fails += rc != 0;
		td_graph_free(g);
	}
	ck_assert_int_gt(fails, total / 2);
}
END_TEST

/* A small deterministic generator, so a failing mutation can be replayed. */
static uint32_t next_rand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Inserts, deletes or overwrites a few bytes of text (cap bytes of room). */
static size_t mutate(char *text, size_t len, size_t cap, uint32_t *rs)
{
	static const char *const tokens[] = {
	    "&a ",           "*a", "<<: ", "[",    "]",  "{",     "}",      ": ", "\n  ", "- ",
	    "depends_on: [", "'",  "\"",   "\xff", "\t", "---\n", "!!str ", "? ", "~",    "\0"};
	size_t pos, k, muts = 1 + next_rand(rs) % 4, m;
	const char *t;

	for (m = 0; m < muts; m++) {
		pos = len ? next_rand(rs) % len : 0;
		switch (next_rand(rs) % 3) {
		case 0:
			if (len)
				text[pos] = (char)next_rand(rs);
			break;
		case 1:
			k = 1 + next_rand(rs) % 8;
			k = k > len - pos ? len - pos : k;
			memmove(text + pos, text + pos + k, len - pos - k);
			len -= k;
			break;
		default:
			t = tokens[next_rand(rs) % TD__ARRAY_SIZE(tokens)];
			k = *t ? strlen(t) : 1;
			if (len + k > cap)
				break;
			memmove(text + pos + k, text + pos, len - pos);
			memcpy(text + pos, t, k);
			len += k;
		}
	}
	return len;
}

/* Damaged graphs never crash, leak or report nothing; every message is one line. */
START_TEST(mutations)
{
	size_t cap = sizeof(weather) + 4096, len, i;
	char *text = malloc(cap), *json;
	uint32_t rs = 0x9e3779b9u;
	struct td_diag d = {0};
	struct td_graph *g;
	int n, rc;

	ck_assert_ptr_nonnull(text);
	for (n = 0; n < 3000; n++) {
		memcpy(text, weather, sizeof(weather) - 1);
		len = mutate(text, sizeof(weather) - 1, cap, &rs);
		g = NULL;
		rc = td_graph_load_buffer(text, len, "m.yaml", "/tmp", &g, &d);
		ck_assert_msg((rc == 0) == (g != NULL), "mutation %d: rc %d", n, rc);
		ck_assert_msg(rc == 0 || d.count > 0, "mutation %d: no diagnostic", n);
		for (i = 0; i < d.count; i++) {
			ck_assert_ptr_null(strchr(d.items[i].message, '\n'));
			ck_assert(d.items[i].line > 0 || d.items[i].column == 0);
		}
		if (g) {
			ck_assert_int_eq(
			    td_graph_tools_json(g, (enum td_dialect)(n % 4), n & 1, &json), 0);
			free(json);
		}
		td_diag_clear(&d);
		td_graph_free(g);
	}
	free(text);
}
END_TEST

static Suite *load_diag_suite(void)
{
	Suite *s = suite_create("load_diag");
	TCase *tc = tcase_create("bad");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, each_diagnostic, 0, (int)TD__ARRAY_SIZE(bad_cases));
	tcase_add_test(tc, all_in_one_pass);
	tcase_add_test(tc, schema_problems);
	tcase_add_test(tc, cycles_normalised);
	tcase_add_test(tc, diag_limit);
	tcase_add_test(tc, null_diag_and_args);
	tcase_add_test(tc, buffer_names_and_dirs);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, billion_laughs);
	tcase_add_test(tc, alias_depth_and_nesting);
	tcase_add_test(tc, merge_explosion);
	tcase_add_test(tc, unknown_alias_no_cascade);
	tcase_add_test(tc, mutations);
	tcase_add_test(tc, allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(load_diag_suite());
}
