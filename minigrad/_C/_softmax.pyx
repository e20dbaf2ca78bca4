"""Cython wrappers for csrc/softmax: softmax / log_softmax over an axis, fused
softmax-cross-entropy, binary cross-entropy of probabilities and with logits.

Layer: _C. Knows nothing of autograd. Every function validates its operands
while holding the GIL (TypeError for a type or dtype, ValueError for a shape or
value), returns early on empty input, and only then releases the GIL. Every
function takes ``nthreads`` (None: by the size of the work and the backend's
count) and ``isa`` ('generic', 'avx2' or 'avx512'; None: the best this CPU
runs), the instruction set of the C loops.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t
from minigrad.errors import ArgumentError, ShapeError

cnp.import_array()

cdef extern from "mg_common.h" nogil:
    int mg_threads_max() noexcept

cdef extern from "mg_cpu.h" nogil:
    int MG_ISA_AUTO

cdef extern from "mg_softmax.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int mg_softmax_fwd_f32(mg_index_t, mg_index_t, mg_index_t, const float *,
                           float *, int, int, int) noexcept
    int mg_softmax_fwd_f64(mg_index_t, mg_index_t, mg_index_t, const double *,
                           double *, int, int, int) noexcept
    int mg_softmax_fwd_rows_f32(mg_index_t, mg_index_t, const float *,
                                mg_index_t, mg_index_t, float *, int, int,
                                int) noexcept
    int mg_softmax_fwd_rows_f64(mg_index_t, mg_index_t, const double *,
                                mg_index_t, mg_index_t, double *, int, int,
                                int) noexcept
    int mg_softmax_bwd_f32(mg_index_t, mg_index_t, mg_index_t, const float *,
                           const float *, mg_index_t, mg_index_t, float *, int,
                           int, int) noexcept
    int mg_softmax_bwd_f64(mg_index_t, mg_index_t, mg_index_t, const double *,
                           const double *, mg_index_t, mg_index_t, double *,
                           int, int, int) noexcept
    int mg_softmax_bwd_rows_f32(mg_index_t, mg_index_t, mg_index_t,
                                const float *, const mg_index_t *,
                                const float *, const mg_index_t *, float *,
                                int, int, int) noexcept
    int mg_softmax_bwd_rows_f64(mg_index_t, mg_index_t, mg_index_t,
                                const double *, const mg_index_t *,
                                const double *, const mg_index_t *, double *,
                                int, int, int) noexcept
    int MG_SOFTMAX_ENOMEM
    int mg_xent_fwd_f32(mg_index_t, mg_index_t, const float *, const int64_t *,
                        const float *, int64_t, double, float *, float *,
                        int, int) noexcept
    int mg_xent_fwd_f64(mg_index_t, mg_index_t, const double *,
                        const int64_t *, const double *, int64_t, double,
                        double *, double *, int, int) noexcept
    int mg_xent_bwd_f32(mg_index_t, mg_index_t, const float *, const float *,
                        const int64_t *, const float *, int64_t, double,
                        const float *, mg_index_t, float *, int, int) noexcept
    int mg_xent_bwd_f64(mg_index_t, mg_index_t, const double *, const double *,
                        const int64_t *, const double *, int64_t, double,
                        const double *, mg_index_t, double *, int, int) noexcept
    int MG_SOFTMAX_PAR_MIN
    int mg_xent_fwd_grad_f32(mg_index_t, mg_index_t, const float *,
                             const int64_t *, const float *, int64_t, double,
                             int, float *, float *, double *, float *,
                             int, int) noexcept
    int mg_xent_fwd_grad_f64(mg_index_t, mg_index_t, const double *,
                             const int64_t *, const double *, int64_t, double,
                             int, double *, double *, double *, double *,
                             int, int) noexcept
    int mg_bce_fwd_f32(mg_index_t, const float *, const float *, const float *,
                       float *, int, int) noexcept
    int mg_bce_fwd_f64(mg_index_t, const double *, const double *,
                       const double *, double *, int, int) noexcept
    int mg_bce_bwd_f32(mg_index_t, const float *, const float *, const float *,
                       const float *, mg_index_t, float *, float *, int,
                       int) noexcept
    int mg_bce_bwd_f64(mg_index_t, const double *, const double *,
                       const double *, const double *, mg_index_t, double *,
                       double *, int, int) noexcept
    int mg_bce_logits_fwd_f32(mg_index_t, const float *, const float *,
                              const float *, const float *, float *,
                              int, int) noexcept
    int mg_bce_logits_fwd_f64(mg_index_t, const double *, const double *,
                              const double *, const double *, double *,
                              int, int) noexcept
    int mg_bce_logits_bwd_f32(mg_index_t, const float *, const float *,
                              const float *, const float *, const float *,
                              mg_index_t, float *, float *, int, int) noexcept
    int mg_bce_logits_bwd_f64(mg_index_t, const double *, const double *,
                              const double *, const double *, const double *,
                              mg_index_t, double *, double *, int, int) noexcept

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


cdef object _kernel_threads = None


cdef int _auto_threads(Py_ssize_t work) except -1:
    """Threads for a kernel doing ``work`` elements: 1 below the kernels' own
    threshold (without asking the backend: that costs more than the work),
    else the backend's count less the cores busy elsewhere (backend.py, Note
    [Sharing cores]; 1 in a forked child, Note [OpenMP and fork])."""
    global _kernel_threads
    if work < MG_SOFTMAX_PAR_MIN:
        return 1
    if _kernel_threads is None:
        from minigrad.backend import _kernel_threads as kt
        _kernel_threads = kt
    return _kernel_threads()


cdef int _threads(str op, object nthreads, Py_ssize_t work) except -1:
    if nthreads is None:
        return _auto_threads(work)
    if not isinstance(nthreads, int) or isinstance(nthreads, bool) or nthreads < 1:
        raise ArgumentError(f"{op}: nthreads must be a positive int, got {nthreads!r}")
    if nthreads > mg_threads_max():  # capped, with a warning: Note [Thread cap]
        from minigrad.backend import _cap_threads
        return _cap_threads(op, nthreads, mg_threads_max(), 2)
    return nthreads


cdef int _isa_code(str op, object isa) except -2:
    """MG_ISA_AUTO for None, else the code of the named instruction set;
    ValueError for an unknown name or one this CPU cannot run (the check is
    _act's: one list of names for every kernel family)."""
    if isa is None:
        return MG_ISA_AUTO
    from minigrad._C._act import isa_code
    return isa_code(op, isa)


cdef object _floats(str op, str name, object a, object dtype=None):
    """`a` as an aligned C-contiguous float array (copied only if needed),
    checked to be float32/float64 and, when given, of `dtype`."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(a).__name__}")
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype}")
    a = _behaved(<cnp.ndarray>a, tn)
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{op}: {name} has dtype {a.dtype}, expected {dtype}")
    return a


cdef inline cnp.ndarray _behaved(cnp.ndarray a, int typenum):
    """`a` itself when the kernels can read it as is: C-contiguous, aligned
    and in this CPU's byte order; else such a copy. Note [Aligned operands]
    in _act.pyx: np.ascontiguousarray keeps a misaligned C-contiguous view
    (np.frombuffer(buf, offset=1)) as it is, and a byte-swapped array ('>f4'
    on x86) has float32's type number but, read as is, gives garbage."""
    if cnp.PyArray_ISCARRAY_RO(a) and cnp.PyArray_ISNOTSWAPPED(a):
        return a
    return <cnp.ndarray>cnp.PyArray_FROM_OTF(a, typenum, cnp.NPY_ARRAY_CARRAY_RO)


cdef object _shape(str op, str name, object a, tuple shape):
    if a.shape != shape:
        raise ShapeError(f"{op}: {name} has shape {a.shape}, expected {shape}")
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
        raise ShapeError(f"{op}: out has shape {out.shape}, expected {shape}")
    if not (out.flags.c_contiguous and out.flags.aligned and out.flags.writeable):
        raise ArgumentError(f"{op}: out must be a writeable, aligned, C-contiguous "
                            "array")
    for a in inputs:
        if a is None or not np.shares_memory(out, a):
            continue
        same = (a.shape == out.shape and a.strides == out.strides
                and a.__array_interface__["data"][0]
                == out.__array_interface__["data"][0])
        if not (inplace_ok and same):
            raise ArgumentError(f"{op}: out overlaps an input")
    return out


cdef object _targets(str op, object target, mg_index_t n):
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{op}: target must be a numpy array, got "
                        f"{type(target).__name__}")
    if target.dtype.kind != "i" or target.dtype.itemsize != 8:
        raise TypeError(f"{op}: target must be int64, got {target.dtype}")
    if target.shape != (n,):
        raise ShapeError(f"{op}: target has shape {target.shape}, expected ({n},)")
    return _behaved(<cnp.ndarray>target, cnp.NPY_INT64)


