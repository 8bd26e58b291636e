/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `tooldag run`: plan, then drive the run from our own poll() loop exactly as an
 * embedding program would (td_run_fd + td_run_timeout + td_run_step), with SIGINT/SIGTERM/SIGHUP
 * arriving on a signalfd so a signal is just another event in the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char run_help[] =
    "usage: tooldag run [OPTIONS] GRAPH [CALLS]\n\n"
    "Runs a batch of calls: each level fully in parallel (within the limits), the next level\n"
    "only when the current one has finished. Prints one result per call, in call order, in the\n"
    "dialect the calls came in. CALLS is a JSON file or '-' for stdin; without it, the graph's\n"
    "own calls: run, else stdin is read.\n\n"
    "  -j, --jobs N          calls in flight at most (default: the graph's concurrency)\n"
    "  --schedule POLICY     level (default): a barrier between levels; eager: a call starts\n"
    "                        as soon as its own dependencies have finished; critical: eager,\n"
    "                        longest chain of dependents first\n"
    "  --dialect D           read the calls as D (anthropic, openai, responses; default:\n"
    "                        detect); for the graph's own calls, answer in D\n"
    "  --report FILE         write the run report (timings, status, attempts) as JSON\n"
    "  --fail-on-error       exit 3 if any call ended in error (default: errors are results)\n"
    "  --progress MODE       what stderr shows while the run goes: auto (default: a status\n"
    "                        line on a terminal, nothing otherwise), tty (the status line\n"
    "                        anyway), plain (a line per event), json (a JSON object per\n"
    "                        line per event), none\n"
    "  -q, --quiet           no status line and no summary of the failed calls (the\n"
    "                        summary is left out with --progress=json too: stderr stays JSON)\n"
    "  --trace FILE          write a Chrome trace-event file (open it in ui.perfetto.dev\n"
    "                        or chrome://tracing)\n"
    "  --record FILE         append the batch, its plan and every attempt's outcome and\n"
    "                        result to FILE as one JSON line ('tooldag replay' reads it),\n"
    "                        and learn the tools' durations in FILE.durations\n"
    "  --history FILE        learn the tools' durations in FILE (and not FILE.durations);\n"
    "                        --schedule critical ranks calls by them\n"
    "  --pretty              indent the results\n"
    "  --conversation        print the conversation CALLS holds with the results appended\n"
    "                        in its own dialect: the next request of an agent loop\n\n"
    "SIGINT, SIGTERM or SIGHUP cancels the run: running tools are killed, unfinished calls\n"
    "get a 'cancelled' result, the results are still printed, and the exit code is 130. A\n"
    "second signal exits at once.\n";

struct run_args {
	const char *graph, *calls, *report, *trace, *record, *history;
	enum td_dialect dialect;
	struct td_run_opts opts;
	int fail_on_error, pretty, quiet, conversation;
	enum progress_mode progress;
};

/* The observers of one run: what stderr shows, the failure summary, the trace file. */
struct watch {
	struct progress *progress;
	struct failures *failures;
	FILE *trace;
	FILE *report; /* opened before the run: a bad path must not wait for the batch to end */
};

static int usage_error(const char *what)
{
	cli_error("run: %s", what);
	fprintf(stderr, "Try 'tooldag run --help'.\n");
	return EXIT_USAGE;
}

