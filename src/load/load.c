/* SPDX-License-Identifier: MIT */
/*
 * load.c - loading a graph: reading the file safely (no FIFO, device or huge file gets read),
 * parsing it into a ytree, running the declaration and dependency passes, and the graph's
 * accessors and destructor.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load/loader.h"

void td__load_error(struct td__loader *L, uint32_t node, const char *fmt, ...)
{
	unsigned line = 1, col = 1;
	size_t before;
	va_list ap;

	L->nerr++;
	if (node != TD__YNONE && L->doc.nodes[node].stand_in)
		return; /* an unknown alias, reported where it stands */
	if (node != TD__YNONE) {
		line = L->doc.nodes[node].line;
		col = L->doc.nodes[node].column;
	}
	before = L->diag ? L->diag->count : 0;
	va_start(ap, fmt);
	td__diag_vadd(L->diag, TD_EGRAPH, L->file, line, col, fmt, ap);
	va_end(ap);
	td__ydiag_one_line(L->diag, before);
}

/* ---- paths ---- */

static char *join_path(const char *dir, const char *rel)
{
	if (strcmp(rel, ".") == 0)
		return td__strdup(dir);
	if (strncmp(rel, "./", 2) == 0)
		rel += 2;
	return td__asprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
}

/* dir made absolute (symlinks resolved when it exists); NULL on allocation failure. */
static char *absolute_dir(const char *dir)
{
	char cwd[PATH_MAX], *real = realpath(dir, NULL), *out;

	if (real) {
		out = td__strdup(real);
		free(real); /* realpath's own malloc */
		return out;
	}
	if (dir[0] == '/')
		return td__strdup(dir);
	if (!getcwd(cwd, sizeof(cwd)))
		return td__strdup(dir);
	return join_path(cwd, dir);
}

/* The directory part of a file path: "a/b.yaml" -> "a", "b.yaml" -> ".", "/b" -> "/". */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (!slash)
		return absolute_dir(".");
	dir = td__strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return NULL;
	abs = absolute_dir(dir);
	td__free(dir);
	return abs;
}

/* ---- the passes ---- */

static void resolve_cwds(struct td__loader *L)
{
	struct td__tool *t;
	char *abs;
	size_t i;

	for (i = 0; i < L->g->ntools; i++) {
		t = &L->g->tools[i];
		if (!t->cwd || t->cwd[0] == '/')
			continue;
		abs = join_path(L->g->dir, t->cwd);
		if (!abs) {
			L->oom = true;
			return;
		}
		td__free(t->cwd);
		t->cwd = abs;
	}
}

static int check_root(struct td__loader *L)
{
	const struct td__ynode *root;

	if (L->doc.root == TD__YNONE ||
	    (L->doc.nodes[L->doc.root].type == TD_Y_NULL && L->doc.nodes[L->doc.root].len == 0)) {
		td__diag_add(L->diag, TD_EGRAPH, L->file, 0, 0,
		             "empty graph file: expected 'version: 1' and 'tools:'");
		return TD_EGRAPH;
	}
	root = &L->doc.nodes[L->doc.root];
	if (root->type != TD_Y_MAP) {
		td__diag_add(
		    L->diag, TD_EGRAPH, L->file, root->line, root->column,
		    "a graph file must be a mapping with 'version: 1' and 'tools:', got %s",
		    root->type == TD_Y_SEQ ? "a list" : "a plain value");
		return TD_EGRAPH;
	}
	return 0;
}

/* Parses and checks the text into L->g; returns the load's result code. */
static int run_passes(struct td__loader *L, const char *buf, size_t len)
{
	int err = td__ydoc_parse(&L->doc, buf, len, L->file, L->diag);

	if (err && L->doc.root == TD__YNONE)
		return err;
	if (err)
		L->nerr++;
	if (check_root(L))
		return TD_EGRAPH;
	td__load_decl(L);
	if (!L->oom && !L->nerr && !(L->flags & TD_LOAD_NO_PIN))
		td__load_pin(L);
	if (!L->oom)
		resolve_cwds(L);
	if (!L->oom && L->depends)
		td__load_deps(L);
	if (L->oom) {
		td__diag_add(L->diag, TD_ENOMEM, L->file, 0, 0, "out of memory");
		return TD_ENOMEM;
	}
	if (L->nerr)
		return TD_EGRAPH;
	return L->ncycle ? TD_ECYCLE : 0;
}

