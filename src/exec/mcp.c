/* SPDX-License-Identifier: MIT */
/*
 * mcp.c - the mcp: backend. A job is one tools/call request on its server's connection; many
 * are in flight at once, matched to their answers by JSON-RPC id. A server starts when its
 * first call arrives (so only the servers a batch uses start, all at once), and calls wait in
 * its queue until it has answered initialize and while the server's own `concurrency` is used.
 *
 * Ids: (sequence << 20) | slot. The slot finds the request in O(1); the sequence tells an
 * answer to a request that was given up on (timed out, cancelled: dropped silently) from an
 * answer to an id that was never sent (noted, and quoted in later error texts).
 *
 * With a pin file, a server's tools are listed again (tools/list, every page) once it has
 * answered initialize, before its first call is sent: a call of a tool the server no longer
 * lists, or lists with another inputSchema than the pin, is an error naming it (the schema the
 * call was checked against is no longer the server's).
 *
 * A timeout or a cancellation sends notifications/cancelled and completes the job at once;
 * the server's late answer, if any, is dropped. When a server exits, every call it holds gets
 * an error naming the exit status and the tail of its stderr; later calls start it again as
 * long as its `restarts` allow.
 *
 * The backend is the host's: a server's connection lives as long as the host, shared by every
 * run whose graph declares the same server (same command, environment, working directory and
 * graph directory, or url and headers, and the same limits), so the next run of a graph on the
 * host reuses the server the last one started. The connection keeps its own copy of the
 * declaration: graphs may be freed while the host lives. A server that went down for good
 * in one run is started again for the next one that calls it.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "exec/mcp.h"
#include "load/graph.h"
#include "run/run.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define INIT_SLOT SLOT_MASK /* the initialize request's slot: never a call's */

struct mreq {
	struct td__job *job;
	struct mcp_backend *mb;
	struct server_rt *s;
	int64_t id; /* 0: not sent yet (waiting in the server's queue) */
	struct mreq *next;
	char progress[160]; /* the last progress notification, for a timeout's text */
};

struct server_rt {
	struct td__mcp_conn conn;
	struct mreq **slots; /* in flight, by slot */
	uint32_t *free_slots, nfree, nslots, cap;
	uint32_t inflight;
	uint64_t seq; /* the next request's sequence; earlier ones may still answer late */
	struct mreq *wait_head, *wait_tail;
	char last_why[TD_MCP_STDERR_TAIL + 1200]; /* why it went down last, with its stderr */
	/* the declaration, copied (g: its directory and this one server, what conn reads) */
	struct td_graph g;
	struct td__mcp_server srv;
	char *key; /* what tells one server from another (server_key) */
	size_t key_len;
	uint64_t user; /* the run that called it last, by serial (a new one may restart it) */
	struct server_rt *next;
	int64_t list_id; /* tools/list in flight (checking the pin): calls wait; 0: none */
	cJSON *listed;   /* what it lists now, by name (NULL: not checked) */
	int list_wanted; /* the run that starts it has a pin for it */
	unsigned pages;
};

struct mcp_backend {
	struct td__backend be;
	struct server_rt *servers; /* started on first use, kept until the host goes */
	uint64_t *fd_room; /* the host's descriptor budget: servers take theirs as they start */
};

static void pump(struct server_rt *s);

/* ---- finishing a job ---- */

static void finish(struct mreq *q, enum td_status status, struct td__buf *text)
{
	struct td__job *job = q->job;
	struct td__backend *be = &q->mb->be;

	td__loop_timer_disarm(be->loop, &job->timer);
	job->exit_code = -1;
	job->signal = 0;
	job->status = status;
	td__buf_putc(text, '\0');
	text->len--;
	job->content_len = text->len;
	job->content = text->oom ? NULL : td__buf_take(text);
	td__buf_free(text);
	if (!job->content)
		td__job_set_content(job, TD_STATUS_ERROR, "out of memory", 13);
	job->priv = NULL;
	td__free(q);
	be->done(be->ud, job);
}

static void finish_msg(struct mreq *q, enum td_status status, const char *msg)
{
	struct td__buf b = {0};

	td__buf_puts(&b, msg);
	finish(q, status, &b);
}

/* ---- ids and slots ---- */

