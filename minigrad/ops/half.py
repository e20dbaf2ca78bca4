"""float16 through float32 kernels: the C kernels take float32 and float64 only.

Layer: ops. Imports ``minigrad.tensor`` (and, through ``Tensor.to``, the cast op).

# Note [float16 computes in float32]
PyTorch on the CPU computes float16 ops in float32 and rounds the result back
once. Ops that numpy runs on float16 arrays do that already (its float16 loops
convert to float32 per element); ops that run a C kernel are wrapped by
:func:`half_via_float32`: float16 Tensor arguments are cast to float32, the op
runs, and its floating results are cast back to float16. The casts are
differentiable ops (their gradient is cast back), so gradients are float16 too
and double backward works through them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["half_via_float32"]

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)

F = TypeVar("F", bound=Callable[..., Any])


def _up(x: Any) -> Any:
    if isinstance(x, Tensor) and x.data.dtype is _F16:
        return x.to(_F32)
    if isinstance(x, (list, tuple)) and any(isinstance(t, Tensor) for t in x):
        return type(x)(_up(t) for t in x)
    return x


def _down(y: Any) -> Any:
    if isinstance(y, Tensor):
        return y.to(_F16) if y.data.dtype is _F32 else y
    if isinstance(y, tuple):
        return (
            type(y)(*(_down(t) for t in y))
            if hasattr(y, "_fields")
            else tuple(_down(t) for t in y)
        )
    return y


def _has_half(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    for x in (*args, *kwargs.values()):
        if isinstance(x, Tensor):
            if x.data.dtype is _F16:
                return True
        elif isinstance(x, (list, tuple)) and any(
            isinstance(t, Tensor) and t.data.dtype is _F16 for t in x
        ):
            return True
    return False


def half_via_float32(fn: F) -> F:
    """``fn`` with float16 Tensor arguments computed in float32 and its floating
    results rounded back to float16 (Note [float16 computes in float32])."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _has_half(args, kwargs):
            return fn(*args, **kwargs)
        up_args = tuple(_up(a) for a in args)
        up_kwargs = {k: _up(v) for k, v in kwargs.items()}
        return _down(fn(*up_args, **up_kwargs))

    return wrapper  # type: ignore[return-value]
