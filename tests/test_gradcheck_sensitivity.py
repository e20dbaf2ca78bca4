"""How sensitive gradcheck and gradgradcheck are: PyTorch's default tolerances,
a gradient 2 % off fails while one 1e-5 off passes, and for each mistake the
diagnosis recognises (sign, factor, transpose, broadcast, swapped inputs, zero,
kink, ignored grad_out) a near miss, which is not the exact pattern, still fails.
gradgradcheck fails on Functions whose recorded backward (create_graph=True) is
wrong while their plain backward is right.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from minigrad.autograd.grad_mode import STATE

RNG = np.random.default_rng(11)


def _t(arr: Any) -> mg.Tensor:
    return mg.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def _function(
    forward: Callable[..., np.ndarray], backward: Callable[..., Any]
) -> Callable[..., mg.Tensor]:
    """``apply`` of a Function: forward on the inputs' arrays, backward(g, *xs)
    on Tensors."""

    class Custom(Function):
        @staticmethod
        def forward(ctx, *xs):
            ctx.save_for_backward(*xs)
            return forward(*(x.data for x in xs))

        @staticmethod
        def backward(ctx, g):
            return backward(g, *ctx.saved_tensors)

    return Custom.apply


def _fails(fn: Callable[..., Any], inputs: tuple[Any, ...], **kw: Any) -> str:
    """Asserts that gradcheck fails (both ways) and returns its report."""
    assert gradcheck(fn, inputs, raise_exception=False, **kw) is False
    with pytest.raises(GradcheckError) as info:
        gradcheck(fn, inputs, **kw)
    return str(info.value)


# -- defaults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "check", [gradcheck, gradgradcheck, mg.autograd.gradcheck_module]
)
def test_default_tolerances_are_pytorchs(check):
    params = inspect.signature(check).parameters
    assert params["eps"].default == 1e-6
    assert params["atol"].default == 1e-5
    assert params["rtol"].default == 1e-3
    assert params["raise_exception"].default is True


def test_signatures_are_pytorchs():
    assert list(inspect.signature(gradcheck).parameters)[:6] == [
        "fn",
        "inputs",
        "eps",
        "atol",
        "rtol",
        "raise_exception",
    ]
    assert list(inspect.signature(gradgradcheck).parameters)[:7] == [
        "fn",
        "inputs",
        "grad_outputs",
        "eps",
        "atol",
        "rtol",
        "raise_exception",
    ]


# -- relative error at the default tolerances --------------------------------------


def _cube_scaled(c: float) -> Callable[..., mg.Tensor]:
    return _function(lambda x: x**3, lambda g, x: g * (3.0 * c) * x * x)


X_CUBE = RNG.uniform(0.5, 2.0, 6)  # gradients 0.75 .. 12: rtol, not atol, decides


@pytest.mark.parametrize("c", [1.02, 0.98, 1.005, 1.002])
def test_a_gradient_off_by_a_few_tenths_of_a_percent_fails(c):
    _fails(_cube_scaled(c), (_t(X_CUBE),))


@pytest.mark.parametrize("c", [1.0, 1 + 1e-5, 1 - 1e-5, 1 + 1e-4])
def test_a_gradient_off_by_1e5_relative_passes(c):
    assert gradcheck(_cube_scaled(c), (_t(X_CUBE),))


def test_gradgradcheck_second_derivative_off_by_2_percent_fails():
    # First derivative exact, second derivative 6x·1.02: (x - x.detach()) is 0
    # in value and 1 in derivative.
    def backward(g, x):
        return g * (3.0 * x * x + 0.12 * x.detach() * (x - x.detach()))

    fn = _function(lambda x: x**3, backward)
    x = _t(X_CUBE)
    assert gradcheck(fn, (x,))
    with pytest.raises(GradcheckError, match="finite differences"):
        gradgradcheck(fn, (x,))
    ok = _function(lambda x: x**3, lambda g, x: g * 3.0 * x * x)
    assert gradgradcheck(ok, (x,))


# -- near misses of each diagnosed mistake ------------------------------------------


def test_sign_flipped_and_sign_flipped_at_one_tiny_entry_fail():
    x = np.array([0.9, -1.3, 0.01, 1.7, -0.6])

    def flip(where):
        def backward(g, x):
            d = 3.0 * x * x
            return g * mg.where(where(x.data), -d, d)

        return _function(lambda x: x**3, backward)

    assert "sign" in _fails(flip(lambda v: np.ones_like(v, bool)), (_t(x),))
    # Only where the gradient is 3e-4: a tiny sign error still fails.
    _fails(flip(lambda v: np.abs(v) < 0.1), (_t(x),))


def test_negated_with_a_small_error_fails():
    fn = _function(lambda x: x**3, lambda g, x: g * (-3.0 * x * x) * 1.01)
    _fails(fn, (_t(X_CUBE),))


@pytest.mark.parametrize("c", [2.0, 1.03, 0.5 * 1.01])
def test_factors_common_and_near_one_fail(c):
    report = _fails(_cube_scaled(c), (_t(X_CUBE),))
    if c == 2.0:
        assert "twice the true gradient" in report


@pytest.mark.parametrize("asym", [1.0, 0.02])
def test_transposed_gradient_fails_even_for_a_nearly_symmetric_one(asym):
    # f(X) = Σ W·X: dX = W. Backward returns Wᵀ; W nearly symmetric (asym
    # 0.02) makes that a 1-4 % error, below any diagnosis's notice.
    s = RNG.uniform(1.0, 2.0, (3, 3))
    w = (s + s.T) / 2 + asym * RNG.uniform(-1.0, 1.0, (3, 3))
    wt = mg.tensor(w.T.copy())
    fn = _function(lambda x: (x * w).sum(), lambda g, x: g * wt)
    _fails(fn, (_t(RNG.uniform(-1, 1, (3, 3))),))


def test_broadcast_gradient_from_one_row_fails_when_rows_nearly_agree():
    # y = (a + b)·C with b (3,) broadcast over 2 rows: db = Σ_rows g·C. Backward
    # takes row 0 twice; C's rows differ by 1 %.
    c0 = RNG.uniform(1.0, 2.0, 3)
    c = np.stack([c0, c0 * 1.01])
    ct = mg.tensor(c)

    def backward(g, a, b):
        gc = g * ct
        return gc, gc[0] * 2.0

    fn = _function(lambda a, b: (a + b) * c, backward)
    _fails(fn, (_t(RNG.uniform(-1, 1, (2, 3))), _t(RNG.uniform(-1, 1, 3))))


def test_broadcast_gradient_left_unsummed_fails_strict():
    # The exact pattern: the engine sums it (passes, as PyTorch); strict fails.
    def backward(g, a, b):
        return g, g  # b's gradient has a's shape (2, 3), not (3,)

    fn = _function(lambda a, b: a + b, backward)
    ins = (_t(RNG.uniform(-1, 1, (2, 3))), _t(RNG.uniform(-1, 1, 3)))
    assert gradcheck(fn, ins)
    assert "broadcast" in _fails(fn, ins, strict=True)


def test_swapped_gradients_fail_even_when_the_inputs_nearly_agree():
    a = RNG.uniform(0.5, 2.0, 4)
    for b in (RNG.uniform(0.5, 2.0, 4), a * (1 + 0.02 * RNG.uniform(-1, 1, 4))):
        fn = _function(
            lambda a, b: a * b * b, lambda g, a, b: (g * 2 * a * b, g * b * b)
        )
        _fails(fn, (_t(a), _t(b)))


@pytest.mark.parametrize(
    "wrong",
    [
        lambda g, a, b: (g, None),  # missing
        lambda g, a, b: (g, g * 0.0),  # zero
        lambda g, a, b: (g, g * 2e-5 * b),  # nearly zero: 1 % of the true one
        lambda g, a, b: (g * mg.tensor([1.0, 1.0, 0.0]), g * 2e-3 * b),  # one entry
    ],
)
def test_zero_missing_or_nearly_zero_gradients_fail(wrong):
    # y = a + 1e-3·b²: b's gradient (~2e-3) is small but far above atol.
    fn = _function(lambda a, b: a + 1e-3 * b * b, wrong)
    _fails(fn, (_t(RNG.uniform(-1, 1, 3)), _t(RNG.uniform(0.5, 1.5, 3))))


def test_wrong_derivative_close_to_a_kink_fails():
    # relu with x 2e-4 from its kink (farther than eps: the one-sided
    # differences agree), backward thresholds at 1e-3: 0 where 1 is right.
    x = np.array([2e-4, -2e-4, 0.7, -0.9])
    fn = _function(
        lambda x: np.maximum(x, 0.0),
        lambda g, x: g * mg.tensor((x.data > 1e-3).astype(np.float64)),
    )
    _fails(fn, (_t(x),))


def test_leaky_slope_slightly_wrong_fails():
    x = np.array([2e-4, -2e-4, 0.7, -0.9])
    fn = _function(
        lambda x: np.where(x > 0, x, 0.01 * x),
        lambda g, x: g * mg.tensor(np.where(x.data > 0, 1.0, 0.0102)),
    )
    _fails(fn, (_t(x),))


def test_backward_nearly_ignoring_grad_out_fails():
    fn = _function(lambda x: x**3, lambda g, x: (g + 0.01) * 3.0 * x * x)
    _fails(fn, (_t(X_CUBE),))


# -- gradgradcheck on recorded backwards ------------------------------------------


class _TwoPathCube(Function):
    """y = x³ written like the built-in ops: plain backward in numpy, recorded
    backward (create_graph=True) with Tensor ops, ``_recorded`` (overridden)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data**3

    @classmethod
    def backward(cls, ctx, g):
        (x,) = ctx.saved_tensors
        if STATE.grad_enabled:
            return cls._recorded(g, x)
        return mg.tensor(g.data * 3.0 * x.data**2)

    @staticmethod
    def _recorded(g, x):
        return g * 3.0 * x * x


