"""Elementwise ops: arithmetic with broadcasting, exp/log/sqrt/abs/pow/clamp, where.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and ``minigrad.dtypes``.

# Note [Broadcasting]
Binary ops broadcast like numpy in forward. Each backward reduces the gradient to
its input's shape with ``sum_to`` (whose own backward is ``expand``), so the rule
lives in one op and double backward works through it.

# Note [Python scalars]
``t * 2.0`` promotes like PyTorch: a Python scalar never widens a float tensor
(float32 stays float32), an int tensor times a Python float is float32. For a
float tensor and a Python ``int``/``float`` numpy 2 computes exactly that, so the
scalar is passed to forward as it is (no 0-d array, no Tensor: this is the
per-op fast path). Everything else goes through :func:`_operands`, which converts
both operands to the promoted dtype first.

# Note [Floating-point warnings]
PyTorch does not warn on 1/0, log(0) or sqrt(-1); numpy does. Ops whose
arguments legitimately reach those values (div, log, sqrt, pow, exp) compute them
under ``np.errstate(all="ignore")``; the arithmetic fast path skips it (it costs
more than the arithmetic) except where a tensor divisor may hold zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.function import Function, apply1, apply2
from minigrad.dtypes import float32, float64, result_type, scalar_result_type, to_array
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = [
    "abs",
    "add",
    "clamp",
    "div",
    "exp",
    "log",
    "maximum",
    "minimum",
    "mul",
    "neg",
    "pow",
    "sign",
    "sqrt",
    "square",
    "sub",
    "where",
]

_nd = np.ndarray
_F32, _F64 = float32, float64


def _sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``g.sum_to(shape)``, skipping the call when nothing was broadcast."""
    return g if g.data.shape == shape else g.sum_to(shape)


def _shape(x: Any) -> tuple[int, ...]:
    """Shape of an operand: an array, or a Python scalar (the fast path)."""
    return x.shape if type(x) is _nd else ()


# -- arithmetic ----------------------------------------------------------------


class Add(Function):
    """y = a + b;  dL/da = g, dL/db = g (each reduced to its input's shape)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (
            _sum_to(g, sa) if needs[0] else None,
            _sum_to(g, sb) if needs[1] else None,
        )


class Sub(Function):
    """y = a - b;  dL/da = g, dL/db = -g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (
            _sum_to(g, sa) if needs[0] else None,
            _sum_to(apply1(Neg, g), sb) if needs[1] else None,
        )


class Mul(Function):
    """y = a * b;  dL/da = g * b, dL/db = g * a."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        # Mul.apply rather than g * b: the operands already share a dtype, so the
        # dispatch of ``*`` can be skipped (Note [Per-op overhead]).
        return (
            _sum_to(apply2(Mul, g, b), a.data.shape) if needs[0] else None,
            _sum_to(apply2(Mul, g, a), b.data.shape) if needs[1] else None,
        )


class Div(Function):
    """y = a / b;  dL/da = g / b, dL/db = -g * a / b²."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if type(b) is _nd:
            with np.errstate(all="ignore"):
                return a / b
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = _sum_to(g / b, a.data.shape) if needs[0] else None
        gb = _sum_to(-g * a / (b * b), b.data.shape) if needs[1] else None
        return ga, gb


class Neg(Function):
    """y = -a;  dL/da = -g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """y = a ** b (tensor exponent);  dL/da = g·b·a^(b-1), dL/db = g·y·log(a).

    NOTE: as in PyTorch, dL/da is 0 where b == 0 (not 0·a^-1 = NaN at a == 0),
    and dL/db is 0 where a == 0 and b >= 0 (the limit of y·log(a)).
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(all="ignore"):
            y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = gb = None
        if needs[0]:
            da = Where.apply(g * b * a ** (b - 1), 0.0, cond=b.data != 0)
            ga = da.sum_to(a.shape)
        if needs[1]:
            flat = (a.data == 0) & (b.data >= 0)
            safe_a = Where.apply(1.0, a, cond=flat)
            db = Where.apply(0.0, g * y * log(safe_a), cond=flat)
            gb = db.sum_to(b.shape)
        return ga, gb


