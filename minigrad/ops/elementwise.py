"""Elementwise ops: arithmetic with broadcasting, exp/log/sqrt/abs/pow/clamp, where.

Layer: ops. Imports ``minigrad.tensor`` and ``minigrad.autograd.function``.

# Note [Broadcasting]
Binary ops broadcast like numpy in forward. Each backward reduces the gradient to
its input's shape with ``sum_to`` (whose own backward is ``expand``), so the rule
lives in one op and double backward works through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.dtypes import result_type, scalar_result_type
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
    "sub",
    "where",
]


def _operands(a: Any, b: Any, op: str, floating: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of PyTorch's promoted dtype."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        da, db = a.data.dtype, b.data.dtype
        dt = da if da is db or da == db else result_type(da, db)
    elif ta:
        dt = scalar_result_type(a.data.dtype, b) if _is_scalar(b) else _arr_dtype(a, b)
    elif tb:
        dt = scalar_result_type(b.data.dtype, a) if _is_scalar(a) else _arr_dtype(b, a)
    else:
        raise TypeError(f"{op}: expected at least one Tensor operand")
    if floating and dt.kind != "f":
        dt = np.dtype(np.float32)
    return _as(a, dt, op), _as(b, dt, op)


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (int, float, bool, np.number, np.bool_))


def _arr_dtype(t: Tensor, other: Any) -> np.dtype:
    if isinstance(other, np.ndarray):
        return result_type(t.data.dtype, Tensor(other).data.dtype)
    raise TypeError(
        f"unsupported operand type {type(other).__name__} for an op with a Tensor"
    )


def _as(x: Any, dt: np.dtype, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x if x.data.dtype == dt else x.to(dt)
    return Tensor._wrap(np.asarray(x, dtype=dt))


class Add(Function):
    """y = a + b;  dL/da = g, dL/db = g (each reduced to its input's shape)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        return a + b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return (
            g.sum_to(sa) if ctx.needs_input_grad[0] else None,
            g.sum_to(sb) if ctx.needs_input_grad[1] else None,
        )


class Sub(Function):
    """y = a - b;  dL/da = g, dL/db = -g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        return a - b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return (
            g.sum_to(sa) if ctx.needs_input_grad[0] else None,
            (-g).sum_to(sb) if ctx.needs_input_grad[1] else None,
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
        return (
            (g * b).sum_to(a.shape) if ctx.needs_input_grad[0] else None,
            (g * a).sum_to(b.shape) if ctx.needs_input_grad[1] else None,
        )


class Div(Function):
    """y = a / b;  dL/da = g / b, dL/db = -g * a / b²."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = (g / b).sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = (-g * a / (b * b)).sum_to(b.shape) if ctx.needs_input_grad[1] else None
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

    NOTE: where a == 0, dL/db is taken as 0 (the limit for b > 0), as PyTorch does.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = (g * b * a ** (b - 1)).sum_to(a.shape)
        if ctx.needs_input_grad[1]:
            nonzero = a.data != 0
            safe_a = where(nonzero, a, 1.0)
            gb = where(nonzero, g * y * log(safe_a), 0.0).sum_to(b.shape)
        return ga, gb


