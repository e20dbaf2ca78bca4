"""Reductions: sum, mean, var, std, max, min, argmax, argmin, logsumexp.

Layer: ops. ``dim`` is an int, a tuple of ints or None (all dims); ``keepdim``
keeps reduced dims with size 1. Backward re-expands the gradient to the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import STATE
from minigrad.tensor import Tensor

__all__ = ["argmax", "argmin", "logsumexp", "max", "mean", "min", "std", "sum", "var"]

Dim = int | tuple[int, ...] | list[int] | None


def _norm_dims(dim: Dim, ndim: int, op: str) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    n = ndim if ndim > 0 else 1  # a 0-d tensor accepts dim 0 and -1
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"{op}: dim {d} is out of range for a tensor with {ndim} dims"
            )
        out.append(int(d) % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} repeats a dimension")
    return tuple(out) if ndim else None


def _kept_shape(
    shape: tuple[int, ...], dims: tuple[int, ...] | None
) -> tuple[int, ...]:
    """The shape the reduction has with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    """y = sum of a over dims;  dL/da = g broadcast back to a's shape."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims, keepdim):
        ctx.shape, ctx.dims = a.shape, dims
        return np.sum(a, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(_kept_shape(ctx.shape, ctx.dims)).expand(ctx.shape)


class MaxMin(Function):
    """y = max (or min) of a over dims.

    Reducing over several dims (or all), the gradient is split evenly between
    ties, as PyTorch's ``amax``. Over one dim, it goes to the index returned
    with the values (``t.max(dim)``), which is the first of the ties.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims, keepdim, is_max, single):
        kept = _kept_shape(a.shape, dims)
        if single:
            idx = (np.argmax if is_max else np.argmin)(a, axis=dims[0], keepdims=True)
            y = np.take_along_axis(a, idx, axis=dims[0])
            mask = np.zeros(a.shape, dtype=a.dtype)
            np.put_along_axis(mask, idx, 1, axis=dims[0])
            ctx.indices = idx if keepdim else idx.reshape(_drop(a.shape, dims))
        else:
            y = (np.amax if is_max else np.amin)(a, axis=dims, keepdims=True)
            mask = (a == y).astype(a.dtype)
            mask /= mask.sum(axis=dims, keepdims=True)
        ctx.mask, ctx.kept, ctx.shape = mask, kept, a.shape
        return y if keepdim else y.reshape(_drop(a.shape, dims))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kept).expand(ctx.shape) * Tensor._wrap(ctx.mask)


