"""The functional forms of resampling: max unpooling, adaptive max pooling,
``interpolate`` / ``upsample`` and pixel (un)shuffle, with PyTorch's
signatures and index / weight formulas (re-exported by
``minigrad.nn.functional``).

Layer: nn. Everything but unpooling is a composition of differentiable ops
(gathers, matmuls by small interpolation matrices, reshapes), so gradients of
gradients come for free.

# Note [Interpolation as matrices]
Every interpolating mode PyTorch has (linear, bilinear, trilinear, bicubic)
is separable: the output along each spatial dim is a fixed weighted sum of
input positions. We build that (in, out) matrix per dim with PyTorch's
source-index and weight formulas (UpSample.h: ``area_pixel_compute_scale``,
``area_pixel_compute_source_index``, ``guard_index_and_lambda``, the cubic
coefficients with A = -0.75, indices clamped to the edge) and apply one
matmul per dim. Nearest modes gather with PyTorch's float32 index arithmetic
(``nearest_idx``, ``nearest_exact_idx``), 'area' is adaptive average pooling.
Found by comparing with PyTorch 2.13 on thousands of sizes: its linear modes
copy a dim whose size does not change (whatever the factor), bicubic does
not; its 2-D nearest kernel copies an unchanged dim and halves a doubled
one, the 1-D and 3-D kernels do neither. We follow its forward exactly. Its
nearest backward always takes those shortcuts, so with a factor that does
not match the sizes PyTorch's gradient is not its forward's adjoint; ours
is. An empty output (size 0) is an error here (PyTorch's 'area' returns
an empty tensor, its other modes raise).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn._functional_conv import _FLOATS, IntOrTuple, _as_tensor, _ntuple
from minigrad.nn._functional_pool import (
    _pool_input,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
)
from minigrad.ops.half import half_via_float32
from minigrad.ops.resample import max_unpool
from minigrad.tensor import Tensor

__all__ = [
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "interpolate",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
]


# -- max unpooling -------------------------------------------------------------


@half_via_float32
def _max_unpool_nd(
    nd: int,
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    output_size: Any,
) -> Tensor:
    op = f"max_unpool{nd}d"
    x = _pool_input(input, nd, op)
    idx_t = _as_tensor(indices, op, "indices")
    idx = np.asarray(idx_t.data)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got {idx.dtype}")
    if idx.shape != x.shape:
        raise ShapeError(
            f"{op}: indices of shape {idx.shape} do not match input of shape {x.shape}"
        )
    k = _ntuple(kernel_size, nd, "kernel_size", op, 1)
    s = k if stride is None else _ntuple(stride, nd, "stride", op, 1)
    p = _ntuple(padding, nd, "padding", op, 0)
    ins = x.shape[x.ndim - nd :]
    default = tuple((i - 1) * si - 2 * pi + ki for i, si, pi, ki in zip(ins, s, p, k))
    if output_size is None:
        out = default
    else:
        osz = tuple(int(o) for o in output_size)
        if len(osz) == nd + 2 or (len(osz) == nd + 1 and x.ndim == nd + 1):
            osz = osz[len(osz) - nd :]
        if len(osz) != nd:
            raise ArgumentError(
                f"{op}: output_size must have {nd} (or {nd + 2}) elements, got "
                f"{output_size!r}"
            )
        for o, d, si in zip(osz, default, s):
            if not d - si < o < d + si:
                raise ShapeError(
                    f"{op}: invalid output_size {osz} for input {x.shape}: each size "
                    f"must be between {tuple(a - b for a, b in zip(default, s))} and "
                    f"{tuple(a + b for a, b in zip(default, s))} (exclusive)"
                )
        out = osz
    if min(out) < 1:
        raise ShapeError(f"{op}: output size {out} for input {x.shape} must be > 0")
    numel = math.prod(out)
    planes = math.prod(x.shape[: x.ndim - nd])
    flat_idx = idx.reshape(planes, -1).astype(np.int64, copy=False)
    if flat_idx.size and (flat_idx.min() < 0 or flat_idx.max() >= numel):
        raise ArgumentError(
            f"{op}: indices must lie in [0, {numel}) for output size {out}, got "
            f"values in [{flat_idx.min()}, {flat_idx.max()}]"
        )
    y = max_unpool(x.reshape(planes, -1), flat_idx, numel)
    return y.reshape(*x.shape[: x.ndim - nd], *out)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The partial inverse of ``max_pool1d``: (N, C, L) values put at their
    ``indices`` in zero rows of length (L - 1) stride - 2 padding + kernel
    (or ``output_size``)."""
    return _max_unpool_nd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The partial inverse of ``max_pool2d``.

    Parameters
    ----------
    input : Tensor (N, C, H, W) or (C, H, W), the pooled values
    indices : int Tensor of the same shape (``return_indices=True``): flat
        positions within each output plane
    kernel_size, stride (default: kernel_size), padding : the pooling's
    output_size : the (H_out, W_out) to produce (default
        (H - 1) stride - 2 padding + kernel); may include N and C

    Returns
    -------
    Tensor (N, C, H_out, W_out): zeros with each value at its index (where
    indices repeat, one copy lands; each gets the gradient, as in PyTorch)
    """
    return _max_unpool_nd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The partial inverse of ``max_pool3d`` on (N, C, D, H, W)."""
    return _max_unpool_nd(3, input, indices, kernel_size, stride, padding, output_size)


