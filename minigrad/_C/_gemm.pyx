"""Cython wrappers for csrc/gemm: validate while holding the GIL, then call C.

Layer: _C. Knows numpy and the C kernels, nothing of autograd. Every check that
protects the C code (dtype, shape, strides, alignment, overlap) happens here
before the GIL is released, so no input can crash the interpreter.
"""

import sys
from numbers import Real

import numpy as np
from minigrad.errors import ArgumentError, ShapeError

cimport numpy as cnp

cnp.import_array()

cdef extern from "mg_common.h" nogil:
    int mg_threads_max() noexcept

cdef extern from "mg_cpu.h" nogil:
    int MG_ISA_AUTO
    int MG_ISA_GENERIC
    int MG_ISA_AVX2
    int MG_ISA_AVX512
    int MG_ISA_COUNT
    int mg_cpu_has_isa(int isa) noexcept
    int mg_cpu_best_isa() noexcept
    const char *mg_isa_name(int isa) noexcept
    const char *mg_compiler_version() noexcept
    int mg_openmp_version() noexcept

cdef extern from "mg_gemm.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int MG_ACT_NONE
    int MG_ACT_RELU
    int MG_ACT_SIGMOID
    int MG_ACT_TANH
    int MG_GEMM_AUTO
    int MG_GEMM_PACKED
    int MG_GEMM_DIRECT
    int MG_GEMM_REF
    int MG_GEMM_OK
    int MG_GEMM_ENOMEM
    int MG_GEMM_EISA
    int MG_GEMM_EARG
    int MG_GEMM_ESIZE
    Py_ssize_t MG_GEMM_MAX_DIM
    ctypedef struct mg_gemm_opts:
        int isa
        int num_threads
        int path
        mg_index_t mc
        mg_index_t kc
        mg_index_t nc
    int mg_gemm_f32(mg_index_t m, mg_index_t n, mg_index_t k, float alpha,
                    const float *a, mg_index_t rs_a, mg_index_t cs_a,
                    const float *b, mg_index_t rs_b, mg_index_t cs_b,
                    float beta, float *c, mg_index_t rs_c, mg_index_t cs_c,
                    const float *bias, mg_index_t inc_bias, int act,
                    const mg_gemm_opts *opts) noexcept
    int mg_gemm_f64(mg_index_t m, mg_index_t n, mg_index_t k, double alpha,
                    const double *a, mg_index_t rs_a, mg_index_t cs_a,
                    const double *b, mg_index_t rs_b, mg_index_t cs_b,
                    double beta, double *c, mg_index_t rs_c, mg_index_t cs_c,
                    const double *bias, mg_index_t inc_bias, int act,
                    const mg_gemm_opts *opts) noexcept
    int mg_gemm_blocking(int isa, int dtype_bytes, mg_index_t out[5]) noexcept
    int mg_gemm_team_awake() noexcept

__all__ = [
    "ISAS",
    "available_isas",
    "best_isa",
    "blocking",
    "compiler",
    "gemm",
    "has_isa",
    "openmp_version",
    "team_awake",
]

ISAS = ("generic", "avx2", "avx512")
_ACTS = {None: 0, "relu": 1, "sigmoid": 2, "tanh": 3}
_PATHS = {"auto": 0, "packed": 1, "direct": 2, "ref": 3}


def team_awake():
    """Workers of the GEMM's thread team awake now (spinning after a call or
    working): runnable tasks of this process that minigrad.backend's load
    check must not take for a neighbour's (Note [Sharing cores])."""
    return mg_gemm_team_awake()


def has_isa(name):
    """Whether this CPU (and OS) can run the micro-kernel `name`."""
    return bool(mg_cpu_has_isa(_isa_code(name)))


def available_isas():
    """The micro-kernels this CPU can run, least to most capable."""
    return tuple(n for i, n in enumerate(ISAS) if mg_cpu_has_isa(i))


def best_isa():
    """The micro-kernel chosen when none is asked for."""
    return ISAS[mg_cpu_best_isa()]


def compiler():
    """The C compiler that built the kernels, e.g. 'gcc 12.2.0'."""
    return mg_compiler_version().decode()


