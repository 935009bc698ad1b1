/* gguf.c - GGUF reader: maps a file, parses and validates every byte of the header.
 *
 * Everything read from the file is treated as hostile: each length, count and offset is
 * checked against the bytes that remain before it is used, and every product of dimensions is
 * checked for overflow. Strings and numeric arrays are copied into an arena (NUL-terminated,
 * aligned), so no caller ever dereferences a misaligned pointer into the mapping; tensor data
 * stays in the mapping. The writer is in gguf_write.c. */
#include "gguf/gguf.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/strmap.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    GGUF_DEFAULT_ALIGNMENT = 32,
    GGUF_MAX_ARRAY_DEPTH = 8,       /* nested arrays deeper than this are rejected */
};

typedef struct gguf_priv {
    llmr_arena arena;
    llmr_strmap kv_index;
    llmr_strmap tensor_index;
    void *heap_copy;                /* read() fallback buffer, or NULL when mapped */
    bool written;                   /* the mapping was made writable once (gguf_release) */
} gguf_priv;

/* The cursor over the header. `what` names the item being read, for messages. */
typedef struct cursor {
    const uint8_t *p;
    uint64_t size, off;
    uint32_t version;
    const char *name;
    llmr_err *err;
    llmr_arena *arena;
} cursor;

static int truncated(cursor *c, uint64_t need, const char *what)
{
    return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                        "%s: truncated at byte %llu: %s needs %llu bytes, file has %llu",
                        c->name, (unsigned long long)c->off, what, (unsigned long long)need,
                        (unsigned long long)(c->size - c->off));
}

static int rd_bytes(cursor *c, void *dst, uint64_t n, const char *what)
{
    if (c->size - c->off < n)
        return truncated(c, n, what);
    memcpy(dst, c->p + c->off, n);
    c->off += n;
    return LLMR_OK;
}

static int rd_u32(cursor *c, uint32_t *v, const char *what) { return rd_bytes(c, v, 4, what); }
static int rd_u64(cursor *c, uint64_t *v, const char *what) { return rd_bytes(c, v, 8, what); }

/* Counts and lengths: 32-bit in GGUF v1, 64-bit from v2 on. */
static int rd_count(cursor *c, uint64_t *v, const char *what)
{
    if (c->version == 1) {
        uint32_t v32 = 0;
        int rc = rd_u32(c, &v32, what);
        *v = v32;
        return rc;
    }
    return rd_u64(c, v, what);
}

static int rd_str(cursor *c, gguf_str *s, const char *what)
{
    uint64_t at = c->off, len = 0;
    int rc = rd_count(c, &len, what);
    if (rc)
        return rc;
    if (len > c->size - c->off)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: %s at byte %llu has length %llu, beyond the end of the file "
                            "(%llu bytes left)", c->name, what, (unsigned long long)at,
                            (unsigned long long)len, (unsigned long long)(c->size - c->off));
    char *p = llmri_arena_strndup(c->arena, (const char *)c->p + c->off, len);
    if (!p)
        return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory reading %s", c->name,
                            what);
    s->ptr = p;
    s->len = len;
    c->off += len;
    return LLMR_OK;
}

