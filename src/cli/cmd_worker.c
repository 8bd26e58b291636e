/* SPDX-License-Identifier: MIT */
/* cmd_worker.c - `tooldag worker`: serves the queues of a graph's remote tools from Redis. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char worker_help[] =
    "usage: tooldag worker GRAPH [--redis URL] [--tools NAME,NAME...] [-j N] [--name NAME]\n\n"
    "Takes the calls of GRAPH's remote tools (remote: {redis, queue, claim_after}) from their\n"
    "Redis queues, runs them here as `run` would, and answers each on its scheduler's stream.\n\n"
    "  --redis URL     redis://[user:password@]host:port[/db] or unix:///path; ${VAR} is read\n"
    "                  from the environment (keep passwords off the command line). Default:\n"
    "                  the URL the served tools name.\n"
    "  --tools A,B     serve these tools only (default: every tool with remote:)\n"
    "  -j, --jobs N    calls at once (default 4)\n"
    "  --name NAME     consumer name in Redis (default HOST:PID)\n"
    "  --loop KIND     auto, uring or epoll\n\n"
    "SIGTERM drains: the calls held finish and are answered, nothing new is taken, exit 0.\n"
    "SIGINT or SIGHUP cancels: the calls held are killed and given back (their schedulers retry\n"
    "them elsewhere), exit 130.\n";

static struct td_worker *the_worker;

static void on_signal(int sig)
{
	td_worker_stop(the_worker, sig == SIGTERM ? TD_WORKER_DRAIN : TD_WORKER_CANCEL);
}

static void handle(int sig)
{
	struct sigaction sa;

	/* under nohup SIGHUP stays ignored (SIGINT is ignored in a shell's background jobs: it
	 * is still ours to handle) */
	if (sig == SIGHUP && sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

static int usage(const char *what)
{
	cli_error("worker: %s", what);
	fprintf(stderr, "Try 'tooldag worker --help'.\n");
	return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct td_worker_opts *o, const char **graph)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
	                                     {"redis", required_argument, NULL, 'r'},
	                                     {"tools", required_argument, NULL, 't'},
	                                     {"jobs", required_argument, NULL, 'j'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"loop", required_argument, NULL, 'l'},
	                                     {0}};
	char buf[128];
	long n;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hj:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(worker_help, stdout);
			return -1;
		case 'r':
			o->redis = optarg;
			break;
		case 't':
			o->tools = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'j':
			if (cli_parse_number(optarg, 1, 4096, &n) < 0)
				return usage("-j takes a number from 1 to 4096");
			o->jobs = (unsigned)n;
			break;
		case 'l':
			if (!strcmp(optarg, "uring"))
				o->loop = TD_LOOP_URING;
			else if (!strcmp(optarg, "epoll"))
				o->loop = TD_LOOP_EPOLL;
			else if (strcmp(optarg, "auto"))
				return usage("--loop takes auto, uring or epoll");
			break;
		default:
			return usage(cli_bad_option(c, argv, opts, buf, sizeof(buf)));
		}
	}
	if (optind + 1 != argc)
		return usage(optind >= argc ? "GRAPH is missing" : "one GRAPH only");
	*graph = argv[optind];
	return 0;
}

int cmd_worker(int argc, char **argv)
{
	struct td_worker_opts o = {.die_with_host = 1}; /* a killed worker leaves no tool running */
	struct td_worker_stats st;
	struct td_diag diag = {0};
	struct td_graph *g = NULL;
	const char *path = NULL;
	int rc;

	if ((rc = parse_args(argc, argv, &o, &path)))
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = cli_load_graph(path, 0, &g)))
		return rc;
	rc = td_worker_new(g, &o, &the_worker, &diag);
	if (rc) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		td_graph_free(g);
		return rc == TD_EINVAL || rc == TD_EGRAPH ? EXIT_USAGE : EXIT_RUNTIME;
	}
	handle(SIGINT);
	handle(SIGTERM);
	handle(SIGHUP); /* the terminal or ssh session closed: cancel, as SIGINT */
	fprintf(stderr, "tooldag worker %s: serving %s\n", td_worker_name(the_worker), path);
	rc = td_worker_serve(the_worker, &diag);
	if (diag.count || (rc && rc != TD_ECANCELED)) /* an error, or cancels naming no call */
		cli_print_diag(&diag);
	td_worker_stats(the_worker, &st);
	fprintf(stderr,
	        "tooldag worker %s: %llu taken, %llu answered, %llu taken back from silent "
	        "workers, %llu refused, %llu expired, %llu cancelled\n",
	        td_worker_name(the_worker), (unsigned long long)st.taken,
	        (unsigned long long)st.answered, (unsigned long long)st.reclaimed,
	        (unsigned long long)st.malformed, (unsigned long long)st.expired,
	        (unsigned long long)st.cancelled);
	td_worker_free(the_worker);
	the_worker = NULL;
	td_diag_clear(&diag);
	td_graph_free(g);
	return rc == TD_ECANCELED ? EXIT_INTERRUPTED : rc ? EXIT_RUNTIME : EXIT_OK;
}
