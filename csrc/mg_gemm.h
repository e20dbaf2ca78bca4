// General matrix multiply, BLIS-style, for float32 and float64.
//
//   C = act(alpha * A * B + beta * C + bias)      A: m x k, B: k x n, C: m x n
//
// Every operand is a pointer to its element (0, 0) plus a row stride and a
// column stride counted in elements; strides may be any value, negative or
// zero for A and B, so a transposed or sliced view is passed without a copy
// (op(A) = A^T is A with rs and cs swapped). Plain C11: no Python headers.
#ifndef MG_GEMM_H
#define MG_GEMM_H

#include "mg_common.h"
#include "mg_cpu.h"

// Activation applied by the epilogue, after bias.
enum {
    MG_ACT_NONE = 0,
    MG_ACT_RELU = 1,    // max(x, 0); NaN stays NaN
    MG_ACT_SIGMOID = 2, // 1 / (1 + exp(-x)), evaluated without overflow
    MG_ACT_TANH = 3
};

// Which algorithm runs. AUTO picks the direct loops for shapes where packing
// does not pay and the packed, blocked algorithm otherwise; the others force
// one (tests use them to reach every path at every size).
enum {
    MG_GEMM_AUTO = 0,
    MG_GEMM_PACKED = 1,
    MG_GEMM_DIRECT = 2,
    MG_GEMM_REF = 3 // the naive triple loop: the oracle
};

// Status codes.
enum {
    MG_GEMM_OK = 0,
    MG_GEMM_ENOMEM = 1, // the packing buffer could not be allocated
    MG_GEMM_EISA = 2,   // the requested ISA is not supported by this CPU
    MG_GEMM_EARG = 3,   // a negative size, bad enum value or thread count,
                        // or a zero stride in C
    MG_GEMM_ESIZE = 4   // sizes or strides whose products overflow
};

// The largest m, n or k accepted (MG_GEMM_ESIZE above): a quarter of the
// index range, so a dim rounded up to whole micro-tiles or blocks never
// overflows.
#define MG_GEMM_MAX_DIM (PTRDIFF_MAX / 4)

// How to run. num_threads is the upper bound on OpenMP threads (clamped to
// mg_threads_max()); shapes too small to gain from a second thread use one,
// and with one thread no parallel region is entered at all. mc/kc/nc of 0 take the defaults below;
// other values bound the blocks instead (blocks are whole micro-tiles, so at
// least MR x NR, and at most the matrix: any larger value, up to
// PTRDIFF_MAX, means one block), which lets tests put block edges inside
// small matrices.
typedef struct mg_gemm_opts {
    int isa;         // MG_ISA_AUTO or MG_ISA_GENERIC/AVX2/AVX512
    int num_threads; // >= 1
    int path;        // MG_GEMM_AUTO/PACKED/DIRECT/REF
    mg_index_t mc, kc, nc;
} mg_gemm_opts;

// Register blocks (MR x NR micro-tile) and cache blocks, per ISA and dtype.
// This machine class (Zen 4/5, Skylake-X, Sapphire Rapids, Haswell) has a
// 32-48 KiB L1d and a 1-2 MiB L2 per core, so fixed sizes chosen for the
// common case do (on a 48 KiB / 2 MiB Sapphire Rapids, MC/KC/NC from 192/256
// to 480/512 and NC down to 1020 all measured within 3% at n = 1024-2048):
//   KC: a KC x NR micro-panel of B stays in L1 (<= ~half of 48 KiB) while
//       the MR x KC micro-panels of A stream past it;
//   MC: the MC x KC block of A fits in about half of the per-core L2;
//   NC: the KC x NC panel of B fits in the shared L3.
// AVX-512 has 32 vector registers: 24 accumulators (2 x 12 vectors) plus the
// two A vectors; AVX2 has 16: 12 accumulators (2 x 6) plus A and a broadcast.
#define MG_GEMM_AVX512_F32_MR 32
#define MG_GEMM_AVX512_F32_NR 12
#define MG_GEMM_AVX512_F32_KC 384
#define MG_GEMM_AVX512_F32_MC 320
#define MG_GEMM_AVX512_F32_NC 4080

#define MG_GEMM_AVX512_F64_MR 16
#define MG_GEMM_AVX512_F64_NR 12
#define MG_GEMM_AVX512_F64_KC 256
#define MG_GEMM_AVX512_F64_MC 240
#define MG_GEMM_AVX512_F64_NC 4080

#define MG_GEMM_AVX2_F32_MR 16
#define MG_GEMM_AVX2_F32_NR 6
#define MG_GEMM_AVX2_F32_KC 384
#define MG_GEMM_AVX2_F32_MC 240
#define MG_GEMM_AVX2_F32_NC 4080

#define MG_GEMM_AVX2_F64_MR 8
#define MG_GEMM_AVX2_F64_NR 6
#define MG_GEMM_AVX2_F64_KC 256
#define MG_GEMM_AVX2_F64_MC 192
#define MG_GEMM_AVX2_F64_NC 4080

