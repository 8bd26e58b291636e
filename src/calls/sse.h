/* SPDX-License-Identifier: MIT */
/*
 * sse.h - Server-Sent Events framing (internal): bytes in any chunking -> events. Used by
 * stream.c to read the model APIs' streamed responses.
 */
#ifndef TD_SSE_H
#define TD_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* One event: its name ("message" when the stream gave none) and its data (NUL-terminated,
 * len bytes). A negative return stops the feed and is returned by td__sse_feed(). */
typedef int (*td__sse_fn)(void *ud, const char *event, const char *data, size_t len);

struct td__sse {
	struct td__buf line; /* the line being read */
	struct td__buf data; /* the event's data so far, lines joined with \n */
	char event[64];      /* the event's name, cut to 63 bytes */
	bool has_data;
	bool cr; /* the last line ended with \r: a \n right after it belongs to it */
	size_t max;
	td__sse_fn fn;
	void *ud;
};

/* max bounds a line and an event's data (longer: TD_ETOOBIG). */
void td__sse_init(struct td__sse *p, size_t max, td__sse_fn fn, void *ud);
void td__sse_free(struct td__sse *p);
/* Feeds bytes; events are handed to fn as their blank line arrives. An event not ended by a
 * blank line when the stream stops is incomplete, and is never handed over. 0, fn's negative
 * return, TD_ETOOBIG or TD_ENOMEM. */
int td__sse_feed(struct td__sse *p, const char *s, size_t n);
/* The input has ended: a last line without its line end, and an event without its blank
 * line, are handed over as they are (files often lack the final blank line; a caller that
 * gets a cut event sees it is not whole). 0 or fn's negative return. */
int td__sse_end(struct td__sse *p);
/* Whether text starts like an event stream ("event:", "data:" or a ':' comment). */
int td__sse_detect(const char *s, size_t len);

#endif /* TD_SSE_H */
