"""Shape ops: reshape/view, transpose, permute, expand, sum_to, squeeze, unsqueeze,
flatten, cat, stack, split, indexing (get and in-place set), clone, dtype casts.

Layer: ops. Reshape, transpose, permute, expand and basic indexing return numpy
views, so the result shares memory (and its version counter) with the input.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd.function import Function
from minigrad.errors import ArgumentError, DimError, ShapeError
from minigrad.tensor import Tensor

__all__ = [
    "cat",
    "clone",
    "expand",
    "flatten",
    "getitem",
    "overwrite",
    "permute",
    "reshape",
    "setitem",
    "split",
    "squeeze",
    "stack",
    "sum_to",
    "to_dtype",
    "transpose",
    "unsqueeze",
]


class Reshape(Function):
    """y = a viewed with a new shape;  dL/da = g reshaped back."""

    _array_forward = True
    _view = True

    @staticmethod
    def forward(ctx, a, *, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    """y = a with dims d0 and d1 swapped;  dL/da = g swapped back."""

    _array_forward = True
    _view = True

    @staticmethod
    def forward(ctx, a, *, d0, d1):
        ctx.dims = (d0, d1)
        return np.swapaxes(a, d0, d1)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(*ctx.dims)


class Permute(Function):
    """y = a with dims reordered;  dL/da = g with the inverse permutation."""

    _array_forward = True
    _view = True

    @staticmethod
    def forward(ctx, a, *, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(*ctx.inverse)


class Expand(Function):
    """y = a broadcast to ``shape`` (a read-only view);  dL/da = sum_to(g, a.shape)."""

    _array_forward = True
    _view = True

    @staticmethod
    def forward(ctx, a, *, shape):
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return g.sum_to(ctx.shape)


class SumTo(Function):
    """y = a summed down to a broadcast-compatible ``shape``;  dL/da = expand(g)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, shape):
        ctx.shape = a.shape
        lead = a.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1
        )
        y = np.sum(a, axis=axes, keepdims=True) if axes else a
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.expand(ctx.shape)


def reshape(a: Tensor, *shape: Any) -> Tensor:
    """``a`` with a new shape of the same size (one dim may be -1); a view when
    numpy can make one, sharing memory and version counter (``view`` is the same).

    Raises
    ------
    ValueError
        When the sizes differ, or for more than one -1.
    """
    shape = _shape_arg(shape)
    try:
        new = _infer_shape(a.shape, shape)
    except ValueError:
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {a.shape} "
            f"({a.numel()} elements) into {tuple(shape)}"
        ) from None
    if new == a.shape:
        return a
    return Reshape.apply(a, shape=new)


