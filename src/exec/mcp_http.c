/* SPDX-License-Identifier: MIT */
/*
 * mcp_http.c - the MCP Streamable HTTP transport (revision 2025-06-18) for a url: server.
 *
 * Every message is one POST to the server's URL (Accept: application/json, text/event-stream),
 * all through one libcurl multi handle driven by the run's loop (exec/http.h), so many calls
 * are in flight at once, each on its own request. The server answers a request with a JSON
 * body or with an event stream carrying notifications (progress), requests of its own and,
 * last, the response; notifications and responses get 202. The initialize answer's
 * Mcp-Session-Id goes on every later request, with MCP-Protocol-Version.
 *
 * Messages are parsed inside curl's callbacks but delivered to the backend from the loop
 * (a deferred callback, or when the transfer has ended), never inside curl: the backend may
 * then send and cancel requests at once.
 *
 * A request's own failure (an HTTP error status, a broken connection, a stream that ends
 * before its answer, a body that is not JSON-RPC) is reported for its id (ev->lost); a failed
 * initialize takes the connection down (ev->down). A 404 on a request carrying the session
 * means the session ended: a new one is started (initialize again) once, the requests that
 * got the 404 are held and sent again in it, and a second 404 is that request's error.
 *
 *   session: NONE --initialize answered--> OPEN --404--> RENEWING --answered--> OPEN
 *
 * At shutdown the transfers are dropped and the session is ended with DELETE.
 *
 * Secrets: the URL and header values may hold keys (${VAR}); no message here quotes them.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "calls/sse.h"
#include "exec/http.h"
#include "exec/mcp.h"
#include "load/graph.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define ERROR_BODY 300u /* bytes of an error response's body quoted */
#define DELETE_MS  1000L

enum req_kind {
	REQ_MESSAGE, /* a request (id >= 0), a notification or a response (id -1) */
	REQ_INIT,    /* initialize */
	REQ_DELETE,  /* the session's end */
};

enum session_state {
	SESSION_NONE,     /* no session (yet, or the server uses none) */
	SESSION_OPEN,     /* initialized */
	SESSION_RENEWING, /* the server forgot it (404): initialize again, requests held */
};

struct hreq {
	struct td__curl_xfer x;
	struct td__mcp_http *h;
	struct hreq *prev, *next; /* live list, or the held list */
	enum req_kind kind;
	int64_t id;
	char *body; /* kept: sent again in a new session after a 404 */
	size_t len;
	int resent;
	unsigned gen; /* the session it was sent in (td__mcp_http.gen) */
	struct curl_slist *hdrs;
	long status;
	int sse; /* the answer is an event stream */
	struct td__sse parser;
	struct td__buf raw; /* a JSON answer (bounded), or an error answer's start */
	int too_big, answered, not_jsonrpc;
	char errbuf[CURL_ERROR_SIZE];
};

struct td__mcp_http {
	struct td__mcp_conn *c;
	struct td__curl *cu;
	struct hreq *live, *held;
	enum session_state session_state;
	char *session; /* Mcp-Session-Id */
	unsigned gen;  /* sessions renewed so far */
	int64_t renew_id;
	cJSON *inbox; /* messages parsed, not yet delivered */
	struct td__timer deliver, down;
	int deliver_queued, down_queued;
};

/* The one place the session's state changes. */
static void set_session(struct td__mcp_http *h, enum session_state s)
{
	h->session_state = s;
}

static void post(struct td__mcp_http *h, enum req_kind kind, int64_t id, char *body, size_t len,
                 int resent);

/* ---- requests ---- */

static void req_free(struct hreq *r)
{
	if (r->x.easy)
		curl_easy_cleanup(r->x.easy);
	curl_slist_free_all(r->hdrs);
	td__sse_free(&r->parser);
	td__buf_free(&r->raw);
	td__free(r->body);
	td__free(r);
}

static void unlink_req(struct hreq **list, struct hreq *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (*list == r)
		*list = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void link_req(struct hreq **list, struct hreq *r)
{
	r->prev = NULL;
	r->next = *list;
	if (*list)
		(*list)->prev = r;
	*list = r;
}

/* Drops a transfer in flight (or a held request). */
static void drop(struct td__mcp_http *h, struct hreq **list, struct hreq *r)
{
	if (list == &h->live)
		td__curl_remove(h->cu, &r->x);
	unlink_req(list, r);
	req_free(r);
}

static void drop_all(struct td__mcp_http *h)
{
	while (h->live)
		drop(h, &h->live, h->live);
	while (h->held)
		drop(h, &h->held, h->held);
}

/* ---- delivering what arrived ---- */

static int is_jsonrpc(const cJSON *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "jsonrpc");

	return cJSON_IsObject(m) && cJSON_IsString(v) && !strcmp(v->valuestring, "2.0");
}

