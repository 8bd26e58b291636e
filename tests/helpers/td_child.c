/* SPDX-License-Identifier: MIT */
/*
 * td_child - a controllable child for executor tests. Runs its arguments as a list of actions,
 * left to right:
 *
 *   exit N          exit with status N
 *   signal N        raise signal N (default disposition: dies by it)
 *   sleep MS        sleep MS milliseconds
 *   print N         write N bytes ('x', a newline every 64) to stdout
 *   eprint N        the same to stderr
 *   say TEXT        write TEXT to stdout;  esay TEXT: to stderr
 *   ignore-term     ignore SIGTERM from now on
 *   grandchild MS   fork a grandchild that sleeps MS ms holding stdout/stderr, print its pid
 *   cat             copy stdin to stdout
 *   count-stdin     read stdin to EOF, print the byte count
 *   fds             print the open descriptors (from /proc/self/fd), space-separated
 *   env             print the environment, one NAME=value per line
 *   pwd             print the working directory
 *   sigstate        print "blocked=HEX ignored=HEX" from /proc/self/status
 *   pgid            print "own" when the process leads its own process group
 *   touch PATH      create PATH (tests wait for it to know how far a child got)
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static void put_bytes(FILE *f, long n)
{
	long i;

	for (i = 0; i < n; i++)
		fputc(i % 64 == 63 ? '\n' : 'x', f);
	fflush(f);
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = dirfd(d), first = 1;

	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		printf(first ? "%s" : " %s", e->d_name);
		first = 0;
	}
	closedir(d);
	printf("\n");
}

static void sigstate(void)
{
	char line[256], blk[64] = "?", ign[64] = "?";
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "SigBlk:", 7))
			sscanf(line + 7, "%63s", blk);
		if (!strncmp(line, "SigIgn:", 7))
			sscanf(line + 7, "%63s", ign);
	}
	if (f)
		fclose(f);
	printf("blocked=%s ignored=%s\n", blk, ign);
}

static void copy_stdin(int count_only)
{
	char buf[65536];
	long total = 0;
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0) {
		total += n;
		if (!count_only)
			fwrite(buf, 1, (size_t)n, stdout);
	}
	if (count_only)
		printf("%ld\n", total);
	fflush(stdout);
}

static void grandchild(long ms)
{
	pid_t p = fork();

	if (p == 0) {
		msleep(ms);
		_exit(0);
	}
	printf("%d\n", (int)p);
	fflush(stdout);
}

static int act(char **argv, int i, int argc)
{
	const char *a = argv[i];
	const char *arg = i + 1 < argc ? argv[i + 1] : "0";

	if (!strcmp(a, "exit"))
		exit(atoi(arg));
	if (!strcmp(a, "signal"))
		raise(atoi(arg));
	else if (!strcmp(a, "sleep"))
		msleep(atol(arg));
	else if (!strcmp(a, "print"))
		put_bytes(stdout, atol(arg));
	else if (!strcmp(a, "eprint"))
		put_bytes(stderr, atol(arg));
	else if (!strcmp(a, "say"))
		fputs(arg, stdout), fflush(stdout);
	else if (!strcmp(a, "esay"))
		fputs(arg, stderr), fflush(stderr);
	else if (!strcmp(a, "touch"))
		close(open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	else if (!strcmp(a, "grandchild"))
		grandchild(atol(arg));
	else if (!strcmp(a, "ignore-term"))
		return sigaction(SIGTERM, &(struct sigaction){.sa_handler = SIG_IGN}, NULL), 0;
	else if (!strcmp(a, "cat"))
		return copy_stdin(0), 0;
	else if (!strcmp(a, "count-stdin"))
		return copy_stdin(1), 0;
	else if (!strcmp(a, "fds"))
		return list_fds(), 0;
	else if (!strcmp(a, "env")) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	} else if (!strcmp(a, "pwd")) {
		char buf[4096];

		return printf("%s\n", getcwd(buf, sizeof(buf)) ? buf : "?"), 0;
	} else if (!strcmp(a, "sigstate"))
		return sigstate(), 0;
	else if (!strcmp(a, "pgid"))
		return printf("%s\n", getpgrp() == getpid() ? "own" : "shared"), 0;
	else {
		fprintf(stderr, "td_child: unknown action '%s'\n", a);
		exit(99);
	}
	return 1; /* consumed an argument */
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		i += act(argv, i, argc);
	fflush(stdout);
	return 0;
}
