"""More nn.functional losses: kl_div, poisson_nll_loss, gaussian_nll_loss, the
margin losses (margin_ranking, hinge_embedding, triplet_margin,
cosine_embedding, soft_margin, multilabel_soft_margin, multi_margin).

Layer: nn. Every loss is a composite of differentiable Tensor ops (no Function
of its own), so each is differentiable twice. Where PyTorch's formula can
overflow, the stable form is used (softplus instead of log(1 + exp(z))).
Signatures, defaults, broadcasting and errors follow PyTorch; the deprecated
``size_average`` / ``reduce`` map to ``reduction`` with a warning, as there.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn._functional_distance import pairwise_distance
from minigrad.ops.loss import (
    TargetOutOfRangeError,
    _as_tensor,
    _check_reduction,
    _reduce,
)
from minigrad.tensor import Tensor

__all__ = [
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "kl_div",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]

_INF = math.inf


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str, op: str) -> str:
    """PyTorch's mapping of the deprecated flags: either one set overrides
    ``reduction`` (reduce=False -> 'none', else size_average -> 'mean'/'sum')."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else bool(size_average)
    reduce = True if reduce is None else bool(reduce)
    ret = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(
        f"{op}: size_average and reduce are deprecated, use reduction='{ret}' instead",
        UserWarning,
        stacklevel=3,
    )
    return ret


def _floating(x: Any, op: str, name: str = "input") -> Tensor:
    x = _as_tensor(x, op, name)
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: {name} must be floating point, got dtype {x.dtype}")
    return x


def _broadcast(op: str, **named: Tensor) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*(t.shape for t in named.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {tuple(t.shape)}" for k, t in named.items())
        raise ShapeError(f"{op}: shapes do not broadcast: {shapes}") from None


def _start(
    op: str, reduction: str, size_average: Any = None, reduce: Any = None
) -> str:
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    _check_reduction(reduction, op)
    return reduction


# -- divergences and likelihoods ------------------------------------------------


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Pointwise KL divergence target·(log target - input) for log-probabilities
    ``input``; ``log_target`` means ``target`` holds log-probabilities too.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL);
    'mean' divides by the element count and warns, as in PyTorch.
    """
    op = "kl_div"
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    if reduction != "batchmean":
        _check_reduction(reduction, op)
    x = _floating(input, op)
    t = _floating(target, op, "target")
    _broadcast(op, input=x, target=t)
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch "
            "size and the support size; 'batchmean' divides only by the batch "
            "size and matches the KL divergence's definition",
            UserWarning,
            stacklevel=2,
        )
    if log_target:
        loss = t.exp() * (t - x)
    else:
        # xlogy: 0·log 0 = 0, so zero-probability targets contribute nothing
        loss = ops.xlogy(t, t) - t * x
    if reduction == "batchmean":
        total = loss.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction, None)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under Poisson(rate):
    exp(input) - target·input when ``log_input`` (input = log rate), else
    input - target·log(input + eps). ``full`` adds Stirling's approximation of
    log(target!) where target > 1."""
    op = "poisson_nll_loss"
    reduction = _start(op, reduction, size_average, reduce)
    x = _floating(input, op)
    t = _floating(target, op, "target")
    _broadcast(op, input=x, target=t)
    if log_input:
        loss = x.exp() - t * x
    else:
        loss = x - t * (x + eps).log()
    if full:
        big = t.data > 1
        # the term is computed on 2 where target <= 1 (then masked), so no
        # log of 0 or of a negative enters the graph
        ts = ops.where(big, t, 2.0)
        stirling = ts * ts.log() - ts + 0.5 * (ts * (2.0 * math.pi)).log()
        loss = loss + ops.where(big, stirling, 0.0)
    return _reduce(loss, reduction, None)


