/* SPDX-License-Identifier: MIT */
/*
 * decl_tool.c - each tool of `tools:`: its keys, read through one table, and its kind, given
 * by exactly one of the keys in the table of kinds.
 */
#include <stdio.h>
#include <string.h>

#include "schema/schema.h"
#include "load/decl.h"

/* ---- tool keys ---- */

static void key_description(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                            uint32_t val)
{
	const char *s = td__decl_text(L, val);

	if (!s) {
		td__decl_bad_value(L, key, val, "a string");
		return;
	}
	td__free(c->t->description); /* an empty description is allowed */
	c->t->description = td__decl_dup(L, s);
}

/*
 * The first key in a schema whose value was left out ("x:", or "c" in "{a: b, c}"), or
 * TD__YNONE. That is a slip of YAML, hardly ever meant: in a flow mapping a comma ends a
 * plain value, so `{description: departure day, YYYY-MM-DD}` is a description and a keyword
 * "YYYY-MM-DD" that JSON Schema ignores and the model is sent. `null` says null on purpose.
 * The tree was converted under the alias budget already, so this walk is bounded by it too.
 */
static uint32_t schema_blank(const struct td__loader *L, uint32_t n)
{
	const struct td__ynode *y = NODE(L, n);
	uint32_t k, v, found;

	if (y->type == TD_Y_SEQ) {
		for (k = 0; k < y->len; k++)
			if ((found = schema_blank(L, KID(L, n, k))) != TD__YNONE)
				return found;
	} else if (y->type == TD_Y_MAP) {
		for (k = 0; k < PAIRS(L, n); k++) {
			v = KID(L, n, 2 * k + 1);
			if (NODE(L, v)->type == TD_Y_NULL && NODE(L, v)->len == 0 &&
			    !NODE(L, v)->stand_in)
				return KID(L, n, 2 * k);
			if ((found = schema_blank(L, v)) != TD__YNONE)
				return found;
		}
	}
	return TD__YNONE;
}

/*
 * The node a schema checker's message is about: its path ("input_schema.properties.n.minimum",
 * "input_schema.properties[\"odd key\"].type") followed from the schema's node as far as it
 * goes, so the diagnostic points at the mistake rather than at the schema's first line.
 */
static uint32_t schema_node(const struct td__loader *L, uint32_t n, const char *msg)
{
	const char *p = msg + strlen("input_schema"), *end;
	uint32_t k, next;
	size_t len;

	while (*p == '.' || (p[0] == '[' && p[1] == '"')) {
		if (*p == '.') {
			p++;
			end = p + (len = strcspn(p, ".[:"));
		} else if ((end = strstr(p + 2, "\"]"))) {
			p += 2;
			len = (size_t)(end - p);
			end += 2;
		} else {
			break;
		}
		next = TD__YNONE;
		for (k = 0; NODE(L, n)->type == TD_Y_MAP && k < PAIRS(L, n); k++) {
			const char *key = td__decl_key(L, KID(L, n, 2 * k));

			if (strlen(key) == len && memcmp(key, p, len) == 0)
				next = KID(L, n, 2 * k + 1);
		}
		if (next == TD__YNONE)
			break;
		n = next;
		p = end;
	}
	return n;
}

static void key_input_schema(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                             uint32_t val)
{
	char err[256] = "";
	uint32_t blank;

	if (NODE(L, val)->type != TD_Y_MAP) {
		td__decl_bad_value(L, key, val, "a mapping (a JSON Schema)");
		return;
	}
	c->t->schema =
	    td__decl_schema_json(L, val); /* the arena's: nothing to free (key given once) */
	if (!c->t->schema)
		return;
	if ((blank = schema_blank(L, val)) != TD__YNONE) {
		td__load_error(L, blank,
		               "tool '%s': '%s' in input_schema has no value (a comma ends a value "
		               "inside {...}: quote text that holds one; write null for null)",
		               c->t->name, td__decl_key(L, blank));
		return;
	}
	if (td__schema_check(c->t->schema, err, sizeof(err)) == 0)
		return;
	/* the checker may already say where: "input_schema.type: unknown type ..." */
	if (strncmp(err, "input_schema", 12) == 0)
		td__load_error(L, schema_node(L, val, err), "tool '%s': %s", c->t->name, err);
	else
		td__load_error(L, val, "input_schema of tool '%s': %s", c->t->name, err);
}

