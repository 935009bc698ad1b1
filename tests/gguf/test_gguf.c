/* test_gguf.c - the GGUF reader and writer: real files, round trips, and hostile headers. */
#include "test_util.h"
#include "gguf/gguf.h"

#include <dirent.h>
#include <unistd.h>

/* ---- a tiny builder for hand-made headers ------------------------------------------------ */
typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void b_put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}
static void b_u32(buf *b, uint32_t v) { b_put(b, &v, 4); }
static void b_u64(buf *b, uint64_t v) { b_put(b, &v, 8); }
static void b_str(buf *b, const char *s)
{
    b_u64(b, strlen(s));
    b_put(b, s, strlen(s));
}
static void b_pad(buf *b, size_t align)
{
    while (b->len % align)
        b_put(b, "", 1);
}

static void b_header(buf *b, uint64_t n_tensors, uint64_t n_kv)
{
    b_put(b, "GGUF", 4);
    b_u32(b, 3);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}

/* One F32 tensor info: name, 1 dim of ne, at offset. */
static void b_tensor(buf *b, const char *name, uint64_t ne, uint32_t type, uint64_t offset)
{
    b_str(b, name);
    b_u32(b, 1);
    b_u64(b, ne);
    b_u32(b, type);
    b_u64(b, offset);
}

static int open_buf(buf *b, llmr_err *err)
{
    gguf_file *f = NULL;
    int rc = gguf_open_mem(b->p, b->len, "test.gguf", &f, err);
    gguf_close(f);
    free(b->p);
    return rc;
}

static void expect_error(buf *b, const char *needle)
{
    llmr_err err = {0};
    int rc = open_buf(b, &err);
    assert_int_not_equal(rc, LLMR_OK);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_non_null(strstr(err.msg, "test.gguf"));
}

/* ---- valid hand-made files --------------------------------------------------------------- */

static void minimal_file_with_every_value_type_parses(void **state)
{
    buf b = {0};
    b_header(&b, 1, 6);
    b_str(&b, "a.u8"); b_u32(&b, GGUF_U8); b_put(&b, "\xfe", 1);
    b_str(&b, "a.i16"); b_u32(&b, GGUF_I16); b_put(&b, "\xff\xff", 2);
    b_str(&b, "a.f64"); b_u32(&b, GGUF_F64); double d = 2.5; b_put(&b, &d, 8);
    b_str(&b, "a.str"); b_u32(&b, GGUF_STRING); b_str(&b, "hello");
    b_str(&b, "a.nested"); b_u32(&b, GGUF_ARRAY); b_u32(&b, GGUF_ARRAY); b_u64(&b, 2);
    b_u32(&b, GGUF_I32); b_u64(&b, 2); b_u32(&b, 7); b_u32(&b, 8);
    b_u32(&b, GGUF_STRING); b_u64(&b, 1); b_str(&b, "x");
    b_str(&b, "a.bools"); b_u32(&b, GGUF_ARRAY); b_u32(&b, GGUF_BOOL); b_u64(&b, 3);
    b_put(&b, "\x01\x00\x01", 3);
    b_tensor(&b, "t", 4, LLMR_TYPE_F32, 0);
    b_pad(&b, 32);
    float data[4] = {1, 2, 3, 4};
    b_put(&b, data, sizeof data);

    gguf_file *f;
    llmr_err err = {0};
    assert_int_equal(gguf_open_mem(b.p, b.len, "mem", &f, &err), LLMR_OK);
    uint32_t u;
    assert_true(gguf_get_u32(f, "a.u8", &u));
    assert_int_equal(u, 254);
    int64_t i;
    assert_true(gguf_get_i64(f, "a.i16", &i));
    assert_int_equal(i, -1);
    assert_false(gguf_get_u32(f, "a.i16", &u));   /* negative does not fit unsigned */
    float fl;
    assert_true(gguf_get_f32(f, "a.f64", &fl));
    assert_true(fl == 2.5f);
    assert_string_equal(gguf_get_str(f, "a.str"), "hello");
    const gguf_kv *kv = gguf_find(f, "a.nested");
    assert_non_null(kv);
    assert_int_equal(kv->val.arr.n, 2);
    const gguf_value *inner = kv->val.arr.data;
    assert_int_equal(inner[0].arr.type, GGUF_I32);
    assert_int_equal(((const int32_t *)inner[0].arr.data)[1], 8);
    assert_string_equal(((const gguf_str *)inner[1].arr.data)[0].ptr, "x");
    uint64_t n;
    const uint8_t *bools = gguf_get_arr(f, "a.bools", GGUF_BOOL, &n);
    assert_int_equal(n, 3);
    assert_int_equal(bools[2], 1);
    const gguf_tensor *t = gguf_find_tensor(f, "t");
    assert_non_null(t);
    assert_int_equal(t->nbytes, 16);
    assert_true(((const float *)t->data)[3] == 4.0f);
    assert_null(gguf_find_tensor(f, "nope"));
    gguf_close(f);
    free(b.p);
}