def _gaussian_var(var: Any, x: Tensor, op: str) -> Tensor:
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ArgumentError(f"{op}: var has negative entry/entries ({var})")
        return Tensor._wrap(np.full(x.shape, var, x.dtype))
    v = _floating(var, op, "var")
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            # one variance per sample, shared by the last (feature) dim
            v = v.unsqueeze(-1)
        elif not (x.shape[:-1] == v.shape[:-1] and v.ndim and v.shape[-1] == 1):
            raise ShapeError(
                f"{op}: var is of incorrect size: var {tuple(v.shape)} for input "
                f"{tuple(x.shape)} (it must match input, or input without its "
                "last dim, or have 1 there)"
            )
    return v


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log-likelihood 0.5·(log var + (input - target)² / var)
    (+ 0.5·log 2π when ``full``).

    ``var`` has input's shape, or input's shape without the last dim, or with
    1 there (one variance per sample); values below ``eps`` are raised to
    ``eps`` for the forward value while the gradient passes through unchanged
    (PyTorch clamps a copy without grad).

    Raises
    ------
    ShapeError : var of another shape; ArgumentError : a negative var entry
    """
    op = "gaussian_nll_loss"
    _check_reduction(reduction, op)
    x = _floating(input, op)
    t = _floating(target, op, "target")
    v = _gaussian_var(var, x, op)
    if (v.data < 0).any():
        raise ArgumentError(f"{op}: var has negative entry/entries")
    _broadcast(op, input=x, target=t, var=v)
    small = v.data < eps
    if small.any():
        # value eps, gradient 1: v - v.detach() is exactly 0 in value
        v = ops.where(small, v - v.detach() + eps, v)
    d = x - t
    loss = 0.5 * (v.log() + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, None)


# -- margin losses ----------------------------------------------------------------


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target·(input1 - input2) + margin); target is 1 where input1
    should rank higher, -1 where input2 should."""
    op = "margin_ranking_loss"
    reduction = _start(op, reduction, size_average, reduce)
    x1 = _floating(input1, op, "input1")
    x2 = _floating(input2, op, "input2")
    y = _as_tensor(target, op, "target")
    if not x1.ndim == x2.ndim == y.ndim:
        raise ShapeError(
            f"{op}: all input tensors should have the same number of dims, got "
            f"input1 {tuple(x1.shape)}, input2 {tuple(x2.shape)}, target "
            f"{tuple(y.shape)}"
        )
    _broadcast(op, input1=x1, input2=x2, target=y)
    loss = (-y * (x1 - x2) + margin).clamp(min=0)
    return _reduce(loss, reduction, None)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """input where target == 1, max(0, margin - input) where target == -1
    (``input`` is usually a distance). Other target values get both terms,
    as in PyTorch; no gradient flows to ``target``."""
    op = "hinge_embedding_loss"
    reduction = _start(op, reduction, size_average, reduce)
    x = _floating(input, op)
    y = _as_tensor(target, op, "target")
    shape = _broadcast(op, input=x, target=y)
    yd = np.broadcast_to(y.data, shape)
    hinge = ops.where(yd != 1, (margin - x).clamp(min=0), 0.0)
    loss = hinge + ops.where(yd != -1, x, 0.0)
    return _reduce(loss, reduction, None)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target·input)), two-class logistic loss for targets ±1,
    computed as softplus so it does not overflow."""
    op = "soft_margin_loss"
    reduction = _start(op, reduction, size_average, reduce)
    x = _floating(input, op)
    y = _as_tensor(target, op, "target")
    if _broadcast(op, input=x, target=y) != x.shape:
        raise ShapeError(
            f"{op}: target of shape {tuple(y.shape)} does not broadcast to the "
            f"input's shape {tuple(x.shape)}"
        )
    if y.dtype != x.dtype:
        y = y.to(x.dtype)  # the result keeps the input's dtype, as PyTorch's
    return _reduce(ops.softplus(-(y * x), 1.0, _INF), reduction, None)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Per-class logistic loss -(t·log sigmoid(x) + (1 - t)·log sigmoid(-x)), times
    ``weight`` (broadcast), averaged over the classes (the last dim)."""
    op = "multilabel_soft_margin_loss"
    reduction = _start(op, reduction, size_average, reduce)
    x = _floating(input, op)
    if x.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dim, got a 0-d tensor")
    y = _as_tensor(target, op, "target")
    named = {"input": x, "target": y}
    if weight is not None:
        named["weight"] = weight = _floating(weight, op, "weight")
    _broadcast(op, **named)
    # -log sigmoid(x) = softplus(-x), -log sigmoid(-x) = softplus(x): stable for any x
    loss = y * ops.softplus(-x, 1.0, _INF) + (1 - y) * ops.softplus(x, 1.0, _INF)
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(-1) / x.shape[-1]
    return _reduce(loss, reduction, None)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss Σ_{i≠y} w[y]·max(0, margin - x[y] + x[i])^p / C
    for input (N, C) or (C,) and class indices target (N,) or ()."""
    op = "multi_margin_loss"
    reduction = _start(op, reduction, size_average, reduce)
    if p not in (1, 2):
        raise ArgumentError(f"{op}: only p == 1 and p == 2 are supported, got {p}")
    x = _floating(input, op)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ShapeError(
            f"{op}: expected a non-empty vector or matrix (N, C) with an optional "
            f"0-size batch, got input of shape {tuple(x.shape)}"
        )
    y = _as_tensor(target, op, "target")
    if y.dtype.kind not in "iu":
        raise DTypeError(f"{op}: target must be int64 class indices, got {y.dtype}")
    n = x.shape[0] if x.ndim == 2 else 1
    ok = y.shape == (n,) if x.ndim == 2 else y.numel() == 1 and y.ndim <= 1
    if not ok:
        raise ShapeError(
            f"{op}: target should be 1-D with one class index per sample, got "
            f"target {tuple(y.shape)} for input {tuple(x.shape)}"
        )
    c = x.shape[-1]
    idx = y.data.reshape(n, 1).astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= c):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise TargetOutOfRangeError(
            f"{op}: target {bad} is out of range for {c} classes "
            f"(input {tuple(x.shape)})"
        )
    x2 = x.reshape(n, c)
    z = ops.relu(x2 - x2.gather(1, idx) + margin)
    if p == 2:
        z = z * z
    if weight is not None:
        w = _floating(weight, op, "weight")
        if w.shape != (c,):
            raise ShapeError(
                f"{op}: weight must have shape ({c},) for {c} classes, got "
                f"{tuple(w.shape)}"
            )
        z = z * w[idx]
    # the i == y term is margin^p; leave it out
    z = ops.where(np.arange(c)[None, :] == idx, 0.0, z)
    loss = (z.sum(1) / c).reshape(y.shape)
    return _reduce(loss, reduction, None)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with d the
    ``pairwise_distance`` (p-norm, ``eps`` added to the difference); ``swap``
    uses min(d(a, n), d(p, n)) as the negative distance."""
    op = "triplet_margin_loss"
    reduction = _start(op, reduction, size_average, reduce)
    a = _floating(anchor, op, "anchor")
    pos = _floating(positive, op, "positive")
    neg = _floating(negative, op, "negative")
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(
            f"{op}: anchor, positive and negative must have the same number of "
            f"dims, got anchor {tuple(a.shape)}, positive {tuple(pos.shape)}, "
            f"negative {tuple(neg.shape)}"
        )
    if margin <= 0:
        raise ArgumentError(f"{op}: margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction, None)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where
    target == -1 (0 elsewhere); inputs (N, D) with target (N,), or (D,) with a
    0-d target."""
    op = "cosine_embedding_loss"
    reduction = _start(op, reduction, size_average, reduce)
    x1 = _floating(input1, op, "input1")
    x2 = _floating(input2, op, "input2")
    y = _as_tensor(target, op, "target")
    if y.ndim > 1:
        raise ShapeError(
            f"{op}: expected a 0-d or 1-D target, got shape {tuple(y.shape)} "
            "(multi-target is not supported)"
        )
    want = y.ndim + 1
    if x1.ndim != want or x2.ndim != want:
        raise ShapeError(
            f"{op}: a {y.ndim}-D target expects {want}-D inputs, got input1 "
            f"{tuple(x1.shape)} and input2 {tuple(x2.shape)}"
        )
    _broadcast(op, input1=x1, input2=x2)
    # the 1e-12 keeps a zero vector's cosine at 0 instead of 0/0
    dot = (x1 * x2).sum(-1)
    m1 = (x1 * x1).sum(-1) + 1e-12
    m2 = (x2 * x2).sum(-1) + 1e-12
    cos = dot / (m1 * m2).sqrt()
    shape = _broadcast(op, cosine=cos, target=y)
    yd = np.broadcast_to(y.data, shape)
    loss = ops.where(yd == 1, 1 - cos, 0.0) + ops.where(
        yd == -1, (cos - margin).clamp(min=0), 0.0
    )
    return _reduce(loss, reduction, None)
