/* http.c - one bounded HTTP request (see http.h). */
#include "router/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LLMR_HAVE_CURL
#include <curl/curl.h>

typedef struct sink {
    char  *p;
    size_t n, cap, max;
    bool   too_big;
} sink;

static size_t on_body(char *p, size_t sz, size_t nm, void *user)
{
    sink *s = user;
    size_t n = sz * nm;
    if (s->n + n > s->max) {
        s->too_big = true;
        return 0;
    }
    if (s->n + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + n + 1)
            cap *= 2;
        char *q = realloc(s->p, cap);
        if (!q)
            return 0;
        s->p = q;
        s->cap = cap;
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = 0;
    return n;
}

int rt_http(const rt_http_req *r, long *status, char **body, size_t *len, llmr_err *err)
{
    *body = NULL;
    *len = 0;
    *status = 0;
    if (!r->url || (strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8)))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': expected an http(s):// URL",
                            r->url ? r->url : "");
    CURL *c = curl_easy_init();
    if (!c)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    sink s = {.max = r->max_bytes ? r->max_bytes : (size_t)4 << 20};
    char cerr[CURL_ERROR_SIZE] = "", auth[1100], accept[300];
    struct curl_slist *h = NULL;
    if (r->accept) {
        snprintf(accept, sizeof accept, "Accept: %.280s", r->accept);
        h = curl_slist_append(h, accept);
    }
    if (r->bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %.1024s", r->bearer);
        h = curl_slist_append(h, auth);
    }
    if (r->body)
        h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method ? r->method : "GET");
    if (r->body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "llmr");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode cr = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (s.too_big) {
        free(s.p);
        return llmri_err_set(err, LLMR_ERR_TOO_BIG, "%s: the answer is longer than %zu bytes",
                            r->url, s.max);
    }
    if (cr != CURLE_OK) {
        free(s.p);
        return llmri_err_set(err, LLMR_ERR_NETWORK, "%s: %s", r->url,
                            cerr[0] ? cerr : curl_easy_strerror(cr));
    }
    if (!s.p && !(s.p = calloc(1, 1)))
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    *body = s.p;
    *len = s.n;
    return LLMR_OK;
}

#else

int rt_http(const rt_http_req *r, long *status, char **body, size_t *len, llmr_err *err)
{
    *body = NULL;
    *len = 0;
    *status = 0;
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: llmr was built without libcurl",
                        r->url ? r->url : "");
}

#endif
