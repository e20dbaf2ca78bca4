"""nn.functional: the stateless forms of the layers and losses (``import
minigrad.nn.functional as F``).

Layer: nn. Calls the ops in :mod:`minigrad.ops` (the fused ``linear``,
activations, the fused losses in :mod:`minigrad.ops.loss`) and builds the rest
(batch_norm, layer_norm, dropout, embedding, the regression losses) from Tensor
ops, so every function here is differentiable twice.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.autograd._tape import recorded
from minigrad.autograd.grad_mode import no_grad
from minigrad.dtypes import canonical_dtype, to_array
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn._functional_act import (
    celu,
    celu_,
    elu,
    elu_,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    logsigmoid,
    mish,
    prelu,
    relu6,
    rrelu,
    rrelu_,
    selu,
    selu_,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
    threshold_,
)
from minigrad.nn._functional_attention import bilinear, scaled_dot_product_attention
from minigrad.nn._functional_conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    pad,
    unfold,
)
from minigrad.nn._functional_distance import (
    cosine_similarity,
    normalize,
    pairwise_distance,
)
from minigrad.nn._functional_loss import (
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    kl_div,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from minigrad.nn._functional_norm import (
    alpha_dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
    group_norm,
    instance_norm,
)
from minigrad.nn._functional_pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from minigrad.nn._functional_resample import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    interpolate,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
)
from minigrad.ops import loss as _loss

# ``linear`` is the fused op itself (y = input @ weightᵀ + bias, weight of shape
# (out_features, in_features)), re-exported so the hot path has no extra call.
from minigrad.ops.linalg import linear
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "alpha_dropout",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "elu_",
    "embedding",
    "feature_alpha_dropout",
    "fold",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "group_norm",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "hinge_embedding_loss",
    "huber_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "lp_pool1d",
    "lp_pool2d",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "mish",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pairwise_distance",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "rrelu",
    "rrelu_",
    "scaled_dot_product_attention",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
    "unfold",
    "upsample",
]


def _tensor(x: Any, op: str, name: str = "input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(to_array(x))
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _floating(x: Any, op: str, name: str = "input") -> Tensor:
    x = _tensor(x, op, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating point, got dtype {x.dtype}")
    return x


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# -- layers -------------------------------------------------------------------


def _inplace(input: Tensor, result: Tensor) -> Tensor:
    # Writes through the Tensor's public in-place API, so the graph and version
    # counter are updated exactly as for ``t.copy_``.
    return input.copy_(result)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0); ``inplace=True`` overwrites ``input``."""
    y = ops.relu(input)
    return _inplace(input, y) if inplace else y


def leaky_relu(
    input: Tensor, negative_slope: float = 0.01, inplace: bool = False
) -> Tensor:
    """input if input > 0 else negative_slope · input."""
    y = ops.leaky_relu(input, negative_slope)
    return _inplace(input, y) if inplace else y


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)), stable for large |input|."""
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return ops.tanh(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """input · Φ(input); ``approximate='tanh'`` uses PyTorch's tanh formula."""
    return ops.gelu(input, approximate)


def silu(input: Tensor) -> Tensor:
    """input · sigmoid(input) (swish)."""
    return ops.silu(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta · input)) / beta, linear where beta · input > threshold."""
    return ops.softplus(input, beta, threshold)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(input) normalized over ``dim`` (cast to ``dtype`` first if given)."""
    if dtype is not None:
        input = input.to(canonical_dtype(dtype, "softmax"))
    return ops.softmax(input, dim)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """input - logsumexp(input) over ``dim``."""
    if dtype is not None:
        input = input.to(canonical_dtype(dtype, "log_softmax"))
    return ops.log_softmax(input, dim)


