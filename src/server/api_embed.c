/* api_embed.c - embeddings over HTTP, on llmr_embed: OpenAI's POST /v1/embeddings, ollama's
 * POST /api/embed and its legacy POST /api/embeddings.
 *
 * OpenAI (platform.openai.com/docs/api-reference/embeddings/create):
 *   {"input": "text" | ["text", ...] | [id, ...] | [[id, ...], ...], "model": M,
 *    "encoding_format": "float" | "base64", "dimensions": N, "user": U}
 *   -> {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...] | "b64"}],
 *       "model":M,"usage":{"prompt_tokens":N,"total_tokens":N}}
 *   base64 is the vector's float32 values, little-endian, as the openai clients decode it.
 *   `dimensions` (shortening) is honoured only as the model's own size; anything else is a 400.
 * ollama (github.com/ollama/ollama docs/api.md):
 *   /api/embed {"model", "input": "text" | ["text", ...], "truncate": true}
 *     -> {"model","embeddings":[[...]],"total_duration","load_duration","prompt_eval_count"}
 *     normalised; truncate (default true, as ollama) cuts inputs to the context, false makes
 *     an input over it a 400.
 *   /api/embeddings {"model", "prompt": "text"} -> {"embedding": [...]}, not normalised (as
 *     ollama's legacy endpoint).
 * `options` and `keep_alive` are accepted and ignored (the server's own settings hold). Errors
 * are OpenAI's error object on /v1, {"error": "..."} on /api. At most EMBED_MAX_INPUTS inputs
 * (OpenAI's own limit) per request.
 */
#include "server/server_int.h"

#include "core/buf.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_MAX_INPUTS 2048

typedef enum { EMB_OPENAI, EMB_OLLAMA, EMB_OLLAMA_LEGACY } emb_kind;

/* ---- the request ------------------------------------------------------------------------ */

typedef struct emb_req {
    llmr_embed_input *in;
    llmr_token *ids;         /* token inputs' ids, all together */
    size_t n;
    const char *model;       /* in the cJSON tree */
    bool base64, truncate;
    int dimensions;          /* 0: not given */
} emb_req;

static void emb_req_free(emb_req *r)
{
    free(r->in);
    free(r->ids);
}

static int bad(srv_error *e, const char *param, const char *fmt, const char *what)
{
    return srv_error_set(e, 400, "invalid_request_error", NULL, param, fmt, what);
}

/* An array of token ids: counts them into *n, and stores them at ids when not NULL. */
static bool token_array(const cJSON *a, llmr_token *ids, size_t *n)
{
    *n = 0;
    for (const cJSON *t = a->child; t; t = t->next) {
        /* range first: converting a double past int32's range to it is undefined */
        if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0 && t->valuedouble <= INT32_MAX) ||
            t->valuedouble != (double)(int32_t)t->valuedouble)
            return false;
        if (ids)
            ids[*n] = (llmr_token)t->valuedouble;
        (*n)++;
    }
    return true;
}

