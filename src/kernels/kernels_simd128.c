/* kernels_simd128.c - WebAssembly SIMD128 kernels for the hot types (F32, F16, Q4_0, Q8_0,
 * Q4_K, Q6_K), installed over the reference table by traits.c in a WebAssembly build (compiled
 * with -msimd128: cmake/wasm.cmake).
 *
 * SIMD128 has no 8-bit multiply-add: int8 dots widen to int16 and use i32x4.dot_i16x8_s
 * (pairwise products summed into 32 bits), exact for any int8 inputs. Block sums are integers,
 * as in the reference; only the order of the float accumulation differs (tests/wasm checks
 * every kernel against the reference). F16 has no SIMD128 conversion: halves widen to floats
 * with integer arithmetic on the bit patterns (IEEE 754 binary16: 5-bit exponent biased 15,
 * 10-bit fraction), subnormals, infinities and NaN included, bit for bit as fp16.c does.
 */
#include "kernels/quants.h"
#include "kernels/simd.h"

#include <string.h>
#include <wasm_simd128.h>

/* ---- helpers ---------------------------------------------------------------------------- */

/* Sum of a[i] * b[i] over 16 signed bytes, as four 32-bit partial sums. */
static inline v128_t dot_i8x16(v128_t a, v128_t b)
{
    v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
    v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
    return wasm_i32x4_add(lo, hi);
}

static inline int hsum_i32x4(v128_t v)
{
    return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) +
           wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

static inline float hsum_f32x4(v128_t v)
{
    return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
           (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/* Four halves (the low 16 bits of each 32-bit lane) to floats. A normal half's exponent and
 * fraction move up 13 bits and the exponent is rebiased (127 - 15); infinities and NaN
 * (exponent 31) get the rest of the float bias; a subnormal is built as the float
 * 2^-14 * (1 + f/1024) and 2^-14 subtracted, which is exact. */
static inline v128_t h2f_x4(v128_t h)
{
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    v128_t o = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
    const v128_t e = wasm_v128_and(o, wasm_i32x4_splat(0x7c00 << 13));
    o = wasm_i32x4_add(o, wasm_i32x4_splat((127 - 15) << 23));
    const v128_t inf = wasm_i32x4_eq(e, wasm_i32x4_splat(0x7c00 << 13));
    o = wasm_i32x4_add(o, wasm_v128_and(inf, wasm_i32x4_splat((128 - 16) << 23)));
    const v128_t sub = wasm_i32x4_eq(e, wasm_i32x4_splat(0));
    const v128_t den = wasm_f32x4_sub(wasm_i32x4_add(o, wasm_i32x4_splat(1 << 23)),
                                      wasm_f32x4_splat(0x1p-14f));
    o = wasm_v128_bitselect(den, o, sub);
    return wasm_v128_or(o, sign);
}

/* ---- float types --------------------------------------------------------------------------- */

static void f32_vec_dot(int n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    v128_t acc0 = wasm_f32x4_splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
        acc2 = wasm_f32x4_add(acc2, wasm_f32x4_mul(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8)));
        acc3 = wasm_f32x4_add(acc3, wasm_f32x4_mul(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12)));
    }
    for (; i + 4 <= n; i += 4)
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    float sum = hsum_f32x4(wasm_f32x4_add(wasm_f32x4_add(acc0, acc1), wasm_f32x4_add(acc2, acc3)));
    for (; i < n; i++)
        sum += a[i] * b[i];
    *s = sum;
}

/* Eight halves from p, widened to two vectors of four floats. */
static inline void load_h8(const uint16_t *p, v128_t *lo, v128_t *hi)
{
    const v128_t h = wasm_v128_load(p);
    *lo = h2f_x4(wasm_u32x4_extend_low_u16x8(h));
    *hi = h2f_x4(wasm_u32x4_extend_high_u16x8(h));
}

