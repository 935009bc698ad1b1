/* weights_repack.c - at load, the weights of the dense products are rewritten into their
 * row-interleaved layouts (kernels/repack.h), in place: the file's private mapping is made
 * writable for the duration, so each written page becomes this process's copy of that page
 * and no memory beyond the file's own size is ever held (the plain rows are not kept; one
 * group of rows per thread is the only scratch). The products then go through the
 * repacked traits (their gemm); nothing else reads these matrices.
 *
 * Which matrices: each layer's attention and FFN products and a separate output matrix,
 * when the type has a layout and the row count is a multiple of its group. Not the token
 * embeddings (read a row at a time by id), nor an output tied to them, nor the experts'
 * weights (sliced per expert at run time), nor the encoders'. Matrices whose bytes overlap
 * without being the same are left alone. LLMR_REPACK=0 in the environment turns it all off
 * (for A/B benchmarks and debugging); LLMR_REPACK=1 repacks every type that has a layout, even
 * those whose entry at this CPU's level is not by_default (kernels/repack.c). */
#include "model/model.h"
#include "core/threadpool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct repack_job {
    llmr_mat *mats[LLMR_REPACK_MAX_SHARED];   /* every binding of these bytes */
    int n_mats;
    const llmr_type_traits *to;
    bool done;
} repack_job;

typedef struct repack_run {
    repack_job *jobs;
    int n_jobs;
    size_t scratch_bytes;
    atomic_int next;
} repack_run;

static void repack_step(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    repack_run *run = arg;
    void *scratch = malloc(run->scratch_bytes);
    if (!scratch)
        return;   /* the jobs this thread would have taken stay plain (done == false) */
    int j;
    while ((j = atomic_fetch_add_explicit(&run->next, 1, memory_order_relaxed)) < run->n_jobs) {
        repack_job *jb = &run->jobs[j];
        llmr_mat *w = jb->mats[0];
        llmri_repack_rows(jb->to, (int)w->cols, (void *)(uintptr_t)w->data, w->rows, scratch);
        jb->done = true;
    }
    free(scratch);
}

static bool overlaps(const llmr_mat *a, const llmr_mat *b)
{
    const uint8_t *pa = a->data, *pb = b->data;
    return pa < pb + (size_t)b->rows * b->row_bytes && pb < pa + (size_t)a->rows * a->row_bytes;
}

/* Adds w to the job of the same bytes, or as a new job; a partial overlap with another job's
 * bytes marks both unusable (to = NULL). `all`: every type with a layout (LLMR_REPACK=1). */
static void add_candidate(repack_job *jobs, int *n, llmr_mat *w, const llmr_model *m, bool all)
{
    if (!w->data || !w->tr || w->tr->interleave > 1 || w->data == m->tok_embd.data)
        return;
    const llmr_type_traits *to = llmri_traits_repacked(w->type);
    if (!to || (!all && !to->by_default) || w->rows % to->interleave ||
        w->cols % to->block_size || w->cols > INT32_MAX)
        return;
    for (int i = 0; i < *n; i++) {
        llmr_mat *o = jobs[i].mats[0];
        if (o->data == w->data && o->rows == w->rows && o->row_bytes == w->row_bytes) {
            if (jobs[i].n_mats < LLMR_REPACK_MAX_SHARED)
                jobs[i].mats[jobs[i].n_mats++] = w;
            else
                jobs[i].to = NULL;
            return;
        }
        if (overlaps(o, w)) {
            jobs[i].to = NULL;
            to = NULL;
        }
    }
    jobs[*n] = (repack_job){.mats = {w}, .n_mats = 1, .to = to};
    (*n)++;
}

int llmri_weights_repack(llmr_model *m)
{
    const char *env = getenv("LLMR_REPACK");
    if ((env && !strcmp(env, "0")) || !m->layers || m->hp.encoder)
        return 0;
    const bool all = env && !strcmp(env, "1");
    enum { PER_LAYER = 10 };
    const int cap = m->hp.n_layer * PER_LAYER + 1;
    repack_job *jobs = calloc((size_t)cap, sizeof *jobs);
    if (!jobs)
        return 0;   /* repacking is an optimization: the plain layout always works */
    int n = 0;
    for (int l = 0; l < m->hp.n_layer; l++) {
        llmr_layer *L = &m->layers[l];
        llmr_mat *ws[PER_LAYER] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up,
                                   &L->w_down, &L->gate_shexp, &L->up_shexp, &L->down_shexp};
        for (int i = 0; i < PER_LAYER; i++)
            add_candidate(jobs, &n, ws[i], m, all);
    }
    if (!m->hp.tied_output)
        add_candidate(jobs, &n, &m->output, m, all);
    /* drop the unusable ones; size the scratch for the largest group */
    repack_run run = {.jobs = jobs};
    for (int i = 0; i < n; i++)
        if (jobs[i].to) {
            const size_t g = jobs[i].mats[0]->row_bytes * jobs[i].to->interleave;
            run.scratch_bytes = g > run.scratch_bytes ? g : run.scratch_bytes;
            jobs[run.n_jobs++] = jobs[i];
        }
    int done = 0;
    if (run.n_jobs && gguf_set_writable(m->gf, true)) {
        atomic_init(&run.next, 0);
        llmri_pool_run(m->pool, repack_step, &run);
        gguf_set_writable(m->gf, false);
        for (int i = 0; i < run.n_jobs; i++)
            if (jobs[i].done) {
                for (int k = 0; k < jobs[i].n_mats; k++)
                    jobs[i].mats[k]->tr = jobs[i].to;
                done++;
            }
    }
    free(jobs);
    return done;
}
