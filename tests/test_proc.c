/* SPDX-License-Identifier: MIT */
/*
 * test_proc.c - the process backend with real children (tests/helpers/td_child): exit codes,
 * signals, hard timeouts and the kill grace, a grandchild holding stdout, output cap, stdin a
 * child never reads, environment allow-list, descriptor and signal hygiene, exec failures,
 * cancellation, nothing left behind after 2,000 calls, and a child that dies with the thread
 * that started it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "td_proc_fixture.h"

#include "exec/spawn.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The state letter of a process (R, S, Z...), 0 if it is gone. */
static char process_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : 0;
}

START_TEST(stdout_is_the_result)
{
	struct td_result r;

	child_tool("t", (const char *[]){"cat", NULL});
	fx_call(&F, "c0", "t", "{\"city\":\"Paris\"}");
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_OK);
	ck_assert_str_eq(r.content, "{\"city\":\"Paris\"}");
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_int_eq(r.signal, 0);
	ck_assert_uint_eq(r.attempts, 1);
	assert_no_children();
}
END_TEST

START_TEST(exit_code_and_stderr_tail)
{
	struct td_result r;

	child_tool("t", (const char *[]){"say", "partial", "esay", "boom\n", "exit", "3", NULL});
	child_tool("quiet", (const char *[]){"exit", "1", NULL});
	/* a linter: its findings on stdout, nothing on stderr */
	child_tool("lint", (const char *[]){"say", "a.c:3: unused x\n\n", "exit", "1", NULL});
	fx_call(&F, "c0", "t", NULL);
	fx_call(&F, "c1", "quiet", NULL);
	fx_call(&F, "c2", "lint", NULL);
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_ERROR);
	ck_assert_int_eq(r.is_error, 1);
	ck_assert_int_eq(r.exit_code, 3);
	/* the stderr tail on the first line, then what it printed */
	ck_assert_str_eq(r.content, "exited with code 3: boom\n\nstdout:\npartial");
	ck_assert_str_eq(result(1).content, "exited with code 1");
	ck_assert_str_eq(result(2).content, "exited with code 1\n\nstdout:\na.c:3: unused x");
}
END_TEST

START_TEST(stderr_tail_is_bounded)
{
	struct td_result r;

	child_tool("t", (const char *[]){"eprint", "100000", "esay", "END", "exit", "2", NULL});
	fx_call(&F, "c0", "t", NULL);
	run(0, 0);
	r = result(0);
	ck_assert_ptr_nonnull(strstr(r.content, "exited with code 2: [\xe2\x80\xa6 "));
	ck_assert_ptr_nonnull(strstr(r.content, " bytes truncated \xe2\x80\xa6]"));
	ck_assert_uint_lt(r.content_len, 4096 + 100);
	ck_assert_str_eq(r.content + r.content_len - 3, "END");
}
END_TEST

START_TEST(death_by_signal)
{
	struct td_result r;

	child_tool("t", (const char *[]){"esay", "dying", "signal", "9", NULL});
	child_tool("u", (const char *[]){"signal", "15", NULL});
	fx_call(&F, "c0", "t", NULL);
	fx_call(&F, "c1", "u", NULL);
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_ERROR);
	ck_assert_int_eq(r.signal, 9);
	ck_assert_int_eq(r.exit_code, -1);
	ck_assert_str_eq(r.content, "killed by signal 9 (SIGKILL): dying");
	ck_assert_str_eq(result(1).content, "killed by signal 15 (SIGTERM)");
}
END_TEST

