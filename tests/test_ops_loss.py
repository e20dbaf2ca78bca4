"""Losses (minigrad.ops.loss): fused paths against torch and against their
composite twins, gradcheck / gradgradcheck, invariants and validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.ops import loss as L
from tests.helpers import examples

REDS = ["mean", "sum", "none"]


def _leaf(arr, dtype=np.float64):
    return mg.tensor(arr, dtype=dtype, requires_grad=True)


def _case(shape, seed=0, ignore=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = () if len(shape) == 1 else (shape[0], *shape[2:])
    t = rng.integers(0, c, tshape)
    if ignore and t.ndim:
        t.flat[0] = -100
    w = rng.random(c) + 0.2
    return x, t, w


SHAPES = [(5, 4), (3, 4, 2), (2, 3, 2, 2), (4,)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.3])
def test_cross_entropy_matches_torch(shape, red, weighted, ls):
    torch = pytest.importorskip("torch")
    x, t, w = _case(shape)
    xm = _leaf(x)
    out = L.cross_entropy(
        xm,
        mg.tensor(t),
        mg.tensor(w) if weighted else None,
        reduction=red,
        label_smoothing=ls,
    )
    xt = torch.tensor(x, requires_grad=True)
    ot = torch.nn.functional.cross_entropy(
        xt,
        torch.tensor(t),
        torch.tensor(w) if weighted else None,
        reduction=red,
        label_smoothing=ls,
    )
    np.testing.assert_allclose(out.numpy(), ot.detach().numpy(), rtol=1e-10)
    g = np.random.default_rng(1).standard_normal(ot.shape)
    out.backward(mg.tensor(g))
    ot.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    if ls == 0.0:
        lp = _leaf(x)
        o2 = L.nll_loss(
            lp, mg.tensor(t), mg.tensor(w) if weighted else None, reduction=red
        )
        lt = torch.tensor(x, requires_grad=True)
        ot2 = torch.nn.functional.nll_loss(
            lt, torch.tensor(t), torch.tensor(w) if weighted else None, reduction=red
        )
        np.testing.assert_allclose(o2.numpy(), ot2.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("red", REDS)
def test_cross_entropy_prob_targets_match_torch(red):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, q, w = rng.standard_normal((4, 5)), rng.random((4, 5)), rng.random(5)
    xm, qm = _leaf(x), _leaf(q)
    out = L.cross_entropy(xm, qm, mg.tensor(w), reduction=red, label_smoothing=0.1)
    xt, qt = torch.tensor(x, requires_grad=True), torch.tensor(q, requires_grad=True)
    ot = torch.nn.functional.cross_entropy(
        xt, qt, torch.tensor(w), reduction=red, label_smoothing=0.1
    )
    np.testing.assert_allclose(out.numpy(), ot.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ot.sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(qm.grad.numpy(), qt.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("red", REDS)
def test_bce_losses_match_torch(red):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((3, 4)) * 30, rng.random((3, 4))
    w, pw = rng.random((3, 1)), rng.random(4) + 0.5
    xm, tm = _leaf(x), _leaf(t)
    out = L.binary_cross_entropy_with_logits(xm, tm, mg.tensor(w), red, mg.tensor(pw))
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    ot = F.binary_cross_entropy_with_logits(
        xt, tt, torch.tensor(w), reduction=red, pos_weight=torch.tensor(pw)
    )
    np.testing.assert_allclose(out.numpy(), ot.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ot.sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(tm.grad.numpy(), tt.grad.numpy(), rtol=1e-10)
    p = np.clip(1 / (1 + np.exp(-x / 30)), 0, 1)
    p[0, :2] = [0.0, 1.0]
    pm, tm = _leaf(p), _leaf(t)
    out = L.binary_cross_entropy(pm, tm, mg.tensor(w), red)
    pt, tt = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
    ot = F.binary_cross_entropy(pt, tt, torch.tensor(w), reduction=red)
    np.testing.assert_allclose(out.numpy(), ot.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ot.sum().backward()
    np.testing.assert_allclose(pm.grad.numpy(), pt.grad.numpy(), rtol=1e-7)
    np.testing.assert_allclose(tm.grad.numpy(), tt.grad.numpy(), rtol=1e-10)


@examples(25, deadline=None)
@given(
    shape=st.sampled_from([*SHAPES, (1, 1), (6, 3)]),
    red=st.sampled_from(REDS),
    weighted=st.booleans(),
    ls=st.sampled_from([0.0, 0.25]),
    seed=st.integers(0, 1000),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_cross_entropy_fused_matches_composite(shape, red, weighted, ls, seed, dtype):
    x, t, w = _case(shape, seed, ignore=seed % 2 == 0)
    wt = mg.tensor(w, dtype=dtype) if weighted else None
    a, b = _leaf(x, dtype), _leaf(x, dtype)
    fa = L.cross_entropy(a, mg.tensor(t), wt, reduction=red, label_smoothing=ls)
    fb = L.cross_entropy_composite(
        b, mg.tensor(t), wt, reduction=red, label_smoothing=ls
    )
    # atol: with one class the loss and gradient are exactly 0 by either
    # formula only up to rounding (the kernel fuses a·b - c into an FMA).
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    if dtype == np.float64:
        tol["atol"] = 1e-14
    np.testing.assert_allclose(fa.numpy(), fb.numpy(), **tol)
    assert fa.dtype == dtype
    assert fa.shape == fb.shape
    fa.sum().backward()
    fb.sum().backward()
    if red == "mean" and np.all(t == -100):
        # 0 / 0: the loss is NaN and, as in PyTorch, the fused gradient is 0
        # (the composite's is NaN).
        assert np.all(a.grad.numpy() == 0)
        return
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    na, nb = _leaf(x, dtype), _leaf(x, dtype)
    la = L.nll_loss(na, mg.tensor(t), wt, reduction=red)
    lb = L.nll_loss_composite(nb, mg.tensor(t), wt, reduction=red)
    np.testing.assert_allclose(la.numpy(), lb.numpy(), **tol)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(na.grad.numpy(), nb.grad.numpy(), **tol)


@pytest.mark.parametrize("red", REDS)
def test_bce_fused_matches_composite(red):
    rng = np.random.default_rng(4)
    x, t, w = rng.standard_normal((5, 3)) * 5, rng.random((5, 3)), rng.random(3)
    for fused, comp, arr in (
        (
            L.binary_cross_entropy_with_logits,
            L.binary_cross_entropy_with_logits_composite,
            x,
        ),
        (
            L.binary_cross_entropy,
            L.binary_cross_entropy_composite,
            1 / (1 + np.exp(-x)),
        ),
    ):
        a, b, ta, tb = _leaf(arr), _leaf(arr), _leaf(t), _leaf(t)
        fa, fb = fused(a, ta, mg.tensor(w), red), comp(b, tb, mg.tensor(w), red)
        np.testing.assert_allclose(fa.numpy(), fb.numpy(), rtol=1e-12)
        fa.sum().backward()
        fb.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose(ta.grad.numpy(), tb.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy_gradcheck_and_gradgradcheck(red, ls):
    x, t, w = _case((4, 3, 2), 5)
    for wt in (None, mg.tensor(w)):

        def f(a, wt=wt):
            return L.cross_entropy(
                a, mg.tensor(t), wt, reduction=red, label_smoothing=ls
            )

        assert gradcheck(f, (_leaf(x),))
        assert gradgradcheck(f, (_leaf(x),))

        def g(a, wt=wt):
            return L.nll_loss(a, mg.tensor(t), wt, reduction=red)

        assert gradcheck(g, (_leaf(x),))
        assert gradgradcheck(g, (_leaf(x),))


@pytest.mark.parametrize("red", REDS)
def test_bce_gradcheck_and_gradgradcheck(red):
    rng = np.random.default_rng(6)
    p, t = rng.random((3, 4)) * 0.8 + 0.1, rng.random((3, 4))
    w, pw = mg.tensor(rng.random((3, 1))), mg.tensor(rng.random(4) + 0.5)

    def bce(a, b):
        return L.binary_cross_entropy(a, b, w, red)

    def bcel(a, b):
        return L.binary_cross_entropy_with_logits(a * 10.0, b, w, red, pw)

    for f in (bce, bcel):
        assert gradcheck(f, (_leaf(p), _leaf(t)))
        assert gradgradcheck(f, (_leaf(p), _leaf(t)))


def test_cross_entropy_invariants():
    x, t, _ = _case((6, 5), 7, ignore=False)
    x = x * 1e3
    loss = L.cross_entropy(mg.tensor(x), mg.tensor(t), reduction="none").numpy()
    assert np.all(np.isfinite(loss))
    assert np.all(loss >= 0)
    xm = _leaf(x)
    out = L.cross_entropy(xm, mg.tensor(t), reduction="none")
    out.backward(mg.zeros(6, dtype=np.float64))
    assert np.all(xm.grad.numpy() == 0)
    # Every target ignored: the weighted mean is 0 / 0, NaN as in PyTorch.
    ign = L.cross_entropy(mg.tensor(x), mg.tensor(np.full(6, -100)))
    assert np.isnan(ign.item())
    big = L.binary_cross_entropy_with_logits(
        mg.tensor([1e4, -1e4]), mg.tensor([0.0, 1.0])
    )
    assert np.isfinite(big.item())


def test_cross_entropy_float32_and_noncontiguous():
    x, t, _ = _case((4, 6), 8)
    base = _leaf(np.ascontiguousarray(x.T), np.float32)
    out = L.cross_entropy(base.T, mg.tensor(t))
    ref = L.cross_entropy_composite(mg.tensor(x, dtype=np.float32), mg.tensor(t))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5)
    out.backward()
    assert base.grad.shape == (6, 4)


def test_loss_validation():
    x = mg.tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="cross_entropy: input must be a Tensor"):
        L.cross_entropy(np.zeros((2, 3)), mg.tensor([0, 1]))
    with pytest.raises(TypeError, match="cross_entropy: input must be a floating"):
        L.cross_entropy(mg.tensor([[1, 2]]), mg.tensor([0]))
    with pytest.raises(TypeError, match="target must hold integer class indices"):
        L.cross_entropy(x, mg.tensor([0.0, 1.0]))
    with pytest.raises(
        ValueError, match=r"target shape \(3,\) does not match input shape \(2, 3\)"
    ):
        L.cross_entropy(x, mg.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        L.cross_entropy(x, mg.tensor([0, 3]))
    with pytest.raises(ValueError, match="target -2 is out of bounds"):
        L.nll_loss(x, mg.tensor([0, -2]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        L.cross_entropy(x, mg.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        L.cross_entropy(x, mg.tensor([0, 1]), label_smoothing=-0.1)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        L.cross_entropy(x, mg.tensor([0, 1]), weight=mg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="weight must be a floating tensor"):
        L.cross_entropy(x, mg.tensor([0, 1]), weight=mg.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="ignore_index is not supported"):
        L.cross_entropy(x, mg.tensor(np.zeros((2, 3))), ignore_index=1)
    with pytest.raises(ValueError, match="at least 1 dim"):
        L.cross_entropy(mg.tensor(1.0), mg.tensor(0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        L.binary_cross_entropy(mg.tensor([1.5]), mg.tensor([1.0]))
    with pytest.raises(
        ValueError, match=r"target shape \(2,\) must equal input shape \(1,\)"
    ):
        L.binary_cross_entropy(mg.tensor([0.5]), mg.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="target must be a floating tensor"):
        L.binary_cross_entropy_with_logits(mg.tensor([0.5]), mg.tensor([1]))
    with pytest.raises(ValueError, match="pos_weight shape"):
        L.binary_cross_entropy_with_logits(
            x, mg.tensor(np.ones((2, 3))), pos_weight=mg.tensor([1.0, 2.0])
        )
    with pytest.raises(ValueError, match="weight shape"):
        L.binary_cross_entropy(
            mg.tensor([0.5]), mg.tensor([1.0]), weight=mg.tensor([1.0, 2.0])
        )


@pytest.mark.parametrize(
    "bce", [L.binary_cross_entropy, L.binary_cross_entropy_composite]
)
def test_bce_of_saturated_float32_sigmoid_is_finite(bce):
    # A float32 sigmoid saturates to exactly 0 or 1 (|z| >~ 17 and 88): the
    # loss is PyTorch's (each log clamped at -100), gradients finite, no NaN.
    torch = pytest.importorskip("torch")
    z = np.array([[1000.0], [-1000.0], [0.0], [20.0], [-20.0], [17.0]], np.float32)
    y = np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]], np.float32)
    x = mg.tensor(z, requires_grad=True)
    p = mg.nn.functional.sigmoid(x)
    assert p.numpy()[0, 0] == 1.0
    assert p.numpy()[1, 0] == 0.0
    loss = bce(p, mg.tensor(y))
    loss.backward()
    xt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.binary_cross_entropy(torch.sigmoid(xt), torch.tensor(y))
    lt.backward()
    assert np.isfinite(loss.item())
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-8)
    # At exactly 0 / 1 the fused gradient is PyTorch's (x - t) / 1e-12.
    if bce is L.binary_cross_entropy:
        pm = _leaf(np.array([0.0, 1.0, 0.0, 1.0]), np.float32)
        tm = mg.tensor(np.array([1.0, 0.0, 0.0, 1.0], np.float32))
        out = bce(pm, tm, reduction="sum")
        out.backward()
        np.testing.assert_allclose(out.item(), 200.0)
        np.testing.assert_allclose(pm.grad.numpy(), [-1e12, 1e12, 0, 0], rtol=1e-6)


@pytest.mark.parametrize("red", REDS)
def test_fused_losses_rescale_retain_and_double_use(red):
    # The gradient computed in the forward (Note [Gradient in the forward]) is
    # rescaled by the upstream gradient, and recomputed on a second backward.
    rng = np.random.default_rng(9)
    x, t, w = _case((5, 4), 10)
    p, pt = rng.random((5, 4)) * 0.9 + 0.05, rng.random((5, 4))
    cases = (
        (lambda a: L.cross_entropy(a, mg.tensor(t), mg.tensor(w), reduction=red), x),
        (lambda a: L.binary_cross_entropy(a, mg.tensor(pt), reduction=red), p),
        (
            lambda a: L.binary_cross_entropy_with_logits(
                a, mg.tensor(pt), reduction=red, pos_weight=mg.tensor(w)
            ),
            x,
        ),
    )
    for f, arr in cases:
        ref = _leaf(arr)
        (f(ref) * 1.0).sum().backward()  # reference: through a Mul node
        a = _leaf(arr)
        out = f(a)
        g = mg.tensor(np.full(out.shape, 3.0))
        out.backward(g, retain_graph=True)
        np.testing.assert_allclose(a.grad.numpy(), 3 * ref.grad.numpy(), rtol=1e-12)
        out.backward(g)  # recomputed: the first backward took the buffer
        np.testing.assert_allclose(a.grad.numpy(), 6 * ref.grad.numpy(), rtol=1e-12)
        b = _leaf(arr)
        f(b).sum().backward()
        np.testing.assert_allclose(b.grad.numpy(), ref.grad.numpy(), rtol=1e-12)


def test_fused_loss_sees_in_place_change_of_input():
    x, t, _ = _case((3, 4), 11)
    a = _leaf(x)
    h = a * 1.0
    out = L.cross_entropy(h, mg.tensor(t))
    h.data[...] = 0  # not through the version counter: nothing to see
    with mg.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.backward()


def test_cross_entropy_int32_targets_and_no_grad():
    x, t, _ = _case((6, 5), 12)
    ref = L.cross_entropy(mg.tensor(x), mg.tensor(t))
    out = L.cross_entropy(mg.tensor(x), mg.tensor(t.astype(np.int32)))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    with mg.no_grad():
        a = _leaf(x)
        out = L.cross_entropy(a, mg.tensor(t))
    assert out.grad_fn is None
    assert not out.requires_grad
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