@recorded()
def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Inverted dropout: zeroes each element with probability ``p`` and scales the
    rest by 1 / (1 - p), so the expected value is unchanged; the identity when
    ``training`` is False or ``p`` is 0.

    Parameters
    ----------
    input : Tensor, floating point, any shape
    p : float in [0, 1]
    generator : numpy Generator, optional (default: minigrad's, which
        ``mg.manual_seed`` reseeds)
    """
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout: probability has to be between 0 and 1, got {p}")
    x = _floating(input, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        keep = np.zeros(x.shape, np.bool_)
    else:
        draw = get_generator(generator).random(x.shape, dtype=x.dtype)
        # NOTE: keep with probability 1 - p: P(U >= p) = 1 - p for U ~ U[0, 1).
        keep = draw >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    if inplace:
        # Where saves only the mask, so x may then be overwritten; x * mask
        # would save x and fail the version check at backward.
        return _inplace(x, ops.where(keep, x, 0.0) * scale)
    mask = keep.astype(x.dtype)
    mask *= x.dtype.type(scale)
    return x * Tensor._wrap(mask)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each channel (dim 1) over the batch and any trailing dims.

    In training, uses the batch mean and biased variance and, when running
    statistics are given, updates them in place:
    ``running = (1 - momentum) · running + momentum · batch`` with the unbiased
    batch variance (PyTorch). Otherwise uses the running statistics.

    Parameters
    ----------
    input : Tensor, shape (N, C) or (N, C, L)
    running_mean, running_var : Tensor, shape (C,), or None
    weight, bias : Tensor, shape (C,), optional (the affine transform)

    Returns
    -------
    Tensor, the shape of ``input``
    """
    x = _floating(input, "batch_norm")
    if x.ndim < 2:
        raise ShapeError(
            f"batch_norm: expected input with at least 2 dims, got {x.shape}"
        )
    c = x.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(
                f"batch_norm: {name} has shape {tuple(t.shape)}, expected ({c},) "
                f"for input of shape {x.shape}"
            )
    dims = (0, *range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c if c else 0
        if n <= 1:
            raise ShapeError(
                "batch_norm: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        mean = x.mean(dims, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dims, keepdim=True)
        _update_running(running_mean, running_var, mean, var, n, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError(
                "batch_norm: running_mean and running_var must be given when not "
                "training"
            )
        centered = x - running_mean.detach().reshape(bshape)
        var = running_var.detach().reshape(bshape)
    y = centered / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def _update_running(
    running_mean: Tensor | None,
    running_var: Tensor | None,
    mean: Tensor,
    var: Tensor,
    n: int,
    momentum: float,
) -> None:
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1.0 - momentum).add_(mean.detach().reshape(-1) * momentum)
        if running_var is not None:
            unbiased = var.detach().reshape(-1) * (n / (n - 1))
            running_var.mul_(1.0 - momentum).add_(unbiased * momentum)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes over the last ``len(normalized_shape)`` dims (biased variance),
    then applies ``weight`` and ``bias`` of shape ``normalized_shape``.
    """
    x = _floating(input, "layer_norm")
    shape = _norm_shape(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise ShapeError(
            f"layer_norm: input of shape {x.shape} does not end with "
            f"normalized_shape {shape}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(
                f"layer_norm: {name} has shape {tuple(t.shape)}, expected {shape}"
            )
    dims = tuple(range(x.ndim - k, x.ndim))
    centered = x - x.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    y = centered / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _norm_shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _index_array(input: Any, op: str) -> np.ndarray:
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an int64 index tensor, got dtype {idx.dtype}")
    return idx


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
) -> Tensor:
    """Rows of ``weight`` selected by ``input``; the row at ``padding_idx``
    receives no gradient. With ``max_norm``, the referenced rows whose
    ``norm_type``-norm exceeds it are first rescaled to it, in place in
    ``weight`` and without grad (as PyTorch).

    Parameters
    ----------
    input : Tensor of int64, any shape, values in [0, num_embeddings)
    weight : Tensor, shape (num_embeddings, embedding_dim)

    Returns
    -------
    Tensor, shape input.shape + (embedding_dim,)
    """
    idx = _index_array(input, "embedding")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D, got shape {weight.shape}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise IndexError(
            f"embedding: index {bad} is out of range for {n} embeddings "
            f"(weight of shape {weight.shape})"
        )
    if max_norm is not None:
        _embedding_renorm(weight, idx, float(max_norm), float(norm_type))
    rows = weight[idx]
    if padding_idx is not None:
        pad = padding_idx + n if padding_idx < 0 else padding_idx
        mask = idx == pad
        if mask.any():
            rows = ops.where(mask[..., None], weight.detach()[idx], rows)
    return rows


def _embedding_renorm(
    weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float
) -> None:
    # PyTorch's rule: scale = max_norm / (norm + 1e-7) for rows over max_norm
    rows = np.unique(idx)
    if not rows.size:
        return
    w = weight.data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        r = rows[over]
        with no_grad():
            w[r] *= (max_norm / (norms[over] + 1e-7)).astype(w.dtype)[:, None]
            weight._version[0] += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """One-hot encoding: int64 of shape ``tensor.shape + (num_classes,)``.

    ``num_classes=-1`` infers it as ``max + 1``.

    Raises
    ------
    TypeError : ``tensor`` is not an integer tensor
    ValueError : negative values, values >= num_classes, or an empty tensor
        without ``num_classes``
    """
    idx = _index_array(tensor, "one_hot")
    if num_classes == -1:
        if idx.size == 0:
            raise ArgumentError(
                "one_hot: cannot infer the number of classes from an empty tensor"
            )
        num_classes = int(idx.max()) + 1
    elif num_classes < 0:
        raise ArgumentError(
            f"one_hot: num_classes must be >= 0 or -1, got {num_classes}"
        )
    if idx.size:
        if idx.min() < 0:
            raise ArgumentError(
                f"one_hot: class values must be non-negative, got {int(idx.min())}"
            )
        if idx.max() >= num_classes:
            raise ArgumentError(
                f"one_hot: class values must be smaller than num_classes "
                f"({num_classes}), got {int(idx.max())}"
            )
    out = np.zeros((*idx.shape, num_classes), np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._wrap(out)


# -- losses -------------------------------------------------------------------


def _pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    x = _floating(input, op)
    t = _tensor(target, op, "target")
    if t.shape != x.shape:
        try:
            np.broadcast_shapes(x.shape, t.shape)
        except ValueError:
            raise ShapeError(
                f"{op}: target shape {t.shape} does not broadcast with input "
                f"shape {x.shape}"
            ) from None
        warnings.warn(
            f"{op}: target shape {t.shape} differs from input shape {x.shape}; "
            "they will be broadcast, which is likely to give wrong results",
            UserWarning,
            stacklevel=3,
        )
    return x, t


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input - target)², reduced by ``reduction`` ('mean' | 'sum' | 'none')."""
    _loss._check_reduction(reduction, "mse_loss")
    x, t = _pair(input, target, "mse_loss")
    d = x - t
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced by ``reduction``."""
    _loss._check_reduction(reduction, "l1_loss")
    x, t = _pair(input, target, "l1_loss")
    return _reduce((x - t).abs(), reduction)


def smooth_l1_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (d = input - target)."""
    _loss._check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, t = _pair(input, target, "smooth_l1_loss")
    d = x - t
    a = d.abs()
    if beta == 0.0:
        return _reduce(a, reduction)
    loss = ops.where((a < beta).data, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """0.5·d² where |d| <= delta, else delta·(|d| - 0.5·delta)."""
    _loss._check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ArgumentError(f"huber_loss: delta must be positive, got {delta}")
    x, t = _pair(input, target, "huber_loss")
    d = x - t
    a = d.abs()
    loss = ops.where((a <= delta).data, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce(loss, reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w·(t·log(p) + (1 - t)·log(1 - p)) for probabilities p = input, with the
    logs clamped at -100 (PyTorch)."""
    return _loss.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from the logits;
    ``pos_weight`` scales the positive term per class."""
    return _loss.binary_cross_entropy_with_logits(
        input, target, weight=weight, reduction=reduction, pos_weight=pos_weight
    )


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits ``input`` (N, C) or (N, C, d...) against
    class indices ``target`` (N,) or (N, d...), or class probabilities of the
    input's shape; fused and stable (:mod:`minigrad.ops.loss`)."""
    return _loss.cross_entropy(
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """-input[n, target[n]] · weight[target[n]] for log-probabilities ``input``."""
    return _loss.nll_loss(
        input, target, weight=weight, ignore_index=ignore_index, reduction=reduction
    )
