/* SPDX-License-Identifier: MIT */
/*
 * tooldag.h - run the tool calls of one model turn as a dependency graph.
 *
 * Usage, in order:
 *
 *   1. td_graph_load_file() (or td_graph_load_buffer()) reads a YAML graph file: the tools,
 *      their limits and their tool-level `depends_on` edges.
 *   2. td_batch_decode() reads the calls the model emitted (Anthropic, OpenAI Chat or OpenAI
 *      Responses JSON); td_batch_from_graph() takes the graph's own `calls:` instead;
 *      td_batch_new() + td_batch_add() + td_batch_depend() build one by hand.
 *   3. td_plan_new() levels the batch: level 0 has no dependencies, level k+1 depends only on
 *      levels <= k. Call-level problems (unknown tool, bad arguments, schema violations) are
 *      per-call errors, never a failed plan.
 *   4. td_run_new() + td_run_wait() (or td_run_fd()/td_run_timeout()/td_run_step() from the
 *      host's own loop) execute the plan; td_run_results_json() encodes one result per call,
 *      in call order, in the dialect the calls came in.
 *   5. td_run_free(), td_plan_free(), td_batch_free(), td_graph_free(), in that order: each
 *      object borrows the ones it was made from, which must outlive it.
 *
 * Conventions:
 *  - Functions returning int return 0 (or a count) on success and a negative TD_E* code on
 *    failure; system errors pass through as -errno (TD_ENOMEM is -ENOMEM).
 *  - Diagnostics go to an optional `struct td_diag *` (may be NULL); the library never prints,
 *    exits, or installs signal handlers.
 *  - Strings returned as `const char *` are owned by the object they came from and valid until
 *    it is freed. Strings returned through `char **` are the caller's: free() them.
 *  - Thread safety: distinct objects may be used from distinct threads; one object must not be
 *    used from two threads at once. A loaded graph, a decoded batch and a plan are read-only
 *    after creation and may be shared between threads for reading; so is a td_functions
 *    registry once runs use it. Runs share nothing mutable: several runs, each driven by its
 *    own thread, may run at once over one graph, plan or registry. The td_run_* functions
 *    are called from the thread driving the run (and not from inside an INLINE or ASYNC
 *    function on that run); td_fn_complete() and td_fn_call_cancelled() may be called from
 *    any thread.
 */
#ifndef TOOLDAG_H
#define TOOLDAG_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* FILE, for td_run_trace() */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TD_BUILDING_LIBRARY)
#define TD_API __attribute__((visibility("default")))
#else
#define TD_API
#endif

#define TD_VERSION_MAJOR  0
#define TD_VERSION_MINOR  1
#define TD_VERSION_PATCH  0
#define TD_VERSION_STRING "0.1.0"

/* The version of the library actually linked ("0.1.0"). */
TD_API const char *td_version(void);

/*
 * Error codes. System errors are -errno; these are tooldag's own, below -1000 so they never
 * collide. X(NAME, value, description).
 */
#define TD_ERRORS(X)                                                                               \
	X(TD_OK, 0, "success")                                                                     \
	X(TD_ENOMEM, -ENOMEM, "out of memory")                                                     \
	X(TD_EINVAL, -EINVAL, "invalid argument")                                                  \
	X(TD_ESYNTAX, -1001, "syntax error")                                                       \
	X(TD_EGRAPH, -1002, "invalid graph")                                                       \
	X(TD_EBATCH, -1003, "invalid call batch")                                                  \
	X(TD_ECYCLE, -1004, "dependency cycle")                                                    \
	X(TD_ETOOBIG, -1005, "input too large")                                                    \
	X(TD_ENOURING, -1006, "io_uring unavailable")                                              \
	X(TD_ESTATE, -1007, "operation not valid in this state")                                   \
	X(TD_ENOTFOUND, -1008, "not found")                                                        \
	X(TD_ECANCELED, -1009, "cancelled")                                                        \
	X(TD_EEXIST, -1010, "already exists")

enum td_error {
#define TD__ERR_ENUM(name, value, text) name = (value),
	TD_ERRORS(TD__ERR_ENUM)
#undef TD__ERR_ENUM
};

/* A static description of a TD_E* code or -errno ("invalid graph", "No such file..."). */
TD_API const char *td_strerror(int err);
/* The code's name ("TD_EGRAPH", "ENOENT"), or "unknown". */
TD_API const char *td_errname(int err);

/*
 * Diagnostics. A caller-owned plain struct: zero it, pass its address, read it, then
 * td_diag_clear() it. Every problem found is appended (up to `limit`, default 100; the rest
 * are counted in `dropped`), so one pass reports all the mistakes of a file.
 */
struct td_diag_item {
	int code;        /* TD_E* */
	unsigned line;   /* 1-based; 0 when the problem has no position */
	unsigned column; /* 1-based; 0 when unknown */
	char *file;      /* file name as given, or the buffer's name; may be NULL */
	char *message;   /* one line, no trailing newline, no "file:line:col: " prefix */
};

struct td_diag {
	int code; /* code of the first item, 0 if none */
	size_t count;
	size_t dropped;
	size_t limit; /* 0 means 100 */
	struct td_diag_item *items;
};

/* Releases the items; the struct is zeroed (limit kept) and may be reused. */
TD_API void td_diag_clear(struct td_diag *diag);
/*
 * Formats one item as "file:line:col: message" (parts left out when absent) into buf of size
 * len, always NUL-terminated. Returns the length it wanted, like snprintf.
 */
TD_API int td_diag_format(const struct td_diag_item *item, char *buf, size_t len);

/* ---------------------------------------------------------------------------------------- */
/* Graphs */

struct td_graph;

/*
 * Largest graph file accepted, in bytes (a 100 MB file is refused with TD_ETOOBIG before it
 * is read whole).
 */
#define TD_GRAPH_MAX_BYTES (16u << 20)

/*
 * Loads a graph file. On success *out is a new graph the caller frees with td_graph_free().
 * On failure *out is NULL, the return is TD_ESYNTAX, TD_EGRAPH, TD_ECYCLE, TD_ETOOBIG,
 * TD_EINVAL (not a regular file: a directory, FIFO, device or socket) or -errno (cannot open
 * or read), and diag (if not NULL) holds every problem found with its position.
 * Relative `run:` programs and `cwd:` resolve against the file's directory.
 */
