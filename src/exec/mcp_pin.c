/* SPDX-License-Identifier: MIT */
/*
 * mcp_pin.c - td_graph_pin(): what the graph's MCP servers list (tools/list, every page),
 * written to the pin file next to the graph, so that loading, checking, planning and `tools`
 * need no server. All servers start at once on one loop; each is shut down as at the end of a
 * run. The servers' answers go into the file as they came (inputSchema, description, ...).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exec/mcp.h"
#include "load/graph.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* How long a server has to start and list its tools. */
#define PIN_TIMEOUT_US (60LL * 1000000)
#define MAX_PAGES      1000

struct lister {
	struct td__mcp_conn conn;
	cJSON *tools; /* array, collected over the pages */
	int done, failed, pages;
	int64_t next_id;
	char err[TD_MCP_STDERR_TAIL + 1200];
};

/* why: a whole sentence, or (when it starts with ':') what follows "mcp server 'NAME'". */
static void fail(struct lister *s, const char *why)
{
	if (s->done)
		return;
	if (why[0] == ':')
		snprintf(s->err, sizeof(s->err), "mcp server '%s'%s", s->conn.srv->name, why + 1);
	else
		snprintf(s->err, sizeof(s->err), "%s", why);
	s->failed = s->done = 1;
	td__mcp_conn_fail(&s->conn, "was stopped");
}

static void ask_page(struct lister *s, const char *cursor)
{
	struct td__buf b = {0};

	td__buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"tools/list\"",
	               (long long)++s->next_id);
	if (cursor) {
		td__buf_puts(&b, ",\"params\":{\"cursor\":");
		td__buf_json_string(&b, cursor, strlen(cursor));
		td__buf_putc(&b, '}');
	}
	td__buf_putc(&b, '}');
	if (!b.oom)
		td__mcp_conn_request(&s->conn, s->next_id, b.data, b.len);
	td__buf_free(&b);
}

static void on_page(struct lister *s, cJSON *result)
{
	cJSON *tools = cJSON_GetObjectItemCaseSensitive(result, "tools");
	cJSON *next = cJSON_GetObjectItemCaseSensitive(result, "nextCursor"), *t;

	if (!cJSON_IsArray(tools)) {
		fail(s, ": answered tools/list without a tools list");
		return;
	}
	while ((t = cJSON_DetachItemFromArray(tools, 0)))
		cJSON_AddItemToArray(s->tools, t);
	if (cJSON_IsString(next) && *next->valuestring && ++s->pages < MAX_PAGES)
		ask_page(s, next->valuestring);
	else
		s->done = 1;
}

static void on_message(struct td__mcp_conn *c, cJSON *m)
{
	struct lister *s = CONTAINER(c, struct lister, conn);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
	cJSON *err = cJSON_GetObjectItemCaseSensitive(m, "error");
	cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");

	if (cJSON_GetObjectItemCaseSensitive(m, "method") || !cJSON_IsNumber(id) || s->done)
		return; /* notifications; a server's requests wait: it is about to be closed */
	if (err) {
		char why[300];

		snprintf(why, sizeof(why), ": answered with an error: %.200s",
		         cJSON_IsString(msg) ? msg->valuestring : "(no message)");
		fail(s, why);
	} else if (td__num_i64(id->valuedouble, 0, INT64_MAX, -1) == c->init_id) {
		if (td__mcp_conn_initialized(c, cJSON_GetObjectItemCaseSensitive(m, "result")) < 0)
			fail(s, c->why);
		else
			ask_page(s, NULL);
	} else if (td__num_i64(id->valuedouble, 0, INT64_MAX, -1) == s->next_id) {
		on_page(s, cJSON_GetObjectItemCaseSensitive(m, "result"));
	}
}

static void on_down(struct td__mcp_conn *c)
{
	struct lister *s = CONTAINER(c, struct lister, conn);
	struct td__buf why = {0};

	if (s->done)
		return;
	td__buf_puts(&why, c->why);
	td__mcp_conn_tail(c, &why);
	fail(s, why.data ? why.data : c->why);
	td__buf_free(&why);
}

