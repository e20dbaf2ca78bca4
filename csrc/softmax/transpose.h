// In-register transposes of one square tile, for the softmax backward's
// strided operands (Note [Transposed gradient] in softmax_impl.h; internal to
// csrc/softmax, include after act/vmath.h). Each reads W vectors of W
// contiguous elements, vector j at src + j·sc, and writes element i of every
// vector, in order, to dst + i·dd: dst[i·dd + j] = src[j·sc + i]. W is 16 (AVX-512
// float), 8 (AVX-512 double, AVX2 float) or 4 (AVX2 double).
//
// The method, for every width: 4x4 (float) or 2x2 (double) transposes inside
// each 128-bit lane (unpack, then shuffle), which leaves element i's values
// in lane i / (16 / sizeof) of a few vectors; then a transpose of the lanes
// themselves across vectors (shuffle_f32x4 / permute2f128).
#ifndef MG_SOFTMAX_TRANSPOSE_H
#define MG_SOFTMAX_TRANSPOSE_H

#if MG_X86_TARGETS
#include <immintrin.h>

#include "mg_common.h"

// The lanes of a, b, c, d (4 lanes each) as a 4x4 matrix, transposed.
#define MG_TR_LANES4(sh, a, b, c, d)                                           \
    do {                                                                       \
        __typeof__(a) q0_ = sh(a, b, 0x44), q1_ = sh(a, b, 0xEE);              \
        __typeof__(a) q2_ = sh(c, d, 0x44), q3_ = sh(c, d, 0xEE);              \
        a = sh(q0_, q2_, 0x88);                                                \
        b = sh(q0_, q2_, 0xDD);                                                \
        c = sh(q1_, q3_, 0x88);                                                \
        d = sh(q1_, q3_, 0xDD);                                                \
    } while (0)

MG_TGT_AVX512 static inline void mg_tr16_f32_avx512(const float *src,
                                                    mg_index_t sc, float *dst,
                                                    mg_index_t dd) {
    __m512 s[16];
    for (int k = 0; k < 4; k++) {
        __m512 a = _mm512_loadu_ps(src + (4 * k + 0) * sc);
        __m512 b = _mm512_loadu_ps(src + (4 * k + 1) * sc);
        __m512 c = _mm512_loadu_ps(src + (4 * k + 2) * sc);
        __m512 d = _mm512_loadu_ps(src + (4 * k + 3) * sc);
        __m512 t0 = _mm512_unpacklo_ps(a, b), t1 = _mm512_unpackhi_ps(a, b);
        __m512 t2 = _mm512_unpacklo_ps(c, d), t3 = _mm512_unpackhi_ps(c, d);
        // s[4k + m], lane L: element 4L + m of vectors 4k .. 4k + 3.
        s[4 * k + 0] = _mm512_shuffle_ps(t0, t2, 0x44);
        s[4 * k + 1] = _mm512_shuffle_ps(t0, t2, 0xEE);
        s[4 * k + 2] = _mm512_shuffle_ps(t1, t3, 0x44);
        s[4 * k + 3] = _mm512_shuffle_ps(t1, t3, 0xEE);
    }
    for (int m = 0; m < 4; m++) {
        __m512 a = s[m], b = s[4 + m], c = s[8 + m], d = s[12 + m];
        MG_TR_LANES4(_mm512_shuffle_f32x4, a, b, c, d);
        _mm512_storeu_ps(dst + (0 + m) * dd, a);
        _mm512_storeu_ps(dst + (4 + m) * dd, b);
        _mm512_storeu_ps(dst + (8 + m) * dd, c);
        _mm512_storeu_ps(dst + (12 + m) * dd, d);
    }
}

MG_TGT_AVX512 static inline void mg_tr8_f64_avx512(const double *src,
                                                   mg_index_t sc, double *dst,
                                                   mg_index_t dd) {
    __m512d s[8];
    for (int k = 0; k < 4; k++) {
        __m512d a = _mm512_loadu_pd(src + (2 * k + 0) * sc);
        __m512d b = _mm512_loadu_pd(src + (2 * k + 1) * sc);
        // s[2k + m], lane L: element 2L + m of vectors 2k, 2k + 1.
        s[2 * k + 0] = _mm512_unpacklo_pd(a, b);
        s[2 * k + 1] = _mm512_unpackhi_pd(a, b);
    }
    for (int m = 0; m < 2; m++) {
        __m512d a = s[m], b = s[2 + m], c = s[4 + m], d = s[6 + m];
        MG_TR_LANES4(_mm512_shuffle_f64x2, a, b, c, d);
        _mm512_storeu_pd(dst + (0 + m) * dd, a);
        _mm512_storeu_pd(dst + (2 + m) * dd, b);
        _mm512_storeu_pd(dst + (4 + m) * dd, c);
        _mm512_storeu_pd(dst + (6 + m) * dd, d);
    }
}

MG_TGT_AVX2 static inline void mg_tr8_f32_avx2(const float *src, mg_index_t sc,
                                               float *dst, mg_index_t dd) {
    __m256 s[8];
    for (int k = 0; k < 2; k++) {
        __m256 a = _mm256_loadu_ps(src + (4 * k + 0) * sc);
        __m256 b = _mm256_loadu_ps(src + (4 * k + 1) * sc);
        __m256 c = _mm256_loadu_ps(src + (4 * k + 2) * sc);
        __m256 d = _mm256_loadu_ps(src + (4 * k + 3) * sc);
        __m256 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
        __m256 t2 = _mm256_unpacklo_ps(c, d), t3 = _mm256_unpackhi_ps(c, d);
        s[4 * k + 0] = _mm256_shuffle_ps(t0, t2, 0x44);
        s[4 * k + 1] = _mm256_shuffle_ps(t0, t2, 0xEE);
        s[4 * k + 2] = _mm256_shuffle_ps(t1, t3, 0x44);
        s[4 * k + 3] = _mm256_shuffle_ps(t1, t3, 0xEE);
    }
    for (int m = 0; m < 4; m++) {
        _mm256_storeu_ps(dst + m * dd,
                         _mm256_permute2f128_ps(s[m], s[4 + m], 0x20));
        _mm256_storeu_ps(dst + (4 + m) * dd,
                         _mm256_permute2f128_ps(s[m], s[4 + m], 0x31));
    }
}

MG_TGT_AVX2 static inline void mg_tr4_f64_avx2(const double *src,
                                               mg_index_t sc, double *dst,
                                               mg_index_t dd) {
    __m256d s[4];
    for (int k = 0; k < 2; k++) {
        __m256d a = _mm256_loadu_pd(src + (2 * k + 0) * sc);
        __m256d b = _mm256_loadu_pd(src + (2 * k + 1) * sc);
        s[2 * k + 0] = _mm256_unpacklo_pd(a, b);
        s[2 * k + 1] = _mm256_unpackhi_pd(a, b);
    }
    for (int m = 0; m < 2; m++) {
        _mm256_storeu_pd(dst + m * dd,
                         _mm256_permute2f128_pd(s[m], s[2 + m], 0x20));
        _mm256_storeu_pd(dst + (2 + m) * dd,
                         _mm256_permute2f128_pd(s[m], s[2 + m], 0x31));
    }
}

#endif // MG_X86_TARGETS
#endif // MG_SOFTMAX_TRANSPOSE_H
