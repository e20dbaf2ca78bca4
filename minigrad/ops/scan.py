"""Scans along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp; and the
gather / scatter-add pair along a dim (:class:`TakeAlong`, :class:`PutAlong`)
by which cummax, cummin and median route their gradients.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the dim
helpers of :mod:`minigrad.ops.reduce`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.dtypes import canonical_dtype, float32, int64
from minigrad.ops.elementwise import Where
from minigrad.ops.half import half_via_float32
from minigrad.ops.reduce import ValuesIndices, _norm_dims
from minigrad.tensor import Tensor

__all__ = ["cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"]


def _dim(a: Tensor, dim: Any, op: str) -> int:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    d = _norm_dims(int(dim), a.ndim, op)
    return d[0] if d else 0


def _rev_cumsum(g: Tensor, dim: int) -> Tensor:
    """Σ_{i >= j} g_i along dim, as Tensor ops (the adjoint of cumsum)."""
    return g.sum(dim, keepdim=True) - Cumsum.apply(g, dim=dim) + g


class Cumsum(Function):
    """y_i = Σ_{j <= i} a_j;  dL/da_j = Σ_{i >= j} g_i."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dim):
        ctx.dim = dim
        return np.cumsum(a, axis=dim, dtype=a.dtype) if a.ndim else a.copy()

    @staticmethod
    def backward(ctx, g):
        if g.ndim == 0:
            return g
        return _rev_cumsum(g, ctx.dim)


