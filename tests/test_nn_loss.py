"""nn losses: every loss with every reduction against a hand computation and
torch, gradcheck in float64, and the modules' options and errors."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.autograd import gradcheck

REDUCTIONS = ("mean", "sum", "none")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _reduce(loss, reduction):
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def _log_softmax(x, axis=1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


# -- hand-computed references (numpy) --------------------------------------------


def _ref_mse(x, t, r):
    return _reduce((x - t) ** 2, r)


def _ref_l1(x, t, r):
    return _reduce(np.abs(x - t), r)


def _ref_smooth_l1(x, t, r, beta=0.5):
    d = np.abs(x - t)
    return _reduce(np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta), r)


def _ref_huber(x, t, r, delta=0.7):
    d = np.abs(x - t)
    return _reduce(np.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta)), r)


def _ref_bce(p, t, r, w=None):
    loss = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log1p(-p), -100))
    return _reduce(loss * (1 if w is None else w), r)


def _ref_bce_logits(z, t, r, w=None, pw=None):
    log_sig = -np.logaddexp(0, -z)
    log_one_minus = -np.logaddexp(0, z)
    pw = 1 if pw is None else pw
    loss = -(pw * t * log_sig + (1 - t) * log_one_minus)
    return _reduce(loss * (1 if w is None else w), r)


def _ref_nll(logp, t, r, w=None, ignore=-100):
    n, c = logp.shape
    w = np.ones(c) if w is None else w
    valid = t != ignore
    tt = np.where(valid, t, 0)
    wt = w[tt] * valid
    loss = -logp[np.arange(n), tt] * wt
    if r == "mean":
        return loss.sum() / wt.sum()
    return _reduce(loss, r)


def _ref_ce(x, t, r, w=None, ignore=-100, eps=0.0):
    logp = _log_softmax(x)
    n, c = x.shape
    wv = np.ones(c) if w is None else w
    valid = t != ignore
    tt = np.where(valid, t, 0)
    nll = -logp[np.arange(n), tt] * wv[tt] * valid
    smooth = -(logp * wv).sum(1) * valid
    loss = (1 - eps) * nll + eps / c * smooth
    if r == "mean":
        return loss.sum() / (wv[tt] * valid).sum()
    return _reduce(loss, r)


def _ref_ce_probs(x, p, r, eps=0.0):
    c = x.shape[1]
    p = p * (1 - eps) + eps / c
    return _reduce(-(p * _log_softmax(x)).sum(1), r)


# -- the cases: (module factory(nn, torch-or-mg), input, target, reference) -----------


def _case(name):
    rng = _rng(CASES.index(name))
    x = rng.uniform(-2, 2, (5, 3))
    t = rng.uniform(-2, 2, (5, 3))
    t = np.where(np.abs(x - t) < 0.05, t + 0.3, t)  # away from the |d| kinks
    p = rng.uniform(0.05, 0.95, (5, 3))
    b = rng.uniform(0, 1, (5, 3))
    w3 = np.array([0.5, 2.0, 1.5])
    labels = np.array([0, 2, 1, 2, 0])
    ign = np.array([0, 2, -100, 2, 1])
    cases = {
        "mse": (lambda m, T: m.MSELoss, {}, x, t, _ref_mse),
        "l1": (lambda m, T: m.L1Loss, {}, x, t, _ref_l1),
        "smooth_l1": (
            lambda m, T: m.SmoothL1Loss,
            {"beta": 0.5},
            x,
            t,
            lambda a, b_, r: _ref_smooth_l1(a, b_, r, 0.5),
        ),
        "huber": (
            lambda m, T: m.HuberLoss,
            {"delta": 0.7},
            x,
            t,
            lambda a, b_, r: _ref_huber(a, b_, r, 0.7),
        ),
        "bce": (lambda m, T: m.BCELoss, {}, p, b, _ref_bce),
        "bce_weight": (
            lambda m, T: m.BCELoss,
            {"weight": w3},
            p,
            b,
            lambda a, b_, r: _ref_bce(a, b_, r, w3),
        ),
        "bce_logits": (lambda m, T: m.BCEWithLogitsLoss, {}, x * 3, b, _ref_bce_logits),
        "bce_logits_pos_weight": (
            lambda m, T: m.BCEWithLogitsLoss,
            {"weight": w3[::-1].copy(), "pos_weight": w3},
            x * 3,
            b,
            lambda a, b_, r: _ref_bce_logits(a, b_, r, w3[::-1], w3),
        ),
        "ce": (lambda m, T: m.CrossEntropyLoss, {}, x, labels, _ref_ce),
        "ce_weight_ignore": (
            lambda m, T: m.CrossEntropyLoss,
            {"weight": w3, "ignore_index": -100},
            x,
            ign,
            lambda a, b_, r: _ref_ce(a, b_, r, w3),
        ),
        "ce_smoothing": (
            lambda m, T: m.CrossEntropyLoss,
            {"weight": w3, "label_smoothing": 0.2, "ignore_index": 1},
            x,
            labels,
            lambda a, b_, r: _ref_ce(a, b_, r, w3, ignore=1, eps=0.2),
        ),
        "ce_probs": (
            lambda m, T: m.CrossEntropyLoss,
            {"label_smoothing": 0.1},
            x,
            _softmax_rows(t),
            lambda a, b_, r: _ref_ce_probs(a, b_, r, 0.1),
        ),
        "nll": (lambda m, T: m.NLLLoss, {}, _log_softmax(x), labels, _ref_nll),
        "nll_weight_ignore": (
            lambda m, T: m.NLLLoss,
            {"weight": w3, "ignore_index": 2},
            _log_softmax(x),
            labels,
            lambda a, b_, r: _ref_nll(a, b_, r, w3, ignore=2),
        ),
    }
    return cases[name]


def _softmax_rows(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


CASES = [
    "mse",
    "l1",
    "smooth_l1",
    "huber",
    "bce",
    "bce_weight",
    "bce_logits",
    "bce_logits_pos_weight",
    "ce",
    "ce_weight_ignore",
    "ce_smoothing",
    "ce_probs",
    "nll",
    "nll_weight_ignore",
]


def _mg_kwargs(kw):
    return {
        k: (mg.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()
    }


def _mg_target(t):
    return mg.tensor(t)  # float64 or int64, as given


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_loss_matches_hand_computation(name, reduction):
    factory, kw, x, t, ref = _case(name)
    loss = factory(nn, None)(reduction=reduction, **_mg_kwargs(kw))
    out = loss(mg.tensor(x), _mg_target(t))
    np.testing.assert_allclose(
        out.numpy(), ref(x, t, reduction), rtol=1e-10, atol=1e-12
    )
    assert out.dtype == np.float64
    if reduction != "none":
        assert out.shape == ()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_loss_matches_torch_values_and_grads(torch, name, reduction):
    factory, kw, x, t, _ = _case(name)
    mine = factory(nn, None)(reduction=reduction, **_mg_kwargs(kw))
    theirs = factory(torch.nn, None)(
        reduction=reduction,
        **{
            k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
            for k, v in kw.items()
        },
    )
    xm = mg.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    out_m = mine(xm, _mg_target(t))
    out_t = theirs(xt, torch.from_numpy(t.copy()))
    np.testing.assert_allclose(
        out_m.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    v = np.asarray(_rng(7).standard_normal(out_m.shape) + 1.0)
    (out_m * mg.tensor(v)).sum().backward()
    (out_t * torch.from_numpy(v)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_loss_gradcheck_float64(name):
    factory, kw, x, t, _ = _case(name)
    loss = factory(nn, None)(reduction="mean", **_mg_kwargs(kw))
    target = _mg_target(t)
    assert gradcheck(lambda a: loss(a, target), (mg.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("name", ["mse", "l1", "bce", "bce_logits"])
def test_loss_gradcheck_wrt_float_target(name):
    factory, kw, x, t, _ = _case(name)
    loss = factory(nn, None)(reduction="sum", **_mg_kwargs(kw))
    xs = mg.tensor(x)
    assert gradcheck(lambda b: loss(xs, b), (mg.tensor(t, requires_grad=True),))


# -- module specifics ----------------------------------------------------------------


def test_loss_weight_buffers_are_in_state_dict():
    w = mg.tensor([1.0, 2.0])
    assert list(nn.CrossEntropyLoss(weight=w).state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    sd = nn.BCEWithLogitsLoss(pos_weight=w).state_dict()
    assert list(sd) == ["pos_weight"]


def test_loss_rejects_unknown_reduction():
    for cls in (nn.MSELoss, nn.L1Loss, nn.CrossEntropyLoss, nn.NLLLoss, nn.BCELoss):
        with pytest.raises(ValueError, match="reduction"):
            cls(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


def test_mse_warns_on_broadcast_and_rejects_incompatible_shapes():
    x = mg.randn(4, 1)
    with pytest.warns(UserWarning, match=r"target shape \(4,\) differs"):
        out = nn.MSELoss(reduction="none")(x, mg.randn(4))
    assert out.shape == (4, 4)
    with pytest.raises(ValueError, match="does not broadcast"):
        nn.MSELoss()(mg.randn(4, 2), mg.randn(3))
    with pytest.raises(TypeError, match="floating"):
        nn.L1Loss()(mg.tensor([1, 2]), mg.tensor([1, 2]))


def test_cross_entropy_class_targets_out_of_range():
    with pytest.raises(IndexError, match="out of bounds"):
        nn.CrossEntropyLoss()(mg.randn(2, 3), mg.tensor([0, 3]))


def test_cross_entropy_is_nonnegative_and_zero_for_confident_correct():
    logits = mg.tensor([[100.0, 0.0, 0.0], [0.0, 0.0, 100.0]])
    loss = nn.CrossEntropyLoss()(logits, mg.tensor([0, 2]))
    assert 0.0 <= loss.item() < 1e-6


def test_bce_of_sigmoid_equals_bce_with_logits():
    z = mg.tensor(_rng(3).uniform(-4, 4, 10))
    t = mg.tensor(_rng(4).integers(0, 2, 10).astype(np.float64))
    a = nn.BCELoss()(z.sigmoid(), t)
    b = nn.BCEWithLogitsLoss()(z, t)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-10)


def test_smooth_l1_with_beta_zero_is_l1():
    x, t = mg.randn(6), mg.randn(6)
    np.testing.assert_allclose(
        nn.SmoothL1Loss(beta=0.0)(x, t).item(), nn.L1Loss()(x, t).item(), rtol=1e-6
    )
