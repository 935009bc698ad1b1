/* chat.c - a model's chat prompt: its own template (GGUF key tokenizer.chat_template, as
 * llama.cpp and Hugging Face store it) rendered with its BOS and EOS token texts.
 *
 * Parsing and rendering a template recurse once per nesting level of its expressions and
 * blocks (bounded at 128) and of its macro calls (bounded at 100). A template comes from a
 * model file, so it may be hostile, and the caller may run on a small stack (a civetweb
 * worker has 100 KiB; a Node worker or a WebAssembly thread not much more): every render
 * runs on a thread of its own whose stack holds those bounds. */
#include "stream/local.h"
#include "core/buf.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "model/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_STACK (8u << 20)
#define RENDER_MAX_OUTPUT (4u << 20)

typedef struct render_job {
    const char *src;              /* template text, NULL: the plain fallback */
    const llmr_chat_msg *msgs;
    size_t n;
    const char *msgs_json, *tools_json;   /* NULL: msgs; no tools */
    const char *bos, *eos;
    char *out;
    int rc;
    llmr_err *err;
} render_job;

static void *render_main(void *arg)
{
    render_job *j = arg;
    llmr_template *t = NULL;
    int rc = llmr_template_open(j->src, &t);
    if (rc != LLMR_OK) {
        j->rc = llmri_err_set(j->err, rc == LLMR_ERR_NOMEM ? rc : LLMR_ERR_FORMAT,
                             "the model's chat template does not parse: %s",
                             t ? llmr_template_errmsg(t) : llmr_strerror(rc));
        llmr_template_close(t);
        return NULL;
    }
    llmr_template_opts o = llmr_template_defaults();
    o.bos_token = j->bos;
    o.eos_token = j->eos;
    o.max_output = RENDER_MAX_OUTPUT;
    o.tools_json = j->tools_json;
    rc = j->msgs_json ? llmr_template_render_json(t, j->msgs_json, &o, &j->out, NULL)
                      : llmr_template_render(t, j->msgs, j->n, &o, &j->out, NULL);
    if (rc != LLMR_OK) {
        /* raise_exception() in a template is how models refuse a message order (a system
         * message they do not support, roles that do not alternate): the caller's input */
        j->rc = llmri_err_set(j->err, rc == LLMR_ERR_NOMEM ? rc : LLMR_ERR_ARG,
                             "the chat template refused the messages: %s",
                             llmr_template_errmsg(t));
        free(j->out);
        j->out = NULL;
    }
    llmr_template_close(t);
    return NULL;
}

/* Renders msgs with template src (NULL: the fallback) on a deep-stack thread. */
static int render(const char *src, const llmri_chat_in *in, const char *bos, const char *eos,
                  char **out, llmr_err *err)
{
    render_job j = {.src = src, .msgs = in->msgs, .n = in->n, .msgs_json = in->msgs_json,
                    .tools_json = in->tools_json, .bos = bos, .eos = eos, .err = err};
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
    /* WebAssembly without threads: no thread to start; the module's own stack is made as
     * deep as RENDER_STACK instead (cmake/wasm.cmake, TOTAL_STACK). */
    render_main(&j);
#else
    pthread_attr_t a;
    pthread_t th;
    bool started = pthread_attr_init(&a) == 0;
    if (started) {
        started = pthread_attr_setstacksize(&a, RENDER_STACK) == 0 &&
                  pthread_create(&th, &a, render_main, &j) == 0;
        pthread_attr_destroy(&a);
    }
    if (!started)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "cannot start the template renderer");
    pthread_join(th, NULL);
#endif
    *out = j.out;
    return j.rc;
}

/* The messages' contents joined by blank lines (ollama's prompt without a template). */
static char *join_plain(const llmr_chat_msg *msgs, size_t n)
{
    llmr_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i && !llmri_buf_append(&b, "\n\n", 2))
            break;
        if (!llmri_buf_append(&b, msgs[i].content, strlen(msgs[i].content)))
            break;
    }
    char *s = llmri_strndup(b.p ? b.p : "", b.len);
    llmri_buf_free(&b);
    return s;
}

int llmri_chat_render(llmr_model *m, const llmri_chat_in *in, llmri_chat_text *ct,
                      llmr_err *err)
{
    memset(ct, 0, sizeof *ct);
    for (size_t i = 0; i < in->n; i++)
        if (!in->msgs[i].role || !in->msgs[i].content)
            return llmri_err_set(err, LLMR_ERR_ARG, "message %zu has no role or content", i);
    const char *src = m ? gguf_get_str(llmri_model_gguf(m), "tokenizer.chat_template") : NULL;
    if (!src && in->raw_untemplated) {
        /* plain text: "<s>" in it is text, and BOS is added as for any plain prompt */
        ct->text = join_plain(in->msgs, in->n);
        ct->add_bos = true;
        ct->parse_special = false;
        return ct->text ? LLMR_OK : llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    }
    const char *bos = "", *eos = "";
    if (m) {
        const llmr_tokenizer *tok;
        int rc = llmri_local_tokenizer(m, &tok, err);
        if (rc != LLMR_OK)
            return rc;
        const char *b = llmr_token_text(tok, llmr_tokenizer_bos(tok));
        const char *e = llmr_token_text(tok, llmr_tokenizer_eos(tok));
        bos = b ? b : "";
        eos = e ? e : "";
    }
    int rc = render(src, in, bos, eos, &ct->text, err);
    /* The template's markers are control tokens. A template that writes {{ bos_token }}
     * itself gets no second BOS; the fallback, and templates that do not, get one added. */
    ct->parse_special = true;
    ct->add_bos = !src || !strstr(src, "bos_token");
    return rc;
}

int llmr_chat_prompt(llmr_model *m, const llmr_chat_msg *msgs, size_t n_msgs, char **out,
                     char *errbuf, size_t errlen)
{
    if (out)
        *out = NULL;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!m || !out || (!msgs && n_msgs))
        return LLMR_ERR_ARG;
    llmr_err err;
    llmri_err_clear(&err);
    llmri_chat_text ct;
    llmri_chat_in in = {.msgs = msgs, .n = n_msgs};
    int rc = llmri_chat_render(m, &in, &ct, &err);
    if (rc != LLMR_OK && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", err.msg);
    *out = ct.text;
    return rc;
}