def _shape_arg(shape: tuple[Any, ...], op: str = "reshape") -> tuple[int, ...]:
    """The sizes as ints: ``f(2, 3)`` or ``f((2, 3))``. A float is refused, not
    truncated (as PyTorch: "must be tuple of ints")."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: sizes must be ints, got {tuple(shape)!r}") from None


def _infer_shape(old: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    n = int(np.prod(old))
    if shape.count(-1) > 1 or any(s < -1 for s in shape):
        raise ValueError
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        if known == 0 or n % known:
            raise ValueError
        shape = tuple(n // known if s == -1 else s for s in shape)
    if int(np.prod(shape)) != n:
        raise ValueError
    return shape


def _dim(d: int, ndim: int, op: str) -> int:
    if not -ndim <= d < ndim:
        raise DimError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
    return d % ndim


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    """``a`` with dims ``dim0`` and ``dim1`` swapped (negative dims count from the end).

    Raises
    ------
    IndexError
        A dim out of range.
    """
    n = a.ndim
    d0, d1 = _dim(dim0, n, "transpose"), _dim(dim1, n, "transpose")
    if d0 == d1:
        return a
    return Transpose.apply(a, d0=d0, d1=d1)


def permute(a: Tensor, *dims: Any) -> Tensor:
    """``a`` with its dims reordered: ``permute(2, 0, 1)`` or ``permute((2, 0, 1))``.

    Raises
    ------
    IndexError
        A dim out of range.
    ValueError
        ``dims`` is not a permutation of ``range(a.ndim)``.
    """
    dims = _shape_arg(dims, "permute")
    n = a.ndim
    norm = tuple(_dim(d, n, "permute") for d in dims)
    if len(norm) != n or sorted(norm) != list(range(n)):
        raise ShapeError(
            f"permute: {dims} is not a permutation of the {n} dims of {a.shape}"
        )
    return Permute.apply(a, dims=norm)


def expand(a: Tensor, *shape: Any) -> Tensor:
    """``a`` broadcast to ``shape`` (-1 keeps a dim); a read-only view.

    Raises
    ------
    ValueError
        When ``a`` cannot be broadcast to ``shape``.
    """
    shape = _shape_arg(shape, "expand")
    lead = len(shape) - a.ndim
    if lead < 0 or any(s < 0 for s in shape[:lead]) or any(s < -1 for s in shape):
        raise ShapeError(f"expand: cannot expand shape {a.shape} to {shape}")
    full = tuple(s if s != -1 else a.shape[i - lead] for i, s in enumerate(shape))
    if full == a.shape:
        return a
    for i, s in enumerate(a.shape):
        if s != 1 and s != full[lead + i]:
            raise ShapeError(f"expand: cannot expand shape {a.shape} to {shape}")
    return Expand.apply(a, shape=full)


def sum_to(a: Tensor, shape: Sequence[int]) -> Tensor:
    """Sums broadcast dims of ``a`` away so that it has ``shape`` (unbroadcast)."""
    shape = tuple(shape)
    if a.shape == shape:
        return a
    lead = a.ndim - len(shape)
    if lead < 0 or any(s != 1 and s != a.shape[lead + i] for i, s in enumerate(shape)):
        raise ShapeError(f"sum_to: shape {a.shape} cannot be summed to {shape}")
    return SumTo.apply(a, shape=shape)


def squeeze(a: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """``a`` without size-1 dims: all of them, or those in ``dim`` (an int or a tuple;
    dims of other sizes are left alone, as in PyTorch).

    Raises
    ------
    IndexError
        A dim out of range.
    """
    if dim is None:
        return reshape(a, tuple(s for s in a.shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else dim
    norm = {_dim(d, max(a.ndim, 1), "squeeze") for d in dims}
    return reshape(
        a, tuple(s for i, s in enumerate(a.shape) if not (i in norm and s == 1))
    )


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    """``a`` with a size-1 dim inserted at ``dim`` (in ``[-ndim - 1, ndim]``).

    Raises
    ------
    IndexError
        A dim out of range.
    """
    d = _dim(dim, a.ndim + 1, "unsqueeze")
    return reshape(a, (*a.shape[:d], 1, *a.shape[d:]))


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merges dims ``start_dim..end_dim`` into one (a 0-d tensor becomes 1-d)."""
    if a.ndim == 0:
        return reshape(a, (1,))
    s = _dim(start_dim, a.ndim, "flatten")
    e = _dim(end_dim, a.ndim, "flatten")
    if s > e:
        raise ShapeError(
            f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim}) "
            f"for a tensor of shape {a.shape}"
        )
    merged = 1
    for n in a.shape[s : e + 1]:
        merged *= n
    return reshape(a, (*a.shape[:s], merged, *a.shape[e + 1 :]))


