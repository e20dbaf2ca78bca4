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

// -- inline float32 kernels ---------------------------------------------------
// Branch-free scalar code that GCC vectorises inside an `omp simd` loop, for
// whatever target the loop is compiled for (AVX-512, AVX2+FMA, baseline), so
// the activations need no call per vector and no special-case path. Inputs of
// any value are handled by clamping and selects; NaN passes every clamp (a
// comparison with NaN is false) and so propagates.
#include <stdint.h>
#include <string.h>

// The bits of a float as an UNSIGNED integer: the exponent arithmetic below
// also runs on NaN lanes (whose result is discarded: NaN times anything is
// NaN), where a signed subtraction could overflow and a left shift of a
// negative value is undefined behaviour; unsigned arithmetic wraps and gives
// the same bits in every defined case.
static inline uint32_t mg_f32_bits(float x) {
    uint32_t i;
    memcpy(&i, &x, sizeof i);
    return i;
}
static inline float mg_f32_from_bits(uint32_t i) {
    float x;
    memcpy(&x, &i, sizeof x);
    return x;
}

// e^(x + lo) for x in [-87.3, 88.3] (the caller clamps; NaN propagates) and
// |lo| << 1 a correction to x, e.g. its rounding error. Cody-Waite reduction
// x = n·ln2 + r with ln2 split in a 9-bit head (n·head is exact) and a tail,
// then e^r = 1 + r + r²·Q(r), Q a degree-4 fit of relative error 3e-9 on
// |r| <= ln2/2, and 2^n built in the exponent field (tests/test_act_kernels.py
// bounds the ulp error of the activations built on it). The range keeps 2^n
// normal: a denormal operand or result costs a microcode assist (~150
// cycles) per vector. Also used by csrc/softmax: keep the interface.
static inline float mg_exp_core_f32(float x, float lo) {
    const float shift = 12582912.0f; // 1.5·2^23: adding it rounds to integer
    float k = x * 1.44269504088896341f + shift;
    float n = k - shift;
    uint32_t ni = mg_f32_bits(k) - mg_f32_bits(shift); // n mod 2^32
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440054690583e-4f;
    r = r + lo;
    float q = 1.38146096e-3f;
    q = q * r + 8.36871e-3f;
    q = q * r + 4.166839e-2f;
    q = q * r + 1.6666521e-1f;
    q = q * r + 4.9999993e-1f;
    float p = 1.0f + (r + (r * r) * q);
    return p * mg_f32_from_bits((ni + 127u) << 23);
}

// 1 / (1 + e^-x). e^-x is taken on -x clamped to [-87, 88] and replaced by
// +inf above 88, so the result is exactly 1 for x >= 87 and exactly 0 for
// x < -88 (sigmoid(±1000) = 1 / 0), never NaN; a few ulp elsewhere. The
// clamps are written `c > v ? c : v` so that NaN passes them and propagates.
static inline float mg_sigmoid_f32(float x) {
    float u = -x;
    float uc = -87.0f > u ? -87.0f : u;
    uc = 88.0f < uc ? 88.0f : uc;
    float e = mg_exp_core_f32(uc, 0.0f);
    e = u > 88.0f ? (float)INFINITY : e;
    return 1.0f / (1.0f + e);
}

// The standard normal distribution at x: h = Φ(-|x|) = erfc(a)/2 with
// a = |x|/√2, and e = e^(-x²/2) (so φ(x) = e/√(2π)); Φ(x) is h for x < 0 and
// 1 - h for x >= 0, so no value is formed by cancellation.
// erfc(a) = e^(-a²)·erfcx(a); with d = 1/(a + 2) and t = (a - 2)·d in
// [-1, 0.65], erfcx(a)·(a + 2)/2 is a degree-8 polynomial P(t), fitted to
// 4.2e-8 relative error for a in [0, 9.4] (6e-8 with the coefficients
// rounded to float32; beyond 9.4, e^(-a²) is 0 in float32), so h = e·P·d.
// e^(-x²/2) takes x² split exactly: x = xh + xl, xh keeping 12 significant
// bits so -xh²/2 is exact and the rest, -xl·(xh + xl/2), rides as the small
// correction. Results under 1.6e-38 are flushed to 0 (see mg_exp_core_f32).
// ±inf give h = 0, e = 0; NaN gives NaN.
typedef struct {
    float h;
    float e;
} mg_ndist_f32;

static inline mg_ndist_f32 mg_ndist_f32_of(float x) {
    float xh = mg_f32_from_bits(mg_f32_bits(x) & 0xFFFFF000u);
    float xl = x - xh;
    float hi = -0.5f * (xh * xh);
    float hc = -87.0f > hi ? -87.0f : hi;
    float e = mg_exp_core_f32(hc, -(xl * (xh + 0.5f * xl)));
    e = hi < -87.0f ? 0.0f : e;
    float a = fabsf(x) * 0.707106781186547524f;
    a = 9.4f < a ? 9.4f : a;
    float d = 1.0f / (a + 2.0f);
    float t = 1.0f - 4.0f * d; // (a - 2)/(a + 2)
    float p = -2.2987133147e-04f;
    p = p * t - 3.7577488260e-04f;
    p = p * t + 1.4896888142e-03f;
    p = p * t + 3.2177297590e-03f;
    p = p * t - 1.0742071813e-02f;
    p = p * t - 1.8217444419e-02f;
    p = p * t + 1.3973485955e-01f;
    p = p * t - 3.4358049258e-01f;
    p = p * t + 5.1079137064e-01f;
    mg_ndist_f32 r = {(e * p) * d, e};
    return r;
}

#endif
