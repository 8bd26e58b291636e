/* SPDX-License-Identifier: MIT */
/*
 * tools_json.c - the graph's tools as the `tools` request parameter of each model API, so one
 * YAML file feeds both the model and the scheduler.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "load/graph.h"

/* A tool without input_schema takes an object with any properties. */
static cJSON *schema_of(const struct td__tool *t)
{
	cJSON *s;

	if (t->schema)
		return cJSON_Duplicate(t->schema, 1);
	s = cJSON_CreateObject();
	if (s && (!cJSON_AddStringToObject(s, "type", "object") ||
	          !cJSON_AddObjectToObject(s, "properties"))) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

/*
 * {"name","description",<schema key>} into obj. Anthropic calls the schema input_schema, both
 * OpenAI APIs call it parameters.
 */
static bool add_definition(cJSON *obj, const struct td__tool *t, const char *schema_key)
{
	cJSON *schema;

	if (!cJSON_AddStringToObject(obj, "name", t->name) ||
	    !cJSON_AddStringToObject(obj, "description", t->description ? t->description : ""))
		return false;
	schema = schema_of(t);
	if (!schema)
		return false;
	if (!cJSON_AddItemToObject(obj, schema_key, schema)) {
		cJSON_Delete(schema);
		return false;
	}
	return true;
}

static cJSON *tool_entry(const struct td__tool *t, enum td_dialect dialect)
{
	cJSON *entry = cJSON_CreateObject(), *fn;
	bool ok = entry != NULL;

	switch (dialect) {
	case TD_DIALECT_OPENAI:
		ok = ok && cJSON_AddStringToObject(entry, "type", "function") &&
		     (fn = cJSON_AddObjectToObject(entry, "function")) &&
		     add_definition(fn, t, "parameters");
		break;
	case TD_DIALECT_RESPONSES:
		ok = ok && cJSON_AddStringToObject(entry, "type", "function") &&
		     add_definition(entry, t, "parameters");
		break;
	default:
		ok = ok && add_definition(entry, t, "input_schema");
		break;
	}
	if (!ok) {
		cJSON_Delete(entry);
		return NULL;
	}
	return entry;
}

int td_graph_tools_json(const struct td_graph *g, enum td_dialect dialect, int pretty, char **out)
{
	cJSON *arr, *entry;
	size_t i;

	if (!g || !out || (unsigned)dialect > TD_DIALECT_RESPONSES)
		return TD_EINVAL;
	*out = NULL;
	arr = cJSON_CreateArray();
	for (i = 0; arr && i < g->ntools; i++) {
		entry = tool_entry(&g->tools[i], dialect);
		if (!entry) {
			cJSON_Delete(arr);
			return TD_ENOMEM;
		}
		cJSON_AddItemToArray(arr, entry);
	}
	if (!arr)
		return TD_ENOMEM;
	*out = pretty ? cJSON_Print(arr) : cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return *out ? 0 : TD_ENOMEM;
}
