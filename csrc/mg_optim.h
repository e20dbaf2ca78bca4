// Fused optimizer steps: one call updates every parameter of a group.
//
// A group is a list of `nseg` segments, one per parameter: segment k is
// len[k] elements at p[k] (the parameter, updated in place), g[k] (its
// gradient, read only) and up to three state arrays s0[k], s1[k], s2[k]
// (updated in place; which ones an optimizer uses is listed below). Each
// parameter keeps its own array: no flat copy is made, so the Python side
// holds ordinary per-parameter arrays and the state dict is unchanged.
//
// Every element is updated by one pass that reads p, g and the state once
// and writes them once, with the same operations in the same order as the
// numpy reference in minigrad/optim/*.py (the scalar factors rounded to T
// first, as numpy rounds a Python float against a T array), so that the
// result is bitwise equal to it in float64 and in float32 (no FMA
// contraction: the build is -std=c11, which implies -ffp-contract=off).
// An element's result depends on nothing but that element, so the thread
// count never changes a bit.
//
// hp: the hyperparameters, `nhp` doubles in the order listed per optimizer
// (booleans as 0/1). step[k]: segment k's step count after this step (>= 1).
// flag[k] (SGD only): 1 when segment k's momentum buffer is new (it is set
// to the gradient instead of being decayed).
//
//   sgd      hp = lr, momentum, dampening, weight_decay, nesterov, maximize
//            s0 = momentum buffer (when momentum != 0)
//   adam     hp = lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
//                 maximize;  s0 = exp_avg, s1 = exp_avg_sq, s2 = max (amsgrad)
//   rmsprop  hp = lr, alpha, eps, weight_decay, momentum, centered, maximize
//            s0 = square_avg, s1 = grad_avg (centered), s2 = momentum buffer
//   adagrad  hp = lr, lr_decay, weight_decay, eps, maximize;  s0 = sum
//
// Never trust the caller: returns -1 (nothing written) when nseg < 0, a
// length is negative, the lengths do not sum in mg_index_t, nhp is not the
// optimizer's count, a pointer a segment of nonzero length needs is NULL,
// or a step count is < 1. Returns 0 otherwise. Overlap between arrays of a
// call is undefined (the Cython wrapper refuses it). `nthreads` goes
// through mg_threads_clamp; calls under MG_OPTIM_PAR_MIN elements in all
// run on the calling thread. `isa` is an MG_ISA_* value (mg_cpu.h): the loops
// compiled for that instruction set (MG_ISA_AUTO: the best this CPU has);
// -1 when this CPU cannot run it. Every ISA gives the same bits.
#ifndef MG_OPTIM_H
#define MG_OPTIM_H

#include "mg_common.h"

#define MG_OPTIM_PAR_MIN 65536

#define MG_OPTIM_DECL(OP, SUF)                                                \
    int mg_optim_##OP##_##SUF(mg_index_t nseg, const mg_index_t *len,         \
                              void *const *p, const void *const *g,           \
                              void *const *s0, void *const *s1,               \
                              void *const *s2, const int64_t *step,           \
                              const unsigned char *flag, const double *hp,    \
                              int nhp, int nthreads, int isa);
#define MG_OPTIM_DECL2(OP) MG_OPTIM_DECL(OP, f32) MG_OPTIM_DECL(OP, f64)

MG_OPTIM_DECL2(sgd)
MG_OPTIM_DECL2(adam)
MG_OPTIM_DECL2(rmsprop)
MG_OPTIM_DECL2(adagrad)

#endif
