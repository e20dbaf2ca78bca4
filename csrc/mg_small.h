// Small-array + - * for the autograd core (minigrad/_C/_small.pxi, Note
// [Small arrays]): one loop over n elements of one float dtype, the FP
// exception flags cleared first and tested after. Header-only: _core is
// compiled without csrc's sources.
#ifndef MG_SMALL_H
#define MG_SMALL_H

#include <fenv.h>
#include <float.h>
#include <stddef.h>

#define MG_FE_BAD (FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID | FE_DIVBYZERO)

/* op: 0 add, 1 sub, 2 mul; mode: 0 x[i] op y[i], 1 x[i] op s, 2 s op x[i].
   Returns 0 when the result stands, -1 when numpy must redo it. */
#define MG_SMALL_LOOP(T, op, mode, x, y, s, o, n)                             \
    do {                                                                      \
        ptrdiff_t i_;                                                         \
        int nan_ = 0;                                                         \
        for (i_ = 0; i_ < (n); i_++) {                                        \
            T l_ = (mode) == 2 ? (s) : (x)[i_];                               \
            T r_ = (mode) == 0 ? (y)[i_] : (mode) == 1 ? (s) : (x)[i_];       \
            T v_ = (op) == 0 ? l_ + r_ : (op) == 1 ? l_ - r_ : l_ * r_;       \
            (o)[i_] = v_;                                                     \
            nan_ |= v_ != v_;                                                 \
        }                                                                     \
        if (nan_) return -1;                                                  \
    } while (0)

#define MG_SMALL_FN(name, T)                                                  \
static int name(int op, int mode, const T *x, const T *y, T s, T *o,          \
                ptrdiff_t n) {                                                \
    feclearexcept(MG_FE_BAD);                                                 \
    switch (op * 3 + mode) {                                                  \
    case 0: MG_SMALL_LOOP(T, 0, 0, x, y, s, o, n); break;                     \
    case 1: MG_SMALL_LOOP(T, 0, 1, x, y, s, o, n); break;                     \
    case 2: MG_SMALL_LOOP(T, 0, 2, x, y, s, o, n); break;                     \
    case 3: MG_SMALL_LOOP(T, 1, 0, x, y, s, o, n); break;                     \
    case 4: MG_SMALL_LOOP(T, 1, 1, x, y, s, o, n); break;                     \
    case 5: MG_SMALL_LOOP(T, 1, 2, x, y, s, o, n); break;                     \
    case 6: MG_SMALL_LOOP(T, 2, 0, x, y, s, o, n); break;                     \
    case 7: MG_SMALL_LOOP(T, 2, 1, x, y, s, o, n); break;                     \
    default: MG_SMALL_LOOP(T, 2, 2, x, y, s, o, n); break;                    \
    }                                                                         \
    return fetestexcept(MG_FE_BAD) ? -1 : 0;                                  \
}

MG_SMALL_FN(mg_small_f32, float)
MG_SMALL_FN(mg_small_f64, double)

#endif
