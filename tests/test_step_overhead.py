"""The fast paths of a small network's training step (issue 16) agree with the
general ones: Sum's unrecorded backward with its recorded form, Adam's gathered
fused step with the numpy reference, CrossEntropyLoss's direct call with
F.cross_entropy; hooks, train/eval, requires_grad=False and no_grad still
behave. The PyTorch comparisons are in test_step_overhead_torch.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn, optim
from minigrad._C import _optim
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.errors import ArgumentError
from tests.helpers import examples

shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def shape_and_dims(draw):
    shape = draw(shapes)
    nd = len(shape)
    if nd == 0 or draw(st.booleans()):
        return shape, None
    picked = draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd))
    dims = tuple(sorted({d % nd for d in picked}))
    # negative dims as the user may give them
    return shape, tuple(d - nd if draw(st.booleans()) else d for d in dims)


@examples(40)
@given(shape_and_dims(), st.booleans(), st.sampled_from([np.float32, np.float64]))
def test_sum_backward_fast_matches_recorded(sd, keepdim, dtype):
    """The unrecorded backward (a fill) and the recorded one (reshape + expand,
    run by create_graph=True) give the same gradient, shape and dtype."""
    shape, dims = sd
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(dtype)
    x = mg.tensor(a, requires_grad=True)
    y = x.sum(dims, keepdim=keepdim) if dims is not None else x.sum()
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(mg.tensor(g), retain_graph=True)
    fast = x.grad
    x.grad = None
    y.backward(mg.tensor(g), create_graph=True)
    slow = x.grad
    assert fast.dtype == slow.dtype == dtype
    assert fast.shape == slow.shape == shape
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    kept = tuple(
        1 if dims is None or i in [d % len(shape) for d in dims] else s
        for i, s in enumerate(shape)
    )
    np.testing.assert_array_equal(fast.numpy(), np.broadcast_to(g.reshape(kept), shape))


@examples(20)
@given(shape_and_dims(), st.booleans())
def test_sum_gradcheck_and_gradgradcheck(sd, keepdim):
    shape, dims = sd
    x = mg.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)

    def f(t):
        return (t.sum(dims, keepdim=keepdim) if dims is not None else t.sum()) * 1.5

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_sum_backward_gradient_is_an_own_contiguous_array():
    """The leaf takes the gradient as it is (no copy, writeable, contiguous),
    and the next backward reads it as a normal array."""
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x.sum().backward()
    gd = x.grad.numpy()
    assert gd.flags.c_contiguous
    assert gd.flags.writeable
    assert gd.flags.owndata
    np.testing.assert_array_equal(gd, np.ones((2, 3)))
    x.grad = None
    (x.relu() * 2).sum(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 2, 2], [2, 2, 2]])


def test_sum_double_backward_hvp():
    """Gradients of gradients through sum: d/dx Σ (d/dx Σ x³) = 6x."""
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (g,) = mg.autograd.grad((x**3).sum(), [x], create_graph=True)
    (h,) = mg.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_sum_hooks_and_no_grad():
    x = mg.tensor(np.ones((2, 2)), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 3)
    x.sum().backward()
    np.testing.assert_array_equal(seen[0], np.ones((2, 2)))
    np.testing.assert_array_equal(x.grad.numpy(), 3 * np.ones((2, 2)))
    with mg.no_grad():
        y = x.sum()
    assert y.grad_fn is None
    assert not y.requires_grad
    assert float(y.item()) == 4.0


# -- Adam's fused step ---------------------------------------------------------


def _mlp(seed, dtype=np.float64):
    mg.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 4, dtype=dtype), nn.ReLU(), nn.Linear(4, 3, dtype=dtype)
    )


def _train(fused, amsgrad_from=None, steps=4, freeze_bias=False, wd=0.0):
    model = _mlp(0)
    if freeze_bias:
        model[2].bias.requires_grad_(False)
    opt = optim.Adam(model.parameters(), lr=0.05, weight_decay=wd, fused=fused)
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((6, 5)))
    y = mg.tensor(rng.integers(0, 3, 6))
    lf = nn.CrossEntropyLoss()
    versions = []
    for i in range(steps):
        if amsgrad_from is not None and i == amsgrad_from:
            opt.param_groups[0]["amsgrad"] = True  # state then lacks a moment
        opt.zero_grad()
        lf(model(x), y).backward()
        opt.step()
        versions.append([p._version[0] for p in model.parameters()])
    return model, opt, versions


@pytest.mark.parametrize("amsgrad_from", [None, 2])
@pytest.mark.parametrize("freeze_bias", [False, True])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_fused_matches_numpy_reference(amsgrad_from, freeze_bias, wd):
    """Bit-equal in float64, state included, over several steps; a moment the
    state lacks (amsgrad switched on) is created as the numpy path does."""
    ref, ropt, rv = _train(False, amsgrad_from, freeze_bias=freeze_bias, wd=wd)
    new, nopt, nv = _train(None, amsgrad_from, freeze_bias=freeze_bias, wd=wd)
    for a, b in zip(ref.parameters(), new.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for p, q in zip(ref.parameters(), new.parameters()):
        sa, sb = ropt.state[p], nopt.state[q]
        assert list(sa) == list(sb)
        assert sa.get("step") == sb.get("step")
        for k in sa:
            if k != "step":
                np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy())
    assert rv == nv  # every update bumps each updated parameter's version once


def test_adam_fused_step_bumps_versions_and_catches_in_place_use():
    w = nn.Parameter(np.ones(3))
    opt = optim.Adam([w], lr=0.1)
    y = (w * w).sum()  # saves w
    w.grad = mg.tensor(np.ones(3))
    before = w._version[0]
    opt.step()
    assert w._version[0] == before + 1
    with pytest.raises(RuntimeError):
        y.backward()


def test_adam_state_replaced_by_user_is_used():
    """No cache between steps: a moment replaced in ``opt.state`` is read."""
    w = nn.Parameter(np.zeros(2))
    opt = optim.Adam([w], lr=1.0)
    w.grad = mg.tensor(np.ones(2))
    opt.step()
    opt.state[w]["exp_avg"] = mg.tensor(np.array([0.0, 100.0]))
    opt.step()
    assert opt.state[w]["exp_avg"].numpy()[1] == pytest.approx(90.1)
    assert opt.state[w]["step"] == 2


def test_optim_kernel_messages_and_step_checks():
    p, g = np.zeros(3), np.ones(3)
    hp = (0.1, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    with pytest.raises(TypeError, match=r"state1\[0\]"):
        _optim.step("adam", [p], [g], [np.zeros(3)], [np.zeros(3, np.float32)],
                    None, [1], None, hp)  # fmt: skip
    for bad in (True, 0, 1.0):
        with pytest.raises(ArgumentError, match="steps"):
            _optim.step("adam", [p], [g], [np.zeros(3)], [np.zeros(3)], None,
                        [bad], None, hp)  # fmt: skip
    _optim.step("adam", [p], [g], [np.zeros(3)], [np.zeros(3)], None,
                [np.int64(2)], None, hp)  # fmt: skip
    assert np.all(p < 0)


# -- CrossEntropyLoss ----------------------------------------------------------


@examples(20)
@given(
    st.integers(0, 5),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from(["mean", "sum", "none"]),
    st.sampled_from([0.0, 0.2]),
)
def test_cross_entropy_loss_module_matches_functional(n, c, weighted, red, ls):
    rng = np.random.default_rng(n * 10 + c)
    a = rng.standard_normal((n, c))
    t = mg.tensor(rng.integers(0, c, n))
    w = mg.tensor(rng.random(c) + 0.5) if weighted else None
    x1 = mg.tensor(a, requires_grad=True)
    x2 = mg.tensor(a, requires_grad=True)
    m = nn.CrossEntropyLoss(weight=w, reduction=red, label_smoothing=ls)
    l1 = m(x1, t)
    l2 = nn.functional.cross_entropy(x2, t, weight=w, reduction=red, label_smoothing=ls)
    np.testing.assert_array_equal(l1.numpy(), l2.numpy())
    l1.sum().backward()
    l2.sum().backward()
    np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())
    assert gradcheck(lambda x: m(x, t), (mg.tensor(a, requires_grad=True),))


def test_cross_entropy_weight_buffer_changes_are_seen():
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    t = mg.tensor([0, 1, 2, 1])
    m = nn.CrossEntropyLoss()
    plain = m(x, t).item()
    m.weight = mg.tensor([0.0, 1.0, 1.0])  # a buffer: assignment replaces it
    assert "weight" in dict(m.named_buffers())
    w1 = m(x, t).item()
    assert w1 != plain
    np.testing.assert_allclose(
        w1, nn.functional.cross_entropy(x, t, weight=m.weight).item()
    )
    del m.weight
    object.__setattr__(m, "weight", mg.tensor([1.0, 0.0, 1.0]))  # plain attribute
    np.testing.assert_allclose(
        m(x, t).item(),
        nn.functional.cross_entropy(x, t, weight=mg.tensor([1.0, 0.0, 1.0])).item(),
    )
    b = nn.BCEWithLogitsLoss(pos_weight=mg.tensor([2.0]))
    z = mg.tensor([[0.3], [-1.0]])
    y = mg.tensor([[1.0], [0.0]])
    np.testing.assert_allclose(
        b(z, y).item(),
        nn.functional.binary_cross_entropy_with_logits(
            z, y, pos_weight=mg.tensor([2.0])
        ).item(),
    )


def test_cross_entropy_float16_goes_through_float32():
    a = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float16)
    t = mg.tensor([0, 1, 2, 0, 1])
    x = mg.tensor(a, requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, t)
    assert loss.dtype == np.float16
    loss.backward()
    assert x.grad.dtype == np.float16
    ref = nn.functional.cross_entropy(mg.tensor(a.astype(np.float32)), t)
    np.testing.assert_allclose(float(loss.item()), ref.item(), rtol=1e-3)


# -- the whole step -------------------------------------------------------------


def test_mlp_step_hooks_modes_and_no_grad():
    model = _mlp(1)
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 5)))
    t = mg.tensor([0, 1, 2, 0])
    lf = nn.CrossEntropyLoss()
    calls = []
    h = lf.register_forward_hook(lambda mod, args, out: calls.append(out.item()))
    lf(model(x), t).backward()
    assert len(calls) == 1
    h.remove()
    lf(model(x), t)
    assert len(calls) == 1
    model.eval()
    with mg.no_grad():
        out = lf(model(x), t)
    assert out.grad_fn is None
    model.train()
    for p in model.parameters():
        p.requires_grad_(False)
    out = lf(model(x), t)
    assert out.grad_fn is None
    assert not out.requires_grad
