"""Embedding: a lookup table of learned vectors. Layer: nn."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.linear import _float_dtype
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["Embedding"]


class Embedding(Module):
    """Maps int64 indices to rows of ``weight`` (num_embeddings, embedding_dim).

    ``weight`` starts N(0, 1) with the ``padding_idx`` row zero; that row gets
    no gradient, so it stays as it is. With ``max_norm``, each forward first
    rescales the looked-up rows to at most that ``norm_type``-norm, in place.
    Shapes: input (*) -> output (*, embedding_dim).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        dtype: Any = None,
        _weight: Tensor | None = None,
        _freeze: bool = False,
    ) -> None:
        super().__init__()
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ArgumentError(
                    f"Embedding: padding_idx {padding_idx} must be within "
                    f"[-{num_embeddings}, {num_embeddings})"
                )
            if padding_idx < 0:
                padding_idx += num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        if _weight is None:
            d = _float_dtype(dtype, "Embedding")
            self.weight = Parameter(
                np.empty((num_embeddings, embedding_dim), d), requires_grad=not _freeze
            )
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(
                    f"Embedding: weight of shape {tuple(_weight.shape)} does not match "
                    f"({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0
                self.weight._version[0] += 1

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
    ) -> Embedding:
        """An Embedding that uses ``embeddings`` (2-D, shared) as its weight;
        ``freeze`` stops it from being trained."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ShapeError(
                "Embedding.from_pretrained: embeddings must be a 2-D Tensor"
            )
        n, dim = embeddings.shape
        return cls(
            n, dim, padding_idx, max_norm, norm_type, _weight=embeddings, _freeze=freeze
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input, self.weight, self.padding_idx, self.max_norm, self.norm_type
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2.0:
            s += f", norm_type={self.norm_type}"
        return s
