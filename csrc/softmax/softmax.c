// Softmax, log_softmax, softmax-cross-entropy and BCE with logits (see
// mg_softmax.h for the contract).
//
// The per-row work is in `static` functions built three times by GCC's
// target_clones (AVX-512, AVX2, baseline) and picked once at load time; the
// exp / log / log1p calls vectorise through glibc's libmvec as in act.c
// (act/vmath.h). The exported functions split rows across OpenMP threads.

// NOTE: see act.c: FP exception flags are never read, so both arms of a
// select may be evaluated, and computations are not sunk into one arm.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-tree-sink")
#endif

#include <math.h>
#include <stdint.h>

#include "act/vmath.h"
#include "mg_softmax.h"

#if defined(MG_VMATH_SIMD)
#define MG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MG_CLONES
#endif

// Inner positions handled together when the axis is not the last one: the
// running max and sum for a block live in two small stack arrays.
#define MG_BLK 64

// Rows split statically over the team; `p` says whether a team is worth it.
#define MG_OMP_ROWS                                                           \
    _Pragma("omp parallel for if (p) num_threads(nthreads) schedule(static)")

static int par(mg_index_t work, int nthreads) {
#ifdef _OPENMP
    return nthreads > 1 && work >= MG_SOFTMAX_PAR_MIN;
#else
    (void)work;
    (void)nthreads;
    return 0;
#endif
}

