// Fused optimizer steps (contract in mg_optim.h). Each optimizer is one
// per-element update written once per dtype by a macro; a driver validates
// the call and splits every segment evenly across the threads.
// Built with -fno-math-errno (setup.py, FAMILY_CFLAGS): sqrt() setting errno
// for a negative argument would keep GCC from vectorising the loops; nothing
// reads errno, and the value (NaN) is the same either way.
// Note [Optimizer ISA]: the per-element loops are compiled three times, for
// the baseline target (SSE2: 4 floats per vector), AVX2 and AVX-512, and the
// call runs the one `isa` picks (MG_ISA_AUTO: the best this CPU has). Adam's
// square root and division are what bound the baseline loop (MLP
// 784-128-64-10, 109k float32: 120 us baseline, ~45 us AVX-512, about the
// time of a copy of the same bytes). Wider vectors change no bit: every
// operation is an IEEE one rounded per element, and there is no FMA
// contraction (-std=c11), so all three give the numpy path's result.
#include <math.h>
#include <stddef.h>

#include "mg_cpu.h"
#include "mg_optim.h"

// Clang contracts a*b + c within an expression by default even in ISO C
// mode, and the AVX-512 loops could then use FMA (other bits than numpy).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define OPT_X86 1
#define OPT_TGT_AVX2 __attribute__((target("avx2")))
#define OPT_TGT_AVX512 __attribute__((target("avx512f")))
#else
#define OPT_X86 0
#endif

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
#endif

typedef struct {
    const mg_index_t *len;
    void *const *p;
    const void *const *g;
    void *const *s0, *const *s1, *const *s2;
    const int64_t *step;
    const unsigned char *flag;
    const double *hp;
} optim_args;

typedef void (*seg_fn)(const optim_args *a, mg_index_t k, mg_index_t lo,
                       mg_index_t hi);

// g as the update follows it: negated to maximize, plus the L2 term (numpy:
// np.negative(g), then g + wd * x). Selects, not branches, so that the loops
// stay branch-free and vectorise (a discarded product costs nothing).
#define DIRECTED(gi, xi, maximize, wd_t, has_wd)                              \
    do {                                                                      \
        gi = (maximize) ? -gi : gi;                                           \
        gi = (has_wd) ? gi + wd_t * xi : gi;                                  \
    } while (0)

// The loops below read and write every array they touch unconditionally;
// options that change which arrays exist pick one of several loops.
// BUF: 0 no momentum, 1 a new buffer (set to g), 2 decayed, 3 decayed with
// dampening. One loop each: a select between them kept GCC from vectorising.
#define SGD_LOOP(T, BUF)                                                      \
    _Pragma("omp simd") for (mg_index_t i = lo; i < hi; i++) {                \
        T xi = x[i], gi = g[i];                                               \
        DIRECTED(gi, xi, maximize, wd, has_wd);                               \
        if (BUF) {                                                            \
            T bi;                                                             \
            if ((BUF) == 1)                                                   \
                bi = gi;                                                      \
            else if ((BUF) == 2)                                              \
                bi = b[i] * mom + gi;                                         \
            else                                                              \
                bi = b[i] * mom + damp1 * gi;                                 \
            b[i] = bi;                                                        \
            gi = nesterov ? gi + mom * bi : bi;                               \
        }                                                                     \
        x[i] = xi - lr * gi;                                                  \
    }

#define ADAM_LOOP(T, SQRT, AMS)                                               \
    _Pragma("omp simd") for (mg_index_t i = lo; i < hi; i++) {                \
        T xi = x[i], gi = g[i];                                               \
        xi = shrink ? xi * decay : xi;                                        \
        DIRECTED(gi, xi, maximize, wd_t, l2);                                 \
        const T mi = m[i] * b1 + gi * c1;                                     \
        T vi = v[i] * b2 + (gi * gi) * c2;                                    \
        m[i] = mi;                                                            \
        v[i] = vi;                                                            \
        if (AMS) {                                                            \
            const T old = vmax[i];                                            \
            /* np.maximum: NaN if either is NaN */                            \
            vi = (old != old || old >= vi) ? old : vi;                        \
            vmax[i] = vi;                                                     \
        }                                                                     \
        x[i] = update ? xi - mi / (SQRT(vi) * dscale + doff) : xi;            \
    }

