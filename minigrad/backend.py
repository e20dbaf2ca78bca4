"""Thread count and compiled-backend report. Layer: core (above _C).

``MINIGRAD_NUM_THREADS`` sets the initial thread count for the C kernels;
``set_num_threads`` changes it at run time.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["backend_info", "get_num_threads", "set_num_threads"]


def _initial_threads() -> int:
    env = os.environ.get("MINIGRAD_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(
                f"MINIGRAD_NUM_THREADS must be a positive integer, got {env!r}"
            ) from None
        if n < 1:
            raise ValueError(f"MINIGRAD_NUM_THREADS must be >= 1, got {n}")
        return n
    return os.cpu_count() or 1


class _Threads:
    n = _initial_threads()


def set_num_threads(n: int) -> None:
    """Threads the C kernels may use (>= 1)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _Threads.n = n


def get_num_threads() -> int:
    return _Threads.n


def backend_info() -> dict[str, Any]:
    """What the compiled backend is running with."""
    return {"num_threads": _Threads.n}
