/* server.c - llmr_server: options, civetweb start and stop, routes, API key, the model's
 * lifecycle (background load, /api/models/load), graceful shutdown. */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

llmr_server_opts llmr_server_defaults(void)
{
    return (llmr_server_opts){
        .host = "127.0.0.1",
        .port = 8080,
        .parallel = 4,
        .ctx_size = 2048,
        .cache_type_v = LLMR_KV_SAME,
        .max_body = 1u << 20,
        .max_tokens = 2048,
        .timeout_s = 600,
        .queue_size = 64,
        .shutdown_s = 10,
        .access_log = true,
        .read_timeout_s = 10,
        .ws_idle_s = 60,
        .max_conns_per_addr = 32,
    };
}

static void set_err(llmr_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(llmr_server *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&s->lock);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    pthread_mutex_unlock(&s->lock);
    va_end(ap);
}

const char *llmr_server_errmsg(const llmr_server *s)
{
    return s ? s->errmsg : "out of memory";
}

int llmr_server_port(const llmr_server *s)
{
    return s ? s->port : 0;
}

/* ---- the model --------------------------------------------------------------------------- */

static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".gguf"))
        n -= 5;
    return llmri_strndup(b, n);
}

bool srv_model_matches(llmr_server *s, const char *name)
{
    if (!name || !name[0])
        return true;
    pthread_mutex_lock(&s->lock);
    bool ok = false;
    if (s->name) {
        size_t n = strlen(s->name);
        ok = !strcmp(name, s->name) || (s->alias && !strcmp(name, s->alias)) ||
             (!strncmp(name, s->name, n) &&
              (!strcmp(name + n, ".gguf") || !strcmp(name + n, ":latest")));
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* A router of one entry: the model file, named by its alias, or its file name (which is
 * then an alias). It never unloads the model (keep_alive -1), never sits it out after a failure, and
 * tries it once per request, as one model can only answer or fail. */
static int one_model_router(llmr_server *s, const char *path, const char *name, llmr_router **out,
                            char *msg, size_t msg_len)
{
    cJSON *cfg = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(cfg, "models");
    cJSON *m = cJSON_CreateObject();
    const char *id = s->alias ? s->alias : name;
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "source", path);
    if (strcmp(id, name)) {
        cJSON *al = cJSON_AddArrayToObject(m, "aliases");
        cJSON_AddItemToArray(al, cJSON_CreateString(name));
    }
    cJSON_AddItemToArray(arr, m);
    cJSON_AddNumberToObject(cfg, "keep_alive_s", -1);
    cJSON_AddNumberToObject(cfg, "failures_to_cooldown", 1000);
    cJSON_AddNumberToObject(cfg, "cooldown_s", 0);
    cJSON *retry = cJSON_AddObjectToObject(cfg, "retry");
    cJSON_AddNumberToObject(retry, "max_rounds", 1);
    char *js = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    if (!js)
        return snprintf(msg, msg_len, "out of memory"), LLMR_ERR_NOMEM;
    llmr_router *r = NULL;
    int rc = llmr_router_open_json(js, path, &r);
    free(js);
    if (rc == LLMR_OK)
        rc = srv_route_init(s, r, msg, msg_len);
    else
        snprintf(msg, msg_len, "%s", llmr_router_errmsg(r));
    if (rc == LLMR_OK && (rc = llmr_router_load(r, id)) != LLMR_OK)
        snprintf(msg, msg_len, "%s", llmr_router_errmsg(r));
    if (rc) {
        llmr_router_close(r);
        return rc;
    }
    *out = r;
    return LLMR_OK;
}

/* Opens the one-model router for path; on success swaps it in. */
static int load_model(llmr_server *s, const char *path, char *msg, size_t msg_len)
{
    char *new_path = llmri_strdup(path), *new_name = base_name(path);
    llmr_router *r = NULL;
    int rc = new_path && new_name ? one_model_router(s, path, new_name, &r, msg, msg_len)
                                  : (snprintf(msg, msg_len, "out of memory"), LLMR_ERR_NOMEM);
    if (rc) {
        free(new_path);
        free(new_name);
        return rc;
    }
    struct stat st;
    uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    pthread_mutex_lock(&s->lock);
    llmr_router *old = s->models;
    free(s->model_path);
    free(s->name);
    s->models = r;
    s->model_path = new_path;
    s->name = new_name;
    s->model_size = size;
    s->state = SRV_READY;
    pthread_mutex_unlock(&s->lock);
    llmr_router_close(old);        /* the caller holds the write lock: nothing runs on it */
    return LLMR_OK;
}

static void *loader_main(void *arg)
{
    llmr_server *s = arg;
    char msg[512];
    pthread_rwlock_wrlock(&s->use);   /* loads never overlap (see srv_model_load) */
    int rc = load_model(s, s->model_path, msg, sizeof msg);
    pthread_rwlock_unlock(&s->use);
    if (rc) {
        set_err(s, "%s", msg);
        pthread_mutex_lock(&s->lock);
        s->state = SRV_FAILED;
        pthread_mutex_unlock(&s->lock);
        fprintf(stderr, "llmr serve: loading the model failed: %s\n", msg);
    }
    return (void *)(intptr_t)rc;
}

int llmr_server_wait_ready(llmr_server *s)
{
    if (!s)
        return LLMR_ERR_ARG;
    if (s->loader_started) {
        void *r;
        pthread_join(s->loader, &r);
        s->loader_started = false;
    }
    pthread_mutex_lock(&s->lock);
    int rc = s->state == SRV_READY ? LLMR_OK : LLMR_ERR;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int srv_model_load(llmr_server *s, const char *path, char *msg, size_t msg_len)
{
    /* The write lock waits for every generation request in flight; new ones wait behind it
     * (POSIX rwlocks with writer preference are not guaranteed, so srv_model_get also checks
     * state). */
    pthread_mutex_lock(&s->lock);
    srv_state prev = s->state;
    s->state = SRV_LOADING;
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_wrlock(&s->use);
    int rc = load_model(s, path, msg, msg_len);
    if (rc) {
        pthread_mutex_lock(&s->lock);
        s->state = prev;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_rwlock_unlock(&s->use);
    return rc ? (rc == LLMR_ERR_IO ? 404 : 400) : 0;
}

int srv_model_take(llmr_server *s, const char *name, srv_error *e)
{
    if (atomic_load(&s->stopping))
        return srv_error_set(e, 503, "server_error", "shutting_down", NULL,
                             "the server is shutting down");
    pthread_rwlock_rdlock(&s->use);
    pthread_mutex_lock(&s->lock);
    srv_state st = s->state;
    pthread_mutex_unlock(&s->lock);
    if (st != SRV_READY) {
        pthread_rwlock_unlock(&s->use);
        if (st == SRV_LOADING)
            return srv_error_set(e, 503, "server_error", "model_loading", NULL,
                                 "the model is loading");
        return srv_error_set(e, 503, "server_error", "model_failed", NULL,
                             "the model failed to load: %s", s->errmsg);
    }
    if (!srv_model_matches(s, name)) {
        pthread_rwlock_unlock(&s->use);
        return srv_error_set(e, 404, "invalid_request_error", "model_not_found", "model",
                             "the model '%.200s' does not exist; this server has '%s' "
                             "(GET /v1/models)", name, s->alias ? s->alias : s->name);
    }
    atomic_fetch_add(&s->in_flight, 1);
    return 0;
}

bool srv_models_hold(llmr_server *s)
{
    if (!s->single)
        return true;
    pthread_rwlock_rdlock(&s->use);
    pthread_mutex_lock(&s->lock);
    bool ready = s->state == SRV_READY && s->models;
    pthread_mutex_unlock(&s->lock);
    if (!ready)
        pthread_rwlock_unlock(&s->use);
    return ready;
}

void srv_models_put(llmr_server *s)
{
    if (s->single)
        pthread_rwlock_unlock(&s->use);
}

void srv_model_put(llmr_server *s)
{
    atomic_fetch_sub(&s->in_flight, 1);
    pthread_rwlock_unlock(&s->use);
}

void srv_iso_time(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char d[32];
    strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%09ldZ", d, ts.tv_nsec);
}

/* ---- request checks ---------------------------------------------------------------------- */

/* Compares without an early exit so the time taken does not reveal how much of a guessed key
 * was right. */
static bool key_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

bool srv_key_equal(const char *offered, const char *key)
{
    return key_equal(offered, key);
}

/* The key a request presents: "Authorization: Bearer KEY", or, where browsers cannot set
 * headers (the page, /ws), ?api_key=KEY. Copied into buf (any length the request has). */
static const char *presented_key(srv_ctx *x, bool query_ok, char *buf, size_t n)
{
    const char *h = mg_get_header(x->c, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7))
        return h + 7;
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    if (query_ok && ri->query_string &&
        mg_get_var(ri->query_string, strlen(ri->query_string), "api_key", buf, n) > 0)
        return buf;
    return NULL;
}

bool srv_key_ok(srv_ctx *x, srv_access access)
{
    llmr_server *s = x->srv;
    if (access == SRV_OPEN || !s->api_key)
        return true;
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    size_t qn = ri->query_string ? strlen(ri->query_string) + 1 : 1;
    char *q = malloc(qn);
    if (!q)
        return false;
    const char *k = presented_key(x, access == SRV_KEY_QUERY, q, qn);
    bool ok = k && (key_equal(k, s->api_key) ||
                    (access == SRV_KEY_METRICS && s->metrics_key &&
                     key_equal(k, s->metrics_key)));
    free(q);
    return ok;
}

bool srv_check(srv_ctx *x, const char *method, srv_access access)
{
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    if (!strcmp(ri->request_method, "OPTIONS")) {
        /* A CORS preflight: only an origin that --cors allows gets the go-ahead (the headers
         * srv_cors_headers adds); any other page is refused before it can send the request. */
        bool ok = srv_cors_origin(x) != NULL;
        srv_reply_text(x, ok ? 204 : 403, "text/plain", "", 0, NULL);
        return false;
    }
    if (method && strcmp(ri->request_method, method)) {
        srv_reply_errorf(x, 405, "invalid_request_error", "method_not_allowed",
                         "%s %.200s: this route takes %s", ri->request_method, ri->local_uri,
                         method);
        return false;
    }
    if (!srv_key_ok(x, access)) {
        bool sent = mg_get_header(x->c, "Authorization") ||
                    (ri->query_string && strstr(ri->query_string, "api_key="));
        srv_reply_errorf(x, 401, "authentication_error", "invalid_api_key",
                         sent ? "the API key is not valid" :
                                "no API key: send the header 'Authorization: Bearer KEY'");
        return false;
    }
    return true;
}

static int h_not_found(struct mg_connection *c, void *ud)
{
    srv_ctx x;
    const struct mg_request_info *ri = mg_get_request_info(c);
    /* ollama's clients read {"error": "..."}: an OpenAI-shaped 404 on /api/ made the ollama
     * npm client throw "[object Object]" */
    bool ollama = !strncmp(ri->local_uri, "/api/", 5);
    srv_ctx_init(&x, ud, c, ollama ? SRV_API_OLLAMA_GEN : SRV_API_CHAT);
    if (!strcmp(ri->request_method, "OPTIONS")) {
        srv_check(&x, NULL, SRV_OPEN);
    } else if (!strcmp(ri->local_uri, "/")) {
        srv_h_page(c, ud);
        return 1;
    } else {
        srv_reply_errorf(&x, 404, "invalid_request_error", "not_found", "no route %s %.200s",
                         ri->request_method, ri->local_uri);
    }
    srv_access_log(&x);
    return 1;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int log_message(const struct mg_connection *c, const char *msg)
{
    (void)c;
    fprintf(stderr, "llmr serve: civetweb: %s\n", msg);
    return 1;
}

static int open_http(llmr_server *s)
{
    char ports[300];
    bool v6 = strchr(s->host, ':') != NULL;
    snprintf(ports, sizeof ports, v6 ? "[%s]:%d" : "%s:%d", s->host, s->o.port);
    /* Every connection holds a worker thread while it is open (conn.c). */
    char threads[16], req_ms[16], ka_ms[16];
    snprintf(threads, sizeof threads, "%d", srv_conns_threads(s));
    snprintf(req_ms, sizeof req_ms, "%d", s->o.read_timeout_s * 1000);
    snprintf(ka_ms, sizeof ka_ms, "%d", (s->o.read_timeout_s < 5 ? s->o.read_timeout_s : 5) * 1000);
    const char *opts[] = {
        "listening_ports", ports,
        "num_threads", threads,
        "request_timeout_ms", req_ms,       /* the whole header read; each body read */
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", ka_ms,
        "max_request_size", "65536",        /* request line and headers */
        "websocket_timeout_ms", "3600000",
        /* civetweb answers CORS preflights itself, allowing every origin, before a handler
         * runs; empty values turn that off so srv_check decides (--cors). */
        "access_control_allow_origin", "",
        "access_control_allow_methods", "",
        "access_control_allow_headers", "",
        "listen_backlog", "1024",           /* a burst of connections is not dropped */
        NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = log_message;
    srv_conns_callbacks(&cb);
    if (srv_conns_open(s))
        return LLMR_ERR_NOMEM;
    s->ctx = mg_start(&cb, s, opts);
    if (!s->ctx)
        return LLMR_ERR_IO;
    struct mg_server_port sp[4];
    int n = mg_get_server_ports(s->ctx, 4, sp);
    s->port = n > 0 ? sp[0].port : s->o.port;
    struct {
        const char *uri;
        mg_request_handler h;
    } routes[] = {
        {"/v1/chat/completions$", srv_h_chat},
        {"/v1/completions$", srv_h_completions},
        {"/v1/models$", srv_h_models},
        {"/v1/messages$", srv_h_anthropic_messages},
        {"/v1/responses$", srv_h_responses},
        {"/v1/messages/count_tokens$", srv_h_anthropic_count},
        {"/v1/embeddings$", srv_h_embeddings},
        {"/api/embed$", srv_h_ollama_embed},
        {"/api/embeddings$", srv_h_ollama_embeddings},
        {"/api/generate$", srv_h_ollama_generate},
        {"/api/chat$", srv_h_ollama_chat},
        {"/api/tags$", srv_h_ollama_tags},
        {"/api/show$", srv_h_ollama_show},
        {"/api/ps$", srv_h_ollama_ps},
        {"/api/version$", srv_h_ollama_version},
        {"/api/health$", srv_h_api_health},
        {"/api/models$", srv_h_api_models},
        {"/api/models/load$", srv_h_api_models_load},
        {"/api/models/", srv_h_api_models_item},
        {"/health$", srv_h_health},
        {"/metrics$", srv_h_metrics},
        {"/index.html$", srv_h_page},
        {"/browser$", srv_h_browser},
        {"/browser/", srv_h_browser},
        {"/", h_not_found},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        mg_set_request_handler(s->ctx, routes[i].uri, routes[i].h, s);
    return LLMR_OK;
}

static int check_opts(llmr_server *s, const llmr_server_opts *o)
{
    if (o->parallel < 1 || o->parallel > 64)
        return set_err(s, "parallel is %d; expected 1 to %d", o->parallel, 64),
               LLMR_ERR_ARG;
    if (o->ctx_size < 16 || o->ctx_size > 1 << 20)
        return set_err(s, "ctx_size is %d; expected 16 to 1048576", o->ctx_size), LLMR_ERR_ARG;
    if (o->cache_type_k < LLMR_KV_F16 || o->cache_type_k > LLMR_KV_Q4_0 ||
        o->cache_type_v < LLMR_KV_SAME || o->cache_type_v > LLMR_KV_Q4_0)
        return set_err(s, "cache types %d, %d: expected an llmr_kv_type", (int)o->cache_type_k,
                       (int)o->cache_type_v), LLMR_ERR_ARG;
    if (o->port < 0 || o->port > 65535)
        return set_err(s, "port is %d; expected 0 to 65535", o->port), LLMR_ERR_ARG;
    if (o->queue_size < 0 || o->queue_size > 4096)
        return set_err(s, "queue size is %d; expected 0 to 4096", o->queue_size), LLMR_ERR_ARG;
    if (o->max_tokens < 1 || o->max_body < 64)
        return set_err(s, "max_tokens must be at least 1 and max_body at least 64"),
               LLMR_ERR_ARG;
    if (o->read_timeout_s < 1 || o->read_timeout_s > 3600 || o->ws_idle_s < 1 ||
        o->ws_idle_s > 86400 || o->max_conns_per_addr < 0 || o->max_conns_per_addr > 100000)
        return set_err(s, "read_timeout_s is %d (1 to 3600), ws_idle_s %d (1 to 86400), "
                          "max_conns_per_addr %d (0 to 100000)", o->read_timeout_s,
                       o->ws_idle_s, o->max_conns_per_addr), LLMR_ERR_ARG;
    return LLMR_OK;
}

static llmr_server *server_new(const llmr_server_opts *opts)
{
    llmr_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_rwlock_init(&s->use, NULL);
    pthread_mutex_init(&s->ws_lock, NULL);
    s->o = opts ? *opts : llmr_server_defaults();
    s->t_start = llmri_now();
    if (!(s->jobs = srv_jobs_new()) || !(s->responses = srv_responses_new())) {
        srv_jobs_free(s->jobs);
        free(s);
        return NULL;
    }
    return s;
}

/* Copies the options' strings (models_dir is the caller's) and checks the host. */
static int copy_opts(llmr_server *s)
{
    s->host = llmri_strdup(s->o.host ? s->o.host : "127.0.0.1");
    s->api_key = s->o.api_key && s->o.api_key[0] ? llmri_strdup(s->o.api_key) : NULL;
    s->metrics_key =
        s->o.metrics_key && s->o.metrics_key[0] ? llmri_strdup(s->o.metrics_key) : NULL;
    s->cors = s->o.cors_origin && s->o.cors_origin[0] ? llmri_strdup(s->o.cors_origin) : NULL;
    s->alias = s->o.alias ? llmri_strdup(s->o.alias) : NULL;
    if (!s->host)
        return LLMR_ERR_NOMEM;
    if (s->o.browser_dir && s->o.browser_dir[0]) {
        /* kept as a real path: the files served are confined to it (static.c) */
        struct stat st;
        char real[PATH_MAX];
        if (!realpath(s->o.browser_dir, real) || stat(real, &st) || !S_ISDIR(st.st_mode))
            return set_err(s, "browser_dir '%s' is not a folder", s->o.browser_dir),
                   LLMR_ERR_ARG;
        if (!(s->browser_dir = llmri_strdup(real)))
            return LLMR_ERR_NOMEM;
    }
    if (strcspn(s->host, " ,\r\n[]") != strlen(s->host))
        return set_err(s, "host '%s' is not an address", s->host), LLMR_ERR_ARG;
    s->o.host = s->host;
    s->o.api_key = s->api_key;
    s->o.metrics_key = s->metrics_key;
    s->o.cors_origin = s->cors;
    s->o.alias = s->alias;
    s->o.models_dir = s->models_dir;
    s->o.browser_dir = s->browser_dir;
    return LLMR_OK;
}

static int begin_listening(llmr_server *s)
{
    signal(SIGPIPE, SIG_IGN);   /* a write to a client that left must fail, not kill us */
    mg_init_library(0);
    s->lib_inited = true;
    if (open_http(s))
        return set_err(s, "cannot listen on %s port %d (in use, or not an address of this "
                          "machine)", s->host, s->o.port), LLMR_ERR_IO;
    return LLMR_OK;
}

int llmr_server_open(const char *model_path, const llmr_server_opts *opts, llmr_server **out)
{
    llmr_server *s = *out = server_new(opts);
    if (!s)
        return LLMR_ERR_NOMEM;
    s->single = true;
    int rc = check_opts(s, &s->o);
    if (rc)
        return rc;
    if (!model_path)
        return set_err(s, "no model file given"), LLMR_ERR_ARG;
    s->model_path = llmri_strdup(model_path);
    if (s->o.models_dir) {
        s->models_dir = llmri_strdup(s->o.models_dir);
    } else {
        const char *sl = strrchr(model_path, '/');
        s->models_dir = sl ? llmri_strndup(model_path, (size_t)(sl - model_path) + (sl == model_path))
                           : llmri_strdup(".");
    }
    if (!s->model_path || !s->models_dir)
        return LLMR_ERR_NOMEM;
    if ((rc = copy_opts(s)))
        return rc;
    s->state = SRV_LOADING;
    if ((rc = begin_listening(s)))
        return rc;
    if (pthread_create(&s->loader, NULL, loader_main, s))
        return set_err(s, "cannot start the model loader thread"), LLMR_ERR_NOMEM;
    s->loader_started = true;
    return LLMR_OK;
}

int llmr_server_open_router(llmr_router *router, const llmr_server_opts *opts,
                            llmr_server **out)
{
    llmr_server *s = *out = server_new(opts);
    if (!s) {
        llmr_router_close(router);
        return LLMR_ERR_NOMEM;
    }
    s->models = router;
    if (!router)
        return set_err(s, "no router given"), LLMR_ERR_ARG;
    int rc = check_opts(s, &s->o);
    if (rc)
        return rc;
    if ((rc = copy_opts(s)))
        return rc;
    char msg[512];
    if ((rc = srv_route_init(s, router, msg, sizeof msg)))
        return set_err(s, "%s", msg), rc;
    s->state = SRV_READY;   /* models load on first use (or were preloaded) */
    return begin_listening(s);
}

void llmr_server_shutdown(llmr_server *s)
{
    if (!s || atomic_exchange(&s->stopping, true))
        return;
    if (s->loader_started) {
        pthread_join(s->loader, NULL);
        s->loader_started = false;
    }
    /* Let in-flight requests finish for shutdown_s, then cancel what remains. */
    double t0 = llmri_now();
    while (atomic_load(&s->in_flight) > 0 && llmri_now() - t0 < s->o.shutdown_s)
        usleep(20000);
    int left = atomic_load(&s->in_flight);
    if (left > 0)
        fprintf(stderr, "llmr serve: cancelling %d request(s) still running after %ds\n", left,
                s->o.shutdown_s);
    srv_ws_close_all(s);
    srv_gen_cancel_all(s);
    /* Handlers write their streams' last chunks before mg_stop: civetweb refuses writes once
     * it is stopping. */
    t0 = llmri_now();
    while (atomic_load(&s->in_flight) > 0 && llmri_now() - t0 < 2)
        usleep(5000);
    if (s->ctx) {
        mg_stop(s->ctx);   /* joins the worker threads; they see their jobs cancelled */
        s->ctx = NULL;
    }
}

void llmr_server_close(llmr_server *s)
{
    if (!s)
        return;
    llmr_server_shutdown(s);
    srv_conns_close(s);
    srv_jobs_free(s->jobs);         /* waits for the streams' pull threads */
    srv_responses_free(s->responses);
    llmr_router_close(s->models);
    free(s->host);
    free(s->api_key);
    free(s->metrics_key);
    free(s->cors);
    free(s->alias);
    free(s->models_dir);
    free(s->browser_dir);
    free(s->model_path);
    free(s->name);
    pthread_mutex_destroy(&s->lock);
    pthread_rwlock_destroy(&s->use);
    pthread_mutex_destroy(&s->ws_lock);
    if (s->lib_inited)
        mg_exit_library();
    free(s);
}
