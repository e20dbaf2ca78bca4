"""Loss modules: MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss,
BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss. Layer: nn.

Each is a thin Module over its ``nn.functional`` form; ``reduction`` is
'mean' (default), 'sum' or 'none'. Class weights and ``pos_weight`` are
buffers, as in PyTorch, so they appear in ``state_dict``.
"""

from __future__ import annotations

from minigrad.errors import ArgumentError
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.ops import loss as _loss
from minigrad.ops.loss import _check_reduction
from minigrad.tensor import Tensor

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(reduction, type(self).__name__)
        self.reduction = reduction


def _buffer(module: Module, name: str) -> Tensor | None:
    """``module.<name>``, a loss's weight buffer, read from its registry:
    ``module.weight`` goes through Module.__getattr__ after a failed lookup
    (~0.8 us, a tenth of a small network's loss)."""
    try:
        return module._buffers[name]
    except KeyError:  # no longer a buffer (deleted, or set as a plain attribute)
        return getattr(module, name)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if weight is not None and not isinstance(weight, Tensor):
            raise TypeError(
                f"{type(self).__name__}: weight must be a Tensor, "
                f"got {type(weight).__name__}"
            )
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: (input - target)²."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: |input - target|."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (see ``F.smooth_l1_loss``)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear above (see ``F.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (apply a sigmoid first, or use
    BCEWithLogitsLoss); ``weight`` rescales each element."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        weight = _buffer(self, "weight")
        return F.binary_cross_entropy(input, target, weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable step; ``pos_weight`` (per
    class) weights the positive examples."""

    def __init__(
        self,
        weight: Tensor | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input,
            target,
            weight=_buffer(self, "weight"),
            reduction=self.reduction,
            pos_weight=_buffer(self, "pos_weight"),
        )


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits (N, C) against class indices (N,) or
    class probabilities (N, C).

    Parameters
    ----------
    weight : Tensor (C,), optional, per-class weights
    ignore_index : int, targets equal to it contribute nothing (and are left out
        of the mean)
    reduction : 'mean' | 'sum' | 'none'
    label_smoothing : float in [0, 1], mixes the target with the uniform
        distribution
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ArgumentError(
                "CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, "
                f"got {label_smoothing}"
            )
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        # the op itself: F.cross_entropy is a one-line call of it, and its
        # keyword re-packing cost ~0.4 us of a small network's ~5 us loss
        return _loss.cross_entropy(
            input,
            target,
            _buffer(self, "weight"),
            self.ignore_index,
            self.reduction,
            self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C) (e.g. LogSoftmax
    output) against class indices (N,)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input,
            target,
            weight=_buffer(self, "weight"),
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )
