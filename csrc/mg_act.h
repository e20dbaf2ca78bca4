// Elementwise activations: forward and backward over strided vectors.
#ifndef MG_ACT_H
#define MG_ACT_H

#include "mg_common.h"

void mg_relu_fwd_f32(mg_index_t n, const float *x, mg_index_t inc_x, float *y,
                     mg_index_t inc_y);
void mg_relu_fwd_f64(mg_index_t n, const double *x, mg_index_t inc_x, double *y,
                     mg_index_t inc_y);
void mg_relu_bwd_f32(mg_index_t n, const float *x, mg_index_t inc_x,
                     const float *gy, mg_index_t inc_gy, float *gx,
                     mg_index_t inc_gx);
void mg_relu_bwd_f64(mg_index_t n, const double *x, mg_index_t inc_x,
                     const double *gy, mg_index_t inc_gy, double *gx,
                     mg_index_t inc_gx);
void mg_erf_f32(mg_index_t n, const float *x, mg_index_t inc_x, float *y,
                mg_index_t inc_y);
void mg_erf_f64(mg_index_t n, const double *x, mg_index_t inc_x, double *y,
                mg_index_t inc_y);

#endif
