"""Pooling ops: max pooling (with its argmax indices) and average pooling over
N = 1, 2, 3 spatial dims, on the C kernels of ``minigrad._C._pool``.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd``,
``minigrad.backend`` and ``minigrad._C._pool``.

# Note [Pooling adjoints]
Both poolings are linear once the max's positions are fixed, and each backward
is the adjoint of the forward, written as an op whose own backward is the
forward again, so gradients of gradients need no new kernels:
  MaxPool      y = x[idx]            gx = IndexScatter(g, idx)
  IndexScatter y = scatter(g, idx)   d/dg = IndexGather(gg, idx)
  IndexGather  y = a[idx]            d/da = IndexScatter(g, idx)
  AvgPool      y = avg(x)            gx = AvgPoolGrad(g)
  AvgPoolGrad  y = avgᵀ(g)           d/dg = AvgPool(gg)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import backend
from minigrad._C import _pool
from minigrad.autograd.function import Function
from minigrad.tensor import Tensor

__all__ = ["avg_pool", "max_pool"]


def _threads() -> dict[str, Any]:
    return {"num_threads": backend._kernel_threads()}


class MaxPool(Function):
    """(y, idx): y = the max of each window, idx its flat position in the
    plane (NaN wins). dL/dx = g scattered to idx."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, geom, out_size):
        y, idx = _pool.max_pool_forward(x, out_size=out_size, **geom, **_threads())
        ctx.idx, ctx.in_shape, ctx.geom = idx, x.shape, geom
        ctx.mark_non_differentiable(idx)
        return y, idx

    @staticmethod
    def backward(ctx, g, _g_idx=None):
        return IndexScatter.apply(g, idx=ctx.idx, in_shape=ctx.in_shape, geom=ctx.geom)


class IndexScatter(Function):
    """y (in_shape) = zeros with g added at idx within each plane (the max
    pooling backward, run by its C kernel; ``geom`` is the pooling's);
    dL/dg = gather."""

    _array_forward = True

    @staticmethod
    def forward(ctx, g, *, idx, in_shape, geom):
        ctx.idx, ctx.geom = idx, geom
        nd = len(geom["kernel_size"])
        return _pool.max_pool_backward(
            g, idx, in_size=in_shape[len(in_shape) - nd :], **geom, **_threads()
        )

    @staticmethod
    def backward(ctx, gg):
        return IndexGather.apply(gg, idx=ctx.idx, geom=ctx.geom)


class IndexGather(Function):
    """y (idx.shape) = a[plane, idx] within each plane (0 where idx is -1);
    dL/da = scatter."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, idx, geom):
        ctx.idx, ctx.geom, ctx.in_shape = idx, geom, a.shape
        nd = len(geom["kernel_size"])
        planes = int(np.prod(a.shape[: a.ndim - nd], dtype=np.int64))
        flat = np.ascontiguousarray(a).reshape(planes, -1)
        gi = idx.reshape(planes, -1)
        out = np.take_along_axis(flat, np.maximum(gi, 0), axis=1)
        out[gi < 0] = 0
        return out.reshape(idx.shape)

    @staticmethod
    def backward(ctx, g):
        return IndexScatter.apply(g, idx=ctx.idx, in_shape=ctx.in_shape, geom=ctx.geom)


class AvgPool(Function):
    """y = the mean of each window (divisor per mg_pool.h);
    dL/dx = AvgPoolGrad(g), the adjoint."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, geom, out_size):
        ctx.geom, ctx.in_size = geom, x.shape[x.ndim - len(out_size) :]
        return _pool.avg_pool_forward(x, out_size=out_size, **geom, **_threads())

    @staticmethod
    def backward(ctx, g):
        return AvgPoolGrad.apply(g, geom=ctx.geom, in_size=ctx.in_size)


class AvgPoolGrad(Function):
    """y = avgᵀ(g), the adjoint of average pooling; dL/dg = AvgPool(gg)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, g, *, geom, in_size):
        ctx.geom, ctx.out_size = geom, g.shape[g.ndim - len(in_size) :]
        return _pool.avg_pool_backward(g, in_size=in_size, **geom, **_threads())

    @staticmethod
    def backward(ctx, gg):
        return AvgPool.apply(gg, geom=ctx.geom, out_size=ctx.out_size)


def max_pool(
    x: Tensor,
    *,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    out_size: tuple[int, ...],
) -> tuple[Tensor, Tensor]:
    """(values, indices) of max pooling over the last len(kernel_size) dims;
    arguments checked by the caller (``nn.functional``)."""
    geom = {
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }
    return MaxPool.apply(x, geom=geom, out_size=out_size)


def avg_pool(
    x: Tensor,
    *,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    out_size: tuple[int, ...],
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Average pooling over the last len(kernel_size) dims; arguments checked
    by the caller (``nn.functional``)."""
    geom = {
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "count_include_pad": bool(count_include_pad),
        "divisor_override": divisor_override,
    }
    return AvgPool.apply(x, geom=geom, out_size=out_size)
