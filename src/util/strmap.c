/* SPDX-License-Identifier: MIT */
/* strmap.c - string -> index map with open addressing and linear probing (FNV-1a hash). */
#include <string.h>

#include "util.h"

uint64_t td__hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int grow(struct td__strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16, i, j;
	const char **keys = td__calloc(cap, sizeof(*keys));
	uint32_t *vals = td__malloc(cap * sizeof(*vals));

	if (!keys || !vals) {
		td__free(keys);
		td__free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		j = td__hash(m->keys[i], strlen(m->keys[i])) & (cap - 1);
		while (keys[j])
			j = (j + 1) & (cap - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	td__free(m->keys);
	td__free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

/* Where key is, or the empty slot where it would go (the map has room: cap > 0). */
static size_t slot(const struct td__strmap *m, const char *key)
{
	size_t j = td__hash(key, strlen(key)) & (m->cap - 1);

	while (m->keys[j] && strcmp(m->keys[j], key) != 0)
		j = (j + 1) & (m->cap - 1);
	return j;
}

int td__strmap_put(struct td__strmap *m, const char *key, uint32_t val, uint32_t *old)
{
	size_t j;

	/* keep the load factor under 1/2 so probes stay short */
	if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	j = slot(m, key);
	if (m->keys[j]) {
		if (old)
			*old = m->vals[j];
		return 1;
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->count++;
	return 0;
}

int td__strmap_get(const struct td__strmap *m, const char *key, uint32_t *val)
{
	size_t j;

	if (!m->cap)
		return 0;
	j = slot(m, key);
	if (!m->keys[j])
		return 0;
	if (val)
		*val = m->vals[j];
	return 1;
}

void td__strmap_free(struct td__strmap *m)
{
	td__free(m->keys);
	td__free(m->vals);
	memset(m, 0, sizeof(*m));
}
