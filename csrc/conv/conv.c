// Convolution as GEMM over tiles of patches (contracts in mg_conv.h). The
// per-dtype code is written once in conv_tmpl.h and included here for float
// and double; this file holds the geometry checks shared by both.
// NOTE: GCC turns im2col's row copies and zero fills into memmove / memset
// calls; the rows are short (10 elements for LeNet's second layer), so the
// calls cost more than the copies (a quarter of that layer's forward).
// Inline vector loops instead.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv/conv_internal.h"
#include "mg_cpu.h"
#include "mg_gemm.h"

// No spatial size, stride, padding, dilation or kernel side may exceed this:
// then every index expression below (a few products of two of them) stays far
// from overflow without a check per term.
#define MG_CONV_MAX_SIDE ((mg_index_t)1 << 30)

// r = a * b, or 0 when it would overflow mg_index_t (a, b >= 0).
static int mul_ok(mg_index_t a, mg_index_t b, mg_index_t *r) {
    if (a != 0 && b > PTRDIFF_MAX / a)
        return 0;
    *r = a * b;
    return 1;
}

int mg_conv_canon(const mg_conv_geom *g, int for_cols, conv3 *c) {
    if (!g || g->nd < 1 || g->nd > MG_CONV_MAX_DIMS)
        return MG_CONV_EARG;
    c->n = g->batch, c->cin = g->c_in;
    c->cout = for_cols ? 1 : g->c_out;
    c->groups = for_cols ? 1 : g->groups;
    if (c->n < 0 || c->cin < 0 || c->cout < 0 || c->groups < 1 ||
        c->cin % c->groups || c->cout % c->groups)
        return MG_CONV_EARG;
    c->cgi = c->cin / c->groups, c->cgo = c->cout / c->groups;
    const int lead = 3 - g->nd;
    c->in_sz = c->out_sz = c->k_sz = 1;
    c->fast = 1;
    for (int d = 0; d < 3; ++d) {
        if (d < lead) {
            c->in[d] = c->out[d] = c->k[d] = c->s[d] = c->d[d] = 1;
            c->p[d] = 0;
            continue;
        }
        const int e = d - lead;
        const mg_index_t in = g->in_size[e], out = g->out_size[e];
        const mg_index_t k = g->kernel[e];
        const mg_index_t s = g->stride[e], p = g->pad[e], dl = g->dilation[e];
        if (in < 0 || out < 0 || k < 1 || s < 1 || p < 0 || dl < 1 ||
            in > MG_CONV_MAX_SIDE || out > MG_CONV_MAX_SIDE ||
            k > MG_CONV_MAX_SIDE || s > MG_CONV_MAX_SIDE ||
            p > MG_CONV_MAX_SIDE || dl > MG_CONV_MAX_SIDE)
            return MG_CONV_EARG;
        // The last window must start inside the padded input (both sides
        // are below 2^62 by the bounds above).
        if (out > 0 && (out - 1) * s > in + 2 * p - dl * (k - 1) - 1)
            return MG_CONV_EARG;
        c->in[d] = in, c->out[d] = out, c->k[d] = k;
        c->s[d] = s, c->p[d] = p, c->d[d] = dl;
        if (!mul_ok(c->in_sz, in, &c->in_sz) ||
            !mul_ok(c->out_sz, out, &c->out_sz) ||
            !mul_ok(c->k_sz, k, &c->k_sz))
            return MG_CONV_EARG;
        if (k != 1 || s != 1 || p != 0 || in != out)
            c->fast = 0;
    }
    // Every array the kernels index: x, y, w and one image's patches.
    mg_index_t t;
    if (!mul_ok(c->cgi, c->k_sz, &c->kc) || !mul_ok(c->n, c->cin, &t) ||
        !mul_ok(t, c->in_sz, &t) || !mul_ok(c->n, c->cout, &t) ||
        !mul_ok(t, c->out_sz, &t) || !mul_ok(c->cout, c->kc, &t) ||
        !mul_ok(c->cin, c->k_sz, &t) || !mul_ok(t, c->out_sz, &t) ||
        !mul_ok(c->n, t, &t))
        return MG_CONV_EARG;
    return MG_CONV_OK;
}

