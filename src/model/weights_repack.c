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
 * those whose entry at this CPU's level is not by_default (kernels/repack.c).
 *
 * A file may store layouts already (`llmr quantize --repack`, type ids in gguf.h). The rules
 * above still decide: a matrix they would repack to the file's layout is used as it is (no
 * page is touched at load), and every other tensor stored repacked (the type's layout is off
 * on this CPU or by LLMR_REPACK, the file repacked a matrix the rules leave alone, or the
 * model binds views of it) is unpacked in place before anything reads it. So a repacked file
 * gives the logits of its plain file under every setting. */
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
    bool in_file;                             /* the file stores these bytes in `to` already */
} repack_job;

/* One conversion of a whole tensor or matrix, either way. */
typedef struct conv {
    const llmr_type_traits *lay;   /* the repacked entry */
    void *data;
    int K;
    int64_t rows;
    bool unpack;                   /* lay -> plain; else plain -> lay */
    bool done;
} conv;

typedef struct repack_run {
    conv *convs;
    int n;
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
        return;   /* the conversions this thread would have taken stay undone */
    int j;
    while ((j = atomic_fetch_add_explicit(&run->next, 1, memory_order_relaxed)) < run->n) {
        conv *c = &run->convs[j];
        if (c->unpack)
            llmri_unpack_rows(c->lay, c->K, c->data, c->rows, scratch);
        else
            llmri_repack_rows(c->lay, c->K, c->data, c->rows, scratch);
        c->done = true;
    }
    free(scratch);
}

/* Runs the conversions on the pool, with the file's memory writable meanwhile; false when it
 * cannot be made writable (nothing is done then). */
static bool run_convs(llmr_model *m, conv *cv, int n)
{
    if (!n)
        return true;
    repack_run run = {.convs = cv, .n = n};
    for (int i = 0; i < n; i++) {
        const size_t g = llmri_row_size(cv[i].lay->type, cv[i].K) * cv[i].lay->interleave;
        run.scratch_bytes = g > run.scratch_bytes ? g : run.scratch_bytes;
    }
    if (!gguf_set_writable(m->gf, true))
        return false;
    atomic_init(&run.next, 0);
    llmri_pool_run(m->pool, repack_step, &run);
    gguf_set_writable(m->gf, false);
    return true;
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

/* The file tensor whose bytes job j's matrices cover exactly, if it is stored in the very
 * layout the job wants. */
static bool stored_as(const gguf_file *gf, const repack_job *j)
{
    const llmr_mat *w = j->mats[0];
    for (uint64_t i = 0; i < gf->n_tensors; i++) {
        const gguf_tensor *t = &gf->tensors[i];
        if (t->data == w->data)
            return llmri_traits_layout(t->type) && llmri_layout_type_id(j->to) == t->type &&
                   (uint64_t)w->rows * w->row_bytes == t->nbytes;
    }
    return false;
}

/* The repack jobs the rules pick (see the top of this file); returns how many, or -1. */
static int plan_jobs(llmr_model *m, repack_job **out)
{
    *out = NULL;
    const char *env = getenv("LLMR_REPACK");
    if ((env && !strcmp(env, "0")) || !m->layers || m->hp.encoder)
        return 0;
    const bool all = env && !strcmp(env, "1");
    enum { PER_LAYER = 10 };
    const int cap = m->hp.n_layer * PER_LAYER + 1;
    repack_job *jobs = calloc((size_t)cap, sizeof *jobs);
    if (!jobs)
        return -1;
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
    int k = 0;   /* drop the unusable ones */
    for (int i = 0; i < n; i++)
        if (jobs[i].to) {
            jobs[i].in_file = stored_as(m->gf, &jobs[i]);
            jobs[k++] = jobs[i];
        }
    *out = jobs;
    return k;
}

int llmri_weights_repack(llmr_model *m, llmr_err *err)
{
    m->n_repacked = 0;
    repack_job *jobs;
    int n = plan_jobs(m, &jobs);
    const gguf_file *gf = m->gf;
    conv *cv = calloc(gf->n_tensors + (n > 0 ? (size_t)n : 0) + 1, sizeof *cv);
    if (!cv) {
        free(jobs);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "%s: out of memory settling weight layouts",
                             gf->path);
    }
    /* 1. the file's repacked tensors that no job keeps go back to the plain layout */
    int nc = 0, rc = LLMR_OK;
    for (uint64_t i = 0; i < gf->n_tensors; i++) {
        const gguf_tensor *t = &gf->tensors[i];
        const llmr_type_traits *lay = llmri_traits_layout(t->type);
        bool kept = false;
        for (int j = 0; j < n && !kept; j++)
            kept = jobs[j].in_file && jobs[j].mats[0]->data == t->data;
        if (lay && !kept && t->ne[0] > INT32_MAX) {
            rc = llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tensor %s: rows of %lld values",
                               gf->path, t->name.ptr, (long long)t->ne[0]);
            break;
        }
        if (lay && !kept)
            cv[nc++] = (conv){.lay = lay, .data = (void *)(uintptr_t)t->data,
                              .K = (int)t->ne[0], .rows = (int64_t)(t->n_elements /
                                                                     (uint64_t)t->ne[0]),
                              .unpack = true};
    }
    if (!rc && !run_convs(m, cv, nc))
        rc = llmri_err_set(err, LLMR_ERR_IO, "%s: %d tensors are stored in a row-interleaved "
                           "layout that must be converted on this CPU, and the model's memory "
                           "cannot be written", gf->path, nc);
    for (int i = 0; i < nc && !rc; i++)
        if (!cv[i].done)
            rc = llmri_err_set(err, LLMR_ERR_NOMEM, "%s: out of memory converting a tensor's "
                               "row-interleaved layout", gf->path);
    /* 2. the load-time repacking; a job it cannot do leaves its matrices plain */
    int nr = 0;
    for (int j = 0; j < n && !rc; j++)
        if (!jobs[j].in_file) {
            const llmr_mat *w = jobs[j].mats[0];
            cv[nr++] = (conv){.lay = jobs[j].to, .data = (void *)(uintptr_t)w->data,
                              .K = (int)w->cols, .rows = w->rows};
        }
    if (!rc && !run_convs(m, cv, nr))
        nr = 0;
    for (int j = 0, r = 0; j < n && !rc; j++) {
        const bool ok = jobs[j].in_file || (r < nr && cv[r].done);
        r += !jobs[j].in_file;
        if (!ok)
            continue;
        for (int k = 0; k < jobs[j].n_mats; k++)
            jobs[j].mats[k]->tr = jobs[j].to;
        m->n_repacked++;
    }
    free(cv);
    free(jobs);
    return rc;
}