static void on_lost(struct td__mcp_conn *c, int64_t id, const char *why, int retry)
{
	(void)id;
	(void)retry;
	fail(CONTAINER(c, struct lister, conn), why);
}

static const struct td__mcp_events events = {on_message, on_down, on_lost};

static int all_done(struct lister *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i].done)
			return 0;
	return 1;
}

/* Starts every server and runs the loop until each listed its tools or failed. */
static void list_all(struct td__loop *loop, const struct td_graph *g, struct lister *s)
{
	int64_t deadline = td__loop_update_now(loop) + PIN_TIMEOUT_US;
	size_t i;

	for (i = 0; i < g->nservers; i++) {
		td__mcp_conn_init(&s[i].conn, g, (uint32_t)i, loop, &events, &s[i]);
		s[i].tools = cJSON_CreateArray();
		s[i].next_id = 1;
		if (!s[i].tools)
			fail(&s[i], ": out of memory");
		else if (td__mcp_conn_start(&s[i].conn, 1) < 0)
			fail(&s[i], s[i].conn.why);
	}
	while (!all_done(s, g->nservers) && td__loop_update_now(loop) < deadline &&
	       td__loop_run(loop, 1) >= 0)
		;
	for (i = 0; i < g->nservers; i++)
		if (!s[i].done)
			fail(&s[i], ": did not list its tools within 60 s");
}

/* {"servers": {NAME: {"protocolVersion": V, "tools": [...]}}}, taking the lists. */
static cJSON *pin_json(const struct td_graph *g, struct lister *s)
{
	cJSON *root = cJSON_CreateObject(), *servers = cJSON_AddObjectToObject(root, "servers");
	size_t i;

	for (i = 0; servers && i < g->nservers; i++) {
		cJSON *one = cJSON_AddObjectToObject(servers, g->servers[i].name);

		if (!one || !cJSON_AddStringToObject(one, "protocolVersion", s[i].conn.protocol))
			break;
		cJSON_AddItemToObject(one, "tools", s[i].tools);
		s[i].tools = NULL;
	}
	if (!servers || i < g->nservers) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0 || fputc('\n', f) < 0)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static int report(const struct td_graph *g, struct lister *s, struct td_diag *diag)
{
	size_t i;
	int n = 0;

	for (i = 0; i < g->nservers; i++)
		if (s[i].failed) {
			td__diag_add(diag, TD_EGRAPH, g->name, g->servers[i].line,
			             g->servers[i].column, "%s", s[i].err);
			n++;
		}
	return n;
}

int td_graph_pin(const struct td_graph *g, const char *path, struct td_diag *diag)
{
	struct td__loop *loop = NULL;
	struct td__mcp_conn **conns;
	struct lister *s;
	cJSON *pin = NULL;
	char *text = NULL;
	size_t i;
	int err;

	if (!g || !path)
		return TD_EINVAL;
	if ((err = td__loop_new(&loop, 256, diag)) < 0)
		return err;
	s = td__calloc(g->nservers + 1, sizeof(*s));
	conns = td__calloc(g->nservers + 1, sizeof(*conns));
	if (!s || !conns) {
		err = TD_ENOMEM;
		goto out;
	}
	list_all(loop, g, s);
	err = report(g, s, diag) ? TD_EGRAPH : 0;
	if (!err && (!(pin = pin_json(g, s)) || !(text = cJSON_Print(pin))))
		err = TD_ENOMEM;
	if (!err && (err = write_file(path, text)) < 0)
		td__diag_add(diag, err, path, 0, 0, "cannot write the pin file: %s",
		             strerror(-err));
out:
	for (i = 0; s && conns && i < g->nservers; i++)
		conns[i] = &s[i].conn;
	if (s && conns)
		td__mcp_conn_close(loop, conns, g->nservers);
	for (i = 0; s && i < g->nservers; i++)
		cJSON_Delete(s[i].tools);
	cJSON_free(text);
	cJSON_Delete(pin);
	td__free(conns);
	td__free(s);
	td__loop_free(loop);
	return err;
}
