"""Activation forward+backward on 1e6 float32 elements: minigrad's fused kernels
against numpy's composed expressions and PyTorch's own kernels (not a test).

    python benchmarks/run.py act          # 1 and 2 threads, table + JSON

Throughput counts the bytes each pass must move: forward reads x and writes y,
backward reads the saved operand and grad_out and writes grad_in (5 arrays).
PyTorch runs with torch.set_num_threads matched to minigrad's; numpy is single
threaded at either count (its rows at 2 threads show what the threads buy).
numpy has no erf: the exact GELU and erf peers use scipy.special.erf, a
compiled ufunc, when scipy is installed (else they have no numpy row).
Targets (issue 3): >= 2x numpy and >= 1x PyTorch, medians in the same run.

The "memory" peer is the floor set by bandwidth: numpy's copy x -> y and add
x + g -> gx into preallocated arrays move the same 5 arrays with no arithmetic
worth the name, so an elementwise op cannot run faster than it on one
thread. Its rows (relu and tanh, the ops numpy composes most cheaply) show
how close the fused kernels come to that floor.

The layout rows (issue 16) run the same kernels on the operands autograd
really hands them: the zero-stride gradient that ``.sum().backward()`` sends
down, and a transposed (strided) input, each against the contiguous case;
and ``x.relu().sum().backward()`` through the Tensor API against numpy's
composed forward and backward. Target: the contiguous case's speed.
"""

from __future__ import annotations

import math
import os

import numpy as np
from common import Row, interleaved, try_import

from minigrad._C import _act

N = 1_000_000
PARAMS = {"leaky_relu": (0.01, 0.0), "softplus": (1.0, 20.0)}


def _numpy_fns(x, g):
    """numpy's composed forward+backward per op (what a numpy user writes)."""
    try:
        from scipy import special
    except ImportError:
        special = None

    def sig(v):
        e = np.exp(-np.abs(v))
        return np.where(v >= 0, 1 / (1 + e), e / (1 + e))

    def relu():
        y = np.maximum(x, 0)
        return y, g * (x > 0)

    def leaky():
        y = np.where(x > 0, x, 0.01 * x)
        return y, np.where(x > 0, g, 0.01 * g)

    def sigmoid():
        y = sig(x)
        return y, g * y * (1 - y)

    def tanh():
        y = np.tanh(x)
        return y, g * (1 - y * y)

    def gelu_tanh():
        k0, k1 = math.sqrt(2 / math.pi), 0.044715
        t = np.tanh(k0 * (x + k1 * x**3))
        y = 0.5 * x * (1 + t)
        return y, g * (
            0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k0 * (1 + 3 * k1 * x * x)
        )

    def silu():
        s = sig(x)
        return x * s, g * s * (1 + x * (1 - s))

    def softplus():
        y = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
        return y, g * sig(x)

    fns = {
        "relu": relu,
        "leaky_relu": leaky,
        "sigmoid": sigmoid,
        "tanh": tanh,
        "gelu_tanh": gelu_tanh,
        "silu": silu,
        "softplus": softplus,
    }
    if special is not None:

        def gelu():
            cdf = 0.5 * (1 + special.erf(x * (1 / math.sqrt(2))))
            pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
            return x * cdf, g * (cdf + x * pdf)

        fns["gelu"] = gelu
        fns["erf"] = lambda: special.erf(x)
    return fns


def _torch_fns(torch, x, g):
    from torch.ops import aten

    F = torch.nn.functional
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)
    return {
        "relu": lambda: aten.threshold_backward(gt, torch.relu(xt), 0),
        "leaky_relu": lambda: (
            aten.leaky_relu_backward(gt, xt, 0.01, False)
            if F.leaky_relu(xt, 0.01) is not None
            else None
        ),
        "sigmoid": lambda: aten.sigmoid_backward(gt, torch.sigmoid(xt)),
        "tanh": lambda: aten.tanh_backward(gt, torch.tanh(xt)),
        "gelu": lambda: (F.gelu(xt), aten.gelu_backward(gt, xt)),
        "gelu_tanh": lambda: (
            F.gelu(xt, approximate="tanh"),
            aten.gelu_backward(gt, xt, approximate="tanh"),
        ),
        "silu": lambda: (F.silu(xt), aten.silu_backward(gt, xt)),
        "softplus": lambda: (F.softplus(xt), aten.softplus_backward(gt, xt, 1.0, 20.0)),
        "erf": lambda: torch.erf(xt),
    }


