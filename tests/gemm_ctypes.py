"""mg_gemm_f32 / mg_gemm_f64 called straight through ctypes, bypassing every
check of the Cython wrapper: the C entry points must validate their own
arguments (C never trusts its caller). Used by test_thread_cap.py and
test_gemm_hardening.py, also from subprocesses (hence a module of its own)."""

from __future__ import annotations

import ctypes

import numpy as np

from minigrad._C import _gemm

# Status codes of csrc/mg_gemm.h.
OK, ENOMEM, EISA, EARG, ESIZE = 0, 1, 2, 3, 4
PATHS = {"auto": 0, "packed": 1, "direct": 2, "ref": 3}


class Opts(ctypes.Structure):
    """struct mg_gemm_opts."""

    _fields_ = [
        ("isa", ctypes.c_int),
        ("num_threads", ctypes.c_int),
        ("path", ctypes.c_int),
        ("mc", ctypes.c_ssize_t),
        ("kc", ctypes.c_ssize_t),
        ("nc", ctypes.c_ssize_t),
    ]


def _fn(dtype):
    lib = ctypes.CDLL(_gemm.__file__)
    f = lib.mg_gemm_f32 if np.dtype(dtype) == np.float32 else lib.mg_gemm_f64
    real = ctypes.c_float if np.dtype(dtype) == np.float32 else ctypes.c_double
    sz, p = ctypes.c_ssize_t, ctypes.c_void_p
    f.argtypes = [sz, sz, sz, real, p, sz, sz, p, sz, sz, real, p, sz, sz, p,
                  sz, ctypes.c_int, ctypes.POINTER(Opts)]  # fmt: skip
    f.restype = ctypes.c_int
    return f


def call(m, n, k, a, rs_a, cs_a, b, rs_b, cs_b, c, rs_c, cs_c, *, dtype=np.float64,
         threads=1, path="auto", blocks=(0, 0, 0), bias=None, inc_bias=0,
         isa=-1):  # fmt: skip
    """C = A B with raw pointers (ints or None) and element strides; returns
    the C status."""
    opts = Opts(isa, threads, PATHS[path], *blocks)
    return _fn(dtype)(m, n, k, 1.0, a, rs_a, cs_a, b, rs_b, cs_b, 0.0, c, rs_c,
                      cs_c, bias, inc_bias, 0, ctypes.byref(opts))  # fmt: skip


def call_arrays(a, b, c, **kw):
    """call() on 2-D arrays a (m, k), b (k, n), c (m, n) of one dtype."""
    isz = a.itemsize
    (m, k), n = a.shape, b.shape[1]
    return call(m, n, k, a.ctypes.data, a.strides[0] // isz, a.strides[1] // isz,
                b.ctypes.data, b.strides[0] // isz, b.strides[1] // isz,
                c.ctypes.data, c.strides[0] // isz, c.strides[1] // isz,
                dtype=a.dtype, **kw)  # fmt: skip
