"""Keras's layers as thin wrappers of :mod:`minigrad.nn` modules. Layer: keras.

A Keras layer learns its input size when it is built (from ``input_shape=`` /
``input_dim=``, an ``Input``, or the first batch), so each layer here creates
its ``nn`` module in :meth:`Layer.build`. Shapes exclude the batch axis
internally; Keras's ``(None, ...)`` appears only in ``summary()`` and
``Input``'s ``shape``.

Defaults follow Keras: ``Dense`` kernels are Glorot-uniform and biases zero;
``BatchNormalization`` uses momentum 0.99 (PyTorch's 0.01) and epsilon 1e-3.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, TypeVar

import numpy as np

from minigrad import nn
from minigrad.errors import ArgumentError, ShapeError
from minigrad.keras import activations
from minigrad.tensor import Tensor

__all__ = [
    "Activation",
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPooling2D",
]

_names: Counter[str] = Counter()


def _auto_name(cls_name: str) -> str:
    """Keras's default names: ``dense``, ``dense_1``, ``dense_2``...,
    ``conv2d``, ``max_pooling2d`` (Keras's snake case keeps "2D" together)."""
    base = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls_name)
    base = re.sub(r"([a-z])([A-Z])", r"\1_\2", base).lower()
    n = _names[base]
    _names[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _shape(shape: Any, where: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"{where}: expected a shape tuple such as (4,), got {shape!r}"
        ) from None
    if any(s < 1 for s in out):
        raise ShapeError(f"{where}: shape dims must be positive, got {shape!r}")
    return out


def _to_keras(a: np.ndarray, layout: Any) -> np.ndarray:
    """minigrad's array in Keras's layout (see Layer._keras_weights)."""
    if layout is True:
        return a.T
    return a.transpose(layout) if layout else a


def _from_keras(a: np.ndarray, layout: Any) -> np.ndarray:
    if layout is True:
        return a.T
    return a.transpose(np.argsort(layout)) if layout else a


_M = TypeVar("_M", bound=nn.Module)


class Layer(nn.Module):
    """Base of the Keras layers: a Module with a ``name``, a lazy :meth:`build`,
    ``get_weights`` / ``set_weights`` in Keras's order and layout, and
    ``get_config`` (what ``model.save`` records to rebuild it)."""

    def __init__(
        self,
        name: str | None = None,
        input_shape: Any = None,
        input_dim: int | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__()
        self.name = name or _auto_name(type(self).__name__)
        if input_dim is not None:
            input_shape = (input_dim,)
        where = f"{type(self).__name__}({self.name!r})"
        self.input_spec = None if input_shape is None else _shape(input_shape, where)
        self.built = False
        self.trainable = trainable
        self.output_spec: tuple[int, ...] | None = None

    # -- building ---------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Creates the weights for inputs of ``input_shape`` (no batch axis)."""
        self.built = True

    def _made(self, sub: _M | None) -> _M:
        """``sub``, a module that :meth:`build` makes; Keras's error before it."""
        if sub is None:
            raise ValueError(
                f"{type(self).__name__}({self.name!r}) has not yet been built: call "
                "it on data or build(input_shape) first"
            )
        return sub

    def _ensure_built(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if not self.built:
            self.build(tuple(input_shape))
            self.built = True
            if not self.trainable:
                for p in self.parameters():
                    p.requires_grad_(False)
        self.output_spec = self.compute_output_shape(tuple(input_shape))
        return self.output_spec

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, x: Any) -> Any:
        if not isinstance(x, Tensor):
            x = Tensor._wrap(np.asarray(x, dtype=np.float32))
        if not self.built:
            self._ensure_built(tuple(x.shape[1:]))
        return super().__call__(x)

    # -- Keras's pre-activation split (Note [Logits behind the output layer]) ---
    activation_name: str = "linear"

    def pre_activation(self, x: Tensor) -> Tensor:
        """The layer's output before its activation (itself if it has none)."""
        return self(x)

    # -- weights ----------------------------------------------------------------
    def _keras_weights(self) -> list[tuple[Tensor, bool]]:
        """Each weight Tensor in Keras's order, and how Keras lays it out: False
        as is, True transposed (a Dense kernel is (in, out); nn.Linear's weight
        (out, in)), or an axis permutation (a Conv2D kernel)."""
        return [(p, False) for p in self.parameters()]

    def get_weights(self) -> list[np.ndarray]:
        return [_to_keras(t.data, tr).copy() for t, tr in self._keras_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        mine = self._keras_weights()
        if len(weights) != len(mine):
            raise ArgumentError(
                f"{self.name}.set_weights: expected {len(mine)} arrays, got "
                f"{len(weights)}"
            )
        for (t, tr), w in zip(mine, weights):
            w = np.asarray(w)
            want = _to_keras(t.data, tr).shape
            if w.shape != want:
                raise ShapeError(
                    f"{self.name}.set_weights: expected shape {want}, got {w.shape}"
                )
            w = _from_keras(w, tr)
            t.data[...] = w
            t._version[0] += 1

    @property
    def weights(self) -> list[Tensor]:
        return [t for t, _ in self._keras_weights()]

    def count_params(self) -> int:
        return sum(t.numel() for t, _ in self._keras_weights())

    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"name": self.name}
        if self.input_spec is not None:
            cfg["input_shape"] = list(self.input_spec)
        if not self.trainable:
            cfg["trainable"] = False
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


class InputLayer(Layer):
    """The input of a model: ``InputLayer(input_shape=(4,))`` or ``Input(shape=(4,))``.
    In a Sequential it only fixes the input shape (it has no weights)."""

    def __init__(
        self,
        input_shape: Any = None,
        batch_size: int | None = None,
        name: str | None = None,
        shape: Any = None,
    ) -> None:
        if shape is not None:
            input_shape = shape
        if input_shape is None:
            raise ArgumentError("Input: a shape is needed, e.g. Input(shape=(4,))")
        super().__init__(name=name or _auto_name("InputLayer"), input_shape=input_shape)

    @property
    def shape(self) -> tuple[Any, ...]:
        return (None, *(self.input_spec or ()))

    def forward(self, x: Tensor) -> Tensor:
        return x


def Input(
    shape: Any = None, batch_size: int | None = None, name: str | None = None
) -> InputLayer:
    """Keras's ``Input(shape=(4,))``: the start of a ``Sequential([...])`` list."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name)


_INITS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "ones")


def _init(t: Tensor, how: str, where: str) -> None:
    if how == "glorot_uniform":
        nn.init.xavier_uniform_(t)
    elif how == "glorot_normal":
        nn.init.xavier_normal_(t)
    elif how == "he_uniform":
        nn.init.kaiming_uniform_(t, nonlinearity="relu")
    elif how == "he_normal":
        nn.init.kaiming_normal_(t, nonlinearity="relu")
    elif how == "zeros":
        nn.init.zeros_(t)
    elif how == "ones":
        nn.init.ones_(t)
    else:
        raise ArgumentError(
            f"{where}: unknown initializer {how!r}; use one of {_INITS}"
        )


class Dense(Layer):
    """``activation(x @ kernel + bias)``: an ``nn.Linear`` with a Keras activation.

    Parameters
    ----------
    units : int
    activation : str, callable or None
        'relu', 'sigmoid', 'tanh', 'softmax', 'linear' (None), 'gelu', ...
    use_bias : bool
    kernel_initializer, bias_initializer : str
        Keras's defaults 'glorot_uniform' and 'zeros'.
    input_shape, input_dim : the input size, for the first layer of a model
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        input_shape: Any = None,
        input_dim: int | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if (
            not isinstance(units, (int, np.integer))
            or isinstance(units, bool)
            or units < 1
        ):
            raise ArgumentError(f"Dense: units must be a positive int, got {units!r}")
        super().__init__(name, input_shape, input_dim, trainable)
        self.units = int(units)
        self.activation_name, self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        for how in (kernel_initializer, bias_initializer):
            if how not in _INITS:
                raise ArgumentError(
                    f"Dense: unknown initializer {how!r}; use one of {_INITS}"
                )
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.linear: nn.Linear | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if not input_shape:
            raise ShapeError(f"Dense({self.name!r}): needs inputs of rank >= 2")
        self.linear = nn.Linear(input_shape[-1], self.units, bias=self.use_bias)
        _init(self.linear.weight, self.kernel_initializer, "Dense")
        if self.use_bias:
            _init(self.linear.bias, self.bias_initializer, "Dense")
        self.built = True

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*input_shape[:-1], self.units)

    def pre_activation(self, x: Tensor) -> Tensor:
        if not self.built:
            self._ensure_built(tuple(x.shape[1:]))
        return self._made(self.linear)(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self._made(self.linear)(x))

    def _keras_weights(self) -> list[tuple[Tensor, bool]]:
        if self.linear is None:
            return []
        out: list[tuple[Tensor, bool]] = [(self.linear.weight, True)]
        if self.use_bias:
            out.append((self.linear.bias, False))
        return out

    @property
    def kernel(self) -> Tensor:
        return self._made(self.linear).weight.T

    @property
    def bias(self) -> Tensor | None:
        return self._made(self.linear).bias if self.use_bias else None

    def get_config(self) -> dict[str, Any]:
        if not isinstance(self.activation_name, str) or (
            self.activation_name not in activations._BY_NAME
        ):
            raise ArgumentError(
                f"Dense({self.name!r}): a custom activation cannot be saved by name"
            )
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }

    def extra_repr(self) -> str:
        return f"units={self.units}, activation={self.activation_name!r}"