/* ---- hostile headers: each gives a precise error ----------------------------------------- */

static void bad_magic_is_rejected(void **state)
{
    buf b = {0};
    b_put(&b, "GGML", 4);
    b_u32(&b, 3);
    b_u64(&b, 0);
    b_u64(&b, 0);
    expect_error(&b, "bad magic at byte 0");
}

static void unsupported_version_is_rejected(void **state)
{
    buf b = {0};
    b_put(&b, "GGUF", 4);
    b_u32(&b, 4);
    b_u64(&b, 0);
    b_u64(&b, 0);
    expect_error(&b, "unsupported GGUF version 4");
}

static void truncated_header_names_offset(void **state)
{
    buf b = {0};
    b_put(&b, "GGUF", 4);
    b_u32(&b, 3);
    b_u64(&b, 0);
    expect_error(&b, "truncated at byte 16");
}

static void huge_kv_count_is_rejected_before_allocating(void **state)
{
    buf b = {0};
    b_header(&b, 0, UINT64_MAX / 2);
    expect_error(&b, "more than the");
}

static void string_length_beyond_file(void **state)
{
    buf b = {0};
    b_header(&b, 0, 1);
    b_u64(&b, 1000);
    b_put(&b, "abc", 3);
    expect_error(&b, "beyond the end of the file");
}

static void array_count_beyond_file(void **state)
{
    buf b = {0};
    b_header(&b, 0, 1);
    b_str(&b, "k");
    b_u32(&b, GGUF_ARRAY);
    b_u32(&b, GGUF_U32);
    b_u64(&b, 1ull << 40);
    expect_error(&b, "claims 1099511627776 elements");
}

static void unknown_value_type(void **state)
{
    buf b = {0};
    b_header(&b, 0, 1);
    b_str(&b, "k");
    b_u32(&b, 99);
    expect_error(&b, "unknown value type 99");
}

static void duplicate_key(void **state)
{
    buf b = {0};
    b_header(&b, 0, 2);
    for (int i = 0; i < 2; i++) {
        b_str(&b, "same.key");
        b_u32(&b, GGUF_U32);
        b_u32(&b, 1);
    }
    expect_error(&b, "duplicate metadata key 'same.key'");
}

static void deeply_nested_arrays(void **state)
{
    buf b = {0};
    b_header(&b, 0, 1);
    b_str(&b, "deep");
    b_u32(&b, GGUF_ARRAY);
    for (int i = 0; i < 20; i++) {
        b_u32(&b, GGUF_ARRAY);
        b_u64(&b, 1);
    }
    b_u32(&b, GGUF_U8);
    b_u64(&b, 0);
    expect_error(&b, "nested deeper");
}

static void build_one_tensor(buf *b, const char *name, uint64_t ne, uint32_t type, uint64_t off,
                             size_t data_bytes)
{
    b_header(b, 1, 0);
    b_tensor(b, name, ne, type, off);
    b_pad(b, 32);
    for (size_t i = 0; i < data_bytes; i++)
        b_put(b, "", 1);
}

static void tensor_data_out_of_bounds(void **state)
{
    buf b = {0};
    build_one_tensor(&b, "w", 64, LLMR_TYPE_F32, 0, 100);
    expect_error(&b, "tensor 'w': data ends at byte");
}

static void tensor_offset_misaligned(void **state)
{
    buf b = {0};
    build_one_tensor(&b, "w", 4, LLMR_TYPE_F32, 4, 64);
    expect_error(&b, "not a multiple of the alignment 32");
}

static void tensor_unknown_type(void **state)
{
    buf b = {0};
    build_one_tensor(&b, "w", 4, 4 /* Q4_2, long gone */, 0, 64);
    expect_error(&b, "unknown type id 4");
}

static void tensor_partial_block(void **state)
{
    buf b = {0};
    build_one_tensor(&b, "w", 33, LLMR_TYPE_Q4_0, 0, 64);
    expect_error(&b, "not a multiple of Q4_0's block size 32");
}