START_TEST(timeout_sigterm)
{
	int t = child_tool("t", (const char *[]){"sleep", "10000", NULL});
	struct td_result r;
	char *rep;

	F.g.tools[t].lim.timeout_us = 200000;
	fx_call(&F, "c0", "t", NULL);
	run(0, 3000);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_TIMEOUT);
	ck_assert_str_eq(r.content, "timed out after 200ms");
	/* SIGTERM ended it: well before the 3s grace would have sent SIGKILL */
	ck_assert_int_eq(r.signal, SIGTERM);
	ck_assert_int_ge(r.end_us - r.start_us, 200000);
	ck_assert_int_lt(r.end_us - r.start_us, 200000 + 2500000);
	ck_assert_int_eq(td_run_report_json(R, 0, &rep), 0);
	ck_assert_ptr_nonnull(strstr(rep, "\"status\":\"timeout\""));
	ck_assert_ptr_nonnull(strstr(rep, "\"signal\":15,\"signal_name\":\"SIGTERM\""));
	free(rep);
	assert_no_children();
}
END_TEST

START_TEST(timeout_sigkill_after_grace)
{
	int t = child_tool("t", (const char *[]){"ignore-term", "sleep", "10000", NULL});
	struct td_result r;

	/* a deadline long enough for a sanitized child on a loaded machine to ignore SIGTERM
	 * before it comes */
	F.g.tools[t].lim.timeout_us = 1500000;
	fx_call(&F, "c0", "t", NULL);
	run(0, 300);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_TIMEOUT);
	ck_assert_int_eq(r.signal, SIGKILL);
	/* deadline + grace, and not much more */
	ck_assert_int_ge(r.end_us - r.start_us, 1800000);
	ck_assert_int_lt(r.end_us - r.start_us, 1800000 + 3000000);
	ck_assert_str_eq(r.content, "timed out after 1.5s");
}
END_TEST

/* TD_KILL_NOW: SIGKILL at the deadline, no SIGTERM first */
START_TEST(timeout_kill_now)
{
	int t = child_tool(
	    "t", (const char *[]){"ignore-term", "say", "before", "sleep", "10000", NULL});
	struct td_result r;

	F.g.tools[t].lim.timeout_us = 300000;
	fx_call(&F, "c0", "t", NULL);
	run(0, TD_KILL_NOW);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_TIMEOUT);
	ck_assert_int_eq(r.signal, SIGKILL);
	ck_assert_int_ge(r.end_us - r.start_us, 300000);
	/* far below the 2 s default grace a SIGTERM-ignoring child would otherwise get */
	ck_assert_int_lt(r.end_us - r.start_us, 300000 + 1500000);
	ck_assert_str_eq(r.content, "timed out after 300ms");
	assert_no_children();
}
END_TEST

START_TEST(grandchild_holding_stdout)
{
	struct td_result r;
	pid_t gc;
	int i;

	child_tool("t", (const char *[]){"grandchild", "20000", "say", "done", NULL});
	fx_call(&F, "c0", "t", NULL);
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_OK);
	ck_assert_int_lt(r.end_us - r.start_us, 10000000); /* the grandchild sleeps 20s */
	ck_assert_ptr_nonnull(strstr(r.content, "done"));
	gc = (pid_t)strtol(r.content, NULL, 10);
	ck_assert_int_gt(gc, 1);
	/* the grandchild was in the group: killed (a zombie at most, until init reaps it) */
	for (i = 0; i < 100 && process_state(gc) != 'Z' && process_state(gc) != 0; i++)
		usleep(10000);
	ck_assert(process_state(gc) == 'Z' || process_state(gc) == 0);
}
END_TEST

START_TEST(output_cap_head_and_tail)
{
	int t = child_tool("t", (const char *[]){"print", "30000000", "say", "TAIL", NULL});
	struct td_result r;
	char marker[128];

	F.g.tools[t].lim.max_output = 65536;
	fx_call(&F, "c0", "t", NULL);
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_OK);
	ck_assert_int_eq(r.truncated, 1);
	snprintf(marker, sizeof(marker), "[\xe2\x80\xa6 %d bytes truncated \xe2\x80\xa6]",
	         30000004 - 65536);
	ck_assert_ptr_nonnull(strstr(r.content, marker));
	ck_assert_uint_eq(r.content_len, 65536 + strlen(marker));
	ck_assert_int_eq(strncmp(r.content, "xxxxxxxx", 8), 0);
	ck_assert_str_eq(r.content + r.content_len - 4, "TAIL");
}
END_TEST

