// AVX-512 packing routines (contract: mg_pack_f32 / mg_pack_f64 in
// gemm_internal.h). Packing is memory-bound, but the transposing case
// (pack_t: a row-major A, or the x^T of x @ W) done one scalar at a time
// costs as much as a fifth of a mid-sized product; here it moves whole
// vectors through in-register transposes, and masked loads/stores handle the
// edge rows and the kc tail without reading past the source.
#include "gemm_internal.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define MG_AVX512 __attribute__((target("avx512f")))

// Lanes [0, n) set, 0 <= n <= 16.
static inline __mmask16 mask16(int n) {
    return (__mmask16)((1u << n) - 1u);
}

// Transposes the 16 x 16 block v[r][c] in place. Stage 1-2 interleave rows
// within 128-bit lanes so that vector i + c (c < 4) of each group of four
// holds, in lane l, rows i..i+3 of column 4l + c; stages 3-4 gather lane l of
// the four groups into one vector.
MG_AVX512 static inline void transpose16_f32(__m512 v[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    __m512 u[16];
    for (int i = 0; i < 16; i += 4) {
        const __m512d t0 = _mm512_castps_pd(t[i]);
        const __m512d t1 = _mm512_castps_pd(t[i + 1]);
        const __m512d t2 = _mm512_castps_pd(t[i + 2]);
        const __m512d t3 = _mm512_castps_pd(t[i + 3]);
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; ++c) {
        const __m512 a0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        const __m512 a1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
        const __m512 b0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 b1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        v[c] = _mm512_shuffle_f32x4(a0, b0, 0x88);
        v[8 + c] = _mm512_shuffle_f32x4(a0, b0, 0xdd);
        v[4 + c] = _mm512_shuffle_f32x4(a1, b1, 0x88);
        v[12 + c] = _mm512_shuffle_f32x4(a1, b1, 0xdd);
    }
}

// The same for 8 x 8 doubles: vector i + c (c < 2) of each pair holds, in
// lane l, rows i, i+1 of column 2l + c.
MG_AVX512 static inline void transpose8_f64(__m512d v[8]) {
    __m512d t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(v[i], v[i + 1]);
    }
    for (int c = 0; c < 2; ++c) {
        const __m512d a0 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0x88);
        const __m512d a1 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0xdd);
        const __m512d b0 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0x88);
        const __m512d b1 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0xdd);
        v[c] = _mm512_shuffle_f64x2(a0, b0, 0x88);
        v[4 + c] = _mm512_shuffle_f64x2(a0, b0, 0xdd);
        v[2 + c] = _mm512_shuffle_f64x2(a1, b1, 0x88);
        v[6 + c] = _mm512_shuffle_f64x2(a1, b1, 0xdd);
    }
}

static inline int clamp_rows(int r_eff, int r0, int w) {
    const int rows = r_eff - r0;
    return rows < 0 ? 0 : rows < w ? rows : w;
}

// The panel is cut into blocks of 16 rows (the last may be narrower: W = 12
// stores 12 lanes); rows past r_eff load as zeros, which is the padding.
MG_AVX512 void mg_gemm_avx512_pack_t_f32(int W, int r_eff, mg_index_t kc,
                                 const float *src, mg_index_t ld, float *dst) {
    for (int r0 = 0; r0 < W; r0 += 16) {
        const int w = W - r0 < 16 ? W - r0 : 16;
        const int rows = clamp_rows(r_eff, r0, w);
        const __mmask16 store = mask16(w);
        for (mg_index_t p = 0; p < kc; p += 16) {
            const int qn = kc - p < 16 ? (int)(kc - p) : 16;
            const __mmask16 load = mask16(qn);
            __m512 v[16];
            for (int r = 0; r < 16; ++r)
                v[r] = r < rows ? _mm512_maskz_loadu_ps(
                                      load, src + (r0 + r) * ld + p)
                                : _mm512_setzero_ps();
            transpose16_f32(v);
            for (int q = 0; q < qn; ++q)
                _mm512_mask_storeu_ps(dst + (p + q) * W + r0, store, v[q]);
        }
    }
}

// Rows ahead of the one being copied whose segment is prefetched: the block's
// source rows are ld apart, usually on different pages, where the hardware
// prefetchers do not follow.
#define MG_PACK_AHEAD 4

// Copies w <= 16 values from s to d with lanes [n_real, w) zeroed: one
// panel-row piece (n_real = w for a full piece).
MG_AVX512 static inline void copy16_f32(const float *s, float *d, int n_real,
                                        int w) {
    _mm512_mask_storeu_ps(d, mask16(w),
                          _mm512_maskz_loadu_ps(mask16(n_real), s));
}

MG_AVX512 void mg_gemm_avx512_pack_n_f32(int W, mg_index_t rows,
                                         mg_index_t kc, const float *src,
                                         mg_index_t ld, float *dst) {
    const mg_index_t full = rows / W, panel = (mg_index_t)W * kc;
    const int rem = (int)(rows - full * W);
    for (mg_index_t p = 0; p < kc; ++p) {
        const float *s = src + p * ld;
        float *d = dst + p * W;
        if (p + MG_PACK_AHEAD < kc) {
            const char *ahead = (const char *)(s + MG_PACK_AHEAD * ld);
            for (mg_index_t off = 0; off < rows * 4; off += 64)
                _mm_prefetch(ahead + off, _MM_HINT_T0);
        }
        if (W == 32) {
            for (mg_index_t q = 0; q < full; ++q) {
                _mm512_store_ps(d + q * panel, _mm512_loadu_ps(s + q * 32));
                _mm512_store_ps(d + q * panel + 16,
                                _mm512_loadu_ps(s + q * 32 + 16));
            }
        } else {
            for (mg_index_t q = 0; q < full; ++q)
                for (int r0 = 0; r0 < W; r0 += 16) {
                    const int w = W - r0 < 16 ? W - r0 : 16;
                    copy16_f32(s + q * W + r0, d + q * panel + r0, w, w);
                }
        }
        for (int r0 = 0; r0 < W && rem; r0 += 16) {
            const int w = W - r0 < 16 ? W - r0 : 16;
            copy16_f32(s + full * W + r0, d + full * panel + r0,
                       clamp_rows(rem, r0, w), w);
        }
    }
}

MG_AVX512 void mg_gemm_avx512_pack_t_f64(int W, int r_eff, mg_index_t kc,
                                 const double *src, mg_index_t ld,
                                 double *dst) {
    for (int r0 = 0; r0 < W; r0 += 8) {
        const int w = W - r0 < 8 ? W - r0 : 8;
        const int rows = clamp_rows(r_eff, r0, w);
        const __mmask8 store = (__mmask8)mask16(w);
        for (mg_index_t p = 0; p < kc; p += 8) {
            const int qn = kc - p < 8 ? (int)(kc - p) : 8;
            const __mmask8 load = (__mmask8)mask16(qn);
            __m512d v[8];
            for (int r = 0; r < 8; ++r)
                v[r] = r < rows ? _mm512_maskz_loadu_pd(
                                      load, src + (r0 + r) * ld + p)
                                : _mm512_setzero_pd();
            transpose8_f64(v);
            for (int q = 0; q < qn; ++q)
                _mm512_mask_storeu_pd(dst + (p + q) * W + r0, store, v[q]);
        }
    }
}

MG_AVX512 static inline void copy8_f64(const double *s, double *d,
                                       int n_real, int w) {
    _mm512_mask_storeu_pd(
        d, (__mmask8)mask16(w),
        _mm512_maskz_loadu_pd((__mmask8)mask16(n_real), s));
}

MG_AVX512 void mg_gemm_avx512_pack_n_f64(int W, mg_index_t rows,
                                         mg_index_t kc, const double *src,
                                         mg_index_t ld, double *dst) {
    const mg_index_t full = rows / W, panel = (mg_index_t)W * kc;
    const int rem = (int)(rows - full * W);
    for (mg_index_t p = 0; p < kc; ++p) {
        const double *s = src + p * ld;
        double *d = dst + p * W;
        if (p + MG_PACK_AHEAD < kc) {
            const char *ahead = (const char *)(s + MG_PACK_AHEAD * ld);
            for (mg_index_t off = 0; off < rows * 8; off += 64)
                _mm_prefetch(ahead + off, _MM_HINT_T0);
        }
        if (W == 16) {
            for (mg_index_t q = 0; q < full; ++q) {
                _mm512_store_pd(d + q * panel, _mm512_loadu_pd(s + q * 16));
                _mm512_store_pd(d + q * panel + 8,
                                _mm512_loadu_pd(s + q * 16 + 8));
            }
        } else {
            for (mg_index_t q = 0; q < full; ++q)
                for (int r0 = 0; r0 < W; r0 += 8) {
                    const int w = W - r0 < 8 ? W - r0 : 8;
                    copy8_f64(s + q * W + r0, d + q * panel + r0, w, w);
                }
        }
        for (int r0 = 0; r0 < W && rem; r0 += 8) {
            const int w = W - r0 < 8 ? W - r0 : 8;
            copy8_f64(s + full * W + r0, d + full * panel + r0,
                      clamp_rows(rem, r0, w), w);
        }
    }
}

#endif
