"""``python -m minigrad demo``: the classic exercises, trained end to end.
Layer: top; imports nn, optim, data, metrics and train.

1. One neuron (a single-layer perceptron with a sigmoid) on the logic gates:
   AND, OR and NAND are learned; XOR is stuck at the BCE loss ln 2.
2. A two-layer network that does solve XOR.
3. One sigmoid neuron that predicts pass/fail from two exam scores.
4. An MLP on scikit-learn's 8x8 handwritten digits (>= 97% test accuracy).
5. With ``--cnn`` (``run(cnn=True)``): a small convolutional network on the
   same digits (>= 98.5% test accuracy), with its training time.

Each part prints its figures; ``run`` returns 0 when every claim held (1 if
one did not). ``run(quick=True)`` trains for a few epochs only (for the tests).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import metrics, nn, optim
from minigrad.data import DataLoader, TensorDataset, datasets, random_split
from minigrad.train import evaluate, fit, predict_labels

__all__ = [
    "digits",
    "digits_cnn",
    "exam_scores",
    "format_confusion",
    "logic_gates",
    "run",
    "xor_mlp",
]

SEED = 0


def _header(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)))


def _outputs(model: Any, x: mg.Tensor) -> np.ndarray:
    with mg.no_grad():
        return model(x).data.ravel()


def format_confusion(cm: np.ndarray, labels: list[Any]) -> str:
    """A confusion matrix as text: a row per true class, a column per prediction."""
    width = max(4, len(str(cm.max())) + 1, *(len(str(c)) + 1 for c in labels))
    pad = 9
    lines = [
        " " * pad + "predicted",
        " " * pad + "".join(f"{c!s:>{width}}" for c in labels),
    ]
    for c, row in zip(labels, cm):
        lines.append(f"true {c!s:<{pad - 5}}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def _report(
    y_true: Any, y_pred: np.ndarray, labels: list[Any], average: metrics.Average
) -> None:
    acc = metrics.accuracy(y_true, y_pred)
    prec = metrics.precision(y_true, y_pred, average=average)
    rec = metrics.recall(y_true, y_pred, average=average)
    f1 = metrics.f1_score(y_true, y_pred, average=average)
    kind = "" if average == "binary" else f" ({average} average)"
    print(
        f"accuracy {acc:.1%}   precision {prec:.1%}   recall {rec:.1%}   "
        f"F1 {f1:.1%}{kind}"
    )
    print(
        format_confusion(
            metrics.confusion_matrix(y_true, y_pred, labels=labels), labels
        )
    )


# -- 1. one neuron on the logic gates ---------------------------------------------
def logic_gates(quick: bool = False) -> bool:
    """Trains Linear(2, 1) + Sigmoid on each gate; returns whether the classic
    result came out (AND, OR, NAND at 100%, XOR's loss at ln 2)."""
    epochs = 200 if quick else 1000
    _header("1. One neuron (perceptron) on the logic gates")
    print(
        f"model: sigmoid(w . x + b), BCE loss, SGD lr 1.0, full batch, {epochs} epochs"
    )
    print("gate   loss     accuracy   outputs for inputs 00 01 10 11")
    ok = True
    for gate in ("AND", "OR", "NAND", "XOR"):
        mg.manual_seed(SEED)
        ds = datasets.logic_gate(gate)
        x, y = ds.tensors
        model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
        opt = optim.SGD(model.parameters(), lr=1.0)
        loader = DataLoader(ds, batch_size=4)
        h = fit(model, nn.BCELoss(), opt, loader, epochs, verbose=False)
        out = _outputs(model, x)
        acc = metrics.accuracy(y, predict_labels(out))
        loss = h["loss"][-1]
        note = ""
        if gate == "XOR":
            note = f"  <- stuck at ln 2 = {math.log(2):.4f}"
            ok &= abs(loss - math.log(2)) < 1e-3
        else:
            ok &= acc == 1.0
        outs = " ".join(f"{v:.2f}" for v in out)
        print(f"{gate:<6} {loss:.4f}   {acc:>6.0%}     {outs}{note}")
    print(
        "XOR is not linearly separable: the best one neuron can do is w = 0, "
        "output 0.5 everywhere, loss ln 2."
    )
    return ok


# -- 2. a hidden layer solves XOR ---------------------------------------------------
def xor_mlp(quick: bool = False) -> bool:
    """Trains a 2-4-1 tanh/sigmoid network on XOR; returns whether it solved it."""
    epochs = 300 if quick else 1000
    _header("2. A hidden layer solves XOR")
    mg.manual_seed(SEED)
    ds = datasets.logic_gate("XOR")
    x = ds.tensors[0]
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    opt = optim.Adam(model.parameters(), lr=0.05)
    h = fit(
        model, nn.BCELoss(), opt, DataLoader(ds, batch_size=4), epochs, verbose=False
    )
    out = _outputs(model, x)
    pred = predict_labels(out)
    print(f"model: {_arch(model)}, BCE loss, Adam lr 0.05, {epochs} epochs")
    print(f"loss {h['loss'][0]:.4f} -> {h['loss'][-1]:.4f}")
    print(f"outputs for 00 01 10 11: {' '.join(f'{v:.3f}' for v in out)}")
    print(f"XOR predictions {pred.tolist()} (target [0, 1, 1, 0])")
    return pred.tolist() == [0, 1, 1, 0] and h["loss"][-1] < 0.05


def _arch(model: nn.Sequential) -> str:
    parts = []
    for m in model:
        if isinstance(m, nn.Linear):
            parts.append(f"Linear({m.in_features}, {m.out_features})")
        else:
            parts.append(type(m).__name__)
    return " -> ".join(parts)


# -- 3. pass/fail from two exam scores ----------------------------------------------
def exam_scores(quick: bool = False) -> bool:
    """One sigmoid neuron on the synthetic exam scores; returns whether its test
    accuracy is at least 85%."""
    epochs = 100 if quick else 1000
    _header("3. One sigmoid neuron: pass/fail from two exam scores")
    mg.manual_seed(SEED)
    ds = datasets.exam_scores(200, generator=SEED)
    train, test = random_split(ds, [0.75, 0.25])
    x_all, y_all = ds.tensors
    x_tr = x_all.data[train.indices]
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)

    def standardized(part: Any) -> TensorDataset:
        idx = part.indices
        return TensorDataset((x_all.data[idx] - mean) / std, y_all.data[idx])

    tr, te = standardized(train), standardized(test)
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.5)
    fit(
        model,
        nn.BCELoss(),
        opt,
        DataLoader(tr, batch_size=len(tr)),
        epochs,
        verbose=False,
    )
    res = evaluate(model, DataLoader(te, batch_size=len(te)), nn.BCELoss())
    print(
        f"{len(tr)} students to train, {len(te)} to test; SGD lr 0.5, {epochs} epochs"
    )
    print("scores standardized with the training set's mean and std")
    # Undo the standardization: w . (s - mean) / std + b = 0 in raw scores.
    w = model[0].weight.data.ravel().astype(np.float64) / std
    b = float(model[0].bias.data[0]) - float(w @ mean)
    print(
        f"learned boundary: {w[0]:.3f} * exam1 + {w[1]:.3f} * exam2 = {-b:.2f}, "
        f"i.e. exam1 + {w[1] / w[0]:.2f} * exam2 = {-b / w[0]:.1f}"
    )
    print("(the data were generated around exam1 + exam2 = 130)")
    with mg.no_grad():
        s = mg.tensor([[(45.0 - mean[0]) / std[0], (85.0 - mean[1]) / std[1]]])
        p = model(s).item()
    print(f"a student with 45 and 85 passes with probability {p:.2f}")
    x_te, y_te = te.tensors
    pred = predict_labels(_outputs(model, x_te))
    print(f"test set: loss {res['loss']:.4f}")
    _report(y_te, pred, [0, 1], "binary")
    return metrics.accuracy(y_te, pred) >= 0.85


