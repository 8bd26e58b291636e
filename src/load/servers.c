/* SPDX-License-Identifier: MIT */
/*
 * servers.c - the graph file's MCP servers: the top-level `servers:` mapping and the keys of a
 * tool of kind `mcp` (`mcp: SERVER`, `tool: REMOTE_NAME`). A server is a program to start
 * (`command:`, stdio) or a URL (`url:`, `headers:`, Streamable HTTP; ${VAR} expanded at load
 * time as for http: tools, so those values may hold secrets and are never quoted). Servers
 * are parsed before the tools so a tool can name one; a tool naming an unknown server is
 * reported where it names it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/decl.h"
#include "schema/schema.h"

static const char *shape(const struct td__loader *L, uint32_t i)
{
	const struct td__ynode *n = NODE(L, i);

	if (n->type == TD_Y_SEQ)
		return "a list";
	if (n->type == TD_Y_MAP)
		return "a mapping";
	return n->type == TD_Y_NULL ? "nothing" : "a plain value";
}

/* ---- one server ---- */

/* The strings of sequence val, *n of them; what: for errors. An argv (command) has at least
 * one and may hold empty strings; a list of directories neither. */
static char **string_list(struct td__loader *L, const struct td__mcp_server *s, uint32_t key,
                          uint32_t val, const char *what, size_t *n)
{
	const struct td__ynode *seq = NODE(L, val);
	bool argv = !strcmp(td__decl_key(L, key), "command");
	char **out;
	uint32_t k;

	if (seq->type != TD_Y_SEQ || (argv && !seq->len)) {
		td__load_error(L, val, "server '%s': '%s' must be %s, got %s", s->name,
		               td__decl_key(L, key), what, shape(L, val));
		return NULL;
	}
	if (!(out = td__calloc(seq->len + 1, sizeof(char *)))) {
		L->oom = true;
		return NULL;
	}
	for (k = 0; k < seq->len; k++) {
		const char *a = td__decl_text(L, KID(L, val, k));

		if (!a || (!*a && !argv))
			td__load_error(L, KID(L, val, k),
			               "server '%s': '%s' must be a list of strings", s->name,
			               td__decl_key(L, key));
		else
			out[(*n)++] = td__decl_dup(L, a);
	}
	return out;
}

static void server_command(struct td__loader *L, struct td__mcp_server *s, uint32_t key,
                           uint32_t val)
{
	s->argv = string_list(L, s, key, val,
	                      "a non-empty list: the program and its arguments, like [npx, -y, "
	                      "some-server] (no shell)",
	                      &s->argc);
}

static void server_kv(struct td__loader *L, struct td__mcp_server *s, uint32_t key, uint32_t val,
                      struct td__kv **out, size_t *n)
{
	size_t i;

	if (!td__decl_kv(L, key, val, "a mapping of names to values", out, n))
		return;
	for (i = 0; i < *n; i++)
		if ((*out)[i].key && (!*(*out)[i].key || strchr((*out)[i].key, '=')))
			td__load_error(L, val, "server '%s': invalid name '%s' in '%s'", s->name,
			               (*out)[i].key, td__decl_key(L, key));
}

static void server_string(struct td__loader *L, struct td__mcp_server *s, uint32_t key,
                          uint32_t val, const char *what, char **out)
{
	const char *v = td__decl_text(L, val);

	if (!v || !*v) {
		td__load_error(L, val, "server '%s': '%s' must be %s, got %s", s->name,
		               td__decl_key(L, key), what, shape(L, val));
		return;
	}
	*out = td__decl_dup(L, v);
}

static void server_count(struct td__loader *L, struct td__mcp_server *s, uint32_t key, uint32_t val,
                         uint32_t min, uint32_t *out)
{
	const char *v = td__decl_text(L, val);
	char *end = NULL;
	long n = v ? strtol(v, &end, 10) : -1;

	if (!v || !*v || *end || n < (long)min || n > 1000000) {
		td__load_error(L, val,
		               "server '%s': '%s' must be a whole number from %u to 1000000",
		               s->name, td__decl_key(L, key), min);
		return;
	}
	*out = (uint32_t)n;
}

static bool is_http_url(const char *u)
{
	return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8);
}

