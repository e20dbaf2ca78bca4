// Softmax, log_softmax, fused softmax-cross-entropy, binary cross-entropy of
// probabilities and with logits, forward and backward, float32 and float64.
//
// Shapes: softmax works on a C-contiguous array viewed as (outer, dim, inner)
// and normalises over `dim` (so any axis of any array: outer is the product
// of the sizes before the axis, inner of those after). Cross-entropy works on
// contiguous logits (n, c), one row per sample. Every kernel takes the sizes
// first, then the operands, then `nthreads` (OpenMP threads; small problems
// stay on the calling thread whatever it says) and `isa` (an MG_ISA_* of
// mg_cpu.h: the instruction set of the loops; MG_ISA_AUTO for the best this
// CPU runs).
//
// Contract shared by every function:
// - a zero size is a no-op; no pointer is read.
// - every pointer is aligned for its element type, values are in this
//   CPU's byte order (the Cython wrappers copy operands that are not).
// - NaN and ±inf propagate as in the float64 formulas below, evaluated
//   stably (tests/test_kernel_special_values.py); inputs a forward never
//   gives (a log_softmax output y > 0, an lse below the row's max) are
//   still computed right: e^y overflows to +inf as numpy's.
// - outputs never alias inputs, except where stated.
// - return 0, MG_SOFTMAX_EISA when this CPU cannot run `isa` (nothing is
//   read or written then), or a negative status described per function
//   (nothing is guaranteed written then).
// - numerically stable: the row max is subtracted before exp (softmax stays
//   finite and sums to 1 for |x| ~ 1e3 and beyond); log-sum-exp is
//   max + log Σ exp(x - max); softplus(-x) = max(-x, 0) + log1p(e^-|x|).
#ifndef MG_SOFTMAX_H
#define MG_SOFTMAX_H

#include <stdint.h>

#include "mg_common.h"

// Below this many elements a kernel runs on one thread: a float32 element
// costs ~1 ns, and waking a passive OpenMP worker and joining it costs
// several microseconds (backend.py, Note [Passive OpenMP threads]), so a
// second thread pays from a few tens of microseconds of work.
#define MG_SOFTMAX_PAR_MIN 65536

// The status of a call asking for an instruction set this CPU lacks.
#define MG_SOFTMAX_EISA (-2)

// The status of a cross-entropy call whose label smoothing is not in [0, 1]
// (NaN included); nothing is written.
#define MG_SOFTMAX_ESMOOTH (-3)

// The status of a call whose workspace could not be allocated; nothing is
// written.
#define MG_SOFTMAX_ENOMEM (-4)

// Reductions of a loss over its rows / elements.
#define MG_REDUCE_NONE 0
#define MG_REDUCE_MEAN 1
#define MG_REDUCE_SUM 2

// y = softmax(x) over dim (log_softmax when `log` != 0). y may equal x (in
// place). A row holding NaN or +inf gives a NaN row, as in PyTorch.
int mg_softmax_fwd_f32(mg_index_t outer, mg_index_t dim, mg_index_t inner,
                       const float *x, float *y, int log, int nthreads,
                       int isa);
int mg_softmax_fwd_f64(mg_index_t outer, mg_index_t dim, mg_index_t inner,
                       const double *x, double *y, int log, int nthreads,
                       int isa);

// softmax (log_softmax) of the nr rows of a strided x over their d elements:
// element (i, j) is x[i·rs + j·cs] (strides in elements, any sign; cs != 1
// for a sliced last axis such as x[:, ::2]); y is C-contiguous (nr, d) and
// must not overlap x. Each row is gathered into its row of y, then the
// contiguous kernel runs there: the same bits as over a contiguous copy.
int mg_softmax_fwd_rows_f32(mg_index_t nr, mg_index_t d, const float *x,
                            mg_index_t rs, mg_index_t cs, float *y, int log,
                            int nthreads, int isa);
int mg_softmax_fwd_rows_f64(mg_index_t nr, mg_index_t d, const double *x,
                            mg_index_t rs, mg_index_t cs, double *y, int log,
                            int nthreads, int isa);

