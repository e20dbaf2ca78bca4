"""Elementwise ops: arithmetic with broadcasting, exp/log/sqrt/abs/sign/pow, where
(clamp, maximum and minimum are in minmax.py).

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and ``minigrad.dtypes``.

# Note [Broadcasting]
Binary ops broadcast like numpy in forward. Each backward reduces the gradient to
its input's shape with ``sum_to`` (whose own backward is ``expand``), so the rule
lives in one op and double backward works through it. Add, Sub and Mul keep their
operands' shapes (``ctx.shapes``) only when one was broadcast: otherwise the
node stores nothing of its own (no instance ``__dict__`` to allocate and free,
about 1k instructions per op), and the class default None says so.

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

from minigrad._C import _core
from minigrad.autograd.function import Function, apply1, apply2
from minigrad.dtypes import (
    DTypeError,
    float16,
    float32,
    float64,
    result_type,
    scalar_result_type,
    to_array,
)
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor
from minigrad.typeinfo import result_type as _operand_result_type

__all__ = [
    "abs",
    "add",
    "div",
    "exp",
    "log",
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
_F32, _F64, _I64 = float32, float64, np.dtype(np.int64)
_F16 = float16
_small = _core.small_binary
_ADD, _SUB, _MUL = _core.SMALL_ADD, _core.SMALL_SUB, _core.SMALL_MUL


def _sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``g.sum_to(shape)``, skipping the call when nothing was broadcast."""
    return g if g.data.shape == shape else g.sum_to(shape)


def _shape(x: Any) -> tuple[int, ...]:
    """Shape of an operand: an array, or a Python scalar (the fast path)."""
    return x.shape if type(x) is _nd else ()


def _keep_broadcast_shapes(ctx: Any, a: Any, b: Any, out: Any) -> None:
    """Sets ``ctx.shapes`` to the operands' shapes when one was broadcast to
    ``out``'s (Note [Broadcasting]); leaves the class default None otherwise."""
    s = out.shape
    if (type(a) is _nd and a.shape != s) or (type(b) is _nd and b.shape != s):
        ctx.shapes = (_shape(a), _shape(b))


# -- arithmetic ----------------------------------------------------------------


