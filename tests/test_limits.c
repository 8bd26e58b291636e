/* SPDX-License-Identifier: MIT */
/*
 * test_limits.c - per-tool resource limits (`limits: {cpu, memory, nofile, procs}`): the
 * loader (values, merging with defaults, every malformed form), the clone spawn path that
 * applies them (each limit binds, and the same child without it does not; descriptor and
 * signal hygiene and exec errors as on the posix_spawn path), and exits watched without
 * pidfds (TD_TEST_NO_PIDFD), the path valgrind and kernels before 5.3 take.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "td_proc_fixture.h"

/* td_child built with ASan reserves terabytes of address space: no RLIMIT_AS fits it */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_SANITIZED 1
#endif
#endif
#ifndef CHILD_SANITIZED
#define CHILD_SANITIZED 0
#endif

#define MiB (1024ull * 1024)

/* ---- the loader ---- */

static char dump_buf[8192];

static const char *dump(const struct td_diag *d)
{
	size_t i, off = 0;

	dump_buf[0] = '\0';
	for (i = 0; i < d->count && off < sizeof(dump_buf) - 2; i++) {
		off += (size_t)td_diag_format(&d->items[i], dump_buf + off, sizeof(dump_buf) - off);
		if (off < sizeof(dump_buf) - 1)
			dump_buf[off++] = '\n';
		dump_buf[off < sizeof(dump_buf) ? off : sizeof(dump_buf) - 1] = '\0';
	}
	return dump_buf;
}

static struct td_graph *load_ok(const char *yaml)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	int rc = td_graph_load_buffer(yaml, strlen(yaml), "g.yaml", "/tmp", &g, &d);

	ck_assert_msg(rc == 0, "load failed:\n%s", dump(&d));
	td_diag_clear(&d);
	return g;
}

/* The graph must fail to load with exactly one diagnostic, `want`. */
static void expect_error(const char *yaml, const char *want)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	char got[1024] = "";
	int rc = td_graph_load_buffer(yaml, strlen(yaml), "g.yaml", "/tmp", &g, &d);

	ck_assert_msg(rc == TD_EGRAPH, "want TD_EGRAPH for:\n%s\ngot %d:\n%s", yaml, rc, dump(&d));
	ck_assert_ptr_null(g);
	ck_assert_msg(d.count == 1, "want one diagnostic, got:\n%s", dump(&d));
	td_diag_format(&d.items[0], got, sizeof(got));
	ck_assert_str_eq(got, want);
	td_diag_clear(&d);
}

static const struct td__tool *tool(const struct td_graph *g, const char *name)
{
	int i = td__graph_find(g, name);

	ck_assert_int_ge(i, 0);
	return &g->tools[i];
}

START_TEST(limits_are_read)
{
	struct td_graph *g =
	    load_ok("version: 1\n"
	            "tools:\n"
	            "  t:\n"
	            "    run: [x]\n"
	            "    limits: {cpu: 10s, memory: 512MiB, nofile: 256, procs: 64}\n"
	            "  u:\n"
	            "    run: [x]\n"
	            "    limits: {cpu: 2m, memory: 1073741824}\n"
	            "  v: {run: [x]}\n");
	const uint64_t *t = tool(g, "t")->lim.rlimit, *u = tool(g, "u")->lim.rlimit;

	ck_assert_uint_eq(t[TD_RL_CPU], 10);
	ck_assert_uint_eq(t[TD_RL_MEMORY], 512 * MiB);
	ck_assert_uint_eq(t[TD_RL_NOFILE], 256);
	ck_assert_uint_eq(t[TD_RL_PROCS], 64);
	ck_assert_uint_eq(u[TD_RL_CPU], 120);
	ck_assert_uint_eq(u[TD_RL_MEMORY], 1024 * MiB);
	ck_assert_uint_eq(u[TD_RL_NOFILE], 0);
	ck_assert_uint_eq(u[TD_RL_PROCS], 0);
	for (int i = 0; i < TD_RL_N; i++)
		ck_assert_uint_eq(tool(g, "v")->lim.rlimit[i], 0);
	td_graph_free(g);
}
END_TEST

