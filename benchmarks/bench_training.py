"""Training-step time beside PyTorch CPU (the issue's three workloads), plus the
parts this family owns: the optimizer step and the DataLoader.

    python benchmarks/run.py training [--quick]

Each minigrad/PyTorch pair is measured interleaved in the same run (medians),
with the same weights, data and thread count on both sides:

- MLP 784-128-64-10, ReLU, cross-entropy, Adam, batch 64, 1 thread;
- XOR 2-2-1, sigmoid, BCE, SGD, full batch (4 rows), 1 thread; also beside
  a hand-written numpy step (the issue's XOR target): the same network, initial
  weights and data, forward, backward and update written by hand the way a
  course would (``dz = (p - y) / n`` for sigmoid + BCE, in-place updates). The
  benchmark asserts that numpy's and minigrad's parameters agree after one step
  and after three, so the two time the same computation;
- MLP 784-1024-1024-10, ReLU, cross-entropy, Adam, batch 256, 2 threads.

Each minigrad step is also timed captured by ``mg.compile`` (its own copy of
the model, same initial weights; its first losses must equal the eager
step's exactly).

A step is ``zero_grad(); loss_fn(model(x), y).backward(); opt.step()`` on one
fixed batch (no data loading). ``extra`` holds the losses of the first three
steps on both sides (same weights and data, so they agree to float32 tolerance),
each round's median per implementation (``rounds``: a multi-thread row moves
10-20% between rounds on a shared machine, so it gets more rounds), and the
share of minigrad's load samples that left all its threads a core
(``all_threads_share``; below 0.9 the run prints a note: the row then measured a
machine busy elsewhere, on which minigrad's kernels use fewer threads).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
from common import Row, interleaved, try_import

import minigrad as mg
from minigrad import backend, nn, optim
from minigrad.data import DataLoader, TensorDataset

FAMILY = "training"


def _mg_mlp(sizes: list[int], act: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU() if act == "relu" else nn.Sigmoid())
    if act == "sigmoid":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def _torch_twin(torch: Any, model: nn.Sequential) -> Any:
    """The same network in torch, with minigrad's initial weights copied in."""
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.weight.data))
                lin.bias.copy_(torch.from_numpy(m.bias.data))
            layers.append(lin)
        elif isinstance(m, nn.ReLU):
            layers.append(torch.nn.ReLU())
        else:
            layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def _numpy_xor_step(model: nn.Sequential, x: np.ndarray, y: np.ndarray) -> Any:
    """One SGD step (lr 0.5) of the XOR net in plain numpy, on copies of
    ``model``'s current weights; returns the step, which returns the loss."""
    w1, b1, w2, b2 = (p.data.copy() for p in model.parameters())
    n, lr = x.shape[0], np.float32(0.5)

    def step() -> np.floating:
        nonlocal w1, b1, w2, b2  # updated in place (``-=`` on arrays)
        h = 1.0 / (1.0 + np.exp(-(x @ w1.T + b1)))
        p = 1.0 / (1.0 + np.exp(-(h @ w2.T + b2)))
        loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
        dz2 = (p - y) / n  # sigmoid + BCE: d loss / d logit
        dz1 = (dz2 @ w2) * h * (1.0 - h)
        w2 -= lr * (dz2.T @ h)
        b2 -= lr * dz2.sum(axis=0)
        w1 -= lr * (dz1.T @ x)
        b1 -= lr * dz1.sum(axis=0)
        return loss

    step.params = (w1, b1, w2, b2)  # type: ignore[attr-defined]
    return step


def _check_same_params(model: nn.Sequential, np_step: Any, steps: int) -> None:
    for p, q in zip(model.parameters(), np_step.params, strict=True):
        assert p.data.dtype == q.dtype, (p.data.dtype, q.dtype)
        np.testing.assert_allclose(
            p.data, q, rtol=1e-5, atol=1e-6, err_msg=f"XOR after {steps} step(s)"
        )


def _steps(model: Any, loss_fn: Any, opt: Any, x: Any, y: Any) -> Any:
    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _compiled_steps(model: Any, loss_fn: Any, opt: Any, x: Any, y: Any) -> Any:
    """The same step captured by ``mg.compile`` (Note [Captured steps]): the
    batch is an argument, as in a training loop."""

    @mg.compile
    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return lambda: step(x, y)


