/* SPDX-License-Identifier: MIT */
/*
 * decl.c - the graph file's declarations, from the YAML tree into struct td_graph: the top
 * level, `defaults`, each tool (kind, limits, environment) and the optional `calls:` list.
 * Each key has a small handler; a bad value is reported and the walk goes on.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls/schema.h"
#include "load/loader.h"

#define NODE(L, i)   (&(L)->doc.nodes[(i)])
#define KID(L, n, k) TD__YKID(&(L)->doc, (n), (k))
#define PAIRS(L, n)  (NODE(L, n)->len / 2)

/* The text of a scalar key (keys are always scalars in a ytree). */
static const char *key_text(const struct td__loader *L, uint32_t key)
{
	return NODE(L, key)->u.str;
}

/*
 * How a value reads in "got ..." messages: 'text' (cut at 40 bytes or a line end, never inside
 * a UTF-8 sequence), nothing, a list, a mapping.
 */
static const char *describe(const struct td__loader *L, uint32_t i, char *buf, size_t len)
{
	const struct td__ynode *n = NODE(L, i);
	size_t cut = 0;

	if (n->type == TD_Y_SEQ)
		return "a list";
	if (n->type == TD_Y_MAP)
		return "a mapping";
	if (n->type == TD_Y_NULL && n->len == 0)
		return "nothing";
	while (cut < n->len && cut < 40 && (unsigned char)n->u.str[cut] >= 0x20)
		cut++;
	if (cut == n->len) {
		snprintf(buf, len, "'%s'", n->u.str);
		return buf;
	}
	if (cut == 40)
		cut = 37;
	while (cut && ((unsigned char)n->u.str[cut] & 0xc0) == 0x80)
		cut--;
	snprintf(buf, len, "'%.*s...'", (int)cut, n->u.str);
	return buf;
}

/* Reports "'<key>' must be <what>, got <value>". */
static void bad_value(struct td__loader *L, uint32_t key, uint32_t val, const char *what)
{
	char buf[64];

	td__load_error(L, val, "'%s' must be %s, got %s", key_text(L, key), what,
	               describe(L, val, buf, sizeof(buf)));
}

/* A scalar's text, or NULL for null and collections. */
static const char *text_of(const struct td__loader *L, uint32_t i)
{
	const struct td__ynode *n = NODE(L, i);

	return n->type < TD_Y_SEQ && n->type != TD_Y_NULL ? n->u.str : NULL;
}

static char *dup_text(struct td__loader *L, const char *s)
{
	char *d = td__strdup(s);

	if (!d)
		L->oom = true;
	return d;
}

/* A string value into *out (replacing any earlier one); false after reporting. */
static bool get_string(struct td__loader *L, uint32_t key, uint32_t val, const char *what,
                       char **out)
{
	const char *s = text_of(L, val);

	if (!s || !*s) {
		bad_value(L, key, val, what);
		return false;
	}
	td__free(*out);
	*out = dup_text(L, s);
	return *out != NULL;
}

/* Digits only, at most max. */
static bool parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Index of word in a NULL-terminated list, or -1. */
static int word_index(const char *word, const char *const *list)
{
	int i;

	for (i = 0; list[i]; i++)
		if (strcmp(word, list[i]) == 0)
			return i;
	return -1;
}

