// Elementwise activations (see mg_act.h for the contract).
//
// Each op is one formula per dtype (an `el_*` function below), expanded into
// a loop compiled three times: for AVX-512, for AVX2+FMA and for the baseline
// target. The loops carry `#pragma omp simd`; the transcendental calls in the
// formulas (exp, tanh, erfc, log1p) are declared with GCC's `simd` attribute
// so that, on glibc >= 2.35, the vectoriser calls glibc's libmvec variants
// (_ZGVeN16v_expf and friends, <= 4 ulp) instead of one scalar call per
// element. Elsewhere the same code calls the scalar C library.
// NOTE: FP exception flags are never read here, so the kernels may evaluate
// both arms of a select: without this, -ftrapping-math keeps a multiply or a
// division that sits in one arm of `?:` from being executed speculatively,
// and such a loop stays scalar and branchy (4.5 ns/element instead of 0.1 for
// leaky_relu on AVX2). It changes no result.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-tree-sink")
#endif

#include <math.h>
#include <stdint.h>

#include "mg_act.h"
#include "mg_cpu.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "act/vmath.h"

#ifndef _OPENMP
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
#endif

// -- the formulas ------------------------------------------------------------
// Each is a plain expression of one element, so it can be inlined into a
// vectorised loop. p0 and p1 are the op's parameters (see mg_act.h).

// Stable logistic function: e^-|x| never overflows, so sigmoid(±1000) is
// exactly 1 / 0 and never NaN (the classic branch-free split).
#define MG_DEF_SIGMOID(T, SUF, EXP, ABS)                                      \
    static inline T el_sigmoid_##SUF(T x) {                                   \
        T e = EXP(-ABS(x));                                                   \
        T r = (T)1 / ((T)1 + e);                                              \
        return x >= 0 ? r : e * r;                                            \
    }
MG_DEF_SIGMOID(float, f32, mg_vexpf, fabsf)
MG_DEF_SIGMOID(double, f64, mg_vexp, fabs)

#define EL_SELECT(c, a, b) ((c) ? (a) : (b))

// relu: written as a select so NaN propagates (x > 0 is false for NaN).
#define F_RELU(x) ((x) > 0 ? (x) : ((x) != (x) ? (x) : (T)0))
#define B_RELU(s, g) ((s) > 0 ? (g) : (T)0)
#define F_LEAKY(x) EL_SELECT((x) > 0, (x), (x) * P0)
#define B_LEAKY(s, g) EL_SELECT((s) > 0, (g), (g) * P0)
#define F_SIGMOID(x) el_sigmoid(x)
#define B_SIGMOID(s, g) ((g) * (s) * ((T)1 - (s)))
#define F_TANH(x) TANH(x)
#define B_TANH(s, g) ((g) * ((T)1 - (s) * (s)))
// Φ(x) = erfc(-x/√2)/2 rather than (1 + erf(x/√2))/2: no cancellation for
// x << 0, where the erf form loses every digit of x·Φ(x).
#define F_GELU(x) ((x) * (T)0.5 * ERFC(-(x) * (T)MG_SQRT1_2))
#define B_GELU(s, g)                                                          \
    ((g) * ((T)0.5 * ERFC(-(s) * (T)MG_SQRT1_2) +                              \
            (s) * (T)MG_INV_SQRT_2PI *                         \
                EXP((T)-0.5 * (s) * (s))))
// tanh approximation (PyTorch's approximate='tanh'); k0 = √(2/π).
#define GT_K0 ((T)MG_SQRT_2_PI)
#define GT_K1 ((T)0.044715)
#define F_GELU_TANH(x)                                                        \
    ((T)0.5 * (x) * ((T)1 + TANH(GT_K0 * ((x) + GT_K1 * (x) * (x) * (x)))))
#define B_GELU_TANH(s, g) el_gelu_tanh_bwd(s, g)
#define F_SILU(x) ((x) * el_sigmoid(x))
#define B_SILU(s, g) el_silu_bwd(s, g)
#define F_SOFTPLUS(x) el_softplus(x, P0, P1)
#define B_SOFTPLUS(s, g) el_softplus_bwd(s, g, P0, P1)
#define F_ERF(x) ERF(x)
#define B_ERF(s, g) ((g) * (T)MG_2_SQRTPI * EXP(-(s) * (s)))

