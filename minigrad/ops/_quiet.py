"""``np.errstate(all="ignore")`` at a fraction of its cost, for the hot path of
elementwise ops.

Layer: ops (numpy only).

# Note [Quiet floating-point errors]
Ops return inf/NaN quietly where PyTorch does (sin(inf), inf·0 in hardswish(-inf)),
so numpy's RuntimeWarnings must be off while they compute. ``np.errstate``
builds its error-state object on every ``with`` (about 5 us, more than a small
op's arithmetic); numpy keeps that state in a ContextVar, so setting a prebuilt
"ignore all" state and resetting the token is the same thing for well under
1 us. The names are numpy's private ones (numpy >= 2.0); if they move, ``enter``
/ ``leave`` fall back to ``np.errstate``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["enter", "leave"]

try:
    from numpy._core._ufunc_config import (  # type: ignore[attr-defined]
        _extobj_contextvar,
        _make_extobj,
    )

    _IGNORE = _make_extobj(all="ignore")
    _set = _extobj_contextvar.set
    _reset = _extobj_contextvar.reset

    def enter() -> Any:
        """Turns numpy's floating-point warnings off; returns the token for
        :func:`leave`."""
        return _set(_IGNORE)

    def leave(token: Any) -> None:
        """Restores the error state that :func:`enter` replaced."""
        _reset(token)

except ImportError:  # pragma: no cover - other numpy layouts

    def enter() -> Any:
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def leave(token: Any) -> None:
        token.__exit__(None, None, None)
