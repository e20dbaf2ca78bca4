"""``minigrad.linalg``: PyTorch's ``torch.linalg`` names.

Layer: API. Re-exports ops from :mod:`minigrad.ops`.
"""

from typing import Any

from minigrad.ops.norms import matrix_norm, vector_norm
from minigrad.ops.norms import norm as _norm
from minigrad.tensor import Tensor

__all__ = ["matrix_norm", "norm", "vector_norm"]


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