class Cumprod(Function):
    """y_i = Π_{j <= i} a_j;  dL/da_j = Σ_{i >= j} g_i·Π_{k <= i, k != j} a_k.

    NOTE: without zeros that is rev_cumsum(g·y)/a; a zero in the input would
    make it 0/0, so there (as PyTorch) the product of the others is formed
    without division: dL/da_j = P_j·S_j with P_j = Π_{k < j} a_k and
    S_j = g_j + a_{j+1}·S_{j+1}, a recurrence over the dim (vectorised over the
    others).
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dim):
        ctx.dim = dim
        y = np.cumprod(a, axis=dim, dtype=a.dtype) if a.ndim else a.copy()
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved_tensors
        if g.ndim == 0:
            return g
        d = ctx.dim
        if not (a.data == 0).any():
            return _rev_cumsum(g * y, d) / a
        n = a.shape[d]

        def at(t: Tensor, i: int) -> Tensor:
            return t[(slice(None),) * d + (slice(i, i + 1),)]

        s = [at(g, n - 1)]
        for i in range(n - 2, -1, -1):
            s.append(at(g, i) + at(a, i + 1) * s[-1])
        s_all = _cat(s[::-1], d)
        ones = Tensor._wrap(np.ones_like(at(a, 0).data))
        shifted = _cat([ones] + [at(a, i) for i in range(n - 1)], d)
        # As PyTorch: before the first zero the division formula (a != 0
        # there), at it the product form, after it exactly 0 (its prefix holds
        # the zero; a NaN there would otherwise make 0·NaN).
        zero = a.data == 0
        seen = np.cumsum(zero, axis=d)
        before, after = seen == 0, seen - zero > 0
        safe = Where.apply(1.0, a, cond=zero)
        at_zero = Cumprod.apply(shifted, dim=d) * s_all
        out = Where.apply(_rev_cumsum(g * y, d) / safe, at_zero, cond=before)
        return Where.apply(0.0, out, cond=after)


def _cat(ts: list[Tensor], dim: int) -> Tensor:
    from minigrad.ops.shape import cat

    return cat(ts, dim)


class TakeAlong(Function):
    """y = take_along_axis(a, idx, dim);  dL/da = g added at idx (PutAlong)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, idx, dim):
        ctx.idx, ctx.dim, ctx.shape = idx, dim, a.shape
        return np.take_along_axis(a, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return PutAlong.apply(g, idx=ctx.idx, dim=ctx.dim, shape=ctx.shape)


class PutAlong(Function):
    """y (``shape``) = zeros with g added at idx along dim (repeats summed);
    dL/dg = take_along_axis(gg, idx, dim) (TakeAlong)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, g, *, idx, dim, shape):
        ctx.idx, ctx.dim = idx, dim
        out = np.zeros(shape, g.dtype)
        where = list(np.indices(idx.shape, sparse=True))
        where[dim] = idx
        np.add.at(out, tuple(where), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return TakeAlong.apply(gg, idx=ctx.idx, dim=ctx.dim)


def _scan_dtype(a: Tensor, dtype: Any) -> Tensor:
    if dtype is not None:
        return a.to(canonical_dtype(dtype, "cumsum"))
    if a.data.dtype.kind in "biu":  # PyTorch: integer and bool scans give int64
        return a.to(int64)
    return a


@half_via_float32
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim`` (integer and bool input give int64)."""
    d = _dim(input, dim, "cumsum")
    return Cumsum.apply(_scan_dtype(input, dtype), dim=d)


@half_via_float32
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``; zeros in the input get PyTorch's gradient."""
    d = _dim(input, dim, "cumprod")
    return Cumprod.apply(_scan_dtype(input, dtype), dim=d)


def _cum_extreme(a: Tensor, dim: int, is_max: bool, op: str) -> ValuesIndices:
    d = _dim(a, dim, op)
    x = a.data
    if a.ndim == 0:
        return ValuesIndices(a.clone(), Tensor._wrap(np.zeros((), np.int64)))
    if x.dtype.kind == "b":
        x = x.astype(np.int8)
    acc = np.maximum if is_max else np.minimum
    vals = acc.accumulate(x, axis=d) if x.size else x
    # The last index (ties included) where the running extreme was reached, as
    # PyTorch; a NaN stays the extreme from where it appears.
    hit = x == vals
    if x.dtype.kind == "f":
        hit |= np.isnan(x) & np.isnan(vals)
    shape = [1] * x.ndim
    shape[d] = x.shape[d]
    pos = np.arange(x.shape[d], dtype=np.int64).reshape(shape)
    idx = np.where(hit, pos, -1)
    idx = np.maximum.accumulate(idx, axis=d) if idx.size else idx.astype(np.int64)
    return ValuesIndices(TakeAlong.apply(a, idx=idx, dim=d), Tensor._wrap(idx))


def cummax(input: Tensor, dim: int) -> ValuesIndices:
    """Running maximum along ``dim``: ``(values, indices)``; the gradient goes
    to the element each value came from (the last of ties, as PyTorch)."""
    return _cum_extreme(input, dim, True, "cummax")


def cummin(input: Tensor, dim: int) -> ValuesIndices:
    """Running minimum along ``dim``: ``(values, indices)``; see :func:`cummax`."""
    return _cum_extreme(input, dim, False, "cummin")


class LogCumSumExp(Function):
    """y_i = log Σ_{j <= i} e^(a_j) (by logaddexp, stable);
    dL/da_j = Σ_{i >= j} g_i·e^(a_j - y_i), formed as
    e^(a_j - m)·rev_cumsum(g_i·e^(m - y_i)) with m the last (largest) y.

    NOTE: that split overflows when the y along one slice span more than the
    dtype's exponent range (~88 for float32); PyTorch uses log-space sums there.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dim):
        ctx.dim = dim
        with np.errstate(invalid="ignore"):  # NaN in, NaN out, as PyTorch
            y = np.logaddexp.accumulate(a, axis=dim) if a.size and a.ndim else a.copy()
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved_tensors
        if g.ndim == 0:
            return g
        d = ctx.dim
        n = a.shape[d]
        if n == 0:
            return g
        last = y[(slice(None),) * d + (slice(n - 1, n),)].detach()
        fin = np.isfinite(last.data)
        m = Where.apply(last, 0.0, cond=fin)
        with np.errstate(all="ignore"):
            return (a - m).exp() * _rev_cumsum(g * (m - y).exp(), d)


@half_via_float32
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, stable (integer input gives
    float32)."""
    d = _dim(input, dim, "logcumsumexp")
    if input.data.dtype.kind != "f":
        input = input.to(float32)
    return LogCumSumExp.apply(input, dim=d)
