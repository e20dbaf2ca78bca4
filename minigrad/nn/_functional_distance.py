"""nn.functional distances: normalize, cosine_similarity, pairwise_distance.

Layer: nn. Composites of the norm and elementwise ops (differentiable twice),
with PyTorch's signatures, broadcasting and eps conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import ops
from minigrad.dtypes import DTypeError
from minigrad.errors import DimError, ShapeError
from minigrad.tensor import Tensor

__all__ = ["cosine_similarity", "normalize", "pairwise_distance"]


def _floating(x: Any, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: {name} must be floating point, got dtype {x.dtype}")
    return x


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)  # a 0-d tensor takes dim 0 or -1, as in PyTorch
    if not -n <= dim < n:
        raise DimError(
            f"{op}: dim {dim} is out of range for a {ndim}-d input "
            f"(expected in [{-n}, {n - 1}])"
        )
    return dim % n


def _clamp_value(n: Tensor, eps: float) -> Tensor:
    """max(n, eps) in value with the gradient of n everywhere: PyTorch clamps
    the norms in place under no_grad, so the clamp has no backward."""
    small = n.data < eps
    if not small.any():
        return n
    return ops.where(small, n - n.detach() + eps, n)


def normalize(
    input: Tensor,
    p: float = 2.0,
    dim: int = 1,
    eps: float = 1e-12,
    out: Tensor | None = None,
) -> Tensor:
    """input / max(‖input‖_p, eps) over ``dim``: unit p-norm slices, zero
    slices stay zero."""
    op = "normalize"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported; use the returned tensor")
    x = _floating(input, op, "input")
    d = _wrap_dim(dim, x.ndim, op)
    if x.ndim == 0:
        n = ops.vector_norm(x, p)
    else:
        n = ops.vector_norm(x, p, d, keepdim=True)
    return x / n.clamp(min=eps)


def cosine_similarity(
    x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8
) -> Tensor:
    """Σ x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) over ``dim``, after
    broadcasting x1 with x2; each input is divided by its own clamped norm
    first, as PyTorch does."""
    op = "cosine_similarity"
    a = _floating(x1, op, "x1")
    b = _floating(x2, op, "x2")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: x1 of shape {tuple(a.shape)} and x2 of shape "
            f"{tuple(b.shape)} do not broadcast"
        ) from None
    d = _wrap_dim(dim, len(shape), op)
    if a.shape != shape:
        a = a.expand(*shape)
    if b.shape != shape:
        b = b.expand(*shape)
    if not shape:
        na, nb = a.abs(), b.abs()
        return (a / _clamp_value(na, eps)) * (b / _clamp_value(nb, eps))
    na = _clamp_value(ops.vector_norm(a, 2, d, keepdim=True), eps)
    nb = _clamp_value(ops.vector_norm(b, 2, d, keepdim=True), eps)
    return ((a / na) * (b / nb)).sum(d)


def pairwise_distance(
    x1: Tensor,
    x2: Tensor,
    p: float = 2.0,
    eps: float = 1e-6,
    keepdim: bool = False,
) -> Tensor:
    """‖x1 - x2 + eps‖_p over the last dim (x1 and x2 broadcast); 0-d inputs
    give |x1 - x2 + eps|."""
    op = "pairwise_distance"
    a = _floating(x1, op, "x1")
    b = _floating(x2, op, "x2")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: x1 of shape {tuple(a.shape)} and x2 of shape "
            f"{tuple(b.shape)} do not broadcast"
        ) from None
    diff = a - b + eps
    if diff.ndim == 0:
        return ops.vector_norm(diff, p)
    return ops.vector_norm(diff, p, -1, keepdim)
