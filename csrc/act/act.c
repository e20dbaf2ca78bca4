// Elementwise activations. Every function takes the element count first, then
// each operand as a pointer plus its stride in elements. n == 0 is a no-op.
// Outputs may alias inputs only when pointer and stride are equal (in place).
#include <math.h>

#include "mg_act.h"

// y = max(x, 0). NaN propagates (x > 0 is false for NaN, so y = x * 0 keeps
// the NaN: PyTorch's relu(nan) is nan).
#define MG_DEF_RELU_FWD(T, SUF)                                               \
    void mg_relu_fwd_##SUF(mg_index_t n, const T *x, mg_index_t inc_x, T *y,  \
                           mg_index_t inc_y) {                                \
        for (mg_index_t i = 0; i < n; i++) {                                  \
            T v = x[i * inc_x];                                               \
            y[i * inc_y] = v > 0 ? v : (v != v ? v : (T)0);                   \
        }                                                                     \
    }

// gx = gy * (x > 0). NOTE: relu'(0) = 0, as in PyTorch.
#define MG_DEF_RELU_BWD(T, SUF)                                               \
    void mg_relu_bwd_##SUF(mg_index_t n, const T *x, mg_index_t inc_x,        \
                           const T *gy, mg_index_t inc_gy, T *gx,             \
                           mg_index_t inc_gx) {                               \
        for (mg_index_t i = 0; i < n; i++)                                    \
            gx[i * inc_gx] = x[i * inc_x] > 0 ? gy[i * inc_gy] : (T)0;        \
    }

MG_DEF_RELU_FWD(float, f32)
MG_DEF_RELU_FWD(double, f64)
MG_DEF_RELU_BWD(float, f32)
MG_DEF_RELU_BWD(double, f64)

// y = erf(x), from the C library (numpy has no vectorised erf).
void mg_erf_f32(mg_index_t n, const float *x, mg_index_t inc_x, float *y,
                mg_index_t inc_y) {
    for (mg_index_t i = 0; i < n; i++) y[i * inc_y] = erff(x[i * inc_x]);
}

void mg_erf_f64(mg_index_t n, const double *x, mg_index_t inc_x, double *y,
                mg_index_t inc_y) {
    for (mg_index_t i = 0; i < n; i++) y[i * inc_y] = erf(x[i * inc_x]);
}