unsigned gguf_vtype_size(gguf_vtype t)
{
    static const unsigned sz[GGUF_VTYPE_COUNT] = {
        [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2, [GGUF_U32] = 4,
        [GGUF_I32] = 4, [GGUF_F32] = 4, [GGUF_BOOL] = 1, [GGUF_U64] = 8, [GGUF_I64] = 8,
        [GGUF_F64] = 8,
    };
    return (unsigned)t < GGUF_VTYPE_COUNT ? sz[t] : 0;
}

const char *gguf_vtype_name(gguf_vtype t)
{
    static const char *names[GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64",
        "i64", "f64",
    };
    return (unsigned)t < GGUF_VTYPE_COUNT ? names[t] : "unknown";
}

/* Decodes one scalar of type t at p into the value's union. */
static void decode_scalar(gguf_vtype t, const uint8_t *p, gguf_value *v)
{
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            float f32; uint64_t u64; int64_t i64; double f64; } x;
    memcpy(&x, p, gguf_vtype_size(t));
    switch (t) {
    case GGUF_U8:   v->u64 = x.u8; break;
    case GGUF_BOOL: v->u64 = x.u8 != 0; break;
    case GGUF_I8:   v->i64 = x.i8; break;
    case GGUF_U16:  v->u64 = x.u16; break;
    case GGUF_I16:  v->i64 = x.i16; break;
    case GGUF_U32:  v->u64 = x.u32; break;
    case GGUF_I32:  v->i64 = x.i32; break;
    case GGUF_F32:  v->f64 = x.f32; break;
    case GGUF_U64:  v->u64 = x.u64; break;
    case GGUF_I64:  v->i64 = x.i64; break;
    case GGUF_F64:  v->f64 = x.f64; break;
    default: break;
    }
}

static int rd_value(cursor *c, gguf_vtype t, gguf_value *v, int depth, const char *key);

static int rd_array(cursor *c, gguf_value *v, int depth, const char *key)
{
    uint64_t at = c->off;
    uint32_t et = 0;
    uint64_t n = 0;
    int rc = rd_u32(c, &et, "array element type");
    if (!rc)
        rc = rd_count(c, &n, "array length");
    if (rc)
        return rc;
    if (et >= GGUF_VTYPE_COUNT)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: key '%s': array at byte %llu has unknown element type %u "
                            "(expected 0..12)", c->name, key, (unsigned long long)at, et);
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: key '%s': arrays nested deeper than %d at byte %llu", c->name,
                            key, GGUF_MAX_ARRAY_DEPTH, (unsigned long long)at);
    /* Every element takes at least this many bytes, so n beyond remaining/min is a lie; the
     * check keeps a hostile count from making us allocate gigabytes. */
    uint64_t min = gguf_vtype_size(et);
    if (!min)
        min = et == GGUF_STRING ? (c->version == 1 ? 4 : 8) : (c->version == 1 ? 8 : 12);
    if (n > (c->size - c->off) / min)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: key '%s': array at byte %llu claims %llu elements of %s, more "
                            "than the %llu bytes left can hold", c->name, key,
                            (unsigned long long)at, (unsigned long long)n,
                            gguf_vtype_name(et), (unsigned long long)(c->size - c->off));
    v->arr.type = et;
    v->arr.n = n;
    if (gguf_vtype_size(et)) {
        /* Natively packed (bools as one byte), aligned copy. */
        void *d = llmri_arena_alloc(c->arena, n ? n * min : 1);
        if (!d)
            return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory", c->name);
        memcpy(d, c->p + c->off, n * min);
        c->off += n * min;
        v->arr.data = d;
        return LLMR_OK;
    }
    size_t esz = et == GGUF_STRING ? sizeof(gguf_str) : sizeof(gguf_value);
    void *d = llmri_arena_alloc(c->arena, n ? n * esz : 1);
    if (!d)
        return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory", c->name);
    v->arr.data = d;
    for (uint64_t i = 0; i < n; i++) {
        rc = et == GGUF_STRING ? rd_str(c, (gguf_str *)d + i, "array string")
                               : rd_value(c, GGUF_ARRAY, (gguf_value *)d + i, depth + 1, key);
        if (rc)
            return rc;
    }
    return LLMR_OK;
}

static int rd_value(cursor *c, gguf_vtype t, gguf_value *v, int depth, const char *key)
{
    v->type = t;
    if (t == GGUF_STRING)
        return rd_str(c, &v->str, "string value");
    if (t == GGUF_ARRAY)
        return rd_array(c, v, depth, key);
    unsigned sz = gguf_vtype_size(t);
    if (c->size - c->off < sz)
        return truncated(c, sz, "value");
    decode_scalar(t, c->p + c->off, v);
    c->off += sz;
    return LLMR_OK;
}

