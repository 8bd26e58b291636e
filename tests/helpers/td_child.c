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
 *   escape MS       fork a grandchild that leaves the process group (setsid) and forks one
 *                   more into a group of its own (setpgid), both sleeping MS ms holding
 *                   stdout/stderr; print the grandchild's pid
 *   cat             copy stdin to stdout
 *   count-stdin     read stdin to EOF, print the byte count
 *   fds             print the open descriptors (from /proc/self/fd), space-separated
 *   env             print the environment, one NAME=value per line
 *   pwd             print the working directory
 *   sigstate        print "blocked=HEX ignored=HEX" from /proc/self/status
 *   pgid            print "own" when the process leads its own process group
 *   touch PATH      create PATH (tests wait for it to know how far a child got)
 *   spin S          burn S seconds of CPU time, then print "spun"
 *   ignore-xcpu     ignore SIGXCPU from now on
 *   alloc N         allocate N bytes and touch every page; print "allocated N", or say
 *                   "alloc failed" on stderr and exit 3
 *   open-files      open /dev/null until it fails, print how many opened
 *   fork N          fork N children that sleep 5 s, print how many forks succeeded, then
 *                   kill and reap them
 *   flood N         write N bytes ('y') to stdout in 64 KiB blocks (fast: gigabytes)
 *   bytes HEX       write the bytes HEX spells ("ff00c328") to stdout, NULs included
 *   ebytes HEX      the same to stderr
 *   close FD        close descriptor FD (1: stdout ends early while the child goes on)
 *   segv            a real segmentation fault (SIGSEGV back to its default first, so a
 *                   sanitizer's handler cannot turn it into an exit code)
 *   abort           abort() (SIGABRT back to its default first, for the same reason)
 *   forks N MS      fork N children that each sleep MS ms (a bounded fork bomb)
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
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

/*
 * A daemon-like escape from the call's process group: a group kill cannot reach either. Both
 * report on a pipe once they have left, and this waits for that: otherwise, on a busy machine,
 * it could exit (and the executor kill the call's group) before they ran at all.
 */
static void escape(long ms)
{
	int fd[2];
	char ok[2];
	pid_t p;

	if (pipe(fd) < 0 || (p = fork()) < 0) {
		perror("td_child: escape");
		_exit(2);
	}
	if (p == 0) {
		close(fd[0]);
		if (setsid() < 0 || write(fd[1], "s", 1) != 1)
			_exit(2);
		p = fork();
		if (p == 0 && (setpgid(0, 0) < 0 || write(fd[1], "g", 1) != 1))
			_exit(2);
		close(fd[1]);
		msleep(ms);
		_exit(0);
	}
	close(fd[1]);
	for (size_t got = 0; got < sizeof(ok);) {
		ssize_t n = read(fd[0], ok + got, sizeof(ok) - got);

		if (n <= 0) {
			fprintf(stderr, "td_child: escape: a descendant did not leave the group\n");
			_exit(2);
		}
		got += (size_t)n;
	}
	close(fd[0]);
	printf("%d\n", (int)p);
	fflush(stdout);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile unsigned long spin_sink; /* keeps the busy loop from being optimised out */

static void spin(double s)
{
	while (cpu_seconds() < s)
		for (int i = 0; i < 1000000; i++)
			spin_sink += (unsigned long)i;
	printf("spun\n");
	fflush(stdout);
}

static void alloc_touch(long n)
{
	char *p = malloc((size_t)n);

	if (!p) {
		fprintf(stderr, "alloc failed\n");
		exit(3);
	}
	for (long i = 0; i < n; i += 4096)
		p[i] = 1;
	printf("allocated %ld\n", n);
	fflush(stdout);
	free(p);
}

static void open_files(void)
{
	long n = 0;
	int fd, last = -1;

	while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		n++;
		last = fd;
	}
	printf("%ld\n", n);
	fflush(stdout);
	/* closed again: an ASan build's leak check at exit needs descriptors of its own */
	for (fd = 3; fd <= last; fd++)
		close(fd);
}

static void fork_children(long n)
{
	pid_t *pids = calloc((size_t)n + 1, sizeof(*pids));
	long ok = 0, i;

	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			msleep(5000);
			_exit(0);
		}
		if (p > 0)
			pids[ok++] = p;
	}
	printf("%ld\n", ok);
	fflush(stdout);
	for (i = 0; i < ok; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	free(pids);
}

static void flood(long n)
{
	static char block[65536];
	ssize_t w;

	fflush(stdout);
	memset(block, 'y', sizeof(block));
	while (n > 0) {
		w = write(1, block, n < (long)sizeof(block) ? (size_t)n : sizeof(block));
		if (w <= 0)
			return; /* EPIPE or a closed stdout: the reader is gone */
		n -= w;
	}
}

static void put_hex(FILE *f, const char *hex)
{
	unsigned char out[4096];
	size_t n = 0;
	unsigned v;

	fflush(f);
	while (n < sizeof(out) && hex[0] && hex[1] && sscanf(hex, "%2x", &v) == 1) {
		out[n++] = (unsigned char)v;
		hex += 2;
	}
	if (write(fileno(f), out, n) < 0)
		return;
}

/* Dies by sig with its default action. SIGSEGV comes from a store to an inaccessible page:
 * not NULL, so UBSan lets it through, and ASan sees addressable shadow, so the kernel faults. */
static void die_by(int sig)
{
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	fflush(NULL);
	sigaction(sig, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
	if (sig == SIGABRT)
		abort();
	if (page != MAP_FAILED)
		*(volatile int *)page = 1;
	raise(sig); /* no page to fault on */
}

static void forks(long n, long ms)
{
	long k;

	fflush(NULL);
	for (k = 0; k < n; k++)
		if (fork() == 0) {
			msleep(ms);
			_exit(0);
		}
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
	else if (!strcmp(a, "escape"))
		escape(atol(arg));
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
	else if (!strcmp(a, "spin"))
		spin(atof(arg));
	else if (!strcmp(a, "ignore-xcpu"))
		return sigaction(SIGXCPU, &(struct sigaction){.sa_handler = SIG_IGN}, NULL), 0;
	else if (!strcmp(a, "alloc"))
		alloc_touch(atol(arg));
	else if (!strcmp(a, "open-files"))
		return open_files(), 0;
	else if (!strcmp(a, "fork"))
		fork_children(atol(arg));
	else if (!strcmp(a, "flood"))
		flood(atol(arg));
	else if (!strcmp(a, "bytes"))
		put_hex(stdout, arg);
	else if (!strcmp(a, "ebytes"))
		put_hex(stderr, arg);
	else if (!strcmp(a, "close"))
		fflush(NULL), close(atoi(arg));
	else if (!strcmp(a, "segv"))
		return die_by(SIGSEGV), 0;
	else if (!strcmp(a, "abort"))
		return die_by(SIGABRT), 0;
	else if (!strcmp(a, "forks")) {
		forks(atol(arg), i + 2 < argc ? atol(argv[i + 2]) : 0);
		return 2;
	} else {
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
