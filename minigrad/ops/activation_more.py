"""More elementwise activations (issue 14): elu (and selu, celu), hardtanh (and
relu6), hardswish, hardsigmoid, hardshrink, softshrink, tanhshrink, logsigmoid,
softsign, mish and threshold (the composites prelu, rrelu, glu and softmin are
in :mod:`minigrad.ops.activation_composite`).

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the ops of
:mod:`minigrad.ops.activation` / :mod:`minigrad.ops.elementwise`.

# Note [Elementwise activation, array and Tensor backward]
Each op is a :class:`_Pointwise` subclass that gives, side by side, its numpy
forward ``_f(x, *p)``, its derivative on arrays ``_df(x, *p)`` (the fast path,
used when backward is not recorded) and the same derivative as Tensor ops
``_d(x, *p)`` (used when backward runs in grad mode, i.e. under
``create_graph=True``, so that gradients of gradients work). Tests check that
both paths agree with PyTorch, including at the kinks, where the derivative is
the one PyTorch picks (e.g. hardtanh'(min_val) = 0, elu'(0) = alpha·scale,
hardswish'(3) = 1) and for NaN (e.g. threshold'(NaN) = 1: ``x <= t`` is false).
No forward computes exp of a large positive number, so none needs errstate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function, apply1
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError
from minigrad.ops import _quiet
from minigrad.ops.activation import sigmoid, softplus, tanh
from minigrad.ops.elementwise import where
from minigrad.tensor import Tensor

__all__ = [
    "celu",
    "elu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "relu6",
    "selu",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]

# SELU's constants (Klambauer et al. 2017), as PyTorch spells them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_wrap = Tensor._wrap


def _float_input(x: Any, op: str, promote: bool = False) -> Tensor:
    """``x`` checked to be a floating Tensor; integer/bool input is refused as
    by PyTorch's kernels, or with ``promote`` (PyTorch's composites, e.g.
    softsign) becomes float32."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.data.dtype.kind != "f":
        if promote:
            return x.to(np.float32)
        raise DTypeError(f"{op}: expected a floating tensor, got {x.dtype}")
    return x


def _is_int(x: Any) -> bool:
    return isinstance(x, Tensor) and x.data.dtype.kind in "iu"


def _mask(m: np.ndarray, dtype: np.dtype) -> Tensor:
    return _wrap(m.astype(dtype))


class _Pointwise(Function):
    """y = _f(x, *p);  dL/dx = _bw(x, g, *p) = g·f'(x) (Note [Elementwise
    activation, array and Tensor backward]). ``p`` is a tuple of Python floats.

    ``_f`` and ``_bw`` work on arrays and return a new array of x's dtype; they
    use as few numpy calls as they can (in-place ``out=`` steps, no ``np.clip``
    wrapper): on small tensors each numpy call is a sizable part of an op's
    cost (Note [Per-op overhead]). Those that can compute inf·0 or inf/inf
    (NaN, quietly in PyTorch) run with numpy's warnings off (Note [Quiet
    floating-point errors]).
    """

    _array_forward = True

    # Whether _f / _bw can raise a floating-point flag (inf·0, inf/inf) from
    # inf or NaN input; only those pay for the quiet error state.
    _quiet_f = False
    _quiet_bw = False

    @classmethod
    def forward(cls, ctx, x, *, p=()):
        ctx.p = p
        ctx.save_for_backward(x)
        if not x.ndim:  # ufuncs give 0-d input scalars, not arrays, back
            return cls._run(cls._f, cls._quiet_f, x.reshape(1), *p).reshape(())
        if cls._quiet_f:
            return cls._run(cls._f, True, x, *p)
        return cls._f(x, *p)

    @classmethod
    def backward(cls, ctx, g):
        if STATE.grad_enabled:
            (x,) = ctx.saved_tensors
            tok = _quiet.enter()
            try:
                return g * cls._d(x, *ctx.p)
            finally:
                _quiet.leave(tok)
        (x,) = ctx._saved_arrays()
        gd = g.data
        if gd.dtype != x.dtype:
            gd = gd.astype(x.dtype)
        if not x.ndim:
            d = cls._run(cls._bw, cls._quiet_bw, x.reshape(1), gd.reshape(1), *ctx.p)
            return _wrap(d.reshape(()))
        if cls._quiet_bw:
            return _wrap(cls._run(cls._bw, True, x, gd, *ctx.p))
        return _wrap(cls._bw(x, gd, *ctx.p))

    @staticmethod
    def _run(f, quiet, *args):
        if not quiet:
            return f(*args)
        tok = _quiet.enter()  # Note [Quiet floating-point errors]
        try:
            return f(*args)
        finally:
            _quiet.leave(tok)

    _f: Any
    _bw: Any
    _d: Any


