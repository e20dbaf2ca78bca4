"""Activation ops (minigrad.ops.activation): values and gradients against torch,
gradcheck and gradgradcheck in float64, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.ops import activation as A
from tests.helpers import examples
from tests.strategies import arrays, away_from, shapes

FNS = {
    "relu": A.relu,
    "leaky_relu": lambda t: A.leaky_relu(t, 0.2),
    "sigmoid": A.sigmoid,
    "tanh": A.tanh,
    "gelu": A.gelu,
    "gelu_tanh": lambda t: A.gelu(t, approximate="tanh"),
    "silu": A.silu,
    "softplus": lambda t: A.softplus(t, 2.0, 4.0),
    "erf": A.erf,
    "softmax0": lambda t: A.softmax(t, 0),
    "softmax-1": lambda t: A.softmax(t, -1),
    "log_softmax0": lambda t: A.log_softmax(t, 0),
    "log_softmax-1": lambda t: A.log_softmax(t, -1),
}


def _torch_fns(torch):
    F = torch.nn.functional
    return {
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.2),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu,
        "softplus": lambda t: F.softplus(t, 2.0, 4.0),
        "erf": torch.erf,
        "softmax0": lambda t: torch.softmax(t, 0),
        "softmax-1": lambda t: torch.softmax(t, -1),
        "log_softmax0": lambda t: torch.log_softmax(t, 0),
        "log_softmax-1": lambda t: torch.log_softmax(t, -1),
    }


def _x(arr, dtype=np.float64):
    return mg.tensor(arr, dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(FNS))
def test_activation_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((6, 7)) * 3).astype(dtype)
    x = _x(arr, dtype)
    y = FNS[name](x)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(mg.tensor(g, dtype=dtype))
    xt = torch.tensor(arr, requires_grad=True)
    yt = _torch_fns(torch)[name](xt)
    yt.backward(torch.tensor(g))
    tol = (
        {"rtol": 2e-5, "atol": 2e-6}
        if dtype == np.float32
        else {"rtol": 1e-10, "atol": 1e-13}
    )
    assert y.dtype == dtype
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **tol, err_msg=name)


@examples(20, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(FNS)))
def test_activation_grad_matches_numerical(data, name):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    arr = away_from(data.draw(arrays(shape)), (0.0, 2.0), gap=1e-3)
    x = _x(arr)
    assert gradcheck(FNS[name], (x,))


@pytest.mark.parametrize("name", list(FNS))
def test_activation_gradgrad_matches_numerical(name):
    rng = np.random.default_rng(1)
    arr = away_from(rng.standard_normal((3, 4)) * 2, (0.0, 2.0), gap=1e-2)
    assert gradgradcheck(FNS[name], (_x(arr),))


@pytest.mark.parametrize("name", list(FNS))
def test_activation_noncontiguous_input(name):
    rng = np.random.default_rng(2)
    base = rng.standard_normal((5, 8))
    xt = _x(base)
    y = FNS[name](xt.T)
    want = FNS[name](mg.tensor(np.ascontiguousarray(base.T)))
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-14, atol=1e-15)
    y.sum().backward()
    assert xt.grad.shape == base.shape


@pytest.mark.parametrize("name", list(FNS))
def test_activation_zero_upstream_gives_zero_grad(name):
    x = _x(np.random.default_rng(3).standard_normal((4, 3)))
    y = FNS[name](x)
    y.backward(mg.zeros(*y.shape, dtype=np.float64))
    assert np.all(x.grad.numpy() == 0)


@pytest.mark.parametrize("name", list(FNS))
def test_activation_empty_input(name):
    x = _x(np.zeros((0, 3)))
    y = FNS[name](x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 3)


def test_sigmoid_and_friends_stable_at_extremes():
    x = _x(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]), np.float32)
    s = A.sigmoid(x)
    assert s.numpy()[0] == 0.0
    assert s.numpy()[-1] == 1.0
    for name in ("sigmoid", "tanh", "softplus", "silu", "gelu", "gelu_tanh"):
        y = FNS[name](x)
        y.sum().backward()
        assert np.all(np.isfinite(y.numpy())), name
        assert np.all(np.isfinite(x.grad.numpy())), name
        x.grad = None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_sum_to_one_and_stay_finite(dtype):
    rng = np.random.default_rng(4)
    arr = (rng.standard_normal((5, 3, 7)) * 1e3).astype(dtype)
    for dim in (0, 1, 2):
        y = A.softmax(mg.tensor(arr), dim).numpy()
        assert np.all(np.isfinite(y))
        np.testing.assert_allclose(y.sum(axis=dim), 1.0, rtol=1e-5)
        ly = A.log_softmax(mg.tensor(arr), dim).numpy()
        assert np.all(np.isfinite(ly))
        assert np.all(ly <= 0)


def test_activation_validation():
    with pytest.raises(TypeError, match="relu: expected a Tensor"):
        A.relu(np.ones(3))
    with pytest.raises(TypeError, match="silu: expected a floating tensor"):
        A.silu(mg.tensor([1, 2]))
    # as in PyTorch, sigmoid/tanh/erf of integers are float32, relu stays int64
    assert A.sigmoid(mg.tensor([1, 2])).dtype == mg.float32
    assert A.relu(mg.tensor([-1, 2])).tolist() == [0, 2]
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        A.gelu(mg.tensor([1.0]), approximate="erf")
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        A.softplus(mg.tensor([1.0]), beta=0)
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        A.softmax(mg.tensor([[1.0]]), 2)