/* OpenAI's "input" (or ollama's): a string, strings, token ids, or arrays of them. */
static int parse_input(const cJSON *input, bool tokens_ok, emb_req *r, srv_error *e)
{
    const char *p = "input";
    if (cJSON_IsString(input)) {
        r->n = 1;
        if (!(r->in = calloc(1, sizeof *r->in)))
            return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        r->in[0] = (llmr_embed_input){.text = input->valuestring,
                                      .len = strlen(input->valuestring)};
        return 0;
    }
    if (!cJSON_IsArray(input))
        return bad(e, p, "'input' must be a string or an array of %s", tokens_ok
                   ? "strings or of token ids" : "strings");
    const int n = cJSON_GetArraySize(input);
    if (n == 0)
        return bad(e, p, "'input' is an empty array: give at least one %s", "input");
    if (n > EMBED_MAX_INPUTS)
        return srv_error_set(e, 400, "invalid_request_error", NULL, p, "'input' has %d "
                             "elements; at most %d inputs per request", n, EMBED_MAX_INPUTS);
    /* [id, ...] is one input of tokens; otherwise each element is one input */
    const bool one_tokens = tokens_ok && cJSON_IsNumber(input->child);
    size_t n_ids = 0, k;
    if (one_tokens) {
        if (!token_array(input, NULL, &n_ids))
            return bad(e, p, "'input' mixes token ids with %s: an array of token ids holds "
                       "non-negative integers only", "other values");
    } else {
        int i = 0;
        for (const cJSON *t = input->child; t; t = t->next, i++) {
            if (cJSON_IsString(t))
                continue;
            if (!tokens_ok || !cJSON_IsArray(t) || !token_array(t, NULL, &k))
                return srv_error_set(e, 400, "invalid_request_error", NULL, p, "'input[%d]' "
                                     "must be a string%s", i, tokens_ok ? " or an array of "
                                     "non-negative integer token ids" : "");
            n_ids += k;
        }
    }
    r->n = one_tokens ? 1 : (size_t)n;
    r->in = calloc(r->n, sizeof *r->in);
    r->ids = malloc((n_ids ? n_ids : 1) * sizeof *r->ids);
    if (!r->in || !r->ids)
        return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    if (one_tokens) {
        token_array(input, r->ids, &k);
        /* a token input of zero ids cannot occur here (the array is not empty) */
        r->in[0] = (llmr_embed_input){.tokens = r->ids, .n_tokens = k};
        return 0;
    }
    size_t at = 0, i = 0;
    for (const cJSON *t = input->child; t; t = t->next, i++) {
        if (cJSON_IsString(t)) {
            r->in[i] = (llmr_embed_input){.text = t->valuestring, .len = strlen(t->valuestring)};
            continue;
        }
        token_array(t, r->ids + at, &k);
        /* an empty [] is an empty input: llmr_embed names it; a NULL tokens pointer would
         * make it text, so point at the buffer */
        r->in[i] = (llmr_embed_input){.tokens = r->ids + at, .n_tokens = k};
        at += k;
    }
    return 0;
}

static int parse(emb_kind kind, const cJSON *o, emb_req *r, srv_error *e)
{
    memset(r, 0, sizeof *r);
    r->truncate = kind == EMB_OLLAMA;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model))
        return bad(e, "model", "'model' must be a %s", "string");
    r->model = cJSON_IsString(model) ? model->valuestring : NULL;
    if (kind == EMB_OLLAMA_LEGACY) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
        if (!cJSON_IsString(p))
            return bad(e, "prompt", "'prompt' must be a %s (the text to embed)", "string");
        return parse_input(p, false, r, e);
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(o, "input");
    if (!input)
        return bad(e, "input", "missing field 'input': the %s to embed", "text");
    if (kind == EMB_OLLAMA) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "truncate");
        if (t && !cJSON_IsBool(t))
            return bad(e, "truncate", "'truncate' must be a %s", "boolean");
        if (t)
            r->truncate = cJSON_IsTrue(t);
        return parse_input(input, false, r, e);
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "encoding_format");
    if (f && !cJSON_IsNull(f)) {
        if (!cJSON_IsString(f) || (strcmp(f->valuestring, "float") &&
                                   strcmp(f->valuestring, "base64")))
            return bad(e, "encoding_format", "'encoding_format' must be %s",
                       "\"float\" or \"base64\"");
        r->base64 = !strcmp(f->valuestring, "base64");
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "dimensions");
    if (d && !cJSON_IsNull(d)) {
        if (!cJSON_IsNumber(d) || !(d->valuedouble >= 1 && d->valuedouble <= 1 << 24) ||
            d->valuedouble != (double)(int)d->valuedouble)
            return bad(e, "dimensions", "'dimensions' must be a %s", "positive integer");
        r->dimensions = (int)d->valuedouble;
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "user");
    if (u && !cJSON_IsString(u))
        return bad(e, "user", "'user' must be a %s", "string");
    return parse_input(input, true, r, e);
}

/* ---- the reply -------------------------------------------------------------------------- */