static int slot_get(struct server_rt *s, struct mreq *q)
{
	uint32_t slot;

	if (s->nfree) {
		slot = s->free_slots[--s->nfree];
	} else {
		if (s->nslots == s->cap) {
			uint32_t cap = s->cap ? 2 * s->cap : 64;
			struct mreq **sl =
			    cap < INIT_SLOT ? td__realloc(s->slots, cap * sizeof(*sl)) : NULL;
			uint32_t *fr = sl ? td__realloc(s->free_slots, cap * sizeof(*fr)) : NULL;

			if (sl)
				s->slots = sl;
			if (!fr)
				return -1;
			s->free_slots = fr;
			s->cap = cap;
		}
		slot = s->nslots++;
	}
	s->slots[slot] = q;
	q->id = (int64_t)((s->seq++ << SLOT_BITS) | slot);
	s->inflight++;
	return 0;
}

static void slot_put(struct server_rt *s, struct mreq *q)
{
	uint32_t slot = (uint32_t)q->id & SLOT_MASK;

	s->slots[slot] = NULL;
	s->free_slots[s->nfree++] = slot;
	s->inflight--;
	q->id = 0;
}

static struct mreq *by_id(struct server_rt *s, int64_t id)
{
	uint32_t slot = (uint32_t)id & SLOT_MASK;

	if (id <= 0 || slot >= s->nslots || !s->slots[slot] || s->slots[slot]->id != id)
		return NULL;
	return s->slots[slot];
}

static void unlink_waiting(struct server_rt *s, struct mreq *q)
{
	struct mreq **p = &s->wait_head;

	while (*p && *p != q)
		p = &(*p)->next;
	if (!*p)
		return;
	*p = q->next;
	if (s->wait_tail == q) {
		struct mreq *t = s->wait_head;

		while (t && t->next)
			t = t->next;
		s->wait_tail = t;
	}
	q->next = NULL;
}

/* ---- sending ---- */

static const char *remote_name(const struct td__tool *t)
{
	return t->mcp_tool ? t->mcp_tool : t->name;
}

/* ---- the pin checked against what the server lists now ---- */

/* What the pin of the job's graph says of its server (NULL: no pin, or not pinned). */
static const cJSON *pinned_server(const struct td__job *job)
{
	const cJSON *all = cJSON_GetObjectItemCaseSensitive(job->graph->mcp_pin, "servers");

	return cJSON_GetObjectItemCaseSensitive(all,
	                                        job->graph->servers[job->tool->mcp_server].name);
}

static void ask_tools(struct server_rt *s, const char *cursor)
{
	struct td__buf b = {0};

	s->list_id = (int64_t)((s->seq++ << SLOT_BITS) | INIT_SLOT);
	td__buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"tools/list\"",
	               (long long)s->list_id);
	if (cursor) {
		td__buf_puts(&b, ",\"params\":{\"cursor\":");
		td__buf_json_string(&b, cursor, strlen(cursor));
		td__buf_putc(&b, '}');
	}
	td__buf_putc(&b, '}');
	if (b.oom)
		s->list_id = 0; /* not checked */
	else
		td__mcp_conn_request(&s->conn, s->list_id, b.data, b.len);
	td__buf_free(&b);
}

/* Initialized for a run whose graph pins the server: list its tools before any call goes out.
 * (A server already running when a run with a pin comes is checked against what it listed
 * when it started, if it was listed then.) */
static void check_pin(struct server_rt *s)
{
	cJSON_Delete(s->listed);
	s->listed = NULL;
	s->pages = 0;
	if (s->list_wanted && (s->listed = cJSON_CreateObject()))
		ask_tools(s, NULL);
}

/* A tools/list page; a server that cannot list its tools is not checked. */
static void on_tools(struct server_rt *s, const cJSON *m)
{
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(m, "result");
	cJSON *tools = cJSON_GetObjectItemCaseSensitive(result, "tools"), *t;
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(result, "nextCursor");

	s->list_id = 0;
	if (!cJSON_IsArray(tools)) {
		cJSON_Delete(s->listed);
		s->listed = NULL;
		return;
	}
	while ((t = cJSON_DetachItemFromArray(tools, 0))) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");

		if (cJSON_IsString(n) &&
		    !cJSON_GetObjectItemCaseSensitive(s->listed, n->valuestring))
			cJSON_AddItemToObject(s->listed, n->valuestring, t);
		else
			cJSON_Delete(t);
	}
	if (cJSON_IsString(next) && *next->valuestring && ++s->pages < 1000)
		ask_tools(s, next->valuestring);
}

