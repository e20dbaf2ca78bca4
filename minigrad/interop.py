"""PyTorch's legacy constructors and ``from_numpy``. Layer: core.

``FloatTensor(data)``, ``LongTensor(data)``... follow ``torch.Tensor``'s rules
with a fixed dtype: data (a list, an array, a Tensor) is converted to that
dtype, and ints alone are a shape (``FloatTensor(2, 3)`` is a 2x3 tensor; PyTorch
leaves it uninitialised, minigrad fills it with zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import bool_, float32, float64, int64
from minigrad.tensor import Tensor

__all__ = [
    "BoolTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "from_numpy",
]


def _legacy(dtype: np.dtype, args: tuple[Any, ...]) -> Tensor:
    if len(args) == 1 and isinstance(args[0], Tensor):
        return Tensor._wrap(np.array(args[0].data, dtype=dtype))
    return Tensor(*args, dtype=dtype)


def FloatTensor(*args: Any) -> Tensor:
    """A float32 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(float32, args)


def DoubleTensor(*args: Any) -> Tensor:
    """A float64 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(float64, args)


def LongTensor(*args: Any) -> Tensor:
    """An int64 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(int64, args)


IntTensor = LongTensor  # minigrad's only integer dtype is int64


def BoolTensor(*args: Any) -> Tensor:
    """A bool tensor from data, or of the shape given as ints (False)."""
    return _legacy(bool_, args)


def from_numpy(a: np.ndarray) -> Tensor:
    """A Tensor that shares memory with ``a`` (changes to one show in the other),
    like ``torch.from_numpy``.

    Raises
    ------
    TypeError : ``a`` is not an ndarray, or its dtype is not one minigrad holds
        (float32, float64, int64, bool); convert it first (``a.astype(np.float32)``).
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    if a.dtype not in (float32, float64, int64, bool_):
        raise TypeError(
            f"from_numpy: minigrad holds float32, float64, int64 and bool, got "
            f"{a.dtype}; convert first (e.g. a.astype(np.float32)), which copies"
        )
    return Tensor._wrap(a)
