/* llmr_wasm.c - the C side of the browser package (js/browser/llmr-worker.js): what the Web
 * Worker calls in the WebAssembly build, over the public API only (llmr.h), in the shape of
 * the Node addon (js/src): a model opened from memory the worker fills, streams opened with
 * options in the guide's camelCase, pulled one piece at a time, stopped, closed.
 *
 * Why a layer at all: JavaScript reaches WebAssembly through numbers, so structs (llmr_piece,
 * llmr_usage, llmr_gen_opts) become handles with accessors, and options and usage travel as
 * JSON text. Ownership follows llmr.h: whoever opens closes; strings returned are owned by
 * the handle and valid until its next call.
 *
 * Threads: the worker is the only caller; pause and resume live in the worker (it stops
 * pulling), since a pulled stream that blocks would block the worker. The threads build
 * (cmake/wasm.cmake) runs each pass on the model's pool of pthreads, the worker included.
 */
#include "llmr.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API __attribute__((used, visibility("default")))

typedef struct wmodel {
    llmr_model *m;
    void *data;               /* the GGUF file, owned: freed after the model is closed */
    int rc;                   /* what opening it returned */
    int threads;              /* the compute threads it runs */
} wmodel;

typedef struct wstream {
    llmr_stream *s;
    llmr_piece piece;         /* the last piece llmrw_stream_next() returned */
    int rc;                   /* what opening it returned */
    char err[512];            /* an option error found before the stream was opened */
    char *json;               /* the last llmrw_stream_usage() text */
} wstream;

API const char *llmrw_version(void) { return llmr_version(); }

API const char *llmrw_strerror(int rc) { return llmr_strerror(rc); }

/* Memory for a model file of `size` bytes, or 0: the worker writes the download into it, so
 * the file is never held in JavaScript memory as well. size is a double so that sizes past
 * 2 GiB cross from JavaScript intact. */
API void *llmrw_alloc(double size)
{
    if (!(size >= 1) || size > (double)SIZE_MAX - 4096)
        return NULL;
    return malloc((size_t)size);
}

API void llmrw_free(void *p) { free(p); }

/* Opens the GGUF file in data (size bytes, from llmrw_alloc), which the model now owns, even
 * when opening fails. n_ctx 0: the model's default. n_threads: compute threads (the threads
 * build: the worker's pool has n_threads - 1 pthreads for them; one thread otherwise). Returns
 * a handle (NULL only when out of memory, data then freed); llmrw_model_rc() says whether it
 * opened. */
API wmodel *llmrw_model_open(void *data, double size, const char *name, int n_ctx, int n_threads)
{
    wmodel *w = calloc(1, sizeof *w);
    if (!w) {
        free(data);
        return NULL;
    }
    w->data = data;
    if (!data || !(size >= 0) || size > (double)SIZE_MAX) {
        w->rc = llmr_model_open_memory(NULL, 0, name, NULL, &w->m);   /* the ARG error */
        return w;
    }
    llmr_model_opts o = llmr_model_defaults();
    o.n_ctx = n_ctx > 0 ? n_ctx : 0;
#if defined(__EMSCRIPTEN_PTHREADS__)
    /* as the engine counts them: at most the cores the browser reports */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.n_threads = n_threads < 1 ? 1 : n_threads > 64 ? 64 : n_threads;
    if (cores >= 1 && o.n_threads > cores)
        o.n_threads = (int)cores;
#else
    (void)n_threads;
    o.n_threads = 1;
#endif
    w->threads = o.n_threads;
    /* Streams are pulled in turn by one thread, so none may wait for a slot (its pull would
     * wait for ever): up to 4 at once, each slot made when first used; a fifth is BUSY. */
    o.n_parallel = 4;
    o.max_queued = -1;
    w->rc = llmr_model_open_memory(data, (size_t)size, name, &o, &w->m);
    return w;
}

API int llmrw_model_rc(const wmodel *w) { return w ? w->rc : LLMR_ERR_NOMEM; }

API int llmrw_model_threads(const wmodel *w) { return w ? w->threads : 0; }

API const char *llmrw_model_errmsg(const wmodel *w)
{
    return w ? llmr_model_errmsg(w->m) : "out of memory";
}

API void llmrw_model_close(wmodel *w)
{
    if (!w)
        return;
    llmr_model_close(w->m);
    free(w->data);
    free(w);
}

/* ---- options: the guide's camelCase names, as the Node package reads them --------------- */