static int load(const char *buf, size_t len, const char *name, char *dir, unsigned flags,
                struct td_graph **out, struct td_diag *diag)
{
	struct td__loader L = {
	    .file = name, .diag = diag, .budget = TD__YMAX_EXPAND, .flags = flags};
	int err;

	L.g = td__calloc(1, sizeof(*L.g));
	if (!L.g || !dir || !(L.g->name = td__strdup(name))) {
		td__free(L.g);
		td__free(dir);
		td__diag_add(diag, TD_ENOMEM, name, 0, 0, "out of memory");
		return TD_ENOMEM;
	}
	L.g->dir = dir;
	L.g->concurrency = TD_DEFAULT_CONCURRENCY;
	L.g->env_kept = flags & TD_LOAD_KEEP_ENV;
	err = run_passes(&L, buf, len);
	/* the schemas and calls converted to JSON borrow the document's strings */
	L.g->yaml_text = L.doc.arena;
	L.doc.arena.head = NULL;
	td__ydoc_free(&L.doc);
	td__free(L.depends);
	if (err) {
		td_graph_free(L.g);
		return err;
	}
	*out = L.g;
	return 0;
}

int td_graph_load_buffer(const char *buf, size_t len, const char *name, const char *basedir,
                         struct td_graph **out, struct td_diag *diag)
{
	if (!out || (!buf && len))
		return TD_EINVAL;
	*out = NULL;
	return load(buf ? buf : "", len, name ? name : "<buffer>",
	            absolute_dir(basedir ? basedir : "."), TD_LOAD_NO_PIN, out, diag);
}

/* ---- files ---- */

/*
 * Opens path as a regular file of at most TD_GRAPH_MAX_BYTES. O_NONBLOCK so that a FIFO with
 * no writer cannot hang the open; the type check then refuses it before any read.
 */
static int open_graph(const char *path, struct stat *st, struct td_diag *diag)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), err;

	if (fd < 0) {
		err = -errno;
		td__diag_add(diag, err, path, 0, 0, "cannot open graph file: %s", td_strerror(err));
		return err;
	}
	if (fstat(fd, st) < 0) {
		err = -errno;
		td__diag_add(diag, err, path, 0, 0, "cannot read graph file: %s", td_strerror(err));
	} else if (S_ISDIR(st->st_mode)) {
		err = TD_EINVAL;
		td__diag_add(diag, err, path, 0, 0, "is a directory, not a graph file");
	} else if (!S_ISREG(st->st_mode)) {
		err = TD_EINVAL;
		td__diag_add(diag, err, path, 0, 0,
		             "not a regular file (a FIFO, device or socket): give a graph file");
	} else if ((uintmax_t)st->st_size > TD_GRAPH_MAX_BYTES) {
		err = TD_ETOOBIG;
		td__diag_add(diag, err, path, 0, 0,
		             "graph file too large: %jd bytes, the limit is %u MiB",
		             (intmax_t)st->st_size, TD_GRAPH_MAX_BYTES >> 20);
	} else {
		return fd;
	}
	close(fd);
	return err;
}

/* Reads to EOF into a new buffer; the file may have changed size since fstat. */
static int read_all(int fd, const char *path, size_t hint, char **out, size_t *len,
                    struct td_diag *diag)
{
	struct td__buf b = {0};
	ssize_t n;

