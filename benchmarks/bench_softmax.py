"""Softmax + cross-entropy forward+backward, float32, at 64x10 and 256x1000:
minigrad against numpy's composition (issue target: >= 3x faster, medians of
the same run) and PyTorch (for information); and binary cross-entropy
forward+backward on XOR's (4, 1) batch against PyTorch. Not a test.

Paths measured, all forward AND backward:
- op path: what a user runs, ``x = mg.tensor(arr, requires_grad=True);
  F.cross_entropy(x, t).backward()`` (tensor creation, one graph node, the
  engine and the leaf's .grad included);
- kernel: the one fused call the op makes, ``_softmax.xent_fused(x, t,
  grad=True)`` (loss, mean and gradient in one pass);
- kernel 2-call: ``xent_fwd`` then ``xent_bwd`` (the path a second backward
  or a non-unit upstream gradient of 'none' would take), for information.
numpy's composition is the stable textbook one (max, exp, sum, log, gather,
then softmax - onehot scaled), PyTorch's is F.cross_entropy + backward on a
fresh leaf. Threads: minigrad's and PyTorch's set to the same count.
"""

from __future__ import annotations

import os

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _softmax

TARGET = "<= 1/3 (>= 3x faster)"


def _numpy_ce(x, t):
    """Stable softmax cross-entropy forward+backward (mean) in numpy."""
    n = x.shape[0]
    rows = np.arange(n)

    def run():
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - np.log(s)
        loss = -logp[rows, t].mean()
        grad = e / s
        grad[rows, t] -= 1
        grad /= n
        return loss, grad

    return run


def _ce_rows(torch, nt: int, quick: bool) -> list[Row]:
    rows = []
    rng = np.random.default_rng(0)
    for n, c in ((64, 10), (256, 1000)):
        x = rng.standard_normal((n, c)).astype(np.float32)
        t = rng.integers(0, c, n)
        tm = mg.tensor(t)
        scale = np.asarray(1.0 / n, np.float32)

        def op_path(x=x, tm=tm):
            xm = mg.tensor(x, requires_grad=True)
            F.cross_entropy(xm, tm).backward()
            return xm.grad

        def kernel(x=x, t=t):
            return _softmax.xent_fused(x, t, None, -100, 0.0, 1, True)

        def kernel2(x=x, t=t, scale=scale):
            _, lse = _softmax.xent_fwd(x, t)
            return _softmax.xent_bwd(x, lse, t, scale)

        fns = {
            "op": op_path,
            "kernel": kernel,
            "kernel2": kernel2,
            "numpy": _numpy_ce(x, t),
        }
        if torch is not None:
            xt, tt = torch.from_numpy(x), torch.from_numpy(t)

            def torch_path(xt=xt, tt=tt):
                a = xt.clone().requires_grad_(True)
                torch.nn.functional.cross_entropy(a, tt).backward()
                return a.grad

            fns["torch"] = torch_path
        tm_ = interleaved(fns, rounds=3 if quick else 7)
        extra = {f"{k}_us": v * 1e6 for k, v in tm_.items()}
        extra["load_avg"] = os.getloadavg()
        extra["threads"] = nt
        case = f"CE f+b {n}x{c} f32"
        us = {k: v * 1e6 for k, v in tm_.items()}
        rows.append(
            Row(
                "softmax",
                case + " op path",
                "us",
                us["op"],
                "numpy",
                us["numpy"],
                False,
                TARGET,
                extra,
            )
        )
        rows.append(
            Row(
                "softmax",
                case + " kernel",
                "us",
                us["kernel"],
                "numpy",
                us["numpy"],
                False,
                TARGET,
                extra,
            )
        )
        rows.append(
            Row(
                "softmax",
                case + " kernel 2-call",
                "us",
                us["kernel2"],
                "numpy",
                us["numpy"],
                False,
                "info",
                extra,
            )
        )
        if "torch" in us:
            for k in ("op", "kernel"):
                rows.append(
                    Row(
                        "softmax",
                        f"{case} {'op path' if k == 'op' else k}",
                        "us",
                        us[k],
                        "torch",
                        us["torch"],
                        False,
                        "info",
                        extra,
                    )
                )
    return rows


def _bce_rows(torch, nt: int, quick: bool) -> list[Row]:
    """XOR's loss: (4, 1) float32 probabilities, as the training benchmark's
    nn.BCELoss step; and the logits form."""
    p = np.array([[0.2], [0.9], [0.6], [0.4]], np.float32)
    y = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)
    ym = mg.tensor(y)

    def mg_bce(p=p):
        a = mg.tensor(p, requires_grad=True)
        F.binary_cross_entropy(a, ym).backward()
        return a.grad

    def mg_bcel(p=p):
        a = mg.tensor(p, requires_grad=True)
        F.binary_cross_entropy_with_logits(a, ym).backward()
        return a.grad

    fns = {"bce": mg_bce, "bcel": mg_bcel}
    if torch is not None:
        pt, yt = torch.from_numpy(p), torch.from_numpy(y)

        def t_bce(pt=pt):
            a = pt.clone().requires_grad_(True)
            torch.nn.functional.binary_cross_entropy(a, yt).backward()
            return a.grad

        def t_bcel(pt=pt):
            a = pt.clone().requires_grad_(True)
            torch.nn.functional.binary_cross_entropy_with_logits(a, yt).backward()
            return a.grad

        fns.update(t_bce=t_bce, t_bcel=t_bcel)
    tm_ = interleaved(fns, rounds=3 if quick else 7)
    us = {k: v * 1e6 for k, v in tm_.items()}
    extra = {f"{k}_us": v for k, v in us.items()}
    extra["load_avg"] = os.getloadavg()
    extra["threads"] = nt
    rows = []
    for k, name in (("bce", "BCE"), ("bcel", "BCE-logits")):
        rows.append(
            Row(
                "softmax",
                f"{name} f+b (4,1) f32 op path",
                "us",
                us[k],
                "torch" if torch is not None else "",
                us.get("t_" + k),
                False,
                "info",
                extra,
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    nt = mg.get_num_threads()
    if torch is not None:
        torch.set_num_threads(nt)
    return _ce_rows(torch, nt, quick) + _bce_rows(torch, nt, quick)