cdef tuple _axis_view(str op, object x, object dim):
    """(outer, size, inner) of x around axis `dim`."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    nd = x.ndim
    if nd == 0:
        raise ShapeError(f"{op}: input must have at least 1 dim, got shape ()")
    if not -nd <= dim < nd:
        raise ShapeError(f"{op}: dim {dim} is out of range for shape {x.shape}")
    d = int(dim) % nd
    shape = x.shape
    outer = 1
    for s in shape[:d]:
        outer *= s
    inner = 1
    for s in shape[d + 1:]:
        inner *= s
    return outer, shape[d], inner


cdef tuple _permuted(object a):
    """(view, perm, inverse) when ``a`` is an axis permutation (a transpose)
    of a C-contiguous block, ``view = a.transpose(perm)`` being that block;
    else None. Note [Permuted operands]: the kernels work on any axis of a
    C-contiguous array (outer, dim, inner), so a transposed operand is read
    in place as its C-contiguous base with the axis renumbered, and the
    result laid out as the operand is (as PyTorch does); a copy to C order
    first costs a strided pass over the whole array, more than the kernel
    (benchmarks/bench_softmax.py's layout rows). The forward over a strided
    last axis gathers its rows (_strided_rows). Other layouts (byte-swapped,
    misaligned, other slices) are copied by _floats, except the broadcast
    scalar gradient of the backward, read as one row.

    Measured for the backward (1000x1000 float32, 1 thread, medians of
    interleaved runs on a loaded 2-core machine): copying transposed y and
    g to C order first (np.ascontiguousarray, then the row kernel) took
    5-14x the contiguous backward, numpy's transposing copy alone 1-1.5 ms
    (a 32x32-tiled C transpose was no faster in the interpreter's process),
    while the kernel over axis 0 in place takes 1.8x (softmax: two streaming
    passes where the contiguous rows need one, Note [Strided backward] in
    csrc/softmax/softmax_impl.h) and ~1x for log_softmax (exp-bound). So a
    transposed y is always read in place. A gradient laid out unlike y is
    read in place too, by the row kernel (Note [Transposed gradient] in
    csrc/softmax/softmax_impl.h, _rows_plan); only layouts that fit no
    (batch, row) split are copied to y's layout."""
    if not isinstance(a, np.ndarray):
        return None
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int tn = cnp.PyArray_TYPE(arr)
    if (arr.ndim < 2 or cnp.PyArray_IS_C_CONTIGUOUS(arr)
            or (tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64)
            or not cnp.PyArray_ISALIGNED(arr) or not cnp.PyArray_ISNOTSWAPPED(arr)):
        return None
    strides = arr.strides
    perm = sorted(range(arr.ndim), key=lambda i: -strides[i])
    view = arr.transpose(perm)
    if not view.flags.c_contiguous:
        return None
    inverse = [0] * arr.ndim
    for i, p in enumerate(perm):
        inverse[p] = i
    return view, perm, inverse


def softmax_fwd(x, dim, *, bint log=False, out=None, nthreads=None,
                isa=None):
    """softmax (or log_softmax with log=True) of x over axis ``dim``.

    x : ndarray, float32 or float64, any shape (a transposed x is read in
        place, Note [Permuted operands]; so are strided rows over the last
        axis, such as x[:, ::2], Note [Strided rows]; other layouts are
        copied)
    out : optional C-contiguous array of x's shape and dtype (may be x).
    Without ``out`` the result has x's layout when x is transposed.
    """
    op = "log_softmax" if log else "softmax"
    cdef tuple pv = _permuted(x) if out is None else None
    if pv is not None:
        _axis_view(op, x, dim)  # errors name x's own dims
        view, perm, inverse = pv
        y = softmax_fwd(view, perm.index(int(dim) % x.ndim), log=log,
                        nthreads=nthreads, isa=isa)
        return y.transpose(inverse)
    cdef tuple rv = _strided_rows(x, dim) if out is None else None
    if rv is not None:
        return _softmax_fwd_rows(op, x, rv, log, nthreads, isa)
    x = _floats(op, "x", x)
    cdef mg_index_t outer, size, inner
    outer, size, inner = _axis_view(op, x, dim)
    y = _out(op, out, x.shape, x.dtype, (x,), True)
    cdef int nt = _threads(op, nthreads, x.size)
    cdef int code = _isa_code(op, isa)
    if x.size == 0:
        return y
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    if x.dtype == _F32:
        with nogil:
            mg_softmax_fwd_f32(outer, size, inner, <const float *>px,
                               <float *>py, log, nt, code)
    else:
        with nogil:
            mg_softmax_fwd_f64(outer, size, inner, <const double *>px,
                               <double *>py, log, nt, code)
    return y


cdef tuple _strided_rows(object a, object dim):
    """(rows, d, row step, element step), the steps in elements, when the
    softmax of ``a`` over ``dim`` runs over strided rows in place (Note
    [Strided rows] in csrc/softmax/softmax_impl.h): ``dim`` the last axis,
    ``a`` not C-contiguous (a slice such as ``x[:, ::2]`` or ``x[:, :500]``),
    and the other axes one run of rows at a fixed step. Else None."""
    if (not isinstance(a, np.ndarray) or not isinstance(dim, (int, np.integer))
            or isinstance(dim, bool)):
        return None
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int nd = arr.ndim
    if (nd == 0 or arr.size == 0 or not -nd <= dim < nd or int(dim) % nd != nd - 1
            or not _native_float(arr) or cnp.PyArray_IS_C_CONTIGUOUS(arr)):
        return None
    cdef Py_ssize_t item = arr.itemsize
    shape, strides = a.shape, a.strides
    if any(st % item for st in strides):
        return None
    # The leading axes (size-1 ones aside) must nest: each step is the next
    # axis' step times its size. Then row i sits at i times the last one.
    lead = [(n, st // item) for n, st in zip(shape[:nd - 1], strides[:nd - 1])
            if n != 1]
    cdef Py_ssize_t k, nl = len(lead)
    for k in range(nl - 1):
        if lead[k][1] != lead[k + 1][1] * lead[k + 1][0]:
            return None
    cdef Py_ssize_t cs = strides[nd - 1] // item, d = shape[nd - 1]
    cdef Py_ssize_t nr = arr.size // d
    # One row: any step that gather_rows reads along the row.
    cdef Py_ssize_t rs = lead[nl - 1][1] if nl else d * (abs(cs) + 1)
    return nr, d, rs, cs


cdef object _softmax_fwd_rows(str op, object x, tuple rv, bint log,
                              object nthreads, object isa):
    cdef mg_index_t nr = rv[0], d = rv[1], rs = rv[2], cs = rv[3]
    cdef int nt = _threads(op, nthreads, x.size)
    cdef int code = _isa_code(op, isa)
    y = np.empty(x.shape, x.dtype)
    cdef void *px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void *py = cnp.PyArray_DATA(<cnp.ndarray>y)
    if x.dtype == _F32:
        with nogil:
            mg_softmax_fwd_rows_f32(nr, d, <const float *>px, rs, cs,
                                    <float *>py, log, nt, code)
    else:
        with nogil:
            mg_softmax_fwd_rows_f64(nr, d, <const double *>px, rs, cs,
                                    <double *>py, log, nt, code)
    return y


cdef bint _is_broadcast_scalar(object a, object shape):
    """Whether ``a`` is one value broadcast to ``shape`` (every stride 0, as
    the gradient .sum() or .mean() sends down), readable as is."""
    if not isinstance(a, np.ndarray) or a.shape != shape or a.size < 2:
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int tn = cnp.PyArray_TYPE(arr)
    if tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64:
        return False
    if not cnp.PyArray_ISALIGNED(arr) or not cnp.PyArray_ISNOTSWAPPED(arr):
        return False
    return not any(a.strides)


cdef bint _native_float(cnp.ndarray a):
    cdef int tn = cnp.PyArray_TYPE(a)
    return ((tn == cnp.NPY_FLOAT32 or tn == cnp.NPY_FLOAT64)
            and cnp.PyArray_ISALIGNED(a) and cnp.PyArray_ISNOTSWAPPED(a))


cdef object _rows_plan(object y, object g, int ax):
    """How mg_softmax_bwd_rows reads y and g in place when they are laid out
    differently (Note [Transposed gradient] in csrc/softmax/softmax_impl.h),
    as (order, nb, nr, ys, gs): gx is C-contiguous over y's axes in `order`
    (the softmax axis last), its nb·nr rows of y at b·ys[0] + r·ys[1] (in
    elements), the axis at ys[2], gy likewise. The row axes follow the memory
    order of the operand whose axis is contiguous (the leader); the other one
    must have its rows adjacent (a transpose, gathered by tiles) or its axis
    contiguous too. None when the layouts fit no (batch, row) split: the
    caller copies g to y's layout then."""
    if not (isinstance(g, np.ndarray) and g.shape == y.shape
            and g.dtype == y.dtype and y.size > 0 and y.strides != g.strides
            and _native_float(<cnp.ndarray>y) and _native_float(<cnp.ndarray>g)):
        return None
    if y.ndim == 2:
        return _rows_plan_2d(<cnp.ndarray>y, <cnp.ndarray>g, ax)
    cdef Py_ssize_t item = y.itemsize
    shape = y.shape
    if any(s % item for s in y.strides + g.strides):
        return None
    yst = [s // item for s in y.strides]
    gst = [s // item for s in g.strides]
    d = shape[ax]
    yc = yst[ax] if d > 1 else 1
    gc = gst[ax] if d > 1 else 1
    if yc != 1 and gc != 1:
        return None
    # Rows in the memory order of the leader, else of the other operand
    # (the order its rows are adjacent in, for the tiles).
    for key in ((yst, gst) if yc == 1 else (gst, yst)):
        plan = _rows_split(shape, ax, yst, gst, yc, gc, key)
        if plan is not None:
            return plan
    return None


cdef object _rows_plan_2d(cnp.ndarray y, cnp.ndarray g, int ax):
    """_rows_plan of a matrix, without its Python-level search (the common
    case, where that costs more than a small backward)."""
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(y)
    cdef cnp.npy_intp *ys = cnp.PyArray_STRIDES(y)
    cdef cnp.npy_intp *gs = cnp.PyArray_STRIDES(g)
    cdef int other = 1 - ax
    if ys[0] % item or ys[1] % item or gs[0] % item or gs[1] % item:
        return None
    cdef Py_ssize_t yc = ys[ax] // item, gc = gs[ax] // item
    cdef Py_ssize_t yr = ys[other] // item, gr = gs[other] // item
    if cnp.PyArray_DIM(y, ax) == 1:
        yc = gc = 1
    if yc != 1 and gc != 1:
        return None
    if (((gc != 1 and gr != 1) or (yc != 1 and yr != 1))
            and cnp.PyArray_DIM(y, other) > 1):
        return None  # as _rows_split: copying is faster
    return [other, ax], 1, cnp.PyArray_DIM(y, other), (0, yr, yc), (0, gr, gc)


cdef object _rows_split(tuple shape, int ax, list yst, list gst, Py_ssize_t yc,
                        Py_ssize_t gc, list key):
    """_rows_plan's (batch, row) split with the row axes ordered by the
    strides ``key``, or None."""
    rows = sorted((a for a in range(len(shape)) if a != ax),
                  key=lambda a: (shape[a] != 1, -abs(key[a])))
    live = [a for a in rows if shape[a] != 1]

    def merges(a, b):  # axis a then b read as one index, in both operands
        return (yst[a] == yst[b] * shape[b]) and (gst[a] == gst[b] * shape[b])

    k = len(live)
    while k > 1 and merges(live[k - 2], live[k - 1]):
        k -= 1
    batch, inner = live[:k - 1] if live else [], live[k - 1:] if live else []
    if any(not merges(batch[i], batch[i + 1]) for i in range(len(batch) - 1)):
        return None
    nr = nb = 1
    for a in inner:
        nr *= shape[a]
    for a in batch:
        nb *= shape[a]
    lb = batch[len(batch) - 1] if batch else None
    lr = inner[len(inner) - 1] if inner else None
    ys = (yst[lb] if batch else 0, yst[lr] if inner else 0, yc)
    gs = (gst[lb] if batch else 0, gst[lr] if inner else 0, gc)
    other = gs if yc == 1 else ys
    if other[2] != 1 and other[1] != 1 and nr > 1:
        return None  # neither rows nor the axis contiguous: copying is faster
    return rows + [ax], nb, nr, ys, gs


cdef object _bwd_rows(str op, object y, object g, int ax, tuple plan,
                      bint log, object nthreads, object isa):
    """softmax_bwd through mg_softmax_bwd_rows by ``plan`` (_rows_plan)."""
    order, nb, nr, yst, gst = plan
    cdef mg_index_t ys[3]
    cdef mg_index_t gs[3]
    for i in range(3):
        ys[i] = yst[i]
        gs[i] = gst[i]
    gx = np.empty([y.shape[a] for a in order], y.dtype)
    cdef int nt = _threads(op, nthreads, y.size)
    cdef int code = _isa_code(op, isa)
    cdef mg_index_t cnb = nb, cnr = nr, cd = y.shape[ax]
    cdef void *py = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef void *pg = cnp.PyArray_DATA(<cnp.ndarray>g)
    cdef void *px = cnp.PyArray_DATA(<cnp.ndarray>gx)
    cdef int rc
    if y.dtype == _F32:
        with nogil:
            rc = mg_softmax_bwd_rows_f32(cnb, cnr, cd, <const float *>py, ys,
                                         <const float *>pg, gs, <float *>px,
                                         log, nt, code)
    else:
        with nogil:
            rc = mg_softmax_bwd_rows_f64(cnb, cnr, cd, <const double *>py, ys,
                                         <const double *>pg, gs,
                                         <double *>px, log, nt, code)
    if rc == MG_SOFTMAX_ENOMEM:
        raise MemoryError(f"{op}: no memory for the row buffers of shape {y.shape}")
    if order[0] == 0 and y.ndim == 2:
        return gx
    inverse = [0] * len(order)
    for i, a in enumerate(order):
        inverse[a] = i
    return gx.transpose(inverse)


cdef object _in_place_plan(str op, object y, object grad_out, object dim):
    """_rows_plan for softmax_bwd's arguments: None for a broadcast scalar
    gradient (its own path) or layouts the row kernel does not read in place;
    raises for a bad ``dim``."""
    if not isinstance(y, np.ndarray) or _is_broadcast_scalar(grad_out, y.shape):
        return None
    _axis_view(op, y, dim)
    return _rows_plan(y, grad_out, int(dim) % y.ndim)


def bwd_reads_in_place(y, grad_out, dim) -> bool:
    """Whether softmax_bwd(y, grad_out, dim) reads y and a grad_out laid out
    differently in place, through the row kernel (Note [Transposed gradient]
    in csrc/softmax/softmax_impl.h); its result then has the bits of the
    contiguous rows of the same values, the axis last. For tests and
    benchmarks."""
    return _in_place_plan("softmax_backward", y, grad_out, dim) is not None


def softmax_bwd(y, grad_out, dim, *, bint log=False, out=None, nthreads=None,
                isa=None):
    """Gradient of softmax (log_softmax with log=True) from its output ``y``
    and the upstream gradient (same shape and dtype as y). A transposed y is
    read in place (Note [Permuted operands]) and a broadcast scalar gradient
    is not materialised (one row of it is, read again for every row)."""
    op = "log_softmax_backward" if log else "softmax_backward"
    # y and grad_out laid out differently: both read in place (Note
    # [Transposed gradient] in csrc/softmax/softmax_impl.h).
    plan = _in_place_plan(op, y, grad_out, dim) if out is None else None
    if plan is not None:
        return _bwd_rows(op, y, grad_out, int(dim) % y.ndim, plan, log,
                         nthreads, isa)
    cdef tuple pv = _permuted(y) if out is None else None
    if (pv is not None and isinstance(grad_out, np.ndarray)
            and grad_out.shape == y.shape):
        # Note [Permuted operands]: y in place, grad_out in y's axis order
        # (copied to it by _floats unless it is already laid out as y, or
        # is a broadcast scalar).
        _axis_view(op, y, dim)
        view, perm, inverse = pv
        gx = softmax_bwd(view, grad_out.transpose(perm),
                         perm.index(int(dim) % y.ndim), log=log,
                         nthreads=nthreads, isa=isa)
        return gx.transpose(inverse)
    y = _floats(op, "y", y)
    cdef mg_index_t outer, size, inner
    outer, size, inner = _axis_view(op, y, dim)
    cdef mg_index_t gs_outer = size * inner, gs_dim = inner
    if out is None and _is_broadcast_scalar(grad_out, y.shape):
        if grad_out.dtype != y.dtype:
            raise TypeError(f"{op}: grad_out has dtype {grad_out.dtype}, "
                            f"expected {y.dtype}")
        # One row of the value: inner of them, or the axis when it is last.
        g = np.full(inner if inner > 1 else size, grad_out.flat[0], y.dtype)
        gs_outer = 0
        gs_dim = 0 if inner > 1 else 1
    else:
        g = _floats(op, "grad_out", grad_out, y.dtype)
        _shape(op, "grad_out", g, y.shape)
    gx = _out(op, out, y.shape, y.dtype, (y, g), False)
    if out is not None and np.shares_memory(gx, grad_out):
        raise ArgumentError(f"{op}: out overlaps an input")
    cdef int nt = _threads(op, nthreads, y.size)
    cdef int code = _isa_code(op, isa)
    if y.size == 0:
        return gx
    cdef void *py = cnp.PyArray_DATA(y)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef void *px = cnp.PyArray_DATA(gx)
    if y.dtype == _F32:
        with nogil:
            mg_softmax_bwd_f32(outer, size, inner, <const float *>py,
                               <const float *>pg, gs_outer, gs_dim, <float *>px,
                               log, nt, code)
    else:
        with nogil:
            mg_softmax_bwd_f64(outer, size, inner, <const double *>py,
                               <const double *>pg, gs_outer, gs_dim,
                               <double *>px, log, nt, code)
    return gx


cdef object _class_weight(str op, object weight, mg_index_t c, object dtype):
    if weight is None:
        return None
    w = _floats(op, "weight", weight, dtype)
    return _shape(op, "weight", w, (c,))


def xent_fwd(x, target, weight=None, *, long ignore_index=-100,
             double label_smoothing=0.0, nthreads=None, isa=None):
    """Per-row softmax cross-entropy of logits x (n, c) and int64 targets (n,).

    Returns (loss, lse), both (n,): the loss of each row (0 where target is
    ignore_index) and its log-sum-exp, which :func:`xent_bwd` needs.
    """
    op = "cross_entropy"
    x = _floats(op, "input", x)
    if x.ndim != 2:
        raise ShapeError(f"{op}: input must be 2-D (n, c), got shape {x.shape}")
    cdef mg_index_t n = x.shape[0], c = x.shape[1]
    t = _targets(op, target, n)
    w = _class_weight(op, weight, c, x.dtype)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{op}: label_smoothing must be in [0, 1], got "
                            f"{label_smoothing}")
    cdef int nt = _threads(op, nthreads, x.size)
    cdef int code = _isa_code(op, isa)
    loss = np.empty((n,), dtype=x.dtype)
    lse = np.empty((n,), dtype=x.dtype)
    if n == 0:
        return loss, lse
    if c == 0:
        raise ShapeError(f"{op}: input has no classes (shape {x.shape})")
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
                                 nt, code)
    else:
        with nogil:
            rc = mg_xent_fwd_f64(n, c, <const double *>px, pt,
                                 <const double *>pw, ig, label_smoothing,
                                 <double *>pl, <double *>ps, nt, code)
    if rc != 0:
        raise ArgumentError(f"{op}: a target is out of range [0, {c}) and not "
                            f"ignore_index ({ignore_index})")
    return loss, lse


def xent_bwd(x, lse, target, scale, weight=None, *, long ignore_index=-100,
             double label_smoothing=0.0, out=None, nthreads=None,
             isa=None):
    """Gradient of Σ_i scale[i]·loss[i] w.r.t. x (n, c): scale·(softmax -
    onehot) with weights and label smoothing folded in.

    scale : array of x's dtype, shape () (one value for every row) or (n,).
    """
    op = "cross_entropy_backward"
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{op}: label_smoothing must be in [0, 1], got "
                            f"{label_smoothing}")
    x = _floats(op, "input", x)
    if x.ndim != 2:
        raise ShapeError(f"{op}: input must be 2-D (n, c), got shape {x.shape}")
    cdef mg_index_t n = x.shape[0], c = x.shape[1]
    s = _floats(op, "lse", lse, x.dtype)
    _shape(op, "lse", s, (n,))
    t = _targets(op, target, n)
    sc = _floats(op, "scale", scale, x.dtype)
    if sc.shape != () and sc.shape != (n,):
        raise ShapeError(f"{op}: scale has shape {sc.shape}, expected () or ({n},)")
    cdef mg_index_t inc_sc = 0 if sc.shape == () else 1
    w = _class_weight(op, weight, c, x.dtype)
    gx = _out(op, out, x.shape, x.dtype, (x, s, sc, w), False)
    cdef int nt = _threads(op, nthreads, x.size)
    cdef int code = _isa_code(op, isa)
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
                                 <const float *>pc, inc_sc, <float *>pg, nt,
                                 code)
    else:
        with nogil:
            rc = mg_xent_bwd_f64(n, c, <const double *>px, <const double *>ps,
                                 pt, <const double *>pw, ig, label_smoothing,
                                 <const double *>pc, inc_sc, <double *>pg, nt,
                                 code)
    if rc != 0:
        raise ArgumentError(f"{op}: a target is out of range [0, {c}) and not "
                            f"ignore_index ({ignore_index})")
    return gx


cdef object _same(str op, str name, object a, object x):
    if a is None:
        return None
    a = _floats(op, name, a, x.dtype)
    return _shape(op, name, a, x.shape)


def bce_logits_fwd(x, target, weight=None, pos_weight=None, *, nthreads=None,
                   isa=None):
    """Elementwise BCE with logits; weight and pos_weight, when given, have
    x's shape (broadcast them first)."""
    op = "binary_cross_entropy_with_logits"
    x = _floats(op, "input", x)
    t = _same(op, "target", target, x)
    if t is None:
        raise TypeError(f"{op}: target must be a numpy array, got None")
    w = _same(op, "weight", weight, x)
    pw = _same(op, "pos_weight", pos_weight, x)
    cdef int nt = _threads(op, nthreads, x.size)
    cdef int code = _isa_code(op, isa)
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
                                  <float *>pl, nt, code)
    else:
        with nogil:
            mg_bce_logits_fwd_f64(n, <const double *>px, <const double *>pt,
                                  <const double *>pwp, <const double *>ppw,
                                  <double *>pl, nt, code)
    return loss


