/* rowops_avx2.c - rowops.h compiled with AVX2+FMA (see CMakeLists: *_avx2.c). Only reached
 * through llmri_rowops_get() after CPU detection. */
#define LLMR_ROWOPS_IMPL
#include "model/rowops.h"

const llmr_rowops llmr_rowops_avx2 = {rowops_swiglu, rowops_softmax, rowops_to_f16,
                                          rowops_geglu, rowops_softcap, rowops_softmax_window};