class Activation(Layer):
    """Applies an activation by name or callable: ``Activation('relu')``."""

    def __init__(self, activation: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.activation_name, self.activation = activations.get(activation)

    def pre_activation(self, x: Tensor) -> Tensor:
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation_name}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs while training (``nn.Dropout``)."""

    def __init__(self, rate: float, name: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("seed", None)
        super().__init__(name, **kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ArgumentError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.dropout = nn.Dropout(self.rate)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


class Flatten(Layer):
    """Flattens each sample to one axis (the batch axis stays)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)


class BatchNormalization(Layer):
    """Normalises each feature over the batch (``nn.BatchNorm1d`` on the last
    axis of 2-D inputs; ``nn.BatchNorm2d`` on the channels of channels_last
    (N, H, W, C) maps, as after a Conv2D), with Keras's ``momentum=0.99`` and
    ``epsilon=1e-3``. Its weights in Keras's order: gamma, beta, moving_mean,
    moving_variance."""

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("axis", None)
        super().__init__(name, **kwargs)
        if not (center and scale):
            raise ArgumentError(
                "BatchNormalization: center=False / scale=False are not supported"
            )
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.bn: nn.BatchNorm1d | nn.BatchNorm2d | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) not in (1, 3):
            raise ShapeError(
                f"BatchNormalization({self.name!r}): supports inputs (batch, "
                "features) or (batch, height, width, channels), got per-sample "
                f"shape {input_shape}"
            )
        # Keras normalises the last axis: the channels of a channels_last map
        cls = nn.BatchNorm1d if len(input_shape) == 1 else nn.BatchNorm2d
        self.bn = cls(input_shape[-1], eps=self.epsilon, momentum=1.0 - self.momentum)
        self.built = True

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 4:
            return self._made(self.bn)(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self._made(self.bn)(x)

    def _keras_weights(self) -> list[tuple[Tensor, bool]]:
        if self.bn is None:
            return []
        bn = self.bn
        return [
            (bn.weight, False),
            (bn.bias, False),
            (bn.running_mean, False),
            (bn.running_var, False),
        ]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }


# at the end: conv_layers builds on the classes above
from minigrad.keras.conv_layers import (  # noqa: E402
    AveragePooling2D,
    Conv2D,
    GlobalAveragePooling2D,
    MaxPooling2D,
)

LAYERS: dict[str, type[Layer]] = {
    c.__name__: c
    for c in (
        Dense,
        Activation,
        Dropout,
        Flatten,
        BatchNormalization,
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
    )
}