static int rd_kv(cursor *c, gguf_kv *kv, gguf_priv *priv, uint64_t i)
{
    uint64_t at = c->off;
    uint32_t t = 0;
    int rc = rd_str(c, &kv->key, "metadata key");
    if (!rc)
        rc = rd_u32(c, &t, "metadata value type");
    if (rc)
        return rc;
    if (t >= GGUF_VTYPE_COUNT)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: key '%s' at byte %llu has unknown value type %u (expected "
                            "0..12)", c->name, kv->key.ptr, (unsigned long long)at, t);
    int put = llmri_strmap_put(&priv->kv_index, kv->key.ptr, kv->key.len, (int64_t)i, NULL);
    if (put < 0)
        return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory", c->name);
    if (put == 0)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: duplicate metadata key '%s' at byte %llu", c->name,
                            kv->key.ptr, (unsigned long long)at);
    return rd_value(c, (gguf_vtype)t, &kv->val, 0, kv->key.ptr);
}

static int rd_tensor_info(cursor *c, gguf_tensor *t, gguf_priv *priv, uint64_t i)
{
    uint64_t at = c->off;
    int rc = rd_str(c, &t->name, "tensor name");
    if (!rc)
        rc = rd_u32(c, &t->n_dims, "tensor dimension count");
    if (rc)
        return rc;
    if (t->n_dims > GGUF_MAX_DIMS)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: tensor '%s' at byte %llu has %u dimensions (at most %d)",
                            c->name, t->name.ptr, (unsigned long long)at, t->n_dims,
                            GGUF_MAX_DIMS);
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne = 0;
        if ((rc = rd_count(c, &ne, "tensor dimension")))
            return rc;
        if (ne > INT64_MAX || !llmri_mul_ok(n, ne, &n) || n > INT64_MAX)
            return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                                "%s: tensor '%s': dimensions overflow 64 bits (dimension %u is "
                                "%llu)", c->name, t->name.ptr, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    t->n_elements = n;
    if ((rc = rd_u32(c, &t->type, "tensor type")) || (rc = rd_u64(c, &t->offset, "tensor offset")))
        return rc;
    llmr_type_info ti;
    if (!llmr_type_get(t->type, &ti))
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: tensor '%s' has unknown type id %u", c->name, t->name.ptr,
                            t->type);
    if (t->ne[0] % ti.block_size)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: tensor '%s': row length %lld is not a multiple of %s's block "
                            "size %u", c->name, t->name.ptr, (long long)t->ne[0], ti.name,
                            ti.block_size);
    if (!gguf_type_nbytes(t->type, n, &t->nbytes))
        return llmri_err_set(c->err, LLMR_ERR_FORMAT, "%s: tensor '%s': byte size overflows",
                            c->name, t->name.ptr);
    uint32_t group;
    if (gguf_type_is_repacked(t->type, NULL, &group) && t->ne[0] &&
        (n / (uint64_t)t->ne[0]) % group)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: tensor '%s' has type %s, whose groups are %u rows, but %llu "
                            "rows", c->name, t->name.ptr, ti.name, group,
                            (unsigned long long)(n / (uint64_t)t->ne[0]));
    int put = llmri_strmap_put(&priv->tensor_index, t->name.ptr, t->name.len, (int64_t)i, NULL);
    if (put < 0)
        return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory", c->name);
    if (put == 0)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT, "%s: duplicate tensor name '%s' at byte %llu",
                            c->name, t->name.ptr, (unsigned long long)at);
    return LLMR_OK;
}

