/* arch_moe.c - mixtures of experts: expert counts and widths, each layer's router and experts,
 * and the router's choice per row. forward.c runs the experts (moe_ffn there): rows are grouped
 * by expert, so that a batched pass reads each chosen expert's weights once.
 *
 * What each family specifies (llama.cpp's llm_build_moe_ffn arguments, Hugging Face's
 * modeling_mixtral.py / modeling_qwen2_moe.py / modeling_qwen3_moe.py):
 *  - llama with ffn_*_exps (Mixtral): softmax over every expert, the top expert_used_count,
 *    their weights renormalised to sum to 1; experts n_ff wide.
 *  - qwen2moe: softmax, top-k, weights NOT renormalised (norm_topk_prob false); experts
 *    expert_feed_forward_length wide; plus a shared expert (expert_shared_feed_forward_length
 *    wide) whose output is scaled by sigmoid(ffn_gate_inp_shexp . x).
 *  - qwen3moe: softmax, top-k, renormalised (norm_topk_prob true); no shared expert.
 * Experts are SwiGLU FFNs; their tensors are 3-D, [n_embd, n_ff_exp, n_expert] for gate and up,
 * [n_ff_exp, n_embd, n_expert] for down, bound as one matrix of n_expert blocks of rows.
 */
#include "model/forward.h"

#include <math.h>
#include <stdio.h>

int llmri_moe_hparams(const gguf_file *gf, const char *an, llmr_hparams *hp, llmr_err *err)
{
    const bool qmoe = hp->arch == LLMR_ARCH_QWEN2MOE || hp->arch == LLMR_ARCH_QWEN3MOE;
    int rc;
    if ((rc = llmri_get_int(gf, an, "expert_count", qmoe, 0, 0, 4096, &hp->n_expert, err)) ||
        (rc = llmri_get_int(gf, an, "expert_used_count", hp->n_expert > 0, 0, 0, 4096,
                            &hp->n_expert_used, err)))
        return rc;
    if (!hp->n_expert)
        return LLMR_OK;
    if (hp->n_expert_used < 1 || hp->n_expert_used > hp->n_expert)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: %s.expert_used_count %d: expected 1..%d "
                            "(expert_count)", gf->path, an, hp->n_expert_used, hp->n_expert);
    if (hp->arch != LLMR_ARCH_LLAMA && !qmoe)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: experts in a %s model are not "
                            "supported", gf->path, an);
    const int def = qmoe ? hp->n_ff / hp->n_expert_used : hp->n_ff;
    if ((rc = llmri_get_int(gf, an, "expert_feed_forward_length", false, def > 0 ? def : 1, 1,
                            1 << 24, &hp->n_ff_exp, err)))
        return rc;
    if (hp->arch == LLMR_ARCH_QWEN2MOE &&
        (rc = llmri_get_int(gf, an, "expert_shared_feed_forward_length", false, hp->n_ff, 1,
                            1 << 24, &hp->n_ff_shexp, err)))
        return rc;
    hp->moe_norm_w = hp->arch != LLMR_ARCH_QWEN2MOE;
    return LLMR_OK;
}

int llmri_moe_layer(llmr_model *m, int l, llmr_err *err)
{
    const gguf_file *gf = m->gf;
    const llmr_hparams *hp = &m->hp;
    llmr_layer *L = &m->layers[l];
    const int64_t E = hp->n_embd, Fe = hp->n_ff_exp, X = hp->n_expert, Fs = hp->n_ff_shexp;
    char n[96];
    int rc;
#define NAME(suffix) (snprintf(n, sizeof n, "blk.%d.%s", l, suffix), n)
    if ((rc = llmri_bind(gf, NAME("ffn_gate_inp.weight"), E, X, false, false, &L->ffn_gate_inp,
                         err)) ||
        (rc = llmri_bind3(gf, NAME("ffn_gate_exps.weight"), E, Fe, X, &L->gate_exps, err)) ||
        (rc = llmri_bind3(gf, NAME("ffn_up_exps.weight"), E, Fe, X, &L->up_exps, err)) ||
        (rc = llmri_bind3(gf, NAME("ffn_down_exps.weight"), Fe, E, X, &L->down_exps, err)))
        return rc;
    if (hp->arch == LLMR_ARCH_QWEN2MOE) {
        llmr_mat g;
        if ((rc = llmri_bind(gf, NAME("ffn_gate_inp_shexp.weight"), E, 0, true, false, &g, err)) ||
            (rc = llmri_bind(gf, NAME("ffn_gate_shexp.weight"), E, Fs, false, false,
                             &L->gate_shexp, err)) ||
            (rc = llmri_bind(gf, NAME("ffn_up_shexp.weight"), E, Fs, false, false, &L->up_shexp,
                             err)) ||
            (rc = llmri_bind(gf, NAME("ffn_down_shexp.weight"), Fs, E, false, false,
                             &L->down_shexp, err)))
            return rc;
        L->gate_inp_shexp = g.data;
    }
#undef NAME
    return LLMR_OK;
}

/* The router's choice for one row: softmax of the n expert logits, the k largest (ids in
 * descending order of probability, as ggml_top_k's argsort gives them), and their weights: the
 * probabilities, renormalised to sum to 1 when norm is set. */
void llmri_moe_route(const float *logits, int n, int k, bool norm, int32_t *ids, float *w)
{
    float mx = logits[0];
    for (int i = 1; i < n; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += exp((double)(logits[i] - mx));
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int q = 0; q < j; q++)
                taken |= ids[q] == i;
            if (!taken && (best < 0 || logits[i] > logits[best]))
                best = i;
        }
        ids[j] = best;
        w[j] = (float)(exp((double)(logits[best] - mx)) / sum);
    }
    if (norm) {
        double s = 0.0;
        for (int j = 0; j < k; j++)
            s += w[j];
        for (int j = 0; j < k; j++)
            w[j] = (float)(w[j] / s);
    }
}
