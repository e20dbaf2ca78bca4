"""Keras's convolution and pooling layers over :mod:`minigrad.nn`. Layer: keras.

Keras's images are channels_last, ``(batch, height, width, channels)``;
minigrad's convolution and pooling are PyTorch's channels_first. Each layer
here permutes to NCHW, runs the ``nn`` op and permutes back, so a ``Flatten``
after it flattens in Keras's (H, W, C) order and weights moved from Keras
give Keras's outputs. Re-exported from :mod:`minigrad.keras.layers`.

``padding='same'`` pads as TensorFlow does: the output is ``ceil(in / stride)``
and an odd total padding puts the extra row / column at the bottom / right
(PyTorch's symmetric padding cannot express that for strides > 1, hence an
explicit ``F.pad``). 'same' max pooling never picks the padding (it is -inf),
and 'same' average pooling divides by the number of real inputs in a window.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import nn
from minigrad.errors import ArgumentError, ShapeError
from minigrad.keras import activations
from minigrad.keras.layers import _INITS, Layer, _init
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

__all__ = [
    "AveragePooling2D",
    "Conv2D",
    "GlobalAveragePooling2D",
    "MaxPooling2D",
]

# minigrad's conv weight (out, in, kh, kw) -> Keras's kernel (kh, kw, in, out)
_KERNEL_AXES = (2, 3, 1, 0)


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (v, v)
    try:
        a, b = (int(e) for e in v)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"{op}: {name} must be an int or a pair of ints, got {v!r}"
        ) from None
    if a < 1 or b < 1:
        raise ArgumentError(f"{op}: {name} must be positive, got {v!r}")
    return a, b


def _padding(padding: Any, op: str) -> str:
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ArgumentError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def _out_len(n: int, k: int, s: int, padding: str) -> int:
    """Keras's output length along one axis (0 when the window does not fit)."""
    if padding == "same":
        return -(-n // s)
    return max(0, (n - k) // s + 1)


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (before, after): the extra one goes after."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _spatial(layer: Layer, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ShapeError(
            f"{type(layer).__name__}({layer.name!r}): expects inputs (batch, "
            f"height, width, channels), got per-sample shape {input_shape}"
        )
    return input_shape


def _check_data_format(data_format: Any, op: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ArgumentError(
            f"{op}: only data_format='channels_last' (Keras's default) is "
            f"supported, got {data_format!r}"
        )


class _Windowed(Layer):
    """What Conv2D and the pooling layers share: a window, strides, padding,
    and the NHWC <-> NCHW permutes around an NCHW op."""

    window: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    pad_value = 0.0

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        h, w, c = _spatial(self, input_shape)
        oh = _out_len(h, self.window[0], self.strides[0], self.padding)
        ow = _out_len(w, self.window[1], self.strides[1], self.padding)
        if oh < 1 or ow < 1:
            raise ShapeError(
                f"{type(self).__name__}({self.name!r}): window {self.window} does "
                f"not fit the input {input_shape} with padding='valid'"
            )
        return (oh, ow, self._channels(c))

    def _channels(self, c: int) -> int:
        return c

    def _pads(self, h: int, w: int) -> tuple[int, int, int, int]:
        """F.pad's order for NCHW: (left, right, top, bottom)."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        top, bottom = _same_pads(h, self.window[0], self.strides[0])
        left, right = _same_pads(w, self.window[1], self.strides[1])
        return (left, right, top, bottom)

    def _nchw(self, x: Tensor) -> tuple[Tensor, tuple[int, int, int, int]]:
        if x.ndim != 4:
            raise ShapeError(
                f"{type(self).__name__}({self.name!r}): expects inputs (batch, "
                f"height, width, channels), got shape {tuple(x.shape)}"
            )
        pads = self._pads(x.shape[1], x.shape[2])
        y = x.permute(0, 3, 1, 2)
        if any(pads):
            y = F.pad(y, pads, value=self.pad_value)
        return y, pads

    def _config(self) -> dict[str, Any]:
        return {"strides": list(self.strides), "padding": self.padding}


class Conv2D(_Windowed):
    """A 2-D convolution over channels_last images: ``Conv2D(32, 3,
    activation='relu', input_shape=(28, 28, 1))``. Its kernel is Glorot-uniform
    (fans ``kh*kw*in`` and ``kh*kw*filters``, as Keras) and its bias zero;
    ``get_weights()`` gives Keras's kernel layout (kh, kw, in, filters)."""

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        data_format: str | None = None,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if (
            not isinstance(filters, (int, np.integer))
            or isinstance(filters, bool)
            or filters < 1
        ):
            raise ArgumentError(
                f"Conv2D: filters must be a positive int, got {filters!r}"
            )
        _check_data_format(data_format, "Conv2D")
        super().__init__(name, input_shape, None, trainable)
        self.filters = int(filters)
        self.window = _pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = _pair(strides, "strides", "Conv2D")
        self.padding = _padding(padding, "Conv2D")
        self.activation_name, self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        for how in (kernel_initializer, bias_initializer):
            if how not in _INITS:
                raise ArgumentError(
                    f"Conv2D: unknown initializer {how!r}; use one of {_INITS}"
                )
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.conv: nn.Conv2d | None = None

    @property
    def kernel_size(self) -> tuple[int, int]:
        return self.window

    @property
    def kernel(self) -> Tensor:
        """The weight in Keras's layout (kh, kw, in, filters), as a view."""
        return self._made(self.conv).weight.permute(*_KERNEL_AXES)

    def build(self, input_shape: tuple[int, ...]) -> None:
        _, _, c = _spatial(self, input_shape)
        self.conv = nn.Conv2d(
            c, self.filters, self.window, stride=self.strides, bias=self.use_bias
        )
        _init(self.conv.weight, self.kernel_initializer, "Conv2D")
        if self.use_bias:
            _init(self.conv.bias, self.bias_initializer, "Conv2D")
        self.built = True

    def _channels(self, c: int) -> int:
        return self.filters

    def pre_activation(self, x: Tensor) -> Tensor:
        if not self.built:
            self._ensure_built(tuple(x.shape[1:]))
        y, _ = self._nchw(x)
        return self._made(self.conv)(y).permute(0, 2, 3, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.pre_activation(x))

    def _keras_weights(self) -> list[tuple[Tensor, Any]]:
        if self.conv is None:
            return []
        out: list[tuple[Tensor, Any]] = [(self.conv.weight, _KERNEL_AXES)]
        if self.use_bias:
            out.append((self.conv.bias, False))
        return out

    @property
    def bias(self) -> Tensor | None:
        return self.conv.bias if self.use_bias and self.conv is not None else None

    def get_config(self) -> dict[str, Any]:
        if self.activation_name not in activations._BY_NAME:
            raise ArgumentError(
                f"Conv2D({self.name!r}): a custom activation cannot be saved by name"
            )
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.window),
            **self._config(),
            "activation": self.activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }

    def extra_repr(self) -> str:
        return (
            f"filters={self.filters}, kernel_size={self.window}, "
            f"strides={self.strides}, padding={self.padding!r}, "
            f"activation={self.activation_name!r}"
        )


