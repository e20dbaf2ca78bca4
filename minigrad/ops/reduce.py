"""Reductions: sum, mean, var, std, max, min, argmax, argmin, logsumexp.

Layer: ops. ``dim`` is an int, a tuple of ints or None (all dims); ``keepdim``
keeps reduced dims with size 1. Backward re-expands the gradient to the input.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import DTypeError
from minigrad.errors import DimError, ShapeError
from minigrad.ops.elementwise import Where
from minigrad.ops.half import half_via_float32
from minigrad.tensor import Tensor

__all__ = [
    "ValuesIndices",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "logsumexp",
    "max",
    "mean",
    "min",
    "std",
    "sum",
    "var",
]

Dim = int | tuple[int, ...] | list[int] | None


class ValuesIndices(NamedTuple):
    """What ``t.max(dim)`` / ``t.min(dim)`` return, as PyTorch's
    ``torch.return_types.max``: unpacks as ``values, indices``."""

    values: Tensor
    indices: Tensor


def _norm_dims(dim: Dim, ndim: int, op: str) -> tuple[int, ...] | None:
    """``dim`` as sorted non-negative ints; None (all dims) for None or ``()``,
    as PyTorch reduces over everything when given an empty dim list."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)):
        dims: tuple[Any, ...] = (dim,)
    elif isinstance(dim, (tuple, list, range)) and all(
        isinstance(d, (int, np.integer)) for d in dim
    ):
        dims = tuple(dim)
    else:
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
    if not dims:
        return None
    out = []
    n = ndim if ndim > 0 else 1  # a 0-d tensor accepts dim 0 and -1
    for d in dims:
        if not -n <= d < n:
            raise DimError(
                f"{op}: dim {d} is out of range for a tensor with {ndim} dims"
            )
        out.append(int(d) % n)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: dim {dim} repeats a dimension")
    return tuple(sorted(out)) if ndim else None


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
        ctx.order = None if a.flags.c_contiguous else _memory_order(a)
        # np.sum on an ndarray is this call behind ~1.3 us of Python wrapping
        return np.add.reduce(a, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        kept = _kept_shape(ctx.shape, ctx.dims)
        if STATE.grad_enabled:  # create_graph: recorded, so it can be differentiated
            return g.reshape(kept).expand(ctx.shape)
        # Note [Sum's unrecorded backward]: the same broadcast, written into a
        # new contiguous array.
        gd = g.data
        order = ctx.order
        if order is None:
            out = np.empty(ctx.shape, gd.dtype)
        else:  # in a's memory order (Note [Sum's unrecorded backward])
            out = np.empty([ctx.shape[i] for i in order], gd.dtype)
            out = out.transpose(np.argsort(order))
        out[...] = gd.reshape(kept)
        return Tensor._wrap(out)


def _memory_order(a: np.ndarray) -> tuple[int, ...] | None:
    """a's axes from the largest stride to the smallest; None for C order,
    and for a broadcast (a zero stride: its gradient is summed, in C order)."""
    if 0 in a.strides:
        return None
    order = tuple(sorted(range(a.ndim), key=lambda i: -abs(a.strides[i])))
    return None if order == tuple(range(a.ndim)) else order


# Note [Sum's unrecorded backward]
# Through reshape and expand, the two recorded ops, the gradient of
# ``x.sum()`` took ~30 us on any x (shape checks, np.prod, np.broadcast_to's
# Python wrapper: ~3 us alone), 6x the forward. Written on arrays it is one
# fill: ~0.5 us on a small x, and the gradient is a contiguous array that the
# engine hands to a leaf as its ``.grad`` without a copy (a broadcast view was
# copied there), and that the next backward kernels read at full speed (a
# zero-stride operand is a slow layout for several of them). On a large x the
# fill costs what the leaf's copy cost.
# The array has the input's memory order: after ``F.softmax(x.T, -1).sum()``
# a C-order gradient met the transposed y, the softmax backward's slow mixed
# layout (Note [Transposed gradient]), and went back to x transposed, which
# the leaf then copied. 1,000 x 1,000 float32, 1 thread, forward and
# backward: 1.8x the time of ``F.softmax(x, -1).sum().backward()`` before,
# 1.3-1.5x now (what remains: softmax over a transposed operand, 1.2x
# forward and 1.5x backward, Note [Strided backward]).


class MaxMin(Function):
    """y = max (or min) of a over dims.

    Reducing over several dims (or all), the gradient is split evenly between
    ties, as PyTorch's ``amax``. Over one dim (``single``), forward also returns
    the indices (int64, not differentiable) and the gradient goes to them: the
    first of the ties, as ``t.max(dim)`` in PyTorch.

    NOTE: with ``nan_share`` (``t.max()`` / ``t.min()`` without dim) a NaN
    maximum shares the gradient among the NaNs, as PyTorch's
    evenly_distribute_backward; ``amax`` gives NaN gradients there, as PyTorch's.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims, keepdim, is_max, single, nan_share=False):
        ctx.nan_share = nan_share
        ctx.kept, ctx.shape, ctx.dims = _kept_shape(a.shape, dims), a.shape, dims
        if single:
            axis = dims[0]
            idx = (np.argmax if is_max else np.argmin)(a, axis=axis, keepdims=True)
            y = np.take_along_axis(a, idx, axis=axis)
            ctx.idx = idx
            if not keepdim:
                shape = _drop(a.shape, dims)
                y, idx = y.reshape(shape), idx.reshape(shape)
            ctx.mark_non_differentiable(idx)
            return y, idx
        y = (np.amax if is_max else np.amin)(a, axis=dims, keepdims=True)
        ctx.save_for_backward(a)
        ctx.y_kept = y
        return y if keepdim else y.reshape(_drop(a.shape, dims))

    @staticmethod
    def backward(ctx, g, *_):
        if hasattr(ctx, "idx"):
            mask = np.zeros(ctx.shape, dtype=g.dtype)
            np.put_along_axis(mask, ctx.idx, 1, axis=ctx.dims[0])
        else:
            (a,) = ctx.saved_tensors
            hit = a.data == ctx.y_kept
            if ctx.nan_share:
                hit |= np.isnan(a.data) & np.isnan(ctx.y_kept)
            mask = hit.astype(g.dtype)
            with np.errstate(invalid="ignore"):  # no hit (a NaN amax): 0/0 = NaN
                mask /= mask.sum(axis=ctx.dims, keepdims=True)
        return g.reshape(ctx.kept).expand(ctx.shape) * Tensor._wrap(mask)


def _drop(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> tuple[int, ...]:
    if dims is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def sum(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or None for all dims); bool and every
    integer dtype sum as int64.

    Raises
    ------
    IndexError
        A dim out of range.
    """
    if not isinstance(a, Tensor):
        raise TypeError(f"sum: expected a Tensor, got {type(a).__name__}")
    dims = _norm_dims(dim, a.ndim, "sum")
    if a.data.dtype.kind in "biu" and a.data.dtype != np.int64:
        a = a.to(np.int64)  # bool and every integer sum as int64, as PyTorch
    return Sum.apply(a, dims=dims, keepdim=keepdim)


def mean(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (all dims by default); NaN for an empty reduction.

    Raises
    ------
    TypeError
        For integer or bool input (as PyTorch).
    """
    _need_float(a, "mean")
    dims = _norm_dims(dim, a.ndim, "mean")
    total = Sum.apply(a, dims=dims, keepdim=keepdim)
    return _divide(total, _count(a.shape, dims))


def _need_float(a: Tensor, op: str) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind != "f":
        raise DTypeError(f"{op}: input dtype should be floating point, got {a.dtype}")


def _divide(t: Tensor, n: int) -> Tensor:
    """``t / n``; for ``n <= 0``, PyTorch's 0/0 = NaN (x/0 = inf) without a warning."""
    if n > 0:
        return t / float(n)
    return t / Tensor._wrap(np.zeros((), t.dtype))


def _count(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> int:
    n = 1
    for i, s in enumerate(shape):
        if dims is None or i in dims:
            n *= s
    return n


@half_via_float32
def var(
    a: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    """Variance; unbiased (divides by N - 1) by default, as PyTorch.

    ``correction`` is subtracted from N (``unbiased=False`` means 0); NaN when
    N - correction <= 0.
    """
    _need_float(a, "var")
    if unbiased is not None:
        correction = 1 if unbiased else 0
    dims = _norm_dims(dim, a.ndim, "var")
    n = _count(a.shape, dims)
    centered = a - mean(a, dims, keepdim=True)
    ss = sum(centered * centered, dims, keepdim=keepdim)
    return _divide(ss, n - correction)


@half_via_float32
def std(
    a: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    """Standard deviation, ``sqrt(var(...))`` (unbiased by default); its gradient
    is 0 where the std is 0 (a constant input), as in PyTorch."""
    _need_float(a, "std")
    v = var(a, dim, keepdim, correction=correction, unbiased=unbiased)
    return SqrtOfVar.apply(v)


class SqrtOfVar(Function):
    """y = sqrt(v) for a variance v;  dL/dv = g / (2y), and 0 where y == 0.

    NOTE: PyTorch's std backward masks the points where std is 0 (an input
    that is constant along the reduced dims): there dL/dv = g/0 = inf would meet
    var's zero gradient and make NaN; the subgradient 0 is taken instead.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, v):
        with np.errstate(all="ignore"):
            y = np.sqrt(v)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        zero = y.data == 0
        if not zero.any():
            return g / (y * 2.0)
        # The divisor is made safe before dividing, so that a recorded backward
        # (create_graph) has no inf at the masked points either.
        safe = Where.apply(1.0, y, cond=zero)
        return Where.apply(0.0, g / (safe * 2.0), cond=zero)


def _maxmin(a: Tensor, dim: Dim, keepdim: bool, is_max: bool, op: str) -> Any:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    single = isinstance(dim, (int, np.integer))
    dims = _norm_dims(dim, a.ndim, op)
    if dims is None:
        if a.numel() == 0:
            raise ShapeError(
                f"{op}: cannot reduce an empty tensor of shape {a.shape} over all "
                "dims; specify dim"
            )
        if single:  # a 0-d tensor reduced over dim 0
            return ValuesIndices(a.clone(), Tensor._wrap(np.zeros((), np.int64)))
        return MaxMin.apply(
            a,
            dims=None,
            keepdim=keepdim,
            is_max=is_max,
            single=False,
            nan_share=dim is None and op in ("max", "min"),
        )
    for d in dims:
        if a.shape[d] == 0:
            raise DimError(
                f"{op}: cannot reduce over dim {d} of size 0 (shape {a.shape})"
            )
    out = MaxMin.apply(a, dims=dims, keepdim=keepdim, is_max=is_max, single=single)
    return ValuesIndices(*out) if single else out


def max(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Any:
    """The maximum over all elements; with an int ``dim``, ``(values, indices)``
    (a :class:`ValuesIndices`) as in PyTorch; with a tuple ``dim``, the values
    (``amax``). Gradients go to the selected index (one dim) or are split evenly
    between ties (several dims or all).

    Raises
    ------
    IndexError
        ``dim`` is out of range or has size 0.
    RuntimeError
        Reducing an empty tensor over all dims.
    """
    return _maxmin(a, dim, keepdim, True, "max")


def min(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Any:
    """The minimum; see :func:`max`."""
    return _maxmin(a, dim, keepdim, False, "min")


def amax(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """The maximum over ``dim`` (int or tuple), values only; ties share the gradient."""
    dims = _norm_dims(dim, a.ndim, "amax")
    return _maxmin(a, dims if dims is not None else None, keepdim, True, "amax")


def amin(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """The minimum over ``dim`` (int or tuple), values only; ties share the gradient."""
    dims = _norm_dims(dim, a.ndim, "amin")
    return _maxmin(a, dims if dims is not None else None, keepdim, False, "amin")


def _arg(a: Tensor, dim: int | None, keepdim: bool, is_max: bool) -> Tensor:
    op = "argmax" if is_max else "argmin"
    fn = np.argmax if is_max else np.argmin
    if a.numel() == 0 and (dim is None or a.ndim == 0 or a.shape[dim] == 0):
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {a.shape}")
    if dim is None:
        idx = np.asarray(fn(a.data), dtype=np.int64)
        return Tensor._wrap(idx.reshape((1,) * a.ndim) if keepdim else idx)
    d = _norm_dims(dim, a.ndim, op)
    axis = d[0] if d else None
    return Tensor._wrap(np.asarray(fn(a.data, axis=axis, keepdims=keepdim), np.int64))


def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None); int64.
    The first index among ties or NaNs, as in PyTorch."""
    return _arg(a, dim, keepdim, True)


def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum; see :func:`argmax`."""
    return _arg(a, dim, keepdim, False)


class LogSumExp(Function):
    """y = log Σ exp(a) over dims, computed as m + log Σ exp(a - m) with m = max(a)
    so large inputs do not overflow;  dL/da = g·softmax(a), the softmax also
    shifted by m (exp(a - y) would lose float32 precision where |y| is large)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims, keepdim):
        m = (
            np.amax(a, axis=dims, keepdims=True)
            if a.size
            else np.zeros(_kept_shape(a.shape, dims), a.dtype)
        )
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(all="ignore"):
            e = np.exp(a - m)
            s = np.sum(e, axis=dims, keepdims=True)
            y = np.log(s) + m
            ctx.p = e / s
        ctx.save_for_backward(a)
        ctx.m, ctx.kept, ctx.dims = m, y.shape, dims
        return y if keepdim else y.reshape(_drop(a.shape, dims))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        g = g.reshape(ctx.kept)
        if not STATE.grad_enabled:
            return g * Tensor._wrap(ctx.p)
        # Recorded (create_graph): the softmax as Tensor ops of a, so that it can
        # be differentiated again; the shift m is a constant.
        e = (a - Tensor._wrap(ctx.m)).exp()
        return g * (e / e.sum(ctx.dims, keepdim=True))


def logsumexp(a: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(a)))`` over ``dim``, stable for large |a| (integer input
    gives float32); ``-inf`` for an empty reduction."""
    if not isinstance(a, Tensor):
        raise TypeError(f"logsumexp: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind != "f":
        a = a.to(np.float32)
    dims = _norm_dims(dim, a.ndim, "logsumexp")
    return LogSumExp.apply(a, dims=dims, keepdim=keepdim)
