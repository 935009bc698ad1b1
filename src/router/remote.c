/* remote.c - an OpenAI-compatible backend over libcurl (see remote.h).
 *
 * The transfer runs on the caller's thread inside begin() and step(): curl's multi interface
 * is pumped (curl_multi_perform, then curl_multi_poll for at most POLL_MS) until a piece is
 * queued, so there is no helper thread, and cancel() wakes the poll with curl_multi_wakeup. */
#include "router/remote.h"
#include "router/oai.h"
#include "router/sse.h"
#include "core/buf.h"
#include "core/grow.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LLMR_HAVE_CURL
#include <curl/curl.h>
#endif

#define POLL_MS       100
#define MAX_ERR_BODY  65536
#define MAX_CALLS     128          /* tool calls in one reply */
#define MAX_CALL_TEXT (1 << 20)    /* bytes of their names, ids and arguments, all told */

llmr_remote_cfg llmri_remote_defaults(void)
{
    llmr_remote_cfg c;
    memset(&c, 0, sizeof c);
    c.chat = true;
    c.connect_timeout_ms = 5000;
    c.idle_timeout_ms = 30000;
    return c;
}

llmr_remote_req llmri_remote_req_defaults(void)
{
    llmr_remote_req q;
    memset(&q, 0, sizeof q);
    q.temperature = -1;
    q.top_p = -1;
    q.seed = -1;
    return q;
}

/* A tool call as its fragments arrive. Buffers, not cJSON strings: joining a string item per
 * fragment would copy the call again for each one, and a backend sending 1 MiB of arguments a
 * byte at a time would cost ~10^11 byte copies. */
typedef struct call_acc {
    llmr_buf id, name, args;
} call_acc;

struct llmr_remote {
    llmr_remote_cfg cfg;           /* strings point at the copies below */
    char *url, *model, *key_env;
    char  endpoint[2100];
    atomic_bool cancel;            /* set by llmri_remote_cancel() from any thread */
    /* ---- the request in flight (owner thread) ---- */
    bool   running;                /* easy handle is in the multi */
    bool   finished;               /* curl reported the transfer's end */
    bool   headers_done;           /* the final response's headers have arrived */
    bool   done;                   /* [DONE] or a finish_reason was seen */
    long   status;
    double last_rx;                /* when a byte last arrived */
    int    cb_rc;                  /* an error raised inside a callback */
    llmr_err cb_err;
    llmr_sse sse;
    llmr_oai_delta delta;
    char  *q;                      /* queued pieces: [size_t len][bytes] ... */
    size_t q_len, q_cap, q_head;
    char  *errbody;                /* the body of an HTTP error response */
    size_t n_errbody;
    char   finish[32], model_seen[128];
    call_acc *calls;               /* delta.tool_calls assembled: MAX_CALLS, made when first
                                    * needed; n_calls of them used */
    size_t n_calls;
    size_t call_text;              /* their bytes so far */
#ifdef LLMR_HAVE_CURL
    CURLM *multi;
    CURL  *easy;
    CURLcode result;
    struct curl_slist *hdrs;
    char  *body;
    char   curl_err[CURL_ERROR_SIZE];
#endif
};

const char *llmri_remote_finish(const llmr_remote *r) { return r->finish; }

char *llmri_remote_tool_calls(const llmr_remote *r)
{
    if (!r || !r->n_calls)
        return NULL;
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < r->n_calls; i++) {
        const call_acc *k = &r->calls[i];
        char id[32];                  /* a backend that sent no id: one of ours */
        snprintf(id, sizeof id, "call_%zu", i);
        cJSON *c = cJSON_CreateObject(), *f = cJSON_CreateObject();
        cJSON_AddItemToArray(a, c);
        cJSON_AddStringToObject(c, "id", k->id.len ? llmri_buf_str(&k->id) : id);
        cJSON_AddStringToObject(c, "type", "function");
        cJSON_AddItemToObject(c, "function", f);
        cJSON_AddStringToObject(f, "name", llmri_buf_str(&k->name));
        cJSON_AddStringToObject(f, "arguments", llmri_buf_str(&k->args));
    }
    char *s = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return s;
}