static void server_url(struct td__loader *L, struct td__mcp_server *s, uint32_t key, uint32_t val)
{
	char who[100];

	server_string(L, s, key, val, "a URL like https://host/mcp", &s->url);
	if (!s->url)
		return;
	if (!strstr(s->url, "${")) { /* as written in the file: fine to quote */
		if (!is_http_url(s->url) || strpbrk(s->url, " \t\r\n"))
			td__decl_bad_value(
			    L, key, val, "a URL starting with http:// or https://, without spaces");
		return;
	}
	snprintf(who, sizeof(who), "server '%s'", s->name);
	if (!td__decl_expand(L, val, who, "url", &s->url) || (L->flags & TD_LOAD_KEEP_ENV))
		return;
	if (!is_http_url(s->url) || strpbrk(s->url, " \t\r\n"))
		td__load_error(L, val,
		               "server '%s': url must start with http:// or https:// and have no "
		               "spaces",
		               s->name);
}

static void server_headers(struct td__loader *L, struct td__mcp_server *s, uint32_t key,
                           uint32_t val)
{
	char who[100];

	server_kv(L, s, key, val, &s->headers, &s->nheaders);
	snprintf(who, sizeof(who), "server '%s'", s->name);
	td__decl_headers(L, val, who, s->headers, s->nheaders);
}

/* import: PREFIX ('' for none): every tool the server lists, named PREFIX + its name. */
static void server_import(struct td__loader *L, struct td__mcp_server *s, uint32_t key,
                          uint32_t val)
{
	const char *v = td__decl_text(L, val);

	if (!v || strlen(v) > 32) {
		td__decl_bad_value(L, key, val,
		                   "the prefix of the imported tools' names ('' for none, at most "
		                   "32 bytes)");
		return;
	}
	td__free(s->import_prefix);
	s->import_prefix = td__decl_dup(L, v);
}

/* roots: [DIR...]: what roots/list answers (the directories the server may work in). */
static void server_roots(struct td__loader *L, struct td__mcp_server *s, uint32_t key, uint32_t val)
{
	s->roots = string_list(L, s, key, val,
	                       "a list of directories (relative to the graph file's)", &s->nroots);
}

static const char *const server_keys[] = {"command",     "env",      "cwd",    "url",   "headers",
                                          "concurrency", "restarts", "import", "roots", NULL};

static void server_key(struct td__loader *L, struct td__mcp_server *s, uint32_t key, uint32_t val)
{
	const char *k = td__decl_key(L, key);

	if (!strcmp(k, "command"))
		server_command(L, s, key, val);
	else if (!strcmp(k, "env"))
		server_kv(L, s, key, val, &s->env, &s->nenv);
	else if (!strcmp(k, "cwd"))
		server_string(L, s, key, val, "a directory", &s->cwd);
	else if (!strcmp(k, "url"))
		server_url(L, s, key, val);
	else if (!strcmp(k, "headers"))
		server_headers(L, s, key, val);
	else if (!strcmp(k, "concurrency"))
		server_count(L, s, key, val, 1, &s->concurrency);
	else if (!strcmp(k, "restarts"))
		server_count(L, s, key, val, 0, &s->restarts);
	else if (!strcmp(k, "import"))
		server_import(L, s, key, val);
	else if (!strcmp(k, "roots"))
		server_roots(L, s, key, val);
	else {
		char where[100];

		snprintf(where, sizeof(where), "in server '%s'", s->name);
		td__decl_unknown_key(L, key, where, server_keys);
	}
}

/* Exactly one of command (stdio) and url (Streamable HTTP), and only the keys it takes. */
static void server_check(struct td__loader *L, struct td__mcp_server *s, uint32_t name,
                         bool has_command, bool has_url)
{
	if (has_url && has_command)
		td__load_error(L, name,
		               "server '%s' has both 'command' and 'url': a server is a program "
		               "to start (command) or a URL to reach (url), not both",
		               s->name);
	else if (!has_url && !has_command)
		td__load_error(L, name,
		               "server '%s' has no 'command' or 'url': give the program to start "
		               "or the URL of its Streamable HTTP endpoint",
		               s->name);
	else if (!has_url && s->nheaders)
		td__load_error(L, name, "server '%s': 'headers' applies to url: servers only",
		               s->name);
	else if (has_url && (s->nenv || s->cwd))
		td__load_error(L, name,
		               "server '%s': '%s' applies to command: servers only (a url: server "
		               "runs elsewhere)",
		               s->name, s->nenv ? "env" : "cwd");
}

