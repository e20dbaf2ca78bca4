// CPU feature detection and instruction-set selection shared by every
// kernel family (compiled into each extension from csrc/common/cpu.c).
// Plain C11: no Python headers, no global state.
#ifndef MG_CPU_H
#define MG_CPU_H

// Instruction sets a kernel may be specialised for, in increasing order of
// preference. MG_ISA_AUTO asks for the best one this CPU supports.
enum {
    MG_ISA_AUTO = -1,
    MG_ISA_GENERIC = 0, // portable C, compiled for the baseline target
    MG_ISA_AVX2 = 1,    // AVX2 + FMA (256-bit)
    MG_ISA_AVX512 = 2,  // AVX-512F (512-bit)
    MG_ISA_COUNT = 3
};

// 1 if this CPU and OS can run `isa` (MG_ISA_GENERIC always can), else 0.
// Out-of-range values give 0.
int mg_cpu_has_isa(int isa);

// The most capable instruction set mg_cpu_has_isa accepts.
int mg_cpu_best_isa(void);

// `isa` if this CPU can run it, the best one for MG_ISA_AUTO, else -1.
int mg_cpu_resolve_isa(int isa);

// "generic", "avx2", "avx512", or NULL for an out-of-range value.
const char *mg_isa_name(int isa);

// The compiler that built this extension, e.g. "gcc 12.2.0".
const char *mg_compiler_version(void);

// The _OPENMP date macro the extension was built with (e.g. 201511), or 0
// when it was built without OpenMP.
int mg_openmp_version(void);

#endif
