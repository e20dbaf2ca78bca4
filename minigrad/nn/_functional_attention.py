"""The functional forms of attention and of the bilinear map, with PyTorch's
signatures (re-exported by ``minigrad.nn.functional``).

Layer: nn. Compositions of differentiable Tensor ops (matmul, softmax,
masked_fill, dropout), so gradients of gradients work without new Functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.autograd._tape import recorded
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator
from minigrad.tensor import Tensor

__all__ = ["bilinear", "scaled_dot_product_attention"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float_tensor(x: Any, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise DTypeError(f"{op}: {name} must be float32 or float64, got {x.dtype}")
    return x


def _check_dropout_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(
            f"{op}: dropout probability has to be between 0 and 1, got {p}"
        )


@recorded()
def _dropout(w: Tensor, p: float, generator: np.random.Generator | None) -> Tensor:
    """Inverted dropout on the attention weights (always on: the caller passes 0
    in eval, as PyTorch's contract says)."""
    if p == 1.0:
        mask = np.zeros(w.shape, w.dtype)
    else:
        keep = get_generator(generator).random(w.shape, dtype=w.dtype) >= p
        mask = keep.astype(w.dtype)
        mask *= w.dtype.type(1.0 / (1.0 - p))
    return w * Tensor._wrap(mask)


def _attend(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keep: np.ndarray | None,
    bias: Tensor | None,
    scale: float,
    dropout_p: float,
    safe: bool,
    generator: np.random.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ · scale + mask) v and the weights, shapes already checked.

    ``keep`` (bool, True = take part) and ``bias`` (float, added) both broadcast
    to the scores. With ``safe``, a row with no key taking part gives weights 0
    (PyTorch's sdpa) instead of NaN (PyTorch's MultiheadAttention when it returns
    the weights)."""
    scores = ops.matmul(q, k.transpose(-2, -1)) * scale
    if keep is not None:
        scores = ops.masked_fill(scores, ~keep, -math.inf)
    if bias is not None:
        scores = scores + bias
    dead = None
    if safe:
        # NOTE: a fully masked row is all -inf; softmax would give 0/0. Fill it
        # with 0 before (so neither softmax nor its backward sees NaN) and zero
        # its weights after (masked_fill's backward then stops the gradient).
        rows = np.isneginf(scores.data).all(axis=-1, keepdims=True)
        if rows.any():
            dead = rows
            scores = ops.masked_fill(scores, dead, 0.0)
    w = ops.softmax(scores, -1)
    if dead is not None:
        w = ops.masked_fill(w, dead, 0.0)
    if dropout_p > 0.0:
        w = _dropout(w, dropout_p, generator)
    return ops.matmul(w, v), w


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query · keyᵀ · scale + mask) · value over the last two dims.

    Parameters
    ----------
    query : Tensor (..., L, E); key : (..., S, E); value : (..., S, Ev). Batch
        dims broadcast; all three share one float dtype.
    attn_mask : bool Tensor (True = takes part) or float Tensor (added to the
        scores: float32 or query's dtype), broadcastable to (..., L, S)
    dropout_p : dropout on the weights, applied whenever > 0 (pass 0 in eval)
    is_causal : a lower-triangular (top-left aligned) mask; not with attn_mask
    scale : default 1/√E
    enable_gqa : grouped-query attention: key/value have fewer heads (dim -3)
        than query, each shared by query.size(-3) // key.size(-3) query heads

    Returns
    -------
    Tensor (..., L, Ev). A query row with no key taking part gives zeros.
    """
    op = "scaled_dot_product_attention"
    q = _float_tensor(query, op, "query")
    k = _float_tensor(key, op, "key")
    v = _float_tensor(value, op, "value")
    if not q.dtype == k.dtype == v.dtype:
        raise DTypeError(
            f"{op}: expected query, key and value to have the same dtype, got "
            f"{q.dtype}, {k.dtype} and {v.dtype}"
        )
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(
            f"{op}: query, key and value must be at least 2-D, got shapes "
            f"{q.shape}, {k.shape} and {v.shape}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(
            f"{op}: query {q.shape} and key {k.shape} differ in the last dim"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"{op}: key {k.shape} and value {v.shape} differ in the sequence dim (-2)"
        )
    _check_dropout_p(dropout_p, op)
    if enable_gqa:
        k, v = _repeat_heads(q, k, v, op)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"{op}: batch dims of query {q.shape}, key {k.shape} and value "
            f"{v.shape} do not broadcast"
        ) from None
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    keep = bias = None
    if is_causal:
        if attn_mask is not None:
            raise ArgumentError(
                f"{op}: an explicit attn_mask should not be set when is_causal=True"
            )
        keep = np.tri(L, S, dtype=np.bool_)
    elif attn_mask is not None:
        keep, bias = _sdpa_mask(attn_mask, q.dtype, (*batch, L, S), op)
    if scale is None:
        scale = 1.0 / math.sqrt(E) if E > 0 else math.inf
    out, _ = _attend(q, k, v, keep, bias, float(scale), float(dropout_p), True)
    return out