def bce_logits_bwd(x, target, grad_out, weight=None, pos_weight=None, *,
                   bint target_grad=False, nthreads=None, isa=None):
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
        raise ShapeError(f"{op}: grad_out has shape {g.shape}, expected () or "
                         f"{x.shape}")
    cdef mg_index_t inc_g = 0 if g.shape == () else 1
    w = _same(op, "weight", weight, x)
    pw = _same(op, "pos_weight", pos_weight, x)
    cdef int nt = _threads(op, nthreads, x.size)
    cdef int code = _isa_code(op, isa)
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
                                  <float *>pgt, nt, code)
    else:
        with nogil:
            mg_bce_logits_bwd_f64(n, <const double *>px, <const double *>pt,
                                  <const double *>pwp, <const double *>ppw,
                                  <const double *>pg, inc_g, <double *>pgx,
                                  <double *>pgt, nt, code)
    return gx, gt


# -- fused loss + gradient entry points (the ops' hot path) --------------------
# Note [Fused loss calls]: on small problems (XOR's (4, 1), MNIST-like 64x10)
# the Python work per call, not the kernel, is the cost, so these take the
# whole loss in ONE call: validation with the C-API (no attribute lookups),
# the forward, the reduction and, when asked, the gradient of the reduced
# loss for an upstream gradient of 1, which the op's backward then only
# rescales. Reductions: 0 'none', 1 'mean', 2 'sum' (MG_REDUCE_*).