	/*
	 * A big file goes to huge pages instead of taking a first-touch fault for every 4 KiB
	 * read() fills (1,000 of them for 4 MB, ~19 us each on the VMs we measured): room for
	 * it rounded to 2 MiB plus 2 MiB, so that aligned huge pages fit over all of it (address
	 * space only; what is not read is not touched).
	 */
	td__buf_reserve(&b, hint < (1u << 20) ? hint + 65537
	                                      : (hint + (4u << 20)) & ~(size_t)((2u << 20) - 1));
	if (!b.oom && hint >= (1u << 20))
		td__huge_pages(b.data, b.cap);
	for (;;) {
		td__buf_reserve(&b, 65536);
		if (b.oom) {
			td__buf_free(&b);
			td__diag_add(diag, TD_ENOMEM, path, 0, 0, "out of memory");
			return TD_ENOMEM;
		}
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			td__buf_free(&b);
			td__diag_add(diag, err, path, 0, 0, "cannot read graph file: %s",
			             td_strerror(err));
			return err;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (b.len > TD_GRAPH_MAX_BYTES) {
			td__buf_free(&b);
			td__diag_add(diag, TD_ETOOBIG, path, 0, 0,
			             "graph file too large: the limit is %u MiB",
			             TD_GRAPH_MAX_BYTES >> 20);
			return TD_ETOOBIG;
		}
	}
	*len = b.len;
	*out = b.data;
	return 0;
}

int td_graph_load_file(const char *path, struct td_graph **out, struct td_diag *diag)
{
	return td_graph_load_file_flags(path, 0, out, diag);
}

int td_graph_load_file_flags(const char *path, unsigned flags, struct td_graph **out,
                             struct td_diag *diag)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, err;

	if (!out || !path)
		return TD_EINVAL;
	*out = NULL;
	fd = open_graph(path, &st, diag);
	if (fd < 0)
		return fd;
	err = read_all(fd, path, (size_t)st.st_size, &buf, &len, diag);
	close(fd);
	if (err)
		return err;
	err = load(buf, len, path, dir_of(path), flags, out, diag);
	td__free(buf);
	return err;
}

/* ---- the graph object ---- */

static void free_kv(struct td__kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		td__free(kv[i].key);
		td__free(kv[i].value);
	}
	td__free(kv);
}

static void free_tool(struct td__tool *t)
{
	size_t i;

	td__free(t->name);
	td__free(t->description);
	/* t->schema lives in g->yaml_text (td__ydoc_json_pooled): freed with it */
	for (i = 0; i < t->argc; i++)
		td__free(t->argv[i]);
	td__free(t->argv);
	td__free(t->http.url);
	td__free(t->http.method);
	free_kv(t->http.headers, t->http.nheaders);
	td__free(t->function);
	td__free(t->mcp_tool);
	td__free(t->deps);
	free_kv(t->env, t->nenv);
	td__free(t->cwd);
}

void td_graph_free(struct td_graph *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; g->tools && i < g->ntools; i++)
		free_tool(&g->tools[i]);
	td__free(g->tools);
	td__mcp_servers_free(g->servers, g->nservers);
	td__remotes_free(g->remotes, g->nremotes);
	cJSON_Delete(g->mcp_pin);
	td__strmap_free(&g->by_name);
	cJSON_Delete(g->calls);
	td__free(g->call_pos);
	td__arena_free(&g->yaml_text);
	td__free(g->name);
	td__free(g->dir);
	td__free(g);
}

size_t td_graph_tool_count(const struct td_graph *g)
{
	return g ? g->ntools : 0;
}

const char *td_graph_tool_name(const struct td_graph *g, size_t index)
{
	return g && index < g->ntools ? g->tools[index].name : NULL;
}

int td__graph_find(const struct td_graph *g, const char *name)
{
	uint32_t v;

	return g && name && td__strmap_get(&g->by_name, name, &v) ? (int)v : -1;
}

int td_graph_tool_find(const struct td_graph *g, const char *name)
{
	int i = td__graph_find(g, name);

	return i < 0 ? TD_ENOTFOUND : i;
}

int td_graph_has_calls(const struct td_graph *g)
{
	return g && g->calls ? 1 : 0;
}

unsigned td_graph_concurrency(const struct td_graph *g)
{
	return g ? g->concurrency : TD_DEFAULT_CONCURRENCY;
}
