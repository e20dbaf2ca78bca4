"""Devices: ``device('cpu')``, and the parsing of ``.to(...)`` arguments.
Layer: core (imports ``dtypes`` and ``errors`` only, never ``tensor``).

minigrad computes on the CPU only. PyTorch programs still name devices
(``device = torch.device("cuda" if torch.cuda.is_available() else "cpu")``,
``x.to(device)``, ``model.cuda()``), so a :class:`device` object can name any
of PyTorch's device types; moving a tensor or a module to anything but the CPU
raises an error that names the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import canonical_dtype
from minigrad.errors import ArgumentError

__all__ = ["device", "parse_to"]

_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:
    """A device name: ``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``,
    ``device('cuda', 0)``.

    Any of PyTorch's usual device types is accepted as an object (so that
    ``torch.device('cuda' if ... else 'cpu')`` runs); only ``'cpu'`` can hold
    tensors.

    Attributes
    ----------
    type : str
    index : int or None
    """

    __slots__ = ("index", "type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a str such as 'cpu', got {type!r}")
        name = type
        if ":" in name:
            name, _, idx = name.partition(":")
            if index is not None or not idx.isdigit():
                raise ArgumentError(f"device: invalid device string {type!r}")
            index = int(idx)
        if name not in _TYPES:
            raise ArgumentError(
                f"device: expected one of {list(_TYPES)} (optionally with ':index'), "
                f"got {type!r}"
            )
        self.type: str = name
        self.index: int | None = None if index is None else int(index)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (ArgumentError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(dev: Any, where: str) -> None:
    """Raises unless ``dev`` (a :class:`device`, a str or an int) is the CPU."""
    if isinstance(dev, (int, np.integer)) and not isinstance(dev, bool):
        dev = device("cuda", int(dev))  # PyTorch reads an int as a CUDA index
    d = device(dev)
    if d.type != "cpu":
        raise ArgumentError(
            f"{where}: device {str(d)!r} is not available; minigrad computes on the "
            "CPU only (minigrad.cuda.is_available() is False). Use 'cpu', e.g. "
            "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')"
        )


def _is_device(a: Any) -> bool:
    if isinstance(a, device):
        return True
    if isinstance(a, str):
        return a.partition(":")[0] in _TYPES
    return False


def parse_to(args: tuple[Any, ...], kwargs: dict[str, Any], where: str) -> Any:
    """Reads PyTorch's ``.to(...)`` forms and returns the dtype asked for, or
    None: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``
    and the keywords ``device``, ``dtype``, ``non_blocking``, ``copy``.
    A device other than the CPU raises (see :func:`check_device`)."""
    extra = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if extra:
        raise TypeError(f"{where}: unexpected keyword argument(s) {sorted(extra)}")
    if len(args) > 2:
        raise TypeError(
            f"{where}: expected at most (device, dtype), got {len(args)} arguments"
        )
    dtype = kwargs.get("dtype")
    dev = kwargs.get("device")
    for a in args:
        if _is_device(a):
            dev = a
        elif isinstance(getattr(a, "data", None), np.ndarray) and hasattr(a, "device"):
            dtype = a.data.dtype  # to(other): other's dtype and device
        elif isinstance(a, (int, np.integer)) and not isinstance(a, bool):
            dev = a
        else:
            dtype = a
    if dev is not None:
        check_device(dev, where)
    return None if dtype is None else canonical_dtype(dtype, where)