// From the forward output y and the upstream gradient gy:
//   softmax:     gx = y·(gy - Σ_dim gy·y)
//   log_softmax: gx = gy - exp(y)·Σ_dim gy
// y and gx are C-contiguous (outer, dim, inner); element (o, j, k) of gy is
// gy[o·gs_outer + j·gs_dim + k] (gs_outer = dim·inner, gs_dim = inner when gy
// is laid out as y; 0 for a broadcast gradient); gs_dim must be 1 when
// inner is 1. gx may equal gy (in place) when gy is laid out as y.
int mg_softmax_bwd_f32(mg_index_t outer, mg_index_t dim, mg_index_t inner,
                       const float *y, const float *gy, mg_index_t gs_outer,
                       mg_index_t gs_dim, float *gx, int log, int nthreads,
                       int isa);
int mg_softmax_bwd_f64(mg_index_t outer, mg_index_t dim, mg_index_t inner,
                       const double *y, const double *gy, mg_index_t gs_outer,
                       mg_index_t gs_dim, double *gx, int log, int nthreads,
                       int isa);

// The backward above over the last axis of operands with any strides
// (Note [Transposed gradient] in softmax/softmax_impl.h): nb·nr rows of d;
// element (b, r, j) of y is y[b·ys[0] + r·ys[1] + j·ys[2]], of gy likewise
// with gs; gx is C-contiguous (nb, nr, d) and overlaps neither. The results
// are those of mg_softmax_bwd on the same values laid out as gx, bit for bit.
// Returns MG_SOFTMAX_ENOMEM if its row buffers (64 bytes' worth of rows of d
// per thread and strided operand) cannot be allocated.
int mg_softmax_bwd_rows_f32(mg_index_t nb, mg_index_t nr, mg_index_t d,
                            const float *y, const mg_index_t *ys,
                            const float *gy, const mg_index_t *gs, float *gx,
                            int log, int nthreads, int isa);
int mg_softmax_bwd_rows_f64(mg_index_t nb, mg_index_t nr, mg_index_t d,
                            const double *y, const mg_index_t *ys,
                            const double *gy, const mg_index_t *gs,
                            double *gx, int log, int nthreads, int isa);

// Cross-entropy of logits x (n, c) with class indices target (n):
//   loss[i] = (1 - eps)·w[t]·(lse_i - x[i, t]) + eps/c·Σ_j w[j]·(lse_i - x[i, j])
// with lse_i = log Σ_j exp(x[i, j]), w = weight (c) or all ones when NULL,
// eps = label smoothing; loss[i] = 0 (and lse[i] still set) where
// target[i] == ignore_index. lse (n) is what the backward needs.
// Returns -1 if a target is neither ignore_index nor in [0, c).
int mg_xent_fwd_f32(mg_index_t n, mg_index_t c, const float *x,
                    const int64_t *target, const float *weight,
                    int64_t ignore_index, double eps, float *loss, float *lse,
                    int nthreads, int isa);
int mg_xent_fwd_f64(mg_index_t n, mg_index_t c, const double *x,
                    const int64_t *target, const double *weight,
                    int64_t ignore_index, double eps, double *loss,
                    double *lse, int nthreads, int isa);

// The forward above, and in the same pass (gx != NULL) the gradient of the
// reduced loss (upstream gradient 1) with respect to x: the backward below
// with scale[i] = 1/D for 'mean' (D = Σ w[t] over the targets not ignored),
// 1 for 'sum' and for 'none' (then gx[i] is the gradient of loss[i] alone).
// loss and lse (n) are always written; *total (when total != NULL) gets
// Σ loss for 'sum', Σ loss / D for 'mean' (NaN when D = 0) and 0 for 'none',
// summed in double in a fixed order. Every target is checked before
// anything is written: returns -1 if one is neither ignore_index nor in
// [0, c), or on a bad reduction.
int mg_xent_fwd_grad_f32(mg_index_t n, mg_index_t c, const float *x,
                         const int64_t *target, const float *weight,
                         int64_t ignore_index, double eps, int reduction,
                         float *loss, float *lse, double *total, float *gx,
                         int nthreads, int isa);
