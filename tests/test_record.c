/* SPDX-License-Identifier: MIT */
/*
 * test_record.c - recordings (td_recorder, td_run_opts.record) and reading them back
 * (td_recording_*), over real runs of builtin and function tools: the line's fields, replayed
 * results byte for byte in every dialect, NUL bytes in a content, a torn last line, a bad
 * line, concurrent writers (threads sharing a recorder, processes sharing a file) with lines
 * longer than one write, a torn tail cut away by the next writer (a whole line without its
 * newline given one), a run freed before it finished, write errors that leave the file as it
 * was, and rebuilding a recorded batch (the line's writers: test_record_writer.c).
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report/jsonw.h"
#include "tooldag.h"

static const char GRAPH[] = "version: 1\n"
                            "concurrency: 2\n"
                            "tools:\n"
                            "  a: {builtin: echo}\n"
                            "  b: {builtin: sleep, depends_on: [a]}\n"
                            "  slow: {builtin: sleep, timeout: 20ms, retries: 1, backoff: 5ms}\n"
                            "  big: {builtin: echo, max_output: 64KiB}\n"
                            "  nul: {function: nul}\n";

static struct td_graph *G;
static char DIR_[64], PATH_[96];

static void setup(void)
{
	struct td_diag d = {0};

	strcpy(DIR_, "/tmp/td-record-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(DIR_));
	snprintf(PATH_, sizeof(PATH_), "%s/rec.jsonl", DIR_);
	ck_assert_int_eq(td_graph_load_buffer(GRAPH, strlen(GRAPH), "g.yaml", DIR_, &G, &d), 0);
}

static void teardown(void)
{
	td_graph_free(G);
	unlink(PATH_);
	rmdir(DIR_);
}

/* a "nul" function: content "a\0b" */
static void nul_fn(struct td_fn_call *call, void *ud)
{
	(void)ud;
	td_fn_complete(call, 0, "a\0b", 3);
}

/* Runs batch to the end with rec; the results in `dialect` (caller frees) when out given. */
static void run_batch(struct td_batch *b, struct td_recorder *rec, int pretty, char **out)
{
	struct td_diag d = {0};
	struct td_functions *fns;
	struct td_run_opts o = {0};
	struct td_plan *p;
	struct td_run *r;

	ck_assert_int_eq(td_functions_new(&fns), 0);
	ck_assert_int_eq(td_functions_add(fns, "nul", TD_FN_INLINE, nul_fn, NULL), 0);
	o.functions = fns;
	o.record = rec;
	ck_assert_int_eq(td_plan_new(b, &p, &d), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, &d), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	if (out)
		ck_assert_int_eq(td_run_results_json(r, TD_DIALECT_AUTO, pretty, out), 0);
	td_run_free(r);
	td_plan_free(p);
	td_functions_free(fns);
}

/* One run of b recorded into PATH_ by a recorder of its own; that recorder's error. */
static int record_once(struct td_batch *b)
{
	struct td_recorder *rec;
	int err;

	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	run_batch(b, rec, 0, NULL);
	err = td_recorder_error(rec);
	td_recorder_free(rec);
	return err;
}

/* a0, a1 (a1 depends on a0 explicitly), b0 (tool-level on a), s0 (times out twice), x0 (an
 * unknown tool), n0 (content with a NUL byte) */
static struct td_batch *sample(enum td_dialect dialect)
{
	struct td_batch *b;

	ck_assert_int_eq(td_batch_new(G, dialect, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "a0", "a", "{\"text\":\"h\\u00e9\\n\\\"q\\\"\"}"), 0);
	ck_assert_int_eq(td_batch_add(b, "a1", "a", NULL), 1);
	ck_assert_int_eq(td_batch_add(b, "b0", "b", "{\"ms\":2}"), 2);
	ck_assert_int_eq(td_batch_add(b, "s0", "slow", "{\"ms\":500}"), 3);
	ck_assert_int_eq(td_batch_add(b, "x0", "no_such_tool", NULL), 4);
	ck_assert_int_eq(td_batch_add(b, "n0", "nul", NULL), 5);
	ck_assert_int_eq(td_batch_depend(b, 1, 0), 0);
	return b;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return s;
}