START_TEST(limits_merge_with_defaults_per_key)
{
	struct td_graph *g = load_ok("version: 1\n"
	                             "defaults:\n"
	                             "  timeout: 5s\n"
	                             "  limits: {cpu: 5s, memory: 1GiB, nofile: 100}\n"
	                             "tools:\n"
	                             "  plain: {run: [x]}\n"
	                             "  own:\n"
	                             "    run: [x]\n"
	                             "    limits: {memory: 256MiB, procs: 8}\n"
	                             "  lifted:\n"
	                             "    run: [x]\n"
	                             "    limits: {cpu: unlimited, memory: unlimited}\n"
	                             "  web: {http: {url: 'http://127.0.0.1:1/'}}\n");
	const uint64_t *p = tool(g, "plain")->lim.rlimit, *o = tool(g, "own")->lim.rlimit;
	const uint64_t *l = tool(g, "lifted")->lim.rlimit;

	ck_assert_uint_eq(p[TD_RL_CPU], 5);
	ck_assert_uint_eq(p[TD_RL_MEMORY], 1024 * MiB);
	ck_assert_uint_eq(p[TD_RL_NOFILE], 100);
	ck_assert_uint_eq(p[TD_RL_PROCS], 0);
	ck_assert_uint_eq(o[TD_RL_CPU], 5);
	ck_assert_uint_eq(o[TD_RL_MEMORY], 256 * MiB);
	ck_assert_uint_eq(o[TD_RL_NOFILE], 100);
	ck_assert_uint_eq(o[TD_RL_PROCS], 8);
	ck_assert_uint_eq(l[TD_RL_CPU], 0);
	ck_assert_uint_eq(l[TD_RL_MEMORY], 0);
	ck_assert_uint_eq(l[TD_RL_NOFILE], 100);
	ck_assert_int_eq(tool(g, "plain")->lim.timeout_us, 5000000);
	td_graph_free(g);
}
END_TEST

#define TOOL_WITH(limits) "version: 1\ntools:\n  t:\n    run: [x]\n    limits: " limits "\n"

START_TEST(limits_malformed)
{
	expect_error(TOOL_WITH("10s"), "g.yaml:5:13: 'limits' must be a mapping like {cpu: 10s, "
	                               "memory: 512MiB, nofile: 256, procs: 64}, got '10s'");
	expect_error(TOOL_WITH("{memroy: 1GiB}"),
	             "g.yaml:5:14: unknown key 'memroy' in 'limits' of tool 't' (did you mean "
	             "'memory'?)");
	expect_error(TOOL_WITH("{stack: 8MiB}"),
	             "g.yaml:5:14: unknown key 'stack' in 'limits' of tool 't'");
	expect_error(TOOL_WITH("{cpu: 500ms}"),
	             "g.yaml:5:19: 'cpu' must be whole seconds like 10s or 2m, at least 1s "
	             "(RLIMIT_CPU counts seconds), or unlimited, got '500ms'");
	expect_error(TOOL_WITH("{cpu: 1.5s}"),
	             "g.yaml:5:19: 'cpu' must be whole seconds like 10s or 2m, at least 1s "
	             "(RLIMIT_CPU counts seconds), or unlimited, got '1.5s'");
	expect_error(TOOL_WITH("{cpu: 0}"), "g.yaml:5:19: 'cpu' must be whole seconds like 10s or "
	                                    "2m, at least 1s (RLIMIT_CPU counts seconds), or "
	                                    "unlimited, got '0'");
	expect_error(TOOL_WITH("{cpu: fast}"),
	             "g.yaml:5:19: 'cpu' must be whole seconds like 10s or 2m, at least 1s "
	             "(RLIMIT_CPU counts seconds), or unlimited, got 'fast'");
	expect_error(TOOL_WITH("{memory: lots}"),
	             "g.yaml:5:22: 'memory' must be a size like 512MiB or 2GiB, at least 1MiB, or "
	             "unlimited, got 'lots'");
	expect_error(TOOL_WITH("{memory: 512KiB}"),
	             "g.yaml:5:22: 'memory' must be a size like 512MiB or 2GiB, at least 1MiB, or "
	             "unlimited, got '512KiB'");
	expect_error(TOOL_WITH("{nofile: 2}"),
	             "g.yaml:5:22: 'nofile' must be a whole number from 3 to 1048576 (descriptors, "
	             "0-2 included), or unlimited, got '2'");
	expect_error(TOOL_WITH("{nofile: 2000000}"),
	             "g.yaml:5:22: 'nofile' must be a whole number from 3 to 1048576 (descriptors, "
	             "0-2 included), or unlimited, got '2000000'");
	expect_error(TOOL_WITH("{nofile: -1}"),
	             "g.yaml:5:22: 'nofile' must be a whole number from 3 to 1048576 (descriptors, "
	             "0-2 included), or unlimited, got '-1'");
	expect_error(TOOL_WITH("{procs: 0}"),
	             "g.yaml:5:21: 'procs' must be a whole number from 1 to 4194304 (processes of "
	             "the user), or unlimited, got '0'");
	expect_error(TOOL_WITH("{procs: [1]}"),
	             "g.yaml:5:21: 'procs' must be a whole number from 1 to 4194304 (processes of "
	             "the user), or unlimited, got a list");
}
END_TEST

