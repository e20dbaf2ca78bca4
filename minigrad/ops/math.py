"""Elementwise math beyond arithmetic: trigonometric and hyperbolic functions,
exp2/expm1/log2/log10/log1p, rsqrt, reciprocal, erfc/erfinv, the rounding ops,
atan2, hypot, logaddexp, xlogy, copysign, fmod, nan_to_num and the composites
lerp, addcmul, addcdiv.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd``, the promotion
helpers of :mod:`minigrad.ops.elementwise` and the erf kernel of ``minigrad._C``.

# Note [Unary math ops]
Each unary op is a subclass of :class:`_Unary` that gives its numpy forward
``_f`` and, beside it, its derivative ``_d`` as Tensor ops of the saved input
(or of the output, with ``_from_out``), so that backward can be recorded
(create_graph). Integer and bool inputs become float32, as in PyTorch. The
rounding ops (floor, ceil, trunc, round) have a zero gradient, which PyTorch
records too (``x.floor() * x`` differentiates like a product).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad._C import _act
from minigrad.autograd.function import Function, apply1
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import DTypeError
from minigrad.ops import _quiet
from minigrad.ops.elementwise import (
    Where,
    _floating,
    sign,
)
from minigrad.tensor import Tensor

__all__ = [
    "acos",
    "acosh",
    "addcdiv",
    "addcmul",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "ceil",
    "clip",
    "copysign",
    "cos",
    "cosh",
    "erfc",
    "erfinv",
    "exp2",
    "expm1",
    "fix",
    "floor",
    "fmod",
    "frac",
    "hypot",
    "lerp",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "nan_to_num",
    "reciprocal",
    "round",
    "rsqrt",
    "sgn",
    "sin",
    "sinh",
    "tan",
    "trunc",
    "xlogy",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_SQRTPI_2 = math.sqrt(math.pi) / 2.0


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros(t.shape, t.dtype))


# -- unary ops (Note [Unary math ops]) ----------------------------------------------


class _Unary:
    """y = _f(a);  dL/da = g·_d(s), s the input (or the output, ``_from_out``).
    A mixin, not a Function: each op is ``class Op(_Unary, Function)``."""

    _array_forward = True
    _from_out = False

    @classmethod
    def forward(cls, ctx, a):
        tok = _quiet.enter()  # Note [Quiet floating-point errors]
        try:
            y = np.asarray(cls._f(a), dtype=a.dtype)
        finally:
            _quiet.leave(tok)
        ctx.save_for_backward(y if cls._from_out else a)
        return y

    @classmethod
    def backward(cls, ctx, g):
        tok = _quiet.enter()
        try:
            if cls._dn is None or STATE.grad_enabled:
                (s,) = ctx.saved_tensors
                return g * cls._d(s)
            # Not recorded: the derivative on arrays, without building Tensor
            # ops (Note [Per-op overhead]).
            (s,) = ctx._saved_arrays()
            d = np.asarray(cls._dn(s), dtype=s.dtype)
            return Tensor._wrap(np.multiply(d, g.data, out=d, casting="unsafe"))
        finally:
            _quiet.leave(tok)

    _f: Any  # set by each op

    _d: Any  # set by each op
    # Optionally, _d on arrays (a new array), for backward when not recorded.
    _dn: Any = None


class Sin(_Unary, Function):
    """y = sin(a);  y' = cos(a)."""

    _f = staticmethod(np.sin)
    _d = staticmethod(lambda a: a.cos())
    _dn = staticmethod(np.cos)


class Cos(_Unary, Function):
    """y = cos(a);  y' = -sin(a)."""

    _f = staticmethod(np.cos)
    _d = staticmethod(lambda a: -a.sin())
    _dn = staticmethod(lambda a: np.negative(np.sin(a)))


class Tan(_Unary, Function):
    """y = tan(a);  y' = 1 + y²."""

    _from_out = True
    _f = staticmethod(np.tan)
    _d = staticmethod(lambda y: y * y + 1.0)
    _dn = staticmethod(lambda y: y * y + 1)


