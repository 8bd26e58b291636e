/* SPDX-License-Identifier: MIT */
/* main.c - the tooldag command: dispatch to check, dot, pin, plan, tools, run and worker. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"check", cmd_check, "validate a graph file (and its own calls, if any)"},
    {"dot", cmd_dot, "print the tools, or a batch's calls, as Graphviz DOT by level"},
    {"pin", cmd_pin, "write what the graph's MCP servers list into its pin file"},
    {"plan", cmd_plan, "print the levels a batch of calls would run in"},
    {"replay", cmd_replay, "print the results of a recorded batch, or run it again and compare"},
    {"run", cmd_run, "run a batch of calls, level by level, and print the results"},
    {"tools", cmd_tools, "print the tool definitions for a model API's `tools` parameter"},
    {"worker", cmd_worker, "take remote tools' calls from Redis and run them here"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
	        "usage: tooldag [--version] [--help] COMMAND [ARGS]\n\n"
	        "Runs the tool calls of one model turn as a dependency graph: independent calls\n"
	        "concurrently, dependent calls in order, one result per call.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(
	    f,
	    "\n'tooldag COMMAND --help' (or 'tooldag help COMMAND') describes a command.\n"
	    "exit codes: 0 ok, 1 usage error, 2 invalid graph or batch, 3 call errors with\n"
	    "--fail-on-error, 4 run could not start (e.g. io_uring refused), 130 interrupted.\n");
}

/*
 * Descriptors 0, 1 and 2 that were closed (`tooldag run ... >&-`) are filled with /dev/null:
 * otherwise the first file opened (the ring, a tool's pipe, the report) would take the number
 * and the results be written into it. Returns whether stdout was one of them.
 */
static int fill_std_fds(void)
{
	int fd, out_closed = 0;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
				_exit(EXIT_RUNTIME);
			out_closed |= fd == 1;
		}
	return out_closed;
}

int main(int argc, char **argv)
{
	int out_closed = fill_std_fds();
	size_t i;

	opterr = 0; /* the commands say what was wrong, once (cli_bad_option) */
	/* a write past the file size limit (ulimit -f) fails with EFBIG instead of killing us:
	 * a recording line cut short is then cut away and reported (tools get the default back) */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 && argc == 3) { /* "tooldag help run" */
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[2], commands[i].name) == 0)
				return commands[i].fn(2, (char *[]){argv[2], "--help", NULL});
		cli_error("unknown command '%s'", argv[2]);
		fprintf(stderr, "Try 'tooldag --help'.\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		struct td_diag d = {0};

		printf("tooldag %s\n", td_version());
		if (td_loop_check(TD_LOOP_URING, &d) == 0)
			printf("event loop: io_uring (epoll where the kernel refuses it)\n");
		else
			printf("event loop: epoll (%s)\n",
			       d.count ? d.items[0].message : "io_uring refused");
		td_diag_clear(&d);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		/* the output is the point (not for check, whose answer is its exit code): say so
		 * before running anything */
		if (out_closed && strcmp(argv[1], "check") != 0) {
			cli_error(
			    "standard output is closed: there is nowhere to write the results");
			return EXIT_RUNTIME;
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s'", argv[1]);
	fprintf(stderr, "Try 'tooldag --help'.\n");
	return EXIT_USAGE;
}
