"""Loss edge cases found by fuzzing, against torch: every combination of
reduction x class weight (incl. zeros) x label smoothing x ignore_index for
cross_entropy / nll_loss, label-smoothed losses that are never negative, and
weight / pos_weight broadcasting (0-d included) for the binary losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

WEIGHTS = ["none", "positive", "some zero", "zero on targets"]
IGNORES = ["none ignored", "one ignored", "all ignored"]


def _ce_case(shape, weight, ignore, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = () if len(shape) == 1 else (shape[0], *shape[2:])
    # Targets avoid the last class, so "zero on targets" leaves it a weight.
    t = rng.integers(0, c - 1, tshape)
    if ignore == "one ignored" and t.ndim:
        t.flat[0] = 1
    elif ignore == "all ignored":
        t[...] = 1
    w = {
        "none": None,
        "positive": rng.random(c) + 0.2,
        "some zero": np.where(np.arange(c) % 2 == 0, 0.0, rng.random(c) + 0.2),
        "zero on targets": np.where(np.arange(c) == c - 1, 1.5, 0.0),
    }[weight]
    ignore_index = -100 if ignore == "none ignored" else 1
    return x, t, w, ignore_index


def _grads_close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2), (4,)])
@pytest.mark.parametrize(
    ("red", "weight", "ls", "ignore"),
    list(itertools.product(["mean", "sum", "none"], WEIGHTS, [0.0, 0.1, 1.0], IGNORES)),
)
def test_cross_entropy_every_combination_matches_torch(shape, red, weight, ls, ignore):
    x, t, w, ii = _ce_case(shape, weight, ignore)
    xm = mg.tensor(x, requires_grad=True)
    out = F.cross_entropy(
        xm,
        mg.tensor(t),
        None if w is None else mg.tensor(w),
        ignore_index=ii,
        reduction=red,
        label_smoothing=ls,
    )
    xt = torch.tensor(x, requires_grad=True)
    ref = TF.cross_entropy(
        xt,
        torch.tensor(t),
        None if w is None else torch.tensor(w),
        ignore_index=ii,
        reduction=red,
        label_smoothing=ls,
    )
    np.testing.assert_allclose(
        out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12, equal_nan=True
    )
    g = np.random.default_rng(1).random(out.shape) + 0.5
    out.backward(mg.tensor(g))
    ref.backward(torch.tensor(g))
    _grads_close(xm.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2), (4,)])
@pytest.mark.parametrize(
    ("red", "weight", "ignore"),
    list(itertools.product(["mean", "sum", "none"], WEIGHTS, IGNORES)),
)
def test_nll_loss_every_combination_matches_torch(shape, red, weight, ignore):
    x, t, w, ii = _ce_case(shape, weight, ignore)
    out = F.nll_loss(
        mg.tensor(x),
        mg.tensor(t),
        None if w is None else mg.tensor(w),
        ignore_index=ii,
        reduction=red,
    )
    ref = TF.nll_loss(
        torch.tensor(x),
        torch.tensor(t),
        None if w is None else torch.tensor(w),
        ignore_index=ii,
        reduction=red,
    )
    np.testing.assert_allclose(
        out.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True
    )


def test_cross_entropy_mean_over_zero_total_weight_is_nan_as_in_torch():
    # Every target's class weight is 0: PyTorch's weighted mean is 0/0 = NaN,
    # with or without smoothing (the smoothing term's x/0 = inf adds to NaN).
    x = mg.tensor([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]])
    t = mg.tensor([0, 1])
    w = mg.tensor([0.0, 0.0, 1.0])
    for ls in (0.0, 0.1, 1.0):
        out = F.cross_entropy(x, t, w, label_smoothing=ls)
        assert np.isnan(out.item()), (ls, out.item())
        out = nn.CrossEntropyLoss(weight=w, label_smoothing=ls)(x, t)
        assert np.isnan(out.item()), (ls, out.item())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0.0, 1e3, 1e5, 1e7])
@pytest.mark.parametrize("c", [2, 10, 1000])
def test_label_smoothed_cross_entropy_is_never_negative(dtype, offset, c):
    # Confident rows (the target's logit far above the rest) on top of a large
    # common offset: the smoothing term Σ w_j·(lse - x_j) is a sum of terms
    # >= 0 and must not be computed as W·lse - Σ w_j·x_j (cancellation).
    rng = np.random.default_rng(c)
    n = 64
    x = offset + rng.standard_normal((n, c))
    t = rng.integers(0, c, n)
    x[np.arange(n), t] += rng.choice([0.0, 5.0, 40.0, 200.0], n)
    x = x.astype(dtype)
    weights = [None, rng.random(c).astype(dtype), np.eye(c, dtype=dtype)[0]]
    for w, ls in itertools.product(weights, [1e-3, 0.1, 1.0]):
        out = F.cross_entropy(
            mg.tensor(x),
            mg.tensor(t),
            None if w is None else mg.tensor(w),
            reduction="none",
            label_smoothing=ls,
        ).numpy()
        assert (out >= 0).all(), out.min()
        ref = TF.cross_entropy(
            torch.tensor(x),
            torch.tensor(t),
            None if w is None else torch.tensor(w),
            reduction="none",
            label_smoothing=ls,
        ).numpy()
        # Both round lse to the precision of the logits' magnitude.
        atol = 4 * float(np.spacing(dtype(offset + 200.0)))
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=atol)


# -- binary losses: weight and pos_weight broadcasting ------------------------

BIN_CASES = [
    # (input shape, weight shape)
    ((), ()),
    ((4,), ()),
    ((4,), (1,)),
    ((4,), (4,)),
    ((3, 4), ()),
    ((3, 4), (4,)),
    ((3, 4), (3, 1)),
    ((3, 4), (1, 1)),
    ((2, 3, 4), (3, 4)),
]


@pytest.mark.parametrize(("xshape", "wshape"), BIN_CASES)
@pytest.mark.parametrize("wdtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("red", ["mean", "sum", "none"])
def test_binary_cross_entropy_weight_broadcasts_as_in_torch(
    xshape, wshape, wdtype, red
):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.05, 0.95, xshape)
    t = (rng.random(xshape) > 0.5).astype(np.float64)
    w = (rng.random(wshape) * 3 + 1).astype(wdtype)
    xm = mg.tensor(x, requires_grad=True)
    out = F.binary_cross_entropy(xm, mg.tensor(t), weight=mg.tensor(w), reduction=red)
    xt = torch.tensor(x, requires_grad=True)
    ref = TF.binary_cross_entropy(
        xt, torch.tensor(t), weight=torch.tensor(w), reduction=red
    )
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    mod = nn.BCELoss(weight=mg.tensor(w), reduction=red)
    np.testing.assert_allclose(
        mod(mg.tensor(x), mg.tensor(t)).numpy(), ref.detach().numpy(), rtol=1e-10
    )


@pytest.mark.parametrize(("xshape", "wshape"), BIN_CASES)
@pytest.mark.parametrize("which", ["weight", "pos_weight", "both"])
@pytest.mark.parametrize("wdtype", [np.float64, np.int64])
@pytest.mark.parametrize("red", ["mean", "sum", "none"])
def test_bce_with_logits_weights_broadcast_as_in_torch(
    xshape, wshape, which, wdtype, red
):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xshape) * 3
    t = rng.random(xshape)
    w = (rng.random(wshape) * 3 + 1).astype(wdtype)
    kw_m, kw_t = {}, {}
    if which in ("weight", "both"):
        kw_m["weight"], kw_t["weight"] = mg.tensor(w), torch.tensor(w)
    if which in ("pos_weight", "both"):
        kw_m["pos_weight"], kw_t["pos_weight"] = mg.tensor(w), torch.tensor(w)
    xm = mg.tensor(x, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(xm, mg.tensor(t), reduction=red, **kw_m)
    xt = torch.tensor(x, requires_grad=True)
    ref = TF.binary_cross_entropy_with_logits(
        xt, torch.tensor(t), reduction=red, **kw_t
    )
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    mod = nn.BCEWithLogitsLoss(reduction=red, **kw_m)
    np.testing.assert_allclose(
        mod(mg.tensor(x), mg.tensor(t)).numpy(), ref.detach().numpy(), rtol=1e-10
    )