class Add(Function):
    """y = a + b;  dL/da = g, dL/db = g (each reduced to its input's shape)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        out = _small(_ADD, a, b)  # Note [Small arrays]
        if out is None:  # small_binary's operands are not broadcast
            out = a + b
            _keep_broadcast_shapes(ctx, a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        if ctx.shapes is None:  # nothing was broadcast: no sum_to
            return (g if needs[0] else None, g if needs[1] else None)
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
        out = _small(_SUB, a, b)  # Note [Small arrays]
        if out is None:  # small_binary's operands are not broadcast
            out = a - b
            _keep_broadcast_shapes(ctx, a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        if ctx.shapes is None:  # nothing was broadcast: no sum_to
            return (g if needs[0] else None, apply1(Neg, g) if needs[1] else None)
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
        out = _small(_MUL, a, b)  # Note [Small arrays]
        if out is None:  # small_binary's operands are not broadcast
            out = a * b
            _keep_broadcast_shapes(ctx, a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        # Mul.apply rather than g * b: the operands already share a dtype, so the
        # dispatch of ``*`` can be skipped (Note [Per-op overhead]).
        ga = apply2(Mul, g, b) if needs[0] else None
        gb = apply2(Mul, g, a) if needs[1] else None
        if ctx.shapes is not None:  # reduce to the inputs' shapes
            sa, sb = ctx.shapes
            ga = _sum_to(ga, sa) if ga is not None else None
            gb = _sum_to(gb, sb) if gb is not None else None
        return ga, gb


class Div(Function):
    """y = a / b;  dL/da = g / b, dL/db = -g * a / b²."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if type(b) is _nd or not b:  # x/0 is inf or NaN without a warning
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
        # 0·inf at the masked points is selected away (Note [Floating-point warnings])
        with np.errstate(invalid="ignore"):
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
    """y = c ** a for a Python number c;  dL/da = g·y·log(c).

    NOTE: for c == 0, dL/da is 0 where a >= 0 (not 0·log(0) = NaN, nor
    1·log(0) = -inf at a == 0), as in PyTorch and as :class:`Pow` does.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, c):
        with np.errstate(all="ignore"):
            y = np.power(a.dtype.type(c), a)
            ctx.logc = float(np.log(np.float64(c)))
        ctx.save_for_backward(y)
        if c == 0:
            # log(c) as an array: 0 where a >= 0, so that no 0·(-inf) = NaN
            # appears, in backward nor in its own derivative (create_graph)
            ctx.logc = np.where(a >= 0, 0.0, -np.inf).astype(y.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        logc = ctx.logc
        if type(logc) is _nd:
            with np.errstate(invalid="ignore"):  # NaN only where a is NaN
                return g * y * Tensor._wrap(logc)
        return g * y * logc


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
    """y = |a|;  dL/da = g·sign(a). NOTE: abs'(0) = 0 and abs'(NaN) = 0, as in
    PyTorch (its sgn(NaN) is 0)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.sign = _sign(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._wrap(ctx.sign)


def _sign(a: np.ndarray) -> np.ndarray:
    """np.sign, but 0 for NaN, as PyTorch's sign."""
    s = np.sign(a)
    if s.dtype.kind == "f":
        nan = np.isnan(s)
        if nan.any():
            s = np.where(nan, s.dtype.type(0), s)
    return s


class Sign(Function):
    """y = sign(a) (-1, 0 or 1; 0 for NaN, as PyTorch);  dL/da = 0 (PyTorch
    records it, with a zero gradient, so that ``x.sign() * x`` differentiates
    like a product)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        return _sign(a)

    @staticmethod
    def backward(ctx, g):
        return Tensor._wrap(np.zeros(g.shape, g.dtype))


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
    """Both operands as Tensors of PyTorch's promoted dtype (Note [Python scalars];
    0-d tensors and scalars promote as Note [Promotion of operands] in typeinfo)."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        if (a.data.ndim == 0) == (b.data.ndim == 0):
            dt = result_type(a.data.dtype, b.data.dtype)
        else:
            dt = _operand_result_type(a, b, op=op)
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
        return _operand_result_type(t, to_array(other, copy=False), op=op)
    if isinstance(other, complex):
        raise DTypeError(
            f"{op}: complex numbers are not supported (minigrad has no complex "
            f"dtype), got {other!r} with a {t.data.dtype} tensor"
        )
    raise TypeError(
        f"{op}: unsupported operand type {type(other).__name__} with a Tensor"
    )


def _as(x: Any, dt: np.dtype) -> Tensor:
    if isinstance(x, Tensor):
        return x if x.data.dtype == dt else x.to(dt)
    if type(x) is int and dt.kind in "iu":
        # out-of-range Python ints wrap, as PyTorch (uint8 tensor + 300)
        return Tensor._wrap(np.asarray(np.int64(x)).astype(dt))
    with np.errstate(over="ignore"):  # a float past float16's range is inf
        return Tensor._wrap(np.asarray(x, dtype=dt))


def _binary_op(cls: type[Function], op: str, doc: str) -> Callable[[Any, Any], Tensor]:
    """The functional form of a binary op: its fast paths compiled (Note [Python
    scalars], Note [Compiled core] in ``minigrad/_C/_core.pyx``), the rest in
    :func:`_binary_general`."""

    return _core.binary_op(cls, op, doc, _binary_general, _check_broadcast)


def _binary_general(cls: type[Function], a: Any, b: Any, op: str) -> Tensor:
    if cls is Sub and any(
        isinstance(x, (bool, np.bool_))
        or (isinstance(x, Tensor) and x.data.dtype.kind == "b")
        for x in (a, b)
    ):
        # PyTorch refuses it whatever the other operand (a Python bool too)
        raise DTypeError(
            "sub: subtraction with a bool tensor (or a bool) is not supported; "
            "use ^ (xor) or ~ (not) instead"
        )
    a, b = _operands(a, b, op, floating=cls is Div)
    try:
        if a.data.dtype is _F16:
            # float16 computes in float32 and rounds once, as PyTorch on the
            # CPU (a Python scalar keeps its float32 precision)
            return apply2(cls, a.to(_F32), b.to(_F32)).to(_F16)
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


