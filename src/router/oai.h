/* oai.h - the OpenAI wire format of streamed completions, as every OpenAI-compatible server
 * (OpenAI, vLLM, llama.cpp's server, ollama's /v1, llmr serve) sends it: each SSE event's data
 * is one JSON chunk, and the stream ends with the data "[DONE]".
 *   chat:        {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}
 *                a tool call: "delta":{"tool_calls":[{"index":0,"id","type":"function",
 *                "function":{"name","arguments":"{\"ci"}}]}, then argument fragments
 *   completions: {"choices":[{"index":0,"text":"Hel","finish_reason":null}]}
 *   error:       {"error":{"message":"...","type":"...","code":...}}   (sent mid-stream) */
#ifndef LLMR_ROUTER_OAI_H
#define LLMR_ROUTER_OAI_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct llmr_oai_delta {
    bool        done;           /* the data was [DONE] */
    const char *text;           /* content of this chunk (NULL when none), valid until the next
                                   call with the same delta */
    size_t      len;
    char        finish[32];     /* finish_reason when the chunk carries one, else "" */
    char        model[128];     /* the "model" field when present */
    const struct cJSON *tool_calls; /* chat: delta.tool_calls (an array) when present, else
                                   NULL; valid as text is */
    void       *json_;          /* internal: the parsed chunk that text points into */
} llmr_oai_delta;

/* Decodes one event's data. Returns LLMR_OK (d filled), LLMR_ERR_FORMAT for data that is not
 * a JSON chunk of the expected shape (the message quotes its start), or the code an error
 * chunk maps to: LLMR_ERR_BUSY for overload and rate limits, LLMR_ERR_NETWORK otherwise, with
 * the server's message. */
int llmri_oai_decode(const char *data, size_t len, bool chat, llmr_oai_delta *d, llmr_err *err);

/* Frees what the last decode kept. */
void llmri_oai_delta_free(llmr_oai_delta *d);

/* Maps an HTTP error status and its body (an OpenAI error object or any text) to a result code
 * and a message naming the status and the server's message. */
int llmri_oai_http_error(long status, const char *body, size_t len, const char *url,
                        llmr_err *err);

#endif