def openmp_version():
    """The OpenMP version date the kernels were built with (0: none)."""
    return mg_openmp_version()


def blocking(isa, dtype):
    """(MR, NR, MC, KC, NC) of micro-kernel `isa` for float32/float64."""
    cdef mg_index_t out[5]
    dt = np.dtype(dtype)
    if dt != np.float32 and dt != np.float64:
        raise TypeError(f"blocking: dtype must be float32 or float64, got {dt}")
    cdef int code = _isa_code(isa)
    if code == MG_ISA_AUTO:
        code = mg_cpu_best_isa()
    if not mg_gemm_blocking(code, dt.itemsize, out):
        raise RuntimeError(f"blocking: the {isa} kernel was not compiled in")
    return tuple(out[i] for i in range(5))


cdef int _isa_code(object name) except -2:
    if name is None:
        return MG_ISA_AUTO
    if not isinstance(name, str) or name not in ISAS:
        raise ArgumentError(f"unknown ISA {name!r}: expected one of {ISAS}")
    return ISAS.index(name)


cdef int _checked_isa(str op, object name) except -2:
    cdef int code = _isa_code(name)
    if code != MG_ISA_AUTO and not mg_cpu_has_isa(code):
        raise RuntimeError(
            f"{op}: this CPU does not support the {name} kernel "
            f"(available: {', '.join(available_isas())})"
        )
    return code


cdef object _usable(object x):
    """`x` itself when C can read it in place, else an aligned copy.

    C needs element-aligned data and strides that are whole elements; numpy's
    `aligned` flag checks both."""
    if x.flags.aligned:
        return x
    return np.array(x, order="C")


cdef object _native(object x):
    """`x` itself if its dtype is in native byte order, else a native copy:
    C reads raw memory, so a '>f4' array read in place would be garbage."""
    dt = x.dtype
    if dt.isnative:
        return x
    return x.astype(dt.newbyteorder("="))


cdef bint _one_to_one(object x):
    """True if no two elements of `x` share memory (a sufficient test: the
    dims, sorted by stride, nest without overlap)."""
    dims = sorted((abs(s), n) for s, n in zip(x.strides, x.shape) if n > 1)
    cdef Py_ssize_t span = x.itemsize
    for stride, n in dims:
        if stride < span:
            return False
        span = stride * n
    return True


cdef void _overlap_check(str op, object out, object x, str name) except *:
    if x is not None and np.may_share_memory(out, x) and np.shares_memory(out, x):
        raise ArgumentError(f"{op}: out overlaps {name}; pass a separate array")


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


cdef inline bint _is_f32(object dt):
    # Builtin dtypes are singletons, so `is` is the fast test; `==` also
    # accepts an equal dtype object (never a byte-swapped one).
    return dt is _F32 or dt == _F32


cdef inline bint _is_f64(object dt):
    return dt is _F64 or dt == _F64


cdef inline bint _is_real(object x):
    return type(x) is float or type(x) is int or isinstance(x, Real)


