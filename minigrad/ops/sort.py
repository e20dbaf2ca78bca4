"""Sorting and searching: sort, argsort, topk, kthvalue, unique, searchsorted,
bucketize.

Layer: ops. The order is computed on the arrays (numpy's stable sort) and the
values are taken with ``gather``, so the gradient of sorted / top-k values
scatters back to where they came from; no Function of its own.

# Note [Stable descending sort]
Ties keep their original order in both directions (PyTorch with
``stable=True``, and what its CPU sort does). A descending stable order is the
ascending stable order of the reversed array, read backwards: equal values then
come in increasing original position. NaN sorts as the largest value, as in
PyTorch (numpy puts it last in an ascending sort).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.reduce import ValuesIndices
from minigrad.ops.select import gather
from minigrad.ops.shape import _dim, squeeze
from minigrad.tensor import Tensor

__all__ = [
    "argsort",
    "bucketize",
    "kthvalue",
    "searchsorted",
    "sort",
    "topk",
    "unique",
]


def _order(arr: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """Stable argsort along ``d`` (Note [Stable descending sort])."""
    if not descending:
        return np.argsort(arr, axis=d, kind="stable")
    n = arr.shape[d]
    rev = np.flip(arr, axis=d)
    return (n - 1 - np.flip(np.argsort(rev, axis=d, kind="stable"), axis=d)).astype(
        np.int64
    )


def _sort_dim(a: Tensor, dim: int, op: str) -> int:
    return _dim(dim, max(a.ndim, 1), op)


def sort(
    a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
) -> ValuesIndices:
    """``(values, indices)`` of ``a`` sorted along ``dim``; always stable (ties
    keep their order; ``stable`` is accepted for PyTorch's signature). The
    gradient of ``values`` goes back to the positions they came from."""
    d = _sort_dim(a, dim, "sort")
    if a.ndim == 0:
        return ValuesIndices(a * 1 if a.requires_grad else a, Tensor._wrap(np.array(0)))
    idx = _order(a.data, d, descending).astype(np.int64)
    return ValuesIndices(gather(a, d, idx), Tensor._wrap(idx))


def argsort(
    a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
) -> Tensor:
    """The int64 indices that sort ``a`` along ``dim`` (stable)."""
    d = _sort_dim(a, dim, "argsort")
    if a.ndim == 0:
        return Tensor._wrap(np.array(0, dtype=np.int64))
    return Tensor._wrap(_order(a.data, d, descending).astype(np.int64))


def topk(
    a: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> ValuesIndices:
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices,
    in sorted order; among ties the earlier position comes first.

    Raises
    ------
    ValueError
        ``k`` outside ``[0, a.shape[dim]]``.
    """
    d = _sort_dim(a, dim, "topk")
    n = a.shape[d] if a.ndim else 1
    if not 0 <= k <= n:
        raise ArgumentError(f"topk: k ({k}) is out of range for dim {d} of size {n}")
    if a.ndim == 0:
        return sort(a)
    idx = _order(a.data, d, largest)
    idx = np.take(idx, np.arange(k), axis=d).astype(np.int64)
    return ValuesIndices(gather(a, d, idx), Tensor._wrap(idx))


def kthvalue(a: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The ``k``-th smallest entry (1-based) along ``dim`` and its index.

    Raises
    ------
    ValueError
        ``k`` outside ``[1, a.shape[dim]]``.
    """
    d = _sort_dim(a, dim, "kthvalue")
    n = a.shape[d] if a.ndim else 1
    if not 1 <= k <= n:
        raise ArgumentError(
            f"kthvalue: k ({k}) is out of range for dim {d} of size {n}"
        )
    if a.ndim == 0:
        return sort(a)
    idx = np.take(_order(a.data, d, False), [k - 1], axis=d).astype(np.int64)
    values = gather(a, d, idx)
    if keepdim:
        return ValuesIndices(values, Tensor._wrap(idx))
    return ValuesIndices(squeeze(values, d), Tensor._wrap(np.squeeze(idx, d)))


def unique(
    a: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values of ``a`` (sorted), or its distinct slices along
    ``dim``; with ``return_inverse`` / ``return_counts`` also where each entry
    went and how often each value occurs. Forward only (as PyTorch)."""
    arr = a.data
    if dim is None:
        vals, inv, counts = np.unique(arr, return_inverse=True, return_counts=True)
        inv = inv.reshape(arr.shape)
    else:
        d = _dim(dim, max(arr.ndim, 1), "unique")
        if arr.shape[d] == 0:
            vals, inv, counts = arr, np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            vals, inv, counts = np.unique(
                arr, return_inverse=True, return_counts=True, axis=d
            )
        inv = inv.reshape(-1)
    out = [Tensor._wrap(vals)]
    if return_inverse:
        out.append(Tensor._wrap(inv.astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(
    sorted_sequence: Tensor,
    values: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """Where ``values`` would be inserted into ``sorted_sequence`` (its last dim)
    to keep it sorted: the first such place, or the last with ``right=True`` /
    ``side='right'``. An N-d sequence searches row by row, its leading dims
    matching those of ``values``."""
    seq = (
        sorted_sequence.data
        if isinstance(sorted_sequence, Tensor)
        else (np.asarray(sorted_sequence))
    )
    scalar = not isinstance(values, Tensor) and np.ndim(values) == 0
    v = values.data if isinstance(values, Tensor) else np.asarray(values)
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(
                f"searchsorted: side must be 'left' or 'right', got {side!r}"
            )
        if right and side == "left":
            raise ArgumentError(
                "searchsorted: side='left' and right=True contradict each other"
            )
        right = side == "right"
    how: Any = "right" if right else "left"
    if sorter is not None:
        order = sorter.data if isinstance(sorter, Tensor) else np.asarray(sorter)
        seq = np.take_along_axis(seq, order.astype(np.int64), axis=-1)
    if seq.ndim == 0:
        raise ShapeError("searchsorted: sorted_sequence must have at least 1 dim")
    if seq.ndim == 1:
        out = np.searchsorted(seq, v, side=how)
    else:
        if v.ndim != seq.ndim or v.shape[:-1] != seq.shape[:-1]:
            raise ShapeError(
                f"searchsorted: values of shape {v.shape} must match the leading "
                f"dims of sorted_sequence {seq.shape}"
            )
        rows_s = seq.reshape(-1, seq.shape[-1])
        rows_v = v.reshape(-1, v.shape[-1])
        # one numpy search per row: rows are independent sorted sequences
        out = (
            np.stack(
                [np.searchsorted(s, r, side=how) for s, r in zip(rows_s, rows_v)]
            ).reshape(v.shape)
            if rows_s.shape[0]
            else np.zeros(v.shape, np.int64)
        )
    out = np.asarray(out).astype(np.int32 if out_int32 else np.int64)
    return Tensor._wrap(out.reshape(()) if scalar else out)


def bucketize(
    input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The bucket of each entry of ``input`` for the 1-d ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=False``), or
    ``boundaries[i-1] <= x < boundaries[i]`` (``right=True``)."""
    b = boundaries.data if isinstance(boundaries, Tensor) else np.asarray(boundaries)
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-d, got shape {b.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
