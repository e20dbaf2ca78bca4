// Elementwise activations (see mg_act.h for the contract).
//
// Each op is one formula per dtype (an `el_*` function below), expanded into
// a loop compiled three times: for AVX-512, for AVX2+FMA and for the baseline
// target. The loops carry `#pragma omp simd`; the transcendental calls in the
// formulas (exp, tanh, erfc, log1p) are declared with GCC's `simd` attribute
// so that, on glibc >= 2.35, the vectoriser calls glibc's libmvec variants
// (_ZGVeN16v_expf and friends, <= 4 ulp) instead of one scalar call per
// element. Elsewhere the same code calls the scalar C library. In float32,
// sigmoid, silu, gelu and gelu_tanh use the inline kernels of act/vmath.h
// instead (no call per vector, and accurate where the textbook formulas
// cancel); GELU's AVX2 and AVX-512 loops are written with intrinsics
// (act/vmath_avx2.h, act/vmath_avx512.h).
// NOTE: FP exception flags are never read here, so the kernels may evaluate
// both arms of a select: without this, -ftrapping-math keeps a multiply or a
// division that sits in one arm of `?:` from being executed speculatively,
// and such a loop stays scalar and branchy (4.5 ns/element instead of 0.1 for
// leaky_relu on AVX2). It changes no result.
#if defined(__GNUC__) && !defined(__clang__)
// fp-contract=fast lets the AVX2/AVX-512 loops fuse a*b + c into one FMA
// (-std=c11 turns contraction off); it only removes roundings.
// no-thread-jumps: the float32 formulas clamp x and later test it again
// (e.g. `x < -87 ? 0 : e`); jump threading turns each such pair into
// separate paths, which the vectoriser then evaluates all of (the portable
// GELU loop had ~130 instructions per vector with it, ~70 without).
#pragma GCC optimize("no-trapping-math", "no-tree-sink", "fp-contract=fast",  \
                     "no-thread-jumps")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mg_act.h"
#include "mg_cpu.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "act/vmath.h"
#include "act/vmath_avx2.h"
#include "act/vmath_avx512.h"

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
MG_DEF_SIGMOID(double, f64, mg_vexp, fabs)
// float32: the inline exp of vmath.h saturates to 0 / +inf, so the direct
// 1 / (1 + e^-x) is stable and needs no select.
static inline float el_sigmoid_f32(float x) { return mg_sigmoid_f32(x); }

#define EL_SELECT(c, a, b) ((c) ? (a) : (b))

// relu: written as a select so NaN propagates (x > 0 is false for NaN).
#define F_RELU(x) ((x) > 0 ? (x) : ((x) != (x) ? (x) : (T)0))
// NOTE: relu'(NaN) passes g, as PyTorch's threshold_backward (s <= 0 is
// false for NaN); relu'(0) = 0.
#define B_RELU(s, g) ((s) <= 0 ? (T)0 : (g))
#define F_LEAKY(x) EL_SELECT((x) > 0, (x), (x) * P0)
#define B_LEAKY(s, g) EL_SELECT((s) > 0, (g), (g) * P0)
#define F_SIGMOID(x) el_sigmoid(x)
#define B_SIGMOID(s, g) ((g) * (s) * ((T)1 - (s)))
#define F_TANH(x) TANH(x)
#define B_TANH(s, g) ((g) * ((T)1 - (s) * (s)))
// Φ(x) = erfc(-x/√2)/2 rather than (1 + erf(x/√2))/2: no cancellation for
// x << 0, where the erf form loses every digit of x·Φ(x).
// max(c, x) and min(c, x) that keep NaN (a comparison with NaN is false).
// Inputs are clamped where a formula has reached its limit, so that ±inf
// give the limit (gelu(-inf) = 0, gelu'(+inf) = 1, ...) instead of inf·0 =
// NaN as in PyTorch.
#define MG_LO(x, c) ((T)(c) > (x) ? (T)(c) : (x))
#define MG_HI(x, c) ((T)(c) < (x) ? (T)(c) : (x))
#define MG_CLAMP(x, c) MG_HI(MG_LO(x, -(c)), c)
#define F_GELU(x) el_gelu(MG_LO(x, -40))
#define B_GELU(s, g) el_gelu_bwd(MG_CLAMP(s, 40), g)
// tanh approximation (PyTorch's approximate='tanh'); k0 = √(2/π).
#define GT_K0 ((T)MG_SQRT_2_PI)
#define GT_K1 ((T)0.044715)
#define F_GELU_TANH(x) el_gelu_tanh(MG_LO(x, -40))
#define B_GELU_TANH(s, g) el_gelu_tanh_bwd(MG_CLAMP(s, 40), g)
#define F_SILU(x) el_silu(MG_LO(x, -800))
#define B_SILU(s, g) el_silu_bwd(MG_CLAMP(s, 800), g)
#define F_SOFTPLUS(x) el_softplus(x, P0, P1)
#define B_SOFTPLUS(s, g) el_softplus_bwd(s, g, P0, P1)
#define F_ERF(x) ERF(x)
#define B_ERF(s, g) ((g) * (T)MG_2_SQRTPI * EXP(-(s) * (s)))