/* Frees the calls assembled so far; the next reply starts with none. */
static void free_calls(llmr_remote *r)
{
    for (size_t i = 0; r->calls && i < MAX_CALLS; i++) {
        llmri_buf_free(&r->calls[i].id);
        llmri_buf_free(&r->calls[i].name);
        llmri_buf_free(&r->calls[i].args);
    }
    free(r->calls);
    r->calls = NULL;
    r->n_calls = r->call_text = 0;
}

const char *llmri_remote_model(const llmr_remote *r) { return r->model_seen; }

void llmri_remote_cancel(llmr_remote *r)
{
    if (!r)
        return;
    atomic_store(&r->cancel, true);
#ifdef LLMR_HAVE_CURL
    if (r->multi)
        curl_multi_wakeup(r->multi);
#endif
}

#ifndef LLMR_HAVE_CURL

int llmri_remote_open(const llmr_remote_cfg *cfg, llmr_remote **out, llmr_err *err)
{
    *out = NULL;
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: llmr was built without libcurl, so it "
                        "cannot use remote backends", cfg && cfg->url ? cfg->url : "(no url)");
}
void llmri_remote_close(llmr_remote *r) { free(r); }
int llmri_remote_begin(llmr_remote *r, const char *prompt, const llmr_remote_req *q, llmr_err *err)
{
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "built without libcurl");
}
int llmri_remote_step(llmr_remote *r, const char **text, size_t *len, llmr_err *err)
{
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "built without libcurl");
}
void llmri_remote_end(llmr_remote *r) {}
int llmri_remote_health(const char *url, long timeout_ms, llmr_err *err)
{
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "built without libcurl");
}

#else

static bool http_url(const char *u)
{
    return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8));
}

