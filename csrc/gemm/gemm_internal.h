// Internal to csrc/gemm: the micro-kernel interface shared by the driver
// (gemm.c) and the per-ISA micro-kernels (ukr_*.c).
#ifndef MG_GEMM_INTERNAL_H
#define MG_GEMM_INTERNAL_H

#include "mg_gemm.h"

// A micro-kernel computes one MR x NR tile of C from a packed micro-panel of A
// (MR x k, column after column: a[p * MR + i]) and one of B (k x NR, row after
// row: b[p * NR + j]), then writes
//
//   C[i, j] = relu?(alpha * AB[i, j] + beta * C[i, j] + bias_r[i] + bias_c[j])
//
// at c[i + j * cs_c]: the tile's columns are contiguous (rs_c == 1).
// Assumes: the tile is full (the driver sends edge tiles to a scratch tile);
// a and b are aligned to 64 bytes; bias_r (MR values) and bias_c (NR values)
// may each be NULL; beta == 0 means C is not read. k may be 0.
typedef void (*mg_ukr_f32)(mg_index_t k, const float *a, const float *b,
                           float alpha, float beta, float *c, mg_index_t cs_c,
                           const float *bias_r, const float *bias_c, int relu);
typedef void (*mg_ukr_f64)(mg_index_t k, const double *a, const double *b,
                           double alpha, double beta, double *c,
                           mg_index_t cs_c, const double *bias_r,
                           const double *bias_c, int relu);

// Packing one micro-panel of width W (W is the kernel's MR or NR) from kc
// steps of a source whose r-th row (r < r_eff) starts at src + r * ld:
//   pack_n:  dst[p * W + r] = src[p * ld + r]   (source rows run along p)
//   pack_t:  dst[p * W + r] = src[r * ld + p]   (a transpose)
// and dst[p * W + r] = 0 for r_eff <= r < W. NULL means the portable
// versions in the driver. Assumes: 0 < r_eff <= W; dst 64-byte aligned.
typedef void (*mg_pack_f32)(int W, int r_eff, mg_index_t kc, const float *src,
                            mg_index_t ld, float *dst);
typedef void (*mg_pack_f64)(int W, int r_eff, mg_index_t kc,
                            const double *src, mg_index_t ld, double *dst);

// x[i] = sigmoid(x[i]) or tanh(x[i]) (act is MG_ACT_SIGMOID or MG_ACT_TANH)
// for i < n, contiguous. NULL means the driver's scalar libm loop.
typedef void (*mg_act_f32)(int act, mg_index_t n, float *x);
typedef void (*mg_act_f64)(int act, mg_index_t n, double *x);

typedef struct {
    int mr, nr;
    mg_index_t mc, kc, nc;
    mg_ukr_f32 ukr;
    mg_pack_f32 pack_n, pack_t;
    mg_act_f32 act;
} mg_gemm_kernel_f32;

typedef struct {
    int mr, nr;
    mg_index_t mc, kc, nc;
    mg_ukr_f64 ukr;
    mg_pack_f64 pack_n, pack_t;
    mg_act_f64 act;
} mg_gemm_kernel_f64;

// The largest micro-tile of any kernel: sizes the driver's scratch tile.
#define MG_GEMM_MAX_TILE (32 * 12)

// The AVX-512 packing routines (pack_avx512.c; x86 builds only).
void mg_gemm_avx512_pack_n_f32(int W, int r_eff, mg_index_t kc,
                               const float *src, mg_index_t ld, float *dst);
void mg_gemm_avx512_pack_t_f32(int W, int r_eff, mg_index_t kc,
                               const float *src, mg_index_t ld, float *dst);
void mg_gemm_avx512_pack_n_f64(int W, int r_eff, mg_index_t kc,
                               const double *src, mg_index_t ld, double *dst);
void mg_gemm_avx512_pack_t_f64(int W, int r_eff, mg_index_t kc,
                               const double *src, mg_index_t ld, double *dst);

// The AVX-512 epilogue activations (act_avx512.c; x86 builds only).
void mg_gemm_avx512_act_f32(int act, mg_index_t n, float *x);
void mg_gemm_avx512_act_f64(int act, mg_index_t n, double *x);

// One descriptor per ISA; a kernel not compiled in (non-x86 target) has
// ukr == NULL.
extern const mg_gemm_kernel_f32 mg_gemm_generic_f32, mg_gemm_avx2_f32,
    mg_gemm_avx512_f32;
extern const mg_gemm_kernel_f64 mg_gemm_generic_f64, mg_gemm_avx2_f64,
    mg_gemm_avx512_f64;

#endif