static void f16_vec_dot(int n, float *s, const void *w, const void *x)
{
    const uint16_t *a = w, *b = x;
    v128_t acc0 = wasm_f32x4_splat(0), acc1 = acc0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t a0, a1, b0, b1;
        load_h8(a + i, &a0, &a1);
        load_h8(b + i, &b0, &b1);
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(a0, b0));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(a1, b1));
    }
    float sum = hsum_f32x4(wasm_f32x4_add(acc0, acc1));
    for (; i < n; i++)
        sum += llmri_fp16_to_fp32(a[i]) * llmri_fp16_to_fp32(b[i]);
    *s = sum;
}

static void f16_to_float(const void *src, float *dst, int64_t n)
{
    const uint16_t *h = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t lo, hi;
        load_h8(h + i, &lo, &hi);
        wasm_v128_store(dst + i, lo);
        wasm_v128_store(dst + i + 4, hi);
    }
    for (; i < n; i++)
        dst[i] = llmri_fp16_to_fp32(h[i]);
}

/* ---- Q8_0 and Q4_0 against Q8_0 activations: per block d_w * d_x * (integer dot) ---------- */

static void q8_0_vec_dot(int n, float *s, const void *w, const void *xv)
{
    const block_q8_0 *a = w, *b = xv;
    v128_t acc = wasm_f32x4_splat(0);
    for (int i = 0; i < n / QK8_0; i++) {
        v128_t d = dot_i8x16(wasm_v128_load(a[i].qs), wasm_v128_load(b[i].qs));
        d = wasm_i32x4_add(d, dot_i8x16(wasm_v128_load(a[i].qs + 16), wasm_v128_load(b[i].qs + 16)));
        const float scale = llmri_h2f(a[i].d) * llmri_h2f(b[i].d);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(d), wasm_f32x4_splat(scale)));
    }
    *s = hsum_f32x4(acc);
}

/* Q4_0: low nibbles are values 0..15 of the block, high nibbles 16..31, each q - 8. */
static void q4_0_vec_dot(int n, float *s, const void *w, const void *xv)
{
    const block_q4_0 *a = w;
    const block_q8_0 *b = xv;
    const v128_t m4 = wasm_i8x16_splat(0x0F), k8 = wasm_i8x16_splat(8);
    v128_t acc = wasm_f32x4_splat(0);
    for (int i = 0; i < n / QK4_0; i++) {
        const v128_t q = wasm_v128_load(a[i].qs);
        const v128_t lo = wasm_i8x16_sub(wasm_v128_and(q, m4), k8);
        const v128_t hi = wasm_i8x16_sub(wasm_u8x16_shr(q, 4), k8);
        v128_t d = dot_i8x16(lo, wasm_v128_load(b[i].qs));
        d = wasm_i32x4_add(d, dot_i8x16(hi, wasm_v128_load(b[i].qs + 16)));
        const float scale = llmri_h2f(a[i].d) * llmri_h2f(b[i].d);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(d), wasm_f32x4_splat(scale)));
    }
    *s = hsum_f32x4(acc);
}

/* ---- K-quants against Q8_K activations ----------------------------------------------------- */

/* Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins; in each 64 values (32 bytes of qs) the
 * low nibbles are the first sub-block, the high nibbles the second. The mins meet the
 * activations' 16-value sums (bsums), so they cost no per-value work. */
