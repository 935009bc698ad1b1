/* test_fp16.c - the fp16/bf16 conversions are exact and round to nearest even. */
#include "test_util.h"
#include "kernels/kernels.h"

#include <math.h>

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void every_half_round_trips(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = llmri_fp16_to_fp32((uint16_t)h);
        if (isnan(f))
            continue;
        assert_int_equal(llmri_fp32_to_fp16(f), h);
    }
    assert_true(llmri_fp16_to_fp32(0x0001) == 0x1p-24f);          /* smallest subnormal */
    assert_true(llmri_fp16_to_fp32(0x7bff) == 65504.0f);
    assert_true(isinf(llmri_fp16_to_fp32(0x7c00)));
}

/* Every binary32 between two adjacent halves rounds to the nearer, ties to the even one. */
static void float_to_half_rounds_to_nearest_even(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x7bff; h += 7) {
        float lo = llmri_fp16_to_fp32((uint16_t)h), hi = llmri_fp16_to_fp32((uint16_t)(h + 1));
        double mid = ((double)lo + hi) / 2;
        float below = nextafterf((float)mid, 0), above = nextafterf((float)mid, INFINITY);
        assert_int_equal(llmri_fp32_to_fp16(below), h);
        assert_int_equal(llmri_fp32_to_fp16(above), h + 1);
        assert_int_equal(llmri_fp32_to_fp16((float)mid), (h & 1) ? h + 1 : h);
    }
    assert_int_equal(llmri_fp32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(llmri_fp32_to_fp16(65519.99f), 0x7bff);
    assert_int_equal(llmri_fp32_to_fp16(-0x1p-25f), 0x8000);
    assert_int_equal(llmri_fp32_to_fp16(nextafterf(0x1p-25f, 1)), 0x0001);
    assert_true((llmri_fp32_to_fp16(NAN) & 0x7e00) == 0x7e00);
}

static void bf16_rounds_to_nearest_even(void **state)
{
    (void)state;
    assert_int_equal(llmri_fp32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(llmri_fp32_to_bf16(u2f(0x3f808000)), 0x3f80);   /* tie, even below */
    assert_int_equal(llmri_fp32_to_bf16(u2f(0x3f818000)), 0x3f82);   /* tie, even above */
    assert_int_equal(llmri_fp32_to_bf16(u2f(0x3f808001)), 0x3f81);
    assert_int_equal(f2u(llmri_bf16_to_fp32(0xbf80)), 0xbf800000);
    assert_true(isnan(llmri_bf16_to_fp32(llmri_fp32_to_bf16(NAN))));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_half_round_trips),
        cmocka_unit_test(float_to_half_rounds_to_nearest_even),
        cmocka_unit_test(bf16_rounds_to_nearest_even),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
