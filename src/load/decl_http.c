/* SPDX-License-Identifier: MIT */
/*
 * decl_http.c - an http: tool's mapping (url, method, headers, body, query) and the ${VAR}
 * expansion of its url and header values at load time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/decl.h"

static void http_method(struct td__loader *L, struct td__tool *t, uint32_t key, uint32_t val)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
	const char *s = td__decl_text(L, val);
	char up[8] = "";
	size_t i;

	for (i = 0; s && s[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
	if (!s || strlen(s) >= sizeof(up) || td__decl_word(up, methods) < 0) {
		td__decl_bad_value(L, key, val, "one of GET, POST, PUT, PATCH, DELETE");
		return;
	}
	td__free(t->http.method);
	t->http.method = td__decl_dup(L, up);
}

static bool env_name(const char *s, size_t n)
{
	size_t i;

	if (s[0] >= '0' && s[0] <= '9')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/*
 * ${NAME} in a URL or header value, replaced from tooldag's environment now, at load time, so
 * API keys stay out of graph files. The messages name the variable, never its value or the
 * text around it (which may hold other secrets).
 */
char *td__decl_expand_env(struct td__loader *L, uint32_t node, const char *who, const char *what,
                          const char *s)
{
	struct td__buf b = {0};

	while (*s) {
		const char *end, *val;
		size_t n;
		char name[128];

		if (s[0] != '$' || s[1] != '{') {
			td__buf_putc(&b, *s++);
			continue;
		}
		end = strchr(s + 2, '}');
		n = end ? (size_t)(end - s - 2) : 0;
		if (!end || !n || n >= sizeof(name) || !env_name(s + 2, n)) {
			td__load_error(L, node,
			               "%s: %s has a bad variable reference: write ${NAME} "
			               "(letters, digits, '_')",
			               who, what);
			td__buf_free(&b);
			return NULL;
		}
		memcpy(name, s + 2, n);
		name[n] = '\0';
		if (L->flags & TD_LOAD_KEEP_ENV) { /* as written: only looked at, never sent */
			td__buf_printf(&b, "%.*s", (int)n + 3, s);
			s = end + 1;
			continue;
		}
		if (!(val = getenv(name))) {
			td__load_error(L, node,
			               "%s: %s uses ${%s}, which is not set in the environment",
			               who, what, name);
			td__buf_free(&b);
			return NULL;
		}
		td__buf_puts(&b, val);
		s = end + 1;
	}
	td__buf_putc(&b, '\0');
	if (b.oom)
		L->oom = true;
	return td__buf_take(&b);
}

bool td__decl_expand(struct td__loader *L, uint32_t node, const char *who, const char *what,
                     char **s)
{
	char *x = td__decl_expand_env(L, node, who, what, *s);

	if (!x)
		return false;
	td__free(*s);
	*s = x;
	return true;
}

static bool has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* Replaces *s by its expansion; false after reporting. */
static bool expand_in_place(struct td__loader *L, uint32_t node, const char *tool, const char *what,
                            char **s)
{
	char who[100];

	snprintf(who, sizeof(who), "tool '%s'", tool);
	return td__decl_expand(L, node, who, what, s);
}

/* RFC 9110 token characters: what a header name may contain. */
static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static void http_url(struct td__loader *L, struct td__tool *t, uint32_t key, uint32_t val)
{
	if (!td__decl_string(L, key, val, "a URL like http://host:port/path", &t->http.url))
		return;
	if (!strstr(t->http.url, "${")) { /* as written in the file: fine to quote */
		if (strncmp(t->http.url, "http://", 7) != 0 &&
		    strncmp(t->http.url, "https://", 8) != 0)
			td__decl_bad_value(L, key, val, "a URL starting with http:// or https://");
		else if (strpbrk(t->http.url, " \t\r\n"))
			td__decl_bad_value(L, key, val, "a URL without spaces or line breaks");
		return;
	}
	if (!expand_in_place(L, val, t->name, "url", &t->http.url) ||
	    (L->flags & TD_LOAD_KEEP_ENV)) /* what it will be is not known here */
		return;
	/* no value in these messages: after expansion it may hold a secret */
	if (strncmp(t->http.url, "http://", 7) != 0 && strncmp(t->http.url, "https://", 8) != 0)
		td__load_error(L, val, "tool '%s': url must start with http:// or https://",
		               t->name);
	else if (strpbrk(t->http.url, " \t\r\n"))
		td__load_error(L, val, "tool '%s': url must not contain spaces or line breaks",
		               t->name);
}

