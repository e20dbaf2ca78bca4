"""Keras's ``utils``: ``to_categorical``, ``set_random_seed``. Layer: keras."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError
from minigrad.random import manual_seed

__all__ = ["set_random_seed", "to_categorical"]


def set_random_seed(seed: int) -> None:
    """Seeds Python's ``random``, numpy's global generator and minigrad's (which
    draws initial weights, dropout masks and the order of shuffled batches)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - user code may draw from the global one
    manual_seed(seed)


def to_categorical(y: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot float32 rows for integer class labels ``y`` (a trailing axis of
    size 1 is dropped, as in Keras)."""
    a = np.asarray(y)
    if a.ndim > 1 and a.shape[-1] == 1:
        a = a.reshape(a.shape[:-1])
    if a.size and (a.dtype.kind not in "iub" and not np.all(a == np.round(a))):
        raise ArgumentError("to_categorical: labels must be integers")
    labels = a.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ArgumentError("to_categorical: labels must be >= 0")
    n = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.size and labels.max() >= n:
        raise ArgumentError(
            f"to_categorical: label {int(labels.max())} is out of range for "
            f"num_classes={n}"
        )
    return np.eye(n, dtype=np.float32)[labels]