/* Whether the call's tool is as pinned; if not, the call ends with an error naming it. */
static int pin_holds(struct server_rt *s, struct mreq *q)
{
	const struct td__job *job = q->job;
	const struct td__tool *t = job->tool;
	const char *remote = remote_name(t);
	const cJSON *pinned = NULL, *now, *pt;
	struct td__buf b = {0};
	char *path;

	if (!s->listed || !job->graph->mcp_pin)
		return 1;
	cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(pinned_server(job), "tools"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(pt, "name");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, remote))
			pinned = pt;
	}
	now = cJSON_GetObjectItemCaseSensitive(s->listed, remote);
	if (!pinned ||
	    (now && cJSON_Compare(cJSON_GetObjectItemCaseSensitive(pinned, "inputSchema"),
	                          cJSON_GetObjectItemCaseSensitive(now, "inputSchema"), 1)))
		return 1;
	path = td_graph_pin_path(job->graph->name);
	td__buf_printf(&b,
	               "tool '%s': mcp server '%s' %s '%s' since %s was written ('tooldag pin %s' "
	               "writes it again)",
	               t->name, job->graph->servers[t->mcp_server].name,
	               now ? "changed the inputSchema of" : "no longer lists", remote,
	               path ? path : "the pin", job->graph->name);
	free(path);
	q->job->no_retry = 1;
	finish(q, TD_STATUS_ERROR, &b);
	return 0;
}

static void send_call(struct server_rt *s, struct mreq *q)
{
	const struct td__job *job = q->job;
	const char *name = remote_name(job->tool);
	struct td__buf b = {0};

	if (!pin_holds(s, q))
		return;
	if (slot_get(s, q) < 0) {
		finish_msg(q, TD_STATUS_ERROR, "out of memory");
		return;
	}
	td__buf_printf(&b,
	               "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"tools/call\",\"params\":{"
	               "\"name\":",
	               (long long)q->id);
	td__buf_json_string(&b, name, strlen(name));
	td__buf_puts(&b, ",\"arguments\":");
	if (job->input_len)
		td__buf_append(&b, job->input, job->input_len);
	else
		td__buf_puts(&b, "{}");
	td__buf_printf(&b, ",\"_meta\":{\"progressToken\":%lld}}}", (long long)q->id);
	if (b.oom) {
		slot_put(s, q);
		td__buf_free(&b);
		finish_msg(q, TD_STATUS_ERROR, "out of memory");
		return;
	}
	td__mcp_conn_request(&s->conn, q->id, b.data, b.len);
	td__buf_free(&b);
}

static void pump(struct server_rt *s)
{
	uint32_t max = s->conn.srv->concurrency;
	struct mreq *q;

	while (s->conn.state == TD_MCP_READY && !s->list_id && (q = s->wait_head) &&
	       (!max || s->inflight < max)) {
		s->wait_head = q->next;
		if (!s->wait_head)
			s->wait_tail = NULL;
		q->next = NULL;
		send_call(s, q);
	}
}

static void send_cancelled(struct server_rt *s, int64_t id, const char *reason)
{
	char msg[200];
	int n = snprintf(msg, sizeof(msg),
	                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
	                 "\"requestId\":%lld,\"reason\":\"%s\"}}",
	                 (long long)id, reason);

	td__mcp_conn_send(&s->conn, msg, (size_t)n);
}

/* ---- answers ---- */

static void answer_error(struct mreq *q, const cJSON *err)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
	struct td__buf b = {0};

	td__buf_printf(&b, "mcp server '%s': tools/call '%s' failed: %s", q->s->srv.name,
	               remote_name(q->job->tool),
	               cJSON_IsString(msg) ? msg->valuestring : "(no message)");
	if (cJSON_IsNumber(code))
		td__buf_printf(&b, " (code %d)", code->valueint);
	q->job->no_retry = 1;
	finish(q, TD_STATUS_ERROR, &b);
}

/* The result text, cut to the tool's max_output as a process's stdout is; with images, the
 * blocks too when they fit in max_output (else the text alone, with its stand-ins). */