// float32 GELU and SiLU on the inline kernels of vmath.h (the GELU loops for
// AVX2 and AVX-512 are in vmath_avx2.h / vmath_avx512.h, same method). x is clamped where
// the value has reached its limit, so ±inf give the limits (gelu(-inf) = 0,
// gelu'(±inf) = 0 / 1, silu(-inf) = -0, silu'(±inf) = 0 / 1).
// x·Φ(x) = max(x, 0) - |x|·Φ(-|x|) for either sign of x: no branch on the
// sign, and beyond ±20, where Φ(-|x|) = 0, it is max(x, 0).
static inline float el_gelu_fast_f32(float x) {
    float xe = -20.0f > x ? -20.0f : x;
    xe = 20.0f < xe ? 20.0f : xe;
    mg_ndist_f32 nd = mg_ndist_f32_of(xe);
    return (0.0f > x ? 0.0f : x) - fabsf(xe) * nd.h;
}
static inline float el_gelu_fast_bwd_f32(float x, float g) {
    float xc = -20.0f > x ? -20.0f : x;
    xc = 20.0f < xc ? 20.0f : xc;
    mg_ndist_f32 nd = mg_ndist_f32_of(xc);
    float cdf = xc < 0.0f ? nd.h : 1.0f - nd.h;
    return g * (cdf + xc * (nd.e * (float)MG_INV_SQRT_2PI));
}
static inline float el_silu_fast_f32(float x) {
    float xc = -100.0f > x ? -100.0f : x;
    return xc * mg_sigmoid_f32(xc);
}
// σ and 1 - σ = e^-x·σ come from one exponential: 1 - σ formed by subtraction
// has no correct digit once σ rounds to 1 (x > 17), and x·(1 - σ) would carry
// an error up to x·ulp(1). x is clamped to ±87, where e^-x stays finite and
// normal; the derivative is 1 in float32 above 87, and below -87 (where it
// is under 2e-36 in magnitude) it is set to 0.
static inline float el_silu_fast_bwd_f32(float x, float g) {
    float xc = -87.0f > x ? -87.0f : x;
    xc = 87.0f < xc ? 87.0f : xc;
    float e = mg_exp_core_f32(-xc, 0.0f);
    float sg = 1.0f / (1.0f + e);
    float d = sg * (1.0f + xc * (e * sg));
    return g * (-87.0f > x ? 0.0f : d);
}

// GELU, tanh approximation: x/2·(1 + tanh u) = x·σ(2u), u = k0·(x + k1·x³),
// which does not cancel for x << 0 as 1 + tanh u does; the derivative is
// σ(2u) + x·σ(2u)·σ(-2u)·2u', with σ(-2u) = e^-2u·σ(2u) as for SiLU.
#define GT2_K0 ((float)(2 * MG_SQRT_2_PI))
#define GT_K1F 0.044715f
static inline float el_gelu_tanh_fast_f32(float x) {
    float xc = -20.0f > x ? -20.0f : x;
    return xc * mg_sigmoid_f32(GT2_K0 * (xc + GT_K1F * (xc * xc) * xc));
}
static inline float el_gelu_tanh_fast_bwd_f32(float x, float g) {
    float xc = -20.0f > x ? -20.0f : x;
    xc = 20.0f < xc ? 20.0f : xc;
    float x2 = xc * xc;
    float v = GT2_K0 * (xc + GT_K1F * x2 * xc);
    float vc = -87.0f > v ? -87.0f : v;
    vc = 87.0f < vc ? 87.0f : vc;
    float e = mg_exp_core_f32(-vc, 0.0f);
    float sg = 1.0f / (1.0f + e);
    float dv = GT2_K0 * (1.0f + (3.0f * GT_K1F) * x2);
    float d = sg + xc * ((sg * (e * sg)) * dv);
    return g * (-87.0f > v ? 0.0f : d);
}

