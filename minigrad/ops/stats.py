"""More reductions: prod, median, nansum, nanmean, var_mean, std_mean,
aminmax, count_nonzero, all, any.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the
reductions of :mod:`minigrad.ops.reduce` (prod's gradient and median's
selection are here; the rest are compositions).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import int64
from minigrad.errors import DimError, ShapeError
from minigrad.ops.elementwise import Where
from minigrad.ops.half import half_via_float32
from minigrad.ops.reduce import (
    Dim,
    ValuesIndices,
    _drop,
    _kept_shape,
    _need_float,
    _norm_dims,
    amax,
    amin,
    mean,
    std,
    var,
)
from minigrad.ops.scan import TakeAlong
from minigrad.tensor import Tensor

__all__ = [
    "all",
    "aminmax",
    "any",
    "count_nonzero",
    "median",
    "nanmean",
    "nansum",
    "prod",
    "std_mean",
    "var_mean",
]


class Prod(Function):
    """y = Π a over dims;  dL/da = g·Π of the others.

    NOTE: that is g·y/a without zeros. With zeros, as PyTorch: over one dim,
    the product of the others by exclusive prefix and suffix products (no
    division); over all dims, where there is one zero its gradient is the
    product of the rest and the others' is 0; with two or more, all are 0.
    Both are written with Tensor ops (Prod, Cumprod), so create_graph works.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims, keepdim):
        ctx.kept, ctx.shape, ctx.dims = _kept_shape(a.shape, dims), a.shape, dims
        y = np.prod(a, axis=dims, keepdims=True, dtype=a.dtype)
        ctx.save_for_backward(a, y)
        return y if keepdim else y.reshape(_drop(a.shape, dims))

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved_tensors
        g = g.reshape(ctx.kept).expand(ctx.shape)
        zero = a.data == 0
        if not zero.any():
            if STATE.grad_enabled:  # recorded: y as an op of a, not a constant
                y = Prod.apply(a, dims=ctx.dims, keepdim=True)
            return g * y / a
        if ctx.dims is not None and len(ctx.dims) == 1 and a.ndim:
            return g * _prod_of_others(a, ctx.dims[0])
        nz = Where.apply(1.0, a, cond=zero)
        p = Prod.apply(nz, dims=ctx.dims, keepdim=True)
        count = zero.sum(axis=ctx.dims, keepdims=True)
        w = Where.apply(p.expand(ctx.shape), p / nz, cond=zero)
        keep = (count == 0) | (zero & (count == 1))
        return Where.apply(g * w, 0.0, cond=keep)


def _prod_of_others(a: Tensor, d: int) -> Tensor:
    """Π_{k != j} a_k along dim d, without division (exclusive prefix times
    exclusive suffix products, as PyTorch's prod backward with zeros)."""
    from minigrad.ops.scan import Cumprod

    n = a.shape[d]
    rev = (slice(None),) * d + (slice(None, None, -1),)
    head = (slice(None),) * d + (slice(0, n - 1),)
    ones = Tensor._wrap(np.ones(_kept_shape(a.shape, (d,)), a.dtype))
    pre = Cumprod.apply(_cat([ones, a[head]], d), dim=d)
    suf = Cumprod.apply(_cat([ones, a[rev][head]], d), dim=d)[rev]
    return pre * suf


def _cat(ts: list[Tensor], dim: int) -> Tensor:
    from minigrad.ops.shape import cat

    return cat(ts, dim)