static int cmp_offset(const void *a, const void *b)
{
    const gguf_tensor *x = *(gguf_tensor *const *)a, *y = *(gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Alignment, bounds and overlap of tensor data, once the data section's start is known. */
static int check_tensor_data(cursor *c, gguf_file *f)
{
    uint64_t data_size = f->size - f->data_offset;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->offset % f->alignment)
            return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                                "%s: tensor '%s': data offset %llu is not a multiple of the "
                                "alignment %llu", c->name, t->name.ptr,
                                (unsigned long long)t->offset, (unsigned long long)f->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                                "%s: tensor '%s': data ends at byte %llu, past the end of the "
                                "file (%llu bytes)", c->name, t->name.ptr,
                                (unsigned long long)(f->data_offset + t->offset + t->nbytes),
                                (unsigned long long)f->size);
        t->data = f->base + f->data_offset + t->offset;
    }
    if (f->n_tensors < 2)
        return LLMR_OK;
    gguf_tensor **order = malloc(f->n_tensors * sizeof *order);
    if (!order)
        return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory", c->name);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, cmp_offset);
    int rc = LLMR_OK;
    for (uint64_t i = 1; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *a = order[i - 1], *b = order[i];
        if (a->offset + a->nbytes > b->offset && b->nbytes && a->nbytes)
            rc = llmri_err_set(c->err, LLMR_ERR_FORMAT,
                              "%s: tensors '%s' (bytes %llu..%llu) and '%s' (from %llu) "
                              "overlap", c->name, a->name.ptr, (unsigned long long)a->offset,
                              (unsigned long long)(a->offset + a->nbytes), b->name.ptr,
                              (unsigned long long)b->offset);
    }
    free(order);
    return rc;
}

static int rd_alignment(cursor *c, gguf_file *f)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find(f, "general.alignment");
    if (!kv)
        return LLMR_OK;
    if (kv->val.type != GGUF_U32)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: general.alignment has type %s, expected u32", c->name,
                            gguf_vtype_name(kv->val.type));
    uint64_t a = kv->val.u64;
    if (a == 0 || (a & (a - 1)))
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: general.alignment is %llu, expected a power of two", c->name,
                            (unsigned long long)a);
    f->alignment = a;
    return LLMR_OK;
}

static int parse_header(cursor *c, gguf_file *f, gguf_priv *priv)
{
    uint32_t magic = 0;
    int rc = rd_u32(c, &magic, "magic");
    if (rc)
        return rc;
    if (memcmp(&magic, "GGUF", 4) != 0)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: bad magic at byte 0: expected \"GGUF\", found %02x %02x %02x %02x",
                            c->name, c->p[0], c->p[1], c->p[2], c->p[3]);
    if ((rc = rd_u32(c, &f->version, "version")))
        return rc;
    if (f->version == 0 || f->version > 3) {
        if (f->version >= 0x01000000 && (f->version & 0xffff) == 0)
            return llmri_err_set(c->err, LLMR_ERR_UNSUPPORTED,
                                "%s: big-endian GGUF (version bytes %08x) is not supported",
                                c->name, f->version);
        return llmri_err_set(c->err, LLMR_ERR_UNSUPPORTED,
                            "%s: unsupported GGUF version %u at byte 4 (expected 1, 2 or 3)",
                            c->name, f->version);
    }
    c->version = f->version;
    if ((rc = rd_count(c, &f->n_tensors, "tensor count")) ||
        (rc = rd_count(c, &f->n_kv, "metadata count")))
        return rc;
    /* A key-value pair takes at least 12 bytes (v1: 8), a tensor info at least 24 (v1: 16). */
    uint64_t left = c->size - c->off;
    if (f->n_kv > left / 8 || f->n_tensors > left / 16)
        return llmri_err_set(c->err, LLMR_ERR_FORMAT,
                            "%s: header claims %llu metadata entries and %llu tensors, more "
                            "than the %llu bytes after byte %llu can hold", c->name,
                            (unsigned long long)f->n_kv, (unsigned long long)f->n_tensors,
                            (unsigned long long)left, (unsigned long long)c->off);
    f->kv = llmri_arena_alloc(c->arena, (f->n_kv + 1) * sizeof *f->kv);
    f->tensors = llmri_arena_alloc(c->arena, (f->n_tensors + 1) * sizeof *f->tensors);
    if (!f->kv || !f->tensors || !llmri_strmap_init(&priv->kv_index, f->n_kv) ||
        !llmri_strmap_init(&priv->tensor_index, f->n_tensors))
        return llmri_err_set(c->err, LLMR_ERR_NOMEM, "%s: out of memory", c->name);
    for (uint64_t i = 0; i < f->n_kv; i++)
        if ((rc = rd_kv(c, &f->kv[i], priv, i)))
            return rc;
    if ((rc = rd_alignment(c, f)))
        return rc;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if ((rc = rd_tensor_info(c, &f->tensors[i], priv, i)))
            return rc;
    /* The data section starts at the next multiple of the alignment; a file with no tensors
     * may end right after its header. */
    f->data_offset = llmri_align_up(c->off, f->alignment);
    if (f->data_offset > f->size) {
        if (f->n_tensors)
            return truncated(c, f->data_offset - c->off, "padding before tensor data");
        f->data_offset = f->size;
    }
    return check_tensor_data(c, f);
}

