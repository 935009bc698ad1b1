/* tensor.h - whole-tensor helpers on top of the kernels: dequantize a GGUF tensor row by row,
 * and fingerprint its values (what `llmr tensor --sha256` prints and the tests check). */
#ifndef LLMR_KERNELS_TENSOR_H
#define LLMR_KERNELS_TENSOR_H

#include "core/error.h"
#include "gguf/gguf.h"

/* Calls fn(user, row, ne0) for every row of `t` in storage order with its values as f32
 * (the reference dequantization, bit-identical to ggml's to_float). fn returns 0 to go on,
 * anything else to stop (returned as is). LLMR_ERR_UNSUPPORTED for types without kernels,
 * LLMR_ERR_NOMEM when the row buffer cannot be allocated. */
int llmri_tensor_rows(const gguf_tensor *t, int (*fn)(void *user, const float *row, int64_t n),
                     void *user, llmr_err *err);

/* SHA-256 of the dequantized values as little-endian float32, row-major as stored;
 * `hex` receives 64 lower-case hex digits and a NUL. Result codes as llmri_tensor_rows. */
int llmri_tensor_sha256(const gguf_tensor *t, char hex[65], llmr_err *err);

#endif
