/* test_simd.c - every SIMD kernel agrees with the plain-C reference: activation quantizers
 * and dequantization bit for bit, dot products and the tiled matrix product within a
 * tolerance scaled by the size of the terms (integer block sums are exact; only the float
 * accumulation order differs). Runs each ISA this CPU has; the others are skipped. */
#include "test_util.h"
#include "kernel_test_util.h"

static llmr_isa kt_isa;
static const llmr_type_traits *get_isa(uint32_t type) { return llmri_traits_isa(type, kt_isa); }

static void run_isa(llmr_isa isa)
{
    if (llmri_cpu_best_isa() < isa) {
        print_message("skipped: this CPU has no %s\n", llmri_isa_name(isa));
        skip();
    }
    kt_isa = isa;
    kt_check_kernels(get_isa, llmri_isa_name(isa));
    kt_check_matmul(get_isa, llmri_isa_name(isa));
    kt_check_float_tails(get_isa, llmri_isa_name(isa));
    kt_check_matmul_blocks(get_isa, llmri_isa_name(isa));
    kt_check_matmul_wide(get_isa, llmri_isa_name(isa));
}

static void reference_tiled_matmul_matches_vec_dot(void **state)
{
    (void)state;
    kt_isa = LLMR_ISA_REF;
    kt_check_matmul(get_isa, "ref");
    kt_check_matmul_blocks(get_isa, "ref");
}
static void avx2_kernels_match_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_AVX2);
}
static void avx512_kernels_match_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_AVX512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_tiled_matmul_matches_vec_dot),
        cmocka_unit_test(avx2_kernels_match_reference),
        cmocka_unit_test(avx512_kernels_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
