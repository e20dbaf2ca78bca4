"""Datasets: Dataset, TensorDataset, Subset, ConcatDataset, random_split.
Layer: data.

Imports ``minigrad.tensor`` and ``minigrad.random``; nothing from ``nn``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.dtypes import to_array
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = ["ConcatDataset", "Dataset", "Subset", "TensorDataset", "random_split"]


class Dataset:
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` for ``0 <= i < len(ds)``.

    Subclasses define ``__getitem__`` and ``__len__``. ``ds1 + ds2`` concatenates.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension.

    Parameters
    ----------
    *tensors : Tensor or array-like
        Each of shape ``(N, ...)``. Arrays are converted as ``mg.tensor`` would.
        ``ds[i]`` is the tuple ``(tensors[0][i], tensors[1][i], ...)``.

    Raises
    ------
    ValueError
        No tensors, a 0-d tensor, or first dimensions that differ.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ArgumentError("TensorDataset: needs at least one tensor")
        ts = tuple(
            t if isinstance(t, Tensor) else Tensor._wrap(to_array(t)) for t in tensors
        )
        for t in ts:
            if t.ndim == 0:
                raise ShapeError("TensorDataset: a 0-d tensor has no samples")
        if any(t.shape[0] != ts[0].shape[0] for t in ts):
            shapes = ", ".join(str(t.shape) for t in ts)
            raise ShapeError(
                f"TensorDataset: size mismatch in the first dimension: {shapes}"
            )
        self.tensors: tuple[Tensor, ...] = ts

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor._wrap(np.asarray(t.data[index])) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{t.shape} {t.dtype}" for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Parameters
    ----------
    dataset : Dataset
    indices : sequence of int
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(self.indices[i])] for i in index]
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets, one after another.

    Parameters
    ----------
    datasets : sequence of Dataset
    """

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentError("ConcatDataset: needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(
                f"ConcatDataset: index {index} out of range for {n} samples"
            )
        d = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[d - 1] if d > 0 else 0
        return self.datasets[d][index - start]


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: np.random.Generator | None = None,
) -> list[Subset]:
    """Splits ``dataset`` into non-overlapping random subsets.

    Parameters
    ----------
    dataset : Dataset
    lengths : sequence of int, or of float
        The size of each part (summing to ``len(dataset)``), or the fraction of
        each part (summing to 1). With fractions each part gets
        ``floor(n * fraction)`` samples and the remainder is dealt one by one to
        the parts in order (PyTorch's rule).
    generator : numpy.random.Generator, optional
        Source of the permutation; by default minigrad's global generator
        (reseeded by ``mg.manual_seed``).

    Returns
    -------
    list of Subset

    Raises
    ------
    ValueError
        Lengths that are negative or do not add up.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ArgumentError("random_split: lengths is empty")
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        sizes = [int(x) for x in lengths]
    else:
        fracs = [float(x) for x in lengths]
        if any(f < 0 or f > 1 for f in fracs) or not math.isclose(
            sum(fracs), 1.0, abs_tol=1e-9
        ):
            raise ArgumentError(
                f"random_split: fractions must lie in [0, 1] and sum to 1, got {fracs}"
            )
        sizes = [math.floor(n * f) for f in fracs]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise ArgumentError(
            f"random_split: lengths {sizes} must be >= 0 and sum to the dataset's "
            f"length {n}"
        )
    perm = get_generator(generator).permutation(n)
    out, start = [], 0
    for s in sizes:
        out.append(Subset(dataset, perm[start : start + s]))
        start += s
    return out