def _repeat_heads(q: Tensor, k: Tensor, v: Tensor, op: str) -> tuple[Tensor, Tensor]:
    if q.ndim < 3 or k.ndim < 3 or v.ndim < 3:
        raise ShapeError(
            f"{op}: enable_gqa needs a heads dim (-3), got query {q.shape}, key "
            f"{k.shape}, value {v.shape}"
        )
    h = q.shape[-3]
    out = []
    for name, t in (("key", k), ("value", v)):
        hk = t.shape[-3]
        if hk == 0 or h % hk:
            raise ShapeError(
                f"{op}: with enable_gqa, query's {h} heads must be a multiple of "
                f"{name}'s {hk} heads (shapes {q.shape} and {t.shape})"
            )
        out.append(t if hk == h else t.repeat_interleave(h // hk, dim=-3))
    return out[0], out[1]


def _sdpa_mask(
    mask: Any, dtype: np.dtype, shape: tuple[int, ...], op: str
) -> tuple[np.ndarray | None, Tensor | None]:
    """(keep, bias): a bool mask as a numpy array, a float mask as a Tensor of the
    query's dtype (it stays differentiable)."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(mask).__name__}")
    try:
        np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        raise ShapeError(
            f"{op}: attn_mask of shape {mask.shape} does not broadcast to the "
            f"scores' shape {shape}"
        ) from None
    if mask.dtype == np.bool_:
        return mask.data, None
    if mask.dtype != np.float32 and mask.dtype != dtype:
        raise DTypeError(
            f"{op}: attn_mask must be bool, float32 or the query's dtype {dtype}, "
            f"got {mask.dtype}"
        )
    return None, mask if mask.dtype == dtype else mask.to(dtype)


def bilinear(
    input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
) -> Tensor:
    """y[..., o] = Σᵢⱼ input1[..., i] · weight[o, i, j] · input2[..., j] + bias[o].

    Parameters
    ----------
    input1 : Tensor (*, in1); input2 : Tensor (*, in2), the same leading dims
    weight : Tensor (out, in1, in2); bias : Tensor (out,), optional

    Returns
    -------
    Tensor (*, out)
    """
    op = "bilinear"
    x1 = _float_tensor(input1, op, "input1")
    x2 = _float_tensor(input2, op, "input2")
    w = _float_tensor(weight, op, "weight")
    ts = [x1, x2, w] + ([] if bias is None else [_float_tensor(bias, op, "bias")])
    if len({t.dtype for t in ts}) != 1:
        raise DTypeError(
            f"{op}: inputs, weight and bias must share one dtype, got "
            + ", ".join(str(t.dtype) for t in ts)
        )
    if w.ndim != 3:
        raise ShapeError(f"{op}: weight must be 3-D (out, in1, in2), got {w.shape}")
    if x1.ndim == 0 or x2.ndim == 0 or x1.shape[:-1] != x2.shape[:-1]:
        raise ShapeError(
            f"{op}: input1 {x1.shape} and input2 {x2.shape} must be at least 1-D "
            "and have the same leading (batch) dims"
        )
    o, i, j = w.shape
    if x1.shape[-1] != i or x2.shape[-1] != j:
        raise ShapeError(
            f"{op}: inputs {x1.shape} and {x2.shape} do not end with the weight's "
            f"in1={i} and in2={j} (weight {w.shape})"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"{op}: bias has shape {bias.shape}, expected ({o},)")
    lead = x1.shape[:-1]
    n = int(np.prod(lead, dtype=np.int64))
    # (n, in1) @ (in1, out·in2) -> (n, out, in2), then contract in2 with input2.
    a = x1.reshape(n, i) @ w.permute(1, 0, 2).reshape(i, o * j)
    y = (a.reshape(n, o, j) * x2.reshape(n, 1, j)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, o)