static int parse_progress(const char *s, enum progress_mode *m)
{
	static const char *const names[] = {"auto", "none", "tty", "plain", "json"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*m = (enum progress_mode)i;
			return 0;
		}
	return -1;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},           {"jobs", required_argument, NULL, 'j'},
	    {"schedule", required_argument, NULL, 'S'}, {"dialect", required_argument, NULL, 'D'},
	    {"report", required_argument, NULL, 'R'},   {"fail-on-error", no_argument, NULL, 'F'},
	    {"pretty", no_argument, NULL, 'P'},         {"progress", required_argument, NULL, 'G'},
	    {"quiet", no_argument, NULL, 'q'},          {"trace", required_argument, NULL, 'T'},
	    {"conversation", no_argument, NULL, 'C'},   {"record", required_argument, NULL, 'W'},
	    {"history", required_argument, NULL, 'H'},  {0}};
	char bad[300];
	long n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":hj:q", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(run_help, stdout);
			return -1;
		case 'j':
			if (cli_parse_number(optarg, 1, 1000000, &n) < 0)
				return usage_error("-j takes a number from 1 to 1000000");
			a->opts.concurrency = (unsigned)n;
			break;
		case 'S':
			if (strcmp(optarg, "level") == 0)
				a->opts.schedule = TD_SCHEDULE_LEVEL;
			else if (strcmp(optarg, "eager") == 0)
				a->opts.schedule = TD_SCHEDULE_EAGER;
			else if (strcmp(optarg, "critical") == 0)
				a->opts.schedule = TD_SCHEDULE_CRITICAL;
			else
				return usage_error("--schedule takes level, eager or critical");
			break;
		case 'D':
			if (td_dialect_parse(optarg, &a->dialect) < 0)
				return usage_error(
				    "--dialect takes anthropic, openai or responses");
			break;
		case 'R':
			a->report = optarg;
			break;
		case 'F':
			a->fail_on_error = 1;
			break;
		case 'P':
			a->pretty = 1;
			break;
		case 'q':
			a->quiet = 1;
			break;
		case 'T':
			a->trace = optarg;
			break;
		case 'C':
			a->conversation = 1;
			break;
		case 'W':
			a->record = optarg;
			break;
		case 'H':
			a->history = optarg;
			break;
		case 'G':
			if (parse_progress(optarg, &a->progress))
				return usage_error(
				    "--progress takes auto, tty, plain, json or none");
			break;
		default:
			return usage_error(cli_bad_option(c, argv, opts, bad, sizeof(bad)));
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("expected GRAPH [CALLS]");
	/* "-" is stdin for CALLS; as an output it would share stdout with the results */
	if ((a->report && strcmp(a->report, "-") == 0) || (a->trace && strcmp(a->trace, "-") == 0))
		return usage_error("--report and --trace take a file name ('-' is not stdout here: "
		                   "the results are)");
	a->graph = argv[optind];
	a->calls = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (a->conversation && !a->calls)
		return usage_error("--conversation needs CALLS (a file or '-') holding a "
		                   "conversation");
	return 0;
}

/*
 * Test hook: TD_TEST_DRIVE_FAIL=step|stall makes drive() see td_run_step() fail with EIO on
 * its second turn, or td_run_timeout() report a stall on its first, as no real run can be
 * made to on demand.
 */
static int injected(const char *what, int turn)
{
	const char *v = getenv("TD_TEST_DRIVE_FAIL");

	return v && !strcmp(v, what) && turn == (strcmp(what, "step") ? 1 : 2);
}

/* The run's own timeout, shortened so a status line keeps moving; TD_ESTATE: stalled. */
static int poll_ms(const struct td_run *run, const struct progress *pg, int turn)
{
	int t = injected("stall", turn) ? TD_ESTATE : td_run_timeout(run);
	int cap = progress_poll_ms(pg);

	if (t < -1)
		return t;
	return cap >= 0 && (t < 0 || t > cap) ? cap : t;
}

/* The loop could not go on: say why (the results of a broken run are not printed). */
static int loop_failed(struct progress *pg, const char *what, int err)
{
	progress_clear(pg);
	if (err == TD_ESTATE)
		cli_error("the run stalled: calls remain but nothing can finish them");
	else
		cli_error("the run failed: %s: %s", what, td_strerror(err));
	return -1;
}

/*
 * CALLS when it is a streamed response: read through the poll loop as it arrives, a piece at
 * a time (the run keeps what it needs of each call, within its bounds), and fed to the run,
 * whose calls start while the stream goes on.
 */
struct input {
	int fd;
	const char *name;
	char head[64]; /* what was read to recognise the stream */
	size_t len;
	int ended, incomplete;
};

