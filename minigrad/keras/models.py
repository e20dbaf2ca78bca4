"""Keras's ``Sequential`` model and ``load_model``. Layer: keras.

``compile`` / ``fit`` / ``evaluate`` / ``predict`` are a thin layer over
:func:`minigrad.train.fit` and :func:`minigrad.train.evaluate` (the one
training loop), :mod:`minigrad.optim` and :mod:`minigrad.nn`: ``fit`` turns
the arrays into a :class:`~minigrad.data.DataLoader`, the Keras loss into an
``(output, target)`` loss and the metrics into callables, and hands them over.
See Note [Logits behind the output layer] in :mod:`minigrad.keras.losses`.

``save`` writes one safetensors file (:func:`minigrad.save`, no pickle): the
weights, and the model's JSON config as a string inside it.
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

import numpy as np

from minigrad import nn
from minigrad import train as _train
from minigrad.autograd.grad_mode import no_grad
from minigrad.data import DataLoader, TensorDataset
from minigrad.errors import ArgumentError, ShapeError
from minigrad.keras import layers as _layers
from minigrad.keras import losses as _losses
from minigrad.keras import metrics as _metrics
from minigrad.keras import optimizers as _optimizers
from minigrad.serialization import load, save
from minigrad.tensor import Tensor

__all__ = ["Sequential", "load_model"]

_FORMAT = "minigrad.keras/1"
# which output activation each loss kind can see through
_LOGITS_OF = {"binary": "sigmoid", "categorical": "softmax", "sparse": "softmax"}


def _x(x: Any, where: str) -> Tensor:
    if isinstance(x, Tensor):
        return x if x.dtype == np.float32 else x.float()
    a = np.asarray(x, dtype=np.float32)
    if a.ndim < 1:
        raise ShapeError(f"{where}: x must have a batch axis, got shape {a.shape}")
    return Tensor._wrap(a)


class _Logits(nn.Module):
    """The model as the training loop sees it: up to the logits of its output
    layer when the loss uses them, the whole model otherwise."""

    def __init__(self, model: Sequential, logits: bool) -> None:
        super().__init__()
        self.model = model
        self.logits = logits

    def forward(self, x: Tensor) -> Tensor:
        return self.model._run(x, logits=self.logits)


class Sequential(nn.Module):
    """A stack of layers: ``Sequential([Dense(4, activation='relu',
    input_shape=(2,)), Dense(1, activation='sigmoid')])`` or ``.add(...)``.

    Attributes
    ----------
    layers : list of Layer
    optimizer : the compiled optimizer (minigrad.keras.optimizers)
    loss : the compiled Loss
    history : the History of the last ``fit``
    stop_training : bool, set by callbacks to end ``fit`` after an epoch
    """

    def __init__(
        self, layers: list[Any] | None = None, name: str | None = None
    ) -> None:
        super().__init__()
        self.name = name or _layers._auto_name("Sequential")
        self._stack = nn.ModuleList()
        self.input_spec: tuple[int, ...] | None = None
        self.optimizer: _optimizers.Optimizer | None = None
        self.loss: _losses.Loss | None = None
        self._metric_ids: list[Any] = []
        self.history: _train.History | None = None
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------
    @property
    def layers(self) -> list[_layers.Layer]:
        return cast("list[_layers.Layer]", list(self._stack))  # add() takes Layers

    @property
    def built(self) -> bool:
        return bool(self._stack) and all(layer.built for layer in self._stack)

    def add(self, layer: Any) -> None:
        """Appends a layer (an ``Input`` first only fixes the input shape)."""
        if isinstance(layer, _layers.InputLayer):
            if self._stack:
                raise ArgumentError(f"{self.name}.add: an Input must come first")
            self.input_spec = layer.input_spec
            return
        if not isinstance(layer, _layers.Layer):
            raise TypeError(
                f"{self.name}.add: expected a minigrad.keras layer, got "
                f"{type(layer).__name__}"
            )
        if not self._stack and self.input_spec is None:
            self.input_spec = layer.input_spec
        self._stack.append(layer)
        if self.input_spec is not None:
            self.build()

    def pop(self) -> _layers.Layer:
        if not self._stack:
            raise ArgumentError(f"{self.name}.pop: there are no layers")
        layers = self.layers
        self._stack = nn.ModuleList(layers[:-1])
        return layers[-1]

    def build(self, input_shape: Any = None) -> None:
        """Creates every layer's weights for inputs of ``input_shape`` (Keras's
        form with the batch axis, ``(None, 4)``, or without it)."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            self.input_spec = tuple(int(s) for s in shape)
        if self.input_spec is None:
            raise ArgumentError(
                f"{self.name}.build: the input shape is unknown; give the first "
                "layer input_shape=..., start with Input(shape=...), or call fit"
            )
        shape = self.input_spec
        for layer in self._stack:
            shape = layer._ensure_built(shape)

    # -- forward -------------------------------------------------------------------
    def _run(self, x: Any, logits: bool = False) -> Tensor:
        x = _x(x, self.name)
        if not self.built:
            self.build(tuple(x.shape[1:]))
        layers = self.layers
        if not layers:
            raise ArgumentError(f"{self.name}: the model has no layers")
        for layer in layers[:-1]:
            x = layer(x)
        last = layers[-1]
        return last.pre_activation(x) if logits else last(x)

    def forward(self, x: Any) -> Tensor:
        return self._run(x)

    # -- compile / fit / evaluate / predict -------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: list[Any] | None = None,
    ) -> None:
        """Chooses the optimizer (object or name, Keras's defaults), the loss
        (name, Loss or function) and the metrics ('accuracy', Precision()...)."""
        if loss is None:
            raise ArgumentError(f"{self.name}.compile: a loss is needed")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        if isinstance(metrics, (str, _metrics.Metric)):
            metrics = [metrics]
        self._metric_ids = list(metrics or [])
        for m in self._metric_ids:  # fail now on an unknown name
            _metrics.get(m, self.loss.kind, (1,))

    def _logit_kind(self) -> str | None:
        """'sigmoid' / 'softmax' when training should see the output layer's
        logits (Note [Logits behind the output layer]), else None."""
        loss = self.loss
        if loss is None or loss.kind is None or loss.from_logits or not self._stack:
            return None
        act = self.layers[-1].activation_name
        return act if act == _LOGITS_OF[loss.kind] else None

    def _engine(self) -> tuple[nn.Module, Any, dict[str, Any]]:
        """The (model view, loss, metrics) that minigrad.train runs."""
        if self.loss is None or self.optimizer is None:
            raise ArgumentError(
                f"{self.name}: call compile(optimizer, loss, metrics) before "
                "fit / evaluate"
            )
        kind = self._logit_kind()
        loss = self.loss
        from_logits = True if kind is not None else None

        def loss_fn(output: Tensor, target: Tensor) -> Tensor:
            return loss.per_sample(target, output, from_logits=from_logits).mean()

        seen = kind or (
            "sigmoid" if loss.kind == "binary" and loss.from_logits else None
        )
        if loss.from_logits and loss.kind in ("categorical", "sparse"):
            seen = "softmax"
        out_shape = self.layers[-1].output_spec or (1,)
        table: dict[str, Any] = {}
        for m in self._metric_ids:
            metric = _metrics.get(m, loss.kind, out_shape)
            table[metric.name] = _metrics.engine_metric(metric, seen)
        return _Logits(self, kind is not None), loss_fn, table

    def _y(self, y: Any, where: str) -> Tensor:
        if y is None:
            raise ArgumentError(f"{where}: y is needed")
        if self.loss is not None and self.loss.kind == "sparse":
            a = np.asarray(y.data if isinstance(y, Tensor) else y)
            if a.ndim == 2 and a.shape[1] == 1:
                a = a[:, 0]
            return Tensor._wrap(a.astype(np.int64))
        return _x(y, where)

    def _loader(
        self, x: Any, y: Any, batch_size: int | None, shuffle: bool, where: str
    ) -> DataLoader:
        xt, yt = _x(x, where), self._y(y, where)
        if len(xt) != len(yt):
            raise ShapeError(f"{where}: x has {len(xt)} samples but y has {len(yt)}")
        if not self.built:
            self.build(tuple(xt.shape[1:]))
        return DataLoader(
            TensorDataset(xt, yt), batch_size=batch_size or 32, shuffle=shuffle
        )

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: list[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
    ) -> _train.History:
        """Trains for ``epochs`` passes; returns a History whose ``.history`` is
        Keras's dict (``loss``, metrics, ``val_loss``, ``val_`` metrics)."""
        loader = self._loader(x, y, batch_size, shuffle, "fit")
        view, loss_fn, table = self._engine()
        assert self.optimizer is not None  # _engine() checked compile()
        opt = self.optimizer._bind(self.parameters())
        val_loader = None
        if validation_data is not None:
            if (
                not isinstance(validation_data, (tuple, list))
                or len(validation_data) < 2
            ):
                raise ArgumentError("fit: validation_data must be (x_val, y_val)")
            val_loader = self._loader(
                validation_data[0], validation_data[1], batch_size, False, "fit"
            )
            validation_split = 0.0
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if hasattr(cb, "set_model"):
                cb.set_model(self)
            else:
                cb.model = self
        history = _train.fit(
            view,
            loss_fn,
            opt,
            loader,
            epochs,
            val_loader=val_loader,
            metrics=table,
            verbose=verbose not in (0, False),
            validation_split=validation_split,
            callbacks=callbacks,
        )
        history.model = self
        self.history = history
        return history

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        return_dict: bool = False,
    ) -> Any:
        """``[loss, *metrics]`` (a float alone without metrics), or a dict."""
        loader = self._loader(x, y, batch_size, False, "evaluate")
        view, loss_fn, table = self._engine()
        res = _train.evaluate(view, loader, loss_fn, table)
        if return_dict:
            return res
        values = [res["loss"], *(res[name] for name in table)]
        return values[0] if len(values) == 1 else values

    def predict(
        self, x: Any, batch_size: int | None = None, verbose: Any = "auto"
    ) -> np.ndarray:
        """The model's outputs (probabilities after a sigmoid / softmax) as a
        numpy array, computed in inference mode."""
        xt = _x(x, "predict")
        n = len(xt)
        step = batch_size or 32
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                parts = [self._run(xt[i : i + step]).data for i in range(0, n, step)]
        finally:
            self.train(was_training)
        if not parts:
            raise ArgumentError("predict: x has no samples")
        return np.concatenate(parts)

    def __call__(self, x: Any, training: bool | None = None) -> Tensor:
        if training is None:
            return super().__call__(x)
        was = self.training
        self.train(bool(training))
        try:
            return super().__call__(x)
        finally:
            self.train(was)

    # -- weights --------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self._stack for w in layer.get_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        weights = list(weights)
        need = sum(len(layer._keras_weights()) for layer in self._stack)
        if len(weights) != need:
            raise ArgumentError(
                f"{self.name}.set_weights: expected {need} arrays, got {len(weights)}"
            )
        for layer in self._stack:
            k = len(layer._keras_weights())
            layer.set_weights(weights[:k])
            weights = weights[k:]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._stack)

    # Keras's summary(print_fn), not Module.summary(input): the Keras API wins.
    def summary(self, print_fn: Any = None) -> None:  # type: ignore[override]
        """Prints Keras's table: each layer's name, type, output shape and
        parameter count, then the totals."""
        if not self.built:
            raise ArgumentError(
                f"{self.name}.summary: this model has not yet been built. Build it "
                "by giving the first layer input_shape=..., by calling build(), or "
                "by calling fit() / the model on data"
            )
        out = print_fn or print
        width, cols = 65, (29, 55)
        rows = []
        trainable = nontrainable = 0
        for layer in self._stack:
            n = layer.count_params()
            train_n = sum(p.numel() for p in layer.parameters() if p.requires_grad)
            trainable += train_n
            nontrainable += n - train_n
            shape = str((None, *layer.output_spec)).replace("None,)", "None)")
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, str(n)))

        def line(a: str, b: str, c: str) -> str:
            # a name past its column still keeps one space before the next
            a = f" {a}".ljust(cols[0] - 1) + " "
            return a + b.ljust(cols[1] - cols[0] - 1) + " " + c

        out(f'Model: "{self.name}"')
        out("_" * width)
        out(line("Layer (type)", "Output Shape", "Param #"))
        out("=" * width)
        for a, b, c in rows:
            out(line(a, b, c).rstrip())
            out("")
        out("=" * width)
        out(f"Total params: {trainable + nontrainable:,}")
        out(f"Trainable params: {trainable:,}")
        out(f"Non-trainable params: {nontrainable:,}")
        out("_" * width)

    # -- saving -------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": None if self.input_spec is None else list(self.input_spec),
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self._stack
            ],
        }

    def _compile_config(self) -> dict[str, Any] | None:
        if self.loss is None or self.optimizer is None:
            return None
        loss = self.loss
        if type(loss).__name__ not in _losses.LOSSES:
            return None  # a custom loss function cannot be named in JSON
        metrics: list[str | dict[str, Any]] = []
        for m in self._metric_ids:
            if isinstance(m, str):
                metrics.append(m)
            elif type(m).__name__ in ("Precision", "Recall") or isinstance(
                m, _metrics.Metric
            ):
                metrics.append(
                    {"class_name": type(m).__name__, "config": m.get_config()}
                )
        return {
            "optimizer": {
                "class_name": type(self.optimizer).__name__,
                "config": self.optimizer.get_config(),
            },
            "loss": {"class_name": type(loss).__name__, "config": loss.get_config()},
            "metrics": metrics,
        }

    def save(self, filepath: str | os.PathLike[str]) -> None:
        """Writes the weights and the JSON config to one safetensors file."""
        if not self.built:
            raise ArgumentError(f"{self.name}.save: build or fit the model first")
        config = {
            "format": _FORMAT,
            "model": self.get_config(),
            "compile": self._compile_config(),
        }
        weights = {str(i): w for i, w in enumerate(self.get_weights())}
        save({"config": json.dumps(config), "weights": weights}, filepath)

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Writes the weights alone (safetensors, in ``get_weights`` order)."""
        save({str(i): w for i, w in enumerate(self.get_weights())}, filepath)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Reads weights written by :meth:`save_weights` or :meth:`save`."""
        obj = load(filepath)
        if isinstance(obj, dict) and "weights" in obj and "config" in obj:
            obj = obj["weights"]
        self.set_weights(_ordered(obj))


