"""PyTorch's legacy constructors, ``from_numpy``, and the top-level functional
forms of Tensor methods that beginner programs call (``torch.squeeze(x)``,
``torch.numel(x)``, ``torch.randperm(n)``...). Layer: core.

``FloatTensor(data)``, ``LongTensor(data)``... follow ``torch.Tensor``'s rules
with a fixed dtype: data (a list, an array, a Tensor) is converted to that
dtype, and ints alone are a shape (``FloatTensor(2, 3)`` is a 2x3 tensor; PyTorch
leaves it uninitialised, minigrad fills it with zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd._tape import recorded
from minigrad.autograd.grad_mode import no_grad
from minigrad.creation import rand, randn, tensor, zeros, zeros_like
from minigrad.dtypes import (
    SUPPORTED,
    bool_,
    canonical_dtype,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    to_array,
    uint8,
)
from minigrad.errors import ShapeError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "allclose",
    "as_tensor",
    "empty",
    "empty_like",
    "flatten",
    "from_numpy",
    "inference_mode",
    "is_tensor",
    "mm",
    "numel",
    "permute",
    "rand_like",
    "randn_like",
    "randperm",
    "reshape",
    "squeeze",
    "transpose",
    "unsqueeze",
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


def IntTensor(*args: Any) -> Tensor:
    """An int32 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(int32, args)


def HalfTensor(*args: Any) -> Tensor:
    """A float16 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(float16, args)


def ShortTensor(*args: Any) -> Tensor:
    """An int16 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(int16, args)


def CharTensor(*args: Any) -> Tensor:
    """An int8 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(int8, args)


def ByteTensor(*args: Any) -> Tensor:
    """A uint8 tensor from data, or of the shape given as ints (zeros)."""
    return _legacy(uint8, args)


def BoolTensor(*args: Any) -> Tensor:
    """A bool tensor from data, or of the shape given as ints (False)."""
    return _legacy(bool_, args)


def from_numpy(a: np.ndarray) -> Tensor:
    """A Tensor that shares memory with ``a`` (changes to one show in the other),
    like ``torch.from_numpy``.

    Raises
    ------
    TypeError : ``a`` is not an ndarray, or its dtype is not one minigrad holds
        (minigrad.dtypes.SUPPORTED); convert it first (``a.astype(np.float32)``).
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    if a.dtype not in SUPPORTED or not a.dtype.isnative:
        raise TypeError(
            f"from_numpy: minigrad holds float16/32/64, int8/16/32/64, uint8 and "
            f"bool, got {a.dtype}; convert first (e.g. a.astype(np.float32)), "
            "which copies"
        )
    return Tensor._wrap(a)


# -- functional forms of Tensor methods (each one call of the method) -----------
def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def squeeze(t: Tensor, dim: int | None = None) -> Tensor:
    return t.squeeze() if dim is None else t.squeeze(dim)


def unsqueeze(t: Tensor, dim: int) -> Tensor:
    return t.unsqueeze(dim)


def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return t.flatten(start_dim, end_dim)


def reshape(t: Tensor, shape: Any) -> Tensor:
    return t.reshape(shape)


def transpose(t: Tensor, dim0: int, dim1: int) -> Tensor:
    return t.transpose(dim0, dim1)


def permute(t: Tensor, dims: Any) -> Tensor:
    return t.permute(*dims)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices (``matmul`` restricted to 2-D, as in PyTorch)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(
            f"mm: expected two 2-D tensors, got shapes {a.shape} and {b.shape}"
        )
    return a @ b


def allclose(
    a: Tensor,
    b: Tensor,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    equal_nan: bool = False,
) -> bool:
    return bool(np.allclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


@recorded()
def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a Tensor, sharing memory when it already is one (or an array
    of the right dtype)."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return Tensor._wrap(to_array(data, dtype, copy=False))
    return tensor(data, dtype=dtype)


@recorded()
def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """PyTorch leaves it uninitialised; minigrad gives zeros."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


@recorded()
def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)


@recorded()
def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


@recorded()
def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


@recorded()
def randperm(
    n: int, dtype: Any = None, generator: np.random.Generator | None = None
) -> Tensor:
    """A random permutation of 0..n-1 (int64), from minigrad's generator."""
    d = int64 if dtype is None else canonical_dtype(dtype, "randperm")
    return Tensor._wrap(get_generator(generator).permutation(int(n)).astype(d))


inference_mode = no_grad  # PyTorch's faster no_grad; here the same thing