// Double-precision GELU and SiLU use the C library (float32 has its own, in
// vmath.h); the callers above clamp x.
#define MG_DEF_HELPERS(T, SUF, EXP, TANH, LOG1P, ABS, ERFC)                   \
    static inline T el_gelu_##SUF(T x) {                                      \
        return x * (T)0.5 * ERFC(-x * (T)MG_SQRT1_2);                         \
    }                                                                         \
    static inline T el_gelu_bwd_##SUF(T s, T g) {                             \
        return g * ((T)0.5 * ERFC(-s * (T)MG_SQRT1_2) +                       \
                    s * (T)MG_INV_SQRT_2PI * EXP((T)-0.5 * s * s));           \
    }                                                                         \
    /* (1 + tanh(u))/2 = σ(2u): no cancellation for x << 0 */                 \
    static inline T el_gelu_tanh_##SUF(T x) {                                 \
        return x * el_sigmoid_##SUF((T)2 * GT_K0 * (x + GT_K1 * x * x * x));  \
    }                                                                         \
    static inline T el_silu_##SUF(T x) { return x * el_sigmoid_##SUF(x); }    \
    static inline T el_gelu_tanh_bwd_##SUF(T s, T g) {                        \
        T v = (T)2 * GT_K0 * (s + GT_K1 * s * s * s);                         \
        T dv = (T)2 * GT_K0 * ((T)1 + (T)3 * GT_K1 * s * s);                  \
        T sg = el_sigmoid_##SUF(v);                                           \
        return g * (sg + s * sg * el_sigmoid_##SUF(-v) * dv);                 \
    }                                                                         \
    /* 1 - σ(s) as σ(-s): no cancellation once σ(s) rounds to 1 */            \
    static inline T el_silu_bwd_##SUF(T s, T g) {                             \
        T sg = el_sigmoid_##SUF(s);                                           \
        return g * sg * ((T)1 + s * el_sigmoid_##SUF(-s));                    \
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
MG_DEF_HELPERS(float, f32, mg_vexpf, mg_vtanhf, mg_vlog1pf, fabsf, mg_verfcf)
#undef T
#define T double
MG_DEF_HELPERS(double, f64, mg_vexp, mg_vtanh, mg_vlog1p, fabs, mg_verfc)
#undef T

// -- loops, one per ISA ------------------------------------------------------

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

#define MG_LOOPS_ONE(OP, FX, BX, T_, SUF, ISA, ATTR)                          \
    ATTR static void OP##_fwd_##SUF##_##ISA(mg_index_t n, const T_ *x,        \
                                            T_ *y, double p0, double p1) {    \
        const T_ P0 = (T_)p0, P1 = (T_)p1;                                    \
        (void)P0;                                                             \
        (void)P1;                                                             \
        MG_FWD_BODY(FX)                                                       \
    }                                                                         \
    ATTR static void OP##_bwd_##SUF##_##ISA(mg_index_t n, const T_ *s,        \
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
// For an op whose AVX2 and AVX-512 loops are written by hand
// (act/vmath_avx2.h, act/vmath_avx512.h).
#define MG_LOOPS_X86(OP, FX, BX, T_, SUF)                                     \
    MG_LOOPS_ONE(OP, FX, BX, T_, SUF, generic, )
#else
#define MG_LOOPS_ISA(OP, FX, BX, T_, SUF)                                     \
    MG_LOOPS_ONE(OP, FX, BX, T_, SUF, generic, )
