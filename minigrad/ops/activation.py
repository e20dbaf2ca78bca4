"""Activations: relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, erf,
softmax and log_softmax, numerically stable for large |x|.

Layer: ops; calls ``minigrad._C`` kernels where they exist.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad._C import _act
from minigrad.autograd.function import Function
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


def _float(a: Tensor, op: str) -> Tensor:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating tensor, got {a.dtype}")
    return a


class Relu(Function):
    """y = max(x, 0);  dL/dx = g·[x > 0]. NOTE: relu'(0) = 0."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x):
        ctx.mask = x > 0
        return _act.relu_fwd(x)

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._wrap(ctx.mask.astype(g.data.dtype))


class LeakyRelu(Function):
    """y = x if x > 0 else slope·x;  dL/dx = g·(1 or slope)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, slope):
        d = np.where(x > 0, 1.0, slope).astype(x.dtype)
        ctx.d = d
        return x * d

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._wrap(ctx.d)


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of -|x| never overflows; sigmoid(±1000) is exactly 1 / 0.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g·y·(1 - y)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x):
        y = _stable_sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1.0 - y)


class Tanh(Function):
    """y = tanh(x);  dL/dx = g·(1 - y²)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1.0 - y * y)


class Erf(Function):
    """y = erf(x);  dL/dx = g·(2/√π)·exp(-x²)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _act.erf(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((-(x * x)).exp() * (2.0 / math.sqrt(math.pi)))


class Softplus(Function):
    """y = log(1 + exp(βx))/β, linear above ``threshold`` (PyTorch);
    dL/dx = g·sigmoid(βx)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, beta, threshold):
        bx = x * beta
        # log1p(exp(-|z|)) + max(z, 0) is log(1 + exp(z)) without overflow.
        y = (np.log1p(np.exp(-np.abs(bx))) + np.maximum(bx, 0)) / beta
        y = np.where(bx > threshold, x, y).astype(x.dtype)
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return g * where_const(bx.data > ctx.threshold, 1.0, sigmoid(bx))


def where_const(cond: np.ndarray, a: float, b: Tensor) -> Tensor:
    from minigrad.ops.elementwise import where

    return where(cond, a, b)


def relu(x: Tensor) -> Tensor:
    return Relu.apply(_float(x, "relu"))


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu.apply(_float(x, "leaky_relu"), slope=negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(_float(x, "sigmoid"))


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(_float(x, "tanh"))


def erf(x: Tensor) -> Tensor:
    return Erf.apply(_float(x, "erf"))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x·Φ(x) with the exact erf (default) or PyTorch's tanh approximation."""
    _float(x, "gelu")
    if approximate == "none":
        return x * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * (tanh(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x: Tensor) -> Tensor:
    """SiLU (swish): x·sigmoid(x)."""
    return _float(x, "silu") * sigmoid(x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(_float(x, "softplus"), beta=beta, threshold=threshold)


class Softmax(Function):
    """y = exp(x - max) / Σ exp(x - max) over ``dim``;  dL/dx = y·(g - Σ g·y)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, dim):
        z = x - np.max(x, axis=dim, keepdims=True) if x.size else x
        e = np.exp(z)
        y = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) over ``dim``;  dL/dx = g - exp(y)·Σ g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, dim):
        z = x - np.max(x, axis=dim, keepdims=True) if x.size else x
        y = z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.dim, keepdim=True)


def _softmax_dim(x: Tensor, dim: int | None, op: str) -> int:
    if dim is None:
        # PyTorch's legacy implicit dim: 0 for 0-, 1- and 3-D input, else 1.
        dim = 0 if x.ndim in (0, 1, 3) else 1
    dims = _norm_dims(dim, x.ndim, op)
    return dims[0] if dims else 0


def softmax(x: Tensor, dim: int | None = None) -> Tensor:
    _float(x, "softmax")
    if x.ndim == 0:
        return x * 0.0 + 1.0
    return Softmax.apply(x, dim=_softmax_dim(x, dim, "softmax"))


def log_softmax(x: Tensor, dim: int | None = None) -> Tensor:
    _float(x, "log_softmax")
    if x.ndim == 0:
        return x * 0.0
    return LogSoftmax.apply(x, dim=_softmax_dim(x, dim, "log_softmax"))
