"""Beginner PyTorch programs (tests/torch_programs/*.py) run unchanged on
minigrad after changing only their imports, and give PyTorch's results.

Each program runs twice: with PyTorch, then with its imports rewritten to
minigrad. Initial weights are copied across (every ``nn.Linear`` PyTorch
creates hands its weights, in creation order, to the matching minigrad
``nn.Linear``), so full-batch programs agree to float tolerance; a program that
shuffles batches (PyTorch and minigrad draw different permutations) is compared
by its accuracy instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import minigrad

PROGRAMS = Path(__file__).parent / "torch_programs"

IMPORTS = {
    "import torch": "import minigrad as torch",
    "import torch.nn as nn": "import minigrad.nn as nn",
    "import torch.nn.functional as F": "import minigrad.nn.functional as F",
    "import torch.optim as optim": "import minigrad.optim as optim",
}
FROM_DATA = "from torch.utils.data import"


def to_minigrad(text: str) -> str:
    """The program with only its import lines changed."""
    out = []
    for line in text.splitlines():
        if line in IMPORTS:
            line = IMPORTS[line]
        elif line.startswith(FROM_DATA):
            line = "from minigrad.utils.data import" + line[len(FROM_DATA) :]
        elif re.match(r"\s*(import|from)\s+torch\b", line):
            raise AssertionError(f"no minigrad counterpart for the import {line!r}")
        out.append(line)
    return "\n".join(out) + "\n"


def test_to_minigrad_changes_only_imports():
    text = (PROGRAMS / "mlp_dataloader.py").read_text()
    new = to_minigrad(text)
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines()) if a != b]
    assert len(changed) == 5
    assert all(a.split()[0] in ("import", "from") for a, _ in changed)


def _run(text: str, name: str, path: Path, monkeypatch) -> dict:
    monkeypatch.chdir(path)
    ns: dict = {"__name__": "__main__"}
    exec(compile(text, str(PROGRAMS / f"{name}.py"), "exec"), ns)
    return ns


def _as_array(v):
    if hasattr(v, "detach"):
        v = v.detach()
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)


def run_both(name: str, tmp_path: Path, monkeypatch) -> tuple[dict, dict]:
    torch = pytest.importorskip("torch")
    text = (PROGRAMS / f"{name}.py").read_text()
    inits: list[tuple[np.ndarray, np.ndarray | None]] = []

    torch_init = torch.nn.Linear.__init__

    def record(self, *args, **kwargs):
        torch_init(self, *args, **kwargs)
        b = None if self.bias is None else self.bias.detach().numpy().copy()
        inits.append((self.weight.detach().numpy().copy(), b))

    with monkeypatch.context() as m:
        m.setattr(torch.nn.Linear, "__init__", record)
        (tmp_path / "torch").mkdir()
        theirs = _run(text, name, tmp_path / "torch", m)

    mg_init = minigrad.nn.Linear.__init__
    queue = list(inits)

    def replay(self, *args, **kwargs):
        mg_init(self, *args, **kwargs)
        w, b = queue.pop(0)
        self.weight.data[...] = w
        if b is not None:
            self.bias.data[...] = b

    with monkeypatch.context() as m:
        m.setattr(minigrad.nn.Linear, "__init__", replay)
        (tmp_path / "minigrad").mkdir()
        ours = _run(to_minigrad(text), name, tmp_path / "minigrad", m)
    assert not queue, "minigrad created fewer nn.Linear layers than PyTorch"
    return theirs, ours


def assert_same(theirs: dict, ours: dict, names: list[str], rtol=1e-4, atol=1e-5):
    for n in names:
        np.testing.assert_allclose(
            _as_array(ours[n]), _as_array(theirs[n]), rtol=rtol, atol=atol, err_msg=n
        )


def test_logistic_regression(tmp_path, monkeypatch):
    theirs, ours = run_both("logistic_regression", tmp_path, monkeypatch)
    assert_same(theirs, ours, ["losses", "probabilities", "accuracy"])
    assert ours["losses"][-1] < ours["losses"][0]
    assert isinstance(ours["probabilities"], np.ndarray)
    assert ours["accuracy"] >= 0.85


def test_xor(tmp_path, monkeypatch):
    theirs, ours = run_both("xor", tmp_path, monkeypatch)
    assert_same(theirs, ours, ["losses", "outputs"])
    assert ours["predictions"] == theirs["predictions"] == [0.0, 1.0, 1.0, 0.0]
    assert ours["n_params"] == theirs["n_params"] == 17
    assert ours["names"] == theirs["names"]


def test_mlp_classifier_with_a_dataloader(tmp_path, monkeypatch):
    theirs, ours = run_both("mlp_dataloader", tmp_path, monkeypatch)
    # drop_last: 180 samples in batches of 16 -> 11 full batches
    assert ours["n_batches"] == theirs["n_batches"] == 11
    # shuffled batches differ between the two libraries: compare outcomes
    assert ours["accuracy"] >= 0.95
    assert theirs["accuracy"] >= 0.95
    assert abs(ours["accuracy"] - theirs["accuracy"]) <= 0.03
    assert ours["epoch_losses"][-1] < 0.3 * ours["epoch_losses"][0]


def test_save_and_load(tmp_path, monkeypatch):
    theirs, ours = run_both("save_load", tmp_path, monkeypatch)
    assert ours["same"]
    assert theirs["same"]
    assert ours["shares_memory"]
    assert theirs["shares_memory"]
    assert_same(theirs, ours, ["final_loss", "after"], rtol=1e-3, atol=1e-4)
    assert (tmp_path / "minigrad" / "model.pt").is_file()


def test_regression_with_a_scheduler(tmp_path, monkeypatch):
    theirs, ours = run_both("regression_scheduler", tmp_path, monkeypatch)
    assert ours["lrs"] == pytest.approx(theirs["lrs"])
    assert ours["lrs"][0] == 0.2
    assert ours["lrs"][-1] == pytest.approx(0.05)
    assert ours["last_lr"] == pytest.approx(theirs["last_lr"])
    assert_same(theirs, ours, ["losses", "weight", "bias", "test_pred"])
    assert ours["grad_off"] is False
    assert ours["weight"] == pytest.approx(3.0, abs=0.1)