static int open_common(gguf_file *f, const char *name, llmr_err *err)
{
    gguf_priv *priv = f->priv;
    cursor c = {.p = f->base, .size = f->size, .name = f->path, .err = err,
                .arena = &priv->arena};
    (void)name;
    if (f->size < 8)
        return llmri_err_set(err, LLMR_ERR_FORMAT,
                            "%s: truncated: %llu bytes, a GGUF header needs at least 24",
                            f->path, (unsigned long long)f->size);
    return parse_header(&c, f, priv);
}

static gguf_file *new_file(const char *name)
{
    gguf_file *f = calloc(1, sizeof *f);
    gguf_priv *priv = calloc(1, sizeof *priv);
    char *path = llmri_strdup(name ? name : "(memory)");
    if (!f || !priv || !path) {
        free(f);
        free(priv);
        free(path);
        return NULL;
    }
    f->priv = priv;
    f->path = path;
    return f;
}

int gguf_open_mem(const void *data, size_t size, const char *name, gguf_file **out,
                  llmr_err *err)
{
    *out = NULL;
    gguf_file *f = new_file(name);
    if (!f)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    f->base = data;
    f->size = size;
    int rc = open_common(f, name, err);
    if (rc) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return LLMR_OK;
}

/* read() fallback for files that cannot be mapped (pipes, some FUSE and network mounts). */
static int read_whole(int fd, const char *path, gguf_file *f, llmr_err *err)
{
    llmr_buf b = {0};
    int rc = llmri_buf_read_fd(&b, fd);
    if (rc == LLMR_OK && !llmri_buf_reserve(&b, 0))   /* an empty file still gets a base */
        rc = LLMR_ERR_NOMEM;
    if (rc == LLMR_ERR_IO)
        rc = llmri_err_set(err, rc, "%s: read failed: %s", path, strerror(errno));
    else if (rc)
        rc = llmri_err_set(err, rc, "%s: out of memory reading the file", path);
    if (rc) {
        llmri_buf_free(&b);
        return rc;
    }
    f->size = b.len;
    char *copy = llmri_buf_take(&b);
    ((gguf_priv *)f->priv)->heap_copy = copy;
    f->base = (uint8_t *)copy;
    return LLMR_OK;
}

int gguf_open(const char *path, gguf_file **out, llmr_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return llmri_err_set(err, LLMR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return llmri_err_set(err, LLMR_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return llmri_err_set(err, LLMR_ERR_IO, "%s: is a directory, expected a GGUF file", path);
    }
    gguf_file *f = new_file(path);
    if (!f) {
        close(fd);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    }
    int rc = LLMR_OK;
    void *m = MAP_FAILED;
    if (S_ISREG(st.st_mode) && st.st_size > 0)
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
        f->base = m;
        f->size = (uint64_t)st.st_size;
        f->mapped = true;
        /* Weights are read front to back layer by layer; let the kernel read ahead. */
        madvise(m, (size_t)st.st_size, MADV_WILLNEED);
    } else {
        rc = read_whole(fd, path, f, err);
    }
    close(fd);
    if (!rc)
        rc = open_common(f, path, err);
    if (rc) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return LLMR_OK;
}

