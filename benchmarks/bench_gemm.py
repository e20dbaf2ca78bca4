"""GEMM throughput: minigrad's kernel against numpy's BLAS (OpenBLAS here),
and against PyTorch's ``torch.mm`` (MKL) for the square float32 2-thread
products from n = 256 on (issue 16's target; rows "... vs torch", measured in
the same interleaved rounds as the numpy row above them).

    python benchmarks/run.py gemm            # full sweep (a few minutes)
    python benchmarks/run.py gemm --quick    # fewer sizes and rounds

Cases: square n = 64...2048 and the MLP shapes 64x784 @ 784x128,
256x784 @ 784x1024, 256x1024 @ 1024x1024; float32 and float64; 1 and 2
threads. Both sides write into a preallocated ``out`` and are measured in
alternating rounds (``common.interleaved``); figures are medians in GFLOP/s.
numpy's threads are set with threadpoolctl (required for the thread-controlled
rows: without it numpy's figures are marked "threads uncontrolled"). With 2
threads, each minigrad batch starts after OpenBLAS's workers have stopped
spinning (``_BLAS_IDLE_S``), so that they do not take minigrad's second core.

Each row's ``extra`` holds the fraction of the machine's theoretical peak for
that many cores (the issue's FMA-loop figures: 349 GFLOP/s float32 and 175
float64 on both cores, i.e. half of that per core; printed as a table too),
the max error against a float64 product, and the load average when it was
measured. NOTE: the cores boost above the clock behind those figures: an
AVX-512 FMA loop measured 274 GFLOP/s float32 on one core and 544 on two
(load ~1.4), so fractions above 100% are possible.

The contention rows run a busy loop (another process, pinned to CPU 0) while
numpy uses 2 threads and minigrad up to 2 (as its ops do: fewer when other
processes hold cores), alternating quiet and busy rounds, and report the
fraction of its quiet throughput each keeps; ``extra`` also has the kernel
forced to 2 threads ("raw").
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from statistics import median
from typing import Any

import numpy as np
from common import Row, interleaved, timeit, try_import

from minigrad import backend
from minigrad._C import _gemm

# OpenBLAS's idle workers spin for 2^28 cycles (~0.13 s here) after each call
# before they sleep; timed right after numpy's rounds, minigrad's second
# thread would share its core with a spinning OpenBLAS worker (measured: 35%
# less 2-thread throughput at 256x784x1024). So minigrad's batches start after
# this pause (in an untimed warm-up call); numpy's are timed as they are.
_BLAS_IDLE_S = 0.2

# Theoretical peak per core (GFLOP/s), from the FMA-loop measurement.
PEAK_PER_CORE = {np.float32: 349.0 / 2, np.float64: 175.0 / 2}
MLP_SHAPES = [(64, 784, 128), (256, 784, 1024), (256, 1024, 1024)]

_threadpoolctl = try_import("threadpoolctl")


@contextlib.contextmanager
def _numpy_threads(n: int) -> Iterator[bool]:
    """Limits numpy's BLAS to ``n`` threads; yields whether it could."""
    if _threadpoolctl is None:
        yield False
        return
    with _threadpoolctl.threadpool_limits(limits=n, user_api="blas"):
        yield True


def _case(
    m: int,
    k: int,
    n: int,
    dtype: Any,
    threads: int,
    rounds: int,
    target: str,
    torch_target: str | None = None,
) -> list[Row]:
    """One numpy row, and a torch.mm row (same interleaved rounds) when
    ``torch_target`` is given and torch is installed."""
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (k, n)).astype(dtype)
    out_mg = np.empty((m, n), dtype)
    out_np = np.empty((m, n), dtype)
    blas_hot = [False]

    def run_numpy() -> None:
        np.matmul(a, b, out=out_np)
        blas_hot[0] = threads > 1

    def run_minigrad() -> None:
        if blas_hot[0]:  # the first (untimed warm-up) call of a batch
            time.sleep(_BLAS_IDLE_S)
            blas_hot[0] = False
        _gemm.gemm(a, b, out=out_mg, num_threads=threads)

    fns = {"minigrad": run_minigrad, "numpy": run_numpy}
    torch = _torch if torch_target is not None else None
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        out_t = torch.empty((m, n), dtype=ta.dtype)

        def run_torch() -> None:
            torch.mm(ta, tb, out=out_t)
            blas_hot[0] = threads > 1  # its OpenMP workers spin too

        fns["torch"] = run_torch
    with _numpy_threads(threads) as controlled, _torch_threads(threads):
        med = interleaved(fns, rounds=rounds, min_time=0.02)
    flop = 2.0 * m * n * k
    gf_mg, gf_np = flop / med["minigrad"] / 1e9, flop / med["numpy"] / 1e9
    exact = a.astype(np.float64) @ b.astype(np.float64)
    scale = float(np.abs(exact).max()) or 1.0
    peak = PEAK_PER_CORE[dtype] * threads
    name = "f32" if dtype == np.float32 else "f64"
    rows = []
    if torch is not None:
        gf_t = flop / med["torch"] / 1e9
        rows.append(
            Row(
                family="gemm",
                case=f"{m}x{k}@{k}x{n} {name} {threads}t vs torch",
                unit="GFLOP/s",
                minigrad=gf_mg,
                peer_name="torch.mm",
                peer=gf_t,
                higher_is_better=True,
                target=torch_target or "",
                extra={
                    "peak_gflops": peak,
                    "minigrad_frac_peak": gf_mg / peak,
                    "numpy_frac_peak": gf_t / peak,  # the peer's, for the table
                    "load_avg": os.getloadavg(),
                },
            )
        )
    numpy_row = Row(
        family="gemm",
        case=f"{m}x{k}@{k}x{n} {name} {threads}t",
        unit="GFLOP/s",
        minigrad=gf_mg,
        peer_name="numpy" if controlled else "numpy (threads uncontrolled)",
        peer=gf_np,
        higher_is_better=True,
        target=target,
        extra={
            "peak_gflops": peak,
            "minigrad_frac_peak": gf_mg / peak,
            "numpy_frac_peak": gf_np / peak,
            "max_rel_err": float(np.abs(out_mg - exact).max()) / scale,
            "numpy_max_rel_err": float(np.abs(out_np - exact).max()) / scale,
            "load_avg": os.getloadavg(),
        },
    )
    return [numpy_row, *rows]


