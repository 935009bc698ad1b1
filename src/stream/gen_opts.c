/* gen_opts.c - generation options: their defaults and their checks, shared by every source
 * and front end (a bad option is an error at open, before any source is asked anything). */
#include "stream/source.h"
#include "stream/text.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

llmr_gen_opts llmr_gen_defaults(void)
{
    llmr_gen_opts o;
    memset(&o, 0, sizeof o);
    o.max_tokens = 256;
    o.sampling = llmr_sampling_defaults();
    o.add_bos = true;
    o.parse_special = true;
    o.progress_every = 10;
    o.max_retries = 3;
    o.retry_delay_ms = 1000;
    o.backoff = 2.0;
    return o;
}

const char *llmr_finish_name(llmr_finish f)
{
    switch (f) {
    case LLMR_FINISH_STOP:      return "stop";
    case LLMR_FINISH_LENGTH:    return "length";
    case LLMR_FINISH_CANCELLED: return "cancelled";
    case LLMR_FINISH_ERROR:     return "error";
    default:                    return "none";
    }
}

bool llmr_err_retryable(int code)
{
    return code == LLMR_ERR_NETWORK || code == LLMR_ERR_BUSY;
}

int llmri_gen_opts_check(const llmr_gen_opts *o, llmr_err *err)
{
    if (o->max_tokens < 0 || o->max_tokens > LLMR_MAX_GEN_TOKENS)
        return llmri_err_set(err, LLMR_ERR_ARG, "max_tokens %ld is out of range: expected 1..%d, "
                            "or 0 for no limit but the context", (long)o->max_tokens,
                            LLMR_MAX_GEN_TOKENS);
    for (int i = 0; i < LLMR_MAX_STOP && o->stop[i]; i++) {
        size_t n = strlen(o->stop[i]);
        if (n == 0)
            return llmri_err_set(err, LLMR_ERR_ARG, "stop sequence %d is empty: expected 1..%d "
                                "bytes of text", i + 1, LLMR_MAX_STOP_LEN);
        if (n > LLMR_MAX_STOP_LEN)
            return llmri_err_set(err, LLMR_ERR_ARG, "stop sequence %d is %zu bytes long: expected "
                                "at most %d", i + 1, n, LLMR_MAX_STOP_LEN);
        if (!llmri_utf8_valid(o->stop[i], n))
            return llmri_err_set(err, LLMR_ERR_ARG, "stop sequence %d is not valid UTF-8", i + 1);
    }
    if (o->n_filters > LLMR_MAX_FILTERS || (o->n_filters && !o->filters))
        return llmri_err_set(err, LLMR_ERR_ARG, "n_filters %zu: expected 0..%d with a filters "
                            "array", o->n_filters, LLMR_MAX_FILTERS);
    for (size_t i = 0; i < o->n_filters; i++)
        if (!o->filters[i].fn)
            return llmri_err_set(err, LLMR_ERR_ARG, "filter %zu has no function", i + 1);
    if (o->max_retries < 0 || o->max_retries > 10)
        return llmri_err_set(err, LLMR_ERR_ARG, "max_retries %d is out of range: expected 0..10",
                            o->max_retries);
    if (o->retry_delay_ms > 600000)
        return llmri_err_set(err, LLMR_ERR_ARG, "retry_delay_ms %u is out of range: expected "
                            "0..600000", o->retry_delay_ms);
    if (!(o->backoff >= 1.0 && o->backoff <= 10.0))
        return llmri_err_set(err, LLMR_ERR_ARG, "backoff %g is out of range: expected 1..10",
                            o->backoff);
    if (o->top_logprobs < 0 || o->top_logprobs > LLMR_MAX_TOP_LOGPROBS)
        return llmri_err_set(err, LLMR_ERR_ARG, "top_logprobs %ld is out of range: expected "
                            "0..%d", (long)o->top_logprobs, LLMR_MAX_TOP_LOGPROBS);
    if (o->n_fallbacks > LLMR_MAX_FALLBACKS || (o->n_fallbacks && !o->fallbacks))
        return llmri_err_set(err, LLMR_ERR_ARG, "n_fallbacks %zu: expected 0..%d with a "
                            "fallbacks array", o->n_fallbacks, LLMR_MAX_FALLBACKS);
    /* The sampling fields, and the grammar or schema compiled, so that a bad one is an
     * error now, before any source is asked for anything. */
    char msg[sizeof err->msg - 16];
    int rc = llmr_sampling_validate(&o->sampling, msg, sizeof msg);
    if (rc != LLMR_OK)
        return llmri_err_set(err, rc, "%s", msg);
    return LLMR_OK;
}

int llmr_gen_validate(const llmr_gen_opts *o, char *err, size_t errlen)
{
    llmr_err e;
    llmri_err_clear(&e);
    int rc = o ? llmri_gen_opts_check(o, &e) : LLMR_ERR_ARG;
    if (err && errlen)
        snprintf(err, errlen, "%s", o ? e.msg : "no options given");
    return rc;
}
