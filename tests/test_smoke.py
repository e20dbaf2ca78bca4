"""End-to-end smoke tests: the build, one compiled kernel, backward, the demo."""

import numpy as np
import pytest

import minigrad as mg
from minigrad._C import _act


def test_relu_kernel_matches_numpy():
    x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    np.testing.assert_array_equal(_act.forward("relu", x), np.maximum(x, 0))


def test_relu_kernel_rejects_int_arrays():
    with pytest.raises(TypeError, match="relu: x must be float32 or float64"):
        _act.forward("relu", np.arange(3))


def test_backward_accumulates_into_leaves():
    x = mg.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    (x * x + x.relu()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[3.0, -4.0], [7.0, 9.0]])


def test_demo_learns_xor(capsys):
    from minigrad.demo import run

    assert run() == 0
    assert "XOR predictions [0, 1, 1, 0]" in capsys.readouterr().out
