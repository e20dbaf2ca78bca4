"""Cython wrappers for csrc/pool: max pooling (with argmax indices) and
average pooling, forward and backward, over 1-, 2- or 3-D spatial dims.

Layer: _C. Knows numpy and the C kernels, nothing of autograd. Inputs are
(*planes, *spatial) arrays: the last nd = len(kernel_size) dims are pooled,
each of the leading ones (batch, channels) is a separate plane. Every check
that protects the C code happens here while holding the GIL; arrays the
kernels cannot read in place are copied.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t
from minigrad.errors import ArgumentError, ShapeError

cnp.import_array()

cdef extern from "mg_pool.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int MG_POOL_OK
    ctypedef struct mg_pool_geom:
        int nd
        mg_index_t planes
        mg_index_t in_size[3]
        mg_index_t out_size[3]
        mg_index_t kernel[3]
        mg_index_t stride[3]
        mg_index_t pad[3]
        mg_index_t dilation[3]
    int mg_max_pool_fwd_f32(const mg_pool_geom *, const float *, float *,
                            int64_t *, int) noexcept
    int mg_max_pool_fwd_f64(const mg_pool_geom *, const double *, double *,
                            int64_t *, int) noexcept
    int mg_max_pool_bwd_f32(const mg_pool_geom *, const float *,
                            const int64_t *, float *, int) noexcept
    int mg_max_pool_bwd_f64(const mg_pool_geom *, const double *,
                            const int64_t *, double *, int) noexcept
    int mg_avg_pool_fwd_f32(const mg_pool_geom *, int, mg_index_t,
                            const float *, float *, int) noexcept
    int mg_avg_pool_fwd_f64(const mg_pool_geom *, int, mg_index_t,
                            const double *, double *, int) noexcept
    int mg_avg_pool_bwd_f32(const mg_pool_geom *, int, mg_index_t,
                            const float *, float *, int) noexcept
    int mg_avg_pool_bwd_f64(const mg_pool_geom *, int, mg_index_t,
                            const double *, double *, int) noexcept

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "max_pool_backward",
    "max_pool_forward",
    "output_size",
]

_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)


def output_size(in_size, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output size per dim: floor (or ceil) of
    (in + 2 pad - dilation (kernel - 1) - 1) / stride, plus 1, less 1 when
    ceil_mode would start the last window past the input and its left
    padding. May be <= 0 when the window does not fit."""
    res = []
    for i, k, s, p, d in zip(in_size, kernel_size, stride, padding, dilation):
        span = i + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= i + p:
            o -= 1
        res.append(o)
    return tuple(res)


include "_operands.pxi"


cdef int _fill(str op, mg_pool_geom *g, tuple xs, tuple ys, object kernel_size,
               object stride, object padding, object dilation) except -1:
    """The geometry of x (*planes, *in) -> y (*planes, *out)."""
    if not isinstance(kernel_size, tuple):
        raise ArgumentError(f"{op}: kernel_size must be a tuple, got "
                            f"{kernel_size!r}")
    cdef int nd = len(kernel_size), d
    if nd < 1 or nd > 3 or len(xs) < nd + 1:
        raise ShapeError(f"{op}: expected 1 to 3 spatial dims after at least one "
                         f"plane dim, got input {xs} and kernel {kernel_size}")
    k = _ints(op, "kernel_size", kernel_size, nd, 1)
    s = _ints(op, "stride", stride, nd, 1)
    p = _ints(op, "padding", padding, nd, 0)
    dl = _ints(op, "dilation", dilation, nd, 1)
    if len(ys) != len(xs) or ys[:-nd] != xs[:-nd]:
        raise ShapeError(f"{op}: input {xs} and output {ys} differ in their "
                         "plane dims")
    g.nd = nd
    g.planes = int(np.prod(xs[:-nd], dtype=np.int64))
    for d in range(nd):
        g.in_size[d] = xs[len(xs) - nd + d]
        g.out_size[d] = ys[len(ys) - nd + d]
        g.kernel[d] = k[d]
        g.stride[d] = s[d]
        g.pad[d] = p[d]
        g.dilation[d] = dl[d]
        if g.out_size[d] > 0 and (g.out_size[d] - 1) * s[d] >= g.in_size[d] + p[d]:
            raise ShapeError(f"{op}: output {ys} does not fit input {xs} with "
                             f"kernel {k}, stride {s}, padding {p}")
    return 0


cdef object _status(str op, int st):
    if st != MG_POOL_OK:
        raise ArgumentError(f"{op}: the C kernel rejected its arguments ({st})")


def max_pool_forward(x, *, kernel_size, stride, padding, dilation, out_size,
                     num_threads=1):
    """(y, indices): the max of each window and its position within the
    plane (flattened spatial index, PyTorch's return_indices).

    Parameters
    ----------
    x : ndarray (*planes, *in), float32 or float64
    kernel_size, stride, padding, dilation, out_size : tuples of nd ints

    Returns
    -------
    y : ndarray (*planes, *out_size), x's dtype
    indices : ndarray (*planes, *out_size), int64
    """
    op = "max_pool"
    x = _array(op, "input", x)
    nd = len(kernel_size) if isinstance(kernel_size, tuple) else 0
    outs = _ints(op, "out_size", out_size, nd, 0) if nd else ()
    xs = x.shape
    ys = (*xs[:len(xs) - nd], *outs)
    cdef mg_pool_geom g
    _fill(op, &g, xs, ys, kernel_size, stride, padding, dilation)
    y = np.empty(ys, x.dtype)
    idx = np.empty(ys, _I64)
    cdef int nt = _threads(op, num_threads), st
    cdef char *px = <char *>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef char *py = <char *>cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef int64_t *pi = <int64_t *>cnp.PyArray_DATA(<cnp.ndarray>idx)
    cdef bint f32 = x.dtype == _F32
    with nogil:
        if f32:
            st = mg_max_pool_fwd_f32(&g, <float *>px, <float *>py, pi, nt)
        else:
            st = mg_max_pool_fwd_f64(&g, <double *>px, <double *>py, pi, nt)
    _status(op, st)
    return y, idx


