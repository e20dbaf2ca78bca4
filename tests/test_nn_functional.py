"""nn.functional forms and nn.utils gradient clipping: against torch, numpy and
hand computations; gradcheck in float64; errors."""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_
from tests.helpers import examples
from tests.strategies import arrays


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _leaf(a):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# -- linear --------------------------------------------------------------------------


def test_linear_matches_numpy_and_gradchecks():
    rng = _rng(0)
    x, w, b = (
        rng.standard_normal((4, 3)),
        rng.standard_normal((2, 3)),
        rng.standard_normal(2),
    )
    np.testing.assert_allclose(
        F.linear(mg.tensor(x), mg.tensor(w), mg.tensor(b)).numpy(), x @ w.T + b
    )
    np.testing.assert_allclose(F.linear(mg.tensor(x), mg.tensor(w)).numpy(), x @ w.T)
    assert gradcheck(F.linear, (_leaf(x), _leaf(w), _leaf(b)))
    assert gradgradcheck(F.linear, (_leaf(x), _leaf(w), _leaf(b)))


def test_linear_matches_torch(torch):
    rng = _rng(1)
    x, w, b = (
        rng.standard_normal(s).astype(np.float32) for s in ((2, 5, 3), (4, 3), (4,))
    )
    want = torch.nn.functional.linear(*(torch.from_numpy(a) for a in (x, w, b)))
    np.testing.assert_allclose(
        F.linear(mg.tensor(x), mg.tensor(w), mg.tensor(b)).numpy(),
        want.numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


# -- activations ---------------------------------------------------------------------

ACTIVATIONS = {
    "relu": ({}, {}),
    "leaky_relu": ({"negative_slope": 0.1}, {"negative_slope": 0.1}),
    "sigmoid": ({}, {}),
    "tanh": ({}, {}),
    "gelu": ({"approximate": "none"}, {"approximate": "none"}),
    "silu": ({}, {}),
    "softplus": ({"beta": 0.5, "threshold": 2.0}, {"beta": 0.5, "threshold": 2.0}),
    "softmax": ({"dim": 0}, {"dim": 0}),
    "log_softmax": ({"dim": 1}, {"dim": 1}),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_functional_matches_torch(torch, name):
    kw_mg, kw_t = ACTIVATIONS[name]
    x = _rng(2).uniform(-3, 3, (4, 5))
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    xm, xt = _leaf(x), torch.from_numpy(x.copy()).requires_grad_(True)
    ym = getattr(F, name)(xm, **kw_mg)
    yt = getattr(torch.nn.functional, name)(xt, **kw_t)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = _rng(3).standard_normal(x.shape)
    (ym * mg.tensor(v)).sum().backward()
    (yt * torch.from_numpy(v)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_functional_gradcheck(name):
    kw = ACTIVATIONS[name][0]
    x = _rng(4).uniform(-3, 3, (3, 4))
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    assert gradcheck(lambda a: getattr(F, name)(a, **kw), (_leaf(x),))


def test_softmax_dtype_argument_casts_first():
    x = mg.tensor([[1.0, 2.0, 3.0]])
    y = F.softmax(x, dim=1, dtype=mg.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy().sum(), 1.0)
    assert F.log_softmax(x, dim=-1, dtype=mg.float64).dtype == np.float64


# -- dropout -------------------------------------------------------------------------


def test_dropout_functional_generator_matches_numpy_draw():
    x = mg.ones(6, 7)
    y = F.dropout(x, p=0.4, generator=np.random.default_rng(11)).numpy()
    keep = np.random.default_rng(11).random((6, 7), dtype=np.float32) >= 0.4
    np.testing.assert_allclose(y, keep / 0.6, rtol=1e-6)


def test_dropout_functional_training_false_and_errors():
    x = mg.randn(3)
    assert F.dropout(x, 0.9, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


def test_dropout_functional_gradcheck_with_fixed_mask():
    x = _leaf(_rng(5).standard_normal((4, 4)))

    def fn(a):
        return F.dropout(a, 0.5, generator=np.random.default_rng(0))

    assert gradcheck(fn, (x,))


def test_dropout_functional_inplace_modifies_non_leaf():
    x = _leaf(np.ones(100))
    h = x * 1.0
    y = F.dropout(h, 0.5, inplace=True, generator=np.random.default_rng(1))
    assert y is h
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), h.numpy())


# -- one_hot -------------------------------------------------------------------------


def test_one_hot_values_shape_and_dtype():
    out = F.one_hot(mg.tensor([[0, 2], [1, 0]]), 4)
    assert out.dtype == np.int64
    assert out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.numpy()[0], [[1, 0, 0, 0], [0, 0, 1, 0]])
    inferred = F.one_hot(mg.tensor([3, 1]))
    assert inferred.shape == (2, 4)
    assert F.one_hot(mg.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)
    assert F.one_hot(mg.tensor(2), 3).tolist() == [0, 0, 1]


def test_one_hot_matches_torch(torch):
    idx = _rng(6).integers(0, 5, (3, 4))
    want = torch.nn.functional.one_hot(torch.from_numpy(idx), 6).numpy()
    got = F.one_hot(mg.tensor(idx), 6).numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_one_hot_errors():
    with pytest.raises(TypeError, match="int64"):
        F.one_hot(mg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(mg.tensor([-1, 0]), 3)
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(mg.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="empty"):
        F.one_hot(mg.tensor(np.zeros(0, np.int64)))


# -- normalization and embedding forms -----------------------------------------------


@examples(25)
@given(
    shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=5),
    data=st.data(),
)
def test_batch_norm_functional_matches_numpy(shape, data):
    x = data.draw(arrays(shape, np.float64))
    c = shape[1]
    w = data.draw(arrays((c,), np.float64))
    b = data.draw(arrays((c,), np.float64))
    axes = (0, *range(2, len(shape)))
    bshape = (1, c) + (1,) * (len(shape) - 2)
    rm, rv = mg.zeros(c, dtype=mg.float64), mg.ones(c, dtype=mg.float64)
    y = F.batch_norm(
        mg.tensor(x), rm, rv, mg.tensor(w), mg.tensor(b), training=True, momentum=0.2
    )
    mean, var = x.mean(axes), x.var(axes)
    want = (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-5)
    want = want * w.reshape(bshape) + b.reshape(bshape)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-9, atol=1e-9)
    n = x.size // c
    np.testing.assert_allclose(rm.numpy(), 0.2 * mean, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.8 + 0.2 * var * n / (n - 1), rtol=1e-12)