int mg_xent_fwd_grad_f64(mg_index_t n, mg_index_t c, const double *x,
                         const int64_t *target, const double *weight,
                         int64_t ignore_index, double eps, int reduction,
                         double *loss, double *lse, double *total,
                         double *gx, int nthreads, int isa);

// The gradient of Σ_i scale[i]·loss[i] with respect to x, in one pass:
//   gx[i, j] = scale[i]·(p_ij·((1 - eps)·w[t] + eps·W/c) - (1 - eps)·w[t]·[j = t]
//              - eps·w[j]/c),   p = softmax(x) = exp(x - lse), W = Σ w,
// i.e. scale·(softmax - onehot) without weight or smoothing; rows with
// target == ignore_index get 0. scale has stride inc_scale (0: one value for
// every row, as after a 'mean' or 'sum' reduction). lse must be the one the
// forward gave for these x. Returns -1 on a bad target, as the forward.
int mg_xent_bwd_f32(mg_index_t n, mg_index_t c, const float *x,
                    const float *lse, const int64_t *target,
                    const float *weight, int64_t ignore_index, double eps,
                    const float *scale, mg_index_t inc_scale, float *gx,
                    int nthreads, int isa);
int mg_xent_bwd_f64(mg_index_t n, mg_index_t c, const double *x,
                    const double *lse, const int64_t *target,
                    const double *weight, int64_t ignore_index, double eps,
                    const double *scale, mg_index_t inc_scale, double *gx,
                    int nthreads, int isa);

// Binary cross-entropy of probabilities x in [0, 1], elementwise over n
// contiguous values, with PyTorch's clamp of each log at -100 (finite at x = 0
// and x = 1):
//   loss = -w·(t·max(log x, -100) + (1 - t)·max(log(1 - x), -100))
// w is n values or NULL for all ones. Returns -1 if some x is outside [0, 1]
// or NaN (loss is then written but meaningless).
int mg_bce_fwd_f32(mg_index_t n, const float *x, const float *t,
                   const float *w, float *loss, int nthreads, int isa);
int mg_bce_fwd_f64(mg_index_t n, const double *x, const double *t,
                   const double *w, double *loss, int nthreads, int isa);

// Its gradients, scaled by g (stride inc_g; 0 for a scalar), as PyTorch's:
//   gx = g·w·(x - t) / max(x·(1 - x), 1e-12)     (skipped when gx is NULL)
//   gt = g·w·(log(1 - x) - log x)                 (skipped when gt is NULL)
int mg_bce_bwd_f32(mg_index_t n, const float *x, const float *t,
                   const float *w, const float *g, mg_index_t inc_g,
                   float *gx, float *gt, int nthreads, int isa);
int mg_bce_bwd_f64(mg_index_t n, const double *x, const double *t,
                   const double *w, const double *g, mg_index_t inc_g,
                   double *gx, double *gt, int nthreads, int isa);

// Binary cross-entropy with logits, elementwise over n contiguous values:
//   loss = w·((1 - t)·x + (1 + (pw - 1)·t)·softplus(-x))
// w (weight) and pw (pos_weight) are n values each, or NULL for all ones.
// Finite for every finite x (no exp of a positive number is taken).
int mg_bce_logits_fwd_f32(mg_index_t n, const float *x, const float *t,
                          const float *w, const float *pw, float *loss,
                          int nthreads, int isa);
int mg_bce_logits_fwd_f64(mg_index_t n, const double *x, const double *t,
                          const double *w, const double *pw, double *loss,
                          int nthreads, int isa);

// Its gradients, scaled by g (stride inc_g; 0 for a scalar):
//   gx = g·w·((1 - t) - (1 + (pw - 1)·t)·sigmoid(-x))   (skipped when NULL)
//   gt = g·w·((pw - 1)·softplus(-x) - x)          (skipped when gt is NULL)
int mg_bce_logits_bwd_f32(mg_index_t n, const float *x, const float *t,
                          const float *w, const float *pw, const float *g,
                          mg_index_t inc_g, float *gx, float *gt,
                          int nthreads, int isa);
int mg_bce_logits_bwd_f64(mg_index_t n, const double *x, const double *t,
                          const double *w, const double *pw, const double *g,
                          mg_index_t inc_g, double *gx, double *gt,
                          int nthreads, int isa);

#endif