static void repacked_ids_have_the_plain_geometry_and_names(void **state)
{
    (void)state;
    assert_int_equal(gguf_type_repacked(LLMR_TYPE_Q8_0, 8), 0x10808);
    assert_int_equal(gguf_type_repacked(LLMR_TYPE_F16, 16), 0x11001);
    assert_int_equal(gguf_type_repacked(LLMR_TYPE_F32, 8), 0);     /* id 0 + 0x800 is ambiguous */
    assert_int_equal(gguf_type_repacked(LLMR_TYPE_Q8_0, 3), 0);    /* not a power of two */
    assert_int_equal(gguf_type_repacked(LLMR_TYPE_Q8_0, 128), 0);
    assert_int_equal(gguf_type_repacked(4, 8), 0);                 /* no plain type 4 */
    llmr_type_info ti;
    assert_true(llmr_type_get(0x10808, &ti));
    assert_string_equal(ti.name, "Q8_0_R8");
    assert_int_equal(ti.block_size, 32);
    assert_int_equal(ti.type_size, 34);
    assert_true(llmr_type_get(0x11001, &ti));
    assert_string_equal(ti.name, "F16_R16");
    uint32_t plain = 0, rows = 0;
    assert_true(gguf_type_is_repacked(0x10402, &plain, &rows));
    assert_int_equal(plain, LLMR_TYPE_Q4_0);
    assert_int_equal(rows, 4);
    assert_false(gguf_type_is_repacked(LLMR_TYPE_Q8_0, NULL, NULL));
    assert_false(llmr_type_get(0x10308, NULL));
    assert_false(llmr_type_get(0x20808, NULL));
    assert_false(llmr_type_get(0x10800, NULL));
}

static void repacked_tensor_needs_whole_groups(void **state)
{
    (void)state;
    buf b = {0};
    build_one_tensor(&b, "w", 32, 0x10808, 0, 64);   /* one row of Q8_0 in groups of 8 */
    expect_error(&b, "tensor 'w' has type Q8_0_R8, whose groups are 8 rows, but 1 rows");
}

static void tensor_dimension_overflow(void **state)
{
    buf b = {0};
    b_header(&b, 1, 0);
    b_str(&b, "w");
    b_u32(&b, 3);
    b_u64(&b, 1ull << 32);
    b_u64(&b, 1ull << 32);
    b_u64(&b, 4);
    b_u32(&b, LLMR_TYPE_F32);
    b_u64(&b, 0);
    expect_error(&b, "overflow");
}

static void too_many_dimensions(void **state)
{
    buf b = {0};
    b_header(&b, 1, 0);
    b_str(&b, "w");
    b_u32(&b, 5);
    for (int i = 0; i < 8; i++)
        b_u64(&b, 1);
    expect_error(&b, "5 dimensions");
}

static void duplicate_tensor_and_overlap(void **state)
{
    buf b = {0};
    b_header(&b, 2, 0);
    b_tensor(&b, "w", 8, LLMR_TYPE_F32, 0);
    b_tensor(&b, "w", 8, LLMR_TYPE_F32, 32);
    b_pad(&b, 32);
    for (int i = 0; i < 64; i++)
        b_put(&b, "", 1);
    expect_error(&b, "duplicate tensor name 'w'");

    buf c = {0};
    b_header(&c, 2, 0);
    b_tensor(&c, "a", 16, LLMR_TYPE_F32, 0);
    b_tensor(&c, "b", 8, LLMR_TYPE_F32, 32);
    b_pad(&c, 32);
    for (int i = 0; i < 96; i++)
        b_put(&c, "", 1);
    expect_error(&c, "overlap");
}

static void bad_alignment_value(void **state)
{
    buf b = {0};
    b_header(&b, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, GGUF_U32);
    b_u32(&b, 24);
    expect_error(&b, "power of two");
}

static void missing_file_and_directory_are_io_errors(void **state)
{
    gguf_file *f;
    llmr_err err = {0};
    assert_int_equal(gguf_open("/nonexistent/x.gguf", &f, &err), LLMR_ERR_IO);
    assert_null(f);
    assert_non_null(strstr(err.msg, "/nonexistent/x.gguf"));
    assert_int_equal(gguf_open("/tmp", &f, &err), LLMR_ERR_IO);
}

/* ---- real files ------------------------------------------------------------------------- */

