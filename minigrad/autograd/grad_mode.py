"""Grad modes: whether ops record the graph. Layer: autograd; imports only the
compiled core (where the flags live)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from minigrad._C import _core

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

F = TypeVar("F", bound=Callable[..., Any])


# STATE.grad_enabled: the grad mode is per thread, as in PyTorch: a ``no_grad``
# block in one thread must not stop another thread's graph recording; every
# thread starts with grad enabled. GLOBAL_STATE.anomaly: anomaly detection stays
# process-wide, as in PyTorch (torch's AnomalyMode is one global flag): it is a
# debugging switch, not a per-computation mode. Both live in the compiled core,
# which reads them per op (Note [Compiled core] in minigrad/_C/_core.pyx).
STATE = _core.STATE
GLOBAL_STATE = _core.GLOBAL_STATE


def is_grad_enabled() -> bool:
    """Whether ops run now, in this thread, record the graph (each thread starts
    with grad enabled)."""
    return STATE.grad_enabled


class _GradMode:
    """Context manager and decorator that sets the grad mode and restores it.

    Usable as ``with no_grad():``, ``@no_grad()`` and, like PyTorch, ``@no_grad``.
    """

    mode = True

    def __new__(cls, fn: Any = None) -> Any:
        self = super().__new__(cls)
        if callable(fn):  # bare decorator: @no_grad
            return self(fn)
        return self

    def __init__(self, fn: Any = None) -> None:
        pass

    def __enter__(self) -> None:
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        STATE.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Ops run inside do not record the graph; their results do not require grad."""

    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` works as a call, a context manager or a decorator."""

    def __new__(cls, mode: bool) -> Any:
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        self._prev = STATE.grad_enabled
        self.mode = bool(mode)
        STATE.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: F) -> F:
        STATE.grad_enabled = self._prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = STATE.grad_enabled
            STATE.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                STATE.grad_enabled = prev

        return wrapper  # type: ignore[return-value]