def max_pool_backward(gy, indices, *, in_size, kernel_size, stride, padding,
                      dilation, num_threads=1):
    """gx (*planes, *in_size): gy scattered (added) to the positions in
    `indices`; ArgumentError if an index is outside its plane."""
    op = "max_pool_backward"
    gy = _array(op, "grad_output", gy)
    indices = _array(op, "indices", indices, _I64)
    if indices.shape != gy.shape:
        raise ShapeError(f"{op}: indices {indices.shape} and grad_output "
                         f"{gy.shape} differ")
    nd = len(kernel_size) if isinstance(kernel_size, tuple) else 0
    ins = _ints(op, "in_size", in_size, nd, 0) if nd else ()
    ys = gy.shape
    xs = (*ys[:len(ys) - nd], *ins)
    cdef mg_pool_geom g
    _fill(op, &g, xs, ys, kernel_size, stride, padding, dilation)
    gx = np.empty(xs, gy.dtype)
    cdef int nt = _threads(op, num_threads), st
    cdef char *pgy = <char *>cnp.PyArray_DATA(<cnp.ndarray>gy)
    cdef char *pgx = <char *>cnp.PyArray_DATA(<cnp.ndarray>gx)
    cdef int64_t *pi = <int64_t *>cnp.PyArray_DATA(<cnp.ndarray>indices)
    cdef bint f32 = gy.dtype == _F32
    with nogil:
        if f32:
            st = mg_max_pool_bwd_f32(&g, <float *>pgy, pi, <float *>pgx, nt)
        else:
            st = mg_max_pool_bwd_f64(&g, <double *>pgy, pi, <double *>pgx, nt)
    if st != MG_POOL_OK:
        # The C status is the same for a rejected geometry (a side past its
        # limit) and a bad index: name the one that happened.
        m = int(np.prod(ins, dtype=object))
        if indices.size and (indices.min() < -1 or indices.max() >= m):
            raise ArgumentError(f"{op}: an index lies outside its plane of size "
                                f"{ins}")
        raise ArgumentError(f"{op}: the C kernel rejected the sizes: grad_output "
                            f"{ys}, input size {ins}, kernel {kernel_size}")
    return gx


cdef long _divisor(str op, object divisor_override) except -1:
    if divisor_override is None:
        return 0
    if not isinstance(divisor_override, (int, np.integer)) or isinstance(
            divisor_override, bool) or divisor_override < 1:
        raise ArgumentError(f"{op}: divisor_override must be a positive int, got "
                            f"{divisor_override!r}")
    return divisor_override


def avg_pool_forward(x, *, kernel_size, stride, padding, out_size,
                     count_include_pad=True, divisor_override=None,
                     num_threads=1):
    """y (*planes, *out_size): the mean of each window (see mg_pool.h for the
    divisor)."""
    op = "avg_pool"
    x = _array(op, "input", x)
    nd = len(kernel_size) if isinstance(kernel_size, tuple) else 0
    outs = _ints(op, "out_size", out_size, nd, 0) if nd else ()
    xs = x.shape
    ys = (*xs[:len(xs) - nd], *outs)
    cdef mg_pool_geom g
    _fill(op, &g, xs, ys, kernel_size, stride, padding, (1,) * nd)
    cdef mg_index_t div = _divisor(op, divisor_override)
    cdef int inc = bool(count_include_pad)
    y = np.empty(ys, x.dtype)
    cdef int nt = _threads(op, num_threads), st
    cdef char *px = <char *>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef char *py = <char *>cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef bint f32 = x.dtype == _F32
    with nogil:
        if f32:
            st = mg_avg_pool_fwd_f32(&g, inc, div, <float *>px, <float *>py, nt)
        else:
            st = mg_avg_pool_fwd_f64(&g, inc, div, <double *>px, <double *>py, nt)
    _status(op, st)
    return y


def avg_pool_backward(gy, *, in_size, kernel_size, stride, padding,
                      count_include_pad=True, divisor_override=None,
                      num_threads=1):
    """gx (*planes, *in_size): the adjoint of avg_pool_forward."""
    op = "avg_pool_backward"
    gy = _array(op, "grad_output", gy)
    nd = len(kernel_size) if isinstance(kernel_size, tuple) else 0
    ins = _ints(op, "in_size", in_size, nd, 0) if nd else ()
    ys = gy.shape
    xs = (*ys[:len(ys) - nd], *ins)
    cdef mg_pool_geom g
    _fill(op, &g, xs, ys, kernel_size, stride, padding, (1,) * nd)
    cdef mg_index_t div = _divisor(op, divisor_override)
    cdef int inc = bool(count_include_pad)
    gx = np.empty(xs, gy.dtype)
    cdef int nt = _threads(op, num_threads), st
    cdef char *pgy = <char *>cnp.PyArray_DATA(<cnp.ndarray>gy)
    cdef char *pgx = <char *>cnp.PyArray_DATA(<cnp.ndarray>gx)
    cdef bint f32 = gy.dtype == _F32
    with nogil:
        if f32:
            st = mg_avg_pool_bwd_f32(&g, inc, div, <float *>pgy, <float *>pgx, nt)
        else:
            st = mg_avg_pool_bwd_f64(&g, inc, div, <double *>pgy, <double *>pgx,
                                     nt)
    _status(op, st)
    return gx
