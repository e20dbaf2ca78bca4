"""The functional forms of group and instance normalization and channel-wise
dropout, with PyTorch's signatures (re-exported by ``minigrad.nn.functional``).

Layer: nn. Compositions of differentiable Tensor ops (means, products,
reshapes), so gradients of gradients work without new Functions.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.autograd._tape import recorded
from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn._functional_conv import _FLOATS, _as_tensor
from minigrad.ops.half import half_via_float32
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = ["dropout1d", "dropout2d", "dropout3d", "group_norm", "instance_norm"]


def _float_input(input: Any, op: str) -> Tensor:
    x = _as_tensor(input, op, "input")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{op}: expected float32 or float64 input, got {x.dtype}")
    return x


def _check_channel_param(op: str, name: str, t: Any, c: int, shape: Any) -> None:
    if t is not None and tuple(t.shape) != (c,):
        raise ShapeError(
            f"{op}: {name} has shape {tuple(t.shape)}, expected ({c},) for input of "
            f"shape {shape}"
        )


def _affine(y: Tensor, weight: Any, bias: Any, bshape: tuple[int, ...]) -> Tensor:
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


@half_via_float32
def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes (N, C, *) over each group of C / num_groups channels (and
    all trailing dims) per sample, with the biased variance, then applies the
    per-channel ``weight`` and ``bias`` (shape (C,)) when given."""
    op = "group_norm"
    x = _float_input(input, op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input with at least 2 dims, got {x.shape}")
    n, c = x.shape[:2]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
        raise ArgumentError(
            f"{op}: num_groups must be a positive int, got {num_groups!r}"
        )
    if c % num_groups:
        raise ShapeError(
            f"{op}: {c} channels of input {x.shape} are not divisible by num_groups "
            f"({num_groups})"
        )
    _check_channel_param(op, "weight", weight, c, x.shape)
    _check_channel_param(op, "bias", bias, c, x.shape)
    g = x.reshape(n, num_groups, -1)
    mean = g.mean(-1, keepdim=True)
    centered = g - mean
    var = (centered * centered).mean(-1, keepdim=True)
    y = (centered / (var + eps).sqrt()).reshape(*x.shape)
    return _affine(y, weight, bias, (1, c) + (1,) * (x.ndim - 2))


@half_via_float32
def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each channel of each sample of (N, C, *spatial) over its
    spatial dims.

    With ``use_input_stats`` (training, or no running statistics) it uses the
    sample's mean and biased variance and, when running statistics are given,
    updates them in place with the batch averages of the per-sample mean and
    unbiased variance (PyTorch's numbers); otherwise it normalizes with the
    running statistics. ``weight`` / ``bias`` of shape (C,) are the affine
    transform.
    """
    op = "instance_norm"
    x = _float_input(input, op)
    if x.ndim < 3:
        raise ShapeError(
            f"{op}: expected input (N, C, *spatial) with at least 3 dims, got {x.shape}"
        )
    c = x.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_channel_param(op, name, t, c, x.shape)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    dims = tuple(range(2, x.ndim))
    if use_input_stats:
        m = math.prod(x.shape[2:])
        if m <= 1:
            raise ShapeError(
                f"{op}: expected more than 1 spatial element when training, got "
                f"input of shape {x.shape}"
            )
        mean = x.mean(dims, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dims, keepdim=True)
        with no_grad():
            if running_mean is not None:
                batch = mean.detach().reshape(x.shape[0], c).mean(0)
                running_mean.mul_(1.0 - momentum).add_(batch * momentum)
            if running_var is not None:
                unbiased = var.detach().reshape(x.shape[0], c).mean(0) * (m / (m - 1))
                running_var.mul_(1.0 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError(
                f"{op}: running_mean and running_var must be given when "
                "use_input_stats is False"
            )
        centered = x - running_mean.detach().reshape(bshape)
        var = running_var.detach().reshape(bshape)
    return _affine(centered / (var + eps).sqrt(), weight, bias, bshape)


@recorded()
def _feature_dropout(
    op: str,
    input: Any,
    p: float,
    training: bool,
    inplace: bool,
    generator: np.random.Generator | None,
) -> Tensor:
    """Zeroes whole channels (dim 1 of (N, C, *)) with probability ``p`` and
    scales the rest by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{op}: probability has to be between 0 and 1, got {p}")
    x = _float_input(input, op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input (N, C, *) , got {x.shape}")
    if not training or p == 0.0:
        return x
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if p == 1.0:
        keep = np.zeros(shape, np.bool_)
    else:
        # NOTE: keep with probability 1 - p: P(U >= p) = 1 - p for U ~ U[0, 1).
        keep = get_generator(generator).random(shape, dtype=x.dtype) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    if inplace:
        # Where saves only the mask, so x may then be overwritten (as dropout).
        return x.copy_(ops.where(np.broadcast_to(keep, x.shape), x, 0.0) * scale)
    mask = keep.astype(x.dtype) * x.dtype.type(scale)
    return x * Tensor._wrap(mask)


def _batched(op: str, input: Any, nd: int) -> tuple[Tensor, bool]:
    """(N, C, *spatial) view of batched or unbatched input, and whether it was
    unbatched (PyTorch's dropout1d / dropout3d)."""
    x = _float_input(input, op)
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(
            f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got "
            f"input of shape {x.shape}"
        )
    return (x.unsqueeze(0), True) if x.ndim == nd + 1 else (x, False)


def dropout1d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L)."""
    x, unbatched = _batched("dropout1d", input, 1)
    y = _feature_dropout(
        "dropout1d", x, p, training, inplace and not unbatched, generator
    )
    return y[0] if unbatched else y


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Channel-wise dropout: zeroes each whole channel of (N, C, H, W) with
    probability ``p`` and scales the others by 1 / (1 - p); the identity when
    not ``training``.

    As in PyTorch, a 3-D input is taken as (N, C, L) (with a warning), and
    other ranks get the same channel-wise dropout with a warning.
    """
    x = _float_input(input, "dropout2d")
    if x.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: received a {x.ndim}-D input; dropout2d expects 3-D or 4-D "
            "input (channel-wise dropout over dim 1 is applied)",
            stacklevel=2,
        )
    elif x.ndim == 3:
        warnings.warn(
            "dropout2d: received a 3-D input, taken as (N, C, L) with channel-wise "
            "dropout over dim 1 (as PyTorch does); use dropout1d for that",
            stacklevel=2,
        )
    return _feature_dropout("dropout2d", x, p, training, inplace, generator)


def dropout3d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Channel-wise dropout of (N, C, D, H, W) or (C, D, H, W)."""
    x, unbatched = _batched("dropout3d", input, 3)
    y = _feature_dropout(
        "dropout3d", x, p, training, inplace and not unbatched, generator
    )
    return y[0] if unbatched else y


# SELU's negative saturation, -scale·alpha: the value dropped units take, so that
# alpha dropout keeps SELU's zero mean and unit variance.
_SELU_NEG_SAT = 1.7580993408473766


@recorded()
def _alpha_dropout(
    op: str,
    input: Any,
    p: float,
    training: bool,
    inplace: bool,
    generator: np.random.Generator | None,
    per_channel: bool,
) -> Tensor:
    """Sets dropped units to SELU's saturation value -alpha' and applies the affine
    map a·y + b (a = ((1 - p)(1 + p·alpha'²))^-1/2, b = a·alpha'·p) that restores mean 0
    and variance 1 (Klambauer et al. 2017, as PyTorch)."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{op}: probability has to be between 0 and 1, got {p}")
    x = _float_input(input, op)
    if per_channel and x.ndim < 2:
        raise ShapeError(f"{op}: expected input (N, C, *), got {x.shape}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        y = x * 0.0
        return x.copy_(y) if inplace else y
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if per_channel else x.shape
    keep = (get_generator(generator).random(shape) >= p).astype(x.dtype)
    a = 1.0 / math.sqrt((_SELU_NEG_SAT**2 * p + 1.0) * (1.0 - p))
    scale = Tensor._wrap((keep * a).astype(x.dtype))
    shift = Tensor._wrap(
        ((keep - 1.0) * (_SELU_NEG_SAT * a) + _SELU_NEG_SAT * a * p).astype(x.dtype)
    )
    y = x * scale + shift
    return x.copy_(y) if inplace else y


def alpha_dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Dropout for SELU networks: keeps mean 0 and variance 1 of its input.
    ``training`` defaults to False, as in PyTorch."""
    return _alpha_dropout(
        "alpha_dropout", input, p, training, inplace, generator, False
    )


def feature_alpha_dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Alpha dropout of whole channels (dim 1 of (N, C, *))."""
    return _alpha_dropout(
        "feature_alpha_dropout", input, p, training, inplace, generator, True
    )
