// Max and average pooling (contracts in mg_pool.h). The per-dtype code is
// written once in pool_tmpl.h and included for float and double; this file
// holds the geometry checks. Dims are made 3-D (leading dims of size 1), so
// one implementation serves 1-, 2- and 3-D pooling.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mg_pool.h"

// No spatial size, stride, padding, dilation or kernel side may exceed this,
// so index arithmetic (products of two of them) cannot overflow.
#define MG_POOL_MAX_SIDE ((mg_index_t)1 << 30)

typedef struct pool3 {
    mg_index_t planes;
    mg_index_t in[3], out[3], k[3], s[3], p[3], d[3];
    mg_index_t in_sz, out_sz, k_sz;
    int nt;
} pool3;

static int mul_ok(mg_index_t a, mg_index_t b, mg_index_t *r) {
    if (a != 0 && b > PTRDIFF_MAX / a)
        return 0;
    *r = a * b;
    return 1;
}

// Fills `c` from `g`, validates it and picks the thread count; returns
// MG_POOL_OK or MG_POOL_EARG.
static int canon(const mg_pool_geom *g, int num_threads, int no_dilation,
                 pool3 *c) {
    if (!g || g->nd < 1 || g->nd > MG_POOL_MAX_DIMS || g->planes < 0 ||
        num_threads < 1)
        return MG_POOL_EARG;
    c->planes = g->planes;
    c->in_sz = c->out_sz = c->k_sz = 1;
    const int lead = 3 - g->nd;
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
            in > MG_POOL_MAX_SIDE || out > MG_POOL_MAX_SIDE ||
            k > MG_POOL_MAX_SIDE || s > MG_POOL_MAX_SIDE ||
            p > MG_POOL_MAX_SIDE || dl > MG_POOL_MAX_SIDE ||
            (no_dilation && dl != 1))
            return MG_POOL_EARG;
        if (out > 0 && (out - 1) * s >= in + p)
            return MG_POOL_EARG;
        c->in[d] = in, c->out[d] = out, c->k[d] = k;
        c->s[d] = s, c->p[d] = p, c->d[d] = dl;
        if (!mul_ok(c->in_sz, in, &c->in_sz) ||
            !mul_ok(c->out_sz, out, &c->out_sz) ||
            !mul_ok(c->k_sz, k, &c->k_sz))
            return MG_POOL_EARG;
    }
    mg_index_t t;
    if (!mul_ok(c->planes, c->in_sz, &t) || !mul_ok(c->planes, c->out_sz, &t))
        return MG_POOL_EARG;
    int nt = num_threads > MG_POOL_MAX_THREADS ? MG_POOL_MAX_THREADS
                                               : num_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    const double work =
        (double)c->planes * (double)c->out_sz * (double)c->k_sz;
    const double cap = work / MG_POOL_PAR_MIN;
    if (cap < nt)
        nt = cap < 1 ? 1 : (int)cap;
    if (c->planes < nt)
        nt = c->planes < 1 ? 1 : (int)c->planes;
    c->nt = nt;
    return MG_POOL_OK;
}

// Runs BODY for plane q = 0 .. c.planes - 1 (c a pool3 in scope), over
// c.nt threads when that is more than one, else without entering the OpenMP
// runtime.
#define MG_FOR_PLANES(q, ...)                                                 \
    do {                                                                      \
        const int nt_ = c.nt;                                                 \
        if (nt_ > 1) {                                                        \
            _Pragma("omp parallel for num_threads(nt_) schedule(static)")     \
            for (mg_index_t q = 0; q < c.planes; ++q)                         \
                __VA_ARGS__                                                   \
        } else {                                                              \
            for (mg_index_t q = 0; q < c.planes; ++q)                         \
                __VA_ARGS__                                                   \
        }                                                                     \
    } while (0)

// The taps [lo, hi) of the window of output position o along dim d that land
// inside the input: start + t * dilation in [0, in) for start = o * stride -
// pad.
static inline void tap_range(const pool3 *c, int d, mg_index_t o,
                             mg_index_t *lo, mg_index_t *hi) {
    const mg_index_t start = o * c->s[d] - c->p[d], dl = c->d[d];
    const mg_index_t n = c->in[d];
    mg_index_t a = start >= 0 ? 0 : (-start + dl - 1) / dl;
    mg_index_t b = start >= n ? 0 : (n - 1 - start) / dl + 1;
    if (b > c->k[d])
        b = c->k[d];
    if (a > b)
        a = b;
    *lo = a, *hi = b;
}

// The window of output position o along dim d for average pooling: [a, b)
// clipped to the input, and its size clipped to the padded input.
static inline void avg_window(const pool3 *c, int d, mg_index_t o,
                              mg_index_t *a, mg_index_t *b,
                              mg_index_t *padded) {
    mg_index_t s = o * c->s[d] - c->p[d];
    mg_index_t e = s + c->k[d];
    if (e > c->in[d] + c->p[d])
        e = c->in[d] + c->p[d];
    *padded = e - s;
    *a = s < 0 ? 0 : s;
    *b = e > c->in[d] ? c->in[d] : e;
}

#define T float
#define UT uint32_t
#define SFX f32
#include "pool/pool_tmpl.h"
#undef T
#undef UT
#undef SFX

#define T double
#define UT uint64_t
#define SFX f64
#include "pool/pool_tmpl.h"
#undef T
#undef UT
#undef SFX
