"""Shared test helpers: per-dtype tolerances, tensor construction, torch bridge,
hypothesis example counts that scale with the profile."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import settings

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


# The dev profile's max_examples (tests/conftest.py): the unit of ``examples``.
DEV_MAX_EXAMPLES = 50
# A profile with at least this many examples is exhaustive (thorough): no
# property runs fewer than the profile's max_examples there.
EXHAUSTIVE_MAX_EXAMPLES = 500


def example_count(n: int, profile_max_examples: int) -> int:
    """How many examples ``examples(n)`` asks for under a profile with that
    max_examples."""
    k = max(1, round(n * profile_max_examples / DEV_MAX_EXAMPLES))
    if profile_max_examples >= EXHAUSTIVE_MAX_EXAMPLES:
        k = max(k, profile_max_examples)
    return k


def examples(n: int, **kw: Any) -> settings:
    """``settings(max_examples=...)`` for a property that runs ``n`` examples
    under the dev profile (a costly one fewer than dev's 50).

    The count scales with the loaded profile's max_examples (n under dev, 4n
    under ci's 200), so a per-test count never caps a deeper profile; under an
    exhaustive one (thorough) it is at least the profile's max_examples. Other
    keywords (``deadline``...) pass through.
    """
    return settings(max_examples=example_count(n, settings.default.max_examples), **kw)
