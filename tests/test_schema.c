/* SPDX-License-Identifier: MIT */
/* test_schema.c - the JSON Schema subset: every keyword accepted and violated, exact messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "schema/schema.h"
#include "util/util.h"

static char msg[512];

/* Validates input (JSON text, NULL: absent) against schema; returns "" or the message. */
static const char *val(const char *schema, const char *input)
{
	cJSON *s = cJSON_Parse(schema), *in = input ? cJSON_Parse(input) : NULL;
	int r;

	ck_assert_ptr_nonnull(s);
	ck_assert(!input || in);
	r = td__schema_validate(s, in, msg, sizeof(msg));
	ck_assert_int_eq(r == 0, msg[0] == '\0');
	if (r)
		ck_assert_int_eq(r, TD_EINVAL);
	cJSON_Delete(s);
	cJSON_Delete(in);
	return msg;
}

static const char *chk(const char *schema)
{
	cJSON *s = cJSON_Parse(schema);
	int r;

	ck_assert_ptr_nonnull(s);
	r = td__schema_check(s, msg, sizeof(msg));
	ck_assert_int_eq(r == 0, msg[0] == '\0');
	if (r)
		ck_assert_int_eq(r, TD_EGRAPH);
	cJSON_Delete(s);
	return msg;
}

#define OK(schema, input)     ck_assert_str_eq(val(schema, input), "")
#define BAD(schema, input, m) ck_assert_str_eq(val(schema, input), m)

START_TEST(type_single)
{
	OK("{\"type\":\"object\"}", "{}");
	OK("{\"type\":\"object\"}", NULL); /* absent input is {} */
	BAD("{\"type\":\"object\"}", "[]", "input: expected object, got array");
	BAD("{\"properties\":{\"city\":{\"type\":\"string\"}}}", "{\"city\":5}",
	    "input.city: expected string, got number");
	OK("{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":5}");
	OK("{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":5.0}");
	BAD("{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":5.5}",
	    "input.n: expected integer, got number");
	OK("{\"properties\":{\"n\":{\"type\":\"number\"}}}", "{\"n\":5.5}");
	BAD("{\"properties\":{\"b\":{\"type\":\"boolean\"}}}", "{\"b\":null}",
	    "input.b: expected boolean, got null");
	OK("{\"properties\":{\"b\":{\"type\":\"null\"}}}", "{\"b\":null}");
	BAD("{\"properties\":{\"b\":{\"type\":\"array\"}}}", "{\"b\":\"x\"}",
	    "input.b: expected array, got string");
	BAD("{\"properties\":{\"b\":{\"type\":\"string\"}}}", "{\"b\":true}",
	    "input.b: expected string, got boolean");
}
END_TEST

START_TEST(type_list)
{
	const char *s = "{\"properties\":{\"v\":{\"type\":[\"string\",\"null\"]}}}";

	OK(s, "{\"v\":\"x\"}");
	OK(s, "{\"v\":null}");
	BAD(s, "{\"v\":1}", "input.v: expected string or null, got number");
}
END_TEST

START_TEST(required)
{
	const char *s = "{\"type\":\"object\",\"required\":[\"city\",\"units\"]}";

	OK(s, "{\"city\":\"Paris\",\"units\":\"metric\"}");
	BAD(s, "{\"units\":\"metric\"}", "input: missing required property 'city'");
	BAD(s, "{\"city\":\"Paris\"}", "input: missing required property 'units'");
	BAD(s, NULL, "input: missing required property 'city'");
	BAD("{\"properties\":{\"loc\":{\"type\":\"object\",\"required\":[\"lat\"]}}}",
	    "{\"loc\":{}}", "input.loc: missing required property 'lat'");
}
END_TEST

