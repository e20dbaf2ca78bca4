"""Activations: relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, erf,
softmax and log_softmax, numerically stable for large |x|.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the
``minigrad._C`` kernels (``_act``, ``_softmax``).

# Note [Kernel backward, Tensor-op double backward]
Forward and backward run the fused C kernels (one pass each). When backward is
itself being recorded (``create_graph=True``, so grad mode is on inside it),
backward instead builds the same derivative from Tensor ops, so gradients of
gradients work; with ``create_graph=False`` it runs under no_grad and costs one
kernel call. Both paths are tested (gradcheck and gradgradcheck).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad._C import _act, _softmax
from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError
from minigrad.ops.half import half_via_float32
from minigrad.ops.reduce import _norm_dims
from minigrad.tensor import Tensor

__all__ = [
    "erf",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_GT_K0 = math.sqrt(2.0 / math.pi)
_GT_K1 = 0.044715


def _float(a: Any, op: str, promote: bool = False) -> Tensor:
    """``a`` checked to be a floating Tensor; with ``promote``, integer and bool
    input becomes float32 (PyTorch's tanh, sigmoid, erf, as exp and log), else
    it is refused (PyTorch's gelu, silu, softplus, softmax, ...)."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind != "f":
        if promote:
            return a.to(np.float32)
        raise DTypeError(f"{op}: expected a floating tensor, got {a.dtype}")
    return a


class _Activation(Function):
    """An elementwise activation run by the ``_act`` kernel named ``_op``.

    Subclasses give ``_op``, whether backward reads the output (``_from_out``)
    and ``_deriv(s, p0, p1)``: f'(.) as Tensor ops of the saved operand, used
    when backward is recorded (Note [Kernel backward, Tensor-op double
    backward]).
    """

    _array_forward = True
    _op = ""
    _from_out = False

    @classmethod
    def forward(cls, ctx, x, *, p0=0.0, p1=0.0):
        y = _act.forward(cls._op, x, p0=p0, p1=p1)
        ctx.p = (p0, p1)
        ctx.save_for_backward(y if cls._from_out else x)
        return y

    @classmethod
    def backward(cls, ctx, g):
        (s,) = ctx.saved_tensors
        p0, p1 = ctx.p
        if STATE.grad_enabled:
            return g * cls._deriv(s, p0, p1)
        gd = g.data if g.data.dtype == s.data.dtype else g.data.astype(s.dtype)
        return Tensor._wrap(_act.backward(cls._op, s.data, gd, p0=p0, p1=p1))

    @staticmethod
    def _deriv(s: Tensor, p0: float, p1: float) -> Tensor:
        raise NotImplementedError


def _const(mask: np.ndarray, dtype: np.dtype) -> Tensor:
    return Tensor._wrap(mask.astype(dtype))


class Relu(_Activation):
    """y = max(x, 0);  dL/dx = g·[not x <= 0]. NOTE: relu'(0) = 0 and relu'(NaN)
    = 1, as in PyTorch."""

    _op = "relu"

    @staticmethod
    def _deriv(s, p0, p1):
        return _const(~(s.data <= 0), s.dtype)


class LeakyRelu(_Activation):
    """y = x if x > 0 else slope·x;  dL/dx = g·(1 if x > 0 else slope)."""

    _op = "leaky_relu"

    @staticmethod
    def _deriv(s, p0, p1):
        return _const(np.where(s.data > 0, 1.0, p0), s.dtype)


class Sigmoid(_Activation):
    """y = 1 / (1 + e^-x), stable (sigmoid(±1000) is exactly 1 / 0);
    dL/dx = g·y·(1 - y)."""

    _op = "sigmoid"
    _from_out = True

    @staticmethod
    def _deriv(y, p0, p1):
        return y * (1.0 - y)


class Tanh(_Activation):
    """y = tanh(x);  dL/dx = g·(1 - y²)."""

    _op = "tanh"
    _from_out = True

    @staticmethod
    def _deriv(y, p0, p1):
        return 1.0 - y * y


class Erf(_Activation):
    """y = erf(x);  dL/dx = g·(2/√π)·e^(-x²)."""

    _op = "erf"

    @staticmethod
    def _deriv(x, p0, p1):
        return (-(x * x)).exp() * _2_SQRTPI


class Gelu(_Activation):
    """y = x·Φ(x) (exact, Φ the standard normal CDF);
    dL/dx = g·(Φ(x) + x·φ(x)), φ(x) = e^(-x²/2)/√(2π)."""

    _op = "gelu"

    @staticmethod
    def _deriv(x, p0, p1):
        cdf = (erf(x * _SQRT1_2) + 1.0) * 0.5
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        return cdf + x * pdf


class GeluTanh(_Activation):
    """y = x/2·(1 + tanh(u)), u = √(2/π)·(x + 0.044715x³) (PyTorch's
    approximate='tanh');  dL/dx = g·(½(1 + t) + ½x(1 - t²)·u'), t = tanh(u)."""

    _op = "gelu_tanh"

    @staticmethod
    def _deriv(x, p0, p1):
        x2 = x * x
        t = tanh((x + x2 * x * _GT_K1) * _GT_K0)
        du = (x2 * (3.0 * _GT_K1) + 1.0) * _GT_K0
        return (t + 1.0) * 0.5 + x * (1.0 - t * t) * du * 0.5


class Silu(_Activation):
    """y = x·sigmoid(x);  dL/dx = g·sigmoid(x)·(1 + x·(1 - sigmoid(x)))."""

    _op = "silu"

    @staticmethod
    def _deriv(x, p0, p1):
        s = sigmoid(x)
        return s * (x * (1.0 - s) + 1.0)


class Softplus(_Activation):
    """y = log(1 + e^(βx))/β, or x where βx > threshold (PyTorch);
    dL/dx = g·sigmoid(βx) (g above the threshold)."""

    _op = "softplus"

    @staticmethod
    def _deriv(x, p0, p1):
        from minigrad.ops.elementwise import where

        bx = x * p0
        return where(bx.data > p1, 1.0, sigmoid(bx))


@half_via_float32
def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise; an integer tensor stays integer (as PyTorch)."""
    if isinstance(x, Tensor) and x.data.dtype.kind in "iu":
        return Tensor._wrap(np.maximum(x.data, 0))
    return Relu.apply(_float(x, "relu"))


@half_via_float32
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope·x."""
    return LeakyRelu.apply(_float(x, "leaky_relu"), p0=float(negative_slope))


@half_via_float32
def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), exactly 0 / 1 for large |x| and never NaN for finite x."""
    return Sigmoid.apply(_float(x, "sigmoid", promote=True))


@half_via_float32
def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return Tanh.apply(_float(x, "tanh", promote=True))


@half_via_float32
def erf(x: Tensor) -> Tensor:
    """The error function, elementwise."""
    return Erf.apply(_float(x, "erf", promote=True))


@half_via_float32
def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x·Φ(x) with the exact erf (default) or PyTorch's tanh approximation.

    Parameters
    ----------
    x : Tensor, floating, any shape
    approximate : {'none', 'tanh'}

    Raises
    ------
    ValueError : approximate is neither 'none' nor 'tanh'.
    """
    _float(x, "gelu")
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        return GeluTanh.apply(x)
    raise ArgumentError(
        f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}"
    )


