"""Cython wrapper for csrc/optim: validate a whole parameter group while
holding the GIL, then update every parameter in one C call without it.

Layer: _C. Knows nothing of Tensors: the optimizers in minigrad/optim pass
numpy arrays (contract in csrc/mg_optim.h).
"""

import numpy as np
from minigrad.errors import ArgumentError, ShapeError

cimport numpy as cnp
from libc.stdint cimport int64_t

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


cdef int _threads(object nthreads) except -1:
    if nthreads is None:
        from minigrad.backend import get_num_threads
        return get_num_threads()
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
    if not isinstance(a, np.ndarray):
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
    hp = tuple(float(h) for h in hp)
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
    dtype = params[0].dtype if isinstance(params[0], np.ndarray) else None
    if dtype != _F32 and dtype != _F64:
        got = dtype if dtype is not None else type(params[0]).__name__
        raise TypeError(f"fused {op} step: parameters must be float32 or float64 "
                        f"numpy arrays, got {got}")

    cdef cnp.ndarray lens = np.empty(n, np.intp)
    cdef cnp.ndarray ptrs = np.zeros((5, n), np.uintp)
    cdef cnp.ndarray st = np.ones(n, np.int64)
    cdef cnp.ndarray fl = np.zeros(n, np.uint8)
    cdef cnp.ndarray hpa = np.array(hp, np.float64)
    cdef mg_index_t *lp = <mg_index_t *>cnp.PyArray_DATA(lens)
    cdef size_t *pp = <size_t *>cnp.PyArray_DATA(ptrs)
    cdef int64_t *sp = <int64_t *>cnp.PyArray_DATA(st)
    cdef unsigned char *fp = <unsigned char *>cnp.PyArray_DATA(fl)
    cdef mg_index_t size
    cdef size_t addr, nbytes
    cdef bint write
    # dtype is None when params[0] is no array (np.dtype(None) == float64):
    # _check then refuses it
    cdef size_t itemsize = dtype.itemsize if dtype is not None else 0
    ranges = []  # (start, end, written)
    for k in range(n):
        a = params[k]
        size = cnp.PyArray_SIZE(<cnp.ndarray>a) if isinstance(a, np.ndarray) else 0
        lp[k] = size
        nbytes = <size_t>size * itemsize
        for j in range(5):
            if j == 0:
                addr = _check(op, "params", k, a, dtype, size, True)
            elif j == 1:
                addr = _check(op, "grads", k, grads[k], dtype, size, False)
            elif need[j - 2]:
                addr = _check(op, f"state{j - 2}", k, lists[j - 2][k], dtype, size,
                              True)
            else:
                continue
            pp[j * n + k] = addr
            if size:
                ranges.append((addr, addr + nbytes, j != 1))
        if need[3]:
            t = steps[k]
            if not isinstance(t, (int, np.integer)) or isinstance(t, bool) or t < 1 \
                    or t >= 2**63:
                raise ArgumentError(f"fused {op} step: steps[{k}] must be an int "
                                    f">= 1, got {t!r}")
            sp[k] = t
        if need[4]:
            fp[k] = 1 if flags[k] else 0
    # Overlap where one side is written: sorted by start, each range against
    # the furthest end reached so far (of all ranges, of written ones).
    ranges.sort()
    end_all = end_written = 0
    for start, end, write in ranges:
        if start < end_written or (write and start < end_all):
            raise ArgumentError(f"fused {op} step: two arrays of the group overlap "
                                "in memory and one of them is written")
        end_all = max(end_all, end)
        if write:
            end_written = max(end_written, end)

    cdef optim_fn fn
    f64 = dtype == _F64
    if op == "sgd":
        fn = mg_optim_sgd_f64 if f64 else mg_optim_sgd_f32
    elif op == "adam":
        fn = mg_optim_adam_f64 if f64 else mg_optim_adam_f32
    elif op == "rmsprop":
        fn = mg_optim_rmsprop_f64 if f64 else mg_optim_rmsprop_f32
    else:
        fn = mg_optim_adagrad_f64 if f64 else mg_optim_adagrad_f32
    cdef void **P = <void **>cnp.PyArray_DATA(ptrs)
    cdef const mg_index_t *L = <const mg_index_t *>cnp.PyArray_DATA(lens)
    cdef const int64_t *S = <const int64_t *>cnp.PyArray_DATA(st)
    cdef const unsigned char *F = <const unsigned char *>cnp.PyArray_DATA(fl)
    cdef const double *H = <const double *>cnp.PyArray_DATA(hpa)
    cdef int nh = len(hp), rc
    cdef mg_index_t nseg = n
    with nogil:
        rc = fn(nseg, L, P, <const void *const *>(P + nseg), P + 2 * nseg,
                P + 3 * nseg, P + 4 * nseg, S, F, H, nh, nt, code)
    if rc != 0:
        raise RuntimeError(f"fused {op} step: the kernel refused its arguments")
