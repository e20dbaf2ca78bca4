"""The functional forms of convolution, unfold / fold and padding, with
PyTorch's signatures (re-exported by ``minigrad.nn.functional``; pooling is
in ``_functional_pool``).

Layer: nn. Checks arguments (naming the op and the shapes), normalises ints
to per-dim tuples, accepts unbatched input as PyTorch does, and calls the ops
in :mod:`minigrad.ops.conv` and :mod:`minigrad.ops.pad`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.dtypes import result_type
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops import conv as _conv
from minigrad.ops.half import half_via_float32
from minigrad.ops.pad import pad
from minigrad.tensor import Tensor

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fold",
    "pad",
    "unfold",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
IntOrTuple = int | Sequence[int]


def _ntuple(v: Any, n: int, name: str, op: str, lo: int) -> tuple[int, ...]:
    """``v`` (an int, or a sequence of n ints) as n ints, each >= lo."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        t = (int(v),) * n
    elif isinstance(v, Sequence) and not isinstance(v, str) and len(v) == n:
        if not all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in v
        ):
            raise ArgumentError(f"{op}: {name} must hold ints, got {v!r}")
        t = tuple(int(e) for e in v)
    else:
        raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {v!r}")
    if min(t) < lo:
        raise ArgumentError(f"{op}: {name} must be >= {lo}, got {v!r}")
    return t


