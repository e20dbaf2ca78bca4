"""Per-op overhead of the tensor engine against PyTorch CPU (not a test).

1,000 chained elementwise ops on a 4x4 float32 tensor that requires grad, then
``y.sum().backward()``; the figure is the time of forward plus backward divided
by the 1,000 ops (us/op). On data this small the arithmetic is negligible: what
is measured is what each framework pays per op to dispatch it, record the graph
and run the backward node. Both engines run the same sequence, interleaved in
the same process; PyTorch once with one thread and once with its default.

Sequences (the first is the headline figure):

* ``mixed``: ``y*w, y+0.5, y*0.999, y-b`` (w, b constant 4x4 tensors)
* ``tensor``: ``y*w, y+b``
* ``scalar``: ``y*1.0001, y+0.5``

Issue 14 asks the new elementwise ops to stay within 1.2x of the existing ones
per op. Chains of unary ops (minigrad only, interleaved with ``mixed``):

* ``act-old``: ``tanh, sigmoid, relu, gelu`` (the existing activations)
* ``act-new``: ``sin, elu, hardswish, cos`` (issue-14 math ops and activations)
* ``act-new2``: ``softsign, hardsigmoid, mish, logsigmoid``

and their per-op time against ``mixed`` and against ``act-old`` (and, for
scale, the same chain in PyTorch on one thread).

    python benchmarks/run.py overhead           # or --quick
"""

from __future__ import annotations

import time
from collections.abc import Callable
from statistics import median
from typing import Any

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg

N_OPS = 1000
CASES = ("mixed", "tensor", "scalar")