class _Pooling2D(_Windowed):
    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        op = type(self).__name__
        _check_data_format(data_format, op)
        super().__init__(name, **kwargs)
        self.window = _pair(pool_size, "pool_size", op)
        # Keras: strides default to the pool size
        self.strides = self.window if strides is None else _pair(strides, "strides", op)
        self.padding = _padding(padding, op)

    @property
    def pool_size(self) -> tuple[int, int]:
        return self.window

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.window),
            **self._config(),
        }

    def extra_repr(self) -> str:
        return (
            f"pool_size={self.window}, strides={self.strides}, padding={self.padding!r}"
        )


class MaxPooling2D(_Pooling2D):
    """The maximum over each ``pool_size`` window (strides default to it)."""

    pad_value = -math.inf  # 'same' padding is never the maximum

    def forward(self, x: Tensor) -> Tensor:
        y, _ = self._nchw(x)
        return F.max_pool2d(y, self.window, self.strides).permute(0, 2, 3, 1)


class AveragePooling2D(_Pooling2D):
    """The mean over each ``pool_size`` window; with 'same' padding, the mean of
    the real inputs only (TensorFlow's divisor), not counting the padding."""

    def forward(self, x: Tensor) -> Tensor:
        y, pads = self._nchw(x)
        out = F.avg_pool2d(y, self.window, self.strides)
        if any(pads):
            # rescale window sums to the count of unpadded inputs in each window
            ones = np.zeros((1, 1, *y.shape[2:]), np.float32)
            left, right, top, bottom = pads
            ones[..., top : y.shape[2] - bottom, left : y.shape[3] - right] = 1.0
            frac = F.avg_pool2d(Tensor._wrap(ones), self.window, self.strides).data
            out = out * Tensor._wrap((1.0 / frac).astype(out.data.dtype))
        return out.permute(0, 2, 3, 1)


class GlobalAveragePooling2D(Layer):
    """The mean of each channel over height and width: (N, H, W, C) -> (N, C)."""

    def __init__(
        self, data_format: str | None = None, name: str | None = None, **kwargs: Any
    ) -> None:
        _check_data_format(data_format, "GlobalAveragePooling2D")
        super().__init__(name, **kwargs)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (_spatial(self, input_shape)[2],)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeError(
                f"GlobalAveragePooling2D({self.name!r}): expects inputs (batch, "
                f"height, width, channels), got shape {tuple(x.shape)}"
            )
        return x.mean(dim=(1, 2))
