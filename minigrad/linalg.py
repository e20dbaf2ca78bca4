"""``mg.linalg``: PyTorch's ``torch.linalg`` names for minigrad's dense linear
algebra (defined in ``minigrad.ops.lapack``).

inv, det, slogdet, solve and cholesky are differentiable; qr, svd, eigh and
pinv are forward only (they raise NotImplementedError when a gradient would be
needed).
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

__all__ = [
    "cholesky",
    "cross",
    "det",
    "eigh",
    "inv",
    "matmul",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
]


def cross(a: Any, b: Any, *, dim: int = -1) -> Any:
    """The cross product of 3-vectors along ``dim`` (the last by default)."""
    return _cross(a, b, dim)