/* Every line of the file parses, ends with a newline, and there are `want` of them. */
static void check_lines(const char *path, size_t want)
{
	size_t len, n = 0;
	char *s = slurp(path, &len), *at = s, *nl;

	ck_assert(len > 0 && s[len - 1] == '\n');
	while ((nl = memchr(at, '\n', len - (size_t)(at - s)))) {
		cJSON *j = cJSON_ParseWithLength(at, (size_t)(nl - at));

		ck_assert_msg(j != NULL, "line %zu does not parse", n + 1);
		ck_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "calls")));
		cJSON_Delete(j);
		n++;
		at = nl + 1;
	}
	ck_assert_uint_eq(n, want);
	free(s);
}

static const cJSON *call_of(const cJSON *line, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(line, "calls"), i);
}

START_TEST(line_has_every_field)
{
	struct td_batch *b = sample(TD_DIALECT_ANTHROPIC);
	const cJSON *c, *att;
	cJSON *line;
	char *text;

	ck_assert_int_eq(record_once(b), 0);
	text = slurp(PATH_, NULL);
	line = cJSON_Parse(text);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(cJSON_GetObjectItem(line, "tooldag_record")->valueint, 1);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(line, "graph"), "path")->valuestring,
	    strcat(strcpy((char[128]){0}, DIR_), "/g.yaml"));
	ck_assert(
	    strncmp(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(line, "graph"), "tools_hash")->valuestring,
	        "fnv1a64:", 8) == 0);
	ck_assert_str_eq(cJSON_GetObjectItem(line, "dialect")->valuestring, "anthropic");
	ck_assert_str_eq(cJSON_GetObjectItem(line, "schedule")->valuestring, "level");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(line, "finished")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(line, "calls")), 6);
	/* a0: input as given, ok, one attempt */
	c = call_of(line, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "input"), "text")->valuestring,
	                 "h\xc3\xa9\n\"q\"");
	ck_assert_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "ok");
	ck_assert_int_eq(cJSON_GetObjectItem(c, "level")->valueint, 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "attempts")), 1);
	/* a1: its explicit depends_on, level 1 */
	c = call_of(line, 1);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "depends_on")), 1);
	ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "depends_on"), 0)->valueint, 0);
	ck_assert_int_eq(cJSON_GetObjectItem(c, "level")->valueint, 1);
	/* b0: a tool-level dependency is not the batch's: no depends_on */
	c = call_of(line, 2);
	ck_assert_ptr_null(cJSON_GetObjectItem(c, "depends_on"));
	ck_assert_int_ge(cJSON_GetObjectItem(c, "level")->valueint, 1);
	/* s0: two attempts, both timeouts, with times */
	c = call_of(line, 3);
	ck_assert_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "timeout");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "attempts")), 2);
	att = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "attempts"), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(att, "status")->valuestring, "timeout");
	ck_assert(cJSON_GetObjectItem(att, "end_us")->valuedouble >=
	          cJSON_GetObjectItem(att, "start_us")->valuedouble + 20000);
	/* x0: never ran, its error as content */
	c = call_of(line, 4);
	ck_assert_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "error");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "attempts")), 0);
	ck_assert_ptr_nonnull(
	    strstr(cJSON_GetObjectItem(c, "content")->valuestring, "no_such_tool"));
	/* n0: the length says there is more past the NUL */
	c = call_of(line, 5);
	ck_assert_int_eq(cJSON_GetObjectItem(c, "content_len")->valueint, 3);
	ck_assert_ptr_null(cJSON_GetObjectItem(c, "truncated"));
	/* no NUL byte, no content_len */
	ck_assert_ptr_null(cJSON_GetObjectItem(call_of(line, 0), "content_len"));
	cJSON_Delete(line);
	free(text);
	td_batch_free(b);
}
END_TEST

