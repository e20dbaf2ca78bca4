"""Padding: ``pad`` with PyTorch's modes (constant, reflect, replicate,
circular) and pad-tuple convention.

Layer: ops. Imports ``minigrad.tensor`` and ``minigrad.autograd``.

Constant padding is one op (``ConstantPad``: numpy's pad forward, a slice
backward). The other modes are gathers, ``x[..., idx]`` along each padded dim
with an index array, so their backward is the scatter-add of advanced
indexing (reflected and wrapped positions receive several gradients), and
both are differentiable again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad.autograd.function import Function
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPad(Function):
    """y = x with ``widths`` (before, after) per dim of ``value`` around it
    (widths >= 0); dL/dx = g[the slice that was x]."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, widths, value):
        ctx.core = tuple(slice(a, a + n) for (a, _b), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.core]


def _index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source positions for padded positions -before .. n + after - 1."""
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    # reflect: mirror about the edges without repeating them
    period = 2 * (n - 1)
    i = np.abs(i) % period if period > 0 else np.zeros_like(i)
    return np.where(i >= n, period - i, i)


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0
) -> Tensor:
    """Pads the last len(pad) / 2 dims: ``pad`` = (left of the last dim, right
    of the last dim, left of the one before, ...), PyTorch's order.

    Parameters
    ----------
    input : Tensor
    pad : sequence of ints, even length <= 2 * input.ndim; negative widths
        crop (constant mode)
    mode : 'constant', 'reflect', 'replicate' or 'circular'
    value : the fill of constant mode

    Raises
    ------
    ValueError : an odd-length or too long ``pad``, an unknown mode, or widths
        the mode cannot produce (reflect: width < size; circular: <= size)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: input must be a Tensor, got {type(input).__name__}")
    if isinstance(pad, (int, np.integer)) or not all(
        isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad
    ):
        raise ArgumentError(f"pad: pad must be a sequence of ints, got {pad!r}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(
            f"pad: pad must have an even length of at most 2 * input.ndim, got "
            f"{tuple(pad)} for input of shape {input.shape}"
        )
    if mode not in _MODES:
        raise ArgumentError(f"pad: mode must be one of {_MODES}, got {mode!r}")
    k = len(pad) // 2
    # (dim, before, after) for each padded dim, the last dim first.
    dims = [(input.ndim - 1 - j, pad[2 * j], pad[2 * j + 1]) for j in range(k)]
    if mode == "constant":
        x = input
        if any(b < 0 or a < 0 for _d, b, a in dims):
            crop = [slice(None)] * input.ndim
            for d, b, a in dims:
                n = input.shape[d]
                crop[d] = slice(max(-b, 0), n - max(-a, 0))
                if n - max(-a, 0) - max(-b, 0) < 0:
                    raise ShapeError(
                        f"pad: cropping {tuple(pad)} removes more than dim {d} of "
                        f"input shape {input.shape} holds"
                    )
            x = x[tuple(crop)]
        widths = [(0, 0)] * input.ndim
        for d, b, a in dims:
            widths[d] = (max(b, 0), max(a, 0))
        if all(w == (0, 0) for w in widths):
            return x
        return ConstantPad.apply(x, widths=tuple(widths), value=value)
    if input.ndim - k < 1:
        raise ShapeError(
            f"pad: {mode} padding of {k} dims needs at least {k + 1}-D input, got "
            f"shape {input.shape}"
        )
    x = input
    for d, b, a in dims:
        n = input.shape[d]
        if b < 0 or a < 0:
            raise ArgumentError(f"pad: {mode} padding must be >= 0, got {tuple(pad)}")
        limit_ok = (
            (b < n and a < n)
            if mode == "reflect"
            else (b <= n and a <= n)
            if mode == "circular"
            else n > 0
        )
        if not limit_ok:
            raise ShapeError(
                f"pad: {mode} padding {tuple(pad)} is too large for dim {d} of "
                f"input shape {input.shape}"
            )
        if b == 0 and a == 0:
            continue
        idx = _index(n, b, a, mode)
        x = x[(slice(None),) * d + (idx,)]
    return x
