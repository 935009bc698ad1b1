/* fuzz_schema.c - libFuzzer target: any bytes as a JSON schema (first byte 'S'), as a regex
 * `pattern` (first byte 'P'), or as a model's reply to read tool calls from (anything else).
 * Compiling must succeed or fail with a message, never crash, leak, hang or overflow the
 * stack; a schema that compiles must give a grammar that parses (a compiler bug otherwise).
 * It runs on a server worker's stack (worker_stack.h): response_format is compiled there.
 * Build and run: scripts/fuzz.sh (seeds in fuzz/seeds/schema). */
#include "llmr.h"
#include "stream/toolcall.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"a\":{\"type\":\"integer\"}}}}},{\"type\":\"function\",\"function\":"
    "{\"name\":\"g\"}}]";

static void compile(const char *schema)
{
    char *g = NULL, msg[512];
    if (llmr_json_schema_to_grammar(schema, &g, msg, sizeof msg) == LLMR_OK &&
        llmr_grammar_validate(g, msg, sizeof msg) != LLMR_OK)
        abort();
    llmr_grammar_text_free(g);
}

static int fuzz_one(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    if (data[0] == 'S') {
        compile(text);
    } else if (data[0] == 'P') {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "type", "string");
        cJSON_AddStringToObject(s, "pattern", text);
        char *j = cJSON_PrintUnformatted(s);
        if (j)
            compile(j);
        cJSON_free(j);
        cJSON_Delete(s);
    } else {
        llmri_tools *t = NULL;
        llmri_tool_calls tc;
        if (llmri_tools_parse(TOOLS, 10, &t, NULL))
            abort();
        if (llmri_toolcall_parse(text, size - 1, LLMRI_TC_AUTO, t, &tc, NULL) == LLMR_OK)
            llmri_tool_calls_free(&tc);
        llmri_tools_free(t);
    }
    free(text);
    return 0;
}

#include "worker_stack.h"