/* The replay is the run's bytes, compact and pretty, in each dialect; NUL bytes included. */
START_TEST(replay_is_byte_identical)
{
	static const enum td_dialect ds[] = {TD_DIALECT_ANTHROPIC, TD_DIALECT_OPENAI,
	                                     TD_DIALECT_RESPONSES};
	struct td_recording *rd;
	struct td_recorded_call rc;
	struct td_recorder *rec;
	char *want[6], *got;
	size_t i;

	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	for (i = 0; i < 6; i++) {
		struct td_batch *b = sample(ds[i / 2]);

		run_batch(b, rec, (int)(i % 2), &want[i]);
		td_batch_free(b);
	}
	td_recorder_free(rec);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, NULL), 6);
	ck_assert_uint_eq(td_recording_torn(rd), 0);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(td_recording_dialect(rd, i), ds[i / 2]);
		ck_assert_int_eq(
		    td_recording_results_json(rd, i, TD_DIALECT_AUTO, (int)(i % 2), &got), 0);
		ck_assert_str_eq(got, want[i]);
		free(got);
		free(want[i]);
	}
	ck_assert_int_eq(td_recording_call(rd, 0, 5, &rc), 0);
	ck_assert_uint_eq(rc.content_len, 3);
	ck_assert(memcmp(rc.content, "a\0b", 3) == 0);
	ck_assert_int_eq(td_recording_call(rd, 0, 3, &rc), 0);
	ck_assert_int_eq(rc.status, TD_STATUS_TIMEOUT);
	ck_assert_int_eq(td_recording_call(rd, 0, 6, &rc), TD_EINVAL);
	ck_assert_int_eq(td_recording_results_json(rd, 6, TD_DIALECT_AUTO, 0, &got), TD_EINVAL);
	td_recording_free(rd);
}
END_TEST

static void write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "ab");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, n, f), n);
	fclose(f);
}

/* A last line cut short is ignored (its number said); a bad line elsewhere is an error. */
START_TEST(torn_last_line_ignored)
{
	struct td_recording *rd;
	struct td_recorder *rec;
	struct td_diag d = {0};
	struct td_batch *b = sample(TD_DIALECT_OPENAI);
	char *text;
	size_t len;

	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	run_batch(b, rec, 0, NULL);
	run_batch(b, rec, 0, NULL);
	td_recorder_free(rec);
	text = slurp(PATH_, &len);
	write_file(PATH_, text, len / 4); /* a third line, torn in the middle */
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), 2);
	ck_assert_uint_eq(td_recording_torn(rd), 3);
	ck_assert_uint_eq(d.count, 0);
	td_recording_free(rd);
	/* the same torn text followed by a newline and another line: not the last, an error */
	write_file(PATH_, "\n", 1);
	write_file(PATH_, text, len);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), TD_ESYNTAX);
	ck_assert_ptr_null(rd);
	ck_assert_uint_eq(d.items[0].line, 3);
	td_diag_clear(&d);
	free(text);
	td_batch_free(b);
}
END_TEST

START_TEST(bad_files_refused)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"{\"x\":1}\n", "not a tooldag recording"},
	    {"{\"tooldag_record\":2,\"calls\":[]}\n", "version"},
	    {"{\"tooldag_record\":1,\"graph\":{\"path\":\"g\"},\"dialect\":\"openai\","
	     "\"calls\":[{\"id\":\"a\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"ab\","
	     "\"content_len\":1}]}\n",
	     "content_len"},
	    {"{\"tooldag_record\":1,\"graph\":{\"path\":\"g\"},\"dialect\":\"openai\","
	     "\"calls\":[{\"id\":\"a\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"ab\","
	     "\"content_len\":100000}]}\n",
	     "content_len"},
	    /* longer than the content but within its buffer: no byte past the content read */
	    {"{\"tooldag_record\":1,\"graph\":{\"path\":\"g\"},\"dialect\":\"openai\","
	     "\"calls\":[{\"id\":\"a\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"a\","
	     "\"content_len\":3}]}\n",
	     "content_len"},
	    {"{\"tooldag_record\":1,\"graph\":{\"path\":\"g\"},\"dialect\":\"openai\","
	     "\"calls\":[{\"id\":\"a\",\"tool\":\"t\",\"status\":\"ok\","
	     "\"content\":\"\\u0000\\u0000\\u0000\",\"content_len\":5}]}\n",
	     "content_len"},
	    {"{\"tooldag_record\":1,\"graph\":{\"path\":\"g\"},\"dialect\":\"openai\","
	     "\"calls\":[{\"id\":\"a\",\"tool\":\"t\",\"status\":\"fine\",\"content\":\"\","
	     "\"content_len\":0}]}\n",
	     "unknown status"},
	};
	struct td_recording *rd;
	struct td_diag d = {0};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(PATH_);
		write_file(PATH_, cases[i].text, strlen(cases[i].text));
		ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), TD_ESYNTAX);
		ck_assert_uint_eq(d.items[0].line, 1);
		ck_assert_msg(strstr(d.items[0].message, cases[i].msg), "%s", d.items[0].message);
		td_diag_clear(&d);
	}
	unlink(PATH_);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), -ENOENT);
	td_diag_clear(&d);
	ck_assert_int_eq(
	    td_recorder_open("/nonexistent-dir/x/rec.jsonl", &(struct td_recorder *){0}, &d),
	    -ENOENT);
	ck_assert_ptr_nonnull(strstr(d.items[0].message, "cannot open the recording"));
	td_diag_clear(&d);
}
END_TEST