def gemm(a, b, *, out=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False,
         bias=None, activation=None, isa=None, num_threads=1, path="auto",
         blocks=None):
    """out = act(alpha * op(a) @ op(b) + beta * out + bias), op(x) = x or xᵀ.

    Parameters
    ----------
    a, b : ndarray, both float32 or both float64
        2-D, shapes (m, k) and (k, n) after `trans_a` / `trans_b`; or 3-D
        (batch, m, k) and (batch, k, n), a batch of 1 broadcasting as in
        numpy (against a batch of 0 too: the result is empty). Any strides
        (transposed views, slices, negative and zero strides are read in
        place, without a copy); misaligned or byte-swapped ('>f4' on x86)
        arrays are read through a native, aligned copy.
    out : ndarray, optional
        Shape (m, n) or (batch, m, n), same dtype (either byte order), not
        overlapping a, b or bias. Read only when beta != 0. A new array when
        omitted. Written through a copy when misaligned, byte-swapped or
        not one-to-one.
    alpha, beta : float
    trans_a, trans_b : bool
        Use the transpose of the last two dims.
    bias : ndarray, shape (n,), optional
        Added to every row.
    activation : {None, "relu", "sigmoid", "tanh"}
        Applied last, in the same pass over the output.
    isa : {None, "generic", "avx2", "avx512"}
        The micro-kernel; None picks the best this CPU supports.
    num_threads : int
        Upper bound on threads; small products use one. Capped, with a
        RuntimeWarning, at 4 x os.cpu_count() (backend.py, Note [Thread
        cap]).
    path : {"auto", "packed", "direct", "ref"}
        Force an algorithm (tests); "ref" is the naive C oracle.
    blocks : (mc, kc, nc), optional
        Cache-block sizes overriding the defaults (tests): positive ints;
        one larger than the matrix, however large, means one block.

    Returns
    -------
    out : ndarray, shape (m, n) or (batch, m, n)

    Raises
    ------
    TypeError
        Operands not numpy arrays, or dtypes not both float32 / float64.
    ValueError
        Shapes that do not agree, a bad `out`, option value or overlap;
        sizes whose products C could not hold (minigrad's ArgumentError).
    RuntimeError
        `isa` names a kernel this CPU cannot run.
    """
    if blocks is None:
        res = _gemm_fast(a, b, out, alpha, beta, trans_a, trans_b, bias,
                         activation, isa, num_threads, path)
        if res is not None:
            return res
    op = "gemm"
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: a must be a numpy array, got {type(a).__name__}")
    if not isinstance(b, np.ndarray):
        raise TypeError(f"{op}: b must be a numpy array, got {type(b).__name__}")
    dt = a.dtype
    cdef bint f32 = _is_f32(dt)
    if not ((f32 and _is_f32(b.dtype)) or (_is_f64(dt) and _is_f64(b.dtype))):
        # A byte-swapped operand ('>f4' here) is never read as native: it
        # is converted first (the slow path; never taken for native data).
        a_dt, b_dt = dt, b.dtype
        a, b = _native(a), _native(b)
        dt = a.dtype
        f32 = _is_f32(dt)
        if not ((f32 and _is_f32(b.dtype))
                or (_is_f64(dt) and _is_f64(b.dtype))):
            raise TypeError(f"{op}: a and b must both be float32 or both "
                            f"float64, got {a_dt} and {b_dt}")
    cdef int ndim = a.ndim
    if b.ndim != ndim or (ndim != 2 and ndim != 3):
        raise ShapeError(f"{op}: expected two 2-D or two 3-D arrays, got shapes "
                         f"{a.shape} and {b.shape}")
    if not _is_real(alpha):
        raise TypeError(f"{op}: alpha must be a real number, got "
                        f"{type(alpha).__name__}")
    if not _is_real(beta):
        raise TypeError(f"{op}: beta must be a real number, got "
                        f"{type(beta).__name__}")
    try:
        f_alpha, f_beta = float(alpha), float(beta)
    except (OverflowError, ValueError, TypeError):
        raise ArgumentError(f"{op}: alpha and beta must be representable as "
                            f"floats, got {alpha!r} and {beta!r}") from None
    act = _ACTS.get(activation, -1) if (activation is None
                                        or isinstance(activation, str)) else -1
    if act < 0:
        raise ArgumentError(f"{op}: activation must be one of {tuple(_ACTS)}, got "
                            f"{activation!r}")
    path_code = _PATHS.get(path, -1) if isinstance(path, str) else -1
    if path_code < 0:
        raise ArgumentError(f"{op}: path must be one of {tuple(_PATHS)}, got "
                            f"{path!r}")
    if (type(num_threads) is not int and (not isinstance(num_threads, int)
                                          or isinstance(num_threads, bool))
            or num_threads < 1):
        raise ArgumentError(f"{op}: num_threads must be a positive int, got "
                            f"{num_threads!r}")
    if num_threads > mg_threads_max():
        # See Note [Thread cap] in minigrad/backend.py.
        from minigrad.backend import _cap_threads
        num_threads = _cap_threads(op, num_threads, mg_threads_max(), 2)
    cdef mg_gemm_opts opts
    opts.isa = _checked_isa(op, isa)
    opts.num_threads = num_threads
    opts.path = path_code
    opts.mc = opts.kc = opts.nc = 0
    if blocks is not None:
        if (not isinstance(blocks, tuple) or len(blocks) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool)
                           and v > 0 for v in blocks)):
            raise ArgumentError(f"{op}: blocks must be three positive ints "
                                f"(mc, kc, nc), got {blocks!r}")
        # A block at least as large as the matrix is one block, whatever
        # its size: clamped, so that no value reaches C past its limit.
        opts.mc, opts.kc, opts.nc = [min(v, MG_GEMM_MAX_DIM) for v in blocks]

    opa = a.swapaxes(ndim - 1, ndim - 2) if trans_a else a
    opb = b.swapaxes(ndim - 1, ndim - 2) if trans_b else b
    sa, sb = opa.shape, opb.shape
    m, k = sa[ndim - 2], sa[ndim - 1]
    n = sb[ndim - 1]
    if sb[ndim - 2] != k:
        raise ShapeError(f"{op}: inner dimensions differ: "
                         f"{_shapes(a, b, trans_a, trans_b)}")
    batch = 1
    if ndim == 3:
        if sa[0] != sb[0] and sa[0] != 1 and sb[0] != 1:
            raise ShapeError(f"{op}: batch sizes differ: "
                             f"{_shapes(a, b, trans_a, trans_b)}")
        # numpy's rule: a batch of 1 takes the other's size, 0 included
        # (1 and 0 give 0: max() gave 1, and C read the empty operand).
        batch = sb[0] if sa[0] == 1 else sa[0]
    out_shape = (batch, m, n) if ndim == 3 else (m, n)
    # Sizes C's arithmetic cannot hold (views of broadcast arrays can be
    # that large) are refused here, before any product is formed.
    if m > MG_GEMM_MAX_DIM or n > MG_GEMM_MAX_DIM or k > MG_GEMM_MAX_DIM:
        raise ArgumentError(f"{op}: sizes too large (m={m}, n={n}, k={k}, at "
                            f"most {MG_GEMM_MAX_DIM}): "
                            f"{_shapes(a, b, trans_a, trans_b)}")

    if bias is not None:
        if not isinstance(bias, np.ndarray):
            raise TypeError(f"{op}: bias must be a numpy array, got "
                            f"{type(bias).__name__}")
        if bias.dtype != dt:
            if bias.dtype.newbyteorder("=") != dt:
                raise TypeError(f"{op}: bias dtype {bias.dtype} differs from "
                                f"the operands' {dt}")
            bias = _native(bias)
        if bias.shape != (n,):
            raise ShapeError(f"{op}: bias must have shape ({n},) for "
                             f"{_shapes(a, b, trans_a, trans_b)}, got "
                             f"{bias.shape}")
    if out is None:
        # An output numpy could not even describe (of broadcast views):
        # refused with the sizes rather than numpy's "array is too big".
        if batch * m * n * dt.itemsize > sys.maxsize:
            raise ArgumentError(f"{op}: the output of "
                                f"{_shapes(a, b, trans_a, trans_b)} would "
                                f"hold {batch} * {m} * {n} elements, more "
                                f"than memory can address")
        # beta * (uninitialised) would be garbage; a fresh out is zero then.
        out = np.empty(out_shape, dt) if f_beta == 0 else np.zeros(out_shape, dt)
        target = out
    else:
        _check_out(op, out, dt, out_shape, a, b, bias, trans_a, trans_b)
        # C writes `out` in place only if it is aligned, one-to-one and in
        # native byte order; otherwise it works on an aligned native copy
        # that is assigned back (converting the byte order again).
        flags = out.flags
        target = out if out.dtype.isnative and flags.aligned and (
            flags.c_contiguous or flags.f_contiguous or _one_to_one(out)
        ) else np.array(out, dtype=dt)
    if out.size == 0:
        return out

    status = _run(_usable(opa), _usable(opb), target,
                  None if bias is None else _usable(bias), f32, batch,
                  f_alpha, f_beta, act, &opts)
    if status != MG_GEMM_OK:
        _raise_status(status, a, b, trans_a, trans_b)
    if target is not out:
        out[...] = target
    return out


