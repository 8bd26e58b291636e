/* SPDX-License-Identifier: MIT */
/*
 * tooldag/record.h - recordings of runs and learned durations.
 *
 * Part of the public API: include <tooldag.h>, which includes this file.
 */
#ifndef TOOLDAG_RECORD_H
#define TOOLDAG_RECORD_H

#ifndef TOOLDAG_H
#error "include <tooldag.h>, not this file"
#endif

/* ---------------------------------------------------------------------------------------- */
/* Recordings: one JSON line per run, replayed without running anything
 *
 *   1. td_recorder_open() opens (creates) a recording file for appending; set
 *      td_run_opts.record to it for every run to record (runs on several threads may share
 *      one recorder, and several processes one file).
 *   2. When a run finishes (or is freed before it did) its line is appended (O_APPEND) under
 *      flock() on the file, in writes of 256 KiB, so lines of concurrent runs never interleave;
 *      a process killed mid-line leaves a torn last line, which readers ignore and the next
 *      writer cuts away before appending its own.
 *   3. td_recorder_error() says whether a line could not be written; td_recorder_free().
 *   4. td_recording_open() reads a file back; td_recording_results_json() gives a recorded
 *      batch's results, byte for byte what td_run_results_json() gave the run;
 *      td_recording_batch() rebuilds its calls against a graph to run them again.
 *
 * The line's format (version 1) is a stable interface, described in README.md. Tool
 * definitions are not recorded (a hash stands for them): HTTP urls and headers, and the
 * ${NAME} values in them, never reach the file. Result contents are recorded as the run
 * holds them, already bounded by each tool's max_output.
 */
TD_API int td_recorder_open(const char *path, struct td_recorder **out, struct td_diag *diag);
/* The first error writing a line (-errno, TD_ENOMEM), or 0. Any thread. */
TD_API int td_recorder_error(const struct td_recorder *rec);
/* Closes the file. Every run using rec must have been freed. */
TD_API void td_recorder_free(struct td_recorder *rec);

struct td_recording;
/*
 * Reads a recording. Returns the number of batches (runs) in it. A last line without its
 * newline that does not parse (a writer killed mid-write) is ignored: td_recording_torn()
 * gives its line number. Any other bad line is TD_ESYNTAX with file:line in diag.
 */
TD_API int td_recording_open(const char *path, struct td_recording **out, struct td_diag *diag);
TD_API void td_recording_free(struct td_recording *rec);
TD_API size_t td_recording_count(const struct td_recording *rec);
/* The line number of the torn last line that was ignored, or 0. */
TD_API unsigned td_recording_torn(const struct td_recording *rec);
/* Batch i's graph path as recorded, and its dialect. NULL / TD_DIALECT_AUTO out of range. */
TD_API const char *td_recording_graph(const struct td_recording *rec, size_t batch);
TD_API enum td_dialect td_recording_dialect(const struct td_recording *rec, size_t batch);
/* Whether graph's tools are those batch i was recorded against (its "tools_hash": each tool's
 * non-secret definition, and an MCP tool's server command, env, cwd and url as written): 1
 * the same, 0 changed, TD_ENOTFOUND for a line without the hash, TD_EINVAL out of range. */
TD_API int td_recording_same_tools(const struct td_recording *rec, size_t batch,
                                   const struct td_graph *graph);
/* Batch i's results in `dialect` (AUTO: the recorded one). *out is the caller's to free(). */
TD_API int td_recording_results_json(const struct td_recording *rec, size_t batch,
                                     enum td_dialect dialect, int pretty, char **out);
/* One recorded call (strings owned by rec). */
struct td_recorded_call {
	const char *id;
	const char *tool;
	enum td_status status;
	const char *content; /* content_len bytes, may hold NUL bytes */
	size_t content_len;
};
TD_API size_t td_recording_call_count(const struct td_recording *rec, size_t batch);
TD_API int td_recording_call(const struct td_recording *rec, size_t batch, size_t call,
                             struct td_recorded_call *out);
/* One attempt of a recorded call: how it ended and when it ran, in microseconds from the
 * run's start (end_us -1: it was still running when the line was written). */
struct td_recorded_attempt {
	enum td_status status;
	int64_t start_us, end_us;
};
/* A recorded call's number of attempts (0: it never ran). TD_EINVAL out of range, TD_ESYNTAX
 * when the line's attempts are not an array. */
TD_API int td_recording_attempt_count(const struct td_recording *rec, size_t batch, size_t call);
/* Attempt k (0 first) of a recorded call. TD_EINVAL out of range, TD_ESYNTAX when it lacks
 * its status or times. */
TD_API int td_recording_attempt(const struct td_recording *rec, size_t batch, size_t call, size_t k,
                                struct td_recorded_attempt *out);
/* Batch i's calls (ids, tools, inputs, explicit depends_on) as a new batch of `graph`, in the
 * recorded dialect; the caller frees it. TD_EINVAL out of range. */
TD_API int td_recording_batch(const struct td_recording *rec, size_t batch,
                              const struct td_graph *graph, struct td_batch **out,
                              struct td_diag *diag);

/*
 * Learned durations. A history file holds, per tool, an exponentially weighted mean and the
 * 95th percentile of its recent call durations (bounded: 1,024 tools, 64 durations each), and
 * the same per tool and input (4,096 inputs, 16 durations each). td_history_open() reads it (a
 * file that does not exist yet is an empty history); with td_run_opts.history set, a level or
 * critical run weighs each call by its input's mean, or its tool's (a tool without history
 * weighs the median of the others, or 1 ms), and every run merges its calls' durations (the
 * last attempt of each call that ended ok) into the file when it finishes: under flock() on
 * "FILE.lock", through "FILE.tmp.PID" renamed over FILE, so concurrent runs, in threads or
 * processes, lose no update. TD_ESYNTAX (with file:line) for a file that is not a history.
 */
struct td_duration {
	uint64_t count;  /* durations learned so far */
	int64_t ewma_us; /* exponentially weighted mean (a new duration weighs 1/4) */
	int64_t p95_us;  /* 95th percentile of the recent durations */
};
TD_API int td_history_open(const char *path, struct td_history **out, struct td_diag *diag);
/* A tool's learned duration as of the last update this process made or read: 0, or
 * TD_ENOTFOUND. Any thread. */
TD_API int td_history_estimate(struct td_history *h, const char *tool, struct td_duration *out);
/* The first error updating the file (-errno, TD_ENOMEM, TD_ESYNTAX), or 0. Any thread. */
TD_API int td_history_error(struct td_history *h);
/* Every run using h must have been freed. */
TD_API void td_history_free(struct td_history *h);

#endif /* TOOLDAG_RECORD_H */