cdef int _REDUCE_NONE = 0
cdef int _REDUCE_MEAN = 1
cdef int _REDUCE_SUM = 2


cdef inline bint _is_float(object a, int typenum):
    return (cnp.PyArray_Check(a) and cnp.PyArray_TYPE(<cnp.ndarray>a) == typenum)


cdef cnp.ndarray _operand(str op, str name, object a, int typenum):
    """a as an aligned C-contiguous array of dtype typenum, or TypeError."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(f"{op}: {name} has dtype {arr.dtype}, expected "
                        f"{np.dtype(cnp.PyArray_TypeObjectFromType(typenum))}")
    return _behaved(arr, typenum)


cdef object _scalar(double v, int typenum):
    """A 0-d array of dtype typenum holding v."""
    cdef cnp.ndarray a = cnp.PyArray_EMPTY(0, NULL, typenum, 0)
    if typenum == cnp.NPY_FLOAT32:
        (<float *>cnp.PyArray_DATA(a))[0] = <float>v
    else:
        (<double *>cnp.PyArray_DATA(a))[0] = v
    return a


cdef int _check_reduction(str op, int reduction) except -1:
    if reduction < _REDUCE_NONE or reduction > _REDUCE_SUM:
        raise ArgumentError(f"{op}: reduction code must be 0, 1 or 2, got {reduction}")
    return 0


def xent_fused(x, target, weight=None, long ignore_index=-100,
               double label_smoothing=0.0, int reduction=1, bint grad=False,
               nthreads=None, isa=None):
    """Softmax cross-entropy of logits x (n, c) and int64 targets (n,), reduced
    ('none' 0, 'mean' 1, 'sum' 2), with its gradient in the same pass.

    Returns (out, lse, gx): out is the loss of each row (n,) for 'none', else
    a 0-d array (the weighted mean / sum, computed in double); lse (n,) is
    what :func:`xent_bwd` needs; gx (n, c) is the gradient of the reduced
    loss w.r.t. x (of each row's own loss for 'none') when grad is true,
    else None. Raises IndexError when a target is neither ignore_index nor
    in [0, c), before anything is computed.
    """
    op = "cross_entropy"
    if not (_is_float(x, cnp.NPY_FLOAT32) or _is_float(x, cnp.NPY_FLOAT64)):
        return _xent_fused_slow(x)
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>x)
    cdef cnp.ndarray xa = _operand(op, "input", x, tn)
    if cnp.PyArray_NDIM(xa) != 2:
        raise ShapeError(f"{op}: input must be 2-D (n, c), got shape {np.shape(xa)}")
    cdef mg_index_t n = cnp.PyArray_DIM(xa, 0), c = cnp.PyArray_DIM(xa, 1)
    cdef cnp.ndarray ta = _operand(op, "target", target, cnp.NPY_INT64)
    if cnp.PyArray_NDIM(ta) != 1 or cnp.PyArray_DIM(ta, 0) != n:
        raise ShapeError(f"{op}: target has shape {np.shape(ta)}, expected ({n},)")
    cdef cnp.ndarray wa = None
    if weight is not None:
        wa = _operand(op, "weight", weight, tn)
        if cnp.PyArray_NDIM(wa) != 1 or cnp.PyArray_DIM(wa, 0) != c:
            raise ShapeError(f"{op}: weight has shape {np.shape(wa)}, expected ({c},)")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{op}: label_smoothing must be in [0, 1], got "
                            f"{label_smoothing}")
    _check_reduction(op, reduction)
    if n > 0 and c == 0:
        raise ShapeError(f"{op}: input has no classes (shape {np.shape(xa)})")
    cdef int nt = _threads(op, nthreads, n * c)
    cdef int code = _isa_code(op, isa)
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray loss = cnp.PyArray_EMPTY(1, dims, tn, 0)
    cdef cnp.ndarray lse = cnp.PyArray_EMPTY(1, dims, tn, 0)
    cdef cnp.ndarray gx = None
    if grad:
        gx = cnp.PyArray_EMPTY(2, cnp.PyArray_DIMS(xa), tn, 0)
    cdef void *px = cnp.PyArray_DATA(xa)
    cdef const int64_t *pt = <const int64_t *>cnp.PyArray_DATA(ta)
    cdef void *pw = NULL if wa is None else cnp.PyArray_DATA(wa)
    cdef void *pl = cnp.PyArray_DATA(loss)
    cdef void *ps = cnp.PyArray_DATA(lse)
    cdef void *pg = NULL if gx is None else cnp.PyArray_DATA(gx)
    cdef double total = 0.0
    cdef int rc
    cdef int64_t ig = ignore_index
    if tn == cnp.NPY_FLOAT32:
        with nogil:
            rc = mg_xent_fwd_grad_f32(n, c, <const float *>px, pt,
                                      <const float *>pw, ig, label_smoothing,
                                      reduction, <float *>pl,
                                      <float *>ps, &total, <float *>pg, nt,
                                      code)
    else:
        with nogil:
            rc = mg_xent_fwd_grad_f64(n, c, <const double *>px, pt,
                                      <const double *>pw, ig, label_smoothing,
                                      reduction, <double *>pl,
                                      <double *>ps, &total, <double *>pg,
                                      nt, code)
    if rc != 0:
        raise IndexError(f"{op}: a target is out of range [0, {c}) and not "
                         f"ignore_index ({ignore_index})")
    if reduction == _REDUCE_NONE:
        out = loss
    elif n == 0 and reduction == _REDUCE_MEAN:
        out = _scalar(float("nan"), tn)
    else:
        out = _scalar(total, tn)
    return out, lse, gx


def _xent_fused_slow(x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"cross_entropy: input must be a numpy array, got "
                        f"{type(x).__name__}")
    raise TypeError(f"cross_entropy: input must be float32 or float64, got {x.dtype}")


cdef tuple _bce_operands(str op, object x, object t, object w, object pw):
    if not (_is_float(x, cnp.NPY_FLOAT32) or _is_float(x, cnp.NPY_FLOAT64)):
        _floats(op, "input", x)  # raises the right TypeError
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>x)
    cdef cnp.ndarray xa = _operand(op, "input", x, tn)
    cdef cnp.ndarray ta = _operand(op, "target", t, tn)
    cdef cnp.ndarray wa = None, pwa = None
    if not cnp.PyArray_SAMESHAPE(xa, ta):
        raise ShapeError(f"{op}: target has shape {np.shape(ta)}, expected "
                         f"{np.shape(xa)}")
    if w is not None:
        wa = _operand(op, "weight", w, tn)
        if not cnp.PyArray_SAMESHAPE(xa, wa):
            raise ShapeError(f"{op}: weight has shape {np.shape(wa)}, expected "
                             f"{np.shape(xa)}")
    if pw is not None:
        pwa = _operand(op, "pos_weight", pw, tn)
        if not cnp.PyArray_SAMESHAPE(xa, pwa):
            raise ShapeError(f"{op}: pos_weight has shape {np.shape(pwa)}, expected "
                             f"{np.shape(xa)}")
    return xa, ta, wa, pwa


cdef object _reduce_elems(cnp.ndarray loss, int reduction, int tn):
    """The loss array itself ('none'), or its sum / mean as a 0-d array,
    summed in double in order."""
    if reduction == _REDUCE_NONE:
        return loss
    cdef mg_index_t i, n = cnp.PyArray_SIZE(loss)
    cdef double acc = 0.0
    cdef const float *pf
    cdef const double *pd
    if tn == cnp.NPY_FLOAT32:
        pf = <const float *>cnp.PyArray_DATA(loss)
        for i in range(n):
            acc += pf[i]
    else:
        pd = <const double *>cnp.PyArray_DATA(loss)
        for i in range(n):
            acc += pd[i]
    if reduction == _REDUCE_MEAN:
        acc = acc / <double>n  # NaN for no elements, as PyTorch's mean
    return _scalar(acc, tn)


def bce_fused(x, target, weight=None, int reduction=1, bint input_grad=False,
              bint target_grad=False, nthreads=None, isa=None):
    """Binary cross-entropy of probabilities x (any shape) and target (x's
    shape and dtype), each log clamped at -100; weight, when given, has x's
    shape. Returns (out, gx, gt): the loss ('none': elementwise; else a 0-d
    sum or mean) and, when asked, the gradients of it for an upstream
    gradient of 1 (elementwise for 'none'), else None. Raises ValueError when
    an element of x is outside [0, 1] or NaN.
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    xa, ta, wa, _ = _bce_operands(op, x, target, weight, None)
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>xa)
    cdef mg_index_t n = cnp.PyArray_SIZE(<cnp.ndarray>xa)
    cdef int nt = _threads(op, nthreads, n)
    cdef int code = _isa_code(op, isa)
    cdef cnp.ndarray loss = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(<cnp.ndarray>xa),
                                              cnp.PyArray_DIMS(<cnp.ndarray>xa),
                                              tn, 0)
    cdef void *px = cnp.PyArray_DATA(<cnp.ndarray>xa)
    cdef void *pt = cnp.PyArray_DATA(<cnp.ndarray>ta)
    cdef void *pw = NULL if wa is None else cnp.PyArray_DATA(<cnp.ndarray>wa)
    cdef void *pl = cnp.PyArray_DATA(loss)
    cdef int rc
    if tn == cnp.NPY_FLOAT32:
        with nogil:
            rc = mg_bce_fwd_f32(n, <const float *>px, <const float *>pt,
                                <const float *>pw, <float *>pl, nt, code)
    else:
        with nogil:
            rc = mg_bce_fwd_f64(n, <const double *>px, <const double *>pt,
                                <const double *>pw, <double *>pl, nt, code)
    if rc != 0:
        raise ShapeError(f"{op}: all elements of input should be between 0 and 1 "
                         f"(input shape {np.shape(xa)})")
    out = _reduce_elems(loss, reduction, tn)
    if not (input_grad or target_grad):
        return out, None, None
    gx, gt = _bce_grads(xa, ta, wa, None, reduction, input_grad, target_grad,
                        nt, code, False)
    return out, gx, gt


