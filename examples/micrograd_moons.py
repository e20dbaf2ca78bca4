"""micrograd's demo on minigrad's compiled Value: a 2-16-16-1 MLP learns moons.

    python examples/micrograd_moons.py [--steps 100] [--plot boundary.png]
                                       [--graph neuron.svg]

The code is micrograd's demo notebook with one change, the import: an SVM
max-margin loss with L2 regularisation, full-batch SGD with a decaying rate.
``--plot`` saves the decision boundary (needs matplotlib); ``--graph`` draws
the graph of one neuron's output (needs graphviz, see minigrad.viz).
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import numpy as np

from minigrad.scalar import Value
from minigrad.scalar.nn import MLP


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[Any, Any]:
    """Two interleaved half circles; labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_top = n // 2
    t_top = np.linspace(0, np.pi, n_top)
    t_bot = np.linspace(0, np.pi, n - n_top)
    top = np.stack([np.cos(t_top), np.sin(t_top)], 1)
    bot = np.stack([1 - np.cos(t_bot), 0.5 - np.sin(t_bot)], 1)
    X = np.concatenate([top, bot]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([-np.ones(n_top), np.ones(n - n_top)])
    return X, y


def loss_and_accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[Value, float]:
    inputs = [list(map(Value, row)) for row in X.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    accuracy = [(yi > 0) == (si.data > 0) for yi, si in zip(y.tolist(), scores)]
    return data_loss + reg_loss, sum(accuracy) / len(accuracy)


def plot_boundary(model: MLP, X: np.ndarray, y: np.ndarray, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = 0.05
    xx, yy = np.meshgrid(
        np.arange(X[:, 0].min() - 1, X[:, 0].max() + 1, h),
        np.arange(X[:, 1].min() - 1, X[:, 1].max() + 1, h),
    )
    grid = np.c_[xx.ravel(), yy.ravel()].tolist()
    z = np.array([model(p).data > 0 for p in grid]).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xx, yy, z, cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=20, cmap=plt.cm.Spectral, edgecolors="k")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"decision boundary saved to {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--plot", metavar="PATH", help="save the decision boundary")
    ap.add_argument("--graph", metavar="PATH", help="draw one neuron's graph (svg)")
    args = ap.parse_args()

    X, y = make_moons()
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    print(model)
    print("number of parameters", len(model.parameters()))

    t0 = time.perf_counter()
    for k in range(args.steps):
        total_loss, acc = loss_and_accuracy(model, X, y)
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / args.steps
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        if k % 10 == 0 or k == args.steps - 1:
            print(f"step {k} loss {total_loss.data:.4f}, accuracy {acc * 100:.0f}%")
    elapsed = time.perf_counter() - t0
    print(
        f"{args.steps} steps in {elapsed:.2f} s ({1e3 * elapsed / args.steps:.1f} ms)"
    )

    if args.plot:
        plot_boundary(model, X, y, args.plot)
    if args.graph:
        from minigrad.viz import draw

        neuron = model.layers[0].neurons[0]
        out = neuron([Value(x) for x in X[0].tolist()])
        out.backward()
        print(f"graph saved to {draw(out, args.graph)}")


if __name__ == "__main__":
    main()
