/* avx512_emul_repack.h - emulations of the AVX-512 intrinsics repack_avx512.c uses beyond
 * those test_avx512_emul.c defines (included there, after its own, before the file). */
static inline void emu_storeu_ps(float *p, emu_m512 a) { memcpy(p, a.f, 64); }
#undef _mm512_storeu_ps
#define _mm512_storeu_ps emu_storeu_ps
