"""minigrad's exception classes. Layer: bottom; imports nothing.

PyTorch raises ``RuntimeError`` for a bad shape, dtype or argument value, where
Python code (and minigrad's style) expects ``ValueError``. Each class here derives
from both, so code written for either ``except`` catches minigrad's errors.
"""

from __future__ import annotations

__all__ = ["ArgumentError", "DimError", "ShapeError"]


class ArgumentError(ValueError, RuntimeError):
    """An argument with a value the op cannot take (a negative size, an unknown
    mode, a thread count of 0). Both a ValueError and a RuntimeError."""


class ShapeError(ArgumentError):
    """Operands whose shapes do not fit the op (``matmul: inner dimensions differ:
    (3, 4) @ (5, 2)``). Both a ValueError and a RuntimeError."""


class DimError(ShapeError, IndexError):
    """A dim out of range for the tensor (``sum: dim 5 is out of range for a
    tensor with 2 dims``): an IndexError, as PyTorch raises there, and a
    ValueError and RuntimeError like the other shape errors (numpy's AxisError
    is likewise both a ValueError and an IndexError)."""
