/* SPDX-License-Identifier: MIT */
/*
 * main.c - tooldag-bench: real task graphs and benchmarks for tooldag.
 *
 *   tooldag-bench import stg|wf|log FILE (-o OUTDIR | --graph G.yaml --calls C.json) [options]
 *   tooldag-bench level [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]
 *   tooldag-bench gen calls [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED] -o OUTDIR
 *   tooldag-bench gen tools [-n TOOLS] [-s SEED] -o FILE
 *   tooldag-bench gen dag | simulate | real | sweep | rank | time
 *
 * Every subcommand works on one in-memory shape, struct dag (dag.c: tasks with an id, a
 * duration and their predecessors as CSR), so that the importers (stg.c, wf.c) and the
 * generators (level.c, gen.c) feed the simulation (cmd.c, sim.c) unchanged. This file holds
 * main, `import` and `time`; it sees the commands through cmds.h only, and nothing includes it.
 *
 * Exit codes: 0 success, 1 usage error, 2 invalid or unreadable input, 3 any other failure
 * (cannot write the output, a library error, a level check that failed).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tooldag.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"

/* ---------------------------------------------------------------------------------------- */
/* import */

static void usage_import(FILE *f)
{
	fputs(
	    "usage: tooldag-bench import stg|wf|log FILE (-o OUTDIR | --graph G.yaml --calls "
	    "C.json)\n"
	    "                            [--unit-ms F] [-j N] [--batch N] [--from GRAPH]\n"
	    "Writes a tooldag graph (one `task` tool, builtin: sleep) and an Anthropic call batch\n"
	    "(one tool_use per task, input {\"ms\": runtime}, explicit depends_on).\n"
	    "  stg FILE      Standard Task Graph Set file; call ids 1..N, entry/exit dropped\n"
	    "  wf FILE       WfCommons WfFormat JSON, schema 1.5 or 1.4; call ids = task ids\n"
	    "  log FILE      a recording (tooldag run --record FILE): one batch, its call ids,\n"
	    "                its plan's dependencies (tool-level ones made explicit), each\n"
	    "                call's runtime = the time its attempts ran, to the microsecond\n"
	    "  --batch N     log: the Nth batch of the file, 1 the first (default: the last)\n"
	    "  --from GRAPH  log: the graph the batches ran on (default: the recorded path)\n"
	    "  -o OUTDIR     write OUTDIR/graph.yaml and OUTDIR/calls.json (created if needed)\n"
	    "  --graph G     write the graph file to G (with --calls, instead of -o)\n"
	    "  --calls C     write the call batch to C\n"
	    "  --unit-ms F   STG: milliseconds per time unit (default 1)\n"
	    "  -j N          the graph's concurrency (default 8)\n"
	    "WfCommons runtimes are runtimeInSeconds x 1000, rounded to whole ms.\n",
	    f);
}

/* Batch N (1 the first; 0: the last) of a recording. 0 or -1 (said). */
static int import_log(const char *path, const char *from, long batch, struct dag *d)
{
	struct logfile lf;
	int rc = -1;

	if (log_open(&lf, path, from) == 0) {
		size_t i = batch ? (size_t)batch - 1 : lf.n - 1;

		if (batch > 0 && (unsigned long)batch > lf.n)
			say("%s: --batch %ld, but the file holds %zu batches", path, batch, lf.n);
		else if (!td_recording_call_count(lf.rec, i))
			say("%s: batch %zu holds no call: nothing ran", path, i + 1);
		else
			rc = log_dag(&lf, i, d);
	}
	log_close(&lf);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"graph", required_argument, NULL, 'g'},
	    {"calls", required_argument, NULL, 'c'},
	    {"unit-ms", required_argument, NULL, 'u'},
	    {"batch", required_argument, NULL, 'b'},
	    {"from", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *outdir = NULL, *graph = NULL, *calls = NULL, *from = NULL;
	struct dag d = {0};
	long batch = 0;
	double unit_ms = 1;
	unsigned conc = 8;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:j:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			outdir = optarg;
			break;
		case 'g':
			graph = optarg;
			break;
		case 'c':
			calls = optarg;
			break;
		case 'u':
			unit_ms = opt_double("--unit-ms", optarg);
			break;
		case 'j':
			conc = (unsigned)opt_long("-j", optarg, 1, 1000000);
			break;
		case 'b':
			batch = opt_long("--batch", optarg, 1, LONG_MAX);
			break;
		case 'f':
			from = optarg;
			break;
		case 'h':
			usage_import(stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || (!outdir && !(graph && calls)) || (outdir && (graph || calls)))
		goto usage;
	if (strcmp(argv[optind], "stg") && strcmp(argv[optind], "wf") &&
	    strcmp(argv[optind], "log")) {
		say("import: unknown format '%s' (expected stg, wf or log)", argv[optind]);
		return EXIT_USAGE;
	}
	if ((batch || from) && strcmp(argv[optind], "log")) {
		say("import: --batch and --from are for recordings (import log)");
		return EXIT_USAGE;
	}
	d.source = argv[optind + 1];
	if (argv[optind][0] == 's')
		rc = import_stg(d.source, unit_ms, &d);
	else if (argv[optind][0] == 'w')
		rc = import_wf(d.source, &d);
	else
		rc = import_log(d.source, from, batch, &d);
	if (rc < 0) {
		dag_free(&d);
		return EXIT_INPUT;
	}
	if (outdir)
		return write_dir(&d, outdir, conc);
	rc = write_pair(&d, graph, calls, conc);
	dag_free(&d);
	return rc < 0 ? EXIT_FAIL : 0;
usage:
	say("import: expected FORMAT FILE and -o OUTDIR or --graph G --calls C (try 'import "
	    "--help')");
	return EXIT_USAGE;
}

