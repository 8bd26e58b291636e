/* SPDX-License-Identifier: MIT */
/*
 * mcp_result.c - an MCP CallToolResult as the text of a tool result, and, when it holds images,
 * as content blocks for the dialects that carry them. The text:
 *
 *   text                   its text
 *   image, audio           "[image: image/png, 1234 bytes of base64 data]" (a stand-in)
 *   resource_link          "[resource link: NAME <URI> (MIME): DESCRIPTION]"
 *   resource (embedded)    "[resource URI (MIME)]" then its text, or the size of its blob
 *   structuredContent      appended as JSON after "structuredContent: " unless a text block
 *                          already carries it: its JSON, or the text or JSON of one of its
 *                          members (servers are asked to send it as text too)
 *
 * Blocks are separated by one newline. isError: true makes the result an error result.
 *
 * The blocks (a JSON array in Anthropic's form, which the results encoder turns into each
 * dialect's): an image becomes {"type":"image","source":{"type":"base64","media_type",
 * "data"}}, every other block a text block of the text above (audio keeps its stand-in).
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "exec/mcp.h"

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void media(const cJSON *b, const char *kind, struct td__buf *out)
{
	const char *mime = str(b, "mimeType"), *data = str(b, "data");

	td__buf_printf(out, "[%s: %s, %zu bytes of base64 data]", kind,
	               mime ? mime : "unknown type", data ? strlen(data) : (size_t)0);
}

static void link(const cJSON *b, struct td__buf *out)
{
	const char *name = str(b, "name"), *uri = str(b, "uri"), *mime = str(b, "mimeType");
	const char *desc = str(b, "description");

	td__buf_printf(out, "[resource link: %s <%s>", name ? name : "", uri ? uri : "");
	if (mime)
		td__buf_printf(out, " (%s)", mime);
	if (desc)
		td__buf_printf(out, ": %s", desc);
	td__buf_putc(out, ']');
}

static void embedded(const cJSON *b, struct td__buf *out)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "resource");
	const char *uri = str(r, "uri"), *mime = str(r, "mimeType");
	const char *text = str(r, "text"), *blob = str(r, "blob");

	td__buf_printf(out, "[resource %s", uri ? uri : "");
	if (mime)
		td__buf_printf(out, " (%s)", mime);
	if (text)
		td__buf_printf(out, "]\n%s", text);
	else
		td__buf_printf(out, ": %zu bytes of base64 data]", blob ? strlen(blob) : (size_t)0);
}

static void block(const cJSON *b, struct td__buf *out)
{
	const char *type = str(b, "type"), *text = str(b, "text");
	char *json;

	if (type && !strcmp(type, "text"))
		td__buf_puts(out, text ? text : "");
	else if (type && !strcmp(type, "image"))
		media(b, "image", out);
	else if (type && !strcmp(type, "audio"))
		media(b, "audio", out);
	else if (type && !strcmp(type, "resource_link"))
		link(b, out);
	else if (type && !strcmp(type, "resource"))
		embedded(b, out);
	else if ((json = cJSON_PrintUnformatted(b))) { /* a kind newer than this code: as is */
		td__buf_puts(out, json);
		cJSON_free(json);
	}
}

/* Whether v is structured or one of its members (servers often send {"content": TEXT}). */
static int same_data(const cJSON *v, const cJSON *structured)
{
	const cJSON *m, *obj = cJSON_IsObject(structured) ? structured : NULL;

	if (cJSON_Compare(v, structured, 1))
		return 1;
	cJSON_ArrayForEach(m, obj)
	{
		if (cJSON_Compare(v, m, 1))
			return 1;
	}
	return 0;
}

/*
 * Whether some text block already carries the structured content (the spec asks servers to
 * send it as text too): as its JSON, or as the text or JSON of one of its members.
 */
static int has_text_copy(const cJSON *content, const cJSON *structured)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, content)
	{
		const char *t = str(b, "text");
		cJSON *v;
		int same;

		if (!t)
			continue;
		if (!(v = cJSON_Parse(t)) && !(v = cJSON_CreateString(t)))
			continue;
		same = same_data(v, structured);
		cJSON_Delete(v);
		if (same)
			return 1;
	}
	return 0;
}

int td__mcp_result_text(const cJSON *result, struct td__buf *out)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content");
	const cJSON *structured = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
	const cJSON *b, *list = cJSON_IsArray(content) ? content : NULL;
	int n = 0;

	cJSON_ArrayForEach(b, list)
	{
		if (n++)
			td__buf_putc(out, '\n');
		block(b, out);
	}
	if (structured && !(cJSON_IsArray(content) && has_text_copy(content, structured))) {
		char *json = cJSON_PrintUnformatted(structured);

		if (json) {
			td__buf_printf(out, "%sstructuredContent: %s", n ? "\n" : "", json);
			cJSON_free(json);
		}
	}
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "isError"));
}

static void text_block(struct td__buf *out, const char *s, size_t len)
{
	td__buf_puts(out, "{\"type\":\"text\",\"text\":");
	td__buf_json_string(out, s, len);
	td__buf_putc(out, '}');
}

static void image_block(const cJSON *b, struct td__buf *out)
{
	const char *mime = str(b, "mimeType"), *data = str(b, "data");

	td__buf_puts(out, "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":");
	td__buf_json_string(out, mime, strlen(mime));
	td__buf_puts(out, ",\"data\":");
	td__buf_json_string(out, data, strlen(data));
	td__buf_puts(out, "}}");
}

static int is_image(const cJSON *b)
{
	const char *type = str(b, "type");

	return type && !strcmp(type, "image") && str(b, "mimeType") && str(b, "data");
}

int td__mcp_result_blocks(const cJSON *result, struct td__buf *out)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content");
	const cJSON *structured = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
	const cJSON *b, *list = cJSON_IsArray(content) ? content : NULL;
	struct td__buf t = {0};
	int images = 0, n = 0;

	cJSON_ArrayForEach(b, list) images += is_image(b);
	if (!images)
		return 0;
	td__buf_putc(out, '[');
	cJSON_ArrayForEach(b, list)
	{
		if (n++)
			td__buf_putc(out, ',');
		if (is_image(b)) {
			image_block(b, out);
			continue;
		}
		t.len = 0;
		block(b, &t);
		text_block(out, t.data ? t.data : "", t.len);
	}
	if (structured && !has_text_copy(content, structured)) {
		char *json = cJSON_PrintUnformatted(structured);

		t.len = 0;
		if (json) {
			td__buf_printf(&t, "structuredContent: %s", json);
			td__buf_putc(out, ',');
			text_block(out, t.data ? t.data : "", t.len);
			cJSON_free(json);
		}
	}
	td__buf_putc(out, ']');
	out->oom |= t.oom;
	td__buf_free(&t);
	return 1;
}
