"""Cython wrapper for csrc/optim: validate a whole parameter group while
holding the GIL, then update every parameter in one C call without it.

Layer: _C. Knows nothing of Tensors: the optimizers in minigrad/optim pass
numpy arrays (contract in csrc/mg_optim.h).
"""

import numpy as np
from minigrad.errors import ArgumentError, ShapeError

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t
from libc.stdlib cimport qsort

cnp.import_array()

cdef extern from "mg_common.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int mg_threads_max() noexcept

cdef extern from "mg_cpu.h" nogil:
    int mg_cpu_has_isa(int isa) noexcept

# The instruction sets, in the order of csrc/mg_cpu.h's MG_ISA_* codes.
ISAS = ("generic", "avx2", "avx512")

ctypedef int (*optim_fn)(mg_index_t, const mg_index_t *, void *const *,
                         const void *const *, void *const *, void *const *,
                         void *const *, const int64_t *, const unsigned char *,
                         const double *, int, int, int) noexcept nogil

cdef extern from "mg_optim.h" nogil:
    int mg_optim_sgd_f32(mg_index_t, const mg_index_t *, void *const *,
                         const void *const *, void *const *, void *const *,
                         void *const *, const int64_t *, const unsigned char *,
                         const double *, int, int, int) noexcept
    int mg_optim_sgd_f64(mg_index_t, const mg_index_t *, void *const *,
                         const void *const *, void *const *, void *const *,
                         void *const *, const int64_t *, const unsigned char *,
                         const double *, int, int, int) noexcept
    int mg_optim_adam_f32(mg_index_t, const mg_index_t *, void *const *,
                          const void *const *, void *const *, void *const *,
                          void *const *, const int64_t *,
                          const unsigned char *, const double *, int,
                          int, int) noexcept
    int mg_optim_adam_f64(mg_index_t, const mg_index_t *, void *const *,
                          const void *const *, void *const *, void *const *,
                          void *const *, const int64_t *,
                          const unsigned char *, const double *, int,
                          int, int) noexcept
    int mg_optim_rmsprop_f32(mg_index_t, const mg_index_t *, void *const *,
                             const void *const *, void *const *,
                             void *const *, void *const *, const int64_t *,
                             const unsigned char *, const double *, int,
                             int, int) noexcept
    int mg_optim_rmsprop_f64(mg_index_t, const mg_index_t *, void *const *,
                             const void *const *, void *const *,
                             void *const *, void *const *, const int64_t *,
                             const unsigned char *, const double *, int,
                             int, int) noexcept
    int mg_optim_adagrad_f32(mg_index_t, const mg_index_t *, void *const *,
                             const void *const *, void *const *,
                             void *const *, void *const *, const int64_t *,
                             const unsigned char *, const double *, int,
                             int, int) noexcept
    int mg_optim_adagrad_f64(mg_index_t, const mg_index_t *, void *const *,
                             const void *const *, void *const *,
                             void *const *, void *const *, const int64_t *,
                             const unsigned char *, const double *, int,
                             int, int) noexcept

# op: (number of hyperparameters, names of the hyperparameters)
OPS = {
    "sgd": ("lr", "momentum", "dampening", "weight_decay", "nesterov",
            "maximize"),
    "adam": ("lr", "beta1", "beta2", "eps", "weight_decay", "decoupled",
             "amsgrad", "maximize"),
    "rmsprop": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered",
                "maximize"),
    "adagrad": ("lr", "lr_decay", "weight_decay", "eps", "maximize"),
}
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _needs(str op, tuple hp):
    """(s0, s1, s2, step, flag): which inputs the call reads (mg_optim.h)."""
    if op == "sgd":
        m = hp[1] != 0
        return (m, False, False, False, m)
    if op == "adam":
        return (True, True, hp[6] != 0, True, False)
    if op == "rmsprop":
        return (True, hp[5] != 0, hp[4] > 0, False, False)
    return (True, False, False, True, False)


cdef object _get_num_threads = None  # minigrad.backend's, imported on first use


