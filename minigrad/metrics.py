"""Classification metrics: accuracy, precision, recall, f1_score, confusion_matrix.
Layer: top (beside nn and optim); imports ``minigrad.tensor`` and numpy.

Inputs are class labels (Tensors, numpy arrays or lists), 1-D or a single
column, as scikit-learn's metrics take them: turn probabilities into labels
first (``p > 0.5`` or ``scores.argmax(dim=1)``). Averaging follows scikit-learn:
``average="binary"`` reports the class ``pos_label``; ``"micro"`` pools every
decision; ``"macro"`` is the plain mean over classes; ``"weighted"`` the mean
weighted by each class's support; ``None`` returns one value per class.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = ["accuracy", "confusion_matrix", "f1_score", "precision", "recall"]

Average = Literal["binary", "micro", "macro", "weighted"] | None
_AVERAGES = ("binary", "micro", "macro", "weighted", None)


def _labels(y: Any, fn: str, name: str) -> np.ndarray:
    arr = np.asarray(y.data if isinstance(y, Tensor) else y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeError(
            f"{fn}: {name} must be 1-D class labels (or one column), got shape "
            f"{arr.shape}; take argmax(dim=1) of class scores first"
        )
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.int64)
    if kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ArgumentError(
                f"{fn}: {name} holds non-integer values (probabilities or scores?); "
                "threshold them (p > 0.5) or take argmax first"
            )
        return arr.astype(np.int64)
    if kind not in "iuUO":
        raise TypeError(f"{fn}: {name} must hold class labels, got dtype {arr.dtype}")
    return arr


def _pair(y_true: Any, y_pred: Any, fn: str) -> tuple[np.ndarray, np.ndarray]:
    t = _labels(y_true, fn, "y_true")
    p = _labels(y_pred, fn, "y_pred")
    if t.shape != p.shape:
        raise ShapeError(
            f"{fn}: y_true and y_pred have different lengths: {t.shape[0]} and "
            f"{p.shape[0]}"
        )
    if t.size == 0:
        raise ArgumentError(f"{fn}: no samples")
    return t, p


def accuracy(y_true: Any, y_pred: Any, normalize: bool = True) -> float:
    """The fraction (or the number) of predictions equal to the true labels.

    Parameters
    ----------
    y_true, y_pred : Tensor, array or list, shape (N,) or (N, 1)
        Class labels.
    normalize : bool
        Fraction in [0, 1] if true, else the count of correct predictions.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Lengths differ, no samples, or non-integer float "labels".
    """
    t, p = _pair(y_true, y_pred, "accuracy")
    correct = int(np.count_nonzero(t == p))
    return correct / t.size if normalize else float(correct)


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    labels: Any = None,
    normalize: Literal["true", "pred", "all"] | None = None,
) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : Tensor, array or list, shape (N,) or (N, 1)
        Class labels.
    labels : sequence, optional
        The classes, in the order of the rows and columns; by default the sorted
        union of both inputs. Samples whose label is not listed are ignored.
    normalize : {"true", "pred", "all"}, optional
        Divide by each row's sum, each column's sum, or the total (an empty row or
        column gives zeros).

    Returns
    -------
    numpy.ndarray, shape (K, K)
        ``C[i, j]`` = number of samples of class ``labels[i]`` predicted as
        ``labels[j]``; int64, or float64 when normalized.

    Raises
    ------
    ValueError
        Bad inputs (see :func:`accuracy`), an empty or repeated ``labels``, or an
        unknown ``normalize``.
    """
    t, p = _pair(y_true, y_pred, "confusion_matrix")
    classes = _classes(t, p, labels, "confusion_matrix")
    return _confusion(t, p, classes, normalize)


def _classes(t: np.ndarray, p: np.ndarray, labels: Any, fn: str) -> np.ndarray:
    if labels is None:
        return np.union1d(t, p)
    classes = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if classes.ndim != 1 or classes.size == 0:
        raise ArgumentError(f"{fn}: labels must be a non-empty 1-D sequence")
    if np.unique(classes).size != classes.size:
        raise ArgumentError(f"{fn}: labels has repeated values: {classes.tolist()}")
    return classes


