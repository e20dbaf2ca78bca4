"""Shape ops: reshape/view, transpose, permute, expand, sum_to, squeeze, unsqueeze,
flatten, cat, stack, split, clone, dtype casts (indexing, get and in-place set,
is in index.py).

Layer: ops. Reshape, transpose, permute, expand and basic indexing return numpy
views, so the result shares memory (and its version counter) with the input.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

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
            idx = (*lead, slice(start, start + size))
            grads.append(g[idx] if need else None)
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
        with np.errstate(all="ignore"):  # to float16: inf past 65504; NaN to int
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


# Indexing lives in index.py; its functional forms are imported here too, as the
# shape ops they were (index.py imports this module, so this comes last).
from minigrad.ops.index import getitem, setitem  # noqa: E402
