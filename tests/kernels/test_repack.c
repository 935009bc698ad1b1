/* test_repack.c - the row-interleaved weight layouts: repacking is lossless (unpacking gives
 * the file's bytes back, in place or not) and the products on repacked rows agree with the
 * plain reference dot products: exactly at the reference level, within the float
 * accumulation tolerance for AVX2 and AVX-512 (each ISA this CPU has; the AVX-512 kernels are
 * also run under emulation by test_avx512_emul). */
#include "test_util.h"
/* the shared helpers include checks of the plain tables this test does not run */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "kernel_test_util.h"
#include "repack_test_util.h"

static llmr_isa kr_isa;
static const llmr_type_traits *get_isa(uint32_t type)
{
    return llmri_traits_repacked_isa(type, kr_isa);
}

static void run_isa(llmr_isa isa)
{
    if (llmri_cpu_best_isa() < isa) {
        print_message("skipped: this CPU has no %s\n", llmri_isa_name(isa));
        skip();
    }
    kr_isa = isa;
    kr_check_roundtrip(get_isa, llmri_isa_name(isa));
    kr_check_products(get_isa, llmri_isa_name(isa), isa == LLMR_ISA_REF);
    kr_check_extremes(get_isa, llmri_isa_name(isa));
}

static void reference_repacked_products_equal_plain_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_REF);
}
static void avx2_repacked_products_match_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_AVX2);
}
static void avx512_repacked_products_match_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_AVX512);
}

static void types_without_a_layout_have_no_repacked_traits(void **state)
{
    (void)state;
    assert_null(llmri_traits_repacked(LLMR_TYPE_Q2_K));
    assert_null(llmri_traits_repacked(LLMR_TYPE_Q8_K));
    assert_null(llmri_traits_repacked(LLMR_TYPE_COUNT));
    /* plain entries are plain */
    assert_true(llmri_traits(LLMR_TYPE_Q4_0)->interleave <= 1);
}

static void the_k_quants_have_r8_layouts(void **state)
{
    (void)state;
    const uint32_t ts[] = {LLMR_TYPE_Q4_K, LLMR_TYPE_Q5_K, LLMR_TYPE_Q6_K};
    for (int i = 0; i < 3; i++) {
        const llmr_type_traits *t = llmri_traits_repacked_isa(ts[i], LLMR_ISA_REF);
        assert_non_null(t);
        assert_int_equal(t->interleave, 8);
        assert_int_equal(t->vec_dot_type, LLMR_TYPE_Q8_K);
    }
}

/* F16 and BF16 group 16 rows; their activations stay in the weights' own type */
static void the_float_types_have_r16_layouts(void **state)
{
    (void)state;
    const uint32_t ts[] = {LLMR_TYPE_F16, LLMR_TYPE_BF16};
    const char *const names[] = {"F16_R16", "BF16_R16"};
    for (int i = 0; i < 2; i++) {
        const llmr_type_traits *t = llmri_traits_repacked_isa(ts[i], LLMR_ISA_REF);
        assert_non_null(t);
        assert_int_equal(t->interleave, 16);
        assert_int_equal(t->vec_dot_type, ts[i]);
        assert_string_equal(t->name, names[i]);
        assert_ptr_equal(llmri_traits_layout(llmri_layout_type_id(t)), t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_repacked_products_equal_plain_reference),
        cmocka_unit_test(avx2_repacked_products_match_reference),
        cmocka_unit_test(avx512_repacked_products_match_reference),
        cmocka_unit_test(types_without_a_layout_have_no_repacked_traits),
        cmocka_unit_test(the_k_quants_have_r8_layouts),
        cmocka_unit_test(the_float_types_have_r16_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
