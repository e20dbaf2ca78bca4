"""Indexing and selection along a dim: gather / scatter (and their reductions),
index_select / index_add / index_fill / index_copy, masked_fill / masked_select /
masked_scatter, take / take_along_dim, nonzero / argwhere.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the shape,
index and elementwise ops. Sorting and searching are in ``sort.py``.

Indices are checked before use: an index out of range raises an IndexError
naming the op, the index and the size (numpy would wrap a negative one, or a
scatter would write somewhere else), never a wrong value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.index import IndexAdd, getitem
from minigrad.ops.shape import _dim, expand, reshape
from minigrad.tensor import Tensor

__all__ = [
    "argwhere",
    "gather",
    "index_add",
    "index_copy",
    "index_fill",
    "index_select",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "nonzero",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "take",
    "take_along_dim",
]


# -- index checks ---------------------------------------------------------------


def _index_array(index: Any, op: str) -> np.ndarray:
    arr = index.data if isinstance(index, Tensor) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _check_range(
    op: str, index: np.ndarray, size: int, dim: int, negative: bool = False
) -> np.ndarray:
    """``index`` with every entry in ``[0, size)`` (``[-size, size)`` wrapped
    when ``negative``), or an IndexError naming the first bad one."""
    lo = -size if negative else 0
    bad = (index < lo) | (index >= size)
    if bad.any():
        raise IndexError(
            f"{op}: index {int(index[bad].flat[0])} is out of bounds for dim {dim} "
            f"with size {size}"
        )
    return np.where(index < 0, index + size, index) if negative else index


def _positions(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """The advanced index that addresses ``out[i0, .., index[i], .., in]`` for
    every position ``i`` of ``index`` (scatter's and gather's addressing)."""
    grid: list[Any] = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _gather_check(
    a_shape: tuple[int, ...], index: np.ndarray, dim: int, op: str
) -> int:
    nd = max(len(a_shape), 1)
    d = _dim(dim, nd, op)
    if index.ndim != len(a_shape) and not (index.ndim <= 1 and len(a_shape) <= 1):
        raise ShapeError(
            f"{op}: index of shape {index.shape} must have as many dims as the "
            f"input of shape {a_shape}"
        )
    for i, (n, s) in enumerate(zip(index.shape, a_shape)):
        if i != d and n > s:
            raise ShapeError(
                f"{op}: index of shape {index.shape} is larger than the input of "
                f"shape {a_shape} in dim {i}"
            )
    return d


# -- gather / scatter_add: each the other's backward -------------------------------


class Gather(Function):
    """y[i] = a[i with dim replaced by index[i]];  dL/da = scatter_add of g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dim, index):
        ctx.shape, ctx.dim, ctx.index = a.shape, dim, index
        return a[_positions(index, dim)]

    @staticmethod
    def backward(ctx, g):
        return ScatterAddTo.apply(g, shape=ctx.shape, dim=ctx.dim, index=ctx.index)


class ScatterAddTo(Function):
    """y = zeros(shape) with src[i] added at (i with dim replaced by index[i]);
    dL/dsrc = gather of g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, src, *, shape, dim, index):
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, dtype=src.dtype)
        np.add.at(out, _positions(index, dim), src)
        return out

    @staticmethod
    def backward(ctx, g):
        return Gather.apply(g, dim=ctx.dim, index=ctx.index)


def gather(a: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j][k] = a[index[i][j][k]][j][k]`` (for dim 0), as ``torch.gather``:
    ``index`` has ``a``'s number of dims and is no larger outside ``dim``.

    Raises
    ------
    IndexError
        An index outside ``[0, a.shape[dim])``, or a dim out of range.
    ValueError
        An index of the wrong rank or too large a shape.
    """
    return _gather(a, dim, _index_array(index, "gather"), "gather")


def _gather(a: Tensor, dim: int, idx: np.ndarray, op: str) -> Tensor:
    d = _gather_check(a.shape, idx, dim, op)
    if a.ndim == 0:
        _check_range(op, idx, 1, 0)
        return getitem(a, ()) if idx.ndim == 0 else expand(a, idx.shape)
    _check_range(op, idx, a.shape[d], d)
    return Gather.apply(a, dim=d, index=idx)


def _src_for(src: Any, index: np.ndarray, a: Tensor, op: str, dim: int) -> Tensor:
    """``src`` cut down to ``index``'s shape (a scalar filled to it), in ``a``'s
    dtype."""
    if not isinstance(src, Tensor):
        return Tensor._wrap(np.full(index.shape, src, dtype=a.data.dtype))
    if src.dtype != a.dtype:
        raise TypeError(
            f"{op}: src ({src.dtype}) must have the input's dtype ({a.dtype})"
        )
    if src.ndim != index.ndim or any(n > s for n, s in zip(index.shape, src.shape)):
        raise ShapeError(
            f"{op}: index of shape {index.shape} does not fit src of shape "
            f"{src.shape} (dim {dim})"
        )
    if src.shape != index.shape:
        src = getitem(src, tuple(slice(0, n) for n in index.shape))
    return src


