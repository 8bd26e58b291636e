/* SPDX-License-Identifier: MIT */
/*
 * fn.h - function tools (internal): the registry the host fills (fnreg.c) and the backend that
 * invokes the registered functions (fn.c).
 */
#ifndef TD_FN_H
#define TD_FN_H

#include "exec/loop.h"
#include "run/backend.h"

struct td__fnent {
	char *name;
	enum td_fn_mode mode;
	td_fn fn;
	void *userdata;
};

struct td_functions {
	struct td__fnent *ents;
	size_t n, cap;
	struct td__strmap by_name; /* name -> index into ents (keys are ents[].name) */
	unsigned workers;
	td_fn_thread_hook thread_start, thread_stop; /* on each worker thread; may be NULL */
	void *thread_ud;
	int frozen; /* a run uses it: read-only from then on (atomic: runs on any thread set it) */
};

/* The entry registered under name, or NULL. */
const struct td__fnent *td__functions_find(const struct td_functions *fns, const char *name);

/* A run uses fns (may be NULL): read-only from now on. */
void td__functions_freeze(const struct td_functions *fns);

/*
 * The function backend of a host: a call's function comes from its run's registry
 * (td_run_opts.functions; NULL: every call fails "not registered"), which must outlive the
 * run. The worker pool has `workers` threads (0: what the first registry to start a blocking
 * call asks for) and runs that registry's thread hooks.
 */
int td__fn_backend_new(struct td__loop *loop, unsigned workers, struct td__backend **out);

#endif /* TD_FN_H */
