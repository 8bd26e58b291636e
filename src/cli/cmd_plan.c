/* SPDX-License-Identifier: MIT */
/* cmd_plan.c - `tooldag check`, `tooldag plan` and `tooldag tools`: everything short of running. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int usage_error(const char *cmd, const char *what)
{
	cli_error("%s: %s", cmd, what);
	fprintf(stderr, "Try 'tooldag %s --help'.\n", cmd);
	return EXIT_USAGE;
}

static int parse_dialect(const char *cmd, const char *arg, enum td_dialect *d)
{
	if (td_dialect_parse(arg, d) < 0) {
		cli_error("%s: unknown dialect '%s' (expected anthropic, openai or responses)", cmd,
		          arg);
		fprintf(stderr, "Try 'tooldag %s --help'.\n", cmd);
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- check ---- */

static const char check_help[] =
    "usage: tooldag check GRAPH\n\n"
    "Validates a graph file: YAML syntax, keys and types, durations, sizes and rates, tool\n"
    "kinds, dependencies and cycles; and, when the graph declares its own calls:, that batch.\n"
    "Prints every problem as FILE:LINE:COL: message and exits 2, or a one-line summary and 0.\n";

/* The graph's own calls that would get an error result, as FILE:LINE:COL lines; EXIT_INVALID
 * when there is one. */
static int call_errors(const char *file, const struct td_batch *b)
{
	char id[CLI_TEXT_MAX], err[CLI_TEXT_MAX];
	unsigned line, col;
	size_t i, nerr = 0;

	for (i = 0; i < td_batch_count(b); i++) {
		if (!td_batch_call_error(b, i))
			continue;
		if (td_batch_call_position(b, i, &line, &col) < 0)
			line = col = 0;
		fprintf(stderr, "%s:%u:%u: call %zu (%s): %s\n", file, line, col, i + 1,
		        cli_text(td_batch_call_id(b, i), id, sizeof(id)),
		        cli_text(td_batch_call_error(b, i), err, sizeof(err)));
		nerr++;
	}
	return nerr ? EXIT_INVALID : EXIT_OK;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	struct cli_job job;
	char bad[300];
	size_t n, levels;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(check_help, stdout);
			return EXIT_OK;
		}
		return usage_error("check", cli_bad_option(c, argv, opts, bad, sizeof(bad)));
	}
	if (argc - optind != 1)
		return usage_error("check", "expected exactly one GRAPH file");
	memset(&job, 0, sizeof(job));
	if ((r = cli_load_graph(argv[optind], 0, &job.graph)))
		return r;
	if (!td_graph_has_calls(job.graph)) {
		printf("%s: ok, %zu tool%s\n", argv[optind], td_graph_tool_count(job.graph),
		       td_graph_tool_count(job.graph) == 1 ? "" : "s");
		cli_job_free(&job);
		return EXIT_OK;
	}
	td_graph_free(job.graph);
	r = cli_load_plan(argv[optind], 0, NULL, TD_DIALECT_AUTO, &job);
	if (r)
		return r;
	/* a run answers a call-level error with an error result; in the graph's own calls it is
	 * a mistake in the file, and check is where to hear of it */
	if ((r = call_errors(argv[optind], job.batch))) {
		cli_job_free(&job);
		return r;
	}
	n = td_batch_count(job.batch);
	levels = td_plan_level_count(job.plan);
	printf("%s: ok, %zu tool%s, %zu call%s in %zu level%s\n", argv[optind],
	       td_graph_tool_count(job.graph), td_graph_tool_count(job.graph) == 1 ? "" : "s", n,
	       n == 1 ? "" : "s", levels, levels == 1 ? "" : "s");
	cli_job_free(&job);
	return EXIT_OK;
}

/* ---- plan ---- */

static const char plan_help[] =
    "usage: tooldag plan [--json | --mermaid] [--dialect D] GRAPH [CALLS]\n\n"
    "Prints the levels the calls would run in: level 0 has no dependencies, level k+1 waits\n"
    "for level k. CALLS is a JSON file or '-' for stdin; without it, the graph's own calls:\n"
    "are planned, else stdin is read.\n\n"
    "  --json          print {\"levels\":[[id...]...],\"calls\":[{id,name,level,depends_on,\n"
    "                  error?}...]} instead of the human-readable listing\n"
    "  --mermaid       print a Mermaid flowchart, one subgraph per level, for Markdown\n"
    "  --dialect D     read the calls as D (anthropic, openai, responses; default: detect)\n";

static void print_deps(const struct td_plan *plan, size_t call)
{
	const struct td_batch *b = td_plan_batch(plan);
	uint32_t deps[8];
	/* only the first 8: the count alone is cheap, a full list per call is quadratic */
	int n = td_plan_call_deps(plan, call, deps, 8), i;
	char id[CLI_TEXT_MAX];

	if (n <= 0)
		return;
	printf("  after ");
	for (i = 0; i < n && i < 8; i++)
		printf("%s%s", i ? ", " : "",
		       cli_text(td_batch_call_id(b, deps[i]), id, sizeof(id)));
	if (n > 8)
		printf(" and %d more", n - 8);
}

