// The portable micro-kernels: used on CPUs without AVX2/AVX-512 and whenever
// MINIGRAD_ISA=generic. See gemm_internal.h for the contract.
#include "gemm_internal.h"

#define T float
#define SFX f32
#define MR MG_GEMM_GENERIC_F32_MR
#define NR MG_GEMM_GENERIC_F32_NR
#include "ukr_generic_tmpl.h"
#undef T
#undef SFX
#undef MR
#undef NR

#define T double
#define SFX f64
#define MR MG_GEMM_GENERIC_F64_MR
#define NR MG_GEMM_GENERIC_F64_NR
#include "ukr_generic_tmpl.h"
#undef T
#undef SFX
#undef MR
#undef NR

const mg_gemm_kernel_f32 mg_gemm_generic_f32 = {
    .mr = MG_GEMM_GENERIC_F32_MR,
    .nr = MG_GEMM_GENERIC_F32_NR,
    .mc = MG_GEMM_GENERIC_F32_MC,
    .kc = MG_GEMM_GENERIC_F32_KC,
    .nc = MG_GEMM_GENERIC_F32_NC,
    .ukr = ukr_generic_f32};

const mg_gemm_kernel_f64 mg_gemm_generic_f64 = {
    .mr = MG_GEMM_GENERIC_F64_MR,
    .nr = MG_GEMM_GENERIC_F64_NR,
    .mc = MG_GEMM_GENERIC_F64_MC,
    .kc = MG_GEMM_GENERIC_F64_KC,
    .nc = MG_GEMM_GENERIC_F64_NC,
    .ukr = ukr_generic_f64};
