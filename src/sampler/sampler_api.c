/* sampler_api.c - the public sampling options: defaults, validation, grammar helpers. */
#include "sampler/sampler.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENALTY_WINDOW (1 << 20)

llmr_sampling llmr_sampling_defaults(void)
{
    /* llama.cpp's common_params_sampling defaults */
    return (llmr_sampling){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .typical_p = 1.0f,
        .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .penalty_last_n = 64,
        .min_keep = 1,
        .seed = LLMR_SEED_RANDOM,
    };
}

static int unit_range(const char *name, float v, llmr_err *err)
{
    if (!(v >= 0.0f && v <= 1.0f))     /* also catches NaN */
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: %s is %g; expected 0 to 1", name,
                            (double)v);
    return LLMR_OK;
}

int llmri_sampling_check(const llmr_sampling *o, llmr_err *err)
{
    int rc;
    if (!(o->temperature >= 0.0f) || isinf(o->temperature))
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: temperature is %g; expected a "
                            "finite value >= 0 (0 = greedy)", (double)o->temperature);
    if (o->top_k < 0)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: top_k is %d; expected >= 0 "
                            "(0 = off)", (int)o->top_k);
    if ((rc = unit_range("top_p", o->top_p, err)) || (rc = unit_range("min_p", o->min_p, err)) ||
        (rc = unit_range("typical_p", o->typical_p, err)))
        return rc;
    if (!(o->repeat_penalty > 0.0f) || isinf(o->repeat_penalty))
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: repeat_penalty is %g; expected a "
                            "finite value > 0 (1 = off)", (double)o->repeat_penalty);
    if (!isfinite(o->presence_penalty) || !isfinite(o->frequency_penalty))
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: presence_penalty %g and "
                            "frequency_penalty %g must be finite", (double)o->presence_penalty,
                            (double)o->frequency_penalty);
    if (o->penalty_last_n < 0 || o->penalty_last_n > MAX_PENALTY_WINDOW)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: penalty_last_n is %d; expected 0 "
                            "to %d", (int)o->penalty_last_n, MAX_PENALTY_WINDOW);
    if (o->min_keep < 0)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: min_keep is %d; expected >= 0",
                            (int)o->min_keep);
    if (o->n_logit_bias && !o->logit_bias)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: n_logit_bias is %zu but logit_bias "
                            "is NULL", o->n_logit_bias);
    for (size_t i = 0; i < o->n_logit_bias; i++) {
        float b = o->logit_bias[i].bias;
        if (isnan(b) || b == INFINITY)
            return llmri_err_set(err, LLMR_ERR_ARG, "sampling: logit_bias[%zu] (token %d) is "
                                "%g; expected a finite value or -INFINITY (ban)", i,
                                (int)o->logit_bias[i].token, (double)b);
    }
    int n = (o->grammar != NULL) + (o->json_schema != NULL) + (o->json_object != false);
    if (n > 1)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: set at most one of grammar, "
                            "json_schema and json_object");
    return LLMR_OK;
}

int llmri_sampling_grammar_text(const llmr_sampling *o, char **out, llmr_err *err)
{
    *out = NULL;
    if (o->grammar) {
        *out = llmri_strdup(o->grammar);
        return *out ? LLMR_OK : llmri_err_set(err, LLMR_ERR_NOMEM, "sampling: out of memory");
    }
    if (o->json_schema || o->json_object)
        return llmri_json_schema_gbnf(o->json_schema, out, err);
    return LLMR_OK;
}

static void copy_err(const llmr_err *e, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", e->msg);
}

int llmr_sampling_validate(const llmr_sampling *s, char *err, size_t errlen)
{
    llmr_err e;
    llmri_err_clear(&e);
    char *text = NULL;
    llmr_grammar *g = NULL;
    int rc = s ? llmri_sampling_check(s, &e)
               : llmri_err_set(&e, LLMR_ERR_ARG, "sampling: NULL options");
    if (!rc && !(rc = llmri_sampling_grammar_text(s, &text, &e)) && text)
        rc = llmri_grammar_parse(text, &g, &e);
    llmri_grammar_free(g);
    free(text);
    copy_err(&e, err, errlen);
    return rc;
}

int llmr_grammar_validate(const char *gbnf, char *err, size_t errlen)
{
    llmr_err e;
    llmri_err_clear(&e);
    llmr_grammar *g = NULL;
    int rc = llmri_grammar_parse(gbnf, &g, &e);
    llmri_grammar_free(g);
    copy_err(&e, err, errlen);
    return rc;
}

int llmr_json_schema_to_grammar(const char *schema, char **gbnf, char *err, size_t errlen)
{
    llmr_err e;
    llmri_err_clear(&e);
    int rc = gbnf ? llmri_json_schema_gbnf(schema, gbnf, &e)
                  : llmri_err_set(&e, LLMR_ERR_ARG, "json schema: NULL output pointer");
    copy_err(&e, err, errlen);
    return rc;
}

void llmr_grammar_text_free(char *gbnf) { free(gbnf); }
