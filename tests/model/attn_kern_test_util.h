/* attn_kern_test_util.h - every attention tile kernel (model/attn_kern.h) of a set against the
 * plain-C reference: shapes at and off the vector widths (head dims 64, 40, 12; columns 1 to
 * 27, past the micro-kernels' 6 and 12; tiles full and partial), every cache type, masks
 * with causal edges, sliding windows, columns that see nothing, soft-capping, and running
 * states fresh and carried. Used by test_model_attn_kern (the sets this CPU runs) and
 * test_avx512_emul (the AVX-512 set, emulated). Include after test_util.h. */
#ifndef LLMR_TESTS_ATTN_KERN_TEST_UTIL_H
#define LLMR_TESTS_ATTN_KERN_TEST_UTIL_H

#include "gguf/gguf.h"
#include "model/attn_kern.h"

#include <float.h>
#include <math.h>
#include <string.h>

static uint64_t akt_rng = 0x9e3779b97f4a7c15ull;
static float akt_rand(void)   /* [-1, 1] */
{
    akt_rng ^= akt_rng << 13;
    akt_rng ^= akt_rng >> 7;
    akt_rng ^= akt_rng << 17;
    return (float)((akt_rng >> 11) % 2000001) / 1000000.0f - 1.0f;
}

static void akt_fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * akt_rand();
}

/* |a - b| <= tol * (1 + |b|) for n values; reports the first that is not */
static void akt_close(const char *what, const char *set, const float *a, const float *b,
                      size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= tol * (1.0 + fabs((double)b[i])))) {
            print_message("%s (%s): [%zu] %g, reference %g\n", what, set, i, a[i], b[i]);
            fail();
        }
}

#define AKT_MAXC 27
#define AKT_MAXHD 64

static void akt_check_to_float(const llmr_attn_kernels *k, const llmr_attn_kernels *ref)
{
    const uint32_t types[] = {LLMR_TYPE_F32, LLMR_TYPE_F16, LLMR_TYPE_Q8_0, LLMR_TYPE_Q4_0};
    const int hds[] = {64, 40, 12};
    static float x[ATT_KV_TILE * AKT_MAXHD], a[ATT_KV_TILE * AKT_MAXHD], b[ATT_KV_TILE * AKT_MAXHD];
    static uint8_t raw[ATT_KV_TILE * AKT_MAXHD * 4 + 64];
    for (int t = 0; t < 4; t++)
        for (int h = 0; h < 3; h++) {
            const int hd = hds[h], n = 37;
            if ((types[t] == LLMR_TYPE_Q8_0 || types[t] == LLMR_TYPE_Q4_0) && hd % 32)
                continue;   /* quantized: whole blocks only */
            const llmr_type_traits *tr = llmri_traits(types[t]);
            const size_t row = llmri_row_size(types[t], hd) + 6;   /* rows apart by more */
            for (int i = 0; i < n; i++) {
                akt_fill(x, (size_t)hd, 3.0f);
                tr->from_float(x, raw + (size_t)i * row, hd);
            }
            ref->to_float((int)types[t], raw, row, n, hd, b);
            k->to_float((int)types[t], raw, row, n, hd, a);
            akt_close("to_float", k->name, a, b, (size_t)n * hd, 0.0);
        }
}

static void akt_check_products(const llmr_attn_kernels *k, const llmr_attn_kernels *ref)
{
    const int hds[] = {64, 40, 12}, ns[] = {ATT_KV_TILE, 37, 5};
    static float kr[ATT_KV_TILE * AKT_MAXHD], kt[ATT_KV_TILE * AKT_MAXHD], kt2[ATT_KV_TILE * AKT_MAXHD];
    static float q[AKT_MAXC * AKT_MAXHD], s1[AKT_MAXC * ATT_KV_TILE], s2[AKT_MAXC * ATT_KV_TILE];
    static float o1[AKT_MAXC * AKT_MAXHD], o2[AKT_MAXC * AKT_MAXHD], corr[AKT_MAXC];
    for (int h = 0; h < 3; h++)
        for (int j = 0; j < 3; j++) {
            const int hd = hds[h], n = ns[j];
            akt_fill(kr, (size_t)n * hd, 1.0f);
            memset(kt, 0x7f, sizeof kt);   /* garbage the kernel must overwrite */
            k->transpose(kr, n, hd, kt);
            ref->transpose(kr, n, hd, kt2);
            akt_close("transpose", k->name, kt, kt2, (size_t)hd * ATT_KV_TILE, 0.0);
            for (int nc = 1; nc <= AKT_MAXC; nc += nc < 14 ? 1 : 13) {
                akt_fill(q, (size_t)nc * hd, 1.0f);
                k->qk(s1, q, nc, kt2, hd);
                ref->qk(s2, q, nc, kt2, hd);
                akt_close("qk", k->name, s1, s2, (size_t)nc * ATT_KV_TILE, 1e-5);
                /* p.v: probabilities in [0, 1], running outputs and factors */
                for (size_t i = 0; i < (size_t)nc * ATT_KV_TILE; i++)
                    s1[i] = 0.5f + 0.5f * akt_rand();
                akt_fill(o1, (size_t)nc * hd, 2.0f);
                memcpy(o2, o1, (size_t)nc * hd * sizeof *o1);
                for (int c = 0; c < nc; c++)
                    corr[c] = c % 3 == 0 ? 0.0f : 0.5f + 0.5f * akt_rand();
                k->pv(o1, s1, nc, kr, n, hd, corr);
                ref->pv(o2, s1, nc, kr, n, hd, corr);
                akt_close("pv", k->name, o1, o2, (size_t)nc * hd, 1e-5);
            }
        }
}

