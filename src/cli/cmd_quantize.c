/* cmd_quantize.c - `llmr quantize IN OUT TYPE`: converts an F32/F16/BF16 model to a quantized
 * type or mix, with llama.cpp's choice of types per tensor (see model/quant.h). Metadata is
 * copied. general.file_type is the target's llama_ftype, unless tensors fell back to another
 * type (rows that the type's blocks do not divide) so that most of the quantized bytes are of
 * that other type: then it names that type, so that the file says what it holds.
 * Progress goes to stderr on a terminal; a summary, and a warning counting the fallbacks (as
 * llama-quantize warns), always go to stderr.
 */
#include "cli/cli.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/quant.h"

#include "llmr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row_from_tensor {
    const gguf_tensor *t;
    const llmr_type_traits *tr;
    size_t row_bytes;
} row_from_tensor;

static void tensor_row(void *user, int64_t r, float *dst, int64_t ncols)
{
    const row_from_tensor *s = user;
    const uint8_t *src = (const uint8_t *)s->t->data + (size_t)r * s->row_bytes;
    if (s->t->type == LLMR_TYPE_F32)
        memcpy(dst, src, (size_t)ncols * sizeof(float));
    else
        s->tr->to_float(src, dst, ncols);
}

static int layer_of(const char *name)
{
    int l;
    return sscanf(name, "blk.%d.", &l) == 1 ? l : -1;
}

static const char *tname(uint32_t type)
{
    llmr_type_info ti;
    return llmr_type_get(type, &ti) ? ti.name : "?";
}

/* What was written, for the summary, the fallback warning and the file type. */
typedef struct qstats {
    uint64_t count[LLMR_TYPE_COUNT], bytes[LLMR_TYPE_COUNT];
    uint64_t in_bytes, out_bytes;
    int      n_fallback;
    uint32_t fb_from, fb_to;          /* the first fallback, as an example */
    char     fb_name[96];
    int64_t  fb_ne0;
} qstats;

static void note_tensor(qstats *q, const gguf_tensor *t, uint32_t want, uint32_t ty)
{
    size_t nb = llmri_row_size(ty, t->ne[0]) * (size_t)(t->n_elements / (uint64_t)t->ne[0]);
    q->count[ty]++;
    q->bytes[ty] += nb;
    q->in_bytes += t->nbytes;
    q->out_bytes += nb;
    if (want == ty)
        return;
    if (q->n_fallback++ == 0) {
        q->fb_from = want;
        q->fb_to = ty;
        q->fb_ne0 = t->ne[0];
        snprintf(q->fb_name, sizeof q->fb_name, "%s", t->name.ptr);
    }
}

/* The file type to record: the target's, unless fallbacks left most quantized bytes in
 * another type. */
static uint32_t true_ftype(const llmr_qtarget *tg, const qstats *q)
{
    uint32_t best = LLMR_TYPE_COUNT;
    for (uint32_t t = 0; t < LLMR_TYPE_COUNT; t++)
        if (t != LLMR_TYPE_F32 && q->bytes[t] && (best == LLMR_TYPE_COUNT ||
                                                   q->bytes[t] > q->bytes[best]))
            best = t;
    if (!q->n_fallback || best == LLMR_TYPE_COUNT || best == tg->base)
        return tg->ftype;
    uint32_t ft = llmri_qtype_ftype(best);
    return ft == UINT32_MAX ? tg->ftype : ft;
}

static void print_summary(const char *out, const llmr_qtarget *tg, const qstats *q,
                          uint32_t ftype, uint64_t n_tensors, int n_repacked, double seconds)
{
    if (q->n_fallback)
        fprintf(stderr, "%sllmr quantize: warning: %d of %" PRIu64 " tensors fell back to another "
                "type because their rows do not fit the type's blocks (e.g. %s: %" PRId64
                " values per row, %s -> %s)%s\n", cli_sgr(stderr, "yellow"), q->n_fallback,
                n_tensors, q->fb_name, q->fb_ne0, tname(q->fb_from), tname(q->fb_to),
                cli_sgr(stderr, "reset"));
    char types[512] = "";
    size_t at = 0;
    for (uint32_t t = 0; t < LLMR_TYPE_COUNT && at < sizeof types; t++)
        if (q->count[t])
            at += (size_t)snprintf(types + at, sizeof types - at, "%s%" PRIu64 " %s",
                                   at ? ", " : "", q->count[t], tname(t));
    const char *ft = cli_ftype_id_name(ftype);
    char rp[48] = "";
    if (n_repacked)
        snprintf(rp, sizeof rp, ", %d repacked", n_repacked);
    fprintf(stderr, "llmr quantize: wrote %s: %" PRIu64 " tensors (%s%s), %.2f MiB -> %.2f MiB, "
            "file type %s%s%s%s, %.2f s\n", out, n_tensors, types, rp, q->in_bytes / 1048576.0,
            q->out_bytes / 1048576.0, cli_sgr(stderr, "bold"), ft, cli_sgr(stderr, "reset"),
            ftype != tg->ftype ? " (not the asked-for type: see the warning)" : "", seconds);
}

