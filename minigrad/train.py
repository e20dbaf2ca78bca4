"""A small training loop: fit, evaluate and the History they record.
Layer: top; imports ``nn`` (to read the loss type), ``metrics``, ``autograd``,
and tqdm when it is installed.

``fit`` runs the loop every PyTorch user writes by hand (forward, loss,
``zero_grad``, ``backward``, ``step``), once per batch, with a progress bar,
and records per-epoch loss and metrics for the training and validation sets.

# Note [Metrics from outputs]
Metrics named by a string ("accuracy", "precision", "recall", "f1") are computed
over the whole epoch from the model's outputs turned into class labels: the
argmax of a multi-column output; for a single-column output, ``output > 0`` after
``BCEWithLogitsLoss`` (logits) and ``output > 0.5`` otherwise (probabilities).
precision, recall and f1 use ``average="binary"`` for a single-column output and
``"macro"`` otherwise. A callable metric gets the epoch's raw outputs and targets
as Tensors and returns a float.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad import metrics as _metrics
from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn.loss import BCEWithLogitsLoss
from minigrad.tensor import Tensor

__all__ = ["Callback", "History", "evaluate", "fit", "predict_labels"]

MetricFn = Callable[[Tensor, Tensor], float]
MetricsArg = Sequence[str | MetricFn] | Mapping[str, str | MetricFn] | None

_NAMED = ("accuracy", "precision", "recall", "f1")


@dataclass
class History:
    """Per-epoch records of a :func:`fit` run.

    Attributes
    ----------
    train : dict of str to list of float
        ``"loss"`` and each metric, one value per epoch, on the training set
        (measured on the fly while the weights change, as Keras does).
    val : dict of str to list of float
        The same on the validation set, measured after each epoch; empty
        without a ``val_loader``.
    lr : list of float
        The first parameter group's learning rate during each epoch.
    """

    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    # Keras's History.model: the keras Model whose fit made it (else None).
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.train.get("loss", []))

    def __getitem__(self, key: str) -> list[float]:
        """``h["loss"]`` is ``h.train["loss"]``; ``h["val_loss"]`` is
        ``h.val["loss"]``."""
        if key.startswith("val_"):
            return self.val[key[4:]]
        return self.train[key]

    def as_dict(self) -> dict[str, list[float]]:
        """Flat Keras-style dict: ``loss``, ``accuracy``, ``val_loss``..."""
        out = {k: list(v) for k, v in self.train.items()}
        out.update({f"val_{k}": list(v) for k, v in self.val.items()})
        return out

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras's ``History.history``: the flat dict of :meth:`as_dict`."""
        return self.as_dict()

    @property
    def epoch(self) -> list[int]:
        """Keras's ``History.epoch``: the 0-based index of each recorded epoch."""
        return list(range(self.epochs))

    def keys(self) -> list[str]:
        """The keys of :attr:`history` (``loss``, ``val_loss``...)."""
        return list(self.as_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.as_dict()

    def last(self) -> dict[str, float]:
        """The latest epoch's figures as one flat dict (Keras's epoch ``logs``)."""
        return {k: v[-1] for k, v in self.as_dict().items() if v}

    def _record(
        self, part: dict[str, list[float]], values: Mapping[str, float]
    ) -> None:
        for k, v in values.items():
            part.setdefault(k, []).append(float(v))


class Callback:
    """Hooks that :func:`fit` calls, Keras's protocol: ``on_train_begin(logs)``,
    ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_end(logs)``; ``epoch`` counts from 0 and ``logs`` is the epoch's
    flat dict (``loss``, ``val_loss``, metrics...).

    Before training, fit sets ``model`` (unless a caller bound another model
    with :meth:`set_model`, as :mod:`minigrad.keras` does), ``optimizer`` and
    ``history``. Setting ``self.model.stop_training = True`` ends training after
    the current epoch.
    """

    model: Any = None
    optimizer: Any = None
    history: History | None = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        pass


def _hook(callbacks: list[Any], name: str, *args: Any) -> None:
    for cb in callbacks:
        fn = getattr(cb, name, None)
        if fn is not None:
            fn(*args)


def _bind(
    callbacks: list[Any], model: Any, optimizer: Any, history: History
) -> list[Any]:
    """Gives each callback its model, optimizer and history; returns the models
    whose ``stop_training`` flag fit watches (cleared here)."""
    models: list[Any] = []
    for cb in callbacks:
        if getattr(cb, "model", None) is None:
            if hasattr(cb, "set_model"):
                cb.set_model(model)
            else:
                cb.model = model
        cb.optimizer = optimizer
        cb.history = history
        if all(cb.model is not m for m in models):
            models.append(cb.model)
    for m in models:
        with contextlib.suppress(AttributeError):  # a plain function as model
            m.stop_training = False
    return models


def _split_validation(loader: Any, fraction: float) -> tuple[Any, Any]:
    """Keras's ``validation_split``: the last ``fraction`` of ``loader``'s dataset
    (taken before any shuffling) becomes a validation loader; the training
    loader keeps the rest and its own settings."""
    from minigrad.data import DataLoader, Subset

    if not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise ArgumentError(
            f"fit: validation_split must be in [0, 1), got {fraction!r}"
        )
    if not isinstance(loader, DataLoader):
        raise ArgumentError(
            "fit: validation_split needs a DataLoader (its dataset is split), got "
            f"{type(loader).__name__}; pass val_loader instead"
        )
    n = len(loader.dataset)
    split_at = math.ceil(n * (1.0 - fraction))
    if split_at < 1 or split_at >= n:
        raise ArgumentError(
            f"fit: validation_split={fraction} of {n} samples leaves "
            f"{split_at} for training and {n - split_at} for validation; both "
            "need at least one"
        )

    def part(indices: range, shuffle: bool, drop_last: bool) -> DataLoader:
        return DataLoader(
            Subset(loader.dataset, np.arange(indices.start, indices.stop)),
            batch_size=loader.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            generator=loader.generator,
            collate_fn=loader.collate_fn,
        )

    return (
        part(range(0, split_at), loader.shuffle, loader.drop_last),
        part(range(split_at, n), False, False),
    )


def predict_labels(output: Any, loss_fn: Any = None) -> np.ndarray:
    """Class labels from a model's output (see Note [Metrics from outputs]).

    Parameters
    ----------
    output : Tensor or array, shape (N, C), (N, 1) or (N,)
    loss_fn : the loss the model is trained with, optional
        With :class:`~minigrad.nn.BCEWithLogitsLoss` a single-column output is
        read as logits (threshold 0), otherwise as probabilities (threshold 0.5).

    Returns
    -------
    numpy.ndarray of int64, shape (N,)
    """
    out = np.asarray(output.data if isinstance(output, Tensor) else output)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1:
        raise ShapeError(
            f"predict_labels: expected output of shape (N, C), (N, 1) or (N,), "
            f"got {out.shape}"
        )
    threshold = 0.0 if isinstance(loss_fn, BCEWithLogitsLoss) else 0.5
    return (out > threshold).astype(np.int64)


def _metric_table(metrics: MetricsArg) -> dict[str, str | MetricFn]:
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(metrics, Mapping):
        table = dict(metrics)
    else:
        table = {}
        for m in metrics:
            name = m if isinstance(m, str) else getattr(m, "__name__", repr(m))
            table[name] = m
    for name, m in table.items():
        if name == "loss":
            raise ArgumentError("metrics: 'loss' is always recorded; pick another name")
        if isinstance(m, str) and m not in _NAMED:
            raise ArgumentError(
                f"metrics: unknown metric {m!r}; use one of {list(_NAMED)} or a "
                "callable (output, target) -> float"
            )
        if not isinstance(m, str) and not callable(m):
            raise TypeError(f"metrics: {name!r} is neither a name nor a callable")
    return table


def _compute(
    table: dict[str, str | MetricFn],
    outputs: list[np.ndarray],
    targets: list[np.ndarray],
    loss_fn: Any,
) -> dict[str, float]:
    if not table or not outputs:
        return {}
    out = np.concatenate(outputs)
    tgt = np.concatenate(targets)
    single = out.ndim == 1 or out.shape[1] == 1
    average: _metrics.Average = "binary" if single else "macro"
    labels: np.ndarray | None = None
    res = {}
    for name, m in table.items():
        if isinstance(m, str):
            if labels is None:
                labels = predict_labels(out, loss_fn)
            if m == "accuracy":
                res[name] = _metrics.accuracy(tgt, labels)
            else:
                fn = {
                    "precision": _metrics.precision,
                    "recall": _metrics.recall,
                    "f1": _metrics.f1_score,
                }[m]
                res[name] = fn(tgt, labels, average=average)
        else:
            res[name] = float(m(Tensor._wrap(out), Tensor._wrap(tgt)))
    return res


def _split(batch: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ArgumentError(
            f"{where}: each batch must be a pair (inputs, targets), got "
            f"{type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    return batch[0], batch[1]


def _set_mode(model: Any, training: bool) -> None:
    if hasattr(model, "train"):
        model.train(training)


def evaluate(
    model: Callable[[Any], Tensor],
    loader: Iterable[Any],
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    metrics: MetricsArg = None,
) -> dict[str, float]:
    """Loss and metrics of ``model`` over ``loader``, in eval mode, without grad.

    Parameters
    ----------
    model : Module or callable
        Put in eval mode for the pass and returned to its previous mode after.
    loader : iterable of (inputs, targets)
        Usually a :class:`~minigrad.data.DataLoader`.
    loss_fn : callable, optional
        A loss with ``reduction="mean"``; the result's ``"loss"`` is its mean over
        all samples (batch means weighted by batch size).
    metrics : list of names/callables, or dict of name to name/callable
        See Note [Metrics from outputs].

    Returns
    -------
    dict of str to float
        ``"loss"`` (when ``loss_fn`` is given) and one entry per metric.
    """
    table = _metric_table(metrics)
    was_training = getattr(model, "training", None)
    _set_mode(model, False)
    total, n = 0.0, 0
    outputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    try:
        with no_grad():
            for batch in loader:
                x, y = _split(batch, "evaluate")
                out = model(x)
                b = len(y)
                if loss_fn is not None:
                    total += float(loss_fn(out, y).item()) * b
                n += b
                if table:
                    outputs.append(out.data)
                    targets.append(np.asarray(y.data if isinstance(y, Tensor) else y))
    finally:
        if was_training is not None:
            _set_mode(model, was_training)
    if n == 0:
        raise ArgumentError("evaluate: the loader yielded no samples")
    res = {"loss": total / n} if loss_fn is not None else {}
    res.update(_compute(table, outputs, targets, loss_fn))
    return res


def fit(
    model: Callable[[Any], Tensor],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    optimizer: Any,
    train_loader: Iterable[Any],
    epochs: int,
    val_loader: Iterable[Any] | None = None,
    metrics: MetricsArg = None,
    scheduler: Any = None,
    verbose: bool = True,
    validation_split: float = 0.0,
    callbacks: Sequence[Any] | None = None,
) -> History:
    """Trains ``model`` for ``epochs`` passes over ``train_loader``.

    Each batch runs ``optimizer.zero_grad()``, ``loss_fn(model(x), y)``,
    ``backward()`` and ``optimizer.step()``; after each epoch ``scheduler.step()``
    (if given) and an :func:`evaluate` pass over ``val_loader`` (if given).

    Parameters
    ----------
    model : Module or callable
        Put in training mode for each epoch.
    loss_fn : callable
        ``loss_fn(output, target)`` returning a scalar Tensor (mean reduction).
    optimizer : Optimizer
    train_loader : iterable of (inputs, targets)
        Usually a :class:`~minigrad.data.DataLoader`; iterated once per epoch.
    epochs : int
        Number of passes (>= 1).
    val_loader : iterable of (inputs, targets), optional
    metrics : list of names/callables, or dict of name to name/callable
        ``"accuracy"``, ``"precision"``, ``"recall"``, ``"f1"`` or callables
        ``(output, target) -> float``; see Note [Metrics from outputs].
    scheduler : LRScheduler, optional
        Stepped once per epoch.
    verbose : bool
        Show a progress bar (tqdm, on stderr) with the latest epoch's figures; if
        tqdm is not installed, print a line every tenth of the run instead.
    validation_split : float in [0, 1)
        Keras's option: the last fraction of ``train_loader``'s dataset (a
        :class:`~minigrad.data.DataLoader`'s, taken before shuffling) is held out
        and evaluated after each epoch instead of ``val_loader``.
    callbacks : list of :class:`Callback` (or objects with some of its hooks)
        Called at the start and end of training and of each epoch; training
        stops after an epoch in which one sets ``model.stop_training``.

    Returns
    -------
    History

    Raises
    ------
    ValueError
        ``epochs < 1``, a batch that is not an (inputs, targets) pair, an empty
        loader, or an unknown metric name.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ArgumentError(f"fit: epochs must be a positive int, got {epochs!r}")
    table = _metric_table(metrics)
    if validation_split:
        if val_loader is not None:
            raise ArgumentError("fit: give val_loader or validation_split, not both")
        train_loader, val_loader = _split_validation(train_loader, validation_split)
    history = History()
    callbacks = list(callbacks or [])
    watched = _bind(callbacks, model, optimizer, history)
    bar = _progress(verbose, epochs, train_loader)
    try:
        _hook(callbacks, "on_train_begin", {})
        for epoch in range(1, epochs + 1):
            _hook(callbacks, "on_epoch_begin", epoch - 1, {})
            history.lr.append(float(optimizer.param_groups[0]["lr"]))
            train = _train_epoch(model, loss_fn, optimizer, train_loader, table, bar)
            history._record(history.train, train)
            if scheduler is not None:
                scheduler.step()
            if val_loader is not None:
                history._record(
                    history.val, evaluate(model, val_loader, loss_fn, metrics)
                )
            _report(bar, verbose, epoch, epochs, history)
            _hook(callbacks, "on_epoch_end", epoch - 1, history.last())
            if any(getattr(m, "stop_training", False) for m in watched):
                break
        _hook(callbacks, "on_train_end", history.last())
    finally:
        if bar is not None:
            bar.close()
    return history


def _train_epoch(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    loader: Iterable[Any],
    table: dict[str, str | MetricFn],
    bar: Any,
) -> dict[str, float]:
    _set_mode(model, True)
    total, n = 0.0, 0
    outputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for batch in loader:
        x, y = _split(batch, "fit")
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        b = len(y)
        total += float(loss.item()) * b
        n += b
        if table:
            outputs.append(out.data)
            targets.append(np.asarray(y.data if isinstance(y, Tensor) else y))
        if bar is not None:
            bar.update(1)
    if n == 0:
        raise ArgumentError("fit: the training loader yielded no samples")
    res = {"loss": total / n}
    res.update(_compute(table, outputs, targets, loss_fn))
    return res


def _progress(verbose: bool, epochs: int, loader: Any) -> Any:
    if not verbose:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    try:
        total = epochs * len(loader)
    except TypeError:
        total = None
    return tqdm(total=total, unit="batch", dynamic_ncols=True, leave=True)


def _summary(history: History) -> str:
    parts = [f"{k} {v[-1]:.4g}" for k, v in history.train.items()]
    parts += [f"val_{k} {v[-1]:.4g}" for k, v in history.val.items()]
    return "  ".join(parts)


def _report(bar: Any, verbose: bool, epoch: int, epochs: int, history: History) -> None:
    if bar is not None:
        bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)
        bar.set_postfix_str(_summary(history), refresh=False)
    elif verbose:
        every = max(1, math.ceil(epochs / 10))
        if epoch % every == 0 or epoch == epochs:
            print(f"epoch {epoch}/{epochs}  {_summary(history)}")
