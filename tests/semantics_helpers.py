"""Helpers shared by the tests/test_torch_semantics*.py files."""

from __future__ import annotations

import math

import minigrad as mg

INF, NAN = math.inf, math.nan


def _f64(T, data):
    """A float64 tensor of ``data`` in minigrad (T = mg) or torch (T = torch)."""
    return T.tensor(data, dtype=T.float64)


def _smooth(*arrs):
    """float64 leaves that require grad, for gradcheck."""
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrs]


def _dtype_name(t):
    """``float32`` for a minigrad or a torch tensor of that dtype."""
    return str(t.dtype).replace("torch.", "")