def _drop(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> tuple[int, ...]:
    if dims is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def sum(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    dims = _norm_dims(dim, a.ndim, "sum")
    if a.data.dtype.kind == "b":
        a = a.to(np.int64)
    return Sum.apply(a, dims=dims, keepdim=keepdim)


def mean(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    if a.data.dtype.kind != "f":
        raise TypeError(f"mean: input dtype should be floating point, got {a.dtype}")
    dims = _norm_dims(dim, a.ndim, "mean")
    n = _count(a.shape, dims)
    return (
        Sum.apply(a, dims=dims, keepdim=keepdim) / float(n)
        if n
        else (Sum.apply(a, dims=dims, keepdim=keepdim) * float("nan"))
    )


def _count(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> int:
    if dims is None:
        return int(np.prod(shape))
    return int(np.prod([shape[d] for d in dims]))


def var(
    a: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    """Variance; unbiased (divides by N - 1) by default, as PyTorch."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    dims = _norm_dims(dim, a.ndim, "var")
    n = _count(a.shape, dims)
    centered = a - mean(a, dims, keepdim=True)
    ss = sum(centered * centered, dims, keepdim=keepdim)
    dof = n - correction
    return ss / float(dof if dof > 0 else 0)


def std(
    a: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    return var(a, dim, keepdim, correction=correction, unbiased=unbiased).sqrt()


def _maxmin(a: Tensor, dim: Dim, keepdim: bool, is_max: bool) -> Any:
    op = "max" if is_max else "min"
    if a.numel() == 0:
        raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape {a.shape}")
    if dim is None:
        return MaxMin.apply(a, dims=None, keepdim=False, is_max=is_max, single=False)
    single = isinstance(dim, (int, np.integer))
    dims = _norm_dims(dim, a.ndim, op)
    if dims is None:  # a 0-d tensor
        return (
            (a.clone(), Tensor._wrap(np.zeros((), np.int64))) if single else a.clone()
        )
    if single and a.shape[dims[0]] == 0:
        raise RuntimeError(f"{op}: cannot reduce over an empty dim of shape {a.shape}")
    if a.data.dtype.kind == "f":
        values = MaxMin.apply(
            a, dims=dims, keepdim=keepdim, is_max=is_max, single=single
        )
        if not single:
            return values
        node = values.grad_fn
        idx = node.indices if node is not None else None
        if idx is None:
            fn = np.argmax if is_max else np.argmin
            idx = fn(a.data, axis=dims[0], keepdims=keepdim)
        return values, Tensor._wrap(np.asarray(idx, dtype=np.int64))
    red = np.amax if is_max else np.amin
    if not single:
        return Tensor._wrap(np.asarray(red(a.data, axis=dims, keepdims=keepdim)))
    fn = np.argmax if is_max else np.argmin
    idx = fn(a.data, axis=dims[0], keepdims=True)
    vals = np.take_along_axis(a.data, idx, axis=dims[0])
    if not keepdim:
        vals, idx = vals.squeeze(dims[0]), idx.squeeze(dims[0])
    return Tensor._wrap(vals), Tensor._wrap(idx.astype(np.int64))


def max(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Any:
    """The maximum; with an int ``dim``, a ``(values, indices)`` pair as in PyTorch."""
    return _maxmin(a, dim, keepdim, True)


def min(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Any:
    """The minimum; with an int ``dim``, a ``(values, indices)`` pair as in PyTorch."""
    return _maxmin(a, dim, keepdim, False)


def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(a.data), dtype=np.int64))
    d = _norm_dims(dim, a.ndim, "argmax")
    axis = d[0] if d else None
    return Tensor._wrap(
        np.asarray(np.argmax(a.data, axis=axis, keepdims=keepdim), np.int64)
    )


def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(a.data), dtype=np.int64))
    d = _norm_dims(dim, a.ndim, "argmin")
    axis = d[0] if d else None
    return Tensor._wrap(
        np.asarray(np.argmin(a.data, axis=axis, keepdims=keepdim), np.int64)
    )


class LogSumExp(Function):
    """y = log Σ exp(a) over dims, computed as m + log Σ exp(a - m) with m = max(a)
    so large inputs do not overflow;  dL/da = g·exp(a - y) = g·softmax(a)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims, keepdim):
        m = (
            np.amax(a, axis=dims, keepdims=True)
            if a.size
            else np.zeros(_kept_shape(a.shape, dims), a.dtype)
        )
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            y = np.log(np.sum(np.exp(a - m), axis=dims, keepdims=True)) + m
        ctx.save_for_backward(a)
        ctx.y_kept, ctx.kept, ctx.dims = y, y.shape, dims
        return y if keepdim else y.reshape(_drop(a.shape, dims))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        # When backward is being recorded (create_graph), y must itself be a
        # function of a for the second derivative; otherwise the saved value does.
        if STATE.grad_enabled:
            y = LogSumExp.apply(a, dims=ctx.dims, keepdim=True)
        else:
            y = Tensor._wrap(ctx.y_kept)
        return g.reshape(ctx.kept) * (a - y).exp()


def logsumexp(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    dims = _norm_dims(dim, a.ndim, "logsumexp")
    return LogSumExp.apply(a, dims=dims, keepdim=keepdim)