/* The direct kernels read cache rows of every type (rows further apart than their size, as a
 * cache row holds every KV head): against the reference, and the reference against the tile
 * path (to_float, transpose, qk / pv) on the same rows. */
static void akt_check_direct(const llmr_attn_kernels *k, const llmr_attn_kernels *ref)
{
    const uint32_t types[] = {LLMR_TYPE_F32, LLMR_TYPE_F16, LLMR_TYPE_Q8_0, LLMR_TYPE_Q4_0};
    const int hds[] = {64, 40, 12, 96}, ns[] = {ATT_KV_TILE, 37, 5, 1};
    enum { MAXHD = 96 };
    static float x[MAXHD], kf[ATT_KV_TILE * MAXHD], kt[ATT_KV_TILE * MAXHD];
    static float q[AKT_MAXC * MAXHD], qb[AKT_MAXC * MAXHD], s1[AKT_MAXC * ATT_KV_TILE], s2[AKT_MAXC * ATT_KV_TILE];
    static float o1[AKT_MAXC * MAXHD], o2[AKT_MAXC * MAXHD], o3[AKT_MAXC * MAXHD];
    static float corr[AKT_MAXC];
    static uint8_t raw[ATT_KV_TILE * (MAXHD * 4 + 24)];
    for (int t = 0; t < 4; t++)
        for (int h = 0; h < 4; h++)
            for (int j = 0; j < 4; j++) {
                const int hd = hds[h], n = ns[j];
                if ((types[t] == LLMR_TYPE_Q8_0 || types[t] == LLMR_TYPE_Q4_0) && hd % 32)
                    continue;   /* quantized: whole blocks only */
                const llmr_type_traits *tr = llmri_traits(types[t]);
                const size_t row = llmri_row_size(types[t], hd) + 24;
                for (int i = 0; i < n; i++) {
                    akt_fill(x, (size_t)hd, 2.0f);
                    tr->from_float(x, raw + (size_t)i * row, hd);
                }
                ref->to_float((int)types[t], raw, row, n, hd, kf);
                ref->transpose(kf, n, hd, kt);
                for (int nc = 1; nc <= AKT_MAXC; nc += nc < 10 ? 1 : 17) {
                    akt_fill(q, (size_t)nc * hd, 1.0f);
                    for (int c = 0; c < nc; c++)   /* the blocked layout */
                        for (int d = 0; d < hd; d++)
                            qb[llmri_att_qd_index(nc, hd, c, d)] = q[(size_t)c * hd + d];
                    memset(s1, 0x7f, sizeof s1);   /* garbage the kernel must overwrite */
                    k->qk_direct(s1, qb, nc, (int)types[t], raw, row, n, hd);
                    ref->qk_direct(s2, qb, nc, (int)types[t], raw, row, n, hd);
                    akt_close("qk_direct", k->name, s1, s2, (size_t)nc * ATT_KV_TILE, 1e-5);
                    ref->qk(s1, q, nc, kt, hd);
                    akt_close("qk_direct (tile path)", ref->name, s2, s1,
                              (size_t)nc * ATT_KV_TILE, 1e-5);
                    for (size_t i = 0; i < (size_t)nc * ATT_KV_TILE; i++)
                        s1[i] = 0.5f + 0.5f * akt_rand();
                    akt_fill(o1, (size_t)nc * hd, 2.0f);
                    memcpy(o2, o1, (size_t)nc * hd * sizeof *o1);
                    memcpy(o3, o1, (size_t)nc * hd * sizeof *o1);
                    for (int c = 0; c < nc; c++)
                        corr[c] = c % 3 == 0 ? 0.0f : 0.5f + 0.5f * akt_rand();
                    k->pv_direct(o1, s1, nc, (int)types[t], raw, row, n, hd, corr);
                    ref->pv_direct(o2, s1, nc, (int)types[t], raw, row, n, hd, corr);
                    akt_close("pv_direct", k->name, o1, o2, (size_t)nc * hd, 1e-5);
                    ref->pv(o3, s1, nc, kf, n, hd, corr);
                    akt_close("pv_direct (tile path)", ref->name, o2, o3, (size_t)nc * hd, 1e-5);
                }
            }
}

