/* source_name.c - the names of remote model sources (see fetch.h): hf: references resolved to
 * the hub's download URL, and the flat file names downloads are cached under. */
#include "router/fetch.h"

#include <stdio.h>
#include <string.h>

/* ---- Hugging Face references ------------------------------------------------------------ */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* A repo-name part: non-empty, [A-Za-z0-9._-], not "." or "..". */
static bool part_ok(const char *s, size_t n, bool slashes)
{
    if (n == 0)
        return false;
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || (slashes && s[i] == '/')) {
            size_t len = i - seg;
            if (len == 0 || (len == 1 && s[seg] == '.') ||
                (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return false;
            seg = i + 1;
        } else if (!name_char(s[i])) {
            return false;
        }
    }
    return true;
}

typedef struct hf_ref {
    const char *org, *repo, *rev, *file;
    size_t n_org, n_repo, n_rev, n_file;
} hf_ref;

static int hf_parse(const char *ref, hf_ref *r, llmr_err *err)
{
    const char *p = ref + 3;                        /* after "hf:" */
    const char *s1 = strchr(p, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    if (!s1 || !s2)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': expected hf:ORG/REPO/FILE.gguf", ref);
    r->org = p;
    r->n_org = (size_t)(s1 - p);
    r->repo = s1 + 1;
    r->n_repo = (size_t)(s2 - r->repo);
    r->rev = "main";
    r->n_rev = 4;
    const char *at = memchr(r->repo, '@', r->n_repo);
    if (at) {
        r->rev = at + 1;
        r->n_rev = (size_t)(s2 - r->rev);
        r->n_repo = (size_t)(at - r->repo);
    }
    r->file = s2 + 1;
    r->n_file = strlen(r->file);
    if (!part_ok(r->org, r->n_org, false))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the organisation '%.*s' must be non-empty "
                            "[A-Za-z0-9._-]", ref, (int)r->n_org, r->org);
    if (!part_ok(r->repo, r->n_repo, false))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the repository '%.*s' must be non-empty "
                            "[A-Za-z0-9._-]", ref, (int)r->n_repo, r->repo);
    if (!part_ok(r->rev, r->n_rev, false))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the revision '%.*s' must be non-empty "
                            "[A-Za-z0-9._-]", ref, (int)r->n_rev, r->rev);
    if (!part_ok(r->file, r->n_file, true))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the file '%s' must be a non-empty path of "
                            "[A-Za-z0-9._-] parts, none '.' or '..'", ref, r->file);
    return LLMR_OK;
}

int llmri_hf_resolve(const char *ref, char *url, size_t n, llmr_err *err)
{
    if (!!strncmp(ref, "hf:", 3))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': expected hf:ORG/REPO/FILE.gguf", ref);
    hf_ref r = {0};
    int rc = hf_parse(ref, &r, err);
    if (rc)
        return rc;
    int k = snprintf(url, n, "https://huggingface.co/%.*s/%.*s/resolve/%.*s/%s", (int)r.n_org,
                     r.org, (int)r.n_repo, r.repo, (int)r.n_rev, r.rev, r.file);
    if (k < 0 || (size_t)k >= n)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the URL is too long", ref);
    return LLMR_OK;
}

/* Appends s[0..len) to name at *at, mapping characters outside [A-Za-z0-9._-] to '_'. */
static bool name_append(char *name, size_t n, size_t *at, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (*at + 1 >= n)
            return false;
        name[(*at)++] = name_char(s[i]) ? s[i] : '_';
    }
    name[*at] = 0;
    return true;
}

int llmri_cache_name(const char *source, char *name, size_t n, llmr_err *err)
{
    char url[2048];
    const char *u = source;
    if (!strncmp(source, "hf:", 3)) {
        int rc = llmri_hf_resolve(source, url, sizeof url, err);
        if (rc)
            return rc;
        u = url;
    }
    size_t at = 0;
    name[0] = 0;
    /* https://huggingface.co/ORG/REPO/resolve/REV/FILE -> ORG--REPO--FILE */
    const char *hub = "https://huggingface.co/";
    if (!strncmp(u, hub, strlen(hub))) {
        const char *p = u + strlen(hub), *s1 = strchr(p, '/');
        const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (s2 && !strncmp(s2, "/resolve/", 9)) {
            const char *rev_end = strchr(s2 + 9, '/');
            if (rev_end && rev_end[1]) {
                size_t flen = strcspn(rev_end + 1, "?#");
                bool ok = name_append(name, n, &at, p, (size_t)(s1 - p)) &&
                          name_append(name, n, &at, "--", 2) &&
                          name_append(name, n, &at, s1 + 1, (size_t)(s2 - s1 - 1)) &&
                          name_append(name, n, &at, "--", 2);
                /* a file in a sub-folder keeps the folder in its name: a/b.gguf -> a_b.gguf */
                ok = ok && name_append(name, n, &at, rev_end + 1, flen);
                if (!ok)
                    return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the name is too long", source);
                return LLMR_OK;
            }
        }
    }
    size_t end = strcspn(u, "?#");
    const char *scheme = strstr(u, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    if (!path || (size_t)(path - u) >= end)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the URL names no file (expected "
                            "http(s)://HOST/.../FILE.gguf)", source);
    const char *last = path;
    for (const char *p = path; p < u + end; p++)
        if (*p == '/')
            last = p;
    size_t len = (size_t)(u + end - last - 1);
    if (len == 0 || (len == 1 && last[1] == '.') || (len == 2 && !strncmp(last + 1, "..", 2)))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the URL names no file (expected "
                            "http(s)://HOST/.../FILE.gguf)", source);
    if (!name_append(name, n, &at, last + 1, len))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the file name is too long", source);
    return LLMR_OK;
}
