/* repack_case.h - what bench_repack.c and bench_decode_r8.c share: a type named on the
 * command line, and the same random weights (K = 2048 values a row) in the plain and the
 * repacked layout with C activation columns, ready for llmri_matmul_rows. Header-only, because
 * CMake does not build the benchmarks (each is one cc command, see its first comment). */
#ifndef LLMR_BENCH_REPACK_CASE_H
#define LLMR_BENCH_REPACK_CASE_H

#include "kernels/kernels.h"
#include "gguf/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct repack_case {
    const llmr_type_traits *p, *r;   /* the plain and the repacked traits */
    size_t rs, xs;                   /* bytes of a weight row, of an activation column */
    uint8_t *W, *Wr, *X;             /* plain weights, repacked weights, activations */
    float *Y;                        /* R x C outputs */
} repack_case;

/* The type named `name` among the benchmarkable ones, or LLMR_TYPE_COUNT. */
static inline uint32_t repack_case_type(const char *name)
{
    static const struct { const char *name; uint32_t type; } types[] = {
        {"Q4_0", LLMR_TYPE_Q4_0}, {"Q8_0", LLMR_TYPE_Q8_0}, {"IQ4_NL", LLMR_TYPE_IQ4_NL},
        {"F16", LLMR_TYPE_F16}, {"Q4_K", LLMR_TYPE_Q4_K}, {"Q5_K", LLMR_TYPE_Q5_K},
        {"Q6_K", LLMR_TYPE_Q6_K}, {"BF16", LLMR_TYPE_BF16}};
    for (size_t i = 0; name && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(name, types[i].name))
            return types[i].type;
    return LLMR_TYPE_COUNT;
}

/* Fills *c for R rows of type ty and C columns: 1 when made, 0 when this CPU level has no
 * repacked layout for ty (said on stdout), -1 when out of memory. */
static inline int repack_case_make(repack_case *c, uint32_t ty, int K, int R, int C)
{
    memset(c, 0, sizeof *c);
    c->p = llmri_traits(ty);
    c->r = llmri_traits_repacked(ty);
    if (!c->r) {
        printf("%s: no repacked layout at this ISA (%s)\n", c->p->name, llmri_isa_name(c->p->isa));
        return 0;
    }
    const llmr_type_traits *px = llmri_traits(c->p->vec_dot_type);
    c->rs = llmri_row_size(ty, K);
    c->xs = llmri_row_size(c->p->vec_dot_type, K);
    c->W = malloc(c->rs * R), c->Wr = malloc(c->rs * R), c->X = malloc(c->xs * C);
    c->Y = malloc(sizeof(float) * (size_t)R * C);
    uint8_t *scratch = malloc(c->rs * c->r->interleave);
    float *xf = malloc(sizeof(float) * K);
    int ok = c->W && c->Wr && c->X && c->Y && scratch && xf;
    if (ok) {
        srand(1);
        for (int i = 0; i < R; i++) {
            for (int k = 0; k < K; k++)
                xf[k] = (float)(rand() % 2001 - 1000) / 1000.0f;
            c->p->from_float ? c->p->from_float(xf, c->W + (size_t)i * c->rs, K)
                             : (void)memset(c->W + (size_t)i * c->rs, 0x5a, c->rs);
        }
        for (int j = 0; j < C; j++) {
            for (int k = 0; k < K; k++)
                xf[k] = (float)(rand() % 2001 - 1000) / 500.0f;
            px->from_float(xf, c->X + (size_t)j * c->xs, K);
        }
        memcpy(c->Wr, c->W, c->rs * R);
        llmri_repack_rows(c->r, K, c->Wr, R, scratch);
    }
    free(scratch);
    free(xf);
    return ok ? 1 : -1;
}

static inline void repack_case_free(repack_case *c)
{
    free(c->W);
    free(c->Wr);
    free(c->X);
    free(c->Y);
}

#endif