#define RMS_LOOP(T, SQRT, CEN, MOM)                                           \
    _Pragma("omp simd") for (mg_index_t i = lo; i < hi; i++) {                \
        T xi = x[i], gi = g[i];                                               \
        DIRECTED(gi, xi, maximize, wd, has_wd);                               \
        const T si = s[i] * al + (gi * gi) * c;                               \
        s[i] = si;                                                            \
        T d;                                                                  \
        if (CEN) {                                                            \
            const T ai = ga[i] + (gi - ga[i]) * c;                            \
            ga[i] = ai;                                                       \
            d = SQRT(si - ai * ai);                                           \
        } else {                                                              \
            d = SQRT(si);                                                     \
        }                                                                     \
        T u = gi / (d + eps);                                                 \
        if (MOM) {                                                            \
            const T bi = b[i] * mom + u;                                      \
            b[i] = bi;                                                        \
            u = bi * lr;                                                      \
        } else {                                                              \
            u = u * lr;                                                       \
        }                                                                     \
        x[i] = xi - u;                                                        \
    }

#define OPTIM_KERNELS(T, SUF, SQRT, ATTR)                                           \
    ATTR static void sgd_##SUF(const optim_args *a, mg_index_t k, mg_index_t lo,   \
                          mg_index_t hi) {                                    \
        const double *hp = a->hp;                                             \
        const T lr = (T)hp[0], mom = (T)hp[1], damp1 = (T)(1 - hp[2]);        \
        const T wd = (T)hp[3];                                                \
        const int has_mom = hp[1] != 0, has_damp = hp[2] != 0;               \
        const int has_wd = hp[3] != 0, nesterov = hp[4] != 0;                 \
        const int maximize = hp[5] != 0;                                      \
        T *MG_RESTRICT x = (T *)a->p[k];                                      \
        const T *MG_RESTRICT g = (const T *)a->g[k];                          \
        T *MG_RESTRICT b = has_mom ? (T *)a->s0[k] : NULL;                    \
        const int first = has_mom && a->flag[k];                              \
        if (!has_mom)                                                         \
            SGD_LOOP(T, 0)                                                    \
        else if (first)                                                       \
            SGD_LOOP(T, 1)                                                    \
        else if (!has_damp)                                                   \
            SGD_LOOP(T, 2)                                                    \
        else                                                                  \
            SGD_LOOP(T, 3)                                                    \
    }                                                                         \
                                                                              \
    ATTR static void adam_##SUF(const optim_args *a, mg_index_t k, mg_index_t lo,  \
                           mg_index_t hi) {                                   \
        const double *hp = a->hp;                                             \
        const double lr = hp[0], beta1 = hp[1], beta2 = hp[2], eps = hp[3];   \
        const double wd = hp[4];                                              \
        const int decoupled = hp[5] != 0, amsgrad = hp[6] != 0;               \
        const int maximize = hp[7] != 0;                                      \
        const double t = (double)a->step[k];                                  \
        const int shrink = decoupled && wd != 0, l2 = !decoupled && wd != 0;  \
        const T decay = (T)(1 - lr * wd), wd_t = (T)wd;                       \
        const T b1 = (T)beta1, c1 = (T)(1 - beta1);                           \
        const T b2 = (T)beta2, c2 = (T)(1 - beta2);                           \
        /* as the numpy path: step size folded into the denominator */        \
        const double step_size = lr / (1 - pow(beta1, t));                    \
        const T dscale = (T)(1 / (sqrt(1 - pow(beta2, t)) * step_size));      \
        const T doff = (T)(eps / step_size);                                  \
        const int update = lr != 0;                                           \
        T *MG_RESTRICT x = (T *)a->p[k];                                      \
        const T *MG_RESTRICT g = (const T *)a->g[k];                          \
        T *MG_RESTRICT m = (T *)a->s0[k];                                     \
        T *MG_RESTRICT v = (T *)a->s1[k];                                     \
        T *MG_RESTRICT vmax = amsgrad ? (T *)a->s2[k] : NULL;                 \
        if (amsgrad)                                                          \
            ADAM_LOOP(T, SQRT, 1)                                             \
        else                                                                  \
            ADAM_LOOP(T, SQRT, 0)                                             \
    }                                                                         \
                                                                              \
    ATTR static void rmsprop_##SUF(const optim_args *a, mg_index_t k,              \
                              mg_index_t lo, mg_index_t hi) {                 \
        const double *hp = a->hp;                                             \
        const T lr = (T)hp[0], al = (T)hp[1], c = (T)(1 - hp[1]);             \
        const T eps = (T)hp[2], wd = (T)hp[3], mom = (T)hp[4];                \
        const int has_wd = hp[3] != 0, has_mom = hp[4] > 0;                   \
        const int centered = hp[5] != 0, maximize = hp[6] != 0;               \
        T *MG_RESTRICT x = (T *)a->p[k];                                      \
        const T *MG_RESTRICT g = (const T *)a->g[k];                          \
        T *MG_RESTRICT s = (T *)a->s0[k];                                     \
        T *MG_RESTRICT ga = centered ? (T *)a->s1[k] : NULL;                  \
        T *MG_RESTRICT b = has_mom ? (T *)a->s2[k] : NULL;                    \
        if (centered && has_mom)                                              \
            RMS_LOOP(T, SQRT, 1, 1)                                           \
        else if (centered)                                                    \
            RMS_LOOP(T, SQRT, 1, 0)                                           \
        else if (has_mom)                                                     \
            RMS_LOOP(T, SQRT, 0, 1)                                           \
        else                                                                  \
            RMS_LOOP(T, SQRT, 0, 0)                                           \
    }                                                                         \
                                                                              \
    ATTR static void adagrad_##SUF(const optim_args *a, mg_index_t k,              \
                              mg_index_t lo, mg_index_t hi) {                 \
        const double *hp = a->hp;                                             \
        const double t = (double)a->step[k];                                  \
        const T clr = (T)(hp[0] / (1 + (t - 1) * hp[1]));                     \
        const T wd = (T)hp[2], eps = (T)hp[3];                                \
        const int has_wd = hp[2] != 0, maximize = hp[4] != 0;                 \
        T *MG_RESTRICT x = (T *)a->p[k];                                      \
        const T *MG_RESTRICT g = (const T *)a->g[k];                          \
        T *MG_RESTRICT s = (T *)a->s0[k];                                     \
        _Pragma("omp simd") for (mg_index_t i = lo; i < hi; i++) {            \
            T xi = x[i], gi = g[i];                                           \
            DIRECTED(gi, xi, maximize, wd, has_wd);                           \
            const T si = s[i] + gi * gi;                                      \
            s[i] = si;                                                        \
            x[i] = xi - (gi / (SQRT(si) + eps)) * clr;                        \
        }                                                                     \
    }