#define MG_LOOPS_X86 MG_LOOPS_ISA
#define MG_PICK(OP, DIR, SUF, isa) OP##_##DIR##_##SUF##_generic
#endif

// -- threading and strides ---------------------------------------------------

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

// Whether a call of n elements of an op of relative cost `weight` (in
// quarters of a relu element, see MG_ALL) is worth a second thread: waking a
// passive OpenMP thread and joining it costs 4-10 us here, so a call goes
// parallel when its one-thread time is roughly 40 us or more (mg_act.h).
static int use_threads(mg_index_t n, int nthreads, int weight) {
#ifdef _OPENMP
    return nthreads > 1 && n * weight >= (mg_index_t)MG_ACT_PAR_MIN * 4;
#else
    (void)n;
    (void)nthreads;
    (void)weight;
    return 0;
#endif
}

// Elements before `p` reaches a 64-byte boundary.
static mg_index_t head_to_line(const void *p, size_t elsize, mg_index_t n) {
    size_t mis = (size_t)((uintptr_t)p & 63);
    mg_index_t h = mis ? (mg_index_t)((64 - mis) / elsize) : 0;
    return h < n ? h : n;
}

// Runs an ISA loop over n contiguous elements so that (1) the output is
// stored in whole cache lines: numpy's large arrays start 16 bytes past a
// line, and every 64-byte vector store would otherwise straddle two lines
// (as would the loads of inputs with the same offset, the usual case); and
// (2) every element goes through the loop's full-width vector body, whatever
// the alignment or the thread split: the head before the first line and the
// tail after the last whole block of MG_ACT_BLOCK are run through a zero-
// padded block on the stack. The vector body and the compiler's remainder
// loop may differ in the last bit (the remainder calls the scalar C library),
// so without (2) a value would depend on where the array starts.
// MG_ACT_BLOCK is a multiple of every loop's vector length (16 floats or 8
// doubles for AVX-512, fewer elsewhere); small arrays too go through the
// padded block, so a value never depends on the array's length or layout.
#define MG_ACT_BLOCK 16
#define MG_DEF_RUN(T_, SUF)                                                   \
    static void run_fwd_##SUF(fwd_##SUF##_t fn, mg_index_t n, const T_ *x,    \
                              T_ *y, double p0, double p1) {                  \
        T_ bx[MG_ACT_BLOCK], by[MG_ACT_BLOCK];                                \
        mg_index_t h = head_to_line(y, sizeof *y, n);                         \
        mg_index_t m = (n - h) / MG_ACT_BLOCK * MG_ACT_BLOCK;                 \
        mg_index_t t = n - h - m;                                             \
        if (h > 0) {                                                          \
            memset(bx, 0, sizeof bx);                                         \
            memcpy(bx, x, (size_t)h * sizeof *x);                             \
            fn(MG_ACT_BLOCK, bx, by, p0, p1);                                 \
            memcpy(y, by, (size_t)h * sizeof *y);                             \
        }                                                                     \
        fn(m, x + h, y + h, p0, p1);                                          \
        if (t > 0) {                                                          \
            memset(bx, 0, sizeof bx);                                         \
            memcpy(bx, x + h + m, (size_t)t * sizeof *x);                     \
            fn(MG_ACT_BLOCK, bx, by, p0, p1);                                 \
            memcpy(y + h + m, by, (size_t)t * sizeof *y);                     \
        }                                                                     \
    }                                                                         \
    static void run_bwd_##SUF(bwd_##SUF##_t fn, mg_index_t n, const T_ *s,    \
                              const T_ *gy, T_ *gx, double p0, double p1) {   \
        T_ bs[MG_ACT_BLOCK], bg[MG_ACT_BLOCK], bx[MG_ACT_BLOCK];              \
        mg_index_t h = head_to_line(gx, sizeof *gx, n);                       \
        mg_index_t m = (n - h) / MG_ACT_BLOCK * MG_ACT_BLOCK;                 \
        mg_index_t t = n - h - m;                                             \
        if (h > 0) {                                                          \
            memset(bs, 0, sizeof bs);                                         \
            memset(bg, 0, sizeof bg);                                         \
            memcpy(bs, s, (size_t)h * sizeof *s);                             \
            memcpy(bg, gy, (size_t)h * sizeof *gy);                           \
            fn(MG_ACT_BLOCK, bs, bg, bx, p0, p1);                             \
            memcpy(gx, bx, (size_t)h * sizeof *gx);                           \
        }                                                                     \
        fn(m, s + h, gy + h, gx + h, p0, p1);                                 \
        if (t > 0) {                                                          \
            memset(bs, 0, sizeof bs);                                         \
            memset(bg, 0, sizeof bg);                                         \
            memcpy(bs, s + h + m, (size_t)t * sizeof *s);                     \
            memcpy(bg, gy + h + m, (size_t)t * sizeof *gy);                   \
            fn(MG_ACT_BLOCK, bs, bg, bx, p0, p1);                             \
            memcpy(gx + h + m, bx, (size_t)t * sizeof *gx);                   \
        }                                                                     \
    }
