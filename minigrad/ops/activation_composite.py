"""Issue-14 activations built from differentiable ops, which so need no
Function of their own: prelu, rrelu, glu, softmin.

Layer: ops. Imports ``minigrad.tensor`` and the ops of
:mod:`minigrad.ops.activation`, :mod:`minigrad.ops.activation_more` and
:mod:`minigrad.ops.elementwise`.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd._tape import recorded
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.activation import leaky_relu, sigmoid, softmax
from minigrad.ops.activation_more import _float_input, _num
from minigrad.ops.elementwise import where
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = ["glu", "prelu", "rrelu", "softmin"]

_wrap = Tensor._wrap


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight·x, ``weight`` (0-d or 1-d of size 1 or C) one
    slope per channel (dim 1; a tensor of fewer than 2 dims has one channel).

    Raises
    ------
    ShapeError : weight is not 0-d/1-d, or its size is neither 1 nor C.
    """
    x = _float_input(x, "prelu")
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    _float_input(weight, "prelu")
    if weight.dtype != x.dtype:
        raise DTypeError(
            f"prelu: input ({x.dtype}) and weight ({weight.dtype}) must have the "
            "same dtype"
        )
    if weight.ndim > 1:
        raise ShapeError(
            f"prelu: weight must be 0-d or 1-d, got shape {tuple(weight.shape)}"
        )
    n = weight.numel()
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim == 1 and n != 1 and n != channels:
        raise ShapeError(
            f"prelu: weight of {n} parameters does not match the {channels} "
            f"channels (dim 1) of input of shape {tuple(x.shape)}"
        )
    if weight.ndim == 1 and n == channels and n != 1 and x.ndim > 2:
        weight = weight.reshape((n,) + (1,) * (x.ndim - 2))
    elif weight.ndim == 1 and x.ndim == 0:
        weight = weight.reshape(())
    return where(x.data > 0, x, weight * x)


@recorded()
def rrelu(
    x: Tensor,
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Randomized leaky relu: x where x > 0, else a·x with, in training, a
    drawn per element from U(lower, upper) (the gradient uses the drawn a);
    in evaluation a = (lower + upper)/2 (a leaky relu).

    Raises
    ------
    ArgumentError : lower > upper.
    """
    x = _float_input(x, "rrelu")
    lo, hi = _num(lower, "rrelu", "lower"), _num(upper, "rrelu", "upper")
    if lo > hi:
        raise ArgumentError(
            f"rrelu: lower bound ({lower}) should be less than or equal to the "
            f"upper bound ({upper})"
        )
    if not training:
        return leaky_relu(x, (lo + hi) / 2)
    a = get_generator(generator).uniform(lo, hi, x.shape).astype(x.dtype)
    # NOTE: slope 1 where x > 0; NaN keeps NaN (NaN <= 0 is false, slope 1).
    slope = np.where(x.data <= 0, a, 1).astype(x.dtype)
    return x * _wrap(slope)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a·sigmoid(b), a and b the halves of ``x`` along ``dim``.

    Raises
    ------
    ShapeError : ``x`` is 0-d, or its size along ``dim`` is odd.
    """
    x = _float_input(x, "glu")
    if x.ndim == 0:
        raise ShapeError("glu: does not support 0-d tensors (halving needs a dim)")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(
            f"glu: dim {dim} is out of range for a tensor of shape {tuple(x.shape)}"
        )
    n = x.shape[dim]
    if n % 2:
        raise ShapeError(
            f"glu: halving dimension must be even, but dimension {dim % x.ndim} "
            f"of shape {tuple(x.shape)} is size {n}"
        )
    a, b = x.split(n // 2, dim)
    return a * sigmoid(b)


def softmin(x: Tensor, dim: int | None = None) -> Tensor:
    """softmax(-x, dim)."""
    return softmax(-_float_input(x, "softmin"), dim)
