"""Anomaly detection: name the op whose backward made NaN/inf. Layer: autograd."""

from __future__ import annotations

from minigrad.autograd.grad_mode import GLOBAL_STATE

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class detect_anomaly:
    """Inside this block, forward records where each op was created, and backward
    raises a RuntimeError naming the op (and that place) whose backward returned
    NaN or inf. Slow: for debugging only."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = GLOBAL_STATE.anomaly
        GLOBAL_STATE.anomaly = self.check_nan

    def __exit__(self, *exc: object) -> None:
        GLOBAL_STATE.anomaly = self._prev


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` as a call or context manager."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._prev = GLOBAL_STATE.anomaly
        GLOBAL_STATE.anomaly = mode

    def __enter__(self) -> None:
        pass