/* {base}/v1/{path}, without doubling a /v1 the base already ends with. */
static int endpoint(const char *base, const char *path, char *out, size_t n)
{
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    bool has_v1 = len >= 3 && !strncmp(base + len - 3, "/v1", 3);
    int k = snprintf(out, n, "%.*s%s/%s", (int)len, base, has_v1 ? "" : "/v1", path);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

int llmri_remote_open(const llmr_remote_cfg *cfg, llmr_remote **out, llmr_err *err)
{
    *out = NULL;
    if (!cfg || !http_url(cfg->url))
        return llmri_err_set(err, LLMR_ERR_ARG, "url '%s': expected http://HOST[:PORT] or "
                            "https://...", cfg && cfg->url ? cfg->url : "(none)");
    static atomic_bool global_done;
    if (!atomic_exchange(&global_done, true))
        curl_global_init(CURL_GLOBAL_DEFAULT);   /* once; not thread-safe in itself */
    llmr_remote *r = calloc(1, sizeof *r);
    if (!r)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    r->cfg = *cfg;
    r->url = llmri_strdup(cfg->url);
    r->model = llmri_strdup(cfg->model);
    r->key_env = llmri_strdup(cfg->api_key_env);
    r->cfg.url = r->url;
    r->cfg.model = r->model;
    r->cfg.api_key_env = r->key_env;
    if (r->cfg.connect_timeout_ms <= 0)
        r->cfg.connect_timeout_ms = 5000;
    if (r->cfg.idle_timeout_ms <= 0)
        r->cfg.idle_timeout_ms = 30000;
    r->multi = curl_multi_init();
    r->easy = curl_easy_init();
    if (!r->url || (cfg->model && !r->model) || (cfg->api_key_env && !r->key_env) ||
        !r->multi || !r->easy) {
        llmri_remote_close(r);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    }
    if (endpoint(r->url, cfg->chat ? "chat/completions" : "completions", r->endpoint,
                 sizeof r->endpoint)) {
        llmri_remote_close(r);
        return llmri_err_set(err, LLMR_ERR_ARG, "url '%s' is too long", cfg->url);
    }
    llmri_sse_init(&r->sse, 0);
    *out = r;
    return LLMR_OK;
}

void llmri_remote_close(llmr_remote *r)
{
    if (!r)
        return;
    llmri_remote_end(r);
    if (r->easy)
        curl_easy_cleanup(r->easy);
    if (r->multi)
        curl_multi_cleanup(r->multi);
    llmri_sse_free(&r->sse);
    llmri_oai_delta_free(&r->delta);
    free_calls(r);
    free(r->q);
    free(r->errbody);
    free(r->url);
    free(r->model);
    free(r->key_env);
    free(r);
}

/* ---- callbacks (run inside curl_multi_perform on the owner thread) ---------------------- */

static int push_piece(llmr_remote *r, const char *s, size_t n)
{
    size_t need = r->q_len + sizeof(size_t) + n;
    if (!LLMR_GROW(r->q, r->q_cap, need))
        return llmri_err_set(&r->cb_err, LLMR_ERR_NOMEM, "out of memory queueing text");
    memcpy(r->q + r->q_len, &n, sizeof n);
    memcpy(r->q + r->q_len + sizeof n, s, n);
    r->q_len = need;
    return LLMR_OK;
}

/* Appends a fragment to a call's field (a string, or any other JSON printed). */
static int append_field(llmr_remote *r, llmr_buf *field, const cJSON *frag)
{
    if (!frag || cJSON_IsNull(frag))
        return LLMR_OK;
    char *printed = cJSON_IsString(frag) ? NULL : cJSON_PrintUnformatted(frag);
    const char *add = cJSON_IsString(frag) ? frag->valuestring : printed;
    size_t n = add ? strlen(add) : 0;
    bool ok = add && llmri_buf_append(field, add, n);
    free(printed);
    if (!ok)
        return llmri_err_set(&r->cb_err, LLMR_ERR_NOMEM, "out of memory for a tool call");
    r->call_text += n;
    return r->call_text > MAX_CALL_TEXT
               ? llmri_err_set(&r->cb_err, LLMR_ERR_FORMAT, "%s: the backend's tool calls exceed "
                              "%d bytes", r->endpoint, MAX_CALL_TEXT)
               : LLMR_OK;
}

/* A chunk's delta.tool_calls into r->calls: each entry names its call by "index" (its
 * position when a server leaves that out); the id and name come once, the arguments in
 * fragments to join. */
static int merge_calls(llmr_remote *r, const cJSON *tcs)
{
    const cJSON *t;
    int pos = 0;
    cJSON_ArrayForEach(t, tcs) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(t, "index");
        double d = cJSON_IsNumber(ix) ? ix->valuedouble : pos;
        pos++;
        if (!cJSON_IsObject(t) || !(d >= 0 && d < MAX_CALLS))
            return llmri_err_set(&r->cb_err, LLMR_ERR_FORMAT, "%s: a tool call delta that is "
                                "not an object with an index in 0..%d", r->endpoint,
                                MAX_CALLS - 1);
        if (!r->calls && !(r->calls = calloc(MAX_CALLS, sizeof *r->calls)))
            return llmri_err_set(&r->cb_err, LLMR_ERR_NOMEM, "out of memory");
        size_t i = (size_t)d;
        if (i >= r->n_calls)
            r->n_calls = i + 1;
        call_acc *c = &r->calls[i];
        const cJSON *tf = cJSON_GetObjectItemCaseSensitive(t, "function");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        int rc = append_field(r, &c->id, cJSON_IsString(id) ? id : NULL);
        if (!rc && cJSON_IsObject(tf))
            rc = append_field(r, &c->name, cJSON_GetObjectItemCaseSensitive(tf, "name"));
        if (!rc && cJSON_IsObject(tf))
            rc = append_field(r, &c->args, cJSON_GetObjectItemCaseSensitive(tf, "arguments"));
        if (rc)
            return rc;
    }
    return LLMR_OK;
}

static int on_event(void *user, const llmr_sse_event *ev)
{
    llmr_remote *r = user;
    if (r->done)
        return 0;                 /* past [DONE]: ignore the rest */
    if (strcmp(ev->type, "message") != 0 && strcmp(ev->type, "error") != 0)
        return 0;                 /* other event types carry no completion text */
    int rc = llmri_oai_decode(ev->data, ev->data_len, r->cfg.chat, &r->delta, &r->cb_err);
    if (rc == LLMR_OK && !strcmp(ev->type, "error"))
        rc = llmri_err_set(&r->cb_err, LLMR_ERR_NETWORK, "the backend sent an error event: %.300s",
                          ev->data);
    if (rc) {
        char why[sizeof r->cb_err.msg];
        snprintf(why, sizeof why, "%s", r->cb_err.msg);
        llmri_err_set(&r->cb_err, rc, "%s: %s", r->endpoint, why);
        return rc;
    }
    if (r->delta.model[0])
        snprintf(r->model_seen, sizeof r->model_seen, "%s", r->delta.model);
    if (r->delta.text && r->delta.len && (rc = push_piece(r, r->delta.text, r->delta.len)))
        return rc;
    if (r->delta.tool_calls && (rc = merge_calls(r, r->delta.tool_calls)))
        return rc;
    if (r->delta.finish[0]) {
        snprintf(r->finish, sizeof r->finish, "%s", r->delta.finish);
        r->done = true;
    }
    if (r->delta.done)
        r->done = true;
    return 0;
}

