"""Cython wrappers for csrc/act: validate while holding the GIL, then call C.

Layer: _C. Knows nothing of autograd. ``forward(op, x)`` computes y = f(x) and
``backward(op, s, grad_out)`` computes grad_out·f'(.) for the activations named
in ``OPS``; ``s`` is the forward input, or the forward output for the ops in
``BACKWARD_FROM_OUTPUT`` (see csrc/mg_act.h).
"""

import numpy as np
from minigrad.errors import ArgumentError, ShapeError

cimport numpy as cnp

cnp.import_array()

cdef extern from "mg_common.h" nogil:
    int mg_threads_max() noexcept

cdef extern from "mg_cpu.h" nogil:
    int mg_cpu_has_isa(int isa) noexcept
    int mg_cpu_best_isa() noexcept
    const char *mg_isa_name(int isa) noexcept

cdef extern from "mg_act.h" nogil:
    ctypedef Py_ssize_t mg_index_t

ctypedef int (*fwd32_t)(mg_index_t, const float *, mg_index_t, float *,
                        mg_index_t, double, double, int, int) noexcept nogil
ctypedef int (*fwd64_t)(mg_index_t, const double *, mg_index_t, double *,
                        mg_index_t, double, double, int, int) noexcept nogil
ctypedef int (*bwd32_t)(mg_index_t, const float *, mg_index_t, const float *,
                        mg_index_t, float *, mg_index_t, double, double, int,
                        int) noexcept nogil
ctypedef int (*bwd64_t)(mg_index_t, const double *, mg_index_t,
                        const double *, mg_index_t, double *, mg_index_t,
                        double, double, int, int) noexcept nogil