cdef void _raise_status(int status, object a, object b, object trans_a,
                        object trans_b) except *:
    """The exception for a C status other than MG_GEMM_OK."""
    if status == MG_GEMM_ENOMEM:
        raise MemoryError("gemm: could not allocate the packing buffer")
    if status == MG_GEMM_EISA:
        raise RuntimeError("gemm: this CPU does not support the requested kernel")
    if status == MG_GEMM_ESIZE:
        raise ArgumentError(f"gemm: sizes or strides whose products overflow: "
                            f"{_shapes(a, b, trans_a, trans_b)}")
    raise ArgumentError(f"gemm: the C kernel rejected its arguments ({status})")


# ISA name -> code for the kernels this CPU runs (None: the best), for the
# fast path; a name missing here takes the general path, which raises.
cdef dict _ISA_CODES = {None: MG_ISA_AUTO}
for _i, _name in enumerate(ISAS):
    if mg_cpu_has_isa(_i):
        _ISA_CODES[_name] = _i


cdef inline bint _plain(object x, int type_num):
    """`x` is a base-class ndarray of dtype `type_num` that C can read in
    place: aligned (whole-element strides) and in native byte order."""
    if not cnp.PyArray_CheckExact(x):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>x
    return (cnp.PyArray_TYPE(arr) == type_num and cnp.PyArray_ISALIGNED(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr))