def _as_tensor(x: Any, op: str, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _floats(
    op: str, x: Tensor, w: Tensor, b: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """The tensors promoted to their common float dtype."""
    ts = (x, w, b)
    dt = None
    for t in ts:
        if t is not None:
            dt = t.dtype if dt is None else result_type(dt, t.dtype)
    if dt not in _FLOATS:
        raise TypeError(
            f"{op}: expected float32 or float64 tensors, got dtypes "
            f"{tuple(str(t.dtype) for t in ts if t is not None)}"
        )
    x, w = x.to(dt), w.to(dt)  # ``to`` is a no-op for a tensor of that dtype
    return x, w, (b if b is None else b.to(dt))


def _batched(x: Tensor, nd: int, op: str) -> tuple[Tensor, bool]:
    """(x with a batch dim, whether one was added): (C, *s) is unbatched."""
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    if x.ndim != nd + 2:
        raise ShapeError(
            f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, "
            f"got input of shape {x.shape}"
        )
    return x, False


def _groups(groups: Any, op: str) -> int:
    if (
        not isinstance(groups, (int, np.integer))
        or isinstance(groups, bool)
        or (groups < 1)
    ):
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _check_bias(bias: Tensor | None, c: int, w: Tensor, op: str) -> None:
    if bias is not None and tuple(bias.shape) != (c,):
        raise ShapeError(
            f"{op}: bias must have shape ({c},) for weight {w.shape}, got {bias.shape}"
        )


# -- convolution ---------------------------------------------------------------


@half_via_float32
def _conv_nd(
    nd: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: IntOrTuple,
    padding: IntOrTuple | str,
    dilation: IntOrTuple,
    groups: int,
) -> Tensor:
    op = f"conv{nd}d"
    x = _as_tensor(input, op, "input")
    w = _as_tensor(weight, op, "weight")
    b = None if bias is None else _as_tensor(bias, op, "bias")
    x, w, b = _floats(op, x, w, b)
    x, unbatched = _batched(x, nd, op)
    if w.ndim != nd + 2:
        raise ShapeError(
            f"{op}: weight must be {nd + 2}D (out_channels, in_channels / groups, "
            f"*kernel_size), got shape {w.shape}"
        )
    groups = _groups(groups, op)
    s = _ntuple(stride, nd, "stride", op, 1)
    d = _ntuple(dilation, nd, "dilation", op, 1)
    k = tuple(w.shape[2:])
    cin, cout = x.shape[1], w.shape[0]
    if cin % groups or cout % groups:
        raise ShapeError(
            f"{op}: in_channels ({cin}) and out_channels ({cout}) must be divisible "
            f"by groups={groups} (input {x.shape}, weight {w.shape})"
        )
    if w.shape[1] * groups != cin:
        raise ShapeError(
            f"{op}: weight {w.shape} with groups={groups} expects "
            f"{w.shape[1] * groups} input channels, but input {x.shape} has {cin}"
        )
    _check_bias(b, cout, w, op)
    if isinstance(padding, str):
        if padding == "valid":
            p = (0,) * nd
        elif padding == "same":
            if s != (1,) * nd:
                raise ArgumentError(
                    f"{op}: padding='same' is not supported for strided "
                    f"convolutions (stride {s})"
                )
            total = [di * (ki - 1) for di, ki in zip(d, k)]
            left = [t // 2 for t in total]
            if any(t % 2 for t in total):
                # PyTorch's rule: the odd extra zero goes on the right.
                widths: list[int] = []
                for t, lf in reversed(list(zip(total, left))):
                    widths += [lf, t - lf]
                x = pad(x, widths)
                left = [0] * nd
            p = tuple(left)
        else:
            raise ArgumentError(
                f"{op}: padding must be 'valid', 'same', an int or {nd} ints, got "
                f"{padding!r}"
            )
    else:
        p = _ntuple(padding, nd, "padding", op, 0)
    out = tuple(
        (i + 2 * pi - di * (ki - 1) - 1) // si + 1
        for i, pi, di, ki, si in zip(x.shape[2:], p, d, k, s)
    )
    if min(out) < 1:
        raise ShapeError(
            f"{op}: kernel size {k} (dilation {d}) is larger than the padded input "
            f"{tuple(i + 2 * pi for i, pi in zip(x.shape[2:], p))} (input "
            f"{x.shape}, padding {p}): output size {out}"
        )
    y = _conv.conv(x, w, b, stride=s, padding=p, dilation=d, groups=groups)
    return y.squeeze(0) if unbatched else y


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of input (N, C_in, L) or (C_in, L) with weight
    (C_out, C_in / groups, k): PyTorch's ``conv1d``."""
    return _conv_nd(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch).

    Parameters
    ----------
    input : Tensor, shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor, shape (C_out, C_in / groups, kH, kW)
    bias : Tensor, shape (C_out,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), 'valid' or 'same' (stride 1 only)
    groups : int, dividing C_in and C_out

    Returns
    -------
    Tensor, shape (N, C_out, H_out, W_out), H_out = floor((H + 2 pad -
    dilation (kH - 1) - 1) / stride) + 1

    Raises
    ------
    TypeError : non-float input
    ValueError : wrong rank, channels not divisible by groups, a kernel larger
        than the padded input
    """
    return _conv_nd(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution of input (N, C_in, D, H, W) or (C_in, D, H, W)."""
    return _conv_nd(3, input, weight, bias, stride, padding, dilation, groups)


@half_via_float32
def _conv_transpose_nd(
    nd: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
) -> Tensor:
    op = f"conv_transpose{nd}d"
    x = _as_tensor(input, op, "input")
    w = _as_tensor(weight, op, "weight")
    b = None if bias is None else _as_tensor(bias, op, "bias")
    x, w, b = _floats(op, x, w, b)
    x, unbatched = _batched(x, nd, op)
    if w.ndim != nd + 2:
        raise ShapeError(
            f"{op}: weight must be {nd + 2}D (in_channels, out_channels / groups, "
            f"*kernel_size), got shape {w.shape}"
        )
    groups = _groups(groups, op)
    s = _ntuple(stride, nd, "stride", op, 1)
    p = _ntuple(padding, nd, "padding", op, 0)
    op_ = _ntuple(output_padding, nd, "output_padding", op, 0)
    d = _ntuple(dilation, nd, "dilation", op, 1)
    k = tuple(w.shape[2:])
    cin = x.shape[1]
    if w.shape[0] != cin or cin % groups:
        raise ShapeError(
            f"{op}: input {x.shape} has {cin} channels; weight {w.shape} expects "
            f"{w.shape[0]}, divisible by groups={groups}"
        )
    cout = w.shape[1] * groups
    _check_bias(b, cout, w, op)
    for o, si, di in zip(op_, s, d):
        if o >= si and o >= di:
            raise ArgumentError(
                f"{op}: output_padding {op_} must be smaller than either stride "
                f"{s} or dilation {d}"
            )
    out = tuple(
        (i - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
        for i, si, pi, di, ki, oi in zip(x.shape[2:], s, p, d, k, op_)
    )
    if min(out) < 1 or min(x.shape[2:]) < 1:
        raise ShapeError(
            f"{op}: input {x.shape} with weight {w.shape}, stride {s}, padding "
            f"{p} gives output size {out}, which must be positive"
        )
    y = _conv.conv_transpose(
        x, w, output_size=out, stride=s, padding=p, dilation=d, groups=groups
    )
    if b is not None:
        y = y + b.reshape(1, cout, *([1] * nd))
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Tensor:
    """1-D transposed convolution, weight (C_in, C_out / groups, k)."""
    return _conv_transpose_nd(
        1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d in its input).

    Parameters
    ----------
    input : Tensor, shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor, shape (C_in, C_out / groups, kH, kW)
    output_padding : extra size on one side of the output, smaller than
        stride or dilation

    Returns
    -------
    Tensor, shape (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 pad +
    dilation (kH - 1) + output_padding + 1
    """
    return _conv_transpose_nd(
        2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Tensor:
    """3-D transposed convolution, weight (C_in, C_out / groups, kD, kH, kW)."""
    return _conv_transpose_nd(
        3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# -- unfold / fold -------------------------------------------------------------


@half_via_float32
def unfold(
    input: Tensor,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> Tensor:
    """The sliding patches of (N, C, H, W) (or (C, H, W)) as columns:
    (N, C·kH·kW, L), L the number of patch positions (PyTorch's ``unfold``,
    im2col).

    Raises
    ------
    ValueError : wrong rank, or a kernel larger than the padded input
    """
    op = "unfold"
    x = _as_tensor(input, op, "input")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{op}: expected float32 or float64 input, got {x.dtype}")
    x, unbatched = _batched(x, 2, op)
    k = _ntuple(kernel_size, 2, "kernel_size", op, 1)
    d = _ntuple(dilation, 2, "dilation", op, 1)
    p = _ntuple(padding, 2, "padding", op, 0)
    s = _ntuple(stride, 2, "stride", op, 1)
    out = [
        (i + 2 * pi - di * (ki - 1) - 1) // si + 1
        for i, pi, di, ki, si in zip(x.shape[2:], p, d, k, s)
    ]
    if min(out) < 1:
        raise ShapeError(
            f"{op}: kernel size {k} (dilation {d}) is larger than the padded input "
            f"(input {x.shape}, padding {p})"
        )
    y = _conv.im2col(x, kernel_size=k, stride=s, padding=p, dilation=d)
    return y.squeeze(0) if unbatched else y


@half_via_float32
def fold(
    input: Tensor,
    output_size: IntOrTuple,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> Tensor:
    """Sums columns (N, C·kH·kW, L) (or unbatched (C·kH·kW, L)) back into
    (N, C, *output_size), overlapping patches adding up (PyTorch's ``fold``,
    col2im: the adjoint of ``unfold``).

    Raises
    ------
    ValueError : wrong rank, or columns that do not match the patch count
    """
    op = "fold"
    x = _as_tensor(input, op, "input")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{op}: expected float32 or float64 input, got {x.dtype}")
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 3:
        raise ShapeError(
            f"{op}: expected 2D (unbatched) or 3D (batched) input, got input of "
            f"shape {x.shape}"
        )
    size = _ntuple(output_size, 2, "output_size", op, 1)
    k = _ntuple(kernel_size, 2, "kernel_size", op, 1)
    d = _ntuple(dilation, 2, "dilation", op, 1)
    p = _ntuple(padding, 2, "padding", op, 0)
    s = _ntuple(stride, 2, "stride", op, 1)
    out = [
        (i + 2 * pi - di * (ki - 1) - 1) // si + 1
        for i, pi, di, ki, si in zip(size, p, d, k, s)
    ]
    kk = k[0] * k[1]
    if min(out) < 1 or x.shape[1] % kk or x.shape[2] != out[0] * out[1]:
        raise ShapeError(
            f"{op}: input {x.shape} does not hold the {kk}-element patches of "
            f"kernel {k} at the {max(out[0], 0) * max(out[1], 0)} positions of "
            f"output size {size} (stride {s}, padding {p}, dilation {d})"
        )
    y = _conv.col2im(x, input_size=size, kernel_size=k, stride=s, padding=p, dilation=d)
    return y.squeeze(0) if unbatched else y
