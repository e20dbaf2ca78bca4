// Instantiates ukr_simd_tmpl.h for the ISA and dtype macros in effect (T,
// TARGET, VEC, VL, NR, V_*) at the three widths the driver uses: UKR_BASE
// (NR columns), UKR_BASE_w1 (NR / 3) and UKR_BASE_w2 (2 * NR / 3) for edge
// panels. Then undefines all of those, ready for the next ISA / dtype.
// No include guard: included once per instantiation.
#define UKR_CAT_(a, b) a##b
#define UKR_CAT(a, b) UKR_CAT_(a, b)

#define UKR UKR_BASE
#define NCOL NR
#include "ukr_simd_tmpl.h"
#undef UKR
#undef NCOL
#define UKR UKR_CAT(UKR_BASE, _w1)
#define NCOL (NR / 3)
#include "ukr_simd_tmpl.h"
#undef UKR
#undef NCOL
#define UKR UKR_CAT(UKR_BASE, _w2)
#define NCOL (2 * NR / 3)
#include "ukr_simd_tmpl.h"
#undef UKR
#undef NCOL

#undef UKR_CAT
#undef UKR_CAT_
#undef UKR_BASE
#undef T
#undef TARGET
#undef VEC
#undef VL
#undef NR
#undef V_LOAD
#undef V_LOADU
#undef V_STOREU
#undef V_SET1
#undef V_ZERO
#undef V_FMA
#undef V_MUL
#undef V_ADD
#undef V_MAX
