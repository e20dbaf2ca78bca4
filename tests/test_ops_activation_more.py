"""Issue-14 activations (minigrad.ops.activation_more, their nn.functional forms
and nn modules): gradcheck / gradgradcheck in float64 on hypothesis shapes,
both backward paths (array and recorded Tensor ops), in-place forms, modules,
errors. The comparisons with PyTorch are in test_ops_activation_more_torch.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops import activation_more as M
from tests.helpers import examples
from tests.strategies import arrays, away_from, shapes

# name -> (function of one float64 tensor, kinks to keep away from)
UNARY = {
    "elu": (lambda t: F.elu(t), (0.0,)),
    "elu_a2": (lambda t: F.elu(t, 2.0), (0.0,)),
    "selu": (F.selu, (0.0,)),
    "celu": (lambda t: F.celu(t, 0.5), (0.0,)),
    "mish": (F.mish, ()),
    "relu6": (F.relu6, (0.0, 6.0)),
    "hardtanh": (lambda t: F.hardtanh(t, -0.5, 2.0), (-0.5, 2.0)),
    "hardswish": (F.hardswish, (-3.0, 3.0)),
    "hardsigmoid": (F.hardsigmoid, (-3.0, 3.0)),
    "hardshrink": (lambda t: F.hardshrink(t, 0.7), (-0.7, 0.7)),
    "softshrink": (F.softshrink, (-0.5, 0.5)),
    "tanhshrink": (F.tanhshrink, ()),
    "logsigmoid": (F.logsigmoid, ()),
    "softsign": (F.softsign, (0.0,)),
    "threshold": (lambda t: F.threshold(t, 0.3, -1.5), (0.3,)),
    "rrelu_eval": (lambda t: F.rrelu(t), (0.0,)),
    "prelu_1": (lambda t: F.prelu(t, mg.tensor([0.3], dtype=t.dtype)), (0.0,)),
    "softmin0": (lambda t: F.softmin(t, 0), ()),
    "softmin-1": (lambda t: F.softmin(t, -1), ()),
}

# The Function classes and their parameters, for the backward-path checks.
FUNCTIONS = {
    "elu": (M.Elu, (1.5, 1.0, 1.0)),
    "selu": (M.Elu, (M.SELU_ALPHA, M.SELU_SCALE, 1.0)),
    "celu": (M.Elu, (0.5, 1.0, 2.0)),
    "hardtanh": (M.Hardtanh, (-0.5, 2.0)),
    "hardswish": (M.Hardswish, ()),
    "hardsigmoid": (M.Hardsigmoid, ()),
    "hardshrink": (M.Hardshrink, (0.7,)),
    "softshrink": (M.Softshrink, (0.5,)),
    "tanhshrink": (M.Tanhshrink, ()),
    "logsigmoid": (M.Logsigmoid, ()),
    "softsign": (M.Softsign, ()),
    "mish": (M.Mish, ()),
    "threshold": (M.Threshold, (0.3, -1.5)),
}

SCALE = {"hardswish": 4.0, "hardsigmoid": 4.0, "relu6": 4.0}


def _x(arr, dtype=np.float64):
    return mg.tensor(arr, dtype=dtype, requires_grad=True)


def _away(arr, kinks, gap):
    # away_from on a 1-d view (it indexes with a mask, which 0-d arrays refuse)
    return away_from(arr.reshape(-1), kinks, gap).reshape(arr.shape)


def _fn_apply(name):
    cls, p = FUNCTIONS[name]
    return lambda t: cls.apply(t, p=p)


# -- gradients against finite differences ------------------------------------------


@examples(25, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(UNARY)))
def test_activation_more_grad_matches_numerical(data, name):
    fn, kinks = UNARY[name]
    shape = data.draw(shapes(min_dims=0, max_dims=3, max_side=4))
    arr = data.draw(arrays(shape, lo=-4.0, hi=4.0)) * SCALE.get(name, 1.0)
    arr = _away(arr, kinks, gap=1e-3)
    assert gradcheck(fn, (_x(arr),))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_activation_more_gradgrad_matches_numerical(name):
    fn, kinks = UNARY[name]
    rng = np.random.default_rng(1)
    arr = rng.uniform(-3, 3, (3, 4)) * SCALE.get(name, 1.0)
    arr = away_from(arr, kinks, gap=1e-2)
    # times the input: the piecewise-linear ones have a zero second derivative
    assert gradgradcheck(lambda t: fn(t) * t, (_x(arr),))


@examples(15, deadline=None)
@given(data=st.data(), dim=st.integers(-3, 2))
def test_glu_grad_matches_numerical(data, dim):
    shape = list(data.draw(shapes(min_dims=3, max_dims=3, min_side=1, max_side=3)))
    shape[dim] *= 2
    x = _x(data.draw(arrays(tuple(shape))))
    assert gradcheck(lambda t: F.glu(t, dim), (x,))
    assert gradgradcheck(lambda t: F.glu(t, dim), (x,))


@examples(15, deadline=None)
@given(
    data=st.data(),
    shape=shapes(min_dims=2, max_dims=4, min_side=0, max_side=3),
    per_channel=st.booleans(),
)
def test_prelu_grad_matches_numerical(data, shape, per_channel):
    arr = away_from(data.draw(arrays(shape)), (0.0,), gap=1e-3)
    n = shape[1] if per_channel else 1
    w = _x(np.linspace(-0.5, 0.7, n))
    assert gradcheck(F.prelu, (_x(arr), w))
    assert gradgradcheck(lambda x, w: F.prelu(x, w) * x, (_x(arr), w))


def test_prelu_grad_small_dims():
    for arr in (np.array([-1.0, 2.0, -3.0]), np.array(-2.0)):
        assert gradcheck(F.prelu, (_x(arr), _x(np.array([0.2]))))
        assert gradcheck(F.prelu, (_x(arr), _x(np.array(0.2))))


@examples(10, deadline=None)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, max_side=4))
def test_rrelu_training_grad_matches_numerical(data, shape):
    arr = away_from(data.draw(arrays(shape)), (0.0,), gap=1e-3)
    # a fresh generator per call: the same slopes at every finite-difference step
    fn = lambda t: F.rrelu(  # noqa: E731
        t, 0.1, 0.4, training=True, generator=np.random.default_rng(5)
    )
    assert gradcheck(fn, (_x(arr),))


# -- the two backward paths (Note [Elementwise activation, array and Tensor
# backward]) agree, including at kinks, NaN and ±inf ---------------------------------

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4, 30.0, -30.0, 100.0, -100.0]
KINKS = [-3.0, 3.0, -1.0, 1.0, -0.5, 0.5, -0.7, 0.7, 0.3, 2.0, 6.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_activation_more_recorded_backward_matches_plain(name, dtype):
    rng = np.random.default_rng(2)
    arr = np.concatenate([rng.uniform(-5, 5, 20), SPECIAL, KINKS]).astype(dtype)
    g = mg.tensor(rng.uniform(0.5, 1.5, arr.shape), dtype=dtype)
    fn = _fn_apply(name)
    x = _x(arr, dtype)
    (plain,) = mg.autograd.grad(fn(x), x, g)
    (rec,) = mg.autograd.grad(fn(x), x, g, create_graph=True)
    assert plain.dtype == rec.dtype == dtype
    np.testing.assert_allclose(plain.numpy(), rec.numpy(), rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_activation_more_shapes_and_dtypes(name):
    fn, _ = UNARY[name]
    for dtype in (np.float32, np.float64):
        for shape in ((), (0, 3), (1,), (2, 1, 3)):
            x = _x(np.full(shape, -0.25), dtype)
            y = fn(x)
            assert y.dtype == dtype
            assert y.shape == shape
            y.sum().backward()
            assert x.grad.dtype == dtype
            assert x.grad.shape == shape


@pytest.mark.parametrize("name", sorted(UNARY))
def test_activation_more_noncontiguous_input(name):
    fn, _ = UNARY[name]
    base = np.random.default_rng(3).uniform(-4, 4, (5, 8))
    y = fn(mg.tensor(base).T)
    want = fn(mg.tensor(np.ascontiguousarray(base.T)))
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-14)


# -- a wrong backward is caught --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_activation_more_catches_a_wrong_backward(monkeypatch, name):
    cls, _ = FUNCTIONS[name]
    fn = _fn_apply(name)
    arr = np.linspace(-4.0, 4.0, 23) + 0.013  # away from every kink
    ok = cls._bw
    monkeypatch.setattr(cls, "_bw", staticmethod(lambda x, g, *p: ok(x, g, *p) * 1.02))
    assert gradcheck(fn, (_x(arr),), raise_exception=False) is False
    monkeypatch.setattr(cls, "_bw", staticmethod(ok))
    right = cls._d
    monkeypatch.setattr(cls, "_d", staticmethod(lambda x, *p: right(x, *p) * 1.02))
    assert gradgradcheck(lambda t: fn(t) * t, (_x(arr),), raise_exception=False) is (
        False
    )


# -- values that need no oracle ---------------------------------------------------


def test_logsigmoid_stable_at_extremes():
    for dtype in (np.float32, np.float64):
        x = _x(np.array([-1e4, -800.0, -50.0, 50.0, 800.0, 1e4]), dtype)
        y = F.logsigmoid(x)
        np.testing.assert_allclose(y.numpy()[:3], [-1e4, -800.0, -50.0], rtol=1e-6)
        assert np.all(np.abs(y.numpy()[3:]) < 1e-20)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [1, 1, 1, 0, 0, 0], atol=1e-20)


def test_mish_and_elu_stay_finite_for_large_input():
    x = _x(np.array([-1e4, -100.0, 100.0, 1e4]), np.float32)
    for fn in (F.mish, F.elu, F.selu, F.celu):
        y = fn(x)
        y.sum().backward()
        assert np.all(np.isfinite(y.numpy()))
        assert np.all(np.isfinite(x.grad.numpy()))
        x.grad = None


def test_selu_constants():
    x = mg.tensor([-1.0, 2.0], dtype=mg.float64)
    want = [M.SELU_SCALE * M.SELU_ALPHA * np.expm1(-1.0), M.SELU_SCALE * 2.0]
    np.testing.assert_allclose(F.selu(x).numpy(), want, rtol=1e-15)


def test_rrelu_training_draws_slopes_in_range_and_uses_them():
    mg.manual_seed(0)
    x = _x(-np.ones(2000))
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.numpy()
    assert slopes.min() >= 0.1
    assert slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.01
    assert slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), slopes)
    # positive inputs pass unchanged; evaluation uses the mean slope
    assert F.rrelu(mg.tensor([2.0]), training=True).tolist() == [2.0]
    np.testing.assert_allclose(
        F.rrelu(mg.tensor([-1.0]), 0.1, 0.3).numpy(), [-0.2], rtol=1e-6
    )


def test_rrelu_module_follows_train_and_eval():
    m = nn.RReLU(0.1, 0.3)
    x = mg.tensor(-np.ones(500, np.float32))
    assert len(np.unique(m(x).numpy())) > 10
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-6)


def test_softmin_is_softmax_of_negation():
    x = mg.tensor(np.random.default_rng(4).standard_normal((3, 5)))
    np.testing.assert_allclose(
        F.softmin(x, 1).numpy(), F.softmax(-x, 1).numpy(), rtol=1e-15
    )
    with pytest.warns(UserWarning, match="Implicit dimension"):
        F.softmin(x)
    assert F.softmin(x, 1, dtype=mg.float32).dtype == mg.float32


def test_int_inputs_like_pytorch():
    x = mg.tensor([-2, 0, 3])
    assert F.relu6(x).tolist() == [0, 0, 3]
    assert F.relu6(x).dtype == mg.int64
    assert F.hardtanh(x).tolist() == [-1, 0, 1]
    assert F.threshold(x, 1, 5).tolist() == [5, 5, 3]
    assert F.softsign(x).dtype == mg.float32
    assert F.tanhshrink(x).dtype == mg.float32
    for fn in (F.elu, F.selu, F.mish, F.hardswish, F.logsigmoid, F.hardshrink):
        with pytest.raises(DTypeError, match="expected a floating tensor"):
            fn(x)


# -- in place ------------------------------------------------------------------------

INPLACE = {
    "elu": lambda t, ip: F.elu(t, 0.7, inplace=ip),
    "selu": lambda t, ip: F.selu(t, inplace=ip),
    "celu": lambda t, ip: F.celu(t, 0.7, inplace=ip),
    "mish": lambda t, ip: F.mish(t, inplace=ip),
    "relu6": lambda t, ip: F.relu6(t, inplace=ip),
    "hardtanh": lambda t, ip: F.hardtanh(t, -0.5, 0.5, inplace=ip),
    "hardswish": lambda t, ip: F.hardswish(t, inplace=ip),
    "hardsigmoid": lambda t, ip: F.hardsigmoid(t, inplace=ip),
    "threshold": lambda t, ip: F.threshold(t, 0.2, -3.0, inplace=ip),
    "rrelu": lambda t, ip: F.rrelu(t, inplace=ip),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_activation_more_inplace_matches_out_of_place(name):
    fn = INPLACE[name]
    arr = np.random.default_rng(5).uniform(-4, 4, (3, 4))
    a, b = _x(arr), _x(arr)
    want = fn(a * 2.0, False)
    want.sum().backward()
    h = b * 2.0
    out = fn(h, True)
    assert out is h
    assert h._version[0] == 1
    np.testing.assert_allclose(h.numpy(), want.numpy(), rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-15)


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        F.elu(_x(np.ones(3)), inplace=True)
    t = mg.tensor(np.array([-1.0, 2.0]))
    assert F.elu_(t) is t
    np.testing.assert_allclose(t.numpy(), [np.expm1(-1.0), 2.0], rtol=1e-7)
    for fn in (F.selu_, F.celu_, F.hardtanh_, F.rrelu_):
        fn(mg.tensor([1.0]))
    assert F.threshold_(mg.tensor([0.0, 2.0]), 1.0, 7.0).tolist() == [7.0, 2.0]


def test_inplace_after_saving_the_input_is_detected():
    x = _x(np.array([-1.0, 2.0]))
    h = x * 1.0
    y = h * h  # saves h
    F.elu(h, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


# -- modules ---------------------------------------------------------------------------


def test_module_reprs_match_pytorch():
    want = {
        nn.ELU(): "ELU(alpha=1.0)",
        nn.ELU(0.5, True): "ELU(alpha=0.5, inplace=True)",
        nn.SELU(): "SELU()",
        nn.SELU(True): "SELU(inplace=True)",
        nn.CELU(): "CELU(alpha=1.0)",
        nn.Mish(): "Mish()",
        nn.Mish(True): "Mish(inplace=True)",
        nn.ReLU6(): "ReLU6()",
        nn.ReLU6(True): "ReLU6(inplace=True)",
        nn.Hardtanh(): "Hardtanh(min_val=-1.0, max_val=1.0)",
        nn.Hardtanh(-2, 3, True): "Hardtanh(min_val=-2, max_val=3, inplace=True)",
        nn.Hardswish(True): "Hardswish()",
        nn.Hardsigmoid(): "Hardsigmoid()",
        nn.Hardshrink(): "Hardshrink(0.5)",
        nn.Softshrink(0.25): "Softshrink(0.25)",
        nn.Tanhshrink(): "Tanhshrink()",
        nn.LogSigmoid(): "LogSigmoid()",
        nn.Softsign(): "Softsign()",
        nn.Softmin(): "Softmin(dim=None)",
        nn.Softmin(1): "Softmin(dim=1)",
        nn.GLU(): "GLU(dim=-1)",
        nn.PReLU(): "PReLU(num_parameters=1)",
        nn.PReLU(3, 0.1): "PReLU(num_parameters=3)",
        nn.RReLU(): "RReLU(lower=0.125, upper=0.3333333333333333)",
        nn.RReLU(0.1, 0.3, True): "RReLU(lower=0.1, upper=0.3, inplace=True)",
        nn.Threshold(0.1, 20): "Threshold(threshold=0.1, value=20)",
        nn.Threshold(0.1, 20, True): "Threshold(threshold=0.1, value=20, inplace=True)",
        nn.Softmax2d(): "Softmax2d()",
    }
    for m, r in want.items():
        assert repr(m) == r


def test_prelu_module_parameters():
    m = nn.PReLU(3, init=0.1)
    assert list(dict(m.named_parameters())) == ["weight"]
    assert m.weight.shape == (3,)
    assert m.weight.dtype == mg.float32
    np.testing.assert_allclose(m.weight.numpy(), 0.1)
    assert m.num_parameters == 3
    x = mg.tensor(-np.ones((2, 3, 4), np.float32))
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), -8.0)
    assert nn.PReLU(dtype=mg.float64).weight.dtype == mg.float64
    assert list(m.state_dict()) == ["weight"]


def test_softmax2d_module():
    x = mg.tensor(np.random.default_rng(6).standard_normal((2, 3, 4, 5)))
    np.testing.assert_allclose(nn.Softmax2d()(x).numpy().sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(nn.Softmax2d()(x[0]).numpy().sum(0), 1.0, rtol=1e-12)
    with pytest.raises(ShapeError, match="Softmax2d: expected input to be 3D or 4D"):
        nn.Softmax2d()(mg.ones(3, 4))


def test_modules_call_their_functional_forms():
    x = mg.tensor(np.linspace(-5, 5, 12).reshape(2, 6))
    pairs = [
        (nn.ELU(0.5), F.elu(x, 0.5)),
        (nn.SELU(), F.selu(x)),
        (nn.CELU(0.5), F.celu(x, 0.5)),
        (nn.Mish(), F.mish(x)),
        (nn.ReLU6(), F.relu6(x)),
        (nn.Hardtanh(-2, 3), F.hardtanh(x, -2, 3)),
        (nn.Hardswish(), F.hardswish(x)),
        (nn.Hardsigmoid(), F.hardsigmoid(x)),
        (nn.Hardshrink(1.0), F.hardshrink(x, 1.0)),
        (nn.Softshrink(1.0), F.softshrink(x, 1.0)),
        (nn.Tanhshrink(), F.tanhshrink(x)),
        (nn.LogSigmoid(), F.logsigmoid(x)),
        (nn.Softsign(), F.softsign(x)),
        (nn.Softmin(1), F.softmin(x, 1)),
        (nn.GLU(1), F.glu(x, 1)),
        (nn.Threshold(1.0, 9.0), F.threshold(x, 1.0, 9.0)),
    ]
    for m, want in pairs:
        np.testing.assert_array_equal(m(x).numpy(), want.numpy(), err_msg=repr(m))


def test_tensor_methods():
    x = mg.tensor([-1.0, 0.2, 3.0])
    assert x.hardshrink().tolist() == F.hardshrink(x).tolist()
    w = mg.tensor([0.5])
    assert x.prelu(w).tolist() == F.prelu(x, w).tolist()


# -- errors ----------------------------------------------------------------------------


def test_activation_more_errors():
    x = mg.ones(2, 3)
    with pytest.raises(ArgumentError, match=r"hardtanh: min_val .* greater than"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ArgumentError, match="Hardtanh: max_val"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(ArgumentError, match="softshrink: lambd must be >= 0"):
        F.softshrink(x, -1.0)
    with pytest.raises(ArgumentError, match="celu: alpha must be non-zero"):
        F.celu(x, 0.0)
    with pytest.raises(ArgumentError, match="rrelu: lower bound"):
        F.rrelu(x, 0.5, 0.1)
    with pytest.raises(ShapeError, match="glu: halving dimension must be even"):
        F.glu(x)
    with pytest.raises(ShapeError, match="glu: does not support 0-d"):
        F.glu(mg.tensor(1.0))
    with pytest.raises(IndexError, match="glu: dim 2 is out of range"):
        F.glu(x, 2)
    with pytest.raises(ShapeError, match="prelu: weight of 2 parameters"):
        F.prelu(x, mg.ones(2))
    with pytest.raises(ShapeError, match="prelu: weight must be 0-d or 1-d"):
        F.prelu(x, mg.ones(1, 3))
    with pytest.raises(DTypeError, match=r"prelu: input .* and weight"):
        F.prelu(x, mg.ones(3, dtype=mg.float64))
    with pytest.raises(TypeError, match="elu: expected a Tensor"):
        F.elu(np.ones(3))
    with pytest.raises(ArgumentError, match="elu: alpha must be a number"):
        F.elu(x, "1")
    with pytest.raises(TypeError):
        F.hardshrink(x, 0.5, 1.0)  # no third argument
    with pytest.raises(TypeError):
        nn.ELU(alph=2.0)
    with pytest.raises(ArgumentError, match="PReLU: only the cpu device"):
        nn.PReLU(device="cuda")
