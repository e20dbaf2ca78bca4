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


def half_via_float32(fn: F) -> F:
    """``fn`` computed in float32 when its input is float16: every float16
    Tensor argument goes up, the floating results come back to float16 (Note
    [float16 computes in float32])."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Only the input (the first Tensor of the first two arguments, after
        # an ``nd``) is looked at: this runs on every call of a kernel op, and
        # PyTorch wants the other floating operands (weights, targets) in the
        # input's dtype anyway.
        x = args[0] if args else next(iter(kwargs.values()), None)
        if not isinstance(x, Tensor) and len(args) > 1:
            x = args[1]
        if not (isinstance(x, Tensor) and x.data.dtype is _F16):
            return fn(*args, **kwargs)
        up_args = tuple(_up(a) for a in args)
        up_kwargs = {k: _up(v) for k, v in kwargs.items()}
        return _down(fn(*up_args, **up_kwargs))

    return wrapper  # type: ignore[return-value]