#define MG_GEMM_GENERIC_F32_MR 8
#define MG_GEMM_GENERIC_F32_NR 4
#define MG_GEMM_GENERIC_F32_KC 256
#define MG_GEMM_GENERIC_F32_MC 128
#define MG_GEMM_GENERIC_F32_NC 4096

#define MG_GEMM_GENERIC_F64_MR 4
#define MG_GEMM_GENERIC_F64_NR 4
#define MG_GEMM_GENERIC_F64_KC 256
#define MG_GEMM_GENERIC_F64_MC 128
#define MG_GEMM_GENERIC_F64_NC 4096

// Each thread gets at least this many multiply-adds (m * n * k), so small
// products stay on one thread: waking a sleeping worker and its own packing
// cost ~5 us. Measured here (AVX-512, float32): 2 threads lose below
// ~1e6 FMAs (n = 96: 0.78x) and win above (n = 112: 1.07x, 128: 1.13x).
#define MG_GEMM_MIN_FMA_PER_THREAD 655360
// With several threads, C is cut into work items of at least this many
// multiply-adds (up to 4 per thread, row groups of at least MC rows) when
// extra items cost no repacking (B read in place), so that a thread slowed by
// another process leaves part of its share to the others.
#define MG_GEMM_ITEM_FMA 1048576
// At or below this many multiply-adds, or for a matrix-vector product, the
// direct loops beat packing.
#define MG_GEMM_DIRECT_MAX_FMA 4096
// The packed path reads A's micro-panels where they are, instead of packing
// them, when they are contiguous runs and C (as computed) has at most this
// many columns (Note [A in place] in gemm/gemm_tmpl.h).
#define MG_GEMM_A_IN_PLACE_MAX_N 384

// C = act(alpha * A * B + beta * C + bias), bias[j * inc_bias] added to column
// j (bias may be NULL; then inc_bias is ignored).
//
// Shapes: A is m x k at a[i * rs_a + p * cs_a], B is k x n at
// b[p * rs_b + j * cs_b], C is m x n at c[i * rs_c + j * cs_c].
// Aliasing: C must not overlap A, B or bias, and no two elements of C may
// share an address (rs_c and cs_c describe a one-to-one layout).
// Edge cases: m == 0 or n == 0 is a no-op. k == 0 or alpha == 0 gives
// C = act(beta * C + bias) without reading A or B. beta == 0 writes C without
// reading it, so C may hold NaN or garbage on entry.
// Returns MG_GEMM_OK or an error code; on error C is unchanged.
int mg_gemm_f32(mg_index_t m, mg_index_t n, mg_index_t k, float alpha,
                const float *a, mg_index_t rs_a, mg_index_t cs_a,
                const float *b, mg_index_t rs_b, mg_index_t cs_b, float beta,
                float *c, mg_index_t rs_c, mg_index_t cs_c, const float *bias,
                mg_index_t inc_bias, int act, const mg_gemm_opts *opts);
int mg_gemm_f64(mg_index_t m, mg_index_t n, mg_index_t k, double alpha,
                const double *a, mg_index_t rs_a, mg_index_t cs_a,
                const double *b, mg_index_t rs_b, mg_index_t cs_b, double beta,
                double *c, mg_index_t rs_c, mg_index_t cs_c,
                const double *bias, mg_index_t inc_bias, int act,
                const mg_gemm_opts *opts);

// The oracle: the same contract, as a naive triple loop (no blocking, no
// SIMD, no threads). Kept forever; the fast paths are tested against it.
void mg_gemm_ref_f32(mg_index_t m, mg_index_t n, mg_index_t k, float alpha,
                     const float *a, mg_index_t rs_a, mg_index_t cs_a,
                     const float *b, mg_index_t rs_b, mg_index_t cs_b,
                     float beta, float *c, mg_index_t rs_c, mg_index_t cs_c,
                     const float *bias, mg_index_t inc_bias, int act);
void mg_gemm_ref_f64(mg_index_t m, mg_index_t n, mg_index_t k, double alpha,
                     const double *a, mg_index_t rs_a, mg_index_t cs_a,
                     const double *b, mg_index_t rs_b, mg_index_t cs_b,
                     double beta, double *c, mg_index_t rs_c,
                     mg_index_t cs_c, const double *bias, mg_index_t inc_bias,
                     int act);

// The blocking `isa` uses for float32 (dtype_bytes 4) or float64 (8):
// out = {MR, NR, MC, KC, NC}. Returns 1, or 0 (out untouched) when the ISA was
// not compiled in or dtype_bytes is neither. For tests that aim at edges.
int mg_gemm_blocking(int isa, int dtype_bytes, mg_index_t out[5]);

// Workers of the GEMM's own thread team (Note [Spinning team] in
// gemm/gemm_tmpl.h) that are awake now: spinning in the 100 us after a call,
// or working in one. Such a worker is a runnable task in /proc/loadavg, but
// not a neighbour's: minigrad/backend.py's load check subtracts it.
int mg_gemm_team_awake(void);

#endif
