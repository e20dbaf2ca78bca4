"""Indexing: ``t[idx]`` (basic indexing gives a view, advanced a copy; the
backward scatter-adds) and ``t[idx] = v`` in place, with PyTorch's result shapes
where they differ from numpy's (Note [Mixed indexing]).

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and
:func:`minigrad.ops.shape.reshape`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd.function import Function
from minigrad.errors import ShapeError
from minigrad.ops.shape import reshape
from minigrad.tensor import Tensor

__all__ = ["getitem", "setitem"]


# Note [Mixed indexing]
# numpy and PyTorch agree on an index made of slices, None, Ellipsis and arrays,
# and on one made of ints and slices. They differ when ints and arrays are mixed:
# numpy counts an int as an advanced index, so in ``x[0, :, [0, 1]]`` the two
# advanced indices are separated by a slice and their dim goes first (2, 3, 5);
# PyTorch applies the ints first, as basic indexing, and the rest of the index
# then has one advanced index, whose dim stays in place (3, 2, 5). Such an index
# is kept as a :class:`_Split`: the basic part (the ints, each other item
# replaced by full slices over the dims it covers) and the rest (the ints
# dropped, each slice or None replaced by a full slice). ``a[basic]`` is a view,
# so reading, writing and scatter-adding through ``a[basic][rest]`` all reach
# ``a``.


class _Split(NamedTuple):
    """An index applied in two steps, ``a[basic][rest]`` (Note [Mixed indexing])."""

    basic: tuple[Any, ...]
    rest: tuple[Any, ...]


def _is_int_item(i: Any) -> bool:
    if isinstance(i, (bool, np.bool_)):
        return False
    if isinstance(i, (int, np.integer)):
        return True
    return type(i) is np.ndarray and i.ndim == 0 and i.dtype.kind in "iu"


def _split_mixed(idx: Any) -> Any:
    """``idx`` itself, or a :class:`_Split` when it mixes ints and arrays."""
    if not isinstance(idx, tuple):
        return idx
    ints = [_is_int_item(i) for i in idx]
    if not any(ints) or not any(
        type(i) is np.ndarray and not is_int for i, is_int in zip(idx, ints)
    ):
        return idx
    basic: list[Any] = []
    rest: list[Any] = []
    for i, is_int in zip(idx, ints):
        if is_int:
            basic.append(int(i))
        elif type(i) is np.ndarray:
            # a bool mask covers as many dims as it has; an int array one
            basic.extend([slice(None)] * (i.ndim if i.dtype == np.bool_ else 1))
            rest.append(i)
        elif i is None or isinstance(i, slice):
            basic.append(i)
            rest.append(slice(None))
        else:  # Ellipsis
            basic.append(i)
            rest.append(i)
    if not any(i is Ellipsis for i in basic):
        # so that a[basic] is a view even when the ints cover every dim (a
        # numpy scalar then, that writes would not reach)
        basic.append(Ellipsis)
    return _Split(tuple(basic), tuple(rest))


def _take(arr: np.ndarray, idx: Any) -> np.ndarray:
    """``arr[idx]`` (Note [Mixed indexing])."""
    if type(idx) is _Split:
        return arr[idx.basic][idx.rest]
    return arr[idx]


def _put(arr: np.ndarray, idx: Any, value: Any) -> None:
    """``arr[idx] = value`` (Note [Mixed indexing])."""
    if type(idx) is _Split:
        arr[idx.basic][idx.rest] = value
    else:
        arr[idx] = value


def _norm_index(idx: Any, ndim: int) -> Any:
    """Replaces Tensors (and lists) inside an index by arrays, and splits an index
    that mixes ints and arrays (Note [Mixed indexing])."""
    if isinstance(idx, tuple):
        return _split_mixed(
            _drop_empty_ellipsis(tuple(_norm_item(i) for i in idx), ndim)
        )
    return _norm_item(idx)


def _drop_empty_ellipsis(idx: tuple[Any, ...], ndim: int) -> tuple[Any, ...]:
    """``idx`` without an Ellipsis that stands for no dim. numpy counts it as a
    separator between advanced indices (their dims then go first), PyTorch
    does not: ``x[:, [0, 1], ..., [0, 1]]`` of a 3-d x has shape (5, 2) in
    PyTorch, (2, 5) in numpy."""
    if not any(i is Ellipsis for i in idx) or not any(
        type(i) is np.ndarray for i in idx
    ):
        return idx
    used = 0
    for i in idx:
        if type(i) is np.ndarray:
            used += i.ndim if i.dtype == np.bool_ else 1
        elif i is not None and i is not Ellipsis:
            used += 1
    if used != ndim:
        return idx
    return tuple(i for i in idx if i is not Ellipsis)


def _norm_item(i: Any) -> Any:
    if isinstance(i, Tensor):
        return i.data
    if isinstance(i, list):
        arr = np.asarray([_norm_item(j) for j in i])
        return arr.astype(np.int64) if arr.size == 0 else arr
    if isinstance(i, (bool, np.bool_)):
        return np.asarray(i)  # a 0-d mask, an advanced index (numpy and torch)
    return i


def _is_advanced(idx: Any) -> bool:
    if type(idx) is _Split:
        return True
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, (np.ndarray, list)) for i in items)


class GetItem(Function):
    """y = a[idx];  dL/da = zeros with g scatter-added at idx (repeats accumulate)."""

    _array_forward = True
    _view = True

    @staticmethod
    def forward(ctx, a, *, idx):
        ctx.shape, ctx.idx = a.shape, idx
        return _take(a, idx)

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, shape=ctx.shape, idx=ctx.idx)


class IndexAdd(Function):
    """y = zeros(shape) with g added at idx;  dL/dg = dL/dy[idx]."""

    _array_forward = True

    @staticmethod
    def forward(ctx, g, *, shape, idx):
        ctx.idx = idx
        out = np.zeros(shape, dtype=g.dtype)
        target = out
        if type(idx) is _Split:
            target, idx = out[idx.basic], idx.rest  # a view of out
        if _is_advanced(idx):
            np.add.at(target, idx, g)
        else:
            target[idx] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, idx=ctx.idx)


def getitem(a: Tensor, idx: Any) -> Tensor:
    """``a[idx]``: ints, slices, None, Ellipsis (basic indexing: a view), and int or
    bool arrays / Tensors / lists (advanced indexing: a copy). The backward
    scatter-adds, so repeated indices accumulate.

    Raises
    ------
    IndexError
        An index out of range or of a wrong type.
    """
    idx = _norm_index(idx, a.ndim)
    try:
        return GetItem.apply(a, idx=idx)
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {a.shape})") from None


class SetItem(Function):
    """a[idx] = v in place;  dL/da = g zeroed at idx, dL/dv = g[idx] reduced to v.

    NOTE: with repeated advanced indices the last write wins (numpy's rule), and
    only the values that landed get a gradient.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, v, *, idx):
        ctx.idx, ctx.vshape = idx, np.shape(v)
        _put(a, idx, v)
        ctx.landed = _landed(a.shape, idx) if _is_advanced(idx) else None
        return a

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        ga = gv = None
        if needs[0]:
            mask = np.ones(g.shape, dtype=g.dtype)
            _put(mask, ctx.idx, 0)
            ga = g * Tensor._wrap(mask)
        if needs[1]:
            gv = GetItem.apply(g, idx=ctx.idx)
            if ctx.landed is not None:
                gv = gv * Tensor._wrap(ctx.landed.astype(g.dtype))
            gv = gv.sum_to(ctx.vshape)
        return ga, gv


