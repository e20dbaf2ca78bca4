"""BatchNorm2d and BatchNorm3d: BatchNorm1d's statistics over feature maps.
Layer: nn.

Normalising (N, C, *spatial) per channel over the batch and the spatial dims
is exactly BatchNorm1d on the (N, C, prod(spatial)) view, so these layers
check their input and reuse it: the same parameters and buffers (``weight``,
``bias``, ``running_mean``, ``running_var`` unbiased, ``num_batches_tracked``),
momentum (None: cumulative average), ``track_running_stats`` and eval mode,
with PyTorch's numbers.
"""

from __future__ import annotations

import math

from minigrad.errors import ShapeError
from minigrad.nn.normalization import BatchNorm1d
from minigrad.tensor import Tensor

__all__ = ["BatchNorm2d", "BatchNorm3d"]


class _BatchNormNd(BatchNorm1d):
    _nd = 0

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        if input.ndim != self._nd + 2:
            raise ShapeError(
                f"{name}: expected {self._nd + 2}D input, got {input.ndim}D input "
                f"of shape {input.shape}"
            )
        n, c = input.shape[:2]
        if c != self.num_features:
            raise ShapeError(
                f"{name}: input of shape {input.shape} has {c} channels, expected "
                f"num_features={self.num_features}"
            )
        flat = input.reshape(n, c, math.prod(input.shape[2:]))
        return super().forward(flat).reshape(*input.shape)


class BatchNorm2d(_BatchNormNd):
    """Batch normalization of (N, C, H, W) per channel; see BatchNorm1d for the
    parameters."""

    _nd = 2


class BatchNorm3d(_BatchNormNd):
    """Batch normalization of (N, C, D, H, W) per channel; see BatchNorm1d for
    the parameters."""

    _nd = 3
