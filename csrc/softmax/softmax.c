// Softmax, log_softmax, softmax-cross-entropy and binary cross-entropy (see
// mg_softmax.h for the contract).
//
// The kernels are written once, in softmax_impl.h, and included here for
// float and double. The per-row work (softmax_rows.h) is compiled for each
// instruction set (AVX-512, AVX2+FMA, baseline) and picked per call by the
// `isa` argument, as the activations and the GEMM do. float exp is
// act/vmath.h's inline polynomial (mg_sm_expf below); double exp, and log
// and log1p, vectorise through glibc's libmvec as in act.c. The exported
// functions split rows across OpenMP threads when the work pays for a
// second thread.

// NOTE: see act.c: FP exception flags are never read, so both arms of a
// select may be evaluated, and computations are not sunk into one arm.
// fp-contract=fast lets the AVX2 and AVX-512 kernels fuse a·b + c into one
// FMA (-std=c11 turns contraction off): the exp polynomial is a chain of
// them; results move by at most an ulp, towards the exact value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-tree-sink", "fp-contract=fast")
#endif

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "act/vmath.h"
#include "mg_cpu.h"
#include "mg_softmax.h"
#include "softmax/transpose.h"

// float exp of x <= 0 (x - max, -|x|; x - lse may be a rounding above 0):
// act/vmath.h's inline polynomial, which vectorises in place (no libmvec
// call per vector), on x clamped to its range. Below -87 the result is 0
// (the true value is < 1.7e-38: nothing next to the row's max term, and it
// keeps every product normal, see mg_exp_core_f32). exp(-inf) = 0; NaN
// passes the clamps (a comparison with NaN is false) and stays NaN.
static inline float mg_sm_expf(float x) {
    float xc = -87.0f > x ? -87.0f : x;
    xc = 88.0f < xc ? 88.0f : xc;
    float y = mg_exp_core_f32(xc, 0.0f);
    return x < -87.0f ? 0.0f : y;
}

// float exp of any x, for the backward kernels: their arguments (y of
// log_softmax, x - lse) are <= 0 when they come from the forward, but they
// are the caller's, and e.g. lse = -inf must give +inf, not mg_sm_expf's
// saturated e^88. Up to 88 it is mg_sm_expf; above, 2·e^(x - ln2) (the head
// of ln2 is subtracted exactly, its tail rides as the correction), which
// keeps 2^n normal up to float's overflow at 88.72 and gives +inf beyond.
// It costs ~1.8x mg_sm_expf in a loop, so the kernels use it only for a row
// (block) where some argument exceeds EXP_SAT, the bound of mg_sm_expf.
static inline float mg_sm_expf_any(float x) {
    float xc = -87.0f > x ? -87.0f : x;
    xc = 89.0f < xc ? 89.0f : xc;
    int big = xc > 88.0f;
    float y = mg_exp_core_f32(big ? xc - 0.693359375f : xc,
                              big ? 2.12194440054690583e-4f : 0.0f);
    y = big ? 2.0f * y : y;
    return x < -87.0f ? 0.0f : y;
}

#define MG_CAT2(a, b) a##_##b
#define MG_CAT(a, b) MG_CAT2(a, b)

// Inner positions handled together when the axis is not the last one: the
// running max and sum for a block live in two small stack arrays.
#define MG_BLK 64
// The same for the backward: up to MG_BWD_BLK positions, so that every row of
// a block is a long contiguous run (Note [Strided backward] in softmax_impl.h).
#define MG_BWD_BLK 1024

// Rows shorter than this are done a block at a time (Note [Short rows] in
// softmax_impl.h); a block holds at most MG_SM_BUF elements.
#define MG_SM_SHORT 32
#define MG_SM_BUF 2048
// Rows per block of short rows in cross-entropy: MG_SM_ROWS·(MG_SM_SHORT - 1)
// <= MG_SM_BUF.
#define MG_SM_ROWS 64

// Runs the block BODY for q = 0 .. count - 1, the tasks (blocks of rows):
// split statically over a team of `nthreads` when `p` says a team is worth
// it, else on this thread without entering the OpenMP runtime (a parallel
// region whose `if` is false still costs ~0.35 us, a fifth of a 64x10
// cross-entropy).
#define MG_FOR_TASKS(q, count, ...)                                           \
    do {                                                                      \
        if (p) {                                                              \
            const int nt_ = mg_threads_clamp(nthreads);                       \
            _Pragma("omp parallel for num_threads(nt_) schedule(static)")     \
            for (mg_index_t q = 0; q < (count); q++)                          \
                __VA_ARGS__                                                   \
        } else {                                                              \
            for (mg_index_t q = 0; q < (count); q++)                          \
                __VA_ARGS__                                                   \
        }                                                                     \
    } while (0)

static int par(mg_index_t work, int nthreads) {
#ifdef _OPENMP
    return nthreads > 1 && work >= MG_SOFTMAX_PAR_MIN;
#else
    (void)work;
    (void)nthreads;
    return 0;
#endif
}

static int bad_targets(mg_index_t n, mg_index_t c, const int64_t *t,
                       int64_t ignore) {
    for (mg_index_t i = 0; i < n; i++)
        if (t[i] != ignore && (t[i] < 0 || t[i] >= c))
            return 1;
    return 0;
}

#define T float
#define SUF f32
#define EXP mg_sm_expf
#define EXP_ANY mg_sm_expf_any
#define EXP_SAT 88.0f
#define LOG mg_vlogf
#define LOG1P mg_vlog1pf
#define TR_AVX512 mg_tr16_f32_avx512
#define TR_AVX512_W 16
#define TR_AVX2 mg_tr8_f32_avx2
#define TR_AVX2_W 8
#include "softmax/softmax_impl.h"
#undef T
#undef SUF
#undef EXP
#undef EXP_ANY
#undef EXP_SAT
#undef LOG
#undef LOG1P
#undef TR_AVX512
#undef TR_AVX512_W
#undef TR_AVX2
#undef TR_AVX2_W

#define T double
#define SUF f64
#define EXP mg_vexp
#define EXP_ANY mg_vexp
#define EXP_SAT INFINITY
#define LOG mg_vlog
#define LOG1P mg_vlog1p
#define TR_AVX512 mg_tr8_f64_avx512
#define TR_AVX512_W 8
#define TR_AVX2 mg_tr4_f64_avx2
#define TR_AVX2_W 4
#include "softmax/softmax_impl.h"
#undef T
#undef SUF
#undef EXP
#undef EXP_ANY
#undef EXP_SAT
#undef LOG
#undef LOG1P
#undef TR_AVX512
#undef TR_AVX512_W
#undef TR_AVX2
#undef TR_AVX2_W
