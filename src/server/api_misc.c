/* api_misc.c - operations and the seed's REST routes: GET /health, GET /metrics (Prometheus
 * text format 0.0.4), GET /api/health, GET /api/models, POST /api/models/load, and the web page
 * at /. */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/util.h"
#include "llmr_version.h"
#include "core/path.h"

const double srv_ttft_le[SRV_TTFT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10,  30};

static const char *state_name(srv_state st)
{
    return st == SRV_READY ? "ok" : st == SRV_LOADING ? "loading" : "error";
}

/* GET /health: {"status":"ok"} 200, or "loading" / "error" with 503. */
int srv_h_health(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    if (srv_check(&x, "GET", SRV_OPEN)) {
        pthread_mutex_lock(&s->lock);
        srv_state st = s->state;
        char msg[600];
        if (st == SRV_FAILED) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "status", "error");
            cJSON_AddStringToObject(o, "error", s->errmsg);
            char *js = cJSON_PrintUnformatted(o);
            snprintf(msg, sizeof msg, "%s", js ? js : "{\"status\":\"error\"}");
            free(js);
            cJSON_Delete(o);
        } else {
            snprintf(msg, sizeof msg, "{\"status\":\"%s\"}",
                     atomic_load(&s->stopping) ? "stopping" : state_name(st));
        }
        pthread_mutex_unlock(&s->lock);
        srv_reply_json(&x, st == SRV_READY && !atomic_load(&s->stopping) ? 200 : 503, msg, NULL);
    }
    srv_access_log(&x);
    return 1;
}

/* GET /api/health (the seed's route): status, model, uptime, slots. */
int srv_h_api_health(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    if (srv_check(&x, "GET", SRV_KEY)) {
        cJSON *o = cJSON_CreateObject();
        pthread_mutex_lock(&s->lock);
        cJSON_AddStringToObject(o, "status", state_name(s->state));
        cJSON_AddStringToObject(o, "version", LLMR_VERSION_STRING);
        if (s->name)
            cJSON_AddStringToObject(o, "model", s->alias ? s->alias : s->name);
        else
            cJSON_AddNullToObject(o, "model");
        cJSON_AddNumberToObject(o, "uptime", llmri_now() - s->t_start);
        llmr_batch_stats st;
        llmr_router_batch_stats(s->models, &st);   /* under lock: -m may swap the router */
        if (!s->single)
            cJSON_AddBoolToObject(o, "router", true);
        if (!s->single || s->state == SRV_READY) {
            cJSON_AddNumberToObject(o, "slots", st.n_slots);
            cJSON_AddNumberToObject(o, "active", st.active);
            cJSON_AddNumberToObject(o, "queued", st.queued);
        }
        pthread_mutex_unlock(&s->lock);
        srv_reply_cjson(&x, 200, o);
    }
    srv_access_log(&x);
    return 1;
}

/* GET /api/models: the .gguf files of the models folder, the loaded one marked. */
int srv_h_api_models(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    if (srv_check(&x, "GET", SRV_KEY) && !s->single) {
        srv_route_models_list(&x);
    } else if (x.status == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "models");
        pthread_mutex_lock(&s->lock);
        const char *cur = s->model_path ? strrchr(s->model_path, '/') : NULL;
        cur = cur ? cur + 1 : s->model_path;
        cJSON_AddStringToObject(o, "current", s->alias ? s->alias : (s->name ? s->name : ""));
        cJSON_AddStringToObject(o, "status", state_name(s->state));
        DIR *d = opendir(s->models_dir);
        struct dirent *de;
        int count = 0;
        char dir[PATH_MAX], real[PATH_MAX];
        bool dir_ok = realpath(s->models_dir, dir) != NULL;
        while (d && (de = readdir(d)) && count < 1000) {
            size_t n = strlen(de->d_name);
            if (n < 6 || strcmp(de->d_name + n - 5, ".gguf") || de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", s->models_dir, de->d_name);
            struct stat st;
            /* a symlink out of the folder is not one of its models (the load refuses it) */
            if (!dir_ok || !realpath(path, real) || !llmri_path_inside(real, dir) ||
                stat(real, &st) || !S_ISREG(st.st_mode))
                continue;
            cJSON *m = cJSON_CreateObject();
            char *nm = llmri_strndup(de->d_name, n - 5);
            cJSON_AddStringToObject(m, "name", nm ? nm : de->d_name);
            free(nm);
            cJSON_AddStringToObject(m, "file", de->d_name);
            cJSON_AddNumberToObject(m, "size", (double)st.st_size);
            cJSON_AddBoolToObject(m, "loaded", cur && !strcmp(cur, de->d_name));
            cJSON_AddItemToArray(arr, m);
            count++;
        }
        if (d)
            closedir(d);
        pthread_mutex_unlock(&s->lock);
        srv_reply_cjson(&x, 200, o);
    }
    srv_access_log(&x);
    return 1;
}