/* Whether the model loader repacks this tensor (model/weights_repack.c: the layers' attention
 * and FFN products and a separate output matrix), so that --repack stores it repacked. A
 * tensor picked wrongly still loads right: the loader converts what it does not use. */
static bool repack_candidate(const gguf_tensor *t)
{
    static const char *const mats[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
                                       "ffn_up", "ffn_down", "ffn_gate_shexp", "ffn_up_shexp",
                                       "ffn_down_shexp"};
    const char *name = t->name.ptr;
    if (t->n_dims != 2)
        return false;
    if (!strcmp(name, "output.weight"))
        return true;
    int l, at = 0;
    if (sscanf(name, "blk.%d.%n", &l, &at) != 1 || !at)
        return false;
    const char *rest = name + at;
    for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) {
        size_t n = strlen(mats[i]);
        if (!strncmp(rest, mats[i], n) && !strcmp(rest + n, ".weight"))
            return true;
    }
    return false;
}

/* One output tensor, made when the writer reaches it (gguf_tensor_source). */
typedef struct qtensor {
    struct qrun *run;
    const gguf_tensor *t;
    uint32_t ty;                    /* the plain type written */
    const llmr_type_traits *lay;    /* its repacked layout (--repack), or NULL */
} qtensor;

typedef struct qrun {
    llmr_pool *pool;
    const gguf_file *in;
    void *buf;                      /* the last tensor made, freed at the next */
    const gguf_tensor *last_in;     /* the last input read, released at the next */
    uint64_t done, total;
} qrun;

static void qrun_release(qrun *r)
{
    free(r->buf);
    r->buf = NULL;
    if (r->last_in)
        gguf_release(r->in, r->last_in->data, r->last_in->nbytes);
    r->last_in = NULL;
}

static const void *make_tensor(void *user, llmr_err *err)
{
    qtensor *q = user;
    qrun *r = q->run;
    const gguf_tensor *t = q->t;
    qrun_release(r);
    cli_progress(stderr, "quantizing", (double)r->done++, (double)r->total);
    r->last_in = t;
    const void *data = t->data;
    if (q->ty != t->type) {
        row_from_tensor src = {t, llmri_traits(t->type), llmri_row_size(t->type, t->ne[0])};
        const int64_t nrows = (int64_t)(t->n_elements / (uint64_t)t->ne[0]);
        size_t nb;
        llmr_err e = {0};
        if (llmri_rows_convert(r->pool, q->ty, t->ne[0], nrows, tensor_row, &src, &r->buf, &nb,
                               &e)) {
            llmri_err_set(err, e.code, "tensor %s: %s", t->name.ptr, e.msg);
            return NULL;
        }
        data = r->buf;
    }
    if (!q->lay)
        return data;
    /* the layout of the loader, made from a private copy of the plain rows */
    const size_t rb = llmri_row_size(q->ty, t->ne[0]);
    const int64_t nrows = (int64_t)(t->n_elements / (uint64_t)t->ne[0]);
    void *scratch = malloc(rb * q->lay->interleave);
    if (!r->buf && (r->buf = malloc(rb * (size_t)nrows)))
        memcpy(r->buf, data, rb * (size_t)nrows);
    if (!scratch || !r->buf) {
        free(scratch);
        llmri_err_set(err, LLMR_ERR_NOMEM, "tensor %s: out of memory repacking", t->name.ptr);
        return NULL;
    }
    llmri_repack_rows(q->lay, (int)t->ne[0], r->buf, nrows, scratch);
    free(scratch);
    return r->buf;
}

/* The layout --repack gives tensor t of type ty, or NULL: the reference table's (every
 * layout this build has, whatever this CPU prefers to use). */
static const llmr_type_traits *repack_layout(const gguf_tensor *t, uint32_t ty)
{
    const llmr_type_traits *lay = llmri_traits_repacked_isa(ty, LLMR_ISA_REF);
    if (!lay || !repack_candidate(t) || t->ne[0] > INT32_MAX || t->ne[0] % lay->block_size ||
        (t->n_elements / (uint64_t)t->ne[0]) % lay->interleave)
        return NULL;
    return lay;
}

