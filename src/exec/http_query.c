/* SPDX-License-Identifier: MIT */
/*
 * http_query.c - the call's input as URL query parameters (see http_query.h).
 */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "exec/http_query.h"

static void put_encoded(struct td__buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			td__buf_putc(b, (char)c);
			continue;
		}
		td__buf_putc(b, '%');
		td__buf_putc(b, hex[c >> 4]);
		td__buf_putc(b, hex[c & 15]);
	}
}

/* The value's text: a string as is, anything else as compact JSON. */
static int put_value(struct td__buf *b, const cJSON *v)
{
	char *json;

	if (cJSON_IsString(v)) {
		put_encoded(b, v->valuestring, strlen(v->valuestring));
		return 0;
	}
	json = cJSON_PrintUnformatted(v);
	if (!json)
		return TD_ENOMEM;
	put_encoded(b, json, strlen(json));
	cJSON_free(json);
	return 0;
}

static int put_pair(struct td__buf *b, const char *name, const cJSON *v, char *sep)
{
	if (cJSON_IsNull(v))
		return 0;
	td__buf_putc(b, *sep);
	*sep = '&';
	put_encoded(b, name, strlen(name));
	td__buf_putc(b, '=');
	return put_value(b, v);
}

static int put_fields(struct td__buf *b, const cJSON *obj, char sep)
{
	const cJSON *f, *e;
	int r = 0;

	cJSON_ArrayForEach(f, obj)
	{
		if (!cJSON_IsArray(f)) {
			r = put_pair(b, f->string, f, &sep);
		} else {
			cJSON_ArrayForEach(e, f)
			{
				if ((r = put_pair(b, f->string, e, &sep)) < 0)
					break;
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int td__http_query_url(struct td__buf *out, const char *base, const char *input, size_t len)
{
	const char *frag = strchr(base, '#');
	size_t blen = frag ? (size_t)(frag - base) : strlen(base);
	cJSON *in = cJSON_ParseWithLength(input, len);
	int r;

	if (!cJSON_IsObject(in)) {
		cJSON_Delete(in); /* the decoder checked the input: an object, or OOM here */
		return -EINVAL;
	}
	td__buf_append(out, base, blen);
	r = put_fields(out, in, memchr(base, '?', blen) ? '&' : '?');
	if (frag)
		td__buf_puts(out, frag);
	cJSON_Delete(in);
	if (!r && out->oom)
		r = TD_ENOMEM;
	return r;
}
