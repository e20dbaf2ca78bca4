"""Cython wrappers for csrc/softmax: softmax / log_softmax over an axis, fused
softmax-cross-entropy and binary cross-entropy with logits.

Layer: _C. Knows nothing of autograd. Every function validates its operands
while holding the GIL (TypeError for a type or dtype, ValueError for a shape or
value), returns early on empty input, and only then releases the GIL.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

cnp.import_array()

cdef extern from "mg_softmax.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int mg_softmax_fwd_f32(mg_index_t, mg_index_t, mg_index_t, const float *,
                           float *, int, int) noexcept
    int mg_softmax_fwd_f64(mg_index_t, mg_index_t, mg_index_t, const double *,
                           double *, int, int) noexcept
    int mg_softmax_bwd_f32(mg_index_t, mg_index_t, mg_index_t, const float *,
                           const float *, float *, int, int) noexcept
    int mg_softmax_bwd_f64(mg_index_t, mg_index_t, mg_index_t, const double *,
                           const double *, double *, int, int) noexcept
    int mg_xent_fwd_f32(mg_index_t, mg_index_t, const float *, const int64_t *,
                        const float *, int64_t, double, float *, float *,
                        int) noexcept
    int mg_xent_fwd_f64(mg_index_t, mg_index_t, const double *,
                        const int64_t *, const double *, int64_t, double,
                        double *, double *, int) noexcept
    int mg_xent_bwd_f32(mg_index_t, mg_index_t, const float *, const float *,
                        const int64_t *, const float *, int64_t, double,
                        const float *, mg_index_t, float *, int) noexcept
    int mg_xent_bwd_f64(mg_index_t, mg_index_t, const double *, const double *,
                        const int64_t *, const double *, int64_t, double,
                        const double *, mg_index_t, double *, int) noexcept
    int mg_bce_logits_fwd_f32(mg_index_t, const float *, const float *,
                              const float *, const float *, float *,
                              int) noexcept
    int mg_bce_logits_fwd_f64(mg_index_t, const double *, const double *,
                              const double *, const double *, double *,
                              int) noexcept
    int mg_bce_logits_bwd_f32(mg_index_t, const float *, const float *,
                              const float *, const float *, const float *,
                              mg_index_t, float *, float *, int) noexcept
    int mg_bce_logits_bwd_f64(mg_index_t, const double *, const double *,
                              const double *, const double *, const double *,
                              mg_index_t, double *, double *, int) noexcept

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)


cdef int _threads(str op, object nthreads) except -1:
    if nthreads is None:
        from minigrad.backend import get_num_threads
        return get_num_threads()
    if not isinstance(nthreads, int) or isinstance(nthreads, bool) or nthreads < 1:
        raise ValueError(f"{op}: nthreads must be a positive int, got {nthreads!r}")
    return nthreads


cdef object _floats(str op, str name, object a, object dtype=None):
    """`a` as an aligned C-contiguous float array (copied only if needed),
    checked to be float32/float64 and, when given, of `dtype`."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype != _F32 and a.dtype != _F64:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{op}: {name} has dtype {a.dtype}, expected {dtype}")
    if not (a.flags.c_contiguous and a.flags.aligned):
        a = np.ascontiguousarray(a)
    return a


cdef object _shape(str op, str name, object a, tuple shape):
    if a.shape != shape:
        raise ValueError(f"{op}: {name} has shape {a.shape}, expected {shape}")
    return a


cdef object _out(str op, object out, tuple shape, object dtype, tuple inputs,
                 bint inplace_ok):
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{op}: out must be a numpy array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{op}: out has dtype {out.dtype}, expected {dtype}")
    if out.shape != shape:
        raise ValueError(f"{op}: out has shape {out.shape}, expected {shape}")
    if not (out.flags.c_contiguous and out.flags.aligned and out.flags.writeable):
        raise ValueError(f"{op}: out must be a writeable, aligned, C-contiguous "
                         "array")
    for a in inputs:
        if a is None or not np.shares_memory(out, a):
            continue
        same = (a.shape == out.shape and a.strides == out.strides
                and a.__array_interface__["data"][0]
                == out.__array_interface__["data"][0])
        if not (inplace_ok and same):
            raise ValueError(f"{op}: out overlaps an input")
    return out