START_TEST(output_unlimited_when_zero)
{
	int t = child_tool("t", (const char *[]){"print", "3000000", NULL});

	F.g.tools[t].lim.max_output = 0;
	fx_call(&F, "c0", "t", NULL);
	run(0, 0);
	ck_assert_uint_eq(result(0).content_len, 3000000);
	ck_assert_int_eq(result(0).truncated, 0);
}
END_TEST

static char *big_input(size_t n)
{
	char *s = malloc(n + 16);

	memcpy(s, "{\"s\":\"", 6);
	memset(s + 6, 'a', n);
	memcpy(s + 6 + n, "\"}", 3);
	return s;
}

START_TEST(large_stdin_never_read)
{
	char *in = big_input(4u << 20);
	struct td_result r;

	child_tool("t", (const char *[]){"say", "ignored", NULL});
	child_tool("u", (const char *[]){"count-stdin", NULL});
	child_tool("v", (const char *[]){"sleep", "50", "exit", "4", NULL});
	fx_call(&F, "c0", "t", in);
	fx_call(&F, "c1", "u", in);
	fx_call(&F, "c2", "v", in);
	fx_call(&F, "c3", "u", "{\"small\":1}");
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_OK);
	ck_assert_str_eq(r.content, "ignored");
	ck_assert_int_lt(r.end_us - r.start_us, 10000000); /* a hang guard, not a speed test */
	ck_assert_str_eq(result(1).content, "4194312\n");
	ck_assert_str_eq(result(2).content, "exited with code 4");
	ck_assert_str_eq(result(3).content, "11\n");
	free(in);
	assert_no_children();
}
END_TEST

/* A failed stdin write that is not the child leaving (EPIPE): an error, not a short input. */
START_TEST(stdin_write_error_fails_the_call)
{
	char *in = big_input(1u << 20);
	struct td_result r;

	child_tool("t", (const char *[]){"count-stdin", NULL});
	child_tool("u", (const char *[]){"say", "fine", NULL});
	fx_call(&F, "c0", "t", in);
	fx_call(&F, "c1", "u", NULL);          /* small input: no socket, no send */
	setenv("TD_TEST_STDIN_ERRNO", "5", 1); /* EIO */
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_ERROR);
	ck_assert_str_eq(r.content, "cannot write its input to its stdin: Input/output error "
	                            "(the call was stopped)");
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_str_eq(result(1).content, "fine");
	td_run_free(R);
	R = NULL;
	/* EPIPE is the child not reading: the call stands on what the child did */
	setenv("TD_TEST_STDIN_ERRNO", "32", 1);
	ck_assert_int_eq(td_run_new(&F.p, NULL, &R, NULL), 0); /* the same plan again */
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(result(0).status, TD_STATUS_OK); /* what it read of the first send */
	ck_assert_int_lt(strtol(result(0).content, NULL, 10), 1 << 20);
	unsetenv("TD_TEST_STDIN_ERRNO");
	free(in);
	assert_no_children();
}
END_TEST

/* A host that ignores SIGCHLD: the kernel reaps the children itself, no exit status is left. */
START_TEST(sigchld_ignored_before_the_run)
{
	struct td_result r;

	child_tool("t", (const char *[]){"say", "hi", NULL});
	fx_call(&F, "c0", "t", NULL);
	signal(SIGCHLD, SIG_IGN);
	run(0, 0);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_ERROR);
	ck_assert_ptr_nonnull(strstr(r.content, "this program ignores SIGCHLD"));
	ck_assert_int_eq(r.attempts, 1);
	signal(SIGCHLD, SIG_DFL);
	assert_no_children();
}
END_TEST