@contextlib.contextmanager
def _load_probe(threads: int, extra: dict[str, Any]) -> Iterator[None]:
    """Records the load samples minigrad's kernels take meanwhile (Note
    [Sharing cores] in minigrad/backend.py: a kernel runs on fewer threads
    while other processes hold cores). ``extra['all_threads_share']``, the
    share of samples that left ``threads`` cores free, says whether a
    multi-thread row measured its threads or a machine busy elsewhere."""
    real = backend._runnable_elsewhere
    seen: list[int] = []

    def probe() -> int:
        n = real()
        seen.append(n)
        return n

    backend._runnable_elsewhere = probe
    try:
        yield
    finally:
        backend._runnable_elsewhere = real
        cpus = backend._Load.cpus
        free = [cpus == 0 or cpus - n >= threads for n in seen]
        extra["load_samples"] = len(seen)
        extra["all_threads_share"] = round(sum(free) / len(free), 3) if free else None


def _make_opt(model: nn.Module, make_opt: str) -> optim.Optimizer:
    if make_opt == "adam":
        return optim.Adam(model.parameters(), lr=1e-3)
    return optim.SGD(model.parameters(), lr=0.5)


def _case(
    torch: Any,
    name: str,
    sizes: list[int],
    act: str,
    batch: int,
    threads: int,
    make_opt: str,
    target: str,
    quick: bool,
) -> list[Row]:
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    model = _mg_mlp(sizes, act)
    if act == "sigmoid":  # XOR: the four rows of the truth table
        x_np = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
        y_np = np.array([[0], [1], [1], [0]], np.float32)
        loss_fn, t_loss_fn = nn.BCELoss(), (torch.nn.BCELoss() if torch else None)
    else:
        x_np = rng.random((batch, sizes[0]), dtype=np.float32)
        y_np = rng.integers(0, sizes[-1], batch)
        loss_fn = nn.CrossEntropyLoss()
        t_loss_fn = torch.nn.CrossEntropyLoss() if torch else None
    opt = _make_opt(model, make_opt)
    fns = {"minigrad": _steps(model, loss_fn, opt, mg.tensor(x_np), mg.tensor(y_np))}
    mg.manual_seed(0)
    twin = _mg_mlp(sizes, act)  # the same initial weights
    fns["compiled"] = _compiled_steps(
        twin, loss_fn, _make_opt(twin, make_opt), mg.tensor(x_np), mg.tensor(y_np)
    )
    np_step = _numpy_xor_step(model, x_np, y_np) if act == "sigmoid" else None
    mg.set_num_threads(threads)
    opt_fns: dict[str, Any] = {"minigrad": opt.step}
    if torch is not None:
        torch.set_num_threads(threads)
        tmodel = _torch_twin(torch, model)
        if make_opt == "adam":
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
        else:
            topt = torch.optim.SGD(tmodel.parameters(), lr=0.5)
        tx, ty = torch.from_numpy(x_np), torch.from_numpy(y_np)
        fns["torch"] = _steps(tmodel, t_loss_fn, topt, tx, ty)
        opt_fns["torch"] = topt.step
    # Same weights and data on both sides: the first losses should agree.
    extra: dict[str, Any] = {"threads": threads}
    for k, fn in fns.items():
        losses = []
        for i in range(3):
            losses.append(round(float(fn().item()), 6))
            if k == "minigrad" and np_step is not None:
                np_losses = [round(float(np_step()), 6)]
                _check_same_params(model, np_step, i + 1)
                extra.setdefault("first_losses_numpy", []).extend(np_losses)
        extra[f"first_losses_{k}"] = losses
    # A replayed step is the eager step, bit for bit.
    assert extra["first_losses_compiled"] == extra["first_losses_minigrad"], extra
    if np_step is not None:
        fns["numpy"] = np_step
    kw = {"rounds": 3 if quick else 5, "min_time": 0.03 if quick else 0.1}
    per_round: dict[str, list[float]] = {}
    # Two threads on a shared machine move 10-20% from round to round: more
    # rounds for the median, and each round's figure kept in ``extra``.
    rounds = kw["rounds"] if threads == 1 else (7 if quick else 9)
    with _load_probe(threads, extra):
        res = interleaved(fns, per_round=per_round, **{**kw, "rounds": rounds})
    if extra.get("all_threads_share") is not None and extra["all_threads_share"] < 0.9:
        print(
            f"note: {name}: other processes held cores in "
            f"{1 - extra['all_threads_share']:.0%} of minigrad's load samples, "
            f"so its kernels ran on fewer than {threads} threads then"
        )
    scale, unit = (1e6, "us/step") if act == "sigmoid" else (1e3, "ms/step")
    extra["rounds"] = {
        k: [round(t * scale, 3) for t in v] for k, v in per_round.items()
    }
    # The optimizer step alone (the gradients from the last timed step stay put).
    ores = interleaved(opt_fns, **kw)
    rows = []
    n_params = sum(p.numel() for p in model.parameters())
    peer = res.get("torch")
    rows.append(
        Row(
            FAMILY,
            name,
            unit,
            res["minigrad"] * scale,
            "torch",
            None if peer is None else peer * scale,
            False,
            target,
            extra,
        )
    )
    rows.append(
        Row(
            FAMILY,
            name.replace(" step,", " mg.compile,"),
            unit,
            res["compiled"] * scale,
            "torch",
            None if peer is None else peer * scale,
            False,
            target,
            extra,
        )
    )
    if "numpy" in res:
        for who, label in (("minigrad", ""), ("compiled", " mg.compile")):
            rows.append(
                Row(
                    FAMILY,
                    name.replace(
                        " step, 1 thr", f"{label or ' step'} vs hand-written numpy"
                    ),
                    unit,
                    res[who] * scale,
                    "numpy",
                    res["numpy"] * scale,
                    False,
                    "<= 1.0x numpy (moonshot 0.5x)",
                    extra,
                )
            )
    opeer = ores.get("torch")
    rows.append(
        Row(
            FAMILY,
            f"  optimizer.step only ({n_params:,} params)",
            "us/step",
            ores["minigrad"] * 1e6,
            "torch.optim",
            None if opeer is None else opeer * 1e6,
            False,
            "",
        )
    )
    return rows