static int64_t msg_id(const cJSON *m)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");

	return cJSON_IsNumber(id) ? td__num_i64(id->valuedouble, 0, INT64_MAX, -1) : -1;
}

static void conn_down(struct td__mcp_http *h);

/* The new session's initialize answer: the held requests go out again. */
static void renewed(struct td__mcp_http *h, const cJSON *m)
{
	struct td__mcp_conn *c = h->c;
	struct hreq *r;

	set_session(h, SESSION_OPEN);
	if (cJSON_GetObjectItemCaseSensitive(m, "error") ||
	    td__mcp_conn_initialized(c, cJSON_GetObjectItemCaseSensitive(m, "result")) < 0) {
		snprintf(c->why, sizeof(c->why),
		         "mcp server '%s' ended its session (HTTP 404) and refused a new one",
		         c->srv->name);
		conn_down(h);
		return;
	}
	while ((r = h->held)) {
		unlink_req(&h->held, r);
		post(h, r->kind, r->id, r->body, r->len, 1);
		r->body = NULL;
		req_free(r);
	}
}

static void deliver_one(struct td__mcp_http *h, cJSON *m)
{
	struct td__mcp_conn *c = h->c;

	if (c->state == TD_MCP_CLOSING || c->state == TD_MCP_IDLE || c->state == TD_MCP_DEAD)
		return;
	if (h->session_state == SESSION_RENEWING && !cJSON_GetObjectItem(m, "method") &&
	    msg_id(m) == h->renew_id)
		renewed(h, m);
	else
		c->ev->message(c, m);
}

static void deliver_all(struct td__mcp_http *h)
{
	cJSON *m;

	while (h->inbox && (m = cJSON_DetachItemFromArray(h->inbox, 0))) {
		deliver_one(h, m);
		cJSON_Delete(m);
	}
}

static void on_deliver(struct td__timer *t)
{
	struct td__mcp_http *h = CONTAINER(t, struct td__mcp_http, deliver);

	h->deliver_queued = 0;
	deliver_all(h);
}

/* A message of r's answer; queued (this runs inside curl's callbacks). */
static void arrived(struct hreq *r, cJSON *m)
{
	struct td__mcp_http *h = r->h;

	if (!is_jsonrpc(m)) {
		r->not_jsonrpc = 1;
		cJSON_Delete(m);
		return;
	}
	if (!cJSON_GetObjectItem(m, "method") && r->id >= 0 && msg_id(m) == r->id)
		r->answered = 1;
	if (!h->inbox && !(h->inbox = cJSON_CreateArray())) {
		cJSON_Delete(m);
		return;
	}
	cJSON_AddItemToArray(h->inbox, m);
}

/* One JSON text: a message or a batch of them. */
static void arrived_text(struct hreq *r, const char *s, size_t len)
{
	cJSON *m = cJSON_ParseWithLength(s, len), *item;

	if (!cJSON_IsArray(m)) {
		arrived(r, m);
		return;
	}
	while ((item = cJSON_DetachItemFromArray(m, 0)))
		arrived(r, item);
	cJSON_Delete(m);
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
	struct hreq *r = ud;

	if (!strcmp(event, "message") && len) {
		arrived_text(r, data, len);
		if (!r->h->deliver_queued && r->h->inbox) {
			r->h->deliver_queued = 1;
			td__loop_defer(r->h->c->loop, &r->h->deliver);
		}
	}
	return 0;
}

/* ---- curl's callbacks ---- */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct hreq *r = ud;
	struct td__mcp_http *h = r->h;
	size_t len = size * n, k = len;

	while (k && (p[k - 1] == '\r' || p[k - 1] == '\n' || p[k - 1] == ' '))
		k--;
	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', k);

		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->sse = 0;
	} else if (k > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		r->sse = memmem(p + 13, k - 13, "text/event-stream", 17) != NULL;
	} else if (k > 15 && !strncasecmp(p, "Mcp-Session-Id:", 15) && r->kind == REQ_INIT &&
	           r->status >= 200 && r->status < 300) {
		const char *v = p + 15;

		while (v < p + k && (*v == ' ' || *v == '\t'))
			v++;
		td__free(h->session);
		h->session = td__strndup(v, (size_t)(p + k - v));
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct hreq *r = ud;
	size_t len = size * n;

	if (r->status < 200 || r->status >= 300) { /* an error answer: its start, for the text */
		if (r->raw.len < ERROR_BODY)
			td__buf_append(&r->raw, p, len);
		return len;
	}
	if (r->sse)
		return td__sse_feed(&r->parser, p, len) == 0 ? len : (r->too_big = 1, 0);
	if (r->raw.len + len > TD_MCP_MAX_MESSAGE) {
		r->too_big = 1;
		return 0; /* ends the transfer */
	}
	td__buf_append(&r->raw, p, len);
	return len;
}

