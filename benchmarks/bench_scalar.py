"""The scalar engine against micrograd 0.1.0 on micrograd's own demo workload.

    python benchmarks/run.py scalar [--quick]

One training step of micrograd's demo: MLP(2, [16, 16, 1]) on 100 two-moons
points (generated here with numpy, seeded), the SVM max-margin loss
``(1 + -y·score).relu()`` averaged plus ``1e-4·Σ p²``, one forward, backward and
SGD update, written once and run with each library's Value and MLP. Measured
side by side, interleaved, in samples of >= 0.1 s of consecutive steps:

- micrograd as shipped (its garbage collector on: most of its time is the
  collector chasing the reference cycles its closures make);
- micrograd with ``gc.disable()`` during the step (its garbage is collected
  after the clock stops);
- minigrad's Value driven by micrograd's own ``nn`` code (the engine alone,
  without minigrad's fused neurons: micrograd's 2n nodes per weighted sum);
- bytes per graph node and per step's graph (tracemalloc, one step's loss
  graph, the freelist drained). minigrad's neuron is one n-ary node
  (Note [Fused neurons] in minigrad/_C/_scalar.pyx), so its graph has ~13x
  fewer nodes and each carries its children's list: per node it is not the
  same unit as micrograd's, per step's graph it is.

Targets (issue 16): >= 150x faster than micrograd as shipped; >= 5x faster
than micrograd with gc off; <= 1/3 of micrograd's memory per step's graph
(it was per node until neurons became single nodes).
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from collections.abc import Callable
from statistics import median
from typing import Any

import numpy as np
from common import Row, try_import

from minigrad._C._scalar import _topo
from minigrad.scalar import Value
from minigrad.scalar.nn import MLP

FAMILY = "scalar"
N_POINTS = 100


def moons(n: int = N_POINTS, noise: float = 0.1, seed: int = 1) -> tuple[Any, Any]:
    """Two interleaved half circles with Gaussian noise; labels -1 / +1."""
    rng = np.random.default_rng(seed)
    n_top = n // 2
    t_top = np.linspace(0, np.pi, n_top)
    t_bot = np.linspace(0, np.pi, n - n_top)
    top = np.stack([np.cos(t_top), np.sin(t_top)], 1)
    bot = np.stack([1 - np.cos(t_bot), 0.5 - np.sin(t_bot)], 1)
    X = np.concatenate([top, bot]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([-np.ones(n_top), np.ones(n - n_top)])
    return X.tolist(), y.tolist()


def loss_fn(model: Any, V: Any, X: list[list[float]], y: list[float]) -> Any:
    """micrograd's demo loss: SVM max-margin plus L2 regularisation."""
    inputs = [list(map(V, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def make_step(model: Any, V: Any, X: Any, y: Any) -> Callable[[], float]:
    params = model.parameters()

    def step() -> float:
        loss = loss_fn(model, V, X, y)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= 0.05 * p.grad
        return loss.data

    return step


def micrograd_nn_with(nn: Any, V: Any, nouts: list[int]) -> Any:
    """micrograd.nn.MLP whose parameters are ``V`` objects: micrograd's nn code
    driving another engine (its Neuron names Value only in __init__)."""
    saved = nn.Value
    nn.Value = V
    try:
        return nn.MLP(2, nouts)
    finally:
        nn.Value = saved


def _sample(fn: Callable[[], Any], n: int, gc_off: bool) -> float:
    """Seconds per step over ``n`` consecutive steps. With ``gc_off`` the
    collector is off during each step and collects after the clock stops."""
    gc.collect()
    if not gc_off:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n
    total = 0.0
    for _ in range(n):
        gc.disable()
        t0 = time.perf_counter()
        fn()
        total += time.perf_counter() - t0
        gc.enable()
        gc.collect()
    return total / n


def time_steps(
    steps: dict[str, Callable[[], Any]],
    gc_off: set[str],
    rounds: int,
    per_round: int,
    min_time: float = 0.1,
) -> dict[str, float]:
    """Median seconds per step. The libraries take turns (``rounds`` times,
    ``per_round`` samples each), so load on the machine hits all alike; a
    sample runs enough consecutive steps to last ``min_time``."""
    samples: dict[str, list[float]] = {k: [] for k in steps}
    n_steps = {}
    for name, fn in steps.items():  # warm-up and calibration
        fn()
        n_steps[name] = max(1, int(min_time / _sample(fn, 1, name in gc_off)))
    for _ in range(rounds):
        for name, fn in steps.items():
            for _ in range(per_round):
                samples[name].append(_sample(fn, n_steps[name], name in gc_off))
    gc.collect()
    return {k: median(v) for k, v in samples.items()}


def _count_micrograd(root: Any) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    return len(seen)


def bytes_per_node(
    model: Any, V: Any, X: Any, y: Any, count: Callable[[Any], int]
) -> tuple[float, int, int]:
    # minigrad's count includes its 'dot' nodes' child arrays (PyMem_Malloc,
    # which tracemalloc sees).
    """(bytes per node, bytes, nodes) of one step's loss graph, by tracemalloc."""
    gc.collect()
    drain = [V(0.0) for _ in range(70_000)]  # empty minigrad's free list first
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss = loss_fn(model, V, X, y)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del drain
    nodes = count(loss)
    return used / nodes, used, nodes


def run(quick: bool) -> list[Row]:
    X, y = moons()
    rounds, per_round = (2, 2) if quick else (5, 3)
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    steps: dict[str, Callable[[], Any]] = {"minigrad": make_step(ours, Value, X, y)}
    engine = nn = None
    if try_import("micrograd") is not None:
        import micrograd.engine as engine
        import micrograd.nn as nn

        random.seed(1337)
        theirs = nn.MLP(2, [16, 16, 1])
        random.seed(1337)
        hybrid = micrograd_nn_with(nn, Value, [16, 16, 1])
        step_mg = make_step(theirs, engine.Value, X, y)
        steps.update(
            micrograd=step_mg,
            micrograd_gc_off=step_mg,
            minigrad_engine=make_step(hybrid, Value, X, y),
        )
    t = time_steps(steps, {"micrograd_gc_off"}, rounds, per_round)
    mem, mem_bytes, mem_nodes = bytes_per_node(
        ours, Value, X, y, lambda r: len(_topo(r))
    )
    ms = {k: 1e3 * v for k, v in t.items()}
    case = f"MLP(2,[16,16,1]) moons{N_POINTS} step"
    if engine is None:
        return [Row(FAMILY, case, "ms/step", ms["minigrad"], extra={"peer": "n/a"})]
    mg_mem, mg_bytes, mg_nodes = bytes_per_node(
        theirs, engine.Value, X, y, _count_micrograd
    )
    extra = {"rounds": rounds, "steps_per_round": per_round}
    return [
        Row(
            FAMILY,
            case,
            "ms/step",
            ms["minigrad"],
            "micrograd",
            ms["micrograd"],
            target="<= 0.00667 (150x)",
            extra=extra,
        ),
        Row(
            FAMILY,
            case + ", peer gc off",
            "ms/step",
            ms["minigrad"],
            "micrograd",
            ms["micrograd_gc_off"],
            target="<= 0.2 (5x)",
            extra=extra,
        ),
        Row(
            FAMILY,
            case + ", micrograd's nn code",
            "ms/step",
            ms["minigrad_engine"],
            "micrograd",
            ms["micrograd_gc_off"],
            extra={**extra, "note": "engine only; peer gc off"},
        ),
        Row(
            FAMILY,
            "bytes per graph node (one step's graph)",
            "B/node",
            mem,
            "micrograd",
            mg_mem,
            extra={
                "note": "fewer, larger nodes than micrograd's; see the next row",
                "minigrad_bytes": mem_bytes,
                "minigrad_nodes": mem_nodes,
                "micrograd_bytes": mg_bytes,
                "micrograd_nodes": mg_nodes,
            },
        ),
        Row(
            FAMILY,
            "bytes per step's graph (one loss graph)",
            "KB",
            mem_bytes / 1e3,
            "micrograd",
            mg_bytes / 1e3,
            target="<= 0.333",
            extra={"minigrad_nodes": mem_nodes, "micrograd_nodes": mg_nodes},
        ),
    ]
