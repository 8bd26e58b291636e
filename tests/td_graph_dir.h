/* SPDX-License-Identifier: MIT */
/*
 * td_graph_dir.h - the set-up of suites whose runs write a file (a history, a recording): a
 * private temporary directory, a graph loaded from YAML text with that directory as its base,
 * and the path of one file in it; the teardown frees the graph and removes the file, its
 * ".lock" and the directory.
 *
 *   static struct td_graph *G;
 *   static char DIR_[64], PATH_[96];
 *   static void setup(void) { td_graph_dir_open(GRAPH, "td-hist", "durations", &G, DIR_, PATH_); }
 *   static void teardown(void) { td_graph_dir_close(G, DIR_, PATH_); }
 */
#ifndef TD_GRAPH_DIR_H
#define TD_GRAPH_DIR_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tooldag.h"

#define TD_GRAPH_DIR_LEN  64
#define TD_GRAPH_PATH_LEN 96

static inline void td_graph_dir_open(const char *yaml, const char *prefix, const char *file,
                                     struct td_graph **g, char dir[TD_GRAPH_DIR_LEN],
                                     char path[TD_GRAPH_PATH_LEN])
{
	struct td_diag d = {0};

	snprintf(dir, TD_GRAPH_DIR_LEN, "/tmp/%s-XXXXXX", prefix);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, TD_GRAPH_PATH_LEN, "%s/%s", dir, file);
	ck_assert_msg(td_graph_load_buffer(yaml, strlen(yaml), "g.yaml", dir, g, &d) == 0, "%s",
	              d.count ? d.items[0].message : "?");
	td_diag_clear(&d);
}

static inline void td_graph_dir_close(struct td_graph *g, const char *dir, const char *path)
{
	char lock[TD_GRAPH_PATH_LEN + 8];

	td_graph_free(g);
	unlink(path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	unlink(lock);
	rmdir(dir);
}

#endif /* TD_GRAPH_DIR_H */