/* POST /api/models/load {"model":"NAME"}: NAME is a file of the models folder (with or without
 * .gguf); paths are refused so that a client cannot make the server open arbitrary files, and
 * so is a name that resolves (realpath: a symlink) outside the folder. */
int srv_h_api_models_load(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    if (!srv_check(&x, "POST", SRV_KEY))
        goto out;
    if (!s->single) {
        srv_route_models_load(&x);
        goto out;
    }
    cJSON *o = srv_read_json(&x);
    if (!o)
        goto out;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (!cJSON_IsString(m) || !m->valuestring[0]) {
        srv_reply_errorf(&x, 400, "invalid_request_error", NULL,
                         "missing field 'model' (a model name from GET /api/models)");
        cJSON_Delete(o);
        goto out;
    }
    char name[256];
    bool too_long = strlen(m->valuestring) >= sizeof name;
    snprintf(name, sizeof name, "%s", m->valuestring);
    if (strchr(name, '/') || strstr(name, "..") || too_long) {
        srv_reply_errorf(&x, 400, "invalid_request_error", NULL,
                         "'model' must be a model name from GET /api/models, not a path");
        cJSON_Delete(o);
        goto out;
    }
    char path[4096], file[300];
    size_t n = strlen(name);
    snprintf(file, sizeof file, "%s%s", name,
             n > 5 && !strcmp(name + n - 5, ".gguf") ? "" : ".gguf");
    snprintf(path, sizeof path, "%s/%s", s->models_dir, file);
    struct stat st;
    char dir[PATH_MAX], real[PATH_MAX];
    llmr_err err;
    int rc = realpath(s->models_dir, dir) ? LLMR_OK : LLMR_ERR_NOT_FOUND;
    if (rc == LLMR_OK)       /* the file, in the folder's real path, must stay inside it */
        rc = llmri_path_confine(file, (char *const[]){dir}, 1, real, sizeof real, &err);
    if (rc == LLMR_ERR_ARG) {
        srv_reply_errorf(&x, 403, "permission_error", "path_not_allowed",
                         "'%s' is not a file of the models folder (it resolves outside it)",
                         name);
        cJSON_Delete(o);
        goto out;
    }
    if (rc || stat(real, &st) || !S_ISREG(st.st_mode)) {
        srv_reply_errorf(&x, 404, "invalid_request_error", "model_not_found",
                         "no model '%s' in %s (GET /api/models lists them)", name, s->models_dir);
        cJSON_Delete(o);
        goto out;
    }
    cJSON_Delete(o);
    if (srv_model_matches(s, name)) {
        srv_reply_json(&x, 200, "{\"status\":\"loaded\",\"changed\":false}", NULL);
        goto out;
    }
    char msg[512];
    rc = srv_model_load(s, path, msg, sizeof msg);
    if (rc) {
        srv_reply_errorf(&x, rc, rc == 404 ? "invalid_request_error" : "server_error", NULL,
                         "loading %s failed: %s", name, msg);
    } else {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "status", "loaded");
        cJSON_AddBoolToObject(r, "changed", true);
        cJSON_AddStringToObject(r, "model", s->name);
        srv_reply_cjson(&x, 200, r);
    }
out:
    srv_access_log(&x);
    return 1;
}

/* ---- /metrics ---------------------------------------------------------------------------- */

