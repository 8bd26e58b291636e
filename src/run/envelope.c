/* SPDX-License-Identifier: MIT */
/*
 * envelope.c - the stdin of a `stdin: envelope` call: its id, tool name and input, and the
 * results of the calls it depends on,
 *   {"id","name","input","upstream":[{"id","name","content","is_error"}]}
 * built here for a local call, and by the remote backend and the worker (the head, then the
 * upstream list a scheduler's message carries).
 */
#include <string.h>

#include "run/run.h"

void td__envelope_head(struct td__buf *b, const char *id, const char *name, const char *input,
                       size_t input_len)
{
	td__buf_puts(b, "{\"id\":");
	td__buf_json_string(b, id, strlen(id));
	td__buf_puts(b, ",\"name\":");
	td__buf_json_string(b, name, strlen(name));
	td__buf_puts(b, ",\"input\":");
	td__buf_append(b, input, input_len);
	td__buf_puts(b, ",\"upstream\":");
}

char *td__envelope(struct td_run *r, uint32_t c, size_t *len)
{
	const struct td__call *call = &r->batch->calls[c];
	int n = td__plan_deps(r->plan, c, &r->deps, &r->deps_cap), i;
	struct td__buf b = {0};
	char *out;

	if (n < 0)
		return NULL;
	r->deps_expanded++;

	td__envelope_head(&b, call->id, call->name, td__call_input(call), call->input_len);
	td__buf_putc(&b, '[');
	for (i = 0; i < n; i++) {
		const struct td__call *d = &r->batch->calls[r->deps[i]];
		const struct td__callrun *dr = &r->calls[r->deps[i]];

		td__buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
		td__buf_json_string(&b, d->id, strlen(d->id));
		td__buf_puts(&b, ",\"name\":");
		td__buf_json_string(&b, d->name, strlen(d->name));
		td__buf_puts(&b, ",\"content\":");
		td__buf_json_string(&b, dr->content ? dr->content : "", dr->content_len);
		td__buf_puts(&b, dr->status != TD_STATUS_OK ? ",\"is_error\":true}"
		                                            : ",\"is_error\":false}");
	}
	td__buf_puts(&b, "]}");
	*len = b.len;
	out = td__buf_take(&b);
	return out;
}