class _WrongValueWhenRecorded(_TwoPathCube):
    # A wrong first derivative that only create_graph=True computes: finite
    # differences of this path would agree with its own backward.
    @staticmethod
    def _recorded(g, x):
        return g * 3.0 * x * x * 1.02


class _WrongGraphWhenRecorded(_TwoPathCube):
    # The right first derivative in value, a wrong second derivative (3x, not 6x).
    @staticmethod
    def _recorded(g, x):
        return g * 3.0 * x * x.detach()


class _WrongInGradOutWhenRecorded(_TwoPathCube):
    # Right in value and in d/dx, wrong in d/dv: 0 instead of 3x².
    @staticmethod
    def _recorded(g, x):
        return g.detach() * 3.0 * x * x


def test_gradgradcheck_passes_a_correct_two_path_function():
    assert gradgradcheck(_TwoPathCube.apply, (_t(X_CUBE),))


@pytest.mark.parametrize(
    ("cls", "match", "label"),
    [
        (_WrongValueWhenRecorded, "another first derivative", "first derivative"),
        (_WrongGraphWhenRecorded, "finite differences", "input 0"),
        (_WrongInGradOutWhenRecorded, "finite differences", "grad_outputs[0]"),
    ],
)
def test_gradgradcheck_catches_a_wrong_recorded_backward(cls, match, label):
    x = _t(X_CUBE)
    assert gradcheck(cls.apply, (x,))  # plain backward is right
    with pytest.raises(GradcheckError, match=match) as info:
        gradgradcheck(cls.apply, (x,))
    assert label in str(info.value)
    assert gradgradcheck(cls.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_takes_grad_outputs_and_checks_only_those_that_require_grad():
    x = _t(X_CUBE)
    v = mg.tensor(RNG.standard_normal(6))  # constant: d/dv is not checked
    assert gradgradcheck(_WrongInGradOutWhenRecorded.apply, (x,), (v,))
    with pytest.raises(GradcheckError):
        gradgradcheck(_WrongGraphWhenRecorded.apply, (x,), (v,))
    with pytest.raises(ValueError, match="grad_outputs"):
        gradgradcheck(_TwoPathCube.apply, (x,), (v, v))
