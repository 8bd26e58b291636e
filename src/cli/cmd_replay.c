/* SPDX-License-Identifier: MIT */
/*
 * cmd_replay.c - `tooldag replay FILE`: the results a recorded run printed, without running
 * anything; with --rerun, the recorded batch run again against the graph and compared call by
 * call.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"

static const char replay_help[] =
    "usage: tooldag replay [OPTIONS] FILE\n\n"
    "Prints the results of a batch recorded with 'tooldag run --record FILE', byte for byte\n"
    "as 'run' printed them, in the recorded dialect. Nothing runs.\n\n"
    "options:\n"
    "  --batch N             the Nth batch of the file (1 is the first; default: the last)\n"
    "  --dialect NAME        answer in anthropic, openai or responses instead\n"
    "  --pretty              indent the results\n"
    "  --rerun               run the recorded batch again against the graph and print, per\n"
    "                        call, 'same' or what changed (status, content); exit code 3 when\n"
    "                        any call changed\n"
    "  --graph FILE          with --rerun: this graph instead of the recorded path\n\n"
    "A last line torn by a writer killed mid-write is ignored, with a warning.\n";

struct replay_args {
	const char *file, *graph;
	long batch; /* 1-based; 0: the last */
	enum td_dialect dialect;
	int pretty, rerun;
};

static int usage_error(const char *what)
{
	cli_error("replay: %s", what);
	fprintf(stderr, "Try 'tooldag replay --help'.\n");
	return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct replay_args *a)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
	                                     {"batch", required_argument, NULL, 'b'},
	                                     {"dialect", required_argument, NULL, 'D'},
	                                     {"pretty", no_argument, NULL, 'P'},
	                                     {"rerun", no_argument, NULL, 'r'},
	                                     {"graph", required_argument, NULL, 'g'},
	                                     {0}};
	char bad[300];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(replay_help, stdout);
			return -1;
		case 'b':
			if (cli_parse_number(optarg, 1, LONG_MAX, &a->batch) < 0)
				return usage_error("--batch takes a number from 1");
			break;
		case 'D':
			if (td_dialect_parse(optarg, &a->dialect) < 0)
				return usage_error(
				    "--dialect takes anthropic, openai or responses");
			break;
		case 'P':
			a->pretty = 1;
			break;
		case 'r':
			a->rerun = 1;
			break;
		case 'g':
			a->graph = optarg;
			break;
		default:
			return usage_error(cli_bad_option(c, argv, opts, bad, sizeof(bad)));
		}
	}
	if (argc - optind != 1)
		return usage_error("expected FILE");
	if (a->graph && !a->rerun)
		return usage_error("--graph goes with --rerun");
	a->file = argv[optind];
	return 0;
}

/* ---- --rerun ---- */

static int same(const struct td_recorded_call *was, const struct td_result *now)
{
	return was->status == now->status && was->content_len == now->content_len &&
	       memcmp(was->content, now->content, now->content_len) == 0;
}

/* One line per call: "same ID STATUS" or "changed ID" with what changed indented below. */
static void diff_call(const struct td_recorded_call *was, const struct td_result *now)
{
	char b1[CLI_TEXT_MAX], b2[CLI_TEXT_MAX];

	if (same(was, now)) {
		printf("same    %s %s\n", cli_text(was->id, b1, sizeof(b1)),
		       td_status_name(now->status));
		return;
	}
	printf("changed %s\n", cli_text(was->id, b1, sizeof(b1)));
	if (was->status != now->status)
		printf("  status: %s -> %s\n", td_status_name(was->status),
		       td_status_name(now->status));
	if (was->content_len != now->content_len ||
	    memcmp(was->content, now->content, now->content_len) != 0) {
		/* cli_text stops at a NUL byte: contents are shown, not compared, that way */
		printf("  - %s\n", cli_text(was->content, b1, sizeof(b1)));
		printf("  + %s\n", cli_text(now->content, b2, sizeof(b2)));
	}
}

/*
 * Steps the run to its end. SIGINT, SIGTERM or SIGHUP (those not ignored) cancel it, as they
 * cancel `run`: its tools are killed and reaped, not left running in their own process groups;
 * a second one exits at once. 1 if it was interrupted, 0, or a negative code.
 */