START_TEST(enum_and_const)
{
	const char *s = "{\"properties\":{\"units\":{\"enum\":[\"metric\",\"imperial\"]}}}";

	OK(s, "{\"units\":\"metric\"}");
	BAD(s, "{\"units\":\"kelvin\"}",
	    "input.units: 'kelvin' is not one of 'metric', 'imperial'");
	BAD("{\"properties\":{\"n\":{\"enum\":[1,2,null]}}}", "{\"n\":3}",
	    "input.n: 3 is not one of 1, 2, null");
	OK("{\"properties\":{\"n\":{\"enum\":[1,2,null]}}}", "{\"n\":null}");
	OK("{\"properties\":{\"m\":{\"const\":\"fast\"}}}", "{\"m\":\"fast\"}");
	BAD("{\"properties\":{\"m\":{\"const\":\"fast\"}}}", "{\"m\":\"slow\"}",
	    "input.m: must be 'fast', got 'slow'");
	BAD("{\"properties\":{\"m\":{\"const\":{\"a\":1}}}}", "{\"m\":[1]}",
	    "input.m: must be {\"a\":1}, got [1]");
}
END_TEST

START_TEST(additional_properties)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
	                "\"additionalProperties\":false}";

	OK(s, "{\"city\":\"Paris\"}");
	BAD(s, "{\"city\":\"Paris\",\"foo\":1}",
	    "input: unexpected property 'foo' (additionalProperties is false)");
	s = "{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"number\"}}";
	OK(s, "{\"a\":\"x\",\"b\":1}");
	BAD(s, "{\"a\":\"x\",\"b\":\"y\"}", "input.b: expected number, got string");
	BAD(s, "{\"a b\":\"y\"}", "input[\"a b\"]: expected number, got string");
}
END_TEST

START_TEST(items_and_counts)
{
	const char *s = "{\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":"
	                "\"string\"},\"minItems\":1,\"maxItems\":3}}}";

	OK(s, "{\"tags\":[\"a\",\"b\"]}");
	BAD(s, "{\"tags\":[\"a\",\"b\",7]}", "input.tags[2]: expected string, got number");
	BAD(s, "{\"tags\":[]}", "input.tags: 0 items is less than minItems 1");
	BAD(s, "{\"tags\":[\"a\",\"b\",\"c\",\"d\"]}",
	    "input.tags: 4 items is greater than maxItems 3");
	BAD("{\"properties\":{\"m\":{\"items\":{\"properties\":{\"x\":{\"type\":\"string\"}}}}}}",
	    "{\"m\":[{\"x\":\"a\"},{\"x\":1}]}", "input.m[1].x: expected string, got number");
}
END_TEST

START_TEST(lengths_and_bounds)
{
	const char *s =
	    "{\"properties\":{\"c\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}}}";
	const char *n = "{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":10.5}}}";

	OK(s, "{\"c\":\"ab\"}");
	OK(s, "{\"c\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}"); /* 3 code points, 6 bytes */
	BAD(s, "{\"c\":\"a\"}", "input.c: length 1 is less than minLength 2");
	BAD(s, "{\"c\":\"abcd\"}", "input.c: length 4 is greater than maxLength 3");
	OK(n, "{\"n\":1}");
	OK(n, "{\"n\":10.5}");
	BAD(n, "{\"n\":0}", "input.n: 0 is less than minimum 1");
	BAD(n, "{\"n\":11}", "input.n: 11 is greater than maximum 10.5");
	BAD(n, "{\"n\":-0.25}", "input.n: -0.25 is less than minimum 1");
}
END_TEST

START_TEST(boolean_and_unknown)
{
	OK("{\"properties\":{\"a\":true}}", "{\"a\":1}");
	BAD("{\"properties\":{\"a\":false}}", "{\"a\":1}",
	    "input.a: no value is allowed here (schema is false)");
	OK("{\"pattern\":\"^x$\",\"format\":\"email\"}", "{}"); /* unknown keywords ignored */
	ck_assert_int_eq(td__schema_validate(NULL, NULL, msg, sizeof(msg)), 0);
}
END_TEST