/* A content with NUL bytes is decoded from the line's own text: all of its bytes (escapes,
 * surrogate pairs), the call's own "content" and not one in its input, whatever bytes cJSON
 * takes for whitespace stand between them. */
START_TEST(nul_content_decoded_whole)
{
	static const char line[] =
	    "{\"tooldag_record\":1,\"graph\":{\"path\":\"g\"},\"dialect\":\"openai\",\"calls\":["
	    "{\"id\":\"a\",\"tool\":\"t\",\"input\":\x12{\"content\":"
	    "\"decoy\\u0000xxxxxxxxxxxxxxxx\"},"
	    "\"status\":\"ok\",\"content_len\":9,"
	    "\"content\":\"a\\u0000\\n\\ud83d\\ude00\\u00e9\"},"
	    "{\"id\":\"b\",\"tool\":\"t\",\"status\":\"ok\",\"content_len\":1,\"content\":"
	    "\"\\u0000\"}]}\n";
	static const char want[] = "a\0\n\xf0\x9f\x98\x80\xc3\xa9";
	struct td_recording *rd;
	struct td_recorded_call c;
	struct td_diag d = {0};

	unlink(PATH_);
	write_file(PATH_, line, sizeof(line) - 1);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), 1);
	ck_assert_int_eq(td_recording_call(rd, 0, 0, &c), 0);
	ck_assert_uint_eq(c.content_len, sizeof(want) - 1);
	ck_assert_int_eq(memcmp(c.content, want, sizeof(want) - 1), 0);
	ck_assert_int_eq(td_recording_call(rd, 0, 1, &c), 0);
	ck_assert_uint_eq(c.content_len, 1);
	ck_assert_int_eq(c.content[0], 0);
	td_recording_free(rd);
	td_diag_clear(&d);
	unlink(PATH_);
}
END_TEST

/* A line that cannot be written whole is an error the recorder keeps. */
START_TEST(write_error_kept)
{
	struct td_recorder *rec;
	struct td_batch *b = sample(TD_DIALECT_ANTHROPIC);

	if (access("/dev/full", W_OK) != 0) {
		ck_abort_msg("/dev/full is needed to test a full disk");
		return;
	}
	ck_assert_int_eq(td_recorder_open("/dev/full", &rec, NULL), 0);
	run_batch(b, rec, 0, NULL);
	ck_assert_int_eq(td_recorder_error(rec), -ENOSPC);
	td_recorder_free(rec);
	td_batch_free(b);
}
END_TEST

/* a batch whose line is far over PIPE_BUF and over the recorder's 256 KiB per write: four
 * calls of 40 KiB of input echoed back (320 KiB) */
static struct td_batch *big_batch(int k)
{
	char *input = malloc(41000); /* not static: writer threads build batches at once */
	struct td_batch *b;
	char id[32];
	int i;

	ck_assert_ptr_nonnull(input);

	memcpy(input, "{\"s\":\"", 6);
	memset(input + 6, 'a' + k % 26, 40000);
	memcpy(input + 40006, "\"}", 3);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "w%d-%d", k, i);
		ck_assert_int_ge(td_batch_add(b, id, "big", input), 0);
	}
	free(input);
	return b;
}

#define WRITERS 4
#define RUNS    15

static void *writer(void *ud)
{
	struct td_recorder *rec = ud;
	int i;

	for (i = 0; i < RUNS; i++) {
		struct td_batch *b = big_batch(i);

		run_batch(b, rec, 0, NULL);
		td_batch_free(b);
	}
	return NULL;
}

