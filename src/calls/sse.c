/* SPDX-License-Identifier: MIT */
/*
 * sse.c - Server-Sent Events framing (the WHATWG "text/event-stream" rules the three model
 * APIs stream with): bytes in any chunking -> (event, data) pairs. Lines end with \n, \r\n
 * or \r; "field: value" lines; a blank line ends an event; ':' starts a comment. A line and
 * an event's data are bounded, so a peer that never ends a line cannot grow memory.
 */
#include <string.h>

#include "calls/sse.h"

void td__sse_init(struct td__sse *p, size_t max, td__sse_fn fn, void *ud)
{
	memset(p, 0, sizeof(*p));
	p->max = max;
	p->fn = fn;
	p->ud = ud;
}

void td__sse_free(struct td__sse *p)
{
	td__buf_free(&p->line);
	td__buf_free(&p->data);
}

static int dispatch(struct td__sse *p)
{
	int r = 0;

	if (p->has_data) {
		/* the data lines are joined with \n: the last one is not part of the data */
		if (p->data.len)
			p->data.len--;
		td__buf_putc(&p->data, '\0');
		if (p->data.oom)
			return TD_ENOMEM;
		r = p->fn(p->ud, p->event[0] ? p->event : "message", p->data.data, p->data.len - 1);
	}
	p->data.len = 0;
	p->event[0] = '\0';
	p->has_data = false;
	return r;
}

static int field(struct td__sse *p, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t name = colon ? (size_t)(colon - s) : n, v = colon ? name + 1 : n, k;

	if (v < n && s[v] == ' ')
		v++;
	if (name == 5 && memcmp(s, "event", 5) == 0) {
		k = n - v < sizeof(p->event) ? n - v : sizeof(p->event) - 1;
		memcpy(p->event, s + v, k);
		p->event[k] = '\0';
	} else if (name == 4 && memcmp(s, "data", 4) == 0) {
		if (p->data.len + (n - v) + 1 > p->max)
			return TD_ETOOBIG;
		td__buf_append(&p->data, s + v, n - v);
		td__buf_putc(&p->data, '\n');
		p->has_data = true;
	}
	return p->data.oom ? TD_ENOMEM : 0; /* id, retry, comments: nothing to do */
}

static int end_line(struct td__sse *p)
{
	const char *s = p->line.data;
	size_t n = p->line.len;

	p->line.len = 0;
	if (n == 0)
		return dispatch(p);
	return s[0] == ':' ? 0 : field(p, s, n);
}

int td__sse_feed(struct td__sse *p, const char *s, size_t n)
{
	size_t i, run;
	int r;

	for (i = 0; i < n; i += run) {
		if (p->cr && s[i] == '\n') { /* the \n of a \r\n whose \r ended the line */
			p->cr = false;
			run = 1;
			continue;
		}
		p->cr = false;
		for (run = 0; i + run < n && s[i + run] != '\n' && s[i + run] != '\r'; run++)
			;
		if (p->line.len + run > p->max)
			return TD_ETOOBIG;
		td__buf_append(&p->line, s + i, run);
		if (p->line.oom)
			return TD_ENOMEM;
		if (i + run == n)
			break;
		p->cr = s[i + run] == '\r';
		run++;
		if ((r = end_line(p)) < 0)
			return r;
	}
	return 0;
}

int td__sse_detect(const char *s, size_t len)
{
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	while (len && (*s == '\n' || *s == '\r')) {
		s++;
		len--;
	}
	return (len >= 6 && memcmp(s, "event:", 6) == 0) ||
	       (len >= 5 && memcmp(s, "data:", 5) == 0) || (len >= 1 && s[0] == ':');
}

int td__sse_end(struct td__sse *p)
{
	int r = 0;

	if (p->line.len)
		r = end_line(p);
	return r < 0 ? r : dispatch(p);
}
