/* repack_test_util.h - checks of a table of row-interleaved ("repacked") layouts against the
 * plain reference kernels, shared by test_repack.c (each ISA this CPU has) and
 * test_avx512_emul.c (the AVX-512 file under emulation). Needs cmocka (test_util.h) and
 * kernel_test_util.h first. */
#ifndef LLMR_REPACK_TEST_UTIL_H
#define LLMR_REPACK_TEST_UTIL_H

#include <stdlib.h>

static const uint32_t kr_types[] = {LLMR_TYPE_Q4_0, LLMR_TYPE_IQ4_NL, LLMR_TYPE_Q8_0,
                                    LLMR_TYPE_F16, LLMR_TYPE_Q4_K, LLMR_TYPE_Q5_K,
                                    LLMR_TYPE_Q6_K, LLMR_TYPE_BF16};
#define KR_NTYPES (sizeof kr_types / sizeof kr_types[0])

/* Rows R x K of `type` filled as kind `kind`, in plain layout. */
static uint8_t *kr_rows(const llmr_type_traits *plain, int K, int R, int kind)
{
    const size_t rs = llmri_row_size(plain->type, K);
    uint8_t *W = malloc(rs * (size_t)R);
    for (int i = 0; i < R; i++)
        kt_fill(plain, W + (size_t)i * rs, K, kind);
    return W;
}

/* Repacking then unpacking gives the file's bytes back, and repacking in place (through
 * llmri_repack_rows) gives what repacking out of place does: dequantization through the
 * layout is bit for bit the plain one. A level may have no entry for a type (its plain
 * kernels are as fast): `get` returns NULL and the type is skipped there. */
static void kr_check_roundtrip(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    const int K = 512, R = 32;
    for (size_t ti = 0; ti < KR_NTYPES; ti++) {
        const llmr_type_traits *p = llmri_traits_isa(kr_types[ti], LLMR_ISA_REF);
        const llmr_type_traits *t = get(kr_types[ti]);
        if (!t)
            continue;
        assert_true(t->interleave == 8 || t->interleave == 16);
        assert_int_equal(R % t->interleave, 0);
        assert_int_equal(t->type, p->type);
        assert_int_equal(t->vec_dot_type, p->vec_dot_type);
        const size_t rs = llmri_row_size(p->type, K), gs = rs * t->interleave;
        for (int kind = 0; kind < KT_NKINDS; kind++) {
            uint8_t *W = kr_rows(p, K, R, kind), *out = malloc(rs * R), *back = malloc(rs * R);
            uint8_t *inplace = malloc(rs * R), *scratch = malloc(gs);
            for (int g = 0; g < R / (int)t->interleave; g++)
                t->repack(K, W + g * gs, rs, out + g * gs);
            memcpy(inplace, W, rs * R);
            llmri_repack_rows(t, K, inplace, R, scratch);
            assert_memory_equal(inplace, out, rs * R);
            if (kind == KT_RANDOM)    /* really rearranged, not copied */
                assert_memory_not_equal(out, W, rs * R);
            for (int g = 0; g < R / (int)t->interleave; g++)
                t->unpack(K, out + g * gs, back + g * gs, rs);
            if (memcmp(back, W, rs * R)) {
                print_error("%s %s: unpack(repack(rows)) differs from the rows (kind %d)\n",
                            label, t->name, kind);
                fail();
            }
            free(W);
            free(out);
            free(back);
            free(inplace);
            free(scratch);
        }
    }
}

/* llmri_matmul_rows on the repacked rows against the plain reference vec_dot of each
 * (row, column): every group count and column count up to 10, a first row other than 0 (rows
 * outside [i0, i1) untouched), and K long enough for several column blocks. The reference
 * level must agree exactly; SIMD levels within dot_tol (float accumulation order). */
static void kr_check_products(const llmr_type_traits *(*get)(uint32_t), const char *label,
                              int exact)
{
    /* the third shape: a K that is no multiple of any vector width, for the float layouts */
    static const struct { int K, R, C; } shapes[] = {{512, 32, 10}, {8192, 32, 37}, {37, 32, 5}};
    for (size_t ti = 0; ti < KR_NTYPES; ti++)
        for (size_t si = 0; si < 3; si++) {
            const int K = shapes[si].K, R = shapes[si].R, C = shapes[si].C;
            const llmr_type_traits *p = llmri_traits_isa(kr_types[ti], LLMR_ISA_REF);
            const llmr_type_traits *px = llmri_traits_isa(p->vec_dot_type, LLMR_ISA_REF);
            const llmr_type_traits *t = get(kr_types[ti]);
            if (!t || K % (int)p->block_size)
                continue;
            const size_t rs = llmri_row_size(p->type, K), xs = llmri_row_size(px->type, K);
            for (int kind = 0; kind < KT_NKINDS; kind++) {
                if (si > 0 && kind != KT_RANDOM)
                    continue;
                uint8_t *W = kr_rows(p, K, R, kind), *Wr = malloc(rs * R), *X = malloc(xs * C);
                uint8_t *scratch = malloc(rs * t->interleave);
                float *xf = malloc(sizeof(float) * K), *Y = malloc(sizeof(float) * R * C);
                memcpy(Wr, W, rs * R);
                llmri_repack_rows(t, K, Wr, R, scratch);
                for (int j = 0; j < C; j++) {
                    kt_fill_x(xf, K, kind == KT_RANDOM ? KT_RANDOM : (kind + j) % KT_NKINDS);
                    px->from_float(xf, X + (size_t)j * xs, K);
                }
                for (int i0 = 0; i0 < R; i0 += (int)t->interleave)
                    for (int nc = si == 1 ? C : 1; nc <= C; nc++) {
                        for (int i = 0; i < R * C; i++)
                            Y[i] = NAN;
                        llmri_matmul_rows(t, K, Wr, rs, i0, R, X, xs, nc, Y, R);
                        for (int j = 0; j < C; j++)
                            for (int i = 0; i < R; i++) {
                                const float y = Y[j * R + i];
                                if (i < i0 || j >= nc) {
                                    assert_true(isnan(y));
                                    continue;
                                }
                                float ref;
                                p->vec_dot(K, &ref, W + (size_t)i * rs, X + (size_t)j * xs);
                                const double m = exact ? 0.0
                                    : dot_tol(p, px, K, W + (size_t)i * rs, X + (size_t)j * xs);
                                if (!(fabs((double)y - ref) <= m)) {
                                    print_error("%s %s K=%d rows [%d,%d) x %d columns (kind %d): "
                                                "Y[%d,%d] = %.9g, reference %.9g\n", label,
                                                t->name, K, i0, R, nc, kind, i, j, y, ref);
                                    fail();
                                }
                            }
                    }
                free(W);
                free(Wr);
                free(X);
                free(scratch);
                free(xf);
                free(Y);
            }
        }
}

