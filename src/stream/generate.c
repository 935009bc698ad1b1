/* generate.c - the model-level entry points: llmr_stream_open() turns a model and its
 * fallbacks into local sources; llmr_generate() is the blocking push form over a stream. */
#include "stream/local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int llmr_stream_open(llmr_model *m, const char *prompt, const llmr_gen_opts *o,
                     llmr_stream **out)
{
    if (out)
        *out = NULL;
    llmr_gen_opts defaults = llmr_gen_defaults();
    if (!o)
        o = &defaults;
    if (!m || !prompt || !out)
        return LLMR_ERR_ARG;
    llmr_source *srcs[1 + LLMR_MAX_FALLBACKS] = {0};
    size_t n = 1 + (o->n_fallbacks <= LLMR_MAX_FALLBACKS && o->fallbacks ? o->n_fallbacks : 0);
    llmr_err err;
    llmri_err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        llmr_model *mi = i == 0 ? m : o->fallbacks[i - 1];
        int rc = mi ? llmri_local_source_new(mi, &srcs[i], &err)
                    : llmri_err_set(&err, LLMR_ERR_ARG, "fallback model %zu is NULL", i);
        if (rc != LLMR_OK) {
            for (size_t k = 0; k < i; k++)
                srcs[k]->ops->destroy(srcs[k]);
            /* Report through a stream handle like every other open failure. */
            return llmri_stream_open_failed(rc, err.msg, o, out);
        }
    }
    return llmri_stream_open_sources(srcs, n, prompt, o, out);
}

int llmr_generate(llmr_model *m, const char *prompt, const llmr_gen_opts *o, char **text,
                  llmr_usage *usage, char *errbuf, size_t errbuf_len)
{
    if (text)
        *text = NULL;
    if (errbuf && errbuf_len)
        errbuf[0] = '\0';
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, o, &s);
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE)
            ;
    if (rc == LLMR_DONE) {
        rc = LLMR_OK;
        size_t len;
        const char *t = llmr_stream_text(s, &len);
        if (text && !(*text = strndup(t, len)))
            rc = LLMR_ERR_NOMEM;
    }
    if (rc != LLMR_OK && errbuf && errbuf_len)
        snprintf(errbuf, errbuf_len, "%s", s ? llmr_stream_errmsg(s) : llmr_strerror(rc));
    if (usage)
        llmr_stream_usage(s, usage);
    llmr_stream_close(s);
    return rc;
}

int llmr_model_open_first(const char *const *paths, size_t n_paths, const llmr_model_opts *o,
                          llmr_model **out, size_t *which, char *errbuf, size_t errbuf_len)
{
    if (out)
        *out = NULL;
    if (errbuf && errbuf_len)
        errbuf[0] = '\0';
    if (!out || !paths || n_paths == 0)
        return LLMR_ERR_ARG;
    int rc = LLMR_ERR_ARG;
    size_t used = 0;
    for (size_t i = 0; i < n_paths; i++) {
        llmr_model *m = NULL;
        rc = paths[i] ? llmr_model_open(paths[i], o, &m) : LLMR_ERR_ARG;
        if (rc == LLMR_OK) {
            *out = m;
            if (which)
                *which = i;
            return LLMR_OK;
        }
        if (errbuf && used < errbuf_len) {
            int k = snprintf(errbuf + used, errbuf_len - used, "%s%s", used ? "\n" : "",
                             m ? llmr_model_errmsg(m) : llmr_strerror(rc));
            used += k > 0 ? (size_t)k : 0;
        }
        llmr_model_close(m);
    }
    return rc;
}
