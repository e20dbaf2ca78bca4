"""Comparisons and tests: eq/ne/lt/le/gt/ge, isclose, allclose, equal,
isnan/isinf/isfinite/isposinf/isneginf and the logical ops. None is
differentiable: each gives a bool tensor (or a Python bool), not recorded.

Layer: ops. Imports ``minigrad.tensor`` and the promotion helpers of
:mod:`minigrad.ops.elementwise`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.ops.elementwise import _check_broadcast, _operands
from minigrad.tensor import Tensor

__all__ = [
    "allclose",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "not_equal",
]


def _pair(a: Any, b: Any, op: str) -> tuple[np.ndarray, np.ndarray]:
    """Both operands' arrays in the promoted dtype, checked to broadcast."""
    ta, tb = _operands(a, b, op)
    _check_broadcast(op, ta.shape, tb.shape)
    return ta.data, tb.data


def _compare(ufunc: Any, name: str, doc: str) -> Callable[[Any, Any], Tensor]:
    def fn(input: Any, other: Any) -> Tensor:
        a, b = _pair(input, other, name)
        return Tensor._wrap(np.asarray(ufunc(a, b)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


eq: Callable[[Any, Any], Tensor] = _compare(
    np.equal, "eq", "input == other elementwise (a bool tensor)."
)
ne: Callable[[Any, Any], Tensor] = _compare(
    np.not_equal, "ne", "input != other elementwise."
)
lt: Callable[[Any, Any], Tensor] = _compare(np.less, "lt", "input < other elementwise.")
le: Callable[[Any, Any], Tensor] = _compare(
    np.less_equal, "le", "input <= other elementwise."
)
gt: Callable[[Any, Any], Tensor] = _compare(
    np.greater, "gt", "input > other elementwise."
)
ge: Callable[[Any, Any], Tensor] = _compare(
    np.greater_equal, "ge", "input >= other elementwise."
)
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def isclose(
    input: Any,
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """``|input - other| <= atol + rtol·|other|`` elementwise (equal infinities
    are close; NaNs only with ``equal_nan``), as PyTorch.

    Raises
    ------
    ValueError
        A negative ``rtol`` or ``atol``.
    """
    from minigrad.errors import ArgumentError

    if rtol < 0 or atol < 0:
        raise ArgumentError(
            f"isclose: rtol and atol must be non-negative, got rtol={rtol}, atol={atol}"
        )
    if (
        isinstance(input, Tensor)
        and isinstance(other, Tensor)
        and input.dtype != other.dtype
    ):
        from minigrad.dtypes import DTypeError

        raise DTypeError(
            f"isclose: expected both inputs to have the same dtype, got "
            f"{input.dtype} and {other.dtype} (as PyTorch; convert one with .to())"
        )
    a, b = _pair(input, other, "isclose")
    if a.dtype.kind == "b":
        return Tensor._wrap(np.asarray(a == b))
    with np.errstate(all="ignore"):
        out = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return Tensor._wrap(np.asarray(out))


def allclose(
    input: Any,
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether :func:`isclose` holds everywhere (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values (NaN != NaN)."""
    if input.shape != other.shape:
        return False
    return bool(np.array_equal(input.data, other.data))


def _test(ufunc: Any, name: str, doc: str) -> Any:
    def fn(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return Tensor._wrap(np.asarray(ufunc(input.data)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


isnan = _test(np.isnan, "isnan", "Where input is NaN (never for integers).")
isinf = _test(np.isinf, "isinf", "Where input is +inf or -inf.")
isfinite = _test(np.isfinite, "isfinite", "Where input is neither inf nor NaN.")
isposinf = _test(np.isposinf, "isposinf", "Where input is +inf.")
isneginf = _test(np.isneginf, "isneginf", "Where input is -inf.")


def _logical(ufunc: Any, name: str) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        a, b = _pair(input, other, name)
        return Tensor._wrap(np.asarray(ufunc(a != 0, b != 0)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name[8:]} of the truth values (nonzero is True)."
    return fn


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not of the truth value (0 is False): a bool tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"logical_not: expected a Tensor, got {type(input).__name__}")
    return Tensor._wrap(np.asarray(input.data == 0))