cdef inline void _span(cnp.ndarray x, Py_ssize_t *lo, Py_ssize_t *hi) noexcept:
    """The bytes [lo, hi) that non-empty `x` can touch."""
    cdef Py_ssize_t first = <Py_ssize_t>cnp.PyArray_DATA(x), last = first
    cdef int d
    cdef Py_ssize_t step
    for d in range(cnp.PyArray_NDIM(x)):
        step = (cnp.PyArray_DIMS(x)[d] - 1) * cnp.PyArray_STRIDES(x)[d]
        if step < 0:
            first += step
        else:
            last += step
    lo[0], hi[0] = first, last + cnp.PyArray_ITEMSIZE(x)


cdef inline bint _apart(cnp.ndarray out, object x):
    """`out` (non-empty) and `x` share no byte: their spans are disjoint, or
    `x` is empty or absent. False only means "maybe": the general path then
    asks numpy for the exact answer."""
    if x is None or cnp.PyArray_SIZE(<cnp.ndarray>x) == 0:
        return True
    cdef Py_ssize_t lo_o, hi_o, lo_x, hi_x
    _span(out, &lo_o, &hi_o)
    _span(<cnp.ndarray>x, &lo_x, &hi_x)
    return hi_x <= lo_o or hi_o <= lo_x