/* The stream ended (or cannot be read on): the run gets its final plan; what was wrong with
 * the stream is said now, and makes the exit code 2 once the complete calls ran. */
static int end_input(struct td_run *run, struct input *in, struct progress *pg)
{
	struct td_diag diag = {0};
	int r = td_run_feed_end(run, &diag);

	in->ended = 1;
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	progress_clear(pg);
	cli_print_diag(&diag);
	td_diag_clear(&diag);
	if (r == TD_EBATCH)
		in->incomplete = 1;
	else if (r < 0)
		return loop_failed(pg, "td_run_feed_end", r);
	return 0;
}

static int feed(struct td_run *run, struct input *in, struct progress *pg)
{
	static char buf[1 << 16];
	ssize_t n = read(in->fd, buf, sizeof(buf));
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0) {
		progress_clear(pg);
		cli_error("cannot read '%s': %s", in->name, strerror(errno));
		in->incomplete = 1;
	}
	if (n <= 0)
		return end_input(run, in, pg);
	r = td_run_feed(run, buf, (size_t)n);
	if (r == TD_EBATCH) /* unreadable: the end says why */
		return end_input(run, in, pg);
	return r < 0 ? loop_failed(pg, "td_run_feed", r) : 0;
}

/* Drives the run to completion; returns 1 if it was interrupted by a signal, -1 (said on
 * stderr) if the loop failed. With --progress=json stderr carries JSON lines only: the
 * cancelled calls' events say it there. in: a stream to feed the run with, or NULL. */
static int drive(struct td_run *run, int sfd, struct progress *pg, int say, struct input *in)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	int interrupted = 0, turn = 0, r, ms;

	for (;;) {
		turn++;
		r = injected("step", turn) ? -EIO : td_run_step(run);
		if (r == 0)
			break;
		if (r < 0)
			return loop_failed(pg, "td_run_step", r);
		ms = poll_ms(run, pg, turn);
		if (ms < -1)
			return loop_failed(pg, "td_run_timeout", ms);
		pfd[0] = (struct pollfd){.fd = td_run_fd(run), .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = in && !in->ended ? in->fd : -1, .events = POLLIN};
		if (poll(pfd, 3, ms) < 0 && errno != EINTR)
			return loop_failed(pg, "poll", -errno);
		progress_tick(pg, run);
		if ((pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) && feed(run, in, pg) < 0)
			return -1;
		if (!(pfd[1].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (interrupted) {
			/* second signal: kill and reap everything, then leave at once */
			td_run_free(run);
			if (say)
				fprintf(stderr, "tooldag: interrupted twice, exiting\n");
			fflush(stderr); /* buffered with --progress=plain|json */
			_exit(EXIT_INTERRUPTED);
		}
		interrupted = 1;
		progress_clear(pg);
		if (say)
			fprintf(stderr, "tooldag: %s, cancelling the run\n",
			        strsignal((int)si.ssi_signo));
		td_run_cancel(run);
		if (in && !in->ended && end_input(run, in, pg) < 0) /* no more calls come */
			return -1;
	}
	return interrupted;
}

/* Writes the report to f (opened by watch_start) and closes it. */
static int write_report(const struct td_run *run, FILE *f, const char *path)
{
	char *json;
	int ok;

	if (td_run_report_json(run, 1, &json) < 0) {
		fclose(f);
		cli_error("cannot build the report: out of memory");
		return EXIT_RUNTIME;
	}
	ok = fputs(json, f) != EOF && fputc('\n', f) != EOF;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		cli_error("cannot write the report to '%s': %s", path, strerror(errno));
	free(json);
	return ok ? EXIT_OK : EXIT_RUNTIME;
}

static int any_error(const struct td_run *run, size_t n)
{
	struct td_result res;
	size_t i;

	for (i = 0; i < n; i++)
		if (td_run_result(run, i, &res) == 0 && res.is_error)
			return 1;
	return 0;
}

/* The trace file, opened without truncating it: a 100,000-call trace is ~15 MB, and truncating
 * the last run's file frees all of its pages inside the run (10 ms here on ext4, which also
 * forces the new file's writeback on close), while overwriting them costs a copy. watch_end()
 * cuts the file to what this run wrote. Unbuffered: the writer hands over 256 KiB blocks. */
static FILE *trace_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IONBF, 0);
	return f;
}