bool gguf_set_writable(gguf_file *f, bool on)
{
    if (!f->mapped)
        return f->priv && ((gguf_priv *)f->priv)->heap_copy;
    /* mmap returned a page-aligned base, and the length rounds up inside the mapping */
    if (on && f->priv)
        ((gguf_priv *)f->priv)->written = true;
    return mprotect((void *)f->base, (size_t)f->size, on ? PROT_READ | PROT_WRITE : PROT_READ) == 0;
}

void gguf_release(const gguf_file *f, const void *data, uint64_t n)
{
    const gguf_priv *priv = f->priv;
    const uintptr_t b = (uintptr_t)f->base, p = (uintptr_t)data;
    if (!f->mapped || !priv || priv->written || p < b || n > f->size || p - b > f->size - n)
        return;
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0)
        return;
    /* only the pages wholly inside [data, data + n): a neighbour may still be in use */
    const uintptr_t lo = (p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    const uintptr_t hi = (p + (uintptr_t)n) & ~((uintptr_t)pg - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    gguf_priv *priv = f->priv;
    if (f->mapped)
        munmap((void *)f->base, f->size);
    if (priv) {
        free(priv->heap_copy);
        llmri_strmap_free(&priv->kv_index);
        llmri_strmap_free(&priv->tensor_index);
        llmri_arena_free(&priv->arena);
        free(priv);
    }
    free(f->path);
    free(f);
}

/* ---- lookups ---------------------------------------------------------------------------- */

const gguf_kv *gguf_find(const gguf_file *f, const char *key)
{
    int64_t i;
    gguf_priv *priv = f->priv;
    if (!llmri_strmap_get(&priv->kv_index, key, strlen(key), &i))
        return NULL;
    return &f->kv[i];
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    int64_t i;
    gguf_priv *priv = f->priv;
    if (!llmri_strmap_get(&priv->tensor_index, name, strlen(name), &i))
        return NULL;
    return &f->tensors[i];
}

static bool is_unsigned(gguf_vtype t)
{
    return t == GGUF_U8 || t == GGUF_U16 || t == GGUF_U32 || t == GGUF_U64 || t == GGUF_BOOL;
}
static bool is_signed(gguf_vtype t)
{
    return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64;
}

bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return false;
    if (is_signed(kv->val.type)) {
        *out = kv->val.i64;
        return true;
    }
    if (is_unsigned(kv->val.type) && kv->val.u64 <= INT64_MAX) {
        *out = (int64_t)kv->val.u64;
        return true;
    }
    return false;
}

bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return false;
    if (is_unsigned(kv->val.type)) {
        *out = kv->val.u64;
        return true;
    }
    if (is_signed(kv->val.type) && kv->val.i64 >= 0) {
        *out = (uint64_t)kv->val.i64;
        return true;
    }
    return false;
}

bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out)
{
    uint64_t v;
    if (!gguf_get_u64(f, key, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool gguf_get_f32(const gguf_file *f, const char *key, float *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return false;
    if (kv->val.type == GGUF_F32 || kv->val.type == GGUF_F64)
        *out = (float)kv->val.f64;
    else if (is_unsigned(kv->val.type) && kv->val.type != GGUF_BOOL)
        *out = (float)kv->val.u64;
    else if (is_signed(kv->val.type))
        *out = (float)kv->val.i64;
    else
        return false;
    return true;
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->val.type != GGUF_BOOL)
        return false;
    *out = kv->val.u64 != 0;
    return true;
}

const char *gguf_get_str(const gguf_file *f, const char *key)
{
    const gguf_kv *kv = gguf_find(f, key);
    return kv && kv->val.type == GGUF_STRING ? kv->val.str.ptr : NULL;
}

const void *gguf_get_arr(const gguf_file *f, const char *key, gguf_vtype type, uint64_t *n)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->val.type != GGUF_ARRAY || kv->val.arr.type != type)
        return NULL;
    *n = kv->val.arr.n;
    return kv->val.arr.data;
}