#define MG_DEF_SOFTMAX(T, SUF, EXP, LOG)                         \
    /* One row (inner == 1): max, then Σ exp(x - max), then scale. */         \
    MG_CLONES static void row_fwd_##SUF(mg_index_t d, const T *x, T *y,       \
                                        int lg) {                             \
        T m = -(T)INFINITY;                                                   \
        _Pragma("omp simd reduction(max : m)") for (mg_index_t j = 0; j < d;  \
                                                    j++) m =                  \
            x[j] > m ? x[j] : m;                                              \
        /* NaN never wins a `>`: find it so the whole row becomes NaN. */     \
        T nan_probe = 0;                                                      \
        _Pragma("omp simd reduction(+ : nan_probe)") for (mg_index_t j = 0;   \
                                                          j < d; j++)         \
            nan_probe += x[j] - x[j];                                         \
        m = m + nan_probe;                                                    \
        T s = 0;                                                              \
        if (lg) {                                                             \
            _Pragma("omp simd reduction(+ : s)") for (mg_index_t j = 0;       \
                                                      j < d; j++) s +=        \
                EXP(x[j] - m);                                                \
            T off = m + LOG(s);                                               \
            _Pragma("omp simd") for (mg_index_t j = 0; j < d; j++) y[j] =     \
                x[j] - off;                                                   \
        } else {                                                              \
            _Pragma("omp simd reduction(+ : s)") for (mg_index_t j = 0;       \
                                                      j < d; j++) {           \
                T e = EXP(x[j] - m);                                          \
                y[j] = e;                                                     \
                s += e;                                                       \
            }                                                                 \
            T r = (T)1 / s;                                                   \
            _Pragma("omp simd") for (mg_index_t j = 0; j < d; j++) y[j] *= r; \
        }                                                                     \
    }                                                                         \
    /* A block of b <= MG_BLK inner positions of one outer index; element    \
       (j, k) is at x[j * inner + k]. Vectorised along k. */                  \
    MG_CLONES static void blk_fwd_##SUF(mg_index_t d, mg_index_t inner,       \
                                        mg_index_t b, const T *x, T *y,       \
                                        int lg) {                             \
        T m[MG_BLK], s[MG_BLK];                                               \
        for (mg_index_t k = 0; k < b; k++) {                                  \
            m[k] = -(T)INFINITY;                                              \
            s[k] = 0;                                                         \
        }                                                                     \
        for (mg_index_t j = 0; j < d; j++) {                                  \
            const T *xr = x + j * inner;                                      \
            _Pragma("omp simd") for (mg_index_t k = 0; k < b; k++) {          \
                T v = xr[k];                                                  \
                m[k] = (v > m[k] || v != v) ? v : m[k];                       \
            }                                                                 \
        }                                                                     \
        for (mg_index_t j = 0; j < d; j++) {                                  \
            const T *xr = x + j * inner;                                      \
            T *yr = y + j * inner;                                            \
            _Pragma("omp simd") for (mg_index_t k = 0; k < b; k++) {          \
                T e = EXP(xr[k] - m[k]);                                      \
                if (!lg)                                                      \
                    yr[k] = e;                                                \
                s[k] += e;                                                    \
            }                                                                 \
        }                                                                     \
        for (mg_index_t k = 0; k < b; k++)                                    \
            s[k] = lg ? m[k] + LOG(s[k]) : (T)1 / s[k];                       \
        for (mg_index_t j = 0; j < d; j++) {                                  \
            const T *xr = x + j * inner;                                      \
            T *yr = y + j * inner;                                            \
            if (lg) {                                                         \
                _Pragma("omp simd") for (mg_index_t k = 0; k < b; k++)        \
                    yr[k] = xr[k] - s[k];                                     \
            } else {                                                          \
                _Pragma("omp simd") for (mg_index_t k = 0; k < b; k++)        \
                    yr[k] *= s[k];                                            \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    int mg_softmax_fwd_##SUF(mg_index_t outer, mg_index_t dim,                \
                             mg_index_t inner, const T *x, T *y, int log,     \
                             int nthreads) {                                  \
        if (outer <= 0 || dim <= 0 || inner <= 0)                             \
            return 0;                                                         \
        int p = par(outer * dim * inner, nthreads);                           \
        if (inner == 1) {                                                     \
            MG_OMP_ROWS for (mg_index_t i = 0; i < outer;     \
                                             i++)                             \
                row_fwd_##SUF(dim, x + i * dim, y + i * dim, log);            \
            return 0;                                                         \
        }                                                                     \
        mg_index_t nb = (inner + MG_BLK - 1) / MG_BLK;                        \
        MG_OMP_ROWS for (mg_index_t q = 0; q < outer * nb;    \
                                         q++) {                               \
            mg_index_t o = q / nb, k0 = (q % nb) * MG_BLK;                    \
            mg_index_t b = inner - k0 < MG_BLK ? inner - k0 : MG_BLK;         \
            mg_index_t off = o * dim * inner + k0;                            \
            blk_fwd_##SUF(dim, inner, b, x + off, y + off, log);              \
        }                                                                     \
        return 0;                                                             \
    }                                                                         \
    /* Backward of one row: one dot product, then one elementwise pass. */    \
    MG_CLONES static void row_bwd_##SUF(mg_index_t d, const T *y,             \
                                        const T *gy, T *gx, int lg) {         \
        T s = 0;                                                              \
        if (lg) {                                                             \
            _Pragma("omp simd reduction(+ : s)") for (mg_index_t j = 0;       \
                                                      j < d; j++) s += gy[j]; \
            _Pragma("omp simd") for (mg_index_t j = 0; j < d; j++) gx[j] =    \
                gy[j] - EXP(y[j]) * s;                                        \
        } else {                                                              \
            _Pragma("omp simd reduction(+ : s)") for (mg_index_t j = 0;       \
                                                      j < d; j++) s +=        \
                gy[j] * y[j];                                                 \
            _Pragma("omp simd") for (mg_index_t j = 0; j < d; j++) gx[j] =    \
                y[j] * (gy[j] - s);                                           \
        }                                                                     \
    }                                                                         \
    MG_CLONES static void blk_bwd_##SUF(mg_index_t d, mg_index_t inner,       \
                                        mg_index_t b, const T *y,             \
                                        const T *gy, T *gx, int lg) {         \
        T s[MG_BLK];                                                          \
        for (mg_index_t k = 0; k < b; k++)                                    \
            s[k] = 0;                                                         \
        for (mg_index_t j = 0; j < d; j++) {                                  \
            const T *yr = y + j * inner, *gr = gy + j * inner;                \
            _Pragma("omp simd") for (mg_index_t k = 0; k < b; k++) s[k] +=    \
                lg ? gr[k] : gr[k] * yr[k];                                   \
        }                                                                     \
        for (mg_index_t j = 0; j < d; j++) {                                  \
            const T *yr = y + j * inner, *gr = gy + j * inner;                \
            T *xr = gx + j * inner;                                           \
            _Pragma("omp simd") for (mg_index_t k = 0; k < b; k++) xr[k] =    \
                lg ? gr[k] - EXP(yr[k]) * s[k] : yr[k] * (gr[k] - s[k]);      \
        }                                                                     \
    }                                                                         \
    int mg_softmax_bwd_##SUF(mg_index_t outer, mg_index_t dim,                \
                             mg_index_t inner, const T *y, const T *gy,       \
                             T *gx, int log, int nthreads) {                  \
        if (outer <= 0 || dim <= 0 || inner <= 0)                             \
            return 0;                                                         \
        int p = par(outer * dim * inner, nthreads);                           \
        if (inner == 1) {                                                     \
            MG_OMP_ROWS for (mg_index_t i = 0; i < outer;     \
                                             i++)                             \
                row_bwd_##SUF(dim, y + i * dim, gy + i * dim, gx + i * dim,   \
                              log);                                           \
            return 0;                                                         \
        }                                                                     \
        mg_index_t nb = (inner + MG_BLK - 1) / MG_BLK;                        \
        MG_OMP_ROWS for (mg_index_t q = 0; q < outer * nb;    \
                                         q++) {                               \
            mg_index_t o = q / nb, k0 = (q % nb) * MG_BLK;                    \
            mg_index_t b = inner - k0 < MG_BLK ? inner - k0 : MG_BLK;         \
            mg_index_t off = o * dim * inner + k0;                            \
            blk_bwd_##SUF(dim, inner, b, y + off, gy + off, gx + off, log);   \
        }                                                                     \
        return 0;                                                             \
    }

