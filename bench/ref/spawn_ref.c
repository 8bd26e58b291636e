/* SPDX-License-Identifier: MIT */
/*
 * spawn_ref.c - the floor for "run N trivial commands, P at a time": glibc posix_spawn and a
 * blocking waitpid, nothing else.
 *
 *   spawn_ref [-n N] [-p P] [-i] -- CMD [ARGS...]
 *
 * -i gives every child its own stdin and stdout pipes (as a tool runner must), writes "{}\n"
 * to its stdin, closes it, and reads its stdout to the end after the child exits (output
 * must fit a pipe: this measures the plumbing, not an event loop). Prints one JSON line with
 * the wall time measured inside the process. Exit 0 if every child exited 0, 1 otherwise,
 * 2 on a usage or set-up error. Defaults: -n 1000 -p 8.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct child {
	pid_t pid;
	int out; /* read end of its stdout with -i, else -1 */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts argv; with pipes, feeds "{}\n" to its stdin. Returns 0 or an errno. */
static int start(char **argv, int pipes, struct child *c)
{
	posix_spawn_file_actions_t fa;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err = 0;

	c->out = -1;
	if (pipes && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0))
		return errno;
	if ((err = posix_spawn_file_actions_init(&fa)))
		return err;
	if (pipes && ((err = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) ||
	              (err = posix_spawn_file_actions_adddup2(&fa, out[1], 1))))
		goto out;
	err = posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, environ);
out:
	posix_spawn_file_actions_destroy(&fa);
	if (pipes) {
		close(in[0]);
		close(out[1]);
		/* a child that exits without reading its stdin is not an error */
		if (!err && write(in[1], "{}\n", 3) != 3 && errno != EPIPE)
			err = errno;
		close(in[1]);
		c->out = err ? (close(out[0]), -1) : out[0];
	}
	return err;
}

static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

int main(int argc, char **argv)
{
	long n = 1000, p = 8, started = 0, done = 0, failed = 0, i;
	int pipes = 0, opt, err, status;
	struct child *kids;
	double t0, t;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+n:p:i")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'p')
			p = atol(optarg);
		else if (opt == 'i')
			pipes = 1;
		else
			goto usage;
	}
	if (optind >= argc || n < 1 || p < 1)
		goto usage;
	if (p > n)
		p = n;
	signal(SIGPIPE, SIG_IGN);
	kids = calloc((size_t)p, sizeof(*kids));
	if (!kids)
		return 2;
	t0 = now_s();
	while (done < n) {
		for (i = 0; i < p && started < n; i++) {
			if (kids[i].pid)
				continue;
			if ((err = start(argv + optind, pipes, &kids[i]))) {
				fprintf(stderr, "spawn_ref: %s: %s\n", argv[optind], strerror(err));
				return 2;
			}
			started++;
		}
		if ((pid = waitpid(-1, &status, 0)) < 0) {
			fprintf(stderr, "spawn_ref: waitpid: %s\n", strerror(errno));
			return 2;
		}
		for (i = 0; i < p; i++)
			if (kids[i].pid == pid) {
				if (kids[i].out >= 0)
					drain(kids[i].out);
				kids[i].pid = 0;
			}
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
		done++;
	}
	t = now_s() - t0;
	printf("{\"tool\":\"spawn_ref\",\"n\":%ld,\"p\":%ld,\"pipes\":%s,\"wall_s\":%.6f,"
	       "\"jobs_per_s\":%.1f,\"failures\":%ld}\n",
	       n, p, pipes ? "true" : "false", t, (double)n / t, failed);
	free(kids);
	return failed ? 1 : 0;
usage:
	fputs("usage: spawn_ref [-n N] [-p P] [-i] -- CMD [ARGS...]\n", stderr);
	return 2;
}