def _prepare_scatter(
    a: Tensor, dim: int, index: Any, op: str
) -> tuple[int, np.ndarray]:
    idx = _index_array(index, op)
    d = _gather_check(a.shape, idx, dim, op)
    _check_range(op, idx, a.shape[d] if a.ndim else 1, d)
    if a.ndim == 0:
        raise ShapeError(f"{op}: a 0-d input is not supported (shape {a.shape})")
    return d, idx


def scatter_add(a: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """``a`` with ``src[i]`` added at (i with ``dim`` replaced by ``index[i]``);
    repeated indices accumulate. Differentiable in ``a`` and ``src``."""
    d, idx = _prepare_scatter(a, dim, index, "scatter_add")
    s = _src_for(src, idx, a, "scatter_add", d)
    return a + ScatterAddTo.apply(s, shape=a.shape, dim=d, index=idx)


class Scatter(Function):
    """y = a with src written at the scattered positions;
    dL/da = g zeroed there, dL/dsrc = gather of g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, src, *, dim, index):
        ctx.dim, ctx.index = dim, index
        out = a.copy()
        pos = _positions(index, dim)
        out[pos] = src
        if ctx.needs_input_grad and ctx.needs_input_grad[0]:
            keep = np.ones(a.shape, dtype=a.dtype)
            keep[pos] = 0
            ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, g):
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = g * Tensor._wrap(ctx.keep)
        if ctx.needs_input_grad[1]:
            gs = Gather.apply(g, dim=ctx.dim, index=ctx.index)
        return ga, gs


def scatter(
    a: Tensor,
    dim: int,
    index: Any,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """``a`` with ``src`` (a tensor, or the scalar ``value``) written at (i with
    ``dim`` replaced by ``index[i]``), as ``torch.scatter``. ``reduce='add'``
    or ``'multiply'`` combines instead of writing (forward only for 'multiply',
    as in PyTorch). With repeated indices the write that lands is unspecified.
    """
    if src is None:
        if value is None:
            raise ArgumentError("scatter: missing argument 'src' (or 'value')")
        src = value
    d, idx = _prepare_scatter(a, dim, index, "scatter")
    s = _src_for(src, idx, a, "scatter", d)
    if reduce is None:
        return Scatter.apply(a, s, dim=d, index=idx)
    if reduce == "add":
        return a + ScatterAddTo.apply(s, shape=a.shape, dim=d, index=idx)
    if reduce == "multiply":
        _no_grad_for("scatter", "reduce='multiply'", a, s)
        out = a.data.copy()
        np.multiply.at(out, _positions(idx, d), s.data)
        return Tensor._wrap(out)
    raise ArgumentError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")


def _no_grad_for(op: str, what: str, *ts: Tensor) -> None:
    from minigrad.autograd.grad_mode import STATE

    if STATE.grad_enabled and any(t.requires_grad for t in ts):
        raise NotImplementedError(f"{op}: the backward of {what} is not implemented")


class ScatterMinMax(Function):
    """y = a with each scattered position reduced by amax/amin over src (and a
    when include_self);  the gradient is shared evenly by the values equal to
    the result (PyTorch's rule for ties)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, src, *, dim, index, reduce, include_self):
        pos = _positions(index, dim)
        ufunc = np.maximum if reduce == "amax" else np.minimum
        touched = np.zeros(a.shape, dtype=bool)
        touched[pos] = True
        out = a.copy()
        if not include_self:
            fill = -np.inf if reduce == "amax" else np.inf
            if a.dtype.kind in "iu":
                info = np.iinfo(a.dtype)
                fill = info.min if reduce == "amax" else info.max
            out[touched] = fill
        ufunc.at(out, pos, src)
        if ctx.needs_input_grad:
            self_hit = (a == out) & touched if include_self else touched & False
            self_hit |= ~touched
            src_hit = src == out[pos]
            count = self_hit.astype(a.dtype)
            np.add.at(count, pos, src_hit.astype(a.dtype))
            ctx.parts = (dim, index, self_hit.astype(a.dtype), src_hit.astype(a.dtype))
            ctx.count = count
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, self_hit, src_hit = ctx.parts
        share = g / Tensor._wrap(ctx.count)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = share * Tensor._wrap(self_hit)
        if ctx.needs_input_grad[1]:
            gs = Gather.apply(share, dim=dim, index=index) * Tensor._wrap(src_hit)
        return ga, gs


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(
    a: Tensor,
    dim: int,
    index: Any,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """``a`` with ``src`` reduced into the scattered positions by ``reduce``
    ('sum', 'prod', 'mean', 'amax', 'amin'), with ``a``'s own values taking
    part when ``include_self``, as ``torch.scatter_reduce``. Differentiable
    except for 'prod' (forward only). 'mean' of an integer tensor rounds down.
    """
    if reduce not in _REDUCTIONS:
        raise ArgumentError(
            f"scatter_reduce: reduce must be one of {_REDUCTIONS}, got {reduce!r}"
        )
    d, idx = _prepare_scatter(a, dim, index, "scatter_reduce")
    s = _src_for(src, idx, a, "scatter_reduce", d)
    pos = _positions(idx, d) if a.ndim else ()
    touched = np.zeros(a.shape, dtype=bool)
    touched[pos] = True
    if reduce in ("amax", "amin"):
        return ScatterMinMax.apply(
            a, s, dim=d, index=idx, reduce=reduce, include_self=include_self
        )
    if reduce == "prod":
        _no_grad_for("scatter_reduce", "reduce='prod'", a, s)
        out = a.data.copy()
        if not include_self:
            out[touched] = 1
        np.multiply.at(out, pos, s.data)
        return Tensor._wrap(out)
    base = a if include_self else _zero_at(a, touched)
    total = base + ScatterAddTo.apply(s, shape=a.shape, dim=d, index=idx)
    if reduce == "sum":
        return total
    count = np.zeros(a.shape, dtype=np.int64)
    np.add.at(count, pos, 1)
    count = np.where(touched, count + int(include_self), 1).astype(a.data.dtype)
    if a.data.dtype.kind in "iu":
        return Tensor._wrap(total.data // count)
    return total / Tensor._wrap(count)


def _zero_at(a: Tensor, mask: np.ndarray) -> Tensor:
    return a * Tensor._wrap((~mask).astype(a.data.dtype))


# -- index_* : one index along one dim ------------------------------------------


def _dim_index(a: Tensor, dim: int, index: Any, op: str) -> tuple[int, np.ndarray]:
    idx = _index_array(index, op)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: index must be 0-d or 1-d, got shape {idx.shape}")
    idx = idx.reshape(-1)
    d = _dim(dim, max(a.ndim, 1), op)
    size = a.shape[d] if a.ndim else 1
    return d, _check_range(op, idx, size, d)


def index_select(a: Tensor, dim: int, index: Any) -> Tensor:
    """The entries of ``a`` at ``index`` (1-d) along ``dim``; repeats allowed.

    Raises
    ------
    IndexError
        An index outside ``[0, a.shape[dim])``.
    """
    d, idx = _dim_index(a, dim, index, "index_select")
    if a.ndim == 0:
        return reshape(a, ()) if idx.size == 1 else expand(reshape(a, (1,)), idx.shape)
    return getitem(a, (slice(None),) * d + (idx,))


def index_add(
    a: Tensor, dim: int, index: Any, source: Tensor, *, alpha: Any = 1
) -> Tensor:
    """``a`` with ``alpha * source[j]`` added at ``index[j]`` along ``dim``
    (repeats accumulate)."""
    d, idx = _dim_index(a, dim, index, "index_add")
    want = tuple(len(idx) if i == d else n for i, n in enumerate(a.shape))
    if source.shape != want:
        raise ShapeError(
            f"index_add: source of shape {source.shape} should have shape {want} "
            f"(input {a.shape}, {len(idx)} indices along dim {d})"
        )
    added = IndexAdd.apply(source, shape=a.shape, idx=(slice(None),) * d + (idx,))
    return a + (added if alpha == 1 else added * alpha)


def _dim_mask(a: Tensor, d: int, idx: np.ndarray) -> np.ndarray:
    mask = np.zeros(a.shape, dtype=bool)
    mask[(slice(None),) * d + (idx,)] = True
    return mask


def index_fill(a: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """``a`` with the entries at ``index`` along ``dim`` set to ``value`` (a
    number, or a 0-d tensor that gets their gradient)."""
    d, idx = _dim_index(a, dim, index, "index_fill")
    return masked_fill(a, _dim_mask(a, d, idx), value)


def index_copy(a: Tensor, dim: int, index: Any, source: Tensor) -> Tensor:
    """``a`` with ``source[j]`` copied to ``index[j]`` along ``dim`` (indices
    should be distinct, as in PyTorch)."""
    d, idx = _dim_index(a, dim, index, "index_copy")
    want = tuple(len(idx) if i == d else n for i, n in enumerate(a.shape))
    if source.shape != want:
        raise ShapeError(
            f"index_copy: source of shape {source.shape} should have shape {want}"
        )
    mask = _dim_mask(a, d, idx)
    added = IndexAdd.apply(source, shape=a.shape, idx=(slice(None),) * d + (idx,))
    return _zero_at(a, mask) + added


# -- masks ----------------------------------------------------------------------


def _mask_array(mask: Any, op: str) -> np.ndarray:
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a bool tensor, got {m.dtype}")
    return m


def masked_fill(a: Tensor, mask: Any, value: Any) -> Tensor:
    """``a`` with ``value`` where ``mask`` (broadcast to ``a``) is True; ``a``'s
    dtype is kept. ``value`` is a number or a 0-d tensor (differentiable)."""
    from minigrad.ops.elementwise import where

    m = _mask_array(mask, "masked_fill")
    try:
        m = np.broadcast_to(m, a.shape)
    except ValueError:
        raise ShapeError(
            f"masked_fill: mask of shape {m.shape} does not broadcast to the input's "
            f"shape {a.shape}"
        ) from None
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(
                f"masked_fill: value must be a 0-d tensor, got shape {value.shape}"
            )
        v = value if value.dtype == a.dtype else value.to(a.dtype)
    else:
        v = Tensor._wrap(np.asarray(value).astype(a.data.dtype))
    return where(m, v, a)


def masked_select(a: Tensor, mask: Any) -> Tensor:
    """A 1-d tensor of the entries of ``a`` where ``mask`` is True (both
    broadcast to a common shape)."""
    m = _mask_array(mask, "masked_select")
    try:
        shape = np.broadcast_shapes(a.shape, m.shape)
    except ValueError:
        raise ShapeError(
            f"masked_select: mask of shape {m.shape} and input of shape {a.shape} "
            "do not broadcast"
        ) from None
    return getitem(expand(a, shape), np.broadcast_to(m, shape).copy())


def masked_scatter(a: Tensor, mask: Any, source: Tensor) -> Tensor:
    """``a`` with the True positions of ``mask`` (broadcast to ``a``) filled, in
    order, by the first elements of ``source``."""
    from minigrad.ops.elementwise import where

    m = np.broadcast_to(_mask_array(mask, "masked_scatter"), a.shape)
    k = int(m.sum())
    if source.numel() < k:
        raise ShapeError(
            f"masked_scatter: source has {source.numel()} elements, the mask "
            f"selects {k}"
        )
    flat = getitem(reshape(source, (-1,)), slice(0, k))
    placed = IndexAdd.apply(flat, shape=a.shape, idx=np.nonzero(m))
    return where(m, placed, a)


# -- flat and along-dim takes -----------------------------------------------------


def take(a: Tensor, index: Any) -> Tensor:
    """The entries of ``a`` flattened, at ``index`` (any shape; negative indices
    count from the end), as ``torch.take``."""
    idx = _index_array(index, "take")
    idx = _check_range("take", idx, a.numel(), 0, negative=True)
    return getitem(reshape(a, (-1,)), idx)


def take_along_dim(a: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """``gather`` with ``a`` and ``indices`` broadcast outside ``dim`` (with
    ``dim=None``, a take from the flattened tensor)."""
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return take(a, idx.reshape(-1))
    if idx.ndim != a.ndim:
        raise ShapeError(
            f"take_along_dim: indices of shape {idx.shape} must have as many dims "
            f"as the input of shape {a.shape}"
        )
    d = _dim(dim, max(a.ndim, 1), "take_along_dim")
    if a.ndim == 0:
        return _gather(a, 0, idx, "take_along_dim")
    sa, si = list(a.shape), list(idx.shape)
    sa[d] = si[d] = 1
    try:
        common = np.broadcast_shapes(tuple(sa), tuple(si))
    except ValueError:
        raise ShapeError(
            f"take_along_dim: input {a.shape} and indices {idx.shape} do not "
            f"broadcast outside dim {d}"
        ) from None
    ta = list(common)
    ta[d] = a.shape[d]
    ti = list(common)
    ti[d] = idx.shape[d]
    idx = np.broadcast_to(idx, tuple(ti))
    return _gather(expand(a, tuple(ta)), d, idx, "take_along_dim")


# -- nonzero ----------------------------------------------------------------------


def nonzero(a: Any, *, as_tuple: bool = False) -> Any:
    """The indices of the non-zero entries of ``a``: an int64 tensor (n, ndim),
    or with ``as_tuple`` one 1-d tensor per dim (a 0-d input counts as 1-d)."""
    arr = a.data if isinstance(a, Tensor) else np.asarray(a)
    if as_tuple:
        return tuple(
            Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(arr))
        )
    return Tensor._wrap(np.argwhere(arr).astype(np.int64))


def argwhere(a: Any) -> Tensor:
    """``nonzero(a)``: an int64 tensor (n, ndim) of the non-zero positions."""
    return nonzero(a)