#define MG_DEF_HELPERS(T, SUF, EXP, TANH, LOG1P, ABS)                         \
    static inline T el_gelu_tanh_bwd_##SUF(T s, T g) {                        \
        T t = TANH(GT_K0 * (s + GT_K1 * s * s * s));                          \
        T du = GT_K0 * ((T)1 + (T)3 * GT_K1 * s * s);                         \
        return g * ((T)0.5 * ((T)1 + t) + (T)0.5 * s * ((T)1 - t * t) * du);  \
    }                                                                         \
    static inline T el_silu_bwd_##SUF(T s, T g) {                             \
        T sg = el_sigmoid_##SUF(s);                                           \
        return g * sg * ((T)1 + s * ((T)1 - sg));                             \
    }                                                                         \
    static inline T el_softplus_bwd_##SUF(T s, T g, T beta, T threshold) {    \
        T z = s * beta;                                                       \
        T d = el_sigmoid_##SUF(z);                                            \
        return g * (z > threshold ? (T)1 : d);                                \
    }                                                                         \
    /* log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z */   \
    static inline T el_softplus_##SUF(T x, T beta, T threshold) {             \
        T z = x * beta;                                                       \
        T sp = (z > 0 ? z : (T)0) + LOG1P(EXP(-ABS(z)));                      \
        T q = sp / beta;                                                      \
        return EL_SELECT(z > threshold, x, q);                                \
    }

#define T float
MG_DEF_HELPERS(float, f32, mg_vexpf, mg_vtanhf, mg_vlog1pf, fabsf)
#undef T
#define T double
MG_DEF_HELPERS(double, f64, mg_vexp, mg_vtanh, mg_vlog1p, fabs)
#undef T

// -- loops, one per ISA --------------------------------------------------------

// The body of a forward (y = F(x)) and backward (gx = B(s, gy)) loop over
// contiguous operands; the `#pragma omp simd` is what lets the vectoriser use
// the simd clones of the math functions.
#define MG_FWD_BODY(FX)                                                       \
    _Pragma("omp simd") for (mg_index_t i = 0; i < n; i++) {                  \
        T xv = x[i];                                                          \
        y[i] = FX(xv);                                                        \
    }
#define MG_BWD_BODY(BX)                                                       \
    _Pragma("omp simd") for (mg_index_t i = 0; i < n; i++) {                  \
        T sv = s[i];                                                          \
        T gv = gy[i];                                                         \
        gx[i] = BX(sv, gv);                                                   \
    }

typedef void (*fwd_f32_t)(mg_index_t, const float *, float *, double, double);
typedef void (*fwd_f64_t)(mg_index_t, const double *, double *, double,
                          double);
typedef void (*bwd_f32_t)(mg_index_t, const float *, const float *, float *,
                          double, double);
typedef void (*bwd_f64_t)(mg_index_t, const double *, const double *,
                          double *, double, double);

#define MG_LOOPS_ONE(OP, FX, BX, T_, SUF, ISA, ATTR)                         \
    ATTR static void OP##_fwd_##SUF##_##ISA(mg_index_t n, const T_ *x,       \
                                            T_ *y, double p0, double p1) {    \
        const T_ P0 = (T_)p0, P1 = (T_)p1;                                    \
        (void)P0;                                                             \
        (void)P1;                                                             \
        MG_FWD_BODY(FX)                                                       \
    }                                                                         \
    ATTR static void OP##_bwd_##SUF##_##ISA(mg_index_t n, const T_ *s,       \
                                            const T_ *gy, T_ *gx, double p0,  \
                                            double p1) {                      \
        const T_ P0 = (T_)p0, P1 = (T_)p1;                                    \
        (void)P0;                                                             \
        (void)P1;                                                             \
        MG_BWD_BODY(BX)                                                       \
    }

#if MG_X86_TARGETS
#define MG_LOOPS_ISA(OP, FX, BX, T_, SUF)                                     \
    MG_LOOPS_ONE(OP, FX, BX, T_, SUF, generic, )                              \
    MG_LOOPS_ONE(OP, FX, BX, T_, SUF, avx2, MG_TGT_AVX2)                      \
    MG_LOOPS_ONE(OP, FX, BX, T_, SUF, avx512, MG_TGT_AVX512)
