/* chat.c - a model's chat prompt: its own template (GGUF key tokenizer.chat_template, as
 * llama.cpp and Hugging Face store it) rendered with its BOS and EOS token texts. */
#include "stream/local.h"
#include "gguf/gguf.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>

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
    const llmr_tokenizer *tok;
    int rc = llmri_local_tokenizer(m, &tok, &err);
    if (rc != LLMR_OK) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", err.msg);
        return rc;
    }
    /* A model without a template gets the plain fallback (llmr_template_open(NULL)). */
    const char *src = gguf_get_str(llmri_model_gguf(m), "tokenizer.chat_template");
    llmr_template *t;
    rc = llmr_template_open(src, &t);
    if (rc == LLMR_OK) {
        llmr_template_opts o = llmr_template_defaults();
        const char *bos = llmr_token_text(tok, llmr_tokenizer_bos(tok));
        const char *eos = llmr_token_text(tok, llmr_tokenizer_eos(tok));
        o.bos_token = bos ? bos : "";
        o.eos_token = eos ? eos : "";
        rc = llmr_template_render(t, msgs, n_msgs, &o, out, NULL);
    }
    if (rc != LLMR_OK && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", t ? llmr_template_errmsg(t) : llmr_strerror(rc));
    llmr_template_close(t);
    return rc;
}