/* SIGCHLD ignored while the tool runs (pidfd path, then the polling path) */
START_TEST(sigchld_ignored_during_the_run)
{
	struct td_run_opts o = {0};
	struct td_result r;

	if (_i == 1)
		setenv("TD_TEST_NO_PIDFD", "1", 1);
	child_tool("t", (const char *[]){"sleep", "300", "say", "done", NULL});
	fx_call(&F, "c0", "t", NULL);
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_step(R), 1); /* started */
	signal(SIGCHLD, SIG_IGN);
	ck_assert_int_eq(td_run_wait(R), 0);
	signal(SIGCHLD, SIG_DFL);
	r = result(0);
	ck_assert_int_eq(r.status, TD_STATUS_ERROR);
	ck_assert_str_eq(r.content, "its exit status is lost: the kernel reaped the child itself "
	                            "because this program ignores SIGCHLD (SIG_IGN or "
	                            "SA_NOCLDWAIT); process tools need its default disposition");
	assert_no_children();
}
END_TEST

START_TEST(env_allow_list)
{
	int t = child_tool("t", (const char *[]){"env", NULL});
	int u = child_tool("u", (const char *[]){"env", NULL});
	const char *c;

	setenv("TD_SECRET_TOKEN", "hunter2", 1);
	setenv("LANG", "C.UTF-8", 1);
	setenv("LC_TIME", "C", 1);
	setenv("TZ", "UTC", 1);
	setenv("HOME", "/home/nobody", 1);
	fx_env(&F, t, "BAR", "from-tool");
	fx_env(&F, t, "TZ", "Europe/Paris");
	F.g.tools[u].inherit_env = true;
	fx_call(&F, "c0", "t", NULL);
	fx_call(&F, "c1", "u", NULL);
	run(0, 0);
	c = result(0).content;
	ck_assert_ptr_null(strstr(c, "TD_SECRET_TOKEN"));
	ck_assert_ptr_nonnull(strstr(c, "LANG=C.UTF-8\n"));
	ck_assert_ptr_nonnull(strstr(c, "LC_TIME=C\n"));
	ck_assert_ptr_nonnull(strstr(c, "HOME=/home/nobody\n"));
	ck_assert_ptr_nonnull(strstr(c, "PATH="));
	ck_assert_ptr_nonnull(strstr(c, "BAR=from-tool\n"));
	ck_assert_ptr_nonnull(strstr(c, "TZ=Europe/Paris\n"));
	ck_assert_ptr_null(strstr(c, "TZ=UTC"));
	ck_assert_ptr_nonnull(strstr(result(1).content, "TD_SECRET_TOKEN=hunter2\n"));
}
END_TEST

START_TEST(descriptors_and_signals_are_clean)
{
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	sigset_t set;

	ck_assert_int_ge(leak, 3);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGUSR2, &(struct sigaction){.sa_handler = SIG_IGN}, NULL);
	child_tool("t", (const char *[]){"fds", "sigstate", "pgid", NULL});
	fx_call(&F, "c0", "t", NULL);
	run(0, 0);
	/* glibc's own signals 32 and 33 (bits 0x180000000) stay ignored in a child whose parent
	 * had handlers for them (Check's timer): posix_spawn cannot reset them, exec keeps them */
	ck_assert(!strcmp(result(0).content,
	                  "0 1 2\nblocked=0000000000000000 ignored=0000000000000000\nown\n") ||
	          !strcmp(result(0).content,
	                  "0 1 2\nblocked=0000000000000000 ignored=0000000180000000\nown\n"));
	close(leak);
}
END_TEST

