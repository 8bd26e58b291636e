/* SPDX-License-Identifier: MIT */
/*
 * chart.c - SVG charts written by hand (no runtime dependency): makespan vs concurrency per
 * policy with the lower bound, and a Gantt chart of one run, one lane per slot, calls coloured
 * by level, so the idle gaps the level barrier leaves show at a glance.
 */
#include <stdlib.h>
#include <string.h>

#include "tooldag-bench/bench.h"
#include "tooldag-bench/sim.h"

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPAL (sizeof(PALETTE) / sizeof(PALETTE[0]))

static void svg_text_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static void svg_open(FILE *f, int w, int h, const char *title, const struct sim_input *in)
{
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n"
	        "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	        "<text x=\"10\" y=\"18\" font-size=\"14\">",
	        w, h);
	svg_text_escaped(f, title);
	fputs(": ", f);
	svg_text_escaped(f, in->name);
	fprintf(f, " (%zu calls, %zu levels)</text>\n", in->n, in->nlevels);
}

/* ---- Gantt ---- */

struct ev {
	int64_t start, end;
	uint32_t call;
};

static int by_start(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->call > y->call) - (x->call < y->call);
}

/* Lowest free lane for each call in start order; returns the number of lanes used. */
static unsigned assign_lanes(struct ev *ev, size_t n, unsigned *lane)
{
	int64_t *lane_end = xcalloc(n ? n : 1, sizeof(*lane_end));
	unsigned used = 0, l;
	size_t i;

	qsort(ev, n, sizeof(*ev), by_start);
	for (i = 0; i < n; i++) {
		for (l = 0; l < used && lane_end[l] > ev[i].start; l++)
			;
		if (l == used)
			used++;
		lane_end[l] = ev[i].end;
		lane[i] = l;
	}
	free(lane_end);
	return used;
}

int svg_gantt(const char *path, const struct sim_input *in, const struct sim_result *res)
{
	struct ev *ev = xcalloc(in->n ? in->n : 1, sizeof(*ev));
	unsigned *lane = xcalloc(in->n ? in->n : 1, sizeof(*lane)), lanes;
	const int w = 1000, left = 60, right = 20, top = 40;
	int lane_h, h;
	double sx;
	size_t i;
	char title[128];
	FILE *f;

	for (i = 0; i < in->n; i++) {
		ev[i].start = res->start_us[i];
		ev[i].end = res->end_us[i];
		ev[i].call = (uint32_t)i;
	}
	lanes = assign_lanes(ev, in->n, lane);
	lane_h = lanes > 200 ? 2 : lanes > 50 ? 6 : 16;
	h = top + (int)lanes * lane_h + 40;
	sx = (double)(w - left - right) / (double)(res->makespan_us ? res->makespan_us : 1);
	if (!(f = open_out(path))) {
		free(ev);
		free(lane);
		return -1;
	}
	snprintf(title, sizeof(title), "Gantt, policy %s, j=%u (0: unlimited), makespan %.3f ms",
	         policy_name(res->policy), res->j, res->makespan_us / 1000.0);
	svg_open(f, w, h, title, in);
	for (i = 0; i < in->n; i++) {
		double x = left + ev[i].start * sx, wd = (ev[i].end - ev[i].start) * sx;
		int lvl = in->level[ev[i].call];

		fprintf(f,
		        "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
		        "stroke=\"white\" stroke-width=\"0.3\"><title>",
		        x, top + (int)lane[i] * lane_h, wd > 0.5 ? wd : 0.5, lane_h,
		        PALETTE[(lvl < 0 ? 0 : (size_t)lvl) % NPAL]);
		svg_text_escaped(f, td_batch_call_id(in->batch, ev[i].call));
		fprintf(f, " (level %d): %.3f-%.3f ms</title></rect>\n", lvl, ev[i].start / 1000.0,
		        ev[i].end / 1000.0);
	}
	fprintf(f,
	        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
	        "<text x=\"%d\" y=\"%d\">0</text><text x=\"%d\" y=\"%d\" "
	        "text-anchor=\"end\">%.3f ms</text>\n"
	        "<text x=\"5\" y=\"%d\">%u slots</text>\n",
	        left, h - 30, w - right, h - 30, left, h - 15, w - right, h - 15,
	        res->makespan_us / 1000.0, top + 12, lanes);
	fputs("</svg>\n", f);
	free(ev);
	free(lane);
	return close_out(f, path);
}

/* ---- makespan vs concurrency ---- */

static double ratio(const struct sim_result *r)
{
	return r->lower_bound_us ? (double)r->makespan_us / (double)r->lower_bound_us : 1.0;
}

/*
 * y = makespan / lower bound (max(critical path, work / j)): absolute makespans fall so fast
 * with j that the policies' curves merge; relative to the bound the barrier's cost stands out.
 */
int svg_makespans(const char *path, const struct sim_input *in, const struct sim_result *res,
                  const enum td_schedule *pol, size_t np, const unsigned *js, size_t nj)
{
	const int w = 700, h = 420, left = 70, right = 130, top = 40, bottom = 50;
	double ymax = 1.0, sx, sy;
	size_t p, k;
	FILE *f;

	for (k = 0; k < np * nj; k++)
		if (ratio(&res[k]) > ymax)
			ymax = ratio(&res[k]);
	ymax = 1.0 + (ymax - 1.0) * 1.1 + 0.01;
	sx = nj > 1 ? (double)(w - left - right) / (double)(nj - 1) : 0;
	sy = (double)(h - top - bottom) / (ymax - 1.0);
	if (!(f = open_out(path)))
		return -1;
	svg_open(f, w, h, "Makespan / lower bound vs concurrency", in);
	fprintf(f,
	        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"gray\" "
	        "stroke-dasharray=\"4 3\"/>\n",
	        left, h - bottom, w - right, h - bottom);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, top,
	        left, h - bottom);
	fprintf(f, "<text x=\"5\" y=\"%d\">%.3f</text><text x=\"5\" y=\"%d\">1 (bound)</text>\n",
	        top + 5, ymax, h - bottom + 4);
	for (k = 0; k < nj; k++) {
		char j[16];

		snprintf(j, sizeof(j), js[k] ? "j=%u" : "j=inf", js[k]);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        left + k * sx, h - bottom + 18, j);
	}
	for (p = 0; p < np; p++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
		        PALETTE[p % NPAL]);
		for (k = 0; k < nj; k++)
			fprintf(f, "%.1f,%.1f ", left + k * sx,
			        h - bottom - (ratio(&res[p * nj + k]) - 1.0) * sy);
		fprintf(f, "\"/>\n<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", w - right + 8,
		        top + 12 + (int)p * 16, PALETTE[p % NPAL], policy_name(pol[p]));
		for (k = 0; k < nj; k++)
			fprintf(f,
			        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s "
			        "j=%u: %.3f ms, %.4f x the bound</title></circle>\n",
			        left + k * sx, h - bottom - (ratio(&res[p * nj + k]) - 1.0) * sy,
			        PALETTE[p % NPAL], policy_name(pol[p]), js[k],
			        res[p * nj + k].makespan_us / 1000.0, ratio(&res[p * nj + k]));
	}
	fputs("</svg>\n", f);
	return close_out(f, path);
}