class Asin(_Unary, Function):
    """y = asin(a);  y' = 1/√(1 - a²)."""

    _f = staticmethod(np.arcsin)
    _d = staticmethod(lambda a: (1.0 - a * a).rsqrt())


class Acos(_Unary, Function):
    """y = acos(a);  y' = -1/√(1 - a²)."""

    _f = staticmethod(np.arccos)
    _d = staticmethod(lambda a: -(1.0 - a * a).rsqrt())


class Atan(_Unary, Function):
    """y = atan(a);  y' = 1/(1 + a²)."""

    _f = staticmethod(np.arctan)
    _d = staticmethod(lambda a: reciprocal(a * a + 1.0))


class Sinh(_Unary, Function):
    """y = sinh(a);  y' = cosh(a)."""

    _f = staticmethod(np.sinh)
    _d = staticmethod(lambda a: a.cosh())
    _dn = staticmethod(np.cosh)


class Cosh(_Unary, Function):
    """y = cosh(a);  y' = sinh(a)."""

    _f = staticmethod(np.cosh)
    _d = staticmethod(lambda a: a.sinh())
    _dn = staticmethod(np.sinh)


class Asinh(_Unary, Function):
    """y = asinh(a);  y' = 1/√(a² + 1)."""

    _f = staticmethod(np.arcsinh)
    _d = staticmethod(lambda a: (a * a + 1.0).rsqrt())


class Acosh(_Unary, Function):
    """y = acosh(a);  y' = 1/√(a² - 1) (PyTorch's form: +inf at a = ±1)."""

    _f = staticmethod(np.arccosh)
    _d = staticmethod(lambda a: (a * a - 1.0).rsqrt())


class Atanh(_Unary, Function):
    """y = atanh(a);  y' = 1/(1 - a²)."""

    _f = staticmethod(np.arctanh)
    _d = staticmethod(lambda a: reciprocal(1.0 - a * a))


class Exp2(_Unary, Function):
    """y = 2^a;  y' = y·ln 2."""

    _from_out = True
    _f = staticmethod(np.exp2)
    _d = staticmethod(lambda y: y * _LN2)


class Expm1(_Unary, Function):
    """y = e^a - 1 (exact near 0);  y' = y + 1."""

    _from_out = True
    _f = staticmethod(np.expm1)
    _d = staticmethod(lambda y: y + 1.0)
    _dn = staticmethod(lambda y: y + 1)


class Log2(_Unary, Function):
    """y = log2(a);  y' = 1/(a·ln 2)."""

    _f = staticmethod(np.log2)
    _d = staticmethod(lambda a: reciprocal(a * _LN2))


class Log10(_Unary, Function):
    """y = log10(a);  y' = 1/(a·ln 10)."""

    _f = staticmethod(np.log10)
    _d = staticmethod(lambda a: reciprocal(a * _LN10))


class Log1p(_Unary, Function):
    """y = log(1 + a) (exact near 0);  y' = 1/(1 + a)."""

    _f = staticmethod(np.log1p)
    _d = staticmethod(lambda a: reciprocal(a + 1.0))
    _dn = staticmethod(lambda a: np.reciprocal(a + 1))


class Rsqrt(_Unary, Function):
    """y = 1/√a;  y' = -y³/2."""

    _from_out = True
    _f = staticmethod(lambda a: 1.0 / np.sqrt(a))
    _d = staticmethod(lambda y: y * y * y * -0.5)


class Reciprocal(_Unary, Function):
    """y = 1/a;  y' = -y²."""

    _from_out = True
    _f = staticmethod(np.reciprocal)
    _d = staticmethod(lambda y: -(y * y))


def _erf(a: np.ndarray) -> np.ndarray:
    # (ascontiguousarray makes a 0-d array 1-d: reshape back)
    return _act.forward("erf", np.ascontiguousarray(a)).reshape(a.shape)


