/* remote_source.c - llmr_remote behind the stream source vtable (see remote_source.h).
 *
 * Sampling maps onto OpenAI's request fields: max_tokens, temperature, top_p, seed, stop,
 * response_format json_object. A grammar or JSON schema cannot be sent to an OpenAI endpoint
 * portably, so such a request is LLMR_ERR_UNSUPPORTED here and the router moves on to a model
 * that can honour it (a local one). */
#include "router/remote_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rsource {
    llmr_source  base;
    llmr_remote *r;
    const char **roles, **contents;   /* a conversation for a chat backend (borrowed) */
    size_t       n_msgs;
    const char  *msgs_json, *tools_json, *tool_choice;   /* tool calling (borrowed) */
    bool         parallel;
} rsource;

static int rs_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                    uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    rsource *s = (rsource *)src;
    *n_prompt = 0;            /* the server counts them; the stream API has no way to ask */
    *n_cached = 0;
    if (o->sampling.grammar || o->sampling.json_schema)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: a grammar or JSON schema cannot be "
                            "sent to a remote backend (use json_object, or a local model)",
                            src->name);
    llmr_remote_req q = llmri_remote_req_defaults();
    q.max_tokens = o->max_tokens;
    q.temperature = o->sampling.temperature;
    q.top_p = o->sampling.top_p;
    if (o->sampling.seed != LLMR_SEED_RANDOM)
        q.seed = (int64_t)(o->sampling.seed & 0x7fffffffffffffffull);
    q.stop = o->stop;
    q.json_mode = o->sampling.json_object;
    q.msg_roles = s->roles;
    q.msg_contents = s->contents;
    q.n_msgs = s->n_msgs;
    q.messages_json = s->msgs_json;
    q.tools_json = s->tools_json;
    q.tool_choice = s->tool_choice;
    q.parallel_tool_calls = s->parallel;
    return llmri_remote_begin(s->r, prompt, &q, err);
}

static int rs_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    rsource *s = (rsource *)src;
    const char *t;
    size_t n;
    int rc = llmri_remote_step(s->r, &t, &n, err);
    tok->id = -1;
    if (rc == LLMR_DONE) {
        /* [DONE]: the end of generation (the loop delivers no text for it) */
        tok->bytes = "";
        tok->len = 0;
        tok->eog = true;
        return LLMR_OK;
    }
    if (rc)
        return rc;
    tok->bytes = t;
    tok->len = n;
    tok->eog = false;
    return LLMR_OK;
}

static void rs_end(llmr_source *src) { llmri_remote_end(((rsource *)src)->r); }

static void rs_destroy(llmr_source *src)
{
    rsource *s = (rsource *)src;
    llmri_remote_close(s->r);
    free(s->roles);
    free(s->contents);
    free(s);
}

static const llmr_source_ops OPS = {.begin = rs_begin, .step = rs_step, .end = rs_end,
                                    .destroy = rs_destroy, .cancel = rt_remote_source_cancel};

int rt_remote_source_new(const llmr_remote_cfg *cfg, llmr_source **out, llmr_err *err)
{
    *out = NULL;
    rsource *s = calloc(1, sizeof *s);
    if (!s)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    int rc = llmri_remote_open(cfg, &s->r, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->base.ops = &OPS;
    snprintf(s->base.name, sizeof s->base.name, "%s", cfg->url);
    *out = &s->base;
    return LLMR_OK;
}

void rt_remote_source_cancel(llmr_source *src) { llmri_remote_cancel(((rsource *)src)->r); }

void rt_remote_source_set_tools(llmr_source *src, const char *messages_json,
                                const char *tools_json, const char *tool_choice, bool parallel)
{
    rsource *s = (rsource *)src;
    s->msgs_json = messages_json;
    s->tools_json = tools_json;
    s->tool_choice = tool_choice;
    s->parallel = parallel;
}

char *rt_remote_source_tool_calls(llmr_source *src)
{
    return llmri_remote_tool_calls(((rsource *)src)->r);
}

int rt_remote_source_set_messages(llmr_source *src, const llmr_chat_msg *msgs, size_t n,
                                  llmr_err *err)
{
    rsource *s = (rsource *)src;
    free(s->roles);
    free(s->contents);
    s->roles = calloc(n + 1, sizeof *s->roles);
    s->contents = calloc(n + 1, sizeof *s->contents);
    s->n_msgs = 0;
    if (!s->roles || !s->contents)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        s->roles[i] = msgs[i].role;
        s->contents[i] = msgs[i].content;
    }
    s->n_msgs = n;
    return LLMR_OK;
}
