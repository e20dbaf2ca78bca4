"""Layout ops: flip, roll, repeat, tile, repeat_interleave, tril / triu,
diagonal / diag / diag_embed / trace, unfold, narrow, chunk, tensor_split,
unbind, movedim, swapaxes, broadcast_to / broadcast_tensors, meshgrid,
unflatten, the stacks (hstack, vstack, dstack, column_stack) and atleast_Nd.

Layer: ops. Only flip, roll, diagonal, diag_embed and unbind are Functions; the rest
are compositions of differentiable ops (reshape, expand, indexing, cat), whose
backward comes with them.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd.function import Function, _share_version
from minigrad.errors import ArgumentError, DimError, ShapeError
from minigrad.ops.index import getitem
from minigrad.ops.shape import (
    _dim,
    _shape_arg,
    cat,
    expand,
    permute,
    reshape,
    split,
    stack,
    transpose,
    unsqueeze,
)
from minigrad.tensor import Tensor

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_tensors",
    "broadcast_to",
    "chunk",
    "column_stack",
    "diag",
    "diag_embed",
    "diagonal",
    "dstack",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "meshgrid",
    "movedim",
    "narrow",
    "repeat",
    "repeat_interleave",
    "roll",
    "swapaxes",
    "t",
    "tensor_split",
    "tile",
    "trace",
    "tril",
    "triu",
    "unbind",
    "unflatten",
    "unfold",
    "vstack",
]


def _dims(dims: Any, ndim: int, op: str) -> tuple[int, ...]:
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    out = tuple(_dim(int(d), max(ndim, 1), op) for d in dims)
    if len(set(out)) != len(out):
        raise ArgumentError(f"{op}: dims {tuple(dims)} repeat a dim")
    return out


# -- flip, roll ------------------------------------------------------------------------


class Flip(Function):
    """y = a reversed along ``dims`` (a copy, as PyTorch);  dL/da = g flipped."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dims):
        ctx.dims = dims
        return np.flip(a, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, dims=ctx.dims)


def flip(a: Tensor, dims: Any) -> Tensor:
    """``a`` reversed along each dim in ``dims`` (an int or a sequence)."""
    d = _dims(dims, a.ndim, "flip")
    if a.ndim == 0 or not d:
        return a * 1 if a.requires_grad else a
    return Flip.apply(a, dims=d)


def fliplr(a: Tensor) -> Tensor:
    """``a`` reversed left to right (dim 1; at least 2 dims)."""
    if a.ndim < 2:
        raise ShapeError(f"fliplr: input must have at least 2 dims, got {a.shape}")
    return flip(a, (1,))


def flipud(a: Tensor) -> Tensor:
    """``a`` reversed up to down (dim 0; at least 1 dim)."""
    if a.ndim < 1:
        raise ShapeError("fliplr: input must have at least 1 dim, got a 0-d tensor")
    return flip(a, (0,))


class Roll(Function):
    """y = a shifted circularly;  dL/da = g shifted back."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shifts) if ctx.dims is not None else -ctx.shifts
        return Roll.apply(g, shifts=back, dims=ctx.dims)


def roll(a: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """``a`` shifted circularly by ``shifts`` along ``dims`` (the flattened
    tensor when ``dims`` is None)."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            if len(shifts) != 1:
                raise ArgumentError("roll: with dims=None, shifts must be a single int")
            shifts = shifts[0]
        return Roll.apply(a, shifts=int(shifts), dims=None)
    sh = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    d = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(sh) != len(d):
        raise ArgumentError(f"roll: shifts {sh} and dims {d} must have the same length")
    d = tuple(_dim(int(x), max(a.ndim, 1), "roll") for x in d)
    if a.ndim == 0:
        return a * 1 if a.requires_grad else a
    return Roll.apply(a, shifts=tuple(int(s) for s in sh), dims=d)


# -- repeat, tile, repeat_interleave -------------------------------------------------


def repeat(a: Tensor, *sizes: Any) -> Tensor:
    """``a`` tiled ``sizes[i]`` times along each dim (``sizes`` has at least
    ``a.ndim`` entries; extra leading ones add dims), as ``Tensor.repeat``."""
    reps = _shape_arg(sizes, "repeat")
    if len(reps) < a.ndim:
        raise ShapeError(
            f"repeat: {len(reps)} repeat sizes for a tensor of {a.ndim} dims "
            f"(shape {a.shape}); give at least {a.ndim}"
        )
    if any(r < 0 for r in reps):
        raise ArgumentError(f"repeat: repeat sizes must be non-negative, got {reps}")
    shape = (1,) * (len(reps) - a.ndim) + a.shape
    # (r0, s0, r1, s1, ...) by expanding new dims in front of each, then merged
    x = reshape(a, tuple(v for s in shape for v in (1, s)))
    x = expand(x, tuple(v for r, s in zip(reps, shape) for v in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(reps, shape)))


