"""Integer-style arithmetic with PyTorch's rounding and promotion: floor division,
remainder, integer powers and the bitwise ops.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd``, ``minigrad.dtypes``
and the promotion helpers of :mod:`minigrad.ops.elementwise`.

# Note [Rounding like PyTorch]
``a // b`` rounds toward minus infinity and ``a % b`` takes the sign of the
divisor (Python's rules, and PyTorch's), for int and float tensors alike. For
floats PyTorch computes the remainder as ``fmod(a, b)`` shifted by ``b`` when
the signs differ, so an exact zero keeps the sign of ``a``; numpy's
``remainder`` gives it the sign of ``b``. That is written out here, so that even
the sign of zero matches. Integer division by zero raises (PyTorch raises
"ZeroDivisionError"); float division by zero gives inf or NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.dtypes import DTypeError, int64, scalar_result_type
from minigrad.errors import ArgumentError
from minigrad.ops.elementwise import _as, _check_broadcast, _is_scalar, _operands
from minigrad.tensor import Tensor
from minigrad.typeinfo import result_type as _operand_result_type

__all__ = [
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "floor_divide",
    "int_pow",
    "remainder",
]


def _no_bool(a: Tensor, op: str) -> None:
    if a.data.dtype.kind == "b":
        raise DTypeError(
            f"{op}: not defined for bool tensors (PyTorch: not implemented for "
            "'Bool'); convert with .long() first"
        )


def _no_int_zero(b: np.ndarray, op: str) -> None:
    if b.dtype.kind in "iub" and not np.all(b):
        raise ArgumentError(
            f"{op}: ZeroDivisionError: integer division by zero (divisor of shape "
            f"{b.shape})"
        )


def _pair(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of the promoted dtype, checked to broadcast."""
    ta, tb = _operands(a, b, op)
    _check_broadcast(op, ta.shape, tb.shape)
    return ta, tb


def _floor_divide_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.floor_divide(a, b)


def _remainder_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PyTorch's remainder (Note [Rounding like PyTorch])."""
    if a.dtype.kind != "f":
        return np.remainder(a, b)
    with np.errstate(all="ignore"):
        m = np.fmod(a, b)
        shift = (m != 0) & ((b < 0) != (m < 0))
        return np.where(shift, m + b, m).astype(m.dtype, copy=False)


def floor_divide(a: Any, b: Any) -> Tensor:
    """``a // b``: the quotient rounded toward minus infinity (Note [Rounding like
    PyTorch]). Either operand may be a Python number. Not differentiable (its
    derivative is 0 almost everywhere): the result does not require grad.

    Raises
    ------
    ValueError
        Integer division by zero, or shapes that do not broadcast.
    TypeError
        Bool operands.
    """
    ta, tb = _pair(a, b, "floor_divide")
    _no_bool(ta, "floor_divide")
    _no_int_zero(tb.data, "floor_divide")
    return Tensor._wrap(_floor_divide_arrays(ta.data, tb.data))