TD_API int td_graph_load_file(const char *path, struct td_graph **out, struct td_diag *diag);

/*
 * The same from memory. `name` is used in diagnostics (may be NULL: "<buffer>"); `basedir`
 * is where relative paths resolve (NULL: the current directory). buf need not be
 * NUL-terminated and is not kept.
 */
TD_API int td_graph_load_buffer(const char *buf, size_t len, const char *name, const char *basedir,
                                struct td_graph **out, struct td_diag *diag);

/*
 * td_graph_load_file() with flags. TD_LOAD_KEEP_ENV leaves ${NAME} in `http:` urls and
 * headers as written instead of reading the environment, so an unset variable is no error:
 * for a graph that is only looked at (its tools' schemas, a plan, a drawing) where the
 * secrets are not at hand. Such a graph cannot run: td_run_new() refuses it (TD_EINVAL).
 */
#define TD_LOAD_KEEP_ENV 1u
TD_API int td_graph_load_file_flags(const char *path, unsigned flags, struct td_graph **out,
                                    struct td_diag *diag);

/*
 * TD_LOAD_NO_PIN: do not read the MCP pin file (for refreshing it: a tool that disappeared from
 * a server would otherwise make the graph unloadable). Without it, td_graph_load_file*() reads
 * td_graph_pin_path(path) when the graph declares `servers:` and the file exists: the schemas
 * and descriptions of the `mcp:` tools that do not write their own come from it, and a tool
 * the pinned server does not list is an error naming the tool.
 */
#define TD_LOAD_NO_PIN 2u

/*
 * The pin file of a graph file: next to it, its name without .yaml / .yml, then ".pin.json"
 * ("graphs/mcp.yaml" -> "graphs/mcp.pin.json"). A new string the caller free()s, or NULL.
 */
TD_API char *td_graph_pin_path(const char *graph_path);
/*
 * Starts every MCP server of the graph at once, asks each for its tools (tools/list, every
 * page), shuts them down and writes what they listed to `path` as JSON: {"servers": {NAME:
 * {"protocolVersion", "tools": [...]}}}. 0; TD_EGRAPH with one diagnostic per server that
 * could not be listed (the file is then not written); -errno if it cannot be written.
 */
TD_API int td_graph_pin(const struct td_graph *graph, const char *path, struct td_diag *diag);

TD_API void td_graph_free(struct td_graph *graph);

/* Number of tools, and a tool's name by index (declaration order), or NULL if out of range. */
TD_API size_t td_graph_tool_count(const struct td_graph *graph);
TD_API const char *td_graph_tool_name(const struct td_graph *graph, size_t index);
/* Index of a tool by name, or TD_ENOTFOUND. */
TD_API int td_graph_tool_find(const struct td_graph *graph, const char *name);
/* Whether the graph file declares its own `calls:` batch (1) or not (0). */
TD_API int td_graph_has_calls(const struct td_graph *graph);
/* Global concurrency: the file's `concurrency`, or TD_DEFAULT_CONCURRENCY. */
TD_API unsigned td_graph_concurrency(const struct td_graph *graph);
#define TD_DEFAULT_CONCURRENCY 16u

/* Call dialects. AUTO detects on decode; results are encoded in the detected dialect. */
enum td_dialect {
	TD_DIALECT_AUTO = 0,
	TD_DIALECT_ANTHROPIC, /* tool_use blocks / tool_result blocks */
	TD_DIALECT_OPENAI,    /* Chat Completions tool_calls / role:tool messages */
	TD_DIALECT_RESPONSES, /* Responses function_call / function_call_output items */
};

/* "anthropic", "openai", "responses" (and "auto"); and back (TD_EINVAL if unknown). */
TD_API const char *td_dialect_name(enum td_dialect dialect);
TD_API int td_dialect_parse(const char *name, enum td_dialect *out);

/*
 * Writes the graph's tools as the `tools` request parameter of the given dialect (AUTO means
 * Anthropic): [{"name","description","input_schema"}] for Anthropic,
 * [{"type":"function","function":{"name","description","parameters"}}] for OpenAI Chat,
 * [{"type":"function","name","description","parameters"}] for Responses.
 * *out is a new NUL-terminated string the caller free()s.
 */
TD_API int td_graph_tools_json(const struct td_graph *graph, enum td_dialect dialect, int pretty,
                               char **out);

/* ---------------------------------------------------------------------------------------- */
/* Call batches */

struct td_batch;

/* Largest call batch accepted by td_batch_decode(), in bytes (larger: TD_ETOOBIG). */
#define TD_BATCH_MAX_BYTES (256u << 20)

/*
 * Decodes a batch of calls from JSON (not necessarily NUL-terminated). `name` names the input
 * in diagnostics (NULL: "<calls>"). Batch-level errors (not JSON, no calls, duplicate ids,
 * depends_on naming an absent id) fail with TD_ESYNTAX or TD_EBATCH and a diagnostic; call-level
 * problems are recorded on the call (td_batch_call_error()) and decoding succeeds.
 * The batch borrows the graph.
 */
TD_API int td_batch_decode(const struct td_graph *graph, const char *json, size_t len,
                           enum td_dialect dialect, const char *name, struct td_batch **out,
                           struct td_diag *diag);

/* The graph's own `calls:`; TD_ENOTFOUND if it has none. Results use the Anthropic dialect. */
TD_API int td_batch_from_graph(const struct td_graph *graph, struct td_batch **out,
                               struct td_diag *diag);

/*
 * Builds a batch by hand (embedding programs, benchmarks). td_batch_add() copies id, tool and
 * input (a JSON text, NULL for {}), validates it like a decoded call and returns the new call's
 * index; td_batch_depend() adds an explicit edge "call depends on dep" between two indices.
 * Duplicate ids are TD_EBATCH; an empty id (or a NULL argument) is TD_EINVAL.
 */
TD_API int td_batch_new(const struct td_graph *graph, enum td_dialect dialect,
                        struct td_batch **out);
