"""The optimizer step alone, fused (one C call per group, csrc/optim) against
the numpy path and torch.optim, and what the fused step buys in a full
training step.

    python benchmarks/run.py optim [--quick]

Parameters are those of the MLPs of bench_training (float32 Linear weights and
biases) with fixed random gradients: 784-128-64-10 on 1 thread and
784-1024-1024-10 on 2 threads; Adam (lr 1e-3) and SGD (lr 0.1, momentum 0.9).
Every implementation of a row is measured interleaved in the same run
(medians). ``extra`` holds the numpy path's time, torch's ``fused=True`` where
it has one, and the full training step (batch 64 / 256) with and without the
fused step.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import numpy as np
from bench_training import _mg_mlp, _steps
from common import Row, interleaved, try_import

import minigrad as mg
from minigrad import nn, optim

FAMILY = "optim"


def _make(kind: str, params: list, fused: bool | None) -> Any:
    if kind == "adam":
        return optim.Adam(params, lr=1e-3, fused=fused)
    return optim.SGD(params, lr=0.1, momentum=0.9, fused=fused)


def _torch_opt(torch: Any, kind: str, params: list, fused: bool | None) -> Any:
    if kind == "adam":
        return torch.optim.Adam(params, lr=1e-3, fused=fused)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9, fused=fused)


def _params(rng: np.random.Generator, sizes: list[int]) -> tuple[list, list]:
    """Float32 weights and biases of an MLP of these sizes, and gradients."""
    shapes = []
    for a, b in itertools.pairwise(sizes):
        shapes += [(b, a), (b,)]
    xs = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in shapes]
    gs = [rng.standard_normal(s).astype(np.float32) * 1e-3 for s in shapes]
    return xs, gs


def _optimizers(torch: Any, kind: str, xs: list, gs: list, threads: int,
                first: Any = None) -> dict[str, Any]:  # fmt: skip
    """name -> optimizer of each implementation (minigrad fused and numpy path,
    torch's default and fused) over copies of xs with gradients gs. With
    ``first``, each takes one step, then ``first`` gets its first moments as
    arrays (views it may write)."""
    opts: dict[str, Any] = {}
    for name, fused in (("fused", True), ("numpy", False)):
        ps = [mg.tensor(x.copy(), requires_grad=True) for x in xs]
        for p, g in zip(ps, gs):
            p.grad = mg.tensor(g)
        opt = opts[name] = _make(kind, ps, fused)
        if first is not None:
            opt.step()
            first([opt.state[p]["exp_avg"].data for p in ps])
    if torch is not None:
        torch.set_num_threads(threads)
        for name, fused in (("torch", None), ("torch_fused", True)):
            tps = [torch.tensor(x.copy(), requires_grad=True) for x in xs]
            for p, g in zip(tps, gs):
                p.grad = torch.tensor(g)
            # (torch without a CPU fused kernel refuses fused=True)
            with contextlib.suppress(RuntimeError, TypeError):
                topt = opts[name] = _torch_opt(torch, kind, tps, fused)
                if first is not None:
                    topt.step()
                    with torch.no_grad():
                        first([topt.state[p]["exp_avg"].numpy() for p in tps])
    return opts


def _case(torch: Any, sizes: list[int], threads: int, batch: int, kind: str,
          quick: bool) -> list[Row]:  # fmt: skip
    rng = np.random.default_rng(0)
    mg.set_num_threads(threads)
    xs, gs = _params(rng, sizes)
    fns = {k: o.step for k, o in _optimizers(torch, kind, xs, gs, threads).items()}
    kw = {"rounds": 3 if quick else 7, "min_time": 0.02 if quick else 0.1}
    res = interleaved(fns, **kw)
    n = sum(x.size for x in xs)
    # The full training step with and without the fused optimizer step.
    x = mg.tensor(rng.random((batch, sizes[0]), dtype=np.float32))
    y = mg.tensor(rng.integers(0, sizes[-1], batch))
    full = {}
    for name, fused in (("full_fused", True), ("full_numpy", False)):
        mg.manual_seed(0)
        model = _mg_mlp(sizes, "relu")
        full[name] = _steps(
            model, nn.CrossEntropyLoss(), _make(kind, model.parameters(), fused), x, y
        )
    fres = interleaved(full, **kw)
    extra = {
        "threads": threads,
        "numpy_us": round(res["numpy"] * 1e6, 1),
        "torch_fused_us": (
            round(res["torch_fused"] * 1e6, 1) if "torch_fused" in res else None
        ),
        "fused_over_numpy": round(res["fused"] / res["numpy"], 3),
        "full_step_fused_ms": round(fres["full_fused"] * 1e3, 3),
        "full_step_numpy_ms": round(fres["full_numpy"] * 1e3, 3),
        "full_step_saving": round(1 - fres["full_fused"] / fres["full_numpy"], 3),
    }
    name = "-".join(map(str, sizes))
    what = "Adam" if kind == "adam" else "SGD momentum"
    return [
        Row(FAMILY, f"{what} step {name} ({n:,} params), {threads} thr", "us/step",
            res["fused"] * 1e6, "torch.optim",
            res["torch"] * 1e6 if "torch" in res else None, False, "", extra)
    ]  # fmt: skip


def _dead_case(torch: Any, quick: bool) -> list[Row]:
    """Adam on the 784-128-64-10 MLP's parameters with 40 % of the first
    layer's units dead, as ReLU leaves them: zero gradients, and first moments
    decayed to the subnormal where the decay stops (3 * 2^-149; Note
    [Subnormal moments] in csrc/optim/optim.c), the other moments normal."""
    rng = np.random.default_rng(1)
    mg.set_num_threads(1)
    sizes = [784, 128, 64, 10]
    xs, gs = _params(rng, sizes)
    dead = rng.random(sizes[1]) < 0.4
    tiny = np.array([3], np.uint32).view(np.float32)[0]
    for g in gs[:2]:
        g[dead] = 0

    def kill(moments: list) -> None:
        # after a first step made every state: the dead units' moments
        moments[0][dead] = tiny
        moments[1][dead] = tiny

    opts = _optimizers(torch, "adam", xs, gs, 1, first=kill)
    fns = {k: o.step for k, o in opts.items()}
    kw = {"rounds": 3 if quick else 7, "min_time": 0.02 if quick else 0.1}
    res = interleaved(fns, **kw)
    m1 = next(iter(opts["fused"].state.values()))["exp_avg"].data  # after timing
    subnormal = float(np.mean((np.abs(m1) < 2**-126) & (m1 != 0)))
    extra = {
        "dead_units": int(dead.sum()),
        "layer1_moments_subnormal": round(subnormal, 3),
        "numpy_us": round(res["numpy"] * 1e6, 1),
        "torch_fused_us": (
            round(res["torch_fused"] * 1e6, 1) if "torch_fused" in res else None
        ),
    }
    n = sum(x.size for x in xs)
    return [
        Row(FAMILY, f"Adam step 784-128-64-10 ({n:,} params), 40 % of layer 1 dead,"
            " 1 thr", "us/step", res["fused"] * 1e6, "torch.optim",
            res["torch"] * 1e6 if "torch" in res else None, False, "", extra)
    ]  # fmt: skip


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    before = mg.get_num_threads()
    rows: list[Row] = []
    try:
        for kind in ("adam", "sgd"):
            rows += _case(torch, [784, 128, 64, 10], 1, 64, kind, quick)
            rows += _case(torch, [784, 1024, 1024, 10], 2, 256, kind, quick)
        rows += _dead_case(torch, quick)
    finally:
        mg.set_num_threads(before)
        if torch is not None:
            torch.set_num_threads(1)
    return rows