static void parse_server(struct td__loader *L, struct td__mcp_server *s, uint32_t name,
                         uint32_t val)
{
	bool has_command = false, has_url = false;
	uint32_t k;

	s->name = td__decl_dup(L, NODE(L, name)->u.str);
	s->line = NODE(L, name)->line;
	s->column = NODE(L, name)->column;
	s->restarts = TD_MCP_DEFAULT_RESTARTS;
	if (!s->name)
		return;
	if (!td__valid_tool_name(s->name))
		td__load_error(L, name,
		               "invalid server name '%s': use 1 to 64 letters, digits, '_' or '-'",
		               s->name);
	if (NODE(L, val)->type != TD_Y_MAP) {
		td__load_error(L, val,
		               "server '%s' must be a mapping like {command: [program, args...]}, "
		               "got %s",
		               s->name, shape(L, val));
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++) {
		server_key(L, s, KID(L, val, 2 * k), KID(L, val, 2 * k + 1));
		has_command |= !strcmp(td__decl_key(L, KID(L, val, 2 * k)), "command");
		has_url |= !strcmp(td__decl_key(L, KID(L, val, 2 * k)), "url");
	}
	server_check(L, s, name, has_command, has_url);
}

void td__load_servers(struct td__loader *L, uint32_t val)
{
	struct td_graph *g = L->g;
	uint32_t k;

	if (NODE(L, val)->type != TD_Y_MAP) {
		td__load_error(
		    L, val, "'servers' must be a mapping of server names to declarations, got %s",
		    shape(L, val));
		return;
	}
	if (!(g->servers = td__calloc(PAIRS(L, val) + 1, sizeof(*g->servers)))) {
		L->oom = true;
		return;
	}
	for (k = 0; k < PAIRS(L, val) && !L->oom; k++) {
		parse_server(L, &g->servers[k], KID(L, val, 2 * k), KID(L, val, 2 * k + 1));
		g->nservers++;
	}
}

int td__graph_find_server(const struct td_graph *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->nservers; i++)
		if (g->servers[i].name && !strcmp(g->servers[i].name, name))
			return (int)i;
	return -1;
}

/* ---- a tool's `mcp: SERVER` and `tool: NAME` ---- */

static void unknown_server(struct td__loader *L, const struct td__tool *t, uint32_t val,
                           const char *name)
{
	const char **names = td__calloc(L->g->nservers + 1, sizeof(*names));
	const char *guess = NULL;
	size_t i;

	if (names) {
		for (i = 0; i < L->g->nservers; i++)
			names[i] = L->g->servers[i].name ? L->g->servers[i].name : "";
		guess = td__did_you_mean(name, names, L->g->nservers);
	}
	if (!L->g->nservers)
		td__load_error(
		    L, val, "tool '%s' uses MCP server '%s', but the graph declares no 'servers'",
		    t->name, name);
	else if (guess)
		td__load_error(L, val,
		               "tool '%s' uses unknown MCP server '%s' (did you mean '%s'?)",
		               t->name, name, guess);
	else
		td__load_error(L, val, "tool '%s' uses unknown MCP server '%s'", t->name, name);
	td__free(names);
}

void td__decl_mcp(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	const char *name = td__decl_text(L, val);
	int s;

	if (!td__decl_set_kind(L, c, key, TD_KIND_MCP))
		return;
	if (!name || !*name) {
		td__decl_bad_value(L, key, val, "the name of a server of 'servers'");
		return;
	}
	if ((s = td__graph_find_server(L->g, name)) >= 0)
		c->t->mcp_server = (uint32_t)s;
	else
		unknown_server(L, c->t, val, name);
}

void td__decl_mcp_tool(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	const char *name = td__decl_text(L, val);

	c->remote_key = key;
	if (!name || !*name || strlen(name) > 128) {
		td__decl_bad_value(L, key, val,
		                   "the name the MCP server lists the tool under (1 to 128 bytes)");
		return;
	}
	td__free(c->t->mcp_tool);
	c->t->mcp_tool = td__decl_dup(L, name);
}