static void key_depends_on(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                           uint32_t val)
{
	uint32_t k;

	if (NODE(L, val)->type != TD_Y_SEQ) {
		td__decl_bad_value(L, key, val, "a list of tool names like [fetch_weather]");
		return;
	}
	for (k = 0; k < NODE(L, val)->len; k++) {
		if (!td__decl_text(L, KID(L, val, k))) {
			td__decl_bad_value(L, key, KID(L, val, k), "a list of tool names");
			return;
		}
	}
	L->depends[c->index] = val;
}

static void key_run(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	const struct td__ynode *n = NODE(L, val);
	uint32_t k;
	const char *s;

	if (!td__decl_set_kind(L, c, key, TD_KIND_RUN))
		return;
	if (n->type != TD_Y_SEQ || n->len == 0) {
		td__decl_bad_value(
		    L, key, val,
		    "a non-empty list: the program and its arguments, like [./tools/weather, "
		    "--units, metric] (no shell)");
		return;
	}
	c->t->argv = td__calloc(n->len + 1, sizeof(char *));
	if (!c->t->argv) {
		L->oom = true;
		return;
	}
	for (k = 0; k < n->len; k++) {
		s = td__decl_text(L, KID(L, val, k));
		if (!s) {
			td__decl_bad_value(L, key, KID(L, val, k), "a list of strings");
			continue;
		}
		c->t->argv[c->t->argc++] = td__decl_dup(L, s);
	}
}

static void key_builtin(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	static const char *const builtins[] = {"sleep", "echo", NULL};
	const char *s = td__decl_text(L, val);
	int which = s ? td__decl_word(s, builtins) : -1;

	if (!td__decl_set_kind(L, c, key, TD_KIND_BUILTIN))
		return;
	if (which < 0)
		td__decl_bad_value(L, key, val, "sleep or echo");
	else
		c->t->builtin = which == 0 ? TD_BUILTIN_SLEEP : TD_BUILTIN_ECHO;
}

static void key_function(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	if (td__decl_set_kind(L, c, key, TD_KIND_FUNCTION))
		td__decl_string(L, key, val, "the name a C function is registered under",
		                &c->t->function);
}

static void key_env(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	size_t i;

	if (!td__decl_kv(L, key, val, "a mapping of variable names to values", &c->t->env,
	                 &c->t->nenv))
		return;
	for (i = 0; i < c->t->nenv; i++)
		if (c->t->env[i].key && (!*c->t->env[i].key || strchr(c->t->env[i].key, '=')))
			td__load_error(L, val, "invalid environment variable name '%s'",
			               c->t->env[i].key);
}

static void key_cwd(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	td__decl_string(L, key, val, "a directory", &c->t->cwd);
}

static void key_inherit_env(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                            uint32_t val)
{
	if (NODE(L, val)->type == TD_Y_BOOL)
		c->t->inherit_env = NODE(L, val)->boolean;
	else
		td__decl_bad_value(L, key, val, "true or false");
}

static void key_stdin(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	const char *s = td__decl_text(L, val);

	if (s && strcmp(s, "input") == 0)
		c->t->stdin_mode = TD_STDIN_INPUT;
	else if (s && strcmp(s, "envelope") == 0)
		c->t->stdin_mode = TD_STDIN_ENVELOPE;
	else
		td__decl_bad_value(L, key, val, "input or envelope");
}

