"""Classification losses: cross_entropy, nll_loss, binary_cross_entropy and
binary_cross_entropy_with_logits, with PyTorch's semantics.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd``, the other ops
modules and ``minigrad._C``. ``nn.functional`` and the loss modules call these.

Each loss has a fused path (one Function whose forward runs a C kernel) and a
``*_composite`` twin built only from primitive Tensor ops; tests compare the two.

# Note [Cross-entropy layout]
Input is (N, C, d1, ...) or (C,) for one unbatched sample; the class dim is 1
(0 when unbatched). The kernels see it as the contiguous (N, C, K) view with
K = d1·d2···, and the target as (N, K). The loss of one element is

    l = (1 - ε)·w[t]·(-log p[t]) + (ε / C)·Σ_c w[c]·(-log p[c])

(p = softmax over C, ε = label_smoothing, w = weight or ones), 0 where
t == ignore_index. 'mean' divides Σ l by Σ w[t] over the targets not ignored
(PyTorch's weighted mean, NaN when every target is ignored), 'sum' is Σ l and
'none' keeps the (N, d1, ...) map. Its gradient is

    dl/dx[c] = p[c]·((1 - ε)·w[t] + ε·Σw / C) - (1 - ε)·w[t]·[c = t] - ε·w[c] / C.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad._C import _softmax
from minigrad.autograd.function import Function, apply1, apply2
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import to_array
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.activation import log_softmax, sigmoid, softmax, softplus
from minigrad.ops.elementwise import clamp, log, where
from minigrad.ops.half import half_via_float32
from minigrad.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_composite",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_composite",
    "cross_entropy",
    "cross_entropy_composite",
    "nll_loss",
    "nll_loss_composite",
]

_REDUCTIONS = ("mean", "sum", "none")


class TargetOutOfRangeError(IndexError, ValueError):
    """A class index outside [0, C) that is not ``ignore_index``.

    An IndexError, as PyTorch raises, and a ValueError, as a bad value is.
    """


# -- validation -------------------------------------------------------------


def _check_input(x: Any, op: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating tensor, got {x.dtype}")
    return x


def _check_reduction(reduction: Any, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ArgumentError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


def _as_tensor(t: Any, op: str, name: str) -> Tensor:
    """A loss's ``name`` argument as a Tensor: a Tensor as is; an array or
    Python data converted as ``mg.tensor`` does (supported dtypes, native byte
    order; no copy of an array that needs none). The one helper of the loss
    functions here and in ``nn/_functional_loss.py``."""
    if isinstance(t, Tensor):
        return t
    if isinstance(t, (np.ndarray, list, tuple, int, float)):
        return Tensor._wrap(to_array(t, copy=False))
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def _class_weight(weight: Any, c: int, dtype: np.dtype, op: str) -> np.ndarray | None:
    """The per-class weight as a constant array of shape (C,), or None."""
    if weight is None:
        return None
    w = _as_tensor(weight, op, "weight").data
    if w.dtype.kind != "f":
        raise TypeError(f"{op}: weight must be a floating tensor, got {w.dtype}")
    if w.shape != (c,):
        raise ShapeError(
            f"{op}: weight must have shape ({c},) (one per class), got {w.shape}"
        )
    return w.astype(dtype, copy=False)


def _class_targets(
    x: Tensor, target: Tensor, ignore_index: int, op: str, check_range: bool = True
) -> tuple[np.ndarray, int]:
    """Validates integer class targets against input (N, C, d...) or (C,); the
    range of each class index only with ``check_range`` (the fused kernel
    checks it itself).

    Returns the targets as an int64 array of shape (N, K) and C.
    """
    t = target.data
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class indices (int64), got {t.dtype}"
        )
    if x.ndim == 0:
        raise ShapeError(f"{op}: input must have at least 1 dim, got shape ()")
    if x.ndim == 1:
        want: tuple[int, ...] = ()
    else:
        want = (x.shape[0], *x.shape[2:])
    if t.shape != want:
        raise ShapeError(
            f"{op}: target shape {t.shape} does not match input shape {x.shape} "
            f"(expected target shape {want})"
        )
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    t = t.astype(np.int64, copy=False)
    bad = (t != ignore_index) & ((t < 0) | (t >= c)) if check_range else None
    if bad is not None and bad.any():
        raise TargetOutOfRangeError(
            f"{op}: target {int(t[bad].flat[0])} is out of bounds for {c} classes "
            f"(input shape {x.shape}, ignore_index={ignore_index})"
        )
    n = 1 if x.ndim == 1 else x.shape[0]
    k = int(np.prod(x.shape[2:], dtype=np.int64)) if x.ndim > 2 else 1
    return t.reshape(n, k), c


def _to_nck(x: Tensor) -> Tensor:
    """The (N, C, K) view of input (N, C, d...) or (C,); see Note [Cross-entropy
    layout]."""
    if x.ndim == 1:
        return x.reshape(1, x.shape[0], 1)
    k = int(np.prod(x.shape[2:], dtype=np.int64)) if x.ndim > 2 else 1
    return x.reshape(x.shape[0], x.shape[1], k)


def _unreduced_shape(x: Tensor) -> tuple[int, ...]:
    return () if x.ndim == 1 else (x.shape[0], *x.shape[2:])


def _reduce(loss: Tensor, reduction: str, denom: Tensor | float | None) -> Tensor:
    if reduction == "none":
        return loss
    s = loss.sum()
    if reduction == "sum":
        return s
    if denom is None:
        return s / float(loss.numel())
    return s / denom


def _mean_denominator(
    tk: np.ndarray, w: np.ndarray | None, ignore_index: int, dtype: np.dtype
) -> np.ndarray:
    """Σ w[t] over the targets not ignored (their count without weight)."""
    valid = tk != ignore_index
    if w is None:
        return np.asarray(valid.sum(), dtype=dtype)
    return np.asarray(w[np.where(valid, tk, 0)][valid].sum(), dtype=dtype)


# -- composites: primitive Tensor ops only ----------------------------------


def nll_loss_composite(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """:func:`nll_loss` built from primitive ops (indexing, mul, sum): the
    reference the fused path is tested against."""
    op = "nll_loss"
    x = _check_input(input, op)
    _check_reduction(reduction, op)
    tk, c = _class_targets(x, _as_tensor(target, op, "target"), ignore_index, op)
    w = _class_weight(weight, c, x.data.dtype, op)
    n, k = tk.shape
    valid = tk != ignore_index
    safe = np.where(valid, tk, 0)
    coef = valid.astype(x.data.dtype)
    if w is not None:
        coef = coef * w[safe]
    x3 = _to_nck(x)
    picked = x3[np.arange(n)[:, None], safe, np.arange(k)[None, :]]
    loss = -(picked * Tensor._wrap(coef))
    loss = loss.reshape(_unreduced_shape(x))
    denom = _mean_denominator(tk, w, ignore_index, x.data.dtype)
    return _reduce(loss, reduction, Tensor._wrap(denom))


def cross_entropy_composite(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """:func:`cross_entropy` as log_softmax followed by nll_loss and the label
    smoothing term, from primitive ops: the fused path's reference."""
    op = "cross_entropy"
    x = _check_input(input, op)
    _check_reduction(reduction, op)
    eps = _check_smoothing(label_smoothing, op)
    target = _as_tensor(target, op, "target")
    if _is_prob_target(x, target):
        return _cross_entropy_prob(x, target, weight, ignore_index, reduction, eps)
    cdim = 0 if x.ndim == 1 else 1
    logp = log_softmax(x, dim=cdim)
    nll = nll_loss_composite(logp, target, weight, ignore_index, reduction)
    if eps == 0.0:
        return nll
    tk, c = _class_targets(x, target, ignore_index, op)
    w = _class_weight(weight, c, x.data.dtype, op)
    lp3 = _to_nck(logp)
    if w is not None:
        lp3 = lp3 * Tensor._wrap(w.reshape(1, c, 1))
    valid = (tk != ignore_index).astype(x.data.dtype)
    smooth = -(lp3.sum(1) * Tensor._wrap(valid))
    smooth = smooth.reshape(_unreduced_shape(x))
    denom = _mean_denominator(tk, w, ignore_index, x.data.dtype)
    smooth = _reduce(smooth, reduction, Tensor._wrap(denom))
    return nll * (1.0 - eps) + smooth * (eps / c)