START_TEST(exec_failures_are_distinct)
{
	char path[4200];
	int t;

	helper_file(path, sizeof(path), "td_noexec.sh", "#!/bin/sh\n", 0644);
	helper_file(path, sizeof(path), "td_garbage.bin",
	            "\x7f"
	            "ELF garbage",
	            0755);
	t = fx_tool(&F, "nf", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"td-no-such-program-xyz", NULL});
	t = fx_tool(&F, "nf2", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"./missing-tool", NULL});
	t = fx_tool(&F, "perm", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"./td_noexec.sh", NULL});
	F.g.tools[t].lim.retries = 2; /* no retry: a retry cannot fix it */
	fx_call(&F, "c0", "nf", NULL);
	fx_call(&F, "c1", "nf2", NULL);
	fx_call(&F, "c2", "perm", NULL);
	t = fx_tool(&F, "garbage", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"./td_garbage.bin", NULL});
	fx_call(&F, "c3", "garbage", NULL);
	/* the working directory, not the program, is what is missing (posix_spawn reports both
	 * failures alike) */
	t = fx_tool(&F, "nodir", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"/bin/true", NULL});
	F.g.tools[t].cwd = strdup("/nonexistent-td-dir");
	fx_call(&F, "c4", "nodir", NULL);
	t = fx_tool(&F, "notdir", TD_KIND_RUN);
	fx_argv(&F, t, (const char *[]){"/bin/true", NULL});
	F.g.tools[t].cwd = strdup("/etc/passwd");
	fx_call(&F, "c5", "notdir", NULL);
	run(0, 0);
	ck_assert_str_eq(result(3).content, "cannot run './td_garbage.bin': Exec format error");
	ck_assert_str_eq(result(4).content, "cannot run '/bin/true': cannot change to its cwd "
	                                    "'/nonexistent-td-dir': No such file or directory");
	ck_assert_str_eq(result(5).content,
	                 "cannot run '/bin/true': cannot change to its cwd '/etc/passwd': Not a "
	                 "directory");
	ck_assert_str_eq(result(0).content,
	                 "cannot run 'td-no-such-program-xyz': program not found in PATH");
	snprintf(path, sizeof(path), "cannot run './missing-tool': no such file (%s/missing-tool)",
	         HELPERS);
	ck_assert_str_eq(result(1).content, path);
	snprintf(path, sizeof(path),
	         "cannot run './td_noexec.sh': permission denied (%s/td_noexec.sh)", HELPERS);
	ck_assert_str_eq(result(2).content, path);
	ck_assert_uint_eq(result(2).attempts, 1);
	ck_assert_int_eq(result(2).status, TD_STATUS_ERROR);
	assert_no_children();
}
END_TEST

START_TEST(relative_program_and_cwd)
{
	int t = fx_tool(&F, "t", TD_KIND_RUN);
	int u = fx_tool(&F, "u", TD_KIND_RUN);
	char want[4200];

	fx_argv(&F, t, (const char *[]){"./td_child", "pwd", NULL});
	fx_argv(&F, u, (const char *[]){"./td_child", "pwd", NULL});
	F.g.tools[u].cwd = strdup("/");
	fx_call(&F, "c0", "t", NULL);
	fx_call(&F, "c1", "u", NULL);
	ck_assert_int_eq(chdir("/"), 0);
	run(0, 0);
	snprintf(want, sizeof(want), "%s\n", HELPERS);
	ck_assert_str_eq(result(0).content, want);
	ck_assert_str_eq(result(1).content, "/\n");
}
END_TEST

START_TEST(path_search_uses_child_path)
{
	int t = fx_tool(&F, "t", TD_KIND_RUN);

	fx_argv(&F, t, (const char *[]){"td_child", "say", "found", NULL});
	fx_env(&F, t, "PATH", HELPERS);
	fx_call(&F, "c0", "t", NULL);
	run(0, 0);
	ck_assert_str_eq(result(0).content, "found");
}
END_TEST

START_TEST(envelope_on_stdin)
{
	int a = child_tool("weather", (const char *[]){"say", "18C", NULL});
	int b = child_tool("pollen", (const char *[]){"cat", NULL});

	fx_tool_dep(&F, b, a);
	F.g.tools[b].stdin_mode = TD_STDIN_ENVELOPE;
	fx_call(&F, "toolu_01", "weather", "{\"city\":\"Paris\"}");
	fx_call(&F, "toolu_02", "pollen", "{\"city\":\"Paris\"}");
	run(0, 0);
	ck_assert_str_eq(result(1).content,
	                 "{\"id\":\"toolu_02\",\"name\":\"pollen\",\"input\":{\"city\":\"Paris\"},"
	                 "\"upstream\":[{\"id\":\"toolu_01\",\"name\":\"weather\",\"content\":"
	                 "\"18C\",\"is_error\":false}]}");
}
END_TEST

