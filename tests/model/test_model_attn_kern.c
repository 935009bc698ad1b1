/* test_model_attn_kern.c - each attention tile kernel set this CPU runs (AVX2, AVX-512) against
 * the plain-C reference, kernel by kernel (attn_kern_test_util.h); test_avx512_emul runs the
 * AVX-512 set on CPUs without AVX-512. test_model_attention checks whole tasks. */
#include "test_util.h"

#include "model/attn_kern_test_util.h"

static void simd_attention_kernels_match_reference(void **st)
{
    (void)st;
    int checked = 0;
    for (int isa = LLMR_ISA_REF + 1; isa <= (int)llmri_cpu_best_isa(); isa++) {
        const llmr_attn_kernels *k = llmri_attn_kernels_isa((llmr_isa)isa);
        if (!k)
            continue;
        akt_check_all(k);
        checked++;
    }
    if (!checked) {
        print_message("skipped: no SIMD attention kernels for this CPU\n");
        skip();
    }
}

static void reference_attention_kernels_keep_masked_scores_at_zero(void **st)
{
    (void)st;
    /* the reference against itself: only the exact-zero and NaN checks can fail */
    akt_check_softmax(llmri_attn_kernels_isa(LLMR_ISA_REF), llmri_attn_kernels_isa(LLMR_ISA_REF));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_attention_kernels_match_reference),
        cmocka_unit_test(reference_attention_kernels_keep_masked_scores_at_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