def _confusion(
    t: np.ndarray, p: np.ndarray, classes: np.ndarray, normalize: str | None = None
) -> np.ndarray:
    k = classes.size
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]

    def position(y: np.ndarray) -> np.ndarray:
        i = np.searchsorted(sorted_classes, y).clip(0, k - 1)
        found = sorted_classes[i] == y
        return np.where(found, order[i], -1)

    ti, pi = position(t), position(p)
    keep = (ti >= 0) & (pi >= 0)
    cm = np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k)
    cm = cm.astype(np.int64)
    if normalize is None:
        return cm
    if normalize == "true":
        denom = cm.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        denom = cm.sum(axis=0, keepdims=True)
    elif normalize == "all":
        denom = np.array(cm.sum())
    else:
        raise ArgumentError(
            f"confusion_matrix: normalize must be 'true', 'pred', 'all' or None, "
            f"got {normalize!r}"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = cm / denom
    return np.nan_to_num(out, nan=0.0)


def _counts(
    y_true: Any,
    y_pred: Any,
    labels: Any,
    average: Average,
    pos_label: Any,
    fn: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class (true positives, predicted counts, true counts) for the classes
    that ``average`` reports on."""
    if average not in _AVERAGES:
        raise ArgumentError(
            f"{fn}: average must be one of 'binary', 'micro', 'macro', 'weighted' "
            f"or None, got {average!r}"
        )
    t, p = _pair(y_true, y_pred, fn)
    if average == "binary":
        present = np.union1d(t, p)
        if present.size > 2:
            raise ArgumentError(
                f"{fn}: the targets have {present.size} classes but average="
                "'binary'; choose average='macro', 'micro', 'weighted' or None"
            )
        if present.size == 2 and pos_label not in present.tolist():
            raise ArgumentError(
                f"{fn}: pos_label={pos_label!r} is not one of the labels "
                f"{present.tolist()}"
            )
        classes = np.asarray([pos_label])
    else:
        classes = _classes(t, p, labels, fn)
    all_classes = np.union1d(classes, np.union1d(t, p))
    cm = _confusion(t, p, all_classes)
    pick = np.searchsorted(all_classes, classes)
    tp = np.diag(cm)[pick].astype(np.float64)
    n_pred = cm.sum(axis=0)[pick].astype(np.float64)
    n_true = cm.sum(axis=1)[pick].astype(np.float64)
    return tp, n_pred, n_true


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _average(
    per_class: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    n_true: np.ndarray,
    average: Average,
    zero_division: float,
) -> Any:
    if average is None:
        return per_class
    if average == "binary":
        return float(per_class[0])
    if average == "micro":
        return float(
            _ratio(num.sum(keepdims=True), den.sum(keepdims=True), zero_division)[0]
        )
    if average == "macro":
        return float(per_class.mean())
    total = n_true.sum()
    if total == 0:
        return float(zero_division)
    return float((per_class * n_true).sum() / total)


def precision(
    y_true: Any,
    y_pred: Any,
    average: Average = "binary",
    labels: Any = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """Precision, tp / (tp + fp): of the samples predicted as a class, the
    fraction that truly are.

    Parameters
    ----------
    y_true, y_pred : Tensor, array or list, shape (N,) or (N, 1)
        Class labels.
    average : {"binary", "micro", "macro", "weighted"} or None
        How classes are combined (see the module docstring).
    labels : sequence, optional
        The classes to report on (not with ``"binary"``); by default all that
        occur.
    pos_label : label
        The positive class for ``average="binary"``.
    zero_division : float
        The value where a class was never predicted (tp + fp == 0).

    Returns
    -------
    float, or numpy.ndarray of shape (K,) when ``average`` is None.

    Raises
    ------
    ValueError
        Bad inputs, ``"binary"`` with more than two classes, an unknown
        ``average``, or a ``pos_label`` that does not occur.
    """
    tp, n_pred, n_true = _counts(
        y_true, y_pred, labels, average, pos_label, "precision"
    )
    per = _ratio(tp, n_pred, zero_division)
    return _average(per, tp, n_pred, n_true, average, zero_division)


def recall(
    y_true: Any,
    y_pred: Any,
    average: Average = "binary",
    labels: Any = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """Recall, tp / (tp + fn): of the samples of a class, the fraction found.

    Parameters and returns as for :func:`precision`; ``zero_division`` is the
    value for a class that never occurs in ``y_true``.
    """
    tp, _, n_true = _counts(y_true, y_pred, labels, average, pos_label, "recall")
    per = _ratio(tp, n_true, zero_division)
    return _average(per, tp, n_true, n_true, average, zero_division)


def f1_score(
    y_true: Any,
    y_pred: Any,
    average: Average = "binary",
    labels: Any = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """F1, the harmonic mean of precision and recall: 2 tp / (2 tp + fp + fn).

    Parameters and returns as for :func:`precision`; ``zero_division`` is the
    value for a class with no true and no predicted samples.
    """
    tp, n_pred, n_true = _counts(y_true, y_pred, labels, average, pos_label, "f1_score")
    per = _ratio(2 * tp, n_pred + n_true, zero_division)
    return _average(per, 2 * tp, n_pred + n_true, n_true, average, zero_division)