START_TEST(cancel_kills_groups)
{
	struct td_run_opts o = {.kill_grace_ms = 200};
	int64_t t0;
	int i;

	child_tool("t", (const char *[]){"grandchild", "20000", "sleep", "20000", NULL});
	for (i = 0; i < 3; i++)
		fx_call(&F, i == 0 ? "c0" : i == 1 ? "c1" : "c2", "t", NULL);
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_step(R), 1);
	usleep(100000);
	t0 = td__now_us();
	td_run_cancel(R);
	ck_assert_int_eq(td_run_wait(R), 0);
	/* killed, not waited for: the children would sleep 20 s (generous for loaded machines) */
	ck_assert_int_lt(td__now_us() - t0, 10000000);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(result((size_t)i).status, TD_STATUS_CANCELLED);
		ck_assert_str_eq(result((size_t)i).content, "cancelled");
	}
	assert_no_children();
}
END_TEST

START_TEST(free_reaps_running)
{
	struct td_run_opts o = {0};
	int fds = count_fds();

	child_tool("t", (const char *[]){"ignore-term", "sleep", "20000", NULL});
	fx_call(&F, "c0", "t", NULL);
	fx_call(&F, "c1", "t", NULL);
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_step(R), 1);
	td_run_free(R);
	R = NULL;
	assert_no_children();
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* System programs, not td_child: fast to start in the sanitizer build too */
START_TEST(two_thousand_calls_leave_nothing)
{
	int ok = fx_tool(&F, "ok", TD_KIND_RUN), bad = fx_tool(&F, "bad", TD_KIND_RUN);
	int slow = fx_tool(&F, "slow", TD_KIND_RUN), nf = fx_tool(&F, "nf", TD_KIND_RUN);
	int fds = count_fds(), i, nok = 0;
	char id[16];

	fx_argv(&F, ok, (const char *[]){"echo", "x", NULL});
	fx_argv(&F, bad, (const char *[]){"false", NULL});
	fx_argv(&F, slow, (const char *[]){"sleep", "5", NULL});
	fx_argv(&F, nf, (const char *[]){"td-no-such-program-xyz", NULL});
	F.g.tools[slow].lim.timeout_us = 20000;
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id,
		        i % 100 == 7  ? "slow"
		        : i % 10 == 3 ? "bad"
		        : i % 50 == 9 ? "nf"
		                      : "ok",
		        NULL);
	}
	run(32, 20);
	for (i = 0; i < 2000; i++)
		nok += result((size_t)i).status == TD_STATUS_OK;
	ck_assert_int_eq(nok, 2000 - 20 - 200 - 40);
	ck_assert_int_eq(result(7).status, TD_STATUS_TIMEOUT);
	ck_assert_str_eq(result(0).content, "x\n");
	ck_assert_str_eq(result(3).content, "exited with code 1");
	td_run_free(R);
	R = NULL;
	assert_no_children();
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(every_allocation_failure)
{
	int t = child_tool("t", (const char *[]){"cat", NULL});
	struct td_run_opts o = {0};
	long n, total;
	char *in = big_input(100000);

	fx_env(&F, t, "X", "1");
	child_tool("u", (const char *[]){"esay", "e", "exit", "2", NULL});
	fx_call(&F, "c0", "t", in);
	fx_call(&F, "c1", "u", NULL);
	fx_call(&F, "c2", "t", NULL);
	fx_plan(&F);
	td__alloc_fail_at(0);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_uint_eq(result(0).content_len, 100008);
	td_run_free(R);
	R = NULL;
	total = td__alloc_fail_at(0);
	for (n = 1; n <= total + 3; n++) {
		td__alloc_fail_at(n);
		if (td_run_new(&F.p, &o, &R, NULL) < 0)
			continue;
		ck_assert_int_eq(td_run_wait(R), 0);
		ck_assert_int_ge(result(0).status, TD_STATUS_OK);
		ck_assert_int_ge(result(1).status, TD_STATUS_OK);
		td_run_free(R);
		R = NULL;
		assert_no_children();
	}
	td__alloc_fail_at(0);
	free(in);
}
END_TEST