class Remainder(Function):
    """y = a - b·floor(a / b), with the sign of b;  dL/da = g, dL/db = -g·floor(a/b)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _remainder_arrays(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = g.sum_to(a.shape) if needs[0] else None
        gb = None
        if needs[1]:
            q = Tensor._wrap(_floor_divide_arrays(a.data, b.data))
            gb = (-g * q).sum_to(b.shape)
        return ga, gb


def remainder(a: Any, b: Any) -> Tensor:
    """``a % b``, with the sign of the divisor (Note [Rounding like PyTorch]).
    Either operand may be a Python number; differentiable for floats.

    Raises
    ------
    ValueError
        Integer division by zero, or shapes that do not broadcast.
    TypeError
        Bool operands.
    """
    ta, tb = _pair(a, b, "remainder")
    _no_bool(ta, "remainder")
    _no_int_zero(tb.data, "remainder")
    return Remainder.apply(ta, tb)


def _int_pow_arrays(a: np.ndarray, b: np.ndarray | np.integer) -> np.ndarray:
    """a ** b for integer arrays. numpy refuses negative exponents; PyTorch
    gives the integer part of the exact result: 1 for a base of 1, ±1 for -1,
    0 otherwise (0 ** -1 included)."""
    neg = b < 0
    if not np.any(neg):
        return np.power(a, b)
    r = np.power(a, np.where(neg, 0, b))
    odd = (b % 2) != 0
    small = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(neg, small, r).astype(r.dtype, copy=False)


def int_pow(a: Any, b: Any) -> Tensor:
    """``a ** b`` where both are integer (or bool) and at least one is a Tensor:
    an integer result of PyTorch's promoted dtype (``int_tensor ** int_tensor``
    and ``2 ** int_tensor`` stay integers, overflow wraps). A bool tensor to a
    bool scalar stays bool.

    Raises
    ------
    ValueError
        An integer tensor to a negative Python integer power (as PyTorch), or
        shapes that do not broadcast.
    TypeError
        A bool base (tensor or scalar) to a bool tensor power.
    """
    if _kind(b) == "b" and (isinstance(a, (bool, np.bool_)) or _kind(a) == "b"):
        raise DTypeError(
            "pow: a bool base to a bool tensor power is not supported (PyTorch: "
            "not implemented for 'Bool'); use .long()"
        )
    if isinstance(a, Tensor) and _is_scalar(b):
        if not isinstance(b, (bool, np.bool_)) and b < 0:
            raise ArgumentError(
                f"pow: Integers to negative integer powers are not allowed "
                f"(tensor of dtype {a.dtype} to the power {b})"
            )
        dt = scalar_result_type(a.data.dtype, b)
        r = _int_pow_arrays(a.data.astype(int64), np.int64(b))
        return Tensor._wrap(r.astype(dt, copy=False))
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        # PyTorch's promotion (int8 ** int8 stays int8, wrapping); bool ** bool
        # was refused above
        dt = _operand_result_type(a, b, op="pow")
    else:  # a Python base: 2 ** int8_tensor is int8, 2 ** bool_tensor int64
        dt = scalar_result_type(b.data.dtype, a)
    ta, tb = _as(a, dt), _as(b, dt)
    _check_broadcast("pow", ta.shape, tb.shape)
    return Tensor._wrap(_int_pow_arrays(ta.data, tb.data))


def _kind(x: Any) -> str:
    return x.data.dtype.kind if isinstance(x, Tensor) else ""


def _bitwise(a: Any, b: Any, ufunc: Any, op: str) -> Tensor:
    ta, tb = _pair(a, b, op)
    if ta.data.dtype.kind == "f":
        raise DTypeError(
            f"{op}: only integer and bool tensors, got {ta.data.dtype} "
            "(PyTorch: not implemented for floating types)"
        )
    return Tensor._wrap(ufunc(ta.data, tb.data))


def bitwise_and(a: Any, b: Any) -> Tensor:
    """``a & b``: bitwise on integers, logical on bools (bool & int is int64)."""
    return _bitwise(a, b, np.bitwise_and, "bitwise_and")


def bitwise_or(a: Any, b: Any) -> Tensor:
    """``a | b``: bitwise on integers, logical on bools."""
    return _bitwise(a, b, np.bitwise_or, "bitwise_or")


def bitwise_xor(a: Any, b: Any) -> Tensor:
    """``a ^ b``: bitwise on integers, logical on bools."""
    return _bitwise(a, b, np.bitwise_xor, "bitwise_xor")


def bitwise_not(a: Tensor) -> Tensor:
    """``~a``: bitwise not on integers (``~x == -x - 1``), logical on bools.

    Raises
    ------
    TypeError
        A floating tensor (as PyTorch).
    """
    if not isinstance(a, Tensor):
        raise TypeError(f"bitwise_not: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind == "f":
        raise DTypeError(
            f"bitwise_not: ~ is only defined for integer and bool tensors, got "
            f"{a.data.dtype}"
        )
    return Tensor._wrap(np.invert(a.data))


def _shift(a: Any, b: Any, left: bool, op: str) -> Tensor:
    """PyTorch's shifts: a shift by a negative amount or by the width of the
    type or more gives 0 (left) or the sign fill (right), where numpy's result
    is undefined (the hardware takes the amount modulo the width)."""
    ta, tb = _pair(a, b, op)
    if ta.data.dtype.kind in "fb":
        raise DTypeError(
            f"{op}: only integer tensors, got {ta.data.dtype} (PyTorch: not "
            "implemented for floating or bool types)"
        )
    x, s = np.broadcast_arrays(ta.data, tb.data)
    bits = x.dtype.itemsize * 8
    wide = (s < 0) | (s >= bits)
    safe = np.where(wide, 0, s).astype(x.dtype)
    if left:
        out = np.where(wide, 0, np.left_shift(x, safe))
    else:
        fill = np.right_shift(x, x.dtype.type(bits - 1))
        out = np.where(wide, fill, np.right_shift(x, safe))
    return Tensor._wrap(out.astype(x.dtype, copy=False))


def bitwise_left_shift(a: Any, b: Any) -> Tensor:
    """``a << b`` on integers (bits shifted out are lost; wraps like C)."""
    return _shift(a, b, True, "bitwise_left_shift")


def bitwise_right_shift(a: Any, b: Any) -> Tensor:
    """``a >> b`` on integers, arithmetic (the sign is kept)."""
    return _shift(a, b, False, "bitwise_right_shift")
