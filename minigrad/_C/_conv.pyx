"""Cython wrappers for csrc/conv: convolution forward and its two gradients
(input and weight), im2col and col2im, over 1-, 2- or 3-D spatial dims.

Layer: _C. Knows numpy and the C kernels, nothing of autograd. Every check
that protects the C code (types, dtypes, byte order, contiguity, alignment,
shapes, the geometry) happens here while holding the GIL; arrays the kernels
cannot read in place are copied. Spatial parameters (stride, padding,
dilation, kernel_size, input_size) are tuples of one int per spatial dim.
"""

import numpy as np

cimport numpy as cnp
from minigrad.errors import ArgumentError, ShapeError

cnp.import_array()

cdef extern from "mg_conv.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int MG_CONV_OK
    int MG_CONV_ENOMEM
    int MG_CONV_EISA
    ctypedef struct mg_conv_geom:
        int nd
        mg_index_t batch
        mg_index_t c_in
        mg_index_t c_out
        mg_index_t groups
        mg_index_t in_size[3]
        mg_index_t out_size[3]
        mg_index_t kernel[3]
        mg_index_t stride[3]
        mg_index_t pad[3]
        mg_index_t dilation[3]
    int mg_conv_check(const mg_conv_geom *g) noexcept
    int mg_conv_fwd_f32(const mg_conv_geom *, const float *, const float *,
                        const float *, float *, int, int) noexcept
    int mg_conv_fwd_f64(const mg_conv_geom *, const double *, const double *,
                        const double *, double *, int, int) noexcept
    int mg_conv_fwd_path_f32(const mg_conv_geom *, const float *,
                             const float *, const float *, float *, int, int,
                             int) noexcept
    int mg_conv_fwd_path_f64(const mg_conv_geom *, const double *,
                             const double *, const double *, double *, int,
                             int, int) noexcept
    int mg_conv_bwd_input_f32(const mg_conv_geom *, const float *,
                              const float *, float *, int, int) noexcept
    int mg_conv_bwd_input_f64(const mg_conv_geom *, const double *,
                              const double *, double *, int, int) noexcept
    int mg_conv_bwd_weight_f32(const mg_conv_geom *, const float *,
                               const float *, float *, int, int) noexcept
    int mg_conv_bwd_weight_f64(const mg_conv_geom *, const double *,
                               const double *, double *, int, int) noexcept
    int mg_im2col_f32(const mg_conv_geom *, const float *, float *, int) noexcept
    int mg_im2col_f64(const mg_conv_geom *, const double *, double *,
                      int) noexcept
    int mg_col2im_f32(const mg_conv_geom *, const float *, float *, int) noexcept
    int mg_col2im_f64(const mg_conv_geom *, const double *, double *,
                      int) noexcept

__all__ = [
    "col2im",
    "conv_backward_input",
    "conv_backward_weight",
    "conv_forward",
    "im2col",
    "output_size",
]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
# The forward's algorithms (mg_conv.h, MG_CONV_PATH_*).
_PATHS = {"auto": 0, "workspace": 1, "fused": 2}


def output_size(in_size, kernel_size, stride, padding, dilation):
    """floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1 per dim
    (PyTorch's formula); may be <= 0 when the kernel does not fit."""
    return tuple(
        (i + 2 * p - d * (k - 1) - 1) // s + 1
        for i, k, s, p, d in zip(in_size, kernel_size, stride, padding,
                                 dilation)
    )


include "_operands.pxi"


cdef int _isa(str op, object isa) except -2:
    if isa is None:
        return -1
    from minigrad._C._act import isa_code
    return isa_code(op, isa)


cdef int _fill(str op, mg_conv_geom *g, tuple xs, tuple ws, tuple ys,
               int groups, tuple stride, tuple padding,
               tuple dilation) except -1:
    """The geometry of x (N, C_in, *in), w (C_out, C_in/groups, *k) and
    y (N, C_out, *out); ShapeError when they do not form a convolution."""
    cdef int nd = len(xs) - 2
    cdef int d
    g.nd = nd
    g.batch, g.c_in = xs[0], xs[1]
    g.c_out = ws[0]
    g.groups = groups
    for d in range(nd):
        g.in_size[d] = xs[2 + d]
        g.out_size[d] = ys[2 + d]
        g.kernel[d] = ws[2 + d]
        g.stride[d] = stride[d]
        g.pad[d] = padding[d]
        g.dilation[d] = dilation[d]
    if mg_conv_check(g) != MG_CONV_OK:
        raise ShapeError(
            f"{op}: input {xs}, weight {ws} and output {ys} do not form a "
            f"convolution with stride={stride}, padding={padding}, "
            f"dilation={dilation}, groups={groups}")
    return 0