/* Cuts a regular file at the end of what was written (a pipe or a device has no end to cut). */
static int trace_close(FILE *f)
{
	struct stat st;
	off_t end;
	int ok = fflush(f) == 0 && !ferror(f);

	if (ok && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
		end = ftello(f);
		ok = end >= 0 && ftruncate(fileno(f), end) == 0;
	}
	if (fclose(f) != 0)
		ok = 0;
	return ok;
}

static int watch_start(struct td_run *run, const struct cli_job *job, const struct run_args *a,
                       struct watch *w)
{
	memset(w, 0, sizeof(*w));
	if (a->report && !(w->report = fopen(a->report, "we"))) {
		cli_error("cannot write the report to '%s': %s", a->report, strerror(errno));
		return EXIT_RUNTIME;
	}
	if (a->trace) {
		w->trace = trace_open(a->trace);
		if (!w->trace) {
			cli_error("cannot write the trace to '%s': %s", a->trace, strerror(errno));
			return EXIT_RUNTIME;
		}
		if (td_run_trace(run, w->trace) < 0) {
			cli_error("cannot set up the trace: out of memory");
			return EXIT_RUNTIME;
		}
	}
	(void)job;
	if (progress_attach(run, td_run_plan(run), a->quiet ? PROGRESS_NONE : a->progress, stderr,
	                    &w->progress) < 0 ||
	    (!a->quiet && a->progress != PROGRESS_JSON &&
	     failures_attach(run, td_batch_count(td_run_batch(run)), &w->failures) < 0)) {
		cli_error("cannot set up the progress display: out of memory");
		return EXIT_RUNTIME;
	}
	return 0;
}

/* After td_run_free(): the trace is complete only then. */
static int watch_end(struct watch *w, const struct run_args *a)
{
	const char *trace_path = a->trace;
	int ok = 1;

	progress_free(w->progress);
	failures_free(w->failures);
	if (w->report) { /* the run did not get as far as writing it: no empty report left */
		fclose(w->report);
		unlink(a->report);
	}
	if (w->trace) {
		ok = trace_close(w->trace);
		if (!ok)
			cli_error("cannot write the trace to '%s': %s", trace_path,
			          strerror(errno));
	}
	return ok ? EXIT_OK : EXIT_RUNTIME;
}

/* The conversation with the results appended: the next request of an agent loop. */
static int write_conversation(const struct cli_job *job, const char *results)
{
	struct td_diag diag = {0};
	char *next;
	int r;

	if (td_conversation_append(job->calls_text, job->calls_len, results, strlen(results), &next,
	                           &diag) < 0) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		/* the calls ran: their results still reach stdout */
		return cli_write_stdout(results) ? EXIT_RUNTIME : EXIT_INVALID;
	}
	r = cli_write_stdout(next);
	free(next);
	return r;
}