/* ---- a request ended ---- */

/* The start of an error answer's body, one line, for an error text. */
static void body_excerpt(const struct hreq *r, struct td__buf *b)
{
	size_t n = r->raw.len < ERROR_BODY ? r->raw.len : ERROR_BODY, k;

	while (n && ((unsigned char)r->raw.data[n - 1] & 0xc0) == 0x80)
		n--;
	if (!n)
		return;
	td__buf_puts(b, ": ");
	for (k = 0; k < n; k++)
		td__buf_putc(b, r->raw.data[k] == '\n' || r->raw.data[k] == '\r' ? ' '
		                                                                 : r->raw.data[k]);
}

static const char *what_request(const struct hreq *r)
{
	return r->kind == REQ_INIT ? "initialize" : "the request";
}

/* Why r got no answer, into b; returns whether sending it again may help. */
static int why_lost(const struct hreq *r, int rc, struct td__buf *b)
{
	const char *name = r->h->c->srv->name;

	if (r->too_big) {
		td__buf_printf(b, "mcp server '%s' answered with a message larger than 16 MiB",
		               name);
		return 0;
	}
	if (rc != CURLE_OK) {
		td__buf_printf(b, "mcp server '%s': connection error: %s", name,
		               r->errbuf[0] ? r->errbuf : curl_easy_strerror((CURLcode)rc));
		return 1;
	}
	if (r->status == 401 || r->status == 403) {
		td__buf_printf(b,
		               "mcp server '%s' refused %s: HTTP %ld %s (check the credentials in "
		               "its headers)",
		               name, what_request(r), r->status,
		               r->status == 401 ? "Unauthorized" : "Forbidden");
		body_excerpt(r, b);
		return 0;
	}
	if (r->status >= 300) {
		td__buf_printf(b, "mcp server '%s' answered %s with HTTP %ld", name,
		               what_request(r), r->status);
		if (r->status == 404 && r->resent)
			td__buf_puts(b, " in a new session too");
		body_excerpt(r, b);
		return r->status >= 500 || r->status == 429;
	}
	if (r->sse) {
		td__buf_printf(b, "mcp server '%s': the event stream ended before the answer",
		               name);
		return 1;
	}
	td__buf_printf(b, "mcp server '%s' answered with a body that is not JSON-RPC", name);
	if (r->raw.len) {
		size_t n = r->raw.len < 120 ? r->raw.len : 120;

		td__buf_puts(b, ": '");
		td__buf_append(b, r->raw.data, n);
		td__buf_puts(b, n < r->raw.len ? "...'" : "'");
	} else {
		td__buf_printf(b, " (HTTP %ld, empty)", r->status);
	}
	return 0;
}

/* The server forgot the session: initialize again, hold r until that is answered. A request
 * sent in a session already replaced is only sent again. */
static void renew(struct td__mcp_http *h, struct hreq *r)
{
	struct td__buf msg = {0};

	if (h->session_state == SESSION_OPEN && r->gen != h->gen) {
		post(h, r->kind, r->id, r->body, r->len, 1);
		r->body = NULL;
		req_free(r);
		return;
	}
	link_req(&h->held, r);
	if (h->session_state == SESSION_RENEWING)
		return;
	h->gen++;
	set_session(h, SESSION_RENEWING);
	td__free(h->session);
	h->session = NULL;
	h->renew_id = h->c->init_id;
	td__mcp_initialize_msg(h->c, &msg, h->renew_id);
	if (msg.oom) {
		td__buf_free(&msg);
		return;
	}
	post(h, REQ_INIT, h->renew_id, td__buf_take(&msg), msg.len, 1);
}

