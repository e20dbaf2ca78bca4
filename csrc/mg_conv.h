// Convolution over N = 1, 2 or 3 spatial dims, float32 and float64, as GEMM
// over packed patches (im2col), reusing the BLIS-style GEMM of mg_gemm.h.
// Plain C11: no Python headers.
//
// Layouts (PyTorch's), every array C-contiguous:
//   x  (batch, c_in,  in_size[0], .., in_size[nd-1])        input
//   w  (c_out, c_in / groups, kernel[0], ...)       weight
//   y  (batch, c_out, out_size[0], .., out_size[nd-1])       output
// Along spatial dim d, output position o reads input positions
//   i = o * stride[d] - pad[d] + t * dilation[d],   t = 0 .. kernel[d] - 1,
// and positions outside [0, in_size[d]) read as zero (zero padding). Group g maps
// input channels [g * c_in/groups, (g+1) * c_in/groups) to output channels
// [g * c_out/groups, ...): groups == c_in == c_out is a depthwise convolution.
//
// The three products of a convolution layer:
//   forward       y  = conv(x, w) + bias
//   input grad    gx = conv_transpose(gy, w)      (also conv_transpose's
//                                                  forward, with gy its input)
//   weight grad   gw = corr(x, gy)
// Each runs per image (or per block of small images) and group as GEMMs over
// a workspace of patches that is tiled over output positions, so it stays
// under ~MG_CONV_WS_BYTES per thread whatever the image size (at least
// MG_CONV_MIN_TILE output positions per tile). A 1x1 convolution with stride 1 and no padding reads x in place:
// no patches are built at all.
//
// Threads: with at least `num_threads` (images, group) items, the items are
// spread over the threads and each GEMM runs on one; otherwise the items run
// in turn and each GEMM uses the threads. Items and the weight gradient's
// partial sums are cut the same way whatever the thread count
// (MG_CONV_PARTS), so no result's bits depend on it. num_threads is clamped to
// [1, MG_CONV_MAX_THREADS]; a value below 1 is an error.
//
// Entry points validate everything they are given (sizes, products of sizes
// against overflow, the geometry) and return a status; with any size 0 they
// do nothing and return MG_CONV_OK (the gradients are then still fully
// written: zeros). Outputs never alias inputs.
#ifndef MG_CONV_H
#define MG_CONV_H

#include "mg_common.h"

enum {
    MG_CONV_OK = 0,
    MG_CONV_ENOMEM = 1, // the workspace could not be allocated
    MG_CONV_EISA = 2,   // the requested ISA is not supported by this CPU
    MG_CONV_EARG = 3    // a size, geometry, thread count or ISA out of range
};

#define MG_CONV_MAX_DIMS 3
#define MG_CONV_MAX_THREADS 1024
// Small images are batched into at least this many items, and the weight
// gradient is summed in at most this many partial sums, whatever the thread
// count (Note [Weight gradient parts] in conv/conv_tmpl.h): so at most this
// many threads share those items (a single item runs its GEMMs threaded).
#define MG_CONV_PARTS 4
// Workspace per thread for the patches of one tile.
#define MG_CONV_WS_BYTES (1 << 20)
// Images with at most this many output positions are batched: the patches
// of several images side by side make one wide GEMM instead of several thin
// ones (LeNet's 10x10 maps give 100-column GEMMs alone).
#define MG_CONV_BATCH_MAX_POSITIONS 1024
// A tile never has fewer output positions than this (unless the image has
// fewer): thinner GEMMs waste the micro-kernel.
#define MG_CONV_MIN_TILE 64

