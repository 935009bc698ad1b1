/* prompt.c - chat messages -> prompt text with the model's tokenizer.chat_template (or the
 * template layer's documented plain fallback when the model has none). */
#include "server/server_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Parsing and rendering a template recurse once per nesting level of its expressions and
 * blocks (bounded at 128) and of its macro calls (bounded at 100). A civetweb worker has a
 * 100 KiB stack, too small for those bounds with a hostile template from a model file, so the
 * template runs on a thread of its own whose stack holds them. */
#define RENDER_STACK (8u << 20)

typedef struct render_job {
    char *src;                 /* template text, or NULL for the plain fallback */
    const srv_msg *msgs;
    int n;
    const char *bos, *eos;
    srv_error *e;
    char *out;
} render_job;

static void *render_main(void *arg)
{
    render_job *j = arg;
    srv_error *e = j->e;
    llmr_template *t = NULL;
    int rc = llmr_template_open(j->src, &t);
    if (rc != LLMR_OK) {
        srv_error_set(e, 500, "server_error", NULL, NULL, "the model's chat template does not "
                      "parse: %s", t ? llmr_template_errmsg(t) : llmr_strerror(rc));
        llmr_template_close(t);
        return NULL;
    }
    int n = j->n;
    llmr_chat_msg *cm = calloc((size_t)n + 1, sizeof *cm);
    if (!cm) {
        llmr_template_close(t);
        srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        cm[i] = (llmr_chat_msg){j->msgs[i].role, j->msgs[i].content};
    llmr_template_opts o = llmr_template_defaults();
    o.add_generation_prompt = true;
    o.bos_token = j->bos;
    o.eos_token = j->eos;
    o.max_output = 4u << 20;
    char *out = NULL;
    rc = llmr_template_render(t, cm, (size_t)n, &o, &out, NULL);
    free(cm);
    if (rc != LLMR_OK) {
        /* raise_exception() in a template is how models refuse a message order (a system
         * message they do not support, roles that do not alternate): the client's fault. */
        srv_error_set(e, 400, "invalid_request_error", NULL, "messages",
                      "the chat template refused the messages: %s", llmr_template_errmsg(t));
        free(out);
        out = NULL;
    }
    llmr_template_close(t);
    j->out = out;
    return NULL;
}

char *srv_render_chat(llmr_server *s, srv_lm *lm, const srv_msg *msgs, int n, srv_error *e)
{
    /* With -m the server's lock covers reading the template text (a load may swap it); a
     * router's model stays while the request holds it. The parsed template is this request's
     * own, so renders run in parallel. lm NULL: no model's template (the plain fallback). */
    bool lock = lm == &s->lm;
    if (lock)
        pthread_mutex_lock(&s->lock);
    char *src = lm && lm->chat_template ? strdup(lm->chat_template) : NULL;
    char bos[64] = "", eos[64] = "";
    if (lm) {
        memcpy(bos, lm->bos, sizeof bos);
        memcpy(eos, lm->eos, sizeof eos);
    }
    bool had = lm && lm->chat_template != NULL;
    if (lock)
        pthread_mutex_unlock(&s->lock);
    if (had && !src) {
        srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    render_job j = {.src = src, .msgs = msgs, .n = n, .bos = bos, .eos = eos, .e = e};
    pthread_attr_t a;
    pthread_t th;
    bool started = pthread_attr_init(&a) == 0;
    if (started) {
        started = pthread_attr_setstacksize(&a, RENDER_STACK) == 0 &&
                  pthread_create(&th, &a, render_main, &j) == 0;
        pthread_attr_destroy(&a);
    }
    if (started)
        pthread_join(th, NULL);
    else
        srv_error_set(e, 503, "server_error", NULL, NULL, "cannot start the template renderer");
    free(src);
    return j.out;
}