def _check_smoothing(label_smoothing: Any, op: str) -> float:
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise ArgumentError(
            f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}"
        )
    return ls


def _is_prob_target(x: Tensor, target: Tensor) -> bool:
    """PyTorch reads a floating target of the input's shape as class
    probabilities."""
    return target.data.dtype.kind == "f" and target.shape == x.shape


def _cross_entropy_prob(
    x: Tensor,
    target: Tensor,
    weight: Any,
    ignore_index: int,
    reduction: str,
    eps: float,
) -> Tensor:
    """Cross-entropy against class probabilities (differentiable in both)."""
    op = "cross_entropy"
    if ignore_index >= 0:
        raise ArgumentError(
            f"{op}: ignore_index is not supported with class-probability targets "
            f"(got ignore_index={ignore_index})"
        )
    if x.ndim == 0:
        raise ShapeError(f"{op}: input must have at least 1 dim, got shape ()")
    cdim = 0 if x.ndim == 1 else 1
    c = x.shape[cdim]
    if target.data.dtype != x.data.dtype:
        target = target.to(x.data.dtype)
    q = target * (1.0 - eps) + eps / c if eps > 0 else target
    prod = log_softmax(x, dim=cdim) * q
    w = _class_weight(weight, c, x.data.dtype, op)
    if w is not None:
        shape = [1] * x.ndim
        shape[cdim] = c
        prod = prod * Tensor._wrap(w.reshape(shape))
    loss = -prod.sum(cdim)
    if reduction == "mean":
        return loss.sum() / float(max(x.numel() // c, 1) if c else 0)
    return _reduce(loss, reduction, None)


def _bce_operands(
    input: Any, target: Any, weight: Any, op: str
) -> tuple[Tensor, Tensor, Tensor | None]:
    x = _check_input(input, op)
    t = _as_tensor(target, op, "target")
    if t.data.dtype.kind != "f":
        raise TypeError(f"{op}: target must be a floating tensor, got {t.dtype}")
    if t.shape != x.shape:
        raise ShapeError(
            f"{op}: target shape {t.shape} must equal input shape {x.shape}"
        )
    if t.data.dtype != x.data.dtype:
        t = t.to(x.data.dtype)
    w = None if weight is None else _weight_like(weight, x, op, "weight")
    return x, t, w


def _check_probabilities(x: Tensor, op: str) -> None:
    d = x.data
    if d.size and not ((d >= 0) & (d <= 1)).all():
        raise ShapeError(
            f"{op}: all elements of input should be between 0 and 1 (input shape "
            f"{x.shape})"
        )


def _log_clamped(x: Tensor) -> Tensor:
    """max(log x, -100) from primitive ops, with a finite gradient (0) where
    x is exactly 0: log is taken of x with its zeros replaced by 1, and those
    positions set to -100 after. Without this, log's backward gives 0/0 = NaN
    there, and the clamp's zero gradient does not mask a NaN."""
    zero = x.data == 0
    if not zero.any():
        return clamp(log(x), min=-100.0)
    return where(zero, -100.0, clamp(log(where(zero, 1.0, x)), min=-100.0))


def binary_cross_entropy_composite(
    input: Tensor, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """:func:`binary_cross_entropy` from primitive ops (log, clamp, where, mul).

    NOTE: its gradient is that of the clamped logs, which differs from
    PyTorch's (x - t) / max(x·(1 - x), 1e-12) only where x is 0 or 1 (0 there,
    finite, where PyTorch's is ±1e12 for a target that disagrees)."""
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    x, t, w = _bce_operands(input, target, weight, op)
    _check_probabilities(x, op)
    log_x = _log_clamped(x)
    log_1mx = _log_clamped(1.0 - x)
    loss = -(t * log_x + (1.0 - t) * log_1mx)
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction, None)


def _pos_weight(pos_weight: Any, x: Tensor, op: str) -> Tensor | None:
    return None if pos_weight is None else _weight_like(pos_weight, x, op, "pos_weight")


def _weight_like(weight: Any, x: Tensor, op: str, name: str) -> Tensor:
    """``weight`` as a floating Tensor of x's dtype that broadcasts to x's shape
    (a constant: no gradient flows to it)."""
    w = _as_tensor(weight, op, name)
    if w.data.dtype.kind not in "fiub":  # integer weights promote, as in PyTorch
        raise TypeError(f"{op}: {name} must be a real tensor, got {w.dtype}")
    try:
        if np.broadcast_shapes(w.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(
            f"{op}: {name} shape {w.shape} does not broadcast to input shape {x.shape}"
        ) from None
    return Tensor._wrap(w.data.astype(x.data.dtype, copy=False))


def binary_cross_entropy_with_logits_composite(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """:func:`binary_cross_entropy_with_logits` from primitive ops:
    (1 - t)·x + (1 + (pw - 1)·t)·softplus(-x), stable for any x."""
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    x, t, w = _bce_operands(input, target, weight, op)
    pw = _pos_weight(pos_weight, x, op)
    sp = softplus(-x, 1.0, math.inf)
    if pw is None:
        loss = (1.0 - t) * x + sp
    else:
        loss = (1.0 - t) * x + ((pw - 1.0) * t + 1.0) * sp
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction, None)


# -- fused paths: one kernel call forward, a rescale backward -------------------
#
# Note [Gradient in the forward]
# CrossEntropy, BinaryCrossEntropy and BinaryCrossEntropyWithLogits are each ONE
# graph node, reduction included, and their forward is one kernel call
# (Note [Fused loss calls] in _softmax.pyx). When the input needs a gradient,
# that call also writes the gradient of the loss for an upstream gradient of 1:
# the exp it needs is the one the forward already takes, so forward+backward
# cost one pass over the logits instead of two. The loss is linear in the
# upstream gradient g, so backward only rescales it (nothing to do for a
# scalar g == 1, the usual `loss.backward()`) and hands the buffer over; a
# second backward (retain_graph=True) finds it gone and recomputes. Double
# backward (create_graph=True) uses Tensor ops instead, so that it is recorded.
# The price: a forward that needs a gradient but never gets a backward (a
# validation loss computed outside no_grad) pays for the gradient too.

_REDUCTION_CODE = {"none": 0, "mean": 1, "sum": 2}
_R_NONE, _R_MEAN = 0, 1
_I64 = np.dtype(np.int64)
_F16 = np.dtype(np.float16)
_xent_fused = _softmax.xent_fused
_wrap = Tensor._wrap


def _rows(x: Any, n: int, c: int, k: int) -> Any:
    """(N, C, d...) -> (N·K, C): one row of C logits per sample and position
    (an array or a Tensor; a copy only when K > 1)."""
    if k == 1:
        return x.reshape(n, c)
    x3 = x.reshape(n, c, k)
    if isinstance(x3, Tensor):
        return x3.permute(0, 2, 1).reshape(n * k, c)
    return np.ascontiguousarray(x3.transpose(0, 2, 1)).reshape(n * k, c)


def _unrows(g: Any, n: int, c: int, k: int, shape: tuple[int, ...]) -> Any:
    """The inverse of :func:`_rows`."""
    if k == 1:
        return g.reshape(shape)
    g3 = g.reshape(n, k, c)
    g3 = g3.permute(0, 2, 1) if isinstance(g3, Tensor) else g3.transpose(0, 2, 1)
    return g3.reshape(shape)


def _reduced(loss: np.ndarray, reduction: str, denom: Any, shape: Any) -> Any:
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / denom, dtype=loss.dtype)


def _row_scale(g: Tensor, reduction: str, denom: Any, rows: int) -> Tensor:
    """The factor each row's loss gets in the reduced output, times g."""
    if reduction == "none":
        return g.reshape(rows)
    if reduction == "sum":
        return g
    return g / Tensor._wrap(np.asarray(denom, dtype=g.dtype))


def _rescaled(gx: np.ndarray, g: np.ndarray, red: int) -> np.ndarray:
    """gx (our own buffer, the gradient of an elementwise loss for an upstream
    gradient of 1) times the upstream gradient g, in place (Note [Gradient in
    the forward]); g has gx's shape for 'none', else one value."""
    if red == _R_NONE or g.item() != 1.0:
        gx *= g
    return gx


def _bad_target(x: np.ndarray, t: np.ndarray, ignore_index: int) -> None:
    """Raises the detailed error for the out-of-range target the kernel found."""
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    first = int(t[bad].flat[0]) if bad.any() else None
    raise TargetOutOfRangeError(
        f"cross_entropy: target {first} is out of bounds for {c} classes "
        f"(input shape {x.shape}, ignore_index={ignore_index})"
    )


class CrossEntropy(Function):
    """Softmax cross-entropy with class-index targets, fused, reduction included
    (Note [Cross-entropy layout], Note [Gradient in the forward]):
    loss = reduce((1 - ε)·w[t]·(lse - x[t]) + ε/C·Σ w·(lse - x));
    dL/dx = scale·(p·((1 - ε)·w[t] + ε·W/C) - (1 - ε)·w[t]·onehot(t) - ε·w/C).

    ``target`` is the int64 (N·K,) row targets; ``red`` a reduction code."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, target, k, weight, ignore_index, eps, red):
        nd = x.ndim
        if nd == 2:
            n, c = x.shape
            x2 = x
        else:
            c = x.shape[0] if nd == 1 else x.shape[1]
            n = target.shape[0] // k
            x2 = _rows(x, n, c, k)
        try:
            out, lse, gx = _xent_fused(
                x2, target, weight, ignore_index, eps, red, bool(ctx.needs_input_grad)
            )
        except IndexError:
            _bad_target(x, target, ignore_index)
        if red == _R_MEAN and weight is not None and not math.isfinite(out):
            out = _zero_weight_mean(x2, lse, target, weight, ignore_index, eps, out)
        ctx.save_for_backward(x)
        ctx.x2, ctx.lse, ctx.gx = x2, lse, gx
        ctx.meta = (n, c, k, target, weight, ignore_index, eps, red)
        if red == _R_NONE and nd != 2:
            return out.reshape(() if nd == 1 else (n, *x.shape[2:]))
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors  # raises if x was modified in place since
        n, c, k, t, w, ignore_index, eps, red = ctx.meta
        shape = x.shape
        gx = ctx.gx
        if gx is not None and not STATE.grad_enabled:
            ctx.gx = None
            gd = g.data
            if red == _R_NONE:
                gx *= gd.reshape(n * k, 1)
            elif gd.item() != 1.0:
                gx *= gd
            return _wrap(gx if len(shape) == 2 else _unrows(gx, n, c, k, shape))
        reduction = ("none", "mean", "sum")[red]
        denom = (
            _mean_denominator(t, w, ignore_index, x.dtype) if red == _R_MEAN else None
        )
        scale = _row_scale(g, reduction, denom, n * k)
        if STATE.grad_enabled:  # Note [Kernel backward, Tensor-op double backward]
            a, b = _xent_grad_terms(t, w, ignore_index, eps, c, x.dtype)
            p = softmax(_rows(x, n, c, k), dim=1)
            sc = scale.reshape(n * k, 1) if red == _R_NONE else scale
            gx2 = sc * (p * Tensor._wrap(a) - Tensor._wrap(b))
            return _unrows(gx2, n, c, k, shape)
        gx = _softmax.xent_bwd(
            ctx.x2,
            ctx.lse,
            t,
            scale.data.astype(x.dtype, copy=False),
            w,
            ignore_index=ignore_index,
            label_smoothing=eps,
        )
        return Tensor._wrap(_unrows(gx, n, c, k, shape))


def _zero_weight_mean(
    x2: np.ndarray,
    lse: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    ignore_index: int,
    eps: float,
    out: np.ndarray,
) -> np.ndarray:
    """The 'mean' of a weighted cross-entropy whose targets' weights sum to 0,
    as PyTorch computes it: (1 - ε)·(Σ nll / 0) + ε/C·(Σ smooth / 0), i.e. NaN
    (0/0) for non-negative weights, where the kernel's Σ loss / 0 gives inf.
    ``out`` (kept if the weights do not sum to 0: a genuine overflow)."""
    denom = _mean_denominator(t, w, ignore_index, x2.dtype)
    if denom != 0:
        return out
    valid = t != ignore_index
    logp = x2[valid] - lse[valid, None]
    tv = t[valid]
    nll = -(w[tv] * logp[np.arange(len(tv)), tv]).sum()
    smooth = -(logp * w).sum()
    c = x2.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1.0 - eps) * (nll / denom) + (eps / c) * (smooth / denom)
    return np.asarray(r, dtype=out.dtype)


def _xent_grad_terms(
    t: np.ndarray,
    w: np.ndarray | None,
    ignore_index: int,
    eps: float,
    c: int,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray]:
    """a (rows, 1) and b (rows, C) with dl/dx = p·a - b per row (0 if ignored)."""
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    wv = np.ones(c, dtype) if w is None else w
    wt = wv[safe] * valid
    a = ((1.0 - eps) * wt + eps * wv.sum() / c * valid).astype(dtype)
    b = np.zeros((t.shape[0], c), dtype)
    b[np.arange(t.shape[0]), safe] = (1.0 - eps) * wt
    b += (eps / c) * valid[:, None] * wv[None, :]
    return a[:, None], b


class NllLoss(Function):
    """loss = reduce(-w[t]·x[t]) over the class dim;  dL/dx = -scale·w[t] at
    the target, 0 elsewhere (and for ignored targets)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, target, weight, ignore_index, reduction, denom):
        n, k = target.shape
        c = x.shape[0] if x.ndim == 1 else x.shape[1]
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        coef = valid.astype(x.dtype)
        if weight is not None:
            coef = coef * weight[safe]
        x3 = x.reshape(n, c, k)
        picked = np.take_along_axis(x3, safe[:, None, :], axis=1)[:, 0, :]
        loss = -(picked * coef)
        ctx.meta = (n, c, k, x.shape, safe, coef, reduction, denom)
        shape = () if x.ndim == 1 else (n, *x.shape[2:])
        return _reduced(loss, reduction, denom, shape)

    @staticmethod
    def backward(ctx, g):
        n, c, k, shape, safe, coef, reduction, denom = ctx.meta
        onehot = np.zeros((n, c, k), coef.dtype)
        np.put_along_axis(onehot, safe[:, None, :], -coef[:, None, :], axis=1)
        scale = _row_scale(g, reduction, denom, n * k)
        if reduction == "none":
            scale = scale.reshape(n, 1, k)
        return (Tensor._wrap(onehot) * scale).reshape(shape)


def _needs(ctx: Any) -> tuple[bool, bool]:
    """(input needs a gradient, target needs one) of a two-input loss."""
    need = ctx.needs_input_grad
    return (need[0], need[1]) if need else (False, False)


def _elem_scale(g: Tensor, red: int, n: int) -> Tensor:
    """The upstream gradient of each element of a reduced elementwise loss."""
    return g * (1.0 / n) if red == _R_MEAN and n else g


class BinaryCrossEntropy(Function):
    """l = -w·(t·max(log x, -100) + (1 - t)·max(log(1 - x), -100)), elementwise,
    then reduced (code ``red``); dl/dx = w·(x - t) / max(x·(1 - x), 1e-12)
    (PyTorch's), dl/dt = -w·logit(x) = w·(log(1 - x) - log x) (unclamped, as
    PyTorch). Note [Gradient in the forward]."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, t, *, weight, red):
        need_x, need_t = _needs(ctx)
        out, gx, gt = _softmax.bce_fused(
            x, t, weight, reduction=red, input_grad=need_x, target_grad=need_t
        )
        ctx.save_for_backward(x, t)
        ctx.w, ctx.red, ctx.gx, ctx.gt = weight, red, gx, gt
        return out

    @staticmethod
    def backward(ctx, g):
        red = ctx.red
        need_x, need_t = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not STATE.grad_enabled and (ctx.gx is not None or ctx.gt is not None):
            # The gradient from the forward; _saved_arrays only for its checks
            # (an input modified in place since raises, as saved_tensors).
            ctx._saved_arrays()
            gx, gt, gd = ctx.gx, ctx.gt, g.data
            ctx.gx = ctx.gt = None
            return (
                _wrap(_rescaled(gx, gd, red)) if need_x else None,
                _wrap(_rescaled(gt, gd, red)) if need_t else None,
            )
        x, t = ctx.saved_tensors
        gs = _elem_scale(g, red, x.data.size)
        gw = gs if ctx.w is None else gs * Tensor._wrap(ctx.w)
        gx = gt = None
        if need_x:
            gx = gw * (x - t) / clamp(x * (1.0 - x), min=1e-12)
        if need_t:
            # PyTorch's: -logit(x), unclamped (±inf at x = 0 or 1).
            gt = gw * (log(1.0 - x) - log(x))
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """l = w·((1 - t)·x + (1 + (pw - 1)·t)·softplus(-x)), elementwise, stable,
    then reduced (code ``red``); dl/dx = w·((1 - t) - (1 + (pw - 1)·t)·
    sigmoid(-x)), dl/dt = w·((pw - 1)·softplus(-x) - x). Note [Gradient in
    the forward]."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, t, *, weight, pos_weight, red):
        need_x, need_t = _needs(ctx)
        out, gx, gt = _softmax.bce_logits_fused(
            x,
            t,
            weight,
            pos_weight,
            reduction=red,
            input_grad=need_x,
            target_grad=need_t,
        )
        ctx.save_for_backward(x, t)
        ctx.w, ctx.pw, ctx.red, ctx.gx, ctx.gt = weight, pos_weight, red, gx, gt
        return out

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        red = ctx.red
        need_x, need_t = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not STATE.grad_enabled and (ctx.gx is not None or ctx.gt is not None):
            gx, gt, gd = ctx.gx, ctx.gt, g.data
            ctx.gx = ctx.gt = None
            return (
                _wrap(_rescaled(gx, gd, red)) if need_x else None,
                _wrap(_rescaled(gt, gd, red)) if need_t else None,
            )
        gs = _elem_scale(g, red, x.data.size)
        gw = gs if ctx.w is None else gs * Tensor._wrap(ctx.w)
        pm1 = None if ctx.pw is None else Tensor._wrap(ctx.pw - 1.0)
        gx = gt = None
        if need_x:
            lw = 1.0 if pm1 is None else pm1 * t + 1.0
            gx = gw * ((1.0 - t) - lw * sigmoid(-x))
        if need_t:
            gt = gw * (-x if pm1 is None else pm1 * softplus(-x, 1.0, math.inf) - x)
        return gx, gt


def _full(a: Tensor | None, shape: tuple[int, ...]) -> np.ndarray | None:
    # NOTE: np.asarray(order="C"), not np.ascontiguousarray, which makes a 0-d
    # array 1-d (and the kernel then rejects a 0-d input's 0-d weight).
    if a is None:
        return None
    return np.asarray(np.broadcast_to(a.data, shape), order="C")


def _reduction_code(reduction: Any, op: str) -> int:
    code = _REDUCTION_CODE.get(reduction) if type(reduction) is str else None
    if code is None:
        _check_reduction(reduction, op)
    return code  # type: ignore[return-value]


# -- public API ---------------------------------------------------------------


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and class targets (PyTorch's semantics).

    Parameters
    ----------
    input : Tensor, shape (N, C), (N, C, d1, ...) or (C,)
        Unnormalised logits; the class dim is 1 (0 for a 1-D input).
    target : Tensor
        int64 class indices of shape (N,) / (N, d1, ...) / () , or class
        probabilities of the input's shape and a floating dtype.
    weight : Tensor, shape (C,), optional
        Per-class rescaling weight (a constant: it gets no gradient).
    ignore_index : int
        Targets equal to this contribute nothing, neither to the weighted mean.
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float in [0, 1]
        Mixes the target with the uniform distribution over the C classes.

    Returns
    -------
    Tensor : a scalar, or shape (N, d1, ...) for reduction='none'.

    Raises
    ------
    TypeError : input not floating, or target neither integer nor floating.
    ValueError : shapes disagree, bad reduction / label_smoothing.
    IndexError : a class index out of range (also a ValueError).
    """
    op = "cross_entropy"
    # Note [Fused loss calls] in _softmax.pyx: this path is written for few
    # Python operations; the kernel checks the class indices.
    x = input if type(input) is Tensor else _check_input(input, op)
    xd = x.data
    if xd.dtype.kind != "f":
        _check_input(x, op)
    elif xd.dtype is _F16:  # (not a decorator: its argument scan cost ~0.3 us)
        return _cross_entropy_half(
            input, target, weight, ignore_index, reduction, label_smoothing
        )
    red = _REDUCTION_CODE.get(reduction) if type(reduction) is str else None
    if red is None:
        _check_reduction(reduction, op)
    eps = 0.0 if label_smoothing == 0.0 else _check_smoothing(label_smoothing, op)
    if type(target) is not Tensor:
        target = _as_tensor(target, op, "target")
    td = target.data
    if td.dtype.kind == "f" and td.shape == xd.shape:  # _is_prob_target
        return _cross_entropy_prob(x, target, weight, ignore_index, reduction, eps)
    if xd.ndim == 2 and td.dtype is _I64 and td.shape == xd.shape[:1]:
        k, c = 1, xd.shape[1]
    else:
        tk, c = _class_targets(x, target, ignore_index, op, check_range=False)
        td, k = tk.reshape(-1), tk.shape[1]
    w = None if weight is None else _class_weight(weight, c, xd.dtype, op)
    return apply1(
        CrossEntropy,
        x,
        {
            "target": td,
            "k": k,
            "weight": w,
            "ignore_index": int(ignore_index),
            "eps": eps,
            "red": red,
        },
    )


# float16 input computes in float32 (Note [float16 computes in float32])
_cross_entropy_half = half_via_float32(cross_entropy)


@half_via_float32
def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class targets given log-probabilities.

    Parameters
    ----------
    input : Tensor, shape (N, C), (N, C, d1, ...) or (C,)
        Log-probabilities (e.g. from log_softmax over dim 1).
    target : Tensor, int64, shape (N,) / (N, d1, ...) / ()
    weight, ignore_index, reduction : as in :func:`cross_entropy`.

    Returns
    -------
    Tensor : a scalar, or shape (N, d1, ...) for reduction='none'.
    """
    op = "nll_loss"
    x = _check_input(input, op)
    _check_reduction(reduction, op)
    tk, c = _class_targets(x, _as_tensor(target, op, "target"), ignore_index, op)
    w = _class_weight(weight, c, x.data.dtype, op)
    denom = (
        _mean_denominator(tk, w, ignore_index, x.data.dtype)
        if reduction == "mean"
        else None
    )
    return NllLoss.apply(
        x,
        target=tk,
        weight=w,
        ignore_index=int(ignore_index),
        reduction=reduction,
        denom=denom,
    )


def _bce_fast_operands(
    input: Any, target: Any, weight: Any, op: str
) -> tuple[Tensor, Tensor, Tensor | None]:
    """_bce_operands, skipped when input and target are already Tensors of one
    float dtype and shape and there is no weight (the common case)."""
    if (
        weight is None
        and type(input) is Tensor
        and type(target) is Tensor
        and input.data.dtype is target.data.dtype
        and input.data.dtype.kind == "f"
        and input.data.shape == target.data.shape
    ):
        return input, target, None
    return _bce_operands(input, target, weight, op)


@half_via_float32
def binary_cross_entropy(
    input: Tensor, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities: -w·(t·log x + (1 - t)·log(1 - x)),
    each log clamped at -100 as PyTorch does (finite, and with finite
    gradients, where a float32 sigmoid saturated to exactly 0 or 1).

    Parameters
    ----------
    input : Tensor, any shape, values in [0, 1]
    target : Tensor, the input's shape, floating (differentiable)
    weight : Tensor broadcastable to the input's shape, optional (a constant)
    reduction : {'mean', 'sum', 'none'}

    Raises
    ------
    ValueError : shapes differ, or input has values outside [0, 1].
    """
    op = "binary_cross_entropy"
    red = _reduction_code(reduction, op)
    x, t, w = _bce_fast_operands(input, target, weight, op)
    return apply2(
        BinaryCrossEntropy,
        x,
        t,
        {"weight": None if w is None else _full(w, x.shape), "red": red},
    )


@half_via_float32
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Sigmoid followed by binary cross-entropy, in one stable formula:
    (1 - t)·x + (1 + (pw - 1)·t)·softplus(-x), finite for any logit x.

    Parameters
    ----------
    input : Tensor, any shape (logits)
    target : Tensor, the input's shape, floating (differentiable)
    weight : Tensor broadcastable to the input's shape, optional (a constant)
    reduction : {'mean', 'sum', 'none'}
    pos_weight : Tensor broadcastable to the input (e.g. shape (C,)), optional
        Weight of the positive term (a constant).
    """
    op = "binary_cross_entropy_with_logits"
    red = _reduction_code(reduction, op)
    x, t, w = _bce_fast_operands(input, target, weight, op)
    pw = None if pos_weight is None else _pos_weight(pos_weight, x, op)
    return apply2(
        BinaryCrossEntropyWithLogits,
        x,
        t,
        {
            "weight": None if w is None else _full(w, x.shape),
            "pos_weight": None if pw is None else _full(pw, x.shape),
            "red": red,
        },
    )
