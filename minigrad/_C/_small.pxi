# Small-array arithmetic for + - * (included by _core.pyx).
#
# Note [Small arrays]
# On a 4x4 operand a numpy ufunc call costs about 4.5k instructions (dtype
# resolution, loop selection, the errstate lookup, the output allocation) for
# 16 additions. ``small_binary`` is that call for the one case the per-op
# chains meet: exact ndarrays of one native float dtype (float32/float64), of
# one shape, C-contiguous and aligned, of at most SMALL_BYTES bytes, or such an
# array and a Python float/int. It returns None for anything else, and the op's
# ``forward`` (ops/elementwise.py: Add, Sub, Mul) then computes ``a + b`` with
# numpy: what the op computes stays written there, once.
#
# Bit-identical to numpy: IEEE addition, subtraction and multiplication are
# correctly rounded, so one operation per element in the operands' dtype (the
# scalar first converted to it, as numpy 2 does: Note [Python scalars] in
# elementwise.py) gives numpy's bits. Floating-point warnings stay numpy's: the
# loop clears the FP exception flags first, and when it raised any (overflow,
# underflow, invalid) or produced a NaN (whose payload depends on operand
# order), the result is dropped and numpy computes it again, warning (or
# raising) as its errstate says. Scalars whose conversion would round (ints
# beyond 2**24 / 2**53) or overflow or underflow (floats outside float32's
# normal range) are left to numpy too.
#
# SMALL_BYTES is the measured crossover (timeit, 1 thread, a * b): at 4 KiB
# (1,024 float32 / 512 float64) the loop still wins (324 vs 504 ns float32, 459
# vs 501 ns float64); at 8 KiB of float64 numpy's SIMD loops win (806 vs 645 ns).

cdef extern from "mg_small.h":
    int mg_small_f32(
        int op, int mode, const float *x, const float *y, float s, float *o,
        Py_ssize_t n
    ) nogil
    int mg_small_f64(
        int op, int mode, const double *x, const double *y, double s, double *o,
        Py_ssize_t n
    ) nogil
    double FLT_MAX
    double FLT_MIN

DEF SMALL_BYTES = 4096

# The op codes of small_binary.
SMALL_ADD = 0
SMALL_SUB = 1
SMALL_MUL = 2

# The ints that float32 / float64 hold exactly.
cdef object _EXACT32 = 2**24
cdef object _EXACT64 = 2**53

cdef int _SMALL_FLAGS = cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_ALIGNED


cdef inline bint _small_ok(object x, void *descr):
    """Whether ``x`` is an exact ndarray the loop takes, of dtype ``descr``."""
    return (
        type(x) is _ndarray
        and <void *>cnp.PyArray_DESCR(<cnp.ndarray>x) == descr
        and cnp.PyArray_CHKFLAGS(<cnp.ndarray>x, _SMALL_FLAGS)
    )


cdef inline int _small_kind(cnp.ndarray x, void *descr):
    """1 for a float32, 0 for a float64 array the loop takes (C-contiguous,
    aligned; ``descr`` its dtype), -1 otherwise."""
    if not cnp.PyArray_CHKFLAGS(x, _SMALL_FLAGS):
        return -1
    if descr == <void *>_F32:
        return 1
    return 0 if descr == <void *>_F64 else -1


cdef inline bint _small_scalar(object s, bint f32, double *out):
    """Converts the Python scalar ``s`` to double when the dtype takes it exactly
    as numpy would (see Note [Small arrays]); False otherwise."""
    cdef double v
    if type(s) is float:
        v = <double>s
        # beyond float32's range, or below its normal range: numpy's cast may
        # warn (overflow, underflow), ours is done before the flags are cleared
        if f32 and not (-FLT_MAX <= v <= FLT_MAX):
            return False
        if f32 and v != 0 and -FLT_MIN < v < FLT_MIN:
            return False
    elif type(s) is int:
        lim = _EXACT32 if f32 else _EXACT64
        if not (-lim <= s <= lim):
            return False
        v = <double>s
    else:
        return False
    out[0] = v
    return True


def small_binary(int op, a, b):
    """``a + b`` (op 0), ``a - b`` (1) or ``a * b`` (2) for small arrays, or
    None when numpy must compute it (Note [Small arrays])."""
    cdef cnp.ndarray x, y = None, o
    cdef int mode, nd, rc, i, kind
    cdef double s = 0.0
    cdef void *descr
    cdef bint f32
    if type(a) is _ndarray:
        x = <cnp.ndarray>a
        descr = <void *>cnp.PyArray_DESCR(x)
        kind = _small_kind(x, descr)
        if kind < 0:
            return None
        f32 = kind == 1
        if type(b) is _ndarray:
            if not _small_ok(b, descr):
                return None
            y = <cnp.ndarray>b
            nd = cnp.PyArray_NDIM(x)
            if cnp.PyArray_NDIM(y) != nd:
                return None
            for i in range(nd):
                if cnp.PyArray_DIM(x, i) != cnp.PyArray_DIM(y, i):
                    return None
            mode = 0
        elif _small_scalar(b, f32, &s):
            mode = 1
        else:
            return None
    elif type(b) is _ndarray:
        x = <cnp.ndarray>b
        descr = <void *>cnp.PyArray_DESCR(x)
        kind = _small_kind(x, descr)
        if kind < 0 or not _small_scalar(a, kind == 1, &s):
            return None
        f32 = kind == 1
        mode = 2
    else:
        return None
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(x)
    nd = cnp.PyArray_NDIM(x)
    if n == 0 or n * (4 if f32 else 8) > SMALL_BYTES or nd == 0:
        return None
    o = cnp.PyArray_EMPTY(
        nd, cnp.PyArray_DIMS(x), cnp.NPY_FLOAT32 if f32 else cnp.NPY_FLOAT64, 0
    )
    if f32:
        rc = mg_small_f32(
            op, mode, <float *>cnp.PyArray_DATA(x),
            <float *>cnp.PyArray_DATA(y) if mode == 0 else NULL, <float>s,
            <float *>cnp.PyArray_DATA(o), n,
        )
    else:
        rc = mg_small_f64(
            op, mode, <double *>cnp.PyArray_DATA(x),
            <double *>cnp.PyArray_DATA(y) if mode == 0 else NULL, s,
            <double *>cnp.PyArray_DATA(o), n,
        )
    return None if rc else o
