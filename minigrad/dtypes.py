"""dtypes and PyTorch's type promotion of dtypes. Layer: bottom; imports numpy
and errors.

minigrad's dtypes are numpy dtypes, named as PyTorch names them: float32 (the
default for Python floats), float64, float16, int64 (labels, indices), int32,
int16, int8, uint8 and bool (masks). float16 tensors compute in float32 and
round back, as PyTorch on the CPU.

bfloat16 is not supported: numpy has no bfloat16, and the one that ml_dtypes
adds is not a numpy floating dtype (its kind is 'V'), so nothing in numpy or
minigrad would treat it as a float. ``mg.bfloat16`` raises a clear error.

The promotion of operands (0-d tensors, Python scalars), can_cast, finfo and
iinfo are in :mod:`minigrad.typeinfo`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ShapeError

__all__ = [
    "DTypeError",
    "bool_",
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "promote_types",
    "result_type",
    "to_array",
    "uint8",
]

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)


class DTypeError(TypeError, RuntimeError):
    """A tensor of the wrong dtype for the request (an int tensor asked to require
    grad). A TypeError, as minigrad's style wants for dtypes, and a RuntimeError,
    which is what PyTorch raises there, so code written for either catches it."""


class UnsupportedDTypeError(DTypeError, AttributeError):
    """``mg.bfloat16``: a DTypeError saying why, and an AttributeError so that
    ``hasattr(mg, "bfloat16")`` is False."""


SUPPORTED = (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}
_DEFAULT_FOR = {0: bool_, 1: int64, 2: float32}

# PyTorch's names: the dtype's own (torch.float16) and the tensor-type names that
# Tensor.type() prints (torch.HalfTensor).
NAMES = {
    float16: "float16",
    float32: "float32",
    float64: "float64",
    uint8: "uint8",
    int8: "int8",
    int16: "int16",
    int32: "int32",
    int64: "int64",
    bool_: "bool",
}
TENSOR_TYPE_NAMES: dict[np.dtype, str] = {
    float16: "HalfTensor",
    float32: "FloatTensor",
    float64: "DoubleTensor",
    uint8: "ByteTensor",
    int8: "CharTensor",
    int16: "ShortTensor",
    int32: "IntTensor",
    int64: "LongTensor",
    bool_: "BoolTensor",
}
_BY_TYPE_NAME: dict[str, np.dtype] = {
    **{f"minigrad.{n}": d for d, n in TENSOR_TYPE_NAMES.items()},
    **{f"torch.{n}": d for d, n in TENSOR_TYPE_NAMES.items()},
}
_BFLOAT16_MSG = (
    "bfloat16 is not supported by minigrad: numpy has no bfloat16 dtype, and the "
    "one ml_dtypes provides is not a numpy floating kind, so numpy's math and "
    "minigrad's float checks would not treat it as a float; use float16 or "
    "float32"
)


def canonical_dtype(dtype: Any, op: str = "tensor") -> np.dtype:
    """Maps a requested dtype (numpy dtype, type, name, or a tensor-type name such
    as 'minigrad.FloatTensor') to a supported one."""
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str):
        if dtype in _BY_TYPE_NAME:
            return _BY_TYPE_NAME[dtype]
        if dtype.removeprefix("torch.").removeprefix("minigrad.") == "bfloat16":
            raise DTypeError(f"{op}: {_BFLOAT16_MSG}")
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{op}: {dtype!r} is not a dtype") from None
    if d in SUPPORTED:
        return d
    if d.name == "bfloat16":
        raise DTypeError(f"{op}: {_BFLOAT16_MSG}")
    raise DTypeError(
        f"{op}: unsupported dtype {d}; minigrad supports "
        + ", ".join(NAMES[s] for s in SUPPORTED)
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


def _promote_same_category(a: np.dtype, b: np.dtype) -> np.dtype:
    """Within one category PyTorch and numpy agree for these dtypes (uint8 with
    int8 is int16, float16 with float32 is float32)."""
    return np.promote_types(a, b)


_promo_cache: dict[tuple[Any, Any], np.dtype] = {}


def promote_types(a: Any, b: Any) -> np.dtype:
    """PyTorch's promotion of two dtypes: the higher category (bool < integer <
    floating) wins whole (int64 with float16 is float16); within a category, the
    smallest dtype that holds both (uint8 with int8 is int16)."""
    key = (a, b)
    r = _promo_cache.get(key)
    if r is None:
        da, db = (
            canonical_dtype(a, "promote_types"),
            canonical_dtype(b, "promote_types"),
        )
        ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
        if ca != cb:
            r = da if ca > cb else db
        else:
            r = _promote_same_category(da, db)
        _promo_cache[key] = r
    return r


def result_type(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promotion of two tensor dtypes of the same rank class (int64 +
    float32 -> float32). For operands (0-d tensors, Python scalars) see
    :func:`minigrad.typeinfo.result_type`."""
    r = _promo_cache.get((a, b))
    return r if r is not None else promote_types(a, b)


def scalar_category(scalar: Any, op: str = "result_type") -> int:
    """0 for a bool, 1 for an integer, 2 for a float; complex is refused."""
    if isinstance(scalar, (bool, np.bool_)):
        return 0
    if isinstance(scalar, (int, np.integer)):
        return 1
    if isinstance(scalar, (float, np.floating)):
        return 2
    if isinstance(scalar, (complex, np.complexfloating)):
        raise DTypeError(
            f"{op}: complex numbers are not supported (minigrad has no complex dtype)"
        )
    raise TypeError(f"{op}: unsupported operand type {type(scalar).__name__}")


def scalar_result_type(t: np.dtype, scalar: Any) -> np.dtype:
    """dtype of ``tensor op python_scalar``: the tensor wins within a category or
    above it; a higher-category scalar gives that category's default dtype
    (bool tensor + 1 -> int64, int8 tensor * 1.5 -> float32)."""
    cs = scalar_category(scalar)
    ct = _CATEGORY[t.kind]
    return t if ct >= cs else _DEFAULT_FOR[cs]