static void answer_result(struct mreq *q, const cJSON *result)
{
	struct td__buf text = {0}, out = {0}, blocks = {0};
	struct td__capbuf cb;
	int is_error = td__mcp_result_text(result, &text);
	uint64_t max = q->job->tool->lim.max_output;

	if (td__mcp_result_blocks(result, &blocks) && !blocks.oom && (!max || blocks.len <= max))
		q->job->blocks = td__buf_take(&blocks);
	td__buf_free(&blocks);

	td__capbuf_init(&cb, q->job->tool->lim.max_output);
	td__capbuf_append(&cb, text.data ? text.data : "", text.len);
	td__capbuf_render(&cb, &out);
	q->job->truncated = td__capbuf_dropped(&cb) > 0;
	td__capbuf_free(&cb);
	td__buf_free(&text);
	finish(q, is_error ? TD_STATUS_ERROR : TD_STATUS_OK, &out);
}

static void on_response(struct server_rt *s, const cJSON *m)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(m, "error");
	int64_t n = cJSON_IsNumber(id) ? td__num_i64(id->valuedouble, 0, INT64_MAX, -1) : -1;
	struct mreq *q;
	char *text;

	if (s->conn.state == TD_MCP_INIT && n == s->conn.init_id) {
		if (err || td__mcp_conn_initialized(&s->conn, cJSON_GetObjectItem(m, "result")) < 0)
			td__mcp_conn_fail(&s->conn,
			                  err ? "answered initialize with an error"
			                      : "answered initialize with a version it cannot");
		else
			check_pin(s);
		pump(s);
		return;
	}
	if (s->list_id && n == s->list_id) {
		on_tools(s, m);
		pump(s);
		return;
	}
	if ((q = by_id(s, n))) {
		slot_put(s, q);
		if (err)
			answer_error(q, err);
		else
			answer_result(q, cJSON_GetObjectItemCaseSensitive(m, "result"));
		pump(s);
		return;
	}
	/* an id of ours from an earlier sequence: a request given up on, answering late */
	if (n > 0 && ((uint64_t)n >> SLOT_BITS) < s->seq && ((uint32_t)n & SLOT_MASK) < s->nslots)
		return;
	if ((text = cJSON_PrintUnformatted(id))) {
		td__mcp_conn_note(&s->conn, "answered an id tooldag never sent", text);
		cJSON_free(text);
	}
}

static void on_progress(struct server_rt *s, const cJSON *params)
{
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(params, "progressToken");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(params, "progress");
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(params, "total");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(params, "message");
	struct mreq *q =
	    cJSON_IsNumber(tok) ? by_id(s, td__num_i64(tok->valuedouble, 0, INT64_MAX, -1)) : NULL;
	int n;

	if (!q || !cJSON_IsNumber(p))
		return;
	n = snprintf(q->progress, sizeof(q->progress), "%g", p->valuedouble);
	if (cJSON_IsNumber(total) && n > 0 && (size_t)n < sizeof(q->progress))
		n += snprintf(q->progress + n, sizeof(q->progress) - (size_t)n, "/%g",
		              total->valuedouble);
	if (cJSON_IsString(msg) && n > 0 && (size_t)n < sizeof(q->progress))
		snprintf(q->progress + n, sizeof(q->progress) - (size_t)n, ": %s",
		         msg->valuestring);
	td__job_progress(q->job, p->valuedouble, cJSON_IsNumber(total) ? total->valuedouble : 0,
	                 cJSON_IsString(msg) ? msg->valuestring : NULL);
}

/* A request of the server's own: answered at once, never left hanging. */
static void on_server_request(struct server_rt *s, const cJSON *m, const char *method)
{
	char *id = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(m, "id"));
	struct td__buf b = {0};

	if (!id)
		return;
	if (!strcmp(method, "ping")) {
		td__buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", id);
	} else if (!strcmp(method, "roots/list") && s->conn.srv->nroots) {
		td__buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", id);
		td__mcp_roots_result(&s->conn, &b);
		td__buf_putc(&b, '}');
	} else {
		char msg[200];

		snprintf(msg, sizeof(msg), "tooldag does not serve %.120s requests", method);
		td__buf_printf(
		    &b,
		    "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,\"message\":", id);
		td__buf_json_string(&b, msg, strlen(msg));
		td__buf_puts(&b, "}}");
	}
	if (!b.oom)
		td__mcp_conn_send(&s->conn, b.data, b.len);
	td__buf_free(&b);
	cJSON_free(id);
}