static int cmd_gen(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "calls"))
		return gen_calls(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "tools"))
		return gen_tools(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "dag"))
		return gen_dag(argc - 1, argv + 1);
	say("usage: tooldag-bench gen calls|tools|dag [options] (see --help)");
	return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------- */
/* time: wall time and peak RSS of one command */

extern char **environ;

/*
 * Runs CMD and writes {"wall_s","maxrss_mb","status"} to FILE. Why not measure from the
 * harness: Linux carries the peak RSS of the parent's address space into a child across
 * fork + exec, so a command started by a 15 MB Python reports at least 15 MB. Spawned from this
 * small program (posix_spawn shares our fresh address space), the figure is the command's own.
 */
static int cmd_time(int argc, char **argv)
{
	const char *out = NULL;
	struct rusage ru;
	double t0, wall;
	int opt, status;
	pid_t pid;
	FILE *f;

	optind = 1;
	while ((opt = getopt(argc, argv, "+o:")) != -1) {
		if (opt != 'o')
			goto usage;
		out = optarg;
	}
	if (!out || optind >= argc)
		goto usage;
	t0 = now_s();
	if ((errno = posix_spawnp(&pid, argv[optind], NULL, NULL, argv + optind, environ))) {
		say("time: %s: %s", argv[optind], strerror(errno));
		return EXIT_FAIL;
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		say("time: wait4: %s", strerror(errno));
		return EXIT_FAIL;
	}
	wall = now_s() - t0;
	if (!(f = open_out(out)))
		return EXIT_FAIL;
	fprintf(f, "{\"wall_s\":%.6f,\"maxrss_mb\":%.1f,\"status\":%d}\n", wall,
	        (double)ru.ru_maxrss / 1024.0,
	        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (close_out(f, out) < 0)
		return EXIT_FAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
usage:
	say("usage: tooldag-bench time -o FILE CMD [ARGS...]");
	return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: tooldag-bench COMMAND [options]\n"
	      "  import stg|wf|log FILE -o OUTDIR\n"
	      "                                 convert a real task graph or a recorded batch\n"
	      "                                 to graph.yaml + calls.json\n"
	      "  level [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]\n"
	      "                                 time td_plan_new() on a layered graph built\n"
	      "                                 in-process (the graph of kahn_ref); one JSON line\n"
	      "  gen calls [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED] -o OUTDIR\n"
	      "                                 the same graph as graph.yaml + calls.json\n"
	      "  gen tools [-n TOOLS] [-s SEED] -o FILE\n"
	      "  gen dag --shape S [--dist D] [-n N] [-w W] [--mean MS] [-s SEED] -o OUTDIR\n"
	      "                                 layered|forkjoin|chain|diamond|er|agent graphs\n"
	      "                                 with fixed|uniform|lognormal|bimodal durations\n"
	      "                                 a graph file with TOOLS synthetic tools\n"
	      "  time -o FILE CMD [ARGS...]     run CMD; write its wall time and peak RSS to FILE\n"
	      "  simulate GRAPH CALLS [--policy P] [-j N] [--json|--csv] [--calls-csv F]\n"
	      "                                 tooldag's scheduler in virtual time\n"
	      "  real GRAPH CALLS [--policy P] [-j N] [--scale F] [--repeat N]\n"
	      "                                 real sleeps; overhead over the simulation\n"
	      "  sweep [--policy all] [-j 2,4,8] [--optima TSV] [--summary] FILE...\n"
	      "                                 simulate STG / WfCommons files imported in memory\n"
	      "  rank GRAPH CALLS [-j N] [--repeat N]\n"
	      "                                 the critical policy's choice of priority rule\n"
	      "                                 and its planning time\n"
	      "  simulate, real, sweep and rank take --help; charts: bench/plot.py\n"
	      "Defaults: -n 100000 -l 10 -d 1:3 -s 42 (kahn_ref's); gen tools -n 10000.\n"
	      "Exit codes: 0 ok, 1 usage, 2 invalid input, 3 other failure.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("tooldag-bench (tooldag %s)\n", td_version());
		return 0;
	}
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc - 1, argv + 1);
	/* each of these prints its own help */
	if (!strcmp(argv[1], "simulate"))
		return cmd_simulate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "real"))
		return cmd_real(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return cmd_sweep(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rank"))
		return cmd_rank(argc - 1, argv + 1);
	if (argc >= 3 && !strcmp(argv[2], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "level"))
		return cmd_level(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "time"))
		return cmd_time(argc - 1, argv + 1);
	say("unknown command '%s' (try --help)", argv[1]);
	return EXIT_USAGE;
}
