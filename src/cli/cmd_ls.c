/* cmd_ls.c - `llmr ls [--json]`: the models in the download cache, with what their GGUF
 * headers say (file type, architecture, parameters), read from the header alone. */
#include "cli/cli.h"
#include "gguf/gguf.h"
#include "router/model_name.h"

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

/* Parameters as ollama prints them: 292.80K, 1.24B. */
static void human_params(unsigned long long p, char *out, size_t n)
{
    if (p >= 1000000000ULL)
        snprintf(out, n, "%.2fB", (double)p / 1e9);
    else if (p >= 1000000ULL)
        snprintf(out, n, "%.2fM", (double)p / 1e6);
    else
        snprintf(out, n, "%.2fK", (double)p / 1e3);
}

typedef struct model_facts {
    char type[32], arch[64];
    unsigned long long n_params;
    bool ok;                 /* a GGUF file whose header reads */
} model_facts;

static void read_facts(const char *dir, const llmr_cache_entry *e, model_facts *m)
{
    memset(m, 0, sizeof *m);
    if (e->partial)
        return;
    char p[4400];
    snprintf(p, sizeof p, "%.4000s/%s", dir, e->name);
    gguf_file *f;
    if (gguf_open(p, &f, NULL))
        return;
    const char *arch = gguf_get_str(f, "general.architecture");
    snprintf(m->arch, sizeof m->arch, "%s", arch ? arch : "-");
    snprintf(m->type, sizeof m->type, "%s", cli_ftype_name(f));
    for (uint64_t i = 0; i < f->n_tensors; i++)
        m->n_params += f->tensors[i].n_elements;
    m->ok = true;
    gguf_close(f);
}

static bool listed(const llmr_cache_entry *e)
{
    return strcmp(e->name, "aliases.json") != 0;   /* the aliases file is no model */
}

static int print_json(const char *dir, const llmr_cache_entry *v, size_t n)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "models");
    cJSON_AddStringToObject(root, "cache_dir", dir);
    for (size_t i = 0; i < n; i++) {
        if (!listed(&v[i]))
            continue;
        cJSON *e = cJSON_CreateObject();
        char p[4400], shortname[256];
        snprintf(p, sizeof p, "%s/%s%s", dir, v[i].name, v[i].partial ? ".part" : "");
        llmri_model_short_name(v[i].name, shortname, sizeof shortname);
        model_facts m;
        read_facts(dir, &v[i], &m);
        cJSON_AddStringToObject(e, "name", v[i].name);
        cJSON_AddStringToObject(e, "model", shortname);
        cJSON_AddStringToObject(e, "path", p);
        cJSON_AddNumberToObject(e, "size", (double)v[i].size);
        cJSON_AddNumberToObject(e, "mtime", v[i].mtime);
        cJSON_AddBoolToObject(e, "partial", v[i].partial);
        if (m.ok) {
            cJSON_AddStringToObject(e, "type", m.type);
            cJSON_AddStringToObject(e, "architecture", m.arch);
            cJSON_AddNumberToObject(e, "n_params", (double)m.n_params);
        }
        cJSON_AddItemToArray(arr, e);
    }
    char *s = cJSON_Print(root);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(root);
    return CLI_OK;
}

static void print_table(const char *dir, const llmr_cache_entry *v, size_t n)
{
    printf("%-44s %10s  %-8s %-10s %10s  %s\n", "NAME", "SIZE", "TYPE", "ARCH", "PARAMS",
           "MODIFIED");
    for (size_t i = 0; i < n; i++) {
        if (!listed(&v[i]))
            continue;
        char name[256], sz[32], when[32], params[32] = "-";
        llmri_model_short_name(v[i].name, name, sizeof name);
        human(v[i].size, sz, sizeof sz);
        model_facts m;
        read_facts(dir, &v[i], &m);
        if (m.ok)
            human_params(m.n_params, params, sizeof params);
        time_t t = (time_t)v[i].mtime;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
        printf("%-44s %10s  %-8s %-10s %10s  %s%s\n", name, sz, m.ok ? m.type : "-",
               m.ok ? m.arch : "-", params, when,
               v[i].partial ? "  (partial download; `llmr pull` resumes it)"
                            : m.ok ? "" : "  (not a readable GGUF file)");
    }
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
    if (json)
        print_json(dir, v, n);
    else
        print_table(dir, v, n);
    free(v);
    return CLI_OK;
}
