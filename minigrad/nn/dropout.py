"""Dropout (element-wise and channel-wise: Dropout1d/2d/3d) and Flatten
layers. Layer: nn."""

from __future__ import annotations

import numpy as np

from minigrad.errors import ArgumentError
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
    "Flatten",
]


class Dropout(Module):
    """Inverted dropout: in training, zeroes each element with probability ``p``
    and scales the rest by 1/(1 - p); the identity in eval mode.

    Random numbers come from ``generator`` if given, else from minigrad's
    generator (``mg.manual_seed`` makes runs reproducible).
    """

    def __init__(
        self,
        p: float = 0.5,
        inplace: bool = False,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(
                f"Dropout: probability has to be between 0 and 1, got {p}"
            )
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _DropoutNd(Dropout):
    _fn = "dropout2d"

    def forward(self, input: Tensor) -> Tensor:
        fn = getattr(F, self._fn)
        return fn(input, self.p, self.training, self.inplace, self.generator)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) or (C, L) with probability ``p`` in
    training, scaling the rest by 1/(1 - p); see ``F.dropout1d``."""

    _fn = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zeroes whole channels (feature maps) of (N, C, H, W) with probability
    ``p`` in training, scaling the rest by 1/(1 - p); the identity in eval
    mode. See ``F.dropout2d``."""

    _fn = "dropout2d"


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W); see
    ``F.dropout3d``."""

    _fn = "dropout3d"


class AlphaDropout(_DropoutNd):
    """Dropout that keeps the mean and variance of SELU activations; the identity
    in eval mode. See ``F.alpha_dropout``."""

    _fn = "alpha_dropout"


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels; see ``F.feature_alpha_dropout``."""

    _fn = "feature_alpha_dropout"


class Flatten(Module):
    """Flattens dims ``start_dim``..``end_dim`` into one (default: all but the batch
    dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
