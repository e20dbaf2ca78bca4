// Max and average pooling over N = 1, 2 or 3 spatial dims, forward and
// backward, float32 and float64. Plain C11: no Python headers.
//
// Layout: x is (planes, in_size[0], .., in_size[nd-1]) and y (planes, out_size[0], ..),
// C-contiguous, where planes = batch * channels (each plane is pooled on its
// own). Along dim d, output position o covers the input positions
//   i = o * stride[d] - pad[d] + t * dilation[d],   t = 0 .. kernel[d] - 1,
// of which those outside [0, in_size[d]) are padding: ignored by max pooling,
// zeros for average pooling. ceil_mode is the caller's choice of out_size[d].
//
// Threads: planes are split over up to num_threads OpenMP threads (clamped
// to [1, MG_POOL_MAX_THREADS]; small work stays on the calling thread
// without entering the OpenMP runtime); num_threads < 1 is an error.
// Every entry point validates its sizes (and products of sizes against
// overflow) and returns a status; planes == 0 or an empty output is a no-op
// (gradients are still fully written: zeros).
#ifndef MG_POOL_H
#define MG_POOL_H

#include <stdint.h>

#include "mg_common.h"

enum { MG_POOL_OK = 0, MG_POOL_EARG = 3 };

#define MG_POOL_MAX_DIMS 3
#define MG_POOL_MAX_THREADS 1024
// Window elements visited per thread at least (a second thread costs a few
// microseconds to wake).
#define MG_POOL_PAR_MIN 65536

// Valid when: 1 <= nd <= 3; planes, in_size[d], out_size[d] >= 0; kernel, stride,
// dilation >= 1; pad >= 0; and, when out_size[d] > 0, the last window starts
// inside the input or its left padding: (out_size[d] - 1) * stride[d] < in_size[d] +
// pad[d]. (So every window holds at least one input position unless the
// padding exceeds what PyTorch allows: pad <= kernel / 2.)
typedef struct mg_pool_geom {
    int nd;
    mg_index_t planes;
    mg_index_t in_size[MG_POOL_MAX_DIMS], out_size[MG_POOL_MAX_DIMS];
    mg_index_t kernel[MG_POOL_MAX_DIMS], stride[MG_POOL_MAX_DIMS];
    mg_index_t pad[MG_POOL_MAX_DIMS], dilation[MG_POOL_MAX_DIMS];
} mg_pool_geom;

// y = max over each window; idx (same shape as y) = the position of the max
// within its plane, flattened over the spatial dims (PyTorch's
// return_indices). NaN wins (it propagates, as in PyTorch); among equal
// values the first in window order wins. A window of padding only gives
// -inf and index -1.
int mg_max_pool_fwd_f32(const mg_pool_geom *g, const float *x, float *y,
                        int64_t *idx, int num_threads);
int mg_max_pool_fwd_f64(const mg_pool_geom *g, const double *x, double *y,
                        int64_t *idx, int num_threads);

// gx[plane, idx] += gy for every output (gx written, never read). An index
// outside [-1, prod(in)) is skipped and makes the call return MG_POOL_EARG
// (after the others were scattered).
int mg_max_pool_bwd_f32(const mg_pool_geom *g, const float *gy,
                        const int64_t *idx, float *gx, int num_threads);
int mg_max_pool_bwd_f64(const mg_pool_geom *g, const double *gy,
                        const int64_t *idx, double *gx, int num_threads);

// y = sum over each window / divisor, where divisor is divisor_override when
// it is > 0, else the window's size clipped to the padded input
// (count_include_pad != 0) or to the input (== 0). dilation must be all 1s.
// A window with divisor 0 gives 0.
int mg_avg_pool_fwd_f32(const mg_pool_geom *g, int count_include_pad,
                        mg_index_t divisor_override, const float *x, float *y,
                        int num_threads);
int mg_avg_pool_fwd_f64(const mg_pool_geom *g, int count_include_pad,
                        mg_index_t divisor_override, const double *x,
                        double *y, int num_threads);

// The adjoint: gx[i] = sum over the windows holding i of gy / divisor.
int mg_avg_pool_bwd_f32(const mg_pool_geom *g, int count_include_pad,
                        mg_index_t divisor_override, const float *gy,
                        float *gx, int num_threads);
int mg_avg_pool_bwd_f64(const mg_pool_geom *g, int count_include_pad,
                        mg_index_t divisor_override, const double *gy,
                        double *gx, int num_threads);

#endif