cdef tuple _bce_grads(cnp.ndarray xa, cnp.ndarray ta, cnp.ndarray wa,
                      cnp.ndarray pwa, int reduction, bint input_grad,
                      bint target_grad, int nt, int code, bint logits):
    """The unit-upstream gradients of a (reduced) elementwise BCE."""
    cdef int tn = cnp.PyArray_TYPE(xa)
    cdef mg_index_t n = cnp.PyArray_SIZE(xa)
    cdef int nd = cnp.PyArray_NDIM(xa)
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(xa)
    gx = cnp.PyArray_EMPTY(nd, dims, tn, 0) if input_grad else None
    gt = cnp.PyArray_EMPTY(nd, dims, tn, 0) if target_grad else None
    cdef double s = 1.0 / <double>n if reduction == _REDUCE_MEAN and n else 1.0
    cdef float sf = <float>s
    cdef void *px = cnp.PyArray_DATA(xa)
    cdef void *pt = cnp.PyArray_DATA(ta)
    cdef void *pw = NULL if wa is None else cnp.PyArray_DATA(wa)
    cdef void *ppw = NULL if pwa is None else cnp.PyArray_DATA(pwa)
    cdef void *pgx = NULL if gx is None else cnp.PyArray_DATA(<cnp.ndarray>gx)
    cdef void *pgt = NULL if gt is None else cnp.PyArray_DATA(<cnp.ndarray>gt)
    if tn == cnp.NPY_FLOAT32:
        with nogil:
            if logits:
                mg_bce_logits_bwd_f32(n, <const float *>px, <const float *>pt,
                                      <const float *>pw, <const float *>ppw,
                                      &sf, 0, <float *>pgx, <float *>pgt, nt,
                                      code)
            else:
                mg_bce_bwd_f32(n, <const float *>px, <const float *>pt,
                               <const float *>pw, &sf, 0, <float *>pgx,
                               <float *>pgt, nt, code)
    else:
        with nogil:
            if logits:
                mg_bce_logits_bwd_f64(n, <const double *>px, <const double *>pt,
                                      <const double *>pw, <const double *>ppw,
                                      &s, 0, <double *>pgx, <double *>pgt, nt,
                                      code)
            else:
                mg_bce_bwd_f64(n, <const double *>px, <const double *>pt,
                               <const double *>pw, &s, 0, <double *>pgx,
                               <double *>pgt, nt, code)
    return gx, gt


