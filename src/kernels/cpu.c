/* cpu.c - run-time CPU detection (cpuid + xgetbv), done once.
 *
 * A feature counts only when the OS saves its registers: XCR0 bits 1-2 (SSE/AVX state) for
 * AVX2, and also bits 5-7 (opmask, ZMM0-15 upper halves, ZMM16-31) for AVX-512 (Intel SDM
 * vol. 1, 13.3). CPUID leaf 7 subleaf 0: EBX bit 5 AVX2, 16 AVX512F, 17 DQ, 30 BW, 31 VL;
 * ECX bit 11 VNNI. Leaf 7 subleaf 1: EAX bit 5 AVX512_BF16. Leaf 1: ECX bit 12 FMA, 29 F16C,
 * 27 OSXSAVE.
 *
 * LLMR_ISA=ref|avx2|avx512 in the environment caps the level (for benchmarks and tests). */
#include "kernels/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect(llmr_cpu_features *f)
{
    unsigned a, b, c, d;
    memset(f, 0, sizeof *f);
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    if (!(c & (1u << 27)))                 /* no OSXSAVE: no AVX state saved at all */
        return;
    int fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    uint64_t xcr0 = xgetbv0();
    int os_avx = (xcr0 & 0x6) == 0x6;
    int os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
    if (!os_avx || __get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = (b >> 5) & 1;
    f->fma = fma;
    f->f16c = f16c;
    if (os_avx512) {
        f->avx512f = (b >> 16) & 1;
        f->avx512dq = (b >> 17) & 1;
        f->avx512bw = (b >> 30) & 1;
        f->avx512vl = (b >> 31) & 1;
        f->avx512vnni = (c >> 11) & 1;
        unsigned max_sub = a;
        if (max_sub >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            f->avx512bf16 = (a >> 5) & 1;
        }
    }
}
#else
static void detect(llmr_cpu_features *f) { memset(f, 0, sizeof *f); }
#endif

static llmr_cpu_features g_features;
static llmr_isa g_best;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    detect(&g_features);
    const llmr_cpu_features *f = &g_features;
    g_best = LLMR_ISA_REF;
    (void)f;
#if defined(__wasm_simd128__)
    g_best = LLMR_ISA_SIMD128;
    const char *cap = getenv("LLMR_ISA");
    if (cap && !strcmp(cap, "ref"))
        g_best = LLMR_ISA_REF;
#elif !defined(__wasm__)
    if (f->avx2 && f->fma && f->f16c) {
        g_best = LLMR_ISA_AVX2;
        /* The AVX-512 file is compiled with VNNI and BF16 enabled and uses them
         * unconditionally, so the level requires both (Zen 4, Sapphire Rapids and later). */
        if (f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq && f->avx512vnni &&
            f->avx512bf16)
            g_best = LLMR_ISA_AVX512;
    }
    const char *cap = getenv("LLMR_ISA");
    if (cap) {
        llmr_isa want = g_best;
        if (!strcmp(cap, "ref"))
            want = LLMR_ISA_REF;
        else if (!strcmp(cap, "avx2"))
            want = LLMR_ISA_AVX2;
        if (want < g_best)
            g_best = want;
    }
#endif
}

const llmr_cpu_features *llmri_cpu_features_get(void)
{
    pthread_once(&g_once, init_once);
    return &g_features;
}

llmr_isa llmri_cpu_best_isa(void)
{
    pthread_once(&g_once, init_once);
    return g_best;
}

const char *llmri_isa_name(llmr_isa isa)
{
    switch (isa) {
    case LLMR_ISA_REF: return "ref";
#if defined(__wasm__)
    case LLMR_ISA_SIMD128: return "simd128";
#else
    case LLMR_ISA_AVX2: return "avx2";
    case LLMR_ISA_AVX512: return "avx512";
#endif
    }
    return "?";
}
