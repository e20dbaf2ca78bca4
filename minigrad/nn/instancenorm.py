"""Per-sample normalization layers: GroupNorm and InstanceNorm1d/2d/3d.
Layer: nn.

Parameters and buffers have PyTorch's names, shapes, defaults and
state_dict keys: GroupNorm learns ``weight`` / ``bias`` of shape (C,) by
default; InstanceNorm has none unless ``affine`` and keeps no running
statistics unless ``track_running_stats`` (then ``running_mean``,
``running_var`` and ``num_batches_tracked``, which, as in PyTorch, instance
norm never increments).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn.linear import _float_dtype
from minigrad.nn.module import Module
from minigrad.nn.normalization import _NormBase
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class GroupNorm(Module):
    """Normalizes (N, C, *) over groups of C / num_groups channels per sample;
    see ``F.group_norm``. ``affine``: learn ``weight`` (ones) and ``bias``
    (zeros) of shape (C,)."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ArgumentError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                f"num_groups ({num_groups})"
            )
        d = _float_dtype(dtype, "GroupNorm")
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        self.use_bias = affine and bias
        if affine:
            self.weight = Parameter(np.ones(num_channels, d))
            if bias:
                self.bias = Parameter(np.zeros(num_channels, d))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            with no_grad():
                self.weight.fill_(1.0)
                if self.bias is not None:
                    self.bias.zero_()

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
            f"affine={self.affine}, bias={self.use_bias}"
        )


class _InstanceNorm(_NormBase):
    _nd = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias
        )
        self.use_bias = affine and bias  # a bias exists only with affine

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in (self._nd + 1, self._nd + 2):
            raise ShapeError(
                f"{name}: expected {self._nd + 1}D (unbatched) or {self._nd + 2}D "
                f"(batched) input, got input of shape {input.shape}"
            )
        unbatched = input.ndim == self._nd + 1
        c = input.shape[0 if unbatched else 1]
        if c != self.num_features:
            if self.affine:
                raise ShapeError(
                    f"{name}: input of shape {input.shape} has {c} channels, "
                    f"expected num_features={self.num_features}"
                )
            warnings.warn(
                f"{name}: input of shape {input.shape} has {c} channels, but "
                f"num_features={self.num_features} (ignored as affine=False)",
                stacklevel=2,
            )
        x = input.unsqueeze(0) if unbatched else input
        y = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )
        return y[0] if unbatched else y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.use_bias}, "
            f"track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L); see
    ``F.instance_norm``."""

    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W): each channel of
    each sample normalized over H x W; see ``F.instance_norm``."""

    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W)."""

    _nd = 3