static void on_message(struct td__mcp_conn *c, cJSON *m)
{
	struct server_rt *s = CONTAINER(c, struct server_rt, conn);
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(m, "method");

	if (!cJSON_IsString(method))
		on_response(s, m);
	else if (cJSON_GetObjectItemCaseSensitive(m, "id"))
		on_server_request(s, m, method->valuestring);
	else if (!strcmp(method->valuestring, "notifications/progress"))
		on_progress(s, cJSON_GetObjectItemCaseSensitive(m, "params"));
	/* other notifications (log messages, list changes) need nothing from a run */
}

/* ---- the server went down ---- */

static void fail_one(struct server_rt *s, struct mreq *q)
{
	struct td__buf b = {0};

	td__buf_puts(&b, s->last_why);
	finish(q, TD_STATUS_ERROR, &b);
}

static void on_down(struct td__mcp_conn *c)
{
	struct server_rt *s = CONTAINER(c, struct server_rt, conn);
	struct td__buf why = {0};
	struct mreq *q;
	uint32_t i;

	td__buf_puts(&why, c->why);
	td__mcp_conn_tail(c, &why);
	snprintf(s->last_why, sizeof(s->last_why), "%s", why.data ? why.data : c->why);
	td__buf_free(&why);
	s->list_id = 0;
	for (i = 0; i < s->nslots; i++) {
		if ((q = s->slots[i])) {
			slot_put(s, q);
			fail_one(s, q);
		}
	}
	while ((q = s->wait_head)) {
		s->wait_head = q->next;
		fail_one(s, q);
	}
	s->wait_tail = NULL;
}

/* An HTTP request of a call failed on its own (the connection is fine). */
static void on_lost(struct td__mcp_conn *c, int64_t id, const char *why, int retry)
{
	struct server_rt *s = CONTAINER(c, struct server_rt, conn);
	struct mreq *q = by_id(s, id);

	if (s->list_id && id == s->list_id) { /* tools/list failed: the pin is not checked */
		s->list_id = 0;
		cJSON_Delete(s->listed);
		s->listed = NULL;
		pump(s);
		return;
	}
	if (!q)
		return;
	slot_put(s, q);
	q->job->no_retry = !retry;
	finish_msg(q, TD_STATUS_ERROR, why);
	pump(s);
}

static const struct td__mcp_events events = {on_message, on_down, on_lost};

/* ---- the backend interface ---- */

/* ---- servers, keyed by their declaration ---- */

static void key_kv(struct td__buf *b, const struct td__kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		td__buf_puts(b, kv[i].key);
		td__buf_append(b, "=", 1);
		td__buf_puts(b, kv[i].value ? kv[i].value : "");
		td__buf_append(b, "", 1);
	}
	td__buf_append(b, "\1", 1);
}

/* Every field that changes what runs or how: fields end in NUL, lists in \1. */
static void server_key(struct td__buf *b, const struct td_graph *g, const struct td__mcp_server *d)
{
	size_t i;

	for (i = 0; i < d->argc; i++)
		td__buf_append(b, d->argv[i], strlen(d->argv[i]) + 1);
	td__buf_append(b, "\1", 1);
	key_kv(b, d->env, d->nenv);
	key_kv(b, d->headers, d->nheaders);
	for (i = 0; i < d->nroots; i++)
		td__buf_append(b, d->roots[i], strlen(d->roots[i]) + 1);
	td__buf_append(b, "\1", 1);
	td__buf_printf(b, "%s%c%s%c%s%c%u %u", d->cwd ? d->cwd : "", 0, g->dir ? g->dir : "", 0,
	               d->url ? d->url : "", 0, d->concurrency, d->restarts);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *c = s ? td__strdup(s) : NULL;

	*oom |= s && !c;
	return c;
}

static struct td__kv *copy_kv(const struct td__kv *kv, size_t n, int *oom)
{
	struct td__kv *c = n ? td__calloc(n, sizeof(*c)) : NULL;
	size_t i;

	*oom |= n && !c;
	for (i = 0; c && i < n; i++) {
		c[i].key = dup_or_null(kv[i].key, oom);
		c[i].value = dup_or_null(kv[i].value, oom);
	}
	return c;
}

