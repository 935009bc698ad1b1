/* fuzz_template.c - libFuzzer target: any bytes as a chat template, rendered with a small
 * conversation and tools. It must parse or fail, render or fail, never crash, leak or hang
 * (limits are lowered so that every input finishes quickly).
 * Build: cmake -DLLMR_FUZZ=ON -DLLMR_SANITIZE=ON -DCMAKE_C_COMPILER=clang
 *        -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link (so the library has coverage); run
 * ./fuzz_template -max_total_time=60 fuzz/corpus (seed it with ../shared/chat-templates).
 * It runs on the main thread's stack: the server renders templates on a thread of its own
 * with an 8 MiB stack (src/server/prompt.c), not on a civetweb worker's. */
#include "llmr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char messages[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"sys\"},"
    "{\"role\": \"user\", \"content\": \"hi \\u00e9\"},"
    "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"type\": \"function\","
    "\"function\": {\"name\": \"f\", \"arguments\": {\"a\": [1, 2.5, true]}}}]},"
    "{\"role\": \"tool\", \"content\": \"42\"}],"
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    "\"parameters\": {\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"array\"}}}}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    llmr_template *t = NULL;
    if (llmr_template_open(src, &t) == LLMR_OK) {
        llmr_template_opts o = llmr_template_defaults();
        o.bos_token = "<s>";
        o.eos_token = "</s>";
        o.date = "2024-07-26";
        o.max_output = 1 << 20;
        o.max_steps = 200000;
        char *out = NULL;
        if (llmr_template_render_json(t, messages, &o, &out, NULL) == LLMR_OK && !out)
            abort();   /* success must give a string */
        free(out);
    }
    llmr_template_close(t);
    free(src);
    return 0;
}
