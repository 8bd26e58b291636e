/* SPDX-License-Identifier: MIT */
/*
 * plan_json.c - `tooldag plan --json`: the levels and every call's resolved dependencies.
 * Written straight into one growing buffer (no JSON tree): a 100,000-call plan is one pass.
 *
 *   {"levels": [["id", ...], ...],
 *    "calls": [{"id": "..", "name": "..", "level": 0, "depends_on": ["id", ...],
 *               "error": ".."}, ...]}
 *
 * `error` appears only on calls with a call-level error; those calls are not in `levels`.
 */
#include <string.h>

#include "plan/plan.h"

static void put_str(struct td__buf *o, const char *s)
{
	td__buf_json_string(o, s, strlen(s));
}

static void put_levels(struct td__buf *o, const struct td_plan *p, int pretty)
{
	const struct td__call *calls = p->batch->calls;
	uint32_t k, i;

	td__buf_puts(o, pretty ? "{\n  \"levels\": [" : "{\"levels\":[");
	for (k = 0; k < p->nlevels; k++) {
		td__buf_puts(o, k ? (pretty ? ",\n    [" : ",[") : (pretty ? "\n    [" : "["));
		for (i = p->level_off[k]; i < p->level_off[k + 1]; i++) {
			if (i > p->level_off[k])
				td__buf_puts(o, pretty ? ", " : ",");
			put_str(o, calls[p->order[i]].id);
		}
		td__buf_putc(o, ']');
	}
	td__buf_puts(o, pretty && p->nlevels ? "\n  ]" : "]");
}

static int put_call(struct td__buf *o, const struct td_plan *p, uint32_t c, uint32_t **deps,
                    size_t *cap, int pretty)
{
	const struct td__call *call = &p->batch->calls[c];
	const char *sep = pretty ? ", " : ",";
	int n = td__plan_deps(p, c, deps, cap), i;

	if (n < 0)
		return n;
	td__buf_puts(o, pretty ? "{\"id\": " : "{\"id\":");
	put_str(o, call->id);
	td__buf_puts(o, pretty ? ", \"name\": " : ",\"name\":");
	put_str(o, call->name);
	td__buf_printf(
	    o, pretty ? ", \"level\": %d, \"depends_on\": [" : ",\"level\":%d,\"depends_on\":[",
	    p->level[c]);
	for (i = 0; i < n; i++) {
		if (i)
			td__buf_puts(o, sep);
		put_str(o, p->batch->calls[(*deps)[i]].id);
	}
	td__buf_putc(o, ']');
	if (call->has_error) {
		td__buf_puts(o, pretty ? ", \"error\": " : ",\"error\":");
		put_str(o, td__call_error(call));
	}
	td__buf_putc(o, '}');
	return 0;
}

int td_plan_json(const struct td_plan *p, int pretty, char **out)
{
	struct td__buf o = {0};
	uint32_t c, *deps = NULL;
	size_t cap = 0, total = 0;
	int r = 0;

	if (!p || !out)
		return TD_EINVAL;
	*out = NULL;
	for (c = 0; c < p->ncalls && total <= TD__PLAN_JSON_MAX_DEPS; c++)
		total += td__plan_deps_bound(p, c);
	if (total > TD__PLAN_JSON_MAX_DEPS)
		return TD_ETOOBIG;
	put_levels(&o, p, pretty);
	td__buf_puts(&o, pretty ? ",\n  \"calls\": [" : ",\"calls\":[");
	for (c = 0; c < p->ncalls && !r; c++) {
		td__buf_puts(&o, c ? (pretty ? ",\n    " : ",") : (pretty ? "\n    " : ""));
		r = put_call(&o, p, c, &deps, &cap, pretty);
	}
	td__buf_puts(&o, pretty ? (p->ncalls ? "\n  ]\n}\n" : "]\n}\n") : "]}");
	td__free(deps);
	if (r) {
		td__buf_free(&o);
		return r;
	}
	*out = td__buf_take(&o);
	return *out ? 0 : TD_ENOMEM;
}