START_TEST(limits_malformed_in_defaults)
{
	expect_error("version: 1\ndefaults: {limits: {cpus: 1s}}\ntools: {t: {run: [x]}}\n",
	             "g.yaml:2:21: unknown key 'cpus' in 'limits' of defaults (did you mean "
	             "'cpu'?)");
	expect_error("version: 1\ndefaults: {limts: {cpu: 1s}}\ntools: {t: {run: [x]}}\n",
	             "g.yaml:2:12: unknown key 'limts' in defaults (did you mean 'limits'?)");
	expect_error("version: 1\ndefaults: {limits: 5}\ntools: {t: {run: [x]}}\n",
	             "g.yaml:2:20: 'limits' must be a mapping like {cpu: 10s, memory: 512MiB, "
	             "nofile: 256, procs: 64}, got '5'");
	expect_error("version: 1\ntools: {t: {run: [x], limit: {cpu: 1s}}}\n",
	             "g.yaml:2:23: unknown key 'limit' in tool 't' (did you mean 'limits'?)");
}
END_TEST

START_TEST(limits_only_on_run_tools)
{
	struct td_graph *g;

	expect_error("version: 1\ntools:\n  w:\n    limits: {cpu: 1s}\n"
	             "    http: {url: 'http://127.0.0.1:1/'}\n",
	             "g.yaml:4:5: 'limits' applies to run: tools only (setrlimit on the child "
	             "process); tool 'w' is an http: tool, which starts no process");
	expect_error("version: 1\ntools:\n  s: {builtin: sleep, limits: {nofile: 10}}\n",
	             "g.yaml:3:23: 'limits' applies to run: tools only (setrlimit on the child "
	             "process); tool 's' is a builtin: tool, which starts no process");
	expect_error("version: 1\ntools:\n  f: {function: f, limits: {procs: 10}}\n",
	             "g.yaml:3:20: 'limits' applies to run: tools only (setrlimit on the child "
	             "process); tool 'f' is a function: tool, which starts no process");
	/* from defaults they are fine: they apply to the run: tools among all */
	g = load_ok("version: 1\ndefaults: {limits: {cpu: 1s}}\n"
	            "tools: {s: {builtin: sleep}, r: {run: [x]}}\n");
	ck_assert_uint_eq(tool(g, "r")->lim.rlimit[TD_RL_CPU], 1);
	td_graph_free(g);
}
END_TEST

/* ---- processes: a fixture graph of td_child tools ---- */

