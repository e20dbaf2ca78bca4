"""Softmax + cross-entropy forward+backward, float32, at 64x10 and 256x1000:
minigrad against numpy's composition (and PyTorch for information). Not a test.

Two minigrad paths are measured: the op path a user runs
(F.cross_entropy(x, t) then backward through the autograd engine) and the raw
kernel path (_softmax.xent_fwd + xent_bwd), since at 64x10 Python overhead
dominates.
"""

from __future__ import annotations

import os

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg
from minigrad._C import _softmax
from minigrad.ops.loss import cross_entropy


def _numpy_ce(x, t):
    """Stable softmax cross-entropy forward+backward (mean) in numpy."""
    n = x.shape[0]

    def run():
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - np.log(s)
        loss = -logp[np.arange(n), t].mean()
        grad = e / s
        grad[np.arange(n), t] -= 1
        grad /= n
        return loss, grad

    return run


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    rows = []
    rng = np.random.default_rng(0)
    nt = mg.get_num_threads() if hasattr(mg, "get_num_threads") else 1
    if torch is not None:
        torch.set_num_threads(nt)
    for n, c in ((64, 10), (256, 1000)):
        x = rng.standard_normal((n, c)).astype(np.float32)
        t = rng.integers(0, c, n)
        scale = np.asarray(1.0 / n, np.float32)

        def op_path(x=x, t=t):
            xm = mg.tensor(x, requires_grad=True)
            cross_entropy(xm, mg.tensor(t)).backward()
            return xm.grad

        def kernel_path(x=x, t=t, scale=scale):
            _, lse = _softmax.xent_fwd(x, t)
            return _softmax.xent_bwd(x, lse, t, scale)

        fns = {"op": op_path, "kernel": kernel_path, "numpy": _numpy_ce(x, t)}
        if torch is not None:
            xt, tt = torch.from_numpy(x), torch.from_numpy(t)

            def torch_path(xt=xt, tt=tt):
                a = xt.clone().requires_grad_(True)
                torch.nn.functional.cross_entropy(a, tt).backward()
                return a.grad

            fns["torch"] = torch_path
        tm = interleaved(fns, rounds=3 if quick else 5)
        extra = {f"{k}_us": v * 1e6 for k, v in tm.items()}
        extra["load_avg"] = os.getloadavg()
        extra["threads"] = nt
        case = f"softmax-CE fwd+bwd {n}x{c} f32"
        rows.append(
            Row(
                "softmax",
                case + " (op path)",
                "us",
                tm["op"] * 1e6,
                "numpy",
                tm["numpy"] * 1e6,
                False,
                "<= 1/3 (>= 3x faster)",
                extra,
            )
        )
        rows.append(
            Row(
                "softmax",
                case + " (kernel)",
                "us",
                tm["kernel"] * 1e6,
                "numpy",
                tm["numpy"] * 1e6,
                False,
                "<= 1/3 (>= 3x faster)",
                extra,
            )
        )
        if "torch" in tm:
            rows.append(
                Row(
                    "softmax",
                    case + " (op path)",
                    "us",
                    tm["op"] * 1e6,
                    "torch",
                    tm["torch"] * 1e6,
                    False,
                    "info",
                    extra,
                )
            )
    return rows