MG_DEF_SOFTMAX(float, f32, mg_vexpf, mg_vlogf)
MG_DEF_SOFTMAX(double, f64, mg_vexp, mg_vlog)

// -- softmax cross-entropy ---------------------------------------------------

static int bad_targets(mg_index_t n, mg_index_t c, const int64_t *t,
                       int64_t ignore) {
    for (mg_index_t i = 0; i < n; i++)
        if (t[i] != ignore && (t[i] < 0 || t[i] >= c))
            return 1;
    return 0;
}

#define MG_DEF_XENT(T, SUF, EXP, LOG)                                         \
    /* lse of one row, and Σ_j w_j·x_j (only when eps > 0). */                \
    MG_CLONES static T row_lse_##SUF(mg_index_t c, const T *x, const T *w,    \
                                     int want_dot, T *dot) {                  \
        T m = -(T)INFINITY, nan_probe = 0, s = 0, dt = 0;                     \
        _Pragma("omp simd reduction(max : m) reduction(+ : nan_probe)") for ( \
            mg_index_t j = 0; j < c; j++) {                                   \
            m = x[j] > m ? x[j] : m;                                          \
            nan_probe += x[j] - x[j];                                         \
        }                                                                     \
        m += nan_probe;                                                       \
        _Pragma("omp simd reduction(+ : s)") for (mg_index_t j = 0; j < c;    \
                                                  j++) s += EXP(x[j] - m);    \
        if (want_dot) {                                                       \
            if (w) {                                                          \
                _Pragma("omp simd reduction(+ : dt)") for (mg_index_t j = 0;  \
                                                           j < c; j++) dt +=  \
                    w[j] * x[j];                                              \
            } else {                                                          \
                _Pragma("omp simd reduction(+ : dt)") for (mg_index_t j = 0;  \
                                                           j < c; j++) dt +=  \
                    x[j];                                                     \
            }                                                                 \
        }                                                                     \
        *dot = dt;                                                            \
        return m + LOG(s);                                                    \
    }                                                                         \
    int mg_xent_fwd_##SUF(mg_index_t n, mg_index_t c, const T *x,             \
                          const int64_t *target, const T *weight,             \
                          int64_t ignore_index, double eps, T *loss, T *lse,  \
                          int nthreads) {                                     \
        if (n <= 0)                                                           \
            return 0;                                                         \
        if (c <= 0 || bad_targets(n, c, target, ignore_index))                \
            return -1;                                                        \
        T W = (T)c;                                                           \
        if (weight) {                                                         \
            W = 0;                                                            \
            for (mg_index_t j = 0; j < c; j++)                                \
                W += weight[j];                                               \
        }                                                                     \
        const T e = (T)eps, keep = (T)(1.0 - eps), ec = (T)(eps / (double)c); \
        int p = par(n * c, nthreads);                                         \
        MG_OMP_ROWS for (mg_index_t i = 0; i < n; i++) {      \
            const T *xr = x + i * c;                                          \
            T dot;                                                            \
            T l = row_lse_##SUF(c, xr, weight, e > 0, &dot);                  \
            lse[i] = l;                                                       \
            int64_t t = target[i];                                            \
            if (t == ignore_index) {                                          \
                loss[i] = 0;                                                  \
                continue;                                                     \
            }                                                                 \
            T wt = weight ? weight[t] : (T)1;                                 \
            T v = keep * wt * (l - xr[t]);                                    \
            if (e > 0)                                                        \
                v += ec * (W * l - dot);                                      \
            loss[i] = v;                                                      \
        }                                                                     \
        return 0;                                                             \
    }                                                                         \
    MG_CLONES static void row_xbwd_##SUF(mg_index_t c, const T *x, T l,       \
                                         T scale, T a, T ec, const T *w,      \
                                         T *g) {                              \
        /* g_j = scale·(p_j·a - ec·w_j); the target term is added after. */   \
        if (w) {                                                              \
            _Pragma("omp simd") for (mg_index_t j = 0; j < c; j++) g[j] =     \
                scale * (EXP(x[j] - l) * a - ec * w[j]);                      \
        } else {                                                              \
            _Pragma("omp simd") for (mg_index_t j = 0; j < c; j++) g[j] =     \
                scale * (EXP(x[j] - l) * a - ec);                             \
        }                                                                     \
    }                                                                         \
    int mg_xent_bwd_##SUF(mg_index_t n, mg_index_t c, const T *x,             \
                          const T *lse, const int64_t *target,                \
                          const T *weight, int64_t ignore_index, double eps,  \
                          const T *scale, mg_index_t inc_scale, T *gx,        \
                          int nthreads) {                                     \
        if (n <= 0)                                                           \
            return 0;                                                         \
        if (c <= 0 || bad_targets(n, c, target, ignore_index))                \
            return -1;                                                        \
        T W = (T)c;                                                           \
        if (weight) {                                                         \
            W = 0;                                                            \
            for (mg_index_t j = 0; j < c; j++)                                \
                W += weight[j];                                               \
        }                                                                     \
        const T keep = (T)(1.0 - eps), ec = (T)(eps / (double)c);             \
        int p = par(n * c, nthreads);                                         \
        MG_OMP_ROWS for (mg_index_t i = 0; i < n; i++) {      \
            T *g = gx + i * c;                                                \
            int64_t t = target[i];                                            \
            if (t == ignore_index) {                                          \
                for (mg_index_t j = 0; j < c; j++)                            \
                    g[j] = 0;                                                 \
                continue;                                                     \
            }                                                                 \
            T sc = scale[i * inc_scale];                                      \
            T wt = weight ? weight[t] : (T)1;                                 \
            T a = keep * wt + ec * W;                                         \
            row_xbwd_##SUF(c, x + i * c, lse[i], sc, a, ec, weight, g);       \
            g[t] -= sc * keep * wt;                                           \
        }                                                                     \
        return 0;                                                             \
    }