cdef extern from "mg_act.h" nogil:
    int mg_relu_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_relu_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_relu_bwd_f32(mg_index_t, const float *, mg_index_t, const float *,
                        mg_index_t, float *, mg_index_t, double, double, int,
                        int) noexcept
    int mg_relu_bwd_f64(mg_index_t, const double *, mg_index_t,
                        const double *, mg_index_t, double *, mg_index_t,
                        double, double, int, int) noexcept
    int mg_leaky_relu_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                              mg_index_t, double, double, int, int) noexcept
    int mg_leaky_relu_fwd_f64(mg_index_t, const double *, mg_index_t,
                              double *, mg_index_t, double, double, int,
                              int) noexcept
    int mg_leaky_relu_bwd_f32(mg_index_t, const float *, mg_index_t,
                              const float *, mg_index_t, float *, mg_index_t,
                              double, double, int, int) noexcept
    int mg_leaky_relu_bwd_f64(mg_index_t, const double *, mg_index_t,
                              const double *, mg_index_t, double *,
                              mg_index_t, double, double, int, int) noexcept
    int mg_sigmoid_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                           mg_index_t, double, double, int, int) noexcept
    int mg_sigmoid_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                           mg_index_t, double, double, int, int) noexcept
    int mg_sigmoid_bwd_f32(mg_index_t, const float *, mg_index_t,
                           const float *, mg_index_t, float *, mg_index_t,
                           double, double, int, int) noexcept
    int mg_sigmoid_bwd_f64(mg_index_t, const double *, mg_index_t,
                           const double *, mg_index_t, double *, mg_index_t,
                           double, double, int, int) noexcept
    int mg_tanh_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_tanh_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_tanh_bwd_f32(mg_index_t, const float *, mg_index_t, const float *,
                        mg_index_t, float *, mg_index_t, double, double, int,
                        int) noexcept
    int mg_tanh_bwd_f64(mg_index_t, const double *, mg_index_t,
                        const double *, mg_index_t, double *, mg_index_t,
                        double, double, int, int) noexcept
    int mg_gelu_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_gelu_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_gelu_bwd_f32(mg_index_t, const float *, mg_index_t, const float *,
                        mg_index_t, float *, mg_index_t, double, double, int,
                        int) noexcept
    int mg_gelu_bwd_f64(mg_index_t, const double *, mg_index_t,
                        const double *, mg_index_t, double *, mg_index_t,
                        double, double, int, int) noexcept
    int mg_gelu_tanh_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                             mg_index_t, double, double, int, int) noexcept
    int mg_gelu_tanh_fwd_f64(mg_index_t, const double *, mg_index_t,
                             double *, mg_index_t, double, double, int,
                             int) noexcept
    int mg_gelu_tanh_bwd_f32(mg_index_t, const float *, mg_index_t,
                             const float *, mg_index_t, float *, mg_index_t,
                             double, double, int, int) noexcept
    int mg_gelu_tanh_bwd_f64(mg_index_t, const double *, mg_index_t,
                             const double *, mg_index_t, double *,
                             mg_index_t, double, double, int, int) noexcept
    int mg_silu_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_silu_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                        mg_index_t, double, double, int, int) noexcept
    int mg_silu_bwd_f32(mg_index_t, const float *, mg_index_t, const float *,
                        mg_index_t, float *, mg_index_t, double, double, int,
                        int) noexcept
    int mg_silu_bwd_f64(mg_index_t, const double *, mg_index_t,
                        const double *, mg_index_t, double *, mg_index_t,
                        double, double, int, int) noexcept
    int mg_softplus_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                            mg_index_t, double, double, int, int) noexcept
    int mg_softplus_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                            mg_index_t, double, double, int, int) noexcept
    int mg_softplus_bwd_f32(mg_index_t, const float *, mg_index_t,
                            const float *, mg_index_t, float *, mg_index_t,
                            double, double, int, int) noexcept
    int mg_softplus_bwd_f64(mg_index_t, const double *, mg_index_t,
                            const double *, mg_index_t, double *, mg_index_t,
                            double, double, int, int) noexcept
    int mg_erf_fwd_f32(mg_index_t, const float *, mg_index_t, float *,
                       mg_index_t, double, double, int, int) noexcept
    int mg_erf_fwd_f64(mg_index_t, const double *, mg_index_t, double *,
                       mg_index_t, double, double, int, int) noexcept
    int mg_erf_bwd_f32(mg_index_t, const float *, mg_index_t, const float *,
                       mg_index_t, float *, mg_index_t, double, double, int,
                       int) noexcept
    int mg_erf_bwd_f64(mg_index_t, const double *, mg_index_t,
                       const double *, mg_index_t, double *, mg_index_t,
                       double, double, int, int) noexcept

    int mg_relu_bias_bwd_f32(mg_index_t, mg_index_t, const float *, mg_index_t,
                             const float *, mg_index_t, mg_index_t, float *,
                             mg_index_t, float *, int, int) noexcept
    int mg_relu_bias_bwd_f64(mg_index_t, mg_index_t, const double *,
                             mg_index_t, const double *, mg_index_t,
                             mg_index_t, double *, mg_index_t, double *, int,
                             int) noexcept


OPS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu",
       "softplus", "erf")
BACKWARD_FROM_OUTPUT = frozenset({"sigmoid", "tanh"})
ISAS = ("generic", "avx2", "avx512")

cdef fwd32_t FWD32[9]
cdef fwd64_t FWD64[9]
cdef bwd32_t BWD32[9]
cdef bwd64_t BWD64[9]
FWD32[:] = [mg_relu_fwd_f32, mg_leaky_relu_fwd_f32, mg_sigmoid_fwd_f32,
            mg_tanh_fwd_f32, mg_gelu_fwd_f32, mg_gelu_tanh_fwd_f32,
            mg_silu_fwd_f32, mg_softplus_fwd_f32, mg_erf_fwd_f32]
FWD64[:] = [mg_relu_fwd_f64, mg_leaky_relu_fwd_f64, mg_sigmoid_fwd_f64,
            mg_tanh_fwd_f64, mg_gelu_fwd_f64, mg_gelu_tanh_fwd_f64,
            mg_silu_fwd_f64, mg_softplus_fwd_f64, mg_erf_fwd_f64]
BWD32[:] = [mg_relu_bwd_f32, mg_leaky_relu_bwd_f32, mg_sigmoid_bwd_f32,
            mg_tanh_bwd_f32, mg_gelu_bwd_f32, mg_gelu_tanh_bwd_f32,
            mg_silu_bwd_f32, mg_softplus_bwd_f32, mg_erf_bwd_f32]
