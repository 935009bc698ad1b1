/* model_name.c - model names (see model_name.h): the default model, aliases, cache names and
 * the close matches an unknown name is answered with. */
#include "router/model_name.h"
#include "core/grow.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LLMR_DATADIR
#define LLMR_DATADIR ""
#endif
#ifndef LLMR_SOURCE_DIR
#define LLMR_SOURCE_DIR ""
#endif

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* ---- the default model -------------------------------------------------------------------- */

int llmri_default_model(char *path, size_t n, llmr_err *err)
{
    const char *env = getenv("LLMR_DEFAULT_MODEL");
    if (env && *env) {
        if (snprintf(path, n, "%s", env) >= (int)n)
            return llmri_err_set(err, LLMR_ERR_ARG, "LLMR_DEFAULT_MODEL: path too long");
        return LLMR_OK;
    }
    char exe[PATH_MAX], dirs[4][PATH_MAX];
    size_t nd = 0;
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        char *sl = strrchr(exe, '/');
        if (sl) {
            *sl = 0;         /* the executable's folder: build/ in a source tree, or bin/ */
            snprintf(dirs[nd++], PATH_MAX, "%.4000s/../models", exe);
            snprintf(dirs[nd++], PATH_MAX, "%.4000s/../share/llmr/models", exe);
        }
    }
    if (*LLMR_DATADIR)
        snprintf(dirs[nd++], PATH_MAX, "%s/llmr/models", LLMR_DATADIR);
    if (*LLMR_SOURCE_DIR)
        snprintf(dirs[nd++], PATH_MAX, "%s/models", LLMR_SOURCE_DIR);
    for (size_t i = 0; i < nd; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%.4000s/%s", dirs[i], LLMR_DEFAULT_MODEL_FILE);
        if (is_file(p)) {
            char real[PATH_MAX];
            const char *use = realpath(p, real) ? real : p;
            if (snprintf(path, n, "%s", use) >= (int)n)
                return llmri_err_set(err, LLMR_ERR_ARG, "%s: path too long", use);
            return LLMR_OK;
        }
    }
    char looked[1200] = "";
    for (size_t i = 0, at = 0; i < nd && at < sizeof looked; i++)
        at += (size_t)snprintf(looked + at, sizeof looked - at, "%s%.280s", i ? ", " : "",
                               dirs[i]);
    return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "the default model %s is not installed (looked "
                        "in %s); set LLMR_DEFAULT_MODEL or give -m MODEL",
                        LLMR_DEFAULT_MODEL_FILE, looked);
}

/* ---- aliases ------------------------------------------------------------------------------ */

static cJSON *aliases_load(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%.4000s/aliases.json", dir);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    char buf[65536];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    cJSON *j = cJSON_Parse(buf);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static bool alias_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > 128 || llmri_source_kind(a) != LLMR_SRC_PATH || !strcmp(a, ".") ||
        !strcmp(a, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)a[i]) && !strchr("._:-", a[i]))
            return false;
    return strncmp(a, "ollama:", 7) != 0;
}

int llmri_alias_set(const char *dir, const char *alias, const char *target, llmr_err *err)
{
    if (!alias_ok(alias))
        return llmri_err_set(err, LLMR_ERR_ARG, "alias '%s': expected 1 to 128 of "
                            "[A-Za-z0-9._:-], not a URL or ollama: name", alias);
    if (target && (!*target || strlen(target) > 2048))
        return llmri_err_set(err, LLMR_ERR_ARG, "alias '%s': the target must be 1 to 2048 bytes",
                            alias);
    cJSON *j = aliases_load(dir);
    if (!j && !(j = cJSON_CreateObject()))
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    if (!target && !cJSON_GetObjectItemCaseSensitive(j, alias)) {
        cJSON_Delete(j);
        return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "no alias '%s' (see `llmr alias`)", alias);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(j, alias);
    if (target)
        cJSON_AddStringToObject(j, alias, target);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    char p[4200], tmp[4300];
    snprintf(p, sizeof p, "%.4000s/aliases.json", dir);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", p, (long)getpid());
    mkdir(dir, 0755);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = f && fclose(f) == 0 && ok;
    free(text);
    if (!ok || rename(tmp, p) != 0) {
        int e = errno;
        unlink(tmp);
        return llmri_err_set(err, LLMR_ERR_IO, "cannot write %s: %s", p, strerror(e));
    }
    return LLMR_OK;
}

size_t llmri_alias_each(const char *dir, void (*fn)(void *, const char *, const char *),
                        void *user)
{
    cJSON *j = aliases_load(dir);
    size_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (cJSON_IsString(e) && e->string) {
            fn(user, e->string, e->valuestring);
            n++;
        }
    }
    cJSON_Delete(j);
    return n;
}

/* ---- cache names -------------------------------------------------------------------------- */