static bool num(const cJSON *o, const char *k, double lo, double hi, bool integer, double *v,
                char *err, size_t n)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!it || cJSON_IsNull(it))
        return true;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
        (integer && it->valuedouble != floor(it->valuedouble)) || it->valuedouble < lo ||
        it->valuedouble > hi) {
        snprintf(err, n, "%s: expected %s in %.17g..%.17g", k, integer ? "an integer" : "a number",
                 lo, hi);
        return false;
    }
    *v = it->valuedouble;
    return true;
}

static bool flag(const cJSON *o, const char *k, bool *v, char *err, size_t n)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!it || cJSON_IsNull(it))
        return true;
    if (!cJSON_IsBool(it)) {
        snprintf(err, n, "%s: expected a boolean", k);
        return false;
    }
    *v = cJSON_IsTrue(it);
    return true;
}

/* Reads opts into g; strings stay owned by the cJSON tree. */
static bool read_opts(const cJSON *o, llmr_gen_opts *g, char *err, size_t n)
{
    llmr_sampling *sp = &g->sampling;
    double v;
#define NUM(key, field, lo, hi, integer, type)                                              \
    do {                                                                                    \
        v = NAN;                                                                            \
        if (!num(o, key, lo, hi, integer, &v, err, n))                                      \
            return false;                                                                   \
        if (!isnan(v))                                                                      \
            field = (type)v;                                                                \
    } while (0)
    NUM("maxTokens", g->max_tokens, 0, LLMR_MAX_GEN_TOKENS, true, int32_t);
    NUM("temperature", sp->temperature, 0, 1e6, false, float);
    NUM("topK", sp->top_k, 0, INT32_MAX, true, int32_t);
    NUM("topP", sp->top_p, -1e6, 1e6, false, float);
    NUM("minP", sp->min_p, -1e6, 1e6, false, float);
    NUM("typicalP", sp->typical_p, -1e6, 1e6, false, float);
    NUM("repeatPenalty", sp->repeat_penalty, -1e6, 1e6, false, float);
    NUM("presencePenalty", sp->presence_penalty, -1e6, 1e6, false, float);
    NUM("frequencyPenalty", sp->frequency_penalty, -1e6, 1e6, false, float);
    NUM("penaltyLastN", sp->penalty_last_n, 0, INT32_MAX, true, int32_t);
    NUM("seed", sp->seed, 0, 9007199254740991.0, true, uint64_t);
#undef NUM
    if (!flag(o, "addBos", &g->add_bos, err, n) ||
        !flag(o, "parseSpecial", &g->parse_special, err, n) ||
        !flag(o, "ignoreEos", &g->ignore_eos, err, n) ||
        !flag(o, "jsonObject", &sp->json_object, err, n))
        return false;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "grammar");
    if (cJSON_IsString(it))
        sp->grammar = it->valuestring;
    it = cJSON_GetObjectItemCaseSensitive(o, "jsonSchema");
    if (cJSON_IsString(it))
        sp->json_schema = it->valuestring;
    const cJSON *stops = cJSON_GetObjectItemCaseSensitive(o, "stopSequences");
    if (stops && !cJSON_IsNull(stops)) {
        if (!cJSON_IsArray(stops) || cJSON_GetArraySize(stops) > LLMR_MAX_STOP) {
            snprintf(err, n, "stopSequences: expected at most %d strings", LLMR_MAX_STOP);
            return false;
        }
        int i = 0;
        cJSON_ArrayForEach(it, stops) {
            if (!cJSON_IsString(it)) {
                snprintf(err, n, "stopSequences[%d]: expected a string", i);
                return false;
            }
            g->stop[i++] = it->valuestring;
        }
    }
    return true;
}

/* The conversation (a JSON array of {role, content}) rendered with m's chat template. */
static int chat_prompt(llmr_model *m, const char *json, char **out, char *err, size_t n)
{
    cJSON *a = cJSON_Parse(json ? json : "");
    int rc = LLMR_OK, count = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    llmr_chat_msg *msgs = count > 0 ? calloc((size_t)count, sizeof *msgs) : NULL;
    if (count < 1) {
        rc = LLMR_ERR_ARG;
        snprintf(err, n, "messages: expected a non-empty array of {role, content}");
    } else if (!msgs) {
        rc = LLMR_ERR_NOMEM;
        snprintf(err, n, "out of memory");
    }
    for (int i = 0; rc == LLMR_OK && i < count; i++) {
        const cJSON *it = cJSON_GetArrayItem(a, i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
            rc = LLMR_ERR_ARG;
            snprintf(err, n, "messages[%d]: expected {role, content} strings", i);
            break;
        }
        msgs[i].role = role->valuestring;
        msgs[i].content = content->valuestring;
    }
    if (rc == LLMR_OK)
        rc = llmr_chat_prompt(m, msgs, (size_t)count, out, err, n);
    free(msgs);
    cJSON_Delete(a);
    return rc;
}

