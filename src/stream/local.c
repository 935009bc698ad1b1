/* local.c - the local source (model + tokenizer + sampler). Wired once the model layer lands. */
#include "stream/local.h"

int llmr_local_source_new(llmr_model *m, llmr_source **out, llmr_err *err)
{
    (void)m;
    *out = NULL;
    return llmr_err_set(err, LLMR_ERR_UNSUPPORTED, "local generation needs the model layer");
}