// The geometry of a convolution. Dims d >= nd are ignored.
// Valid when: 1 <= nd <= 3; batch, c_in, c_out, in_size[d], out_size[d] >= 0;
// groups >= 1 divides c_in and c_out; kernel, stride, dilation >= 1;
// pad >= 0; and, when out_size[d] > 0, the last window starts inside the padded
// input: (out_size[d] - 1) * stride[d] <= in_size[d] + 2 pad[d] - dilation[d] *
// (kernel[d] - 1) - 1. (For a convolution out_size[d] is exactly
// floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1; a transposed
// convolution's output_padding makes in_size[d] larger than that needs.)
typedef struct mg_conv_geom {
    int nd;
    mg_index_t batch, c_in, c_out, groups;
    mg_index_t in_size[MG_CONV_MAX_DIMS], out_size[MG_CONV_MAX_DIMS];
    mg_index_t kernel[MG_CONV_MAX_DIMS], stride[MG_CONV_MAX_DIMS];
    mg_index_t pad[MG_CONV_MAX_DIMS], dilation[MG_CONV_MAX_DIMS];
} mg_conv_geom;

// MG_CONV_OK if `g` is valid (see above) and every array size it implies
// fits in mg_index_t, else MG_CONV_EARG.
int mg_conv_check(const mg_conv_geom *g);

// y = conv(x, w) + bias[o] (bias may be NULL). y is written, never read.
// The path is MG_CONV_PATH_AUTO.
int mg_conv_fwd_f32(const mg_conv_geom *g, const float *x, const float *w,
                    const float *bias, float *y, int isa, int num_threads);
int mg_conv_fwd_f64(const mg_conv_geom *g, const double *x, const double *w,
                    const double *bias, double *y, int isa, int num_threads);

// Which algorithm the forward runs (Note [Fused or workspace forward] in
// conv/conv_fused.c): AUTO picks by the measured size rule there; WORKSPACE
// is im2col into a tiled workspace, then GEMM; FUSED is the implicit GEMM
// (im2col fused into the packing). Tests force each one; both give the same
// results to rounding. A size-0 problem is the workspace path's whatever
// is asked (there is nothing to multiply).
enum {
    MG_CONV_PATH_AUTO = 0,
    MG_CONV_PATH_WORKSPACE = 1,
    MG_CONV_PATH_FUSED = 2
};

// mg_conv_fwd_* with the path chosen (EARG for a value outside the enum).
int mg_conv_fwd_path_f32(const mg_conv_geom *g, const float *x,
                         const float *w, const float *bias, float *y, int isa,
                         int num_threads, int path);
int mg_conv_fwd_path_f64(const mg_conv_geom *g, const double *x,
                         const double *w, const double *bias, double *y,
                         int isa, int num_threads, int path);

// gx = d(sum(gy * y)) / dx: gy has y's shape, gx has x's. gx is written (zeros
// where no window reaches), never read.
int mg_conv_bwd_input_f32(const mg_conv_geom *g, const float *gy,
                          const float *w, float *gx, int isa,
                          int num_threads);
int mg_conv_bwd_input_f64(const mg_conv_geom *g, const double *gy,
                          const double *w, double *gx, int isa,
                          int num_threads);

// gw = d(sum(gy * y)) / dw, summed over the batch: gw has w's shape and is
// written, never read. (The bias gradient, gy summed over batch and space,
// is left to the caller.)
int mg_conv_bwd_weight_f32(const mg_conv_geom *g, const float *x,
                           const float *gy, float *gw, int isa,
                           int num_threads);
int mg_conv_bwd_weight_f64(const mg_conv_geom *g, const double *x,
                           const double *gy, double *gw, int isa,
                           int num_threads);

// im2col over the whole batch (PyTorch's unfold): cols has shape
// (batch, c_in * prod(kernel), prod(out)), row (c, t0, .., t_{nd-1}) and
// column (o0, .., o_{nd-1}) holding x[n, c, i0, ..] (zero outside). c_out and
// groups are ignored (pass 1). cols is written, never read.
int mg_im2col_f32(const mg_conv_geom *g, const float *x, float *cols,
                  int num_threads);
int mg_im2col_f64(const mg_conv_geom *g, const double *x, double *cols,
                  int num_threads);

// col2im (PyTorch's fold), the adjoint of im2col: x = sum of the columns'
// entries at the positions they were read from. x is written, never read.
int mg_col2im_f32(const mg_conv_geom *g, const float *cols, float *x,
                  int num_threads);
int mg_col2im_f64(const mg_conv_geom *g, const double *cols, double *x,
                  int num_threads);

#endif
