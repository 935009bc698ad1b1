/* cmd_ls.c - `llmr ls [--json]`: the models in the download cache. */
#include "cli/cli.h"
#include "router/fetch.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void human(unsigned long long b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static int print_json(const char *dir, const llmr_cache_entry *v, size_t n)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "models");
    cJSON_AddStringToObject(root, "cache_dir", dir);
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        char p[4400];
        snprintf(p, sizeof p, "%s/%s%s", dir, v[i].name, v[i].partial ? ".part" : "");
        cJSON_AddStringToObject(e, "name", v[i].name);
        cJSON_AddStringToObject(e, "path", p);
        cJSON_AddNumberToObject(e, "size", (double)v[i].size);
        cJSON_AddNumberToObject(e, "mtime", v[i].mtime);
        cJSON_AddBoolToObject(e, "partial", v[i].partial);
        cJSON_AddItemToArray(arr, e);
    }
    char *s = cJSON_Print(root);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(root);
    return CLI_OK;
}

int cmd_ls(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else
            return cli_usage_error("ls", "unknown argument '%s'", argv[i]);
    }
    char dir[4096];
    llmr_err err;
    llmri_err_clear(&err);
    if (llmri_cache_dir(dir, sizeof dir, &err))
        return cli_fail("ls", "%s", err.msg);
    llmr_cache_entry *v;
    size_t n;
    if (llmri_cache_list(dir, &v, &n, &err))
        return cli_fail("ls", "%s", err.msg);
    if (json) {
        print_json(dir, v, n);
    } else {
        printf("%-50s %10s  %s\n", "NAME", "SIZE", "MODIFIED");
        for (size_t i = 0; i < n; i++) {
            char sz[32], when[32];
            human(v[i].size, sz, sizeof sz);
            time_t t = (time_t)v[i].mtime;
            struct tm tm;
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
            printf("%-50s %10s  %s%s\n", v[i].name, sz, when,
                   v[i].partial ? "  (partial download; `llmr pull` resumes it)" : "");
        }
    }
    free(v);
    return CLI_OK;
}