# The Tensor operators + - * / and unary - call these from C (Note [Compiled
# dunders] in minigrad/_C/_dunders.pxi).
_core.bind_dunders(add=add, sub=sub, mul=mul, div=div, neg=neg)


def pow(a: Any, b: Any) -> Tensor:
    """``a ** b``: tensor or Python-number base and exponent.

    Integer (and bool) operands give an int64 result, as in PyTorch:
    ``int_tensor ** 2``, ``2 ** int_tensor``, ``int_tensor ** int_tensor``
    (see :func:`minigrad.ops.integer.int_pow`); a float on either side gives a
    float.

    Raises
    ------
    ValueError
        An integer tensor raised to a negative Python integer power.
    """
    if isinstance(a, Tensor) and _is_scalar(b):
        if a.data.dtype.kind != "f":
            if not isinstance(b, (float, np.floating)):
                return _int_pow(a, b)
            a = a.to(float32)
        return PowScalar.apply(a, c=b)
    if isinstance(b, Tensor) and _is_scalar(a):
        if b.data.dtype.kind != "f":
            if not isinstance(a, (float, np.floating)):
                return _int_pow(a, b)
            b = b.to(float32)
        return RPowScalar.apply(b, c=a)
    a, b = _operands(a, b, "pow")
    if a.data.dtype.kind != "f":
        return _int_pow(a, b)
    try:
        return apply2(Pow, a, b)
    except ValueError:
        _check_broadcast("pow", a.shape, b.shape)
        raise


def _int_pow(a: Any, b: Any) -> Tensor:
    from minigrad.ops.integer import int_pow  # it imports this module

    return int_pow(a, b)


def square(a: Tensor) -> Tensor:
    """``a * a``."""
    return pow(a, 2)


def _floating(a: Any, op: str) -> Tensor:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    dt = a.data.dtype
    return a if dt.kind == "f" else a.to(float32)


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
    """``|a|``; its gradient at 0 is 0.

    Raises
    ------
    TypeError
        A bool tensor (as PyTorch).
    """
    if isinstance(a, Tensor) and a.data.dtype.kind == "b":
        raise DTypeError(
            "abs: not defined for bool tensors (PyTorch: 'abs_cpu' "
            "not implemented for 'Bool')"
        )
    return apply1(Abs, a)


def sign(a: Tensor) -> Tensor:
    """sign(a) in a's dtype (a bool tensor is its own sign); the gradient is 0."""
    if not isinstance(a, Tensor):
        raise TypeError(f"sign: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind == "b":
        return Tensor._wrap(a.data.copy())
    return apply1(Sign, a)


def where(cond: Any, a: Any = None, b: Any = None) -> Any:
    """Elementwise ``a if cond else b``, broadcasting all three; with ``cond``
    alone, ``nonzero(cond, as_tuple=True)`` (as PyTorch).

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
    if a is None and b is None:
        from minigrad.ops.select import nonzero

        return nonzero(cond, as_tuple=True)
    if a is None or b is None:
        raise ArgumentError("where: give both 'input' and 'other', or neither")
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype != np.bool_:
        raise DTypeError(f"where: condition must be bool, got {c.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor._wrap(to_array(a))
    a, b = _operands(a, b, "where")
    try:
        return Where.apply(a, b, cond=c)
    except ValueError:
        _check_broadcast("where", c.shape, a.shape, b.shape)
        raise


# clamp, maximum and minimum live in minmax.py; imported here too for the modules
# that take them from elementwise (it imports this module, so it comes last).
from minigrad.ops.minmax import clamp, maximum, minimum  # noqa: E402,F401
