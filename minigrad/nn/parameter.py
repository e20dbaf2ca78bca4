"""Parameter: a Tensor that a Module registers as learnable. Layer: nn.

Imports ``minigrad.tensor`` and ``minigrad.dtypes``; nothing above.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import to_array
from minigrad.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and that a :class:`Module`
    registers when it is assigned as an attribute.

    Parameters
    ----------
    data : Tensor or array-like, optional
        A Tensor is shared (no copy, as PyTorch's ``Parameter(t)``); other data is
        copied into a new array. ``None`` gives an empty float32 parameter.
    requires_grad : bool
        Whether backward computes ``.grad`` for it (floating dtypes only).

    Raises
    ------
    RuntimeError
        ``requires_grad=True`` with an integer or bool dtype.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.zeros(0, np.float32)
        elif isinstance(data, Tensor):
            arr = data.data
        else:
            arr = to_array(data)
        super().__init__(np.zeros(0, arr.dtype))
        self.data = arr
        if isinstance(data, Tensor):
            self._version = data._version
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
