// Internal to csrc/gemm: the micro-kernel interface shared by the driver
// (gemm.c) and the per-ISA micro-kernels (ukr_*.c).
#ifndef MG_GEMM_INTERNAL_H
#define MG_GEMM_INTERNAL_H

#include "mg_gemm.h"

// A micro-kernel computes one MR x NR tile of C from a micro-panel of A
// (MR x k) and a micro-panel of B (k x NR). A is either packed (lda == 0:
// column after column, a[p * MR + i], 64-byte aligned) or read in place
// from a source whose panel columns are contiguous (lda > 0:
// a[p * lda + i]; the A^T of a row-major B once C^T = B^T A^T is computed,
// Note [A in place] in gemm_tmpl.h). B is either packed (ldb == 0: row
// after row, b[p * NR + j], 64-byte aligned) or read in place from a source
// whose panel columns run along unit stride (ldb > 0: b[j * ldb + p]; a
// row-major A read as the B of C^T = B^T A^T needs no transposing copy). It
// then writes
//
//   C[i, j] = relu?(alpha * AB[i, j] + beta * C[i, j] + bias_r[i] + bias_c[j])
//
// at c[i + j * cs_c]: the tile's columns are contiguous (rs_c == 1).
// Assumes: the tile is full (the driver sends edge tiles to a scratch tile);
// every a[p * lda + i] for i < MR and p < k is readable, and every
// b[j * ldb + p] for j < (the columns the kernel computes) and p < k;
// bias_r (MR values) and bias_c (NR values) may each be NULL; beta == 0
// means C is not read. k may be 0.
typedef void (*mg_ukr_f32)(mg_index_t k, const float *a, mg_index_t lda,
                           const float *b, mg_index_t ldb, float alpha,
                           float beta, float *c, mg_index_t cs_c,
                           const float *bias_r, const float *bias_c,
                           int relu);
typedef void (*mg_ukr_f64)(mg_index_t k, const double *a, mg_index_t lda,
                           const double *b, mg_index_t ldb, double alpha,
                           double beta, double *c, mg_index_t cs_c,
                           const double *bias_r, const double *bias_c,
                           int relu);

// Packing micro-panels of width W (W is the kernel's MR or NR). Two shapes:
//
//   pack_n: a whole block of `rows` rows (any count >= 1) whose element
//           (r, p) is src[p * ld + r] (rows run along unit stride) into
//           ceil(rows / W) panels, panel q at dst + q * W * kc holding
//           dst[q * W * kc + p * W + r'] = element (q * W + r', p).
//           A whole block at once, p outer: each source row segment is read
//           as one sequential run. Panel by panel it would be read as
//           W-element pieces of kc rows ld apart (a new page for every 128
//           bytes, which the hardware prefetchers do not follow): measured
//           a fifth of the time of a 256x784x1024 product.
//   pack_t: one panel whose element (r, p) is src[r * ld + p] (r < r_eff),
//           a transpose: dst[p * W + r] = src[r * ld + p]. Assumes
//           0 < r_eff <= W.
//
// Rows past the last real one are zero. NULL means the portable versions in
// the driver. Assumes: dst 64-byte aligned.
typedef void (*mg_packn_f32)(int W, mg_index_t rows, mg_index_t kc,
                             const float *src, mg_index_t ld, float *dst);
typedef void (*mg_packn_f64)(int W, mg_index_t rows, mg_index_t kc,
                             const double *src, mg_index_t ld, double *dst);
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
    // Narrow kernels for edge panels: ukr_part[i] computes only the first
    // (i + 1) * nr / 3 columns of the tile (B panels still NR wide); NULL
    // when absent.
    mg_ukr_f32 ukr_part[2];
    mg_packn_f32 pack_n;
    mg_pack_f32 pack_t;
    mg_act_f32 act;
} mg_gemm_kernel_f32;

typedef struct {
    int mr, nr;
    mg_index_t mc, kc, nc;
    mg_ukr_f64 ukr;
    // Narrow kernels for edge panels: ukr_part[i] computes only the first
    // (i + 1) * nr / 3 columns of the tile (B panels still NR wide); NULL
    // when absent.
    mg_ukr_f64 ukr_part[2];
    mg_packn_f64 pack_n;
    mg_pack_f64 pack_t;
    mg_act_f64 act;
} mg_gemm_kernel_f64;

// The largest micro-tile of any kernel: sizes the driver's scratch tile.
#define MG_GEMM_MAX_TILE (32 * 12)

// The AVX-512 packing routines (pack_avx512.c; x86 builds only).
void mg_gemm_avx512_pack_n_f32(int W, mg_index_t rows, mg_index_t kc,
                               const float *src, mg_index_t ld, float *dst);
void mg_gemm_avx512_pack_t_f32(int W, int r_eff, mg_index_t kc,
                               const float *src, mg_index_t ld, float *dst);
void mg_gemm_avx512_pack_n_f64(int W, mg_index_t rows, mg_index_t kc,
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


// The GEMM's worker team (team.c; Note [Spinning team] in gemm_tmpl.h).
// mg_gemm_team_run runs fn(arg, tid) for tid = 0 .. nt - 1, tid 0 on the
// calling thread, and returns 0 when all have returned; or returns -1 at once
// without running anything (the team is busy with another call, nt is out of
// [2, MG_GEMM_TEAM_MAX], or a thread could not be started): the caller then
// runs the job another way. Idle workers spin MG_GEMM_TEAM_SPIN_S seconds
// before they sleep.
typedef void (*mg_team_fn)(void *arg, int tid);
#define MG_GEMM_TEAM_MAX 8
#define MG_GEMM_TEAM_SPIN_S 100e-6
int mg_gemm_team_run(int nt, mg_team_fn fn, void *arg);

#endif