/* Every .gguf under the shared folders, for the round trip and mutation tests. */
static int list_shared(char paths[][1024], int max)
{
    static const char *dirs[] = {"models", "vocab"};
    int n = 0;
    for (size_t d = 0; d < 2; d++) {
        const char *dir = shared_path(dirs[d]);
        if (!dir)
            continue;
        char dcopy[512];
        snprintf(dcopy, sizeof dcopy, "%s", dir);
        DIR *dh = opendir(dcopy);
        struct dirent *e;
        while (dh && (e = readdir(dh)) && n < max) {
            size_t l = strlen(e->d_name);
            if (l > 5 && !strcmp(e->d_name + l - 5, ".gguf"))
                snprintf(paths[n++], 1024, "%s/%s", dcopy, e->d_name);
        }
        if (dh)
            closedir(dh);
    }
    return n;
}

static bool values_equal(const gguf_value *a, const gguf_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case GGUF_STRING:
        return a->str.len == b->str.len && !memcmp(a->str.ptr, b->str.ptr, a->str.len);
    case GGUF_ARRAY:
        if (a->arr.type != b->arr.type || a->arr.n != b->arr.n)
            return false;
        for (uint64_t i = 0; i < a->arr.n; i++) {
            if (a->arr.type == GGUF_STRING) {
                const gguf_str *x = (const gguf_str *)a->arr.data + i;
                const gguf_str *y = (const gguf_str *)b->arr.data + i;
                if (x->len != y->len || memcmp(x->ptr, y->ptr, x->len))
                    return false;
            } else if (a->arr.type == GGUF_ARRAY) {
                if (!values_equal((const gguf_value *)a->arr.data + i,
                                  (const gguf_value *)b->arr.data + i))
                    return false;
            }
        }
        if (a->arr.type != GGUF_STRING && a->arr.type != GGUF_ARRAY) {
            unsigned es = a->arr.type == GGUF_U8 || a->arr.type == GGUF_I8 ||
                          a->arr.type == GGUF_BOOL ? 1 : a->arr.type == GGUF_U16 ||
                          a->arr.type == GGUF_I16 ? 2 : a->arr.type == GGUF_U64 ||
                          a->arr.type == GGUF_I64 || a->arr.type == GGUF_F64 ? 8 : 4;
            return !memcmp(a->arr.data, b->arr.data, a->arr.n * es);
        }
        return true;
    case GGUF_F32: case GGUF_F64:
        return a->f64 == b->f64;
    default:
        return a->u64 == b->u64;
    }
}

static void every_shared_file_round_trips(void **state)
{
    REQUIRE_SHARED(dir, "models");
    (void)dir;
    static char paths[64][1024];
    int n = list_shared(paths, 64);
    assert_true(n >= 5);
    char out[] = "/tmp/llmr-roundtrip-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    for (int i = 0; i < n; i++) {
        gguf_file *a, *b;
        llmr_err err = {0};
        if (gguf_open(paths[i], &a, &err))
            fail_msg("%s", err.msg);
        gguf_writer *w = gguf_writer_new();
        for (uint64_t k = 0; k < a->n_kv; k++)
            assert_int_equal(gguf_writer_set_value(w, a->kv[k].key.ptr, &a->kv[k].val), 0);
        for (uint64_t t = 0; t < a->n_tensors; t++) {
            const gguf_tensor *x = &a->tensors[t];
            assert_int_equal(gguf_writer_add_tensor(w, x->name.ptr, x->type, x->n_dims, x->ne,
                                                    x->data), 0);
        }
        assert_int_equal(gguf_writer_write(w, out, 0, &err), 0);
        gguf_writer_free(w);
        if (gguf_open(out, &b, &err))
            fail_msg("re-reading %s: %s", paths[i], err.msg);
        assert_int_equal(b->version, 3);
        assert_int_equal(a->n_kv, b->n_kv);
        assert_int_equal(a->n_tensors, b->n_tensors);
        for (uint64_t k = 0; k < a->n_kv; k++) {
            assert_string_equal(a->kv[k].key.ptr, b->kv[k].key.ptr);
            if (!values_equal(&a->kv[k].val, &b->kv[k].val))
                fail_msg("%s: value of %s differs after round trip", paths[i], a->kv[k].key.ptr);
        }
        for (uint64_t t = 0; t < a->n_tensors; t++) {
            const gguf_tensor *x = &a->tensors[t], *y = gguf_find_tensor(b, x->name.ptr);
            assert_non_null(y);
            assert_int_equal(x->type, y->type);
            assert_int_equal(x->n_dims, y->n_dims);
            assert_memory_equal(x->ne, y->ne, sizeof x->ne);
            assert_int_equal(x->nbytes, y->nbytes);
            assert_memory_equal(x->data, y->data, x->nbytes);
            assert_int_equal((uintptr_t)y->data % b->alignment, 0);
        }
        gguf_close(a);
        gguf_close(b);
    }
    unlink(out);
}