def tile(a: Tensor, dims: Any) -> Tensor:
    """``repeat`` with ``dims`` padded with leading ones to ``a.ndim``."""
    reps = _shape_arg((dims,), "tile")
    reps = (1,) * (a.ndim - len(reps)) + reps
    return repeat(a, reps)


def repeat_interleave(
    a: Tensor, repeats: Any, dim: int | None = None, *, output_size: Any = None
) -> Tensor:
    """Each entry of ``a`` (along ``dim``, or flattened when None) repeated
    ``repeats`` times (an int, or one count per entry)."""
    if dim is None:
        a, d = reshape(a, (-1,)), 0
    else:
        d = _dim(dim, max(a.ndim, 1), "repeat_interleave")
        if a.ndim == 0:
            a = reshape(a, (1,))
    r = repeats.data if isinstance(repeats, Tensor) else np.asarray(repeats)
    n = a.shape[d]
    if r.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave: repeats must be ints, got {r.dtype}")
    if r.ndim > 1 or (r.ndim == 1 and r.size not in (1, n)):
        raise ShapeError(
            f"repeat_interleave: repeats of shape {r.shape} for dim {d} of size {n}"
        )
    if (r < 0).any():
        raise ArgumentError("repeat_interleave: repeats must be non-negative")
    idx = np.repeat(np.arange(n), np.broadcast_to(r.reshape(-1), (n,)))
    return getitem(a, (slice(None),) * d + (idx,))


# -- triangles and diagonals -----------------------------------------------------------


def _tri(a: Tensor, diagonal: int, lower: bool, op: str) -> Tensor:
    from minigrad.ops.elementwise import where

    if a.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dims, got {a.shape}")
    r, c = a.shape[-2:]
    keep = (
        np.tri(r, c, diagonal, dtype=bool)
        if lower
        else ~np.tri(r, c, diagonal - 1, dtype=bool)
    )
    return where(keep, a, Tensor._wrap(np.zeros((), a.data.dtype)))


def tril(a: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below ``diagonal``)."""
    return _tri(a, diagonal, True, "tril")


def triu(a: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above ``diagonal``)."""
    return _tri(a, diagonal, False, "triu")


class Diagonal(Function):
    """y = the diagonal of a over (dim1, dim2) at ``offset``, as the last dim;
    dL/da = g embedded back on that diagonal (diag_embed)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, offset, dim1, dim2):
        ctx.args = (a.shape, offset, dim1, dim2)
        return np.diagonal(a, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx, g):
        shape, offset, dim1, dim2 = ctx.args
        return DiagEmbed.apply(g, shape=shape, offset=offset, dim1=dim1, dim2=dim2)


class DiagEmbed(Function):
    """y = zeros(shape) with g's last dim on the diagonal over (dim1, dim2) at
    ``offset``;  dL/dg = the diagonal of the gradient."""

    _array_forward = True

    @staticmethod
    def forward(ctx, g, *, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = np.zeros(shape, dtype=g.dtype)
        # np.diagonal of a writeable array is a read-only view: write through
        # an explicit index instead
        view = np.moveaxis(out, (dim1, dim2), (-2, -1))
        n = g.shape[-1]
        i = np.arange(n)
        rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
        view[..., rows, cols] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        offset, dim1, dim2 = ctx.args
        return Diagonal.apply(gg, offset=offset, dim1=dim1, dim2=dim2)


def diagonal(a: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal over dims ``dim1`` and ``dim2`` (above it for ``offset`` > 0),
    moved to the last dim, as ``torch.diagonal`` (a copy here, not a view)."""
    if a.ndim < 2:
        raise ShapeError(f"diagonal: input must have at least 2 dims, got {a.shape}")
    d1, d2 = _dim(dim1, a.ndim, "diagonal"), _dim(dim2, a.ndim, "diagonal")
    if d1 == d2:
        raise ArgumentError(f"diagonal: dim1 and dim2 are the same dim ({d1})")
    return Diagonal.apply(a, offset=int(offset), dim1=d1, dim2=d2)


