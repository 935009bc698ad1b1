/* gguf_write.c - GGUF writer: metadata and tensors, laid out as the reader expects
 * (header, key-value pairs, tensor infos, padding to general.alignment, aligned tensor data). */
#include "gguf/gguf.h"
#include "core/arena.h"
#include "core/grow.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t nbytes, offset;
    const void *data;
    gguf_tensor_source src;   /* or this, called when the data is written */
    void *user;
} wtensor;

struct gguf_writer {
    llmr_arena arena;
    gguf_kv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
};

gguf_writer *gguf_writer_new(void) { return calloc(1, sizeof(gguf_writer)); }

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    llmri_arena_free(&w->arena);
    free(w->kv);
    free(w->t);
    free(w);
}

/* Deep-copies *src into the writer's arena. */
static int copy_value(gguf_writer *w, gguf_value *dst, const gguf_value *src)
{
    *dst = *src;
    if (src->type == GGUF_STRING) {
        dst->str.ptr = llmri_arena_strndup(&w->arena, src->str.ptr, src->str.len);
        return dst->str.ptr ? LLMR_OK : LLMR_ERR_NOMEM;
    }
    if (src->type != GGUF_ARRAY)
        return (unsigned)src->type < GGUF_VTYPE_COUNT ? LLMR_OK : LLMR_ERR_ARG;
    uint64_t n = src->arr.n;
    unsigned es = gguf_vtype_size(src->arr.type);
    size_t each = es ? es : src->arr.type == GGUF_STRING ? sizeof(gguf_str) : sizeof(gguf_value);
    if (!es && src->arr.type != GGUF_STRING && src->arr.type != GGUF_ARRAY)
        return LLMR_ERR_ARG;
    if (n > SIZE_MAX / each)
        return LLMR_ERR_TOO_BIG;
    void *d = llmri_arena_alloc(&w->arena, n ? n * each : 1);
    if (!d)
        return LLMR_ERR_NOMEM;
    dst->arr.data = d;
    if (es) {
        if (n)
            memcpy(d, src->arr.data, n * es);
        return LLMR_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (src->arr.type == GGUF_STRING) {
            const gguf_str *s = (const gguf_str *)src->arr.data + i;
            gguf_str *o = (gguf_str *)d + i;
            o->len = s->len;
            o->ptr = llmri_arena_strndup(&w->arena, s->ptr, s->len);
            if (!o->ptr)
                return LLMR_ERR_NOMEM;
        } else {
            int rc = copy_value(w, (gguf_value *)d + i, (const gguf_value *)src->arr.data + i);
            if (rc)
                return rc;
        }
    }
    return LLMR_OK;
}

int gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v)
{
    gguf_value copy;
    int rc = copy_value(w, &copy, v);
    if (rc)
        return rc;
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key.ptr, key) == 0) {
            w->kv[i].val = copy;
            return LLMR_OK;
        }
    if (!LLMR_GROW(w->kv, w->cap_kv, w->n_kv + 1))
        return LLMR_ERR_NOMEM;
    gguf_kv *kv = &w->kv[w->n_kv];
    kv->key.len = strlen(key);
    kv->key.ptr = llmri_arena_strndup(&w->arena, key, kv->key.len);
    if (!kv->key.ptr)
        return LLMR_ERR_NOMEM;
    kv->val = copy;
    w->n_kv++;
    return LLMR_OK;
}

int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v)
{
    return gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_U32, .u64 = v});
}
int gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v)
{
    return gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_I32, .i64 = v});
}
int gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v)
{
    return gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_U64, .u64 = v});
}
int gguf_writer_set_f32(gguf_writer *w, const char *key, float v)
{
    return gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_F32, .f64 = v});
}
int gguf_writer_set_bool(gguf_writer *w, const char *key, bool v)
{
    return gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_BOOL, .u64 = v});
}
int gguf_writer_set_str(gguf_writer *w, const char *key, const char *v)
{
    gguf_value val = {.type = GGUF_STRING, .str = {strlen(v), v}};
    return gguf_writer_set_value(w, key, &val);
}

int gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype type, const void *data,
                        uint64_t n)
{
    if (!gguf_vtype_size(type))
        return LLMR_ERR_ARG;
    gguf_value v = {.type = GGUF_ARRAY, .arr = {type, n, data}};
    return gguf_writer_set_value(w, key, &v);
}

int gguf_writer_set_str_arr(gguf_writer *w, const char *key, const char *const *v, uint64_t n)
{
    gguf_str *s = n < SIZE_MAX / sizeof *s ? malloc((n ? n : 1) * sizeof *s) : NULL;
    if (!s)
        return LLMR_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++)
        s[i] = (gguf_str){strlen(v[i]), v[i]};
    gguf_value val = {.type = GGUF_ARRAY, .arr = {GGUF_STRING, n, s}};
    int rc = gguf_writer_set_value(w, key, &val);
    free(s);
    return rc;
}

int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const int64_t *ne, const void *data)
{
    return gguf_writer_add_tensor_src(w, name, type, n_dims, ne, NULL, (void *)(uintptr_t)data);
}