static void on_done(struct td__curl_xfer *x, int rc)
{
	struct hreq *r = CONTAINER(x, struct hreq, x);
	struct td__mcp_http *h = r->h;
	struct td__mcp_conn *c = h->c;
	struct td__buf why = {0};
	int retry;

	unlink_req(&h->live, r);
	if (r->kind == REQ_INIT && h->session_state == SESSION_NONE && rc == CURLE_OK &&
	    r->status >= 200 && r->status < 300)
		set_session(h, SESSION_OPEN);
	if (rc == CURLE_OK && r->status >= 200 && r->status < 300 && !r->sse && r->raw.len)
		arrived_text(r, r->raw.data, r->raw.len);
	deliver_all(h);
	if (r->kind == REQ_DELETE || r->answered || c->state == TD_MCP_CLOSING ||
	    (rc == CURLE_OK && r->status >= 200 && r->status < 300 && r->id < 0 &&
	     !r->not_jsonrpc)) {
		req_free(r);
		return;
	}
	if (rc == CURLE_OK && r->status == 404 && r->id < 0 && h->session) { /* an ended session */
		req_free(r);
		return;
	}
	if (rc == CURLE_OK && r->status == 404 && h->session && !r->resent &&
	    r->kind == REQ_MESSAGE) {
		td__buf_free(&r->raw);
		renew(h, r);
		return;
	}
	retry = why_lost(r, rc, &why);
	if (why.oom)
		td__buf_free(&why);
	if (r->kind == REQ_INIT) {
		snprintf(c->why, sizeof(c->why), "%s",
		         why.data ? why.data : "mcp server: initialize failed");
		conn_down(h);
	} else if (r->id >= 0) {
		c->ev->lost(c, r->id, why.data ? why.data : "out of memory", retry);
	} else {
		td__mcp_conn_note(c, "did not take a message", why.data ? why.data : "");
	}
	td__buf_free(&why);
	req_free(r);
}

/* ---- sending ---- */

static struct curl_slist *headers(struct td__mcp_http *h, enum req_kind kind)
{
	const struct td__mcp_server *s = h->c->srv;
	struct curl_slist *l = NULL, *n;
	size_t i;
	int ok = 1;

#define ADD(text)                                                                                  \
	do {                                                                                       \
		if (ok && (n = curl_slist_append(l, (text))))                                      \
			l = n;                                                                     \
		else                                                                               \
			ok = 0;                                                                    \
	} while (0)
	for (i = 0; i < s->nheaders && ok; i++) {
		char *hv = td__asprintf("%s: %s", s->headers[i].key, s->headers[i].value);

		if (!hv)
			ok = 0;
		ADD(hv);
		if (hv)
			memset(hv, 0, strlen(hv)); /* may hold a key */
		td__free(hv);
	}
	if (kind != REQ_DELETE) {
		ADD("Accept: application/json, text/event-stream");
		ADD("Content-Type: application/json");
	}
	ADD("Expect:");
	if (h->session && kind != REQ_INIT) {
		char *sv = td__asprintf("Mcp-Session-Id: %s", h->session);

		if (!sv)
			ok = 0;
		ADD(sv);
		td__free(sv);
	}
	if (h->c->protocol && kind != REQ_INIT) {
		char pv[64];

		snprintf(pv, sizeof(pv), "MCP-Protocol-Version: %s", h->c->protocol);
		ADD(pv);
	}
#undef ADD
	if (!ok) {
		curl_slist_free_all(l);
		return NULL;
	}
	return l;
}

#define SETOPT(e, rc, opt, val)                                                                    \
	do {                                                                                       \
		if ((rc) == CURLE_OK)                                                              \
			(rc) = curl_easy_setopt((e), (opt), (val));                                \
	} while (0)

