# Operand checks shared by _conv.pyx and _pool.pyx (textually included: both
# modules take whole-array operands and geometry tuples the same way).

_MAX_THREADS = 1024


cdef object _array(str op, str name, object a, object dtype=None):
    """`a` as an aligned, C-contiguous, native-byte-order array (copied only
    when needed), float32/float64 unless `dtype` (int64) is given."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got "
                        f"{type(a).__name__}")
    dt = a.dtype
    if dtype is None:
        if dt.kind != "f" or dt.itemsize not in (4, 8):
            raise TypeError(f"{op}: {name} must be float32 or float64, got {dt}")
    elif dt.kind != "i" or dt.itemsize != 8:
        raise TypeError(f"{op}: {name} must be int64, got {dt}")
    if not dt.isnative:
        a = a.astype(dt.newbyteorder("="))
    if not (a.flags.c_contiguous and a.flags.aligned):
        a = np.array(a, order="C")
    return a


cdef tuple _ints(str op, str name, object v, int nd, int lo):
    """`v` as a tuple of `nd` Python ints, each >= lo."""
    if not isinstance(v, tuple) or len(v) != nd:
        raise ArgumentError(f"{op}: {name} must be a tuple of {nd} ints, got "
                            f"{v!r}")
    for e in v:
        if not isinstance(e, (int, np.integer)) or isinstance(e, bool) or e < lo:
            raise ArgumentError(f"{op}: {name} must hold ints >= {lo}, got {v!r}")
    return tuple(int(e) for e in v)


cdef int _threads(str op, object n) except -1:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ArgumentError(f"{op}: num_threads must be a positive int, got {n!r}")
    return min(n, _MAX_THREADS)