/* A schema nested deeper than the bound fails cleanly instead of recursing without end. */
START_TEST(depth_bound)
{
	char schema[8192] = "", input[8192] = "";
	size_t i, s = 0, n = 0;

	for (i = 0; i < 200; i++) {
		s += (size_t)snprintf(schema + s, sizeof(schema) - s, "{\"properties\":{\"a\":");
		n += (size_t)snprintf(input + n, sizeof(input) - n, "{\"a\":");
	}
	s += (size_t)snprintf(schema + s, sizeof(schema) - s, "{}");
	n += (size_t)snprintf(input + n, sizeof(input) - n, "1");
	for (i = 0; i < 200; i++) {
		s += (size_t)snprintf(schema + s, sizeof(schema) - s, "}}");
		n += (size_t)snprintf(input + n, sizeof(input) - n, "}");
	}
	val(schema, input);
	ck_assert_msg(strstr(msg, ": nested deeper than 128 levels"), "%s", msg);
	ck_assert(strncmp(msg, "input.a.a.a.", 12) == 0);
	chk(schema);
	ck_assert_msg(strstr(msg, ": nested deeper than 128 levels"), "%s", msg);
}
END_TEST

START_TEST(check_schema)
{
	ck_assert_str_eq(chk("{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":"
	                     "{\"type\":[\"string\",\"null\"],\"minLength\":1}},"
	                     "\"additionalProperties\":false}"),
	                 "");
	ck_assert_str_eq(chk("true"), "");
	ck_assert_str_eq(chk("[]"), "input_schema: a schema must be a mapping (or true/false)");
	ck_assert_str_eq(chk("{\"type\":\"strin\"}"),
	                 "input_schema.type: unknown type 'strin' (did you mean 'string'?)");
	ck_assert_str_eq(chk("{\"type\":\"zzzzzzzz\"}"),
	                 "input_schema.type: unknown type 'zzzzzzzz'");
	ck_assert_str_eq(chk("{\"type\":5}"),
	                 "input_schema.type: must be a type name or a list of them");
	ck_assert_str_eq(
	    chk("{\"properties\":{\"x\":{\"type\":[\"string\",null]}}}"),
	    "input_schema.properties.x.type: holds a null value, not the type name (in "
	    "YAML, quote it: 'null')");
	ck_assert_str_eq(
	    chk("{\"type\":\"array\"}"),
	    "input_schema.type: must be 'object' at the top: a model's arguments are a "
	    "JSON object, got 'array'");
	ck_assert_str_eq(chk("{\"properties\":{\"a\":{\"type\":\"array\"}}}"), "");
	ck_assert_str_eq(
	    chk("{\"properties\":{\"a\":{\"enum\":[]}}}"),
	    "input_schema.properties.a.enum: is empty: no value could ever match (give at "
	    "least one)");
	ck_assert_str_eq(chk("{\"type\":null}"),
	                 "input_schema.type: holds a null value, not the type name (in YAML, quote "
	                 "it: 'null')");
	ck_assert_str_eq(chk("{\"required\":\"a\"}"),
	                 "input_schema.required: must be a list of property names");
	ck_assert_str_eq(chk("{\"required\":[1]}"),
	                 "input_schema.required: must be a list of property names");
	ck_assert_str_eq(chk("{\"properties\":[]}"),
	                 "input_schema.properties: must be a mapping of property names to schemas");
	ck_assert_str_eq(chk("{\"properties\":{\"city\":{\"type\":\"strng\"}}}"),
	                 "input_schema.properties.city.type: unknown type 'strng' (did you mean "
	                 "'string'?)");
	ck_assert_str_eq(chk("{\"enum\":\"a\"}"), "input_schema.enum: must be a list of values");
	ck_assert_str_eq(
	    chk("{\"additionalProperties\":1}"),
	    "input_schema.additionalProperties: a schema must be a mapping (or true/false)");
	ck_assert_str_eq(chk("{\"items\":{\"type\":\"x1\"}}"),
	                 "input_schema.items.type: unknown type 'x1'");
	ck_assert_str_eq(chk("{\"minLength\":-1}"),
	                 "input_schema.minLength: must be a non-negative integer");
	ck_assert_str_eq(chk("{\"maxItems\":1.5}"),
	                 "input_schema.maxItems: must be a non-negative integer");
	ck_assert_str_eq(chk("{\"minimum\":\"1\"}"), "input_schema.minimum: must be a number");
}
END_TEST