int mg_conv_check(const mg_conv_geom *g) {
    conv3 c;
    return mg_conv_canon(g, 0, &c);
}

int mg_conv_threads(int num_threads, mg_index_t items, double work,
                    double min_work) {
    if (num_threads < 1)
        return -1;
#ifndef _OPENMP
    return 1;
#endif
    int nt = num_threads > MG_CONV_MAX_THREADS ? MG_CONV_MAX_THREADS
                                               : num_threads;
    if (items < nt)
        nt = items < 1 ? 1 : (int)items;
    const double cap = work / min_work;
    if (cap < nt)
        nt = cap < 1 ? 1 : (int)cap;
    return nt;
}

// Note [Which forward path]
// MG_CONV_PATH_AUTO takes the fused forward (conv_fused.c) except:
//   - 1x1, stride 1, no padding (c->fast; decided by the caller): the
//     workspace path reads x in place, there are no patches to build;
//   - fewer than MG_CONV_FUSED_MIN_CGO output channels per group (depthwise):
//     the workspace GEMM is then a matrix-vector product on its direct
//     loops, while the fused micro-kernels compute at least NR / 3 columns
//     (4 on AVX-512) for the one wanted: depthwise 3x3, 32 channels on 32x32,
//     batch 32, fused/workspace 1.74 (f32) and 1.90 (f64);
//   - small maps with few output channels (out_sz <= MG_CONV_FUSED_SMALL_P
//     and cgo < MG_CONV_FUSED_SMALL_CGO): the products are thin, the
//     workspace path batches whole images, and the two tie. LeNet conv2
//     (6->16 5x5 on 14x14, batch 64) forward, fused/workspace wall time:
//     f32 1.01-1.02, f64 1.05-1.08 (1 and 2 threads); 6->16 5x5 on 10x10
//     padded 0.89-0.93: a tie zone, left to the older path.
// Everywhere else measured the fused path is faster. Forward alone,
// fused/workspace, medians of interleaved rounds, AVX-512 (AMD EPYC, 2 cores
// shared with other jobs, so +-5%): LeNet conv1 1->6 5x5 28x28 b64 0.90
// (1 thread) / 0.96 (2); 64->64 3x3 32x32 b32 0.75 / 0.76; and on one
// thread (CPU time) 16->32 3x3 56x56 b8 0.77 (f32) / 0.78 (f64); 3->8 7x7
// 64x64 b8 0.75 / 0.79; 32->32 3x3 8x8 b32 0.77 / 0.82; 4 groups 32->32
// 3x3 32x32 b32 0.63 / 0.76; 16->4 3x3 32x32 b32 0.61 / 0.54. Forward +
// backward (python benchmarks/run.py conv, f32; the backward is the same
// for both paths): LeNet conv1 0.95 / 0.99, 64->64 3x3 0.95 / 0.93. The
// fused path writes each patch entry once, into the packed panels (in L2);
// the workspace path writes it to the workspace and then packs it again.
#define MG_CONV_FUSED_MIN_CGO 4
#define MG_CONV_FUSED_SMALL_P 128
#define MG_CONV_FUSED_SMALL_CGO 32

int mg_conv_fused_wins(const conv3 *c, int dtype_bytes, int num_threads) {
    (void)dtype_bytes, (void)num_threads; // the same rule measured for all
    if (c->cgo < MG_CONV_FUSED_MIN_CGO)
        return 0;
    if (c->out_sz <= MG_CONV_FUSED_SMALL_P && c->cgo < MG_CONV_FUSED_SMALL_CGO)
        return 0;
    return 1;
}

#define T float
#define SFX f32
#define GEMM mg_gemm_f32
#include "conv/conv_tmpl.h"
#undef T
#undef SFX
#undef GEMM

#define T double
#define SFX f64
#define GEMM mg_gemm_f64
#include "conv/conv_tmpl.h"
#undef T
#undef SFX
#undef GEMM