static int run_plan(struct cli_job *job, struct run_args *a, int sfd, struct input *in)
{
	struct td_diag diag = {0};
	const struct td_batch *batch;
	struct td_run *run;
	struct watch w;
	int interrupted, r, r2;
	char *out;

	if ((in ? td_run_new_stream(job->graph, a->dialect, in->name, &a->opts, &run, &diag)
	        : td_run_new(job->plan, &a->opts, &run, &diag)) < 0) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		return EXIT_RUNTIME;
	}
	if (td_run_loop_why(run) && !a->quiet && a->progress != PROGRESS_JSON)
		cli_error("%s: running on epoll", td_run_loop_why(run));
	/* from here every path frees the run, which writes its recording line once it started */
	r = watch_start(run, job, a, &w);
	if (r) {
		td_run_free(run);
		watch_end(&w, a);
		return r;
	}
	interrupted = in && td_run_feed(run, in->head, in->len) == TD_ENOMEM ? -1 : 0;
	if (!interrupted)
		interrupted =
		    drive(run, sfd, w.progress, a->quiet || a->progress != PROGRESS_JSON, in);
	progress_clear(w.progress);
	if (interrupted < 0) {
		td_run_free(run);
		watch_end(&w, a);
		return EXIT_RUNTIME;
	}
	/* the graph's own calls came in no dialect: --dialect says which to answer in */
	batch = td_run_batch(run);
	if (in && !td_batch_count(batch)) { /* no call was complete: nothing ran, said already */
		td_run_free(run);
		r = watch_end(&w, a);
		return interrupted ? EXIT_INTERRUPTED : r ? r : EXIT_INVALID;
	}
	if (td_run_results_json(
	        run, a->calls || !td_graph_has_calls(job->graph) ? TD_DIALECT_AUTO : a->dialect,
	        a->pretty, &out) < 0) {
		cli_error("cannot encode the results: out of memory");
		td_run_free(run);
		watch_end(&w, a);
		return EXIT_RUNTIME;
	}
	if (a->conversation)
		r = write_conversation(job, out);
	else
		r = cli_write_stdout(out);
	free(out);
	failures_print(w.failures, run, batch, stderr);
	r2 = EXIT_OK;
	if (w.report) {
		r2 = write_report(run, w.report, a->report);
		w.report = NULL;
	}
	if (!r)
		r = r2;
	if (!r && interrupted)
		r = EXIT_INTERRUPTED;
	if (!r && (job->incomplete || (in && in->incomplete)))
		r = EXIT_INVALID; /* the complete calls ran; the stream itself was not whole */
	if (!r && a->fail_on_error && any_error(run, td_batch_count(batch)))
		r = EXIT_CALL_ERRORS;
	td_run_free(run);
	r2 = watch_end(&w, a);
	return r ? r : r2;
}

/* --history FILE, or FILE.durations next to --record FILE when FILE is a regular file (not
 * /dev/stdout.durations, nor one next to a pipe); read before the run. */
static int history_open(struct run_args *a)
{
	struct td_diag diag = {0};
	struct stat st;
	char *path = NULL;
	int err;

	if (!a->history && a->record && (stat(a->record, &st) < 0 || !S_ISREG(st.st_mode)))
		return 0; /* record_open() made the file if it was missing */
	if (!a->history && (!a->record || asprintf(&path, "%s.durations", a->record) < 0))
		return a->record ? EXIT_RUNTIME : 0;
	err = td_history_open(a->history ? a->history : path, &a->opts.history, &diag);
	free(path);
	if (err < 0) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		return err == TD_ESYNTAX ? EXIT_INVALID : EXIT_RUNTIME;
	}
	return 0;
}

/* --record FILE: opened before the run, so a bad path fails before any tool runs. */
static int record_open(struct run_args *a)
{
	struct td_diag diag = {0};

	if (a->record && td_recorder_open(a->record, &a->opts.record, &diag) < 0) {
		cli_print_diag(&diag);
		td_diag_clear(&diag);
		return EXIT_RUNTIME;
	}
	return history_open(a);
}

/* After the run was freed (its line written): r, or EXIT_RUNTIME if the line was lost. */
static int record_close(struct run_args *a, int r)
{
	int err = a->opts.record ? td_recorder_error(a->opts.record) : 0;

	if (err) {
		cli_error("cannot write the recording to '%s': %s", a->record, td_strerror(err));
		if (!r)
			r = EXIT_RUNTIME;
	}
	td_recorder_free(a->opts.record);
	a->opts.record = NULL;
	err = a->opts.history ? td_history_error(a->opts.history) : 0;
	if (err) {
		cli_error("cannot update the durations: %s", td_strerror(err));
		if (!r)
			r = EXIT_RUNTIME;
	}
	td_history_free(a->opts.history);
	a->opts.history = NULL;
	return r;
}

