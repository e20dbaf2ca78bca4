"""Multi-head attention (``nn.MultiheadAttention``) over the functional
``scaled_dot_product_attention``. Layer: nn.

Parameter names, shapes and initialization follow PyTorch's, so a state_dict
moves between the two as numpy arrays: ``in_proj_weight`` (3E, E) when key and
value have the query's width, else ``q_proj_weight`` / ``k_proj_weight`` /
``v_proj_weight``; ``in_proj_bias`` (3E); ``bias_k`` / ``bias_v`` (1, 1, E) with
``add_bias_kv``; ``out_proj`` a Linear(E, E).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn._functional_attention import (
    _attend,
    _check_dropout_p,
    scaled_dot_product_attention,
)
from minigrad.nn.linear import Linear, _float_dtype
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["MultiheadAttention", "scaled_dot_product_attention"]

_OP = "MultiheadAttention"


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads of width embed_dim / num_heads, each on
    its own projection of query, key and value, concatenated and projected by
    ``out_proj``.

    Parameters
    ----------
    embed_dim, num_heads : int, embed_dim divisible by num_heads
    dropout : dropout on the attention weights in training mode
    bias : biases of the input and output projections
    add_bias_kv : append a learned key and value (``bias_k``, ``bias_v``) to the
        sequences
    add_zero_attn : append a zero key and value after the projection
    kdim, vdim : widths of key and value (default embed_dim)
    batch_first : inputs and output are (N, L, E) instead of (L, N, E)
    dtype : float32 (default) or float64

    forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False) returns
    (output, weights): output (L, N, E) (or (N, L, E), or (L, E) unbatched);
    weights (N, L, S) averaged over heads, (N, H, L, S) if not
    ``average_attn_weights``, or None if not ``need_weights``. Bool masks are
    True where attention is NOT allowed (the opposite of
    ``scaled_dot_product_attention``); float masks are added to the scores.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(
                f"{_OP}: embed_dim and num_heads must be positive, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        if embed_dim % num_heads:
            raise ArgumentError(
                f"{_OP}: embed_dim must be divisible by num_heads, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        _check_dropout_p(dropout, _OP)
        d = _float_dtype(dtype, _OP)
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim == self.vdim
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.head_dim = self.embed_dim // self.num_heads
        self.add_zero_attn = add_zero_attn
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), d))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((e, e), d))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), d))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), d))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * e, d))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=d)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, e), d))
            self.bias_v = Parameter(np.empty((1, 1, e), d))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal
        bias_k / bias_v; out_proj.weight keeps Linear's init."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self) -> tuple[Tensor, Tensor, Tensor]:
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            e = self.embed_dim
            return w[:e], w[e : 2 * e], w[2 * e :]
        return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        q, k, v = _check_inputs(self, query, key, value)
        batched = q.ndim == 3
        if batched and self.batch_first:
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        if not batched:
            q, k, v = q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)
        if is_causal and attn_mask is None:
            raise ArgumentError(
                f"{_OP}: is_causal is a hint that attn_mask is the causal mask; "
                "pass attn_mask too"
            )
        L, N, E = q.shape
        H, hd = self.num_heads, self.head_dim
        wq, wk, wv = self._projections()
        b = self.in_proj_bias
        bq, bk, bv = (None,) * 3 if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        q = F.linear(q, wq, bq)
        k = F.linear(k, wk, bk)
        v = F.linear(v, wv, bv)
        S = k.shape[0]
        bias = _mask_bias(attn_mask, "attn_mask", q.dtype, _attn_shapes(L, S, N, H))
        # PyTorch's sdpa path: with the hint alone, the mask is replaced by a
        # causal one over the final keys (bias_kv / zero_attn ones included).
        causal = is_causal and key_padding_mask is None and not need_weights
        if causal:
            bias = None
        if key_padding_mask is not None and not batched:
            key_padding_mask = _unsqueeze0(key_padding_mask)
        pad = _mask_bias(key_padding_mask, "key_padding_mask", q.dtype, [(N, S)])
        if self.bias_k is not None:
            k = ops.cat([k, self.bias_k.expand(1, N, E)], 0)
            v = ops.cat([v, self.bias_v.expand(1, N, E)], 0)
            bias, pad = _pad_column(bias), _pad_column(pad)
        # (S, N, E) -> (N·H, S, hd): heads next to the batch.
        q = q.reshape(L, N * H, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], N * H, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], N * H, hd).transpose(0, 1)
        if self.add_zero_attn:
            zeros = Tensor._wrap(np.zeros((N * H, 1, hd), q.dtype))
            k, v = ops.cat([k, zeros], 1), ops.cat([v, zeros], 1)
            bias, pad = _pad_column(bias), _pad_column(pad)
        if pad is not None:
            s = pad.shape[-1]
            pad = pad.reshape(N, 1, 1, s).expand(N, H, 1, s).reshape(N * H, 1, s)
            bias = pad if bias is None else bias + pad
        keep = np.tri(L, k.shape[1], dtype=np.bool_) if causal else None
        p = self.dropout if self.training else 0.0
        # PyTorch gives NaN weights for a fully masked query when it returns the
        # weights, and zeros through its sdpa path when it does not.
        out, w = _attend(
            q, k, v, keep, bias, 1.0 / math.sqrt(hd), p, safe=not need_weights
        )
        out = out.transpose(0, 1).reshape(L * N, E)
        out = self.out_proj(out).reshape(L, N, E)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        w = w.reshape(N, H, L, w.shape[-1])
        if average_attn_weights:
            w = w.mean(1)
        if not batched:
            w = w.squeeze(0)
        return out, w

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
            f"dropout={self.dropout}, batch_first={self.batch_first}"
        )


def _check_inputs(
    m: MultiheadAttention, query: Any, key: Any, value: Any
) -> tuple[Tensor, Tensor, Tensor]:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_OP}: {name} must be a Tensor, got {type(t).__name__}")
    q, k, v = query, key, value
    if q.ndim not in (2, 3):
        raise ShapeError(f"{_OP}: query must be 2-D or 3-D, got shape {q.shape}")
    if k.ndim != q.ndim or v.ndim != q.ndim:
        raise ShapeError(
            f"{_OP}: query, key and value must all be {q.ndim}-D, got shapes "
            f"{q.shape}, {k.shape} and {v.shape}"
        )
    w = m.in_proj_weight if m._qkv_same_embed_dim else m.q_proj_weight
    if not q.dtype == k.dtype == v.dtype == w.dtype:
        raise DTypeError(
            f"{_OP}: query, key and value must have the parameters' dtype {w.dtype}, "
            f"got {q.dtype}, {k.dtype} and {v.dtype}"
        )
    for name, t, width in (
        ("query", q, m.embed_dim),
        ("key", k, m.kdim),
        ("value", v, m.vdim),
    ):
        if t.shape[-1] != width:
            raise ShapeError(
                f"{_OP}: {name} of shape {t.shape} does not end with {width}"
            )
    if k.shape[:-1] != v.shape[:-1]:
        raise ShapeError(
            f"{_OP}: key {k.shape} and value {v.shape} differ in sequence or batch"
        )
    if q.ndim == 3:
        nb = 0 if m.batch_first else 1
        if q.shape[nb] != k.shape[nb]:
            raise ShapeError(
                f"{_OP}: query {q.shape} and key {k.shape} differ in the batch size"
            )
    return q, k, v


def _attn_shapes(L: int, S: int, N: int, H: int) -> list[tuple[int, ...]]:
    return [(L, S), (N * H, L, S)]


def _unsqueeze0(mask: Any) -> Any:
    return mask.unsqueeze(0) if isinstance(mask, Tensor) else mask


def _mask_bias(
    mask: Any, name: str, dtype: np.dtype, shapes: list[tuple[int, ...]]
) -> Tensor | None:
    """The mask as an additive float Tensor: -inf where a bool mask is True, a
    float mask as it is (cast to the query's dtype, still differentiable)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{_OP}: {name} must be a Tensor, got {type(mask).__name__}")
    if tuple(mask.shape) not in shapes:
        want = " or ".join(str(s) for s in shapes)
        raise ShapeError(f"{_OP}: {name} has shape {mask.shape}, expected {want}")
    if mask.dtype == np.bool_:
        return Tensor._wrap(np.where(mask.data, -np.inf, 0.0).astype(dtype))
    if mask.dtype.kind != "f":
        raise DTypeError(
            f"{_OP}: only bool and floating {name} are supported, got {mask.dtype}"
        )
    return mask if mask.dtype == dtype else mask.to(dtype)


def _pad_column(bias: Tensor | None) -> Tensor | None:
    """A zero column appended to a mask's key dim, for an appended key."""
    if bias is None:
        return None
    zeros = Tensor._wrap(np.zeros((*bias.shape[:-1], 1), bias.dtype))
    return ops.cat([bias, zeros], -1)