#define MG_PICK(OP, DIR, SUF, isa)                                            \
    ((isa) == MG_ISA_AVX512 ? OP##_##DIR##_##SUF##_avx512                     \
     : (isa) == MG_ISA_AVX2 ? OP##_##DIR##_##SUF##_avx2                       \
                            : OP##_##DIR##_##SUF##_generic)
#else
#define MG_LOOPS_ISA(OP, FX, BX, T_, SUF)                                     \
    MG_LOOPS_ONE(OP, FX, BX, T_, SUF, generic, )
#define MG_PICK(OP, DIR, SUF, isa) OP##_##DIR##_##SUF##_generic
#endif

// -- threading and strides -----------------------------------------------------

// Resolves `isa` (MG_ISA_AUTO -> best); -1 when the CPU cannot run it.
static int resolve_isa(int isa) {
    if (isa == MG_ISA_AUTO)
        return mg_cpu_best_isa();
    return mg_cpu_has_isa(isa) ? isa : -1;
}

// Splits [0, n) into one contiguous block per thread, each a multiple of 64
// elements (whole cache lines, whole vectors) except the last.
static void block_of(mg_index_t n, int t, int nt, mg_index_t *lo,
                     mg_index_t *len) {
    mg_index_t per = (n + nt - 1) / nt;
    per = (per + 63) / 64 * 64;
    mg_index_t a = (mg_index_t)t * per;
    mg_index_t b = a + per < n ? a + per : n;
    *lo = a < n ? a : n;
    *len = b > *lo ? b - *lo : 0;
}

static int use_threads(mg_index_t n, int nthreads) {
#ifdef _OPENMP
    return nthreads > 1 && n >= MG_ACT_PAR_MIN;
#else
    (void)n;
    (void)nthreads;
    return 0;
#endif
}

#define MG_OMP_STRIDED                                                        \
    _Pragma("omp parallel for if (par) num_threads(nthreads) schedule(static)")

// The exported entry points. Contiguous operands run the ISA loop on one
// block per thread; strided ones run the same formula element by element
// (the portable loop body, with strides) on the baseline target.
#define MG_ENTRY(OP, FX, BX, T_, SUF)                                         \
    int mg_##OP##_fwd_##SUF(mg_index_t n, const T_ *x, mg_index_t inc_x,      \
                            T_ *y, mg_index_t inc_y, double p0, double p1,    \
                            int nthreads, int isa) {                          \
        int use = resolve_isa(isa);                                           \
        if (use < 0)                                                          \
            return -1;                                                        \
        if (n <= 0)                                                           \
            return 0;                                                         \
        if (inc_x != 1 || inc_y != 1) {                                       \
            const T_ P0 = (T_)p0, P1 = (T_)p1;                                \
            (void)P0;                                                         \
            (void)P1;                                                         \
            int par = use_threads(n, nthreads);                               \
            MG_OMP_STRIDED                                                    \
            for (mg_index_t i = 0; i < n; i++) {                              \
                T_ xv = x[i * inc_x];                                         \
                y[i * inc_y] = FX(xv);                                        \
            }                                                                 \
            return 0;                                                         \
        }                                                                     \
        fwd_##SUF##_t fn = MG_PICK(OP, fwd, SUF, use);                        \
        if (!use_threads(n, nthreads)) {                                      \
            fn(n, x, y, p0, p1);                                              \
            return 0;                                                         \
        }                                                                     \
        _Pragma("omp parallel num_threads(nthreads)") {                       \
            mg_index_t lo = 0, len = 0;                                       \
            block_of(n, omp_get_thread_num(), omp_get_num_threads(), &lo,     \
                     &len);                                                   \
            if (len > 0)                                                      \
                fn(len, x + lo, y + lo, p0, p1);                              \
        }                                                                     \
        return 0;                                                             \
    }                                                                         \
    int mg_##OP##_bwd_##SUF(mg_index_t n, const T_ *s, mg_index_t inc_s,      \
                            const T_ *gy, mg_index_t inc_gy, T_ *gx,          \
                            mg_index_t inc_gx, double p0, double p1,          \
                            int nthreads, int isa) {                          \
        int use = resolve_isa(isa);                                           \
        if (use < 0)                                                          \
            return -1;                                                        \
        if (n <= 0)                                                           \
            return 0;                                                         \
        if (inc_s != 1 || inc_gy != 1 || inc_gx != 1) {                       \
            const T_ P0 = (T_)p0, P1 = (T_)p1;                                \
            (void)P0;                                                         \
            (void)P1;                                                         \
            int par = use_threads(n, nthreads);                               \
            MG_OMP_STRIDED                                                    \
            for (mg_index_t i = 0; i < n; i++) {                              \
                T_ sv = s[i * inc_s];                                         \
                T_ gv = gy[i * inc_gy];                                       \
                gx[i * inc_gx] = BX(sv, gv);                                  \
            }                                                                 \
            return 0;                                                         \
        }                                                                     \
        bwd_##SUF##_t fn = MG_PICK(OP, bwd, SUF, use);                        \
        if (!use_threads(n, nthreads)) {                                      \
            fn(n, s, gy, gx, p0, p1);                                         \
            return 0;                                                         \
        }                                                                     \
        _Pragma("omp parallel num_threads(nthreads)") {                       \
            mg_index_t lo = 0, len = 0;                                       \
            block_of(n, omp_get_thread_num(), omp_get_num_threads(), &lo,     \
                     &len);                                                   \
            if (len > 0)                                                      \
                fn(len, s + lo, gy + lo, gx + lo, p0, p1);                    \
        }                                                                     \
        return 0;                                                             \
    }