/* Sets a limit; and no timeout: CPU seconds may take many more wall seconds on a busy
 * machine, and the TCase timeout is the hang guard. */
static void no_timeout(int tool)
{
	F.g.tools[tool].lim.timeout_us = 0;
}

static void limit(int tool, int which, uint64_t v)
{
	F.g.tools[tool].lim.rlimit[which] = v;
	no_timeout(tool);
}

START_TEST(cpu_limit_binds)
{
	int t = child_tool("limited", (const char *[]){"spin", "30", NULL});
	char *rep;

	no_timeout(child_tool("free", (const char *[]){"spin", "1.2", NULL}));
	limit(t, TD_RL_CPU, 1);
	fx_call(&F, "c0", "limited", NULL);
	fx_call(&F, "c1", "free", NULL);
	run(0, 500);
	ck_assert_int_eq(result(0).status, TD_STATUS_ERROR);
	ck_assert_int_eq(result(0).signal, SIGXCPU);
	ck_assert_int_eq(result(0).exit_code, -1);
	ck_assert_str_eq(result(0).content,
	                 "exceeded its cpu limit of 1s: killed by signal 24 (SIGXCPU)");
	/* the same child without the limit spends 1.2 s of CPU and finishes */
	ck_assert_int_eq(result(1).status, TD_STATUS_OK);
	ck_assert_str_eq(result(1).content, "spun\n");
	ck_assert_int_eq(td_run_report_json(R, 0, &rep), 0);
	ck_assert_ptr_nonnull(strstr(rep, "\"status\":\"error\""));
	ck_assert_ptr_nonnull(strstr(rep, "\"signal\":24,\"signal_name\":\"SIGXCPU\""));
	ck_assert_ptr_nonnull(strstr(rep, "exceeded its cpu limit of 1s"));
	free(rep);
	assert_no_children();
}
END_TEST

START_TEST(cpu_limit_kills_a_child_ignoring_sigxcpu)
{
	int t = child_tool("t",
	                   (const char *[]){"ignore-xcpu", "esay", "stubborn", "spin", "30", NULL});

	limit(t, TD_RL_CPU, 1);
	fx_call(&F, "c0", "t", NULL);
	run(0, 500);
	ck_assert_int_eq(result(0).signal, SIGKILL);
	ck_assert_str_eq(result(0).content,
	                 "exceeded its cpu limit of 1s: killed by signal 9 (SIGKILL): stubborn");
}
END_TEST

/* A SIGKILL that is not the limit's (too little CPU used) stays a bare signal. */
START_TEST(other_sigkill_is_not_the_cpu_limit)
{
	int t = child_tool("t", (const char *[]){"signal", "9", NULL});

	limit(t, TD_RL_CPU, 5);
	fx_call(&F, "c0", "t", NULL);
	run(0, 500);
	ck_assert_str_eq(result(0).content, "killed by signal 9 (SIGKILL)");
}
END_TEST

/* dd allocates its whole block at once; it starts under a small RLIMIT_AS where an
 * ASan-instrumented td_child could not */
static int alloc_tool(const char *name, const char *bytes)
{
	char bs[64];
	int t;

	if (!CHILD_SANITIZED)
		return child_tool(name, (const char *[]){"alloc", bytes, NULL});
	snprintf(bs, sizeof(bs), "bs=%s", bytes);
	t = fx_tool(&F, name, TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"dd", "if=/dev/zero", "of=/dev/null", "count=1", bs, NULL});
	return t;
}

START_TEST(memory_limit_binds)
{
	int t = alloc_tool("limited", "134217728");

	no_timeout(alloc_tool("free", "134217728"));
	limit(t, TD_RL_MEMORY, 32 * MiB);
	fx_call(&F, "c0", "limited", NULL);
	fx_call(&F, "c1", "free", NULL);
	run(0, 500);
	/* the child's own failure: malloc (or dd's buffer) fails under RLIMIT_AS */
	ck_assert_int_eq(result(0).status, TD_STATUS_ERROR);
	if (!CHILD_SANITIZED) {
		ck_assert_str_eq(result(0).content, "exited with code 3: alloc failed");
		ck_assert_str_eq(result(1).content, "allocated 134217728\n");
	} else {
		ck_assert_ptr_nonnull(strstr(result(0).content, "memory exhausted"));
	}
	ck_assert_int_eq(result(1).status, TD_STATUS_OK);
}
END_TEST