OPTIM_KERNELS(float, f32, sqrtf, )
OPTIM_KERNELS(double, f64, sqrt, )
#if OPT_X86
OPTIM_KERNELS(float, f32_avx2, sqrtf, OPT_TGT_AVX2)
OPTIM_KERNELS(double, f64_avx2, sqrt, OPT_TGT_AVX2)
OPTIM_KERNELS(float, f32_avx512, sqrtf, OPT_TGT_AVX512)
OPTIM_KERNELS(double, f64_avx512, sqrt, OPT_TGT_AVX512)
#define OPT_PICK(NAME, isa)                                                   \
    ((isa) == MG_ISA_AVX512 ? NAME##_avx512                                   \
     : (isa) == MG_ISA_AVX2 ? NAME##_avx2                                     \
                            : NAME)
#else
#define OPT_PICK(NAME, isa) NAME
#endif

// Which pointers a segment of nonzero length needs, as bits: 1 s0, 2 s1,
// 4 s2, 8 step, 16 flag.
enum { NEED_S0 = 1, NEED_S1 = 2, NEED_S2 = 4, NEED_STEP = 8, NEED_FLAG = 16 };

static int run(mg_index_t nseg, const optim_args *a, int need, int nthreads,
               seg_fn fn) {
    if (nseg < 0 || (nseg > 0 && (!a->len || !a->p || !a->g)))
        return -1;
    if (nseg > 0 && (((need & NEED_S0) && !a->s0) ||
                     ((need & NEED_S1) && !a->s1) ||
                     ((need & NEED_S2) && !a->s2) ||
                     ((need & NEED_STEP) && !a->step) ||
                     ((need & NEED_FLAG) && !a->flag)))
        return -1;
    mg_index_t total = 0;
    for (mg_index_t k = 0; k < nseg; k++) {
        const mg_index_t n = a->len[k];
        if (n < 0 || n > PTRDIFF_MAX - total)
            return -1;
        total += n;
        if ((need & NEED_STEP) && a->step[k] < 1)
            return -1;
        if (n == 0)
            continue;
        if (!a->p[k] || !a->g[k] || ((need & NEED_S0) && !a->s0[k]) ||
            ((need & NEED_S1) && !a->s1[k]) || ((need & NEED_S2) && !a->s2[k]))
            return -1;
    }
    const int nt = total >= MG_OPTIM_PAR_MIN ? mg_threads_clamp(nthreads) : 1;
    if (nt <= 1) {
        for (mg_index_t k = 0; k < nseg; k++)
            if (a->len[k] > 0)
                fn(a, k, 0, a->len[k]);
        return 0;
    }
#pragma omp parallel num_threads(nt)
    {
        const mg_index_t tid = omp_get_thread_num();
        const mg_index_t team = omp_get_num_threads();
        for (mg_index_t k = 0; k < nseg; k++) {
            const mg_index_t n = a->len[k];
            // n * tid / team without overflow: n < 2^62 is not guaranteed
            const mg_index_t q = n / team, r = n % team;
            const mg_index_t lo = q * tid + (tid < r ? tid : r);
            const mg_index_t hi = lo + q + (tid < r ? 1 : 0);
            if (hi > lo)
                fn(a, k, lo, hi);
        }
    }
    return 0;
}

