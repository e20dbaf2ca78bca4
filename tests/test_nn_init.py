"""nn.init: PyTorch's formulas (fans, gains), distributions within statistical
tolerance, in-place writes under no_grad, generators and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.nn import init
from minigrad.nn.init import _calculate_fan_in_and_fan_out

# Large enough that the sample std is within ~1% (5 sigma ≈ 5/√(2n) ≈ 0.5%).
SHAPE = (300, 200)  # fan_in 200, fan_out 300
N = 300 * 200


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _param(shape=SHAPE, dtype=mg.float32):
    return nn.Parameter(mg.zeros(*shape, dtype=dtype))


def _check_uniform(t, bound):
    v = t.numpy()
    assert np.abs(v).max() <= bound * (1 + 1e-6)
    assert np.abs(v).max() > 0.99 * bound  # the support is really [-bound, bound]
    assert abs(v.mean()) < 5 * bound / math.sqrt(3 * N)
    assert abs(v.std() - bound / math.sqrt(3)) < 0.01 * bound / math.sqrt(3)


def _check_normal(t, mean, std):
    v = t.numpy()
    assert abs(v.mean() - mean) < 5 * std / math.sqrt(N)
    assert abs(v.std() - std) < 0.01 * std
    # normal, not uniform: about 4.55% beyond 2 std
    assert abs((np.abs(v - mean) > 2 * std).mean() - 0.0455) < 0.005


# -- fans and gains ------------------------------------------------------------------


def test_fan_in_and_fan_out_include_receptive_field():
    assert _calculate_fan_in_and_fan_out(mg.zeros(5, 3)) == (3, 5)
    assert _calculate_fan_in_and_fan_out(mg.zeros(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        _calculate_fan_in_and_fan_out(mg.zeros(5))


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(
        math.sqrt(2 / (1 + 0.01**2))
    )
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a number"):
        init.calculate_gain("leaky_relu", "a")


def test_calculate_gain_matches_torch(torch):
    for name, param in [
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", 0.3),
        ("selu", None),
    ]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param)
        )


# -- distributions -------------------------------------------------------------------


def test_uniform_and_normal_and_constants():
    mg.manual_seed(0)
    t = init.uniform_(_param(), -2.0, 3.0)
    v = t.numpy()
    assert v.min() >= -2.0
    assert v.max() < 3.0
    assert abs(v.mean() - 0.5) < 5 * 5 / math.sqrt(12 * N)
    _check_normal(init.normal_(_param(), 1.5, 0.2), 1.5, 0.2)
    assert (init.constant_(_param((2, 2)), 0.25).numpy() == 0.25).all()
    assert (init.ones_(_param((3,))).numpy() == 1).all()
    assert not init.zeros_(nn.Parameter(mg.ones(3))).numpy().any()
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(_param((2,)), 1.0, 0.0)
    with pytest.raises(ValueError, match="std"):
        init.normal_(_param((2,)), 0.0, -1.0)


def test_xavier_uniform_and_normal():
    mg.manual_seed(1)
    _check_uniform(init.xavier_uniform_(_param()), math.sqrt(6 / (200 + 300)))
    _check_uniform(init.xavier_uniform_(_param(), gain=2.0), 2 * math.sqrt(6 / 500))
    _check_normal(init.xavier_normal_(_param()), 0.0, math.sqrt(2 / 500))
    _check_normal(
        init.xavier_normal_(_param(), gain=0.5), 0.0, 0.5 * math.sqrt(2 / 500)
    )


@pytest.mark.parametrize(
    ("a", "mode", "nonlinearity", "fan"),
    [
        (0.0, "fan_in", "leaky_relu", 200),
        (0.0, "fan_out", "relu", 300),
        (math.sqrt(5), "fan_in", "leaky_relu", 200),
        (0.0, "fan_in", "tanh", 200),
    ],
)
def test_kaiming_uniform_and_normal(a, mode, nonlinearity, fan):
    mg.manual_seed(2)
    gain = init.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    _check_uniform(
        init.kaiming_uniform_(_param(), a, mode, nonlinearity), math.sqrt(3) * std
    )
    _check_normal(init.kaiming_normal_(_param(), a, mode, nonlinearity), 0.0, std)


def test_kaiming_errors_and_zero_element_warning():
    with pytest.raises(ValueError, match="mode 'fan_avg'"):
        init.kaiming_uniform_(_param((3, 3)), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2"):
        init.kaiming_normal_(_param((3,)))
    t = _param((0, 3))
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(t) is t
    assert init.xavier_uniform_(_param((0, 0))).shape == (0, 0)


# -- in place, under no_grad, generators ---------------------------------------------


def test_init_writes_in_place_and_keeps_leaf_status():
    p = _param((4, 5))
    arr = p.data
    version = p._version[0]
    out = init.xavier_uniform_(p)
    assert out is p
    assert p.data is arr
    assert p._version[0] > version
    assert p.requires_grad
    assert p.is_leaf
    assert p.grad_fn is None
    assert p.dtype == np.float32
    (p * 2.0).sum().backward()  # still a trainable leaf
    np.testing.assert_array_equal(p.grad.numpy(), np.full((4, 5), 2.0))


def test_init_works_on_float64_and_plain_tensors():
    t = mg.zeros(50, 40, dtype=mg.float64)
    init.kaiming_normal_(t)
    assert t.dtype == np.float64
    assert t.numpy().std() > 0


def test_init_generator_reproducible_and_independent_of_global():
    a = (
        init.normal_(_param((10, 10)), generator=np.random.default_rng(3))
        .numpy()
        .copy()
    )
    mg.manual_seed(99)
    b = init.normal_(_param((10, 10)), generator=np.random.default_rng(3)).numpy()
    np.testing.assert_array_equal(a, b)
    mg.manual_seed(4)
    c = init.kaiming_uniform_(_param((10, 10))).numpy().copy()
    mg.manual_seed(4)
    d = init.kaiming_uniform_(_param((10, 10))).numpy()
    np.testing.assert_array_equal(c, d)


def test_init_rejects_non_tensor():
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))
