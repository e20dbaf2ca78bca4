"""Matrix products with numpy's matmul rules (1-D, 2-D, batched with broadcasting).

Layer: ops.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd.function import Function
from minigrad.dtypes import result_type
from minigrad.tensor import Tensor

__all__ = ["matmul"]


class MatMul(Function):
    """y = a @ b for a, b with ndim >= 2 (batch dims broadcast);
    dL/da = g @ bᵀ, dL/db = aᵀ @ g, each reduced to its input's shape."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = MatMul.apply(g, b.transpose(-1, -2)).sum_to(a.shape)
        if ctx.needs_input_grad[1]:
            gb = MatMul.apply(a.transpose(-1, -2), g).sum_to(b.shape)
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with numpy's rules: a 1-D operand is a row (left) or a column
    (right) vector whose dim is removed from the result."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(
            "matmul: expected two Tensors, got "
            f"{type(a).__name__} and {type(b).__name__}"
        )
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dim, got {a.shape} @ {b.shape}"
        )
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions do not broadcast: {a.shape} @ {b.shape}"
        ) from None
    if a.dtype != b.dtype:
        dt = result_type(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    if a.dtype.kind == "b":
        raise TypeError("matmul: bool tensors are not supported")
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = a.reshape(1, ka)
    if vb:
        b = b.reshape(kb, 1)
    y = MatMul.apply(a, b)
    if va and vb:
        return y.reshape(())
    if va:
        return y.squeeze(-2)
    if vb:
        return y.squeeze(-1)
    return y