static void q4_K_vec_dot(int n, float *s, const void *w, const void *xv)
{
    const block_q4_K *a = w;
    const block_q8_K *b = xv;
    const v128_t m4 = wasm_i8x16_splat(0x0F);
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        v128_t isum = wasm_i32x4_splat(0);
        int summ = 0;
        for (int j = 0; j < 4; j++) {
            uint8_t sc0, m0, sc1, m1;
            llmri_k_scale_min(2 * j, a[i].scales, &sc0, &m0);
            llmri_k_scale_min(2 * j + 1, a[i].scales, &sc1, &m1);
            const v128_t q0 = wasm_v128_load(a[i].qs + 32 * j);
            const v128_t q1 = wasm_v128_load(a[i].qs + 32 * j + 16);
            const int8_t *y = b[i].qs + 64 * j;
            v128_t d0 = wasm_i32x4_add(dot_i8x16(wasm_v128_and(q0, m4), wasm_v128_load(y)),
                                       dot_i8x16(wasm_v128_and(q1, m4), wasm_v128_load(y + 16)));
            v128_t d1 = wasm_i32x4_add(dot_i8x16(wasm_u8x16_shr(q0, 4), wasm_v128_load(y + 32)),
                                       dot_i8x16(wasm_u8x16_shr(q1, 4), wasm_v128_load(y + 48)));
            isum = wasm_i32x4_add(isum, wasm_i32x4_mul(d0, wasm_i32x4_splat(sc0)));
            isum = wasm_i32x4_add(isum, wasm_i32x4_mul(d1, wasm_i32x4_splat(sc1)));
            summ += m0 * (b[i].bsums[4 * j] + b[i].bsums[4 * j + 1]) +
                    m1 * (b[i].bsums[4 * j + 2] + b[i].bsums[4 * j + 3]);
        }
        sum += (b[i].d * llmri_h2f(a[i].d)) * (float)hsum_i32x4(isum) -
               (b[i].d * llmri_h2f(a[i].dmin)) * (float)summ;
    }
    *s = sum;
}

/* Q6_K: per 128 values, ql bytes 0-31 and 32-63 give four 32-value groups by low and high
 * nibble, and qh byte l their two high bits at shifts 0, 2, 4, 6; values are offset by 32;
 * one int8 scale per 16 values. */
static void q6_K_vec_dot(int n, float *s, const void *w, const void *xv)
{
    const block_q6_K *a = w;
    const block_q8_K *b = xv;
    const v128_t m4 = wasm_i8x16_splat(0x0F), m2 = wasm_i8x16_splat(3), k32 = wasm_i8x16_splat(32);
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        v128_t isum = wasm_i32x4_splat(0);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
            const int8_t *y = b[i].qs + 128 * h, *sc = a[i].scales + 8 * h;
            for (int c = 0; c < 32; c += 16) {
                const v128_t la = wasm_v128_load(ql + c), lb = wasm_v128_load(ql + 32 + c);
                const v128_t hb = wasm_v128_load(qh + c);
                v128_t v[4];
                v[0] = wasm_v128_or(wasm_v128_and(la, m4), wasm_i8x16_shl(wasm_v128_and(hb, m2), 4));
                v[1] = wasm_v128_or(wasm_v128_and(lb, m4),
                                    wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(hb, 2), m2), 4));
                v[2] = wasm_v128_or(wasm_u8x16_shr(la, 4),
                                    wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(hb, 4), m2), 4));
                v[3] = wasm_v128_or(wasm_u8x16_shr(lb, 4), wasm_i8x16_shl(wasm_u8x16_shr(hb, 6), 4));
                for (int g = 0; g < 4; g++) {
                    /* group g holds values 32g + c .. 32g + c + 15 of this half */
                    const v128_t d = dot_i8x16(wasm_i8x16_sub(v[g], k32),
                                               wasm_v128_load(y + 32 * g + c));
                    isum = wasm_i32x4_add(isum, wasm_i32x4_mul(d, wasm_i32x4_splat(sc[2 * g + c / 16])));
                }
            }
        }
        sum += (b[i].d * llmri_h2f(a[i].d)) * (float)hsum_i32x4(isum);
    }
    *s = sum;
}

void llmri_kernels_simd128_install(llmr_type_traits *t)
{
    t[LLMR_TYPE_F32].vec_dot = f32_vec_dot;
    t[LLMR_TYPE_F16].vec_dot = f16_vec_dot;
    t[LLMR_TYPE_F16].to_float = f16_to_float;
    t[LLMR_TYPE_Q8_0].vec_dot = q8_0_vec_dot;
    t[LLMR_TYPE_Q4_0].vec_dot = q4_0_vec_dot;
    t[LLMR_TYPE_Q4_K].vec_dot = q4_K_vec_dot;
    t[LLMR_TYPE_Q6_K].vec_dot = q6_K_vec_dot;
}
