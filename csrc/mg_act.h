// Elementwise activations, forward and backward, float32 and float64.
//
// Every kernel takes the element count first, then each operand as a pointer
// plus its stride in elements, then the op's parameters, then `nthreads` (the
// OpenMP thread count; 1 keeps the call on the calling thread, and small
// calls stay there whatever it says: see MG_ACT_PAR_MIN) and `isa` (an MG_ISA_*
// value from mg_cpu.h; MG_ISA_AUTO picks the best this CPU has).
//
// Contract shared by every function below:
// - n == 0 is a no-op; no pointer is read.
// - Every pointer is aligned for its element type (C allows no other float
//   pointer) and the values are in this CPU's byte order: the Cython
//   wrappers copy an operand that is not, and refuse such an `out`.
// - An output may alias an input only exactly (same pointer and stride: in
//   place); partial overlap is undefined.
// - The return value is 0, or -1 when `isa` names an instruction set this CPU
//   lacks (nothing is written then).
// - NaN propagates as in PyTorch; every formula is finite for finite input of
//   any magnitude (sigmoid(-1000) == 0, sigmoid(1000) == 1 exactly), and ±inf
//   give the limits, never inf·0 = NaN (gelu(-inf) == 0, gelu'(+inf) == 1,
//   silu(-inf) == -0; PyTorch gives NaN for these).
// - Accuracy (float32, tests/test_act_kernels.py): within 3 ulp of the exact
//   value for sigmoid and silu, 8 for gelu (whose tail x << 0 keeps its
//   relative accuracy: gelu(-10) is ~1e-22, not 0 as with 1 + erf), 4 for
//   tanh and erf (glibc's vector functions); results under ~1e-30 in
//   magnitude are only accurate to ~1e-38 absolute (denormal intermediates
//   are flushed: a denormal operation costs a ~150-cycle assist per vector).
// - The result for an element does not depend on the array's alignment, on
//   the thread count, or on its position (every element of a call with n >= 32
//   goes through the same vector code), so in place == out of place bitwise.
//
// Forward: y = f(x). Backward: gx = gy * f'(.), where the saved operand `s`
// is the forward input x, except for sigmoid and tanh whose backward reads the
// forward output y (cheaper: f' is a polynomial of y).
#ifndef MG_ACT_H
#define MG_ACT_H

#include "mg_common.h"

// Below this many elements a relu runs on one thread, whatever `nthreads`
// says: waking and joining a passive OpenMP thread costs 4-10 us, which a
// second thread only repays once the one-thread time is about 40 us (~100k
// relu elements). Costlier ops go parallel proportionally sooner (gelu from
// ~56k float32 elements, softplus from ~32k; float64 at half the count):
// act.c weights each op by its measured cost.
#define MG_ACT_PAR_MIN 98304

#define MG_ACT_DECL_FWD(OP, T, SUF)                                           \
    int mg_##OP##_fwd_##SUF(mg_index_t n, const T *x, mg_index_t inc_x, T *y, \
                            mg_index_t inc_y, double p0, double p1,           \
                            int nthreads, int isa);
#define MG_ACT_DECL_BWD(OP, T, SUF)                                           \
    int mg_##OP##_bwd_##SUF(mg_index_t n, const T *s, mg_index_t inc_s,       \
                            const T *gy, mg_index_t inc_gy, T *gx,            \
                            mg_index_t inc_gx, double p0, double p1,          \
                            int nthreads, int isa);
#define MG_ACT_DECL(OP)                                                       \
    MG_ACT_DECL_FWD(OP, float, f32)                                           \
    MG_ACT_DECL_FWD(OP, double, f64)                                          \
    MG_ACT_DECL_BWD(OP, float, f32) MG_ACT_DECL_BWD(OP, double, f64)

// p0, p1 are ignored unless stated.
// relu:        y = max(x, 0);                 gx = gy·[x > 0]  (relu'(0) = 0)
MG_ACT_DECL(relu)
// leaky_relu:  y = x > 0 ? x : p0·x;          gx = gy·(x > 0 ? 1 : p0)
MG_ACT_DECL(leaky_relu)
// sigmoid:     y = 1 / (1 + e^-x);            gx = gy·y·(1 - y)     (s = y)
MG_ACT_DECL(sigmoid)
// tanh:        y = tanh x;                    gx = gy·(1 - y²)      (s = y)
MG_ACT_DECL(tanh)
// gelu:        y = x·Φ(x), Φ the normal CDF;  gx = gy·(Φ(x) + x·φ(x))
MG_ACT_DECL(gelu)
// gelu_tanh:   y = x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), computed as
//              x·σ(2u), u the tanh argument (no cancellation for x << 0);
//              and its derivative
MG_ACT_DECL(gelu_tanh)
// silu:        y = x·σ(x);                    gx = gy·σ(x)(1 + x(1 - σ(x)))
MG_ACT_DECL(silu)
// softplus:    p0 = beta, p1 = threshold: y = x where beta·x > threshold,
//              else log(1 + e^(beta·x)) / beta;  gx = gy·σ(beta·x) (or gy)
MG_ACT_DECL(softplus)
// erf:         y = erf x;                     gx = gy·2/√π·e^(-x²)
MG_ACT_DECL(erf)

// Linear+ReLU backward with the bias gradient (csrc/act/relu_bias.c): for a
// rows x cols y (the relu's output, column stride 1, row stride ldy) and
// upstream gradient g (row stride g_rs, any; column stride g_cs, 1 or 0 for a
// value broadcast along the row; in elements), writes gz = y <= 0 ? 0 : g (column stride 1, row stride
// ldgz; relu'(NaN) = 1 as above, and a g of inf or NaN where y <= 0 gives 0,
// as PyTorch's threshold_backward) and, unless db is NULL, db[j] = Σ_i gz[i,j]
// summed down the rows in order (0 for rows == 0). The order, and so every
// bit, is the same for any nthreads and isa. gz and db may not overlap y, g or
// each other. Returns 0, -1 for an isa this CPU lacks, -2 for another g_cs
// (nothing is written then).
int mg_relu_bias_bwd_f32(mg_index_t rows, mg_index_t cols, const float *y,
                         mg_index_t ldy, const float *g, mg_index_t g_rs,
                         mg_index_t g_cs, float *gz, mg_index_t ldgz,
                         float *db, int nthreads, int isa);
int mg_relu_bias_bwd_f64(mg_index_t rows, mg_index_t cols, const double *y,
                         mg_index_t ldy, const double *g, mg_index_t g_rs,
                         mg_index_t g_cs, double *gz, mg_index_t ldgz,
                         double *db, int nthreads, int isa);

#endif
