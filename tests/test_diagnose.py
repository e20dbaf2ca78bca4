"""The diagnosis of failing gradient checks: each recognised mistake on
hand-made Jacobians, the backward probe, and a hypothesis test that randomly
drawn correct Functions pass while perturbed ones fail with the matching
diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd.diagnose import (
    BackwardProbe,
    RawGrad,
    diagnose,
    name_factor,
    probe_backward,
)
from minigrad.autograd.gradcheck import GradcheckError, JacobianCheck, gradcheck

RNG = np.random.default_rng(0)


def _check(a, n, index=0, shape=None, out=None, **kw):
    a, n = np.asarray(a, float), np.asarray(n, float)
    shape = shape if shape is not None else (a.shape[0],)
    out = out if out is not None else (a.shape[1],)
    return JacobianCheck(index, shape, out, a, n, 1e-5, 1e-3, **kw)


def _kinds(findings, index=0):
    return {f.kind for f in findings if f.index in (index, None)}


def _diag_matrix(v):
    return np.diag(np.asarray(v, float))


# -- each mistake on hand-made Jacobians ----------------------------------------------


def test_diagnose_sign_flipped_everywhere_counts_entries():
    n = _diag_matrix(RNG.uniform(0.5, 2, 12) * RNG.choice([-1, 1], 12))
    (f,) = diagnose([_check(-n, n)])
    assert f.kind == "sign"
    assert "wrong sign at all 12 entries" in f.message
    assert "analytical = -numerical" in f.message


@pytest.mark.parametrize(
    ("factor", "words"),
    [
        (2.0, "twice the true gradient"),
        (0.5, "the 2 from differentiating a square is missing"),
        (6.0, "6 times too large, and 6 is the number of elements of input 0"),
        (1 / 6, "6 times too small"),
        (3.7, "the factor 3.7 is not a common one"),
        (-2.0, "the sign is flipped too"),
    ],
)
def test_diagnose_constant_factor_is_named(factor, words):
    n = _diag_matrix(RNG.uniform(0.5, 2, 6))
    (f,) = diagnose([_check(factor * n, n)])
    assert f.kind == "factor"
    assert f.evidence["factor"] == pytest.approx(factor)
    assert words in f.message


def test_diagnose_factor_of_a_mean_uses_the_given_sizes():
    n = RNG.uniform(0.5, 2, (12, 1))
    (f,) = diagnose([_check(4 * n, n, out=())], sizes={"the batch size N": 4})
    assert "4 is the batch size N" in f.message
    assert "the 1/4 of a mean over 4 elements is missing" in f.message


def test_diagnose_factor_of_a_broadcast_is_named():
    # d/db of b (3,) broadcast over a (4, 3) output: each row of N has four ones.
    n = np.zeros((3, 12))
    for j in range(12):
        n[j % 3, j] = 1.0
    (f,) = diagnose([_check(n / 4, n, shape=(3,), out=(4, 3))])
    assert "4 is the number of times input 0 is broadcast" in f.message


def test_name_factor_combines_two_and_a_size():
    assert "2 * 5" in name_factor(10.0, {"the batch size N": 5})
    assert "not a common one" in name_factor(1.37, {"the batch size N": 5})


def test_diagnose_a_lone_entry_is_not_called_a_factor():
    (f,) = diagnose([_check([[1.37]], [[1.0]], shape=(), out=())])
    assert f.kind == "mismatch"


def test_diagnose_transposed_square_gradient():
    # Elementwise on a (3, 3) input: backward returned the gradient transposed.
    d = RNG.uniform(0.5, 2, (3, 3))
    n = np.diag(d.ravel())
    a = np.zeros_like(n)
    for j in range(9):
        a[:, j] = n[:, j].reshape(3, 3).T.ravel()
    (f,) = diagnose([_check(a, n, shape=(3, 3), out=(3, 3))])
    assert f.kind == "transposed"


def test_diagnose_swapped_inputs():
    na, nb = RNG.standard_normal((2, 4, 4))
    checks = [_check(nb, na, 0), _check(na, nb, 1)]
    found = diagnose(checks)
    assert {(f.kind, f.index) for f in found} == {("swapped", 0), ("swapped", 1)}
    assert "matches the numerical gradient of input 1" in found[0].message


def test_diagnose_zero_gradient():
    n = _diag_matrix(RNG.uniform(0.5, 2, 5))
    (f,) = diagnose([_check(np.zeros_like(n), n)])
    assert f.kind == "zero"
    assert "zero at all 25 entries" in f.message


def test_diagnose_partial_zero_spurious_and_sign_name_the_elements():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    n = _diag_matrix((x > 0).astype(float))
    a = _diag_matrix((x < 0).astype(float))  # the relu mask inverted
    found = diagnose([_check(a, n, input_values=x)])
    kinds = {f.kind: f for f in found}
    assert set(kinds) == {"zero", "spurious"}
    assert "(all where input 0 is positive)" in kinds["zero"].message
    assert "(all where input 0 is negative)" in kinds["spurious"].message
    a2 = _diag_matrix(np.sign(x))  # |x|' taken as 1 everywhere: wrong where x < 0
    n2 = _diag_matrix(np.ones(4))
    (f,) = diagnose([_check(a2, n2, input_values=x)])
    assert f.kind == "sign"
    assert f.evidence["partial"]
    assert "wrong sign at 2 of 4 entries" in f.message


def test_diagnose_kink_when_analytical_is_a_one_sided_derivative():
    x = np.array([-1.0, 0.0, 2.0])
    left = _diag_matrix([0.0, 0.0, 1.0])
    right = _diag_matrix([0.0, 1.0, 1.0])
    central = (left + right) / 2
    analytical = left  # relu'(0) = 0
    c = _check(
        analytical,
        central,
        numerical_left=left,
        numerical_right=right,
        input_values=x,
    )
    (f,) = diagnose([c])
    assert f.kind == "kink"
    assert "right only away from a kink" in f.message
    assert "element (1,) = 0, at 0" in f.message


def test_diagnose_a_wrong_value_at_a_kink_is_not_excused():
    left, right = _diag_matrix([0.0, 0.0]), _diag_matrix([0.0, 1.0])
    c = _check(
        _diag_matrix([0.0, 3.0]),
        (left + right) / 2,
        numerical_left=left,
        numerical_right=right,
    )
    assert "kink" not in _kinds(diagnose([c]))


def test_diagnose_mismatch_without_pattern():
    n = RNG.standard_normal((4, 3))
    (f,) = diagnose([_check(n + RNG.standard_normal((4, 3)), n)])
    assert f.kind == "mismatch"
    assert "no simple pattern" in f.message


def test_diagnose_passing_checks_give_nothing():
    n = RNG.standard_normal((3, 3))
    assert diagnose([_check(n, n)]) == []


# -- raw gradients (what a backward returned before the engine conformed it) --------


def test_diagnose_raw_broadcast_shape():
    n = np.ones((3, 12)) * 0
    for j in range(12):
        n[j % 3, j] = 1.0
    raw = np.zeros((12, 12))
    np.fill_diagonal(raw, 1.0)  # the (4, 3) output-shaped gradient, unsummed
    c = _check(np.full((3, 12), np.nan), n, shape=(3,), out=(4, 3))
    probe = BackwardProbe("F.backward", {0: RawGrad((4, 3), raw, "F.backward")})
    (f,) = diagnose([c], probe)
    assert f.kind == "broadcast"
    assert f.evidence["dims"] == (0,)
    assert "summed, it matches" in f.message


def test_diagnose_raw_transposed_and_swapped_shapes():
    na = RNG.standard_normal((6, 5))  # input a (2, 3)
    nb = RNG.standard_normal((12, 5))  # input b (3, 4)
    ta = na.reshape(2, 3, 5).transpose(1, 0, 2).reshape(6, 5)
    ca = _check(np.full((6, 5), np.nan), na, 0, (2, 3), (5,))
    cb = _check(np.full((12, 5), np.nan), nb, 1, (3, 4), (5,))
    probe = BackwardProbe("F.backward", {0: RawGrad((3, 2), ta, "F.backward")})
    assert _kinds(diagnose([ca, cb], probe)) == {"transposed"}
    probe = BackwardProbe("F.backward", {0: RawGrad((3, 4), nb, "F.backward")})
    assert _kinds(diagnose([ca, cb], probe)) == {"swapped"}


# -- the probe on real Functions ------------------------------------------------------


class _Scale(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x.data * y.data

    @staticmethod
    def backward(ctx, g):
        return g * 0 + 1, None  # ignores grad_out, and no gradient for y


def test_probe_finds_ignored_grad_out_and_missing_gradient():
    x = mg.tensor(RNG.standard_normal(3), dtype=mg.float64, requires_grad=True)
    y = mg.tensor(RNG.standard_normal(3), dtype=mg.float64, requires_grad=True)
    probe = probe_backward(_Scale.apply, (x, y))
    assert probe is not None
    assert probe.linear is False
    assert probe.raw[1].shape is None
    with pytest.raises(GradcheckError) as info:
        gradcheck(_Scale.apply, (x, y))
    kinds = {f.kind for f in info.value.findings}
    assert {"not_linear", "zero"} <= kinds


def test_probe_skips_builtin_ops_and_composites():
    x = mg.tensor(RNG.standard_normal(3), dtype=mg.float64, requires_grad=True)
    assert probe_backward(mg.tanh, (x,)) is None
    assert probe_backward(lambda t: (t * 2).sum(), (x,)) is None


class _Unfinished(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.data * 2

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("fill in backward")


class _TooFew(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x.data + y.data

    @staticmethod
    def backward(ctx, g):
        return g


def test_gradcheck_reports_unimplemented_backward_and_wrong_arity():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([3.0, 4.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="not implemented yet") as info:
        gradcheck(_Unfinished.apply, (x,))
    assert "not_implemented" in {f.kind for f in info.value.findings}
    with pytest.raises(GradcheckError, match="returned 1 gradient") as info:
        gradcheck(_TooFew.apply, (x, y))
    assert "arity" in {f.kind for f in info.value.findings}


# -- hypothesis: random correct Functions pass, perturbed ones are diagnosed ----------


def _sig(x):
    return 1 / (1 + np.exp(-x))


FAMILY = {
    "exp": (np.exp, np.exp),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (_sig, lambda x: _sig(x) * (1 - _sig(x))),
    "square": (lambda x: x * x, lambda x: 2 * x),
    "cube": (lambda x: x**3, lambda x: 3 * x * x),
    "sin": (np.sin, np.cos),
}
EXPECTED = {
    "scale": "factor",
    "negate": "sign",
    "transpose": "transposed",
    "unreduced": "broadcast",
    "swap": "swapped",
    "zero": "zero",
}


def _sum_to(g, shape):
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g


def _make(f, df, perturb, c):
    """z = f(a) * b (broadcast), with a backward that is right or perturbed."""

    class Fn(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return f(a.data) * b.data

        @staticmethod
        def backward(ctx, g):
            a, b = (t.data for t in ctx.saved_tensors)
            ga_full, gb_full = g.data * b * df(a), g.data * f(a)
            ga, gb = _sum_to(ga_full, a.shape), _sum_to(gb_full, b.shape)
            if perturb == "scale":
                return c * ga, gb
            if perturb == "negate":
                return -ga, gb
            if perturb == "transpose":
                return ga.T, gb
            if perturb == "unreduced":
                return ga, gb_full
            if perturb == "swap":
                return gb, ga
            if perturb == "zero":
                return (None if c > 0 else np.zeros_like(ga)), gb
            return ga, gb

    return Fn


@st.composite
def _problem(draw):
    perturb = draw(st.sampled_from(["none", *EXPECTED]))
    out_ndim = draw(st.integers(1 if perturb != "transpose" else 2, 3))
    side = st.integers(2, 3)
    if perturb == "transpose":
        n = draw(side)
        a_shape = (n, n)
        b_shape = draw(st.sampled_from([(n, n), (n,), (1, n), ()]))
    else:
        out = tuple(draw(side) for _ in range(out_ndim))
        a_shape = out
        b_shape = tuple(s if draw(st.booleans()) else 1 for s in out)
        b_shape = b_shape[draw(st.integers(0, len(b_shape))) :]
        if perturb == "swap":
            b_shape = out
        if perturb == "unreduced":
            assume(b_shape != out)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    a = rng.uniform(0.15, 1.4, a_shape) * rng.choice([-1, 1], a_shape)
    b = rng.uniform(0.5, 2.0, b_shape) * rng.choice([-1, 1], b_shape)
    name = draw(st.sampled_from(sorted(FAMILY)))
    c = draw(st.sampled_from([2.0, 0.5, 3.0, 0.25, 10.0, -2.0]))
    return perturb, name, c, a, b


@given(_problem())
def test_random_functions_pass_and_perturbed_ones_are_diagnosed(problem):
    perturb, name, c, a_arr, b_arr = problem
    f, df = FAMILY[name]
    a = mg.tensor(a_arr, dtype=mg.float64, requires_grad=True)
    b = mg.tensor(b_arr, dtype=mg.float64, requires_grad=True)
    fn = _make(f, df, perturb, c).apply
    if perturb == "swap":
        ga, gb = b_arr * df(a_arr), f(a_arr)
        ratio = ga / gb
        assume(np.ptp(ratio) > 0.05 * np.abs(ratio).max())  # not proportional
    if perturb == "none":
        assert gradcheck(fn, (a, b), strict=True)
        return
    with pytest.raises(GradcheckError) as info:
        gradcheck(fn, (a, b), strict=True)
    findings = info.value.findings
    expected = EXPECTED[perturb]
    target = 1 if perturb == "unreduced" else 0
    assert expected in {f.kind for f in findings if f.index == target}, info.value
    if perturb == "scale":
        (fac,) = [f for f in findings if f.kind == "factor"]
        assert fac.evidence["factor"] == pytest.approx(c, rel=1e-3)