def bce_logits_fused(x, target, weight=None, pos_weight=None,
                     int reduction=1, bint input_grad=False,
                     bint target_grad=False, nthreads=None, isa=None):
    """Binary cross-entropy with logits, as :func:`bce_fused` (weight and
    pos_weight, when given, have x's shape). Returns (out, gx, gt)."""
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    xa, ta, wa, pwa = _bce_operands(op, x, target, weight, pos_weight)
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>xa)
    cdef mg_index_t n = cnp.PyArray_SIZE(<cnp.ndarray>xa)
    cdef int nt = _threads(op, nthreads, n)
    cdef int code = _isa_code(op, isa)
    cdef cnp.ndarray loss = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(<cnp.ndarray>xa),
                                              cnp.PyArray_DIMS(<cnp.ndarray>xa),
                                              tn, 0)
    cdef void *px = cnp.PyArray_DATA(<cnp.ndarray>xa)
    cdef void *pt = cnp.PyArray_DATA(<cnp.ndarray>ta)
    cdef void *pw = NULL if wa is None else cnp.PyArray_DATA(<cnp.ndarray>wa)
    cdef void *ppw = NULL if pwa is None else cnp.PyArray_DATA(<cnp.ndarray>pwa)
    cdef void *pl = cnp.PyArray_DATA(loss)
    if tn == cnp.NPY_FLOAT32:
        with nogil:
            mg_bce_logits_fwd_f32(n, <const float *>px, <const float *>pt,
                                  <const float *>pw, <const float *>ppw,
                                  <float *>pl, nt, code)
    else:
        with nogil:
            mg_bce_logits_fwd_f64(n, <const double *>px, <const double *>pt,
                                  <const double *>pw, <const double *>ppw,
                                  <double *>pl, nt, code)
    out = _reduce_elems(loss, reduction, tn)
    if not (input_grad or target_grad):
        return out, None, None
    gx, gt = _bce_grads(xa, ta, wa, pwa, reduction, input_grad, target_grad,
                        nt, code, True)
    return out, gx, gt