static size_t list_len(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

/* "unknown key 'timout' in tool 'x' (did you mean 'timeout'?)" */
static void unknown_key(struct td__loader *L, uint32_t key, const char *where,
                        const char *const *known)
{
	const char *k = key_text(L, key);
	const char *guess = td__did_you_mean(k, known, list_len(known));

	if (guess)
		td__load_error(L, key, "unknown key '%s' %s (did you mean '%s'?)", k, where, guess);
	else
		td__load_error(L, key, "unknown key '%s' %s", k, where);
}

/* ---- limits: shared by `defaults` and each tool ---- */

static const char *const limit_keys[] = {
    "timeout",    "concurrency",           "rate", "retries", "backoff",
    "max_output", "on_dependency_failure", NULL,
};

#define DURATION_HINT "a duration like 250ms, 5s or 2m"

static void limit_duration(struct td__loader *L, uint32_t key, uint32_t val, int64_t *out)
{
	if (td__parse_duration(text_of(L, val), out) < 0)
		bad_value(L, key, val, DURATION_HINT);
}

static void limit_value(struct td__loader *L, int which, uint32_t key, uint32_t val,
                        struct td__limits *lim)
{
	const char *s = text_of(L, val);

	switch (which) {
	case 0:
		limit_duration(L, key, val, &lim->timeout_us);
		break;
	case 1:
		if (!parse_uint(s, 1000000, &lim->concurrency))
			bad_value(L, key, val, "a whole number, 0 for no per-tool limit");
		break;
	case 2:
		if (td__parse_rate(s, &lim->rate_count, &lim->rate_period_us) < 0)
			bad_value(L, key, val, "a rate like 10/s, 100/m or 3/250ms");
		break;
	case 3:
		if (!parse_uint(s, 100, &lim->retries))
			bad_value(L, key, val, "a whole number from 0 to 100");
		break;
	case 4:
		limit_duration(L, key, val, &lim->backoff_us);
		break;
	case 5:
		if (td__parse_size(s, &lim->max_output) < 0)
			bad_value(L, key, val, "a size like 64KiB, 1MiB or 65536 (bytes)");
		break;
	default:
		if (s && strcmp(s, "skip") == 0)
			lim->on_dependency_failure = TD_DEPFAIL_SKIP;
		else if (s && strcmp(s, "run") == 0)
			lim->on_dependency_failure = TD_DEPFAIL_RUN;
		else
			bad_value(L, key, val, "skip or run");
		break;
	}
}

/* Parses key: val into lim if key names a limit; returns whether it did. */
static bool parse_limit(struct td__loader *L, uint32_t key, uint32_t val, struct td__limits *lim)
{
	int which = word_index(key_text(L, key), limit_keys);

	if (which < 0)
		return false;
	limit_value(L, which, key, val, lim);
	lim->set |= 1u << which; /* TD_LIM_* follow limit_keys' order */
	return true;
}

static void builtin_limits(struct td__limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->timeout_us = TD_DEFAULT_TIMEOUT_US;
	lim->backoff_us = TD_DEFAULT_BACKOFF_US;
	lim->max_output = TD_DEFAULT_MAX_OUTPUT;
}

/* ---- limits: a run: tool's process resource limits, applied with setrlimit in the child ---- */

static const char *const rlimit_keys[] = {"cpu", "memory", "nofile", "procs", NULL};

/* What each rlimit key takes, for "'cpu' must be ..." (by enum td__rlimit). */
static const char *const rlimit_hints[] = {
    "whole seconds like 10s or 2m, at least 1s (RLIMIT_CPU counts seconds), or unlimited",
    "a size like 512MiB or 2GiB, at least 1MiB, or unlimited",
    "a whole number from 3 to 1048576 (descriptors, 0-2 included), or unlimited",
    "a whole number from 1 to 4194304 (processes of the user), or unlimited",
};

/* The value of one rlimit key; 0 for `unlimited`, false when malformed. */
static bool rlimit_parse(const char *s, int which, uint64_t *out)
{
	int64_t us;
	uint32_t n;

	if (s && !strcmp(s, "unlimited")) {
		*out = 0; /* lifts a default: the child inherits tooldag's own limit */
		return true;
	}
	switch (which) {
	case TD_RL_CPU:
		/* sub-second values are refused, not rounded: RLIMIT_CPU has no finer unit */
		if (td__parse_duration(s, &us) < 0 || us < 1000000 || us % 1000000)
			return false;
		*out = (uint64_t)(us / 1000000);
		return true;
	case TD_RL_MEMORY:
		return td__parse_size(s, out) == 0 && *out >= 1024 * 1024;
	case TD_RL_NOFILE:
		/* 1 << 20: the kernel's default nr_open */
		if (!parse_uint(s, 1u << 20, &n) || n < 3)
			return false;
		*out = n;
		return true;
	default:
		/* 1 << 22: the largest pid_max */
		if (!parse_uint(s, 1u << 22, &n) || n < 1)
			return false;
		*out = n;
		return true;
	}
}

/* `limits: {cpu, memory, nofile, procs}` into rlimit[], key by key over what is there. */
static void parse_rlimits(struct td__loader *L, uint32_t key, uint32_t val, const char *where,
                          uint64_t *rlimit)
{
	uint32_t k, kk, vv;
	int which;

	if (NODE(L, val)->type != TD_Y_MAP) {
		bad_value(L, key, val,
		          "a mapping like {cpu: 10s, memory: 512MiB, nofile: 256, procs: 64}");
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++) {
		kk = KID(L, val, 2 * k);
		vv = KID(L, val, 2 * k + 1);
		which = word_index(key_text(L, kk), rlimit_keys);
		if (which < 0)
			unknown_key(L, kk, where, rlimit_keys);
		else if (!rlimit_parse(text_of(L, vv), which, &rlimit[which]))
			bad_value(L, kk, vv, rlimit_hints[which]);
	}
}

static const char *const defaults_keys[] = {
    "timeout",    "concurrency",           "rate",   "retries", "backoff",
    "max_output", "on_dependency_failure", "limits", NULL,
};

static void parse_defaults(struct td__loader *L, uint32_t val, struct td__limits *lim)
{
	uint32_t k;

	if (NODE(L, val)->type != TD_Y_MAP) {
		char buf[64];

		td__load_error(L, val, "'defaults' must be a mapping of limits, got %s",
		               describe(L, val, buf, sizeof(buf)));
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++) {
		uint32_t key = KID(L, val, 2 * k), v = KID(L, val, 2 * k + 1);

		if (!strcmp(key_text(L, key), "limits"))
			parse_rlimits(L, key, v, "in 'limits' of defaults", lim->rlimit);
		else if (!parse_limit(L, key, v, lim))
			unknown_key(L, key, "in defaults", defaults_keys);
	}
}

/* ---- string mappings: env, http headers ---- */

static bool parse_kv(struct td__loader *L, uint32_t key, uint32_t val, const char *what,
                     struct td__kv **out, size_t *n)
{
	uint32_t k, pairs;
	const char *v;

	if (NODE(L, val)->type != TD_Y_MAP) {
		bad_value(L, key, val, what);
		return false;
	}
	pairs = PAIRS(L, val);
	*out = td__calloc(pairs, sizeof(**out));
	if (!*out) {
		L->oom = true;
		return false;
	}
	for (k = 0; k < pairs; k++) {
		v = text_of(L, KID(L, val, 2 * k + 1));
		if (!v) {
			bad_value(L, KID(L, val, 2 * k), KID(L, val, 2 * k + 1), "a plain value");
			continue;
		}
		(*out)[*n].key = dup_text(L, key_text(L, KID(L, val, 2 * k)));
		(*out)[*n].value = dup_text(L, v);
		(*n)++;
	}
	return true;
}

static cJSON *to_json(struct td__loader *L, uint32_t val);
static cJSON *schema_json(struct td__loader *L, uint32_t val);

/* ---- tool keys ---- */

struct tool_ctx {
	struct td__tool *t;
	uint32_t index;
	uint32_t kind_key;   /* the key that set the kind, for "two kinds" */
	uint32_t limits_key; /* the tool's own `limits:`, or TD__YNONE */
};

static const char *const kind_names[] = {"", "run", "http", "builtin", "function"};

static bool set_kind(struct td__loader *L, struct tool_ctx *c, uint32_t key, enum td__kind kind)
{
	if (c->t->kind != TD_KIND_NONE) {
		td__load_error(L, key, "tool '%s' has two kinds, '%s' and '%s': give exactly one",
		               c->t->name, kind_names[c->t->kind], kind_names[kind]);
		return false;
	}
	c->t->kind = kind;
	c->kind_key = key;
	return true;
}

static void key_description(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	const char *s = text_of(L, val);

	if (!s) {
		bad_value(L, key, val, "a string");
		return;
	}
	td__free(c->t->description); /* an empty description is allowed */
	c->t->description = dup_text(L, s);
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
			const char *key = key_text(L, KID(L, n, 2 * k));

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

static void key_input_schema(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	char err[256] = "";
	uint32_t blank;

	if (NODE(L, val)->type != TD_Y_MAP) {
		bad_value(L, key, val, "a mapping (a JSON Schema)");
		return;
	}
	c->t->schema = schema_json(L, val); /* the arena's: nothing to free (key given once) */
	if (!c->t->schema)
		return;
	if ((blank = schema_blank(L, val)) != TD__YNONE) {
		td__load_error(L, blank,
		               "tool '%s': '%s' in input_schema has no value (a comma ends a value "
		               "inside {...}: quote text that holds one; write null for null)",
		               c->t->name, key_text(L, blank));
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

static void key_depends_on(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	uint32_t k;

	if (NODE(L, val)->type != TD_Y_SEQ) {
		bad_value(L, key, val, "a list of tool names like [fetch_weather]");
		return;
	}
	for (k = 0; k < NODE(L, val)->len; k++) {
		if (!text_of(L, KID(L, val, k))) {
			bad_value(L, key, KID(L, val, k), "a list of tool names");
			return;
		}
	}
	L->depends[c->index] = val;
}

static void key_run(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	const struct td__ynode *n = NODE(L, val);
	uint32_t k;
	const char *s;

	if (!set_kind(L, c, key, TD_KIND_RUN))
		return;
	if (n->type != TD_Y_SEQ || n->len == 0) {
		bad_value(L, key, val,
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
		s = text_of(L, KID(L, val, k));
		if (!s) {
			bad_value(L, key, KID(L, val, k), "a list of strings");
			continue;
		}
		c->t->argv[c->t->argc++] = dup_text(L, s);
	}
}

static void http_method(struct td__loader *L, struct td__tool *t, uint32_t key, uint32_t val)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
	const char *s = text_of(L, val);
	char up[8] = "";
	size_t i;

	for (i = 0; s && s[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
	if (!s || strlen(s) >= sizeof(up) || word_index(up, methods) < 0) {
		bad_value(L, key, val, "one of GET, POST, PUT, PATCH, DELETE");
		return;
	}
	td__free(t->http.method);
	t->http.method = dup_text(L, up);
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
static char *expand_env(struct td__loader *L, uint32_t node, const char *tool, const char *what,
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
			               "tool '%s': %s has a bad variable reference: write ${NAME} "
			               "(letters, digits, '_')",
			               tool, what);
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
			td__load_error(
			    L, node,
			    "tool '%s': %s uses ${%s}, which is not set in the environment", tool,
			    what, name);
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

/* Replaces *s by its expansion; false after reporting. */
static bool expand_in_place(struct td__loader *L, uint32_t node, const char *tool, const char *what,
                            char **s)
{
	char *x = expand_env(L, node, tool, what, *s);

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

/* RFC 9110 token characters: what a header name may contain. */
static bool valid_header_name(const char *s)
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
	if (!get_string(L, key, val, "a URL like http://host:port/path", &t->http.url))
		return;
	if (!strstr(t->http.url, "${")) { /* as written in the file: fine to quote */
		if (strncmp(t->http.url, "http://", 7) != 0 &&
		    strncmp(t->http.url, "https://", 8) != 0)
			bad_value(L, key, val, "a URL starting with http:// or https://");
		else if (strpbrk(t->http.url, " \t\r\n"))
			bad_value(L, key, val, "a URL without spaces or line breaks");
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

static void http_headers(struct td__loader *L, struct td__tool *t, uint32_t key, uint32_t val)
{
	char what[160];
	size_t i;

	if (!parse_kv(L, key, val, "a mapping of header names to values", &t->http.headers,
	              &t->http.nheaders))
		return;
	for (i = 0; i < t->http.nheaders; i++) {
		struct td__kv *h = &t->http.headers[i];

		if (!h->key || !h->value)
			continue;
		if (!valid_header_name(h->key)) {
			td__load_error(L, val, "tool '%s': '%s' is not a valid HTTP header name",
			               t->name, h->key);
			continue;
		}
		snprintf(what, sizeof(what), "header '%s'", h->key);
		if (!expand_in_place(L, val, t->name, what, &h->value))
			continue;
		if (has_line_break(h->value))
			td__load_error(L, val,
			               "tool '%s': header '%s' has a line break in its value",
			               t->name, h->key);
	}
}

/* body: input|none and query: from_input|none; *out: 1 input, 0 none. */
static void http_choice(struct td__loader *L, uint32_t key, uint32_t val, const char *yes,
                        const char *what, int *out)
{
	const char *s = text_of(L, val);

	if (s && !strcmp(s, yes))
		*out = 1;
	else if (s && !strcmp(s, "none"))
		*out = 0;
	else
		bad_value(L, key, val, what);
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

	switch (word_index(key_text(L, key), keys)) {
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
		unknown_key(L, key, where, keys);
	}
}

static void key_http(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	struct http_ctx h = {-1, -1};
	bool get;
	uint32_t k;

	if (!set_kind(L, c, key, TD_KIND_HTTP))
		return;
	if (NODE(L, val)->type != TD_Y_MAP) {
		bad_value(L, key, val, "a mapping like {url: \"http://host/path\", method: POST}");
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++)
		http_key(L, c->t, &h, KID(L, val, 2 * k), KID(L, val, 2 * k + 1));
	if (!c->t->http.url && !L->oom)
		td__load_error(L, key, "http of tool '%s' needs a 'url'", c->t->name);
	if (!c->t->http.method)
		c->t->http.method = dup_text(L, "POST");
	/* GET and DELETE carry the input in the query by default, the others in the body */
	get = c->t->http.method &&
	      (!strcmp(c->t->http.method, "GET") || !strcmp(c->t->http.method, "DELETE"));
	c->t->http.body_input = h.body >= 0 ? h.body : !get;
	c->t->http.query_input = h.query >= 0 ? h.query : get;
}

static void key_builtin(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	static const char *const builtins[] = {"sleep", "echo", NULL};
	const char *s = text_of(L, val);
	int which = s ? word_index(s, builtins) : -1;

	if (!set_kind(L, c, key, TD_KIND_BUILTIN))
		return;
	if (which < 0)
		bad_value(L, key, val, "sleep or echo");
	else
		c->t->builtin = which == 0 ? TD_BUILTIN_SLEEP : TD_BUILTIN_ECHO;
}

static void key_function(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	if (set_kind(L, c, key, TD_KIND_FUNCTION))
		get_string(L, key, val, "the name a C function is registered under",
		           &c->t->function);
}

static void key_env(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	size_t i;

	if (!parse_kv(L, key, val, "a mapping of variable names to values", &c->t->env,
	              &c->t->nenv))
		return;
	for (i = 0; i < c->t->nenv; i++)
		if (c->t->env[i].key && (!*c->t->env[i].key || strchr(c->t->env[i].key, '=')))
			td__load_error(L, val, "invalid environment variable name '%s'",
			               c->t->env[i].key);
}

static void key_cwd(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	get_string(L, key, val, "a directory", &c->t->cwd);
}

static void key_inherit_env(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	if (NODE(L, val)->type == TD_Y_BOOL)
		c->t->inherit_env = NODE(L, val)->boolean;
	else
		bad_value(L, key, val, "true or false");
}

static void key_stdin(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	const char *s = text_of(L, val);

	if (s && strcmp(s, "input") == 0)
		c->t->stdin_mode = TD_STDIN_INPUT;
	else if (s && strcmp(s, "envelope") == 0)
		c->t->stdin_mode = TD_STDIN_ENVELOPE;
	else
		bad_value(L, key, val, "input or envelope");
}

static void key_limits(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	char where[100];

	snprintf(where, sizeof(where), "in 'limits' of tool '%s'", c->t->name);
	c->limits_key = key;
	parse_rlimits(L, key, val, where, c->t->lim.rlimit);
}

/*
 * `limits` on a tool that starts no process is an error, not a warning: the loader has no
 * warning channel, and a limit silently ignored would let the author believe the tool is
 * capped. Limits in `defaults` are fine: they apply to the run: tools among all tools.
 */
static void check_limits_kind(struct td__loader *L, const struct tool_ctx *c)
{
	static const char *const what[] = {"", "a run:", "an http:", "a builtin:", "a function:"};

	if (c->limits_key == TD__YNONE || c->t->kind == TD_KIND_NONE || c->t->kind == TD_KIND_RUN)
		return;
	td__load_error(L, c->limits_key,
	               "'limits' applies to run: tools only (setrlimit on the child process); "
	               "tool '%s' is %s tool, which starts no process",
	               c->t->name, what[c->t->kind]);
}

typedef void tool_key_fn(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val);

static const struct {
	const char *name;
	tool_key_fn *fn;
} tool_keys[] = {
    {"description", key_description},
    {"input_schema", key_input_schema},
    {"depends_on", key_depends_on},
    {"run", key_run},
    {"http", key_http},
    {"builtin", key_builtin},
    {"function", key_function},
    {"env", key_env},
    {"cwd", key_cwd},
    {"inherit_env", key_inherit_env},
    {"stdin", key_stdin},
    {"limits", key_limits},
};

/* Every key a tool may have, for did-you-mean. */
static const char *const all_tool_keys[] = {
    "description", "input_schema", "depends_on",
    "run",         "http",         "builtin",
    "function",    "env",          "cwd",
    "inherit_env", "stdin",        "timeout",
    "concurrency", "rate",         "retries",
    "backoff",     "max_output",   "on_dependency_failure",
    "limits",      NULL,
};

static void tool_key(struct td__loader *L, struct tool_ctx *c, uint32_t key, uint32_t val)
{
	const char *k = key_text(L, key);
	char where[100];
	size_t i;

	for (i = 0; i < TD__ARRAY_SIZE(tool_keys); i++) {
		if (strcmp(k, tool_keys[i].name) == 0) {
			tool_keys[i].fn(L, c, key, val);
			return;
		}
	}
	if (parse_limit(L, key, val, &c->t->lim))
		return;
	snprintf(where, sizeof(where), "in tool '%s'", c->t->name);
	unknown_key(L, key, where, all_tool_keys);
}

static void parse_tool(struct td__loader *L, uint32_t index, uint32_t name, uint32_t val,
                       const struct td__limits *defaults)
{
	struct tool_ctx c = {.t = &L->g->tools[index], .index = index, .limits_key = TD__YNONE};
	char buf[64];
	uint32_t k;

	c.t->lim = *defaults;
	if (NODE(L, val)->type != TD_Y_MAP) {
		td__load_error(L, val,
		               "tool '%s' must be a mapping with a kind (run, http, builtin or "
		               "function), got %s",
		               c.t->name, describe(L, val, buf, sizeof(buf)));
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++)
		tool_key(L, &c, KID(L, val, 2 * k), KID(L, val, 2 * k + 1));
	if (c.t->kind == TD_KIND_NONE)
		td__load_error(L, name,
		               "tool '%s' has no kind: give one of run, http, builtin or function",
		               c.t->name);
	check_limits_kind(L, &c);
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
		name = key_text(L, key);
		if (!td__valid_tool_name(name))
			td__load_error(L, key,
			               "invalid tool name '%s': use 1 to 64 letters, digits, '_' "
			               "or '-'",
			               name);
		g->tools[k].name = dup_text(L, name);
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

static void parse_tools(struct td__loader *L, uint32_t key, uint32_t tools,
                        const struct td__limits *defaults)
{
	char buf[64];
	uint32_t k;

	if (NODE(L, tools)->type != TD_Y_MAP) {
		td__load_error(L, tools,
		               "'%s' must be a mapping of tool names to declarations, got %s",
		               key_text(L, key), describe(L, tools, buf, sizeof(buf)));
		return;
	}
	declare_tools(L, tools);
	for (k = 0; k < L->g->ntools && !L->oom; k++)
		parse_tool(L, k, KID(L, tools, 2 * k), KID(L, tools, 2 * k + 1), defaults);
}

/* ---- calls: the graph's own batch, as Anthropic tool_use blocks ---- */

static cJSON *call_string(struct td__loader *L, uint32_t val, const char *what, size_t idx)
{
	const char *s = text_of(L, val);
	cJSON *j;

	if (!s || !*s) {
		char buf[64];

		td__load_error(L, val, "'%s' of call #%zu must be a string, got %s", what, idx + 1,
		               describe(L, val, buf, sizeof(buf)));
		return NULL;
	}
	j = cJSON_CreateString(s);
	if (!j)
		L->oom = true;
	return j;
}

/* A subtree as JSON; NULL after reporting (alias bomb) or on allocation failure. */
static cJSON *to_json(struct td__loader *L, uint32_t val)
{
	int oom = 0;
	cJSON *j = td__ydoc_json(&L->doc, val, &L->budget, L->file, L->diag, &oom);

	if (!j && oom)
		L->oom = true;
	else if (!j)
		L->nerr++;
	return j;
}

/* to_json() for a tool's schema: read-only for the graph's life, so its items come from a
 * pool in the document's arena (see td__ydoc_json_pooled). */
static cJSON *schema_json(struct td__loader *L, uint32_t val)
{
	int oom = 0;
	cJSON *j =
	    td__ydoc_json_pooled(&L->doc, &L->schemas, val, &L->budget, L->file, L->diag, &oom);

	if (!j && oom)
		L->oom = true;
	else if (!j)
		L->nerr++;
	return j;
}

static cJSON *call_input(struct td__loader *L, uint32_t val, size_t idx)
{

	if (NODE(L, val)->type != TD_Y_MAP) {
		char buf[64];

		td__load_error(L, val, "'input' of call #%zu must be a mapping, got %s", idx + 1,
		               describe(L, val, buf, sizeof(buf)));
		return NULL;
	}
	return to_json(L, val);
}

static cJSON *call_depends(struct td__loader *L, uint32_t val, size_t idx)
{
	const struct td__ynode *n = NODE(L, val);
	cJSON *list, *id;
	uint32_t k;

	for (k = 0; n->type == TD_Y_SEQ && k < n->len; k++)
		if (!text_of(L, KID(L, val, k)))
			break;
	if (n->type != TD_Y_SEQ || k < n->len) {
		char buf[64];

		td__load_error(L, val,
		               "'depends_on' of call #%zu must be a list of call ids, got %s",
		               idx + 1, describe(L, val, buf, sizeof(buf)));
		return NULL;
	}
	/* ids are strings even when written as plain numbers */
	list = cJSON_CreateArray();
	for (k = 0; list && k < n->len; k++) {
		id = cJSON_CreateString(text_of(L, KID(L, val, k)));
		if (!id || !cJSON_AddItemToArray(list, id)) {
			cJSON_Delete(id);
			cJSON_Delete(list);
			list = NULL;
		}
	}
	if (!list)
		L->oom = true;
	return list;
}

static const char *const call_keys[] = {"id", "tool", "input", "depends_on", NULL};

/* What the model APIs call them: a graph's calls written from an API transcript use these. */
static const char *const call_wire_keys[][2] = {
    {"name", "tool"}, {"arguments", "input"}, {"call_id", "id"}, {"type", NULL}};

static void unknown_call_key(struct td__loader *L, uint32_t key)
{
	const char *k = key_text(L, key);
	size_t i;

	for (i = 0; i < TD__ARRAY_SIZE(call_wire_keys); i++)
		if (strcmp(k, call_wire_keys[i][0]) == 0) {
			if (call_wire_keys[i][1])
				td__load_error(
				    L, key,
				    "unknown key '%s' in call (did you mean '%s'? a graph's "
				    "calls are {id, tool, input, depends_on})",
				    k, call_wire_keys[i][1]);
			else
				td__load_error(
				    L, key,
				    "unknown key '%s' in call (a graph's calls are {id, tool, "
				    "input, depends_on}, not API blocks)",
				    k);
			return;
		}
	unknown_key(L, key, "in call", call_keys);
}

/* One {id, tool, input, depends_on} item into a tool_use block; NULL after reporting. */
static cJSON *parse_call(struct td__loader *L, uint32_t item, size_t idx)
{
	cJSON *block = cJSON_CreateObject(), *v[4] = {NULL};
	uint32_t k;
	int which, ok = 1;

	if (!block || !cJSON_AddStringToObject(block, "type", "tool_use")) {
		L->oom = true;
		cJSON_Delete(block);
		return NULL;
	}
	for (k = 0; k < PAIRS(L, item); k++) {
		uint32_t key = KID(L, item, 2 * k), val = KID(L, item, 2 * k + 1);

		which = word_index(key_text(L, key), call_keys);
		if (which < 0) {
			unknown_call_key(L, key);
			ok = 0;
			continue;
		}
		if (which == 0 || which == 1)
			v[which] = call_string(L, val, call_keys[which], idx);
		else
			v[which] = which == 2 ? call_input(L, val, idx) : call_depends(L, val, idx);
		ok &= v[which] != NULL;
	}
	if (!v[0] && ok)
		td__load_error(L, item, "call #%zu needs an 'id'", idx + 1);
	if (!v[1] && ok)
		td__load_error(L, item, "call #%zu needs a 'tool'", idx + 1);
	if (!v[2] && ok && v[0] && v[1] && !(v[2] = cJSON_CreateObject()))
		L->oom = true;
	if (!ok || !v[0] || !v[1] || !v[2]) {
		for (which = 0; which < 4; which++)
			cJSON_Delete(v[which]);
		cJSON_Delete(block);
		return NULL;
	}
	/* constant keys: adding cannot fail, so nothing leaks */
	cJSON_AddItemToObjectCS(block, "id", v[0]);
	cJSON_AddItemToObjectCS(block, "name", v[1]);
	cJSON_AddItemToObjectCS(block, "input", v[2]);
	if (v[3])
		cJSON_AddItemToObjectCS(block, "depends_on", v[3]);
	return block;
}

static void parse_calls(struct td__loader *L, uint32_t key, uint32_t val)
{
	const struct td__ynode *n = NODE(L, val);
	struct td_graph *g = L->g;
	cJSON *block;
	uint32_t k;
	char buf[64];

	g->calls_line = NODE(L, key)->line;
	if (n->type != TD_Y_SEQ) {
		td__load_error(L, val, "'calls' must be a list of {id, tool, input}, got %s",
		               describe(L, val, buf, sizeof(buf)));
		return;
	}
	if (n->len == 0) {
		td__load_error(L, val,
		               "'calls' is an empty list: give at least one call, or leave 'calls' "
		               "out and pass the calls on the command line");
		return;
	}
	g->calls = cJSON_CreateArray();
	g->call_pos = td__malloc(n->len * sizeof(*g->call_pos));
	if (!g->calls || !g->call_pos) {
		L->oom = true;
		return;
	}
	for (k = 0; k < n->len && !L->oom; k++) {
		uint32_t item = KID(L, val, k);

		g->call_pos[k].line = NODE(L, item)->line;
		g->call_pos[k].column = NODE(L, item)->column;
		if (NODE(L, item)->type != TD_Y_MAP) {
			td__load_error(L, item,
			               "call #%u must be a mapping {id, tool, input}, got %s",
			               k + 1, describe(L, item, buf, sizeof(buf)));
			continue;
		}
		block = parse_call(L, item, k);
		if (block)
			cJSON_AddItemToArray(g->calls, block);
	}
}

/* ---- top level ---- */

static const char *const top_keys[] = {"version", "concurrency", "defaults",
                                       "tools",   "calls",       NULL};
enum { TOP_VERSION, TOP_CONCURRENCY, TOP_DEFAULTS, TOP_TOOLS, TOP_CALLS, TOP_N };

static void parse_version(struct td__loader *L, const uint32_t *key, const uint32_t *val)
{
	char buf[64];

	if (key[TOP_VERSION] == TD__YNONE) {
		td__load_error(L, L->doc.root, "missing 'version: 1' at the top of the graph file");
		return;
	}
	if (!text_of(L, val[TOP_VERSION]) || strcmp(text_of(L, val[TOP_VERSION]), "1") != 0)
		td__load_error(L, val[TOP_VERSION],
		               "unsupported version %s: this tooldag reads version 1",
		               describe(L, val[TOP_VERSION], buf, sizeof(buf)));
}

static void parse_concurrency(struct td__loader *L, uint32_t key, uint32_t val)
{
	uint32_t v;

	if (!parse_uint(text_of(L, val), 1000000, &v) || v == 0)
		bad_value(L, key, val, "a whole number from 1 to 1000000");
	else
		L->g->concurrency = v;
}

/* Finds the known top-level keys; `x-...` keys are free for anchors and notes. */
static void top_keys_find(struct td__loader *L, uint32_t *key, uint32_t *val)
{
	uint32_t root = L->doc.root, k;
	const char *name;
	int which;

	for (which = 0; which < TOP_N; which++)
		key[which] = val[which] = TD__YNONE;
	for (k = 0; k < PAIRS(L, root); k++) {
		name = key_text(L, KID(L, root, 2 * k));
		which = word_index(name, top_keys);
		if (which >= 0) {
			key[which] = KID(L, root, 2 * k);
			val[which] = KID(L, root, 2 * k + 1);
		} else if (strncmp(name, "x-", 2) != 0) {
			unknown_key(L, KID(L, root, 2 * k), "at the top level", top_keys);
		}
	}
}

void td__load_decl(struct td__loader *L)
{
	uint32_t key[TOP_N], val[TOP_N];
	struct td__limits defaults;

	builtin_limits(&defaults);
	top_keys_find(L, key, val);
	parse_version(L, key, val);
	if (val[TOP_CONCURRENCY] != TD__YNONE)
		parse_concurrency(L, key[TOP_CONCURRENCY], val[TOP_CONCURRENCY]);
	if (val[TOP_DEFAULTS] != TD__YNONE)
		parse_defaults(L, val[TOP_DEFAULTS], &defaults);
	if (val[TOP_TOOLS] == TD__YNONE)
		td__load_error(L, L->doc.root,
		               "missing 'tools': a mapping of tool names to declarations");
	else
		parse_tools(L, key[TOP_TOOLS], val[TOP_TOOLS], &defaults);
	if (val[TOP_CALLS] != TD__YNONE && !L->oom)
		parse_calls(L, key[TOP_CALLS], val[TOP_CALLS]);
}
