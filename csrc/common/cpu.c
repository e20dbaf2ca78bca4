// CPU feature detection for run-time kernel dispatch (see mg_cpu.h).
//
// GCC and clang's __builtin_cpu_supports also checks, through XGETBV, that
// the OS saves the wide registers, so a "yes" means the kernel can run.
#include "mg_cpu.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define MG_X86_DISPATCH 1
#else
#define MG_X86_DISPATCH 0
#endif

int mg_cpu_has_isa(int isa) {
    switch (isa) {
    case MG_ISA_GENERIC:
        return 1;
#if MG_X86_DISPATCH
    case MG_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case MG_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0;
#endif
    default:
        return 0;
    }
}

int mg_cpu_best_isa(void) {
    for (int isa = MG_ISA_COUNT - 1; isa > MG_ISA_GENERIC; --isa)
        if (mg_cpu_has_isa(isa))
            return isa;
    return MG_ISA_GENERIC;
}

int mg_cpu_resolve_isa(int isa) {
    if (isa == MG_ISA_AUTO)
        return mg_cpu_best_isa();
    return mg_cpu_has_isa(isa) ? isa : -1;
}

const char *mg_isa_name(int isa) {
    static const char *const names[MG_ISA_COUNT] = {"generic", "avx2",
                                                    "avx512"};
    if (isa < 0 || isa >= MG_ISA_COUNT)
        return 0;
    return names[isa];
}

#define MG_STR2(x) #x
#define MG_STR(x) MG_STR2(x)

const char *mg_compiler_version(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " MG_STR(__GNUC__) "." MG_STR(__GNUC_MINOR__) "." MG_STR(
        __GNUC_PATCHLEVEL__);
#elif defined(_MSC_VER)
    return "msvc " MG_STR(_MSC_VER);
#else
    return "unknown";
#endif
}

int mg_openmp_version(void) {
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}