cdef int _threads(object nthreads) except -1:
    global _get_num_threads
    if nthreads is None:
        if _get_num_threads is None:
            from minigrad.backend import get_num_threads
            _get_num_threads = get_num_threads
        return _get_num_threads()
    if not isinstance(nthreads, int) or isinstance(nthreads, bool) or nthreads < 1:
        raise ArgumentError(
            f"fused optimizer step: nthreads must be a positive int, got {nthreads!r}")
    if nthreads > mg_threads_max():  # capped, with a warning: Note [Thread cap]
        from minigrad.backend import _cap_threads
        return _cap_threads("fused optimizer step", nthreads, mg_threads_max(), 2)
    return nthreads


cdef size_t _check(str op, str what, Py_ssize_t k, object a, object dtype,
                   mg_index_t size, bint write) except 0:
    """The data address of ``a`` (``what[k]`` of the call), once it is an
    array the kernel may read (and write, if ``write``). C-level checks: this
    runs for every array of every step (with ``.flags`` and
    ``__array_interface__`` lookups, a 6-parameter Adam group took 48 us here,
    now 9.5)."""
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"fused {op} step: {what}[{k}] must be a numpy array, got "
                        f"{type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if <object>cnp.PyArray_DESCR(arr) is not dtype and a.dtype != dtype:
        # != also refuses a byte-swapped float
        raise TypeError(f"fused {op} step: {what}[{k}] has dtype {a.dtype}, "
                        f"expected {dtype} (all arrays of a fused step share one "
                        "dtype)")
    if cnp.PyArray_SIZE(arr) != size:
        raise ShapeError(f"fused {op} step: {what}[{k}] has {a.size} elements, "
                         f"its parameter has {size}")
    if not (cnp.PyArray_IS_C_CONTIGUOUS(arr) and cnp.PyArray_ISALIGNED(arr)):
        raise ArgumentError(f"fused {op} step: {what}[{k}] must be C-contiguous "
                            f"and aligned, got strides {a.strides}")
    if write and not cnp.PyArray_ISWRITEABLE(arr):
        raise ArgumentError(f"fused {op} step: {what}[{k}] is read-only")
    # never 0: numpy gives even an empty array a non-NULL data pointer
    return <size_t>cnp.PyArray_DATA(arr)


def group_problem(list params, list grads):
    """None when ``step`` would accept ``params`` and ``grads`` (one float dtype,
    C-contiguous, aligned, as many elements as each parameter, parameters
    writeable), else what it would refuse, in words. The optimizers' auto mode
    asks this to choose between the fused step and numpy (optim/_fused.py):
    the same checks as ``step``'s, in C (~0.1 us a parameter)."""
    cdef Py_ssize_t n = len(params), k
    if len(grads) != n:
        return f"{n} parameters but {len(grads)} gradients"
    if n == 0:
        return None
    dtype = params[0].dtype if isinstance(params[0], cnp.ndarray) else None
    if dtype != _F32 and dtype != _F64:
        got = dtype if dtype is not None else type(params[0]).__name__
        return f"parameters must be float32 or float64 numpy arrays, got {got}"
    cdef mg_index_t size
    try:
        for k in range(n):
            a = params[k]
            size = cnp.PyArray_SIZE(<cnp.ndarray>a) if isinstance(a, cnp.ndarray) else 0
            _check("sgd", "params", k, a, dtype, size, True)
            _check("sgd", "grads", k, grads[k], dtype, size, False)
    except (ArgumentError, ShapeError, TypeError) as e:
        return str(e).removeprefix("fused sgd step: ")
    return None


# Note [Fused step call cost]
# A small network's whole step is a few microseconds, so the wrapper's fixed
# cost decides whether the fused step pays (optim/_fused.py AUTO_MIN_ELEMENTS).
# The per-call arrays (segment lengths, pointers, step counts, flags,
# hyperparameters) live in one PyMem_Malloc block instead of five numpy
# arrays, and the overlap check sorts C structs with qsort instead of Python
# tuples: 4.2 -> ~1 us for a 4-parameter SGD group.
# The state lists' names for _check's messages (an f-string per array and
# step cost ~3k instructions of a 6-parameter Adam step). isinstance tests
# name cnp.ndarray, a C type check, not np.ndarray, a module attribute
# lookup on every array.
cdef tuple _STATE_NAMES = ("state0", "state1", "state2")


