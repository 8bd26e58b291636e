/* SPDX-License-Identifier: MIT */
/*
 * remote.c - `remote: {redis: URL, queue: NAME, claim_after: DURATION}` on a tool or in
 * `defaults` (or `remote: none` on a tool, to run it here after all), and the Redis URL forms.
 * URLs are checked here, at load, so a typo is a file:line:col error and not a failed run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/decl.h"
#include "load/remote.h"

/* ---- URLs ---- */

static int fail(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) percent-decoded into out (size cap); false when malformed or too long. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return 0;
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

/* Digits only, 1..max. */
static int number(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return 0;
	}
	*out = v;
	return 1;
}

/* [user]:password, password alone stands for the default user */
static int userinfo(const char *s, size_t n, struct td__redis_url *u, char *why, size_t len)
{
	const char *colon = memchr(s, ':', n);

	if (!colon)
		return fail(why, len,
		            "user without a password: write redis://user:password@host "
		            "or redis://:password@host");
	if (!decode(s, (size_t)(colon - s), u->user, sizeof(u->user)) ||
	    !decode(colon + 1, n - (size_t)(colon - s) - 1, u->pass, sizeof(u->pass)))
		return fail(why, len, "bad user or password (too long, or a bad %XX escape)");
	if (!u->pass[0])
		return fail(why, len, "empty password after ':'");
	return 0;
}

static int hostport(const char *s, size_t n, struct td__redis_url *u, char *why, size_t len)
{
	const char *port = NULL, *end = s + n;
	size_t hl;
	unsigned long p;

	if (n && s[0] == '[') { /* [v6]:port */
		const char *rb = memchr(s, ']', n);

		if (!rb)
			return fail(why, len, "an IPv6 address needs its closing ']'");
		hl = (size_t)(rb - s - 1);
		memcpy(u->host, s + 1, hl < sizeof(u->host) ? hl : 0);
		if (rb + 1 < end && rb[1] != ':')
			return fail(why, len, "expected ':port' after ']'");
		port = rb + 1 < end ? rb + 2 : NULL;
		s++;
	} else {
		port = memchr(s, ':', n);
		hl = port ? (size_t)(port - s) : n;
		if (port)
			port++;
	}
	if (!hl || hl >= sizeof(u->host))
		return fail(why, len, "no host (or a host name over 255 characters)");
	memcpy(u->host, s, hl);
	u->host[hl] = '\0';
	if (port) {
		if (!number(port, (size_t)(end - port), 65535, &p) || p == 0)
			return fail(why, len, "the port must be a number from 1 to 65535");
		u->port = (int)p;
	}
	return 0;
}

