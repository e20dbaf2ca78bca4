"""fit / evaluate / History on tiny problems, and the PNG plots."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, datasets
from minigrad.train import History, evaluate, fit, predict_labels

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _moons_setup(seed=0):
    mg.manual_seed(seed)
    ds = datasets.make_moons(200, noise=0.1, generator=seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Sigmoid())
    opt = optim.Adam(model.parameters(), lr=0.05)
    return ds, model, opt


def test_tiny_mlp_gets_below_loss_threshold():
    ds, model, opt = _moons_setup()
    loader = DataLoader(ds, batch_size=32, shuffle=True)
    h = fit(
        model, nn.BCELoss(), opt, loader, epochs=40, metrics=["accuracy"], verbose=False
    )
    assert h.epochs == 40
    assert h["loss"][0] > 0.3
    assert h["loss"][-1] < 0.05
    assert h["accuracy"][-1] >= 0.97


def test_fit_is_deterministic_under_manual_seed():
    def run():
        ds, model, opt = _moons_setup(3)
        loader = DataLoader(ds, batch_size=16, shuffle=True)
        return fit(model, nn.BCELoss(), opt, loader, 3, verbose=False)["loss"]

    assert run() == run()


def test_history_records_train_val_and_lr():
    ds, model, opt = _moons_setup()
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = fit(
        model,
        nn.BCELoss(),
        opt,
        DataLoader(ds, batch_size=50),
        epochs=5,
        val_loader=DataLoader(ds, batch_size=64),
        metrics=["accuracy", "precision", "recall", "f1"],
        scheduler=sched,
        verbose=False,
    )
    assert isinstance(h, History)
    assert set(h.train) == {"loss", "accuracy", "precision", "recall", "f1"}
    assert set(h.val) == set(h.train)
    assert all(len(v) == 5 for v in [*h.train.values(), *h.val.values()])
    assert h.lr == pytest.approx([0.05, 0.05, 0.025, 0.025, 0.0125])
    d = h.as_dict()
    assert d["val_loss"] == h["val_loss"] == h.val["loss"]
    # the validation figures are those evaluate() gives for the final weights
    final = evaluate(model, DataLoader(ds, batch_size=64), nn.BCELoss(), ["accuracy"])
    assert final["loss"] == pytest.approx(h.val["loss"][-1], rel=1e-6)
    assert final["accuracy"] == h.val["accuracy"][-1]


def test_evaluate_matches_a_manual_pass_and_restores_mode():
    ds, model, _ = _moons_setup()
    x, y = ds.tensors
    model.train()
    res = evaluate(model, DataLoader(ds, batch_size=30), nn.BCELoss(), ["accuracy"])
    assert model.training
    with mg.no_grad():
        out = model(x)
        loss = nn.BCELoss()(out, y).item()
    assert res["loss"] == pytest.approx(loss, rel=1e-5)
    assert res["accuracy"] == pytest.approx(
        float(((out.data > 0.5) == (y.data > 0.5)).mean())
    )
    model.eval()
    evaluate(model, DataLoader(ds, batch_size=30), nn.BCELoss())
    assert not model.training


def test_evaluate_multiclass_and_callable_metric():
    mg.manual_seed(0)
    ds = datasets.make_spirals(90, n_classes=3, generator=0)
    model = nn.Sequential(nn.Linear(2, 3))

    def top1(out, target):
        return float((out.data.argmax(1) == target.data).mean())

    res = evaluate(
        model, DataLoader(ds, 40), nn.CrossEntropyLoss(), {"acc": "accuracy", "t": top1}
    )
    assert res["acc"] == pytest.approx(res["t"])
    assert set(res) == {"loss", "acc", "t"}


def test_predict_labels():
    np.testing.assert_array_equal(
        predict_labels(mg.tensor([[0.2, 0.9], [3.0, -1.0]])), [1, 0]
    )
    np.testing.assert_array_equal(predict_labels(np.array([[0.4], [0.6]])), [0, 1])
    logits = np.array([[-0.1], [0.1], [0.4]])
    np.testing.assert_array_equal(
        predict_labels(logits, nn.BCEWithLogitsLoss()), [0, 1, 1]
    )
    np.testing.assert_array_equal(predict_labels(logits, nn.BCELoss()), [0, 0, 0])
    with pytest.raises(ValueError, match=r"\(N, C\), \(N, 1\) or \(N,\)"):
        predict_labels(np.zeros((2, 2, 2)))


def test_fit_validation():
    ds, model, opt = _moons_setup()
    loader = DataLoader(ds, batch_size=50)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, nn.BCELoss(), opt, loader, 0, verbose=False)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        fit(model, nn.BCELoss(), opt, loader, 1, metrics=["auc"], verbose=False)
    with pytest.raises(ValueError, match="pair"):
        fit(model, nn.BCELoss(), opt, [(ds.tensors[0],)], 1, verbose=False)
    with pytest.raises(ValueError, match="yielded no samples"):
        fit(model, nn.BCELoss(), opt, [], 1, verbose=False)


def test_progress_bar_on_stderr(capsys):
    pytest.importorskip("tqdm")
    ds, model, opt = _moons_setup()
    fit(model, nn.BCELoss(), opt, DataLoader(ds, batch_size=100), 3)
    err = capsys.readouterr().err
    assert "epoch 3/3" in err
    assert "loss" in err


def test_progress_without_tqdm_prints_lines(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("No module named 'tqdm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    ds, model, opt = _moons_setup()
    fit(model, nn.BCELoss(), opt, DataLoader(ds, batch_size=100), 20)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("epoch 20/20  loss ")


# -- plots ----------------------------------------------------------------------------
def test_plot_history_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from minigrad.plot import plot_history

    ds, model, opt = _moons_setup()
    h = fit(
        model,
        nn.BCELoss(),
        opt,
        DataLoader(ds, 50),
        3,
        val_loader=DataLoader(ds, 100),
        metrics=["accuracy"],
        verbose=False,
    )
    path = plot_history(h, tmp_path / "loss.png")
    assert Path(path).read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="no epochs"):
        plot_history(History(), tmp_path / "empty.png")


def test_plot_decision_boundary_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from minigrad.plot import plot_decision_boundary

    ds, model, _ = _moons_setup()
    x, y = ds.tensors
    model.train()
    path = plot_decision_boundary(model, x, y, tmp_path / "b.png", resolution=30)
    assert Path(path).read_bytes()[:8] == PNG_MAGIC
    assert model.training  # mode restored
    spiral = datasets.make_spirals(60, generator=0)
    multi = nn.Linear(2, 3)
    path = plot_decision_boundary(
        multi, *spiral.tensors, tmp_path / "m.png", resolution=20
    )
    assert Path(path).read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot_decision_boundary(multi, np.zeros((4, 3)), np.zeros(4), tmp_path / "x.png")


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    from minigrad.plot import plot_history

    real_import = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    h = History(train={"loss": [1.0]})
    with pytest.raises(ImportError, match=r"minigrad\[plot\]"):
        plot_history(h, tmp_path / "x.png")


def test_tensor_dataset_training_loop_by_hand_matches_fit():
    """fit does exactly the loop a user writes by hand."""

    def setup():
        mg.manual_seed(1)
        model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
        return model, optim.SGD(model.parameters(), lr=0.5, momentum=0.9)

    ds = TensorDataset(*datasets.logic_gate("XOR").tensors)
    model, opt = setup()
    fit(model, nn.BCELoss(), opt, DataLoader(ds, batch_size=2), 5, verbose=False)
    model2, opt2 = setup()
    loss_fn = nn.BCELoss()
    for _ in range(5):
        for xb, yb in DataLoader(ds, batch_size=2):
            opt2.zero_grad()
            loss_fn(model2(xb), yb).backward()
            opt2.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
