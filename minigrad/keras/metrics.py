"""Keras's metrics: 'accuracy' (binary, categorical or sparse, chosen from the
loss as Keras does), ``Precision``, ``Recall``. Layer: keras.

A metric object works on its own (``update_state(y_true, y_pred)``,
``result()``, ``reset_state()``) and, inside ``fit`` / ``evaluate``, as the
``(output, target) -> float`` callable of :mod:`minigrad.train` (over an
epoch's outputs), through :func:`engine_metric`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError
from minigrad.tensor import Tensor

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Metric",
    "Precision",
    "Recall",
    "SparseCategoricalAccuracy",
    "get",
]


def _np(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Metric:
    """Accumulates ``(y_true, y_pred)`` batches; :meth:`result` is the figure.

    Subclasses define ``_counts(y_true, y_pred) -> (numerator, denominator)``;
    the result is their running ratio.
    """

    default_name = "metric"

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self) -> None:
        self._num = 0.0
        self._den = 0.0

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        num, den = self._counts(_np(y_true), _np(y_pred).astype(np.float64))
        self._num += num
        self._den += den

    def result(self) -> float:
        return self._num / self._den if self._den else 0.0

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        self.reset_state()
        self.update_state(y_true, y_pred)
        return self.result()

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


def _column(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        y_true = y_true.reshape(y_pred.shape)
    return y_true


class BinaryAccuracy(Metric):
    """The fraction of ``(y_pred > threshold) == y_true`` (probabilities)."""

    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(name)

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        y_true = _column(y_true, y_pred)
        hit = (y_pred > self.threshold) == (y_true > 0.5)
        return float(hit.sum()), float(hit.size)


class CategoricalAccuracy(Metric):
    """The fraction of samples whose argmax matches the one-hot target's."""

    default_name = "categorical_accuracy"

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        hit = y_pred.argmax(-1) == y_true.argmax(-1)
        return float(hit.sum()), float(hit.size)


class SparseCategoricalAccuracy(Metric):
    """The fraction of samples whose argmax is the integer label."""

    default_name = "sparse_categorical_accuracy"

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        hit = y_pred.argmax(-1) == y_true.reshape(y_pred.shape[:-1])
        return float(hit.sum()), float(hit.size)


class Accuracy(Metric):
    """Exact equality of values (Keras's ``Accuracy`` class, not 'accuracy')."""

    default_name = "accuracy"

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        hit = _column(y_true, y_pred) == y_pred
        return float(hit.sum()), float(hit.size)


class Precision(Metric):
    """TP / (TP + FP) with predictions ``y_pred > thresholds`` (0.5), every
    element read as a binary decision (Keras's rule)."""

    default_name = "precision"

    def __init__(
        self, thresholds: float | None = None, name: str | None = None
    ) -> None:
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name)

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        y_true = _column(y_true, y_pred) > 0.5
        pred = y_pred > self.threshold
        return float((pred & y_true).sum()), float(pred.sum())


class Recall(Precision):
    """TP / (TP + FN) with predictions ``y_pred > thresholds`` (0.5)."""

    default_name = "recall"

    def _counts(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        y_true = _column(y_true, y_pred) > 0.5
        pred = y_pred > self.threshold
        return float((pred & y_true).sum()), float(y_true.sum())


_BY_NAME: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
}


def get(
    identifier: Any, loss_kind: str | None, output_shape: tuple[int, ...]
) -> Metric:
    """A Metric from a name or object. 'accuracy' / 'acc' is Keras's choice:
    binary accuracy after binary cross-entropy, sparse categorical after sparse
    categorical cross-entropy, categorical after categorical cross-entropy;
    with another loss, binary for a single output column, categorical
    otherwise."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            kind = loss_kind
            if kind is None:
                kind = "binary" if output_shape[-1:] in ((1,), ()) else "categorical"
            cls = {
                "binary": BinaryAccuracy,
                "categorical": CategoricalAccuracy,
                "sparse": SparseCategoricalAccuracy,
            }[kind]
            return cls(name=identifier)
        named = _BY_NAME.get(identifier)
        if named is None:
            raise ArgumentError(
                f"compile: unknown metric {identifier!r}; use 'accuracy' or one of "
                f"{sorted(_BY_NAME)}"
            )
        return named(name=identifier)
    raise TypeError(
        f"compile: metrics must be names or Metric objects, got {identifier!r}"
    )


def engine_metric(
    metric: Metric, output_is_logits: str | None
) -> Callable[[Tensor, Tensor], float]:
    """The ``(output, target) -> float`` callable :func:`minigrad.train.fit`
    computes over an epoch, turning logits back into probabilities first when
    the model is trained on them (``output_is_logits``: 'sigmoid', 'softmax' or
    None)."""

    def compute(output: Tensor, target: Tensor) -> float:
        out = _np(output).astype(np.float64)
        if output_is_logits == "sigmoid":
            out = _sigmoid(out)
        elif output_is_logits == "softmax":
            out = _softmax(out)
        return metric(_np(target), out)

    compute.__name__ = metric.name
    return compute
