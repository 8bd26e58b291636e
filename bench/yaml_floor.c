/* SPDX-License-Identifier: MIT */
/*
 * yaml_floor.c - how far loading a graph is from the cost of libyaml itself.
 *
 *   yaml_floor FILE [ROUNDS]        (default 5 rounds)
 *   yaml_floor FILE 1 events|load   one pass of one side only (for callgrind / perf)
 *
 * Reads FILE once, then per round: the bare libyaml event loop over the buffer (parse every
 * event and delete it: no tree, no copies, no checks - the floor any libyaml-based loader
 * stands on), and td_graph_load_buffer() on the same buffer, the two interleaved. Prints one
 * JSON line with the median CPU seconds of each and their ratio (the medians of the same-round
 * ratios). CPU time, not wall: the machine is shared. The only bench program that includes
 * yaml.h: the library keeps it in src/load/ytree.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "bench_median.h"
#include "tooldag.h"

#define MAX_ROUNDS 101

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
		fclose(f);
		return buf;
	}
	free(buf);
	fclose(f);
	return NULL;
}

/* The floor: every event parsed and deleted. Returns the event count, or -1. */
static long events(const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	long n = 0;
	int done = 0;

	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			n = -1;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		n++;
	}
	yaml_parser_delete(&p);
	return n;
}

static int load(const char *buf, size_t len, const char *path)
{
	struct td_diag diag = {0};
	struct td_graph *g = NULL;
	char line[1024];
	int r = td_graph_load_buffer(buf, len, path, NULL, &g, &diag);

	if (r < 0) {
		td_diag_format(&diag.items[0], line, sizeof(line));
		fprintf(stderr, "yaml_floor: %s: %s\n", td_strerror(r), diag.count ? line : "");
	}
	td_diag_clear(&diag);
	td_graph_free(g);
	return r;
}

int main(int argc, char **argv)
{
	double ev_s[MAX_ROUNDS], load_s[MAX_ROUNDS], ratio[MAX_ROUNDS], t0;
	const char *only = argc > 3 ? argv[3] : "";
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5, i;
	long nev = 0;
	size_t len = 0;
	char *buf;

	if (argc < 2 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: yaml_floor FILE [ROUNDS (1-%d)] [events|load]\n",
		        MAX_ROUNDS);
		return 1;
	}
	if (!(buf = slurp(argv[1], &len))) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < rounds; i++) {
		t0 = cpu_s();
		if (strcmp(only, "load") != 0 && (nev = events(buf, len)) < 0) {
			fprintf(stderr, "yaml_floor: %s: not YAML\n", argv[1]);
			return 1;
		}
		ev_s[i] = cpu_s() - t0;
		t0 = cpu_s();
		if (strcmp(only, "events") != 0 && load(buf, len, argv[1]) < 0)
			return 1;
		load_s[i] = cpu_s() - t0;
		ratio[i] = ev_s[i] > 0 ? load_s[i] / ev_s[i] : 0;
	}
	printf("{\"file\":\"%s\",\"bytes\":%zu,\"events\":%ld,\"rounds\":%d,\"libyaml_s\":%.4f,"
	       "\"load_s\":%.4f,\"load_over_libyaml\":%.2f}\n",
	       argv[1], len, nev, rounds, median(ev_s, rounds), median(load_s, rounds),
	       median(ratio, rounds));
	free(buf);
	return 0;
}