class Cat(Function):
    """y = the inputs joined along ``dim``;  each input's gradient is its slice of g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.sizes = [x.shape[dim] for x in arrays]
        ctx.dim = dim
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        lead = (slice(None),) * ctx.dim
        for size, need in zip(ctx.sizes, ctx.needs_input_grad):
            grads.append(g[(*lead, slice(start, start + size))] if need else None)
            start += size
        return tuple(grads)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along ``dim``; they must match in every other dim.
    Mixed dtypes promote as in PyTorch.

    Raises
    ------
    ValueError
        An empty sequence, 0-d tensors, or shapes that differ outside ``dim``.
    IndexError
        A dim out of range.
    """
    ts = list(tensors)
    if not ts:
        raise ShapeError("cat: expected a non-empty sequence of tensors")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in ts]
    ndim = ts[0].ndim
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    d = _dim(dim, ndim, "cat")
    for t in ts:
        if (
            t.ndim != ndim
            or t.shape[:d] + t.shape[d + 1 :] != ts[0].shape[:d] + ts[0].shape[d + 1 :]
        ):
            raise ShapeError(
                f"cat: shapes must match except in dim {d}: "
                + ", ".join(str(x.shape) for x in ts)
            )
    dt = ts[0].dtype
    for t in ts[1:]:
        from minigrad.dtypes import result_type

        dt = result_type(dt, t.dtype)
    ts = [t if t.dtype == dt else t.to(dt) for t in ts]
    return Cat.apply(*ts, dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors of one shape stacked along a new dim ``dim``.

    Raises
    ------
    ValueError
        An empty sequence, or tensors of different shapes.
    IndexError
        A dim out of range.
    """
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not ts:
        raise ShapeError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ShapeError(
            f"stack: all tensors must have the same shape, got {sorted(shapes)}"
        )
    d = _dim(dim, ts[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in ts], d)


def split(
    a: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0
) -> tuple[Tensor, ...]:
    """``a`` cut along ``dim`` into pieces of ``split_size_or_sections`` (an int:
    equal pieces, the last one smaller; a list: the sizes), as views.

    Raises
    ------
    ValueError
        A non-positive size, or sections that do not add up to the dim's size.
    IndexError
        A dim out of range.
    """
    d = _dim(dim, a.ndim, "split")
    n = a.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ArgumentError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise ArgumentError(
                f"split: section sizes must be non-negative, got {sizes}"
            )
        if sum(sizes) != n:
            raise ArgumentError(
                f"split: sections {sizes} do not sum to dim {d}'s size {n}"
            )
    out, start = [], 0
    lead = (slice(None),) * d
    for s in sizes:
        out.append(getitem(a, (*lead, slice(start, start + s))))
        start += s
    return tuple(out)


# -- indexing -----------------------------------------------------------------


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


class Overwrite(Function):
    """y = v, replacing a (an in-place fill or copy);  dL/da = 0, dL/dv = g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, v):
        ctx.vshape = v.shape
        return np.broadcast_to(v, a.shape).copy()

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        ga = Tensor._wrap(np.zeros(g.shape, g.dtype)) if needs[0] else None
        gv = g.sum_to(ctx.vshape) if needs[1] else None
        return ga, gv


def overwrite(a: Tensor, v: Tensor) -> Tensor:
    """A new value ``v`` (broadcast to ``a``'s shape) that replaces ``a`` in the
    graph: ``a`` gets a zero gradient (Note [In-place ops] in ``tensor.py``)."""
    return Overwrite.apply(a, v)


class Clone(Function):
    """y = a copy of a;  dL/da = g."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(a: Tensor) -> Tensor:
    """A copy of ``a`` in new memory; the gradient passes through."""
    return Clone.apply(a)


class ToDtype(Function):
    """y = a cast to another dtype;  dL/da = g cast back."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.dtype)


def to_dtype(a: Tensor, dtype: Any) -> Tensor:
    """``a`` cast to ``dtype`` (``a`` itself when it already has it); the gradient
    is cast back. A cast to int64 or bool ends the graph.

    Raises
    ------
    TypeError
        An unsupported dtype.
    """
    from minigrad.dtypes import canonical_dtype

    d = canonical_dtype(dtype, "to")
    if a.data.dtype == d:
        return a
    return ToDtype.apply(a, dtype=d)
