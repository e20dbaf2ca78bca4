"""Shared hypothesis strategies: shapes, broadcastable shapes, bounded arrays."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st


def shapes(
    min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 6
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, sides 0..6 by default (0 and 1 are the edge cases)."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    n: int = 2,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 0,
    max_side: int = 4,
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``n`` mutually broadcastable input shapes."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n,
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    ).map(lambda bs: bs.input_shapes)


def arrays(
    shape: tuple[int, ...], dtype: type = np.float64, lo: float = -3.0, hi: float = 3.0
) -> st.SearchStrategy[np.ndarray]:
    """Finite arrays with elements in [lo, hi]."""
    return hnp.arrays(
        dtype,
        shape,
        elements=st.floats(
            lo,
            hi,
            allow_nan=False,
            allow_infinity=False,
            width=64 if dtype == np.float64 else 32,
        ),
    )


def away_from(
    arr: np.ndarray, points: tuple[float, ...] = (0.0,), gap: float = 1e-3
) -> np.ndarray:
    """``arr`` with elements nudged at least ``gap`` away from kinks (relu at 0)."""
    out = arr.copy()
    for p in points:
        close = np.abs(out - p) < gap
        out[close] = p + np.where(out[close] >= p, gap, -gap) * 2
    return out
