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
// contraction (-std=c11), so all three give the numpy path's result. The
// float AVX-512 Adam is written out with intrinsics instead, for Note
// [Subnormal moments]; it too gives those bits.
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
#include <immintrin.h>
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

#define SGD_KERNEL(T, SUF, ATTR)                                              \
    ATTR static void sgd_##SUF(const optim_args *a, mg_index_t k, mg_index_t lo, \
                          mg_index_t hi) {                                    \
        const double *hp = a->hp;                                             \
        const T lr = (T)hp[0], mom = (T)hp[1], damp1 = (T)(1 - hp[2]);        \
        const T wd = (T)hp[3];                                                \
        const int has_mom = hp[1] != 0, has_damp = hp[2] != 0;                \
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
    }

#define ADAM_PRELUDE(T)                                                       \
    const double *hp = a->hp;                                                 \
    const double lr = hp[0], beta1 = hp[1], beta2 = hp[2], eps = hp[3];       \
    const double wd = hp[4];                                                  \
    const int decoupled = hp[5] != 0, amsgrad = hp[6] != 0;                   \
    const int maximize = hp[7] != 0;                                          \
    const double t = (double)a->step[k];                                      \
    const int shrink = decoupled && wd != 0, l2 = !decoupled && wd != 0;      \
    const T decay = (T)(1 - lr * wd), wd_t = (T)wd;                           \
    const T b1 = (T)beta1, c1 = (T)(1 - beta1);                               \
    const T b2 = (T)beta2, c2 = (T)(1 - beta2);                               \
    /* as the numpy path: step size folded into the denominator */            \
    const double step_size = lr / (1 - pow(beta1, t));                        \
    const T dscale = (T)(1 / (sqrt(1 - pow(beta2, t)) * step_size));          \
    const T doff = (T)(eps / step_size);                                      \
    const int update = lr != 0;                                               \
    T *MG_RESTRICT x = (T *)a->p[k];                                          \
    const T *MG_RESTRICT g = (const T *)a->g[k];                              \
    T *MG_RESTRICT m = (T *)a->s0[k];                                         \
    T *MG_RESTRICT v = (T *)a->s1[k];                                         \
    T *MG_RESTRICT vmax = amsgrad ? (T *)a->s2[k] : NULL;

#define ADAM_KERNEL(T, SUF, SQRT, ATTR)                                       \
    ATTR static void adam_##SUF(const optim_args *a, mg_index_t k, mg_index_t lo, \
                           mg_index_t hi) {                                   \
        ADAM_PRELUDE(T)                                                       \
        if (amsgrad)                                                          \
            ADAM_LOOP(T, SQRT, 1)                                             \
        else                                                                  \
            ADAM_LOOP(T, SQRT, 0)                                             \
    }

#define RMSPROP_KERNEL(T, SUF, SQRT, ATTR)                                    \
    ATTR static void rmsprop_##SUF(const optim_args *a, mg_index_t k,         \
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
    }

#define ADAGRAD_KERNEL(T, SUF, SQRT, ATTR)                                    \
    ATTR static void adagrad_##SUF(const optim_args *a, mg_index_t k,         \
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

#define OPTIM_KERNELS(T, SUF, SQRT, ATTR)                                     \
    SGD_KERNEL(T, SUF, ATTR)                                                  \
    ADAM_KERNEL(T, SUF, SQRT, ATTR)                                           \
    RMSPROP_KERNEL(T, SUF, SQRT, ATTR)                                        \
    ADAGRAD_KERNEL(T, SUF, SQRT, ATTR)

OPTIM_KERNELS(float, f32, sqrtf, )
OPTIM_KERNELS(double, f64, sqrt, )
#if OPT_X86
OPTIM_KERNELS(float, f32_avx2, sqrtf, OPT_TGT_AVX2)
OPTIM_KERNELS(double, f64_avx2, sqrt, OPT_TGT_AVX2)
SGD_KERNEL(float, f32_avx512, OPT_TGT_AVX512)
RMSPROP_KERNEL(float, f32_avx512, sqrtf, OPT_TGT_AVX512)
ADAGRAD_KERNEL(float, f32_avx512, sqrtf, OPT_TGT_AVX512)