void llmri_model_short_name(const char *file, char *out, size_t n)
{
    size_t len = strlen(file);
    if (ends_with(file, ".gguf"))
        len -= 5;
    snprintf(out, n, "%.*s", (int)len, file);
}

/* The names a cache file answers to: its short name and, for a hub file ORG--REPO--FILE, the
 * FILE part alone. Returns how many were written (1 or 2). */
static int entry_names(const char *file, char names[2][256])
{
    llmri_model_short_name(file, names[0], 256);
    const char *last = NULL;
    for (const char *p = strstr(names[0], "--"); p; p = strstr(p + 2, "--"))
        last = p;
    if (!last || !last[2] || last == names[0])
        return 1;
    snprintf(names[1], 256, "%s", last + 2);
    return 2;
}

/* The forms a query may take in the cache: itself, and for NAME:TAG the file NAME-TAG
 * (NAME:latest also NAME; NAME also NAME-latest, as ollama's pulls are stored). */
static int query_forms(const char *q, char forms[3][300])
{
    char base[256];
    llmri_model_short_name(q, base, sizeof base);
    const char *colon = strrchr(base, ':');
    int k = 0;
    if (!colon) {
        snprintf(forms[k++], 300, "%s", base);
        snprintf(forms[k++], 300, "%s-latest", base);
        return k;
    }
    int nl = (int)(colon - base);
    snprintf(forms[k++], 300, "%.*s-%s", nl, base, colon + 1);
    if (!strcmp(colon + 1, "latest"))
        snprintf(forms[k++], 300, "%.*s", nl, base);
    return k;
}

typedef struct match_set {
    char   path[4400];
    char   found[4][256];      /* distinct entries matched, for an ambiguity message */
    size_t n;
} match_set;

static void add_match(match_set *m, const char *dir, const char *file)
{
    for (size_t i = 0; i < m->n && i < 4; i++)
        if (!strcmp(m->found[i], file))
            return;
    if (m->n == 0)
        snprintf(m->path, sizeof m->path, "%.4000s/%s", dir, file);
    if (m->n < 4)
        snprintf(m->found[m->n], 256, "%s", file);
    m->n++;
}

/* Looks the query up among the cache's finished files: exact matches first, then ignoring
 * case. 1: found (path set), 0: none, -1: several (err set). */
static int cache_lookup(const char *dir, const char *q, char *path, size_t n, llmr_err *err)
{
    llmr_cache_entry *v;
    size_t nv;
    if (llmri_cache_list(dir, &v, &nv, NULL))
        return 0;
    char forms[3][300];
    int nf = query_forms(q, forms);
    int result = 0;
    for (int pass = 0; pass < 2 && !result; pass++) {
        match_set m = {.n = 0};
        for (size_t i = 0; i < nv; i++) {
            if (v[i].partial || !strcmp(v[i].name, "aliases.json"))
                continue;
            char names[2][256];
            int nn = entry_names(v[i].name, names);
            for (int a = 0; a < nn; a++)
                for (int f = 0; f < nf; f++)
                    if (pass ? !strcasecmp(names[a], forms[f]) : !strcmp(names[a], forms[f]))
                        add_match(&m, dir, v[i].name);
        }
        if (m.n == 1) {
            result = snprintf(path, n, "%s", m.path) < (int)n ? 1 : 0;
        } else if (m.n > 1) {
            llmri_err_set(err, LLMR_ERR_ARG, "'%s' matches several cached models: %s, %s%s%s%s "
                          "(give the full name)", q, m.found[0], m.found[1],
                          m.n > 2 ? ", " : "", m.n > 2 ? m.found[2] : "", m.n > 3 ? ", ..." : "");
            result = -1;
        }
    }
    free(v);
    return result;
}

/* ---- close matches ------------------------------------------------------------------------ */

/* Levenshtein distance ignoring case, capped at 255 (names are at most 255 bytes). */
static unsigned distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 255 || nb > 255)
        return 255;
    unsigned row[256];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            unsigned up = row[j];
            unsigned cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            unsigned best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

typedef struct suggest {
    const char *query;
    char        names[5][256];
    unsigned    dist[5];
    size_t      n;
} suggest;

/* Offers a candidate name: kept when it is within a third of the query's length in edits
 * (at least 2), contains the query, or begins with something that close to it (a typo in a
 * name given without its tag); the closest five at most. */
