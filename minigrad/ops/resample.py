"""Max unpooling: the values of a max pooling put back at their argmax
positions, zeros elsewhere (PyTorch's ``max_unpool``).

Layer: ops. Imports ``minigrad.autograd`` and ``minigrad.ops.index``.

# Note [Unpooling with repeated indices]
Overlapping pooling windows can share a maximum, so ``idx`` may repeat a
position. PyTorch writes (the last write wins; every such value is the same
maximum) and its backward gathers ``g`` at every index, so each copy gets the
gradient. We do the same: forward assigns, backward is ``GetItem`` (whose own
backward, a scatter-add, makes gradients of gradients work).
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.index import GetItem
from minigrad.tensor import Tensor

__all__ = ["max_unpool"]


class MaxUnpool(Function):
    """y (planes, out_numel) = zeros with x[p, j] written at idx[p, j];
    dL/dx = g[p, idx] (Note [Unpooling with repeated indices])."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, idx, out_numel):
        rows = np.arange(x.shape[0])[:, None]
        ctx.gather = (np.broadcast_to(rows, idx.shape), idx)
        out = np.zeros((x.shape[0], out_numel), dtype=x.dtype)
        out[rows, idx] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return GetItem.apply(g, idx=ctx.gather)


def max_unpool(x: Tensor, idx: np.ndarray, out_numel: int) -> Tensor:
    """``x`` and ``idx`` of shape (planes, n): each plane's values written at
    their flat positions in a zero plane of ``out_numel`` elements; indices
    checked by the caller (``nn.functional``)."""
    return MaxUnpool.apply(x, idx=idx, out_numel=out_numel)