def test_batch_norm_functional_eval_and_errors():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    rm, rv = mg.tensor([1.0, 1.0]), mg.tensor([4.0, 1.0])
    y = F.batch_norm(x, rm, rv, eps=0.0)
    np.testing.assert_allclose(y.numpy(), [[0.0, 1.0], [1.0, 3.0]])
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(2,\)"):
        F.batch_norm(x, rm, rv, weight=mg.ones(3))
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.batch_norm(mg.ones(3), None, None, training=True)
    y = F.batch_norm(x, None, None, training=True)  # no running stats to update
    np.testing.assert_allclose(y.numpy().mean(0), [0.0, 0.0], atol=1e-6)


def test_batch_norm_functional_gradcheck_and_double_backward():
    rng = _rng(7)
    x, w, b = (
        _leaf(rng.standard_normal((5, 3))),
        _leaf(rng.uniform(0.5, 2, 3)),
        _leaf(rng.standard_normal(3)),
    )

    def fn(a, ww, bb):
        return F.batch_norm(a, None, None, ww, bb, training=True)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@examples(25)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    k=st.integers(1, 3),
    data=st.data(),
)
def test_layer_norm_functional_matches_numpy(shape, k, data):
    k = min(k, len(shape))
    norm = shape[len(shape) - k :]
    x = data.draw(arrays(shape, np.float64))
    w = data.draw(arrays(norm, np.float64))
    b = data.draw(arrays(norm, np.float64))
    axes = tuple(range(len(shape) - k, len(shape)))
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    want = (x - mean) / np.sqrt(var + 1e-5) * w + b
    got = F.layer_norm(mg.tensor(x), norm, mg.tensor(w), mg.tensor(b))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-9)


def test_layer_norm_functional_matches_torch_and_gradchecks(torch):
    rng = _rng(8)
    x, w, b = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    )
    want = torch.nn.functional.layer_norm(
        torch.from_numpy(x), (3, 4), torch.from_numpy(w), torch.from_numpy(b), eps=1e-3
    )
    got = F.layer_norm(mg.tensor(x), (3, 4), mg.tensor(w), mg.tensor(b), eps=1e-3)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(
        lambda a, ww, bb: F.layer_norm(a, (4,), ww, bb),
        (_leaf(x[0]), _leaf(w[0]), _leaf(b[0])),
    )


def test_layer_norm_functional_errors():
    with pytest.raises(ValueError, match="does not end with"):
        F.layer_norm(mg.randn(2, 3), (2,))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.layer_norm(mg.randn(2, 3), 3, weight=mg.ones(2))