static int parse_tcp(const char *s, struct td__redis_url *u, char *why, size_t len)
{
	const char *slash = strchr(s, '/'), *hostend, *at;
	size_t n;
	unsigned long db;

	hostend = slash ? slash : s + strlen(s);
	n = (size_t)(hostend - s);
	at = NULL;
	for (const char *p = s; p < hostend; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold '@' only as %40, but be lenient
			         */
	if (at) {
		if (userinfo(s, (size_t)(at - s), u, why, len) < 0)
			return -1;
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if (hostport(s, n, u, why, len) < 0)
		return -1;
	if (slash && slash[1]) {
		if (!number(slash + 1, strlen(slash + 1), 1000000, &db))
			return fail(why, len, "the database after '/' must be a number");
		u->db = (unsigned)db;
	}
	return 0;
}

static int parse_unix(const char *s, struct td__redis_url *u, char *why, size_t len)
{
	const char *q, *at = strchr(s, '@'), *slash = strchr(s, '/');
	size_t n;
	unsigned long db;

	if (at && slash && at < slash) { /* unix://[user]:password@/path */
		if (userinfo(s, (size_t)(at - s), u, why, len) < 0)
			return -1;
		s = at + 1;
	}
	q = strchr(s, '?');
	n = q ? (size_t)(q - s) : strlen(s);

	if (!n || s[0] != '/')
		return fail(why, len,
		            "unix:// needs an absolute socket path: unix:///path/to/sock");
	if (n >= sizeof(u->path))
		return fail(why, len, "the socket path is longer than 107 bytes");
	memcpy(u->path, s, n);
	u->path[n] = '\0';
	if (q) {
		if (strncmp(q, "?db=", 4) != 0 || !number(q + 4, strlen(q + 4), 1000000, &db))
			return fail(why, len, "after the socket path only ?db=N is understood");
		u->db = (unsigned)db;
	}
	return 0;
}

int td__redis_url_parse(const char *url, struct td__redis_url *out, char *why, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (!url || !*url)
		return fail(why, len, "an empty URL");
	if (strpbrk(url, " \t\r\n"))
		return fail(why, len, "a URL with spaces or line breaks");
	if (!strncmp(url, "rediss://", 9))
		return fail(
		    why, len,
		    "rediss:// (TLS) is not supported: the hiredis tooldag is built with "
		    "(Debian's 0.14) has no TLS; use a unix socket, loopback or a TLS tunnel");
	if (!strncmp(url, "redis://", 8))
		return parse_tcp(url + 8, out, why, len);
	if (!strncmp(url, "unix://", 7))
		return parse_unix(url + 7, out, why, len);
	return fail(why, len, "a URL starting with redis:// or unix://");
}

int td__remote_queue_valid(const char *s)
{
	size_t n = 0;

	for (; s && s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || strchr("_-.:", s[n])))
			return 0;
	return n >= 1 && n <= 64;
}

/* ---- `remote:` ---- */

static void remote_url(struct td__loader *L, uint32_t key, uint32_t val, const char *who,
                       struct td__remote *r)
{
	struct td__redis_url u;
	char why[200];
	const char *s = td__decl_text(L, val);

	if (!s || !*s) {
		td__decl_bad_value(L, key, val, "a URL like redis://host:6379 or unix:///path");
		return;
	}
	r->url = td__decl_expand_env(L, val, who, "redis URL", s);
	if (!r->url || (L->flags & TD_LOAD_KEEP_ENV && strstr(s, "${")))
		return; /* reported, or what it will be is not known here */
	if (td__redis_url_parse(r->url, &u, why, sizeof(why)) < 0)
		/* never the URL itself: after expansion it may hold a password */
		td__load_error(L, val, "%s: bad redis URL: %s", who, why);
}

static void remote_key(struct td__loader *L, uint32_t key, uint32_t val, const char *who,
                       struct td__remote *r)
{
	static const char *const keys[] = {"redis", "queue", "claim_after", NULL};
	char where[128];
	const char *s = td__decl_text(L, val);

	switch (td__decl_word(td__decl_key(L, key), keys)) {
	case 0:
		remote_url(L, key, val, who, r);
		break;
	case 1:
		if (!s || !td__remote_queue_valid(s))
			td__decl_bad_value(L, key, val,
			                   "a queue name of 1 to 64 letters, digits, '_', '-', '.' "
			                   "or ':'");
		else if (!(r->queue = td__decl_dup(L, s)))
			return;
		break;
	case 2:
		if (td__parse_duration(s, &r->claim_after_us) < 0 || r->claim_after_us <= 0)
			td__decl_bad_value(L, key, val, "a duration above 0 like 500ms, 30s or 2m");
		break;
	default:
		snprintf(where, sizeof(where), "in 'remote' of %s", who);
		td__decl_unknown_key(L, key, where, keys);
	}
}

static struct td__remote *remote_new(struct td__loader *L, uint32_t key)
{
	struct td_graph *g = L->g;
	struct td__remote *r = td__reallocarray(g->remotes, g->nremotes + 1, sizeof(*r));

	if (!r) {
		L->oom = true;
		return NULL;
	}
	g->remotes = r;
	r = &g->remotes[g->nremotes++];
	memset(r, 0, sizeof(*r));
	r->claim_after_us = TD_REMOTE_DEFAULT_CLAIM_US;
	r->line = NODE(L, key)->line;
	r->column = NODE(L, key)->column;
	return r;
}

void td__decl_remote(struct td__loader *L, uint32_t key, uint32_t val, const char *who,
                     struct td__limits *lim)
{
	const char *s = td__decl_text(L, val);
	struct td__remote *r;
	uint32_t k;
	bool url_key = false;

	if (s && !strcmp(s, "none")) {
		lim->remote = 0;
		return;
	}
	if (NODE(L, val)->type != TD_Y_MAP) {
		td__decl_bad_value(L, key, val,
		                   "a mapping like {redis: redis://host:6379, queue: NAME, "
		                   "claim_after: 30s}, or none");
		return;
	}
	if (!(r = remote_new(L, key)))
		return;
	lim->remote = (uint32_t)L->g->nremotes;
	for (k = 0; k < PAIRS(L, val); k++) {
		url_key |= !strcmp(td__decl_key(L, KID(L, val, 2 * k)), "redis");
		remote_key(L, KID(L, val, 2 * k), KID(L, val, 2 * k + 1), who, r);
	}
	if (!url_key)
		td__load_error(L, key, "%s: 'remote' needs 'redis: URL'", who);
	if (!r->queue)
		r->queue = td__decl_dup(L, TD_REMOTE_DEFAULT_QUEUE);
}

void td__remotes_free(struct td__remote *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		td__free(r[i].url);
		td__free(r[i].queue);
	}
	td__free(r);
}