static void free_kv(struct td__kv *kv, size_t n)
{
	size_t i;

	for (i = 0; kv && i < n; i++) {
		td__free(kv[i].key);
		td__free(kv[i].value);
	}
	td__free(kv);
}

static void server_free(struct server_rt *s)
{
	size_t i;

	for (i = 0; s->srv.argv && i < s->srv.argc; i++)
		td__free(s->srv.argv[i]);
	td__free(s->srv.argv);
	for (i = 0; s->srv.roots && i < s->srv.nroots; i++)
		td__free(s->srv.roots[i]);
	td__free(s->srv.roots);
	td__free(s->srv.name);
	td__free(s->srv.cwd);
	td__free(s->srv.url);
	free_kv(s->srv.env, s->srv.nenv);
	free_kv(s->srv.headers, s->srv.nheaders);
	td__free(s->g.dir);
	td__free(s->key);
	cJSON_Delete(s->listed);
	td__free(s->slots);
	td__free(s->free_slots);
	td__free(s);
}

static struct server_rt *server_new(struct mcp_backend *mb, const struct td_graph *g,
                                    const struct td__mcp_server *d, struct td__buf *key)
{
	struct server_rt *s = td__calloc(1, sizeof(*s));
	int oom = !s;
	size_t i;

	if (!s)
		return NULL;
	s->srv = *d;
	s->srv.import_prefix = NULL;
	s->srv.name = dup_or_null(d->name, &oom);
	s->srv.cwd = dup_or_null(d->cwd, &oom);
	s->srv.url = dup_or_null(d->url, &oom);
	s->srv.env = copy_kv(d->env, d->nenv, &oom);
	s->srv.headers = copy_kv(d->headers, d->nheaders, &oom);
	s->srv.argv = td__calloc(d->argc + 1, sizeof(char *));
	oom |= !s->srv.argv;
	for (i = 0; s->srv.argv && i < d->argc; i++)
		s->srv.argv[i] = dup_or_null(d->argv[i], &oom);
	s->srv.roots = td__calloc(d->nroots + 1, sizeof(char *));
	oom |= !s->srv.roots;
	for (i = 0; s->srv.roots && i < d->nroots; i++)
		s->srv.roots[i] = dup_or_null(d->roots[i], &oom);
	s->g.dir = dup_or_null(g->dir, &oom);
	s->g.servers = &s->srv;
	s->g.nservers = 1;
	s->key_len = key->len;
	s->key = td__buf_take(key);
	if (oom || !s->key) {
		server_free(s);
		return NULL;
	}
	td__mcp_conn_init(&s->conn, &s->g, 0, mb->be.loop, &events, mb);
	s->conn.fd_room = mb->fd_room;
	s->seq = 1;
	s->next = mb->servers;
	mb->servers = s;
	return s;
}

/* The job's server: found once per run and tool (job->tool_cache), by its declaration. */
static struct server_rt *server_for(struct mcp_backend *mb, const struct td__job *job)
{
	const struct td__mcp_server *d = &job->graph->servers[job->tool->mcp_server];
	struct server_rt *s = (struct server_rt *)*job->tool_cache;
	struct td__buf key = {0};

	if (s)
		return s;
	server_key(&key, job->graph, d);
	if (key.oom) {
		td__buf_free(&key);
		return NULL;
	}
	for (s = mb->servers; s; s = s->next)
		if (s->key_len == key.len && !memcmp(s->key, key.data, key.len))
			break;
	if (s) {
		td__buf_free(&key);
		if (s->conn.state == TD_MCP_DEAD && s->user != job->run->serial) {
			/* down for good in an earlier run: start again */
			td__mcp_conn_set_state(&s->conn, TD_MCP_IDLE);
			s->conn.starts = 0;
		}
	} else if (!(s = server_new(mb, job->graph, d, &key))) {
		td__buf_free(&key);
		return NULL;
	}
	s->user = job->run->serial;
	*job->tool_cache = s;
	return s;
}

static void queue(struct server_rt *s, struct mreq *q)
{
	if (s->wait_tail)
		s->wait_tail->next = q;
	else
		s->wait_head = q;
	s->wait_tail = q;
}