@half_via_float32
def silu(x: Tensor) -> Tensor:
    """SiLU (swish): x·sigmoid(x)."""
    return Silu.apply(_float(x, "silu"))


@half_via_float32
def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta·x))/beta, reverting to x where beta·x > threshold.

    Raises
    ------
    ValueError : beta is 0.
    """
    _float(x, "softplus")
    if beta == 0:
        raise ArgumentError("softplus: beta must be non-zero")
    return Softplus.apply(x, p0=float(beta), p1=float(threshold))


class Softmax(Function):
    """y = e^(x - max) / Σ e^(x - max) over ``dim``;  dL/dx = y·(g - Σ g·y)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, dim):
        y = _softmax.softmax_fwd(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if STATE.grad_enabled:
            return y * (g - (g * y).sum(ctx.dim, keepdim=True))
        gd = g.data.astype(y.dtype, copy=False)
        return Tensor._wrap(_softmax.softmax_bwd(y.data, gd, ctx.dim))


class LogSoftmax(Function):
    """y = x - logsumexp(x) over ``dim``;  dL/dx = g - e^y·Σ g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, dim):
        y = _softmax.softmax_fwd(x, dim, log=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if STATE.grad_enabled:
            return g - y.exp() * g.sum(ctx.dim, keepdim=True)
        gd = g.data.astype(y.dtype, copy=False)
        return Tensor._wrap(_softmax.softmax_bwd(y.data, gd, ctx.dim, log=True))


def _softmax_dim(x: Tensor, dim: int | None, op: str) -> int:
    if dim is None:
        # PyTorch's legacy implicit dim: 0 for 0-, 1- and 3-D input, else 1.
        dim = 0 if x.ndim in (0, 1, 3) else 1
    dims = _norm_dims(dim, x.ndim, op)
    return dims[0] if dims else 0


@half_via_float32
def softmax(x: Tensor, dim: int | None = None) -> Tensor:
    """exp(x) normalised to sum to 1 along ``dim`` (stable for any |x|).

    Parameters
    ----------
    x : Tensor, floating, any shape
    dim : int; None picks PyTorch's legacy implicit dim.
    """
    _float(x, "softmax")
    if x.ndim == 0:
        return x * 0.0 + 1.0
    return Softmax.apply(x, dim=_softmax_dim(x, dim, "softmax"))


@half_via_float32
def log_softmax(x: Tensor, dim: int | None = None) -> Tensor:
    """log(softmax(x, dim)) computed as x - logsumexp(x, dim)."""
    _float(x, "log_softmax")
    if x.ndim == 0:
        return x * 0.0
    return LogSoftmax.apply(x, dim=_softmax_dim(x, dim, "log_softmax"))