START_TEST(concurrent_threads_one_recorder)
{
	pthread_t t[WRITERS];
	struct td_recorder *rec;
	int i;

	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	for (i = 0; i < WRITERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer, rec), 0);
	for (i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(td_recorder_error(rec), 0);
	td_recorder_free(rec);
	check_lines(PATH_, WRITERS * RUNS);
}
END_TEST

START_TEST(concurrent_processes_one_file)
{
	pid_t pid[WRITERS];
	int i, st;

	for (i = 0; i < WRITERS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			struct td_recorder *rec;

			if (td_recorder_open(PATH_, &rec, NULL) < 0)
				_exit(2);
			writer(rec);
			_exit(td_recorder_error(rec) ? 3 : 0);
		}
	}
	for (i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	check_lines(PATH_, WRITERS * RUNS);
}
END_TEST

/* A run freed before it finished still leaves its line, marked unfinished. */
START_TEST(freed_early_recorded)
{
	struct td_recorder *rec;
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	struct td_run_opts o = {0};
	cJSON *line;
	char *text;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "s", "slow", "{\"ms\":10000}"), 0);
	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	o.record = rec;
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_step(r), 1);
	td_run_free(r);
	td_recorder_free(rec);
	text = slurp(PATH_, NULL);
	line = cJSON_Parse(text);
	ck_assert_ptr_nonnull(line);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(line, "finished")));
	ck_assert_str_eq(cJSON_GetObjectItem(call_of(line, 0), "status")->valuestring, "running");
	cJSON_Delete(line);
	free(text);
	/* a run freed before it started writes nothing */
	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	o.record = rec;
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	td_run_free(r);
	td_recorder_free(rec);
	check_lines(PATH_, 1);
	td_plan_free(p);
	td_batch_free(b);
}
END_TEST

/* A writer killed mid-line left a last line without its newline: the next writer cuts it away
 * before appending, so the file holds whole lines again and nothing is torn; a file whose
 * last bytes are not the start of a recording line keeps them. */
START_TEST(torn_tail_cut_by_next_writer)
{
	struct td_recording *rd;
	struct td_diag d = {0};
	struct td_batch *b = sample(TD_DIALECT_ANTHROPIC);
	char *text, *after;
	size_t len, len2;

	record_once(b);
	text = slurp(PATH_, &len);
	write_file(PATH_, text, len / 3); /* a second line, torn */
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), 1);
	ck_assert_uint_eq(td_recording_torn(rd), 2);
	td_recording_free(rd);
	ck_assert_int_eq(record_once(b), 0);
	check_lines(PATH_, 2);
	after = slurp(PATH_, &len2);
	ck_assert_int_eq(memcmp(after, text, len), 0); /* the first line untouched */
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), 2);
	ck_assert_uint_eq(td_recording_torn(rd), 0);
	ck_assert_uint_eq(d.count, 0);
	td_recording_free(rd);
	/* a file holding nothing but a torn line */
	unlink(PATH_);
	write_file(PATH_, text, 10);
	record_once(b);
	check_lines(PATH_, 1);
	free(after);
	/* a whole line that lost only its newline is kept (readers take it as a batch): the next
	 * writer gives it its newline */
	unlink(PATH_);
	write_file(PATH_, text, len - 1);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, &d), 1);
	ck_assert_uint_eq(td_recording_torn(rd), 0);
	td_recording_free(rd);
	ck_assert_int_eq(record_once(b), 0);
	check_lines(PATH_, 2);
	after = slurp(PATH_, &len2);
	ck_assert_int_eq(memcmp(after, text, len), 0);
	free(after);
	/* a file that is not a recording is appended to, never cut */
	unlink(PATH_);
	write_file(PATH_, "hello", 5);
	record_once(b);
	after = slurp(PATH_, &len2);
	ck_assert_int_eq(memcmp(after, "hello{\"tooldag_record\":", 23), 0);
	ck_assert_uint_gt(len2, 23);
	free(after);
	free(text);
	td_batch_free(b);
}
END_TEST

/* A line cut short by the file size limit (EFBIG after a partial write, as a full disk would)
 * is an error, and the file is left as it was: no half line for the next writer to glue to. */
