"""Binary elementwise math: atan2, hypot, logaddexp, xlogy, copysign, fmod,
and the composites lerp, addcmul, addcdiv, clip (split from
:mod:`minigrad.ops.math`, which re-exports them).

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the
promotion helpers of :mod:`minigrad.ops.elementwise`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.function import Function, apply2
from minigrad.dtypes import DTypeError
from minigrad.ops.elementwise import Where, _check_broadcast, _operands
from minigrad.tensor import Tensor

__all__ = [
    "addcdiv",
    "addcmul",
    "arctan2",
    "atan2",
    "clip",
    "copysign",
    "fmod",
    "hypot",
    "lerp",
    "logaddexp",
    "xlogy",
]


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros(t.shape, t.dtype))


# -- binary ops ---------------------------------------------------------------------


class _Binary:
    """y = _f(a, b), broadcasting; each backward sums to its input's shape. A
    mixin, as :class:`_Unary`."""

    _array_forward = True
    _f: Callable[..., Any]  # the forward on arrays; each input's gradient term
    _da: Callable[..., Tensor]
    _db: Callable[..., Tensor]

    @classmethod
    def forward(cls, ctx, a, b):
        with np.errstate(all="ignore"):
            y = np.asarray(cls._f(a, b), dtype=np.result_type(a, b))
        ctx.save_for_backward(a, b, y)
        return y

    @classmethod
    def backward(cls, ctx, g):
        a, b, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        with np.errstate(all="ignore"):
            ga = cls._da(g, a, b, y).sum_to(a.shape) if needs[0] else None
            gb = cls._db(g, a, b, y).sum_to(b.shape) if needs[1] else None
        return ga, gb


class Atan2(_Binary, Function):
    """y = atan2(a, b);  dL/da = g·b/(a² + b²), dL/db = -g·a/(a² + b²)."""

    _f = staticmethod(np.arctan2)
    _da = staticmethod(lambda g, a, b, y: g * b / (a * a + b * b))
    _db = staticmethod(lambda g, a, b, y: -g * a / (a * a + b * b))


class Hypot(_Binary, Function):
    """y = √(a² + b²);  dL/da = g·a/y, dL/db = g·b/y."""

    _f = staticmethod(np.hypot)
    _da = staticmethod(lambda g, a, b, y: g * a / y)
    _db = staticmethod(lambda g, a, b, y: g * b / y)


class LogAddExp(_Binary, Function):
    """y = log(e^a + e^b);  dL/da = g/(1 + e^(b-a)), dL/db = g/(1 + e^(a-b))."""

    _f = staticmethod(np.logaddexp)
    _da = staticmethod(lambda g, a, b, y: g / ((b - a).exp() + 1.0))
    _db = staticmethod(lambda g, a, b, y: g / ((a - b).exp() + 1.0))


class Xlogy(_Binary, Function):
    """y = a·log(b), 0 where a == 0 (unless b is NaN);
    dL/da = g·log(b) (0 where a == 0 and b <= 0, as PyTorch), dL/db = g·a/b."""

    @staticmethod
    def _f(a, b):
        return np.where((a == 0) & ~np.isnan(b), 0.0, a * np.log(b))

    @staticmethod
    def _da(g, a, b, y):
        flat = np.broadcast_to((a.data == 0) & (b.data <= 0), y.shape)
        safe_b = Where.apply(1.0, b, cond=flat)
        return Where.apply(0.0, g * safe_b.log(), cond=flat)

    _db = staticmethod(lambda g, a, b, y: g * a / b)


class Copysign(_Binary, Function):
    """y = |a| with the sign of b;  dL/da = g·y/a (0 where a == 0), dL/db = 0."""

    _f = staticmethod(np.copysign)

    @staticmethod
    def _da(g, a, b, y):
        ratio = np.where(a.data == 0, 0.0, np.sign(a.data) * _sign_bit(b.data))
        return g * Tensor._wrap(np.broadcast_to(ratio, y.shape).astype(y.dtype))

    _db = staticmethod(lambda g, a, b, y: _zeros_like(g))


def _sign_bit(b: np.ndarray) -> np.ndarray:
    return np.where(np.signbit(b), -1.0, 1.0)


class Fmod(_Binary, Function):
    """y = a - b·trunc(a/b) (the sign of a);  dL/da = g, dL/db = -g·trunc(a/b)."""

    _f = staticmethod(np.fmod)
    _da = staticmethod(lambda g, a, b, y: g)

    @staticmethod
    def _db(g, a, b, y):
        with np.errstate(all="ignore"):
            q = np.trunc(a.data / b.data)
        return -g * Tensor._wrap(q.astype(y.dtype))


def _binary(cls: type[Function], name: str, doc: str, floating: bool = True) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        a, b = _operands(input, other, name, floating=floating)
        try:
            return apply2(cls, a, b)
        except ValueError:
            _check_broadcast(name, a.shape, b.shape)
            raise

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


atan2 = _binary(Atan2, "atan2", "atan(input / other) in the right quadrant.")
arctan2 = atan2
hypot = _binary(Hypot, "hypot", "sqrt(input² + other²) without overflow.")
logaddexp = _binary(LogAddExp, "logaddexp", "log(exp(input) + exp(other)), stable.")
xlogy = _binary(Xlogy, "xlogy", "input·log(other), 0 where input is 0.")
copysign = _binary(Copysign, "copysign", "|input| with the sign of other.")


def fmod(input: Any, other: Any) -> Tensor:
    """The C remainder ``input - other·trunc(input / other)`` (the sign of
    ``input``; compare :func:`remainder`). Integer operands stay integer.

    Raises
    ------
    ValueError
        Integer division by zero.
    """
    a, b = _operands(input, other, "fmod")
    if a.data.dtype.kind != "f":
        if a.data.dtype.kind == "b":
            raise DTypeError("fmod: not defined for bool tensors")
        from minigrad.ops.integer import _no_int_zero

        _no_int_zero(b.data, "fmod")
        _check_broadcast("fmod", a.shape, b.shape)
        return Tensor._wrap(np.fmod(a.data, b.data))
    try:
        return apply2(Fmod, a, b)
    except ValueError:
        _check_broadcast("fmod", a.shape, b.shape)
        raise


# -- composites (their gradients come from the ops they are made of) ----------------


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight·(end - input)``; ``weight`` a number or a Tensor."""
    return input + weight * (end - input)


def addcmul(
    input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1
) -> Tensor:
    """``input + value·tensor1·tensor2``."""
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


def addcdiv(
    input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1
) -> Tensor:
    """``input + value·tensor1/tensor2``.

    Raises
    ------
    TypeError
        Integer tensor1 and tensor2 (as PyTorch: use true division first).
    """
    for t in (tensor1, tensor2):
        if isinstance(t, Tensor) and t.data.dtype.kind != "f":
            raise DTypeError(
                "addcdiv: integer division with addcdiv is not supported; "
                f"got {tensor1.dtype} and {tensor2.dtype}"
            )
    q = tensor1 / tensor2
    return input + (q if value == 1 else q * value)


def clip(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Alias of :func:`clamp` (bounds may be numbers or Tensors)."""
    from minigrad.ops.minmax import clamp

    return clamp(input, min, max)