class Erfc(_Unary, Function):
    """y = 1 - erf(a);  y' = -(2/√π)·e^(-a²).

    NOTE: computed as 1 - erf(a), so for a > ~4 (float32) or ~6 (float64) the
    tiny tail rounds to 0 where PyTorch keeps its relative precision.
    """

    _f = staticmethod(lambda a: 1.0 - _erf(a))
    _d = staticmethod(lambda a: (-(a * a)).exp() * -_2_SQRTPI)


def _erfinv_array(a: np.ndarray) -> np.ndarray:
    """erf⁻¹ by Giles' single-precision approximation, refined by Newton steps
    on the erf kernel (2 steps reach float64 precision on (-1, 1)); ±1 gives
    ±inf and |a| > 1 NaN, as PyTorch."""
    x = a.astype(np.float64)
    w = -np.log((1.0 - x) * (1.0 + x))
    small = w < 5.0
    ws = w - 2.5
    p_small: Any = 2.81022636e-08
    for c in (
        3.43273939e-07,
        -3.5233877e-06,
        -4.39150654e-06,
        0.00021858087,
        -0.00125372503,
        -0.00417768164,
        0.246640727,
        1.50140941,
    ):
        p_small = c + p_small * ws
    wl = np.sqrt(np.where(small, 5.0, w)) - 3.0
    p_large: Any = -0.000200214257
    for c in (
        0.000100950558,
        0.00134934322,
        -0.00367342844,
        0.00573950773,
        -0.0076224613,
        0.00943887047,
        1.00167406,
        2.83297682,
    ):
        p_large = c + p_large * wl
    y = np.where(small, p_small, p_large) * x
    inner = np.abs(x) < 1
    for _ in range(3):  # Newton: y -= (erf(y) - x) / erf'(y)
        step = (_erf(np.where(inner, y, 0.0)) - x) / (_2_SQRTPI * np.exp(-y * y))
        y = np.where(inner, y - step, y)
    y = np.where(np.abs(x) == 1, np.copysign(np.inf, x), y)
    return y.astype(a.dtype)


class Erfinv(_Unary, Function):
    """y = erf⁻¹(a);  y' = (√π/2)·e^(y²)."""

    _from_out = True
    _f = staticmethod(_erfinv_array)
    _d = staticmethod(lambda y: (y * y).exp() * _SQRTPI_2)


class Frac(_Unary, Function):
    """y = a - trunc(a);  y' = 1."""

    _f = staticmethod(lambda a: a - np.trunc(a))
    _d = staticmethod(lambda a: Tensor._wrap(np.ones(a.shape, a.dtype)))


class _Rounding:
    """A rounding op: y = _f(a);  dL/da = 0 (recorded, as PyTorch). A mixin,
    as :class:`_Unary`."""

    _array_forward = True

    @classmethod
    def forward(cls, ctx, a, **kw):
        return cls._f(a, **kw)

    @staticmethod
    def backward(ctx, g):
        return _zeros_like(g)

    _f: Any  # set by each op


class Floor(_Rounding, Function):
    """y = ⌊a⌋;  zero gradient."""

    _f = staticmethod(np.floor)


class Ceil(_Rounding, Function):
    """y = ⌈a⌉;  zero gradient."""

    _f = staticmethod(np.ceil)


class Trunc(_Rounding, Function):
    """y = a rounded toward 0;  zero gradient."""

    _f = staticmethod(np.trunc)


class Round(_Rounding, Function):
    """y = a rounded half to even (to ``decimals`` places);  zero gradient."""

    @staticmethod
    def _f(a, *, decimals=0):
        return np.round(a, decimals)