static size_t on_write(char *p, size_t sz, size_t nm, void *user)
{
    llmr_remote *r = user;
    size_t n = sz * nm;
    r->last_rx = llmri_now();
    if (!r->status)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status >= 300) {
        size_t room = MAX_ERR_BODY - r->n_errbody, k = n < room ? n : room;
        char *b = realloc(r->errbody, r->n_errbody + k + 1);
        if (!b)
            return 0;
        memcpy(b + r->n_errbody, p, k);
        r->n_errbody += k;
        b[r->n_errbody] = 0;
        r->errbody = b;
        return n;
    }
    int rc = llmri_sse_feed(&r->sse, p, n, on_event, r, &r->cb_err);
    if (rc) {
        r->cb_rc = rc;
        if (rc == LLMR_ERR_TOO_BIG || rc == LLMR_ERR_FORMAT) {
            char why[sizeof r->cb_err.msg];
            snprintf(why, sizeof why, "%s", r->cb_err.msg);
            if (!strstr(why, r->endpoint))
                llmri_err_set(&r->cb_err, LLMR_ERR_FORMAT, "%s: %s", r->endpoint, why);
        }
        return 0;                  /* aborts the transfer */
    }
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *user)
{
    llmr_remote *r = user;
    size_t n = sz * nm;
    r->last_rx = llmri_now();
    if (n <= 2 && (n == 0 || p[0] == '\r' || p[0] == '\n')) {
        long st = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
        if (st >= 200) {           /* 1xx (100 Continue) headers are followed by more */
            r->status = st;
            r->headers_done = true;
        }
    }
    return n;
}

static int on_xfer(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    llmr_remote *r = user;
    return atomic_load(&r->cancel) ? 1 : 0;   /* non-zero aborts: CURLE_ABORTED_BY_CALLBACK */
}

/* ---- the transfer ----------------------------------------------------------------------- */

/* Runs curl once and waits at most POLL_MS for more; notes the end of the transfer. */
static int pump(llmr_remote *r, llmr_err *err)
{
    if (atomic_load(&r->cancel))
        return llmri_err_set(err, LLMR_ERR_CANCELLED, "%s: cancelled", r->endpoint);
    int running = 0;
    CURLMcode mc = curl_multi_perform(r->multi, &running);
    if (mc != CURLM_OK)
        return llmri_err_set(err, LLMR_ERR_NETWORK, "%s: %s", r->endpoint, curl_multi_strerror(mc));
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(r->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            r->finished = true;
            r->result = m->data.result;
        }
    if (r->finished)
        return LLMR_OK;
    if (llmri_now() - r->last_rx > r->cfg.idle_timeout_ms / 1000.0)
        return llmri_err_set(err, LLMR_ERR_NETWORK, "%s: no data for %ld ms (idle timeout)",
                            r->endpoint, r->cfg.idle_timeout_ms);
    curl_multi_poll(r->multi, NULL, 0, POLL_MS, NULL);
    if (r->cfg.alive && !r->cfg.alive(r->cfg.alive_user))
        atomic_store(&r->cancel, true);
    if (atomic_load(&r->cancel))
        return llmri_err_set(err, LLMR_ERR_CANCELLED, "%s: cancelled", r->endpoint);
    return LLMR_OK;
}

/* The error of a transfer that ended early: a callback's, a cancel, or curl's. */
static int transfer_error(llmr_remote *r, llmr_err *err)
{
    if (r->cb_rc) {
        if (err)
            *err = r->cb_err;
        return r->cb_rc;
    }
    if (r->result == CURLE_ABORTED_BY_CALLBACK || atomic_load(&r->cancel))
        return llmri_err_set(err, LLMR_ERR_CANCELLED, "%s: cancelled", r->endpoint);
    const char *why = r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->result);
    return llmri_err_set(err, LLMR_ERR_NETWORK, "%s: %s", r->endpoint, why);
}

