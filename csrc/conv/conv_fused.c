// The forward convolution as an implicit GEMM: im2col fused into the GEMM's
// packing (contracts in mg_conv.h). The per-dtype code is in
// conv_fused_tmpl.h, included here for float and double.
//
// Note [Fused or workspace forward]
// Both paths compute y_g^T (positions x cgo) = patches^T (positions x kc) @
// W_g^T (kc x cgo), with the positions on the GEMM's rows so that y's
// columns come out contiguous (rs_c == 1, the micro-kernel's layout). So in
// minigrad's orientation the patch operand is the GEMM's A and the fusion is
// into the A-panel packing (in the usual W @ cols orientation it would be B).
//   workspace (conv_tmpl.h): im2col writes a tile of patches (<= 1 MiB per
//     thread), then mg_gemm packs that tile again into MR-panels: every patch
//     entry is written twice and read twice.
//   fused (here): the packing routine reads x through the patch index map
//     straight into the MR-panels of an MC x KC block, which stays in L2 for
//     the micro-kernels; W is packed once per call and shared by the threads.
//     The workspace is the packed block (MC x KC per thread) plus packed W:
//     bounded whatever the image or batch size.
// Which one mg_conv_fwd_* runs (MG_CONV_PATH_AUTO) is decided in
// mg_conv_fused_wins, conv.c: Note [Which forward path] has the rule and
// the figures it rests on.
#if defined(__GNUC__) && !defined(__clang__)
// As conv.c: the short row copies must stay inline loops, not memcpy calls.
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv/conv_internal.h"
#include "gemm/gemm_internal.h"
#include "mg_cpu.h"

// The gather's segment table has one entry per panel row at most.
#define MG_FUSED_MAX_MR 64
_Static_assert(MG_GEMM_AVX512_F32_MR <= MG_FUSED_MAX_MR &&
                   MG_GEMM_AVX512_F64_MR <= MG_FUSED_MAX_MR &&
                   MG_GEMM_AVX2_F32_MR <= MG_FUSED_MAX_MR &&
                   MG_GEMM_AVX2_F64_MR <= MG_FUSED_MAX_MR &&
                   MG_GEMM_GENERIC_F32_MR <= MG_FUSED_MAX_MR &&
                   MG_GEMM_GENERIC_F64_MR <= MG_FUSED_MAX_MR,
               "segment table too small");

// Entries of a panel's per-tap span table (on the stack of the gather):
// kernels with more taps x segments compute the spans as they go.
#define MG_FUSED_TAB 1024

// The AVX-512 gather (masked moves of whole row spans) on x86 GCC / Clang,
// chosen at run time with the AVX-512 micro-kernel.
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define MG_FUSED_X86 1
#define MG_FUSED_AVX512 __attribute__((target("avx512f")))
#else
#define MG_FUSED_X86 0
#endif

#define T float
#define SFX f32
#define KERNEL mg_gemm_kernel_f32
#define UKR mg_ukr_f32
#define VL 16
#define MASKT __mmask16
#define V_ZERO _mm512_setzero_ps
#define V_MLOAD _mm512_maskz_loadu_ps
#define V_MSTORE _mm512_mask_storeu_ps
#include "conv/conv_fused_tmpl.h"
#undef T
#undef SFX
#undef KERNEL
#undef UKR
#undef VL
#undef MASKT
#undef V_ZERO
#undef V_MLOAD
#undef V_MSTORE

#define T double
#define SFX f64
#define KERNEL mg_gemm_kernel_f64
#define UKR mg_ukr_f64
#define VL 8
#define MASKT __mmask8
#define V_ZERO _mm512_setzero_pd
#define V_MLOAD _mm512_maskz_loadu_pd
#define V_MSTORE _mm512_mask_storeu_pd
#include "conv/conv_fused_tmpl.h"
#undef T
#undef SFX
#undef KERNEL
#undef UKR
#undef VL
#undef MASKT
#undef V_ZERO
#undef V_MLOAD
#undef V_MSTORE