# -- adaptive max pooling ------------------------------------------------------


def _adaptive_out(x: Tensor, nd: int, op: str, output_size: Any) -> tuple[int, ...]:
    ins = x.shape[x.ndim - nd :]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    if not isinstance(output_size, Sequence) or len(output_size) != nd:
        raise ArgumentError(
            f"{op}: output_size must be an int or {nd} ints (or None), got "
            f"{output_size!r}"
        )
    out = tuple(i if o is None else int(o) for i, o in zip(ins, output_size))
    if min(out) < 1 or min(ins) < 1:
        raise ShapeError(
            f"{op}: output size {out} and input {x.shape} must be positive"
        )
    return out


def _adaptive_windows(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, K) input positions of PyTorch's adaptive windows
    floor(i n_in / n_out) .. ceil((i + 1) n_in / n_out) - 1, each padded to
    the widest K by repeating its last position (a repeat never changes the
    max, nor which position is found first)."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    width = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)


@half_via_float32
def _adaptive_max_pool_nd(
    nd: int, input: Any, output_size: Any, return_indices: bool
) -> Any:
    op = f"adaptive_max_pool{nd}d"
    x = _pool_input(input, nd, op)
    out = _adaptive_out(x, nd, op, output_size)
    ins = x.shape[x.ndim - nd :]
    lead = x.shape[: x.ndim - nd]
    planes = math.prod(lead)
    # Flat in-plane positions of every window: (*out, K_1 * .. * K_nd).
    wins = [_adaptive_windows(i, o) for i, o in zip(ins, out)]
    pos = np.zeros((1,) * (2 * nd), np.int64)
    for j, (w, n_in) in enumerate(zip(wins, ins)):
        shape = [1] * (2 * nd)
        shape[j], shape[nd + j] = w.shape
        pos = pos * n_in + w.reshape(shape)
    pos = pos.reshape(*out, -1)
    flat = np.ascontiguousarray(x.data).reshape(planes, -1)
    vals = flat[:, pos]  # (planes, *out, K)
    # PyTorch: the first maximum in scan order wins, a NaN always wins.
    nan = np.isnan(vals)
    arg = np.where(nan.any(-1), nan.argmax(-1), vals.argmax(-1))
    idx = np.take_along_axis(np.broadcast_to(pos, vals.shape), arg[..., None], -1)[
        ..., 0
    ].reshape(planes, -1)
    rows = np.broadcast_to(np.arange(planes)[:, None], idx.shape)
    y = x.reshape(planes, -1)[rows, idx].reshape(*lead, *out)
    if not return_indices:
        return y
    return y, Tensor._wrap(idx.reshape(*lead, *out))


def adaptive_max_pool1d(
    input: Tensor, output_size: IntOrTuple, return_indices: bool = False
) -> Any:
    """Max pooling of (N, C, L) to length ``output_size`` over PyTorch's
    adaptive windows (and the int64 argmax positions when asked for)."""
    return _adaptive_max_pool_nd(1, input, output_size, return_indices)