/* Opens a stream on model w. prompt is the text to continue, or with chat set the
 * conversation as a JSON array of {role, content} messages, rendered with the model's chat
 * template. opts_json: an object of options (NULL or "": the defaults). Returns a handle
 * (NULL only when out of memory); llmrw_stream_rc() says whether it opened. */
API wstream *llmrw_stream_open(wmodel *w, const char *prompt, const char *opts_json, int chat)
{
    wstream *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    llmr_gen_opts g = llmr_gen_defaults();
    g.max_retries = 0;    /* a retry would sleep in the worker; BUSY is answered at once */
    cJSON *o = opts_json && *opts_json ? cJSON_Parse(opts_json) : NULL;
    char *text = NULL;
    if (!w || !w->m || w->rc != LLMR_OK) {
        ws->rc = LLMR_ERR_STATE;
        snprintf(ws->err, sizeof ws->err, "no model is loaded");
    } else if (opts_json && *opts_json && !cJSON_IsObject(o)) {
        ws->rc = LLMR_ERR_ARG;
        snprintf(ws->err, sizeof ws->err, "options: expected a JSON object");
    } else if (o && !read_opts(o, &g, ws->err, sizeof ws->err)) {
        ws->rc = LLMR_ERR_ARG;
    } else if (chat) {
        /* the conversation through the model's template: llmr_chat_prompt writes the BOS */
        ws->rc = chat_prompt(w->m, prompt, &text, ws->err, sizeof ws->err);
        g.add_bos = false;
    }
    if (ws->rc == LLMR_OK)
        ws->rc = llmr_stream_open(w->m, chat ? text : prompt, &g, &ws->s);
    free(text);
    cJSON_Delete(o);
    return ws;
}

API int llmrw_stream_rc(const wstream *ws) { return ws ? ws->rc : LLMR_ERR_NOMEM; }

API const char *llmrw_stream_errmsg(const wstream *ws)
{
    if (!ws)
        return "out of memory";
    return ws->s ? llmr_stream_errmsg(ws->s) : ws->err;
}

/* Generates the next piece: LLMR_PIECE (read it with llmrw_piece_text/len), LLMR_DONE, or an
 * error code (llmrw_stream_errmsg says why). */
API int llmrw_stream_next(wstream *ws)
{
    if (!ws || !ws->s)
        return LLMR_ERR_STATE;
    return llmr_stream_next(ws->s, &ws->piece);
}

API const char *llmrw_piece_text(const wstream *ws) { return ws->piece.text; }
API int llmrw_piece_len(const wstream *ws) { return (int)ws->piece.len; }

API void llmrw_stream_stop(wstream *ws)
{
    if (ws)
        llmr_stream_stop(ws->s);
}

/* Counts and timings so far, as JSON with the Node package's names. */
API const char *llmrw_stream_usage(wstream *ws)
{
    if (!ws || !ws->s)
        return "{}";
    llmr_usage u;
    llmr_stream_usage(ws->s, &u);
    char buf[768];
    snprintf(buf, sizeof buf,
             "{\"promptTokens\":%u,\"cachedTokens\":%u,\"generatedTokens\":%u,\"pieces\":%u,"
             "\"promptSeconds\":%.6f,\"generationSeconds\":%.6f,\"timeToFirstTokenSeconds\":%.6f,"
             "\"totalSeconds\":%.6f,\"promptTokensPerSecond\":%.3f,\"tokensPerSecond\":%.3f,"
             "\"finishReason\":\"%s\"}",
             u.prompt_tokens, u.cached_tokens, u.generated_tokens, u.pieces, u.prompt_s, u.gen_s,
             u.ttft_s, u.total_s, u.prompt_tps, u.gen_tps, llmr_finish_name(u.finish));
    free(ws->json);
    ws->json = strdup(buf);
    return ws->json ? ws->json : "{}";
}

API void llmrw_stream_close(wstream *ws)
{
    if (!ws)
        return;
    llmr_stream_close(ws->s);
    free(ws->json);
    free(ws);
}