def _loader_rows(torch: Any, quick: bool) -> list[Row]:
    """One shuffled pass of batch 64 over 10000 rows of 784 float32 (MNIST-sized)."""
    rng = np.random.default_rng(0)
    x = rng.random((10000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 10000)
    mg_loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    fns = {"minigrad": lambda: sum(1 for _ in mg_loader)}
    if torch is not None:
        tds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        t_loader = torch.utils.data.DataLoader(tds, batch_size=64, shuffle=True)
        fns["torch"] = lambda: sum(1 for _ in t_loader)
    res = interleaved(fns, rounds=3 if quick else 5, min_time=0.03 if quick else 0.1)
    peer = res.get("torch")
    return [
        Row(
            FAMILY,
            "DataLoader pass, 10000x784 f32, batch 64, shuffle",
            "ms/pass",
            res["minigrad"] * 1e3,
            "torch",
            None if peer is None else peer * 1e3,
            False,
            "",
        )
    ]


def run(quick: bool) -> list[Row]:
    torch = try_import("torch")
    threads_before = mg.get_num_threads()
    try:
        rows = _case(
            torch,
            "MLP 784-128-64-10 Adam b64 step, 1 thr",
            [784, 128, 64, 10],
            "relu",
            64,
            1,
            "adam",
            "<= 0.4x",
            quick,
        )
        rows += _case(
            torch,
            "XOR 2-2-1 sigmoid BCE SGD step, 1 thr",
            [2, 2, 1],
            "sigmoid",
            4,
            1,
            "sgd",
            "info (target: vs numpy, next row)",
            quick,
        )
        rows += _case(
            torch,
            "MLP 784-1024-1024-10 Adam b256 step, 2 thr",
            [784, 1024, 1024, 10],
            "relu",
            256,
            2,
            "adam",
            "<= 0.7x",
            quick,
        )
        if torch is not None:
            torch.set_num_threads(1)
        mg.set_num_threads(1)
        rows += _loader_rows(torch, quick)
    finally:
        mg.set_num_threads(threads_before)
    return rows