START_TEST(memory_limit_too_small_to_start)
{
	int t = child_tool("t", (const char *[]){"say", "started", NULL});
	const char *c;

	limit(t, TD_RL_MEMORY, 1 * MiB);
	fx_call(&F, "c0", "t", NULL);
	run(0, 500);
	c = result(0).content;
	ck_assert_int_eq(result(0).status, TD_STATUS_ERROR);
	/* the exec succeeds, then the dynamic loader cannot map libc: the child's own failure
	 * (an ASan-built child fails earlier, reserving its shadow memory) */
	if (!CHILD_SANITIZED)
		ck_assert_msg(!strncmp(c, "exited with code 127: ", 22) &&
		                  strstr(c, "error while loading shared libraries"),
		              "unexpected: %s", c);
}
END_TEST

START_TEST(nofile_limit_binds)
{
	struct rlimit rl;
	int t = child_tool("limited", (const char *[]){"open-files", NULL});

	child_tool("free", (const char *[]){"open-files", NULL});
	/* a known limit for the child without one: ours, lowered (never raised) to 2048 */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur > 2048)
		rl.rlim_cur = 2048;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	limit(t, TD_RL_NOFILE, 16);
	fx_call(&F, "c0", "limited", NULL);
	fx_call(&F, "c1", "free", NULL);
	run(0, 500);
	ck_assert_str_eq(result(0).content, "13\n"); /* 16 minus 0, 1 and 2 */
	ck_assert_int_eq(atoi(result(1).content), (int)rl.rlim_cur - 3);
}
END_TEST

/*
 * RLIMIT_NPROC counts every process of the real user id and is not enforced for root: the
 * test drops to nobody (65534) first, in its own forked process (Check's fork mode).
 */
static int become_nobody(void)
{
	if (geteuid() != 0)
		return 0; /* already unprivileged */
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return -errno;
	/* changing ids cleared it; LeakSanitizer needs it to inspect us at exit */
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 ? -errno : 0;
}

START_TEST(procs_limit_binds)
{
	int t = child_tool("limited", (const char *[]){"fork", "10", NULL});

	child_tool("free", (const char *[]){"fork", "10", NULL});
	ck_assert_int_eq(become_nobody(), 0);
	limit(t, TD_RL_PROCS, 4);
	F.g.tools[t].lim.concurrency = 1;
	fx_call(&F, "c0", "limited", NULL);
	fx_call(&F, "c1", "free", NULL);
	fx_tool_dep(&F, 1, 0); /* one after the other: their children do not count together */
	run(0, 500);
	/* at most 3 more of nobody's processes besides this test and the child (fewer if other
	 * processes of nobody run on the machine), against all 10 without the limit */
	ck_assert_int_le(atoi(result(0).content), 2);
	ck_assert_str_eq(result(1).content, "10\n");
}
END_TEST

/* The clone path keeps the posix_spawn path's promises (test_proc checks those). */
START_TEST(clone_path_hygiene)
{
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	int t = child_tool("t", (const char *[]){"fds", "sigstate", "pgid", "pwd", NULL});
	sigset_t set;

	ck_assert_int_ge(leak, 3);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGUSR2, &(struct sigaction){.sa_handler = SIG_IGN}, NULL);
	limit(t, TD_RL_NOFILE, 64);
	F.g.tools[t].cwd = strdup("/");
	fx_call(&F, "c0", "t", NULL);
	run(0, 500);
	ck_assert(!strcmp(result(0).content,
	                  "0 1 2\nblocked=0000000000000000 ignored=0000000000000000\nown\n/\n") ||
	          !strcmp(result(0).content,
	                  "0 1 2\nblocked=0000000000000000 ignored=0000000180000000\nown\n/\n"));
	/* and ours are as they were */
	sigprocmask(SIG_BLOCK, NULL, &set);
	ck_assert(sigismember(&set, SIGUSR1));
	ck_assert(!sigismember(&set, SIGUSR2));
	close(leak);
}
END_TEST

