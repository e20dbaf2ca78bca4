"""Fused layers against their composites: the fused ``linear`` (GEMM epilogue
bias + activation, one graph node) vs matmul + add + activation, on
hypothesis-drawn sizes, both in the unrecorded backward (array arithmetic, tiny
products on numpy's dot: Note [Tiny products] in ops/linalg.py) and in the
recorded one (create_graph); Sequential's fusion (Note [Sequential fusion])
vs calling the children one by one; the fused cross-entropy vs its composite.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.ops import linalg
from tests.helpers import examples

ACTS = [None, "relu", "sigmoid", "tanh"]
ACT_MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
TOL = {np.float32: 2e-5, np.float64: 1e-11}

# Sizes around the tiny-product bound (m·k·n <= 65536 runs on numpy in the
# unrecorded backward) and the kernel's vector widths; 0 and 1 included.
dims = st.sampled_from([0, 1, 2, 3, 7, 16, 17, 33, 64])


def _operands(rng, n, k, m, dtype, bias):
    x = mg.tensor(rng.standard_normal((n, k)).astype(dtype), requires_grad=True)
    w = mg.tensor(rng.standard_normal((m, k)).astype(dtype), requires_grad=True)
    b = (
        mg.tensor(rng.standard_normal(m).astype(dtype), requires_grad=True)
        if bias
        else None
    )
    return [t for t in (x, w, b) if t is not None], x, w, b


def _grads(out, ins, g, create_graph=False):
    return mg.autograd.grad(out, ins, g, create_graph=create_graph)


def _close(a, b, dtype, scale=1.0):
    tol = TOL[dtype] * scale
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@examples(12, deadline=None)
@given(n=dims, k=dims, m=dims, bias=st.booleans(), seed=st.integers(0, 2**31))
def test_fused_linear_matches_composite(act, dtype, n, k, m, bias, seed):
    rng = np.random.default_rng(seed)
    ins, x, w, b = _operands(rng, n, k, m, dtype, bias)
    fused = linalg.linear(x, w, b, act)
    ref = linalg._linear_composite(x, w, b, act)
    assert fused.dtype == ref.dtype == np.dtype(dtype)
    assert fused.shape == ref.shape == (n, m)
    _close(fused.numpy(), ref.numpy(), dtype, k + 1)
    if n * m:
        assert fused.grad_fn.name() == "LinearBackward"
    g = mg.tensor(rng.standard_normal((n, m)).astype(dtype))
    want = _grads(ref, ins, g)
    # unrecorded backward (arrays), then recorded (Tensor ops, create_graph)
    for create in (False, True):
        got = _grads(linalg.linear(x, w, b, act), ins, g, create)
        for a, e in zip(got, want):
            assert a.dtype == e.dtype
            _close(a.numpy(), e.numpy(), dtype, max(n, k, m) + 1)


@pytest.mark.parametrize("act", ACTS)
@examples(6, deadline=None)
@given(n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3),
       bias=st.booleans(), seed=st.integers(0, 2**31))  # fmt: skip
def test_fused_linear_gradcheck_and_gradgradcheck(act, n, k, m, bias, seed):
    rng = np.random.default_rng(seed)
    ins, *_ = _operands(rng, n, k, m, np.float64, bias)
    fn = lambda *a: linalg.linear(*a[:2], a[2] if bias else None, act)  # noqa: E731
    assert mg.autograd.gradcheck(fn, tuple(ins))
    if act != "relu":
        assert mg.autograd.gradgradcheck(fn, tuple(ins))


def test_fused_linear_gradgrad_matches_composite():
    rng = np.random.default_rng(0)
    for act in ACTS:
        ins, x, w, b = _operands(rng, 5, 4, 3, np.float64, True)
        outs = []
        for f in (linalg.linear, linalg._linear_composite):
            (gx,) = mg.autograd.grad(f(x, w, b, act).sum(), [x], create_graph=True)
            outs.append(mg.autograd.grad((gx * gx).sum(), ins, allow_unused=True))
        for a, e in zip(*outs):
            assert (a is None) == (e is None)
            if a is not None:
                _close(a.numpy(), e.numpy(), np.float64)


def _unfused(seq, x):
    for m in seq:
        x = m(x)
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@examples(10, deadline=None)
@given(
    widths=st.lists(st.sampled_from([1, 2, 5, 16, 40]), min_size=2, max_size=4),
    acts=st.lists(st.sampled_from([None, "relu", "sigmoid", "tanh"]), min_size=3,
                  max_size=3),
    n=st.sampled_from([0, 1, 4, 33]),
    seed=st.integers(0, 2**31),
)  # fmt: skip
def test_sequential_fusion_matches_children_one_by_one(dtype, widths, acts, n, seed):
    mg.manual_seed(seed % 1000)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if acts[i] is not None:
            layers.append(ACT_MODULES[acts[i]]())
    seq = nn.Sequential(*layers)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((n, widths[0])).astype(dtype), requires_grad=True)
    ins = [x, *seq.parameters()]
    out, ref = seq(x), _unfused(seq, x)
    _close(out.numpy(), ref.numpy(), dtype, 50)
    g = mg.tensor(rng.standard_normal(out.shape).astype(dtype))
    for a, e in zip(_grads(out, ins, g), _grads(ref, ins, g)):
        _close(a.numpy(), e.numpy(), dtype, 200)


def test_sequential_fusion_gradgrad_matches_children_one_by_one():
    mg.manual_seed(1)
    seq = nn.Sequential(
        nn.Linear(3, 4, dtype=mg.float64),
        nn.Tanh(),
        nn.Linear(4, 2, dtype=mg.float64),
        nn.Sigmoid(),
    )
    x = mg.randn(5, 3, dtype=mg.float64, requires_grad=True)
    ins = [x, *seq.parameters()]
    res = []
    for f in (seq, lambda t: _unfused(seq, t)):
        (gx,) = mg.autograd.grad(f(x).sum(), [x], create_graph=True)
        res.append(_grads((gx**2).sum(), ins, None))
    for a, e in zip(*res):
        _close(a.numpy(), e.numpy(), np.float64)


def test_sequential_fusion_makes_one_node_per_pair():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    out = seq(mg.randn(4, 2))
    assert out.grad_fn.name() == "LinearBackward"
    (edge, *_) = out.grad_fn.next_functions
    assert edge[0].name() == "LinearBackward"


def _ce_composite(x, t, weight=None, ignore_index=-100, reduction="mean", ls=0.0):
    """Cross-entropy from log_softmax, a gather and sums (PyTorch's formula)."""
    n, c = x.shape
    logp = x.log_softmax(1)
    t_np = t.numpy()
    valid = t_np != ignore_index
    safe = np.where(valid, t_np, 0)
    w = np.ones(c, x.numpy().dtype) if weight is None else weight.numpy()
    onehot = np.zeros((n, c), x.numpy().dtype)
    onehot[np.arange(n), safe] = 1.0
    wt = (w[safe] * valid).astype(onehot.dtype)
    nll = -(logp * mg.tensor(onehot * wt[:, None])).sum(1)
    smooth = -(logp * mg.tensor(w[None, :] * valid[:, None].astype(onehot.dtype))).sum(
        1
    ) / float(c)
    loss = nll * (1 - ls) + smooth * ls
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / float(wt.sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@examples(8, deadline=None)
@given(
    n=st.integers(1, 9),
    c=st.integers(1, 7),
    weighted=st.booleans(),
    ignore=st.booleans(),
    ls=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 2**31),
)
def test_fused_cross_entropy_matches_composite(
    dtype, reduction, n, c, weighted, ignore, ls, seed
):
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((n, c)).astype(dtype), requires_grad=True)
    t = rng.integers(0, c, n)
    ignore_index = int(t[0]) if ignore else -100
    t = mg.tensor(t)
    w = mg.tensor(rng.random(c).astype(dtype) + 0.5) if weighted else None
    kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction)
    fused = nn.CrossEntropyLoss(**kw, label_smoothing=ls)(x, t)
    assert fused.grad_fn.name() == "CrossEntropyBackward"
    ref = _ce_composite(x, t, w, ignore_index, reduction, ls)
    if reduction == "mean" and not np.isfinite(ref.numpy()).all():
        return  # every target ignored: 0/0 on both sides
    assert fused.dtype == np.dtype(dtype)
    _close(fused.numpy(), ref.numpy(), dtype, 10)
    g = mg.tensor(rng.standard_normal(fused.shape).astype(dtype))
    (a,) = _grads(fused, [x], g)
    (e,) = _grads(ref, [x], g)
    _close(a.numpy(), e.numpy(), dtype, 10)