static void v1_file_reads_like_v3(void **state)
{
    REQUIRE_SHARED(v1, "models/stories260K-gguf-v1.gguf");
    REQUIRE_SHARED(v3, "models/stories260K.gguf");
    gguf_file *a, *b;
    llmr_err err = {0};
    assert_int_equal(gguf_open(v1, &a, &err), 0);
    assert_int_equal(gguf_open(v3, &b, &err), 0);
    assert_int_equal(a->version, 1);
    uint32_t n_layer = 0, n_embd = 0;
    assert_true(gguf_get_u32(a, "llama.block_count", &n_layer));
    assert_true(gguf_get_u32(a, "llama.embedding_length", &n_embd));
    assert_int_equal(n_layer, 5);
    assert_int_equal(n_embd, 64);
    assert_int_equal(a->n_tensors, b->n_tensors);
    for (uint64_t t = 0; t < a->n_tensors; t++) {
        const gguf_tensor *x = &a->tensors[t], *y = gguf_find_tensor(b, x->name.ptr);
        assert_non_null(y);
        assert_int_equal(x->nbytes, y->nbytes);
        assert_memory_equal(x->data, y->data, x->nbytes);
    }
    gguf_close(a);
    gguf_close(b);
}

/* Truncations at many points and random byte flips of real files must give a clean error or
 * a clean parse: never a crash, and (under ASan/UBSan) never a sanitizer report. */
static void truncated_and_flipped_real_files_fail_cleanly(void **state)
{
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    size_t len = 0;
    char *data = slurp(path, &len);
    assert_non_null(data);
    uint8_t *copy = malloc(len);
    llmr_err err = {0};
    gguf_file *f;
    int clean_errors = 0;
    /* Truncations: every byte of the header region, then coarser steps. */
    for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 4093) {
        memcpy(copy, data, cut);
        int rc = gguf_open_mem(copy, cut, "cut.gguf", &f, &err);
        if (rc == 0) {
            gguf_close(f);
            fail_msg("truncation at %zu bytes parsed", cut);
        }
        assert_true(err.msg[0] != 0);
        clean_errors++;
    }
    unsigned seed = 12345;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, data, len);
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)rand_r(&seed) % (round % 2 ? len : 4096);
            copy[at] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
        }
        if (gguf_open_mem(copy, len, "flip.gguf", &f, &err) == 0)
            gguf_close(f);
        else
            assert_true(err.msg[0] != 0);
    }
    assert_true(clean_errors > 4000);
    free(copy);
    free(data);
}

static void writer_honours_alignment_and_replaces_keys(void **state)
{
    gguf_writer *w = gguf_writer_new();
    assert_int_equal(gguf_writer_set_u32(w, "general.alignment", 64), 0);
    assert_int_equal(gguf_writer_set_str(w, "general.name", "first"), 0);
    assert_int_equal(gguf_writer_set_str(w, "general.name", "second"), 0);
    const char *toks[] = {"a", "bb", ""};
    assert_int_equal(gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 3), 0);
    float x[3] = {1, 2, 3}, y[16] = {0};
    y[15] = 7;
    int64_t ne1[1] = {3}, ne2[2] = {8, 2};
    assert_int_equal(gguf_writer_add_tensor(w, "x", LLMR_TYPE_F32, 1, ne1, x), 0);
    assert_int_equal(gguf_writer_add_tensor(w, "y", LLMR_TYPE_F32, 2, ne2, y), 0);
    assert_int_not_equal(gguf_writer_add_tensor(w, "x", LLMR_TYPE_F32, 1, ne1, x), 0);
    char out[] = "/tmp/llmr-writer-XXXXXX";
    int fd = mkstemp(out);
    close(fd);
    llmr_err err = {0};
    assert_int_equal(gguf_writer_write(w, out, 0, &err), 0);
    gguf_writer_free(w);
    gguf_file *f;
    assert_int_equal(gguf_open(out, &f, &err), 0);
    assert_int_equal(f->alignment, 64);
    assert_int_equal(f->n_kv, 3);
    assert_string_equal(gguf_get_str(f, "general.name"), "second");
    uint64_t n;
    const gguf_str *s = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_STRING, &n);
    assert_int_equal(n, 3);
    assert_string_equal(s[1].ptr, "bb");
    const gguf_tensor *ty = gguf_find_tensor(f, "y");
    assert_int_equal(ty->offset % 64, 0);
    assert_int_equal(f->data_offset % 64, 0);
    assert_true(((const float *)ty->data)[15] == 7.0f);
    gguf_close(f);
    unlink(out);
}

