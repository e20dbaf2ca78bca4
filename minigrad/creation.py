"""Tensor factories: tensor, zeros, ones, full, *_like, rand, randn, randint,
arange, linspace, eye. Layer: core.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from minigrad.autograd._tape import recorded
from minigrad.dtypes import DTypeError, canonical_dtype, float32, to_array
from minigrad.errors import ArgumentError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = [
    "arange",
    "eye",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "rand",
    "randint",
    "randn",
    "tensor",
    "zeros",
    "zeros_like",
]


def _shape(size: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}: sizes must be ints, got {tuple(size)!r}") from None
    if any(s < 0 for s in shape):
        raise ArgumentError(f"{op}: negative dimension in size {shape}")
    return shape


def _make(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


@recorded()
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (Python floats become float32)."""
    if isinstance(data, Tensor):
        data = data.data
    return _make(to_array(data, dtype, copy=True), requires_grad)


def _dt(dtype: Any) -> np.dtype:
    return float32 if dtype is None else canonical_dtype(dtype)


@recorded()
def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; float32 by default."""
    return _make(np.zeros(_shape(size, "zeros"), _dt(dtype)), requires_grad)


@recorded()
def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``; float32 by default."""
    return _make(np.ones(_shape(size, "ones"), _dt(dtype)), requires_grad)


@recorded()
def full(
    size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value
    (float -> float32, int -> int64, bool -> bool) unless given."""
    if dtype is None:
        dtype = to_array(fill_value).dtype
    return _make(
        np.full(_shape((size,), "full"), fill_value, canonical_dtype(dtype)),
        requires_grad,
    )


@recorded()
def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and (unless given) dtype."""
    return _make(
        np.zeros(t.shape, t.dtype if dtype is None else canonical_dtype(dtype)),
        requires_grad,
    )


@recorded()
def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and (unless given) dtype."""
    return _make(
        np.ones(t.shape, t.dtype if dtype is None else canonical_dtype(dtype)),
        requires_grad,
    )


@recorded()
def full_like(
    t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """``fill_value`` in ``t``'s shape and (unless given) dtype."""
    d = t.dtype if dtype is None else canonical_dtype(dtype)
    return _make(np.full(t.shape, fill_value, d), requires_grad)


@recorded()
def rand(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Uniform on [0, 1)."""
    arr = get_generator(generator).random(_shape(size, "rand")).astype(_dt(dtype))
    return _make(arr, requires_grad)


@recorded()
def randn(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal."""
    arr = (
        get_generator(generator)
        .standard_normal(_shape(size, "randn"))
        .astype(_dt(dtype))
    )
    return _make(arr, requires_grad)


@recorded()
def randint(
    low: int,
    high: int | None = None,
    size: Any = (),
    dtype: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Integers uniform on [low, high); ``randint(high, size)`` draws from [0, high)
    as in PyTorch."""
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    d = np.int64 if dtype is None else canonical_dtype(dtype)
    if low >= high:
        raise ArgumentError(f"randint: low ({low}) must be less than high ({high})")
    arr = get_generator(generator).integers(low, high, size=_shape((size,), "randint"))
    return Tensor._wrap(np.asarray(arr).astype(d))


@recorded()
def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` to ``end`` (excluded) by ``step``; int64 when all are
    ints, else float32 (PyTorch's defaults). As in PyTorch, the length is
    ``ceil((end - start) / step)`` computed in float64, and value i is
    ``start + i * step``.

    Raises
    ------
    ValueError
        ``step`` is 0, a bound is not finite, or ``end`` lies on the wrong side
        of ``start`` for the sign of ``step`` (PyTorch returns no empty tensor
        there either).
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else float32
    dt = canonical_dtype(dtype)
    if dt.kind == "b":
        raise DTypeError("arange: not defined for dtype bool (as in PyTorch)")
    if not (math.isfinite(start) and math.isfinite(end) and math.isfinite(step)):
        raise ArgumentError(f"arange: unsupported range: {start} -> {end} by {step}")
    if dt.kind in "iu":
        # PyTorch casts the bounds and step to the integer dtype first (C++
        # truncation): arange(-1.5, 2, dtype=int64) is [-1, 0, 1]
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise ArgumentError(f"arange: step must be nonzero (start={start}, end={end})")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise ArgumentError(
            f"arange: upper bound and lower bound inconsistent with step sign "
            f"(start={start}, end={end}, step={step})"
        )
    if all(isinstance(v, (int, np.integer)) for v in (start, end, step)):
        arr: np.ndarray = np.arange(start, end, step, dtype=np.int64)
    else:
        n = math.ceil((float(end) - float(start)) / float(step))
        arr = float(start) + float(step) * np.arange(n, dtype=np.float64)
    return _make(arr.astype(dt, copy=False), requires_grad)


@recorded()
def linspace(
    start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (included); float32."""
    if steps < 0:
        raise ArgumentError(
            f"linspace: number of steps must be non-negative, got {steps}"
        )
    return _make(np.linspace(start, end, steps).astype(_dt(dtype)), requires_grad)


@recorded()
def eye(
    n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """The ``n x m`` identity (``m`` defaults to ``n``); float32 by default."""
    if n < 0 or (m is not None and m < 0):
        raise ArgumentError(f"eye: negative size ({n}, {m})")
    return _make(np.eye(n, m, dtype=_dt(dtype)), requires_grad)