class PowScalar(Function):
    """y = a ** c for a Python number c;  dL/da = g·c·a^(c-1)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, c):
        ctx.save_for_backward(a)
        ctx.c = c
        if c == 2:
            return a * a
        with np.errstate(all="ignore"):
            return np.power(a, a.dtype.type(c))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        c = ctx.c
        if c == 0:
            return g * 0.0
        if c == 1:
            return g
        if c == 2:
            return g * (a * 2.0)
        return g * (c * a ** (c - 1))


class RPowScalar(Function):
    """y = c ** a for a Python number c;  dL/da = g·y·log(c)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, c):
        with np.errstate(all="ignore"):
            y = np.power(a.dtype.type(c), a)
            ctx.logc = float(np.log(np.float64(c)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * ctx.logc


# -- unary math ------------------------------------------------------------------


class Exp(Function):
    """y = exp(a);  dL/da = g·y."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):
            y = np.exp(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Function):
    """y = log(a);  dL/da = g / a."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(all="ignore"):
            return np.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    """y = sqrt(a);  dL/da = g / (2y)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):
            y = np.sqrt(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (y * 2.0)


class Abs(Function):
    """y = |a|;  dL/da = g·sign(a). NOTE: abs'(0) = 0, as in PyTorch."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.sign = np.sign(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._wrap(ctx.sign)


class Clamp(Function):
    """y = min(max(a, lo), hi);  dL/da = g where lo <= a <= hi, else 0.

    NOTE: the gradient passes at the bounds themselves, as in PyTorch.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, lo, hi):
        y = a
        mask = None
        if lo is not None:
            mask = a >= lo
            y = np.maximum(y, a.dtype.type(lo))
        if hi is not None:
            upper = a <= hi
            mask = upper if mask is None else mask & upper
            y = np.minimum(y, a.dtype.type(hi))
        ctx.mask = mask
        return y

    @staticmethod
    def backward(ctx, g):
        return Where.apply(g, 0.0, cond=ctx.mask)


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = np.maximum(a, b)
        ctx.wa = _tie_weights(a > b, a == b, y.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split evenly on ties."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = np.minimum(a, b)
        ctx.wa = _tie_weights(a < b, a == b, y.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


def _tie_weights(wins: Any, ties: Any, dtype: Any) -> np.ndarray:
    """The share of the gradient that goes to ``a``: 1, 0.5 on ties, else 0."""
    w = np.asarray(wins, dtype=dtype if dtype.kind == "f" else np.float64)
    w[np.asarray(ties)] = 0.5
    return w


def _split_grad(ctx: Any, g: Tensor) -> tuple[Tensor | None, Tensor | None]:
    sa, sb = ctx.shapes
    needs = ctx.needs_input_grad
    wa = Tensor._wrap(ctx.wa.astype(g.dtype, copy=False))
    ga = (g * wa).sum_to(sa) if needs[0] else None
    gb = (g * (1.0 - wa)).sum_to(sb) if needs[1] else None
    return ga, gb


class Where(Function):
    """y = cond ? a : b;  dL/da = g where cond else 0, dL/db the rest.

    The gradient is selected, not multiplied by a mask, so an inf or NaN in the
    branch not taken cannot leak into the other (0·inf would be NaN).
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b, *, cond):
        ctx.cond = cond
        ctx.shapes = (_shape(a), _shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        needs = ctx.needs_input_grad
        ga = Where.apply(g, 0.0, cond=ctx.cond).sum_to(sa) if needs[0] else None
        gb = Where.apply(0.0, g, cond=ctx.cond).sum_to(sb) if needs[1] else None
        return ga, gb


# -- functional forms -------------------------------------------------------------


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (int, float, bool, np.number, np.bool_))


def _operands(a: Any, b: Any, op: str, floating: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of PyTorch's promoted dtype (Note [Python scalars])."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        dt = result_type(a.data.dtype, b.data.dtype)
    elif ta:
        dt = _other_dtype(a, b, op)
    elif tb:
        dt = _other_dtype(b, a, op)
    else:
        raise TypeError(
            f"{op}: expected at least one Tensor operand, got {type(a).__name__} "
            f"and {type(b).__name__}"
        )
    if floating and dt.kind != "f":
        dt = float32
    return _as(a, dt), _as(b, dt)


def _other_dtype(t: Tensor, other: Any, op: str) -> np.dtype:
    if _is_scalar(other):
        return scalar_result_type(t.data.dtype, other)
    if isinstance(other, (np.ndarray, list, tuple)):
        return result_type(t.data.dtype, to_array(other).dtype)
    raise TypeError(
        f"{op}: unsupported operand type {type(other).__name__} with a Tensor"
    )


def _as(x: Any, dt: np.dtype) -> Tensor:
    if isinstance(x, Tensor):
        return x if x.data.dtype == dt else x.to(dt)
    return Tensor._wrap(np.asarray(x, dtype=dt))


def _binary_op(cls: type[Function], op: str, doc: str) -> Callable[[Any, Any], Tensor]:
    """The functional form of a binary op: its fast paths inline (Note [Python
    scalars], Note [Per-op overhead] in ``function.py``), the rest in
    :func:`_binary_general`."""

    def fn(a: Any, b: Any) -> Tensor:
        if isinstance(a, Tensor):
            dt = a.data.dtype
            if isinstance(b, Tensor):
                if b.data.dtype is dt:
                    try:
                        return apply2(cls, a, b)
                    except ValueError:
                        _check_broadcast(op, a.shape, b.shape)
                        raise
            elif (type(b) is float or type(b) is int) and (dt is _F32 or dt is _F64):
                return apply2(cls, a, b)
        elif (
            isinstance(b, Tensor)
            and (type(a) is float or type(a) is int)
            and (b.data.dtype is _F32 or b.data.dtype is _F64)
        ):
            return apply2(cls, a, b)
        return _binary_general(cls, a, b, op)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = doc
    return fn


def _binary_general(cls: type[Function], a: Any, b: Any, op: str) -> Tensor:
    a, b = _operands(a, b, op, floating=cls is Div)
    if cls is Sub and a.data.dtype.kind == "b":
        raise TypeError(
            "sub: subtraction of bool tensors is not supported; use ^ (xor) instead"
        )
    try:
        return apply2(cls, a, b)
    except ValueError:
        _check_broadcast(op, a.shape, b.shape)
        raise


def _check_broadcast(op: str, *shapes: tuple[int, ...]) -> None:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(
            f"{op}: shapes {' and '.join(str(s) for s in shapes)} cannot be "
            "broadcast together"
        ) from None


add = _binary_op(
    Add, "add", """``a + b`` with broadcasting; either may be a Python scalar."""
)


sub = _binary_op(
    Sub, "sub", """``a - b`` with broadcasting; either may be a Python scalar."""
)


mul = _binary_op(
    Mul, "mul", """``a * b`` with broadcasting; either may be a Python scalar."""
)


div = _binary_op(
    Div, "div", """``a / b`` (true division: integer operands give float32)."""
)


def neg(a: Tensor) -> Tensor:
    """``-a``."""
    if a.data.dtype.kind == "b":
        raise TypeError("neg: negation of a bool tensor is not supported; use ~")
    return apply1(Neg, a)


def pow(a: Any, b: Any) -> Tensor:
    """``a ** b``: tensor or Python-number base and exponent.

    Raises
    ------
    ValueError
        An integer tensor raised to a negative integer power.
    """
    if isinstance(a, Tensor) and _is_scalar(b) and not isinstance(b, (bool, np.bool_)):
        kind = a.data.dtype.kind
        if kind != "f":
            if isinstance(b, (float, np.floating)):
                a = a.to(float32)
            elif b < 0:
                raise ArgumentError(
                    f"pow: integer tensor ({a.dtype}) to a negative integer power "
                    f"({b}) is not allowed"
                )
        return PowScalar.apply(a, c=b)
    if isinstance(b, Tensor) and _is_scalar(a) and not isinstance(a, (bool, np.bool_)):
        if b.data.dtype.kind != "f":
            b = b.to(float32)
        return RPowScalar.apply(b, c=a)
    a, b = _operands(a, b, "pow")
    if a.data.dtype.kind != "f":
        a, b = a.to(float32), b.to(float32)
    try:
        return apply2(Pow, a, b)
    except ValueError:
        _check_broadcast("pow", a.shape, b.shape)
        raise


def square(a: Tensor) -> Tensor:
    """``a * a``."""
    return pow(a, 2)


def _floating(a: Any, op: str) -> Tensor:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    dt = a.data.dtype
    return a if dt is _F32 or dt is _F64 else a.to(float32)


def exp(a: Tensor) -> Tensor:
    """``e ** a`` (integer input gives float32)."""
    return apply1(Exp, _floating(a, "exp"))


def log(a: Tensor) -> Tensor:
    """Natural logarithm; ``log(0) = -inf``, negative input gives NaN."""
    return apply1(Log, _floating(a, "log"))


def sqrt(a: Tensor) -> Tensor:
    """Square root; negative input gives NaN."""
    return apply1(Sqrt, _floating(a, "sqrt"))


def abs(a: Tensor) -> Tensor:
    """``|a|``; its gradient at 0 is 0."""
    return apply1(Abs, a)


def sign(a: Tensor) -> Tensor:
    """sign(a), a constant (its gradient is zero almost everywhere)."""
    return Tensor._wrap(np.sign(a.data))


def round(a: Tensor, decimals: int = 0) -> Tensor:
    """``a`` rounded half to even, a constant (its gradient is zero almost
    everywhere, as in PyTorch)."""
    return Tensor._wrap(np.round(a.data, decimals))


def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limits ``a`` to ``[min, max]`` (either may be None, or a Tensor).

    Raises
    ------
    ValueError
        When both bounds are None.
    """
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = a
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if a.data.dtype.kind != "f" and any(
        isinstance(v, (float, np.floating)) for v in (min, max)
    ):
        a = a.to(float32)
    return Clamp.apply(a, lo=min, hi=max)


maximum = _binary_op(
    Maximum, "maximum", """Elementwise max; on ties the gradient is split evenly."""
)


minimum = _binary_op(
    Minimum, "minimum", """Elementwise min; on ties the gradient is split evenly."""
)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if cond else b``, broadcasting all three.

    Parameters
    ----------
    cond : bool Tensor or array
    a, b : Tensor or Python scalar (at least one a Tensor, or both scalars)

    Raises
    ------
    TypeError
        ``cond`` is not bool.
    ValueError
        The shapes do not broadcast.
    """
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool, got {c.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor._wrap(to_array(a))
    a, b = _operands(a, b, "where")
    try:
        return Where.apply(a, b, cond=c)
    except ValueError:
        _check_broadcast("where", c.shape, a.shape, b.shape)
        raise
