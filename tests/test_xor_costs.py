"""The per-call costs cut for the XOR step (issue 16): each fast path against
its reference, and the checks it moved still raising for bad input.

- ``backend._isa`` caches its choice per raw value of ``MINIGRAD_ISA`` (Note
  [ISA lookup cost]): a change at run time still takes effect at once.
- Linear's unrecorded backward sums the bias gradient as a product (Note [Bias
  gradient as a product]): it agrees with the recorded backward and numpy.
- BCELoss reads its weight buffer directly; BinaryCrossEntropy's backward from
  the forward's gradient still refuses inputs modified in place.
- Plain SGD's auto mode (fused at any size now that the call is cheap) gives
  the bits of the numpy path in float32 and float64; the group checks are the
  kernel wrapper's own (``_optim.group_problem``).
- The loss helpers share ``ops.loss._as_tensor``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, nn, optim
from minigrad._C import _gemm
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops import linalg
from minigrad.optim._fused import AUTO_MIN_ELEMENTS
from tests.helpers import examples
from tests.test_fused_layers import _operands

ACTS = [None, "relu", "sigmoid", "tanh"]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


# -- ISA lookup -----------------------------------------------------------------


def test_isa_cache_follows_the_variable_at_run_time(monkeypatch):
    monkeypatch.delenv("MINIGRAD_ISA", raising=False)
    best = backend._isa()
    assert best == _gemm.best_isa()
    assert backend._isa() is backend._isa()  # cached
    monkeypatch.setenv("MINIGRAD_ISA", "generic")
    assert backend._isa() == "generic"
    monkeypatch.setenv("MINIGRAD_ISA", "bogus")
    with pytest.raises(ValueError, match="MINIGRAD_ISA='bogus'"):
        backend._isa()
    with pytest.raises(ValueError, match="MINIGRAD_ISA"):  # and every product
        mg.ones(2, 2) @ mg.ones(2, 2)
    monkeypatch.setenv("MINIGRAD_ISA", " Generic ")
    assert backend._isa() == "generic"
    monkeypatch.delenv("MINIGRAD_ISA")
    assert backend._isa() == best


def test_isa_without_the_environ_dict(monkeypatch):
    # The fallback for an os.environ without _data reads os.environ.get.
    monkeypatch.setattr(backend, "_ENV_DATA", None)
    monkeypatch.setenv("MINIGRAD_ISA", "generic")
    assert backend._isa() == "generic"
    monkeypatch.delenv("MINIGRAD_ISA")
    assert backend._isa() == _gemm.best_isa()


def test_gemm_kw_uses_the_thread_setting():
    old = mg.get_num_threads()
    try:
        mg.set_num_threads(1)
        assert linalg._gemm_kw() == {"num_threads": 1, "isa": backend._isa()}
    finally:
        mg.set_num_threads(old)


# -- Linear ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@examples(8, deadline=None)
@given(
    rows=st.sampled_from([0, 1, 2, 4, 9, 300]),
    cols=st.sampled_from([1, 2, 5, 240]),
    strided=st.booleans(),
)
def test_sum_rows_agrees_with_add_reduce(dtype, rows, cols, strided):
    # 300 x 240 is over _TINY: add.reduce itself.
    rng = np.random.default_rng(rows * 1000 + cols)
    g = rng.standard_normal((rows, 2 * cols if strided else cols)).astype(dtype)
    if strided:
        g = g[:, ::2]
    got = linalg._sum_rows(g)
    want = np.add.reduce(g.astype(np.float64), axis=0)
    assert got.dtype == dtype
    assert got.shape == (cols,)
    np.testing.assert_allclose(got, want, **TOL[dtype])


def test_sum_rows_broadcast_gradient_and_cache():
    g = np.broadcast_to(np.float32(0.25), (4, 3))  # what .sum().backward() sends
    np.testing.assert_array_equal(linalg._sum_rows(g), np.full(3, 1.0, np.float32))
    linalg._ONES.clear()
    for rows in range(1, 100):
        linalg._sum_rows(np.ones((rows, 1)))
    assert len(linalg._ONES) <= 64
    ones = next(iter(linalg._ONES.values()))
    assert not ones.flags.writeable


def _linear_grads(x, w, b, act, create_graph):
    for t in (x, w, b):
        if t is not None:
            t.grad = None
    y = F.linear(x, w, b, act)
    g = mg.tensor(np.linspace(-1, 1, y.data.size).reshape(y.shape).astype(y.dtype))
    (y * g).sum().backward(create_graph=create_graph)
    return y.data.copy(), [None if t is None else t.grad.data.copy() for t in (x, w, b)]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@examples(6, deadline=None)
@given(
    n=st.sampled_from([0, 1, 4, 33]),
    k=st.sampled_from([1, 2, 17]),
    m=st.sampled_from([1, 2, 16]),
    bias=st.booleans(),
)
def test_linear_unrecorded_backward_matches_recorded(act, dtype, n, k, m, bias):
    """The array backward (fast) against the Tensor-op backward (create_graph,
    the reference) and numpy."""
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    _, x, w, b = _operands(rng, n, k, m, dtype, bias)
    y1, fast = _linear_grads(x, w, b, act, False)
    y2, ref = _linear_grads(x, w, b, act, True)
    np.testing.assert_array_equal(y1, y2)
    for a, r in zip(fast, ref):
        if r is None:
            assert a is None
            continue
        assert a.dtype == r.dtype == dtype
        np.testing.assert_allclose(a, r, **TOL[dtype])
    if bias:  # the bias gradient is Σ_rows of dL/dz, in float64
        z = x.data.astype(np.float64) @ w.data.T.astype(np.float64) + b.data
        g = np.linspace(-1, 1, n * m).reshape(n, m)
        s = 1 / (1 + np.exp(-z))
        dz = {
            None: g,
            "relu": g * (z > 0),
            "sigmoid": g * s * (1 - s),
            "tanh": g * (1 - np.tanh(z) ** 2),
        }[act]
        np.testing.assert_allclose(fast[2], dz.sum(0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ACTS)
def test_linear_gradcheck_and_gradgradcheck(act):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(2), requires_grad=True)
    f = lambda x, w, b: F.linear(x, w, b, act)  # noqa: E731
    assert mg.autograd.gradcheck(f, (x, w, b))
    assert mg.autograd.gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", [(4, 2), (0, 2), (3, 4, 2), (2,)])
def test_nn_linear_fast_path_matches_the_checked_one(act, shape):
    """nn.Linear's forward tries ops.linalg._linear_fast first (2-D input);
    other inputs take its checks and F.linear: both give the composite's
    values and gradients."""
    mg.manual_seed(3)
    lin = nn.Linear(2, 3, dtype=mg.float64)
    x = mg.tensor(
        np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), requires_grad=True
    )
    y = lin._forward_act(x, act)
    y.sum().backward()
    got = [y.data, x.grad.data, lin.weight.grad.data, lin.bias.grad.data]
    x2 = mg.tensor(x.data, requires_grad=True)
    w2 = mg.tensor(lin.weight.data, requires_grad=True)
    b2 = mg.tensor(lin.bias.data, requires_grad=True)
    y2 = linalg._linear_composite(x2, w2, b2, act)
    y2.sum().backward()
    for a, r in zip(got, [y2.data, x2.grad.data, w2.grad.data, b2.grad.data]):
        assert a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-13)


def test_linear_checks_still_raise():
    x, w, b = mg.ones(4, 2), mg.ones(3, 2), mg.ones(3)
    with pytest.raises(TypeError, match="linear: x must be a Tensor"):
        F.linear(np.ones((4, 2)), w, b)
    with pytest.raises(TypeError, match="linear: bias must be a Tensor"):
        F.linear(x, w, np.ones(3))
    with pytest.raises(ValueError, match="activation must be one of"):
        F.linear(x, w, b, "gelu")
    with pytest.raises(ShapeError, match="in_features"):
        F.linear(mg.ones(4, 5), w, b)
    with pytest.raises(ShapeError, match="bias must have shape"):
        F.linear(x, w, mg.ones(2))
    with pytest.raises(ShapeError, match="weight must be 2-D"):
        F.linear(x, mg.ones(2), b)
    with pytest.raises(TypeError, match="bool"):
        F.linear(x.bool(), w.bool())
    lin = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="Linear: expected a Tensor"):
        lin(np.ones((4, 2), np.float32))
    with pytest.raises(ShapeError, match="in_features=2"):
        lin(mg.ones(4, 5))
    with pytest.raises(DTypeError, match="same dtype"):
        lin(mg.ones(4, 2, dtype=mg.float64))
    seq = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid())  # the fused call
    with pytest.raises(ShapeError, match="in_features=2"):
        seq(mg.ones(4, 3))


# -- BCE ------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_fast_backward_matches_recorded(reduction, dtype):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, (5, 3)).astype(dtype)
    t = rng.uniform(0, 1, (5, 3)).astype(dtype)
    grads = []
    for create_graph in (False, True):
        x = mg.tensor(p, requires_grad=True)
        y = mg.tensor(t, requires_grad=True)
        loss = nn.BCELoss(reduction=reduction)(x, y)
        (loss * 2.0).sum().backward(create_graph=create_graph)
        grads.append((loss.data.copy(), x.grad.data.copy(), y.grad.data.copy()))
    for a, r in zip(*grads):
        assert a.dtype == r.dtype == dtype
        np.testing.assert_allclose(a, r, **TOL[dtype])
    x = mg.tensor(p.astype(np.float64), requires_grad=True)
    y = mg.tensor(t.astype(np.float64), requires_grad=True)
    f = lambda x, y: F.binary_cross_entropy(x, y, reduction=reduction)  # noqa: E731
    assert mg.autograd.gradcheck(f, (x, y))
    assert mg.autograd.gradgradcheck(f, (x, y))


def test_bce_fast_backward_refuses_modified_input():
    x = mg.tensor(np.full((4, 1), 0.5, np.float32), requires_grad=True)
    y = mg.tensor(np.ones((4, 1), np.float32))
    h = x * 1.0
    loss = nn.BCELoss()(h, y)
    h.data[0, 0] = 0.25
    h._version[0] += 1  # what an in-place op records
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_bce_loss_weight_buffer_and_errors():
    p = mg.tensor(np.array([[0.2], [0.7]], np.float32), requires_grad=True)
    t = mg.tensor(np.array([[0.0], [1.0]], np.float32))
    w = mg.tensor(np.array([[2.0], [3.0]], np.float32))
    lf = nn.BCELoss(weight=w)
    want = F.binary_cross_entropy(p, t, weight=w)
    np.testing.assert_array_equal(lf(p, t).data, want.data)
    assert "weight" in lf.state_dict()
    lf.weight = None  # still a buffer, now empty
    np.testing.assert_array_equal(lf(p, t).data, F.binary_cross_entropy(p, t).data)
    del lf.weight
    with pytest.raises(AttributeError, match="weight"):
        lf(p, t)
    with pytest.raises(ValueError, match="reduction"):
        nn.BCELoss(reduction="avg")
    with pytest.raises(ValueError):
        nn.BCELoss()(p, mg.ones(3, 1))
    with pytest.raises(TypeError, match="must be a Tensor"):
        nn.BCELoss()(p, "target")


# -- one argument helper for the losses ---------------------------------------


def test_losses_share_the_argument_helper():
    from minigrad.nn import _functional_loss
    from minigrad.ops import loss

    assert _functional_loss._as_tensor is loss._as_tensor
    assert not hasattr(_functional_loss, "_tensor")
    x = mg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    t = np.array([1.0, -1.0, 1.0], dtype=">f8")  # byte-swapped: converted
    a = F.soft_margin_loss(x, t)
    b = F.soft_margin_loss(x, mg.tensor(t.astype(np.float64)))
    np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(TypeError, match="soft_margin_loss: target must be a Tensor"):
        F.soft_margin_loss(x, "t")
    with pytest.raises(TypeError, match="cross_entropy: target must be a Tensor"):
        F.cross_entropy(mg.ones(2, 3), object())


# -- plain SGD: numpy below the threshold, fused above, same bits --------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 5000])
def test_plain_sgd_auto_mode_same_bits(monkeypatch, dtype, rows):
    """Auto mode takes the fused step for plain SGD groups of any size over
    AUTO_MIN_ELEMENTS (0: the XOR net's 9 elements too); auto, fused and the
    numpy path (fused=False, the reference) give the same bits."""
    from minigrad._C import _optim

    calls = []
    real = _optim.step
    monkeypatch.setattr(
        _optim, "step", lambda op, *a, **k: calls.append(op) or real(op, *a, **k)
    )
    rng = np.random.default_rng(rows)
    shapes = [(rows, 4), (rows, 2), (3,), (1,)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(3)]
    out = {}
    for fused in (None, False, True):
        calls.clear()
        ps = [mg.tensor(a.copy(), requires_grad=True) for a in init]
        opt = optim.SGD(ps, lr=0.3, fused=fused)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = mg.tensor(g.copy())
            opt.step()
        out[fused] = [p.data.tobytes() for p in ps]
        assert [p._version[0] for p in ps] == [3] * len(ps)
        fused_calls = fused is True or (
            fused is None and sum(a.size for a in init) >= AUTO_MIN_ELEMENTS
        )
        assert calls == (["sgd"] * 3 if fused_calls else [])
    assert out[None] == out[False] == out[True]


def test_sgd_auto_mode_falls_back_on_what_the_kernel_refuses():
    """group_problem (step's own checks) sends a group the kernel refuses to
    numpy in auto mode and names the problem with fused=True."""
    ps = [mg.tensor(np.ones((3, 2)), requires_grad=True) for _ in range(2)]
    ps[1].grad = mg.tensor(np.full((2, 3), 0.5).T)  # not C-contiguous
    ps[0].grad = mg.tensor(np.full((3, 2), 0.5))
    optim.SGD(ps, lr=1.0).step()
    assert all(np.array_equal(p.data, np.full((3, 2), 0.5)) for p in ps)
    with pytest.raises(
        ArgumentError, match=r"fused=True, but grads\[1\] must be C-con"
    ):
        optim.SGD(ps, lr=1.0, fused=True).step()
    ps[1].grad = mg.tensor(np.full((3, 2), 0.5, np.float32))
    with pytest.raises(
        ArgumentError, match=r"fused=True, but grads\[1\] has dtype float32"
    ):
        optim.SGD(ps, lr=1.0, fused=True).step()
    ps[1].grad = mg.tensor(np.full(5, 0.5))
    with pytest.raises(
        ArgumentError, match=r"fused=True, but grads\[1\] has 5 elements"
    ):
        optim.SGD(ps, lr=1.0, fused=True).step()
    assert all(np.array_equal(p.data, np.full((3, 2), 0.5)) for p in ps)


def test_sgd_option_checks_still_raise():
    p = mg.ones(2, requires_grad=True)
    with pytest.raises(ArgumentError, match="fused must be None, True or False"):
        optim.SGD([p], lr=0.1, fused=1)
    with pytest.raises(ArgumentError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


# -- the XOR step end to end ----------------------------------------------------


def test_xor_steps_match_hand_written_numpy():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    xn = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    yn = np.array([[0], [1], [1], [0]], np.float32)
    w1, b1, w2, b2 = (p.data.astype(np.float64) for p in model.parameters())
    lf, opt = nn.BCELoss(), optim.SGD(model.parameters(), lr=0.5)
    x, y = mg.tensor(xn), mg.tensor(yn)
    for _ in range(20):
        opt.zero_grad()
        loss = lf(model(x), y)
        loss.backward()
        opt.step()
        h = 1 / (1 + np.exp(-(xn @ w1.T + b1)))
        p = 1 / (1 + np.exp(-(h @ w2.T + b2)))
        ref = -np.mean(yn * np.log(p) + (1 - yn) * np.log(1 - p))
        np.testing.assert_allclose(loss.item(), ref, rtol=1e-5)
        dz2 = (p - yn) / 4
        dz1 = (dz2 @ w2) * h * (1 - h)
        w2, b2 = w2 - 0.5 * dz2.T @ h, b2 - 0.5 * dz2.sum(0)
        w1, b1 = w1 - 0.5 * dz1.T @ xn, b1 - 0.5 * dz1.sum(0)
    for p, q in zip(model.parameters(), (w1, b1, w2, b2)):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, q, rtol=1e-4, atol=1e-5)