static void key_limits(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	char where[100];

	snprintf(where, sizeof(where), "in 'limits' of tool '%s'", c->t->name);
	c->limits_key = key;
	td__decl_rlimits(L, key, val, where, c->t->lim.rlimit);
}

/*
 * The tool kinds: a kind is given by exactly one key of a tool; `a` names a tool of the kind
 * in messages. A new kind is a value of enum td__kind and a row here.
 */
static const struct {
	const char *key;
	const char *a;
	td__tool_key_fn *fn;
} kinds[] = {
    [TD_KIND_RUN] = {"run", "a run:", key_run},
    [TD_KIND_HTTP] = {"http", "an http:", td__decl_http},
    [TD_KIND_BUILTIN] = {"builtin", "a builtin:", key_builtin},
    [TD_KIND_FUNCTION] = {"function", "a function:", key_function},
    [TD_KIND_MCP] = {"mcp", "an mcp:", td__decl_mcp},
};

_Static_assert(TD__ARRAY_SIZE(kinds) == TD_KIND_COUNT, "a tool kind without its row in kinds");

bool td__decl_set_kind(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                       enum td__kind kind)
{
	if (c->t->kind != TD_KIND_NONE) {
		td__load_error(L, key, "tool '%s' has two kinds, '%s' and '%s': give exactly one",
		               c->t->name, kinds[c->t->kind].key, kinds[kind].key);
		return false;
	}
	c->t->kind = kind;
	c->kind_key = key;
	return true;
}

/* "run, http, builtin or function" into buf. */
static const char *kind_list(char *buf, size_t len)
{
	size_t i, at = 0;
	int n;

	buf[0] = '\0';
	for (i = 1; i < TD_KIND_COUNT && at < len; i++) {
		n = snprintf(buf + at, len - at, "%s%s",
		             i == 1                  ? ""
		             : i + 1 < TD_KIND_COUNT ? ", "
		                                     : " or ",
		             kinds[i].key);
		if (n < 0)
			break;
		at += (size_t)n;
	}
	return buf;
}

/*
 * `limits` on a tool that starts no process is an error, not a warning: the loader has no
 * warning channel, and a limit silently ignored would let the author believe the tool is
 * capped. Limits in `defaults` are fine: they apply to the run: tools among all tools.
 */
static void check_limits_kind(struct td__loader *L, const struct td__tool_decl *c)
{
	if (c->limits_key == TD__YNONE || c->t->kind == TD_KIND_NONE || c->t->kind == TD_KIND_RUN)
		return;
	td__load_error(L, c->limits_key,
	               "'limits' applies to run: tools only (setrlimit on the child process); "
	               "tool '%s' is %s tool, which starts no process",
	               c->t->name, kinds[c->t->kind].a);
}

static void key_remote(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	char who[100];

	snprintf(who, sizeof(who), "tool '%s'", c->t->name);
	td__decl_remote(L, key, val, who, &c->t->lim);
}

/* A tool's keys other than its kind's and the limits of td__decl_limit. */
static const struct {
	const char *name;
	td__tool_key_fn *fn;
} tool_keys[] = {
    {"description", key_description},
    {"input_schema", key_input_schema},
    {"depends_on", key_depends_on},
    {"env", key_env},
    {"cwd", key_cwd},
    {"inherit_env", key_inherit_env},
    {"stdin", key_stdin},
    {"limits", key_limits},
    {"tool", td__decl_mcp_tool},
    {"remote", key_remote},
};

/* Every key a tool may have, for did-you-mean (the first of two equally close ones wins). */
static const char *const all_tool_keys[] = {
    "description", "input_schema", "depends_on",
    "run",         "http",         "builtin",
    "function",    "env",          "cwd",
    "inherit_env", "stdin",        "timeout",
    "concurrency", "rate",         "retries",
    "backoff",     "max_output",   "on_dependency_failure",
    "limits",      "mcp",          "tool",
    "remote",      "estimate",     "scope",
    NULL,
};

