// AVX2+FMA float32 GELU (exact, erf-based) forward and backward loops, for
// act.c (internal header; include after act/vmath.h). The method is that of
// act/vmath_avx512.h, with AVX2's instructions: 2^n is built in the exponent
// field (n clamped to the normal range, lanes below it set to 0), and
// 1/(a + 2) is a division, since vrcpps has 12 bits only.
#ifndef MG_VMATH_AVX2_H
#define MG_VMATH_AVX2_H

#if MG_X86_TARGETS
#include <immintrin.h>
#include <string.h>

#include "mg_common.h"

// h = Φ(-|x|) and e = e^(-x²/2) for x in [-20, 20] or NaN (the caller
// clamps); see mg_ndist_f32_of and mg_ndist_avx512.
MG_TGT_AVX2 static inline __m256 mg_ndist_avx2(__m256 x, __m256 *e_out) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 x2 = _mm256_mul_ps(x, x);
    const __m256 x2err = _mm256_fmsub_ps(x, x, x2); // x² = x2 + x2err
    const __m256 n = _mm256_round_ps(
        _mm256_mul_ps(x2, _mm256_set1_ps(-0.721347520444481703f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 v = _mm256_fmadd_ps(n, _mm256_set1_ps(1.38629436111989062f), x2);
    v = _mm256_add_ps(v, x2err);
    __m256 p = _mm256_set1_ps(2.1630708649e-05f);
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-2.6169235370e-04f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(2.6042501272e-03f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-2.0833039078e-02f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.2499998552e-01f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-5.0000001608e-01f));
    p = _mm256_fmadd_ps(p, v, one);
    const __m256 lo = _mm256_set1_ps(-126.0f);
    const __m256i bits = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_max_ps(lo, n)),
                         _mm256_set1_epi32(127)),
        23);
    __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    e = _mm256_andnot_ps(_mm256_cmp_ps(n, lo, _CMP_LT_OQ), e);
    *e_out = e;

    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_mul_ps(_mm256_andnot_ps(sign, x),
                             _mm256_set1_ps(0.707106781186547524f));
    a = _mm256_min_ps(_mm256_set1_ps(9.4f), a);
    const __m256 d = _mm256_div_ps(one, _mm256_add_ps(a, _mm256_set1_ps(2.0f)));
    const __m256 t = _mm256_fnmadd_ps(_mm256_set1_ps(4.0f), d, one);
    __m256 c = _mm256_set1_ps(-2.2987133147e-04f);
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(-3.7577488260e-04f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(1.4896888142e-03f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(3.2177297590e-03f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(-1.0742071813e-02f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(-1.8217444419e-02f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(1.3973485955e-01f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(-3.4358049258e-01f));
    c = _mm256_fmadd_ps(c, t, _mm256_set1_ps(5.1079137064e-01f));
    return _mm256_mul_ps(_mm256_mul_ps(e, c), d);
}

MG_TGT_AVX2 static inline __m256 mg_gelu_fwd_avx2(__m256 x) {
    __m256 xe = _mm256_max_ps(_mm256_set1_ps(-20.0f), x);
    xe = _mm256_min_ps(_mm256_set1_ps(20.0f), xe);
    __m256 e;
    const __m256 h = mg_ndist_avx2(xe, &e);
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), xe);
    return _mm256_fnmadd_ps(ax, h, _mm256_max_ps(_mm256_setzero_ps(), x));
}

MG_TGT_AVX2 static inline __m256 mg_gelu_bwd_avx2(__m256 x, __m256 g) {
    __m256 xe = _mm256_max_ps(_mm256_set1_ps(-20.0f), x);
    xe = _mm256_min_ps(_mm256_set1_ps(20.0f), xe);
    __m256 e;
    const __m256 h = mg_ndist_avx2(xe, &e);
    const __m256 neg = _mm256_cmp_ps(xe, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 cdf =
        _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), h), h, neg);
    const __m256 phi = _mm256_mul_ps(e, _mm256_set1_ps(0.398942280401432678f));
    return _mm256_mul_ps(g, _mm256_fmadd_ps(xe, phi, cdf));
}

// The loops; a remainder of fewer than 8 elements goes through a zero-padded
// vector on the stack, so it is computed exactly as the others.
MG_TGT_AVX2 static void gelu_fwd_f32_avx2(mg_index_t n, const float *x,
                                          float *y, double p0, double p1) {
    (void)p0;
    (void)p1;
    mg_index_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, mg_gelu_fwd_avx2(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float bx[8] = {0}, by[8];
        memcpy(bx, x + i, (size_t)(n - i) * sizeof *x);
        _mm256_storeu_ps(by, mg_gelu_fwd_avx2(_mm256_loadu_ps(bx)));
        memcpy(y + i, by, (size_t)(n - i) * sizeof *y);
    }
}

MG_TGT_AVX2 static void gelu_bwd_f32_avx2(mg_index_t n, const float *s,
                                          const float *gy, float *gx,
                                          double p0, double p1) {
    (void)p0;
    (void)p1;
    mg_index_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(gx + i, mg_gelu_bwd_avx2(_mm256_loadu_ps(s + i),
                                                  _mm256_loadu_ps(gy + i)));
    if (i < n) {
        float bs[8] = {0}, bg[8] = {0}, bx[8];
        memcpy(bs, s + i, (size_t)(n - i) * sizeof *s);
        memcpy(bg, gy + i, (size_t)(n - i) * sizeof *gy);
        _mm256_storeu_ps(bx, mg_gelu_bwd_avx2(_mm256_loadu_ps(bs),
                                              _mm256_loadu_ps(bg)));
        memcpy(gx + i, bx, (size_t)(n - i) * sizeof *gx);
    }
}

#endif
#endif