def adaptive_max_pool2d(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> Any:
    """Max pooling of (N, C, H, W) to ``output_size`` (int or pair; None keeps
    that dim) over PyTorch's adaptive windows; with ``return_indices`` also
    the int64 flat positions within each H x W plane (``max_unpool2d``'s)."""
    return _adaptive_max_pool_nd(2, input, output_size, return_indices)


def adaptive_max_pool3d(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> Any:
    """Max pooling of (N, C, D, H, W) to ``output_size`` over PyTorch's
    adaptive windows (indices: flat positions within each D x H x W volume)."""
    return _adaptive_max_pool_nd(3, input, output_size, return_indices)


# -- interpolate ---------------------------------------------------------------

_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "area", *_MODE_DIMS)


def _source_scale(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, dt: Any
) -> Any:
    """PyTorch's area_pixel_compute_scale, in the op's precision ``dt``."""
    if align_corners:
        return dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def _linear_matrix(
    n_in: int,
    n_out: int,
    align_corners: bool,
    scale: float | None,
    dtype: np.dtype,
    cubic: bool,
) -> np.ndarray:
    """(n_in, n_out): column j holds the weights of output j (Note
    [Interpolation as matrices])."""
    dt = dtype.type
    sc = _source_scale(n_in, n_out, align_corners, scale, dt)
    j = np.arange(n_out).astype(dtype)
    if align_corners:
        real = sc * j
    else:
        real = sc * (j + dt(0.5)) - dt(0.5)
        if not cubic:
            real = np.maximum(real, dt(0))
    base = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    t = np.clip(real - base.astype(dtype), dt(0), dt(1))
    if cubic:
        a = dt(-0.75)

        def near(v: np.ndarray) -> np.ndarray:  # |v| <= 1
            return ((a + 2) * v - (a + 3)) * v * v + 1

        def far(v: np.ndarray) -> np.ndarray:  # 1 < |v| < 2
            return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

        taps = np.stack([base - 1, base, base + 1, base + 2])
        weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)])
    else:
        taps = np.stack([base, base + (base < n_in - 1)])
        weights = np.stack([1 - t, t])
    m = np.zeros((n_in, n_out), dtype)
    cols = np.broadcast_to(np.arange(n_out), taps.shape)
    np.add.at(m, (np.clip(taps, 0, n_in - 1), cols), weights)
    return m


def _nearest_index(
    n_in: int, n_out: int, scale: float | None, exact: bool, legacy: bool
) -> np.ndarray:
    """PyTorch's CPU nearest indices, in float32 whatever the dtype (as its
    kernel computes them): floor(j s) or, exact, floor((j + 0.5) s) (the
    product in double, then rounded to float), at most n_in - 1, with
    s = 1 / scale_factor when given, else n_in / n_out. ``legacy``: the 2-D
    kernel's nearest_idx, which copies a dim of unchanged size and halves the
    index of a doubled one whatever the scale."""
    f32 = np.float32
    j = np.arange(n_out)
    if legacy and n_out == n_in:
        return j
    if legacy and n_out == 2 * n_in:
        return j >> 1
    sc = f32(1.0 / scale) if scale is not None and scale > 0 else f32(n_in) / f32(n_out)
    if exact:
        src = np.floor(((j + 0.5) * np.float64(sc)).astype(f32))
    else:
        src = np.floor(j.astype(f32) * sc)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _interp_sizes(
    x: Tensor,
    nd: int,
    size: Any,
    scale_factor: Any,
    mode: str,
    recompute_scale_factor: bool | None,
) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    op = "interpolate"
    if size is not None and scale_factor is not None:
        raise ArgumentError(f"{op}: only one of size or scale_factor should be given")
    ins = x.shape[2:]
    if size is not None:
        if recompute_scale_factor:
            raise ArgumentError(
                f"{op}: recompute_scale_factor is not meaningful with an explicit size"
            )
        sizes = _ntuple(size, nd, "size", op, 0)
        return sizes, (None,) * nd
    if scale_factor is None:
        raise ArgumentError(f"{op}: either size or scale_factor should be given")
    if isinstance(scale_factor, Sequence) and not isinstance(scale_factor, str):
        if len(scale_factor) != nd:
            raise ArgumentError(
                f"{op}: scale_factor must have {nd} elements for input of shape "
                f"{x.shape}, got {scale_factor!r}"
            )
        factors = tuple(scale_factor)
    else:
        factors = (scale_factor,) * nd
    if not all(
        isinstance(f, numbers.Real) and not isinstance(f, bool) for f in factors
    ):
        raise ArgumentError(f"{op}: scale_factor must be numbers, got {scale_factor!r}")
    if not all(math.isfinite(f) and f > 0 for f in factors):
        raise ArgumentError(
            f"{op}: scale_factor must be positive and finite, got {scale_factor!r}"
        )
    sizes = tuple(math.floor(float(i) * float(f)) for i, f in zip(ins, factors))
    if mode == "area" or recompute_scale_factor:
        return sizes, (None,) * nd
    return sizes, tuple(float(f) for f in factors)


