"""Keras's activation functions by name. Layer: keras (over ``nn.functional``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minigrad.errors import ArgumentError
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

__all__ = ["get", "linear", "relu", "sigmoid", "softmax", "tanh"]


def linear(x: Tensor) -> Tensor:
    """The identity (Keras's ``activation=None``)."""
    return x


def relu(x: Tensor) -> Tensor:
    return F.relu(x)


def sigmoid(x: Tensor) -> Tensor:
    return F.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return F.tanh(x)


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last axis (Keras's default ``axis=-1``)."""
    return F.softmax(x, dim=-1)


def _leaky_relu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)  # Keras 3's default negative slope


_BY_NAME: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "softplus": F.softplus,
    "leaky_relu": _leaky_relu,
}


def get(identifier: Any) -> tuple[str, Callable[[Tensor], Tensor]]:
    """``(name, function)`` for an activation given by name, None (linear) or a
    callable."""
    if identifier is None:
        return "linear", linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ArgumentError(
                f"activation: unknown name {identifier!r}; use one of "
                f"{sorted(_BY_NAME)}, None or a callable"
            )
        return identifier.lower(), fn
    if callable(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        return name, identifier
    raise TypeError(f"activation: expected a name or a callable, got {identifier!r}")
