"""nn.utils.rnn: batching sequences of different lengths (padding, and
PackedSequence for the RNN layers). Layer: nn.

Built from ``cat``, ``stack``, ``unbind`` and ``index_select``, so gradients
flow back to each sequence (the padding gets none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from minigrad import ops
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


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


class PackedSequence(NamedTuple):
    """A batch of sequences of different lengths, step-major: ``data`` holds the
    first step of every sequence, then the second step of those that have one,
    and so on (the sequences sorted by decreasing length); ``batch_sizes[t]`` is
    how many sequences reach step t. ``sorted_indices`` maps the sorted order
    to the caller's (None when the input was already sorted), and
    ``unsorted_indices`` back. The RNN layers take and return it.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _lengths(lengths: Any) -> np.ndarray:
    arr = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ArgumentError(
            "pack_padded_sequence: lengths must be a 1-d sequence of ints, got "
            f"{arr.dtype} of shape {arr.shape}"
        )
    return arr.astype(np.int64)


def pack_padded_sequence(
    input: Tensor,
    lengths: Any,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Packs a padded (T, B, *) batch ((B, T, *) with ``batch_first``) whose
    sequence b is ``lengths[b]`` long; differentiable wrt ``input``.

    Raises
    ------
    ArgumentError : lengths not positive, longer than T, not B of them, or not
        decreasing while ``enforce_sorted``
    """
    lens = _lengths(lengths)
    x = input.transpose(0, 1) if batch_first else input
    if x.ndim < 2 or lens.shape[0] != x.shape[1]:
        raise ShapeError(
            "pack_padded_sequence: Expected `len(lengths)` to be equal to "
            f"batch_size, but got {lens.shape[0]} (input of shape {input.shape}, "
            f"batch_first={batch_first})"
        )
    if lens.size and lens.min() <= 0:
        raise ArgumentError(
            "pack_padded_sequence: Length of all samples has to be greater than 0, "
            f"but got lengths {lens.tolist()}"
        )
    if lens.size and lens.max() > x.shape[0]:
        raise ShapeError(
            f"pack_padded_sequence: lengths {lens.tolist()} exceed the input's "
            f"{x.shape[0]} steps"
        )
    sorted_idx = unsorted_idx = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise ArgumentError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing "
                "order when `enforce_sorted` is True, got "
                f"{lens.tolist()}; pass enforce_sorted=False to sort them"
            )
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_idx = Tensor._wrap(order.astype(np.int64))
        unsorted_idx = Tensor._wrap(np.argsort(order).astype(np.int64))
        lens = lens[order]
        x = x.index_select(1, sorted_idx)
    steps = int(lens.max()) if lens.size else 0
    sizes = np.array([(lens > t).sum() for t in range(steps)], np.int64)
    rows = x.unbind(0)
    data = ops.cat([rows[t][: int(sizes[t])] for t in range(steps)], 0)
    return PackedSequence(data, Tensor._wrap(sizes), sorted_idx, unsorted_idx)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: (padded (T, B, *) or (B,
    T, *) in the caller's batch order, lengths (B,) int64). ``total_length``
    pads to that many steps.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(
            "pad_packed_sequence: expected a PackedSequence, got "
            f"{type(sequence).__name__}"
        )
    data, sizes = sequence.data, sequence.batch_sizes.data.astype(np.int64)
    steps = len(sizes)
    batch = int(sizes[0]) if steps else 0
    if total_length is not None and total_length < steps:
        raise ArgumentError(
            "pad_packed_sequence: Expected total_length to be at least the length "
            f"of the longest sequence in input, but got total_length={total_length} "
            f"and max sequence length being {steps}"
        )
    rows, start = [], 0
    for n in sizes.tolist():
        row = data[start : start + n]
        if n < batch:
            fill = np.full((batch - n, *data.shape[1:]), padding_value, data.dtype)
            row = ops.cat([row, Tensor._wrap(fill)], 0)
        rows.append(row)
        start += n
    extra = (total_length or steps) - steps
    if extra:
        fill = np.full((batch, *data.shape[1:]), padding_value, data.dtype)
        rows += [Tensor._wrap(fill)] * extra
    out = ops.stack(rows, 0)
    lens = (sizes[None, :] > np.arange(batch)[:, None]).sum(1).astype(np.int64)
    if sequence.unsorted_indices is not None:
        out = out.index_select(1, sequence.unsorted_indices)
        lens = lens[sequence.unsorted_indices.data]
    if batch_first:
        out = out.transpose(0, 1)
    return out, Tensor._wrap(lens)


def pack_sequence(
    sequences: Sequence[Tensor], enforce_sorted: bool = True
) -> PackedSequence:
    """Packs a list of (L_i, *) tensors (pad_sequence, then
    pack_padded_sequence)."""
    lens = [s.shape[0] for s in sequences]
    return pack_padded_sequence(
        pad_sequence(sequences), lens, enforce_sorted=enforce_sorted
    )