MG_DEF_RUN(float, f32)
MG_DEF_RUN(double, f64)

// Strided operands (a broadcast gradient from .sum().backward() has stride 0;
// a transposed view has stride > 1) are gathered MG_ACT_CHUNK elements at a time
// into stack buffers and run through the same ISA loop as contiguous ones, so
// they cost about as much, and give the same bits, as the contiguous case;
// an element-by-element strided loop was 5-15x slower. A partial last chunk is
// zero-padded to whole blocks (see above); outputs with stride 1 are written
// in place, others scattered back from the buffer.
#define MG_ACT_CHUNK 512
static mg_index_t round_to_block(mg_index_t len) {
    return (len + MG_ACT_BLOCK - 1) / MG_ACT_BLOCK * MG_ACT_BLOCK;
}
#define MG_DEF_STRIDED(T_, SUF)                                               \
    static const T_ *gather_##SUF(T_ *buf, const T_ *src, mg_index_t inc,     \
                                  mg_index_t len) {                           \
        mg_index_t padded = round_to_block(len);                              \
        if (inc == 1 && len == padded)                                        \
            return src;                                                       \
        if (inc == 0) /* a broadcast scalar: a fill the compiler vectorises */ \
            for (mg_index_t i = 0; i < len; i++)                              \
                buf[i] = src[0];                                              \
        else                                                                  \
            for (mg_index_t i = 0; i < len; i++)                              \
                buf[i] = src[i * inc];                                        \
        for (mg_index_t i = len; i < padded; i++)                             \
            buf[i] = 0;                                                       \
        return buf;                                                           \
    }                                                                         \
    static void strided_fwd_##SUF(fwd_##SUF##_t fn, mg_index_t n,             \
                                  const T_ *x, mg_index_t ix, T_ *y,          \
                                  mg_index_t iy, double p0, double p1,        \
                                  int par, int nthreads) {                    \
        mg_index_t chunks = (n + MG_ACT_CHUNK - 1) / MG_ACT_CHUNK;            \
        _Pragma("omp parallel for if (par) num_threads(nthreads)")            \
        for (mg_index_t c = 0; c < chunks; c++) {                             \
            T_ bx[MG_ACT_CHUNK], by[MG_ACT_CHUNK];                            \
            mg_index_t lo = c * MG_ACT_CHUNK;                                 \
            mg_index_t len = n - lo < MG_ACT_CHUNK ? n - lo : MG_ACT_CHUNK;   \
            mg_index_t padded = round_to_block(len);                          \
            const T_ *px = gather_##SUF(bx, x + lo * ix, ix, len);            \
            T_ *py = iy == 1 && len == padded ? y + lo : by;                  \
            fn(padded, px, py, p0, p1);                                       \
            if (py == by)                                                     \
                for (mg_index_t i = 0; i < len; i++)                          \
                    y[(lo + i) * iy] = by[i];                                 \
        }                                                                     \
    }                                                                         \
    static void strided_bwd_##SUF(bwd_##SUF##_t fn, mg_index_t n,             \
                                  const T_ *s, mg_index_t is, const T_ *gy,   \
                                  mg_index_t ig, T_ *gx, mg_index_t ix,       \
                                  double p0, double p1, int par,              \
                                  int nthreads) {                             \
        mg_index_t chunks = (n + MG_ACT_CHUNK - 1) / MG_ACT_CHUNK;            \
        _Pragma("omp parallel for if (par) num_threads(nthreads)")            \
        for (mg_index_t c = 0; c < chunks; c++) {                             \
            T_ bs[MG_ACT_CHUNK], bg[MG_ACT_CHUNK], bx[MG_ACT_CHUNK];          \
            mg_index_t lo = c * MG_ACT_CHUNK;                                 \
            mg_index_t len = n - lo < MG_ACT_CHUNK ? n - lo : MG_ACT_CHUNK;   \
            mg_index_t padded = round_to_block(len);                          \
            const T_ *ps = gather_##SUF(bs, s + lo * is, is, len);            \
            const T_ *pg = gather_##SUF(bg, gy + lo * ig, ig, len);           \
            T_ *px = ix == 1 && len == padded ? gx + lo : bx;                 \
            fn(padded, ps, pg, px, p0, p1);                                   \
            if (px == bx)                                                     \
                for (mg_index_t i = 0; i < len; i++)                          \
                    gx[(lo + i) * ix] = bx[i];                                \
        }                                                                     \
    }