cdef object _targets(str op, object target, mg_index_t n):
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{op}: target must be a numpy array, got "
                        f"{type(target).__name__}")
    if target.dtype != _I64:
        raise TypeError(f"{op}: target must be int64, got {target.dtype}")
    if target.shape != (n,):
        raise ValueError(f"{op}: target has shape {target.shape}, expected ({n},)")
    return np.ascontiguousarray(target)


cdef tuple _axis_view(str op, object x, object dim):
    """(outer, size, inner) of x around axis `dim`."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    nd = x.ndim
    if nd == 0:
        raise ValueError(f"{op}: input must have at least 1 dim, got shape ()")
    if not -nd <= dim < nd:
        raise ValueError(f"{op}: dim {dim} is out of range for shape {x.shape}")
    d = int(dim) % nd
    shape = x.shape
    outer = 1
    for s in shape[:d]:
        outer *= s
    inner = 1
    for s in shape[d + 1:]:
        inner *= s
    return outer, shape[d], inner


def softmax_fwd(x, dim, *, bint log=False, out=None, nthreads=None):
    """softmax (or log_softmax with log=True) of x over axis ``dim``.

    x : ndarray, float32 or float64, any shape (copied if not C-contiguous)
    out : optional C-contiguous array of x's shape and dtype (may be x).
    """
    op = "log_softmax" if log else "softmax"
    x = _floats(op, "x", x)
    cdef mg_index_t outer, size, inner
    outer, size, inner = _axis_view(op, x, dim)
    y = _out(op, out, x.shape, x.dtype, (x,), True)
    cdef int nt = _threads(op, nthreads)
    if x.size == 0:
        return y
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    if x.dtype == _F32:
        with nogil:
            mg_softmax_fwd_f32(outer, size, inner, <const float *>px,
                               <float *>py, log, nt)
    else:
        with nogil:
            mg_softmax_fwd_f64(outer, size, inner, <const double *>px,
                               <double *>py, log, nt)
    return y


def softmax_bwd(y, grad_out, dim, *, bint log=False, out=None, nthreads=None):
    """Gradient of softmax (log_softmax with log=True) from its output ``y``
    and the upstream gradient (same shape and dtype as y)."""
    op = "log_softmax_backward" if log else "softmax_backward"
    y = _floats(op, "y", y)
    g = _floats(op, "grad_out", grad_out, y.dtype)
    _shape(op, "grad_out", g, y.shape)
    cdef mg_index_t outer, size, inner
    outer, size, inner = _axis_view(op, y, dim)
    gx = _out(op, out, y.shape, y.dtype, (y, g), False)
    if out is not None and np.shares_memory(gx, grad_out):
        raise ValueError(f"{op}: out overlaps an input")
    cdef int nt = _threads(op, nthreads)
    if y.size == 0:
        return gx
    cdef void *py = cnp.PyArray_DATA(y)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef void *px = cnp.PyArray_DATA(gx)
    if y.dtype == _F32:
        with nogil:
            mg_softmax_bwd_f32(outer, size, inner, <const float *>py,
                               <const float *>pg, <float *>px, log, nt)
    else:
        with nogil:
            mg_softmax_bwd_f64(outer, size, inner, <const double *>py,
                               <const double *>pg, <double *>px, log, nt)
    return gx


cdef object _class_weight(str op, object weight, mg_index_t c, object dtype):
    if weight is None:
        return None
    w = _floats(op, "weight", weight, dtype)
    return _shape(op, "weight", w, (c,))


def xent_fwd(x, target, weight=None, *, long ignore_index=-100,
             double label_smoothing=0.0, nthreads=None):
    """Per-row softmax cross-entropy of logits x (n, c) and int64 targets (n,).

    Returns (loss, lse), both (n,): the loss of each row (0 where target is
    ignore_index) and its log-sum-exp, which :func:`xent_bwd` needs.
    """
    op = "cross_entropy"
    x = _floats(op, "input", x)
    if x.ndim != 2:
        raise ValueError(f"{op}: input must be 2-D (n, c), got shape {x.shape}")
    cdef mg_index_t n = x.shape[0], c = x.shape[1]
    t = _targets(op, target, n)
    w = _class_weight(op, weight, c, x.dtype)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    cdef int nt = _threads(op, nthreads)
    loss = np.empty((n,), dtype=x.dtype)
    lse = np.empty((n,), dtype=x.dtype)
    if n == 0:
        return loss, lse
    if c == 0:
        raise ValueError(f"{op}: input has no classes (shape {x.shape})")
    cdef void *px = cnp.PyArray_DATA(x)
    cdef const int64_t *pt = <const int64_t *>cnp.PyArray_DATA(t)
    cdef void *pw = NULL if w is None else cnp.PyArray_DATA(w)
    cdef void *pl = cnp.PyArray_DATA(loss)
    cdef void *ps = cnp.PyArray_DATA(lse)
    cdef int rc
    cdef int64_t ig = ignore_index
    if x.dtype == _F32:
        with nogil:
            rc = mg_xent_fwd_f32(n, c, <const float *>px, pt, <const float *>pw,
                                 ig, label_smoothing, <float *>pl, <float *>ps,
                                 nt)
    else:
        with nogil:
            rc = mg_xent_fwd_f64(n, c, <const double *>px, pt,
                                 <const double *>pw, ig, label_smoothing,
                                 <double *>pl, <double *>ps, nt)
    if rc != 0:
        raise ValueError(f"{op}: a target is out of range [0, {c}) and not "
                         f"ignore_index ({ignore_index})")
    return loss, lse


def xent_bwd(x, lse, target, scale, weight=None, *, long ignore_index=-100,
             double label_smoothing=0.0, out=None, nthreads=None):
    """Gradient of Σ_i scale[i]·loss[i] w.r.t. x (n, c): scale·(softmax -
    onehot) with weights and label smoothing folded in.

    scale : array of x's dtype, shape () (one value for every row) or (n,).
    """
    op = "cross_entropy_backward"
    x = _floats(op, "input", x)
    if x.ndim != 2:
        raise ValueError(f"{op}: input must be 2-D (n, c), got shape {x.shape}")
    cdef mg_index_t n = x.shape[0], c = x.shape[1]
    s = _floats(op, "lse", lse, x.dtype)
    _shape(op, "lse", s, (n,))
    t = _targets(op, target, n)
    sc = _floats(op, "scale", scale, x.dtype)
    if sc.shape != () and sc.shape != (n,):
        raise ValueError(f"{op}: scale has shape {sc.shape}, expected () or ({n},)")
    cdef mg_index_t inc_sc = 0 if sc.shape == () else 1
    w = _class_weight(op, weight, c, x.dtype)
    gx = _out(op, out, x.shape, x.dtype, (x, s, sc, w), False)
    cdef int nt = _threads(op, nthreads)
    if x.size == 0:
        return gx
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *ps = cnp.PyArray_DATA(s)
    cdef const int64_t *pt = <const int64_t *>cnp.PyArray_DATA(t)
    cdef void *pw = NULL if w is None else cnp.PyArray_DATA(w)
    cdef void *pc = cnp.PyArray_DATA(sc)
    cdef void *pg = cnp.PyArray_DATA(gx)
    cdef int rc
    cdef int64_t ig = ignore_index
    if x.dtype == _F32:
        with nogil:
            rc = mg_xent_bwd_f32(n, c, <const float *>px, <const float *>ps, pt,
                                 <const float *>pw, ig, label_smoothing,
                                 <const float *>pc, inc_sc, <float *>pg, nt)
    else:
        with nogil:
            rc = mg_xent_bwd_f64(n, c, <const double *>px, <const double *>ps,
                                 pt, <const double *>pw, ig, label_smoothing,
                                 <const double *>pc, inc_sc, <double *>pg, nt)
    if rc != 0:
        raise ValueError(f"{op}: a target is out of range [0, {c}) and not "
                         f"ignore_index ({ignore_index})")
    return gx


cdef object _same(str op, str name, object a, object x):
    if a is None:
        return None
    a = _floats(op, name, a, x.dtype)
    return _shape(op, name, a, x.shape)


def bce_logits_fwd(x, target, weight=None, pos_weight=None, *, nthreads=None):
    """Elementwise BCE with logits; weight and pos_weight, when given, have
    x's shape (broadcast them first)."""
    op = "binary_cross_entropy_with_logits"
    x = _floats(op, "input", x)
    t = _same(op, "target", target, x)
    if t is None:
        raise TypeError(f"{op}: target must be a numpy array, got None")
    w = _same(op, "weight", weight, x)
    pw = _same(op, "pos_weight", pos_weight, x)
    cdef int nt = _threads(op, nthreads)
    loss = np.empty(x.shape, dtype=x.dtype)
    if x.size == 0:
        return loss
    cdef mg_index_t n = x.size
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pt = cnp.PyArray_DATA(t)
    cdef void *pwp = NULL if w is None else cnp.PyArray_DATA(w)
    cdef void *ppw = NULL if pw is None else cnp.PyArray_DATA(pw)
    cdef void *pl = cnp.PyArray_DATA(loss)
    if x.dtype == _F32:
        with nogil:
            mg_bce_logits_fwd_f32(n, <const float *>px, <const float *>pt,
                                  <const float *>pwp, <const float *>ppw,
                                  <float *>pl, nt)
    else:
        with nogil:
            mg_bce_logits_fwd_f64(n, <const double *>px, <const double *>pt,
                                  <const double *>pwp, <const double *>ppw,
                                  <double *>pl, nt)
    return loss