TD_API int td_batch_add(struct td_batch *batch, const char *id, const char *tool,
                        const char *input_json);
TD_API int td_batch_depend(struct td_batch *batch, size_t call, size_t dep);

TD_API void td_batch_free(struct td_batch *batch);

TD_API enum td_dialect td_batch_dialect(const struct td_batch *batch);
TD_API size_t td_batch_count(const struct td_batch *batch);
/* Per call, by index in batch order; NULL if out of range. */
TD_API const char *td_batch_call_id(const struct td_batch *batch, size_t index);
TD_API const char *td_batch_call_tool(const struct td_batch *batch, size_t index);
/* The input as compact JSON text ("{}" when absent or unparseable). */
TD_API const char *td_batch_call_input(const struct td_batch *batch, size_t index);
/* The call-level error message, or NULL when the call is fine. */
TD_API const char *td_batch_call_error(const struct td_batch *batch, size_t index);
/*
 * Where the call was written: 0 with its 1-based line and column in the graph file for the
 * graph's own calls (td_batch_from_graph), TD_ENOTFOUND when that is not known (JSON input,
 * added by hand, index out of range).
 */
TD_API int td_batch_call_position(const struct td_batch *batch, size_t index, unsigned *line,
                                  unsigned *column);

/*
 * Conversations. td_batch_decode() also accepts a whole conversation: a messages list
 * (Anthropic, OpenAI Chat), a Responses input list, or a request body holding one
 * ({"model": ..., "messages" | "input": [...]}). The batch is then the calls of the last
 * assistant turn that have no result later in the list (tool_result blocks, role "tool"
 * messages, function_call_output items); the calls already answered are left out and never
 * run, and a depends_on naming one of them is satisfied. A result answering an id that no
 * earlier message called is TD_EBATCH (a Responses body with previous_response_id excepted:
 * its calls are on the server), and so is a conversation with no call left to run.
 *
 * td_conversation_decode() is td_batch_decode() except for that last case: a conversation
 * whose last turn is all answered decodes to a batch of 0 calls (not to be planned), so the
 * caller can see what was answered. Returns the number of pending calls, or an error.
 */
TD_API int td_conversation_decode(const struct td_graph *graph, const char *json, size_t len,
                                  enum td_dialect dialect, const char *name, struct td_batch **out,
                                  struct td_diag *diag);
/* Messages (or Responses items) in the decoded conversation; 0 when the input was not one. */
TD_API size_t td_batch_conversation_length(const struct td_batch *batch);
/* A call of the last assistant turn that already has its result (strings owned by the batch). */
struct td_answered {
	const char *id;
	const char *tool; /* the name the model wrote; NULL if it gave none */
	size_t call_at;   /* 0-based index in the list of the message holding the call */
	size_t result_at; /* ... and of the one holding its first result */
};
TD_API size_t td_batch_answered_count(const struct td_batch *batch);
/* Fills *out for answered call i (0 <= i < count); TD_EINVAL when out of range. */
TD_API int td_batch_answered(const struct td_batch *batch, size_t i, struct td_answered *out);
/*
 * The next request of an agent loop: the conversation text as it was decoded (a list, or a
 * request body whose other members are kept byte for byte) with `results`
 * (td_run_results_json() in the same dialect) appended to its list in the dialect's own
 * shape: the Anthropic user message of tool_result blocks, the OpenAI role "tool" messages,
 * the Responses function_call_output items. *out is NUL-terminated, the caller free()s it.
 * TD_EINVAL (with a diagnostic) when the text is not a conversation.
 */
TD_API int td_conversation_append(const char *conversation, size_t len, const char *results,
                                  size_t results_len, char **out, struct td_diag *diag);

/*
 * Streamed responses. A model API's streamed response (Server-Sent Events: Anthropic
 * content_block_* events, Chat Completions chat.completion.chunk deltas, Responses
 * response.* events) is read as it arrives, bytes pushed by the host in any chunking:
 *
 *   1. td_stream_new(); td_stream_detect() tells a stream from a JSON document by its first
 *      bytes ("event:", "data:");
 *   2. td_stream_feed() with each piece as it arrives; it returns how many calls are complete
 *      so far (a call's input is kept to 16 MiB);
 *   3. td_stream_finish(): the batch of the complete calls, decoded exactly as the same calls
 *      given as one JSON document in the stream's dialect. 0 when the stream ended properly.
 *      TD_EBATCH when it did not (cut off, an API `error` event, an unreadable event): the
 *      diagnostics say why and name each call cut short, and *out still holds the calls that
 *      were complete (NULL when there were none);
 *   4. td_stream_free().
 */
struct td_stream;
TD_API int td_stream_detect(const char *bytes, size_t len);
TD_API int td_stream_new(enum td_dialect dialect, const char *name, struct td_stream **out);
TD_API int td_stream_feed(struct td_stream *stream, const char *bytes, size_t len);
TD_API int td_stream_finish(struct td_stream *stream, const struct td_graph *graph,
                            struct td_batch **out, struct td_diag *diag);
TD_API void td_stream_free(struct td_stream *stream);

/* ---------------------------------------------------------------------------------------- */
/* Plans */

struct td_plan;

/*
 * Levels a batch against its graph in O(calls + edges). A cycle among calls fails with
 * TD_ECYCLE and a diagnostic "dependency cycle: a (t1) -> b (t2) -> a (t1)". The plan borrows
 * the batch (and through it the graph).
 */
TD_API int td_plan_new(const struct td_batch *batch, struct td_plan **out, struct td_diag *diag);
TD_API void td_plan_free(struct td_plan *plan);

TD_API const struct td_batch *td_plan_batch(const struct td_plan *plan);
TD_API size_t td_plan_level_count(const struct td_plan *plan);
/* Calls of level k in batch order, excluding calls with a call-level error: *calls points into
 * the plan. Returns the count, or TD_EINVAL if k is out of range. */
TD_API int td_plan_level(const struct td_plan *plan, size_t k, const uint32_t **calls);
/* A call's level (also computed for calls with a call-level error), or TD_EINVAL. */
TD_API int td_plan_call_level(const struct td_plan *plan, size_t call);
/*
 * A call's direct dependencies, tool-level and explicit, as call indices in batch order without
 * duplicates, written to deps (up to cap). Returns the full count (which may exceed cap).
 */
