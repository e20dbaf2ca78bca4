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

Layout rows (issue 16): softmax and log_softmax over the last axis of 1000x1000
float32, one thread, forward and backward kernels on the operands autograd
really hands them -- a transposed input (read in place, Note [Permuted
operands] in _softmax.pyx), a sliced one (every other column: its rows
gathered, Note [Strided rows]), the zero-stride gradient ``.sum().backward()``
sends down (also with a transposed y), a transposed y with its gradient laid
out alike, a transposed gradient for a contiguous y and the reverse -- each
against the contiguous case (for information: a layout that must move more
memory than the contiguous one cannot match it), against copying the
non-contiguous operands to C order first with the fastest copy at hand
(numpy's, or the tiled transposing copy) and then running the contiguous
kernel (target: faster; the issue's "or copies them first when that is
faster"), and against PyTorch's kernel on the same layout; then
``F.softmax(x.T, -1).sum().backward()`` through the Tensor API (x a contiguous
leaf) against the same on x, on ``x.T.contiguous()`` and against PyTorch.
"""

from __future__ import annotations

import os

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _softmax
from minigrad._C._layout import c_order_copy

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


def _layouts(x, g):
    """name -> (x or y, g) of each layout; g None for forward-only rows."""
    big = np.repeat(x, 2, axis=1)  # every other column of big is x
    return {
        "fwd": {
            "contiguous": x,
            "transposed x": np.ascontiguousarray(x.T).T,
            "sliced x [:, ::2]": big[:, ::2],
        },
        "bwd": {
            "contiguous": (x, g),
            "broadcast grad": (x, np.broadcast_to(np.float32(1.0), x.shape)),
            "transposed y, g": (
                np.ascontiguousarray(x.T).T,
                np.ascontiguousarray(g.T).T,
            ),
            # What F.softmax(x.T, -1).sum().backward() hands the kernel.
            "transposed y, broadcast grad": (
                np.ascontiguousarray(x.T).T,
                np.broadcast_to(np.float32(1.0), x.shape),
            ),
            # Layouts that differ: both read in place, the transposed one
            # gathered a block of rows at a time (Note [Transposed gradient]).
            "y, transposed g": (x, np.ascontiguousarray(g.T).T),
            "transposed y, contiguous g": (np.ascontiguousarray(x.T).T, g),
        },
    }


def _kernel_call(kind, ops, log, prep):
    """The forward on x = ops, or the backward on (y, g) = ops, one thread,
    each operand passed through ``prep`` first."""
    if kind == "fwd":
        return lambda: _softmax.softmax_fwd(prep(ops), -1, log=log, nthreads=1)
    return lambda: _softmax.softmax_bwd(
        prep(ops[0]), prep(ops[1]), -1, log=log, nthreads=1
    )


def _as_is(a):
    return a


def _copied(a):
    """a in C order by the fastest copy at hand: the tiled transposing copy
    for a transpose, numpy's otherwise (a slice, a broadcast)."""
    if a.flags.c_contiguous:
        return a
    if a.ndim == 2 and a.strides[0] == a.itemsize:
        return c_order_copy(a)
    return np.ascontiguousarray(a)


def _torch_layout(torch, a):
    """a as a torch tensor with a's strides (zero strides included)."""
    if 0 in a.strides:
        return torch.ones((), dtype=torch.float32).expand(a.shape)
    base = a.base if a.base is not None else a
    steps = [s // a.itemsize for s in a.strides]
    return torch.as_strided(torch.from_numpy(base), a.shape, steps)


def _layout_rows(torch, quick: bool) -> list[Row]:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1000, 1000)).astype(np.float32)
    g = rng.standard_normal((1000, 1000)).astype(np.float32)
    rounds = 3 if quick else 7
    rows = []
    for log in (False, True):
        name = "log_softmax" if log else "softmax"
        y = _softmax.softmax_fwd(x, -1, log=log, nthreads=1)
        lay = _layouts(x, g)
        ylay = _layouts(y, g)["bwd"]
        for kind, cases in (("fwd", lay["fwd"]), ("bwd", ylay)):
            fns, tfns = {}, {}
            for case, ops in cases.items():
                fns[case] = _kernel_call(kind, ops, log, _as_is)
                if case != "contiguous":
                    fns["copy " + case] = _kernel_call(kind, ops, log, _copied)
                if torch is None:
                    continue
                if kind == "fwd":
                    ta = _torch_layout(torch, ops)
                    tf = torch.log_softmax if log else torch.softmax
                    tfns["torch " + case] = lambda ta=ta, tf=tf: tf(ta, -1)
                else:
                    ty, tg = _torch_layout(torch, ops[0]), _torch_layout(torch, ops[1])
                    tb = (
                        torch._log_softmax_backward_data
                        if log
                        else torch._softmax_backward_data
                    )
                    tfns["torch " + case] = lambda ty=ty, tg=tg, tb=tb: tb(
                        tg, ty, -1, torch.float32
                    )
            t = interleaved({**fns, **tfns}, rounds=rounds)
            us = {k: v * 1e6 for k, v in t.items()}
            extra = {f"{k}_us": v for k, v in us.items()}
            extra["load_avg"] = os.getloadavg()
            for case in cases:
                label = f"{name} {kind} 1e6 f32 1T, {case}"
                peers = (
                    ("contiguous", "contiguous", "info"),
                    ("copy first", "copy " + case, "<= 1x"),
                    ("torch", "torch " + case, "info"),
                )
                for peer, key, target in peers:
                    if key in us and key != case:
                        rows.append(
                            Row(
                                "softmax",
                                label,
                                "us",
                                us[case],
                                peer,
                                us[key],
                                False,
                                target,
                                extra,
                            )
                        )
    rows += _layout_op_rows(torch, x, rounds)
    return rows


def _layout_op_rows(torch, x, rounds: int) -> list[Row]:
    """F.softmax(x.T, -1).sum().backward() through the Tensor API, x a
    contiguous leaf (the softmax reads a transposed view; its gradient goes
    back through the transpose), against F.softmax(x, -1) and PyTorch."""
    xm = mg.tensor(x, requires_grad=True)

    def mg_path(xm=xm):
        xm.grad = None
        F.softmax(xm.T, -1).sum().backward()

    def mg_contig(xm=xm):
        xm.grad = None
        F.softmax(xm, -1).sum().backward()

    def mg_copy(xm=xm):
        xm.grad = None
        F.softmax(xm.T.contiguous(), -1).sum().backward()

    fns = {"transposed": mg_path, "contiguous": mg_contig, "copy first": mg_copy}
    if torch is not None:
        tx = torch.from_numpy(x.copy()).requires_grad_(True)

        def t_path():
            tx.grad = None
            torch.softmax(tx.T, -1).sum().backward()

        fns["torch"] = t_path
    t = interleaved(fns, rounds=rounds, mg_threads=1)
    us = {k: v * 1e6 for k, v in t.items()}
    label = "F.softmax(x.T, -1).sum().backward() 1e6 f32 1T"
    rows = [
        Row("softmax", label, "us", us["transposed"], peer, us[key], False, target)
        for peer, key, target in (
            ("contiguous", "contiguous", "info"),
            ("copy first", "copy first", "<= 1x"),
        )
    ]
    if "torch" in us:
        rows.append(
            Row(
                "softmax",
                label,
                "us",
                us["transposed"],
                "torch",
                us["torch"],
                False,
                "<= 1x",
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    nt = mg.get_num_threads()
    if torch is not None:
        torch.set_num_threads(nt)
    rows = _ce_rows(torch, nt, quick) + _bce_rows(torch, nt, quick)
    if torch is not None:
        torch.set_num_threads(1)
    try:
        rows += _layout_rows(torch, quick)
    finally:
        if torch is not None:
            torch.set_num_threads(nt)
    return rows