# -- 4. handwritten digits ----------------------------------------------------------
def digits(quick: bool = False) -> bool | None:
    """An MLP on the 8x8 digits; returns whether test accuracy reached 97%, or
    None when scikit-learn is missing (the part is skipped with a message)."""
    epochs = 3 if quick else 30
    _header("4. An MLP on the 8x8 handwritten digits")
    try:
        ds = datasets.load_digits()
    except ImportError as e:
        print(f"skipped: {e}")
        return None
    mg.manual_seed(SEED)
    train, test = random_split(ds, [0.8, 0.2])
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    print(
        f"{len(ds)} images (8x8, 10 classes): {len(train)} to train, {len(test)} to "
        f"test"
    )
    print(
        f"model: {_arch(model)}, cross-entropy, Adam lr 1e-3, batch 32, {epochs} epochs"
    )
    t0 = time.perf_counter()
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        DataLoader(train, batch_size=32, shuffle=True),
        epochs,
        metrics=["accuracy"],
        verbose=False,
    )
    print(
        f"trained in {time.perf_counter() - t0:.1f} s: loss {h['loss'][0]:.3f} -> "
        f"{h['loss'][-1]:.3f}, train accuracy {h['accuracy'][-1]:.1%}"
    )
    x_te, y_te = _stack(test)
    pred = predict_labels(_outputs_2d(model, x_te))
    print("test set:")
    _report(y_te, pred, list(range(10)), "macro")
    return metrics.accuracy(y_te, pred) >= 0.97