void td__decl_mcp_check(struct td__loader *L, const struct td__tool_decl *c)
{
	if (c->t->kind != TD_KIND_MCP && c->t->kind != TD_KIND_NONE && c->remote_key != TD__YNONE)
		td__load_error(L, c->remote_key,
		               "tool '%s': 'tool' (the server's name for it) applies to mcp: tools "
		               "only",
		               c->t->name);
}

void td__mcp_servers_free(struct td__mcp_server *s, size_t n)
{
	size_t i, k;

	for (i = 0; s && i < n; i++) {
		td__free(s[i].name);
		for (k = 0; k < s[i].argc; k++)
			td__free(s[i].argv[k]);
		td__free(s[i].argv);
		for (k = 0; k < s[i].nenv; k++) {
			td__free(s[i].env[k].key);
			td__free(s[i].env[k].value);
		}
		td__free(s[i].env);
		for (k = 0; k < s[i].nheaders; k++) {
			td__free(s[i].headers[k].key);
			td__free(s[i].headers[k].value);
		}
		td__free(s[i].headers);
		for (k = 0; k < s[i].nroots; k++)
			td__free(s[i].roots[k]);
		td__free(s[i].roots);
		td__free(s[i].cwd);
		td__free(s[i].url);
		td__free(s[i].import_prefix);
	}
	td__free(s);
}

/* ---- the pin file: what the servers listed, read instead of starting them ---- */

char *td_graph_pin_path(const char *graph_path)
{
	size_t n = graph_path ? strlen(graph_path) : 0;
	char *out;

	if (!n)
		return NULL;
	if (n > 5 && !strcmp(graph_path + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(graph_path + n - 4, ".yml"))
		n -= 4;
	out = malloc(n + sizeof(".pin.json")); /* the caller free()s it: plain malloc */
	if (out) {
		memcpy(out, graph_path, n);
		memcpy(out + n, ".pin.json", sizeof(".pin.json"));
	}
	return out;
}

/* The whole pin file parsed, or NULL when there is none; errors are reported. */
static cJSON *read_pin(struct td__loader *L, const char *path)
{
	FILE *f = fopen(path, "re");
	struct td__buf b = {0};
	char chunk[65536];
	size_t n;
	cJSON *pin;

	if (!f)
		return NULL; /* no pin: the graph's own schemas, or none */
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (64u << 20))
		td__buf_append(&b, chunk, n);
	fclose(f);
	if (b.oom) {
		L->oom = true;
		td__buf_free(&b);
		return NULL;
	}
	pin = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	td__buf_free(&b);
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(pin, "servers"))) {
		td__diag_add(L->diag, TD_EGRAPH, path, 0, 0,
		             "not a pin file (JSON with \"servers\"): write it again with "
		             "'tooldag pin %s'",
		             L->file);
		L->nerr++;
		cJSON_Delete(pin);
		return NULL;
	}
	return pin;
}

static const cJSON *pinned_tool(const cJSON *server, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(server, "tools"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return t;
	}
	return NULL;
}

static void pin_tool(struct td__loader *L, struct td__tool *t, const cJSON *pin, const char *path)
{
	const char *server = L->g->servers[t->mcp_server].name;
	const char *remote = t->mcp_tool ? t->mcp_tool : t->name;
	const cJSON *srv =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(pin, "servers"), server);
	const cJSON *pt = pinned_tool(srv, remote), *schema, *desc;
	char err[256] = "";

	if (!pt) {
		td__diag_add(L->diag, TD_EGRAPH, L->file, t->line, t->column,
		             "tool '%s': mcp server '%s' lists no tool '%s' in %s (it changed, or "
		             "the pin is older than the graph: 'tooldag pin %s' writes it again)",
		             t->name, server, remote, path, L->file);
		L->nerr++;
		return;
	}
	schema = cJSON_GetObjectItemCaseSensitive(pt, "inputSchema");
	desc = cJSON_GetObjectItemCaseSensitive(pt, "description");
	if (!t->description && cJSON_IsString(desc))
		t->description = td__decl_dup(L, desc->valuestring);
	if (t->schema || !cJSON_IsObject(schema))
		return; /* the graph's own input_schema wins */
	if (td__schema_check(schema, err, sizeof(err)) != 0) {
		td__diag_add(L->diag, TD_EGRAPH, L->file, t->line, t->column,
		             "tool '%s': the inputSchema mcp server '%s' lists for '%s' (%s): %s",
		             t->name, server, remote, path, err);
		L->nerr++;
		return;
	}
	t->schema = (cJSON *)schema; /* points into g->mcp_pin, which the graph keeps */
}

