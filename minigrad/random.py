"""minigrad's random number generator. Layer: bottom; imports only numpy.

One global ``np.random.Generator`` that ``manual_seed`` reseeds (PyTorch's
convention). Functions that draw random numbers also accept an explicit
``generator``.
"""

from __future__ import annotations

import numpy as np

from minigrad._C._core import current_tape
from minigrad.autograd._tape import note_read

__all__ = ["Generator", "default_generator", "get_generator", "manual_seed"]

Generator = np.random.Generator


class _Default:
    gen: np.random.Generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseeds the global generator; returns it."""
    _Default.gen = np.random.default_rng(seed)
    return _Default.gen


def default_generator() -> np.random.Generator:
    """The global generator that :func:`manual_seed` reseeds."""
    return _Default.gen


def get_generator(generator: np.random.Generator | None = None) -> np.random.Generator:
    """``generator``, or the global one when it is None."""
    if current_tape() is not None:  # Note [Captured steps]
        note_read("a random draw outside a recorded op or call")
    return _Default.gen if generator is None else generator
