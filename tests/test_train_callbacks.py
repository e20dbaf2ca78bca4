"""train.fit's Keras-style additions: validation_split, callbacks, and the
dict-like History (the engine minigrad.keras runs on)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.train import Callback, fit


def _setup(n=40):
    mg.manual_seed(0)
    x = mg.tensor(np.arange(n, dtype=np.float32).reshape(n, 1) / n)
    ds = TensorDataset(x, 2 * x)
    model = nn.Linear(1, 1)
    return ds, model, optim.SGD(model.parameters(), lr=0.1)


class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.calls = []
        self.stop_after = stop_after

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("end", epoch, sorted(logs)))
        if self.stop_after is not None and epoch == self.stop_after:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_callbacks_are_called_in_keras_order_and_can_stop():
    ds, model, opt = _setup()
    rec = Recorder(stop_after=1)
    h = fit(
        model,
        nn.MSELoss(),
        opt,
        DataLoader(ds, batch_size=8),
        epochs=5,
        callbacks=[rec],
        verbose=False,
    )
    assert h.epochs == 2
    assert rec.model is model
    assert rec.optimizer is opt
    assert rec.history is h
    assert rec.calls == [
        ("train_begin",),
        ("begin", 0),
        ("end", 0, ["loss"]),
        ("begin", 1),
        ("end", 1, ["loss"]),
        ("train_end",),
    ]


def test_validation_split_holds_out_the_last_samples():
    ds, model, opt = _setup(40)
    seen = []

    class Sizes(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs)

    loader = DataLoader(ds, batch_size=8, shuffle=True)
    h = fit(
        model,
        nn.MSELoss(),
        opt,
        loader,
        epochs=2,
        validation_split=0.25,
        callbacks=[Sizes()],
        verbose=False,
    )
    assert set(h.history) == {"loss", "val_loss"}
    assert seen[-1]["val_loss"] == h.history["val_loss"][-1]
    # the held-out part is the last 10 samples (x = 30/40 .. 39/40)
    x, y = ds.tensors
    with mg.no_grad():
        want = float(((model(x[30:]) - y[30:]) ** 2).mean().item())
    assert h["val_loss"][-1] == pytest.approx(want, rel=1e-5)


def test_validation_split_errors():
    ds, model, opt = _setup(4)
    loader = DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="validation_split"):
        fit(model, nn.MSELoss(), opt, loader, 1, validation_split=1.5, verbose=False)
    with pytest.raises(ValueError, match="not both"):
        fit(
            model,
            nn.MSELoss(),
            opt,
            loader,
            1,
            val_loader=loader,
            validation_split=0.5,
            verbose=False,
        )
    with pytest.raises(ValueError, match="DataLoader"):
        fit(
            model,
            nn.MSELoss(),
            opt,
            [ds.tensors],
            1,
            validation_split=0.5,
            verbose=False,
        )
    with pytest.raises(ValueError, match="at least one"):
        fit(model, nn.MSELoss(), opt, loader, 1, validation_split=0.1, verbose=False)


def test_history_is_keras_like():
    ds, model, opt = _setup()
    h = fit(
        model,
        nn.MSELoss(),
        opt,
        DataLoader(ds, batch_size=8),
        epochs=3,
        val_loader=DataLoader(ds, batch_size=40),
        verbose=False,
    )
    assert h.history == {"loss": h.train["loss"], "val_loss": h.val["loss"]}
    assert h.epoch == [0, 1, 2]
    assert "val_loss" in h
    assert h.keys() == ["loss", "val_loss"]
    assert h.last() == {"loss": h["loss"][-1], "val_loss": h["val_loss"][-1]}
