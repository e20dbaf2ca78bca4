"""Shared test helpers: per-dtype tolerances, tensor construction, torch bridge."""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad as mg

# One place for forward-comparison tolerances, per dtype.
TOL = {
    np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-6},
    np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-12},
}


def assert_close(actual: Any, expected: Any, dtype: Any = None, **kw: Any) -> None:
    a = np.asarray(actual.data if isinstance(actual, mg.Tensor) else actual)
    e = np.asarray(expected)
    tol = dict(
        TOL.get(
            np.dtype(dtype) if dtype is not None else a.dtype,
            {"rtol": 1e-5, "atol": 1e-6},
        )
    )
    tol.update(kw)
    np.testing.assert_allclose(a, e, **tol)


def leaf(arr: Any, dtype: Any = np.float64) -> mg.Tensor:
    """A float leaf tensor that requires grad."""
    return mg.tensor(np.asarray(arr), dtype=dtype, requires_grad=True)


def to_torch(t: mg.Tensor, torch: Any) -> Any:
    """The same values as a torch leaf (requires_grad mirrors ``t``)."""
    x = torch.from_numpy(np.array(t.data))
    if t.requires_grad:
        x.requires_grad_(True)
    return x
