"""PyTorch's type promotion of operands, ``can_cast``, ``finfo`` and ``iinfo``.

Layer: bottom, beside :mod:`minigrad.dtypes`; knows a Tensor only by its
``data`` array (it is imported before the tensor module).

# Note [Promotion of operands]
PyTorch ranks operands in three classes: tensors with at least one dimension,
0-d tensors, then Python scalars (bool, int, float; a float scalar counts as the
default dtype, float32, an int as int64). Each class promotes within itself;
then a lower class only matters when its category (bool < integer < floating) is
higher than the result so far: ``int8[3] + int64 0-d`` is int8, ``int8[3] +
float64 0-d`` is float64, ``float16[3] + 2.5`` stays float16, ``bool[3] + 1`` is
int64. Numpy arrays and lists count as tensors of their shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import (
    _CATEGORY,
    NAMES,
    DTypeError,
    canonical_dtype,
    float32,
    int64,
    promote_types,
    scalar_category,
    to_array,
)

__all__ = ["can_cast", "finfo", "iinfo", "promote_types", "result_type"]

_SCALAR_DTYPE = {0: np.dtype(np.bool_), 1: int64, 2: float32}


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """The result of a higher-priority class and a lower one (Note [Promotion of
    operands]): the lower class only counts through a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if _CATEGORY[lower.kind] > _CATEGORY[higher.kind]:
        return promote_types(higher, lower)
    return higher


def _operand_class(x: Any, op: str) -> tuple[int, np.dtype]:
    """(0 for a dimensioned tensor, 1 for a 0-d tensor, 2 for a scalar; dtype)."""
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray) and not isinstance(x, np.ndarray):
        return (0 if data.ndim else 1), data.dtype  # a Tensor
    if isinstance(x, np.ndarray):
        d = to_array(x, copy=False).dtype
        return (0 if x.ndim else 1), d
    if isinstance(x, (list, tuple)):
        return 0, to_array(x, copy=False).dtype
    if isinstance(x, (np.dtype, type, str)):
        raise TypeError(f"{op}: expected tensors or Python numbers, got a dtype {x!r}")
    return 2, _SCALAR_DTYPE[scalar_category(x, op)]


def result_type(*operands: Any, op: str = "result_type") -> np.dtype:
    """PyTorch's result dtype of an op on these operands (tensors, arrays, Python
    bool/int/float; complex is refused): Note [Promotion of operands].

    Raises
    ------
    TypeError
        No operand, or a complex or non-numeric operand.
    """
    if not operands:
        raise TypeError(f"{op}: expected at least one operand")
    by_class: list[np.dtype | None] = [None, None, None]
    for x in operands:
        k, d = _operand_class(x, op)
        by_class[k] = d if by_class[k] is None else promote_types(by_class[k], d)
    r = _combine(by_class[0], _combine(by_class[1], by_class[2]))
    assert r is not None
    return r


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` (as in-place ops
    and ``out=`` check): never to a lower category (float to integer, integer to
    bool); any width within a category, and up (int64 to float16)."""
    f = canonical_dtype(from_, "can_cast")
    t = canonical_dtype(to, "can_cast")
    return _CATEGORY[f.kind] <= _CATEGORY[t.kind]


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo`` gives them
    (``finfo()`` is float32's, the default dtype)."""

    __slots__ = (
        "bits",
        "dtype",
        "eps",
        "max",
        "min",
        "resolution",
        "smallest_normal",
        "tiny",
    )

    def __init__(self, type: Any = None) -> None:
        d = float32 if type is None else canonical_dtype(type, "finfo")
        if d.kind != "f":
            raise DTypeError(
                f"finfo: expected a floating dtype, got {NAMES[d]} (use iinfo)"
            )
        f = np.finfo(d)
        self.bits = int(f.bits)
        self.eps = float(f.eps)
        self.max = float(f.max)
        self.min = float(f.min)
        self.tiny = self.smallest_normal = float(f.smallest_normal)
        self.resolution = 10.0 ** -int(f.precision)
        self.dtype = NAMES[d]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, "
            f"max={self.max:g}, eps={self.eps:g}, "
            f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo`` gives them."""

    __slots__ = ("bits", "dtype", "max", "min")

    def __init__(self, type: Any) -> None:
        d = canonical_dtype(type, "iinfo")
        if d.kind not in "iu":
            raise DTypeError(
                f"iinfo: expected an integer dtype, got {NAMES[d]} (use finfo)"
            )
        i = np.iinfo(d)
        self.bits, self.max, self.min = int(i.bits), int(i.max), int(i.min)
        self.dtype = NAMES[d]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