@half_via_float32
def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resizes (N, C, *spatial) input (1-3 spatial dims), as PyTorch does.

    Parameters
    ----------
    input : Tensor (N, C, L), (N, C, H, W) or (N, C, D, H, W); float, or
        integer for the nearest modes
    size : the output's spatial size (int or one per dim), or
    scale_factor : a multiplier (or one per dim): size = floor(in * factor)
    mode : 'nearest' (PyTorch's legacy index, floor(j in / out)),
        'nearest-exact' (pixel centres), 'linear' (3-D), 'bilinear' /
        'bicubic' (4-D), 'trilinear' (5-D), 'area' (adaptive average)
    align_corners : for the interpolating modes: map corner pixel centres to
        corner pixel centres (default False)
    recompute_scale_factor : with ``scale_factor``, use in/out sizes rather
        than 1/factor for the source positions (default: the factor)
    antialias : not supported (must be False)

    Returns
    -------
    Tensor (N, C, *size)
    """
    op = "interpolate"
    if mode not in _MODES:
        raise ArgumentError(f"{op}: mode must be one of {_MODES}, got {mode!r}")
    x = _as_tensor(input, op, "input")
    if x.ndim not in (3, 4, 5):
        raise ShapeError(
            f"{op}: expected 3D, 4D or 5D input (N, C, *spatial), got input of shape "
            f"{x.shape}"
        )
    nd = x.ndim - 2
    if mode in _MODE_DIMS and _MODE_DIMS[mode] != nd:
        raise ShapeError(
            f"{op}: mode {mode!r} needs {_MODE_DIMS[mode] + 2}D input, got input of "
            f"shape {x.shape}"
        )
    if align_corners is not None and mode not in _MODE_DIMS:
        raise ArgumentError(
            f"{op}: align_corners can only be set with the interpolating modes "
            f"linear, bilinear, bicubic and trilinear, not {mode!r}"
        )
    if antialias:
        raise ArgumentError(f"{op}: antialias=True is not supported")
    if x.dtype not in _FLOATS and (
        mode not in ("nearest", "nearest-exact") or x.dtype.kind not in "iu"
    ):
        raise TypeError(
            f"{op}: mode {mode!r} expects float32 or float64 input"
            + (
                " (integers only with the nearest modes)"
                if x.dtype.kind in "iu"
                else ""
            )
            + f", got {x.dtype}"
        )
    sizes, scales = _interp_sizes(
        x, nd, size, scale_factor, mode, recompute_scale_factor
    )
    if min(sizes) < 1 or min(x.shape[2:]) < 1:
        raise ShapeError(
            f"{op}: input and output sizes must be > 0, got input {x.shape} and "
            f"output size {sizes}"
        )
    if mode == "area":
        pool = {1: adaptive_avg_pool1d, 2: adaptive_avg_pool2d, 3: adaptive_avg_pool3d}
        return pool[nd](x, sizes)
    ins = x.shape[2:]
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        index: list[Any] = [Ellipsis]
        for j, (i, o, s) in enumerate(zip(ins, sizes, scales)):
            shape = [1] * nd
            shape[j] = o
            legacy = nd == 2 and not exact
            index.append(_nearest_index(i, o, s, exact, legacy).reshape(shape))
        return x[tuple(index)]
    corners = bool(align_corners)
    y = x
    for j, (i, o, s) in enumerate(zip(ins, sizes, scales)):
        if i == o and mode != "bicubic":
            continue  # PyTorch copies a dim of unchanged size (any scale)
        m = _linear_matrix(i, o, corners, s, x.dtype, mode == "bicubic")
        dim = 2 + j
        y = (y.transpose(dim, -1) @ Tensor._wrap(m)).transpose(dim, -1)
    return y


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """``interpolate`` under its older name."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- pixel shuffle -------------------------------------------------------------


def _shuffle_input(input: Any, factor: Any, op: str, name: str) -> tuple[Tensor, int]:
    x = _as_tensor(input, op, "input")
    if x.ndim < 3:
        raise ShapeError(
            f"{op}: expected input with at least 3 dims (*, C, H, W), got {x.shape}"
        )
    if not isinstance(factor, (int, np.integer)) or isinstance(factor, bool):
        raise ArgumentError(f"{op}: {name} must be an int, got {factor!r}")
    if factor < 1:
        raise ArgumentError(f"{op}: {name} must be positive, got {factor}")
    return x, int(factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r², H, W) -> (*, C, H r, W r): each group of r² channels becomes
    an r x r block of pixels (PyTorch's channel order)."""
    op = "pixel_shuffle"
    x, r = _shuffle_input(input, upscale_factor, op, "upscale_factor")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(
            f"{op}: channels ({c}) of input {x.shape} must be divisible by the "
            f"square of upscale_factor ({r * r})"
        )
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r², H, W), the inverse of ``pixel_shuffle``."""
    op = "pixel_unshuffle"
    x, r = _shuffle_input(input, downscale_factor, op, "downscale_factor")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(
            f"{op}: height and width of input {x.shape} must be divisible by "
            f"downscale_factor ({r})"
        )
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)
