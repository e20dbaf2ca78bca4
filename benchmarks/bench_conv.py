"""Convolution and pooling forward+backward, and a LeNet-5 training step,
against PyTorch CPU at 1 and 2 threads (not a test).

    python benchmarks/run.py conv          # table + JSON

Cases (float32, through the public API: the Tensor ops and their backward):
LeNet-5's two convolutions at batch 64 (1->6 5x5 on 28x28 with padding 2,
6->16 5x5 on 14x14), a 64->64 3x3 convolution on 32x32 at batch 32,
max_pool2d 2x2 on LeNet's first feature maps, and a full LeNet-5 training
step on 28x28 at batch 64 (cross-entropy, SGD with momentum). Each figure is
the median time of one forward+backward, minigrad and PyTorch interleaved in
the same run. Targets (issue 13): LeNet step <= 1.5x PyTorch's time at both
thread counts; 3x3 convolution >= 0.7x PyTorch's speed (time ratio <= 1.43).

Each convolution is timed with both forward algorithms (Note [Fused or
workspace forward] in csrc/conv/conv_fused.c): "workspace" (im2col into a
tiled workspace, then GEMM) and "fused" (im2col fused into the GEMM's
packing), interleaved with PyTorch in the same rounds, forward+backward and
forward alone; ``fused/workspace`` in each row's extra is the time ratio the
automatic choice in csrc/conv/conv.c rests on.
"""

from __future__ import annotations

import os

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.ops import conv as conv_ops

CONVS = [
    # name, (batch, c_in, c_out, size, kernel, padding), target
    ("lenet1 1->6 5x5 28x28 b64", (64, 1, 6, 28, 5, 2), ""),
    ("lenet2 6->16 5x5 14x14 b64", (64, 6, 16, 14, 5, 0), ""),
    ("64->64 3x3 32x32 b32", (32, 64, 64, 32, 3, 1), "<= 1.43x"),
]


PATHS = ("workspace", "fused")


def _conv_fns(torch, cfg, rng, backward=True):
    """{"workspace": .., "fused": .., "torch": ..}: one forward (+backward)
    each, minigrad's with its forward path forced."""
    n, cin, cout, size, k, p = cfg
    x = rng.standard_normal((n, cin, size, size)).astype(np.float32)
    w = (rng.standard_normal((cout, cin, k, k)) * 0.1).astype(np.float32)
    b = np.zeros(cout, np.float32)
    X, W, B = (mg.tensor(a, requires_grad=backward) for a in (x, w, b))
    out = (size + 2 * p - k + 1,) * 2
    G = mg.ones(n, cout, *out)

    def mine(path):
        def fn():
            saved, conv_ops._FWD_PATH = conv_ops._FWD_PATH, path
            try:
                y = F.conv2d(X, W, B, padding=p)
                if backward:
                    y.backward(G)
            finally:
                conv_ops._FWD_PATH = saved

        return fn

    fns = {path: mine(path) for path in PATHS}
    if torch is not None:
        xt, wt, bt = (torch.tensor(a, requires_grad=backward) for a in (x, w, b))
        gt = torch.ones(n, cout, *out)

        def theirs():
            y = torch.nn.functional.conv2d(xt, wt, bt, padding=p)
            if backward:
                y.backward(gt)

        fns["torch"] = theirs
    return fns


def _pool_fns(torch, rng):
    x = rng.standard_normal((64, 6, 28, 28)).astype(np.float32)
    X = mg.tensor(x, requires_grad=True)
    G = mg.ones(64, 6, 14, 14)

    def mine():
        F.max_pool2d(X, 2).backward(G)

    fns = {"minigrad": mine}
    if torch is not None:
        xt = torch.tensor(x, requires_grad=True)
        gt = torch.ones(64, 6, 14, 14)

        def theirs():
            torch.nn.functional.max_pool2d(xt, 2).backward(gt)

        fns["torch"] = theirs
    return fns


def _lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def _step_fns(torch, rng):
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = _lenet(mg.nn)
    opt = mg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = mg.nn.CrossEntropyLoss()
    X, Y = mg.tensor(x), mg.tensor(y)

    def mine():
        opt.zero_grad()
        loss_fn(model(X), Y).backward()
        opt.step()

    fns = {"minigrad": mine}
    if torch is not None:
        tmodel = _lenet(torch.nn)
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tloss = torch.nn.CrossEntropyLoss()
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def theirs():
            topt.zero_grad()
            tloss(tmodel(xt), yt).backward()
            topt.step()

        fns["torch"] = theirs
    return fns


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    rng = np.random.default_rng(0)
    rows = []
    rounds = 3 if quick else 5
    saved = mg.get_num_threads()
    cases = []
    for name, cfg, t in CONVS:
        cases.append((f"{name} fwd+bwd", _conv_fns(torch, cfg, rng), t))
        cases.append((f"{name} fwd", _conv_fns(torch, cfg, rng, False), ""))
    cases.append(("max_pool2d 2x2 (64, 6, 28, 28) fwd+bwd", _pool_fns(torch, rng), ""))
    cases.append(("lenet-5 SGD step 28x28 b64", _step_fns(torch, rng), "<= 1.5x"))
    try:
        for nt in (1, 2):
            mg.set_num_threads(nt)
            if torch is not None:
                torch.set_num_threads(nt)
            for name, fns, target in cases:
                t = interleaved(fns, rounds=rounds)
                extra = {f"{k}_ms": v * 1e3 for k, v in t.items()}
                extra["load_avg"] = os.getloadavg()
                if "fused" in t:
                    extra["fused/workspace"] = t["fused"] / t["workspace"]
                for k in t:
                    if k == "torch":
                        continue
                    label = {"workspace": " [ws]", "fused": " [fused]"}.get(k, "")
                    rows.append(
                        Row(
                            "conv",
                            f"{name} {nt}T{label}",
                            "ms",
                            t[k] * 1e3,
                            "torch" if "torch" in t else "",
                            t["torch"] * 1e3 if "torch" in t else None,
                            False,
                            target,
                            extra,
                        )
                    )
    finally:
        mg.set_num_threads(saved)
    return rows
