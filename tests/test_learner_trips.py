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