START_TEST(clone_path_stdin_and_env)
{
	int t = child_tool("t", (const char *[]){"cat", NULL});
	int u = child_tool("u", (const char *[]){"env", NULL});

	limit(t, TD_RL_CPU, 10);
	limit(u, TD_RL_CPU, 10);
	fx_env(&F, u, "ONLY", "this");
	fx_call(&F, "c0", "t", "{\"city\":\"Paris\"}");
	fx_call(&F, "c1", "u", NULL);
	run(0, 500);
	ck_assert_str_eq(result(0).content, "{\"city\":\"Paris\"}");
	ck_assert_ptr_nonnull(strstr(result(1).content, "ONLY=this\n"));
}
END_TEST

/* exec and chdir errors come back from the clone child through the shared record */
START_TEST(clone_path_exec_errors)
{
	char path[4200], want[8500];
	int t;

	helper_file(path, sizeof(path), "td_garbage_limits.bin",
	            "\x7f"
	            "ELF garbage",
	            0755);
	t = fx_tool(&F, "garbage", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"./td_garbage_limits.bin", NULL});
	limit(t, TD_RL_NOFILE, 64);
	t = child_tool("nodir", (const char *[]){"say", "x", NULL});
	F.g.tools[t].cwd = strdup("/nonexistent-td-dir");
	limit(t, TD_RL_NOFILE, 64);
	fx_call(&F, "c0", "garbage", NULL);
	fx_call(&F, "c1", "nodir", NULL);
	run(0, 500);
	ck_assert_str_eq(result(0).content,
	                 "cannot run './td_garbage_limits.bin': Exec format error");
	ck_assert_uint_eq(result(0).attempts, 1);
	/* the chdir failed, not the exec: the message must not blame the program */
	snprintf(want, sizeof(want),
	         "cannot run '%s': cannot change to its cwd '/nonexistent-td-dir': No such file or "
	         "directory",
	         CHILD);
	ck_assert_str_eq(result(1).content, want);
	unlink(path);
	assert_no_children();
}
END_TEST

/* ---- exits without pidfds ---- */

/* How many pidfds this process holds now. */
static int count_pidfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	int n = 0;
	ssize_t len;

	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strstr(target, "pidfd") != NULL;
		}
	}
	closedir(d);
	return n;
}

/* Pidfds held while a child sleeps: 1 normally, 0 on the polling path. */
static int pidfds_while_running(void)
{
	struct td_run_opts o = {0};
	int n;

	child_tool("sleeper", (const char *[]){"sleep", "300", NULL});
	fx_call(&F, "s0", "sleeper", NULL);
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_step(R), 1);
	n = count_pidfds();
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_str_eq(result(0).content, "");
	td_run_free(R);
	R = NULL;
	fx_free(&F);
	fx_init(&F, HELPERS);
	return n;
}

START_TEST(pidfds_are_used_normally)
{
	ck_assert_int_eq(pidfds_while_running(), 1);
}
END_TEST