static void offer(suggest *s, const char *name)
{
    size_t ql = strlen(s->query);
    unsigned d = distance(s->query, name);
    unsigned limit = ql / 3 > 2 ? (unsigned)(ql / 3) : 2;
    char head[256];
    snprintf(head, sizeof head, "%.*s", (int)(ql < 255 ? ql : 255), name);
    bool prefix = ql >= 4 && strlen(name) > ql && distance(s->query, head) <= limit;
    if (d > limit && !prefix && !(ql >= 3 && strcasestr(name, s->query)))
        return;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return;
    if (s->n == 5 && s->dist[4] <= d)
        return;
    size_t at = s->n < 5 ? s->n++ : 4;       /* full: the farthest one makes room */
    while (at > 0 && s->dist[at - 1] > d) {
        memcpy(s->names[at], s->names[at - 1], 256);
        s->dist[at] = s->dist[at - 1];
        at--;
    }
    snprintf(s->names[at], 256, "%s", name);
    s->dist[at] = d;
}

static void offer_alias(void *user, const char *alias, const char *target)
{
    (void)target;
    offer(user, alias);
}

static int not_found(const char *name, const char *dir, llmr_err *err)
{
    char forms[3][300];
    query_forms(name, forms);          /* NAME:TAG is compared as the file name NAME-TAG */
    suggest s = {.query = forms[0], .n = 0};
    llmr_cache_entry *v;
    size_t nv;
    if (dir && !llmri_cache_list(dir, &v, &nv, NULL)) {
        for (size_t i = 0; i < nv; i++) {
            char names[2][256];
            int nn = v[i].partial ? 0 : entry_names(v[i].name, names);
            for (int a = 0; a < nn && strcmp(v[i].name, "aliases.json"); a++)
                offer(&s, names[a]);
        }
        free(v);
    }
    if (dir)
        llmri_alias_each(dir, offer_alias, &s);
    offer(&s, LLMR_DEFAULT_MODEL_NAME);
    char list[1400] = "";
    size_t at = 0;
    for (size_t i = 0; i < s.n && at < sizeof list; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", s.names[i]);
    if (s.n)
        return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "'%s' is not a file, a cached model or an "
                            "alias; close matches: %s (see `llmr ls`)", name, list);
    return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "'%s' is not a file, a cached model or an "
                        "alias (see `llmr ls`; `llmr pull SOURCE` downloads one)", name);
}

/* ---- resolution --------------------------------------------------------------------------- */

static int resolve(const char *name, const llmr_fetch_opts *o, char *path, size_t n,
                   int depth, llmr_err *err)
{
    if (!*name)
        return llmri_err_set(err, LLMR_ERR_ARG, "empty model name");
    llmr_src_kind k = llmri_source_kind(name);
    if (k == LLMR_SRC_URL || k == LLMR_SRC_HF)
        return llmri_fetch(name, o, path, n, err);
    if (k == LLMR_SRC_DIR)
        return llmri_err_set(err, LLMR_ERR_ARG, "%s is a directory: expected a GGUF file or a "
                            "model name", name);
    if (!strncmp(name, "ollama:", 7))
        return rt_ollama_pull(name, NULL, o, path, n, err);
    struct stat st;
    if (stat(name, &st) == 0 || strchr(name, '/')) {
        if (snprintf(path, n, "%s", name) >= (int)n)
            return llmri_err_set(err, LLMR_ERR_ARG, "%s: path too long", name);
        return LLMR_OK;
    }
    char dir[4096];
    const char *cdir = o && o->cache_dir ? o->cache_dir : NULL;
    if (!cdir && llmri_cache_dir(dir, sizeof dir, NULL) == LLMR_OK)
        cdir = dir;
    if (cdir) {
        cJSON *al = aliases_load(cdir);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(al, name);
        if (cJSON_IsString(t) && depth < 4) {
            char target[2100];
            snprintf(target, sizeof target, "%s", t->valuestring);
            cJSON_Delete(al);
            return resolve(target, o, path, n, depth + 1, err);
        }
        cJSON_Delete(al);
        int found = cache_lookup(cdir, name, path, n, err);
        if (found)
            return found > 0 ? LLMR_OK : LLMR_ERR_ARG;
    }
    if (!strcasecmp(name, LLMR_DEFAULT_MODEL_NAME) || !strcasecmp(name, LLMR_DEFAULT_MODEL_FILE) ||
        !strcmp(name, "default"))
        return llmri_default_model(path, n, err);
    return not_found(name, cdir, err);
}

int llmri_model_resolve(const char *name, const llmr_fetch_opts *o, char *path, size_t n,
                        llmr_err *err)
{
    if (!name)
        return llmri_err_set(err, LLMR_ERR_ARG, "no model name");
    return resolve(name, o, path, n, 0, err);
}

int llmr_model_resolve(const char *name, char *path, size_t path_len, char *errbuf,
                       size_t errbuf_len)
{
    llmr_err err;
    llmri_err_clear(&err);
    int rc = name && *name ? llmri_model_resolve(name, NULL, path, path_len, &err)
                           : llmri_default_model(path, path_len, &err);
    if (errbuf && errbuf_len)
        snprintf(errbuf, errbuf_len, "%s", rc ? err.msg : "");
    return rc;
}