_KCACHE: dict[tuple[float, np.dtype], np.ndarray] = {}


def _k(v: float, dt: np.dtype) -> np.ndarray:
    """``v`` as a read-only 0-d array of dtype ``dt``, cached. A ufunc takes a
    0-d array of the operand's dtype in well under half the time it spends
    converting a Python number (the same value: NEP 50 casts the number to the
    array's dtype), which on small tensors is most of an op's arithmetic."""
    key = (v, dt)
    a = _KCACHE.get(key)
    if a is None:
        if len(_KCACHE) > 4096:
            _KCACHE.clear()
        with np.errstate(over="ignore"):  # 1e40 in float32 is inf (a bound)
            a = np.array(v, dt)
        a.flags.writeable = False
        _KCACHE[key] = a
    return a


class Elu(_Pointwise):
    """y = scale·x for x > 0, else scale·alpha·(e^(input_scale·x) - 1) (elu,
    selu, celu are this with PyTorch's constants);  dL/dx = g·scale for x > 0
    (and NaN), else g·scale·alpha·input_scale·e^(input_scale·x) (also at 0)."""

    @staticmethod
    def _f(x, alpha, scale, iscale):
        dt = x.dtype
        zero = _k(0, dt)
        # fmin(NaN, 0) = 0: the NaN comes through the max(x, 0) term.
        y = np.fmin(x, zero)
        if iscale != 1:
            y *= _k(iscale, dt)
        np.expm1(y, out=y)
        if alpha * scale != 1:
            y *= _k(alpha * scale, dt)
        pos = np.maximum(x, zero)
        if scale != 1:
            pos *= _k(scale, dt)
        y += pos
        return y

    @staticmethod
    def _bw(x, g, alpha, scale, iscale):
        dt = x.dtype
        d = np.fmin(x, _k(0, dt))  # x > 0 and NaN give e^0 = 1
        if iscale != 1:
            d *= _k(iscale, dt)
        np.exp(d, out=d)
        c = alpha * scale * iscale
        if c != 1:
            d *= _k(c, dt)
        if c != scale:
            np.copyto(d, _k(scale, dt), where=~(x <= _k(0, dt)))
        d *= g
        return d

    @staticmethod
    def _d(x, alpha, scale, iscale):
        neg = (x.clamp(max=0.0) * iscale).exp() * (alpha * scale * iscale)
        return where(x.data <= 0, neg, scale)


class Hardtanh(_Pointwise):
    """y = clamp(x, lo, hi);  dL/dx = g where lo < x < hi, else 0 (0 at the
    kinks; g for NaN, as PyTorch's ``x <= lo or x >= hi``)."""

    @staticmethod
    def _f(x, lo, hi):
        dt = x.dtype
        y = np.maximum(x, _k(lo, dt))
        return np.minimum(y, _k(hi, dt), out=y)

    @staticmethod
    def _bw(x, g, lo, hi):
        return np.where(Hardtanh._out(x, lo, hi), _k(0, x.dtype), g)

    @staticmethod
    def _out(x, lo, hi):
        m = np.less_equal(x, _k(lo, x.dtype))
        return np.logical_or(m, np.greater_equal(x, _k(hi, x.dtype)), out=m)

    @staticmethod
    def _d(x, lo, hi):
        return _mask(~Hardtanh._out(x.data, lo, hi), x.dtype)


class Hardswish(_Pointwise):
    """y = x·clamp(x + 3, 0, 6)/6;  dL/dx = 0 for x <= -3, g·(x/3 + 1/2) for
    -3 < x < 3, g for x >= 3 (and NaN)."""

    _quiet_f = True  # -inf·0

    @staticmethod
    def _f(x):
        dt = x.dtype
        y = np.add(x, _k(3, dt))
        np.maximum(y, _k(0, dt), out=y)
        np.minimum(y, _k(6, dt), out=y)
        y *= x
        y /= _k(6, dt)
        return y

    @staticmethod
    def _bw(x, g):
        dt = x.dtype
        three = _k(3, dt)
        d = np.divide(x, three)
        d += _k(0.5, dt)
        np.copyto(d, _k(1, dt), where=~(x < three))
        np.copyto(d, _k(0, dt), where=x <= _k(-3, dt))
        d *= g
        return d

    @staticmethod
    def _d(x):
        mid = (x.data > -3) & (x.data < 3)
        return where(mid, x * (1 / 3) + 0.5, _mask(~(x.data <= -3), x.dtype))