def _ordered(weights: dict[str, Any]) -> list[np.ndarray]:
    return [
        np.asarray(
            weights[str(i)].data
            if isinstance(weights[str(i)], Tensor)
            else weights[str(i)]
        )
        for i in range(len(weights))
    ]


def load_model(filepath: str | os.PathLike[str], compile: bool = True) -> Sequential:
    """Rebuilds a model written by ``Sequential.save``: its layers, weights and
    (with ``compile=True``) its compile settings. The optimizer's state is not
    saved; training resumes with a fresh one."""
    obj = load(filepath)
    if not isinstance(obj, dict) or "config" not in obj or "weights" not in obj:
        raise ArgumentError(
            f"load_model: {os.fspath(filepath)!r} was not written by "
            "minigrad.keras's model.save"
        )
    config = json.loads(obj["config"])
    if config.get("format") != _FORMAT:
        raise ArgumentError(f"load_model: unknown format {config.get('format')!r}")
    spec = config["model"]
    layers = []
    for entry in spec["layers"]:
        cls = _layers.LAYERS.get(entry["class_name"])
        if cls is None:
            raise ArgumentError(f"load_model: unknown layer {entry['class_name']!r}")
        cfg = dict(entry["config"])
        cfg.pop("name", None)  # fresh unique names avoid clashes in this session
        layers.append(cls(name=entry["config"].get("name"), **cfg))
    model = Sequential(layers, name=spec.get("name"))
    if not model.built:
        model.build(spec.get("input_shape"))
    model.set_weights(_ordered(obj["weights"]))
    comp = config.get("compile")
    if compile and comp:
        opt_cls = _optimizers.OPTIMIZERS[comp["optimizer"]["class_name"]]
        loss_cls = _losses.LOSSES[comp["loss"]["class_name"]]
        metrics: list[Any] = []
        for m in comp["metrics"]:
            if isinstance(m, str):
                metrics.append(m)
            else:
                metrics.append(getattr(_metrics, m["class_name"])(**m["config"]))
        model.compile(
            opt_cls(**comp["optimizer"]["config"]),
            loss_cls(**comp["loss"]["config"]),
            metrics,
        )
    return model