// Binds the dtype-generic names used by the F_* / B_* formulas.
#define MG_ALL(OP, FX, BX)                                                    \
    MG_LOOPS_ISA(OP, FX, BX, float, f32)                                      \
    MG_ENTRY(OP, FX, BX, float, f32)

#define MG_ALL64(OP, FX, BX)                                                  \
    MG_LOOPS_ISA(OP, FX, BX, double, f64)                                     \
    MG_ENTRY(OP, FX, BX, double, f64)

#define T float
#define el_sigmoid el_sigmoid_f32
#define el_softplus el_softplus_f32
#define el_softplus_bwd el_softplus_bwd_f32
#define el_gelu_tanh_bwd el_gelu_tanh_bwd_f32
#define el_silu_bwd el_silu_bwd_f32
#define EXP mg_vexpf
#define TANH mg_vtanhf
#define ERF mg_verff
#define ERFC mg_verfcf
MG_ALL(relu, F_RELU, B_RELU)
MG_ALL(leaky_relu, F_LEAKY, B_LEAKY)
MG_ALL(sigmoid, F_SIGMOID, B_SIGMOID)
MG_ALL(tanh, F_TANH, B_TANH)
MG_ALL(gelu, F_GELU, B_GELU)
MG_ALL(gelu_tanh, F_GELU_TANH, B_GELU_TANH)
MG_ALL(silu, F_SILU, B_SILU)
MG_ALL(softplus, F_SOFTPLUS, B_SOFTPLUS)
MG_ALL(erf, F_ERF, B_ERF)
#undef T
#undef el_sigmoid
#undef el_softplus
#undef el_softplus_bwd
#undef el_gelu_tanh_bwd
#undef el_silu_bwd
#undef EXP
#undef TANH
#undef ERF
#undef ERFC

#define T double
#define el_sigmoid el_sigmoid_f64
#define el_softplus el_softplus_f64
#define el_softplus_bwd el_softplus_bwd_f64
#define el_gelu_tanh_bwd el_gelu_tanh_bwd_f64
#define el_silu_bwd el_silu_bwd_f64
#define EXP mg_vexp
#define TANH mg_vtanh
#define ERF mg_verf
#define ERFC mg_verfc
MG_ALL64(relu, F_RELU, B_RELU)
MG_ALL64(leaky_relu, F_LEAKY, B_LEAKY)
MG_ALL64(sigmoid, F_SIGMOID, B_SIGMOID)
MG_ALL64(tanh, F_TANH, B_TANH)
MG_ALL64(gelu, F_GELU, B_GELU)
MG_ALL64(gelu_tanh, F_GELU_TANH, B_GELU_TANH)
MG_ALL64(silu, F_SILU, B_SILU)
MG_ALL64(softplus, F_SOFTPLUS, B_SOFTPLUS)
MG_ALL64(erf, F_ERF, B_ERF)