TD_API int td_plan_call_deps(const struct td_plan *plan, size_t call, uint32_t *deps, size_t cap);

/* `tooldag plan --json`: {"levels":[[id..]..],"calls":[{"id","name","level","depends_on",
 * "error"?}..]}. *out is the caller's to free(). TD_ETOOBIG when the depends_on lists would
 * hold more than 2^24 ids in all: tool-level dependencies between many calls make them
 * quadratic (read those with td_plan_call_deps(), which counts without listing). */
TD_API int td_plan_json(const struct td_plan *plan, int pretty, char **out);

/* ---------------------------------------------------------------------------------------- */
/* Runs */

struct td_run;
struct td_functions;
struct td_recorder;
struct td_history;

enum td_schedule {
	TD_SCHEDULE_LEVEL = 0, /* level barrier: level k+1 starts when level k has finished */
	TD_SCHEDULE_EAGER,     /* dataflow: a call starts when its own dependencies finished */
	/* eager, but of the ready calls the one with the longest chain of dependents
	 * still to run (counted in calls) starts first; ties in batch order */
	TD_SCHEDULE_CRITICAL,
};

enum td_loop {
	TD_LOOP_AUTO = 0,
	TD_LOOP_URING,
	TD_LOOP_EPOLL,
};

struct td_run_opts {
	unsigned concurrency;      /* 0: the graph's */
	enum td_schedule schedule; /* default LEVEL */
	unsigned kill_grace_ms;    /* SIGTERM -> SIGKILL grace; 0: TD_DEFAULT_KILL_GRACE_MS;
	                            * TD_KILL_NOW: SIGKILL at once, no SIGTERM */
	uint64_t seed;             /* backoff jitter seed; 0: from the clock */
	/* The C functions behind `function:` tools (see "Function tools" below), borrowed: it
	 * must outlive the run. NULL: every function call ends in error "not registered". */
	const struct td_functions *functions;
	/* The event loop: io_uring where the kernel allows it, else epoll (AUTO; the environment
	 * variable TOOLDAG_BACKEND=uring|epoll stands for AUTO). URING where the kernel refuses
	 * it: td_run_new() fails with TD_ENOURING. */
	enum td_loop loop;
	/* Appends this run's recording (see "Recordings" below) when the run finishes; borrowed:
	 * it must outlive the run. NULL: nothing recorded. */
	struct td_recorder *record;
	/* Learned durations (see "Learned durations" below), borrowed: it must outlive the run.
	 * Under TD_SCHEDULE_CRITICAL and LEVEL they weigh each call by its input's or its tool's
	 * mean duration; the run's own durations are merged into the history's file when it
	 * finishes. NULL: none. */
	struct td_history *history;
	/* The embedder's pointer for this run (borrowed): td_run_userdata(), and from a function
	 * call td_fn_call_run_userdata(). */
	void *userdata;
	/* Runs the tools that have `remote:` here, like the others, instead of queueing their
	 * calls on Redis: what a worker does with the calls it takes (see td_worker_new()). */
	int remote_here;
	/* Each process tool's child is killed (SIGKILL) when the thread that started it exits,
	 * however it exits (kill -9 included): Linux's PR_SET_PDEATHSIG, set in the child before
	 * its exec. Only that child gets the signal, not the rest of its process group. Step the
	 * run on a thread that lives as long as the run. */
	int die_with_host;
};
#define TD_DEFAULT_KILL_GRACE_MS 2000u
#define TD_KILL_NOW              0xffffffffu

enum td_status {
	TD_STATUS_PENDING = 0,
	TD_STATUS_RUNNING,
	TD_STATUS_OK,
	TD_STATUS_ERROR,
	TD_STATUS_TIMEOUT,
	TD_STATUS_SKIPPED,
	TD_STATUS_CANCELLED,
};
/* "pending", "running", "ok", "error", "timeout", "skipped", "cancelled". */
TD_API const char *td_status_name(enum td_status status);

/* One call's outcome, valid until the run is freed. */
struct td_result {
	enum td_status status;
	int is_error;        /* status is not OK */
	const char *content; /* result text (tool output or error message), NUL-terminated */
	size_t content_len;  /* may contain NUL bytes from tool output */
	int exit_code;       /* -1 when not a process or killed by a signal */
	int signal;          /* terminating signal, 0 if none */
	unsigned attempts;   /* 0 when never started */
	int truncated;       /* output exceeded max_output */
	int64_t start_us;    /* first attempt start, from the run's start; -1 if never started */
	int64_t end_us;      /* last attempt end; -1 if never started */
	/* Of that time, how long its attempts waited for a worker after they started: blocking
	 * function tools, the pool was busy (the timeout runs from the end of that wait);
	 * `remote:` tools, on the Redis queue (the timeout includes it; td_run_result_worker()
	 * names the worker). */
	int64_t queue_us;
};

/*
 * Creates a run of a plan (borrowed) and sets up its event loop (opts->loop): an io_uring ring,
 * or epoll where the kernel refuses io_uring or lacks a feature tooldag needs. With
 * TD_LOOP_URING, TD_ENOURING when the kernel refuses io_uring: diag holds one line naming the
 * cause (kernel.io_uring_disabled, seccomp, RLIMIT_MEMLOCK, a missing feature). Tests can force
 * that path with TD_TEST_URING_FAIL=EPERM|ENOSYS|ENOMEM in the environment. Nothing starts until
 * td_run_step() or td_run_wait().
 */
TD_API int td_run_new(const struct td_plan *plan, const struct td_run_opts *opts,
                      struct td_run **out, struct td_diag *diag);
/*
 * A run fed by a streamed response while the model still writes it, for a host that owns its
 * HTTP client's socket and pushes the bytes as they arrive:
 *
 *   1. td_run_new_stream(): the run is created open, with no calls yet (graph and name are
 *      as for td_stream_new(); dialect AUTO detects it). Attach observers now, as usual.
 *   2. td_run_feed() with each piece of the stream, in any chunking, between steps of the
 *      run (td_run_fd()/td_run_timeout()/td_run_step(); td_run_wait() is TD_ESTATE while the
 *      stream goes on). Each call joins the run as soon as its block is complete (calls join
 *      in block order) and starts at once, within the limits, when nothing that may still
 *      arrive can precede it: its tool has no tool-level depends_on. Such a call is in level 0
 *      of the final plan whatever arrives, under every policy. Other calls wait for the end.
 *      Returns the number of calls that joined so far, TD_EBATCH once the stream cannot be
 *      read on (td_run_feed_end() says why), TD_ESTATE after td_run_feed_end().
 *   3. td_run_feed_end() when the stream ended (or the connection closed): the calls are
 *      decoded as one document, as td_stream_finish() does, planned, and the run carries on
 *      over that plan: level 1 starts only now, and once level 0 is complete. The results are
 *      exactly those of the same batch run from one JSON document, in call order. 0; or
 *      TD_EBATCH with diagnostics when the stream was cut off, ended in an API error event or
 *      was refused as a whole (a duplicate id): the complete calls still run, a cut call does
 *      not. A call that already started cannot be taken back: when the whole stream is
 *      refused only the calls that joined while it streamed run.
 *   4. Step the run to its end as usual; td_run_batch()/td_run_plan() give its calls.
 *
 * While the stream goes on the run's batch and plan grow: an observer that keeps per-call
 * state sizes it by td_batch_count(td_run_batch(run)) when an event names a call beyond it;
 * the level and run ends (LEVEL_FINISHED, RUN_FINISHED) come only after the stream's end.
 * The final plan is ranked as if no duration were known (td_run_opts.history still learns
 * the durations).
 */
TD_API int td_run_new_stream(const struct td_graph *graph, enum td_dialect dialect,
                             const char *name, const struct td_run_opts *opts, struct td_run **out,
                             struct td_diag *diag);
TD_API int td_run_feed(struct td_run *run, const char *bytes, size_t len);
TD_API int td_run_feed_end(struct td_run *run, struct td_diag *diag);
/* The run's batch and plan (owned by the run, or borrowed from the caller by td_run_new()); a
 * streamed run's grow until td_run_feed_end() and are final after it. */
TD_API const struct td_batch *td_run_batch(const struct td_run *run);
TD_API const struct td_plan *td_run_plan(const struct td_run *run);

/* The run's event loop: "io_uring" or "epoll". */
TD_API const char *td_run_loop(const struct td_run *run);
/* Why an AUTO run is on epoll, one line ("io_uring refused by the kernel (Operation not
 * permitted)", "io_uring lacks IORING_FEAT_EXT_ARG (...)"), or NULL when it runs on io_uring or
 * epoll was asked for. Owned by the run. */
TD_API const char *td_run_loop_why(const struct td_run *run);
/* 0 when this kernel lets a run use `loop` (URING or EPOLL), else its error with one diag line
 * saying why (what `tooldag --version` reports). Sets up and frees a loop: not for a hot path. */
TD_API int td_loop_check(enum td_loop loop, struct td_diag *diag);
/* Runs to completion (a loop over td_run_step): 0 when every call has a result and every
 * process is reaped, or a negative error from the ring. */
TD_API int td_run_wait(struct td_run *run);
/* A descriptor that becomes readable when td_run_step() has work; a hint, not a promise.
 * Owned by the run: poll it, never read or close it. */
TD_API int td_run_fd(const struct td_run *run);
/*
 * Milliseconds until the next deadline, rounded up (-1: none, 0: step now). -1 also once the
 * run is done: check td_run_step()'s result before waiting. TD_ESTATE when calls remain but
 * nothing could ever finish them (a backend lost a call): waiting would never end, and
 * td_run_wait() returns TD_ESTATE there too.
 */
TD_API int td_run_timeout(const struct td_run *run);
/*
 * Processes whatever is ready without blocking, then hands the ring what it queued. 1 while
 * calls remain (or processes are still being reaped), 0 when done, or a negative error.
 * Host loop: while (td_run_step(r) == 1) poll(td_run_fd(r), td_run_timeout(r)).
 */
TD_API int td_run_step(struct td_run *run);
/* Cancels every unfinished call: running process groups get SIGTERM, then SIGKILL after the
 * grace; every call without a result gets "cancelled". Keep stepping to reap. Idempotent. */
TD_API void td_run_cancel(struct td_run *run);
/*
 * Cancels one call (index in batch order): if running, its process group is killed (SIGTERM,
 * SIGKILL after the grace); either way its result becomes "cancelled" and its dependents see a
 * failed dependency. A call that already has its result keeps it. 0, or TD_EINVAL.
 */
TD_API int td_run_cancel_call(struct td_run *run, size_t call);
/* Frees the run; kills and reaps anything still running first (function, built-in and HTTP
 * calls end at once; processes get SIGKILL and are reaped). A run on a host leaves the host. */
TD_API void td_run_free(struct td_run *run);
/* td_run_opts.userdata (NULL without a run). Observers get the run: this is theirs too. */
TD_API void *td_run_userdata(const struct td_run *run);

/* Call `call`'s outcome (index in batch order): 0 once it has its result; TD_ESTATE while it
 * has none (out still says PENDING or RUNNING and since when, content ""); TD_EINVAL. */
TD_API int td_run_result(const struct td_run *run, size_t call, struct td_result *out);
/* Whole-run wall time in microseconds (so far, or final). */
TD_API int64_t td_run_makespan_us(const struct td_run *run);
/* One result per call, in call order, in `dialect` (AUTO: the batch's). Caller free()s.
 * TD_ESTATE while a call has no result yet (nothing is encoded for a pending call). */
TD_API int td_run_results_json(const struct td_run *run, enum td_dialect dialect, int pretty,
                               char **out);
/*
 * The result of one finished call as the dialect's own item, to stream results as they finish
 * (td_run_next_finished()): an Anthropic tool_result block, an OpenAI Chat tool message or a
 * Responses function_call_output item (AUTO: the batch's dialect). TD_ESTATE while the call
 * has no result yet, TD_EINVAL for a call out of range. Caller free()s.
 */
