/* gguf.h - the GGUF container format: reader (v1, v2, v3) and writer.
 *
 * Layout (all little-endian), per ggml's docs/gguf.md:
 *   magic "GGUF" | u32 version | n_tensors | n_kv | kv... | tensor infos... | pad | data
 * v1 writes n_tensors, n_kv, string lengths, array lengths and dimensions as u32; v2 and v3
 * as u64. Tensor offsets are relative to the data section, which starts at the first
 * multiple of general.alignment (default 32) after the tensor infos.
 */
#ifndef LLMR_GGUF_H
#define LLMR_GGUF_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GGUF metadata value types (the ids are the file format's). */
typedef enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12,
    GGUF_VTYPE_COUNT
} gguf_vtype;

/* ggml tensor type ids used by name in the code (the full table is in gguf_types.c). */
enum {
    LLMR_TYPE_F32 = 0, LLMR_TYPE_F16 = 1, LLMR_TYPE_Q4_0 = 2, LLMR_TYPE_Q4_1 = 3,
    LLMR_TYPE_Q5_0 = 6, LLMR_TYPE_Q5_1 = 7, LLMR_TYPE_Q8_0 = 8, LLMR_TYPE_Q8_1 = 9,
    LLMR_TYPE_Q2_K = 10, LLMR_TYPE_Q3_K = 11, LLMR_TYPE_Q4_K = 12, LLMR_TYPE_Q5_K = 13,
    LLMR_TYPE_Q6_K = 14, LLMR_TYPE_Q8_K = 15, LLMR_TYPE_IQ4_NL = 20, LLMR_TYPE_BF16 = 30,
    LLMR_TYPE_COUNT = 40     /* one past the largest id we know */
};

/* llmr's row-interleaved ("repacked") layouts (kernels/repack.h), as `llmr quantize --repack`
 * writes them, have type ids of their own, far above ggml's (0..39) and ik_llama.cpp's
 * (up to a few hundred), so that no other program mistakes them for its types:
 *     LLMR_TYPE_REPACKED | rows << 8 | plain
 * `plain` is the type whose blocks the layout holds and `rows` (a power of two, 2..64) the
 * rows per group: Q4_0_R8 is 0x10802 (67586), Q8_0_R8 0x10808 (67592), F16_R16 0x11001
 * (69633). A group holds exactly the bytes of its rows in the plain layout, so the block
 * geometry is the plain type's, and the tensor's row count must be a multiple of `rows`
 * (gguf_open checks it). Whether this build can compute with a layout is the kernels'
 * business (llmri_traits_layout). */
#define LLMR_TYPE_REPACKED 0x10000u

/* The id of `plain` in groups of `rows`; 0 when they cannot form one (F32 is id 0, and is
 * never a repacked id). */
uint32_t gguf_type_repacked(uint32_t plain, uint32_t rows);
/* Whether `id` is a repacked id; when it is, sets *plain and *rows (either may be NULL). */
bool gguf_type_is_repacked(uint32_t id, uint32_t *plain, uint32_t *rows);

/* A string as stored: not necessarily NUL-free, but always NUL-terminated in memory. */
typedef struct gguf_str {
    uint64_t    len;
    const char *ptr;
} gguf_str;

/* A metadata value. Arrays: `arr.data` points at n elements of `arr.type`, packed in the
 * native (little-endian) layout for numbers and bools (1 byte each), as gguf_str for strings,
 * and as gguf_value (each of type GGUF_ARRAY) for nested arrays. */
typedef struct gguf_value {
    gguf_vtype type;
    union {
        uint64_t u64;       /* every unsigned integer type, and bool */
        int64_t  i64;       /* every signed integer type */
        double   f64;       /* F32 and F64 */
        gguf_str str;
        struct {
            gguf_vtype  type;
            uint64_t    n;
            const void *data;
        } arr;
    };
} gguf_value;

typedef struct gguf_kv {
    gguf_str   key;
    gguf_value val;
} gguf_kv;

#define GGUF_MAX_DIMS 4

typedef struct gguf_tensor {
    gguf_str    name;
    uint32_t    n_dims;
    int64_t     ne[GGUF_MAX_DIMS];  /* ne[0] is the row length (fastest varying); unused = 1 */
    uint32_t    type;               /* ggml type id */
    uint64_t    offset;             /* from the start of the data section */
    uint64_t    nbytes;
    uint64_t    n_elements;
    const void *data;               /* into the mapping; valid until gguf_close */
} gguf_tensor;