static td__tool_key_fn *tool_key_fn(const char *k)
{
	size_t i;

	for (i = 1; i < TD_KIND_COUNT; i++)
		if (strcmp(k, kinds[i].key) == 0)
			return kinds[i].fn;
	for (i = 0; i < TD__ARRAY_SIZE(tool_keys); i++)
		if (strcmp(k, tool_keys[i].name) == 0)
			return tool_keys[i].fn;
	return NULL;
}

static void tool_key(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	td__tool_key_fn *fn = tool_key_fn(td__decl_key(L, key));
	char where[100];

	if (fn) {
		fn(L, c, key, val);
		return;
	}
	if (td__decl_limit(L, key, val, &c->t->lim))
		return;
	snprintf(where, sizeof(where), "in tool '%s'", c->t->name);
	td__decl_unknown_key(L, key, where, all_tool_keys);
}

static void parse_tool(struct td__loader *L, uint32_t index, uint32_t name, uint32_t val,
                       const struct td__limits *defaults)
{
	struct td__tool_decl c = {.t = &L->g->tools[index],
	                          .index = index,
	                          .limits_key = TD__YNONE,
	                          .remote_key = TD__YNONE};
	char buf[64], list[128];
	uint32_t k;

	c.t->lim = *defaults;
	if (NODE(L, val)->type != TD_Y_MAP) {
		td__load_error(L, val, "tool '%s' must be a mapping with a kind (%s), got %s",
		               c.t->name, kind_list(list, sizeof(list)),
		               td__decl_describe(L, val, buf, sizeof(buf)));
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++)
		tool_key(L, &c, KID(L, val, 2 * k), KID(L, val, 2 * k + 1));
	if (c.t->kind == TD_KIND_NONE)
		td__load_error(L, name, "tool '%s' has no kind: give one of %s", c.t->name,
		               kind_list(list, sizeof(list)));
	check_limits_kind(L, &c);
	td__decl_mcp_check(L, &c);
}

/* Names first, so depends_on may name a tool declared further down. */
static void declare_tools(struct td__loader *L, uint32_t tools)
{
	struct td_graph *g = L->g;
	uint32_t k, key;
	const char *name;

	g->tools = td__calloc(PAIRS(L, tools), sizeof(*g->tools));
	L->depends = td__malloc(PAIRS(L, tools) * sizeof(*L->depends) + 1);
	if (!g->tools || !L->depends) {
		L->oom = true;
		return;
	}
	for (k = 0; k < PAIRS(L, tools); k++) {
		key = KID(L, tools, 2 * k);
		name = td__decl_key(L, key);
		if (!td__valid_tool_name(name))
			td__load_error(L, key,
			               "invalid tool name '%s': use 1 to 64 letters, digits, '_' "
			               "or '-'",
			               name);
		g->tools[k].name = td__decl_dup(L, name);
		g->tools[k].line = NODE(L, key)->line;
		g->tools[k].column = NODE(L, key)->column;
		L->depends[k] = TD__YNONE;
		if (!g->tools[k].name)
			return;
		g->ntools++;
		if (td__strmap_put(&g->by_name, g->tools[k].name, k, NULL) < 0) {
			L->oom = true;
			return;
		}
	}
}

void td__decl_tools(struct td__loader *L, uint32_t key, uint32_t tools,
                    const struct td__limits *defaults)
{
	char buf[64];
	uint32_t k;

	if (NODE(L, tools)->type != TD_Y_MAP) {
		td__load_error(L, tools,
		               "'%s' must be a mapping of tool names to declarations, got %s",
		               td__decl_key(L, key), td__decl_describe(L, tools, buf, sizeof(buf)));
		return;
	}
	declare_tools(L, tools);
	for (k = 0; k < L->g->ntools && !L->oom; k++)
		parse_tool(L, k, KID(L, tools, 2 * k), KID(L, tools, 2 * k + 1), defaults);
}