def test_embedding_functional_matches_torch_with_padding(torch):
    rng = _rng(9)
    w = rng.standard_normal((5, 3))
    idx = np.array([[0, 4, 4], [1, 0, 2]])
    wm, wt = _leaf(w), torch.from_numpy(w.copy()).requires_grad_(True)
    ym = F.embedding(mg.tensor(idx), wm, padding_idx=4)
    yt = torch.nn.functional.embedding(torch.from_numpy(idx), wt, padding_idx=4)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy())
    v = rng.standard_normal(ym.shape)
    (ym * mg.tensor(v)).sum().backward()
    (yt * torch.from_numpy(v)).sum().backward()
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy())


def test_embedding_functional_gradcheck():
    idx = mg.tensor([[0, 2], [2, 1]])
    assert gradcheck(
        lambda w: F.embedding(idx, w), (_leaf(_rng(10).standard_normal((3, 2))),)
    )


# -- regression losses in functional form --------------------------------------------


def test_mse_and_l1_functional_hand_computed():
    x, t = mg.tensor([1.0, -2.0, 3.0]), mg.tensor([0.0, 0.0, 1.0])
    assert F.mse_loss(x, t).item() == pytest.approx((1 + 4 + 4) / 3)
    assert F.mse_loss(x, t, reduction="sum").item() == pytest.approx(9.0)
    assert F.l1_loss(x, t, reduction="none").tolist() == [1.0, 2.0, 2.0]
    assert F.huber_loss(x, t, delta=1.0, reduction="sum").item() == pytest.approx(
        0.5 + 1.5 + 1.5
    )
    assert F.smooth_l1_loss(x, t, beta=2.0, reduction="none").tolist() == pytest.approx(
        [0.25, 1.0, 1.0]
    )
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, t, reduction="avg")


def test_cross_entropy_functional_spatial_matches_torch(torch):
    rng = _rng(11)
    x = rng.standard_normal((2, 4, 3))
    t = rng.integers(0, 4, (2, 3))
    want = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
    got = F.cross_entropy(mg.tensor(x), mg.tensor(t))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-10)


# -- gradient clipping ---------------------------------------------------------------


def _params_with_grads(grads):
    ps = []
    for g in grads:
        p = nn.Parameter(mg.zeros(*np.shape(g), dtype=mg.float64))
        p.grad = mg.tensor(np.asarray(g, dtype=np.float64))
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
def test_clip_grad_norm_hand_computed(norm_type):
    g1, g2 = np.array([3.0, -4.0]), np.array([[12.0]])
    ps = _params_with_grads([g1, g2])
    flat = np.concatenate([g1.ravel(), g2.ravel()])
    total = (
        np.abs(flat).max()
        if math.isinf(norm_type)
        else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    )
    out = clip_grad_norm_(ps, max_norm=2.0, norm_type=norm_type)
    assert out.item() == pytest.approx(total)
    coef = 2.0 / (total + 1e-6)
    np.testing.assert_allclose(ps[0].grad.numpy(), g1 * coef)
    np.testing.assert_allclose(ps[1].grad.numpy(), g2 * coef)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing():
    ps = _params_with_grads([[0.3, 0.4]])
    ps.append(nn.Parameter(mg.zeros(2)))  # no grad
    out = clip_grad_norm_(ps, max_norm=1.0)
    assert out.item() == pytest.approx(0.5)
    np.testing.assert_allclose(ps[0].grad.numpy(), [0.3, 0.4])
    assert clip_grad_norm_([nn.Parameter(mg.zeros(2))], 1.0).item() == 0.0
    single = _params_with_grads([[6.0, 8.0]])[0]
    clip_grad_norm_(single, 5.0)  # a lone Tensor is accepted
    np.testing.assert_allclose(single.grad.numpy(), [3.0, 4.0], rtol=1e-6)


def test_clip_grad_norm_nonfinite():
    ps = _params_with_grads([[np.inf, 1.0]])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    ps = _params_with_grads([[np.nan, 1.0]])
    assert math.isnan(clip_grad_norm_(ps, 1.0).item())
    assert np.isnan(ps[0].grad.numpy()).all()
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(ps, 1.0, norm_type=0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(torch, norm_type):
    rng = _rng(12)
    grads = [rng.standard_normal(s) * 5 for s in ((3, 4), (4,), (2, 2))]
    ps = _params_with_grads(grads)
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tps, grads):
        tp.grad = torch.from_numpy(g.copy())
    want = torch.nn.utils.clip_grad_norm_(tps, 1.5, norm_type=norm_type)
    got = clip_grad_norm_(ps, 1.5, norm_type=norm_type)
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_clamps_in_place():
    ps = _params_with_grads([[-3.0, 0.5, 2.0]])
    g = ps[0].grad
    clip_grad_value_(ps, 1.0)
    assert ps[0].grad is g
    np.testing.assert_array_equal(g.numpy(), [-1.0, 0.5, 1.0])