def bce_fwd(x, target, weight=None, *, nthreads=None, isa=None):
    """Elementwise binary cross-entropy of probabilities (logs clamped at
    -100); weight, when given, has x's shape. ValueError if an element of x
    is outside [0, 1]."""
    out, _, _ = bce_fused(x, target, weight, reduction=_REDUCE_NONE,
                          nthreads=nthreads, isa=isa)
    return out


def bce_bwd(x, target, grad_out, weight=None, *, bint input_grad=True,
            bint target_grad=False, nthreads=None, isa=None):
    """Gradients of binary cross-entropy of probabilities: (grad_input or
    None, grad_target or None). grad_out has x's shape, or shape () for one
    value for every element."""
    op = "binary_cross_entropy_backward"
    xa, ta, wa, _ = _bce_operands(op, x, target, weight, None)
    cdef int tn = cnp.PyArray_TYPE(<cnp.ndarray>xa)
    g = <object>_operand(op, "grad_out", grad_out, tn)
    if g.ndim != 0 and g.shape != xa.shape:
        raise ShapeError(f"{op}: grad_out has shape {g.shape}, expected () or "
                         f"{xa.shape}")
    cdef mg_index_t inc_g = 0 if g.ndim == 0 else 1
    cdef mg_index_t n = cnp.PyArray_SIZE(<cnp.ndarray>xa)
    cdef int nt = _threads(op, nthreads, n)
    cdef int code = _isa_code(op, isa)
    gx = np.empty(xa.shape, dtype=xa.dtype) if input_grad else None
    gt = np.empty(xa.shape, dtype=xa.dtype) if target_grad else None
    if n == 0:
        return gx, gt
    cdef void *px = cnp.PyArray_DATA(<cnp.ndarray>xa)
    cdef void *pt = cnp.PyArray_DATA(<cnp.ndarray>ta)
    cdef void *pw = NULL if wa is None else cnp.PyArray_DATA(<cnp.ndarray>wa)
    cdef void *pg = cnp.PyArray_DATA(<cnp.ndarray>g)
    cdef void *pgx = NULL if gx is None else cnp.PyArray_DATA(<cnp.ndarray>gx)
    cdef void *pgt = NULL if gt is None else cnp.PyArray_DATA(<cnp.ndarray>gt)
    if tn == cnp.NPY_FLOAT32:
        with nogil:
            mg_bce_bwd_f32(n, <const float *>px, <const float *>pt,
                           <const float *>pw, <const float *>pg, inc_g,
                           <float *>pgx, <float *>pgt, nt, code)
    else:
        with nogil:
            mg_bce_bwd_f64(n, <const double *>px, <const double *>pt,
                           <const double *>pw, <const double *>pg, inc_g,
                           <double *>pgx, <double *>pgt, nt, code)
    return gx, gt
