"""The softmax-family kernels (minigrad._C._softmax) against numpy references:
softmax / log_softmax over any axis, fused cross-entropy, BCE with logits,
each on every instruction set this CPU runs (the generic loops always)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _act
from minigrad._C import _softmax as S
from tests.helpers import examples
from tests.strategies import arrays, shapes

TOL = {
    np.float32: {"rtol": 2e-5, "atol": 2e-6},
    np.float64: {"rtol": 1e-12, "atol": 1e-13},
}


ISAS = [i for i in _act.ISAS if _act.has_isa(i)]


def ref_softmax(x, dim, log):
    x = x.astype(np.float64)
    z = x - x.max(axis=dim, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=dim, keepdims=True))
    return z - lse if log else np.exp(z - lse)


def ref_softmax_bwd(y, g, dim, log):
    y, g = y.astype(np.float64), g.astype(np.float64)
    if log:
        return g - np.exp(y) * g.sum(axis=dim, keepdims=True)
    return y * (g - (g * y).sum(axis=dim, keepdims=True))


@pytest.mark.parametrize("isa", ISAS)
@examples(40, deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64]),
    log=st.booleans(),
)
def test_softmax_kernel_any_axis(isa, data, dtype, log):
    shape = data.draw(shapes(min_dims=1, max_dims=4, max_side=7))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(arrays(shape, dtype, -20, 20))
    g = data.draw(arrays(shape, dtype))
    y = S.softmax_fwd(x, dim, log=log, isa=isa)
    assert y.shape == shape
    assert y.dtype == dtype
    if x.size == 0:
        assert S.softmax_bwd(y, g, dim, log=log, isa=isa).shape == shape
        return
    np.testing.assert_allclose(y, ref_softmax(x, dim, log), **TOL[dtype])
    gx = S.softmax_bwd(y, g, dim, log=log, isa=isa)
    np.testing.assert_allclose(gx, ref_softmax_bwd(y, g, dim, log), **TOL[dtype])


@pytest.mark.parametrize(
    ("shape", "dim"), [((300, 1000), 1), ((40, 2000), 0), ((7, 130, 90), 1)]
)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ISAS)
def test_softmax_kernel_large_threaded(shape, dim, threads, isa):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 5
    y = S.softmax_fwd(x, dim, nthreads=threads, isa=isa)
    np.testing.assert_allclose(y, ref_softmax(x, dim, False), **TOL[np.float32])
    np.testing.assert_allclose(y.sum(axis=dim), 1.0, rtol=1e-5)


@pytest.mark.parametrize("isa", ISAS)
def test_softmax_kernel_stability_and_nan(isa):
    x = np.array([[1000.0, -1000.0, 0.0], [np.nan, 1.0, 2.0], [-1e30, -1e30, -1e30]])
    y = S.softmax_fwd(x, 1, isa=isa)
    np.testing.assert_array_equal(y[0], [1.0, 0.0, 0.0])
    assert np.all(np.isnan(y[1]))
    np.testing.assert_allclose(y[2], 1 / 3)
    ly = S.softmax_fwd(x, 1, log=True, isa=isa)
    np.testing.assert_array_equal(ly[0], [0.0, -2000.0, -1000.0])
    yt = S.softmax_fwd(np.ascontiguousarray(x.T), 0, isa=isa)
    np.testing.assert_array_equal(yt.T[0], [1.0, 0.0, 0.0])


def test_softmax_kernel_in_place_and_empty():
    x = np.random.default_rng(1).standard_normal((4, 5))
    want = S.softmax_fwd(x, 1)
    assert S.softmax_fwd(x, 1, out=x) is x
    np.testing.assert_array_equal(x, want)
    assert S.softmax_fwd(np.zeros((0, 3)), 1).shape == (0, 3)
    assert S.softmax_fwd(np.zeros((3, 0)), 1).shape == (3, 0)


def ref_xent(x, t, w, ignore, eps):
    x = x.astype(np.float64)
    n, c = x.shape
    lp = x - x.max(1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    wv = np.ones(c) if w is None else w.astype(np.float64)
    valid = t != ignore
    safe = np.where(valid, t, 0)
    loss = -(1 - eps) * wv[safe] * lp[np.arange(n), safe] - eps / c * (lp * wv).sum(1)
    q = np.zeros((n, c))
    q[np.arange(n), safe] = (1 - eps) * wv[safe]
    q += eps / c * wv
    grad = np.exp(lp) * q.sum(1, keepdims=True) - q
    return loss * valid, grad * valid[:, None]


@pytest.mark.parametrize("isa", ISAS)
@examples(40, deadline=None)
@given(
    n=st.integers(0, 9),
    c=st.integers(1, 40),
    dtype=st.sampled_from([np.float32, np.float64]),
    weighted=st.booleans(),
    eps=st.sampled_from([0.0, 0.1, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_xent_kernel_matches_reference(isa, n, c, dtype, weighted, eps, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 4).astype(dtype)
    t = rng.integers(0, c, n)
    if n > 1:
        t[0] = -100
    w = (rng.random(c) + 0.1).astype(dtype) if weighted else None
    scale = rng.standard_normal(n).astype(dtype)
    loss, lse = S.xent_fwd(x, t, w, label_smoothing=eps, isa=isa)
    rl, rg = ref_xent(x, t, w, -100, eps)
    np.testing.assert_allclose(loss, rl, **TOL[dtype])
    gx = S.xent_bwd(x, lse, t, scale, w, label_smoothing=eps, isa=isa)
    np.testing.assert_allclose(gx, rg * scale[:, None], **TOL[dtype])
    two = np.asarray(2.0, dtype)
    g1 = S.xent_bwd(x, lse, t, two, w, label_smoothing=eps, isa=isa)
    np.testing.assert_allclose(g1, 2 * rg, **TOL[dtype])


def test_xent_kernel_large_logits_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], np.float32)
    loss, lse = S.xent_fwd(x, np.array([0, 0]))
    np.testing.assert_allclose(loss, [0.0, 2e4])
    gx = S.xent_bwd(x, lse, np.array([0, 0]), np.asarray(1.0, np.float32))
    np.testing.assert_allclose(gx, [[0, 0, 0], [-1, 1, 0]], atol=1e-6)


def ref_bce(x, t, w, pw):
    x, t = x.astype(np.float64), t.astype(np.float64)
    sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
    lw = 1 + (pw - 1) * t
    sig_neg = np.exp(-np.logaddexp(0, x))
    return (
        w * ((1 - t) * x + lw * sp),
        w * ((1 - t) - lw * sig_neg),
        w * ((pw - 1) * sp - x),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 17, 5000, 70_000])
@pytest.mark.parametrize("isa", ISAS)
def test_bce_logits_kernel_matches_reference(dtype, n, isa):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 20).astype(dtype)
    t = rng.random(n).astype(dtype)
    w = rng.random(n).astype(dtype)
    pw = (rng.random(n) * 3).astype(dtype)
    loss = S.bce_logits_fwd(x, t, w, pw, nthreads=2, isa=isa)
    rl, rgx, rgt = ref_bce(x, t, w, pw)
    np.testing.assert_allclose(loss, rl, **TOL[dtype])
    g = rng.standard_normal(n).astype(dtype)
    gx, gt = S.bce_logits_bwd(x, t, g, w, pw, target_grad=True, isa=isa)
    np.testing.assert_allclose(gx, g * rgx, **TOL[dtype])
    np.testing.assert_allclose(gt, g * rgt, **TOL[dtype])
    loss1 = S.bce_logits_fwd(x, t, isa=isa)
    np.testing.assert_allclose(loss1, ref_bce(x, t, 1.0, 1.0)[0], **TOL[dtype])


@pytest.mark.parametrize("isa", ISAS)
def test_bce_logits_kernel_extremes(isa):
    x = np.array([-1e4, -100.0, 100.0, 1e4], np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    loss = S.bce_logits_fwd(x, t, isa=isa)
    np.testing.assert_allclose(loss, [1e4, 0.0, 0.0, 1e4], atol=1e-30)
    gx, _ = S.bce_logits_bwd(x, t, np.asarray(1.0, np.float32), isa=isa)
    np.testing.assert_allclose(gx, [-1.0, 0.0, 0.0, 1.0], atol=1e-30)


def test_softmax_kernels_validation():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="softmax: x must be float32 or float64"):
        S.softmax_fwd(np.ones((2, 3), np.int64), 1)
    with pytest.raises(
        ValueError, match=r"softmax: dim 2 is out of range for shape \(2, 3\)"
    ):
        S.softmax_fwd(x, 2)
    with pytest.raises(TypeError, match="dim must be an int"):
        S.softmax_fwd(x, 1.0)
    with pytest.raises(ValueError, match="at least 1 dim"):
        S.softmax_fwd(np.ones((), np.float32), 0)
    with pytest.raises(TypeError, match="grad_out has dtype float64, expected float32"):
        S.softmax_bwd(x, np.ones((2, 3)), 1)
    with pytest.raises(ValueError, match=r"grad_out has shape \(3, 2\)"):
        S.softmax_bwd(x, np.ones((3, 2), np.float32), 1)
    g = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="out overlaps an input"):
        S.softmax_bwd(x, g, 1, out=g)
    with pytest.raises(ValueError, match="must be 2-D"):
        S.xent_fwd(np.ones(3), np.array([0]))
    with pytest.raises(TypeError, match="target must be int64"):
        S.xent_fwd(x, np.array([0, 1], np.int32))
    with pytest.raises(ValueError, match=r"target has shape \(3,\), expected \(2,\)"):
        S.xent_fwd(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"out of range \[0, 3\)"):
        S.xent_fwd(x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"out of range \[0, 3\)"):
        S.xent_bwd(
            x, np.zeros(2, np.float32), np.array([-1, 0]), np.ones((), np.float32)
        )
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        S.xent_fwd(x, np.array([0, 1]), np.ones(2, np.float32))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        S.xent_fwd(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"scale has shape \(3,\)"):
        S.xent_bwd(x, np.zeros(2, np.float32), np.array([0, 0]), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="has no classes"):
        S.xent_fwd(np.ones((2, 0)), np.array([0, 0]))
    with pytest.raises(ValueError, match=r"target has shape \(2, 2\)"):
        S.bce_logits_fwd(x, np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"grad_out has shape \(2,\)"):
        S.bce_logits_bwd(x, x, np.ones(2, np.float32))


@pytest.mark.parametrize("isa", ISAS)
@examples(40, deadline=None)
@given(
    n=st.sampled_from([0, 1, 7, 63, 64, 65, 129, 300]),
    c=st.sampled_from([1, 2, 10, 31, 32, 33, 97]),
    dtype=st.sampled_from([np.float32, np.float64]),
    weighted=st.booleans(),
    eps=st.sampled_from([0.0, 0.2]),
    reduction=st.sampled_from([0, 1, 2]),
    threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
def test_xent_fused_matches_reference(
    isa, n, c, dtype, weighted, eps, reduction, threads, seed
):
    # One call: loss, reduction and the gradient of the reduced loss; blocks
    # of short rows (c < 32) end at 64 rows, so n crosses block edges.
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 4).astype(dtype)
    t = rng.integers(0, c, n)
    if n > 1:
        t[rng.integers(0, n)] = -100
    w = (rng.random(c) + 0.1).astype(dtype) if weighted else None
    out, lse, gx = S.xent_fused(
        x,
        t,
        w,
        label_smoothing=eps,
        reduction=reduction,
        grad=True,
        nthreads=threads,
        isa=isa,
    )
    rl, rg = ref_xent(x, t, w, -100, eps)
    valid = t != -100
    denom = (w[t[valid]].sum() if w is not None else valid.sum()) if n else 0.0
    tol = TOL[dtype]
    if reduction == 0:
        np.testing.assert_allclose(out, rl, **tol)
        np.testing.assert_allclose(gx, rg, **tol)
    else:
        scale = 1 / denom if reduction == 1 and denom else 1.0
        assert out.shape == ()
        assert out.dtype == dtype
        if n == 0 and reduction == 1:
            assert np.isnan(out)
        else:
            np.testing.assert_allclose(out, rl.sum() * scale, **tol)
        np.testing.assert_allclose(gx, rg * scale, **tol)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(lse, np.log(np.exp(xd).sum(1)), **tol)
    no_grad = S.xent_fused(x, t, w, label_smoothing=eps, reduction=reduction, isa=isa)
    assert no_grad[2] is None
    np.testing.assert_array_equal(no_grad[0], out)


@pytest.mark.parametrize("isa", ISAS)
def test_xent_fused_edges_and_errors(isa):
    # NaN / +inf in a row gives a NaN row, others stay exact; -inf is a 0.
    for c in (5, 40):
        x = np.zeros((3, c), np.float32)
        x[0, 1], x[1, 2], x[2, 0] = np.nan, np.inf, -np.inf
        t = np.array([0, 0, 1])
        loss, _, gx = S.xent_fused(x, t, reduction=0, grad=True, isa=isa)
        assert np.isnan(loss[:2]).all()
        assert np.isnan(gx[:2]).all()
        np.testing.assert_allclose(loss[2], np.log(c - 1), rtol=1e-6)
        assert gx[2, 0] == 0
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match=r"out of range \[0, 3\)"):
        S.xent_fused(x, np.array([0, 3]), grad=True)
    with pytest.raises(IndexError):
        S.xent_fused(x, np.array([-1, 0]))
    with pytest.raises(TypeError, match="float32 or float64"):
        S.xent_fused(np.zeros((2, 3), np.int64), np.array([0, 0]))
    with pytest.raises(TypeError, match="target has dtype int32"):
        S.xent_fused(x, np.array([0, 0], np.int32))
    with pytest.raises(ValueError, match="reduction code"):
        S.xent_fused(x, np.array([0, 0]), reduction=3)
    with pytest.raises(ValueError, match="2-D"):
        S.xent_fused(np.zeros(3, np.float32), np.array([0]))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\)"):
        S.xent_fused(x, np.array([0, 0]), np.ones(2, np.float32))


def ref_bce_prob(x, t, w):
    x, t = x.astype(np.float64), t.astype(np.float64)
    with np.errstate(divide="ignore"):
        lx, l1 = np.log(x), np.log1p(-x)
    loss = -w * (t * np.maximum(lx, -100) + (1 - t) * np.maximum(l1, -100))
    gx = w * (x - t) / np.maximum(x * (1 - x), 1e-12)
    return loss, gx, w * (l1 - lx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 4, 17, 5000, 70001])
@pytest.mark.parametrize("isa", ISAS)
def test_bce_kernels_match_reference(dtype, n, isa):
    rng = np.random.default_rng(n)
    x = rng.random(n).astype(dtype)
    if n >= 4:
        x[:4] = [0.0, 1.0, 1e-30, 1 - 1e-7]  # saturated: finite loss and gx
    t = rng.random(n).astype(dtype)
    w = rng.random(n).astype(dtype)
    rl, rgx, rgt = ref_bce_prob(x, t, w)
    tol = TOL[dtype]
    np.testing.assert_allclose(S.bce_fwd(x, t, w, nthreads=2, isa=isa), rl, **tol)
    g = rng.standard_normal(n).astype(dtype)
    gx, gt = S.bce_bwd(x, t, g, w, target_grad=True, isa=isa)
    np.testing.assert_allclose(gx, g * rgx, rtol=tol["rtol"] * 10)
    finite = np.isfinite(rgt)
    np.testing.assert_allclose(gt[finite], (g * rgt)[finite], **tol)
    assert np.isinf(gt[~finite]).all()
    for red, scale in ((1, 1 / max(n, 1)), (2, 1.0)):
        out, fx, ft = S.bce_fused(x, t, w, red, True, True, isa=isa)
        if n:
            np.testing.assert_allclose(out, rl.sum() * scale, rtol=1e-6)
        np.testing.assert_allclose(fx, rgx * scale, rtol=tol["rtol"] * 10)
        np.testing.assert_allclose(ft[finite], (rgt * scale)[finite], **tol)
    xl = x * 8 - 4
    out, lx, lt = S.bce_logits_fused(xl, t, w, None, 0, True, False, isa=isa)
    np.testing.assert_allclose(out, S.bce_logits_fwd(xl, t, w, isa=isa), **tol)
    assert lt is None
    assert lx.shape == x.shape


def test_bce_kernel_validation():
    x = np.array([0.5, 1.5], np.float32)
    with pytest.raises(ValueError, match="between 0 and 1"):
        S.bce_fwd(x, np.ones(2, np.float32))
    with pytest.raises(ValueError, match="between 0 and 1"):
        S.bce_fused(np.array([np.nan], np.float32), np.ones(1, np.float32))
    with pytest.raises(ValueError, match="target has shape"):
        S.bce_fused(x, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="target has dtype float64"):
        S.bce_fused(x, np.ones(2))
    with pytest.raises(ValueError, match="grad_out has shape"):
        S.bce_bwd(
            np.full(2, 0.5, np.float32), np.ones(2, np.float32), np.ones(3, np.float32)
        )


def test_softmax_kernels_isa_argument():
    x = np.ones((2, 3), np.float32)
    t = np.array([0, 1])
    calls = {
        "softmax": lambda isa: S.softmax_fwd(x, 1, isa=isa),
        "softmax_backward": lambda isa: S.softmax_bwd(x, x.copy(), 1, isa=isa),
        "cross_entropy": lambda isa: S.xent_fused(x, t, isa=isa),
        "binary_cross_entropy": lambda isa: S.bce_fused(x / 2, x, isa=isa),
        "binary_cross_entropy_with_logits": lambda isa: S.bce_logits_fused(
            x, x, isa=isa
        ),
    }
    for op, call in calls.items():
        with pytest.raises(ValueError, match=f"{op}: unknown instruction set 'sse9'"):
            call("sse9")
        # Every ISA gives the generic loops' values to rounding.
        want = call("generic")
        for isa in ISAS:
            got = call(isa)
            for a, b in zip(
                got if isinstance(got, tuple) else (got,),
                want if isinstance(want, tuple) else (want,),
            ):
                if a is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=f"{op} {isa}")


@pytest.mark.parametrize(("n", "c"), [(9000, 10), (700, 200)])
@pytest.mark.parametrize("isa", ISAS)
def test_xent_kernels_threaded_match_one_thread(n, c, isa):
    # Above MG_SOFTMAX_PAR_MIN elements the rows are split over threads; every
    # row is computed as on one thread and the total summed serially, so the
    # results are the same bits whatever the thread count.
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((n, c)) * 4).astype(np.float32)
    t = rng.integers(0, c, n)
    one = S.xent_fused(x, t, reduction=1, grad=True, nthreads=1, isa=isa)
    two = S.xent_fused(x, t, reduction=1, grad=True, nthreads=2, isa=isa)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    rl, rg = ref_xent(x, t, None, -100, 0.0)
    np.testing.assert_allclose(two[0], rl.mean(), rtol=1e-5)
    np.testing.assert_allclose(two[2], rg / n, rtol=1e-4, atol=1e-9)
    scale = rng.standard_normal(n).astype(np.float32)
    b1 = S.xent_bwd(x, one[1], t, scale, nthreads=1, isa=isa)
    b2 = S.xent_bwd(x, one[1], t, scale, nthreads=2, isa=isa)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_allclose(b2, rg * scale[:, None], rtol=1e-4, atol=1e-6)