def _landed(shape: tuple[int, ...], idx: Any) -> np.ndarray | None:
    """For ``a[idx] = v``: which positions of ``a[idx]`` were written last (None
    when every one was: no repeated index)."""
    pos = np.full(shape, -1, dtype=np.int64)
    target_shape = _take(pos, idx).shape
    order = np.arange(int(np.prod(target_shape))).reshape(target_shape)
    _put(pos, idx, order)
    landed = _take(pos, idx) == order
    return None if landed.all() else landed


def setitem(a: Tensor, idx: Any, value: Any) -> None:
    """``a[idx] = value`` in place, recorded in the graph when grad is needed
    (Note [In-place ops] in ``tensor.py``).

    Raises
    ------
    RuntimeError
        ``a`` is a leaf that requires grad (under grad mode), a read-only view,
        or a view whose base requires grad.
    IndexError, ValueError
        Bad index, or a value that does not broadcast to ``a[idx]``.
    """
    idx = _norm_index(idx, a.ndim)
    if not isinstance(value, Tensor):
        try:
            value = Tensor._wrap(np.asarray(value, dtype=a.data.dtype))
        except (TypeError, ValueError):
            raise TypeError(
                f"setitem: cannot assign a {type(value).__name__} to a tensor of "
                f"dtype {a.dtype}"
            ) from None
    elif value.data.dtype != a.data.dtype:
        value = value.to(a.data.dtype)
    a._check_inplace("setitem", value.requires_grad)
    if value.ndim:
        value = _drop_leading_ones(value, a.data, idx)
    alias = a._alias()
    try:
        out = SetItem.apply(alias, value, idx=idx)
    except (IndexError, ValueError) as e:
        # a bad index stays an IndexError (as torch); a value that does not fit
        # the indexed shape is a ShapeError
        raise (IndexError if isinstance(e, IndexError) else ShapeError)(
            f"setitem: cannot assign a value of shape {value.shape} to index {idx!r} "
            f"of a tensor of shape {a.shape}: {e}"
        ) from None
    a._version[0] += 1
    if out.grad_fn is not None:
        a.grad_fn, a._out_idx, a.requires_grad = out.grad_fn, 0, True


def _drop_leading_ones(value: Tensor, arr: np.ndarray, idx: Any) -> Tensor:
    """PyTorch accepts ``t[1] = tensor([v])``: leading size-1 dims of the value
    beyond the target's rank are dropped."""
    try:
        target = _take(arr, idx).shape
    except (IndexError, ValueError):
        return value  # the assignment itself reports it
    extra = value.ndim - len(target)
    if extra > 0 and all(s == 1 for s in value.shape[:extra]):
        return reshape(value, value.shape[extra:])
    return value