BWD64[:] = [mg_relu_bwd_f64, mg_leaky_relu_bwd_f64, mg_sigmoid_bwd_f64,
            mg_tanh_bwd_f64, mg_gelu_bwd_f64, mg_gelu_tanh_bwd_f64,
            mg_silu_bwd_f64, mg_softplus_bwd_f64, mg_erf_bwd_f64]

cdef dict _OP_INDEX = {name: i for i, name in enumerate(OPS)}
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def best_isa():
    """The instruction set MG_ISA_AUTO resolves to on this CPU."""
    return mg_isa_name(mg_cpu_best_isa()).decode()


def has_isa(str name):
    """Whether this CPU can run the kernels built for ``name``."""
    if name not in ISAS:
        raise ArgumentError(f"unknown instruction set {name!r}; expected one of {ISAS}")
    return bool(mg_cpu_has_isa(ISAS.index(name)))


def isa_code(str op, object isa):
    """The MG_ISA_* code of ``isa`` (None: -1, auto) for op ``op``; ValueError
    for an unknown name or one this CPU cannot run (used by _softmax too)."""
    return _isa_code(op, isa)


cdef int _isa_code(str op, object isa) except -2:
    """-1 (auto) for None, else the index of a supported ISA name."""
    if isa is None:
        return -1
    if isa not in ISAS:
        raise ArgumentError(f"{op}: unknown instruction set {isa!r}; expected one of "
                            f"{ISAS}")
    code = ISAS.index(isa)
    if not mg_cpu_has_isa(code):
        raise ArgumentError(f"{op}: this CPU cannot run the {isa!r} kernels")
    return code


cdef int _threads(str op, object nthreads) except -1:
    if nthreads is None:
        from minigrad.backend import get_num_threads
        return get_num_threads()
    if not isinstance(nthreads, int) or isinstance(nthreads, bool) or nthreads < 1:
        raise ArgumentError(f"{op}: nthreads must be a positive int, got {nthreads!r}")
    if nthreads > mg_threads_max():  # capped, with a warning: Note [Thread cap]
        from minigrad.backend import _cap_threads
        return _cap_threads(op, nthreads, mg_threads_max(), 2)
    return nthreads


cdef int _op_index(str where, object op) except -1:
    idx = _OP_INDEX.get(op)
    if idx is None:
        raise ArgumentError(
            f"{where}: unknown activation {op!r}; expected one of {OPS}")
    return idx