START_TEST(no_pidfd_exits_are_polled)
{
	int t;

	setenv("TD_TEST_NO_PIDFD", "1", 1);
	ck_assert_int_eq(pidfds_while_running(), 0);
	child_tool("ok", (const char *[]){"say", "hi", NULL});
	child_tool("bad", (const char *[]){"esay", "boom", "exit", "3", NULL});
	child_tool("sig", (const char *[]){"signal", "15", NULL});
	t = child_tool("slow", (const char *[]){"sleep", "20000", NULL});
	F.g.tools[t].lim.timeout_us = 200000;
	child_tool("gc", (const char *[]){"grandchild", "20000", "say", "done", NULL});
	t = child_tool("cpu", (const char *[]){"spin", "30", NULL}); /* limit(): no timeout */
	limit(t, TD_RL_CPU, 1);
	fx_call(&F, "c0", "ok", NULL);
	fx_call(&F, "c1", "bad", NULL);
	fx_call(&F, "c2", "sig", NULL);
	fx_call(&F, "c3", "slow", NULL);
	fx_call(&F, "c4", "gc", NULL);
	fx_call(&F, "c5", "cpu", NULL);
	run(0, 500);
	ck_assert_str_eq(result(0).content, "hi");
	ck_assert_str_eq(result(1).content, "exited with code 3: boom");
	ck_assert_str_eq(result(2).content, "killed by signal 15 (SIGTERM)");
	ck_assert_int_eq(result(3).status, TD_STATUS_TIMEOUT);
	ck_assert_str_eq(result(3).content, "timed out after 200ms");
	ck_assert_ptr_nonnull(strstr(result(4).content, "done"));
	ck_assert_int_lt(result(4).end_us - result(4).start_us, 10000000);
	ck_assert_str_eq(result(5).content,
	                 "exceeded its cpu limit of 1s: killed by signal 24 (SIGXCPU)");
	assert_no_children();
}
END_TEST

START_TEST(no_pidfd_many_calls_and_cancel)
{
	struct td_run_opts o = {.kill_grace_ms = 200};
	char id[16];
	int i;

	setenv("TD_TEST_NO_PIDFD", "1", 1);
	fx_argv(&F, fx_tool(&F, "echo", TD_KIND_RUN), (const char *[]){"echo", "x", NULL});
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id, "echo", NULL);
	}
	child_tool("long", (const char *[]){"sleep", "20000", NULL});
	fx_call(&F, "long0", "long", NULL);
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	for (i = 0; i < 300; i++) {
		while (result((size_t)i).status == TD_STATUS_PENDING ||
		       result((size_t)i).status == TD_STATUS_RUNNING) {
			ck_assert_int_ge(td_run_step(R), 0);
			usleep(500);
		}
		ck_assert_str_eq(result((size_t)i).content, "x\n");
	}
	td_run_cancel(R);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(result(300).status, TD_STATUS_CANCELLED);
	td_run_free(R);
	R = NULL;
	assert_no_children();
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *load = tcase_create("load"), *proc = tcase_create("processes");
	TCase *poll = tcase_create("no-pidfd");

	tcase_set_timeout(load, 30);
	tcase_add_test(load, limits_are_read);
	tcase_add_test(load, limits_merge_with_defaults_per_key);
	tcase_add_test(load, limits_malformed);
	tcase_add_test(load, limits_malformed_in_defaults);
	tcase_add_test(load, limits_only_on_run_tools);
	suite_add_tcase(s, load);

	tcase_add_checked_fixture(proc, setup, teardown);
	tcase_set_timeout(proc, 300);
	tcase_add_test(proc, cpu_limit_binds);
	tcase_add_test(proc, cpu_limit_kills_a_child_ignoring_sigxcpu);
	tcase_add_test(proc, other_sigkill_is_not_the_cpu_limit);
	tcase_add_test(proc, memory_limit_binds);
	tcase_add_test(proc, memory_limit_too_small_to_start);
	tcase_add_test(proc, nofile_limit_binds);
	tcase_add_test(proc, procs_limit_binds);
	tcase_add_test(proc, clone_path_hygiene);
	tcase_add_test(proc, clone_path_stdin_and_env);
	tcase_add_test(proc, clone_path_exec_errors);
	suite_add_tcase(s, proc);

	tcase_add_checked_fixture(poll, setup, teardown);
	tcase_set_timeout(poll, 300);
	tcase_add_test(poll, pidfds_are_used_normally);
	tcase_add_test(poll, no_pidfd_exits_are_polled);
	tcase_add_test(poll, no_pidfd_many_calls_and_cancel);
	suite_add_tcase(s, poll);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(limits_suite());
}