// Note [Subnormal moments]: a unit whose gradient stays zero (a dead ReLU)
// decays its first moment m by beta1 each step into the subnormal range,
// down to a fixed point (0.9 times the subnormal 3 * 2^-149 rounds back to
// it). On Zen 4 a product, division or square root that reads a subnormal
// costs 2-3x when the loop's divisions already fill the divider, and a dead
// first layer's m is a quarter subnormal (MLP 784-128-64-10: Adam 60 us in
// the step, 42 with the same data made normal; a whole array of subnormal m
// 95 us against 40). The float AVX-512 Adam below keeps subnormal m away
// from floating-point arithmetic, with the bits of the plain loop:
// - the moment update: an m at a fixed point, with g * c1 a zero, is the
//   result itself (adam_moment_avx512);
// - the division q = m / d: m's bits, as an integer i, are |m| * 2^149, which
//   converts to a normal float exactly (i < 2^23). Where |m| / d < 2^-126
//   (i < d * 2^23, compared exactly) q is taken as 0: such a q cannot move an
//   x with |x| >= 2^-100 (half its spacing is at least 2^-125), so x - 0 has
//   the bits of x - m / d. Elsewhere q' = (i with m's sign) / d has the bits
//   of m / d times 2^149 (normal, rounded once), and 2^-75 * 2^-74 scales it
//   back exactly. A vector with a lane outside those bounds (|x| < 2^-100,
//   d < 2^-60 where q' could overflow, or NaN) divides directly.
// Both assume round-to-nearest without FTZ/DAZ (Python's mode; the loop
// checks MXCSR) and 0 < beta1 < 1. The loop is ADAM_LOOP written with
// intrinsics (mul, add, sqrt, div, each rounded once as there; no FMA) since
// these tests are branches per vector: as selects in ADAM_LOOP, GCC computed
// both quotients for every vector (plain data 36 -> 45 us).

// The lanes with 0 < mag <= top (as unsigned: mag - 1 < top), where mag is
// a float's bits without the sign: top 2^23 - 1, the subnormals.
static inline OPT_TGT_AVX512 __mmask16 lanes_up_to(__m512i mag, __m512i top) {
    return _mm512_cmp_epu32_mask(_mm512_sub_epi32(mag, _mm512_set1_epi32(1)),
                                 top, _MM_CMPINT_LT);
}

// m * b1 + g * c1. A dead unit's m ends at a fixed point of the decay: a
// subnormal m = i * 2^-149 (i, its bits, below 2^23) with i * b1 rounding
// back to i, which holds for 0 < i <= `fixed` (adam_fixed). Then, when
// g * c1 is a zero, the result is m itself, and no arithmetic reads it.
static inline OPT_TGT_AVX512 __m512 adam_moment_avx512(__m512 m0, __m512 gi,
                                                       __m512 vb1, __m512 vc1,
                                                       __m512i fixed) {
    const __m512 gc = _mm512_mul_ps(gi, vc1);
    const __m512i abs_bits = _mm512_set1_epi32(0x7fffffff);
    const __m512i mag = _mm512_and_si512(_mm512_castps_si512(m0), abs_bits);
    const __mmask16 still = lanes_up_to(mag, fixed);
    if (!still ||
        _mm512_mask_cmp_ps_mask(still, gc, _mm512_setzero_ps(), _CMP_NEQ_UQ))
        return _mm512_add_ps(_mm512_mul_ps(m0, vb1), gc);
    if (still == (__mmask16)0xffff)
        return m0;
    const __m512 rest = _mm512_maskz_mov_ps((__mmask16)~still, m0);
    const __m512 p = _mm512_mul_ps(rest, vb1);
    return _mm512_mask_blend_ps(still, _mm512_add_ps(p, gc), m0);
}

// m / d, with a subnormal m's lanes divided as Note [Subnormal moments] says.
static inline OPT_TGT_AVX512 __m512 adam_quotient_avx512(__m512 mi, __m512 d,
                                                         __m512 xi, int exact) {
    const __m512i abs_bits = _mm512_set1_epi32(0x7fffffff);
    const __m512i bits = _mm512_castps_si512(mi);
    const __m512i mag = _mm512_and_si512(bits, abs_bits);
    const __mmask16 sub =
        exact ? lanes_up_to(mag, _mm512_set1_epi32(0x007fffff)) : 0;
    if (!sub)
        return _mm512_div_ps(mi, d);
    const __mmask16 safe =
        _mm512_mask_cmp_ps_mask(sub, _mm512_abs_ps(xi),
                                _mm512_set1_ps(0x1p-100f), _CMP_GE_OQ) &
        _mm512_mask_cmp_ps_mask(sub, d, _mm512_set1_ps(0x1p-60f), _CMP_GE_OQ);
    if (safe != sub)
        return _mm512_div_ps(mi, d);
    // |m| * 2^149, and the lanes where |m| / d < 2^-126 (exactly) get 0
    const __m512 scaled = _mm512_cvtepi32_ps(mag);
    const __mmask16 tiny = _mm512_mask_cmp_ps_mask(
        sub, scaled, _mm512_mul_ps(d, _mm512_set1_ps(0x1p23f)), _CMP_LT_OQ);
    if (tiny == (__mmask16)0xffff)
        return _mm512_setzero_ps();
    const __m512i sign = _mm512_andnot_si512(abs_bits, bits);
    const __m512i signed_scaled =
        _mm512_or_si512(_mm512_castps_si512(scaled), sign);
    const __m512 num =
        _mm512_mask_blend_ps(sub, mi, _mm512_castsi512_ps(signed_scaled));
    const __m512 q = _mm512_div_ps(num, d);
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 s1 = _mm512_mask_blend_ps(sub, one, _mm512_set1_ps(0x1p-75f));
    const __m512 s2 = _mm512_mask_blend_ps(sub, one, _mm512_set1_ps(0x1p-74f));
    return _mm512_maskz_mul_ps((__mmask16)~tiny, _mm512_mul_ps(q, s1), s2);
}

