"""More tensor factories with PyTorch's signatures: logspace, randint_like,
multinomial, bernoulli, normal, tril_indices, triu_indices. Layer: core.

Random results are not differentiable (PyTorch gives no gradient through
sampling either), so none of these record a graph.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from minigrad.autograd._tape import recorded
from minigrad.creation import _make, _shape
from minigrad.dtypes import DTypeError, canonical_dtype, float32
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = [
    "bernoulli",
    "logspace",
    "multinomial",
    "normal",
    "randint_like",
    "tril_indices",
    "triu_indices",
]


@recorded()
def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``; float32 by default."""
    steps = operator.index(steps)
    if steps < 0:
        raise ArgumentError(
            f"logspace: number of steps must be non-negative, got {steps}"
        )
    dt = float32 if dtype is None else canonical_dtype(dtype)
    arr = np.power(float(base), np.linspace(float(start), float(end), steps))
    if dt.kind in "iu":
        arr = np.trunc(arr)
    return _make(arr.astype(dt), requires_grad)


@recorded()
def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Integers uniform on [low, high) in ``input``'s shape and (unless given)
    dtype; ``randint_like(x, 5)`` draws from [0, 5) as in PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"randint_like: input must be a Tensor, got {type(input).__name__}"
        )
    if high is None:
        low, high = 0, low
    low, high = operator.index(low), operator.index(high)
    if low >= high:
        raise ArgumentError(
            f"randint_like: low ({low}) must be less than high ({high})"
        )
    dt = input.dtype if dtype is None else canonical_dtype(dtype)
    if requires_grad and dt.kind != "f":
        raise ArgumentError(
            f"randint_like: only floating tensors can require grad, got {dt}"
        )
    arr = get_generator(generator).integers(low, high, size=input.shape)
    return _make(np.asarray(arr).astype(dt), requires_grad)


@recorded()
def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Category indices drawn by the (unnormalised) weights in each row of
    ``input`` (1-D or 2-D); int64 of shape ``(num_samples,)`` or
    ``(rows, num_samples)``. Without replacement each category comes at most once.
    """
    if not isinstance(input, Tensor):
        raise TypeError(
            f"multinomial: input must be a Tensor, got {type(input).__name__}"
        )
    if input.dtype.kind != "f":
        raise DTypeError(f"multinomial: only floating probabilities, got {input.dtype}")
    if input.ndim not in (1, 2):
        raise ShapeError(
            f"multinomial: prob_dist must be 1 or 2 dim, got shape {input.shape}"
        )
    num_samples = operator.index(num_samples)
    if num_samples <= 0:
        raise ArgumentError(
            f"multinomial: cannot sample n_sample <= 0 samples ({num_samples})"
        )
    w = np.asarray(input.data, dtype=np.float64).reshape(-1, input.shape[-1])
    k = w.shape[1]
    if k == 0:
        raise ShapeError(
            f"multinomial: number of categories cannot be zero (shape {input.shape})"
        )
    if not replacement and num_samples > k:
        raise ArgumentError(
            f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist "
            f"size ({k}) samples without replacement"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ArgumentError(
            "multinomial: probability tensor contains either inf, nan or element < 0"
        )
    sums = w.sum(axis=1)
    if np.any(sums <= 0):
        raise ArgumentError(
            "multinomial: invalid distribution, a row has zero total probability"
        )
    gen = get_generator(generator)
    out = np.empty((w.shape[0], num_samples), np.int64)
    for r in range(w.shape[0]):
        p = w[r] / sums[r]
        if replacement:
            out[r] = gen.choice(k, size=num_samples, replace=True, p=p)
        else:
            # Gumbel-top-k: sequential draws without replacement in one pass;
            # zero-weight categories get -inf keys and come last, in index order
            # (PyTorch also returns them rather than raising)
            with np.errstate(divide="ignore"):
                keys = np.log(p) + gen.gumbel(size=k)
            out[r] = np.argsort(-keys, kind="stable")[:num_samples]
    return Tensor._wrap(out.reshape((*input.shape[:-1], num_samples)))


@recorded()
def bernoulli(
    input: Tensor,
    p: float | None = None,
    *,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """0/1 draws with probability ``input`` (or the scalar ``p``), keeping
    ``input``'s floating dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"bernoulli: input must be a Tensor, got {type(input).__name__}"
        )
    if input.dtype.kind != "f":
        raise DTypeError(f"bernoulli: input must be floating, got {input.dtype}")
    probs = (
        np.asarray(input.data, np.float64)
        if p is None
        else np.full(input.shape, float(p))
    )
    if np.any(~((probs >= 0) & (probs <= 1))):
        raise ArgumentError("bernoulli: all probabilities must be in [0, 1]")
    u = get_generator(generator).random(input.shape)
    return Tensor._wrap((u < probs).astype(input.dtype))


@recorded()
def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: np.random.Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples: tensor mean and/or std broadcast (result dtype is theirs),
    or float mean and std with ``size`` (float32 unless ``dtype``)."""
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if mt or st:
        if size is not None:
            raise ArgumentError("normal: size is only accepted with float mean and std")
        if dtype is not None:
            raise ArgumentError(
                "normal: dtype is only accepted with float mean and std"
            )
        for name, v in (("mean", mean), ("std", std)):
            if isinstance(v, Tensor) and v.dtype.kind != "f":
                raise DTypeError(
                    f"normal: {name} must be a floating tensor, got {v.dtype}"
                )
        m = mean.data if mt else np.float64(mean)
        s = std.data if st else np.float64(std)
        if np.any(np.asarray(s) < 0):
            raise ArgumentError("normal: expects all elements of std >= 0.0")
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise ShapeError(
                f"normal: mean {np.shape(m)} and std {np.shape(s)} do not broadcast"
            ) from None
        dt = (
            mean.dtype
            if not st
            else std.dtype
            if not mt
            else np.result_type(mean.dtype, std.dtype)
        )
        z = get_generator(generator).standard_normal(shape)
        return _make((m + s * z).astype(dt), requires_grad)
    if size is None:
        raise ArgumentError("normal: with float mean and std, size is required")
    if float(std) < 0:
        raise ArgumentError(f"normal: expects std >= 0.0, got {std}")
    dt = float32 if dtype is None else canonical_dtype(dtype)
    z = get_generator(generator).standard_normal(_shape((size,), "normal"))
    return _make((float(mean) + float(std) * z).astype(dt), requires_grad)


def _tri_indices(
    row: int, col: int, offset: int, dtype: Any, lower: bool, op: str
) -> Tensor:
    row, col, offset = operator.index(row), operator.index(col), operator.index(offset)
    if row < 0 or col < 0:
        raise ArgumentError(
            f"{op}: row and col must be non-negative, got ({row}, {col})"
        )
    dt = canonical_dtype(np.int64 if dtype is None else dtype)
    if dt not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise DTypeError(f"{op}: dtype must be int64 or int32, got {dt}")
    r, c = np.indices((row, col)).reshape(2, -1)
    keep = (c - r <= offset) if lower else (c - r >= offset)
    return Tensor._wrap(np.stack([r[keep], c[keep]]).astype(dt))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None) -> Tensor:
    """Row-major (2, N) indices of the lower triangle of a ``row x col`` matrix,
    diagonal shifted by ``offset``."""
    return _tri_indices(row, col, offset, dtype, True, "tril_indices")


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None) -> Tensor:
    """Row-major (2, N) indices of the upper triangle of a ``row x col`` matrix,
    diagonal shifted by ``offset``."""
    return _tri_indices(row, col, offset, dtype, False, "triu_indices")
