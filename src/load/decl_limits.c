/* SPDX-License-Identifier: MIT */
/*
 * decl_limits.c - limits: the scheduling limits shared by `defaults` and each tool (timeout,
 * concurrency, rate, retries, backoff, max_output, on_dependency_failure, and the estimate
 * the policies order calls by) and a run: tool's
 * process resource limits (`limits:`, applied with setrlimit in the child).
 */
#include <string.h>

#include "load/decl.h"

/* ---- limits: shared by `defaults` and each tool ---- */

static const char *const limit_keys[] = {
    "timeout",    "concurrency",           "rate",     "retries", "backoff",
    "max_output", "on_dependency_failure", "estimate", "scope",   NULL,
};

#define DURATION_HINT "a duration like 250ms, 5s or 2m"

static void limit_duration(struct td__loader *L, uint32_t key, uint32_t val, int64_t *out)
{
	if (td__parse_duration(td__decl_text(L, val), out) < 0)
		td__decl_bad_value(L, key, val, DURATION_HINT);
}

static void limit_value(struct td__loader *L, int which, uint32_t key, uint32_t val,
                        struct td__limits *lim)
{
	const char *s = td__decl_text(L, val);

	switch (which) {
	case 0:
		limit_duration(L, key, val, &lim->timeout_us);
		break;
	case 1:
		if (!td__decl_uint(s, 1000000, &lim->concurrency))
			td__decl_bad_value(L, key, val, "a whole number, 0 for no per-tool limit");
		break;
	case 2:
		if (td__parse_rate(s, &lim->rate_count, &lim->rate_period_us) < 0)
			td__decl_bad_value(L, key, val, "a rate like 10/s, 100/m or 3/250ms");
		break;
	case 3:
		if (!td__decl_uint(s, 100, &lim->retries))
			td__decl_bad_value(L, key, val, "a whole number from 0 to 100");
		break;
	case 4:
		limit_duration(L, key, val, &lim->backoff_us);
		break;
	case 5:
		if (td__parse_size(s, &lim->max_output) < 0)
			td__decl_bad_value(L, key, val, "a size like 64KiB, 1MiB or 65536 (bytes)");
		break;
	case 7:
		limit_duration(L, key, val, &lim->estimate_us);
		break;
	case 8:
		if (s && (!strcmp(s, "run") || !strcmp(s, "host")))
			lim->per_run = !strcmp(s, "run");
		else
			td__decl_bad_value(L, key, val,
			                   "host (limits shared by a host's runs) or run");
		break;
	default:
		if (s && strcmp(s, "skip") == 0)
			lim->on_dependency_failure = TD_DEPFAIL_SKIP;
		else if (s && strcmp(s, "run") == 0)
			lim->on_dependency_failure = TD_DEPFAIL_RUN;
		else
			td__decl_bad_value(L, key, val, "skip or run");
		break;
	}
}

/* Parses key: val into lim if key names a limit; returns whether it did. */
bool td__decl_limit(struct td__loader *L, uint32_t key, uint32_t val, struct td__limits *lim)
{
	int which = td__decl_word(td__decl_key(L, key), limit_keys);

	if (which < 0)
		return false;
	limit_value(L, which, key, val, lim);
	lim->set |= 1u << which; /* TD_LIM_* follow limit_keys' order */
	return true;
}

void td__decl_builtin_limits(struct td__limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->timeout_us = TD_DEFAULT_TIMEOUT_US;
	lim->backoff_us = TD_DEFAULT_BACKOFF_US;
	lim->max_output = TD_DEFAULT_MAX_OUTPUT;
}

/* ---- limits: a run: tool's process resource limits, applied with setrlimit in the child ---- */

static const char *const rlimit_keys[] = {"cpu", "memory", "nofile", "procs", NULL};

/* What each rlimit key takes, for "'cpu' must be ..." (by enum td__rlimit). */
static const char *const rlimit_hints[] = {
    "whole seconds like 10s or 2m, at least 1s (RLIMIT_CPU counts seconds), or unlimited",
    "a size like 512MiB or 2GiB, at least 1MiB, or unlimited",
    "a whole number from 3 to 1048576 (descriptors, 0-2 included), or unlimited",
    "a whole number from 1 to 4194304 (processes of the user), or unlimited",
};

/* The value of one rlimit key; 0 for `unlimited`, false when malformed. */
static bool rlimit_parse(const char *s, int which, uint64_t *out)
{
	int64_t us;
	uint32_t n;

	if (s && !strcmp(s, "unlimited")) {
		*out = 0; /* lifts a default: the child inherits tooldag's own limit */
		return true;
	}
	switch (which) {
	case TD_RL_CPU:
		/* sub-second values are refused, not rounded: RLIMIT_CPU has no finer unit */
		if (td__parse_duration(s, &us) < 0 || us < 1000000 || us % 1000000)
			return false;
		*out = (uint64_t)(us / 1000000);
		return true;
	case TD_RL_MEMORY:
		return td__parse_size(s, out) == 0 && *out >= 1024 * 1024;
	case TD_RL_NOFILE:
		/* 1 << 20: the kernel's default nr_open */
		if (!td__decl_uint(s, 1u << 20, &n) || n < 3)
			return false;
		*out = n;
		return true;
	default:
		/* 1 << 22: the largest pid_max */
		if (!td__decl_uint(s, 1u << 22, &n) || n < 1)
			return false;
		*out = n;
		return true;
	}
}

/* `limits: {cpu, memory, nofile, procs}` into rlimit[], key by key over what is there. */
void td__decl_rlimits(struct td__loader *L, uint32_t key, uint32_t val, const char *where,
                      uint64_t *rlimit)
{
	uint32_t k, kk, vv;
	int which;

	if (NODE(L, val)->type != TD_Y_MAP) {
		td__decl_bad_value(
		    L, key, val,
		    "a mapping like {cpu: 10s, memory: 512MiB, nofile: 256, procs: 64}");
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++) {
		kk = KID(L, val, 2 * k);
		vv = KID(L, val, 2 * k + 1);
		which = td__decl_word(td__decl_key(L, kk), rlimit_keys);
		if (which < 0)
			td__decl_unknown_key(L, kk, where, rlimit_keys);
		else if (!rlimit_parse(td__decl_text(L, vv), which, &rlimit[which]))
			td__decl_bad_value(L, kk, vv, rlimit_hints[which]);
	}
}

static const char *const defaults_keys[] = {
    "timeout",
    "concurrency",
    "rate",
    "retries",
    "backoff",
    "max_output",
    "on_dependency_failure",
    "limits",
    "remote",
    "estimate",
    "scope",
    NULL,
};

void td__decl_defaults(struct td__loader *L, uint32_t val, struct td__limits *lim)
{
	uint32_t k;

	if (NODE(L, val)->type != TD_Y_MAP) {
		char buf[64];

		td__load_error(L, val, "'defaults' must be a mapping of limits, got %s",
		               td__decl_describe(L, val, buf, sizeof(buf)));
		return;
	}
	for (k = 0; k < PAIRS(L, val); k++) {
		uint32_t key = KID(L, val, 2 * k), v = KID(L, val, 2 * k + 1);

		if (!strcmp(td__decl_key(L, key), "limits"))
			td__decl_rlimits(L, key, v, "in 'limits' of defaults", lim->rlimit);
		else if (!strcmp(td__decl_key(L, key), "remote"))
			td__decl_remote(L, key, v, "defaults", lim);
		else if (!td__decl_limit(L, key, v, lim))
			td__decl_unknown_key(L, key, "in defaults", defaults_keys);
	}
}