// The largest i < 2^23 with i * b1 rounding to i (0 < b1 < 1, rounding to
// nearest): i * (1 - b1) <= 1/2, so the fixed points are 1..i.
static int adam_fixed(float b1) {
    int i = (int)fmin(0.5 / (1 - (double)b1), 0x7fffff);
    while (i > 0 && nearbyint(i * (double)b1) != i)
        i--;
    while (i < 0x7fffff && nearbyint((i + 1) * (double)b1) == i + 1)
        i++;
    return i;
}

// One vector of ADAM_LOOP: the lanes in `in`.
#define ADAM_VECTOR_AVX512(in)                                                \
    do {                                                                      \
        __m512 xi = _mm512_maskz_loadu_ps(in, x + i);                         \
        __m512 gi = _mm512_maskz_loadu_ps(in, g + i);                         \
        if (shrink)                                                           \
            xi = _mm512_mul_ps(xi, vdecay);                                   \
        if (maximize)                                                         \
            gi = _mm512_castsi512_ps(                                         \
                _mm512_xor_si512(_mm512_castps_si512(gi), sign));             \
        if (l2)                                                               \
            gi = _mm512_add_ps(gi, _mm512_mul_ps(vwd, xi));                   \
        const __m512 mi = adam_moment_avx512(_mm512_maskz_loadu_ps(in, m + i), \
                                             gi, vb1, vc1, fixed);            \
        __m512 vi = _mm512_add_ps(                                            \
            _mm512_mul_ps(_mm512_maskz_loadu_ps(in, v + i), vb2),             \
            _mm512_mul_ps(_mm512_mul_ps(gi, gi), vc2));                       \
        _mm512_mask_storeu_ps(m + i, in, mi);                                 \
        _mm512_mask_storeu_ps(v + i, in, vi);                                 \
        if (amsgrad) {                                                        \
            /* np.maximum: NaN if either is NaN */                            \
            const __m512 old = _mm512_maskz_loadu_ps(in, vmax + i);           \
            const __mmask16 keep =                                            \
                _mm512_cmp_ps_mask(old, old, _CMP_UNORD_Q) |                  \
                _mm512_cmp_ps_mask(old, vi, _CMP_GE_OQ);                      \
            vi = _mm512_mask_blend_ps(keep, vi, old);                         \
            _mm512_mask_storeu_ps(vmax + i, in, vi);                          \
        }                                                                     \
        if (update) {                                                         \
            const __m512 d = _mm512_add_ps(                                   \
                _mm512_mul_ps(_mm512_sqrt_ps(vi), vscale), voff);             \
            xi = _mm512_sub_ps(xi, adam_quotient_avx512(mi, d, xi, exact));   \
        }                                                                     \
        _mm512_mask_storeu_ps(x + i, in, xi);                                 \
    } while (0)

OPT_TGT_AVX512 static void adam_f32_avx512(const optim_args *a, mg_index_t k,
                                           mg_index_t lo, mg_index_t hi) {
    ADAM_PRELUDE(float)
    const __m512 vb1 = _mm512_set1_ps(b1), vc1 = _mm512_set1_ps(c1);
    const __m512 vb2 = _mm512_set1_ps(b2), vc2 = _mm512_set1_ps(c2);
    const __m512 vdecay = _mm512_set1_ps(decay), vwd = _mm512_set1_ps(wd_t);
    const __m512 vscale = _mm512_set1_ps(dscale), voff = _mm512_set1_ps(doff);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    // the integer paths give the bits of IEEE arithmetic rounded to nearest
    // (Python's mode), with subnormals kept, and 0 < b1 < 1: MXCSR's
    // rounding control (bits 13-14), FTZ (15) and DAZ (6) all clear
    const int exact = (_mm_getcsr() & 0xE040) == 0 && b1 > 0 && b1 < 1;
    const __m512i fixed = _mm512_set1_epi32(exact ? adam_fixed(b1) : 0);
    mg_index_t i = lo;
    for (; i + 16 <= hi; i += 16)
        ADAM_VECTOR_AVX512((__mmask16)0xffff);
    if (i < hi)
        ADAM_VECTOR_AVX512((__mmask16)((1u << (hi - i)) - 1));
}
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