static int setup(struct hreq *r)
{
	CURL *e = r->x.easy;
	CURLcode rc = CURLE_OK;

	SETOPT(e, rc, CURLOPT_URL, r->h->c->srv->url);
	SETOPT(e, rc, CURLOPT_HTTPHEADER, r->hdrs);
	SETOPT(e, rc, CURLOPT_ERRORBUFFER, r->errbuf);
	SETOPT(e, rc, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(e, rc, CURLOPT_WRITEDATA, r);
	SETOPT(e, rc, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(e, rc, CURLOPT_HEADERDATA, r);
	SETOPT(e, rc, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(e, rc, CURLOPT_USERAGENT, "tooldag/" TD_VERSION_STRING);
	if (r->kind == REQ_DELETE) {
		SETOPT(e, rc, CURLOPT_CUSTOMREQUEST, "DELETE");
		SETOPT(e, rc, CURLOPT_TIMEOUT_MS, DELETE_MS);
	} else {
		SETOPT(e, rc, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
		SETOPT(e, rc, CURLOPT_POSTFIELDS, r->body); /* not copied: r keeps it */
	}
	return rc == CURLE_OK ? 0 : -1;
}

/* Sends body (taken: freed here on failure) as one request. */
static void post(struct td__mcp_http *h, enum req_kind kind, int64_t id, char *body, size_t len,
                 int resent)
{
	struct hreq *r = td__calloc(1, sizeof(*r));

	if (!r || (kind != REQ_DELETE && !body)) {
		td__free(body);
		td__free(r);
		return; /* out of memory: the request's timeout tells */
	}
	r->h = h;
	r->kind = kind;
	r->id = id;
	r->body = body;
	r->len = len;
	r->resent = resent;
	r->gen = h->gen;
	r->x.done = on_done;
	td__sse_init(&r->parser, TD_MCP_MAX_MESSAGE, on_event, r);
	if (!(r->x.easy = curl_easy_init()) || !(r->hdrs = headers(h, kind)) || setup(r) < 0 ||
	    td__curl_add(h->cu, &r->x) < 0) {
		req_free(r);
		return;
	}
	link_req(&h->live, r);
}

void td__mcp_http_send(struct td__mcp_conn *c, int64_t id, const char *msg, size_t len)
{
	struct td__mcp_http *h = c->http;
	enum req_kind kind = c->state == TD_MCP_INIT && id == c->init_id ? REQ_INIT : REQ_MESSAGE;
	char *body = td__malloc(len + 1);

	if (!h || !body) {
		td__free(body);
		return;
	}
	memcpy(body, msg, len);
	body[len] = '\0';
	if (h->session_state == SESSION_RENEWING && kind == REQ_MESSAGE) {
		struct hreq *r = td__calloc(1, sizeof(*r));

		if (!r) {
			td__free(body);
			return;
		}
		r->h = h;
		r->kind = kind;
		r->id = id;
		r->body = body;
		r->len = len;
		link_req(&h->held, r);
		return;
	}
	post(h, kind, id, body, len, 0);
}

/* ---- the connection's life ---- */

static void on_down(struct td__timer *t)
{
	struct td__mcp_http *h = CONTAINER(t, struct td__mcp_http, down);
	struct td__mcp_conn *c = h->c;

	h->down_queued = 0;
	if (c->state == TD_MCP_CLOSING)
		return;
	td__mcp_conn_set_state(c, c->starts <= c->srv->restarts ? TD_MCP_IDLE : TD_MCP_DEAD);
	c->ev->down(c);
}

/* Every request dropped; ev->down at the next loop turn. */
static void conn_down(struct td__mcp_http *h)
{
	drop_all(h);
	set_session(h, SESSION_NONE);
	td__free(h->session);
	h->session = NULL;
	if (!h->down_queued) {
		h->down_queued = 1;
		td__loop_defer(h->c->loop, &h->down);
	}
}

int td__mcp_http_start(struct td__mcp_conn *c)
{
	struct td__mcp_http *h = c->http;

	if (!h) {
		if (!(h = td__calloc(1, sizeof(*h))))
			return TD_ENOMEM;
		if (td__curl_new(c->loop, TD_MCP_HTTP_CONNS, &h->cu) < 0) {
			td__free(h);
			return TD_ENOMEM;
		}
		td__mcp_conn_fds(c, TD_MCP_HTTP_CONNS);
		h->c = c;
		h->deliver.fn = on_deliver;
		h->down.fn = on_down;
		c->http = h;
	}
	set_session(h, SESSION_NONE);
	td__free(h->session);
	h->session = NULL;
	return 0;
}

void td__mcp_http_forget(struct td__mcp_conn *c, int64_t id)
{
	struct td__mcp_http *h = c->http;
	struct hreq *r;

	for (r = h ? h->live : NULL; r; r = r->next)
		if (r->id == id && r->kind == REQ_MESSAGE) {
			drop(h, &h->live, r);
			return;
		}
	for (r = h ? h->held : NULL; r; r = r->next)
		if (r->id == id) {
			drop(h, &h->held, r);
			return;
		}
}

void td__mcp_http_fail(struct td__mcp_conn *c)
{
	if (c->http)
		conn_down(c->http);
}

void td__mcp_http_close(struct td__mcp_conn *c)
{
	struct td__mcp_http *h = c->http;

	drop_all(h);
	if (h->session)
		post(h, REQ_DELETE, -1, NULL, 0, 0);
}

int td__mcp_http_busy(const struct td__mcp_conn *c)
{
	const struct td__mcp_http *h = c->http;

	return h->live || h->deliver_queued || h->down_queued;
}

void td__mcp_http_free(struct td__mcp_conn *c)
{
	struct td__mcp_http *h = c->http;

	if (!h)
		return;
	drop_all(h);
	td__curl_free(h->cu);
	td__free(h->session);
	cJSON_Delete(h->inbox);
	td__free(h);
	c->http = NULL;
}
