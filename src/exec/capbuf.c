/* SPDX-License-Identifier: MIT */
/*
 * capbuf.c - head + tail output buffer with a truncation marker.
 */
#include <stdio.h>
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
	char marker[64];
	int m = 0;

	if (dropped)
		m = snprintf(marker, sizeof(marker),
		             "[\xe2\x80\xa6 %llu bytes truncated \xe2\x80\xa6]",
		             (unsigned long long)dropped);
	/* A result is kept until the run ends: nothing for no output (callers take an empty
	 * buffer as ""), else exactly its size, not a doubled capacity (up to 2x per result). */
	if (!cb->head.len && !m && !cb->tail_len)
		return;
	td__buf_reserve_exact(out, cb->head.len + (size_t)m + cb->tail_len);
	td__buf_append(out, cb->head.data, cb->head.len);
	td__buf_append(out, marker, (size_t)m);
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