typedef struct gguf_file {
    char        *path;
    uint32_t     version;
    uint64_t     n_kv;
    gguf_kv     *kv;
    uint64_t     n_tensors;
    gguf_tensor *tensors;
    uint64_t     alignment;
    uint64_t     data_offset;       /* absolute offset of the data section */
    const uint8_t *base;            /* the whole file */
    uint64_t     size;
    bool         mapped;            /* true: mmap; false: read into the heap */
    void        *priv;              /* reader's arena */
} gguf_file;

/* Opens, validates and maps `path`. On success *out owns the mapping; on failure *out is NULL
 * and err holds a message naming the file, the byte offset and what was expected. */
int gguf_open(const char *path, gguf_file **out, llmr_err *err);

/* Lets the owner of `f` rewrite its tensor data in place (the model layer's load-time
 * repacking) when `on`, and makes it read-only again when not. A mapped file is private
 * (MAP_PRIVATE): a written page becomes this process's own copy and the file is never
 * changed; a heap copy (the read() fallback) is writable already. Returns false, changing
 * nothing, for memory that is not the file's own (gguf_open_mem) or when mprotect fails. */
bool gguf_set_writable(gguf_file *f, bool on);

/* Tells the system that the pages of `n` bytes at `data` (inside f's mapping) will not be read
 * soon: they leave this process's resident set, and a later read maps them again from the
 * page cache or the disk. Only for a mapping that was never made writable (a private page
 * written would be lost); does nothing otherwise, or for memory that is not a mapping.
 * Used by `llmr quantize` so that its resident set stays near one tensor. */
void gguf_release(const gguf_file *f, const void *data, uint64_t n);

/* Same, over `size` bytes at `data`, which the caller keeps alive until gguf_close.
 * `name` is used in messages. Used by the fuzzer and by tests. */
int gguf_open_mem(const void *data, size_t size, const char *name, gguf_file **out,
                  llmr_err *err);

void gguf_close(gguf_file *f);

/* Metadata lookup. NULL when absent. */
const gguf_kv *gguf_find(const gguf_file *f, const char *key);

/* Typed getters: true when the key exists with a compatible type (any integer type for the
 * integer getters, if the value fits; F32/F64 or integers for get_f32). */
bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
bool gguf_get_f32(const gguf_file *f, const char *key, float *out);
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out);
/* A string value, or NULL. */
const char *gguf_get_str(const gguf_file *f, const char *key);
/* An array whose element type is `type`: returns the data (see gguf_value) and sets *n, or
 * NULL when absent or of another element type. */
const void *gguf_get_arr(const gguf_file *f, const char *key, gguf_vtype type, uint64_t *n);

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* Name of a value type ("u32", "string", ...). */
const char *gguf_vtype_name(gguf_vtype t);

/* Bytes of one scalar of value type t in the file; 0 for string, array and unknown types. */
unsigned gguf_vtype_size(gguf_vtype t);

/* Bytes for n elements of tensor type `type` (n a multiple of its block size); false on
 * unknown type, a partial block, or overflow. */
bool gguf_type_nbytes(uint32_t type, uint64_t n, uint64_t *out);

/* ---- writer ----------------------------------------------------------------------------- */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);

/* Setters copy their arguments. Setting a key twice replaces the value (keeps its place). */
int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
int gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
int gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
int gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* An array of n numbers or bools of `type`, packed natively. */
int gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype type, const void *data,
                        uint64_t n);
int gguf_writer_set_str_arr(gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* Copies a value read by the reader, whatever its type (nested arrays included). */
int gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v);

/* Adds a tensor; `data` (nbytes as implied by type and shape) is referenced, not copied, and
 * must stay valid until gguf_writer_write returns. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const int64_t *ne, const void *data);

/* Produces a tensor's bytes when gguf_writer_write reaches it (tensors are written in the
 * order they were added), so that a writer of many large tensors need not hold them all:
 * returns the tensor's bytes, valid until the next call of a source of this writer or until
 * gguf_writer_write returns, or NULL after setting *err (the write then fails with that code
 * and leaves no file). */
typedef const void *(*gguf_tensor_source)(void *user, llmr_err *err);

/* Adds a tensor whose bytes `src(user, err)` produces at write time. */
int gguf_writer_add_tensor_src(gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const int64_t *ne, gguf_tensor_source src,
                               void *user);

/* Writes a version-3 file (or `version` 1/2 when asked; 0 means 3), honouring
 * general.alignment when it has been set. Writes to path.tmp and renames, so a failed write
 * never leaves a partial file under `path`. */
int gguf_writer_write(gguf_writer *w, const char *path, uint32_t version, llmr_err *err);

#endif
