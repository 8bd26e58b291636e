/* SPDX-License-Identifier: MIT */
/*
 * capbuf.h - a bounded output buffer (internal): keeps the first head_cap bytes and the last
 * tail_cap bytes of a stream and counts the rest, so memory stays bounded whatever a tool
 * prints while the reader keeps draining the pipe.
 */
#ifndef TD_CAPBUF_H
#define TD_CAPBUF_H

#include <stdint.h>

#include "util/util.h"

struct td__capbuf {
	struct td__buf head;
	size_t head_cap;
	char *tail; /* ring of tail_cap bytes, allocated on first overflow of the head */
	size_t tail_cap, tail_len, tail_pos;
	uint64_t total; /* bytes seen */
};

/* max 0: unlimited. Otherwise half head, half tail. */
void td__capbuf_init(struct td__capbuf *cb, uint64_t max);
/* Keeps only the last `tail` bytes (stderr). */
void td__capbuf_init_tail(struct td__capbuf *cb, size_t tail);
/* 0, or TD_ENOMEM (the buffer then holds less than it should; keep draining anyway). */
int td__capbuf_append(struct td__capbuf *cb, const char *data, size_t n);
/* Bytes dropped between head and tail. */
uint64_t td__capbuf_dropped(const struct td__capbuf *cb);
/* Appends head, "[… N bytes truncated …]" when bytes were dropped, and tail to out. */
void td__capbuf_render(const struct td__capbuf *cb, struct td__buf *out);
void td__capbuf_free(struct td__capbuf *cb);

#endif /* TD_CAPBUF_H */