cdef object _gemm_fast(object a, object b, object out, object alpha,
                       object beta, object trans_a, object trans_b,
                       object bias, object activation, object isa,
                       object num_threads, object path):
    """`gemm` for the common call, checked with C-level tests only: 2-D
    float32/float64 base-class arrays read in place, `out` absent or
    contiguous and clearly apart from the operands, float alpha/beta, bool
    trans flags, a known activation, ISA and path, no blocks. Returns None
    for anything else: the general path then checks everything (and raises
    the errors), so this one never raises for bad input. Why: at n = 64 the
    general path's Python-level checks cost as much as a third of the
    product (Note [Small products] in csrc/gemm/gemm_tmpl.h)."""
    if not cnp.PyArray_CheckExact(a):
        return None
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64:
        return None
    if not (_plain(a, tn) and _plain(b, tn)):
        return None
    cdef cnp.ndarray A = <cnp.ndarray>a, B = <cnp.ndarray>b
    if cnp.PyArray_NDIM(A) != 2 or cnp.PyArray_NDIM(B) != 2:
        return None
    if type(alpha) is not float or type(beta) is not float:
        return None
    if not ((trans_a is False or trans_a is True)
            and (trans_b is False or trans_b is True)):
        return None
    cdef int act
    if activation is None:
        act = MG_ACT_NONE
    elif type(activation) is str:
        act = _ACTS.get(activation, -1)
        if act < 0:
            return None
    else:
        return None
    if not (isa is None or type(isa) is str) or type(path) is not str:
        return None
    code = _ISA_CODES.get(isa)
    path_code = _PATHS.get(path)
    if code is None or path_code is None:
        return None
    # Compared as Python ints: a huge count must not overflow a C long here
    # (the general path caps it with a warning).
    if type(num_threads) is not int or not 0 < num_threads <= mg_threads_max():
        return None
    cdef int nt = num_threads
    cdef bint ta = trans_a, tb = trans_b
    cdef cnp.npy_intp *da = cnp.PyArray_DIMS(A)
    cdef cnp.npy_intp *db = cnp.PyArray_DIMS(B)
    cdef Py_ssize_t m = da[1] if ta else da[0], k = da[0] if ta else da[1]
    cdef Py_ssize_t kb = db[1] if tb else db[0], n = db[0] if tb else db[1]
    if (kb != k or m > MG_GEMM_MAX_DIM or n > MG_GEMM_MAX_DIM
            or k > MG_GEMM_MAX_DIM):
        return None
    if bias is not None:
        if (not _plain(bias, tn) or cnp.PyArray_NDIM(<cnp.ndarray>bias) != 1
                or cnp.PyArray_DIMS(<cnp.ndarray>bias)[0] != n):
            return None
    cdef double f_alpha = alpha, f_beta = beta
    cdef cnp.npy_intp shape[2]
    cdef cnp.ndarray C
    if out is None:
        if m > 0 and n > (<Py_ssize_t>sys.maxsize) // 8 // m:
            return None  # more than memory can address: the general path says so
        shape[0], shape[1] = m, n
        # beta * (uninitialised) would be garbage; a fresh out is zero then.
        out = cnp.PyArray_ZEROS(2, shape, tn, 0) if f_beta != 0 else \
            cnp.PyArray_EMPTY(2, shape, tn, 0)
        C = <cnp.ndarray>out
    else:
        if not _plain(out, tn):
            return None
        C = <cnp.ndarray>out
        if (cnp.PyArray_NDIM(C) != 2 or cnp.PyArray_DIMS(C)[0] != m
                or cnp.PyArray_DIMS(C)[1] != n or not cnp.PyArray_ISWRITEABLE(C)
                or not (cnp.PyArray_IS_C_CONTIGUOUS(C)
                        or cnp.PyArray_IS_F_CONTIGUOUS(C))):
            return None
        if m == 0 or n == 0:
            return out
        if not (_apart(C, a) and _apart(C, b) and _apart(C, bias)):
            return None
    if m == 0 or n == 0:
        return out
    cdef mg_gemm_opts opts
    opts.isa = code
    opts.num_threads = nt
    opts.path = path_code
    opts.mc = opts.kc = opts.nc = 0
    status = _run(A, B, C, bias, tn == cnp.NPY_FLOAT32, 1, f_alpha, f_beta,
                  act, &opts, ta, tb)
    if status != MG_GEMM_OK:
        _raise_status(status, a, b, trans_a, trans_b)
    return out


cdef str _shapes(a, b, trans_a, trans_b):
    return (f"{a.shape}{'ᵀ' if trans_a else ''} @ "
            f"{b.shape}{'ᵀ' if trans_b else ''}")


cdef void _check_out(str op, object out, object dt, tuple out_shape, object a,
                     object b, object bias, object trans_a,
                     object trans_b) except *:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{op}: out must be a numpy array, got "
                        f"{type(out).__name__}")
    if out.dtype != dt and out.dtype.newbyteorder("=") != dt:
        raise TypeError(f"{op}: out dtype {out.dtype} differs from the "
                        f"operands' {dt}")
    if out.shape != out_shape:
        raise ShapeError(f"{op}: out must have shape {out_shape} for "
                         f"{_shapes(a, b, trans_a, trans_b)}, got {out.shape}")
    if not out.flags.writeable:
        raise ArgumentError(f"{op}: out is read-only")
    _overlap_check(op, out, a, "a")
    _overlap_check(op, out, b, "b")
    _overlap_check(op, out, bias, "bias")