int gguf_writer_add_tensor_src(gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const int64_t *ne, gguf_tensor_source src,
                               void *user)
{
    if (n_dims > GGUF_MAX_DIMS)
        return LLMR_ERR_ARG;
    wtensor t = {.type = type, .n_dims = n_dims, .data = src ? NULL : user, .src = src,
                 .user = user};
    uint64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = (uint32_t)d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0 || !llmri_mul_ok(n, (uint64_t)t.ne[d], &n))
            return LLMR_ERR_TOO_BIG;
    }
    if (!gguf_type_nbytes(type, n, &t.nbytes))
        return LLMR_ERR_ARG;
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return LLMR_ERR_ARG;
    if (!LLMR_GROW(w->t, w->cap_t, w->n_t + 1))
        return LLMR_ERR_NOMEM;
    t.name = llmri_arena_strndup(&w->arena, name, strlen(name));
    if (!t.name)
        return LLMR_ERR_NOMEM;
    w->t[w->n_t++] = t;
    return LLMR_OK;
}

/* ---- serialisation ---------------------------------------------------------------------- */

typedef struct out {
    FILE *f;
    uint32_t version;
    uint64_t pos;
    bool failed;
} out;

static void put(out *o, const void *p, size_t n)
{
    if (!o->failed && n && fwrite(p, 1, n, o->f) != n)
        o->failed = true;
    o->pos += n;
}
static void put_u32(out *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(out *o, uint64_t v) { put(o, &v, 8); }
static void put_count(out *o, uint64_t v)
{
    if (o->version == 1)
        put_u32(o, (uint32_t)v);
    else
        put_u64(o, v);
}
static void put_str(out *o, const char *s, uint64_t len)
{
    put_count(o, len);
    put(o, s, len);
}
static void put_zeros(out *o, uint64_t n)
{
    static const char z[64];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        put(o, z, k);
        n -= k;
    }
}

static void put_scalar(out *o, gguf_vtype t, const gguf_value *v)
{
    union { uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; float f32; double f64; } x;
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: x.u8 = (uint8_t)v->u64; break;
    case GGUF_U16: case GGUF_I16: x.u16 = (uint16_t)v->u64; break;
    case GGUF_U32: case GGUF_I32: x.u32 = (uint32_t)v->u64; break;
    case GGUF_F32: x.f32 = (float)v->f64; break;
    case GGUF_F64: x.f64 = v->f64; break;
    default: x.u64 = v->u64; break;
    }
    put(o, &x, gguf_vtype_size(t));
}

static void put_value(out *o, const gguf_value *v)
{
    if (v->type == GGUF_STRING) {
        put_str(o, v->str.ptr, v->str.len);
        return;
    }
    if (v->type != GGUF_ARRAY) {
        put_scalar(o, v->type, v);
        return;
    }
    put_u32(o, v->arr.type);
    put_count(o, v->arr.n);
    unsigned es = gguf_vtype_size(v->arr.type);
    if (es) {
        put(o, v->arr.data, v->arr.n * es);
        return;
    }
    for (uint64_t i = 0; i < v->arr.n; i++) {
        if (v->arr.type == GGUF_STRING) {
            const gguf_str *s = (const gguf_str *)v->arr.data + i;
            put_str(o, s->ptr, s->len);
        } else {
            put_value(o, (const gguf_value *)v->arr.data + i);   /* nested array */
        }
    }
}

static uint64_t writer_alignment(const gguf_writer *w)
{
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key.ptr, "general.alignment") && w->kv[i].val.type == GGUF_U32 &&
            w->kv[i].val.u64 && !(w->kv[i].val.u64 & (w->kv[i].val.u64 - 1)))
            return w->kv[i].val.u64;
    return 32;
}

int gguf_writer_write(gguf_writer *w, const char *path, uint32_t version, llmr_err *err)
{
    if (version == 0)
        version = 3;
    if (version > 3)
        return llmri_err_set(err, LLMR_ERR_ARG, "%s: cannot write GGUF version %u", path, version);
    uint64_t align = writer_alignment(w);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        off = llmri_align_up(off, align);
        w->t[i].offset = off;
        off += w->t[i].nbytes;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    out o = {.f = fopen(tmp, "wb"), .version = version};
    if (!o.f) {
        int rc = llmri_err_set(err, LLMR_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    put(&o, "GGUF", 4);
    put_u32(&o, version);
    put_count(&o, w->n_t);
    put_count(&o, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(&o, w->kv[i].key.ptr, w->kv[i].key.len);
        put_u32(&o, w->kv[i].val.type);
        put_value(&o, &w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_str(&o, t->name, strlen(t->name));
        put_u32(&o, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_count(&o, (uint64_t)t->ne[d]);
        put_u32(&o, t->type);
        put_u64(&o, t->offset);
    }
    uint64_t data_start = llmri_align_up(o.pos, align);
    put_zeros(&o, data_start - o.pos);
    int rc = LLMR_OK;
    for (size_t i = 0; i < w->n_t && !rc && !o.failed; i++) {
        put_zeros(&o, data_start + w->t[i].offset - o.pos);
        const void *data = w->t[i].src ? w->t[i].src(w->t[i].user, err) : w->t[i].data;
        if (!data)
            rc = err && err->code ? err->code : LLMR_ERR_IO;
        else
            put(&o, data, w->t[i].nbytes);
    }
    bool ok = !rc && !o.failed && fflush(o.f) == 0 && fsync(fileno(o.f)) == 0;
    int saved = errno;
    ok = (fclose(o.f) == 0) && ok;
    if (rc) {
        unlink(tmp);
    } else if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        rc = llmri_err_set(err, LLMR_ERR_IO, "%s: write failed: %s", path, strerror(saved));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