MG_DEF_XENT(float, f32, mg_vexpf, mg_vlogf)
MG_DEF_XENT(double, f64, mg_vexp, mg_vlog)

// -- binary cross-entropy with logits ------------------------------------------

#define MG_DEF_BCE(T, SUF, EXP, LOG1P)                                        \
    MG_CLONES static void bce_fwd_blk_##SUF(mg_index_t n, const T *x,         \
                                            const T *t, const T *w,           \
                                            const T *pw, T *loss) {           \
        _Pragma("omp simd") for (mg_index_t i = 0; i < n; i++) {              \
            T xv = x[i], tv = t[i];                                           \
            T ax = xv < 0 ? -xv : xv;                                         \
            T nx = xv < 0 ? -xv : (T)0;                                       \
            T sp = nx + LOG1P(EXP(-ax)); /* softplus(-x) */                   \
            T lw = pw ? (T)1 + (pw[i] - (T)1) * tv : (T)1;                    \
            T v = ((T)1 - tv) * xv + lw * sp;                                 \
            loss[i] = w ? w[i] * v : v;                                       \
        }                                                                     \
    }                                                                         \
    MG_CLONES static void bce_bwd_blk_##SUF(                                  \
        mg_index_t n, const T *x, const T *t, const T *w, const T *pw,        \
        const T *g, mg_index_t inc_g, T *gx, T *gt) {                         \
        _Pragma("omp simd") for (mg_index_t i = 0; i < n; i++) {              \
            T xv = x[i], tv = t[i];                                           \
            T ax = xv < 0 ? -xv : xv;                                         \
            T e = EXP(-ax);                                                   \
            T r = (T)1 / ((T)1 + e);                                          \
            T sig_neg = xv < 0 ? r : e * r; /* sigmoid(-x), stable */         \
            T lw = pw ? (T)1 + (pw[i] - (T)1) * tv : (T)1;                    \
            T gw = g[i * inc_g] * (w ? w[i] : (T)1);                          \
            gx[i] = gw * (((T)1 - tv) - lw * sig_neg);                        \
            if (gt) {                                                         \
                T nx = xv < 0 ? -xv : (T)0;                                   \
                T sp = nx + LOG1P(e);                                         \
                T pm1 = pw ? pw[i] - (T)1 : (T)0;                             \
                gt[i] = gw * (pm1 * sp - xv);                                 \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    int mg_bce_logits_fwd_##SUF(mg_index_t n, const T *x, const T *t,         \
                                const T *w, const T *pw, T *loss,             \
                                int nthreads) {                               \
        if (n <= 0)                                                           \
            return 0;                                                         \
        int p = par(n, nthreads);                                             \
        mg_index_t nb = (n + 4095) / 4096;                                    \
        MG_OMP_ROWS for (mg_index_t q = 0; q < nb; q++) {     \
            mg_index_t o = q * 4096, len = n - o < 4096 ? n - o : 4096;       \
            bce_fwd_blk_##SUF(len, x + o, t + o, w ? w + o : w,               \
                              pw ? pw + o : pw, loss + o);                    \
        }                                                                     \
        return 0;                                                             \
    }                                                                         \
    int mg_bce_logits_bwd_##SUF(mg_index_t n, const T *x, const T *t,         \
                                const T *w, const T *pw, const T *g,          \
                                mg_index_t inc_g, T *gx, T *gt,               \
                                int nthreads) {                               \
        if (n <= 0)                                                           \
            return 0;                                                         \
        int p = par(n, nthreads);                                             \
        mg_index_t nb = (n + 4095) / 4096;                                    \
        MG_OMP_ROWS for (mg_index_t q = 0; q < nb; q++) {     \
            mg_index_t o = q * 4096, len = n - o < 4096 ? n - o : 4096;       \
            bce_bwd_blk_##SUF(len, x + o, t + o, w ? w + o : w,               \
                              pw ? pw + o : pw, g + o * inc_g, inc_g, gx + o, \
                              gt ? gt + o : gt);                              \
        }                                                                     \
        return 0;                                                             \
    }

MG_DEF_BCE(float, f32, mg_vexpf, mg_vlog1pf)
MG_DEF_BCE(double, f64, mg_vexp, mg_vlog1p)