static void print_plan(const struct td_plan *plan)
{
	const struct td_batch *b = td_plan_batch(plan);
	size_t k, nerr = 0, i, n = td_batch_count(b);
	const uint32_t *calls;
	char id[CLI_TEXT_MAX], tool[CLI_TEXT_MAX], err[CLI_TEXT_MAX];
	int cnt, j;

	for (k = 0; k < td_plan_level_count(plan); k++) {
		cnt = td_plan_level(plan, k, &calls);
		printf("level %zu (%d call%s)\n", k, cnt, cnt == 1 ? "" : "s");
		for (j = 0; j < cnt; j++) {
			printf("  %s  %s", cli_text(td_batch_call_id(b, calls[j]), id, sizeof(id)),
			       cli_text(td_batch_call_tool(b, calls[j]), tool, sizeof(tool)));
			print_deps(plan, calls[j]);
			putchar('\n');
		}
	}
	for (i = 0; i < n; i++)
		nerr += td_batch_call_error(b, i) != NULL;
	if (nerr) {
		printf("call errors (%zu): these calls will get an error result\n", nerr);
		for (i = 0; i < n; i++)
			if (td_batch_call_error(b, i))
				printf("  %s  %s: %s\n",
				       cli_text(td_batch_call_id(b, i), id, sizeof(id)),
				       cli_text(td_batch_call_tool(b, i), tool, sizeof(tool)),
				       cli_text(td_batch_call_error(b, i), err, sizeof(err)));
	}
	printf("%zu call%s in %zu level%s\n", n, n == 1 ? "" : "s", td_plan_level_count(plan),
	       td_plan_level_count(plan) == 1 ? "" : "s");
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
	                                     {"json", no_argument, NULL, 'J'},
	                                     {"mermaid", no_argument, NULL, 'M'},
	                                     {"dialect", required_argument, NULL, 'D'},
	                                     {0}};
	enum td_dialect dialect = TD_DIALECT_AUTO;
	struct cli_job job;
	int c, r, json = 0;
	char *out, bad[300];

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(plan_help, stdout);
			return EXIT_OK;
		case 'J':
		case 'M':
			if (json && json != (c == 'J' ? 1 : 2))
				return usage_error("plan",
				                   "--json and --mermaid: give one of them");
			json = c == 'J' ? 1 : 2;
			break;
		case 'D':
			if (parse_dialect("plan", optarg, &dialect))
				return EXIT_USAGE;
			break;
		default:
			return usage_error("plan", cli_bad_option(c, argv, opts, bad, sizeof(bad)));
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("plan", "expected GRAPH [CALLS]");
	r = cli_load_plan(argv[optind], TD_LOAD_KEEP_ENV,
	                  argc - optind == 2 ? argv[optind + 1] : NULL, dialect, &job);
	if (r)
		return r;
	if (json) {
		r = json == 2 ? td_plan_mermaid(job.plan, &out) : td_plan_json(job.plan, 0, &out);
		if (r == TD_ETOOBIG) {
			cli_error(
			    "plan --json: the calls' dependency lists are too long to print (tool "
			    "dependencies between many calls); 'tooldag plan' shows the levels");
			r = EXIT_INVALID;
		} else {
			r = cli_print_encoded(r, &out);
		}
	} else {
		print_plan(job.plan);
	}
	if (!r && job.incomplete) /* a stream cut off or ended by an error: said, and not whole */
		r = EXIT_INVALID;
	cli_job_free(&job);
	return r;
}

/* ---- tools ---- */

static const char tools_help[] =
    "usage: tooldag tools [--dialect D] [--pretty] GRAPH\n\n"
    "Prints the graph's tools in the shape a model API's `tools` request parameter takes, so\n"
    "one YAML file feeds both the model and the scheduler.\n\n"
    "  --dialect D     anthropic (default), openai (Chat Completions) or responses\n"
    "  --pretty        indent the JSON\n";

int cmd_tools(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
	                                     {"pretty", no_argument, NULL, 'P'},
	                                     {"dialect", required_argument, NULL, 'D'},
	                                     {0}};
	enum td_dialect dialect = TD_DIALECT_ANTHROPIC;
	struct td_graph *g;
	int c, r, pretty = 0;
	char *out, bad[300];

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(tools_help, stdout);
			return EXIT_OK;
		case 'P':
			pretty = 1;
			break;
		case 'D':
			if (parse_dialect("tools", optarg, &dialect))
				return EXIT_USAGE;
			break;
		default:
			return usage_error("tools",
			                   cli_bad_option(c, argv, opts, bad, sizeof(bad)));
		}
	}
	if (argc - optind != 1)
		return usage_error("tools", "expected exactly one GRAPH file");
	if ((r = cli_load_graph(argv[optind], TD_LOAD_KEEP_ENV, &g)))
		return r;
	r = cli_print_encoded(td_graph_tools_json(g, dialect, pretty, &out), &out);
	td_graph_free(g);
	return r;
}
