/* tensor.c - whole-tensor dequantization and fingerprints. */
#include "kernels/tensor.h"
#include "kernels/kernels.h"
#include "core/sha256.h"

#include <stdlib.h>

int llmri_tensor_rows(const gguf_tensor *t, int (*fn)(void *user, const float *row, int64_t n),
                     void *user, llmr_err *err)
{
    /* the reference table: dequantization is exact, and the same at every ISA; a repacked
     * layout (llmr quantize --repack) is read one group of rows at a time, unpacked */
    const llmr_type_traits *lay = llmri_traits_layout(t->type);
    const llmr_type_traits *tr = llmri_traits_isa(lay ? lay->type : t->type, LLMR_ISA_REF);
    llmr_type_info ti;
    if (!tr)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "tensor %s: type %s has no kernels",
                            t->name.ptr, llmr_type_get(t->type, &ti) ? ti.name : "unknown");
    const int64_t ne0 = t->ne[0];
    const size_t rs = llmri_row_size(tr->type, ne0);
    if (ne0 <= 0 || rs == 0 || (lay && ne0 > INT32_MAX))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tensor %s: row of %lld values is not whole "
                            "blocks of %s", t->name.ptr, (long long)ne0, tr->name);
    const uint64_t rows = t->n_elements / (uint64_t)ne0, group = lay ? lay->interleave : 1;
    float *buf = malloc((size_t)ne0 * sizeof(float));
    uint8_t *plain = lay ? malloc(rs * group) : NULL;
    if (!buf || (lay && !plain)) {
        free(buf);
        free(plain);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "tensor %s: no memory for a row of %lld values",
                            t->name.ptr, (long long)ne0);
    }
    const uint8_t *p = t->data;
    int rc = 0;
    for (uint64_t r = 0; r < rows && rc == 0; r++) {
        const uint8_t *row = p + r * rs;
        if (lay) {   /* gguf_open checked that rows is a multiple of the group */
            if (r % group == 0)
                lay->unpack((int)ne0, p + r * rs, plain, rs);
            row = plain + (r % group) * rs;
        }
        tr->to_float(row, buf, ne0);
        rc = fn(user, buf, ne0);
    }
    free(plain);
    free(buf);
    return rc;
}

static int hash_row(void *user, const float *row, int64_t n)
{
    /* x86 and every other host we build for is little-endian: the bytes are the f32s */
    llmri_sha256_update(user, row, (size_t)n * sizeof(float));
    return 0;
}

int llmri_tensor_sha256(const gguf_tensor *t, char hex[65], llmr_err *err)
{
    llmr_sha256 s;
    llmri_sha256_init(&s);
    int rc = llmri_tensor_rows(t, hash_row, &s, err);
    if (rc)
        return rc;
    uint8_t d[32];
    llmri_sha256_final(&s, d);
    llmri_sha256_hex(d, hex);
    return LLMR_OK;
}
