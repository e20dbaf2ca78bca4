"""Small things a learner trips on (issue 15, section 4): a Module given to an
optimizer, a float64 / integer batch given to a float32 Linear, the digits
loading time, and what ``python -m minigrad info`` prints."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.optim as optim
from minigrad.__main__ import _INFO_HELP, main
from minigrad.data import datasets
from minigrad.dtypes import DTypeError


@pytest.mark.parametrize("opt", [optim.SGD, optim.Adam, optim.RMSprop])
def test_optimizer_given_a_module_says_pass_parameters(opt) -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(TypeError, match=r"model\.parameters\(\)") as e:
        opt(model, lr=0.1)
    assert "Sequential" in str(e.value)
    assert opt.__name__ in str(e.value)


@pytest.mark.parametrize(
    ("x", "got", "fix"),
    [
        (
            np.ones((3, 2), np.float64),
            "Double and Float",
            r"x\.float\(\).*model\.double\(\)",
        ),
        (np.ones((3, 2), np.int64), "Long and Float", r"x\.float\(\)"),
    ],
)
def test_linear_refuses_another_dtype_like_pytorch(x, got, fix) -> None:
    layer = nn.Linear(2, 1)
    with pytest.raises(DTypeError, match=fix) as e:
        layer(mg.tensor(x))
    msg = str(e.value)
    assert f"mat1 and mat2 must have the same dtype, but got {got}" in msg
    assert isinstance(e.value, TypeError)
    assert isinstance(e.value, RuntimeError)
    # Inside a Sequential (the fused Linear + activation path) too.
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid())
    with pytest.raises(DTypeError, match="same dtype"):
        model(mg.tensor(x))
    # The fixes the message names work.
    assert layer(mg.tensor(x).float()).dtype == np.float32
    if x.dtype == np.float64:
        assert layer.double()(mg.tensor(x)).dtype == np.float64


def test_load_digits_reads_the_file_without_importing_sklearn() -> None:
    pytest.importorskip("sklearn")
    code = (
        "import sys\n"
        "from minigrad.data import datasets\n"
        "x, y = datasets.load_digits().tensors\n"
        "print(x.shape, 'sklearn' in sys.modules, 'scipy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["(1797,", "64)", "False", "False"]


def test_load_digits_same_arrays_as_sklearn() -> None:
    sk = pytest.importorskip("sklearn.datasets")
    bunch = sk.load_digits()
    x, y = datasets.load_digits().tensors
    np.testing.assert_array_equal(x.numpy(), (bunch.data / 16.0).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), bunch.target)
    # Fresh arrays each call: changing one does not change the next.
    x.data[0, 0] = 5.0
    assert datasets.load_digits().tensors[0].data[0, 0] == bunch.data[0, 0] / 16.0


def test_parse_digits_rejects_other_layouts() -> None:
    assert datasets._parse_digits(b"1,2\n3,4\n").tolist() == [[1, 2], [3, 4]]
    assert datasets._parse_digits(b"1.5,2\n") is None
    assert datasets._parse_digits(b"100,2\n") is None
    assert datasets._parse_digits(b"1,2\n3\n") is None
    assert datasets._parse_digits(b"1,2") is None


def test_info_explains_each_field(capsys) -> None:
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("minigrad ")
    fields = mg.backend_info()
    assert len(lines) == 1 + len(fields)
    for line, key in zip(lines[1:], fields):
        assert line.startswith(f"{key}: ")
        assert line.endswith(f"# {_INFO_HELP[key]}")


# The plots are drawn in a fresh process: after
# tests/test_kernel_special_values.py the x87 state of the test process is
# corrupt (np.longdouble(1) + 1 is nan), and matplotlib's tick locator then
# fails on NaN limits.
_CAPTURE = """
import json
import numpy as np
import minigrad as mg
from minigrad import nn, plot
from minigrad.train import History

figs = []
plot._save = lambda fig, path: figs.append(fig) or path
"""


def _draw(code: str) -> list:
    """Runs plotting ``code`` after _CAPTURE in a fresh process; ``code``
    prints one JSON value, returned parsed."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", _CAPTURE + code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_plot_history_ticks_whole_epochs() -> None:
    pytest.importorskip("matplotlib")
    ticks = _draw(
        """
h = History(
    train={"loss": [1.0, 0.5, 0.3], "accuracy": [0.5, 0.6, 0.7]},
    val={"loss": [1.1, 0.6, 0.4]},
)
plot.plot_history(h, "x.png")
(fig,) = figs
fig.canvas.draw()
print(json.dumps([[float(t) for t in ax.get_xticks()] for ax in fig.axes]))
"""
    )
    assert len(ticks) == 2  # the loss and the metrics axes
    for axis in ticks:
        assert axis
        assert all(t.is_integer() for t in axis), axis


@pytest.mark.parametrize("n_classes", [2, 3])
def test_decision_boundary_classes_have_own_colour_and_marker(n_classes) -> None:
    pytest.importorskip("matplotlib")
    points = _draw(
        f"""
rng = np.random.default_rng(0)
x = rng.normal(size=(60, 2)).astype(np.float32)
y = np.arange(60) % {n_classes}
model = nn.Linear(2, {1 if n_classes == 2 else n_classes})
plot.plot_decision_boundary(model, x, y, "b.png", resolution=10)
(fig,) = figs
fig.canvas.draw()
ax = fig.axes[0]
assert ax.get_legend() is not None
print(json.dumps([
    [c.get_label(), np.round(c.get_facecolor()[0], 3).tolist(),
     c.get_paths()[0].vertices.round(3).tolist()]
    for c in ax.collections if c.get_label().startswith("class ")
]))
"""
    )
    assert [p[0] for p in points] == [f"class {k}" for k in range(n_classes)]
    assert len({tuple(p[1]) for p in points}) == n_classes
    assert len({repr(p[2]) for p in points}) == n_classes


def _run_example(name: str, *args: str) -> str:
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, str(root / "examples" / name), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=root,
    ).stdout


def test_digits_example_validates_on_training_images() -> None:
    pytest.importorskip("sklearn")
    out = _run_example("digits_mlp.py", "--epochs", "1")
    # 80% of the 1797 images train (a tenth of them validate), 20% test.
    assert "1295 images to train, 143 to validate, 359 to test" in out
    assert "test set:" in out


def test_exam_scores_example_reports_test_accuracy() -> None:
    out = _run_example("exam_scores.py")
    assert "150 students to train, 50 to test" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("test accuracy"))
    assert float(line.split()[-1].rstrip("%")) >= 85.0