/* The 32-value R8 types at the edges of their integer products, against the plain reference
 * vec_dot, every column count from 1 to 13 (odd ones and ones past a kernel's columns per
 * pass): rows whose quant bytes are all 0x80, 0x7F, 0x00 or 0xFF or alternate between such
 * (Q8_0's -128 and 127; IQ4_NL's grid ends -127 and 113; Q4_0's -8 and 7), and activations of
 * +-1.0 (Q8_0 quants of exactly +-127) in runs of one sign or alternating. A kernel that let
 * two vpmaddubsw steps of 2 * 128 * 127 share an int16 would be off by 65536 multiples here. */
static void kr_check_extremes(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    static const uint32_t types[] = {LLMR_TYPE_Q4_0, LLMR_TYPE_IQ4_NL, LLMR_TYPE_Q8_0};
    static const uint8_t pat[][2] = {{0x80, 0x80}, {0x7F, 0x7F}, {0x00, 0x00},
                                     {0xFF, 0xFF}, {0x80, 0x7F}, {0x00, 0xFF}};
    const int K = 512, R = 16, C = 13;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const llmr_type_traits *p = llmri_traits_isa(types[ti], LLMR_ISA_REF);
        const llmr_type_traits *px = llmri_traits_isa(p->vec_dot_type, LLMR_ISA_REF);
        const llmr_type_traits *t = get(types[ti]);
        if (!t)
            continue;
        const size_t rs = llmri_row_size(p->type, K), xs = llmri_row_size(px->type, K);
        uint8_t *W = malloc(rs * R), *Wr = malloc(rs * R), *X = malloc(xs * C);
        uint8_t *scratch = malloc(rs * t->interleave);
        float *xf = malloc(sizeof(float) * K), *Y = malloc(sizeof(float) * R * C);
        const int *off = kt_half_offsets(p->type);
        for (int i = 0; i < R; i++) {
            uint8_t *row = W + (size_t)i * rs;
            for (size_t k = 0; k < rs; k++)
                row[k] = pat[i % 6][k & 1];
            for (size_t b = 0; b < rs / p->type_size; b++) {   /* scales: 1/64, 1/8 */
                const uint16_t h = llmri_fp32_to_fp16(i & 1 ? 0.125f : 0.015625f);
                memcpy(row + b * p->type_size + off[0], &h, 2);
            }
        }
        for (int j = 0; j < C; j++) {
            for (int k = 0; k < K; k++)   /* one sign; alternating; runs of 2, 4, 8 ... */
                xf[k] = j % 3 == 0 ? (j & 4 ? -1.0f : 1.0f)
                      : j % 3 == 1 ? (k & 1 ? -1.0f : 1.0f) : ((k >> (j % 5 + 1)) & 1 ? -1.0f : 1.0f);
            px->from_float(xf, X + (size_t)j * xs, K);
        }
        memcpy(Wr, W, rs * R);
        llmri_repack_rows(t, K, Wr, R, scratch);
        for (int nc = 1; nc <= C; nc++) {
            for (int i = 0; i < R * C; i++)
                Y[i] = NAN;
            llmri_matmul_rows(t, K, Wr, rs, 0, R, X, xs, nc, Y, R);
            for (int j = 0; j < nc; j++)
                for (int i = 0; i < R; i++) {
                    float ref;
                    p->vec_dot(K, &ref, W + (size_t)i * rs, X + (size_t)j * xs);
                    const double m = dot_tol(p, px, K, W + (size_t)i * rs, X + (size_t)j * xs);
                    if (!(fabs((double)Y[j * R + i] - ref) <= m)) {
                        print_error("%s %s extremes, %d columns: Y[%d,%d] = %.9g, reference "
                                    "%.9g\n", label, t->name, nc, i, j, Y[j * R + i], ref);
                        fail();
                    }
                }
        }
        free(W);
        free(Wr);
        free(X);
        free(scratch);
        free(xf);
        free(Y);
    }
}

#endif
