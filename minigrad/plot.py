"""PNG plots of training: loss curves and 2-D decision boundaries.
Layer: top; imports ``minigrad.tensor``, ``autograd`` and ``train`` (for
History), and matplotlib (an optional extra) inside each function.

Figures are drawn on matplotlib's Agg canvas directly, without ``pyplot``, so no
global backend is chosen or changed and no window ever opens.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor
from minigrad.train import History

__all__ = ["plot_decision_boundary", "plot_history"]


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "minigrad.plot needs matplotlib; install it with: "
            "pip install 'minigrad[plot]'  (or: pip install matplotlib)"
        ) from None
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _integer_epochs(ax: Any) -> None:
    """Ticks at whole epochs only (matplotlib would put one at 2.5 for a short
    run)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# One marker per class, so classes stay apart where their colours are close
# to the region behind them (and for readers who do not tell the colours apart).
_MARKERS = "o^sDvP*Xph"
# Binary classes: the two ends of the RdBu_r map the regions use.
_BINARY_COLOURS = ("#2166ac", "#b2182b")


def _scatter_classes(
    ax: Any, pts: np.ndarray, labels: np.ndarray, binary: bool
) -> None:
    """The data points, one scatter (colour, marker, legend entry) per class."""
    from matplotlib import colormaps

    tab10 = colormaps["tab10"]
    classes = np.unique(labels)
    for i, c in enumerate(classes):
        at = labels == c
        colour: str | tuple[float, float, float, float]
        if binary:
            colour = _BINARY_COLOURS[int(c >= 0.5)]
        else:
            colour = tab10(int(c) % 10)
        name = int(c) if float(c).is_integer() else c
        ax.scatter(
            pts[at, 0],
            pts[at, 1],
            color=colour,
            marker=_MARKERS[i % len(_MARKERS)],
            s=22,
            edgecolors="k",
            linewidths=0.5,
            label=f"class {name}",
        )
    if len(classes) <= 10:
        ax.legend(loc="best", fontsize=8, framealpha=0.8)


def _save(fig: Any, path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def plot_history(
    history: History, path: str | os.PathLike[str], title: str | None = None
) -> str:
    """Saves the loss curves (and the metrics, if any) of a :func:`fit` run.

    Parameters
    ----------
    history : History
        What :func:`minigrad.train.fit` returned.
    path : str or path-like
        Where to write the PNG.
    title : str, optional

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        The history is empty.
    """
    if history.epochs == 0:
        raise ArgumentError("plot_history: the history has no epochs")
    metrics = [k for k in history.train if k != "loss"]
    fig = _figure(10 if metrics else 6, 4)
    axes = fig.subplots(1, 2 if metrics else 1, squeeze=False)[0]
    epochs = np.arange(1, history.epochs + 1)
    ax = axes[0]
    ax.plot(epochs, history.train["loss"], label="train")
    if "loss" in history.val:
        ax.plot(epochs, history.val["loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "loss")
    ax.legend()
    _integer_epochs(ax)
    if metrics:
        ax = axes[1]
        for k in metrics:
            ax.plot(epochs, history.train[k], label=f"train {k}")
            if k in history.val:
                ax.plot(epochs, history.val[k], "--", label=f"validation {k}")
        ax.set_xlabel("epoch")
        ax.set_title("metrics")
        ax.legend()
        _integer_epochs(ax)
    return _save(fig, path)


def plot_decision_boundary(
    model: Callable[[Tensor], Tensor],
    X: Any,
    y: Any,
    path: str | os.PathLike[str],
    resolution: int = 200,
    threshold: float = 0.5,
    title: str | None = None,
) -> str:
    """Saves the regions a 2-D classifier assigns to each class, with the data.

    Parameters
    ----------
    model : Module or callable
        Maps a float32 Tensor of shape (M, 2) to outputs of shape (M, C), or
        (M, 1) / (M,) for a binary classifier. Run in eval mode, without grad.
    X : Tensor or array, shape (N, 2)
        The points to draw (they also set the plotted range).
    y : Tensor or array, shape (N,) or (N, 1)
        Their class labels, for the colours.
    path : str or path-like
        Where to write the PNG.
    resolution : int
        Grid points per axis.
    threshold : float
        For a single-output model: the output level drawn as the boundary (0.5
        for probabilities, 0.0 for logits).
    title : str, optional

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        ``X`` is not of shape (N, 2), or the model's output has a wrong shape.
    """
    pts = np.asarray(X.data if isinstance(X, Tensor) else X, dtype=np.float64)
    labels = np.asarray(y.data if isinstance(y, Tensor) else y).reshape(-1)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ShapeError(
            f"plot_decision_boundary: X must have shape (N, 2), got {pts.shape}"
        )
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-3)
    gx, gy = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution),
    )
    grid = Tensor._wrap(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.train(False)  # type: ignore[attr-defined]
    try:
        with no_grad():
            out = np.asarray(model(grid).data, dtype=np.float64)
    finally:
        if was_training is not None:
            model.train(was_training)  # type: ignore[attr-defined]
    fig = _figure(6, 5)
    ax = fig.add_subplot(1, 1, 1)
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        z = out.reshape(gx.shape)
        cs = ax.contourf(gx, gy, z, levels=20, cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, z, levels=[threshold], colors="k", linewidths=1.5)
        fig.colorbar(cs, ax=ax, label="model output")
        binary = True
    elif out.ndim == 2:
        z = out.argmax(axis=1).reshape(gx.shape)
        k = out.shape[1]
        ax.contourf(
            gx, gy, z, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmax=9, alpha=0.35
        )
        binary = False
    else:
        raise ShapeError(
            f"plot_decision_boundary: model output must be (M, C), (M, 1) or (M,), "
            f"got {out.shape}"
        )
    _scatter_classes(ax, pts, labels, binary)
    ax.set_title(title or "decision boundary")
    return _save(fig, path)
