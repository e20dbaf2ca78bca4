"""The functional forms of pooling (max, average, adaptive average over 1-3
spatial dims), with PyTorch's signatures (re-exported by
``minigrad.nn.functional``).

Layer: nn. Checks arguments (naming the op and the shapes), normalises ints
to per-dim tuples and calls the ops in :mod:`minigrad.ops.pool` (adaptive
pooling with unequal windows is built from matmuls, see below). Unbatched
input (C, *spatial) is pooled as it is: every leading dim is a plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad._C._pool import output_size as _pool_out
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn._functional_conv import _FLOATS, IntOrTuple, _as_tensor, _ntuple
from minigrad.ops import pool as _pool
from minigrad.ops.half import half_via_float32
from minigrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
]


def _pool_input(input: Any, nd: int, op: str) -> Tensor:
    x = _as_tensor(input, op, "input")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{op}: expected float32 or float64 input, got {x.dtype}")
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(
            f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, "
            f"got input of shape {x.shape}"
        )
    return x


def _pool_geom(
    x: Tensor,
    nd: int,
    op: str,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
) -> tuple[tuple[int, ...], ...]:
    k = _ntuple(kernel_size, nd, "kernel_size", op, 1)
    s = (
        k
        if stride is None or (isinstance(stride, Sequence) and len(stride) == 0)
        else _ntuple(stride, nd, "stride", op, 1)
    )
    p = _ntuple(padding, nd, "padding", op, 0)
    d = _ntuple(dilation, nd, "dilation", op, 1)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ArgumentError(
            f"{op}: padding {p} should be at most half of kernel size {k}"
        )
    out = _pool_out(x.shape[x.ndim - nd :], k, s, p, d, bool(ceil_mode))
    if min(out) < 1:
        raise ShapeError(
            f"{op}: kernel size {k} (dilation {d}) is larger than the padded input "
            f"(input {x.shape}, padding {p}): output size {out}"
        )
    return k, s, p, d, out


@half_via_float32
def _max_pool_nd(
    nd: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    op = f"max_pool{nd}d"
    x = _pool_input(input, nd, op)
    k, s, p, d, out = _pool_geom(
        x, nd, op, kernel_size, stride, padding, dilation, ceil_mode
    )
    y, idx = _pool.max_pool(
        x, kernel_size=k, stride=s, padding=p, dilation=d, out_size=out
    )
    return (y, idx) if return_indices else y


def max_pool1d(
    input: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """1-D max pooling of (N, C, L) or (C, L)."""
    return _max_pool_nd(
        1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """2-D max pooling.

    Parameters
    ----------
    input : Tensor, shape (N, C, H, W) or (C, H, W)
    kernel_size, stride (default: kernel_size), padding (at most half the
        kernel; padding never wins the max), dilation : int or (int, int)
    ceil_mode : round the output size up (a last window may hang over)
    return_indices : also return the int64 flat positions (within each
        H x W plane) of the maxima, PyTorch's layout

    Returns
    -------
    Tensor (N, C, H_out, W_out), and the indices when asked for
    """
    return _max_pool_nd(
        2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(
    input: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """3-D max pooling of (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool_nd(
        3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


@half_via_float32
def _avg_pool_nd(
    nd: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    op = f"avg_pool{nd}d"
    x = _pool_input(input, nd, op)
    k, s, p, _d, out = _pool_geom(x, nd, op, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (
        not isinstance(divisor_override, (int, np.integer))
        or isinstance(divisor_override, bool)
        or divisor_override < 1
    ):
        raise ArgumentError(
            f"{op}: divisor_override must be a positive int, got {divisor_override!r}"
        )
    return _pool.avg_pool(
        x,
        kernel_size=k,
        stride=s,
        padding=p,
        out_size=out,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling of (N, C, L) or (C, L)."""
    return _avg_pool_nd(
        1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling of (N, C, H, W) or (C, H, W).

    The divisor is ``divisor_override`` when given, else the window's size
    counting the zero padding (``count_include_pad``) or only the input
    positions it covers.
    """
    return _avg_pool_nd(
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d(
    input: Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling of (N, C, D, H, W) or (C, D, H, W)."""
    return _avg_pool_nd(
        3,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _adaptive_matrix(n_in: int, n_out: int, dtype: Any) -> np.ndarray:
    """(n_in, n_out): column i averages input positions floor(i n_in / n_out)
    .. ceil((i + 1) n_in / n_out) - 1 (PyTorch's windows)."""
    m = np.zeros((n_in, n_out), dtype)
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -((-(i + 1) * n_in) // n_out)
        m[a:b, i] = 1.0 / (b - a)
    return m


@half_via_float32
def _adaptive_avg_pool_nd(nd: int, input: Any, output_size: Any) -> Tensor:
    op = f"adaptive_avg_pool{nd}d"
    x = _pool_input(input, nd, op)
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
    if all(i % o == 0 for i, o in zip(ins, out)):
        k = tuple(i // o for i, o in zip(ins, out))
        return _pool.avg_pool(
            x, kernel_size=k, stride=k, padding=(0,) * nd, out_size=out
        )
    # Windows of unequal sizes: pooling is separable, one matrix per dim.
    y = x
    for j, (i, o) in enumerate(zip(ins, out)):
        dim = x.ndim - nd + j
        m = Tensor._wrap(_adaptive_matrix(i, o, x.dtype))
        y = (y.transpose(dim, -1) @ m).transpose(dim, -1)
    return y


def adaptive_avg_pool1d(input: Tensor, output_size: IntOrTuple) -> Tensor:
    """Average pooling of (N, C, L) to length ``output_size``."""
    return _adaptive_avg_pool_nd(1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, H, W) to ``output_size`` (int or pair; None
    keeps that dim), with PyTorch's windows."""
    return _adaptive_avg_pool_nd(2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, D, H, W) to ``output_size``."""
    return _adaptive_avg_pool_nd(3, input, output_size)


def _lp_pool_nd(
    nd: int,
    input: Any,
    norm_type: float,
    kernel_size: Any,
    stride: Any,
    ceil_mode: bool,
) -> Tensor:
    op = f"lp_pool{nd}d"
    x = _pool_input(input, nd, op)
    if not isinstance(norm_type, (int, float, np.number)) or not norm_type > 0:
        raise ArgumentError(
            f"{op}: norm_type must be a positive number, got {norm_type!r}"
        )
    k, s, p, _d, out = _pool_geom(x, nd, op, kernel_size, stride, 0, 1, ceil_mode)
    # PyTorch: (k * mean over the window of x^p)^(1/p), the window's p-norm.
    mean = _pool.avg_pool(
        x**norm_type, kernel_size=k, stride=s, padding=p, out_size=out
    )
    return (mean * float(np.prod(k))) ** (1.0 / norm_type)


def lp_pool1d(
    input: Tensor,
    norm_type: float,
    kernel_size: int,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling of (N, C, L): each window's p-norm
    (sum of x^p)^(1/p), ``norm_type`` = p (PyTorch's formula)."""
    return _lp_pool_nd(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Tensor,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling of (N, C, H, W): each window's p-norm
    (sum of x^p)^(1/p), ``norm_type`` = p (PyTorch's formula; p = 1 is sum
    pooling, large p approaches max pooling)."""
    return _lp_pool_nd(2, input, norm_type, kernel_size, stride, ceil_mode)