START_TEST(write_cut_short_leaves_file)
{
	struct td_recorder *rec;
	struct td_batch *b = sample(TD_DIALECT_ANTHROPIC), *big = big_batch(1);
	char *before, *after;
	size_t len, len2;
	pid_t pid;
	int st;

	record_once(b);
	before = slurp(PATH_, &len);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {.rlim_cur = len + 100000, .rlim_max = len + 100000};

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || td_recorder_open(PATH_, &rec, NULL) < 0)
			_exit(2);
		run_batch(big, rec, 0, NULL);
		_exit(td_recorder_error(rec) == -EFBIG ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	after = slurp(PATH_, &len2);
	ck_assert_uint_eq(len2, len);
	ck_assert_int_eq(memcmp(after, before, len), 0);
	free(after);
	free(before);
	td_batch_free(big);
	td_batch_free(b);
}
END_TEST

/* Ids and tool names that need escaping, a tool the graph does not know and one it does, are
 * written as td__buf_json_string() writes them. */
START_TEST(ids_and_tool_names_escaped)
{
	static const char *const ids[] = {"q\"1\\", "tab\there-and-a-longer-id-\xc3\xa9", "bad\xff",
	                                  "plain-0123456789"};
	static const char *const tools[] = {"we\"ird\n", "a", "\x01ctl", "a"};
	struct td_batch *b;
	struct td__buf want = {0};
	char *text;
	size_t i;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(td_batch_add(b, ids[i], tools[i], NULL), (int)i);
	record_once(b);
	text = slurp(PATH_, NULL);
	for (i = 0; i < 4; i++) {
		want.len = 0;
		td__buf_puts(&want, i ? ",{\"id\":" : "[{\"id\":");
		td__buf_json_string(&want, ids[i], strlen(ids[i]));
		td__buf_puts(&want, ",\"tool\":");
		td__buf_json_string(&want, tools[i], strlen(tools[i]));
		td__buf_puts(&want, ",\"input\":{}");
		ck_assert_msg(strstr(text, want.data) != NULL, "no %s in %s", want.data, text);
	}
	td__buf_free(&want);
	free(text);
	td_batch_free(b);
}
END_TEST

/* s with the digits after every `_us":` and `_ms":` left out (times differ run to run) */
static char *strip_times(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i = 0;

	ck_assert_ptr_nonnull(out);
	while (i < n) {
		*o++ = s[i++];
		if (i >= 5 &&
		    (memcmp(s + i - 5, "_us\":", 5) == 0 || memcmp(s + i - 5, "_ms\":", 5) == 0))
			while (i < n && (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')))
				i++;
	}
	*o = '\0';
	return out;
}

/* Where call-I of the chunked batch stands: after "huge" (following call 2500) and "long"
 * (following call 4000). */
static int chunked_index(int i)
{
	return i + (i > 2500) + (i > 4000);
}

/* A line of 1.5 MB written from two places in the file that split it into chunks differently
 * (after a 7-byte line that is not a recording, then after that first recording): the same
 * bytes but for the times. Its calls: 6,000 small ones with ids and inputs of varied lengths,
 * one whose 100 KB input is more than a chunk's quarter, one whose content is escaped on its
 * own; every fifth depends on the one a third of its way. */
START_TEST(chunked_line_same_wherever_written)
{
	char *input = malloc(100010), id[32], small[64], *text, *nl, *one, *two;
	struct td_recorder *rec;
	struct td_batch *b;
	cJSON *line;
	size_t len;
	int i, fd, deps;

	ck_assert_ptr_nonnull(input);
	memcpy(input, "{\"s\":\"", 6);
	memset(input + 6, 'z', 100000);
	memcpy(input + 100006, "\"}", 3);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = 0; i < 6000; i++) {
		snprintf(id, sizeof(id), "call-%0*d", 1 + i % 9, i);
		snprintf(small, sizeof(small), "{\"text\":\"%.*s\"}", i % 40,
		         "q\\\"0123456789abcdefghijklmnopqrstuvwxyz");
		ck_assert_int_ge(td_batch_add(b, id, "a", small), 0);
		if (i == 2500)
			ck_assert_int_ge(td_batch_add(b, "huge", "a", input), 0);
		if (i == 4000)
			ck_assert_int_ge(td_batch_add(b, "long", "big", input), 0);
	}
	free(input);
	for (i = 1; i < 6000; i += 5)
		ck_assert_int_eq(
		    td_batch_depend(b, (size_t)chunked_index(i), (size_t)chunked_index(i / 3)), 0);
	fd = open(PATH_, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_eq(write(fd, "prefix\n", 7), 7);
	close(fd);
	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	run_batch(b, rec, 0, NULL);
	run_batch(b, rec, 0, NULL);
	ck_assert_int_eq(td_recorder_error(rec), 0);
	td_recorder_free(rec);
	text = slurp(PATH_, &len);
	ck_assert(len > 3000000 && strncmp(text, "prefix\n", 7) == 0);
	nl = strchr(text + 7, '\n');
	ck_assert_ptr_nonnull(nl);
	line = cJSON_ParseWithLength(text + 7, (size_t)(nl - (text + 7)));
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(line, "calls")), 6002);
	for (i = 0, deps = 0; i < 6002; i++) {
		const cJSON *c = call_of(line, i), *on = cJSON_GetObjectItem(c, "depends_on");
		int k = strncmp(cJSON_GetObjectItem(c, "id")->valuestring, "call-", 5) == 0
		            ? atoi(cJSON_GetObjectItem(c, "id")->valuestring + 5)
		            : -1;

		ck_assert_int_eq(on != NULL, k > 0 && k % 5 == 1);
		if (on) {
			ck_assert_int_eq(cJSON_GetArraySize(on), 1);
			ck_assert_int_eq(cJSON_GetArrayItem(on, 0)->valueint, chunked_index(k / 3));
			deps++;
		}
	}
	ck_assert_int_eq(deps, 1200);
	ck_assert_str_eq(cJSON_GetObjectItem(call_of(line, 2501), "id")->valuestring, "huge");
	ck_assert_uint_eq(
	    strlen(cJSON_GetObjectItem(cJSON_GetObjectItem(call_of(line, 2501), "input"), "s")
	               ->valuestring),
	    100000);
	ck_assert_uint_gt(strlen(cJSON_GetObjectItem(call_of(line, 4002), "content")->valuestring),
	                  8192);
	cJSON_Delete(line);
	one = strip_times(text + 7, (size_t)(nl + 1 - (text + 7)));
	two = strip_times(nl + 1, len - (size_t)(nl + 1 - text));
	ck_assert_uint_gt(strlen(one), 1500000);
	ck_assert_str_eq(one, two);
	free(one);
	free(two);
	free(text);
	td_batch_free(b);
}
END_TEST

