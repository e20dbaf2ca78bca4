"""Recurrent layers beside PyTorch CPU: a forward and backward step of RNN, GRU
and LSTM, and a forward under no_grad.

    python benchmarks/run.py rnn [--quick]

Each layer is 1 layer, 32 -> 128, batch_first, batch 32, 48 time steps (the
char-LSTM example's shape), 1 thread, float32, the same weights on both sides
(PyTorch's state_dict loaded into minigrad's). A step is ``out, _ = layer(x);
out.sum().backward()``. minigrad loops over time in Python with one matmul per
step (the input projection of all the steps is one matmul); PyTorch runs its
fused C++ kernels, so the ratio is the cost of that loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg
from minigrad import nn

FAMILY = "rnn"
BATCH, STEPS, IN, HIDDEN = 32, 48, 32, 128


def _pair(torch: Any, mode: str, grad: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((BATCH, STEPS, IN)).astype(np.float32)
    mg.manual_seed(0)
    layer = getattr(nn, mode)(IN, HIDDEN, batch_first=True)
    x = mg.tensor(x_np, requires_grad=grad)

    def mg_step() -> None:
        if grad:
            out, _ = layer(x)
            out.sum().backward()
        else:
            with mg.no_grad():
                layer(x)

    fns: dict[str, Any] = {"minigrad": mg_step}
    if torch is not None:
        tlayer = getattr(torch.nn, mode)(IN, HIDDEN, batch_first=True)
        tlayer.load_state_dict(
            {k: torch.from_numpy(v.numpy()) for k, v in layer.state_dict().items()}
        )
        tx = torch.from_numpy(x_np).requires_grad_(grad)

        def torch_step() -> None:
            if grad:
                out, _ = tlayer(tx)
                out.sum().backward()
            else:
                with torch.no_grad():
                    tlayer(tx)

        fns["torch"] = torch_step
    return fns


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    threads_before = mg.get_num_threads()
    mg.set_num_threads(1)
    if torch is not None:
        torch.set_num_threads(1)
    rows = []
    try:
        for mode in ("RNN", "GRU", "LSTM"):
            for grad in (True, False):
                fns = _pair(torch, mode, grad)
                res = interleaved(
                    fns, rounds=3 if quick else 5, min_time=0.03 if quick else 0.1
                )
                peer = res.get("torch")
                what = "fwd+bwd" if grad else "fwd no_grad"
                rows.append(
                    Row(
                        FAMILY,
                        f"{mode} {IN}->{HIDDEN} b{BATCH} T{STEPS} {what}, 1 thr",
                        "ms/step",
                        res["minigrad"] * 1e3,
                        "torch",
                        None if peer is None else peer * 1e3,
                        False,
                        "",
                    )
                )
    finally:
        mg.set_num_threads(threads_before)
    return rows
