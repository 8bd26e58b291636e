/* SPDX-License-Identifier: MIT */
/*
 * td_proc_fixture.h - what the suites that run real children (tests/helpers/td_child) share:
 * a fixture graph F whose tools run td_child, the run R, and the checks on results and on
 * children left behind. Include once per suite, after td_test_fixture.h; the suite's TCases
 * use setup/teardown as their checked fixture.
 */
#ifndef TD_PROC_FIXTURE_H
#define TD_PROC_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "td_test_fixture.h"

static struct fx F;
static struct td_run *R;
static char CHILD[4200], HELPERS[4000];

static void setup(void)
{
	const char *bin = getenv("TD_BIN");

	snprintf(HELPERS, sizeof(HELPERS), "%s/tests", bin ? bin : "build");
	snprintf(CHILD, sizeof(CHILD), "%s/td_child", HELPERS);
	fx_init(&F, HELPERS);
}

static void teardown(void)
{
	td_run_free(R);
	R = NULL;
	fx_free(&F);
}

/* Writes the string `data` to HELPERS/name with `mode` (tools the tests make to fail their
 * exec); its path into path[size]. */
static void helper_file(char *path, size_t size, const char *name, const char *data, mode_t mode)
{
	size_t len = strlen(data);
	int fd;

	snprintf(path, size, "%s/%s", HELPERS, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A run tool `name` executing td_child with the given actions. */
static int child_tool(const char *name, const char *const *actions)
{
	const char *argv[32];
	int t = fx_tool(&F, name, TD_KIND_RUN), n = 0;

	argv[n++] = CHILD;
	while (*actions)
		argv[n++] = *actions++;
	argv[n] = NULL;
	fx_argv(&F, t, argv);
	return t;
}

/* Plans F and runs it to the end (concurrency 0: the default). */
static void run(unsigned concurrency, unsigned grace_ms)
{
	struct td_run_opts o = {.concurrency = concurrency, .kill_grace_ms = grace_ms};
	struct td_diag d = {0};

	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, &d), 0);
	td_diag_clear(&d);
	ck_assert_int_eq(td_run_wait(R), 0);
}

static struct td_result result(size_t c)
{
	struct td_result res;

	fx_result(R, c, &res);
	return res;
}

static void assert_no_children(void)
{
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

#endif