cdef tuple _check_params(str op, int nd, object stride, object padding,
                         object dilation, object groups):
    if nd < 1 or nd > 3:
        raise ShapeError(f"{op}: expected 1 to 3 spatial dims, got {nd}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) \
            or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    return (_ints(op, "stride", stride, nd, 1), _ints(op, "padding", padding, nd, 0),
            _ints(op, "dilation", dilation, nd, 1), int(groups))


cdef object _status(str op, int st):
    if st == MG_CONV_OK:
        return None
    if st == MG_CONV_ENOMEM:
        raise MemoryError(f"{op}: could not allocate the workspace")
    if st == MG_CONV_EISA:
        raise RuntimeError(f"{op}: this CPU does not support the requested kernel")
    raise ArgumentError(f"{op}: the C kernel rejected its arguments ({st})")


cdef void _same_dtype(str op, object a, object b, str na, str nb) except *:
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: {na} and {nb} must have one dtype, got "
                        f"{a.dtype} and {b.dtype}")


cdef void _channels(str op, tuple xs, tuple ws, int groups) except *:
    if xs[1] % groups or ws[0] % groups:
        raise ShapeError(f"{op}: channels must be divisible by groups={groups}: "
                         f"input {xs}, weight {ws}")
    if ws[1] * groups != xs[1]:
        raise ShapeError(f"{op}: weight {ws} expects {ws[1] * groups} input "
                         f"channels (groups={groups}), input {xs} has {xs[1]}")


def conv_forward(x, w, bias=None, *, stride, padding, dilation, groups=1,
                 isa=None, num_threads=1, path="auto"):
    """y = conv(x, w) + bias.

    Parameters
    ----------
    x : ndarray (N, C_in, *in), float32 or float64
    w : ndarray (C_out, C_in / groups, *kernel), x's dtype
    bias : ndarray (C_out,), optional
    stride, padding, dilation : tuples of ints, one per spatial dim
    groups : int
    path : "auto", "workspace" (im2col into a tiled workspace, then GEMM) or
        "fused" (im2col fused into the GEMM's packing); "auto" picks by the
        measured size rule in csrc/conv/conv.c

    Returns
    -------
    y : ndarray (N, C_out, *out), out by PyTorch's formula

    Raises
    ------
    TypeError : non-arrays, non-float or mixed dtypes
    ShapeError : shapes that do not form a convolution (kernel larger than
        the padded input, channels not divisible by groups, ...)
    """
    op = "conv"
    if not isinstance(path, str) or path not in _PATHS:
        raise ArgumentError(f"{op}: path must be one of {sorted(_PATHS)}, got "
                            f"{path!r}")
    cdef int cpath = _PATHS[path]
    x, w = _array(op, "input", x), _array(op, "weight", w)
    _same_dtype(op, x, w, "input", "weight")
    cdef int nd = x.ndim - 2
    if w.ndim != x.ndim:
        raise ShapeError(f"{op}: input {x.shape} and weight {w.shape} must have "
                         "the same number of dims")
    stride, padding, dilation, groups = _check_params(op, nd, stride, padding,
                                                      dilation, groups)
    xs, ws = x.shape, w.shape
    _channels(op, xs, ws, groups)
    if bias is not None:
        bias = _array(op, "bias", bias)
        _same_dtype(op, x, bias, "input", "bias")
        if bias.shape != (ws[0],):
            raise ShapeError(f"{op}: bias must have shape ({ws[0]},) for weight "
                             f"{ws}, got {bias.shape}")
    out = output_size(xs[2:], ws[2:], stride, padding, dilation)
    if min(out) < 1:
        raise ShapeError(
            f"{op}: kernel {ws[2:]} (dilation {dilation}) is larger than the "
            f"padded input {tuple(i + 2 * p for i, p in zip(xs[2:], padding))} "
            f"(input {xs}, padding {padding}): output size {out}")
    ys = (xs[0], ws[0], *out)
    cdef mg_conv_geom g
    _fill(op, &g, xs, ws, ys, groups, stride, padding, dilation)
    y = np.empty(ys, x.dtype)
    cdef int code = _isa(op, isa), nt = _threads(op, num_threads), st
    cdef char *px = <char *>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef char *pw = <char *>cnp.PyArray_DATA(<cnp.ndarray>w)
    cdef char *py = <char *>cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef char *pb = NULL if bias is None else <char *>cnp.PyArray_DATA(
        <cnp.ndarray>bias)
    cdef bint f32 = x.dtype == _F32
    with nogil:
        if f32:
            st = mg_conv_fwd_path_f32(&g, <float *>px, <float *>pw,
                                      <float *>pb, <float *>py, code, nt, cpath)
        else:
            st = mg_conv_fwd_path_f64(&g, <double *>px, <double *>pw,
                                      <double *>pb, <double *>py, code, nt,
                                      cpath)
    _status(op, st)
    return y


