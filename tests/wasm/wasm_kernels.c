/* wasm_kernels.c - in a WebAssembly build, every SIMD128 kernel agrees with the plain-C
 * reference (the checks of tests/kernels/kernel_test_util.h, which the native suite runs for
 * AVX2 and AVX-512): dequantization and activation quantizers bit for bit, dot products and
 * the tiled matrix product within the accumulation-order tolerance, every type at every
 * remainder. Not named test_*.c: the native build compiles those, with cmocka.
 * Compiled by emcc (cmake/wasm.cmake) and run under Node by tests/wasm/kernels.sh.
 * cmocka has no WebAssembly build, so the few cmocka calls the checks use are defined here:
 * a failure prints its message and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define print_error(...) fprintf(stderr, __VA_ARGS__)
#define print_message(...) printf(__VA_ARGS__)
#define fail() (fprintf(stderr, "FAIL at %s:%d\n", __FILE__, __LINE__), exit(1))
#define assert_true(c) ((c) ? (void)0 : (fprintf(stderr, "assertion %s failed\n", #c), fail()))
#define assert_non_null(p) assert_true((p) != NULL)

#include "kernel_test_util.h"

static const llmr_type_traits *get_simd(uint32_t type)
{
    return llmri_traits_isa(type, LLMR_ISA_SIMD128);
}

int main(void)
{
    if (llmri_cpu_best_isa() != LLMR_ISA_SIMD128) {
        fprintf(stderr, "the WebAssembly build does not select its SIMD128 kernels (best ISA: %s)\n",
                llmri_isa_name(llmri_cpu_best_isa()));
        return 1;
    }
    /* The hot types must really have SIMD128 kernels, not the reference copied up a level. */
    static const struct { uint32_t type; const char *name; } hot[] = {
        {LLMR_TYPE_F32, "F32"}, {LLMR_TYPE_F16, "F16"}, {LLMR_TYPE_Q4_0, "Q4_0"},
        {LLMR_TYPE_Q8_0, "Q8_0"}, {LLMR_TYPE_Q4_K, "Q4_K"}, {LLMR_TYPE_Q6_K, "Q6_K"},
    };
    for (size_t i = 0; i < sizeof hot / sizeof hot[0]; i++) {
        const llmr_type_traits *r = llmri_traits_isa(hot[i].type, LLMR_ISA_REF);
        const llmr_type_traits *s = get_simd(hot[i].type);
        if (!s || s->vec_dot == r->vec_dot) {
            fprintf(stderr, "%s: no SIMD128 vec_dot installed\n", hot[i].name);
            return 1;
        }
    }
    kt_check_kernels(get_simd, "simd128");
    kt_check_matmul(get_simd, "simd128");
    kt_check_float_tails(get_simd, "simd128");
    kt_check_matmul_blocks(get_simd, "simd128");
    kt_check_matmul_wide(get_simd, "simd128");
    printf("simd128: every kernel matches the reference (%zu types)\n", N_TYPES);
    return 0;
}