/*
 * Whether CALLS is a streamed response: 1 with the graph loaded into job and the input open in
 * *in (its first bytes read), 0 when it is not (a JSON document or the graph's own calls:
 * what was read of stdin is handed back for cli_load_plan()), -1 when the graph was refused
 * (said). Reads until it has enough to tell, like any reader of the input would.
 */
static int open_stream(const struct run_args *a, struct cli_job *job, struct input *in)
{
	const char *path = a->calls ? a->calls : "-";
	struct stat st;
	ssize_t n;

	int r;

	if ((r = cli_load_graph(a->graph, 0, &job->graph)))
		return -r;
	if ((!a->calls && (td_graph_has_calls(job->graph) || isatty(STDIN_FILENO))))
		return 0;
	memset(in, 0, sizeof(*in));
	in->name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	in->fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0) /* cli_load_plan() says why */
		return 0;
	if (fstat(in->fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		close(in->fd);
		return 0;
	}
	while (in->len < 16 &&
	       ((n = read(in->fd, in->head + in->len, sizeof(in->head) - in->len)) > 0 ||
	        (n < 0 && errno == EINTR)))
		in->len += n > 0 ? (size_t)n : 0;
	if (td_stream_detect(in->head, in->len))
		return 1;
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	return in->fd == STDIN_FILENO && cli_unread_stdin(in->head, in->len) < 0 ? -EXIT_RUNTIME
	                                                                         : 0;
}

/*
 * Adds sig to the signals that cancel the run, unless it is ignored: under nohup (SIGHUP) or
 * as a background job of a script (SIGINT) it was meant not to reach us, and a blocked signal
 * would still be queued for the signalfd even though ignored.
 */
static void listen_for(sigset_t *mask, int sig)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
		return;
	sigaddset(mask, sig);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {0};
	struct cli_job job;
	struct input in, *stream;
	sigset_t mask, old;
	int r, sfd, strays = 0;
	unsigned killed;

	r = parse_args(argc, argv, &a);
	if (r)
		return r < 0 ? EXIT_OK : r;
	a.opts.die_with_host = 1; /* a killed `run` leaves no tool running */
	memset(&job, 0, sizeof(job));
	r = a.conversation ? 0 : open_stream(&a, &job, &in);
	if (r < 0) {
		cli_job_free(&job);
		return -r;
	}
	if (!r) {
		cli_job_free(&job);
		r = a.conversation ? cli_load_plan_keep(a.graph, 0, a.calls, a.dialect, &job)
		                   : cli_load_plan(a.graph, 0, a.calls, a.dialect, &job);
		if (r)
			return r;
	}
	stream = r == 1 ? &in : NULL;
	/* before anything runs: there would be no conversation to append the results to */
	if (a.conversation && !td_batch_conversation_length(job.batch)) {
		cli_error("--conversation: %s holds calls, not a conversation (a messages or input "
		          "list, or a request body holding one)",
		          strcmp(a.calls, "-") == 0 ? "standard input" : a.calls);
		cli_job_free(&job);
		return EXIT_INVALID;
	}
	/* Signals become readable events; children get an empty mask from the library. */
	sigemptyset(&mask);
	listen_for(&mask, SIGINT);
	listen_for(&mask, SIGTERM);
	listen_for(&mask, SIGHUP); /* the terminal closed: its tools' groups would not hear it */
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		cli_error("signalfd: %s", strerror(errno));
		r = EXIT_RUNTIME;
	} else {
		strays = strays_adopt() == 0;
		r = record_open(&a);
		if (!r)
			r = run_plan(&job, &a, sfd, stream);
		r = record_close(&a, r);
		close(sfd);
	}
	/* stderr is JSON lines with --progress=json */
	if (strays && (killed = strays_kill()) && !a.quiet && a.progress != PROGRESS_JSON)
		cli_error("killed %u process%s that tools left running outside their call's "
		          "process group",
		          killed, killed == 1 ? "" : "es");
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (stream && !in.ended && in.fd != STDIN_FILENO)
		close(in.fd);
	cli_job_free(&job);
	return r;
}
