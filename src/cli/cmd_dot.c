/* SPDX-License-Identifier: MIT */
/* cmd_dot.c - `tooldag dot`: the graph's tools, or a batch's calls, as Graphviz DOT. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char dot_help[] =
    "usage: tooldag dot [--dialect D] GRAPH [CALLS]\n\n"
    "Prints Graphviz DOT with one rank per level: the graph's tools and their depends_on\n"
    "edges, or, when CALLS is given (a JSON file or '-' for stdin), that batch's calls and\n"
    "their dependencies, calls with an error dashed in red. Render it with\n"
    "  tooldag dot graph.yaml calls.json | dot -Tsvg > plan.svg\n\n"
    "  --dialect D     read the calls as D (anthropic, openai, responses; default: detect)\n";

static int usage_error(const char *what)
{
	cli_error("dot: %s", what);
	fprintf(stderr, "Try 'tooldag dot --help'.\n");
	return EXIT_USAGE;
}

static int print_tools(const char *path)
{
	struct td_graph *g;
	char *out;
	int r;

	if ((r = cli_load_graph(path, TD_LOAD_KEEP_ENV, &g)))
		return r;
	r = cli_print_encoded(td_graph_dot(g, &out), &out);
	td_graph_free(g);
	return r;
}

static int print_calls(const char *graph, const char *calls, enum td_dialect dialect)
{
	struct cli_job job;
	char *out;
	int r = cli_load_plan(graph, TD_LOAD_KEEP_ENV, calls, dialect, &job);

	if (r)
		return r;
	r = cli_print_encoded(td_plan_dot(job.plan, &out), &out);
	if (!r && job.incomplete) /* a stream cut off or ended by an error: said, and not whole */
		r = EXIT_INVALID;
	cli_job_free(&job);
	return r;
}

int cmd_dot(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'}, {"dialect", required_argument, NULL, 'D'}, {0}};
	enum td_dialect dialect = TD_DIALECT_AUTO;
	char bad[300];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(dot_help, stdout);
			return EXIT_OK;
		case 'D':
			if (td_dialect_parse(optarg, &dialect) < 0)
				return usage_error(
				    "--dialect takes anthropic, openai or responses");
			break;
		default:
			return usage_error(cli_bad_option(c, argv, opts, bad, sizeof(bad)));
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("expected GRAPH [CALLS]");
	if (argc - optind == 1)
		return print_tools(argv[optind]);
	return print_calls(argv[optind], argv[optind + 1], dialect);
}
