"""nn.utils.rnn: batching sequences of different lengths. Layer: nn.

``pad_sequence`` is built from ``cat`` and ``stack``, so gradients flow back to
each sequence (the padding gets none).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad import ops
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(
    sequences: Tensor | Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stacks tensors of shapes (L_i, *) into one (L_max, B, *) tensor ((B,
    L_max, *) with ``batch_first``), filling the missing steps with
    ``padding_value`` after each sequence (``padding_side="right"``) or before
    it ("left").

    Raises
    ------
    ArgumentError : an unknown ``padding_side``, or no sequences
    ShapeError : sequences whose trailing dims differ
    """
    if padding_side not in ("left", "right"):
        raise ArgumentError(
            "pad_sequence: Expected padding_side to be one of left or right, "
            f"but got {padding_side!r}"
        )
    if isinstance(sequences, Tensor):
        seqs = list(sequences.unbind(0))
    else:
        seqs = list(sequences)
    if not seqs:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    for s in seqs:
        if not isinstance(s, Tensor):
            raise TypeError(
                f"pad_sequence: expected a sequence of Tensors, got {type(s).__name__}"
            )
        if s.ndim == 0:
            raise ShapeError("pad_sequence: sequences must have at least one dim")
    trailing = {s.shape[1:] for s in seqs}
    if len(trailing) != 1:
        shapes = [tuple(s.shape) for s in seqs]
        raise ShapeError(
            "pad_sequence: sequences must match in all dims but the first, got "
            f"{shapes}"
        )
    dtype = np.result_type(*[s.dtype for s in seqs])
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        s = s if s.dtype == dtype else s.to(dtype)
        missing = longest - s.shape[0]
        if missing:
            fill = Tensor._wrap(np.full((missing, *s.shape[1:]), padding_value, dtype))
            s = ops.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return ops.stack(padded, 1 if not batch_first else 0)
