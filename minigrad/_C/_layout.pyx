"""Cython wrapper for csrc/layout: a C-order copy of an array, with a tiled
transpose for the 2-D column-major case (Note [Transposing copy] in
csrc/layout/transpose_copy.c).

Layer: _C. Knows numpy and the C kernel, nothing of autograd.
"""

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef extern from "mg_layout.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    int mg_transpose_copy_f32(mg_index_t, mg_index_t, const float *, mg_index_t,
                              float *, int) noexcept
    int mg_transpose_copy_f64(mg_index_t, mg_index_t, const double *,
                              mg_index_t, double *, int) noexcept

__all__ = ["c_order_copy"]

# Below this many values numpy's own transposing copy is as fast (measured,
# float32: 64 x 64 1.7 us numpy, 2.1 us tiled; 128 x 128 14.4 us, 3.2 us).
_TILED_MIN = 8192


def c_order_copy(a, *, isa=None):
    """A new C-contiguous array equal to ``a`` (as ``a.copy()``).

    A 2-D float32/float64 array whose columns are contiguous (a transpose of
    a C-contiguous array, or of its row slice), native byte order and
    aligned, is copied by the tiled kernel: from ``_TILED_MIN`` values, or
    at any size when ``isa`` is given. Any other array is copied by numpy,
    whose transposing copy is as fast on small arrays.
    ``isa``: None (the best this CPU runs), 'generic', 'avx2' or 'avx512'.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"c_order_copy: a must be a numpy array, got "
                        f"{type(a).__name__}")
    cdef int code = -1
    if isa is not None:  # the names and checks are _act's, as for _softmax
        from minigrad._C._act import isa_code
        code = isa_code("c_order_copy", isa)
    cdef cnp.ndarray src = <cnp.ndarray>a
    if src.ndim != 2 or (code < 0 and cnp.PyArray_SIZE(src) < _TILED_MIN):
        return src.copy()
    dt = src.dtype
    if (dt.kind != "f" or dt.itemsize not in (4, 8)
            or not dt.isnative or not src.flags.aligned):
        return src.copy()
    cdef Py_ssize_t isz = dt.itemsize
    cdef Py_ssize_t rows = src.shape[0], cols = src.shape[1]
    cdef Py_ssize_t rs = src.strides[0], cs = src.strides[1]
    # Columns contiguous: unit row step, column step a whole multiple of the
    # element size covering a column. Anything else (C order, negative or
    # zero steps, one row or column) numpy copies well.
    if rows < 2 or cols < 2 or rs != isz or cs % isz != 0 or cs // isz < rows:
        return src.copy()
    cdef Py_ssize_t ld = cs // isz
    cdef cnp.ndarray out = np.empty((rows, cols), dtype=dt)
    cdef int rc
    if isz == 4:
        with nogil:
            rc = mg_transpose_copy_f32(rows, cols, <const float *>src.data, ld,
                                       <float *>out.data, code)
    else:
        with nogil:
            rc = mg_transpose_copy_f64(rows, cols, <const double *>src.data, ld,
                                       <double *>out.data, code)
    if rc != 0:
        raise RuntimeError(f"c_order_copy: the kernel refused a {rows}x{cols} "
                           f"{dt} copy with leading dimension {ld}")
    return out