# -- 5. a CNN on the digits (--cnn) ------------------------------------------------
def cnn_model() -> nn.Module:
    """examples/digits_cnn.py's network: two 3x3 conv blocks (conv, batch
    norm, ReLU, 2x2 max pooling) and a linear classifier, on (N, 8, 8)."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 8)),  # (N, 8, 8) -> (N, 1, 8, 8)
        nn.Conv2d(1, 32, 3, padding="same"),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 4x4
        nn.Conv2d(32, 64, 3, padding="same"),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 2x2
        nn.Flatten(),
        nn.Linear(64 * 2 * 2, 10),
    )


def digits_cnn(quick: bool = False) -> bool | None:
    """The CNN on the 8x8 digits; returns whether test accuracy reached 98.5%,
    or None when scikit-learn is missing."""
    epochs = 1 if quick else 15
    _header("5. A convolutional network on the 8x8 handwritten digits")
    try:
        ds = datasets.load_digits(flatten=False)
    except ImportError as e:
        print(f"skipped: {e}")
        return None
    mg.manual_seed(SEED)
    train, test = random_split(ds, [0.8, 0.2])
    model = cnn_model()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    print(
        "model: Conv 3x3 (32) - BatchNorm - ReLU - MaxPool 2 - Conv 3x3 (64) - "
        "BatchNorm - ReLU - MaxPool 2 - Linear 10"
    )
    print(f"cross-entropy, Adam lr 3e-3, batch 32, {epochs} epochs")
    t0 = time.perf_counter()
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        DataLoader(train, batch_size=32, shuffle=True),
        epochs,
        metrics=["accuracy"],
        verbose=False,
    )
    seconds = time.perf_counter() - t0
    x_te, y_te = _stack(test)
    pred = predict_labels(_outputs_2d(model, x_te))
    acc = metrics.accuracy(y_te, pred)
    print(
        f"trained in {seconds:.1f} s ({mg.get_num_threads()} threads): loss "
        f"{h['loss'][0]:.3f} -> {h['loss'][-1]:.3f}"
    )
    print(f"test accuracy {acc:.1%} on {len(test)} images")
    return acc >= 0.985


def _stack(part: Any) -> tuple[mg.Tensor, mg.Tensor]:
    return next(iter(DataLoader(part, batch_size=len(part))))


def _outputs_2d(model: Any, x: mg.Tensor) -> np.ndarray:
    model.eval()
    with mg.no_grad():
        return model(x).data


def run(quick: bool = False, cnn: bool = False) -> int:
    """Runs the four parts (five with ``cnn``); returns 0 if every claim held,
    else 1.

    Parameters
    ----------
    quick : bool
        Few epochs per part, for the smoke test (the claims are then not
        checked and the result is 0).
    cnn : bool
        Also train the convolutional network on the digits (part 5).
    """
    t0 = time.perf_counter()
    results = {
        "logic gates": logic_gates(quick),
        "XOR network": xor_mlp(quick),
        "exam scores": exam_scores(quick),
        "digits": digits(quick),
    }
    if cnn:
        results["digits CNN"] = digits_cnn(quick)
    elapsed = time.perf_counter() - t0
    _header("Summary")
    for name, ok in results.items():
        verdict = {True: "as expected", False: "NOT as expected", None: "skipped"}
        print(f"{name:<12} {verdict[ok]}")
    print(f"total time {elapsed:.1f} s ({mg.get_num_threads()} threads)")
    failed = [name for name, ok in results.items() if ok is False]
    return 0 if quick or not failed else 1
