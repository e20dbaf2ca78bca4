"""The XOR step's last cuts (issue 16): each fast path agrees with its
reference, and the checks it moved still refuse bad input.

- ``fused_params`` builds the parameter, array and gradient lists once per
  step; nothing is cached between steps, so a gradient set to None, a new
  parameter group or a new learning rate takes effect at the next step;
- ``fused_step`` steps at once and asks ``group_problem`` only on a refusal
  (Note [Fused step, checked once]): the same outcomes as asking first;
- Linear's unrecorded backward computes 1 - y with a 0-d one of y's dtype
  and tests the product size once: the same bits as the Python-number form;
- ``Linear.forward`` passes the thread and ISA settings itself: a bad
  ``MINIGRAD_ISA`` still raises.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad._C import _optim
from minigrad.errors import ArgumentError
from minigrad.ops import linalg
from tests.helpers import examples

_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
_Y = np.array([[0], [1], [1], [0]], np.float32)


def _xor(seed: int = 0, **opt_kw):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.5, **opt_kw)
    lf = nn.BCELoss()

    def step(x, y):
        opt.zero_grad()
        loss = lf(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def _bits(model) -> list[bytes]:
    return [p.data.tobytes() for p in model.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_xor_captured_eager_and_numpy_update_agree_bitwise(dtype):
    """Captured (fused SGD) == eager (fused SGD) == eager with fused=False,
    bit for bit, over steps that record, confirm and replay the tape."""
    x, y = mg.tensor(_X.astype(dtype)), mg.tensor(_Y.astype(dtype))
    runs = []
    for compiled, fused in ((True, None), (False, None), (False, False)):
        model, _, step = _xor(fused=fused)
        model.to(dtype)
        f = mg.compile(step) if compiled else step
        losses = [f(x, y).data.tobytes() for _ in range(8)]
        if compiled:
            assert f.replays >= 4, f.fallback_reason
        runs.append((losses, _bits(model)))
    assert runs[0] == runs[1] == runs[2]


def _two_groups():
    a = mg.tensor(np.ones((3, 2)), requires_grad=True)
    b = mg.tensor(np.ones((2,)), requires_grad=True)
    c = mg.tensor(np.ones((4,)), requires_grad=True)
    return a, b, c


def _grads(*ps, value=0.5):
    for p in ps:
        p.grad = mg.tensor(np.full(p.shape, value))


def test_no_stale_lists_grad_set_to_none_group_added_lr_changed():
    a, b, c = _two_groups()
    opt = optim.SGD([a, b], lr=0.1)
    _grads(a, b)
    opt.step()
    np.testing.assert_allclose(b.data, np.full(2, 0.95))
    # a gradient set to None: that parameter is left alone
    b.grad = None
    _grads(a)
    opt.step()
    np.testing.assert_allclose(a.data, np.full((3, 2), 0.9))
    np.testing.assert_allclose(b.data, np.full(2, 0.95))
    # a new group is updated at the next step, with its own lr
    opt.add_param_group({"params": [c], "lr": 1.0})
    _grads(a, b, c)
    opt.step()
    np.testing.assert_allclose(c.data, np.full(4, 0.5))
    # a new lr is used at the next step
    opt.param_groups[0]["lr"] = 0.2
    _grads(a, b, c)
    opt.step()
    np.testing.assert_allclose(a.data, np.full((3, 2), 0.75))
    np.testing.assert_allclose(b.data, np.full(2, 0.8))


def test_no_stale_lists_in_a_captured_step():
    """A compiled step sees a new lr (a Python value the recorded step call
    reads) on its next replay, as eager does."""
    x, y = mg.tensor(_X), mg.tensor(_Y)
    runs = []
    for compiled in (True, False):
        model, opt, step = _xor()
        f = mg.compile(step) if compiled else step
        for i in range(8):
            if i == 5:
                opt.param_groups[0]["lr"] = 0.05
            f(x, y)
        runs.append(_bits(model))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad])
def test_refused_group_auto_falls_back_and_fused_true_raises(cls):
    key = "foreach" if cls is optim.RMSprop else "fused"

    def params(strided: bool):
        ps = [mg.tensor(np.ones((4, 3)), requires_grad=True) for _ in range(2)]
        for p in ps:
            p.grad = mg.tensor(np.full((4, 3), 0.5))
        if strided:  # a transposed gradient: the kernel refuses it
            ps[1].grad = mg.tensor(np.full((3, 4), 0.5).T)
        return ps

    ps, ref = params(True), params(True)
    cls(ps, lr=0.1).step()
    cls(ref, lr=0.1, **{key: False}).step()
    assert [p.data.tobytes() for p in ps] == [p.data.tobytes() for p in ref]
    ps = params(True)
    before = [p.data.copy() for p in ps]
    with pytest.raises(ArgumentError, match=f"{key}=True, but .*contiguous"):
        cls(ps, lr=0.1, **{key: True}).step()
    for p, b in zip(ps, before):  # refused before any write
        assert np.array_equal(p.data, b)
    # a group the kernel takes: no error either way
    cls(params(False), lr=0.1, **{key: True}).step()


def test_overlap_still_raises_in_auto_mode():
    """A refusal that group_problem does not explain (parameters sharing
    memory) is raised, as when group_problem was asked first."""
    base = np.ones(8)
    p, q = mg.from_numpy(base[:6]), mg.from_numpy(base[2:])
    for t in (p, q):
        t.requires_grad = True
        t.grad = mg.tensor(np.full(6, 0.5))
    assert _optim.group_problem([p.data, q.data], [p.grad.data, q.grad.data]) is None
    before = base.copy()
    with pytest.raises(ArgumentError, match="overlap"):
        optim.SGD([p, q], lr=0.1).step()
    np.testing.assert_array_equal(base, before)


class _Ctx:
    def __init__(self, activation, needs):
        self.activation = activation
        self.needs_input_grad = needs


@given(
    rows=st.integers(0, 6),
    n_in=st.integers(0, 4),
    n_out=st.integers(1, 4),
    dtype=st.sampled_from([np.float32, np.float64]),
    big=st.booleans(),
)
@examples(30)
def test_sigmoid_linear_backward_bits(rows, n_in, n_out, dtype, big):
    """The unrecorded backward equals g·y·(1 - y) written with a Python 1, and
    numpy's products, bit for bit; on the tiny path and on the GEMM path."""
    tiny = linalg._TINY
    if big:  # every product on the GEMM path
        linalg._TINY = -1
    try:
        _check_sigmoid_backward(rows, n_in, n_out, dtype, big)
    finally:
        linalg._TINY = tiny


