// GEMM entry points (contracts in mg_gemm.h): argument checks, ISA choice,
// the direct path for small shapes and the packed, cache-blocked, threaded
// path. The driver is written once in gemm_tmpl.h and instantiated here for
// float32 and float64; the micro-kernels live in ukr_generic.c / ukr_x86.c.
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm_internal.h"

// The driver's scratch tile (edge tiles) must hold every kernel's MR x NR.
_Static_assert(MG_GEMM_AVX512_F32_MR * MG_GEMM_AVX512_F32_NR <=
                   MG_GEMM_MAX_TILE,
               "scratch tile too small");
_Static_assert(MG_GEMM_AVX512_F64_MR * MG_GEMM_AVX512_F64_NR <=
                   MG_GEMM_MAX_TILE,
               "scratch tile too small");
_Static_assert(MG_GEMM_AVX2_F32_MR * MG_GEMM_AVX2_F32_NR <= MG_GEMM_MAX_TILE,
               "scratch tile too small");
_Static_assert(MG_GEMM_AVX2_F64_MR * MG_GEMM_AVX2_F64_NR <= MG_GEMM_MAX_TILE,
               "scratch tile too small");
_Static_assert(MG_GEMM_GENERIC_F32_MR * MG_GEMM_GENERIC_F32_NR <=
                   MG_GEMM_MAX_TILE,
               "scratch tile too small");
_Static_assert(MG_GEMM_GENERIC_F64_MR * MG_GEMM_GENERIC_F64_NR <=
                   MG_GEMM_MAX_TILE,
               "scratch tile too small");

#define T float
#define SFX f32
#define KERNEL mg_gemm_kernel_f32
#define EXP expf
#define TANH tanhf
#include "gemm_tmpl.h"
#undef T
#undef SFX
#undef KERNEL
#undef EXP
#undef TANH

#define T double
#define SFX f64
#define KERNEL mg_gemm_kernel_f64
#define EXP exp
#define TANH tanh
#include "gemm_tmpl.h"
#undef T
#undef SFX
#undef KERNEL
#undef EXP
#undef TANH

int mg_gemm_blocking(int isa, int dtype_bytes, mg_index_t out[5]) {
    if (isa < 0 || isa >= MG_ISA_COUNT)
        return 0;
    if (dtype_bytes == 4) {
        const mg_gemm_kernel_f32 *kr = kernel_for_f32(isa);
        if (!kr->ukr)
            return 0;
        out[0] = kr->mr, out[1] = kr->nr;
        out[2] = kr->mc, out[3] = kr->kc, out[4] = kr->nc;
        return 1;
    }
    if (dtype_bytes == 8) {
        const mg_gemm_kernel_f64 *kr = kernel_for_f64(isa);
        if (!kr->ukr)
            return 0;
        out[0] = kr->mr, out[1] = kr->nr;
        out[2] = kr->mc, out[3] = kr->kc, out[4] = kr->nc;
        return 1;
    }
    return 0;
}