static int drive(struct td_run *run)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct signalfd_siginfo si;
	struct sigaction sa;
	struct pollfd pfd[2];
	sigset_t mask, old;
	int sfd, r, ms, interrupted = 0;
	size_t k;

	sigemptyset(&mask);
	for (k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		if (sigaction(sigs[k], NULL, &sa) < 0 || sa.sa_handler != SIG_IGN)
			sigaddset(&mask, sigs[k]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	r = sfd < 0 ? -errno : 1;
	while (r > 0 && (r = td_run_step(run)) > 0) {
		ms = td_run_timeout(run);
		if (ms < -1) {
			r = ms;
			break;
		}
		pfd[0] = (struct pollfd){.fd = td_run_fd(run), .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		if (poll(pfd, 2, ms) < 0 && errno != EINTR)
			r = -errno;
		if (r < 0 || !(pfd[1].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (interrupted) { /* second signal: kill and reap everything, leave at once */
			td_run_free(run);
			_exit(EXIT_INTERRUPTED);
		}
		interrupted = 1;
		cli_error("%s, cancelling the run", strsignal((int)si.ssi_signo));
		td_run_cancel(run);
	}
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r < 0 ? r : interrupted;
}

static int rerun(const struct td_recording *rec, size_t i, const struct replay_args *a)
{
	const char *path = a->graph ? a->graph : td_recording_graph(rec, i);
	struct td_diag diag = {0};
	struct td_graph *g = NULL;
	struct td_batch *batch = NULL;
	struct td_plan *plan = NULL;
	struct td_run *run = NULL;
	struct td_run_opts opts = {.die_with_host = 1}; /* a killed replay leaves no tool running */
	struct td_recorded_call was;
	struct td_result now;
	int r, changed = 0, interrupted = 0, strays = strays_adopt() == 0;
	size_t c;

	r = cli_load_graph(path, 0, &g);
	if (r)
		return r;
	if (td_recording_same_tools(rec, i, g) == 0)
		cli_error("warning: %s: the tools are not those recorded (their definitions or an "
		          "MCP server's command, env, cwd or url changed): results may differ for "
		          "that reason",
		          path);
	if (td_recording_batch(rec, i, g, &batch, &diag) < 0 ||
	    td_plan_new(batch, &plan, &diag) < 0 || td_run_new(plan, &opts, &run, &diag) < 0) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		r = EXIT_RUNTIME;
	} else if ((interrupted = drive(run)) < 0) {
		cli_error("the run failed: %s", td_strerror(interrupted));
		r = EXIT_RUNTIME;
	}
	for (c = 0; !r && c < td_recording_call_count(rec, i); c++) {
		td_recording_call(rec, i, c, &was);
		td_run_result(run, c, &now);
		changed |= !same(&was, &now);
		diff_call(&was, &now);
	}
	td_run_free(run);
	if (strays) /* what tools left running outside their process groups */
		strays_kill();
	td_plan_free(plan);
	td_batch_free(batch);
	td_graph_free(g);
	if (!r && (fflush(stdout) != 0 || ferror(stdout))) {
		cli_error("cannot write results: %s", strerror(errno));
		r = EXIT_RUNTIME;
	}
	return r ? r : interrupted ? EXIT_INTERRUPTED : changed ? EXIT_CALL_ERRORS : EXIT_OK;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_args a = {0};
	struct td_diag diag = {0};
	struct td_recording *rec;
	size_t i, n;
	char *out;
	int r;

	r = parse_args(argc, argv, &a);
	if (r)
		return r < 0 ? EXIT_OK : r;
	if (td_recording_open(a.file, &rec, &diag) < 0) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		return EXIT_INVALID;
	}
	if (td_recording_torn(rec))
		cli_error("warning: %s:%u: a torn last line (a writer was killed mid-write) is "
		          "ignored",
		          a.file, td_recording_torn(rec));
	n = td_recording_count(rec);
	if (!n || (size_t)a.batch > n) {
		if (n)
			cli_error("replay: %s holds %zu batch%s, not %ld", a.file, n,
			          n == 1 ? "" : "es", a.batch);
		else
			cli_error("replay: %s holds no batch", a.file);
		td_recording_free(rec);
		return EXIT_INVALID;
	}
	i = a.batch ? (size_t)a.batch - 1 : n - 1;
	if (!td_recording_call_count(rec, i)) {
		/* a streamed response cut off before its first call: run printed nothing */
		cli_error("replay: %s: batch %zu holds no call: nothing ran", a.file, i + 1);
		r = EXIT_INVALID;
	} else if (a.rerun) {
		r = rerun(rec, i, &a);
	} else if (td_recording_results_json(rec, i, a.dialect, a.pretty, &out) < 0) {
		cli_error("replay: out of memory");
		r = EXIT_RUNTIME;
	} else {
		r = cli_write_stdout(out);
		free(out);
	}
	td_recording_free(rec);
	return r;
}
