"""DataLoader: mini-batches from a Dataset, optionally shuffled. Layer: data.

Imports ``minigrad.tensor``, ``minigrad.random`` and ``minigrad.data.dataset``.

# Note [DataLoader fast path]
A :class:`TensorDataset` (or a :class:`Subset` of one, to any depth) with the
default collation is batched by indexing each underlying array with the batch's
index array in one numpy call, instead of building one sample tuple per index and
stacking them. The result is the same (a copy of the selected rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from minigrad.data.dataset import Dataset, Subset, TensorDataset
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: Sequence[Any]) -> Any:
    """Stacks a list of samples into a batch.

    Tensors and arrays are stacked along a new first dimension; Python bools,
    ints and floats become bool, int64 and float32 tensors (float32 is minigrad's
    default float, where PyTorch's collate gives float64); strings stay a list;
    tuples, lists and dicts are collated field by field.

    Raises
    ------
    TypeError
        A sample of a type that cannot be collated.
    ValueError
        Samples whose shapes or lengths differ.
    """
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray, np.generic)):
        arrs = [np.asarray(b.data if isinstance(b, Tensor) else b) for b in batch]
        shapes = {a.shape for a in arrs}
        if len(shapes) > 1:
            raise ShapeError(
                f"default_collate: samples have different shapes {sorted(shapes)}"
            )
        return Tensor._wrap(np.stack(arrs))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float32))
    if isinstance(elem, str):
        return list(batch)
    if isinstance(elem, Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, (tuple, list)):
        if any(len(b) != len(elem) for b in batch):
            raise ArgumentError("default_collate: samples have different lengths")
        return tuple(default_collate(list(field)) for field in zip(*batch))
    raise TypeError(
        f"default_collate: cannot collate samples of type {type(elem).__name__}; "
        "pass a collate_fn"
    )


def _tensor_source(ds: Dataset) -> tuple[tuple[Tensor, ...], np.ndarray | None] | None:
    """The tensors behind ``ds`` and the index map into them (None: identity),
    when ``ds`` is a TensorDataset or nested Subsets of one."""
    index: np.ndarray | None = None
    while isinstance(ds, Subset):
        index = ds.indices if index is None else ds.indices[index]
        ds = ds.dataset
    if type(ds) is TensorDataset:
        return ds.tensors, index
    return None


class DataLoader:
    """Iterates over a dataset in mini-batches.

    Parameters
    ----------
    dataset : Dataset
        Any map-style dataset (``len`` and ``ds[i]``).
    batch_size : int
        Samples per batch (>= 1).
    shuffle : bool
        Draw a new random order at the start of every pass.
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.
    generator : numpy.random.Generator, optional
        Source of the shuffling. By default minigrad's global generator at the
        time each pass starts, so ``mg.manual_seed(s)`` makes the order of every
        later pass reproducible.
    collate_fn : callable, optional
        Turns a list of samples into a batch; :func:`default_collate` by default.

    Raises
    ------
    ValueError
        ``batch_size`` is not a positive int.
    TypeError
        ``dataset`` has no ``len``.

    Examples
    --------
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    >>> for xb, yb in loader:
    ...     loss = loss_fn(model(xb), yb)
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if (
            not isinstance(batch_size, (int, np.integer))
            or isinstance(batch_size, bool)
            or batch_size < 1
        ):
            raise ArgumentError(
                f"DataLoader: batch_size must be a positive int, got {batch_size!r}"
            )
        if not hasattr(dataset, "__len__"):
            raise TypeError(
                f"DataLoader: the dataset ({type(dataset).__name__}) must define "
                "__len__ and __getitem__"
            )
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                "DataLoader: generator must be a numpy.random.Generator "
                f"(e.g. np.random.default_rng(0)), got {type(generator).__name__}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self, n: int) -> np.ndarray | None:
        if self.shuffle:
            return get_generator(self.generator).permutation(n)
        return None

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = self._order(n)
        bs = self.batch_size
        stop = n - n % bs if self.drop_last else n
        source = _tensor_source(self.dataset) if self.collate_fn is None else None
        if source is not None:
            yield from self._iter_tensors(source, order, stop)
            return
        collate = self.collate_fn or default_collate
        ds = self.dataset
        for start in range(0, stop, bs):
            idx = (
                range(start, min(start + bs, stop))
                if order is None
                else order[start : start + bs].tolist()
            )
            yield collate([ds[i] for i in idx])

    def _iter_tensors(
        self,
        source: tuple[tuple[Tensor, ...], np.ndarray | None],
        order: np.ndarray | None,
        stop: int,
    ) -> Iterator[tuple[Tensor, ...]]:
        # Note [DataLoader fast path]
        tensors, index = source
        arrays = [t.data for t in tensors]
        if order is not None and index is not None:
            index, order = index[order], None
        elif order is not None:
            index = order
        bs = self.batch_size
        for start in range(0, stop, bs):
            end = min(start + bs, stop)
            if index is None:
                yield tuple(Tensor._wrap(a[start:end].copy()) for a in arrays)
            else:
                rows = index[start:end]
                yield tuple(Tensor._wrap(a.take(rows, axis=0)) for a in arrays)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last})"
        )