/* Floats with 9 significant digits read back as the same float. */
static bool put_vec(llmr_buf *b, const float *v, int n)
{
    bool ok = llmri_buf_puts(b, "[");
    for (int i = 0; i < n && ok; i++)
        ok = llmri_buf_printf(b, i ? ",%.9g" : "%.9g", (double)v[i]);
    return ok && llmri_buf_puts(b, "]");
}

/* Input i's result: its vector, or with pooling none an array of its tokens' vectors. */
static bool put_input(llmr_buf *b, const llmr_embeddings *em, size_t i)
{
    if (em->pooling != LLMR_POOL_NONE)
        return put_vec(b, em->vectors[i], em->dim);
    bool ok = llmri_buf_puts(b, "[");
    for (size_t k = 0; k < em->n_vectors[i] && ok; k++)
        ok = (!k || llmri_buf_puts(b, ",")) &&
             put_vec(b, em->vectors[i] + k * (size_t)em->dim, em->dim);
    return ok && llmri_buf_puts(b, "]");
}

/* The vector's float32 bytes (little-endian: x86 and every target llmr builds for) in
 * base64, as a JSON string. */
static bool put_base64(llmr_buf *b, const float *v, int n)
{
    const size_t bytes = (size_t)n * sizeof(float), len = 4 * ((bytes + 2) / 3) + 1;
    char *s = malloc(len);
    if (!s)
        return false;
    llmri_base64((const uint8_t *)v, bytes, s);
    bool ok = llmri_buf_puts(b, "\"") && llmri_buf_puts(b, s) && llmri_buf_puts(b, "\"");
    free(s);
    return ok;
}

/* The body of a successful reply, or NULL when out of memory. name is the model's. */
static char *reply_body(emb_kind kind, const emb_req *r, const llmr_embeddings *em,
                        const char *name, double seconds)
{
    llmr_buf b = {0};
    cJSON *js = cJSON_CreateString(name);
    char *qname = js ? cJSON_PrintUnformatted(js) : NULL;
    cJSON_Delete(js);
    bool ok = qname != NULL;
    if (kind == EMB_OLLAMA_LEGACY) {
        ok = ok && llmri_buf_puts(&b, "{\"embedding\":") && put_input(&b, em, 0) &&
             llmri_buf_puts(&b, "}");
    } else if (kind == EMB_OLLAMA) {
        ok = ok && llmri_buf_printf(&b, "{\"model\":%s,\"embeddings\":[", qname);
        for (size_t i = 0; i < em->n_inputs && ok; i++)
            ok = (!i || llmri_buf_puts(&b, ",")) && put_input(&b, em, i);
        ok = ok && llmri_buf_printf(&b, "],\"total_duration\":%lld,\"load_duration\":0,"
                                    "\"prompt_eval_count\":%llu}", (long long)(seconds * 1e9),
                                    (unsigned long long)em->total_tokens);
    } else {
        ok = ok && llmri_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < em->n_inputs && ok; i++) {
            ok = llmri_buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":",
                                  i ? "," : "", i) &&
                 (r->base64 ? put_base64(&b, em->vectors[i], em->dim) : put_input(&b, em, i)) &&
                 llmri_buf_puts(&b, "}");
        }
        ok = ok && llmri_buf_printf(&b, "],\"model\":%s,\"usage\":{\"prompt_tokens\":%llu,"
                                    "\"total_tokens\":%llu}}", qname,
                                    (unsigned long long)em->total_tokens,
                                    (unsigned long long)em->total_tokens);
    }
    free(qname);
    if (!ok) {
        llmri_buf_free(&b);
        return NULL;
    }
    return llmri_buf_take(&b);
}

/* llmr_embed's result code as an HTTP error. */
static int embed_error(int rc, const char *msg, srv_error *e)
{
    if (rc == LLMR_ERR_CONTEXT)
        return srv_error_set(e, 400, "invalid_request_error", "context_length_exceeded", "input",
                             "%s", msg);
    if (rc == LLMR_ERR_ARG)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "input", "%s", msg);
    if (rc == LLMR_ERR_UNSUPPORTED)
        return srv_error_set(e, 400, "invalid_request_error", "model_not_supported", "model",
                             "%s", msg);
    return srv_error_set(e, 500, "server_error", NULL, NULL, "embedding failed: %s", msg);
}