class NanToNum(Function):
    """y = a with NaN, +inf, -inf replaced;  dL/da = g where a is finite, else 0."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, nan, posinf, neginf):
        ctx.finite = np.isfinite(a)
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return Where.apply(g, 0.0, cond=ctx.finite)


def _unary(cls: type[Function], name: str, doc: str) -> Callable[[Tensor], Tensor]:
    def fn(input: Tensor) -> Tensor:
        return apply1(cls, _floating(input, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


sin = _unary(Sin, "sin", "Sine, elementwise (integer input gives float32).")
cos = _unary(Cos, "cos", "Cosine, elementwise.")
tan = _unary(Tan, "tan", "Tangent, elementwise.")
asin = _unary(Asin, "asin", "Arcsine; NaN outside [-1, 1].")
acos = _unary(Acos, "acos", "Arccosine; NaN outside [-1, 1].")
atan = _unary(Atan, "atan", "Arctangent.")
sinh = _unary(Sinh, "sinh", "Hyperbolic sine.")
cosh = _unary(Cosh, "cosh", "Hyperbolic cosine.")
asinh = _unary(Asinh, "asinh", "Inverse hyperbolic sine.")
acosh = _unary(Acosh, "acosh", "Inverse hyperbolic cosine; NaN below 1.")
atanh = _unary(Atanh, "atanh", "Inverse hyperbolic tangent; ±inf at ±1.")
exp2 = _unary(Exp2, "exp2", "2 ** input.")
expm1 = _unary(Expm1, "expm1", "exp(input) - 1, exact near 0.")
log2 = _unary(Log2, "log2", "Base-2 logarithm.")
log10 = _unary(Log10, "log10", "Base-10 logarithm.")
log1p = _unary(Log1p, "log1p", "log(1 + input), exact near 0.")
rsqrt = _unary(Rsqrt, "rsqrt", "1 / sqrt(input).")
erfc = _unary(Erfc, "erfc", "The complementary error function, 1 - erf.")
erfinv = _unary(Erfinv, "erfinv", "The inverse error function on (-1, 1).")
arcsin, arccos, arctan = asin, acos, atan


def reciprocal(input: Tensor) -> Tensor:
    """1 / input (integer input gives float32); 1/0 is inf."""
    return apply1(Reciprocal, _floating(input, "reciprocal"))


def frac(input: Tensor) -> Tensor:
    """input - trunc(input), with the sign of input; gradient 1.

    Raises
    ------
    TypeError
        Integer or bool input (as PyTorch).
    """
    _need_float(input, "frac")
    return apply1(Frac, input)


def _need_float(a: Any, op: str) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating tensor, got {a.dtype}")


def _rounding(cls: type[Function], name: str, doc: str) -> Callable[[Tensor], Tensor]:
    def fn(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        if input.data.dtype.kind != "f":  # integers are already whole: a copy
            return Tensor._wrap(input.data.copy())
        return apply1(cls, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


floor = _rounding(Floor, "floor", "Largest whole number <= input; zero gradient.")
ceil = _rounding(Ceil, "ceil", "Smallest whole number >= input; zero gradient.")
trunc = _rounding(Trunc, "trunc", "input rounded toward zero; zero gradient.")
fix = trunc


def round(input: Tensor, decimals: int = 0) -> Tensor:
    """input rounded half to even (to ``decimals`` decimal places, as PyTorch);
    zero gradient. Integer input is returned as a copy (decimals 0)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"round: expected a Tensor, got {type(input).__name__}")
    if input.data.dtype.kind != "f":
        return Tensor._wrap(np.round(input.data, decimals))
    return apply1(Round, input, {"decimals": int(decimals)})


def sgn(input: Tensor) -> Tensor:
    """sign(input) (for real tensors PyTorch's sgn is sign); zero gradient."""
    return sign(input)


def nan_to_num(
    input: Tensor,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest value),
    -inf -> ``neginf`` (its lowest); the gradient is 0 at the replaced points."""
    if not isinstance(input, Tensor):
        raise TypeError(f"nan_to_num: expected a Tensor, got {type(input).__name__}")
    if input.data.dtype.kind != "f":
        return Tensor._wrap(input.data.copy())
    return apply1(NanToNum, input, {"nan": nan, "posinf": posinf, "neginf": neginf})


# The binary ops live in math_binary.py (this module would pass 600 lines).
from minigrad.ops.math_binary import (  # noqa: E402
    addcdiv,
    addcmul,
    arctan2,
    atan2,
    clip,
    copysign,
    fmod,
    hypot,
    lerp,
    logaddexp,
    xlogy,
)