def conv_backward_input(gy, w, *, input_size, stride, padding, dilation,
                        groups=1, isa=None, num_threads=1):
    """gx = the gradient of sum(gy * conv(x, w)) with respect to x, x of
    spatial size `input_size`: a transposed convolution of gy by w.

    Parameters
    ----------
    gy : ndarray (N, C_out, *out)
    w : ndarray (C_out, C_in / groups, *kernel)
    input_size : tuple of ints, x's spatial size

    Returns
    -------
    gx : ndarray (N, C_in, *input_size)
    """
    op = "conv_backward_input"
    gy, w = _array(op, "grad_output", gy), _array(op, "weight", w)
    _same_dtype(op, gy, w, "grad_output", "weight")
    cdef int nd = gy.ndim - 2
    if w.ndim != gy.ndim:
        raise ShapeError(f"{op}: grad_output {gy.shape} and weight {w.shape} must "
                         "have the same number of dims")
    stride, padding, dilation, groups = _check_params(op, nd, stride, padding,
                                                      dilation, groups)
    insz = _ints(op, "input_size", input_size, nd, 0)
    ys, ws = gy.shape, w.shape
    if ys[1] != ws[0]:
        raise ShapeError(f"{op}: grad_output {ys} has {ys[1]} channels, weight "
                         f"{ws} has {ws[0]} output channels")
    xs = (ys[0], ws[1] * groups, *insz)
    _channels(op, xs, ws, groups)
    cdef mg_conv_geom g
    _fill(op, &g, xs, ws, ys, groups, stride, padding, dilation)
    gx = np.empty(xs, gy.dtype)
    cdef int code = _isa(op, isa), nt = _threads(op, num_threads), st
    cdef char *pgy = <char *>cnp.PyArray_DATA(<cnp.ndarray>gy)
    cdef char *pw = <char *>cnp.PyArray_DATA(<cnp.ndarray>w)
    cdef char *pgx = <char *>cnp.PyArray_DATA(<cnp.ndarray>gx)
    cdef bint f32 = gy.dtype == _F32
    with nogil:
        if f32:
            st = mg_conv_bwd_input_f32(&g, <float *>pgy, <float *>pw,
                                       <float *>pgx, code, nt)
        else:
            st = mg_conv_bwd_input_f64(&g, <double *>pgy, <double *>pw,
                                       <double *>pgx, code, nt)
    _status(op, st)
    return gx