#define DEFINE_ENTRY(OP, SUF, NHP, NEED)                                      \
    int mg_optim_##OP##_##SUF(mg_index_t nseg, const mg_index_t *len,         \
                              void *const *p, const void *const *g,           \
                              void *const *s0, void *const *s1,               \
                              void *const *s2, const int64_t *step,           \
                              const unsigned char *flag, const double *hp,    \
                              int nhp, int nthreads, int isa) {               \
        const int use = mg_cpu_resolve_isa(isa);                              \
        if (nhp != (NHP) || !hp || use < 0)                                   \
            return -1;                                                        \
        const optim_args a = {len, p, g, s0, s1, s2, step, flag, hp};         \
        return run(nseg, &a, (NEED), nthreads, OPT_PICK(OP##_##SUF, use));    \
    }

// The state a call needs, from its options.
#define SGD_NEED (hp[1] != 0 ? NEED_S0 | NEED_FLAG : 0)
#define ADAM_NEED (NEED_S0 | NEED_S1 | NEED_STEP | (hp[6] != 0 ? NEED_S2 : 0))
#define RMSPROP_NEED                                                          \
    (NEED_S0 | (hp[5] != 0 ? NEED_S1 : 0) | (hp[4] > 0 ? NEED_S2 : 0))
#define ADAGRAD_NEED (NEED_S0 | NEED_STEP)

DEFINE_ENTRY(sgd, f32, 6, SGD_NEED)
DEFINE_ENTRY(sgd, f64, 6, SGD_NEED)
DEFINE_ENTRY(adam, f32, 8, ADAM_NEED)
DEFINE_ENTRY(adam, f64, 8, ADAM_NEED)
DEFINE_ENTRY(rmsprop, f32, 7, RMSPROP_NEED)
DEFINE_ENTRY(rmsprop, f64, 7, RMSPROP_NEED)
DEFINE_ENTRY(adagrad, f32, 5, ADAGRAD_NEED)
DEFINE_ENTRY(adagrad, f64, 5, ADAGRAD_NEED)
