"""Keras's losses, over minigrad Tensors. Layer: keras.

Keras's argument order is ``loss(y_true, y_pred)``. The functions
(``binary_crossentropy``...) return one value per sample (the mean over the
last axis, as Keras's do); the classes (``BinaryCrossentropy()``...) return
the mean over the batch.

# Note [Logits behind the output layer]
TensorFlow's Keras computes ``binary_crossentropy`` from the logits behind a
sigmoid output layer (and ``categorical_crossentropy`` /
``sparse_categorical_crossentropy`` from those behind a softmax), not from the
clipped probabilities. With probabilities clipped to [1e-7, 1 - 1e-7] the loss
is flat wherever the sigmoid saturates, so a network that starts saturated
(raw exam scores of 30-100 fed to one sigmoid neuron) gets no gradient and
never learns; from the logits the loss is exact and keeps its gradient.
``Sequential.compile`` does the same: when the loss is one of these with
``from_logits=False`` and the last layer's activation is the matching
sigmoid / softmax, training and ``evaluate`` run the model up to the logits
and use the loss's ``from_logits=True`` form; ``predict`` still returns
probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "get",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "sparse_categorical_crossentropy",
]

EPSILON = 1e-7  # Keras's backend.epsilon(), the clip of probabilities


def _t(x: Any, dtype: Any = np.float32) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._wrap(np.asarray(x, dtype=dtype))


def _like(y_true: Tensor, y_pred: Tensor, where: str) -> Tensor:
    """``y_true`` in ``y_pred``'s shape and dtype: (N,) labels against a (N, 1)
    output are read as a column, as Keras does."""
    if y_true.shape != y_pred.shape:
        if y_true.numel() != y_pred.numel():
            raise ShapeError(
                f"{where}: y_true of shape {y_true.shape} does not match y_pred of "
                f"shape {y_pred.shape}"
            )
        y_true = y_true.reshape(y_pred.shape)
    if y_true.dtype != y_pred.dtype:
        y_true = y_true.to(y_pred.dtype)
    return y_true


def _clip(p: Tensor) -> Tensor:
    return p.clamp(EPSILON, 1.0 - EPSILON)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Per-sample binary cross-entropy (mean over the last axis)."""
    y_pred = _t(y_pred)
    y = _like(_t(y_true), y_pred, "binary_crossentropy")
    if from_logits:
        per = F.binary_cross_entropy_with_logits(y_pred, y, reduction="none")
    else:
        p = _clip(y_pred)
        per = -(y * p.log() + (1.0 - y) * (1.0 - p).log())
    return per.mean(-1) if per.ndim > 1 else per


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False
) -> Tensor:
    """Per-sample cross-entropy against one-hot (or soft) targets (N, C)."""
    y_pred = _t(y_pred)
    y = _like(_t(y_true), y_pred, "categorical_crossentropy")
    if from_logits:
        logp = F.log_softmax(y_pred, dim=-1)
    else:
        logp = _clip(y_pred / y_pred.sum(-1, keepdim=True)).log()
    return -(y * logp).sum(-1)


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False
) -> Tensor:
    """Per-sample cross-entropy against integer class labels (N,) or (N, 1)."""
    y_pred = _t(y_pred)
    labels = _t(y_true, np.int64)
    if labels.dtype != np.int64:
        labels = labels.long()
    if labels.ndim == y_pred.ndim:
        labels = labels.reshape(labels.shape[:-1])
    if y_pred.ndim != 2 or labels.shape != y_pred.shape[:1]:
        raise ShapeError(
            f"sparse_categorical_crossentropy: expected y_pred (N, C) and labels "
            f"(N,), got {tuple(y_pred.shape)} and {tuple(labels.shape)}"
        )
    if from_logits:
        return F.cross_entropy(y_pred, labels, reduction="none")
    return F.nll_loss(_clip(y_pred).log(), labels, reduction="none")


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    y_pred = _t(y_pred)
    d = y_pred - _like(_t(y_true), y_pred, "mean_squared_error")
    per = d * d
    return per.mean(-1) if per.ndim > 1 else per


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    y_pred = _t(y_pred)
    per = ops.abs(y_pred - _like(_t(y_true), y_pred, "mean_absolute_error"))
    return per.mean(-1) if per.ndim > 1 else per


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    """A loss object: ``loss(y_true, y_pred)`` is the batch mean of the
    per-sample values.

    Attributes
    ----------
    name : str
    from_logits : bool
    kind : 'binary', 'categorical', 'sparse' or None (the output activation whose
        logits it can use, see Note [Logits behind the output layer])
    """

    kind: str | None = None
    fn: Callable[..., Tensor]

    def __init__(self, from_logits: bool = False, name: str | None = None) -> None:
        self.from_logits = bool(from_logits)
        self.name = name or self.default_name

    default_name = "loss"

    def per_sample(
        self, y_true: Any, y_pred: Any, from_logits: bool | None = None
    ) -> Tensor:
        if self.kind is None:
            return type(self).fn(y_true, y_pred)
        fl = self.from_logits if from_logits is None else from_logits
        return type(self).fn(y_true, y_pred, from_logits=fl)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        per = self.per_sample(y_true, y_pred)
        if sample_weight is not None:
            w = _t(sample_weight).reshape(per.shape)
            return (per * w).mean()
        return per.mean()

    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"name": self.name}
        if self.kind is not None:
            cfg["from_logits"] = self.from_logits
        return cfg

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class BinaryCrossentropy(Loss):
    kind = "binary"
    fn = staticmethod(binary_crossentropy)
    default_name = "binary_crossentropy"


class CategoricalCrossentropy(Loss):
    kind = "categorical"
    fn = staticmethod(categorical_crossentropy)
    default_name = "categorical_crossentropy"


class SparseCategoricalCrossentropy(Loss):
    kind = "sparse"
    fn = staticmethod(sparse_categorical_crossentropy)
    default_name = "sparse_categorical_crossentropy"


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(False, name)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(False, name)


class _Wrapped(Loss):
    """A user's ``fn(y_true, y_pred) -> Tensor`` as a Loss."""

    def __init__(self, fn: Callable[[Any, Any], Tensor]) -> None:
        super().__init__(False, getattr(fn, "__name__", "loss"))
        self._fn = fn

    def per_sample(
        self, y_true: Any, y_pred: Any, from_logits: bool | None = None
    ) -> Tensor:
        return self._fn(y_true, y_pred)


LOSSES: dict[str, type[Loss]] = {
    c.__name__: c
    for c in (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
    )
}

_BY_NAME: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}

_BY_FUNCTION = {
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
}


def get(identifier: Any) -> Loss:
    """A Loss from a name ('binary_crossentropy', 'mse'...), a Loss, one of this
    module's functions, or a callable ``(y_true, y_pred) -> Tensor``."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or LOSSES.get(identifier)
        if cls is None:
            raise ArgumentError(
                f"compile: unknown loss {identifier!r}; use one of {sorted(_BY_NAME)}"
            )
        return cls()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if callable(identifier):
        return _Wrapped(identifier)
    raise TypeError(
        f"compile: loss must be a name, a Loss or a callable, got {identifier!r}"
    )