/* graph text with an MCP server whose command, env and cwd are these (the tool not called) */
static struct td_graph *server_graph(const char *cmd, const char *env, const char *cwd)
{
	struct td_graph *g;
	struct td_diag d = {0};
	char text[512];

	snprintf(text, sizeof(text),
	         "version: 1\n"
	         "servers:\n"
	         "  s: {command: [%s], env: {K: %s}, cwd: %s}\n"
	         "tools:\n"
	         "  a: {builtin: echo}\n"
	         "  m: {mcp: s, tool: remote, input_schema: {type: object}}\n",
	         cmd, env, cwd);
	ck_assert_msg(td_graph_load_buffer(text, strlen(text), "s.yaml", DIR_, &g, &d) == 0, "%s",
	              d.count ? d.items[0].message : "");
	return g;
}

/* The tools hash covers an MCP tool's server as written: another command, env value or cwd
 * is another graph for td_recording_same_tools(); the same text is the same. */
START_TEST(server_settings_in_tools_hash)
{
	struct td_graph *g = server_graph("/bin/true", "v1", "/tmp"), *other;
	struct td_recorder *rec;
	struct td_recording *rd;
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	struct td_run_opts o = {0};
	static const char *const changed[][3] = {
	    {"/bin/false", "v1", "/tmp"}, {"/bin/true", "v2", "/tmp"}, {"/bin/true", "v1", "/"}};
	size_t i;

	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "a0", "a", NULL), 0);
	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	o.record = rec;
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_recorder_free(rec);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, NULL), 1);
	ck_assert_int_eq(td_recording_same_tools(rd, 0, g), 1);
	other = server_graph("/bin/true", "v1", "/tmp");
	ck_assert_int_eq(td_recording_same_tools(rd, 0, other), 1);
	td_graph_free(other);
	for (i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		other = server_graph(changed[i][0], changed[i][1], changed[i][2]);
		ck_assert_msg(td_recording_same_tools(rd, 0, other) == 0, "change %zu not seen", i);
		td_graph_free(other);
	}
	ck_assert_int_eq(td_recording_same_tools(rd, 0, G), 0);
	ck_assert_int_eq(td_recording_same_tools(rd, 1, g), TD_EINVAL);
	td_recording_free(rd);
	td_graph_free(g);
}
END_TEST

