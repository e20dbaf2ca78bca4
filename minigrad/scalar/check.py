"""Finite-difference checks for functions of scalar Values.

Layer: scalar. ``minigrad.autograd.gradcheck`` dispatches here when its inputs
are :class:`~minigrad.scalar.Value` objects, so a function of Values is checked
(and a failure reported) exactly like a function of Tensors. Imports
``minigrad.autograd.gradcheck`` for :class:`JacobianCheck` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad._C._scalar import _topo
from minigrad.autograd.gradcheck import JacobianCheck
from minigrad.errors import ArgumentError, ShapeError
from minigrad.scalar import Value

__all__ = ["value_checks"]


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Any]:
    """fn's result as a list of Values and numbers."""
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if not outs:
        raise ArgumentError("gradcheck: fn returned no output")
    for o in outs:
        if not isinstance(o, (Value, int, float)):
            raise TypeError(
                "gradcheck: fn of Values must return a Value or a list/tuple of "
                f"Values, got {type(o).__name__}"
            )
    return outs


def _values(outs: list[Any]) -> np.ndarray:
    return np.array(
        [o.data if isinstance(o, Value) else float(o) for o in outs], dtype=np.float64
    )


def _analytical(
    outs: list[Any], inputs: Sequence[Any], diff: list[int]
) -> list[np.ndarray]:
    """Column j: backward from output j, every gradient in its graph zeroed
    first (micrograd's backward accumulates into interior nodes too). The
    gradients found on entry are put back afterwards."""
    jacs = [np.zeros((1, len(outs))) for _ in diff]
    saved: dict[int, tuple[Value, float]] = {}
    try:
        for j, o in enumerate(outs):
            if not isinstance(o, Value):
                continue  # a constant output: a zero column
            nodes = [*_topo(o), *(inputs[i] for i in diff)]
            for v in nodes:
                saved.setdefault(id(v), (v, v.grad))
                v.grad = 0.0
            o.backward()
            for jac, i in zip(jacs, diff):
                jac[0, j] = inputs[i].grad
    finally:
        for v, g in saved.values():
            v.grad = g
    return jacs


def _numerical(
    fn: Callable[..., Any], inputs: Sequence[Any], x: Value, n_out: int, eps: float
) -> np.ndarray:
    orig = x.data
    try:
        x.data = orig + eps
        plus = _values(_outputs(fn, inputs))
        x.data = orig - eps
        minus = _values(_outputs(fn, inputs))
    finally:
        x.data = orig
    if plus.size != n_out or minus.size != n_out:
        raise ShapeError("gradcheck: fn returned a different number of outputs")
    return ((plus - minus) / (2 * eps)).reshape(1, n_out)


def value_checks(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float,
    atol: float,
    rtol: float,
) -> list[JacobianCheck]:
    """The analytical and numerical derivatives of ``fn`` for every Value input.

    Parameters
    ----------
    fn : callable
        Takes ``*inputs`` and returns a Value or a list/tuple of Values (plain
        numbers count as constant outputs).
    inputs : sequence
        Values (differentiated) and other arguments (passed through).
    eps, atol, rtol : float
        Central-difference step (applied to ``.data``) and the tolerances
        ``|a - n| <= atol + rtol·|n|``.

    Returns
    -------
    list of JacobianCheck
        One per Value input, ``input_shape == ()``; ``analytical[0, j]`` is
        d out_j / d input from backward, ``numerical`` the same by central
        differences. ``output_shape`` is ``()`` for a single output, else
        ``(n_outputs,)``.

    Raises
    ------
    ValueError
        No input is a Value, or fn returned nothing.
    TypeError
        fn returned something other than Values and numbers.
    """
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Value)]
    if not diff:
        raise ShapeError("gradcheck: no input is a Value")
    outs = _outputs(fn, inputs)
    n_out = len(outs)
    out_shape: tuple[int, ...] = () if n_out == 1 else (n_out,)
    analytical = _analytical(outs, inputs, diff)
    return [
        JacobianCheck(
            i,
            (),
            out_shape,
            a,
            _numerical(fn, inputs, inputs[i], n_out, eps),
            atol,
            rtol,
        )
        for i, a in zip(diff, analytical)
    ]