TD_API int td_run_result_json(const struct td_run *run, size_t call, enum td_dialect dialect,
                              char **out);
/* The index (batch order) of the call with this id, or TD_ENOTFOUND. */
TD_API int td_run_find(const struct td_run *run, const char *id);
/*
 * The run report: {"makespan_ms","schedule","concurrency","cancelled","calls":[{"id","name",
 * "level","status","attempts","start_ms","end_ms","exit_code"|"signal"+"signal_name",
 * "truncated","error"?,"attempts_detail":[{"status","start_ms","end_ms","exit_code"|"signal"}]
 * }]}, calls in call order, times in milliseconds from the run's start (monotonic clock, null
 * when never started). Caller free()s.
 */
TD_API int td_run_report_json(const struct td_run *run, int pretty, char **out);

/* ---------------------------------------------------------------------------------------- */
/* Hosts: many runs on one loop
 *
 * A host owns one event loop, one worker pool for blocking functions, one curl multi handle
 * (one connection cache), the MCP servers (one per declaration, up until td_host_free()) and
 * the limits of all its runs together. Runs made on it with
 * td_host_run_new() share all of that; the embedding program polls one descriptor with one
 * timeout and calls one step, whatever the number of runs:
 *   while (td_host_step(h) >= 0) poll(td_host_fd(h), td_host_timeout(h)) (retry on EINTR),
 * then per run td_run_next_finished()/td_run_result(), td_run_cancel*(), td_run_free().
 * td_run_new() is a run on a private host it owns; td_run_fd/timeout/step/wait of a run on a
 * host drive the whole host (its step returns the run's own 1/0, its timeout -1 once it is done).
 *
 * Limits compose: td_host_opts.concurrency caps the calls in flight of all runs, each run's own
 * concurrency caps that run, a tool's concurrency and rate are shared by the runs of one graph
 * (the same struct td_graph) on the host, unless the tool says `scope: run`. Fairness: while
 * the host has free slots, the runs with a startable call take turns, one start each per
 * round, each round beginning after the run served last: a run waits at most one start of
 * every other run per slot, however many calls those have. One thread drives a host (td_host_* and
 * every td_run_* of its runs); several hosts may run on several threads.
 */
struct td_host;
struct td_host_opts {
	enum td_loop loop;    /* as td_run_opts.loop (a run's own is ignored on a host) */
	unsigned concurrency; /* calls in flight of all runs together; 0: no cap of the host's */
	uint64_t fd_budget;   /* descriptors all runs' tools may hold; 0: RLIMIT_NOFILE's room */
	unsigned fn_workers;  /* blocking-function threads; 0: the first registry's setting */
};
/* 0, TD_ENOURING (loop URING refused: diag says why), TD_ENOMEM or a negative errno. */
TD_API int td_host_new(const struct td_host_opts *opts, struct td_host **out, struct td_diag *diag);
/* Frees every run still on the host (td_run_free), then the host. */
TD_API void td_host_free(struct td_host *host);
/* The one descriptor to poll (readable when td_host_step() has work; owned by the host). */
TD_API int td_host_fd(const struct td_host *host);
/* As td_run_timeout(), over all runs: ms until a step is due, 0 now, -1 nothing to wait for. */
TD_API int td_host_timeout(const struct td_host *host);
/* Steps every run: 1 while a run has calls left, 0 when none has, or a negative error. */
TD_API int td_host_step(struct td_host *host);
/* "io_uring" or "epoll". */
TD_API const char *td_host_loop(const struct td_host *host);
/* A run of plan on the host, as td_run_new(); it starts at the host's next step. */
TD_API int td_host_run_new(struct td_host *host, const struct td_plan *plan,
                           const struct td_run_opts *opts, struct td_run **out,
                           struct td_diag *diag);
/* A run fed by a streamed response on the host, as td_run_new_stream(): feed it with
 * td_run_feed() between the host's steps, end it with td_run_feed_end(). */
TD_API int td_host_run_new_stream(struct td_host *host, const struct td_graph *graph,
                                  enum td_dialect dialect, const char *name,
                                  const struct td_run_opts *opts, struct td_run **out,
                                  struct td_diag *diag);

/* ---------------------------------------------------------------------------------------- */
/* Embedding: streaming results, cancelling by id */

/*
 * The next call that finished since the last td_run_next_finished(), in the order calls
 * finished (each call exactly once over the run): its index in batch order, or TD_ENOTFOUND
 * when none is waiting now. Call it after td_run_step() to stream results to the model or a
 * UI as they come: while ((c = td_run_next_finished(r)) >= 0) td_run_result(r, c, &res).
 */
TD_API int td_run_next_finished(struct td_run *run);
/* td_run_cancel_call() by call id: 0, TD_ENOTFOUND (no such id) or TD_EINVAL. */
TD_API int td_run_cancel_id(struct td_run *run, const char *id);

/* ---------------------------------------------------------------------------------------- */
/* Function tools: `function: NAME` in a graph, implemented by the embedding program
 *
 *   1. td_functions_new(), then td_functions_add() for each NAME with a mode (below) and
 *      td_functions_set_workers() if blocking functions need more than 4 threads.
 *   2. Pass it as td_run_opts.functions to any number of runs (it is read-only once the first
 *      run is created, so runs on different threads may share it); free it after the runs.
 *   3. Each attempt of a call invokes fn(call, userdata); the function reads the call through
 *      td_fn_call_*() and ends it with td_fn_complete() exactly once.
 *
 * Why a registry and not the graph: a graph is read-only and shared between threads; the
 * registry carries the host's pointers and may differ between runs of one graph (tests, mocks).
 *
 * Input is JSON text (not a cJSON tree): the public header stays free of third-party types,
 * the host parses with whatever library it already has, and the text is what the model sent
 * (compact JSON, NUL-terminated). Upstream results reach a function the way they reach a
 * process: a tool with `stdin: envelope` gets td_fn_call_envelope(), the JSON document
 * {"id","name","input","upstream":[{"id","name","content","is_error"}]}.
 *
 * Timeouts, retries, concurrency and rate limits, dependency failures and cancellation are
 * the scheduler's and behave exactly as for process tools. A timed-out or cancelled call ends
 * at once (a function cannot be killed): td_fn_call_cancelled() turns true and whatever the
 * function completes later is ignored.
 */