void td__decl_headers(struct td__loader *L, uint32_t val, const char *who, struct td__kv *hs,
                      size_t n)
{
	char what[160];
	size_t i;

	for (i = 0; i < n; i++) {
		struct td__kv *h = &hs[i];

		if (!h->key || !h->value)
			continue;
		if (!header_name_ok(h->key)) {
			td__load_error(L, val, "%s: '%s' is not a valid HTTP header name", who,
			               h->key);
			continue;
		}
		snprintf(what, sizeof(what), "header '%s'", h->key);
		if (td__decl_expand(L, val, who, what, &h->value) && has_line_break(h->value))
			td__load_error(L, val, "%s: header '%s' has a line break in its value", who,
			               h->key);
	}
}

static void http_headers(struct td__loader *L, struct td__tool *t, uint32_t key, uint32_t val)
{
	char who[100];

	if (!td__decl_kv(L, key, val, "a mapping of header names to values", &t->http.headers,
	                 &t->http.nheaders))
		return;
	snprintf(who, sizeof(who), "tool '%s'", t->name);
	td__decl_headers(L, val, who, t->http.headers, t->http.nheaders);
}

/* body: input|none and query: from_input|none; *out: 1 input, 0 none. */
static void http_choice(struct td__loader *L, uint32_t key, uint32_t val, const char *yes,
                        const char *what, int *out)
{
	const char *s = td__decl_text(L, val);

	if (s && !strcmp(s, yes))
		*out = 1;
	else if (s && !strcmp(s, "none"))
		*out = 0;
	else
		td__decl_bad_value(L, key, val, what);
}

/* What the http mapping said about body and query; -1 when absent. */
struct http_ctx {
	int body, query;
};

static void http_key(struct td__loader *L, struct td__tool *t, struct http_ctx *h, uint32_t key,
                     uint32_t val)
{
	static const char *const keys[] = {"url", "method", "headers", "body", "query", NULL};
	char where[100];

	switch (td__decl_word(td__decl_key(L, key), keys)) {
	case 0:
		http_url(L, t, key, val);
		break;
	case 1:
		http_method(L, t, key, val);
		break;
	case 2:
		http_headers(L, t, key, val);
		break;
	case 3:
		http_choice(L, key, val, "input",
		            "'input' (the call's input is the JSON body) or 'none'", &h->body);
		break;
	case 4:
		http_choice(L, key, val, "from_input",
		            "'from_input' (the input's fields become query parameters) or 'none'",
		            &h->query);
		break;
	default:
		snprintf(where, sizeof(where), "in http of tool '%s'", t->name);
		td__decl_unknown_key(L, key, where, keys);
	}
}

void td__decl_http(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val)
{
	struct http_ctx h = {-1, -1};
	bool get;
	uint32_t k;

	if (!td__decl_set_kind(L, c, key, TD_KIND_HTTP))
		return;
	if (NODE(L, val)->type != TD_Y_MAP) {
		td__decl_bad_value(L, key, val,
		                   "a mapping like {url: \"http://host/path\", method: POST}");
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++)
		http_key(L, c->t, &h, KID(L, val, 2 * k), KID(L, val, 2 * k + 1));
	if (!c->t->http.url && !L->oom)
		td__load_error(L, key, "http of tool '%s' needs a 'url'", c->t->name);
	if (!c->t->http.method)
		c->t->http.method = td__decl_dup(L, "POST");
	/* GET and DELETE carry the input in the query by default, the others in the body */
	get = c->t->http.method &&
	      (!strcmp(c->t->http.method, "GET") || !strcmp(c->t->http.method, "DELETE"));
	c->t->http.body_input = h.body >= 0 ? h.body : !get;
	c->t->http.query_input = h.query >= 0 ? h.query : get;
}
