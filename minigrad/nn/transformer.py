"""Transformer encoder: ``TransformerEncoderLayer`` (self-attention and a
feed-forward block, each with a residual connection and a LayerNorm) and
``TransformerEncoder`` (a stack of copies). Layer: nn.

Submodule names follow PyTorch's (self_attn, linear1, dropout, linear2, norm1,
norm2, dropout1, dropout2; layers.i, norm), so a state_dict moves between the
two as numpy arrays.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from minigrad.errors import ArgumentError
from minigrad.nn import functional as F
from minigrad.nn.attention import MultiheadAttention
from minigrad.nn.container import ModuleList
from minigrad.nn.dropout import Dropout
from minigrad.nn.linear import Linear
from minigrad.nn.module import Module
from minigrad.nn.normalization import LayerNorm
from minigrad.tensor import Tensor

__all__ = ["TransformerEncoder", "TransformerEncoderLayer"]

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
}


class TransformerEncoderLayer(Module):
    """x + SelfAttention(x) then x + FeedForward(x), each followed by a
    LayerNorm (``norm_first=False``, the original Transformer) or preceded by it
    (``norm_first=True``, pre-norm).

    Parameters
    ----------
    d_model, nhead : width and number of attention heads
    dim_feedforward : hidden width of the feed-forward block
    dropout : after the attention, inside and after the feed-forward block
        (training mode only), and on the attention weights
    activation : "relu", "gelu" or a callable (a function or a Module)
    layer_norm_eps, batch_first, norm_first, bias : as in PyTorch
    dtype : float32 (default) or float64

    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False):
    src (S, N, E), (N, S, E) with batch_first, or (S, E); masks as in
    MultiheadAttention (bool True = not allowed).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
            dtype=dtype,
        )  # fmt: skip
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ArgumentError(
                    "TransformerEncoderLayer: activation should be relu/gelu, "
                    f"not {activation}"
                )
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(
                "TransformerEncoderLayer: activation must be 'relu', 'gelu' or a "
                f"callable, got {type(activation).__name__}"
            )
        self.activation = activation

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(
                self.norm1(x), src_mask, src_key_padding_mask, is_causal
            )
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(
                x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal)
            )
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(
        self, x: Tensor, mask: Tensor | None, pad: Tensor | None, is_causal: bool
    ) -> Tensor:
        y = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=pad, need_weights=False,
            is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout1(y)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` (``layers``) run in
    turn, then ``norm`` if given.

    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch's
    signature; they select PyTorch's fast paths, which minigrad does not have.
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(
                "TransformerEncoder: encoder_layer must be a Module, got "
                f"{type(encoder_layer).__name__}"
            )
        if num_layers < 0:
            raise ArgumentError(
                f"TransformerEncoder: num_layers must be non-negative, got {num_layers}"
            )
        self.layers = ModuleList(
            [copy.deepcopy(encoder_layer) for _ in range(num_layers)]
        )
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(
                out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )  # fmt: skip
        if self.norm is not None:
            out = self.norm(out)
        return out