class Hardsigmoid(_Pointwise):
    """y = clamp(x + 3, 0, 6)/6;  dL/dx = g/6 where -3 < x < 3, else 0."""

    @staticmethod
    def _f(x):
        dt = x.dtype
        y = np.add(x, _k(3, dt))
        np.maximum(y, _k(0, dt), out=y)
        np.minimum(y, _k(6, dt), out=y)
        y /= _k(6, dt)
        return y

    @staticmethod
    def _bw(x, g):
        d = np.multiply(g, Hardsigmoid._in(x), dtype=x.dtype)
        d /= _k(6, x.dtype)
        return d

    @staticmethod
    def _in(x):
        dt = x.dtype
        m = np.greater(x, _k(-3, dt))
        return np.logical_and(m, np.less(x, _k(3, dt)), out=m)

    @staticmethod
    def _d(x):
        return _wrap(Hardsigmoid._in(x.data).astype(x.dtype) / 6)


def _shrunk(x: np.ndarray, lambd: float) -> np.ndarray:
    """|x| <= lambd (False for NaN)."""
    a = np.abs(x)
    return np.less_equal(a, _k(lambd, x.dtype))


class Hardshrink(_Pointwise):
    """y = 0 where |x| <= lambd, else x;  dL/dx = 0 where |x| <= lambd, else g."""

    @staticmethod
    def _f(x, lambd):
        return np.where(_shrunk(x, lambd), _k(0, x.dtype), x)

    @staticmethod
    def _bw(x, g, lambd):
        return np.where(_shrunk(x, lambd), _k(0, x.dtype), g)

    @staticmethod
    def _d(x, lambd):
        return _mask(~_shrunk(x.data, lambd), x.dtype)


class Softshrink(_Pointwise):
    """y = x - clamp(x, -lambd, lambd) (x ∓ lambd outside, 0 inside);  the
    gradient is hardshrink's."""

    @staticmethod
    def _f(x, lambd):
        c = np.maximum(x, _k(-lambd, x.dtype))
        np.minimum(c, _k(lambd, x.dtype), out=c)
        return np.subtract(x, c, out=c)

    _bw = Hardshrink._bw
    _d = Hardshrink._d


class Tanhshrink(_Pointwise):
    """y = x - tanh(x);  dL/dx = g·tanh²(x)."""

    @staticmethod
    def _f(x):
        t = np.tanh(x)
        return np.subtract(x, t, out=t)

    @staticmethod
    def _bw(x, g):
        t = np.tanh(x)
        t *= t
        t *= g
        return t

    @staticmethod
    def _d(x):
        t = tanh(x)
        return t * t