/* Edges added out of call order (kept as an edge list by the batch) are recorded per call. */
START_TEST(edge_list_depends)
{
	struct td_batch *b;
	cJSON *line, *deps;
	char *text;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "e0", "a", NULL), 0);
	ck_assert_int_eq(td_batch_add(b, "e1", "a", NULL), 1);
	ck_assert_int_eq(td_batch_add(b, "e2", "a", NULL), 2);
	ck_assert_int_eq(td_batch_depend(b, 2, 0), 0);
	ck_assert_int_eq(td_batch_depend(b, 1, 0), 0);
	ck_assert_int_eq(td_batch_depend(b, 2, 1), 0);
	record_once(b);
	text = slurp(PATH_, NULL);
	line = cJSON_Parse(text);
	ck_assert_ptr_null(cJSON_GetObjectItem(call_of(line, 0), "depends_on"));
	deps = cJSON_GetObjectItem(call_of(line, 1), "depends_on");
	ck_assert_int_eq(cJSON_GetArraySize(deps), 1);
	ck_assert_int_eq(cJSON_GetArrayItem(deps, 0)->valueint, 0);
	deps = cJSON_GetObjectItem(call_of(line, 2), "depends_on");
	ck_assert_int_eq(cJSON_GetArraySize(deps), 2);
	ck_assert_int_eq(cJSON_GetArrayItem(deps, 0)->valueint, 0);
	ck_assert_int_eq(cJSON_GetArrayItem(deps, 1)->valueint, 1);
	cJSON_Delete(line);
	free(text);
	td_batch_free(b);
}
END_TEST

/* The recorded batch rebuilt: ids, tools, inputs, explicit edges, dialect. */
START_TEST(batch_rebuilt)
{
	struct td_recording *rd;
	struct td_batch *b = sample(TD_DIALECT_RESPONSES), *again;
	struct td_plan *p;
	uint32_t deps[4];
	size_t i;

	record_once(b);
	ck_assert_int_eq(td_recording_open(PATH_, &rd, NULL), 1);
	ck_assert_int_eq(td_recording_batch(rd, 0, G, &again, NULL), 0);
	ck_assert_int_eq(td_batch_dialect(again), TD_DIALECT_RESPONSES);
	ck_assert_uint_eq(td_batch_count(again), td_batch_count(b));
	for (i = 0; i < td_batch_count(b); i++) {
		ck_assert_str_eq(td_batch_call_id(again, i), td_batch_call_id(b, i));
		ck_assert_str_eq(td_batch_call_tool(again, i), td_batch_call_tool(b, i));
		ck_assert_str_eq(td_batch_call_input(again, i), td_batch_call_input(b, i));
	}
	ck_assert_int_eq(td_plan_new(again, &p, NULL), 0);
	ck_assert_int_eq(td_plan_call_deps(p, 1, deps, 4), 1);
	ck_assert_uint_eq(deps[0], 0);
	td_plan_free(p);
	td_batch_free(again);
	ck_assert_int_eq(td_recording_batch(rd, 1, G, &again, NULL), TD_EINVAL);
	td_recording_free(rd);
	td_batch_free(b);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, line_has_every_field);
	tcase_add_test(tc, replay_is_byte_identical);
	tcase_add_test(tc, torn_last_line_ignored);
	tcase_add_test(tc, bad_files_refused);
	tcase_add_test(tc, nul_content_decoded_whole);
	tcase_add_test(tc, write_error_kept);
	tcase_add_test(tc, concurrent_threads_one_recorder);
	tcase_add_test(tc, concurrent_processes_one_file);
	tcase_add_test(tc, freed_early_recorded);
	tcase_add_test(tc, batch_rebuilt);
	tcase_add_test(tc, edge_list_depends);
	tcase_add_test(tc, torn_tail_cut_by_next_writer);
	tcase_add_test(tc, write_cut_short_leaves_file);
	tcase_add_test(tc, chunked_line_same_wherever_written);
	tcase_add_test(tc, ids_and_tool_names_escaped);
	tcase_add_test(tc, server_settings_in_tools_hash);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(record_suite());
}