MG_DEF_STRIDED(float, f32)
MG_DEF_STRIDED(double, f64)

// The exported entry points. Contiguous operands run the ISA loop on one
// block per thread; strided ones go through gathered chunks (above).
#define MG_ENTRY(OP, FX, BX, T_, SUF, W)                                      \
    int mg_##OP##_fwd_##SUF(mg_index_t n, const T_ *x, mg_index_t inc_x,      \
                            T_ *y, mg_index_t inc_y, double p0, double p1,    \
                            int nthreads, int isa) {                          \
        int use = mg_cpu_resolve_isa(isa);                                    \
        if (use < 0)                                                          \
            return -1;                                                        \
        nthreads = mg_threads_clamp(nthreads); /* never trust the caller */   \
        if (n <= 0)                                                           \
            return 0;                                                         \
        fwd_##SUF##_t fn = MG_PICK(OP, fwd, SUF, use);                        \
        if (inc_x != 1 || inc_y != 1) {                                       \
            strided_fwd_##SUF(fn, n, x, inc_x, y, inc_y, p0, p1,              \
                              use_threads(n, nthreads, W), nthreads);         \
            return 0;                                                         \
        }                                                                     \
        if (!use_threads(n, nthreads, W)) {                                   \
            run_fwd_##SUF(fn, n, x, y, p0, p1);                               \
            return 0;                                                         \
        }                                                                     \
        _Pragma("omp parallel num_threads(nthreads)") {                       \
            mg_index_t lo = 0, len = 0;                                       \
            block_of(n, omp_get_thread_num(), omp_get_num_threads(), &lo,     \
                     &len);                                                   \
            if (len > 0)                                                      \
                run_fwd_##SUF(fn, len, x + lo, y + lo, p0, p1);               \
        }                                                                     \
        return 0;                                                             \
    }                                                                         \
    int mg_##OP##_bwd_##SUF(mg_index_t n, const T_ *s, mg_index_t inc_s,      \
                            const T_ *gy, mg_index_t inc_gy, T_ *gx,          \
                            mg_index_t inc_gx, double p0, double p1,          \
                            int nthreads, int isa) {                          \
        int use = mg_cpu_resolve_isa(isa);                                    \
        if (use < 0)                                                          \
            return -1;                                                        \
        nthreads = mg_threads_clamp(nthreads); /* never trust the caller */   \
        if (n <= 0)                                                           \
            return 0;                                                         \
        bwd_##SUF##_t fn = MG_PICK(OP, bwd, SUF, use);                        \
        if (inc_s != 1 || inc_gy != 1 || inc_gx != 1) {                       \
            strided_bwd_##SUF(fn, n, s, inc_s, gy, inc_gy, gx, inc_gx, p0, p1, \
                              use_threads(n, nthreads, W), nthreads);         \
            return 0;                                                         \
        }                                                                     \
        if (!use_threads(n, nthreads, W)) {                                   \
            run_bwd_##SUF(fn, n, s, gy, gx, p0, p1);                          \
            return 0;                                                         \
        }                                                                     \
        _Pragma("omp parallel num_threads(nthreads)") {                       \
            mg_index_t lo = 0, len = 0;                                       \
            block_of(n, omp_get_thread_num(), omp_get_num_threads(), &lo,     \
                     &len);                                                   \
            if (len > 0)                                                      \
                run_bwd_##SUF(fn, len, s + lo, gy + lo, gx + lo, p0, p1);     \
        }                                                                     \
        return 0;                                                             \
    }