typedef struct src_state {
    int calls;
    float data[4];
} src_state;

static const void *fill_tensor(void *user, llmr_err *err)
{
    src_state *s = user;
    s->calls++;
    if (s->data[0] < 0) {
        llmri_err_set(err, LLMR_ERR_NOMEM, "source failed");
        return NULL;
    }
    return s->data;
}

static void writer_source_fills_data_at_write_time(void **state)
{
    (void)state;
    src_state a = {0, {1, 2, 3, 4}}, bad = {0, {-1, 0, 0, 0}};
    int64_t ne[1] = {4};
    char out[] = "/tmp/llmr-writer-XXXXXX";
    int fd = mkstemp(out);
    close(fd);
    unlink(out);
    /* a source that fails fails the write and leaves neither the file nor the temporary */
    gguf_writer *w = gguf_writer_new();
    assert_int_equal(gguf_writer_add_tensor_src(w, "a", LLMR_TYPE_F32, 1, ne, fill_tensor, &a), 0);
    assert_int_equal(gguf_writer_add_tensor_src(w, "b", LLMR_TYPE_F32, 1, ne, fill_tensor, &bad),
                     0);
    assert_int_equal(a.calls, 0);   /* nothing is made before the write */
    llmr_err err = {0};
    assert_int_equal(gguf_writer_write(w, out, 0, &err), LLMR_ERR_NOMEM);
    assert_string_equal(err.msg, "source failed");
    gguf_writer_free(w);
    assert_int_not_equal(access(out, F_OK), 0);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    assert_int_not_equal(access(tmp, F_OK), 0);
    /* a good one writes what the source returned */
    w = gguf_writer_new();
    a.calls = 0;
    assert_int_equal(gguf_writer_add_tensor_src(w, "a", LLMR_TYPE_F32, 1, ne, fill_tensor, &a), 0);
    assert_int_equal(gguf_writer_write(w, out, 0, &err), 0);
    gguf_writer_free(w);
    assert_int_equal(a.calls, 1);
    gguf_file *f;
    assert_int_equal(gguf_open(out, &f, &err), 0);
    assert_memory_equal(gguf_find_tensor(f, "a")->data, a.data, sizeof a.data);
    gguf_close(f);
    unlink(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_file_with_every_value_type_parses),
        cmocka_unit_test(bad_magic_is_rejected),
        cmocka_unit_test(unsupported_version_is_rejected),
        cmocka_unit_test(truncated_header_names_offset),
        cmocka_unit_test(huge_kv_count_is_rejected_before_allocating),
        cmocka_unit_test(string_length_beyond_file),
        cmocka_unit_test(array_count_beyond_file),
        cmocka_unit_test(unknown_value_type),
        cmocka_unit_test(duplicate_key),
        cmocka_unit_test(deeply_nested_arrays),
        cmocka_unit_test(tensor_data_out_of_bounds),
        cmocka_unit_test(tensor_offset_misaligned),
        cmocka_unit_test(tensor_unknown_type),
        cmocka_unit_test(tensor_partial_block),
        cmocka_unit_test(tensor_dimension_overflow),
        cmocka_unit_test(too_many_dimensions),
        cmocka_unit_test(duplicate_tensor_and_overlap),
        cmocka_unit_test(bad_alignment_value),
        cmocka_unit_test(missing_file_and_directory_are_io_errors),
        cmocka_unit_test(every_shared_file_round_trips),
        cmocka_unit_test(v1_file_reads_like_v3),
        cmocka_unit_test(truncated_and_flipped_real_files_fail_cleanly),
        cmocka_unit_test(writer_honours_alignment_and_replaces_keys),
        cmocka_unit_test(writer_source_fills_data_at_write_time),
        cmocka_unit_test(repacked_ids_have_the_plain_geometry_and_names),
        cmocka_unit_test(repacked_tensor_needs_whole_groups),
    };
    return cmocka_run_group_tests_name("gguf", tests, NULL, NULL);
}