def _target(m: int, k: int, n: int, dtype: Any, threads: int) -> str:
    if (m, k, n) in MLP_SHAPES and dtype == np.float32:
        return ">= 1.0x"
    if m == k == n and n <= 128 and dtype == np.float32 and threads == 2:
        return ">= 1.0x"  # issue 16: small products at least numpy's speed
    if m == k == n and n >= 256 and threads == 2:
        return ">= 0.8x"
    return ""


def _torch_target(m: int, k: int, n: int, dtype: Any, threads: int) -> str | None:
    """The torch.mm row's target, or None for no torch row (issue 16: square
    float32 products from n = 256 on 2 threads, against MKL)."""
    if m == k == n and n >= 256 and dtype == np.float32 and threads == 2:
        return ">= 0.9x"
    return None


_torch = try_import("torch")


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` (restored on exit)."""
    if _torch is None:
        yield
        return
    before = _torch.get_num_threads()
    _torch.set_num_threads(n)
    try:
        yield
    finally:
        _torch.set_num_threads(before)


@contextlib.contextmanager
def _busy_neighbour() -> Iterator[None]:
    """Another process spinning on one core (CPU 0 where affinity is
    available), stopped on exit."""
    code = (
        "import os\n"
        "if hasattr(os, 'sched_setaffinity'):\n"
        "    os.sched_setaffinity(0, {0})\n"
        "while True:\n"
        "    pass\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.05)  # let it start spinning
        yield
    finally:
        proc.kill()
        proc.wait()


def _contention_case(m: int, k: int, n: int, rounds: int) -> Row:
    """How much 2-thread throughput each side keeps with a busy neighbour.

    Quiet and busy measurements alternate round by round, so that load from
    elsewhere on a shared machine falls on both alike."""
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    out = np.empty((m, n), np.float32)
    # minigrad as the ops layer calls it: at most 2 threads, fewer when other
    # processes hold cores (minigrad.backend, Note [Sharing cores]); "raw" is
    # the kernel forced to 2 threads.
    fns = {
        "minigrad": lambda: _gemm.gemm(
            a, b, out=out, num_threads=backend._kernel_threads()
        ),
        "raw": lambda: _gemm.gemm(a, b, out=out, num_threads=2),
        "numpy": lambda: np.matmul(a, b, out=out),
    }
    times: dict[str, list[float]] = {
        f"{who} {cond}": [] for who in fns for cond in ("quiet", "busy")
    }
    with _numpy_threads(2) as controlled:
        for _ in range(rounds):
            for cond in ("quiet", "busy"):
                busy = cond == "busy"
                with _busy_neighbour() if busy else contextlib.nullcontext():
                    for who, fn in fns.items():
                        times[f"{who} {cond}"].append(
                            timeit(fn, repeat=3, min_time=0.02)
                        )
    flop = 2.0 * m * n * k
    gf = {key: flop / median(v) / 1e9 for key, v in times.items()}
    return Row(
        family="gemm",
        case=f"busy core: {m}x{k}@{k}x{n} f32 2t kept",
        unit="fraction",
        minigrad=gf["minigrad busy"] / gf["minigrad quiet"],
        peer_name="numpy" if controlled else "numpy (threads uncontrolled)",
        peer=gf["numpy busy"] / gf["numpy quiet"],
        higher_is_better=True,
        target="~0.5-0.67 (proportional)",
        extra={
            "gflops": gf,
            "raw_2_threads_kept": gf["raw busy"] / gf["raw quiet"],
            "load_avg": os.getloadavg(),
        },
    )


def run(quick: bool) -> list[Row]:
    squares = [64, 256, 1024] if quick else [64, 128, 256, 512, 1024, 2048]
    rounds = 3 if quick else 5
    rows = []
    for dtype in (np.float32, np.float64):
        for threads in (1, 2):
            for m, k, n in [(s, s, s) for s in squares] + MLP_SHAPES:
                target = _target(m, k, n, dtype, threads)
                t_target = _torch_target(m, k, n, dtype, threads)
                rows += _case(m, k, n, dtype, threads, rounds, target, t_target)
    _print_peak_fractions(rows)
    shapes = [(512, 512, 512), (256, 784, 1024), (1024, 1024, 1024)]
    rows += [_contention_case(*s, rounds) for s in (shapes[:1] if quick else shapes)]
    return rows


def _print_peak_fractions(rows: list[Row]) -> None:
    """The runner's table has no column for it: print the fraction of the
    theoretical peak here."""
    print(f"{'gemm case':<32} {'peak':>7} {'minigrad':>9} {'numpy':>7}")
    for r in rows:
        e = r.extra
        print(
            f"{r.case:<32} {e['peak_gflops']:>7.1f} "
            f"{e['minigrad_frac_peak']:>8.0%} {e['numpy_frac_peak']:>7.0%}"
        )
