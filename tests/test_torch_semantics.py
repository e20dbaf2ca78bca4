"""Gradients where minigrad follows a convention PyTorch fixes and the math
leaves open: kinks, ties, constant inputs, zero bases, NaN.

Each convention is checked twice: against written-out expected values (runs
without PyTorch) and against PyTorch itself where it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from tests.semantics_helpers import INF, NAN, _f64, _smooth

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck


# -- gradients at the points where PyTorch fixes a convention -------------------

# name: (fn(T, x), x, expected value, expected dL/dx for L = sum(fn(x)))
GRAD_CONVENTIONS = {
    # std's gradient is 0 at a constant input (not NaN: std_backward masks std == 0)
    "std_constant": (lambda T, x: x.std(), [2.0, 2.0, 2.0], 0.0, [0.0, 0.0, 0.0]),
    "std_constant_rows": (
        lambda T, x: x.reshape(2, 2).std(1),
        [2.0, 2.0, 1.0, 3.0],
        [0.0, math.sqrt(2.0)],
        [0.0, 0.0, -1 / math.sqrt(2.0), 1 / math.sqrt(2.0)],
    ),
    "std_biased_single": (
        lambda T, x: x.std(correction=0),
        [5.0],
        0.0,
        [0.0],
    ),
    "var_constant": (lambda T, x: x.var(), [2.0, 2.0, 2.0], 0.0, [0.0, 0.0, 0.0]),
    # abs'(0) = 0, relu'(0) = 0
    "abs_kink": (lambda T, x: x.abs(), [0.0, -1.0, 2.0], [0.0, 1.0, 2.0], [0, -1, 1]),
    "relu_kink": (lambda T, x: x.relu(), [0.0, -1.0, 2.0], [0.0, 0.0, 2.0], [0, 0, 1]),
    # clamp passes the gradient at the bounds themselves
    "clamp_bounds": (
        lambda T, x: x.clamp(0.0, 1.0),
        [0.0, 1.0, -1.0, 0.5, 2.0],
        [0.0, 1.0, 0.0, 0.5, 1.0],
        [1, 1, 0, 1, 0],
    ),
    "clamp_tensor_bounds": (
        lambda T, x: x.clamp(_f64(T, [0.0] * 5), _f64(T, [1.0] * 5)),
        [0.0, 1.0, -1.0, 0.5, 2.0],
        [0.0, 1.0, 0.0, 0.5, 1.0],
        [1, 1, 0, 1, 0],
    ),
    "clamp_tensor_min_only": (
        lambda T, x: x.clamp(min=_f64(T, [0.0, 0.0, 2.0])),
        [0.0, -1.0, 1.0],
        [0.0, 0.0, 2.0],
        [1, 0, 0],
    ),
    # the full reduction splits the gradient evenly between ties ...
    "max_all_ties": (lambda T, x: x.max(), [1.0, 3.0, 3.0, 2.0], 3.0, [0, 0.5, 0.5, 0]),
    "min_all_ties": (
        lambda T, x: x.min(),
        [1.0, 1.0, 3.0, 1.0],
        1.0,
        [1 / 3, 1 / 3, 0, 1 / 3],
    ),
    # ... a reduction over one dim sends it to the index it returns
    "max_dim_ties": (
        lambda T, x: x.max(0)[0],
        [1.0, 3.0, 3.0, 2.0],
        3.0,
        [0, 1, 0, 0],
    ),
    # sign is recorded, with a zero gradient: d(sign(x)·x)/dx = sign(x)
    "sign_times_x": (
        lambda T, x: x.sign() * x,
        [2.0, 0.0, -3.0],
        [2, 0, 3],
        [1, 0, -1],
    ),
    "sign_alone": (lambda T, x: x.sign(), [2.0, 0.0, -3.0], [1, 0, -1], [0, 0, 0]),
    "sqrt_zero": (lambda T, x: x.sqrt(), [0.0, 4.0], [0.0, 2.0], [INF, 0.25]),
    # pow with base 0: d/dy 0**y = 0 for y >= 0 (the limit of y·0**y·log 0)
    "rpow_scalar_base0": (
        lambda T, x: 0.0**x,
        [0.0, 1.0, 2.0, -1.0],
        [1.0, 0.0, 0.0, INF],
        [0.0, 0.0, 0.0, -INF],
    ),
    "rpow_int_base0": (lambda T, x: 0**x, [0.0, 2.0], [1.0, 0.0], [0.0, 0.0]),
    "pow_tensor_base0": (
        lambda T, x: _f64(T, [0.0, 0.0, 0.0, 2.0]) ** x,
        [2.0, 0.0, -1.0, 1.0],
        [0.0, 1.0, INF, 2.0],
        [0.0, 0.0, -INF, 2 * math.log(2.0)],
    ),
    # NaN: max()/min() without dim share the gradient among the NaNs ...
    "max_all_nan": (lambda T, x: x.max(), [1.0, NAN, 3.0, NAN], NAN, [0, 0.5, 0, 0.5]),
    "min_all_nan": (lambda T, x: x.min(), [1.0, NAN, 3.0], NAN, [0, 1, 0]),
    # ... amax gives NaN gradients along a reduction that met a NaN
    "amax_nan": (
        lambda T, x: x.reshape(2, 2).amax(1),
        [1.0, NAN, 3.0, 2.0],
        [NAN, 3.0],
        [NAN, NAN, 1, 0],
    ),
    # maximum/minimum against NaN: both inputs get the gradient
    "maximum_nan": (
        lambda T, x: T.maximum(x, _f64(T, [NAN, 2.0, 3.0])),
        [1.0, NAN, 3.0],
        [NAN, NAN, 3.0],
        [1, 1, 0.5],
    ),
    "minimum_nan": (
        lambda T, x: T.minimum(x, _f64(T, [NAN, 2.0, 1.0])),
        [1.0, NAN, 3.0],
        [NAN, NAN, 1.0],
        [1, 1, 0],
    ),
    # sign(NaN) = 0 and abs'(NaN) = 0
    "sign_nan": (lambda T, x: x.sign(), [NAN, -2.0], [0.0, -1.0], [0, 0]),
    "abs_nan": (lambda T, x: x.abs(), [NAN, -2.0], [NAN, 2.0], [0, -1]),
    "pow_exponent0_at_base0": (
        lambda T, x: x ** _f64(T, [0.0, 2.0]),
        [0.0, 0.0],
        [1.0, 0.0],
        [0.0, 0.0],
    ),
}


def _value_and_grad(T, fn, x):
    t = _f64(T, x).requires_grad_(True)
    y = fn(T, t)
    y.sum().backward()
    return np.asarray(y.detach().numpy()), t.grad.numpy()


@pytest.mark.parametrize("name", sorted(GRAD_CONVENTIONS))
def test_grad_convention_expected_values(name):
    fn, x, value, grad = GRAD_CONVENTIONS[name]
    y, g = _value_and_grad(mg, fn, x)
    np.testing.assert_allclose(y, np.broadcast_to(value, y.shape), rtol=1e-12)
    np.testing.assert_allclose(g, grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", sorted(GRAD_CONVENTIONS))
def test_grad_convention_matches_torch(name):
    torch = pytest.importorskip("torch")
    fn = GRAD_CONVENTIONS[name][0]
    x = GRAD_CONVENTIONS[name][1]
    y, g = _value_and_grad(mg, fn, x)
    ty, tg = _value_and_grad(torch, fn, x)
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=0)


def test_std_constant_input_grad_is_recorded_without_nan():
    # create_graph through std at a constant row: no inf/NaN enters the graph.
    x = mg.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], dtype=mg.float64)
    x.requires_grad_(True)
    (g,) = mg.autograd.grad(x.std(1).sum(), [x], create_graph=True)
    assert np.all(g.data[0] == 0)
    (gg,) = mg.autograd.grad((g * g).sum(), [x])
    assert np.all(np.isfinite(gg.data))


def test_sign_requires_grad_like_torch():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    assert x.sign().requires_grad
    assert mg.tensor([True, False]).sign().tolist() == [True, False]
    assert mg.tensor([-3, 0, 4]).sign().tolist() == [-1, 0, 1]


def test_changed_ops_pass_gradcheck():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    (t,) = _smooth(x)
    assert gradcheck(lambda a: a.std(1), [t])
    assert gradgradcheck(lambda a: a.std(1), [t])
    (e,) = _smooth(rng.uniform(0.5, 2.0, 5))
    assert gradcheck(lambda a: 0.0**a + 2.0**a, [e])
    assert gradcheck(lambda a: a.sign() * a, [e])
    lo_hi = _smooth(x, x * 0 - 0.5, x * 0 + 0.5)
    # away from the kinks: the bounds differ from x by more than eps
    lo_hi[1].data[...] = np.where(np.abs(x + 0.5) < 1e-3, 0.9, -0.5)
    lo_hi[2].data[...] = np.where(np.abs(x - 0.5) < 1e-3, 1.2, 0.5)
    assert gradcheck(lambda a, lo, hi: a.clamp(lo, hi), lo_hi)
    lo_row = _smooth(x, np.full((1, 4), -0.25))
    assert gradcheck(lambda a, lo: a.clamp(min=lo), lo_row)
    pair = _smooth(x, rng.standard_normal((1, 4)))
    assert gradcheck(lambda a, b: mg.maximum(a, b) + mg.minimum(a, b) * 2.0, pair)
    assert gradgradcheck(lambda a, b: mg.maximum(a, b) ** 2, pair)
    assert gradcheck(lambda a: a.abs() + a.max() + a.min(), [t])
    # second derivatives through the new backward formulas
    assert gradgradcheck(lambda a, lo, hi: a.clamp(lo, hi) ** 2, lo_hi)
    assert gradgradcheck(lambda a: (0.0**a + 3.0**a) * a, [e])
    assert gradgradcheck(lambda a: a.sign() * a**2, [e])
    assert gradgradcheck(lambda a: (a * 3.0) % 2.0 * a, [e])


# name: fn(T, x, y) of two (3, 4) float64 tensors holding small integers, so that
# zeros, kinks and ties are common
AT_KINKS = {
    "abs": lambda T, x, y: x.abs(),
    "relu": lambda T, x, y: x.relu(),
    "clamp": lambda T, x, y: x.clamp(-1.0, 1.0),
    "clamp_tensors": lambda T, x, y: x.clamp(y - 1.0, y + 1.0),
    "clamp_crossed": lambda T, x, y: x.clamp(y, -y),
    "clamp_min_tensor": lambda T, x, y: x.clamp(min=y),
    "max": lambda T, x, y: x.max(),
    "min": lambda T, x, y: x.min(),
    "max_dim": lambda T, x, y: x.max(1)[0],
    "min_dim": lambda T, x, y: x.min(0)[0],
    "amax_dims": lambda T, x, y: x.amax((0, 1)),
    "amin_dim": lambda T, x, y: x.amin(1),
    "maximum": lambda T, x, y: T.maximum(x, y),
    "minimum": lambda T, x, y: T.minimum(x, y),
    "std": lambda T, x, y: x.std(1),
    "std_biased": lambda T, x, y: x.std(0, correction=0),
    "var": lambda T, x, y: x.var(1),
    "sqrt": lambda T, x, y: x.abs().sqrt(),
    "sign": lambda T, x, y: x.sign() * y,
    "pow": lambda T, x, y: x.abs() ** y,
    "rpow0": lambda T, x, y: 0.0**x,
    "remainder": lambda T, x, y: x % (y.abs() + 0.5),
}


@pytest.mark.parametrize("name", sorted(AT_KINKS))
def test_gradients_at_kinks_and_ties_match_torch(name):
    torch = pytest.importorskip("torch")
    fn = AT_KINKS[name]
    rng = np.random.default_rng(sorted(AT_KINKS).index(name))
    for _ in range(20):
        xs = [rng.integers(-2, 3, (3, 4)).astype(np.float64) for _ in range(2)]
        ours = [mg.tensor(a, requires_grad=True) for a in xs]
        theirs = [torch.tensor(a, requires_grad=True) for a in xs]
        y, ty = fn(mg, *ours), fn(torch, *theirs)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        w = rng.standard_normal(y.shape)
        grads = mg.autograd.grad(y, ours, mg.tensor(w), allow_unused=True)
        tgrads = torch.autograd.grad(ty, theirs, torch.tensor(w), allow_unused=True)
        for g, tg in zip(grads, tgrads):
            g = np.zeros((3, 4)) if g is None else g.numpy()
            tg = np.zeros((3, 4)) if tg is None else tg.numpy()
            np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-15, err_msg=name)
