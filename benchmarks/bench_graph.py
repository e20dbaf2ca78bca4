"""Per-node cost as the graph grows: 10^3 ... 10^6 nodes, minigrad beside
PyTorch CPU on one thread (issue 16: neither time nor memory per node may grow
worse than linearly). Not a test.

    python benchmarks/run.py graph [--quick]     # --quick stops at 10^5 nodes

Two graph shapes, each built on a (4,) float32 leaf that requires grad, the
same operator code for both engines:

- chain: ``y = y * 1.000001`` n times (depth n, the engine's worst case for
  recursion), then ``y.sum().backward()``;
- wide: n/2 independent branches ``x * c_i`` summed by a balanced tree of n/2 - 1
  additions (fan-out n/2 from the leaf, depth log2 n), then ``.sum().backward()``.

The time figure is forward + backward (graph freed at the end included) divided
by the nodes (us/node). At 10^6 nodes a run takes seconds, so there are two
repeats there (more, interleaved, at smaller sizes). The growth rows give
per-node time at the largest size over the smallest: ~1 is linear.

Memory per node: the graph is built (forward only, kept alive) and measured
as (a) tracemalloc's traced growth (minigrad: every Python object and numpy
buffer; exact and repeatable) and (b) RSS growth (both engines; PyTorch's
allocations are invisible to tracemalloc), each divided by the nodes. RSS
growth is only meaningful from 10^5 nodes (below, freed memory is reused).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from statistics import median
from typing import Any

import numpy as np
from common import Row, try_import

import minigrad as mg

FAMILY = "graph"
HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def _chain(x: Any, n: int) -> Any:
    y = x
    for _ in range(n):
        y = y * 1.000001
    return y


def _wide(x: Any, n: int) -> Any:
    level = [x * (1.0 + i * 1e-6) for i in range(n // 2)]
    while len(level) > 1:  # balanced tree of additions: n/2 - 1 nodes
        nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _nodes(shape: str, n: int) -> int:
    """Graph nodes the shape records for size n (the .sum() included)."""
    return (n if shape == "chain" else 2 * (n // 2) - 1) + 1


BUILD: dict[str, Callable[[Any, int], Any]] = {"chain": _chain, "wide": _wide}


def _step(build: Callable[[Any, int], Any], x: Any, n: int) -> Callable[[], None]:
    def run() -> None:
        x.grad = None
        build(x, n).sum().backward()

    return run


def _time(fns: dict[str, Callable[[], None]], n: int, quick: bool) -> dict[str, float]:
    """Median seconds per call, interleaved; fewer calls as n grows."""
    calls = max(1, 20_000 // n)  # calls per sample: >= ~20k nodes a sample
    rounds = 2 if n >= 1_000_000 else (3 if quick or n >= 100_000 else 7)
    for fn in fns.values():  # warm-up (one call: at 10^6 it takes seconds)
        fn()
    per: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            per[k].append((time.perf_counter() - t0) / calls)
    return {k: median(v) for k, v in per.items()}


def _rss() -> int:
    """This process's resident set size in bytes (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _traced_per_node(
    build: Callable[[Any, int], Any], x: Any, n: int, nodes: int
) -> float:
    """tracemalloc's growth (bytes) per node while ``build(x, n).sum()`` is
    alive: every live allocation is counted, freed memory reused or not."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = build(x, n).sum()
        grown = tracemalloc.get_traced_memory()[0] - before
        del y
    finally:
        tracemalloc.stop()
    return grown / nodes


def _rss_per_node(engine: str, shape: str, n: int) -> float | None:
    """RSS growth per node of the graph, in a fresh process (in this one,
    memory freed by earlier graphs is reused and hides the growth)."""
    code = (
        f"import sys; sys.path.insert(0, {HERE!r}); import bench_graph as b; "
        f"print(b._rss_child({engine!r}, {shape!r}, {n}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    try:
        return float(out.stdout.split()[-1])
    except (IndexError, ValueError):
        return None


def _rss_child(engine: str, shape: str, n: int) -> float:
    if engine == "torch":
        import torch

        torch.set_num_threads(1)
        x = torch.tensor(np.ones(4, np.float32), requires_grad=True)
    else:
        x = mg.tensor(np.ones(4, np.float32), requires_grad=True)
    BUILD[shape](x, 10).sum().backward()  # first-call costs outside the count
    gc.collect()
    r0 = _rss()
    y = BUILD[shape](x, n).sum()
    r1 = _rss()
    assert y is not None
    return (r1 - r0) / _nodes(shape, n)


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    sizes = SIZES[:-1] if quick else SIZES
    threads_before = mg.get_num_threads()
    mg.set_num_threads(1)
    t_threads = torch.get_num_threads() if torch is not None else 0
    if torch is not None:
        torch.set_num_threads(1)
    base = np.ones(4, np.float32)
    rows: list[Row] = []
    try:
        for shape, build in BUILD.items():
            per_node: dict[str, dict[int, float]] = {"minigrad": {}, "torch": {}}
            mem: dict[int, dict[str, Any]] = {}
            for n in sizes:
                nodes = _nodes(shape, n)
                mx = mg.tensor(base, requires_grad=True)
                fns = {"minigrad": _step(build, mx, n)}
                if torch is not None:
                    tx = torch.tensor(base, requires_grad=True)
                    fns["torch"] = _step(build, tx, n)
                t = _time(fns, n, quick)
                us = {k: v / nodes * 1e6 for k, v in t.items()}
                for k, v in us.items():
                    per_node[k][n] = v
                mem[n] = {"minigrad_tracemalloc": _traced_per_node(build, mx, n, nodes)}
                if n >= 100_000:
                    mem[n]["minigrad_rss"] = _rss_per_node("minigrad", shape, n)
                    if torch is not None:
                        mem[n]["torch_rss"] = _rss_per_node("torch", shape, n)
                extra = {
                    "nodes": nodes,
                    "load_avg": os.getloadavg(),
                    "bytes_per_node": mem[n],
                }
                rows.append(
                    Row(
                        FAMILY,
                        f"{shape} 1e{len(str(n)) - 1} nodes fwd+bwd, 1T",
                        "us/node",
                        us["minigrad"],
                        "torch" if "torch" in us else "",
                        us.get("torch"),
                        False,
                        "info",
                        extra,
                    )
                )
            lo, hi, mid = sizes[0], sizes[-1], sizes[1]
            e_lo, e_hi, e_mid = (len(str(v)) - 1 for v in (lo, hi, mid))
            growth = {k: v[hi] / v[lo] for k, v in per_node.items() if v}
            rows.append(
                Row(
                    FAMILY,
                    f"{shape} us/node at 1e{e_hi} / at 1e{e_lo}",
                    "us/node",
                    per_node["minigrad"][hi],
                    f"mg @1e{e_lo}",
                    per_node["minigrad"][lo],
                    False,
                    "<= ~1 (linear)",
                    {"growth": growth},
                )
            )
            # Bytes per node: tracemalloc (exact) at the largest size, its
            # growth from 10^4 (10^3 carries fixed costs), and RSS vs PyTorch.
            rows.append(
                Row(
                    FAMILY,
                    f"{shape} bytes/node (tracemalloc) 1e{e_hi} / 1e{e_mid}",
                    "B/node",
                    mem[hi]["minigrad_tracemalloc"],
                    f"mg @1e{e_mid}",
                    mem[mid]["minigrad_tracemalloc"],
                    False,
                    "<= ~1 (linear)",
                    {"bytes_per_node": mem},
                )
            )
            rows.append(
                Row(
                    FAMILY,
                    f"{shape} bytes/node (RSS growth) 1e{e_hi}",
                    "B/node",
                    mem[hi]["minigrad_rss"],
                    "torch" if torch is not None else "",
                    mem[hi].get("torch_rss"),
                    False,
                    "info",
                    {"bytes_per_node": mem},
                )
            )
    finally:
        mg.set_num_threads(threads_before)
        if torch is not None:
            torch.set_num_threads(t_threads)
    return rows