def _softplus_np(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = logaddexp(x, 0), which never overflows."""
    return np.logaddexp(x, _k(0, x.dtype))


class Logsigmoid(_Pointwise):
    """y = log(sigmoid(x)) = -softplus(-x) (stable for any x);  dL/dx =
    g·sigmoid(-x) = g/(1 + e^x) (e^x = inf gives 0, quietly)."""

    _quiet_f = True  # logaddexp(NaN, 0) flags "invalid" (NaN is right)
    _quiet_bw = True  # e^x overflows to inf for large x: the right limit

    @staticmethod
    def _f(x):
        y = _softplus_np(np.negative(x))
        return np.negative(y, out=y)

    @staticmethod
    def _bw(x, g):
        d = np.exp(x)
        d += _k(1, x.dtype)
        np.divide(g, d, out=d)
        return d

    @staticmethod
    def _d(x):
        return sigmoid(-x)


class Softsign(_Pointwise):
    """y = x/(1 + |x|);  dL/dx = g·r·(1 - |x|·r), r = 1/(1 + |x|) (= g/(1 + |x|)²,
    NaN at ±inf like PyTorch's composite)."""

    _quiet_f = _quiet_bw = True  # inf/inf, inf·0

    @staticmethod
    def _f(x):
        a = np.abs(x)
        a += _k(1, x.dtype)
        return np.divide(x, a, out=a)

    @staticmethod
    def _bw(x, g):
        one = _k(1, x.dtype)
        a = np.abs(x)
        r = np.add(a, one)
        np.reciprocal(r, out=r)
        a *= r
        np.subtract(one, a, out=a)
        a *= r
        a *= g
        return a

    @staticmethod
    def _d(x):
        a = x.abs()
        r = (a + 1.0).reciprocal()
        return r * (1.0 - a * r)


class Mish(_Pointwise):
    """y = x·tanh(softplus(x));  dL/dx = g·(t + x·sigmoid(x)·(1 - t²)),
    t = tanh(softplus(x)), sigmoid(x) = e^(x - softplus(x)) (PyTorch's
    formula: NaN at ±inf)."""

    _quiet_f = _quiet_bw = True  # -inf·0, inf - inf

    @staticmethod
    def _f(x):
        t = _softplus_np(x)
        np.tanh(t, out=t)
        t *= x
        return t

    @staticmethod
    def _bw(x, g):
        sp = _softplus_np(x)
        t = np.tanh(sp)
        np.subtract(x, sp, out=sp)
        np.exp(sp, out=sp)  # sigmoid(x)
        d = t * t
        np.subtract(_k(1, x.dtype), d, out=d)
        d *= sp
        d *= x
        d += t
        d *= g
        return d

    @staticmethod
    def _d(x):
        t = tanh(softplus(x))
        return t + x * sigmoid(x) * (1.0 - t * t)


class Threshold(_Pointwise):
    """y = value where x <= threshold, else x;  dL/dx = 0 where x <= threshold,
    else g (g for NaN)."""

    @staticmethod
    def _f(x, th, value):
        dt = x.dtype
        return np.where(np.less_equal(x, _k(th, dt)), _k(value, dt), x)

    @staticmethod
    def _bw(x, g, th, value):
        return np.where(np.less_equal(x, _k(th, x.dtype)), _k(0, x.dtype), g)

    @staticmethod
    def _d(x, th, value):
        return _mask(~(x.data <= th), x.dtype)


# -- functional forms -------------------------------------------------------------


def _num(v: Any, op: str, name: str) -> float:
    if type(v) is float:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
        raise ArgumentError(f"{op}: {name} must be a number, got {type(v).__name__}")
    return float(v)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else alpha·(e^x - 1)."""
    a = _num(alpha, "elu", "alpha")
    return apply1(Elu, _float_input(x, "elu"), {"p": (a, 1.0, 1.0)})


def selu(x: Tensor) -> Tensor:
    """scale·elu(x, alpha) with SELU's fixed alpha and scale."""
    return apply1(Elu, _float_input(x, "selu"), {"p": (SELU_ALPHA, SELU_SCALE, 1.0)})


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha·(e^(x/alpha) - 1)).

    Raises
    ------
    ArgumentError : alpha is 0.
    """
    a = _num(alpha, "celu", "alpha")
    if a == 0:
        raise ArgumentError("celu: alpha must be non-zero (it divides x)")
    return apply1(Elu, _float_input(x, "celu"), {"p": (a, 1.0, 1.0 / a)})


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """clamp(x, min_val, max_val), with a zero gradient outside (and at) the ends.

    Raises
    ------
    ArgumentError : min_val > max_val.
    """
    lo, hi = _num(min_val, "hardtanh", "min_val"), _num(max_val, "hardtanh", "max_val")
    if lo > hi:
        raise ArgumentError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    if _is_int(x):  # as PyTorch: integers stay integers (no gradient)
        return _wrap(np.clip(x.data, lo, hi).astype(x.dtype))
    return apply1(Hardtanh, _float_input(x, "hardtanh"), {"p": (lo, hi)})


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    if _is_int(x):
        return _wrap(np.clip(x.data, 0, 6))
    return apply1(Hardtanh, _float_input(x, "relu6"), {"p": (0.0, 6.0)})


def hardswish(x: Tensor) -> Tensor:
    """x·relu6(x + 3)/6."""
    return apply1(Hardswish, _float_input(x, "hardswish"))


def hardsigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3)/6."""
    return apply1(Hardsigmoid, _float_input(x, "hardsigmoid"))


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """0 where |x| <= lambd, else x."""
    lam = _num(lambd, "hardshrink", "lambd")
    return apply1(Hardshrink, _float_input(x, "hardshrink"), {"p": (lam,)})


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x moved lambd towards 0, and 0 where |x| <= lambd.

    Raises
    ------
    ArgumentError : lambd < 0.
    """
    lam = _num(lambd, "softshrink", "lambd")
    if not lam >= 0:
        raise ArgumentError(f"softshrink: lambd must be >= 0, got {lambd}")
    return apply1(Softshrink, _float_input(x, "softshrink"), {"p": (lam,)})


def tanhshrink(x: Tensor) -> Tensor:
    """x - tanh(x)."""
    return apply1(Tanhshrink, _float_input(x, "tanhshrink", promote=True))


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)), stable for large |x| (x for x -> -inf, 0 for x -> inf)."""
    return apply1(Logsigmoid, _float_input(x, "logsigmoid"))


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return apply1(Softsign, _float_input(x, "softsign", promote=True))


def mish(x: Tensor) -> Tensor:
    """x·tanh(softplus(x))."""
    return apply1(Mish, _float_input(x, "mish"))


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else value."""
    th = _num(threshold, "threshold", "threshold")
    v = _num(value, "threshold", "value")
    if _is_int(x):
        return _wrap(np.where(x.data <= th, v, x.data).astype(x.dtype))
    return apply1(Threshold, _float_input(x, "threshold"), {"p": (th, v)})
