"""dtypes and PyTorch's type promotion. Layer: bottom; imports numpy and errors.

minigrad's dtypes are numpy dtypes: float32 (the default for Python floats),
float64, int64 (labels, indices) and bool (masks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ShapeError

__all__ = [
    "DTypeError",
    "bool_",
    "float32",
    "float64",
    "int64",
    "result_type",
    "to_array",
]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)


class DTypeError(TypeError, RuntimeError):
    """A tensor of the wrong dtype for the request (an int tensor asked to require
    grad). A TypeError, as minigrad's style wants for dtypes, and a RuntimeError,
    which is what PyTorch raises there, so code written for either catches it."""


SUPPORTED = (float32, float64, int64, bool_)
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}
_DEFAULT_FOR = {0: bool_, 1: int64, 2: float32}


def canonical_dtype(dtype: Any, op: str = "tensor") -> np.dtype:
    """Maps a requested dtype (numpy dtype, type or name) to a supported one."""
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    d = np.dtype(dtype)
    if d in SUPPORTED:
        return d
    raise DTypeError(
        f"{op}: unsupported dtype {d}; minigrad supports float32, float64, int64, bool"
    )


def to_array(data: Any, dtype: Any = None, copy: bool = True) -> np.ndarray:
    """Converts Python data or an array to a numpy array of a supported dtype.

    Python floats become float32, ints int64, bools bool; a numpy array keeps a
    supported dtype (other floats become float32, other integers int64).
    """
    try:
        if dtype is not None:
            d = canonical_dtype(dtype)
            return np.array(data, dtype=d, copy=copy or None)
        if isinstance(data, np.ndarray):
            arr = np.array(data, copy=copy or None)
        else:
            arr = np.asarray(data)
            if arr.dtype == np.float64 and not _has_float64(data):
                arr = arr.astype(np.float32)
    except ValueError as e:
        if "inhomogeneous" in str(e):
            raise ShapeError(
                f"tensor: nested sequences of different lengths cannot make a "
                f"tensor ({e})"
            ) from None
        raise ArgumentError(f"tensor: {e}") from None
    if not arr.dtype.isnative:
        # Byte-swapped ('>f8' on x86): the same values in this CPU's byte
        # order, keeping the width (not float32 for '>f8'); the C kernels
        # read native numbers only.
        arr = arr.astype(arr.dtype.newbyteorder("="))
    kind = arr.dtype.kind
    if arr.dtype in SUPPORTED:
        return arr
    if kind == "f":
        return arr.astype(float32)
    if kind in "iu":
        return arr.astype(int64)
    if kind == "b":
        return arr.astype(bool_)
    raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype}")


def _has_float64(data: Any) -> bool:
    """Whether nested Python data holds a float64 numpy array or scalar."""
    if isinstance(data, (np.ndarray, np.floating)):
        return data.dtype == np.float64
    if isinstance(data, (list, tuple)):
        return any(_has_float64(d) for d in data)
    if hasattr(data, "dtype") and hasattr(data, "data"):  # a Tensor in a list
        return data.dtype == np.float64
    return False


_promo_cache: dict[tuple[Any, Any], np.dtype] = {}


def result_type(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promotion of two tensor dtypes (int64 + float32 -> float32)."""
    key = (a, b)
    r = _promo_cache.get(key)
    if r is None:
        ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
        if ca != cb:
            r = a if ca > cb else b
        else:
            r = np.promote_types(a, b)
        _promo_cache[key] = r
    return r


def scalar_result_type(t: np.dtype, scalar: Any) -> np.dtype:
    """dtype of ``tensor op python_scalar``: the tensor wins within a category."""
    if isinstance(scalar, (bool, np.bool_)):
        cs = 0
    elif isinstance(scalar, (int, np.integer)):
        cs = 1
    else:
        cs = 2
    ct = _CATEGORY[t.kind]
    return t if ct >= cs else _DEFAULT_FOR[cs]
