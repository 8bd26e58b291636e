/* SPDX-License-Identifier: MIT */
/* cli.h - shared pieces of the tooldag command (a client of include/tooldag.h only). */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "tooldag.h"

/* Exit codes, documented in the README. */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,       /* bad command line */
	EXIT_INVALID = 2,     /* invalid graph or batch, or an input that cannot be read */
	EXIT_CALL_ERRORS = 3, /* run --fail-on-error and some call ended in error */
	EXIT_RUNTIME = 4,     /* the run could not be set up (io_uring refused, out of memory) */
	EXIT_INTERRUPTED = 130,
};

#define CLI_MAX_INPUT (256u << 20) /* largest CALLS input read */

/* Bytes of the UTF-8 character at s (at most len), or 0 when it is invalid or a C1 control. */
size_t cli_utf8_char(const unsigned char *s, size_t len);
/*
 * s made safe for a terminal or a line-oriented log: control characters (C0, DEL, C1) as \n,
 * \r, \t or \xHH, bytes that are not UTF-8 as \xHH, so a model-chosen id cannot start a line
 * of its own or steer the terminal. Returns s itself when it is plain printable ASCII (nearly
 * always), else buf (len >= 16), cut with "..." to fit.
 */
#define CLI_TEXT_MAX 512
const char *cli_text(const char *s, char *buf, size_t len);
/* Prints every diagnostic as "file:line:col: message" (or "tooldag: message"). */
void cli_print_diag(const struct td_diag *diag);
/*
 * What getopt_long (opterr 0, optstring starting with ':') refused, for a usage error:
 * "unknown option '--bogus'", "option '-j' needs a value". c is what it returned.
 */
struct option;
const char *cli_bad_option(int c, char **argv, const struct option *opts, char *buf, size_t len);
/* optarg as a whole decimal number from min to max: 0 with *out, or -1 (empty, a sign or
 * text around it, out of range), for the option's usage error. */
int cli_parse_number(const char *s, long min, long max, long *out);
/* "tooldag: " + printf message + newline, on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a whole file ("-": stdin) up to CLI_MAX_INPUT; prints its own error. */
int cli_read_input(const char *path, char **buf, size_t *len);
/* Bytes already read from stdin (copied), which cli_read_input("-") returns first. 0 or -1. */
int cli_unread_stdin(const char *s, size_t len);
/* Writes s and a newline to stdout; returns EXIT_RUNTIME if stdout fails (closed pipe, full disk).
 */
int cli_write_stdout(const char *s);
/* What an encoder made (read through out only after the encoder ran): rc < 0 (it failed:
 * *out is not set) is "out of memory" and EXIT_RUNTIME, else *out is written as
 * cli_write_stdout() does and freed. */
int cli_print_encoded(int rc, char **out);

/* Loads a graph file, printing what is wrong with it; EXIT_OK, EXIT_INVALID, or EXIT_USAGE for
 * "-" (standard input is for CALLS). */
int cli_load_graph(const char *path, unsigned flags, struct td_graph **g);
/*
 * Loads GRAPH and the batch (CALLS file, "-", the graph's own calls:, or stdin when it is not a
 * terminal) and plans it. On failure prints the diagnostics and returns an exit code; on
 * success fills the three objects and returns 0.
 */
struct cli_job {
	struct td_graph *graph;
	struct td_batch *batch;
	struct td_plan *plan;
	char *calls_text; /* cli_load_plan_keep(): the CALLS text as read, NUL-terminated */
	size_t calls_len;
	int incomplete; /* CALLS was a stream cut off or ended by an error: exit 2 after the run */
};
int cli_load_plan(const char *graph_path, unsigned flags, const char *calls_path,
                  enum td_dialect dialect, struct cli_job *job);
/* The same, keeping the CALLS text in the job (to append the results to a conversation). */
int cli_load_plan_keep(const char *graph_path, unsigned flags, const char *calls_path,
                       enum td_dialect dialect, struct cli_job *job);
void cli_job_free(struct cli_job *job);

/* progress.c: what `run` shows on stderr while it runs (an observer of the run's events). */
enum progress_mode {
	PROGRESS_AUTO = 0, /* TTY when the stream is a terminal, else NONE */
	PROGRESS_NONE,
	PROGRESS_TTY,   /* one status line, overprinted */
	PROGRESS_PLAIN, /* one text line per event */
	PROGRESS_JSON,  /* one JSON object per line per event */
};
struct progress;
/* Attaches to run (before it starts); *out is NULL when the mode shows nothing. 0 or -1. */
int progress_attach(struct td_run *run, const struct td_plan *plan, enum progress_mode mode,
                    FILE *f, struct progress **out);
/* How long the poll loop may sleep so the status line keeps moving (ms), -1: no limit. */
int progress_poll_ms(const struct progress *p);
/* After each step: redraws the status line if it is due (the running call's clock moves),
 * or writes out the step's event lines (buffered until then). */
void progress_tick(struct progress *p, const struct td_run *run);
/* Erases the status line before something else is written to its stream. */
void progress_clear(struct progress *p);
void progress_free(struct progress *p);

/* failures.c: the FAILED: summary at the end of `run`. */
struct failures;
int failures_attach(struct td_run *run, size_t ncalls, struct failures **out);
void failures_print(const struct failures *fl, const struct td_run *run,
                    const struct td_batch *batch, FILE *f);
void failures_free(struct failures *fl);

/* strays.c: descendants that left their call's process group, handed to us when their parent
 * exits (strays_adopt: PR_SET_CHILD_SUBREAPER) and killed and reaped after the run; returns
 * how many were still running. */
int strays_adopt(void);
unsigned strays_kill(void);

int cmd_check(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_tools(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_dot(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_worker(int argc, char **argv);

#endif /* TD_CLI_H */