/* Timeout and cancellation: tell the server, complete the job now. */
static void give_up(struct mreq *q, enum td_status status)
{
	struct server_rt *s = q->s;
	struct td__job *job = q->job;
	struct td__buf b = {0};
	char dur[32];

	if (q->id) {
		send_cancelled(s, q->id, status == TD_STATUS_TIMEOUT ? "timed out" : "cancelled");
		td__mcp_conn_forget(&s->conn, q->id);
		slot_put(s, q);
	} else {
		unlink_waiting(s, q);
	}
	td__format_duration(job->timeout_us, dur, sizeof(dur));
	if (status == TD_STATUS_TIMEOUT)
		td__buf_printf(&b, "timed out after %s", dur);
	else
		td__buf_puts(&b, "cancelled");
	if (q->progress[0])
		td__buf_printf(&b, " (last progress %s)", q->progress);
	if (s->conn.state == TD_MCP_INIT) {
		td__buf_printf(&b, " waiting for mcp server '%s' to answer initialize",
		               s->conn.srv->name);
		td__mcp_conn_tail(&s->conn, &b);
	} else if (s->conn.notes.len) { /* what the server got wrong may be why */
		td__buf_append(&b, s->conn.notes.data, s->conn.notes.len);
	}
	finish(q, status, &b);
	pump(s);
}

static void on_timeout(struct td__timer *t)
{
	struct td__job *job = CONTAINER(t, struct td__job, timer);

	if (job->priv)
		give_up(job->priv, TD_STATUS_TIMEOUT);
}

static void mcp_kill(struct td__backend *be, struct td__job *job)
{
	(void)be;
	if (job->priv)
		give_up(job->priv, TD_STATUS_CANCELLED);
}

static int mcp_start(struct td__backend *be, struct td__job *job)
{
	struct mcp_backend *mb = (struct mcp_backend *)be;
	struct server_rt *s = server_for(mb, job);
	struct mreq *q = s ? td__calloc(1, sizeof(*q)) : NULL;

	if (!q)
		return TD_ENOMEM;
	q->job = job;
	q->mb = mb;
	q->s = s;
	job->priv = q;
	job->truncated = job->no_retry = 0;
	job->timer.fn = on_timeout;
	job->timer.slot = 0;
	if (s->conn.state == TD_MCP_DEAD) {
		job->no_retry = 1;
		finish_msg(q, TD_STATUS_ERROR, s->last_why);
		return 0;
	}
	if (job->timeout_us > 0)
		td__loop_timer_arm(be->loop, &job->timer, td__loop_now(be->loop) + job->timeout_us);
	queue(s, q);
	if (s->conn.state == TD_MCP_IDLE)
		s->list_wanted = pinned_server(job) != NULL;
	if (s->conn.state == TD_MCP_IDLE &&
	    td__mcp_conn_start(&s->conn, (int64_t)((s->seq++ << SLOT_BITS) | INIT_SLOT)) < 0) {
		snprintf(s->last_why, sizeof(s->last_why), "%s", s->conn.why);
		while ((q = s->wait_head)) {
			s->wait_head = q->next;
			q->job->no_retry = 1;
			fail_one(s, q);
		}
		s->wait_tail = NULL;
		return 0;
	}
	pump(s);
	return 0;
}

static void mcp_free(struct td__backend *be)
{
	struct mcp_backend *mb = (struct mcp_backend *)be;
	struct server_rt *s;
	size_t n = 0, i = 0;
	struct td__mcp_conn **conns;

	for (s = mb->servers; s; s = s->next)
		n++;
	conns = td__calloc(n + 1, sizeof(*conns));
	for (s = mb->servers; s && conns; s = s->next)
		conns[i++] = &s->conn;
	if (conns)
		td__mcp_conn_close(be->loop, conns, n);
	td__free(conns);
	while ((s = mb->servers)) {
		mb->servers = s->next;
		server_free(s);
	}
	td__free(mb);
}

int td__mcp_backend_new(struct td__loop *loop, uint64_t *fd_room, struct td__backend **out)
{
	struct mcp_backend *mb = td__calloc(1, sizeof(*mb));

	*out = NULL;
	if (!mb)
		return TD_ENOMEM;
	mb->fd_room = fd_room;
	mb->be.start = mcp_start;
	mb->be.kill = mcp_kill;
	mb->be.kill_now = mcp_kill;
	mb->be.free = mcp_free;
	mb->be.loop = loop;
	*out = &mb->be;
	return 0;
}