def _check_sigmoid_backward(rows, n_in, n_out, dtype, big):
    rng = np.random.default_rng(rows * 31 + n_in * 7 + n_out)
    x = rng.standard_normal((rows, n_in)).astype(dtype)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    y = rng.random((rows, n_out)).astype(dtype)
    g = rng.standard_normal((rows, n_out)).astype(dtype)
    gx, gw, gb = linalg._linear_backward_arrays(
        _Ctx("sigmoid", (True, True, True)), g, x, w, y
    )
    gz = 1 - y
    gz *= y
    gz *= g
    assert gx.data.dtype == gw.data.dtype == gb.data.dtype == dtype
    assert gx.data.tobytes() == gz.dot(w).tobytes() or big
    np.testing.assert_allclose(gx.data, gz @ w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw.data, gz.T @ x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb.data, gz.sum(0), rtol=1e-5, atol=1e-6)
    none = linalg._linear_backward_arrays(
        _Ctx("sigmoid", (False, True, False)), g, x, w, y
    )
    assert none[0] is None
    assert none[2] is None


@given(
    rows=st.integers(0, 3),
    n_in=st.integers(1, 3),
    n_out=st.integers(1, 3),
    bias=st.booleans(),
    act=st.sampled_from([None, "relu", "sigmoid", "tanh"]),
)
@examples(20)
def test_linear_gradcheck(rows, n_in, n_out, bias, act):
    rng = np.random.default_rng(rows + 5 * n_in + 11 * n_out)
    x = mg.tensor(rng.standard_normal((rows, n_in)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((n_out, n_in)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(n_out), requires_grad=True) if bias else None
    if act == "relu":  # away from the kink
        x = mg.tensor(x.data + np.sign(x.data) * 0.5, requires_grad=True)

    def fn(*t):
        return linalg.linear(*t, activation=act)

    ins = (x, w, b) if bias else (x, w)
    assert mg.autograd.gradcheck(fn, ins)
    assert mg.autograd.gradgradcheck(fn, ins)


def test_linear_forward_still_checks_isa(monkeypatch):
    x = mg.tensor(np.ones((2, 3), np.float32))
    lin = nn.Linear(3, 2)
    monkeypatch.setenv("MINIGRAD_ISA", "bogus")
    with pytest.raises(ValueError, match="MINIGRAD_ISA='bogus'"):
        F.linear(x, lin.weight, lin.bias)
    monkeypatch.delenv("MINIGRAD_ISA")
    assert F.linear(x, lin.weight, lin.bias).shape == (2, 2)


def test_bce_needs_target_grad():
    """BCE's forward reads needs_input_grad itself: a target that requires
    grad gets dl/dt = -w·logit(x)."""
    x = mg.tensor(np.array([0.2, 0.7]), requires_grad=True)
    t = mg.tensor(np.array([0.0, 1.0]), requires_grad=True)
    F.binary_cross_entropy(x, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.data, np.log(1 - x.data) - np.log(x.data))
    np.testing.assert_allclose(x.grad.data, (x.data - t.data) / (x.data * (1 - x.data)))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_xor_steps_match_torch(torch):
    model, _, step = _xor()
    tm = torch.nn.Sequential(
        torch.nn.Linear(2, 2),
        torch.nn.Sigmoid(),
        torch.nn.Linear(2, 1),
        torch.nn.Sigmoid(),
    )
    with torch.no_grad():
        for p, q in zip(tm.parameters(), model.parameters()):
            p.copy_(torch.from_numpy(q.data.copy()))
    topt = torch.optim.SGD(tm.parameters(), lr=0.5)
    f = mg.compile(step)
    x, y = mg.tensor(_X), mg.tensor(_Y)
    tx, ty = torch.from_numpy(_X), torch.from_numpy(_Y)
    for _ in range(6):
        loss = f(x, y)
        topt.zero_grad()
        tl = torch.nn.functional.binary_cross_entropy(tm(tx), ty)
        tl.backward()
        topt.step()
        assert loss.data.dtype == np.float32
        np.testing.assert_allclose(loss.data, tl.item(), rtol=1e-5)
    for p, q in zip(tm.parameters(), model.parameters()):
        np.testing.assert_allclose(q.data, p.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_run_tape_agrees_with_tape_run():
    """``_core.run_tape`` (the hot path of a step returning one value) gives
    ``_Tape.run``'s results; a step returning a tuple keeps ``_Tape.run``."""
    from minigrad._C import _core

    w = mg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)

    def one(x):
        return (x * w).sum()

    def none(x):
        (x * w).sum()

    def pair(x):
        return (x * w).sum(), 7

    x = mg.tensor(np.array([0.5, 0.25, 2.0]))
    for fn in (one, none, pair):
        f = mg.compile(fn)
        for _ in range(4):
            out = f(x)
        assert f.replays >= 1, f.fallback_reason
        tape = f._hot[0]
        ref = tape.run((x,))
        if fn is pair:
            assert tape.flat is None
            assert out[1] == ref[1] == 7
            np.testing.assert_array_equal(out[0].data, ref[0].data)
            continue
        fast = _core.run_tape(tape.flat, (x,))
        if fn is none:
            assert fast is None
            assert ref is None
            assert out is None
        else:
            assert fast.data.tobytes() == ref.data.tobytes() == out.data.tobytes()
    # a malformed tape is refused, not read out of bounds
    with pytest.raises((TypeError, IndexError)):
        _core.run_tape(([], [None], (5,), (0,), 0, None), (x,))
    with pytest.raises(TypeError):
        _core.run_tape((None, [], (), (), -1, None), ())
