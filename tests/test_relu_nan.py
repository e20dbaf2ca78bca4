"""relu'(NaN) passes the upstream gradient, as PyTorch's threshold_backward does
(relu'(0) stays 0): the C kernel on every ISA, the Tensor op, and the fused
Linear + ReLU of nn.Sequential."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad._C import _act

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]
X = [np.nan, 0.0, -0.0, 1.5, -2.0, np.inf, -np.inf]
WANT = [3.0, 0.0, 0.0, 3.0, 0.0, 3.0, 0.0]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernel_backward_at_nan_passes_the_gradient(isa, dtype):
    x = np.array(X * 10, dtype)  # long enough for the vector loops
    g = np.full_like(x, 3.0)
    np.testing.assert_array_equal(_act.backward("relu", x, g, isa=isa), WANT * 10)


def test_relu_op_gradient_at_nan():
    x = mg.tensor(X, dtype=mg.float64, requires_grad=True)
    (x.relu() * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), WANT)


def test_fused_linear_relu_gradient_at_nan():
    lin = nn.Linear(1, 1)
    lin.weight.data[...] = 1.0
    lin.bias.data[...] = 0.0
    model = nn.Sequential(lin, nn.ReLU())
    x = mg.tensor([[np.nan], [2.0], [-2.0]], requires_grad=True)
    model(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.0, 1.0, 0.0])


def test_relu_gradient_at_nan_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (torch.relu(t) * 3.0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), WANT)