def prod(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Product over all elements or one ``dim`` (integer and bool give int64)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"prod: expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    elif input.data.dtype.kind in "biu":
        input = input.to(int64)
    dims = _norm_dims(dim, input.ndim, "prod")
    return Prod.apply(input, dims=dims, keepdim=keepdim)


def _nan_zeroed(a: Tensor) -> Tensor:
    nan = np.isnan(a.data)
    return Where.apply(0.0, a, cond=nan) if nan.any() else a


def nansum(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Sum treating NaN as 0 (their gradient is 0)."""
    if input.data.dtype.kind != "f":
        return input.sum(dim, keepdim)
    return _nan_zeroed(input).sum(dim, keepdim)


def nanmean(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean of the non-NaN elements (NaN where there are none)."""
    _need_float(input, "nanmean")
    dims = _norm_dims(dim, input.ndim, "nanmean")
    n = (~np.isnan(input.data)).sum(axis=dims, keepdims=keepdim)
    total = _nan_zeroed(input).sum(dims, keepdim)
    with np.errstate(all="ignore"):
        return total / Tensor._wrap(np.asarray(n, input.data.dtype))


@half_via_float32
def var_mean(
    input: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` (see :func:`minigrad.var`)."""
    v = var(input, dim, keepdim, correction=correction, unbiased=unbiased)
    return v, mean(input, dim, keepdim)


@half_via_float32
def std_mean(
    input: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` (see :func:`minigrad.std`)."""
    s = std(input, dim, keepdim, correction=correction, unbiased=unbiased)
    return s, mean(input, dim, keepdim)


class MinMax(NamedTuple):
    """What :func:`aminmax` returns, as ``torch.return_types.aminmax``."""

    min: Tensor
    max: Tensor


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> MinMax:
    """``(amin, amax)`` over ``dim`` (all elements by default).

    Raises
    ------
    RuntimeError
        An empty reduction.
    """
    if input.numel() == 0 and (dim is None or input.shape[dim] == 0):
        raise ShapeError(
            f"aminmax: cannot reduce an empty tensor of shape {input.shape}"
        )
    return MinMax(amin(input, dim, keepdim), amax(input, dim, keepdim))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median (for an even count, the smaller of the middle two), as
    PyTorch; NaN if a NaN is present. Without ``dim`` a 0-d tensor; with it
    ``(values, indices)``. The gradient goes to the selected element.

    Raises
    ------
    IndexError
        ``dim`` out of range, or of size 0.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"median: expected a Tensor, got {type(input).__name__}")
    if dim is None:
        flat = input.reshape(-1)
        if flat.numel() == 0:
            nan = np.array(np.nan, input.dtype) if input.dtype.kind == "f" else None
            if nan is None:
                raise ShapeError("median: an empty integer tensor has no median")
            return Tensor._wrap(nan)
        return MedianAll.apply(input)
    d = _norm_dims(dim, input.ndim, "median")
    if input.ndim == 0:
        return ValuesIndices(input.clone(), Tensor._wrap(np.zeros((), np.int64)))
    axis = d[0] if d else 0
    if input.shape[axis] == 0:
        raise DimError(
            f"median: cannot reduce over dim {dim} of size 0 (shape {input.shape})"
        )
    idx = _median_index(input.data, axis)
    vals = TakeAlong.apply(input, idx=idx, dim=axis)
    if not keepdim:
        shape = _drop(input.shape, (axis,))
        return ValuesIndices(vals.reshape(shape), Tensor._wrap(idx.reshape(shape)))
    return ValuesIndices(vals, Tensor._wrap(idx))


class MedianAll(Function):
    """y = the lower median of all elements;  dL/da = g shared evenly among the
    elements equal to y (the NaNs, when y is NaN), as PyTorch's
    evenly_distribute_backward for ``median()`` without dim."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        flat = a.reshape(-1)
        y = flat[_median_index(flat, 0)].reshape(())
        hit = (a == y) | (np.isnan(a) & np.isnan(y))
        ctx.w = hit / hit.sum()
        return y

    @staticmethod
    def backward(ctx, g):
        return g.expand(ctx.w.shape) * Tensor._wrap(ctx.w.astype(g.dtype))


def _median_index(x: np.ndarray, axis: int) -> np.ndarray:
    """The index (keepdims) of the lower median along axis, or of the first
    NaN where there is one (numpy sorts NaN last)."""
    order = np.argsort(x, axis=axis, kind="stable")
    k = (x.shape[axis] - 1) // 2
    idx = np.take(order, [k], axis=axis)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        has = nan.any(axis=axis, keepdims=True)
        if has.any():
            first = np.argmax(nan, axis=axis, keepdims=True)
            idx = np.where(has, first, idx)
    return idx.astype(np.int64)


def count_nonzero(input: Tensor, dim: Dim = None) -> Tensor:
    """Number of non-zero elements over ``dim`` (int64)."""
    dims = _norm_dims(dim, input.ndim, "count_nonzero")
    return Tensor._wrap(np.asarray(np.count_nonzero(input.data, axis=dims), np.int64))


def all(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Whether every element (over ``dim``) is non-zero: a bool tensor."""
    dims = _norm_dims(dim, input.ndim, "all")
    return Tensor._wrap(np.asarray(np.all(input.data, axis=dims, keepdims=keepdim)))


def any(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Whether some element (over ``dim``) is non-zero: a bool tensor."""
    dims = _norm_dims(dim, input.ndim, "any")
    return Tensor._wrap(np.asarray(np.any(input.data, axis=dims, keepdims=keepdim)))
