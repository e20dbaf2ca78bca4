// Shared by conv.c and conv_tmpl.h: the geometry in canonical 3-D form.
#ifndef MG_CONV_INTERNAL_H
#define MG_CONV_INTERNAL_H

#include "mg_conv.h"

// A convolution of nd < 3 dims is the 3-D one with the leading 3 - nd dims of
// size 1 (kernel 1, stride 1, no padding): one implementation serves all.
typedef struct conv3 {
    mg_index_t n, cin, cout, groups, cgi, cgo;
    mg_index_t in[3], out[3], k[3], s[3], p[3], d[3];
    mg_index_t in_sz, out_sz, k_sz; // products over the 3 dims
    mg_index_t kc;                  // cgi * k_sz: the GEMM's inner size
    int fast;                       // 1x1, stride 1, no padding: no patches
} conv3;

// Which product a kernel item computes (conv_tmpl.h).
enum { FWD = 0, BWD_IN = 1, BWD_W = 2 };

// Fills `c` from `g` and validates it (mg_conv_check's rules); for_cols
// ignores c_out and groups (im2col / col2im). Returns MG_CONV_OK or EARG.
int mg_conv_canon(const mg_conv_geom *g, int for_cols, conv3 *c);

// Threads to use: EARG (< 0 returned as -1) for num_threads < 1, else
// num_threads clamped to [1, MG_CONV_MAX_THREADS], to `items` and to one per
// `min_work` units of `work`.
int mg_conv_threads(int num_threads, mg_index_t items, double work,
                    double min_work);

// Floor of a / b for b > 0 and any a.
static inline mg_index_t mg_conv_fdiv(mg_index_t a, mg_index_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The fused forward (conv_fused.c). Assumes: c validated by mg_conv_canon,
// batch, c_out, out_sz and kc > 0, risa resolved and supported,
// num_threads >= 1.
int mg_conv_fwd_fused_f32(const conv3 *c, const float *x, const float *w,
                          const float *bias, float *y, int risa,
                          int num_threads);
int mg_conv_fwd_fused_f64(const conv3 *c, const double *x, const double *w,
                          const double *bias, double *y, int risa,
                          int num_threads);

// Whether MG_CONV_PATH_AUTO takes the fused forward for `c` (conv.c).
int mg_conv_fused_wins(const conv3 *c, int dtype_bytes, int num_threads);

#endif
