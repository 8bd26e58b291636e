/* SPDX-License-Identifier: MIT */
/*
 * capbuf.c - head + tail output buffer with a truncation marker.
 */
#include <string.h>

#include "exec/capbuf.h"

void td__capbuf_init(struct td__capbuf *cb, uint64_t max)
{
	memset(cb, 0, sizeof(*cb));
	if (!max || max >= SIZE_MAX / 2) {
		cb->head_cap = SIZE_MAX;
		return;
	}
	cb->head_cap = (size_t)(max / 2);
	cb->tail_cap = (size_t)(max - max / 2);
}

void td__capbuf_init_tail(struct td__capbuf *cb, size_t tail)
{
	memset(cb, 0, sizeof(*cb));
	cb->tail_cap = tail;
}

static void tail_put(struct td__capbuf *cb, const char *data, size_t n)
{
	size_t first;

	if (n >= cb->tail_cap) {
		memcpy(cb->tail, data + n - cb->tail_cap, cb->tail_cap);
		cb->tail_pos = 0;
		cb->tail_len = cb->tail_cap;
		return;
	}
	first = cb->tail_cap - cb->tail_pos;
	if (first > n)
		first = n;
	memcpy(cb->tail + cb->tail_pos, data, first);
	memcpy(cb->tail, data + first, n - first);
	cb->tail_pos = (cb->tail_pos + n) % cb->tail_cap;
	cb->tail_len = cb->tail_len + n > cb->tail_cap ? cb->tail_cap : cb->tail_len + n;
}

int td__capbuf_append(struct td__capbuf *cb, const char *data, size_t n)
{
	size_t k = 0;

	cb->total += n;
	if (cb->head.len < cb->head_cap) {
		k = cb->head_cap - cb->head.len < n ? cb->head_cap - cb->head.len : n;
		td__buf_append(&cb->head, data, k);
	}
	if (k == n || !cb->tail_cap)
		return cb->head.oom ? TD_ENOMEM : 0;
	if (!cb->tail && !(cb->tail = td__malloc(cb->tail_cap)))
		return TD_ENOMEM;
	tail_put(cb, data + k, n - k);
	return cb->head.oom ? TD_ENOMEM : 0;
}

uint64_t td__capbuf_dropped(const struct td__capbuf *cb)
{
	return cb->total - cb->head.len - cb->tail_len;
}

void td__capbuf_render(const struct td__capbuf *cb, struct td__buf *out)
{
	uint64_t dropped = td__capbuf_dropped(cb);

	td__buf_append(out, cb->head.data, cb->head.len);
	if (dropped)
		td__buf_printf(out, "[\xe2\x80\xa6 %llu bytes truncated \xe2\x80\xa6]",
		               (unsigned long long)dropped);
	if (cb->tail_len < cb->tail_cap) {
		td__buf_append(out, cb->tail, cb->tail_len);
		return;
	}
	td__buf_append(out, cb->tail + cb->tail_pos, cb->tail_cap - cb->tail_pos);
	td__buf_append(out, cb->tail, cb->tail_pos);
}

void td__capbuf_free(struct td__capbuf *cb)
{
	td__buf_free(&cb->head);
	td__free(cb->tail);
	cb->tail = NULL;
}
