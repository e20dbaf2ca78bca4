// AVX-512 sigmoid and tanh for the GEMM epilogue (contract: mg_act_f32 in
// gemm_internal.h). libm's scalar expf/tanhf cost 7-14 ns per element here,
// more than the product itself for K ~ 800; these run on whole vectors while
// the tile is still in L1.
//
// Both are built on e^y and e^y - 1 for y <= 0:
//   y = n ln2 + r, n = round(y / ln2), |r| <= ln2 / 2 (Cody-Waite: ln2 split
//   in a high part with few bits, so n * LN2_HI is exact, and the rest);
//   e^r - 1 = r + r^2 P(r), P the Taylor series of (e^r - 1 - r) / r^2 cut
//   where the next term is below half an ulp (degree 7 for float, 13 for
//   double); e^y = 2^n (1 + q) and e^y - 1 = 2^n q + (2^n - 1), the scaling
//   done by vscalef, which is exact and saturates to 0 without overflow.
// sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0, e = e^-|x|:
//   never overflows, and sigmoid(-1000) is exactly 0 (e underflows).
// tanh(x) = sign(x) * -m / (2 + m), m = e^(-2|x|) - 1: through e^y - 1 it
//   keeps full relative accuracy near 0, where 1 - e^(-2|x|) would cancel.
// NaN propagates (the clamp keeps NaN, see below).
#include "gemm_internal.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define MG_AVX512 __attribute__((target("avx512f")))
#define ROUND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

// ln2 = LN2_HI + LN2_LO; LN2_HI has 12 (float) / 32 (double) significant
// bits, enough for the |n| <= 1500 the clamp allows.
#define LN2_HI_F32 0.693115234375f
#define LN2_LO_F32 3.19461832987e-05f
#define LN2_HI_F64 0.6931471803691238
#define LN2_LO_F64 1.9082149292705877e-10
#define INV_LN2 1.4426950408889634

// q = e^r - 1 for y = n ln2 + r; returns q, sets *n. Assumes y <= 0 or NaN.
MG_AVX512 static inline __m512 reduce_f32(__m512 y, __m512 *n) {
    // Below -200, e^y is 0 in float anyway; the clamp keeps n finite.
    // max(c, y) returns its second operand when y is NaN: NaN stays.
    y = _mm512_max_ps(_mm512_set1_ps(-200.0f), y);
    *n = _mm512_roundscale_ps(_mm512_mul_ps(y, _mm512_set1_ps(INV_LN2)),
                              ROUND);
    __m512 r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(LN2_HI_F32), y);
    r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(LN2_LO_F32), r);
    // 1/k! for k = 7 ... 2.
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r);
}

MG_AVX512 static inline __m512 sigmoid_f32(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 n;
    const __m512 q = reduce_f32(_mm512_sub_ps(_mm512_setzero_ps(),
                                              _mm512_abs_ps(x)),
                                &n);
    const __m512 e = _mm512_scalef_ps(_mm512_add_ps(q, one), n);
    const __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, e));
    const __mmask16 neg =
        _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(s, neg, e, s);
}

MG_AVX512 static inline __m512 tanh_f32(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 a = _mm512_abs_ps(x);
    __m512 n;
    const __m512 q = reduce_f32(_mm512_mul_ps(a, _mm512_set1_ps(-2.0f)), &n);
    const __m512 two_n_m1 = _mm512_sub_ps(_mm512_scalef_ps(one, n), one);
    const __m512 m = _mm512_add_ps(_mm512_scalef_ps(q, n), two_n_m1);
    const __m512 t =
        _mm512_div_ps(_mm512_sub_ps(_mm512_setzero_ps(), m),
                      _mm512_add_ps(_mm512_set1_ps(2.0f), m));
    // Copy x's sign bit onto t (t >= 0); integer ops: AVX-512F has no andps.
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x),
                                          _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign));
}

MG_AVX512 static inline __m512d reduce_f64(__m512d y, __m512d *n) {
    y = _mm512_max_pd(_mm512_set1_pd(-1000.0), y);
    *n = _mm512_roundscale_pd(_mm512_mul_pd(y, _mm512_set1_pd(INV_LN2)),
                              ROUND);
    __m512d r = _mm512_fnmadd_pd(*n, _mm512_set1_pd(LN2_HI_F64), y);
    r = _mm512_fnmadd_pd(*n, _mm512_set1_pd(LN2_LO_F64), r);
    // 1/k! for k = 13 ... 2.
    static const double inv_fact[12] = {
        1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
        1.0 / 3628800.0,    1.0 / 362880.0,    1.0 / 40320.0,
        1.0 / 5040.0,       1.0 / 720.0,       1.0 / 120.0,
        1.0 / 24.0,         1.0 / 6.0,         0.5};
    __m512d p = _mm512_set1_pd(inv_fact[0]);
    for (int i = 1; i < 12; ++i)
        p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(inv_fact[i]));
    return _mm512_fmadd_pd(_mm512_mul_pd(r, r), p, r);
}

MG_AVX512 static inline __m512d sigmoid_f64(__m512d x) {
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d n;
    const __m512d q = reduce_f64(_mm512_sub_pd(_mm512_setzero_pd(),
                                               _mm512_abs_pd(x)),
                                 &n);
    const __m512d e = _mm512_scalef_pd(_mm512_add_pd(q, one), n);
    const __m512d s = _mm512_div_pd(one, _mm512_add_pd(one, e));
    const __mmask8 neg =
        _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LT_OQ);
    return _mm512_mask_mul_pd(s, neg, e, s);
}

MG_AVX512 static inline __m512d tanh_f64(__m512d x) {
    const __m512d one = _mm512_set1_pd(1.0);
    const __m512d a = _mm512_abs_pd(x);
    __m512d n;
    const __m512d q = reduce_f64(_mm512_mul_pd(a, _mm512_set1_pd(-2.0)), &n);
    const __m512d two_n_m1 = _mm512_sub_pd(_mm512_scalef_pd(one, n), one);
    const __m512d m = _mm512_add_pd(_mm512_scalef_pd(q, n), two_n_m1);
    const __m512d t =
        _mm512_div_pd(_mm512_sub_pd(_mm512_setzero_pd(), m),
                      _mm512_add_pd(_mm512_set1_pd(2.0), m));
    const __m512i sign =
        _mm512_and_si512(_mm512_castpd_si512(x),
                         _mm512_set1_epi64((long long)0x8000000000000000ull));
    return _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(t), sign));
}

MG_AVX512 void mg_gemm_avx512_act_f32(int act, mg_index_t n, float *x) {
    for (mg_index_t i = 0; i < n; i += 16) {
        const __mmask16 mk =
            n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        const __m512 y = act == MG_ACT_SIGMOID ? sigmoid_f32(v) : tanh_f32(v);
        _mm512_mask_storeu_ps(x + i, mk, y);
    }
}

MG_AVX512 void mg_gemm_avx512_act_f64(int act, mg_index_t n, double *x) {
    for (mg_index_t i = 0; i < n; i += 8) {
        const __mmask8 mk =
            n - i >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - i)) - 1u);
        const __m512d v = _mm512_maskz_loadu_pd(mk, x + i);
        const __m512d y = act == MG_ACT_SIGMOID ? sigmoid_f64(v) : tanh_f64(v);
        _mm512_mask_storeu_pd(x + i, mk, y);
    }
}
#endif
