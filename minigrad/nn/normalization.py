"""Normalization layers: BatchNorm1d and LayerNorm. Layer: nn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.nn.linear import _float_dtype
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["BatchNorm1d", "LayerNorm"]


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share (PyTorch's _NormBase): ``weight``
    (ones) and ``bias`` (zeros) of shape (C,) when ``affine``, and the running
    buffers ``running_mean``, ``running_var``, ``num_batches_tracked`` when
    ``track_running_stats``."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        d = _float_dtype(dtype, type(self).__name__)
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.use_bias = bias
        if affine:
            self.weight = Parameter(np.ones(num_features, d))
            if bias:
                self.bias = Parameter(np.zeros(num_features, d))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer(
                "running_mean", Tensor._wrap(np.zeros(num_features, d))
            )
            self.register_buffer("running_var", Tensor._wrap(np.ones(num_features, d)))
            self.register_buffer(
                "num_batches_tracked", Tensor._wrap(np.zeros((), np.int64))
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            with no_grad():
                self.weight.fill_(1.0)
                if self.bias is not None:
                    self.bias.zero_()


class BatchNorm1d(_NormBase):
    """Batch normalization over the channel dim of (N, C) or (N, C, L) input.

    In training, normalizes with the batch statistics and updates
    ``running_mean`` / ``running_var`` (unbiased) with ``momentum``
    (``None``: a cumulative average over ``num_batches_tracked`` batches); in
    eval mode, normalizes with the running statistics.

    Parameters
    ----------
    num_features : int, C
    eps : float, added to the variance
    momentum : float or None
    affine : bool, learn ``weight`` (ones) and ``bias`` (zeros) of shape (C,)
    bias : bool, keyword-only: with ``affine``, whether to learn the bias
    track_running_stats : bool, keep the running buffers (else always use the
        batch statistics)
    dtype : float32 (default) or float64
    """

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"BatchNorm1d: expected a Tensor, got {type(input).__name__}"
            )
        if input.ndim not in (2, 3):
            raise ShapeError(
                f"BatchNorm1d: expected 2D or 3D input, got {input.ndim}D input "
                f"of shape {input.shape}"
            )
        if input.shape[1] != self.num_features:
            raise ShapeError(
                f"BatchNorm1d: input of shape {input.shape} has {input.shape[1]} "
                f"channels, expected num_features={self.num_features}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.use_bias}, "
            f"track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    """Normalizes over the trailing ``normalized_shape`` dims of each sample.

    Parameters
    ----------
    normalized_shape : int or tuple of ints, the trailing dims
    eps : float
    elementwise_affine : bool, learn ``weight`` (ones) and ``bias`` (zeros) of
        shape ``normalized_shape``
    bias : bool, learn the bias (when elementwise_affine)
    dtype : float32 (default) or float64
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        d = _float_dtype(dtype, "LayerNorm")
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.use_bias = bias
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, d))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, d))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        with no_grad():
            if self.weight is not None:
                self.weight.fill_(1.0)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(
            input, self.normalized_shape, self.weight, self.bias, self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.use_bias}"
        )
