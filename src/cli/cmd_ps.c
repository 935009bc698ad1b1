/* cmd_ps.c - `llmr ps` and `llmr stop NAME`: ollama's habits against a running `llmr serve`,
 * through its API (GET /api/ps; DELETE /api/models/ID, which unloads a model). The server is
 * 127.0.0.1:8080 (serve's default) unless --host/--port or $LLMR_HOST ("HOST:PORT" or a URL)
 * say otherwise; --api-key or $LLMR_API_KEY for a server that wants one. */
#include "cli/cli.h"
#include "router/http.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct server_args {
    const char *host, *port, *key;
    const char *name;          /* stop's NAME */
} server_args;

static int parse(const char *cmd, int argc, char **argv, server_args *a, bool want_name)
{
    memset(a, 0, sizeof *a);
    a->key = getenv("LLMR_API_KEY");
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char **dst = !strcmp(f, "--host") ? &a->host : !strcmp(f, "--port") ? &a->port
                         : !strcmp(f, "--api-key") ? &a->key : NULL;
        if (dst) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "%s needs a value", f);
            *dst = argv[++i];
        } else if (f[0] == '-') {
            return cli_usage_error(cmd, "unknown flag '%s'", f);
        } else if (want_name && !a->name) {
            a->name = f;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", f);
        }
    }
    long port;
    if (a->port && !cli_parse_long(a->port, 1, 65535, &port))
        return cli_usage_error(cmd, "--port %s: expected 1..65535", a->port);
    if (want_name && !a->name)
        return cli_usage_error(cmd, "no NAME given (see `llmr ps`)");
    return CLI_OK;
}

/* The server's base URL, without a trailing '/'. */
static void base_url(const server_args *a, char *out, size_t n)
{
    const char *env = getenv("LLMR_HOST");
    if (!a->host && !a->port && env && *env) {
        bool url = !strncmp(env, "http://", 7) || !strncmp(env, "https://", 8);
        snprintf(out, n, "%s%s", url ? "" : "http://", env);
    } else {
        const char *h = a->host ? a->host : "127.0.0.1";
        snprintf(out, n, "http://%s%s%s:%s", strchr(h, ':') ? "[" : "", h,
                 strchr(h, ':') ? "]" : "", a->port ? a->port : "8080");
    }
    size_t l = strlen(out);
    while (l && out[l - 1] == '/')
        out[--l] = 0;
}

/* The server's error message ({"error": {"message"}} or {"error": "..."}), or the status. */
static void server_error(const char *body, long status, char *out, size_t n)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
    if (cJSON_IsString(m))
        snprintf(out, n, "%s (HTTP %ld)", m->valuestring, status);
    else
        snprintf(out, n, "HTTP %ld", status);
    cJSON_Delete(j);
}

static int request(const char *cmd, const server_args *a, const char *method, const char *path,
                   long *status, char **body)
{
    char base[600], url[1200];
    base_url(a, base, sizeof base);
    snprintf(url, sizeof url, "%s%s", base, path);
    rt_http_req r = {.method = method, .url = url, .bearer = a->key, .timeout_ms = 10000};
    size_t len;
    llmr_err err;
    llmri_err_clear(&err);
    if (rt_http(&r, status, body, &len, &err))
        return cli_fail(cmd, "%s (is `llmr serve` running there? --host/--port or LLMR_HOST "
                        "name another server)", err.msg);
    return CLI_OK;
}

static void print_row(const cJSON *m)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(m, "digest");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(m, "size");
    const cJSON *until = cJSON_GetObjectItemCaseSensitive(m, "expires_at");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(m, "state");
    char sz[32] = "-";
    if (cJSON_IsNumber(size))
        snprintf(sz, sizeof sz, "%.1f MiB", size->valuedouble / 1048576.0);
    printf("%-36s %-12.12s %10s  %-9s %s\n", cJSON_IsString(name) ? name->valuestring : "?",
           cJSON_IsString(dg) ? dg->valuestring : "", sz,
           cJSON_IsString(state) ? state->valuestring : "loaded",
           cJSON_IsString(until) ? until->valuestring : "-");
}

int cmd_ps(int argc, char **argv)
{
    server_args a;
    int rc = parse("ps", argc, argv, &a, false);
    if (rc)
        return rc;
    long status;
    char *body;
    if ((rc = request("ps", &a, "GET", "/api/ps", &status, &body)))
        return rc;
    cJSON *j = status == 200 ? cJSON_Parse(body) : NULL;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(j, "models"), *m;
    if (!cJSON_IsArray(models)) {
        char why[300];
        server_error(body, status, why, sizeof why);
        rc = cli_fail("ps", "GET /api/ps: %s", why);
    } else {
        printf("%-36s %-12s %10s  %-9s %s\n", "NAME", "ID", "SIZE", "STATE", "UNTIL");
        cJSON_ArrayForEach(m, models)
            print_row(m);
    }
    cJSON_Delete(j);
    free(body);
    return rc;
}

int cmd_stop(int argc, char **argv)
{
    server_args a;
    int rc = parse("stop", argc, argv, &a, true);
    if (rc)
        return rc;
    /* the server's id: NAME:latest is NAME, as the ollama API names models */
    char id[300], path[400];
    snprintf(id, sizeof id, "%s", a.name);
    size_t l = strlen(id);
    if (l > 7 && !strcmp(id + l - 7, ":latest"))
        id[l - 7] = 0;
    for (const char *p = id; *p; p++)
        if (*p == '/' || *p == '?' || *p == '#' || *p == '%' || (unsigned char)*p < 0x21)
            return cli_usage_error("stop", "'%s' is not a model name", a.name);
    snprintf(path, sizeof path, "/api/models/%s", id);
    long status;
    char *body;
    if ((rc = request("stop", &a, "DELETE", path, &status, &body)))
        return rc;
    if (status >= 200 && status < 300) {
        printf("stopped %s\n", id);
    } else {
        char why[300];
        server_error(body, status, why, sizeof why);
        rc = cli_fail("stop", "%s: %s", id, why);
    }
    free(body);
    return rc;
}