enum td_fn_mode {
	/* Runs on the run's thread inside td_run_step() and must complete before it returns:
	 * for cheap in-memory tools. It must not block (it would stall every other call), and
	 * its timeout cannot fire (nothing else runs until it returns). */
	TD_FN_INLINE = 0,
	/* Runs on one of the run's worker threads (td_functions_set_workers(); created when the
	 * first blocking call starts) and must complete before it returns. The result reaches
	 * the run through an eventfd read on the ring. Its timeout runs from when a worker takes
	 * it (td_result.queue_us: the wait before). td_run_free() does not wait for it: it then
	 * finds td_fn_call_cancelled() true, its result is dropped, and its userdata must stay
	 * valid until it returns (the handle's id, tool and input are its own copies). */
	TD_FN_BLOCKING,
	/* Invoked like INLINE, but may return without completing: the host keeps the handle and
	 * calls td_fn_complete() later, from any thread. */
	TD_FN_ASYNC,
};

struct td_fn_call;
typedef void (*td_fn)(struct td_fn_call *call, void *userdata);

#define TD_DEFAULT_FN_WORKERS 4u

TD_API int td_functions_new(struct td_functions **out);
TD_API void td_functions_free(struct td_functions *fns);
/* Registers NAME (copied); TD_EINVAL for a bad name, mode or NULL fn, TD_EEXIST if NAME is
 * already registered, TD_ESTATE once a run was created with the registry (it is read-only
 * from then on: runs on other threads read it). The same holds for td_functions_set_workers(). */
TD_API int td_functions_add(struct td_functions *fns, const char *name, enum td_fn_mode mode,
                            td_fn fn, void *userdata);
/* Worker threads per run for TD_FN_BLOCKING (1..1024; default TD_DEFAULT_FN_WORKERS). */
TD_API int td_functions_set_workers(struct td_functions *fns, unsigned workers);

/*
 * Hooks run on each worker thread of a run's TD_FN_BLOCKING pool: start(userdata) when the
 * thread begins, before its first function, and stop(userdata) as it ends, after its last (the
 * pool ends in td_run_free(); a worker whose function still runs then ends when it returns).
 * For a host whose language runtime must attach a thread before calling into it (a Python
 * thread state, a JVM's AttachCurrentThread): once per thread, not once per call. Either may
 * be NULL; userdata is borrowed and must outlive the runs and their workers. Set it before
 * the first run uses the registry. 0, or TD_EINVAL without fns.
 */
typedef void (*td_fn_thread_hook)(void *userdata);
TD_API int td_functions_set_thread_hooks(struct td_functions *fns, td_fn_thread_hook start,
                                         td_fn_thread_hook stop, void *userdata);

/*
 * Reading the call. Valid while the function runs; an ASYNC function must copy what it needs
 * before it returns (afterwards the handle is good only for td_fn_complete() and
 * td_fn_call_cancelled()).
 */
TD_API const char *td_fn_call_id(const struct td_fn_call *call);
TD_API const char *td_fn_call_tool(const struct td_fn_call *call);
/* The input JSON text; *len (if not NULL) its length. */
TD_API const char *td_fn_call_input(const struct td_fn_call *call, size_t *len);
/* The envelope with upstream results when the tool sets `stdin: envelope`, else NULL. */
TD_API const char *td_fn_call_envelope(const struct td_fn_call *call, size_t *len);
/* The call's index in batch order, and the attempt (1-based; retries count up). */
TD_API size_t td_fn_call_index(const struct td_fn_call *call);
TD_API unsigned td_fn_call_attempt(const struct td_fn_call *call);
/* td_run_opts.userdata of the call's run (a copy: valid as long as the handle). */
TD_API void *td_fn_call_run_userdata(const struct td_fn_call *call);
/* 1 once the call timed out, was cancelled or its run is being freed: stop early, the
 * result will be ignored. Any thread. */
TD_API int td_fn_call_cancelled(const struct td_fn_call *call);
/* Microseconds left before the call's timeout (a blocking call's runs from when a worker took
 * it): -1 when the tool has no timeout, 0 once it passed or the call was cancelled, TD_EINVAL
 * for NULL. For a function that can trim its work (fewer retries of its own, a shorter
 * upstream timeout) instead of being cut off. Any thread. */
TD_API int64_t td_fn_call_remaining_us(const struct td_fn_call *call);

/*
 * Ends the call: content (len bytes, copied; may be NULL when len is 0) becomes the result,
 * an error when is_error. Exactly once per invocation. INLINE and BLOCKING functions call it
 * before they return (returning without it is an error result); ASYNC ones may call it from
 * any thread at any later time: after that the handle is gone. A late completion (timed out,
 * cancelled, run freed meanwhile) is accepted and ignored: 0. TD_ESTATE when called twice on
 * a handle still in the function, TD_EINVAL for NULL.
 */
TD_API int td_fn_complete(struct td_fn_call *call, int is_error, const char *content, size_t len);

/* ---------------------------------------------------------------------------------------- */
/* Observing a run: events, the Chrome trace writer, graph export */

/*
 * Events. Every change of a call's state is reported, as it happens, to each observer
 * attached with td_run_observe(). A call's life: CALL_QUEUED (ready: its dependencies are
 * done, it waits for a slot, a tool limit or a rate token), CALL_STARTED (an attempt runs),
 * ATTEMPT_FINISHED (retrying set when a retry follows: after the backoff the call is QUEUED
 * again), CALL_FINISHED (its result is final). A call that never runs (skipped, cancelled
 * before it started, call-level error) has only CALL_FINISHED, with attempt 0.
 * LEVEL_STARTED comes before the first CALL_QUEUED of a level and LEVEL_FINISHED after the
 * last CALL_FINISHED of its calls (calls with a call-level error do not belong to a level's
 * run; a level none of whose calls was ever queued, as after a cancel, has neither event).
 * With the eager schedule levels overlap. RUN_FINISHED follows the last CALL_FINISHED.
 * CALL_PROGRESS, between an attempt's CALL_STARTED and ATTEMPT_FINISHED: the tool reported
 * progress (an MCP server's notifications/progress).
 */
