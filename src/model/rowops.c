/* rowops.c - rowops.h at the baseline ISA, and the run-time choice. */
#define LLMR_ROWOPS_IMPL
#include "model/rowops.h"

#include "kernels/kernels.h"

static const llmr_rowops rowops_base = {rowops_swiglu, rowops_softmax, rowops_to_f16,
                                          rowops_geglu, rowops_softcap, rowops_softmax_window};

#if defined(__wasm__)
/* WebAssembly: one build, vectorized for SIMD128 by the compiler (cmake/wasm.cmake). */
const llmr_rowops *llmri_rowops_get(void) { return &rowops_base; }
#else
extern const llmr_rowops llmr_rowops_avx2;

const llmr_rowops *llmri_rowops_get(void)
{
    return llmri_cpu_best_isa() >= LLMR_ISA_AVX2 ? &llmr_rowops_avx2 : &rowops_base;
}
#endif
