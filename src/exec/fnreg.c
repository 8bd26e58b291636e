/* SPDX-License-Identifier: MIT */
/*
 * fnreg.c - the registry of function tools: names the host's C functions are registered
 * under, with their mode and userdata. Filled before the runs that use it and read-only from
 * then on (the first run freezes it: adding after that is refused, not a data race), so runs
 * on several threads can share one.
 */
#include <string.h>

#include "exec/fn.h"

int td_functions_new(struct td_functions **out)
{
	if (!out)
		return TD_EINVAL;
	*out = td__calloc(1, sizeof(**out));
	if (!*out)
		return TD_ENOMEM;
	(*out)->workers = TD_DEFAULT_FN_WORKERS;
	return 0;
}

void td_functions_free(struct td_functions *fns)
{
	size_t i;

	if (!fns)
		return;
	for (i = 0; i < fns->n; i++)
		td__free(fns->ents[i].name);
	td__free(fns->ents);
	td__strmap_free(&fns->by_name);
	td__free(fns);
}

static int grow(struct td_functions *fns)
{
	size_t cap = fns->cap ? fns->cap * 2 : 8;
	struct td__fnent *e;

	if (fns->n < fns->cap)
		return 0;
	e = td__reallocarray(fns->ents, cap, sizeof(*e));
	if (!e)
		return TD_ENOMEM;
	fns->ents = e;
	fns->cap = cap;
	return 0;
}

int td_functions_add(struct td_functions *fns, const char *name, enum td_fn_mode mode, td_fn fn,
                     void *userdata)
{
	struct td__fnent *e;
	uint32_t old;
	int r;

	if (!fns || !name || !fn || !td__valid_tool_name(name))
		return TD_EINVAL;
	if (mode != TD_FN_INLINE && mode != TD_FN_BLOCKING && mode != TD_FN_ASYNC)
		return TD_EINVAL;
	if (__atomic_load_n(&fns->frozen, __ATOMIC_ACQUIRE))
		return TD_ESTATE;
	if (td__strmap_get(&fns->by_name, name, &old))
		return TD_EEXIST;
	if (grow(fns) < 0)
		return TD_ENOMEM;
	e = &fns->ents[fns->n];
	e->name = td__strdup(name);
	if (!e->name)
		return TD_ENOMEM;
	r = td__strmap_put(&fns->by_name, e->name, (uint32_t)fns->n, &old);
	if (r < 0) {
		td__free(e->name);
		return r;
	}
	e->mode = mode;
	e->fn = fn;
	e->userdata = userdata;
	fns->n++;
	return 0;
}

int td_functions_set_workers(struct td_functions *fns, unsigned workers)
{
	if (!fns || workers < 1 || workers > 1024)
		return TD_EINVAL;
	if (__atomic_load_n(&fns->frozen, __ATOMIC_ACQUIRE))
		return TD_ESTATE;
	fns->workers = workers;
	return 0;
}

int td_functions_set_thread_hooks(struct td_functions *fns, td_fn_thread_hook start,
                                  td_fn_thread_hook stop, void *userdata)
{
	if (!fns)
		return TD_EINVAL;
	fns->thread_start = start;
	fns->thread_stop = stop;
	fns->thread_ud = userdata;
	return 0;
}

const struct td__fnent *td__functions_find(const struct td_functions *fns, const char *name)
{
	uint32_t i;

	if (!fns || !name || !td__strmap_get(&fns->by_name, name, &i))
		return NULL;
	return &fns->ents[i];
}