/* Every posix_spawn file action can fail (ENOMEM): then no child starts at all. */
START_TEST(spawn_file_action_failures)
{
	char *argv[] = {CHILD, "pwd", NULL}, *envp[] = {NULL};
	struct td__spawn s = {.path = CHILD, .argv = argv, .envp = envp, .cwd = "/tmp"};
	enum td__spawn_step step;
	int failed = 0, n, r, p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	s.fd[0] = s.fd[1] = s.fd[2] = p[1];
	for (n = 1; n <= 10; n++) {
		td__alloc_fail_at(n);
		r = td__spawn(&s, &pid, &step);
		td__alloc_fail_at(0);
		if (r == 0) {
			ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
			continue;
		}
		ck_assert_int_eq(r, -ENOMEM);
		assert_no_children();
		failed++;
	}
	/* init, three dup2, chdir, closefrom */
	ck_assert_int_eq(failed, 6);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* die_with_parent: the child gets SIGKILL when the thread that started it exits. */
struct spawner {
	struct td__spawn s;
	pid_t pid;
	int r;
};

static void *spawn_and_exit(void *arg)
{
	struct spawner *sp = arg;
	enum td__spawn_step step;

	sp->r = td__spawn(&sp->s, &sp->pid, &step);
	return NULL;
}

START_TEST(child_dies_with_its_thread)
{
	char *argv[] = {CHILD, "sleep", "20000", NULL}, *envp[] = {NULL};
	struct spawner sp = {.s = {.path = CHILD,
	                           .argv = argv,
	                           .envp = envp,
	                           .die_with_parent = 1,
	                           .stack_size = TD_SPAWN_STACK}};
	pthread_t t;
	int status, fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	sp.s.fd[0] = sp.s.fd[1] = sp.s.fd[2] = fd;
	sp.s.stack = malloc(TD_SPAWN_STACK);
	ck_assert_int_eq(pthread_create(&t, NULL, spawn_and_exit, &sp), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(sp.r, 0);
	/* the child (ours: the process is its parent) was killed, not left to its 20 seconds */
	ck_assert_int_eq(waitpid(sp.pid, &status, 0), sp.pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	free(sp.s.stack);
	close(fd);
}
END_TEST

START_TEST(descriptor_limit_caps_processes)
{
	struct rlimit rl;
	char id[16];
	int i;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = (rlim_t)count_fds() + 40; /* room for about 4 processes */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	fx_argv(&F, fx_tool(&F, "t", TD_KIND_RUN), (const char *[]){"echo", "x", NULL});
	for (i = 0; i < 60; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id, "t", NULL);
	}
	run(60, 0); /* -j 60 would need 360 descriptors */
	ck_assert_uint_le(R->pool->fd_room / 6, 5);
	ck_assert_uint_ge(R->pool->fd_room, 6);
	for (i = 0; i < 60; i++)
		ck_assert_str_eq(result((size_t)i).content, "x\n");
}
END_TEST

/* ---- the example graph with its tool program, every dialect, through the public API ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static char *run_travel(const char *calls, char **report)
{
	const char *src = getenv("TD_SRC");
	struct td_graph *g = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	char path[4096], *text, *out = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/graphs/travel.yaml", src ? src : ".");
	ck_assert_int_eq(td_graph_load_file(path, &g, NULL), 0);
	if (calls) {
		snprintf(path, sizeof(path), "%s/graphs/calls/%s", src ? src : ".", calls);
		text = slurp(path, &len);
		ck_assert_int_eq(td_batch_decode(g, text, len, TD_DIALECT_AUTO, calls, &b, NULL),
		                 0);
		free(text);
	} else {
		ck_assert_int_eq(td_batch_from_graph(g, &b, NULL), 0);
	}
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, NULL, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	ck_assert_int_eq(td_run_results_json(r, TD_DIALECT_AUTO, 0, &out), 0);
	if (report)
		ck_assert_int_eq(td_run_report_json(r, 0, report), 0);
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	return out;
}

START_TEST(travel_example_every_dialect)
{
	char *own, *a, *o, *rs, *rep = NULL, path[4096];
	cJSON *j;

	snprintf(path, sizeof(path), "%s/graphs/tools/bin/travel",
	         getenv("TD_SRC") ? getenv("TD_SRC") : ".");
	if (access(path, X_OK))
		ck_abort_msg("the example tool program is not built: %s", path);
	own = run_travel(NULL, &rep);
	a = run_travel("travel.anthropic.json", NULL);
	o = run_travel("travel.openai.json", NULL);
	rs = run_travel("travel.responses.json", NULL);
	j = cJSON_Parse(own);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "content")), 8);
	ck_assert_ptr_null(strstr(own, "is_error"));
	ck_assert_ptr_nonnull(strstr(own, "pollen"));
	cJSON_Delete(j);
	ck_assert_str_eq(own, a); /* same calls, same outcome, same bytes */
	j = cJSON_Parse(o);
	ck_assert_int_eq(cJSON_GetArraySize(j), 8);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "role")->valuestring,
	                 "tool");
	cJSON_Delete(j);
	j = cJSON_Parse(rs);
	ck_assert_int_eq(cJSON_GetArraySize(j), 8);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "type")->valuestring,
	                 "function_call_output");
	cJSON_Delete(j);
	/* pollen (level 1) started after the weather call (level 0) ended */
	j = cJSON_Parse(rep);
	ck_assert_double_ge(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "calls"), 4), "start_ms")
	        ->valuedouble,
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "calls"), 3), "end_ms")
	        ->valuedouble);
	cJSON_Delete(j);
	free(own);
	free(a);
	free(o);
	free(rs);
	free(rep);
	assert_no_children();
}
END_TEST

static Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("processes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stdout_is_the_result);
	tcase_add_test(tc, exit_code_and_stderr_tail);
	tcase_add_test(tc, stderr_tail_is_bounded);
	tcase_add_test(tc, death_by_signal);
	tcase_add_test(tc, timeout_sigterm);
	tcase_add_test(tc, timeout_sigkill_after_grace);
	tcase_add_test(tc, timeout_kill_now);
	tcase_add_test(tc, grandchild_holding_stdout);
	tcase_add_test(tc, output_cap_head_and_tail);
	tcase_add_test(tc, output_unlimited_when_zero);
	tcase_add_test(tc, large_stdin_never_read);
	tcase_add_test(tc, stdin_write_error_fails_the_call);
	tcase_add_test(tc, sigchld_ignored_before_the_run);
	tcase_add_loop_test(tc, sigchld_ignored_during_the_run, 0, 2);
	tcase_add_test(tc, env_allow_list);
	tcase_add_test(tc, descriptors_and_signals_are_clean);
	tcase_add_test(tc, exec_failures_are_distinct);
	tcase_add_test(tc, relative_program_and_cwd);
	tcase_add_test(tc, path_search_uses_child_path);
	tcase_add_test(tc, envelope_on_stdin);
	tcase_add_test(tc, cancel_kills_groups);
	tcase_add_test(tc, free_reaps_running);
	tcase_add_test(tc, two_thousand_calls_leave_nothing);
	tcase_add_test(tc, travel_example_every_dialect);
	tcase_add_test(tc, every_allocation_failure);
	tcase_add_test(tc, spawn_file_action_failures);
	tcase_add_test(tc, descriptor_limit_caps_processes);
	tcase_add_test(tc, child_dies_with_its_thread);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(proc_suite());
}