def diag_embed(a: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices with the last dim of ``a`` on their diagonal (at ``offset``),
    placed over dims ``dim1``, ``dim2`` of the result."""
    if a.ndim < 1:
        raise ShapeError("diag_embed: input must have at least 1 dim")
    nd = a.ndim + 1
    d1, d2 = _dim(dim1, nd, "diag_embed"), _dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise ArgumentError(f"diag_embed: dim1 and dim2 are the same dim ({d1})")
    m = a.shape[-1] + abs(int(offset))
    rest = list(a.shape[:-1])
    shape = []
    for i in range(nd):
        shape.append(m if i in (d1, d2) else rest.pop(0))
    return DiagEmbed.apply(a, shape=tuple(shape), offset=int(offset), dim1=d1, dim2=d2)


def diag(a: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d ``a`` as a square matrix with it on the ``diagonal``-th diagonal;
    of a 2-d ``a``, that diagonal as a 1-d tensor."""
    if a.ndim == 1:
        return diag_embed(a, diagonal, 0, 1)
    if a.ndim == 2:
        return globals()["diagonal"](a, diagonal, 0, 1)
    raise ShapeError(f"diag: input must be 1-d or 2-d, got shape {a.shape}")


def trace(a: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-d tensor."""
    if a.ndim != 2:
        raise ShapeError(f"trace: input must be 2-d, got shape {a.shape}")
    return diagonal(a).sum()


# -- windows and pieces ----------------------------------------------------------------


def unfold(a: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: every window of ``size`` entries (``step`` apart) along
    ``dimension``; that dim becomes the number of windows and a new last dim of
    ``size`` holds each window."""
    d = _dim(dimension, max(a.ndim, 1), "unfold")
    n = a.shape[d] if a.ndim else 1
    if step <= 0:
        raise ArgumentError(f"unfold: step must be positive, got {step}")
    if not 0 <= size <= n:
        raise ArgumentError(f"unfold: size {size} does not fit dim {d} of size {n}")
    if a.ndim == 0:
        return reshape(a, (1,))
    windows = (n - size) // step + 1
    idx = np.arange(windows)[:, None] * step + np.arange(size)
    x = getitem(a, (slice(None),) * d + (idx,))  # (..., windows, size, ...)
    return movedim(x, d + 1, -1)


def narrow(a: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The ``length`` entries from ``start`` along ``dim`` (a view)."""
    d = _dim(dim, max(a.ndim, 1), "narrow")
    n = a.shape[d]
    s = int(start.item() if isinstance(start, Tensor) else start)
    if s < 0:
        s += n
    if not (0 <= s <= n and length >= 0 and s + length <= n):
        raise IndexError(
            f"narrow: start {start} and length {length} are out of range for dim "
            f"{d} of size {n}"
        )
    return getitem(a, (slice(None),) * d + (slice(s, s + length),))


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``a`` cut into at most ``chunks`` pieces of ``ceil(n / chunks)`` along
    ``dim`` (the last smaller), as ``torch.chunk``."""
    if chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be positive, got {chunks}")
    d = _dim(dim, max(a.ndim, 1), "chunk")
    n = a.shape[d]
    size = max(-(-n // chunks), 1) if n else 1
    return split(a, size, d) if n else tuple(split(a, [0], d)) * chunks


def tensor_split(
    a: Tensor, indices_or_sections: Any, dim: int = 0
) -> tuple[Tensor, ...]:
    """``a`` cut along ``dim`` into ``sections`` nearly equal pieces (the first
    ``n % sections`` one longer), or at the given indices."""
    d = _dim(dim, max(a.ndim, 1), "tensor_split")
    n = a.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.data.tolist() if ios.ndim else int(ios.item())
    if isinstance(ios, (int, np.integer)):
        k = int(ios)
        if k <= 0:
            raise ArgumentError(f"tensor_split: sections must be positive, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        cuts = [
            min(max(int(operator.index(i)) + (n if i < 0 else 0), 0), n) for i in ios
        ]
        bounds = [0, *cuts, n]
    lead = (slice(None),) * d
    return tuple(
        getitem(a, (*lead, slice(s, max(s, e)))) for s, e in itertools.pairwise(bounds)
    )


class Unbind(Function):
    """y_i = a's slice i along ``dim`` (views of a, one output each);  dL/da =
    the output gradients stacked along ``dim``.

    One node for all the slices: slicing with getitem gives each slice a
    backward that scatters into zeros of a's full shape, so reading all n
    slices (an RNN over its time steps) cost n full-size arrays and adds.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, *, dim):
        ctx.dim = dim
        moved = np.moveaxis(a, dim, 0)  # a view: the slices stay views of a
        return tuple(moved[i] for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim)


def unbind(a: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``a`` along ``dim``, that dim removed (views sharing a's
    version counter, as getitem's)."""
    d = _dim(dim, max(a.ndim, 1), "unbind")
    if a.ndim == 0:
        raise DimError("unbind: a 0-d tensor has no dim to unbind")
    if a.shape[d] == 0:
        return ()
    out = Unbind.apply(a, dim=d)
    for t in out:
        _share_version(t, a)
    return out


def movedim(a: Tensor, source: Any, destination: Any) -> Tensor:
    """``a`` with dims ``source`` moved to positions ``destination``."""
    src = _dims(source, a.ndim, "movedim")
    dst = _dims(destination, a.ndim, "movedim")
    if len(src) != len(dst):
        raise ArgumentError(
            f"movedim: source {source} and destination {destination} differ in length"
        )
    if a.ndim == 0:
        return a
    order = [i for i in range(a.ndim) if i not in src]
    for s_, d_ in sorted(zip(dst, src)):
        order.insert(s_, d_)
    return permute(a, order)


def t(a: Tensor) -> Tensor:
    """A 2-d tensor transposed (0-d and 1-d ones as they are), as ``torch.t``."""
    if a.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got shape {a.shape}")
    return transpose(a, 0, 1) if a.ndim == 2 else a


def swapaxes(a: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose`` (numpy's name; ``swapdims`` too)."""
    return transpose(a, axis0, axis1)


# -- broadcasting ----------------------------------------------------------------------


def broadcast_to(a: Tensor, shape: Any) -> Tensor:
    """``a`` broadcast to ``shape`` (a read-only view; -1 keeps a dim)."""
    return expand(a, tuple(shape))


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors broadcast to their common shape."""
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise ShapeError(
            "broadcast_tensors: shapes "
            + ", ".join(str(t.shape) for t in tensors)
            + " do not broadcast"
        ) from None
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d (or 0-d) tensors: with ``indexing='ij'`` the
    i-th grid varies along dim i; with ``'xy'`` the first two dims swap."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ArgumentError(
            f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}"
        )
    ts = [reshape(t, (-1,)) if t.ndim == 0 else t for t in tensors]
    for t in ts:
        if t.ndim != 1:
            raise ShapeError(f"meshgrid: expected 0-d or 1-d tensors, got {t.shape}")
    sizes = [t.shape[0] for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(ts):
        pos = ({0: 1, 1: 0}.get(i, i)) if swap else i
        view = [1] * len(ts)
        view[pos] = t.shape[0]
        out.append(expand(reshape(t, tuple(view)), tuple(sizes)))
    return tuple(out)


def unflatten(a: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """``a`` with dim ``dim`` split into ``sizes`` (one may be -1)."""
    d = _dim(dim, max(a.ndim, 1), "unflatten")
    sizes = tuple(sizes)
    if not sizes:
        raise ArgumentError("unflatten: sizes must be non-empty")
    return reshape(a, (*a.shape[:d], *sizes, *a.shape[d + 1 :]))


# -- stacks and atleast ----------------------------------------------------------------


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (a tuple of them for several)."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims (a 1-d one becomes a row)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    return _atleast(tensors, 3)


def _atleast(tensors: tuple[Any, ...], k: int) -> Any:
    one = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
    ts = tensors[0] if len(tensors) == 1 and not one else tensors
    out = []
    for t in ts:
        if t.ndim >= k:
            out.append(t)
        elif k == 1 or t.ndim == 0:
            out.append(reshape(t, (1,) * k))
        elif k == 2:
            out.append(reshape(t, (1, t.shape[0])))
        elif t.ndim == 1:
            out.append(reshape(t, (1, t.shape[0], 1)))
        else:
            out.append(unsqueeze(t, -1))
    return out[0] if one else tuple(out)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined along dim 1 (dim 0 for 1-d tensors)."""
    ts = atleast_1d(*tensors) if len(tensors) != 1 else (atleast_1d(tensors[0]),)
    return cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined along dim 0, 1-d tensors as rows."""
    return cat([atleast_2d(t) for t in tensors], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined along dim 2 (after atleast_3d)."""
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """1-d (and 0-d) tensors as columns, joined with 2-d ones along dim 1."""
    cols = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)