// Binds the dtype-generic names used by the F_* / B_* formulas.
// W: the op's cost per element relative to relu, in quarters (one-thread
// fwd+bwd time at 1e6 float32, AVX-512), which scales the thread threshold.
#define MG_ALL(OP, FX, BX, W)                                                 \
    MG_LOOPS_ISA(OP, FX, BX, float, f32)                                      \
    MG_ENTRY(OP, FX, BX, float, f32, W)

#define MG_ALL_X86(OP, FX, BX, W)                                             \
    MG_LOOPS_X86(OP, FX, BX, float, f32)                                      \
    MG_ENTRY(OP, FX, BX, float, f32, W)

// float64: twice the bytes per element, so twice the weight.
#define MG_ALL64(OP, FX, BX, W)                                               \
    MG_LOOPS_ISA(OP, FX, BX, double, f64)                                     \
    MG_ENTRY(OP, FX, BX, double, f64, 2 * (W))

#define T float
#define el_sigmoid el_sigmoid_f32
#define el_softplus el_softplus_f32
#define el_softplus_bwd el_softplus_bwd_f32
#define el_gelu_tanh_bwd el_gelu_tanh_bwd_f32
#define el_silu_bwd el_silu_bwd_f32
#define el_silu el_silu_f32
#define el_gelu el_gelu_f32
#define el_gelu_bwd el_gelu_bwd_f32
#define el_gelu_tanh el_gelu_tanh_f32
#define EXP mg_vexpf
#define TANH mg_vtanhf
#define ERF mg_verff
#define ERFC mg_verfcf
MG_ALL(relu, F_RELU, B_RELU, 4)
MG_ALL(leaky_relu, F_LEAKY, B_LEAKY, 4)
MG_ALL(sigmoid, F_SIGMOID, B_SIGMOID, 5)
MG_ALL(tanh, F_TANH, B_TANH, 5)
MG_ALL_X86(gelu, el_gelu_fast_f32, el_gelu_fast_bwd_f32, 7)
MG_ALL(gelu_tanh, el_gelu_tanh_fast_f32, el_gelu_tanh_fast_bwd_f32, 6)
MG_ALL(silu, el_silu_fast_f32, el_silu_fast_bwd_f32, 6)
MG_ALL(softplus, F_SOFTPLUS, B_SOFTPLUS, 12)
MG_ALL(erf, F_ERF, B_ERF, 6)
#undef T
#undef el_sigmoid
#undef el_softplus
#undef el_softplus_bwd
#undef el_gelu_tanh_bwd
#undef el_silu_bwd
#undef el_silu
#undef el_gelu
#undef el_gelu_bwd
#undef el_gelu_tanh
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
#define el_silu el_silu_f64
#define el_gelu el_gelu_f64
#define el_gelu_bwd el_gelu_bwd_f64
#define el_gelu_tanh el_gelu_tanh_f64
#define EXP mg_vexp
#define TANH mg_vtanh
#define ERF mg_verf
#define ERFC mg_verfc
MG_ALL64(relu, F_RELU, B_RELU, 4)
MG_ALL64(leaky_relu, F_LEAKY, B_LEAKY, 4)
MG_ALL64(sigmoid, F_SIGMOID, B_SIGMOID, 5)
MG_ALL64(tanh, F_TANH, B_TANH, 5)
MG_ALL64(gelu, F_GELU, B_GELU, 7)
MG_ALL64(gelu_tanh, F_GELU_TANH, B_GELU_TANH, 7)
MG_ALL64(silu, F_SILU, B_SILU, 6)
MG_ALL64(softplus, F_SOFTPLUS, B_SOFTPLUS, 12)
MG_ALL64(erf, F_ERF, B_ERF, 6)