class PowScalar(Function):
    """y = a ** c for a Python number c;  dL/da = g·c·a^(c-1)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, c):
        ctx.save_for_backward(a)
        ctx.c = c
        return np.power(a, a.dtype.type(c)) if a.dtype.kind == "f" else a**c

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
        y = np.power(a.dtype.type(c), a)
        ctx.save_for_backward(y)
        ctx.logc = float(np.log(c)) if c > 0 else float("nan")
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * ctx.logc


class Exp(Function):
    """y = exp(a);  dL/da = g·y."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
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
        with np.errstate(divide="ignore", invalid="ignore"):
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
        with np.errstate(invalid="ignore"):
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
    """y = min(max(a, lo), hi);  dL/da = g where lo <= a <= hi, else 0."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, lo, hi):
        y = a
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
            y = np.maximum(y, a.dtype.type(lo))
        if hi is not None:
            mask &= a <= hi
            y = np.minimum(y, a.dtype.type(hi))
        ctx.mask = mask
        return y if y is not a else a.copy()

    @staticmethod
    def backward(ctx, g):
        return where(ctx.mask, g, 0.0)


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        ctx.wa = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0)).astype(a.dtype)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split evenly on ties."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        ctx.wa = np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0)).astype(a.dtype)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


def _split_grad(ctx: Any, g: Tensor) -> tuple[Tensor | None, Tensor | None]:
    sa, sb = ctx.shapes
    wa = Tensor._wrap(ctx.wa)
    ga = (g * wa).sum_to(sa) if ctx.needs_input_grad[0] else None
    gb = (g * (1.0 - wa)).sum_to(sb) if ctx.needs_input_grad[1] else None
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
        ctx.shapes = (a.shape, b.shape)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        zero = Tensor._wrap(np.zeros((), g.dtype))
        ga = (
            Where.apply(g, zero, cond=ctx.cond).sum_to(sa)
            if ctx.needs_input_grad[0]
            else None
        )
        gb = (
            Where.apply(zero, g, cond=ctx.cond).sum_to(sb)
            if ctx.needs_input_grad[1]
            else None
        )
        return ga, gb


# -- functional forms -------------------------------------------------------


def _binary(
    cls: type[Function], a: Any, b: Any, op: str, floating: bool = False
) -> Tensor:
    a, b = _operands(a, b, op, floating)
    if a.shape != b.shape:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
            ) from None
    return cls.apply(a, b)


def add(a: Any, b: Any) -> Tensor:
    return _binary(Add, a, b, "add")


def sub(a: Any, b: Any) -> Tensor:
    return _binary(Sub, a, b, "sub")


def mul(a: Any, b: Any) -> Tensor:
    return _binary(Mul, a, b, "mul")


def div(a: Any, b: Any) -> Tensor:
    return _binary(Div, a, b, "div", floating=True)


def neg(a: Tensor) -> Tensor:
    return Neg.apply(a)


def pow(a: Any, b: Any) -> Tensor:
    if isinstance(a, Tensor) and _is_scalar(b) and not isinstance(b, bool):
        if a.data.dtype.kind != "f" and isinstance(b, float):
            a = a.to(np.float32)
        return PowScalar.apply(a, c=b)
    if isinstance(b, Tensor) and _is_scalar(a):
        if b.data.dtype.kind != "f":
            b = b.to(np.float32)
        return RPowScalar.apply(b, c=a)
    return _binary(Pow, a, b, "pow")


def exp(a: Tensor) -> Tensor:
    return Exp.apply(_floating(a))


def log(a: Tensor) -> Tensor:
    return Log.apply(_floating(a))


def sqrt(a: Tensor) -> Tensor:
    return Sqrt.apply(_floating(a))


def abs(a: Tensor) -> Tensor:
    return Abs.apply(a)


def sign(a: Tensor) -> Tensor:
    """sign(a), a constant (its gradient is zero almost everywhere)."""
    return Tensor._wrap(np.sign(a.data))


def clamp(a: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = a
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return Clamp.apply(a, lo=min, hi=max)


def maximum(a: Any, b: Any) -> Tensor:
    return _binary(Maximum, a, b, "maximum")


def minimum(a: Any, b: Any) -> Tensor:
    return _binary(Minimum, a, b, "minimum")


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if cond else b``; cond is a bool Tensor or array."""
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool, got {c.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    a, b = _operands(a, b, "where")
    try:
        np.broadcast_shapes(c.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"where: shapes do not broadcast: condition {c.shape}, "
            f"input {a.shape}, other {b.shape}"
        ) from None
    return Where.apply(a, b, cond=c)


def _floating(a: Any) -> Tensor:
    if not isinstance(a, Tensor):
        a = Tensor(a)
    return a if a.data.dtype.kind == "f" else a.to(np.float32)
