"""Cython wrappers for csrc/act: validate while holding the GIL, then call C."""

import numpy as np

from cython cimport floating

cdef extern from "mg_act.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    void mg_relu_fwd_f32(mg_index_t n, const float *x, mg_index_t inc_x,
                         float *y, mg_index_t inc_y) noexcept
    void mg_relu_fwd_f64(mg_index_t n, const double *x, mg_index_t inc_x,
                         double *y, mg_index_t inc_y) noexcept
    void mg_relu_bwd_f32(mg_index_t n, const float *x, mg_index_t inc_x,
                         const float *gy, mg_index_t inc_gy, float *gx,
                         mg_index_t inc_gx) noexcept
    void mg_relu_bwd_f64(mg_index_t n, const double *x, mg_index_t inc_x,
                         const double *gy, mg_index_t inc_gy, double *gx,
                         mg_index_t inc_gx) noexcept
    void mg_erf_f32(mg_index_t n, const float *x, mg_index_t inc_x, float *y,
                    mg_index_t inc_y) noexcept
    void mg_erf_f64(mg_index_t n, const double *x, mg_index_t inc_x,
                    double *y, mg_index_t inc_y) noexcept


cdef object _flat(str op, str name, object a):
    """Checks that `a` is a float32/float64 ndarray and returns a contiguous 1-D view."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype}")
    return np.ascontiguousarray(a).reshape(-1)


cdef object _out_like(str op, object x, object out):
    if out is None:
        return np.empty(x.shape, dtype=x.dtype)
    if not isinstance(out, np.ndarray) or out.shape != x.shape or out.dtype != x.dtype:
        raise ValueError(f"{op}: out must be an ndarray of shape {x.shape} and "
                         f"dtype {x.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{op}: out must be C-contiguous")
    return out


cdef void _relu_fwd(const floating[::1] x, floating[::1] y) noexcept nogil:
    if floating is float:
        mg_relu_fwd_f32(x.shape[0], &x[0], 1, &y[0], 1)
    else:
        mg_relu_fwd_f64(x.shape[0], &x[0], 1, &y[0], 1)


cdef void _relu_bwd(const floating[::1] x, const floating[::1] gy,
                    floating[::1] gx) noexcept nogil:
    if floating is float:
        mg_relu_bwd_f32(x.shape[0], &x[0], 1, &gy[0], 1, &gx[0], 1)
    else:
        mg_relu_bwd_f64(x.shape[0], &x[0], 1, &gy[0], 1, &gx[0], 1)


cdef void _erf(const floating[::1] x, floating[::1] y) noexcept nogil:
    if floating is float:
        mg_erf_f32(x.shape[0], &x[0], 1, &y[0], 1)
    else:
        mg_erf_f64(x.shape[0], &x[0], 1, &y[0], 1)


def relu_fwd(x, *, out=None):
    """y = max(x, 0) for a float32/float64 array of any shape."""
    xf = _flat("relu", "x", x)
    y = _out_like("relu", x, out)
    if xf.shape[0] == 0:
        return y
    yf = y.reshape(-1)
    if x.dtype == np.float32:
        _relu_fwd[float](xf, yf)
    else:
        _relu_fwd[double](xf, yf)
    return y


def relu_bwd(x, grad_out, *, out=None):
    """grad_x = grad_out * (x > 0); x and grad_out share shape and dtype."""
    xf = _flat("relu_backward", "x", x)
    gf = _flat("relu_backward", "grad_out", grad_out)
    if x.shape != grad_out.shape or x.dtype != grad_out.dtype:
        raise ValueError(f"relu_backward: x {x.shape} {x.dtype} and grad_out "
                         f"{grad_out.shape} {grad_out.dtype} must match")
    gx = _out_like("relu_backward", x, out)
    if xf.shape[0] == 0:
        return gx
    gxf = gx.reshape(-1)
    if x.dtype == np.float32:
        _relu_bwd[float](xf, gf, gxf)
    else:
        _relu_bwd[double](xf, gf, gxf)
    return gx


def erf(x, *, out=None):
    """Elementwise error function of a float32/float64 array."""
    xf = _flat("erf", "x", x)
    y = _out_like("erf", x, out)
    if xf.shape[0] == 0:
        return y
    yf = y.reshape(-1)
    if x.dtype == np.float32:
        _erf[float](xf, yf)
    else:
        _erf[double](xf, yf)
    return y
