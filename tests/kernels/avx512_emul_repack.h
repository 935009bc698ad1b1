/* avx512_emul_repack.h - emulations of the AVX-512 intrinsics repack_avx512.c and
 * repack_r16_avx512.c use beyond those test_avx512_emul.c defines (included there, after its
 * own, before those files). */
static inline void emu_storeu_ps(float *p, emu_m512 a) { memcpy(p, a.f, 64); }
#undef _mm512_storeu_ps
#define _mm512_storeu_ps emu_storeu_ps
/* vpmovzxwd: each of 16 unsigned 16-bit values zero-extended into its 32-bit lane */
static inline emu_m512i emu_cvtepu16_epi32(__m256i a)
{
    uint16_t h[16];
    memcpy(h, &a, 32);
    emu_m512i r;
    for (int i = 0; i < 16; i++)
        r.i[i] = (int32_t)h[i];
    return r;
}
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32 emu_cvtepu16_epi32