enum td_event_type {
	TD_EVENT_LEVEL_STARTED = 0,
	TD_EVENT_CALL_QUEUED,
	TD_EVENT_CALL_STARTED,
	TD_EVENT_ATTEMPT_FINISHED,
	TD_EVENT_CALL_FINISHED,
	TD_EVENT_LEVEL_FINISHED,
	TD_EVENT_RUN_FINISHED,
	TD_EVENT_CALL_PROGRESS,
};
#define TD_EVENT_NO_CALL UINT32_MAX

/* "level_started", "call_queued", "call_started", "attempt_finished", "call_finished",
 * "level_finished", "run_finished", "call_progress" (and "unknown"). */
TD_API const char *td_event_name(enum td_event_type type);

/* One event, valid only during the callback. Fields an event type does not use are 0 (-1 for
 * exit_code, TD_EVENT_NO_CALL for call). */
struct td_event {
	enum td_event_type type;
	uint32_t call;         /* index in batch order; TD_EVENT_NO_CALL for level and run events */
	uint32_t level;        /* the call's level, or the level of a LEVEL_* event */
	enum td_status status; /* ATTEMPT_FINISHED: the attempt's; CALL_FINISHED: the result's */
	unsigned attempt;      /* 1-based attempt that STARTED/FINISHED; QUEUED: attempts so far */
	int retrying;          /* ATTEMPT_FINISHED: another attempt follows after the backoff */
	int exit_code;         /* ATTEMPT_/CALL_FINISHED of a process: its exit code, else -1 */
	int signal;            /* ATTEMPT_/CALL_FINISHED: the terminating signal, 0 if none */
	int64_t time_us;       /* when it happened, from the run's start (monotonic) */
	int64_t run_us;        /* ATTEMPT_FINISHED: the attempt's run time; CALL_FINISHED: first
	                        * start to last end (-1 if it never started); else 0 */
	uint32_t done;         /* calls with a final result so far, this event included */
	uint32_t failed;       /* of those, calls whose status is not ok */
	/* CALL_PROGRESS: how far (total 0 when the tool did not say) and its words, or NULL */
	double progress, total;
	const char *message;
};

/*
 * Observer callback. It runs inside td_run_step()/td_run_wait()/td_run_cancel*() while the
 * scheduler is mid-change: it may read the run (td_run_result(), td_run_makespan_us()) and the
 * batch and plan, but must not step, cancel or free the run. Keep it short: it runs for every
 * event of every call.
 */
typedef void (*td_observer_fn)(void *userdata, const struct td_run *run,
                               const struct td_event *event);

/*
 * Attaches an observer (several may be; they run in the order attached). Only before the run
 * starts (the first td_run_step()/td_run_wait()/td_run_cancel()): TD_ESTATE after, TD_EINVAL
 * without fn, TD_ENOMEM. userdata is borrowed and must stay valid until td_run_free() begins;
 * no callback runs once td_run_free() has been called.
 */
TD_API int td_run_observe(struct td_run *run, td_observer_fn fn, void *userdata);

/*
 * Formats one event as a single-line JSON object without a newline:
 * {"event","t_ms",...} with "id","tool","level" for call events and, depending on the type,
 * "attempt","status","exit_code"|"signal"+"signal_name","retrying","ms","done","failed", and
 * "worker","queue_ms" for an attempt a Redis worker held (a `remote:` tool's).
 * Writes at most len bytes into buf, always NUL-terminated when len > 0; returns the length it
 * wanted (like snprintf), TD_EINVAL or TD_ENOMEM.
 */
TD_API int td_event_json(const struct td_run *run, const struct td_event *event, char *buf,
                         size_t len);

/*
 * Writes a Chrome trace-event JSON file (what https://ui.perfetto.dev and chrome://tracing
 * open) of the run as it goes: one track per concurrency slot ("slot 0", "slot 1", ... each
 * running attempt takes the lowest free slot), each attempt a slice named "TOOL ID" (with
 * " [STATUS]" when it failed) whose args hold level, attempt, status, exit code or signal and
 * the time it waited in the queue (not the id and tool again); a second process "queue" with
 * a counter "queued" (calls waiting) and each wait as a slice named after the call on a lane
 * ("queue 0" ... "queue 63"; a call queued while all 64 are taken has none); retry backoffs
 * ("backoff") and levels as async slices, levels with global instant markers too; calls that
 * never ran as instant events on the "not run" track. A `remote:` tool's attempt also names
 * its worker and its wait on the Redis queue (args "worker", "worker_wait_us"), and a third
 * process "workers" has a track per worker (more lanes of the same name for calls it held at
 * once) with the time each attempt was on it.
 * out is borrowed (a stdio stream the caller opened for writing) and must stay open until
 * td_run_free() returns: the document is completed when the run finishes, or at td_run_free()
 * for a run freed early. Write errors are the stream's: check ferror()/fclose() after
 * td_run_free(). The writer hands out about 256 KiB at a time: an unbuffered stream
 * (setvbuf _IONBF) saves a copy. Same state rules and errors as td_run_observe().
 */
TD_API int td_run_trace(struct td_run *run, FILE *out);

/*
 * Graphviz DOT of a graph's tools (one rank per tool level: 0 for a tool without depends_on,
 * else 1 + its dependencies' highest) or of a plan's calls (one rank per level, edges from
 * each call's direct dependencies, calls with a call-level error dashed and red).
 * Mermaid (`flowchart LR`, one subgraph per level) of a plan, for Markdown.
 * *out is a new NUL-terminated string the caller free()s. 0, TD_EINVAL or TD_ENOMEM.
 */
TD_API int td_graph_dot(const struct td_graph *graph, char **out);
TD_API int td_plan_dot(const struct td_plan *plan, char **out);
TD_API int td_plan_mermaid(const struct td_plan *plan, char **out);

/* Recordings, learned durations (tooldag/record.h) and Redis workers (tooldag/worker.h). */
#include "tooldag/record.h"
#include "tooldag/worker.h"

#ifdef __cplusplus
}
#endif
#endif /* TOOLDAG_H */
