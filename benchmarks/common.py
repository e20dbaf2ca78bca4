"""Shared timing and reporting for the benchmark modules (not a test).

Each ``benchmarks/bench_<family>.py`` defines ``run(quick: bool) -> list[Row]``;
``benchmarks/run.py`` discovers and runs them, prints one table and writes JSON.
Peers (numpy, PyTorch, micrograd) are measured in the same run, interleaved, so a
ratio compares like with like on a shared, noisy machine.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from statistics import median
from typing import Any


@dataclass
class Row:
    """One measured case: minigrad's figure beside a peer's, and their ratio.

    ``unit`` says what the figures are (``us/op``, ``ms/step``, ``GFLOP/s``...).
    ``higher_is_better`` decides how the ratio reads: the ratio is always
    minigrad / peer, and ``target`` is the bound the issue sets for it.
    """

    family: str
    case: str
    unit: str
    minigrad: float
    peer_name: str = ""
    peer: float | None = None
    higher_is_better: bool = False
    target: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.peer is None or self.peer == 0:
            return None
        return self.minigrad / self.peer

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


def timeit(
    fn: Callable[[], Any],
    *,
    repeat: int = 7,
    number: int | None = None,
    warmup: int = 2,
    min_time: float = 0.05,
) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` timed batches.

    ``number`` calls per batch is chosen so a batch lasts at least ``min_time``.
    The garbage collector is left on: it is part of what a user pays.
    """
    for _ in range(warmup):
        fn()
    if number is None:
        number, elapsed = 1, 0.0
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time or number >= 1 << 20:
                break
            number *= 2
    samples = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return median(samples)


def interleaved(
    fns: dict[str, Callable[[], Any]],
    *,
    rounds: int = 5,
    mg_threads: int | None = None,
    per_round: dict[str, list[float]] | None = None,
    **kw: Any,
) -> dict[str, float]:
    """Medians for several implementations, measured in alternating rounds so
    that a burst of load on the machine hits all of them alike; minigrad's
    kernels run on ``mg_threads`` threads meanwhile (restored after) if given.
    ``per_round``, if given, receives each implementation's round medians
    (the spread a reader needs to judge a ratio)."""
    import minigrad as mg

    before = mg.get_num_threads()
    if mg_threads is not None:
        mg.set_num_threads(mg_threads)
    try:
        per: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(rounds):
            for k, fn in fns.items():
                per[k].append(timeit(fn, repeat=3, **kw))
    finally:
        mg.set_num_threads(before)
    if per_round is not None:
        per_round.update(per)
    return {k: median(v) for k, v in per.items()}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    with contextlib.suppress(OSError):
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=os.path.dirname(__file__),
        ).stdout.strip()
    try:
        import minigrad

        if hasattr(minigrad, "backend_info"):
            info["minigrad_backend"] = minigrad.backend_info()
    except ImportError:
        pass
    return info


def try_import(name: str) -> Any:
    """The module, or None when the optional peer is not installed."""
    try:
        return __import__(name)
    except ImportError:
        return None