def _memory_fn(x, g):
    """The same bytes as a fused forward+backward, moved by numpy: read x,
    write y; read x and g, write gx."""
    y, gx = np.empty_like(x), np.empty_like(x)

    def run():
        np.copyto(y, x)
        np.add(x, g, out=gx)

    return run


MEMORY_ROWS = ("relu", "tanh")
# Each peer's row, in table order, with the bound the issue sets for it.
TARGETS = {"numpy": ">= 2x", "memory": "(floor: ~1)", "torch": ">= 1x"}


def _minigrad_fn(op, x, g, y, gx, nt):
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    from_out = op in _act.BACKWARD_FROM_OUTPUT

    def run():
        yy = _act.forward(op, x, p0=p0, p1=p1, out=y, nthreads=nt)
        if op != "erf":  # erf: forward only, as the peers
            _act.backward(
                op, yy if from_out else x, g, p0=p0, p1=p1, out=gx, nthreads=nt
            )

    return run


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N).astype(np.float32)
    g = rng.standard_normal(N).astype(np.float32)
    y, gx = np.empty_like(x), np.empty_like(x)
    rows = []
    rounds = 3 if quick else 5
    for nt in (1, 2):
        if torch is not None:
            torch.set_num_threads(nt)
        nfns = _numpy_fns(x, g)
        tfns = _torch_fns(torch, x, g) if torch is not None else {}
        for op in _act.OPS:
            nbytes = (2 if op == "erf" else 5) * N * 4
            fns = {"minigrad": _minigrad_fn(op, x, g, y, gx, nt)}
            if op in nfns:
                fns["numpy"] = nfns[op]
            if op in tfns:
                fns["torch"] = tfns[op]
            if op in MEMORY_ROWS:
                fns["memory"] = _memory_fn(x, g)
            t = interleaved(fns, rounds=rounds)
            gbs = {k: nbytes / v / 1e9 for k, v in t.items()}
            extra = {f"{k}_us": v * 1e6 for k, v in t.items()}
            extra["load_avg"] = os.getloadavg()
            for peer, target in TARGETS.items():
                if peer in gbs:
                    rows.append(
                        Row(
                            "act",
                            f"{op} fwd+bwd 1e6 f32 {nt}T",
                            "GB/s",
                            gbs["minigrad"],
                            peer,
                            gbs[peer],
                            True,
                            target,
                            extra,
                        )
                    )
    rows += _layout_rows(torch, rounds)
    return rows


def _layout_rows(torch, rounds: int) -> list[Row]:
    import minigrad as mg

    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 1000)).astype(np.float32)
    g = np.ones_like(x)
    g0 = np.broadcast_to(np.float32(1.0), x.shape)  # from .sum().backward()
    xt = np.ascontiguousarray(x.T).T  # same values, transposed layout
    gt = np.ascontiguousarray(g.T).T  # the gradient of a result laid out like xt
    rows = []
    for op in ("relu", "sigmoid", "tanh"):
        t = interleaved(
            {
                "contiguous": lambda op=op: _act.backward(op, x, g, nthreads=1),
                "broadcast grad": lambda op=op: _act.backward(op, x, g0, nthreads=1),
                "transposed x": lambda op=op: _act.backward(op, xt, gt, nthreads=1),
            },
            rounds=rounds,
        )
        for case in ("broadcast grad", "transposed x"):
            rows.append(
                Row(
                    "act",
                    f"{op} bwd 1e6 f32 1T, {case}",
                    "us",
                    t[case] * 1e6,
                    "contiguous",
                    t["contiguous"] * 1e6,
                    False,
                    "<= ~1x",
                )
            )
    xm = mg.tensor(x, requires_grad=True)

    def minigrad_relu_sum():
        xm.grad = None
        xm.relu().sum().backward()

    def numpy_relu_sum():
        y = np.maximum(x, 0)
        y.sum()
        return (x > 0) * np.float32(1.0)

    fns = {"minigrad": minigrad_relu_sum, "numpy": numpy_relu_sum}
    if torch is not None:
        torch.set_num_threads(1)
        tx = torch.from_numpy(x.copy()).requires_grad_()

        def torch_relu_sum():
            tx.grad = None
            tx.relu().sum().backward()

        fns["torch"] = torch_relu_sum
    t = interleaved(fns, rounds=rounds, mg_threads=1)
    for peer in ("numpy", "torch"):
        if peer in t:
            rows.append(
                Row(
                    "act",
                    "x.relu().sum().backward() 1e6 f32 1T",
                    "us",
                    t["minigrad"] * 1e6,
                    peer,
                    t[peer] * 1e6,
                    False,
                    "<= 1x",
                )
            )
    return rows