static char *request_body(llmr_remote *r, const char *prompt, const llmr_remote_req *q)
{
    cJSON *b = cJSON_CreateObject();
    if (!b)
        return NULL;
    if (r->cfg.model)
        cJSON_AddStringToObject(b, "model", r->cfg.model);
    cJSON *rich = r->cfg.chat && q->messages_json ? cJSON_Parse(q->messages_json) : NULL;
    if (cJSON_IsArray(rich)) {
        /* OpenAI's form: a call's arguments are JSON text (the template form has objects) */
        cJSON *m, *c;
        cJSON_ArrayForEach(m, rich)
            cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m, "tool_calls")) {
                cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "function");
                cJSON *a = cJSON_GetObjectItemCaseSensitive(f, "arguments");
                char *t = a && !cJSON_IsString(a) ? cJSON_PrintUnformatted(a) : NULL;
                if (t)
                    cJSON_ReplaceItemInObjectCaseSensitive(f, "arguments", cJSON_CreateString(t));
                free(t);
            }
        cJSON_AddItemToObject(b, "messages", rich);
    } else if (r->cfg.chat) {
        cJSON_Delete(rich);
        cJSON *msgs = cJSON_AddArrayToObject(b, "messages");
        for (size_t i = 0; i < (q->n_msgs ? q->n_msgs : 1); i++) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", q->n_msgs ? q->msg_roles[i] : "user");
            cJSON_AddStringToObject(m, "content", q->n_msgs ? q->msg_contents[i] : prompt);
            cJSON_AddItemToArray(msgs, m);
        }
    } else {
        cJSON_AddStringToObject(b, "prompt", prompt);
    }
    cJSON_AddBoolToObject(b, "stream", true);
    if (q->max_tokens > 0)
        cJSON_AddNumberToObject(b, "max_tokens", q->max_tokens);
    if (q->temperature >= 0)
        cJSON_AddNumberToObject(b, "temperature", q->temperature);
    if (q->top_p >= 0)
        cJSON_AddNumberToObject(b, "top_p", q->top_p);
    if (q->seed >= 0)
        cJSON_AddNumberToObject(b, "seed", (double)q->seed);
    if (q->stop && q->stop[0]) {
        cJSON *s = cJSON_AddArrayToObject(b, "stop");
        for (size_t i = 0; q->stop[i]; i++)
            cJSON_AddItemToArray(s, cJSON_CreateString(q->stop[i]));
    }
    if (q->json_mode) {
        cJSON *f = cJSON_AddObjectToObject(b, "response_format");
        cJSON_AddStringToObject(f, "type", "json_object");
    }
    cJSON *tools = r->cfg.chat && q->tools_json ? cJSON_Parse(q->tools_json) : NULL;
    if (tools) {
        cJSON_AddItemToObject(b, "tools", tools);
        cJSON_AddBoolToObject(b, "parallel_tool_calls", q->parallel_tool_calls);
    }
    const char *tc = q->tool_choice;
    if (tools && tc && (!strcmp(tc, "auto") || !strcmp(tc, "none") || !strcmp(tc, "required")))
        cJSON_AddStringToObject(b, "tool_choice", tc);
    else if (tools && tc) {
        cJSON *o = cJSON_AddObjectToObject(b, "tool_choice");
        cJSON_AddStringToObject(o, "type", "function");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "function"), "name", tc);
    }
    char *s = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return s;
}

static void reset_request(llmr_remote *r)
{
    r->finished = r->headers_done = r->done = false;
    r->status = 0;
    r->cb_rc = 0;
    llmri_err_clear(&r->cb_err);
    r->q_len = r->q_head = 0;
    r->n_errbody = 0;
    r->finish[0] = r->model_seen[0] = 0;
    free_calls(r);
    r->curl_err[0] = 0;
    r->result = CURLE_OK;
    llmri_sse_free(&r->sse);
    llmri_sse_init(&r->sse, 0);
}

