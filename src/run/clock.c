/* SPDX-License-Identifier: MIT */
/*
 * clock.c - the scheduler's clock: a binary min-heap of timer pointers (each timer knows its
 * slot, so disarming is O(log n)), a deferred list, and real or virtual time.
 */
#include <string.h>

#include "run/clock.h"

void td__clock_init(struct td__clock *c)
{
	memset(c, 0, sizeof(*c));
	c->now = td__now_us();
}

void td__clock_fini(struct td__clock *c)
{
	td__free(c->heap);
	c->heap = NULL;
	c->nheap = c->heap_cap = 0;
}

void td__clock_set_virtual(struct td__clock *c)
{
	c->virt = 1;
}

int64_t td__clock_update(struct td__clock *c)
{
	if (!c->virt)
		c->now = td__now_us();
	return c->now;
}

/* ---- the heap ---- */

static void heap_set(struct td__clock *c, uint32_t i, struct td__timer *t)
{
	c->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct td__clock *c, uint32_t i)
{
	struct td__timer *t = c->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (c->heap[parent]->when <= t->when)
			break;
		heap_set(c, i, c->heap[parent]);
		i = parent;
	}
	heap_set(c, i, t);
}

static void sift_down(struct td__clock *c, uint32_t i)
{
	struct td__timer *t = c->heap[i];

	for (;;) {
		uint32_t k = 2 * i + 1;

		if (k >= c->nheap)
			break;
		if (k + 1 < c->nheap && c->heap[k + 1]->when < c->heap[k]->when)
			k++;
		if (t->when <= c->heap[k]->when)
			break;
		heap_set(c, i, c->heap[k]);
		i = k;
	}
	heap_set(c, i, t);
}

void td__clock_disarm(struct td__clock *c, struct td__timer *t)
{
	uint32_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	c->nheap--;
	if (i == c->nheap)
		return;
	c->heap[i] = c->heap[c->nheap];
	c->heap[i]->slot = i + 1;
	sift_up(c, i);
	sift_down(c, c->heap[i]->slot - 1);
}

int td__clock_reserve(struct td__clock *c, uint32_t n)
{
	struct td__timer **h;

	if (n <= c->heap_cap)
		return 0;
	h = td__reallocarray(c->heap, n, sizeof(*h));
	if (!h)
		return TD_ENOMEM;
	c->heap = h;
	c->heap_cap = n;
	return 0;
}

int td__clock_arm(struct td__clock *c, struct td__timer *t, int64_t when)
{
	td__clock_disarm(c, t);
	if (c->nheap == c->heap_cap && td__clock_reserve(c, c->heap_cap ? c->heap_cap * 2 : 64) < 0)
		return TD_ENOMEM;
	t->when = when;
	c->heap[c->nheap] = t;
	sift_up(c, c->nheap++);
	return 0;
}

void td__clock_defer(struct td__clock *c, struct td__timer *t)
{
	t->next = NULL;
	if (c->defer_tail)
		c->defer_tail->next = t;
	else
		c->defer_head = t;
	c->defer_tail = t;
}

int64_t td__clock_next_deadline(const struct td__clock *c)
{
	if (c->defer_head)
		return 0;
	return c->nheap ? c->heap[0]->when : -1;
}

/* ---- turns ---- */

void td__clock_advance(struct td__clock *c, int wait)
{
	if (wait && c->virt && !c->defer_head && c->nheap && c->heap[0]->when > c->now)
		c->now = c->heap[0]->when;
}

int td__clock_run(struct td__clock *c)
{
	struct td__timer *t;
	int total = 0;

	td__clock_update(c);
	while (c->nheap && c->heap[0]->when <= c->now) {
		t = c->heap[0];
		td__clock_disarm(c, t);
		t->fn(t);
		total++;
	}
	/* callbacks may defer more: those run at the next turn, so take the list first */
	t = c->defer_head;
	c->defer_head = c->defer_tail = NULL;
	while (t) {
		struct td__timer *next = t->next;

		t->fn(t);
		t = next;
		total++;
	}
	return total;
}

int td__clock_turn(struct td__clock *c, int wait)
{
	td__clock_advance(c, wait);
	return td__clock_run(c);
}
