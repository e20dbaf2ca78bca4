// Vectorisable math for the activation and softmax kernels (internal header).
//
// mg_vexpf, mg_vtanh, ... are the C library's expf, tanh, ... under another C
// name. On GCC with glibc >= 2.35 on x86-64 they are declared `const` and
// `simd`: `const` because the C name is not a builtin, so GCC does not assume
// the call writes errno (which would block vectorisation), and `simd` so that
// the vectoriser calls glibc's libmvec variants (_ZGVeN16v_expf for AVX-512,
// _ZGVdN8v_expf for AVX2, ...; <= 4 ulp, special values handled). libm.so
// pulls in libmvec, so -lm links them. Elsewhere they are the plain scalar
// functions, with the same results up to the library's rounding.
#ifndef MG_VMATH_H
#define MG_VMATH_H

#include <math.h>

// Constants (strict C11 has no M_PI & co.), to double precision.
#define MG_SQRT1_2 0.70710678118654752440   // 1/√2
#define MG_2_SQRTPI 1.12837916709551257390  // 2/√π
#define MG_SQRT_2_PI 0.79788456080286535588 // √(2/π)
#define MG_INV_SQRT_2PI 0.39894228040143267794 // 1/√(2π)

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
// x86 target attributes (per-function ISA) are available.
#define MG_X86_TARGETS 1
#define MG_TGT_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))
#define MG_TGT_AVX2 __attribute__((target("avx2,fma")))
#else
#define MG_X86_TARGETS 0
#endif

#if MG_X86_TARGETS && !defined(__clang__) && defined(__GLIBC__) &&           \
    defined(__x86_64__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
#define MG_VMATH_SIMD 1
#endif
#endif

#ifdef MG_VMATH_SIMD
#define MG_VDECL(T, NAME, SYM)                                                \
    __attribute__((const, simd("notinbranch"))) T NAME(T) __asm__(SYM);
MG_VDECL(float, mg_vexpf, "expf")
MG_VDECL(double, mg_vexp, "exp")
MG_VDECL(float, mg_vlogf, "logf")
MG_VDECL(double, mg_vlog, "log")
MG_VDECL(float, mg_vlog1pf, "log1pf")
MG_VDECL(double, mg_vlog1p, "log1p")
MG_VDECL(float, mg_vtanhf, "tanhf")
MG_VDECL(double, mg_vtanh, "tanh")
MG_VDECL(float, mg_verff, "erff")
MG_VDECL(double, mg_verf, "erf")
MG_VDECL(float, mg_verfcf, "erfcf")
MG_VDECL(double, mg_verfc, "erfc")
#undef MG_VDECL
#else
#define mg_vexpf expf
#define mg_vexp exp
#define mg_vlogf logf
#define mg_vlog log
#define mg_vlog1pf log1pf
#define mg_vlog1p log1p
#define mg_vtanhf tanhf
#define mg_vtanh tanh
#define mg_verff erff
#define mg_verf erf
#define mg_verfcf erfcf
#define mg_verfc erfc
#endif

#endif