/* Room for n more tools (and their depends_on slots); false when out of memory. */
static bool grow_tools(struct td__loader *L, size_t n)
{
	struct td_graph *g = L->g;
	struct td__tool *t = td__realloc(g->tools, (g->ntools + n + 1) * sizeof(*t));
	uint32_t *d = t ? td__realloc(L->depends, (g->ntools + n + 1) * sizeof(*d)) : NULL;

	if (t)
		g->tools = t;
	if (d)
		L->depends = d;
	if (!t || !d)
		L->oom = true;
	return t && d;
}

/* One imported tool; its schema and description come from the pin like a declared one's. */
static void import_tool(struct td__loader *L, uint32_t server, const char *remote, const cJSON *pin,
                        const char *path)
{
	struct td_graph *g = L->g;
	const struct td__mcp_server *s = &g->servers[server];
	char *name = td__asprintf("%s%s", s->import_prefix, remote);
	struct td__tool *t = &g->tools[g->ntools];

	if (!name || td__graph_find(g, name) >= 0) { /* a tool the graph declares itself wins */
		L->oom |= !name;
		td__free(name);
		return;
	}
	if (!td__valid_tool_name(name)) {
		td__diag_add(L->diag, TD_EGRAPH, L->file, s->line, s->column,
		             "server '%s' imports '%s', which is not a valid tool name: declare it "
		             "with a name of 1 to 64 letters, digits, '_' or '-' and tool: '%s'",
		             s->name, name, remote);
		L->nerr++;
		td__free(name);
		return;
	}
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->line = s->line;
	t->column = s->column;
	t->kind = TD_KIND_MCP;
	t->mcp_server = server;
	t->mcp_tool = td__decl_dup(L, remote);
	t->lim = L->defaults;
	L->depends[g->ntools] = TD__YNONE;
	if (td__strmap_put(&g->by_name, t->name, (uint32_t)g->ntools, NULL) < 0)
		L->oom = true;
	g->ntools++;
	pin_tool(L, t, pin, path);
}

static void import_server(struct td__loader *L, uint32_t server, const cJSON *pin, const char *path)
{
	const struct td__mcp_server *s = &L->g->servers[server];
	const cJSON *srv =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(pin, "servers"), s->name);
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(srv, "tools"), *t;

	if (!pin || !cJSON_IsArray(tools)) {
		td__diag_add(L->diag, TD_EGRAPH, L->file, s->line, s->column,
		             "server '%s' imports its tools, but %s %s: 'tooldag pin %s' writes it",
		             s->name, path, pin ? "does not list them" : "does not exist", L->file);
		L->nerr++;
		return;
	}
	if (!grow_tools(L, (size_t)cJSON_GetArraySize(tools)))
		return;
	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");

		if (cJSON_IsString(n) && !L->oom)
			import_tool(L, server, n->valuestring, pin, path);
	}
}

void td__load_pin(struct td__loader *L)
{
	size_t i, declared = L->g->ntools;
	char *path;

	if (!L->g->nservers || !(path = td_graph_pin_path(L->file)))
		return;
	L->g->mcp_pin = read_pin(L, path);
	for (i = 0; L->g->mcp_pin && i < declared && !L->oom; i++)
		if (L->g->tools[i].kind == TD_KIND_MCP)
			pin_tool(L, &L->g->tools[i], L->g->mcp_pin, path);
	for (i = 0; i < L->g->nservers && !L->oom; i++)
		if (L->g->servers[i].import_prefix)
			import_server(L, (uint32_t)i, L->g->mcp_pin, path);
	free(path);
}
