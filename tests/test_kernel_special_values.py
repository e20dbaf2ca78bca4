"""Every activation and softmax-family kernel, on every instruction set this
CPU runs and both dtypes, with one special value (NaN, ±inf, ±max, huge,
-0.0, denormal) among ordinary ones: results equal numpy's float64
reference, NaN exactly where it gives NaN, the same infinities.

These also run under the sanitizer build (see the commit that added this
file): the float32 exp once shifted a value derived from NaN, undefined
behaviour that gave the right result here only by luck.
"""

from __future__ import annotations

import numpy as np
import pytest

from minigrad._C import _act
from minigrad._C import _softmax as S
from tests.test_act_kernels import LIMITS, PARAMS, reference

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]
DTYPES = [np.float32, np.float64]
SPECIALS = ["nan", "inf", "-inf", "max", "-max", "1e30", "-1e30", "-0.0", "denormal"]
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def special(name: str, dtype) -> float:
    info = np.finfo(dtype)
    table = {
        "max": info.max,
        "-max": -info.max,
        "denormal": info.smallest_subnormal * 3,
    }
    return dtype(table[name]) if name in table else dtype(float(name))


def _planted(shape, name, dtype, at, seed=0, scale=2.0):
    """Ordinary values with the special value planted at index `at`."""
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    x[at] = special(name, dtype)
    return x


