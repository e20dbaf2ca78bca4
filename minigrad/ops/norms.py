"""Norms: vector_norm, matrix_norm and PyTorch's older ``norm``, composed from
reductions (their gradients come from those ops).

Layer: ops. Imports ``minigrad.tensor`` and :mod:`minigrad.ops.reduce`.

NOTE: the 2-norm is sqrt(Σ a²) through :class:`~minigrad.ops.reduce.SqrtOfVar`,
whose gradient is 0 where the result is 0, so the gradient of ``norm`` at 0 is
0 as in PyTorch (not 0·inf = NaN). ±inf norms are amax/amin of |a|: ties
share the gradient evenly, as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.elementwise import Where
from minigrad.ops.reduce import SqrtOfVar, _norm_dims, amax, amin
from minigrad.tensor import Tensor

__all__ = ["matrix_norm", "norm", "vector_norm"]


def vector_norm(
    x: Tensor,
    ord: float = 2,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements by default): ord 2,
    1, inf, -inf, 0 (the count of non-zeros) or any other real p
    (``(Σ |x|^p)^(1/p)``).

    Raises
    ------
    TypeError
        Integer or bool input (as PyTorch).
    RuntimeError
        ±inf or negative ord of an empty reduction.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"vector_norm: expected a Tensor, got {type(x).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind != "f":
        raise DTypeError(
            f"linalg.vector_norm: expected a floating input, got {x.dtype}"
        )
    if isinstance(ord, str):
        raise ArgumentError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    dims = _norm_dims(dim, x.ndim, "vector_norm")
    p = float(ord)
    a = x.abs()
    if p == 2:
        return SqrtOfVar.apply((x * x).sum(dims, keepdim))
    if p == 1:
        return a.sum(dims, keepdim)
    if math.isinf(p):
        if x.numel() == 0:
            raise ShapeError(
                f"linalg.vector_norm: cannot compute the {ord} norm of an empty "
                f"tensor (shape {x.shape})"
            )
        return amax(a, dims, keepdim) if p > 0 else amin(a, dims, keepdim)
    if p == 0:
        # |sign(x)| counts the non-zeros; Sign's gradient is 0, as PyTorch's here
        # (NOTE: a NaN counts 0 here, 1 in PyTorch)
        return x.sign().abs().sum(dims, keepdim)
    if p < 0:
        # A zero element makes the norm 0, with a zero gradient (PyTorch's
        # mask where the norm is 0): such slices are computed on ones.
        zero = (a.data == 0).any(axis=dims, keepdims=True)
        if zero.any():
            flat = np.broadcast_to(zero, a.shape)
            safe = Where.apply(1.0, a, cond=flat)
            y = (safe**p).sum(dims, keepdim) ** (1.0 / p)
            out_zero = zero if keepdim else zero.reshape(y.shape)
            return Where.apply(0.0, y, cond=out_zero)
        return (a**p).sum(dims, keepdim) ** (1.0 / p)
    # Zeros (in a, and of the sum) are masked out of the powers, so their
    # gradient is 0 as PyTorch's, not inf·0 = NaN.
    s = _masked_pow(a, p).sum(dims, keepdim)
    return _masked_pow(s, 1.0 / p)


def _masked_pow(t: Tensor, p: float) -> Tensor:
    """t ** p, with 0 (and a zero gradient) where t == 0."""
    zero = t.data == 0
    if not zero.any():
        return t**p
    safe = Where.apply(1.0, t, cond=zero)
    return Where.apply(0.0, safe**p, cond=zero)


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False
) -> Tensor:
    """The matrix norm over the two dims ``dim``: 'fro', 1 / -1 (max / min
    column sum of |A|), inf / -inf (max / min row sum).

    Raises
    ------
    ValueError
        'nuc', 2 and -2 (they need singular values, not implemented), another
        ord, or fewer than two dims.
    """
    if not isinstance(A, Tensor):
        raise TypeError(f"matrix_norm: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ShapeError(
            f"linalg.matrix_norm: expected a tensor with 2 or more dims, got shape "
            f"{A.shape}"
        )
    d = _norm_dims(tuple(dim), A.ndim, "matrix_norm")
    if d is None or len(d) != 2:
        raise ArgumentError(f"linalg.matrix_norm: dim must be two dims, got {dim}")
    r, c = (int(x) % A.ndim for x in dim)
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        # sum over the rows (dim r) for the column sums, over c for row sums
        over, then = (r, c) if ord in (1, -1) else (c, r)
        s = A.abs().sum(over, keepdim=True)
        red = amax if ord > 0 else amin
        out = red(s, then, keepdim=True)
        return out if keepdim else out.squeeze(tuple(sorted((r, c))))
    raise ArgumentError(
        f"linalg.matrix_norm: ord {ord!r} is not supported ('fro', 1, -1, inf, "
        "-inf; 'nuc' and ±2 need singular values)"
    )


def norm(
    input: Tensor,
    p: Any = "fro",
    dim: Any = None,
    keepdim: bool = False,
    dtype: Any = None,
) -> Tensor:
    """PyTorch's ``torch.norm``: 'fro' (or 2) is the 2-norm of the elements
    over ``dim``; a number p the vector p-norm; 'nuc' is not implemented."""
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise ArgumentError(f"norm: p={p!r} is not supported ('fro' or a number)")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)
