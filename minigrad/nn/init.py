"""nn.init: fill a Tensor in place with PyTorch's initialization schemes.

Layer: nn. Imports ``minigrad.tensor``, ``minigrad.random`` and the grad mode.

Every function writes under ``no_grad`` (so it works on Parameters), returns its
argument, and draws from minigrad's generator (reseeded by ``mg.manual_seed``)
unless a numpy ``generator`` is given. The formulas are PyTorch's:
fan_in = size(1)·receptive field, fan_out = size(0)·receptive field;
xavier std = gain·√(2 / (fan_in + fan_out)); kaiming std = gain / √fan;
a uniform bound is √3 times the std.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_Gen = np.random.Generator | None

_LINEAR = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu: √(2 / (1 + a²))
    with ``a = param`` (default 0.01); selu: 3/4.

    Raises
    ------
    ValueError : unknown nonlinearity or a bad ``param``
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ArgumentError(
                f"calculate_gain: negative_slope {param!r} is not a number"
            )
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ArgumentError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _check(tensor: Any, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _write(tensor: Tensor, values: Any) -> Tensor:
    with no_grad():
        tensor.copy_(Tensor._wrap(np.asarray(values)))
    return tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: (size(1), size(0)) times the product of the
    remaining dims (a convolution's receptive field).

    Raises
    ------
    ValueError : fewer than 2 dims
    """
    if tensor.ndim < 2:
        raise ShapeError(
            "fan in and fan out can not be computed for a tensor with fewer than "
            f"2 dimensions (shape {tensor.shape})"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"mode {mode!r} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: _Gen = None
) -> Tensor:
    """Fills with U(a, b)."""
    _check(tensor, "uniform_")
    if a > b:
        raise ShapeError(f"uniform_: expects a <= b, got a={a}, b={b}")
    return _write(tensor, get_generator(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: _Gen = None
) -> Tensor:
    """Fills with N(mean, std²)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ShapeError(f"normal_: std must be non-negative, got {std}")
    return _write(tensor, get_generator(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fills with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fills with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: _Gen = None
) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: _Gen = None) -> Tensor:
    """Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(
    tensor: Tensor, a: float, mode: str, nonlinearity: str, op: str
) -> float | None:
    _check(tensor, op)
    if 0 in tensor.shape:
        warnings.warn(
            f"{op}: initializing a zero-element tensor is a no-op", stacklevel=3
        )
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: _Gen = None,
) -> Tensor:
    """He uniform: U(-b, b) with b = gain·√(3 / fan), gain from ``nonlinearity``
    (negative slope ``a`` for leaky_relu) and fan from ``mode``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: _Gen = None,
) -> Tensor:
    """He normal: N(0, std²) with std = gain / √fan."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)