/* A tiny error buffer truncates the message but stays terminated. */
START_TEST(small_buffer)
{
	cJSON *s = cJSON_Parse("{\"required\":[\"city\"]}"), *in = cJSON_Parse("{}");
	char tiny[8];

	ck_assert_int_eq(td__schema_validate(s, in, tiny, sizeof(tiny)), TD_EINVAL);
	ck_assert_str_eq(tiny, "input: ");
	cJSON_Delete(s);
	cJSON_Delete(in);
}
END_TEST

/* td__input_check on a JSON text: "" or the message. */
static const char *inp(const char *input)
{
	cJSON *in = cJSON_Parse(input);
	int r;

	ck_assert_ptr_nonnull(in);
	r = td__input_check(in, msg, sizeof(msg));
	ck_assert_int_eq(r == 0, msg[0] == '\0');
	if (r)
		ck_assert_int_eq(r, TD_EINVAL);
	cJSON_Delete(in);
	return msg;
}

/* What any input must satisfy whatever its schema: no repeated key, only finite numbers. */
START_TEST(input_check)
{
	ck_assert_str_eq(inp("{\"a\":1,\"b\":[1,2,{\"a\":1}],\"c\":{\"a\":{}}}"), "");
	ck_assert_str_eq(inp("{\"a\":1,\"a\":1}"), "input: key 'a' appears twice");
	ck_assert_str_eq(inp("{\"b\":[0,{\"x\":1,\"y\":{},\"x\":2}]}"),
	                 "input.b[1]: key 'x' appears twice");
	ck_assert_str_eq(inp("{\"odd key\":{\"\":1,\"\":2}}"),
	                 "input[\"odd key\"]: key '' appears twice");
	ck_assert_str_eq(inp("{\"n\":-1e309}"),
	                 "input.n: number out of range (a JSON number must fit a double, about "
	                 "1.8e308 at most)");
	ck_assert_str_eq(inp("[1.7976931348623157e308]"), "");
	ck_assert_int_eq(td__input_check(NULL, msg, sizeof(msg)), 0);
}
END_TEST

/* A repeated key among many members (the hashed path), and an allocation failure there. */
START_TEST(dup_member_large)
{
	cJSON *o = cJSON_CreateObject();
	bool oom;
	char k[16];
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		cJSON_AddNumberToObject(o, k, i);
	}
	ck_assert_ptr_null(td__json_dup_member(o, &oom));
	ck_assert(!oom);
	cJSON_AddNumberToObject(o, "k3", 0);
	ck_assert_str_eq(td__json_dup_member(o, &oom)->string, "k3");
	td__alloc_fail_at(1);
	ck_assert_ptr_null(td__json_dup_member(o, &oom));
	td__alloc_fail_at(0);
	ck_assert(oom);
	ck_assert_int_eq(td__input_check(o, msg, sizeof(msg)), TD_EINVAL);
	td__alloc_fail_at(1);
	ck_assert_int_eq(td__input_check(o, msg, sizeof(msg)), TD_ENOMEM);
	td__alloc_fail_at(0);
	ck_assert_ptr_null(td__json_dup_member(NULL, &oom));
	cJSON_Delete(o);
}
END_TEST

/* A tree built by hand is not bounded by cJSON's parser: the walk stops at its limit. */
START_TEST(input_depth)
{
	cJSON *root = cJSON_CreateArray(), *a = root, *n;
	int i;

	for (i = 0; i < 1100; i++) {
		n = cJSON_CreateArray();
		cJSON_AddItemToArray(a, n);
		a = n;
	}
	ck_assert_int_eq(td__input_check(root, msg, sizeof(msg)), TD_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, ": nested deeper than 1000 levels"));
	cJSON_Delete(root);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("validate");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, type_single);
	tcase_add_test(tc, type_list);
	tcase_add_test(tc, required);
	tcase_add_test(tc, enum_and_const);
	tcase_add_test(tc, additional_properties);
	tcase_add_test(tc, items_and_counts);
	tcase_add_test(tc, lengths_and_bounds);
	tcase_add_test(tc, boolean_and_unknown);
	tcase_add_test(tc, depth_bound);
	tcase_add_test(tc, check_schema);
	tcase_add_test(tc, small_buffer);
	tcase_add_test(tc, input_check);
	tcase_add_test(tc, dup_member_large);
	tcase_add_test(tc, input_depth);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}
