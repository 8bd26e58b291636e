/* SPDX-License-Identifier: MIT */
/* cmd_pin.c - `tooldag pin GRAPH`: what the graph's MCP servers list, into its pin file. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static const char pin_help[] =
    "usage: tooldag pin [-o FILE] GRAPH\n\n"
    "Starts the graph's MCP servers (servers:), asks each for its tools (tools/list) and writes\n"
    "what they list next to the graph (GRAPH without .yaml, then .pin.json), so that check,\n"
    "plan, tools and run read the servers' schemas without starting them. Run it again after a\n"
    "server changed: the pin is read as it is, and a tool a server no longer lists is an error.\n\n"
    "  -o, --output FILE  write the pin there instead\n";

static int usage_error(const char *what)
{
	cli_error("pin: %s", what);
	fputs("Try 'tooldag pin --help'.\n", stderr);
	return EXIT_USAGE;
}

int cmd_pin(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'}, {"output", required_argument, NULL, 'o'}, {0}};
	struct td_diag diag = {0};
	struct td_graph *g;
	const char *out = NULL;
	char *path, bad[300];
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(pin_help, stdout);
			return EXIT_OK;
		}
		if (c != 'o')
			return usage_error(cli_bad_option(c, argv, opts, bad, sizeof(bad)));
		out = optarg;
	}
	if (argc - optind != 1)
		return usage_error("expected exactly one GRAPH file");
	if ((r = cli_load_graph(argv[optind], TD_LOAD_NO_PIN, &g)))
		return r;
	path = out ? NULL : td_graph_pin_path(argv[optind]);
	r = td_graph_pin(g, out ? out : path, &diag);
	if (r < 0) {
		cli_print_diag(&diag);
		r = r == TD_EGRAPH ? EXIT_INVALID : EXIT_RUNTIME;
	} else {
		printf("wrote %s\n", out ? out : path);
		r = EXIT_OK;
	}
	td_diag_clear(&diag);
	free(path);
	td_graph_free(g);
	return r;
}