cdef int _run(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c, object bias,
              bint f32, Py_ssize_t batch, double alpha, double beta, int act,
              const mg_gemm_opts *opts, bint trans_a=False,
              bint trans_b=False) except? -1:
    """Calls C once per batch entry, without the GIL; returns its status.

    Assumes: op(a) (.., m, k), op(b) (.., k, n), c (.., m, n) agree (op
    swaps the last two dims when trans_a / trans_b: their strides are swapped
    here, so no transposed view is made), c is non-empty
    and one-to-one, every array is aligned (so byte strides are whole
    elements). Pointers come from numpy's C API rather than typed memoryviews:
    acquiring three buffers costs more than a small product."""
    cdef Py_ssize_t isz = 4 if f32 else 8
    cdef int nd = cnp.PyArray_NDIM(c)
    cdef cnp.npy_intp *da = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *ds_a = cnp.PyArray_STRIDES(a)
    cdef cnp.npy_intp *ds_b = cnp.PyArray_STRIDES(b)
    cdef cnp.npy_intp *ds_c = cnp.PyArray_STRIDES(c)
    cdef cnp.npy_intp *dc = cnp.PyArray_DIMS(c)
    cdef Py_ssize_t m = dc[nd - 2], n = dc[nd - 1]
    cdef Py_ssize_t k = da[nd - 2] if trans_a else da[nd - 1]
    cdef Py_ssize_t rs_a = ds_a[nd - 2] // isz, cs_a = ds_a[nd - 1] // isz
    cdef Py_ssize_t rs_b = ds_b[nd - 2] // isz, cs_b = ds_b[nd - 1] // isz
    if trans_a:
        rs_a, cs_a = cs_a, rs_a
    if trans_b:
        rs_b, cs_b = cs_b, rs_b
    cdef Py_ssize_t rs_c = ds_c[nd - 2] // isz, cs_c = ds_c[nd - 1] // isz
    # A batch of 1 broadcasts: its batch stride is 0.
    cdef Py_ssize_t bs_a = 0, bs_b = 0, bs_c = 0
    if nd == 3:
        bs_a = ds_a[0] // isz if da[0] > 1 else 0
        bs_b = ds_b[0] // isz if cnp.PyArray_DIMS(b)[0] > 1 else 0
        bs_c = ds_c[0] // isz
    cdef char *pa = NULL
    cdef char *pb = NULL
    if k > 0:
        # Only non-empty operands have an element (0, 0) to point at.
        pa = <char *>cnp.PyArray_DATA(a)
        pb = <char *>cnp.PyArray_DATA(b)
    else:
        bs_a = bs_b = 0
    cdef char *pc = <char *>cnp.PyArray_DATA(c)
    cdef char *pbias = NULL
    cdef Py_ssize_t inc_bias = 0
    if bias is not None:
        pbias = <char *>cnp.PyArray_DATA(<cnp.ndarray>bias)
        inc_bias = cnp.PyArray_STRIDES(<cnp.ndarray>bias)[0] // isz
    cdef Py_ssize_t t
    cdef int status = MG_GEMM_OK
    with nogil:
        for t in range(batch):
            if f32:
                status = mg_gemm_f32(
                    m, n, k, <float>alpha, <float *>pa + t * bs_a, rs_a, cs_a,
                    <float *>pb + t * bs_b, rs_b, cs_b, <float>beta,
                    <float *>pc + t * bs_c, rs_c, cs_c, <float *>pbias,
                    inc_bias, act, opts)
            else:
                status = mg_gemm_f64(
                    m, n, k, alpha, <double *>pa + t * bs_a, rs_a, cs_a,
                    <double *>pb + t * bs_b, rs_b, cs_b, beta,
                    <double *>pc + t * bs_c, rs_c, cs_c, <double *>pbias,
                    inc_bias, act, opts)
            if status != MG_GEMM_OK:
                break
    return status