static void akt_check_softmax(const llmr_attn_kernels *k, const llmr_attn_kernels *ref)
{
    /* q_pos, group, swa, k_pos, n: a diagonal tile (columns 0-2 see nothing of a tile that
     * starts after them), a full tile, a window's edge, a partial last tile */
    const llmr_att_mask masks[] = {{100, 4, 0, 101, 64}, {500, 3, 0, 64, 64},
                                   {300, 2, 40, 256, 64}, {90, 5, 0, 64, 29}};
    const float caps[] = {0.0f, 5.0f};
    static float s0[AKT_MAXC * ATT_KV_TILE], s1[AKT_MAXC * ATT_KV_TILE], s2[AKT_MAXC * ATT_KV_TILE];
    float mx1[AKT_MAXC], mx2[AKT_MAXC], sum1[AKT_MAXC], sum2[AKT_MAXC], c1[AKT_MAXC], c2[AKT_MAXC];
    for (size_t m = 0; m < sizeof masks / sizeof *masks; m++)
        for (int cp = 0; cp < 2; cp++)
            for (int carried = 0; carried < 2; carried++) {
                const int nc = AKT_MAXC;
                akt_fill(s0, sizeof s0 / sizeof *s0, 12.0f);
                for (int c = 0; c < nc; c++) {
                    mx1[c] = carried ? 4.0f * akt_rand() : -FLT_MAX;
                    sum1[c] = carried ? 1.0f + 3.0f * (akt_rand() + 1.0f) : 0.0f;
                }
                memcpy(s1, s0, sizeof s0);
                memcpy(s2, s0, sizeof s0);
                memcpy(mx2, mx1, sizeof mx1);
                memcpy(sum2, sum1, sizeof sum1);
                k->softmax(s1, nc, &masks[m], caps[cp], mx1, sum1, c1);
                ref->softmax(s2, nc, &masks[m], caps[cp], mx2, sum2, c2);
                akt_close("softmax p", k->name, s1, s2, (size_t)nc * ATT_KV_TILE, 2e-6);
                akt_close("softmax max", k->name, mx1, mx2, (size_t)nc, 2e-6);
                akt_close("softmax sum", k->name, sum1, sum2, (size_t)nc, 2e-6);
                akt_close("softmax corr", k->name, c1, c2, (size_t)nc, 2e-6);
            }
    /* a masked score is exactly 0, whatever it was (a NaN included) */
    const llmr_att_mask diag = {10, 1, 0, 0, 64};
    akt_fill(s1, ATT_KV_TILE, 1.0f);
    s1[40] = NAN;
    mx1[0] = -FLT_MAX, sum1[0] = 0.0f;
    k->softmax(s1, 1, &diag, 0.0f, mx1, sum1, c1);
    for (int i = 11; i < ATT_KV_TILE; i++)
        assert_true(s1[i] == 0.0f);
    assert_true(isfinite(sum1[0]) && sum1[0] >= 1.0f);
    /* a NaN the column sees reaches the sum (a broken model stays visible) */
    akt_fill(s1, ATT_KV_TILE, 1.0f);
    s1[3] = NAN;
    mx1[0] = -FLT_MAX, sum1[0] = 0.0f;
    k->softmax(s1, 1, &diag, 0.0f, mx1, sum1, c1);
    assert_true(isnan(sum1[0]));
}

static void akt_check_all(const llmr_attn_kernels *k)
{
    const llmr_attn_kernels *ref = llmri_attn_kernels_isa(LLMR_ISA_REF);
    akt_check_to_float(k, ref);
    akt_check_products(k, ref);
    akt_check_direct(k, ref);
    akt_check_softmax(k, ref);
}

#endif