cdef object _float_array(str op, str name, object a):
    """`a` itself, or (when its bytes are swapped) a native-endian copy: the
    kernels read float32 / float64 in this CPU's byte order."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(a).__name__}")
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype}")
    if not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a):
        # ('>f4' on x86): its type number is float32's, but read as is it
        # would give garbage; numpy converts it on copy.
        a = cnp.PyArray_FROM_OTF(a, tn, cnp.NPY_ARRAY_CARRAY_RO)
    return a


cdef object _flat_in(object a):
    """A 1-D view of `a` (native-endian, see _float_array); copied unless it
    is aligned and C-contiguous, or 1-D with a whole-element stride.
    Note [Aligned operands]: C forbids even forming a float pointer that is
    not aligned for float (a view at a byte offset, e.g.
    np.frombuffer(buf, offset=1)), and the loops read such an operand as
    floats, so a misaligned operand is copied (np.ascontiguousarray would
    return it as is: it is C-contiguous). Copying costs only those rare
    operands, whereas unaligned reads in C would need another pointer type
    through every kernel (see the commit adding this note for timings)."""
    if a.flags.c_contiguous and a.flags.aligned:
        return a.reshape(-1)
    if a.ndim == 1 and a.flags.aligned and a.strides[0] % a.itemsize == 0:
        return a
    if a.flags.aligned and not any(a.strides):
        # A broadcast scalar (the gradient .sum().backward() sends down): one
        # element read n times, with no copy.
        return np.lib.stride_tricks.as_strided(a, (a.size,), (0,))
    return cnp.PyArray_FROM_OTF(a, cnp.PyArray_TYPE(<cnp.ndarray>a),
                                cnp.NPY_ARRAY_CARRAY_RO).reshape(-1)


cdef object _check_out(str op, object out, object like, tuple inputs):
    """`out` validated against `like` (shape, dtype, layout, overlap), or a new
    array."""
    if out is None:
        return np.empty(like.shape, dtype=like.dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{op}: out must be a numpy array, got {type(out).__name__}")
    if out.dtype != like.dtype:
        raise TypeError(f"{op}: out has dtype {out.dtype}, expected {like.dtype}")
    if out.shape != like.shape:
        raise ShapeError(f"{op}: out has shape {out.shape}, expected {like.shape}")
    if not out.flags.writeable:
        raise ShapeError(f"{op}: out is read-only")
    if not out.flags.aligned or not (
        out.flags.c_contiguous
        or (out.ndim == 1 and out.strides[0] % out.itemsize == 0
            and out.strides[0] != 0)
    ):
        # A zero stride (as_strided) would make every element, and every
        # thread, write one location.
        raise ArgumentError(f"{op}: out must be aligned and C-contiguous (or 1-D "
                            f"with a nonzero stride), got strides {out.strides}")
    for a in inputs:
        # In place (the very same memory and layout) is fine; any other
        # overlap would let the kernel read what it already overwrote.
        if np.shares_memory(out, a) and not (
            out.__array_interface__["data"][0] == a.__array_interface__["data"][0]
            and out.strides == a.strides
        ):
            raise ArgumentError(f"{op}: out overlaps an input without being the "
                                "same array")
    return out


cdef bint _permuted_dense(object a):
    """Whether `a` fills its memory without gaps in some order of its axes (a
    transposed or otherwise permuted contiguous array), so that ravel('K') is
    a view and np.empty_like gives an array with the same strides."""
    if not a.flags.aligned or a.flags.c_contiguous:
        return False
    expect = a.itemsize
    for stride, size in sorted(zip(a.strides, a.shape)):
        if size == 1:
            continue
        if stride != expect:
            return False
        expect *= size
    return True


cdef object _flat_like(object a, object ref):
    """A 1-D view of `a` in the memory order of `ref` (see _permuted_dense), or
    None when `a` is laid out otherwise."""
    if a.strides == ref.strides and a.flags.aligned:
        return a.ravel("K")
    if a.flags.aligned and not any(a.strides):
        return np.lib.stride_tricks.as_strided(a, (a.size,), (0,))
    return None


cdef inline mg_index_t _inc(object a):
    return a.strides[0] // a.itemsize


def forward(str op, x, *, double p0=0.0, double p1=0.0, out=None, nthreads=None,
            isa=None):
    """y = f(x) for the activation ``op`` (one of ``OPS``).

    Parameters
    ----------
    op : str
    x : ndarray, float32 or float64, any shape and layout
    p0, p1 : float
        The op's parameters (leaky_relu: p0 = slope; softplus: p0 = beta,
        p1 = threshold); ignored by the others.
    out : ndarray, optional
        Same shape and dtype as x, C-contiguous (or 1-D); may be x itself.
    nthreads : int, optional
        Defaults to ``minigrad.backend.get_num_threads()``.
    isa : {'generic', 'avx2', 'avx512'}, optional
        Forces one instruction set (tests); default the best available.
    """
    cdef int k = _op_index("activation forward", op)
    x_in = x
    x = _float_array(op, "x", x)
    if out is None and _permuted_dense(x):
        # A transposed operand runs in its own memory order (no copy) and
        # gives an output laid out like it, as PyTorch does.
        y = np.empty_like(x)
        xf, yf = x.ravel("K"), y.ravel("K")
    else:
        y = _check_out(op, out, x, (x_in,))
        xf = _flat_in(x)
        yf = y.reshape(-1) if y.flags.c_contiguous else y
    cdef int nt = _threads(op, nthreads)
    cdef int code = _isa_code(op, isa)
    if x.size == 0:
        return y
    cdef mg_index_t n = xf.shape[0]
    cdef mg_index_t ix = _inc(xf), iy = _inc(yf)
    cdef void *px = cnp.PyArray_DATA(xf)
    cdef void *py = cnp.PyArray_DATA(yf)
    cdef int rc
    if x.dtype == _F32:
        with nogil:
            rc = FWD32[k](n, <const float *>px, ix, <float *>py, iy, p0, p1, nt,
                          code)
    else:
        with nogil:
            rc = FWD64[k](n, <const double *>px, ix, <double *>py, iy, p0, p1,
                          nt, code)
    if rc != 0:
        raise RuntimeError(f"{op}: kernel refused instruction set code {code}")
    return y


def backward(str op, s, grad_out, *, double p0=0.0, double p1=0.0, out=None,
             nthreads=None, isa=None):
    """grad_x = grad_out·f'(.) for the activation ``op``.

    ``s`` is the forward input x, or the forward output y for the ops in
    ``BACKWARD_FROM_OUTPUT``; it and grad_out share shape and dtype. Other
    parameters as in :func:`forward`; ``out`` may be grad_out itself.
    """
    cdef int k = _op_index("activation backward", op)
    where = op + "_backward"
    s_in, g_in = s, grad_out
    s = _float_array(where, "s", s)
    grad_out = _float_array(where, "grad_out", grad_out)
    if s.dtype != grad_out.dtype:
        raise TypeError(f"{where}: s is {s.dtype} but grad_out is {grad_out.dtype}")
    if s.shape != grad_out.shape:
        raise ShapeError(f"{where}: s has shape {s.shape} but grad_out has shape "
                         f"{grad_out.shape}")
    gf = None
    if out is None and _permuted_dense(s):
        gf = _flat_like(grad_out, s)
    if gf is not None:  # s transposed: run in its memory order, as forward
        gx = np.empty_like(s)
        sf, gxf = s.ravel("K"), gx.ravel("K")
    else:
        gx = _check_out(where, out, s, (s_in, g_in))
        sf = _flat_in(s)
        gf = _flat_in(grad_out)
        gxf = gx.reshape(-1) if gx.flags.c_contiguous else gx
    cdef int nt = _threads(where, nthreads)
    cdef int code = _isa_code(where, isa)
    if s.size == 0:
        return gx
    cdef mg_index_t n = sf.shape[0]
    cdef mg_index_t i_s = _inc(sf), i_g = _inc(gf), i_x = _inc(gxf)
    cdef void *ps = cnp.PyArray_DATA(sf)
    cdef void *pg = cnp.PyArray_DATA(gf)
    cdef void *px = cnp.PyArray_DATA(gxf)
    cdef int rc
    if s.dtype == _F32:
        with nogil:
            rc = BWD32[k](n, <const float *>ps, i_s, <const float *>pg, i_g,
                          <float *>px, i_x, p0, p1, nt, code)
    else:
        with nogil:
            rc = BWD64[k](n, <const double *>ps, i_s, <const double *>pg, i_g,
                          <double *>px, i_x, p0, p1, nt, code)
    if rc != 0:
        raise RuntimeError(f"{where}: kernel refused instruction set code {code}")
    return gx


cdef inline bint _unit_elems(cnp.ndarray a):
    """Whether the 2-D array `a` is aligned and each of its strides a whole
    number of elements (the kernel takes strides in elements)."""
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp *st = cnp.PyArray_STRIDES(a)
    return cnp.PyArray_ISALIGNED(a) and st[0] % isz == 0 and st[1] % isz == 0


def relu_bias_backward(y, g, *, bint bias=True, nthreads=None, isa=None):
    """(gz, db): gz = g where not y <= 0, else 0, and db = gz summed over
    rows (None without ``bias``), in one pass (csrc/act/relu_bias.c).

    Parameters
    ----------
    y : ndarray (rows, cols), float32 or float64
        The relu's output (Linear's, with activation="relu"); relu'(NaN) = 1.
    g : ndarray, same shape and dtype as y
        The upstream gradient, any strides (broadcast, transposed, ...).
    bias : bool
        Whether to compute db (summed down the rows in order: the same bits
        as numpy's ``gz.sum(0)``, for any thread count and ISA).
    nthreads, isa
        As in :func:`forward`.

    Returns
    -------
    gz : ndarray (rows, cols), C-contiguous
    db : ndarray (cols,) or None

    Note [Wrapper cost]: these arrays are small (a 64x128 layer's pass is
    well under a microsecond), so the checks use numpy's C API rather than
    Python attributes (``.flags``, ``.strides``, ``.dtype``), which cost
    more than the pass itself.
    """
    where = "relu_bias_backward"
    cdef cnp.ndarray ya = _float_array(where, "y", y)
    cdef cnp.ndarray ga = _float_array(where, "g", g)
    cdef int tn = cnp.PyArray_TYPE(ya)
    if cnp.PyArray_TYPE(ga) != tn:
        raise TypeError(f"{where}: y is {(<object>ya).dtype} but g is "
                        f"{(<object>ga).dtype}")
    if (cnp.PyArray_NDIM(ya) != 2 or cnp.PyArray_NDIM(ga) != 2
            or cnp.PyArray_DIM(ya, 0) != cnp.PyArray_DIM(ga, 0)
            or cnp.PyArray_DIM(ya, 1) != cnp.PyArray_DIM(ga, 1)):
        raise ShapeError(f"{where}: y must be 2-D and g of its shape, got y "
                         f"{(<object>ya).shape} and g {(<object>ga).shape}")
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(ya)
    cdef mg_index_t rows = cnp.PyArray_DIM(ya, 0), cols = cnp.PyArray_DIM(ya, 1)
    # Copies are aligned C-contiguous arrays (np.ascontiguousarray would keep
    # a misaligned C-contiguous one as it is: Note [Aligned operands]).
    if not (_unit_elems(ya) and (cnp.PyArray_STRIDE(ya, 1) == isz or cols <= 1)):
        ya = cnp.PyArray_FROM_OTF(ya, tn, cnp.NPY_ARRAY_CARRAY_RO)
    cdef Py_ssize_t gcs = cnp.PyArray_STRIDE(ga, 1)
    if not (_unit_elems(ga) and (gcs == isz or gcs == 0 or cols <= 1)):
        # a transposed (or column-strided) g: copied, see csrc/act/relu_bias.c
        ga = cnp.PyArray_FROM_OTF(ga, tn, cnp.NPY_ARRAY_CARRAY_RO)
    cdef int nt = _threads(where, nthreads)
    cdef int code = _isa_code(where, isa)
    cdef cnp.npy_intp dims[2]
    dims[0] = rows
    dims[1] = cols
    cdef cnp.ndarray gz = cnp.PyArray_EMPTY(2, dims, tn, 0)
    cdef cnp.ndarray db = None
    cdef void *pb = NULL
    if bias:
        db = cnp.PyArray_EMPTY(1, &dims[1], tn, 0)
        pb = cnp.PyArray_DATA(db)
    cdef mg_index_t ldy = cnp.PyArray_STRIDE(ya, 0) // isz
    cdef mg_index_t g_rs = cnp.PyArray_STRIDE(ga, 0) // isz
    cdef mg_index_t g_cs = 1 if cnp.PyArray_STRIDE(ga, 1) else 0
    cdef void *py = cnp.PyArray_DATA(ya)
    cdef void *pg = cnp.PyArray_DATA(ga)
    cdef void *pz = cnp.PyArray_DATA(gz)
    cdef int rc
    if tn == cnp.NPY_FLOAT32:
        with nogil:
            rc = mg_relu_bias_bwd_f32(rows, cols, <const float *>py, ldy,
                                      <const float *>pg, g_rs, g_cs,
                                      <float *>pz, cols, <float *>pb, nt, code)
    else:
        with nogil:
            rc = mg_relu_bias_bwd_f64(rows, cols, <const double *>py, ldy,
                                      <const double *>pg, g_rs, g_cs,
                                      <double *>pz, cols, <double *>pb, nt,
                                      code)
    if rc != 0:
        raise RuntimeError(f"{where}: kernel refused instruction set code {code}")
    return gz, db
