"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, plus Unflatten
(flat features back into maps, e.g. before a transposed convolution). Layer:
nn.

Parameter names, shapes, default initialisation and reprs are PyTorch's, so a
state_dict moves between the two as numpy arrays: ``weight`` is (out, in /
groups, *kernel) for a convolution and (in, out / groups, *kernel) for a
transposed one, initialised with kaiming_uniform_(a=√5); ``bias`` is (out,),
U(±1/√fan_in) with fan_in = weight.shape[1] · prod(kernel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.linear import _float_dtype
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Unflatten",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v),) * n
    if isinstance(v, Sequence) and len(v) == n:
        return tuple(int(e) for e in v)
    raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {v!r}")


class _ConvNd(Module):
    _nd = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: Any = 0,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        op, nd = type(self).__name__, self._nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ArgumentError(
                f"{op}: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode not in _PADDING_MODES:
            raise ArgumentError(
                f"{op}: padding_mode must be one of {_PADDING_MODES}, got "
                f"{padding_mode!r}"
            )
        if isinstance(padding, str) and (
            padding not in ("same", "valid") or self._transposed
        ):
            raise ArgumentError(f"{op}: invalid padding string {padding!r}")
        d = _float_dtype(dtype, op)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", op)
        self.stride = _tuple(stride, nd, "stride", op)
        self.padding = (
            padding if isinstance(padding, str) else _tuple(padding, nd, "padding", op)
        )
        if padding == "same" and self.stride != (1,) * nd:
            raise ArgumentError(
                f"{op}: padding='same' is not supported for strided convolutions"
            )
        self.dilation = _tuple(dilation, nd, "dilation", op)
        self.output_padding = _tuple(output_padding, nd, "output_padding", op)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        shape = (
            (in_channels, out_channels // groups, *self.kernel_size)
            if self._transposed
            else (out_channels, in_channels // groups, *self.kernel_size)
        )
        self.weight = Parameter(np.empty(shape, d))
        if bias:
            self.bias = Parameter(np.empty(out_channels, d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for weight, U(±1/√fan_in)
        for bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        nd = self._nd
        s = (
            f"{self.in_channels}, {self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}"
        )
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        fn = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        padding: str | int | tuple[int, ...]  # 0 once padded by F.pad below
        padding = self.padding
        if self.padding_mode != "zeros" and padding != "valid":
            if isinstance(padding, str):  # "same" (__init__ refuses others)
                total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
                widths = [w for t in reversed(total) for w in (t // 2, t - t // 2)]
            else:
                widths = [w for p in reversed(padding) for w in (p, p)]
            input = F.pad(input, widths, mode=self.padding_mode)
            padding = 0
        return fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            padding,
            self.dilation,
            self.groups,
        )


class Conv1d(_Conv):
    """1-D convolution: input (N, C_in, L) or (C_in, L) -> (N, C_out, L_out).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int,)
    padding : int, (int,), 'valid' or 'same'
    groups : int, dividing both channel counts
    bias : bool
    padding_mode : 'zeros', 'reflect', 'replicate' or 'circular'
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels / groups, k)
    bias : Parameter (out_channels,) or None
    """

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution: input (N, C_in, H, W) or (C_in, H, W) ->
    (N, C_out, H_out, W_out); parameters as Conv1d with pairs.

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels / groups, kH, kW)
    bias : Parameter (out_channels,) or None
    """

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution: input (N, C_in, D, H, W) or (C_in, D, H, W); weight
    (out_channels, in_channels / groups, kD, kH, kW)."""

    _nd = 3


class _ConvTranspose(_ConvNd):
    _transposed = True
    padding: tuple[int, ...]  # never a string: __init__ refuses one

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ArgumentError(
                f'{type(self).__name__}: only "zeros" padding_mode is supported, '
                f"got {padding_mode!r}"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._nd - 1]
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (PyTorch's rule)."""
        nd = self._nd
        want = tuple(int(s) for s in output_size)[-nd:]
        if len(want) != nd:
            raise ShapeError(
                f"{type(self).__name__}: output_size must have {nd} spatial dims, "
                f"got {output_size!r}"
            )
        res = []
        for j in range(nd):
            i = input.shape[input.ndim - nd + j]
            base = (
                (i - 1) * self.stride[j]
                - 2 * self.padding[j]
                + self.dilation[j] * (self.kernel_size[j] - 1)
                + 1
            )
            extra = want[j] - base
            if not 0 <= extra < max(self.stride[j], self.dilation[j]):
                raise ShapeError(
                    f"{type(self).__name__}: requested output size {want} is not "
                    f"reachable from input {input.shape}"
                )
            res.append(extra)
        return tuple(res)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution: input (N, C_in, L) -> (N, C_out, L_out),
    L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding +
    1; weight (in_channels, out_channels / groups, k)."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (the gradient of Conv2d in its input);
    weight (in_channels, out_channels / groups, kH, kW)."""

    _nd = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution; weight (in_channels, out_channels / groups,
    kD, kH, kW)."""

    _nd = 3


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(int(s) for s in unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        shape = list(input.shape)
        d = self.dim + input.ndim if self.dim < 0 else self.dim
        if not 0 <= d < input.ndim:
            raise ShapeError(
                f"Unflatten: dim {self.dim} is out of range for input of shape "
                f"{input.shape}"
            )
        sizes = list(self.unflattened_size)
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes and known > 0 and shape[d] % known == 0:
            sizes[sizes.index(-1)] = shape[d] // known
        if math.prod(sizes) != shape[d] or min(sizes, default=0) < 0:
            raise ShapeError(
                f"Unflatten: cannot split dim {self.dim} of size {shape[d]} (input "
                f"{input.shape}) into {self.unflattened_size}"
            )
        return input.reshape(*shape[:d], *sizes, *shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
