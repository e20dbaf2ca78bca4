"""examples/mnist_lenet.py on tiny IDX files written here: its training
function runs a couple of steps and evaluates, its command line reports
missing files clearly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from minigrad.data.idx import write_idx

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "mnist_lenet.py"


@pytest.fixture(scope="module")
def lenet():
    spec = importlib.util.spec_from_file_location("mnist_lenet", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_mnist(root: Path, n_train: int = 40, n_test: int = 12) -> None:
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels)


def test_train_runs_steps_and_evaluates(lenet, tmp_path):
    _write_mnist(tmp_path)
    logs = []
    r = lenet.train(tmp_path, epochs=3, batch_size=16, max_steps=2, log=logs.append)
    assert r["steps"] == 2
    assert np.isfinite(r["train_loss"])
    assert np.isfinite(r["test_loss"])
    assert 0.0 <= r["accuracy"] <= 1.0
    assert logs == [f"epoch 1: loss {r['train_loss']:.4f} (2 steps)"]


def test_lenet5_shapes_and_parameter_count(lenet):
    import minigrad as mg

    model = lenet.lenet5()
    assert model(mg.zeros(2, 1, 28, 28)).shape == (2, 10)
    # PyTorch's LeNet-5 with these layers has 61706 parameters.
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_main_trains_from_env_and_reports(lenet, tmp_path, monkeypatch, capsys):
    _write_mnist(tmp_path, n_train=16, n_test=8)
    monkeypatch.setenv(lenet.ENV, str(tmp_path))
    assert lenet.main(["--epochs", "1", "--batch-size", "8"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_main_explains_missing_files(lenet, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(lenet.ENV, raising=False)
    assert lenet.main([]) == 2
    assert "MINIGRAD_MNIST" in capsys.readouterr().err
    assert lenet.main([str(tmp_path)]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err