def bce_logits_bwd(x, target, grad_out, weight=None, pos_weight=None, *,
                   bint target_grad=False, nthreads=None):
    """Gradients of BCE with logits: (grad_input, grad_target or None).

    grad_out has x's shape, or shape () for one value for every element.
    """
    op = "binary_cross_entropy_with_logits_backward"
    x = _floats(op, "input", x)
    t = _same(op, "target", target, x)
    if t is None:
        raise TypeError(f"{op}: target must be a numpy array, got None")
    g = _floats(op, "grad_out", grad_out, x.dtype)
    if g.shape != () and g.shape != x.shape:
        raise ValueError(f"{op}: grad_out has shape {g.shape}, expected () or "
                         f"{x.shape}")
    cdef mg_index_t inc_g = 0 if g.shape == () else 1
    w = _same(op, "weight", weight, x)
    pw = _same(op, "pos_weight", pos_weight, x)
    cdef int nt = _threads(op, nthreads)
    gx = np.empty(x.shape, dtype=x.dtype)
    gt = np.empty(x.shape, dtype=x.dtype) if target_grad else None
    if x.size == 0:
        return gx, gt
    cdef mg_index_t n = x.size
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pt = cnp.PyArray_DATA(t)
    cdef void *pwp = NULL if w is None else cnp.PyArray_DATA(w)
    cdef void *ppw = NULL if pw is None else cnp.PyArray_DATA(pw)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef void *pgx = cnp.PyArray_DATA(gx)
    cdef void *pgt = NULL if gt is None else cnp.PyArray_DATA(gt)
    if x.dtype == _F32:
        with nogil:
            mg_bce_logits_bwd_f32(n, <const float *>px, <const float *>pt,
                                  <const float *>pwp, <const float *>ppw,
                                  <const float *>pg, inc_g, <float *>pgx,
                                  <float *>pgt, nt)
    else:
        with nogil:
            mg_bce_logits_bwd_f64(n, <const double *>px, <const double *>pt,
                                  <const double *>pwp, <const double *>ppw,
                                  <const double *>pg, inc_g, <double *>pgx,
                                  <double *>pgt, nt)
    return gx, gt
