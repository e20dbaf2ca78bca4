"""Elementwise min/max-type ops: maximum, minimum and clamp, with PyTorch's
gradients at ties, at the bounds and at NaN.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the
promotion helpers of :mod:`minigrad.ops.elementwise`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.dtypes import float32, result_type
from minigrad.errors import ArgumentError
from minigrad.ops.elementwise import (
    Where,
    _as,
    _binary_op,
    _check_broadcast,
    _operands,
    _shape,
)
from minigrad.tensor import Tensor

__all__ = ["clamp", "maximum", "minimum"]


class Clamp(Function):
    """y = min(max(a, lo), hi);  dL/da = g where lo <= a <= hi, else 0.

    NOTE: the gradient passes at the bounds themselves, as in PyTorch.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, lo, hi):
        y = a
        mask = None
        if lo is not None:
            mask = a >= lo
            y = np.maximum(y, a.dtype.type(lo))
        if hi is not None:
            upper = a <= hi
            mask = upper if mask is None else mask & upper
            y = np.minimum(y, a.dtype.type(hi))
        ctx.mask = mask
        return y

    @staticmethod
    def backward(ctx, g):
        return Where.apply(g, 0.0, cond=ctx.mask)


class ClampTensor(Function):
    """y = min(max(a, lo), hi) for tensor bounds (either may be absent).

    dL/da = g where lo <= a <= hi; dL/dlo = g where a < lo (and lo < hi);
    dL/dhi = g where a > hi (or hi < lo: then y = hi everywhere). Each is reduced
    to its input's shape. NOTE: at a bound the gradient goes to ``a``, not split
    with the bound as ``maximum`` would: PyTorch's clamp_backward_min_max.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *bounds, has_lo, has_hi):
        lo = bounds[0] if has_lo else None
        hi = bounds[-1] if has_hi else None
        ctx.shapes = tuple(_shape(x) for x in (a, *bounds))
        y = a
        keep = glo = ghi = None
        if lo is not None:
            y = np.maximum(y, lo)
            keep, glo = a >= lo, a < lo
        if hi is not None:
            y = np.minimum(y, hi)
            upper = a <= hi
            keep = upper if keep is None else keep & upper
            ghi = a > hi
            if lo is not None:
                glo = glo & (lo < hi)
                ghi = ghi | (hi < lo)
        ctx.masks = tuple(m for m in (keep, glo, ghi) if m is not None)
        return y

    @staticmethod
    def backward(ctx, g):
        return tuple(
            Where.apply(g, 0.0, cond=m).sum_to(shape) if need else None
            for m, shape, need in zip(ctx.masks, ctx.shapes, ctx.needs_input_grad)
        )


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties.

    NOTE: where one input is NaN (so is y), both get the full gradient, as in
    PyTorch: its mask zeroes only the input that is strictly smaller.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = np.maximum(a, b)
        ctx.w = _tie_weights(a < b, a > b, a == b, y.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split evenly on
    ties; both get it where one is NaN (see :class:`Maximum`)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = np.minimum(a, b)
        ctx.w = _tie_weights(a > b, a < b, a == b, y.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


def _tie_weights(
    a_loses: Any, b_loses: Any, ties: Any, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The shares of the gradient of ``a`` and ``b``: 0 for the input that
    loses, 0.5 each on ties, else 1 (both, where a NaN makes every test false)."""
    dt = dtype if dtype.kind == "f" else np.float64
    ties = np.asarray(ties)
    wa = np.where(ties, 0.5, np.where(a_loses, 0.0, 1.0)).astype(dt, copy=False)
    wb = np.where(ties, 0.5, np.where(b_loses, 0.0, 1.0)).astype(dt, copy=False)
    return wa, wb


def _split_grad(ctx: Any, g: Tensor) -> tuple[Tensor | None, Tensor | None]:
    sa, sb = ctx.shapes
    needs = ctx.needs_input_grad
    wa, wb = (Tensor._wrap(w.astype(g.dtype, copy=False)) for w in ctx.w)
    ga = (g * wa).sum_to(sa) if needs[0] else None
    gb = (g * wb).sum_to(sb) if needs[1] else None
    return ga, gb


# -- functional forms -------------------------------------------------------------


def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limits ``a`` to ``[min, max]`` (either may be None, or a Tensor).

    Raises
    ------
    ValueError
        When both bounds are None.
    """
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        bounds = [b for b in (min, max) if b is not None]
        dt = a.data.dtype
        for b in bounds:
            dt = result_type(dt, _operands(a, b, "clamp")[1].data.dtype)
        args = [_as(x, dt) for x in (a, *bounds)]
        try:
            return ClampTensor.apply(
                *args, has_lo=min is not None, has_hi=max is not None
            )
        except ValueError:
            _check_broadcast("clamp", *(x.shape for x in args))
            raise
    if a.data.dtype.kind != "f" and any(
        isinstance(v, (float, np.floating)) for v in (min, max)
    ):
        a = a.to(float32)
    return Clamp.apply(a, lo=min, hi=max)


maximum = _binary_op(
    Maximum, "maximum", """Elementwise max; on ties the gradient is split evenly."""
)


minimum = _binary_op(
    Minimum, "minimum", """Elementwise min; on ties the gradient is split evenly."""
)
