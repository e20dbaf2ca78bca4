// AVX2+FMA and AVX-512 micro-kernels, compiled with target attributes so the
// default build stays portable; the driver picks one at run time
// (mg_cpu_has_isa). See gemm_internal.h for the contract and
// ukr_simd_tmpl.h for the kernel itself.
#include "gemm_internal.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

// ---- avx512_f32: full width, then NR / 3 and 2 * NR / 3 columns ----
#define T float
#define TARGET "avx512f"
#define VEC __m512
#define VL 16
#define NR MG_GEMM_AVX512_F32_NR
#define V_LOAD _mm512_load_ps
#define V_LOADU _mm512_loadu_ps
#define V_STOREU _mm512_storeu_ps
#define V_SET1 _mm512_set1_ps
#define V_ZERO _mm512_setzero_ps
#define V_FMA _mm512_fmadd_ps
#define V_MUL _mm512_mul_ps
#define V_ADD _mm512_add_ps
#define V_MAX _mm512_max_ps
#define UKR_BASE ukr_avx512_f32
#include "ukr_widths.h"

// ---- avx512_f64: full width, then NR / 3 and 2 * NR / 3 columns ----
#define T double
#define TARGET "avx512f"
#define VEC __m512d
#define VL 8
#define NR MG_GEMM_AVX512_F64_NR
#define V_LOAD _mm512_load_pd
#define V_LOADU _mm512_loadu_pd
#define V_STOREU _mm512_storeu_pd
#define V_SET1 _mm512_set1_pd
#define V_ZERO _mm512_setzero_pd
#define V_FMA _mm512_fmadd_pd
#define V_MUL _mm512_mul_pd
#define V_ADD _mm512_add_pd
#define V_MAX _mm512_max_pd
#define UKR_BASE ukr_avx512_f64
#include "ukr_widths.h"

// ---- avx2_f32: full width, then NR / 3 and 2 * NR / 3 columns ----
#define T float
#define TARGET "avx2,fma"
#define VEC __m256
#define VL 8
#define NR MG_GEMM_AVX2_F32_NR
#define V_LOAD _mm256_load_ps
#define V_LOADU _mm256_loadu_ps
#define V_STOREU _mm256_storeu_ps
#define V_SET1 _mm256_set1_ps
#define V_ZERO _mm256_setzero_ps
#define V_FMA _mm256_fmadd_ps
#define V_MUL _mm256_mul_ps
#define V_ADD _mm256_add_ps
#define V_MAX _mm256_max_ps
#define UKR_BASE ukr_avx2_f32
#include "ukr_widths.h"

// ---- avx2_f64: full width, then NR / 3 and 2 * NR / 3 columns ----
#define T double
#define TARGET "avx2,fma"
#define VEC __m256d
#define VL 4
#define NR MG_GEMM_AVX2_F64_NR
#define V_LOAD _mm256_load_pd
#define V_LOADU _mm256_loadu_pd
#define V_STOREU _mm256_storeu_pd
#define V_SET1 _mm256_set1_pd
#define V_ZERO _mm256_setzero_pd
#define V_FMA _mm256_fmadd_pd
#define V_MUL _mm256_mul_pd
#define V_ADD _mm256_add_pd
#define V_MAX _mm256_max_pd
#define UKR_BASE ukr_avx2_f64
#include "ukr_widths.h"

#define MG_UKR(name) name
#else
#define MG_UKR(name) 0
#endif
// The AVX2 kernels use the driver's portable packing and scalar epilogue
// activations: AVX2 lacks the masked loads/stores and vscalef that make
// those cheap to write, and this machine class runs the AVX-512 path.

_Static_assert(2 * 16 == MG_GEMM_AVX512_F32_MR, "MR = two vectors");
_Static_assert(2 * 8 == MG_GEMM_AVX512_F64_MR, "MR = two vectors");
_Static_assert(2 * 8 == MG_GEMM_AVX2_F32_MR, "MR = two vectors");
_Static_assert(2 * 4 == MG_GEMM_AVX2_F64_MR, "MR = two vectors");

_Static_assert(MG_GEMM_AVX512_F32_NR % 3 == 0 &&
                   MG_GEMM_AVX512_F64_NR % 3 == 0 &&
                   MG_GEMM_AVX2_F32_NR % 3 == 0 && MG_GEMM_AVX2_F64_NR % 3 == 0,
               "narrow kernels take thirds of NR");

const mg_gemm_kernel_f32 mg_gemm_avx512_f32 = {
    .mr = MG_GEMM_AVX512_F32_MR,
    .nr = MG_GEMM_AVX512_F32_NR,
    .mc = MG_GEMM_AVX512_F32_MC,
    .kc = MG_GEMM_AVX512_F32_KC,
    .nc = MG_GEMM_AVX512_F32_NC,
    .ukr = MG_UKR(ukr_avx512_f32),
    .ukr_part = {MG_UKR(ukr_avx512_f32_w1), MG_UKR(ukr_avx512_f32_w2)},
    .pack_n = MG_UKR(mg_gemm_avx512_pack_n_f32),
    .pack_t = MG_UKR(mg_gemm_avx512_pack_t_f32),
    .act = MG_UKR(mg_gemm_avx512_act_f32)};
const mg_gemm_kernel_f64 mg_gemm_avx512_f64 = {
    .mr = MG_GEMM_AVX512_F64_MR,
    .nr = MG_GEMM_AVX512_F64_NR,
    .mc = MG_GEMM_AVX512_F64_MC,
    .kc = MG_GEMM_AVX512_F64_KC,
    .nc = MG_GEMM_AVX512_F64_NC,
    .ukr = MG_UKR(ukr_avx512_f64),
    .ukr_part = {MG_UKR(ukr_avx512_f64_w1), MG_UKR(ukr_avx512_f64_w2)},
    .pack_n = MG_UKR(mg_gemm_avx512_pack_n_f64),
    .pack_t = MG_UKR(mg_gemm_avx512_pack_t_f64),
    .act = MG_UKR(mg_gemm_avx512_act_f64)};
const mg_gemm_kernel_f32 mg_gemm_avx2_f32 = {
    .mr = MG_GEMM_AVX2_F32_MR,
    .nr = MG_GEMM_AVX2_F32_NR,
    .mc = MG_GEMM_AVX2_F32_MC,
    .kc = MG_GEMM_AVX2_F32_KC,
    .nc = MG_GEMM_AVX2_F32_NC,
    .ukr = MG_UKR(ukr_avx2_f32),
    .ukr_part = {MG_UKR(ukr_avx2_f32_w1), MG_UKR(ukr_avx2_f32_w2)}};
const mg_gemm_kernel_f64 mg_gemm_avx2_f64 = {
    .mr = MG_GEMM_AVX2_F64_MR,
    .nr = MG_GEMM_AVX2_F64_NR,
    .mc = MG_GEMM_AVX2_F64_MC,
    .kc = MG_GEMM_AVX2_F64_KC,
    .nc = MG_GEMM_AVX2_F64_NC,
    .ukr = MG_UKR(ukr_avx2_f64),
    .ukr_part = {MG_UKR(ukr_avx2_f64_w1), MG_UKR(ukr_avx2_f64_w2)}};