static int set_headers(llmr_remote *r, llmr_err *err)
{
    struct curl_slist *h = NULL, *t;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = (t = h ? curl_slist_append(h, "Accept: text/event-stream") : NULL) ? t : h;
    if (r->cfg.api_key_env) {
        const char *key = getenv(r->cfg.api_key_env);
        if (!key || !*key) {
            curl_slist_free_all(h);
            return llmri_err_set(err, LLMR_ERR_ARG, "%s: the API key variable %s is not set in "
                                "the environment", r->endpoint, r->cfg.api_key_env);
        }
        char line[4200];
        if (snprintf(line, sizeof line, "Authorization: Bearer %s", key) >= (int)sizeof line) {
            curl_slist_free_all(h);
            return llmri_err_set(err, LLMR_ERR_ARG, "%s: the API key in %s is too long",
                                r->endpoint, r->cfg.api_key_env);
        }
        t = h ? curl_slist_append(h, line) : NULL;
        h = t ? t : h;
        memset(line, 0, sizeof line);         /* the key lives only in curl's copy */
    }
    if (!h)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    r->hdrs = h;
    return LLMR_OK;
}

int llmri_remote_begin(llmr_remote *r, const char *prompt, const llmr_remote_req *q,
                      llmr_err *err)
{
    llmr_remote_req def = llmri_remote_req_defaults();
    if (!q)
        q = &def;
    llmri_remote_end(r);
    reset_request(r);
    atomic_store(&r->cancel, false);
    int rc = set_headers(r, err);
    if (rc)
        return rc;
    if (!(r->body = request_body(r, prompt, q)))
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    CURL *c = r->easy;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, r->endpoint);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->cfg.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
    if (curl_multi_add_handle(r->multi, c) != CURLM_OK)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "%s: cannot start the request", r->endpoint);
    r->running = true;
    r->last_rx = llmri_now();
    /* Wait for the status line and headers: failures before any text surface here. */
    while (!r->headers_done && !r->finished)
        if ((rc = pump(r, err)))
            return rc;
    if (!r->headers_done)
        return transfer_error(r, err);
    if (r->status >= 300) {
        while (!r->finished)       /* collect the error body (bounded), for its message */
            if ((rc = pump(r, err)))
                return rc;
        return llmri_oai_http_error(r->status, r->errbody, r->n_errbody, r->endpoint, err);
    }
    return LLMR_OK;
}

int llmri_remote_step(llmr_remote *r, const char **text, size_t *len, llmr_err *err)
{
    if (!r->running)
        return llmri_err_set(err, LLMR_ERR_STATE, "%s: step without a request", r->endpoint);
    if (r->q_head == r->q_len)
        r->q_head = r->q_len = 0;          /* the last piece handed out is no longer needed */
    for (;;) {
        if (r->q_head < r->q_len) {
            size_t n;
            memcpy(&n, r->q + r->q_head, sizeof n);
            *text = r->q + r->q_head + sizeof n;
            *len = n;
            r->q_head += sizeof n + n;
            return LLMR_OK;
        }
        if (r->cb_rc)
            return transfer_error(r, err);
        if (r->done)
            return LLMR_DONE;
        if (r->finished) {
            if (r->result != CURLE_OK)
                return transfer_error(r, err);
            return llmri_err_set(err, LLMR_ERR_NETWORK, "%s: the stream ended before [DONE] "
                                "(connection closed by the server)", r->endpoint);
        }
        int rc = pump(r, err);
        if (rc)
            return rc;
    }
}

void llmri_remote_end(llmr_remote *r)
{
    if (!r)
        return;
    if (r->running) {
        curl_multi_remove_handle(r->multi, r->easy);
        r->running = false;
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    free(r->body);
    r->body = NULL;
    llmri_oai_delta_free(&r->delta);
}

static size_t discard(char *p, size_t sz, size_t nm, void *user) { return sz * nm; }

int llmri_remote_health(const char *url, long timeout_ms, llmr_err *err)
{
    char ep[2100];
    if (!http_url(url) || endpoint(url, "models", ep, sizeof ep))
        return llmri_err_set(err, LLMR_ERR_ARG, "url '%s': expected http(s)://...", url);
    CURL *c = curl_easy_init();
    if (!c)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, ep);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode cr = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    if (cr != CURLE_OK)
        return llmri_err_set(err, LLMR_ERR_NETWORK, "%s: %s", ep,
                            cerr[0] ? cerr : curl_easy_strerror(cr));
    if (st < 200 || st >= 300)
        return llmri_oai_http_error(st, NULL, 0, ep, err);
    return LLMR_OK;
}

#endif /* LLMR_HAVE_CURL */