def conv_backward_weight(x, gy, *, kernel_size, stride, padding, dilation,
                         groups=1, isa=None, num_threads=1):
    """gw = the gradient of sum(gy * conv(x, w)) with respect to w (summed
    over the batch).

    Parameters
    ----------
    x : ndarray (N, C_in, *in)
    gy : ndarray (N, C_out, *out)
    kernel_size : tuple of ints

    Returns
    -------
    gw : ndarray (C_out, C_in / groups, *kernel_size)
    """
    op = "conv_backward_weight"
    x, gy = _array(op, "input", x), _array(op, "grad_output", gy)
    _same_dtype(op, x, gy, "input", "grad_output")
    cdef int nd = x.ndim - 2
    if gy.ndim != x.ndim:
        raise ShapeError(f"{op}: input {x.shape} and grad_output {gy.shape} must "
                         "have the same number of dims")
    stride, padding, dilation, groups = _check_params(op, nd, stride, padding,
                                                      dilation, groups)
    ks = _ints(op, "kernel_size", kernel_size, nd, 1)
    xs, ys = x.shape, gy.shape
    if xs[0] != ys[0]:
        raise ShapeError(f"{op}: input {xs} and grad_output {ys} differ in batch")
    if xs[1] % groups:
        raise ShapeError(f"{op}: channels must be divisible by groups={groups}: "
                         f"input {xs}, grad_output {ys}")
    ws = (ys[1], xs[1] // groups, *ks)
    _channels(op, xs, ws, groups)
    cdef mg_conv_geom g
    _fill(op, &g, xs, ws, ys, groups, stride, padding, dilation)
    gw = np.empty(ws, x.dtype)
    cdef int code = _isa(op, isa), nt = _threads(op, num_threads), st
    cdef char *px = <char *>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef char *pgy = <char *>cnp.PyArray_DATA(<cnp.ndarray>gy)
    cdef char *pgw = <char *>cnp.PyArray_DATA(<cnp.ndarray>gw)
    cdef bint f32 = x.dtype == _F32
    with nogil:
        if f32:
            st = mg_conv_bwd_weight_f32(&g, <float *>px, <float *>pgy,
                                        <float *>pgw, code, nt)
        else:
            st = mg_conv_bwd_weight_f64(&g, <double *>px, <double *>pgy,
                                        <double *>pgw, code, nt)
    _status(op, st)
    return gw


def im2col(x, *, kernel_size, stride, padding, dilation, num_threads=1):
    """The patches of x (N, C, *in): (N, C * prod(kernel), prod(out)),
    PyTorch's unfold layout."""
    op = "im2col"
    x = _array(op, "input", x)
    cdef int nd = x.ndim - 2
    stride, padding, dilation, _ = _check_params(op, nd, stride, padding,
                                                 dilation, 1)
    ks = _ints(op, "kernel_size", kernel_size, nd, 1)
    xs = x.shape
    out = output_size(xs[2:], ks, stride, padding, dilation)
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {ks} (dilation {dilation}) is larger than "
                         f"the padded input (input {xs}, padding {padding})")
    cdef mg_conv_geom g
    _fill(op, &g, xs, (1, xs[1], *ks), (xs[0], 1, *out), 1, stride, padding,
          dilation)
    kk = int(np.prod(ks))
    cols = np.empty((xs[0], xs[1] * kk, int(np.prod(out))), x.dtype)
    cdef int nt = _threads(op, num_threads), st
    cdef char *px = <char *>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef char *pc = <char *>cnp.PyArray_DATA(<cnp.ndarray>cols)
    cdef bint f32 = x.dtype == _F32
    with nogil:
        if f32:
            st = mg_im2col_f32(&g, <float *>px, <float *>pc, nt)
        else:
            st = mg_im2col_f64(&g, <double *>px, <double *>pc, nt)
    _status(op, st)
    return cols


def col2im(cols, *, input_size, kernel_size, stride, padding, dilation,
           num_threads=1):
    """The adjoint of im2col (PyTorch's fold): cols (N, C * prod(kernel), L)
    summed back into (N, C, *input_size)."""
    op = "col2im"
    cols = _array(op, "input", cols)
    if cols.ndim != 3:
        raise ShapeError(f"{op}: expected a 3-D (N, C * prod(kernel), L) array, "
                         f"got {cols.shape}")
    if not isinstance(input_size, tuple):
        raise ArgumentError(f"{op}: input_size must be a tuple, got {input_size!r}")
    cdef int nd = len(input_size)
    stride, padding, dilation, _ = _check_params(op, nd, stride, padding,
                                                 dilation, 1)
    insz = _ints(op, "input_size", input_size, nd, 0)
    ks = _ints(op, "kernel_size", kernel_size, nd, 1)
    out = output_size(insz, ks, stride, padding, dilation)
    kk = int(np.prod(ks))
    cs = cols.shape
    if min(out) < 1 or cs[1] % kk or cs[2] != int(np.prod(out)):
        raise ShapeError(f"{op}: input {cs} does not hold the patches of kernel "
                         f"{ks} over output size {insz} (stride {stride}, padding "
                         f"{padding}, dilation {dilation})")
    xs = (cs[0], cs[1] // kk, *insz)
    cdef mg_conv_geom g
    _fill(op, &g, xs, (1, xs[1], *ks), (cs[0], 1, *out), 1, stride, padding,
          dilation)
    x = np.empty(xs, cols.dtype)
    cdef int nt = _threads(op, num_threads), st
    cdef char *pc = <char *>cnp.PyArray_DATA(<cnp.ndarray>cols)
    cdef char *px = <char *>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef bint f32 = cols.dtype == _F32
    with nogil:
        if f32:
            st = mg_col2im_f32(&g, <float *>pc, <float *>px, nt)
        else:
            st = mg_col2im_f64(&g, <double *>pc, <double *>px, nt)
    _status(op, st)
    return x
