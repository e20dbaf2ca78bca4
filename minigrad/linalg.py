"""``mg.linalg``: PyTorch's ``torch.linalg`` names. Layer: API; re-exports ops.

Norms come from ``minigrad.ops.norms``; dense linear algebra from
``minigrad.ops.lapack``: inv, det, slogdet, solve and cholesky are
differentiable; qr, svd, eigh and pinv are forward only (they raise
NotImplementedError when a gradient would be needed).
"""

from typing import Any

from minigrad.ops.einsum import cross as _cross
from minigrad.ops.lapack import (
    cholesky,
    det,
    eigh,
    inv,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
)
from minigrad.ops.linalg import matmul
from minigrad.ops.norms import matrix_norm, vector_norm
from minigrad.ops.norms import norm as _norm
from minigrad.tensor import Tensor

__all__ = [
    "cholesky",
    "cross",
    "det",
    "eigh",
    "inv",
    "matmul",
    "matrix_norm",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "vector_norm",
]


def norm(
    A: Tensor,
    ord: Any = None,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """``torch.linalg.norm``: with ``ord`` None the 2-norm of the flattened
    input (or over ``dim``); a string ord or a 2-tuple dim is a matrix norm,
    else a vector norm."""
    if isinstance(ord, str) or (
        dim is not None
        and not isinstance(dim, int)
        and len(dim) == 2
        and ord is not None
    ):
        return matrix_norm(
            A if dtype is None else A.to(dtype), ord, dim or (-2, -1), keepdim
        )
    if ord is None:
        return _norm(A, 2, dim, keepdim, dtype)
    if dim is None and A.ndim == 2:
        return matrix_norm(A if dtype is None else A.to(dtype), ord, (-2, -1), keepdim)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def cross(a: Any, b: Any, *, dim: int = -1) -> Any:
    """The cross product of 3-vectors along ``dim`` (the last by default)."""
    return _cross(a, b, dim)