int cmd_quantize(int argc, char **argv)
{
    const char *pos_args[3] = {0};
    int npos = 0;
    bool pure = false, repack = false;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pure"))
            pure = true;
        else if (!strcmp(argv[i], "--repack"))
            repack = true;
        else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--threads")) && i + 1 < argc) {
            if (!cli_parse_threads("quantize", argv[i], argv[i + 1], 1, &threads))
                return CLI_USAGE;
            i++;
        } else if (npos < 3)
            pos_args[npos++] = argv[i];
        else
            return cli_usage_error("quantize", "unexpected argument '%s'", argv[i]);
    }
    /* --repack without TYPE keeps every tensor's type: an already quantized file is only
     * rearranged, never quantized again */
    const bool keep = repack && npos == 2;
    if (npos != 3 && !keep)
        return cli_usage_error("quantize", repack ? "IN and OUT are required"
                                                  : "IN, OUT and TYPE are required");
    llmr_qtarget tg = {0};
    if (!keep && !llmri_qtarget_find(pos_args[2], &tg))
        return cli_usage_error("quantize", "unknown type '%s' (expected one of: %s)",
                               pos_args[2], llmr_qtarget_names);
    llmr_err err = {0};
    gguf_file *in;
    if (gguf_open(pos_args[0], &in, &err))
        return cli_fail("quantize", "%s", err.msg);
    int rc = CLI_BAD_INPUT;
    gguf_writer *w = gguf_writer_new();
    qtensor *qs = calloc(in->n_tensors + 1, sizeof *qs);
    qrun run = {.pool = llmri_pool_new(threads ? (int)threads : llmri_physical_cores()),
                .in = in, .total = in->n_tensors};
    if (!w || !qs || !run.pool) {
        cli_fail("quantize", "out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < in->n_kv; i++)
        if ((keep || strcmp(in->kv[i].key.ptr, "general.file_type")) &&
            gguf_writer_set_value(w, in->kv[i].key.ptr, &in->kv[i].val)) {
            cli_fail("quantize", "out of memory");
            goto done;
        }
    llmr_qpos qp = {0};
    qstats q;
    memset(&q, 0, sizeof q);
    int n_repacked = 0;
    const double t0 = llmri_now();
    const char *arch = gguf_get_str(in, "general.architecture");
    char key[128];
    snprintf(key, sizeof key, "%s.block_count", arch ? arch : "llama");
    uint32_t nl = 0;
    gguf_get_u32(in, key, &nl);
    qp.n_layer = (int)nl;
    qp.has_output = gguf_find_tensor(in, "output.weight") != NULL;
    /* The types first (the header lists them); the data as the writer reaches each tensor.
     * llama.cpp counts attn_v / ffn_down in file order, which is layer order in its files;
     * the layer number says the same whatever the order. */
    for (uint64_t i = 0; i < in->n_tensors; i++) {
        const gguf_tensor *t = &in->tensors[i];
        const char *name = t->name.ptr;
        uint32_t ty = t->type, out_ty = t->type;
        if (!keep) {
            qp.i_attn_v = qp.i_ffn_down = layer_of(name);
            ty = llmri_qtype_for(&tg, name, (int)t->n_dims, t->ne[0], &qp, pure);
            note_tensor(&q, t, llmri_qtype_rule(&tg, name, (int)t->n_dims, t->ne[0], &qp, pure),
                        ty);
            if (ty != t->type && t->type != LLMR_TYPE_F32 && t->type != LLMR_TYPE_F16 &&
                t->type != LLMR_TYPE_BF16) {
                cli_fail("quantize", "%s: tensor %s is already quantized (type %s); quantize "
                         "reads F32, F16 or BF16 files (or, with --repack and no TYPE, any)",
                         pos_args[0], name, tname(t->type));
                goto done;
            }
            out_ty = ty;
        }
        qs[i] = (qtensor){.run = &run, .t = t, .ty = ty};
        if (repack && ty < LLMR_TYPE_COUNT && (qs[i].lay = repack_layout(t, ty))) {
            out_ty = llmri_layout_type_id(qs[i].lay);
            n_repacked++;
        }
        if (gguf_writer_add_tensor_src(w, name, out_ty, t->n_dims, t->ne, make_tensor, &qs[i])) {
            cli_fail("quantize", "tensor %s: cannot add to the output", name);
            goto done;
        }
    }
    uint32_t ftype = keep ? 0 : true_ftype(&tg, &q);
    if (!keep)
        gguf_writer_set_u32(w, "general.file_type", ftype);
    if (gguf_writer_write(w, pos_args[1], 3, &err)) {
        cli_fail("quantize", "%s", err.msg);
        goto done;
    }
    cli_progress(stderr, "quantizing", (double)in->n_tensors, (double)in->n_tensors);
    if (keep)
        fprintf(stderr, "llmr quantize: wrote %s: %" PRIu64 " tensors, %d repacked, %.2f s\n",
                pos_args[1], in->n_tensors, n_repacked, llmri_now() - t0);
    else
        print_summary(pos_args[1], &tg, &q, ftype, in->n_tensors, n_repacked,
                      llmri_now() - t0);
    rc = CLI_OK;
done:
    qrun_release(&run);
    free(qs);
    llmri_pool_free(run.pool);
    gguf_writer_free(w);
    gguf_close(in);
    return rc;
}