/* Runs the request on its model (the router's: with -m its one model, if the request names
 * it); 0 with *em and the model's name, or an HTTP status with *e. */
static int run(llmr_server *s, emb_kind kind, const emb_req *r, char *name, size_t name_len,
               llmr_embeddings **em, srv_error *e)
{
    *em = NULL;
    bool named = r->model && r->model[0] && strcmp(r->model, "auto");
    if (!s->single && !named)       /* a router has no default model for embeddings */
        return srv_error_set(e, 400, "invalid_request_error", NULL, "model", "embeddings need "
                             "a \"model\": the id of a local model (GET /v1/models lists them)");
    int st = s->single ? srv_model_take(s, r->model, e) : 0;
    if (st)
        return st;
    llmr_embed_opts o = llmr_embed_defaults();
    o.normalize = kind != EMB_OLLAMA_LEGACY;
    o.truncate = r->truncate;
    int rc = llmr_router_embed(s->models, s->single ? NULL : r->model, r->in, r->n, &o, em,
                               name, name_len);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", *em ? llmr_embeddings_errmsg(*em) : llmr_router_errmsg(s->models));
    if (s->single) {
        if (r->model && r->model[0])
            snprintf(name, name_len, "%s", r->model);   /* -m answers to any of its names */
        srv_model_put(s);
    }
    if (rc == LLMR_ERR_NOT_FOUND)
        return srv_error_set(e, r->model && r->model[0] ? 404 : 400, "invalid_request_error",
                             r->model && r->model[0] ? "model_not_found" : NULL, "model",
                             "%s (GET /v1/models lists them)", msg);
    if (rc && !*em && rc != LLMR_ERR_UNSUPPORTED)
        return srv_error_set(e, 503, "server_error", "model_unavailable", "model", "%s", msg);
    if (rc)
        return embed_error(rc, msg, e);
    if (r->dimensions && r->dimensions != (*em)->dim)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "dimensions", "'dimensions' "
                             "%d is not supported: the model '%s' makes vectors of %d values "
                             "and cannot shorten them", r->dimensions, name, (*em)->dim);
    if (r->base64 && (*em)->pooling == LLMR_POOL_NONE)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "encoding_format", "the "
                             "model's pooling is none (a vector per token): ask for "
                             "\"encoding_format\": \"float\"");
    return 0;
}

static int handle(struct mg_connection *c, void *ud, emb_kind kind)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, kind == EMB_OPENAI ? SRV_API_CHAT : SRV_API_OLLAMA_GEN);
    atomic_fetch_add(&s->m.requests[SRV_REQ_OTHER], 1);
    const double t0 = llmri_now();
    cJSON *o = srv_check(&x, "POST", SRV_KEY) ? srv_read_json(&x) : NULL;
    if (o) {
        emb_req r;
        char name[160] = "";
        llmr_embeddings *em = NULL;
        srv_error e = {0};
        int st = parse(kind, o, &r, &e);
        if (!st)
            st = run(s, kind, &r, name, sizeof name, &em, &e);
        char *body = NULL;
        if (!st && !(body = reply_body(kind, &r, em, name, llmri_now() - t0)))
            st = srv_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        if (st) {
            srv_reply_error(&x, &e);
        } else {
            x.prompt_tokens = (int)em->total_tokens;
            atomic_fetch_add(&s->m.tokens_in, em->total_tokens);
            srv_reply_json(&x, 200, body, NULL);
        }
        free(body);
        llmr_embeddings_free(em);
        emb_req_free(&r);
        cJSON_Delete(o);
    }
    srv_access_log(&x);
    return 1;
}

int srv_h_embeddings(struct mg_connection *c, void *s) { return handle(c, s, EMB_OPENAI); }
int srv_h_ollama_embed(struct mg_connection *c, void *s) { return handle(c, s, EMB_OLLAMA); }
int srv_h_ollama_embeddings(struct mg_connection *c, void *s)
{
    return handle(c, s, EMB_OLLAMA_LEGACY);
}