def _chain(case: str, x: Any, w: Any, b: Any) -> Any:
    """The op sequence, written once for both engines (they share the operators)."""
    y = x
    if case == "mixed":
        for _ in range(N_OPS // 4):
            y = y * w
            y = y + 0.5
            y = y * 0.999
            y = y - b
    elif case == "tensor":
        for _ in range(N_OPS // 2):
            y = y * w
            y = y + b
    else:
        for _ in range(N_OPS // 2):
            y = y * 1.0001
            y = y + 0.5
    return y


def _unary_ops(lib: Any = None) -> dict[str, tuple[Callable[[Any], Any], ...]]:
    """The chains, in minigrad (or, given ``torch``, the same ops in PyTorch)."""
    lib = lib or mg
    F = lib.nn.functional
    return {
        "act-old": (lib.tanh, lib.sigmoid, F.relu, F.gelu),
        "act-new": (lib.sin, F.elu, F.hardswish, lib.cos),
        "act-new2": (F.softsign, F.hardsigmoid, F.mish, F.logsigmoid),
    }


def _unary_runner(fns: tuple[Callable[[Any], Any], ...], x: Any) -> Callable[[], None]:
    # Values stay O(1) along the chain (no underflow to denormals).
    def run() -> None:
        x.grad = None
        y = x
        for _ in range(N_OPS // len(fns)):
            for f in fns:
                y = f(y)
        y.sum().backward()

    return run


def run_unary(quick: bool) -> list[Row]:
    """Per-op time of the chains of unary ops, against ``mixed`` and ``act-old``
    (and the same chain in PyTorch on one thread, for scale)."""
    torch = try_import("torch")
    base = np.full((4, 4), 0.75, np.float32)
    mx = mg.tensor(base, requires_grad=True)
    mw, mb = mg.full((4, 4), 1.0001), mg.full((4, 4), 0.5)
    fns = {"mixed": _runner("mixed", mx, mw, mb)}
    for name, ops in _unary_ops().items():
        fns[name] = _unary_runner(ops, mx)
    threads = torch.get_num_threads() if torch is not None else 0
    if torch is not None:
        tx = torch.tensor(base, requires_grad=True)
        for name, ops in _unary_ops(torch).items():
            fns[f"torch-1t {name}"] = _unary_runner(ops, tx)
        torch.set_num_threads(1)
    try:
        res = interleaved(
            fns, rounds=3 if quick else 9, min_time=0.05 if quick else 0.1
        )
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
    us = {k: v / N_OPS * 1e6 for k, v in res.items()}
    rows = []
    for name in ("act-old", "act-new", "act-new2"):
        for peer in ("mixed", "act-old", f"torch-1t {name}"):
            if peer == name or peer not in us:
                continue
            rows.append(
                Row(
                    family="overhead",
                    case=f"{N_OPS} unary ops 4x4 f32 fwd+bwd ({name})",
                    unit="us/op",
                    minigrad=us[name],
                    peer_name=peer if peer.startswith("torch") else f"mg {peer}",
                    peer=us[peer],
                    target="ratio <= 1.2"
                    if name != "act-old" and peer in ("mixed", "act-old")
                    else "",
                )
            )
    return rows


def _runner(case: str, x: Any, w: Any, b: Any) -> Callable[[], None]:
    def run() -> None:
        x.grad = None
        _chain(case, x, w, b).sum().backward()

    return run


def _split(case: str, x: Any, w: Any, b: Any, rounds: int) -> tuple[float, float]:
    """Median forward and backward times per op (us), measured separately."""
    fwd, bwd = [], []
    for _ in range(rounds):
        x.grad = None
        t0 = time.perf_counter()
        y = _chain(case, x, w, b).sum()
        t1 = time.perf_counter()
        y.backward()
        t2 = time.perf_counter()
        fwd.append((t1 - t0) / N_OPS * 1e6)
        bwd.append((t2 - t1) / N_OPS * 1e6)
    return median(fwd), median(bwd)


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    base = np.ones((4, 4), np.float32)
    mx = mg.tensor(base, requires_grad=True)
    mw, mb = mg.full((4, 4), 1.0001), mg.full((4, 4), 0.5)
    rows: list[Row] = []
    rounds = 3 if quick else 7
    default_threads = torch.get_num_threads() if torch is not None else 0
    for case in CASES:
        fns: dict[str, Callable[[], None]] = {"minigrad": _runner(case, mx, mw, mb)}
        if torch is not None:
            tx = torch.tensor(base, requires_grad=True)
            tw, tb = torch.full((4, 4), 1.0001), torch.full((4, 4), 0.5)
            t_run = _runner(case, tx, tw, tb)

            def one_thread(t_run: Callable[[], None] = t_run) -> None:
                torch.set_num_threads(1)
                t_run()

            def default(t_run: Callable[[], None] = t_run) -> None:
                torch.set_num_threads(default_threads)
                t_run()

            fns["torch-1t"] = one_thread
            fns["torch"] = default
        res = interleaved(fns, rounds=rounds, min_time=0.1 if not quick else 0.05)
        if torch is not None:
            torch.set_num_threads(default_threads)
        us = {k: v / N_OPS * 1e6 for k, v in res.items()}
        fwd, bwd = _split(case, mx, mw, mb, rounds)
        extra: dict[str, Any] = {"minigrad_fwd_us": fwd, "minigrad_bwd_us": bwd}
        if torch is not None:
            tx = torch.tensor(base, requires_grad=True)
            torch.set_num_threads(1)
            tf, tbk = _split(
                case, tx, torch.full((4, 4), 1.0001), torch.full((4, 4), 0.5), rounds
            )
            torch.set_num_threads(default_threads)
            extra.update({"torch_1t_fwd_us": tf, "torch_1t_bwd_us": tbk})
        label = f"{N_OPS} chained ops 4x4 f32 fwd+bwd ({case})"
        for peer in ("torch-1t", "torch"):
            rows.append(
                Row(
                    family="overhead",
                    case=label,
                    unit="us/op",
                    minigrad=us["minigrad"],
                    peer_name=peer if peer in us else "",
                    peer=us.get(peer),
                    target="<= 0.5x PyTorch" if case == "mixed" else "",
                    extra={
                        **extra,
                        "torch_threads": 1 if peer == "torch-1t" else default_threads,
                    },
                )
            )
    return rows + run_unary(quick)