cdef struct _Range:
    size_t start
    size_t end
    int written


cdef int _range_cmp(const void *a, const void *b) noexcept nogil:
    """Orders ranges by start, then end, then written (as tuples sort)."""
    cdef const _Range *x = <const _Range *>a
    cdef const _Range *y = <const _Range *>b
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.end != y.end:
        return -1 if x.end < y.end else 1
    return x.written - y.written


def step(str op, list params, list grads, list state0, list state1,
         list state2, steps, flags, tuple hp, *, nthreads=None, isa=None):
    """Updates every parameter of a group in one C call.

    Parameters
    ----------
    op : str
        One of ``OPS``.
    params, grads : list of ndarray
        One parameter and its gradient per segment: float32 or float64 (one
        dtype for the whole call), C-contiguous, aligned; params writeable.
    state0, state1, state2 : list of ndarray or None
        The state arrays of each parameter (see csrc/mg_optim.h for which the
        options need; an unneeded list may be None).
    steps : list of int or None
        Each parameter's step count after this step (Adam, Adagrad).
    flags : list of bool or None
        SGD with momentum: whether each parameter's buffer is new.
    hp : tuple of float
        The hyperparameters, in the order ``OPS[op]`` names them.
    nthreads : int, optional
    isa : {"generic", "avx2", "avx512"} or None
        The loops to run (csrc/optim/optim.c, Note [Optimizer ISA]); None,
        the best this CPU has. Every choice gives the same bits.

    Raises
    ------
    ArgumentError, ShapeError, TypeError
        Before anything is written: an unknown op, a wrong count, a dtype mix,
        a layout the kernel cannot read, a read-only output, or two arrays of
        the call overlapping where one of them is written.
    """
    names = OPS.get(op)
    if names is None:
        raise ArgumentError(f"fused optimizer step: unknown optimizer {op!r}; "
                            f"expected one of {tuple(OPS)}")
    if len(hp) != len(names):
        raise ArgumentError(f"fused {op} step: expected {len(names)} "
                            f"hyperparameters {names}, got {len(hp)}")
    hp = tuple([float(h) for h in hp])
    cdef Py_ssize_t n = len(params), k, j
    if len(grads) != n:
        raise ArgumentError(f"fused {op} step: {n} params but {len(grads)} grads")
    need = _needs(op, hp)
    lists = (state0, state1, state2)
    for j in range(3):
        if need[j] and (lists[j] is None or len(lists[j]) != n):
            raise ArgumentError(f"fused {op} step: state{j} must be a list of {n} "
                                "arrays with these options")
    if need[3] and (steps is None or len(steps) != n):
        raise ArgumentError(f"fused {op} step: steps must give {n} counts")
    if need[4] and (flags is None or len(flags) != n):
        raise ArgumentError(f"fused {op} step: flags must give {n} values")
    cdef int nt = _threads(nthreads)
    cdef int code = -1
    if isa is not None:
        if isa not in ISAS:
            raise ArgumentError(f"fused {op} step: unknown instruction set {isa!r}; "
                                f"expected one of {ISAS}")
        code = ISAS.index(isa)
        if not mg_cpu_has_isa(code):
            raise ArgumentError(f"fused {op} step: this CPU cannot run the {isa!r} "
                                "loops")
    if n == 0:
        return
    dtype = params[0].dtype if isinstance(params[0], cnp.ndarray) else None
    if dtype != _F32 and dtype != _F64:
        got = dtype if dtype is not None else type(params[0]).__name__
        raise TypeError(f"fused {op} step: parameters must be float32 or float64 "
                        f"numpy arrays, got {got}")

    # One block for the call's arrays (Note [Fused step call cost]): lens (n),
    # the 5 x n pointer table, steps (n), the ranges (up to 5n), hp, flags (n).
    cdef Py_ssize_t nh = len(hp)
    cdef size_t nbytes_all = (n * sizeof(mg_index_t) + 5 * n * sizeof(size_t)
                              + n * sizeof(int64_t) + 5 * n * sizeof(_Range)
                              + nh * sizeof(double) + n)
    cdef char *block = <char *>PyMem_Malloc(nbytes_all)
    if block == NULL:
        raise MemoryError()
    cdef mg_index_t *lp = <mg_index_t *>block
    cdef size_t *pp = <size_t *>(lp + n)
    cdef int64_t *sp = <int64_t *>(pp + 5 * n)
    cdef _Range *rg = <_Range *>(sp + n)
    cdef double *H = <double *>(rg + 5 * n)
    cdef unsigned char *fp = <unsigned char *>(H + nh)
    cdef Py_ssize_t nr = 0, i
    cdef mg_index_t size
    cdef size_t addr, nbytes, end_all, end_written
    cdef optim_fn fn
    cdef int rc = 0
    cdef mg_index_t nseg = n
    cdef void **P = <void **>pp
    # dtype is None when params[0] is no array (np.dtype(None) == float64):
    # _check then refuses it
    cdef size_t itemsize = dtype.itemsize if dtype is not None else 0
    try:
        for k in range(nh):
            H[k] = hp[k]
        for k in range(n):
            sp[k] = 1
            fp[k] = 0
            for j in range(5):
                pp[j * n + k] = 0
        for k in range(n):
            a = params[k]
            size = cnp.PyArray_SIZE(<cnp.ndarray>a) if isinstance(a, cnp.ndarray) else 0
            lp[k] = size
            nbytes = <size_t>size * itemsize
            for j in range(5):
                if j == 0:
                    addr = _check(op, "params", k, a, dtype, size, True)
                elif j == 1:
                    addr = _check(op, "grads", k, grads[k], dtype, size, False)
                elif need[j - 2]:
                    addr = _check(op, _STATE_NAMES[j - 2], k, lists[j - 2][k], dtype,
                                  size, True)
                else:
                    continue
                pp[j * n + k] = addr
                if size:
                    rg[nr].start = addr
                    rg[nr].end = addr + nbytes
                    rg[nr].written = j != 1
                    nr += 1
            if need[3]:
                t = steps[k]
                if type(t) is not int and (
                        not isinstance(t, (int, np.integer)) or isinstance(t, bool)) \
                        or t < 1 or t >= 2**63:
                    raise ArgumentError(f"fused {op} step: steps[{k}] must be an "
                                        f"int >= 1, got {t!r}")
                sp[k] = t
            if need[4]:
                fp[k] = 1 if flags[k] else 0
        # Overlap where one side is written: sorted by start, each range
        # against the furthest end reached so far (of all ranges, of written
        # ones).
        qsort(rg, nr, sizeof(_Range), _range_cmp)
        end_all = end_written = 0
        for i in range(nr):
            if rg[i].start < end_written or (rg[i].written and rg[i].start < end_all):
                raise ArgumentError(f"fused {op} step: two arrays of the group "
                                    "overlap in memory and one of them is written")
            if rg[i].end > end_all:
                end_all = rg[i].end
            if rg[i].written and rg[i].end > end_written:
                end_written = rg[i].end

        f64 = dtype == _F64
        if op == "sgd":
            fn = mg_optim_sgd_f64 if f64 else mg_optim_sgd_f32
        elif op == "adam":
            fn = mg_optim_adam_f64 if f64 else mg_optim_adam_f32
        elif op == "rmsprop":
            fn = mg_optim_rmsprop_f64 if f64 else mg_optim_rmsprop_f32
        else:
            fn = mg_optim_adagrad_f64 if f64 else mg_optim_adagrad_f32
        with nogil:
            rc = fn(nseg, lp, P, <const void *const *>(P + nseg), P + 2 * nseg,
                    P + 3 * nseg, P + 4 * nseg, sp, fp, H, <int>nh, nt, code)
    finally:
        PyMem_Free(block)
    if rc != 0:
        raise RuntimeError(f"fused {op} step: the kernel refused its arguments")