int srv_h_metrics(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    if (!srv_check(&x, "GET", SRV_KEY_METRICS)) {
        srv_access_log(&x);
        return 1;
    }
    srv_metrics *m = &s->m;
    llmr_buf b = {0};
    static const char *kinds[7] = {"chat", "completion", "ollama_generate", "ollama_chat", "ws",
                                   "anthropic", "other"};
    llmri_buf_printf(&b, "# HELP llmr_requests_total Requests received, by API.\n"
                        "# TYPE llmr_requests_total counter\n");
    for (int i = 0; i < 7; i++)
        llmri_buf_printf(&b, "llmr_requests_total{api=\"%s\"} %llu\n", kinds[i],
                        (unsigned long long)atomic_load(&m->requests[i]));
    llmri_buf_printf(&b, "# HELP llmr_errors_total Error replies, by class.\n"
                        "# TYPE llmr_errors_total counter\n"
                        "llmr_errors_total{class=\"4xx\"} %llu\n"
                        "llmr_errors_total{class=\"5xx\"} %llu\n",
                    (unsigned long long)atomic_load(&m->errors_4xx),
                    (unsigned long long)atomic_load(&m->errors_5xx));
    llmri_buf_printf(&b, "# HELP llmr_rejected_total Requests refused with 503 because the queue "
                        "was full.\n"
                        "# TYPE llmr_rejected_total counter\nllmr_rejected_total %llu\n",
                    (unsigned long long)atomic_load(&m->rejected_busy));
    llmri_buf_printf(&b, "# HELP llmr_cancelled_total Generations cancelled (client gone, stop, "
                        "timeout, shutdown).\n# TYPE llmr_cancelled_total counter\n"
                        "llmr_cancelled_total %llu\n",
                    (unsigned long long)atomic_load(&m->cancelled));
    llmri_buf_printf(&b, "# HELP llmr_refused_connections_total Connections answered 429 because "
                        "their address had --max-conns-per-addr open.\n"
                        "# TYPE llmr_refused_connections_total counter\n"
                        "llmr_refused_connections_total %llu\n"
                        "# HELP llmr_requests_in_flight Generation requests being served.\n"
                        "# TYPE llmr_requests_in_flight gauge\nllmr_requests_in_flight %d\n",
                    (unsigned long long)atomic_load(&m->refused_conns), atomic_load(&s->in_flight));
    llmr_batch_stats st;
    pthread_mutex_lock(&s->lock);
    llmr_router_batch_stats(s->models, &st);   /* under lock: -m may swap the router */
    pthread_mutex_unlock(&s->lock);
    llmri_buf_printf(&b, "# HELP llmr_prompt_tokens_total Prompt tokens evaluated or reused.\n"
                        "# TYPE llmr_prompt_tokens_total counter\nllmr_prompt_tokens_total %llu\n"
                        "# HELP llmr_generated_tokens_total Tokens generated.\n"
                        "# TYPE llmr_generated_tokens_total counter\n"
                        "llmr_generated_tokens_total %llu\n",
                    (unsigned long long)st.tokens_in, (unsigned long long)st.tokens_out);
    llmri_buf_printf(&b, "# HELP llmr_decode_tokens_per_second Generated tokens per second of "
                        "batched decode time, since start.\n"
                        "# TYPE llmr_decode_tokens_per_second gauge\n"
                        "llmr_decode_tokens_per_second %.3f\n",
                    st.decode_s > 0 ? (double)st.rows / st.decode_s : 0.0);
    llmri_buf_printf(&b, "# HELP llmr_decode_steps_total Batched forward passes.\n"
                        "# TYPE llmr_decode_steps_total counter\nllmr_decode_steps_total %llu\n",
                    (unsigned long long)st.steps);
    llmri_buf_printf(&b, "# HELP llmr_queue_depth Requests waiting for a slot.\n"
                        "# TYPE llmr_queue_depth gauge\nllmr_queue_depth %d\n"
                        "# HELP llmr_slots_active Slots generating or evaluating a prompt.\n"
                        "# TYPE llmr_slots_active gauge\nllmr_slots_active %d\n"
                        "# HELP llmr_slots_total Slots (--parallel).\n"
                        "# TYPE llmr_slots_total gauge\nllmr_slots_total %d\n",
                    st.queued, st.active, st.n_slots);
    llmri_buf_printf(&b, "# HELP llmr_ttft_seconds Time from request to first text.\n"
                        "# TYPE llmr_ttft_seconds histogram\n");
    for (int i = 0; i < SRV_TTFT_BUCKETS; i++)
        llmri_buf_printf(&b, "llmr_ttft_seconds_bucket{le=\"%g\"} %llu\n", srv_ttft_le[i],
                        (unsigned long long)atomic_load(&m->ttft_bucket[i]));
    unsigned long long cnt = atomic_load(&m->ttft_count);
    llmri_buf_printf(&b, "llmr_ttft_seconds_bucket{le=\"+Inf\"} %llu\nllmr_ttft_seconds_sum %.6f\n"
                        "llmr_ttft_seconds_count %llu\n",
                    cnt, (double)atomic_load(&m->ttft_sum_us) / 1e6, cnt);
    srv_reply_text(&x, 200, "text/plain; version=0.0.4", llmri_buf_str(&b), b.len, NULL);
    llmri_buf_free(&b);
    srv_access_log(&x);
    return 1;
}

int srv_h_page(struct mg_connection *c, void *ud)
{
    srv_ctx x;
    srv_ctx_init(&x, ud, c, SRV_API_CHAT);
    if (srv_check(&x, "GET", SRV_KEY_QUERY))
        srv_reply_text(&x, 200, "text/html; charset=utf-8", srv_page_html,
                       strlen(srv_page_html),
                       "Content-Security-Policy: default-src 'self'; "
                       "style-src 'self' 'unsafe-inline'; "
                       "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; "
                       "connect-src 'self' ws: wss:\r\n"
                       /* isolated: the in-page engine may use threads (static.c) */
                       "Cross-Origin-Opener-Policy: same-origin\r\n"
                       "Cross-Origin-Embedder-Policy: require-corp\r\n");
    srv_access_log(&x);
    return 1;
}