def _same(actual, expected, dtype, what):
    """NaN where expected is NaN, equal infinities, the rest within RTOL
    (relative to max(|expected|, 1)). Near the dtype's overflow (an operand
    at ±max) a float32 intermediate may overflow where the float64
    reference does not: there only the sign must agree."""
    expected = np.asarray(expected, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        want = expected.astype(dtype).astype(np.float64)  # overflows as dtype
    got = np.asarray(actual, np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    edge = np.maximum(np.abs(got), np.abs(expected)) >= np.finfo(dtype).max / 8
    edge &= ~np.isnan(got) & np.isfinite(expected)
    np.testing.assert_array_equal(np.sign(got[edge]), np.sign(want[edge]), what)
    got, want = got[~edge], want[~edge]
    inf = np.isinf(want) | np.isinf(got)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg=what)
    fin = ~(inf | np.isnan(want))
    err = np.abs(got[fin] - want[fin]) / np.maximum(np.abs(want[fin]), 1)
    assert err.max(initial=0) <= RTOL[dtype], (what, err.max())


# -- activations ------------------------------------------------------------


def _act_reference(op, x):
    """reference() with the documented limits at ±inf (mg_act.h: never
    inf·0 = NaN) and, for huge finite x where the float64 formula itself
    forms inf·0, the limit of that sign."""
    lo, hi, dlo, dhi = LIMITS[op]
    with np.errstate(all="ignore"):
        ry, rd = reference(op, x)
    ry, rd = ry.copy(), rd.copy()
    ry[x == -np.inf], ry[x == np.inf] = lo, hi
    rd[x == -np.inf], rd[x == np.inf] = dlo, dhi
    fix = np.isnan(rd) & np.isfinite(x)
    rd[fix] = np.where(x[fix] < 0, dlo, dhi)
    return ry, rd


@pytest.mark.parametrize("special_name", SPECIALS)
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", _act.OPS)
def test_activation_special_values(op, dtype, isa, special_name):
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    # 67 elements reach the vector body, the realigned head and the padded
    # tail (act.c, run_fwd); 5 only the short path. The special value sits in
    # each of those parts in turn.
    for n, at in ((67, 0), (67, 33), (67, 66), (5, 2)):
        x = _planted(n, special_name, dtype, at, scale=4.0)
        g = np.random.default_rng(1).standard_normal(n).astype(dtype)
        y = _act.forward(op, x, p0=p0, p1=p1, isa=isa)
        ry, rd = _act_reference(op, x.astype(np.float64))
        _same(y, ry, dtype, f"{op} forward, n={n} at={at}")
        if op in _act.BACKWARD_FROM_OUTPUT:
            # The backward reads y: f' as a polynomial of the rounded y.
            y64 = y.astype(np.float64)
            rd = y64 * (1 - y64) if op == "sigmoid" else 1 - y64 * y64
            s = y
        else:
            s = x
        gx = _act.backward(op, s, g, p0=p0, p1=p1, isa=isa)
        with np.errstate(all="ignore"):
            want = g.astype(np.float64) * rd
        _same(gx, want, dtype, f"{op} backward, n={n} at={at}")
        # The special value in the upstream gradient instead (x ordinary).
        x = _planted(n, "1", dtype, at, scale=4.0)
        g = _planted(n, special_name, dtype, at, seed=1)
        y = _act.forward(op, x, p0=p0, p1=p1, isa=isa)
        s = y if op in _act.BACKWARD_FROM_OUTPUT else x
        gx = _act.backward(op, s, g, p0=p0, p1=p1, isa=isa)
        _, rd = _act_reference(op, x.astype(np.float64))
        if op in _act.BACKWARD_FROM_OUTPUT:
            y64 = y.astype(np.float64)
            rd = y64 * (1 - y64) if op == "sigmoid" else 1 - y64 * y64
        g64 = g.astype(np.float64)
        with np.errstate(all="ignore"):
            want = g64 * rd
        if op == "relu":  # a select, as PyTorch's: 0 (not NaN·0) where x <= 0
            want = np.where(x > 0, g64, 0.0)
        _same(gx, want, dtype, f"{op} backward, grad {special_name} at={at}")


# -- softmax / log_softmax ----------------------------------------------------


def ref_softmax(x, log):
    with np.errstate(all="ignore"):
        z = x - x.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return z - lse if log else np.exp(z - lse)


def ref_softmax_bwd(y, g, log):
    with np.errstate(all="ignore"):
        if log:
            return g - np.exp(y) * g.sum(axis=-1, keepdims=True)
        return y * (g - (g * y).sum(axis=-1, keepdims=True))


# Row lengths: short rows (blocks of rows, one flat exp loop) and long ones;
# the special value sits in row 1 of 3 (the others must be unaffected).
SOFTMAX_SHAPES = [(3, 10), (3, 100)]


@pytest.mark.parametrize("special_name", SPECIALS)
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_special_values(log, dtype, isa, special_name):
    for shape in SOFTMAX_SHAPES:
        for at in ((1, 0), (1, shape[1] - 1)):
            x = _planted(shape, special_name, dtype, at)
            y = S.softmax_fwd(x, 1, log=log, isa=isa)
            what = f"{'log_' * log}softmax {shape} at={at}"
            _same(y, ref_softmax(x.astype(np.float64), log), dtype, what)
            # The axis not last (blocks of inner positions).
            yt = S.softmax_fwd(np.ascontiguousarray(x.T), 0, log=log, isa=isa)
            _same(yt.T, ref_softmax(x.astype(np.float64), log), dtype, what + " T")
            # Backward: the special value in y, then in the upstream gradient.
            ok = S.softmax_fwd(_planted(shape, "1", dtype, at), 1, log=log)
            g = np.random.default_rng(2).standard_normal(shape).astype(dtype)
            for yy, gg in ((x, g), (ok, x)):
                gx = S.softmax_bwd(yy, gg, 1, log=log, isa=isa)
                y64, g64 = yy.astype(np.float64), gg.astype(np.float64)
                want = ref_softmax_bwd(y64, g64, log)
                _same(gx, want, dtype, what + " backward")


# -- cross-entropy --------------------------------------------------------------


def ref_xent(x, t, eps):
    """Loss (n,) and gradient of the summed loss (n, c), float64, stable."""
    n, c = x.shape
    with np.errstate(all="ignore"):
        lp = x - x.max(1, keepdims=True)
        lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
        loss = -(1 - eps) * lp[np.arange(n), t]
        if eps:  # (0·-inf would be NaN)
            loss -= eps / c * lp.sum(1)
        q = np.full((n, c), eps / c)
        q[np.arange(n), t] += 1 - eps
        grad = np.exp(lp) - q
    return loss, grad


@pytest.mark.parametrize("special_name", SPECIALS)
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_special_values(dtype, isa, special_name):
    for c in (10, 100):  # short rows (transposed blocks) and long ones
        t = np.array([3, 0, 5, 7])
        for at, eps in (((1, 0), 0.0), ((1, 4), 0.0), ((2, 5), 0.1)):
            x = _planted((4, c), special_name, dtype, at)
            what = f"cross_entropy c={c} at={at} eps={eps}"
            rl, rg = ref_xent(x.astype(np.float64), t, eps)
            loss, lse = S.xent_fwd(x, t, label_smoothing=eps, isa=isa)
            _same(loss, rl, dtype, what)
            out, _, gx = S.xent_fused(
                x, t, label_smoothing=eps, reduction=2, grad=True, isa=isa
            )
            with np.errstate(all="ignore"):
                _same(out, rl.sum(), dtype, what + " sum")
            _same(gx, rg, dtype, what + " fused grad")
            one = np.ones((), dtype)
            gb = S.xent_bwd(x, lse, t, one, label_smoothing=eps, isa=isa)
            _same(gb, rg, dtype, what + " backward")


@pytest.mark.parametrize("special_name", SPECIALS)
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_backward_special_lse(dtype, isa, special_name):
    """The backward takes lse from its caller: p = exp(x - lse) for any lse."""
    for c in (10, 100):
        x = _planted((3, c), "1", dtype, (0, 0))
        t = np.array([1, 2, 3])
        lse = np.array([0.5, 2.0, -1.0], dtype)
        lse[1] = special(special_name, dtype)
        gb = S.xent_bwd(x, lse, t, np.ones((), dtype), isa=isa)
        x64, l64 = x.astype(np.float64), lse.astype(np.float64)
        with np.errstate(all="ignore"):
            want = np.exp(x64 - l64[:, None])
        want[np.arange(3), t] -= 1
        _same(gb, want, dtype, f"cross_entropy backward c={c} lse={special_name}")


# -- binary cross-entropy ---------------------------------------------------------


def ref_bce_logits(x, t):
    with np.errstate(all="ignore"):
        sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        sig_neg = np.exp(-np.logaddexp(0, x))
        return (1 - t) * x + sp, (1 - t) - sig_neg, 0 * sp - x


@pytest.mark.parametrize("special_name", SPECIALS)
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_special_values(dtype, isa, special_name):
    for at in (0, 20, 36):
        x = _planted(37, special_name, dtype, at, scale=3.0)
        t = np.random.default_rng(3).uniform(0, 1, 37).astype(dtype)
        t[at] = 0.5
        rl, rgx, rgt = ref_bce_logits(x.astype(np.float64), t.astype(np.float64))
        what = f"bce_with_logits at={at}"
        _same(S.bce_logits_fwd(x, t, isa=isa), rl, dtype, what)
        gx, gt = S.bce_logits_bwd(x, t, np.ones((), dtype), target_grad=True, isa=isa)
        _same(gx, rgx, dtype, what + " grad input")
        _same(gt, rgt, dtype, what + " grad target")
        out, fgx, fgt = S.bce_logits_fused(
            x, t, reduction=0, input_grad=True, target_grad=True, isa=isa
        )
        _same(out, rl, dtype, what + " fused")
        _same(fgx, rgx, dtype, what + " fused grad input")
        _same(fgt, rgt, dtype, what + " fused grad target")


@pytest.mark.parametrize("special_name", SPECIALS)
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_special_values(dtype, isa, special_name):
    """Probabilities: a value outside [0, 1] (or NaN) is an error, as in
    PyTorch; the backward, which does not check, propagates it."""
    at = 20
    x = np.random.default_rng(4).uniform(0.01, 0.99, 37).astype(dtype)
    x[at] = special(special_name, dtype)
    t = np.random.default_rng(5).uniform(0, 1, 37).astype(dtype)
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    with np.errstate(all="ignore"):
        lx, l1 = np.log(x64), np.log1p(-x64)
        loss = -(t64 * np.maximum(lx, -100) + (1 - t64) * np.maximum(l1, -100))
        rgx = (x64 - t64) / np.maximum(x64 * (1 - x64), 1e-12)
        rgt = l1 - lx
    if not 0 <= x64[at] <= 1:
        with pytest.raises(ValueError, match="between 0 and 1"):
            S.bce_fwd(x, t, isa=isa)
    else:
        _same(S.bce_fwd(x, t, isa=isa), loss, dtype, "bce")
    gx, gt = S.bce_bwd(x, t, np.ones((), dtype), target_grad=True, isa=isa)
    _same(gx, rgx, dtype, "bce grad input")
    _same(gt, rgt, dtype, "bce grad target")
