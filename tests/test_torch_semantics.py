"""Where minigrad follows a PyTorch convention that numpy (or the math) leaves
open: gradients at kinks and constant inputs, type promotion of integer ops,
mixed advanced indexing, ``arange``'s range rules and the exception types.

Each convention is checked twice: against written-out expected values (runs
without PyTorch) and against PyTorch itself where it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck
INF, NAN = math.inf, math.nan


def _f64(T, data):
    """A float64 tensor of ``data`` in minigrad (T = mg) or torch (T = torch)."""
    return T.tensor(data, dtype=T.float64)


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


def _smooth(*arrs):
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrs]


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


# -- type promotion and rounding of integer ops -----------------------------------

# expression: (dtype name, values). Operands: ti, tj int64; tf, tg float32; tb bool.
PROMOTION = {
    "ti / tj": ("float32", [3.5, -3.5, -1.5, 1.5, 0.0]),
    "tb / tb": ("float32", [1.0, NAN, 1.0, NAN, 1.0]),
    "2 / tj": ("float32", [1.0, 1.0, -0.5, -0.5, 2 / 3]),
    "ti & tj": ("int64", [2, 0, 4, -8, 0]),
    "ti | tj": ("int64", [7, -5, -2, -2, 3]),
    "ti ^ tj": ("int64", [5, -5, -6, 6, 3]),
    "~ti": ("int64", [-8, 6, -7, 5, -1]),
    "ti & 3": ("int64", [3, 1, 2, 2, 0]),
    "3 & ti": ("int64", [3, 1, 2, 2, 0]),
    "6 | ti": ("int64", [7, -1, 6, -2, 6]),
    "5 ^ ti": ("int64", [2, -4, 3, -1, 5]),
    "ti | True": ("int64", [7, -7, 7, -5, 1]),
    "tb & 1": ("int64", [1, 0, 1, 0, 1]),
    "tb & tb": ("bool", [True, False, True, False, True]),
    "~tb": ("bool", [False, True, False, True, False]),
    "tb ^ True": ("bool", [False, True, False, True, False]),
    "True | tb": ("bool", [True] * 5),
    "ti // tj": ("int64", [3, -4, -2, 1, 0]),
    "ti % tj": ("int64", [1, 1, -2, -2, 0]),
    "ti // 2": ("int64", [3, -4, 3, -3, 0]),
    "ti % 2": ("int64", [1, 1, 0, 0, 0]),
    "ti // -2": ("int64", [-4, 3, -3, 3, 0]),
    "ti % -2": ("int64", [-1, -1, 0, 0, 0]),
    "7 // tj": ("int64", [3, 3, -2, -2, 2]),
    "-7 % tj": ("int64", [1, 1, -3, -3, 2]),
    "tf // tg": ("float32", [3.0, -4.0, -2.0, 1.0, 0.0]),
    "tf % tg": ("float32", [1.5, 0.5, -2.0, -2.0, 0.5]),
    "tf // 2": ("float32", [3.0, -4.0, 3.0, -3.0, 0.0]),
    "tf % -2": ("float32", [-0.5, -1.5, 0.0, -0.0, -1.5]),
    "3 // tg": ("float32", [1.0, 1.0, -1.0, -1.0, 1.0]),
    "5 % tg": ("float32", [1.0, 1.0, -3.0, -3.0, 2.0]),
    "5.5 % tj": ("float32", [1.5, 1.5, -2.5, -2.5, 2.5]),
    "ti // 2.5": ("float32", [2.0, -3.0, 2.0, -3.0, 0.0]),
    "ti % 2.5": ("float32", [2.0, 0.5, 1.0, 1.5, 0.0]),
    "tf // 0": ("float32", [INF, -INF, INF, -INF, INF]),
    "tf % 0": ("float32", [NAN] * 5),
    "ti ** tj": ("int64", [49, 49, 0, 0, 0]),
    "ti ** 2": ("int64", [49, 49, 36, 36, 0]),
    "ti ** 0.5": ("float32", [math.sqrt(7), NAN, math.sqrt(6), NAN, 0.0]),
    "2 ** tj": ("int64", [4, 4, 0, 0, 8]),
    "2 ** ti": ("int64", [128, 0, 64, 0, 1]),
    "2.0 ** ti": ("float32", [128.0, 2.0**-7, 64.0, 2.0**-6, 1.0]),
    "(-2) ** tj": ("int64", [4, 4, 0, 0, -8]),
    "0 ** ti": ("int64", [0, 0, 0, 0, 1]),
    "tj ** ti": ("int64", [128, 0, 4096, 0, 1]),
    "(tj - 3) ** ti": ("int64", [-1, -1, 117649, 0, 1]),
    "ti ** tb": ("int64", [7, 1, 6, 1, 0]),
    "ti ** True": ("int64", [7, -7, 6, -6, 0]),
    "tb ** 2": ("int64", [1, 0, 1, 0, 1]),
    "ti ** tg": ("float32", [49.0, 49.0, 6.0**-4, 6.0**-4, 0.0]),
    "tf ** tj": ("float32", [56.25, 56.25, 6.0**-4, 6.0**-4, 0.125]),
}

# unary ops on integer and bool tensors: (dtype name, values)
UNARY_PROMOTION = {
    "ti.tanh()": ("float32", np.tanh([7.0, -7.0, 6.0, -6.0, 0.0])),
    "ti.sigmoid()": ("float32", 1 / (1 + np.exp(-np.array([7.0, -7, 6, -6, 0])))),
    "tb.sigmoid()": (
        "float32",
        [1 / (1 + math.exp(-1)), 0.5] * 2 + [1 / (1 + math.exp(-1))],
    ),
    "tj.relu()": ("int64", [2, 2, 0, 0, 3]),
    "tj.abs()": ("int64", [2, 2, 4, 4, 3]),
    "tj.sign()": ("int64", [1, 1, -1, -1, 1]),
    "tb.sign()": ("bool", [True, False, True, False, True]),
    "tf / 0": ("float32", [INF, -INF, INF, -INF, INF]),
}


@pytest.mark.parametrize("expr", sorted(UNARY_PROMOTION))
def test_unary_promotion_expected_values(expr, recwarn):
    dtype, values = UNARY_PROMOTION[expr]
    r = eval(expr, _operands_of(mg))
    assert str(r.dtype) == dtype
    np.testing.assert_allclose(r.numpy().astype(np.float64), values, rtol=1e-6)
    # no numpy warning where PyTorch gives none (x / 0 is inf quietly)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("expr", sorted(UNARY_PROMOTION))
def test_unary_promotion_matches_torch(expr):
    torch = pytest.importorskip("torch")
    r = eval(expr, _operands_of(mg))
    tr = eval(expr, _operands_of(torch))
    assert _dtype_name(r) == _dtype_name(tr)
    np.testing.assert_allclose(r.numpy(), tr.numpy(), rtol=1e-6)


# Expressions that PyTorch refuses: (expression, exception classes minigrad raises)
REFUSED = {
    "ti // 0": (ValueError, RuntimeError),
    "ti % 0": (ValueError, RuntimeError),
    "7 // (ti * 0)": (ValueError, RuntimeError),
    "ti ** -1": (ValueError, RuntimeError),
    "tb // tb": (TypeError, RuntimeError),
    "tb % True": (TypeError, RuntimeError),
    "tb ** tb": (TypeError, RuntimeError),
    "True ** tb": (TypeError, RuntimeError),
    "tb - tb": (TypeError, RuntimeError),
    "2 - tb": (TypeError, RuntimeError),
    "tf - True": (TypeError, RuntimeError),
    "tf & tf": (TypeError, RuntimeError),
    "ti | 2.5": (TypeError, RuntimeError),
    "~tf": (TypeError,),
    "abs(tb)": (TypeError, RuntimeError),
    "tb.relu()": (TypeError, RuntimeError),
    "ti.softmax(0)": (TypeError, RuntimeError),
}


def _operands_of(T):
    return {
        "T": T,
        "ti": T.tensor([7, -7, 6, -6, 0]),
        "tj": T.tensor([2, 2, -4, -4, 3]),
        "tf": T.tensor([7.5, -7.5, 6.0, -6.0, 0.5]),
        "tg": T.tensor([2.0, 2.0, -4.0, -4.0, 3.0]),
        "tb": T.tensor([True, False, True, False, True]),
    }


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _assert_same_zeros(actual, expected):
    """Where the result is zero, its sign matches (NaN's sign bit is not compared)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    zero = actual == 0
    np.testing.assert_array_equal(zero, expected == 0)
    np.testing.assert_array_equal(np.signbit(actual[zero]), np.signbit(expected[zero]))


@pytest.mark.parametrize("expr", sorted(PROMOTION))
def test_promotion_expected_values(expr):
    dtype, values = PROMOTION[expr]
    r = eval(expr, _operands_of(mg))
    assert str(r.dtype) == dtype
    np.testing.assert_allclose(r.data.astype(np.float64), values, rtol=1e-6)
    # the sign of zero too (a remainder that is exactly 0 has the sign of a)
    _assert_same_zeros(r.data, np.asarray(values, dtype=np.float64))


@pytest.mark.parametrize("expr", sorted(PROMOTION))
def test_promotion_matches_torch(expr):
    torch = pytest.importorskip("torch")
    r = eval(expr, _operands_of(mg))
    tr = eval(expr, _operands_of(torch))
    assert _dtype_name(r) == _dtype_name(tr)
    np.testing.assert_array_equal(r.numpy(), tr.numpy())
    _assert_same_zeros(r.numpy(), tr.numpy())


@pytest.mark.parametrize("expr", sorted(REFUSED))
def test_refused_like_torch(expr):
    with pytest.raises(REFUSED[expr]):
        eval(expr, _operands_of(mg))


@pytest.mark.parametrize("expr", sorted(REFUSED))
def test_refused_by_torch_too(expr):
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, TypeError)):
        eval(expr, _operands_of(torch))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floor_divide_and_remainder_match_torch_on_random_floats(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a = np.concatenate([rng.uniform(-20, 20, 500), rng.integers(-9, 9, 100), [-0.0]])
    b = np.concatenate([rng.uniform(-5, 5, 500), rng.integers(-4, 5, 100), [3.0]])
    a, b = a.astype(dtype), b.astype(dtype)
    for op in ("__floordiv__", "__mod__"):
        r = getattr(mg.tensor(a), op)(mg.tensor(b)).numpy()
        tr = getattr(torch.from_numpy(a), op)(torch.from_numpy(b)).numpy()
        np.testing.assert_array_equal(r, tr)
        _assert_same_zeros(r, tr)


def test_int_true_division_is_float32():
    assert (mg.tensor([1]) / mg.tensor([2])).dtype == mg.float32
    assert (mg.tensor([1]) / mg.tensor([2])).tolist() == [0.5]


def test_remainder_gradient():
    # away from the jumps of a % b (where a / b is an integer)
    rng = np.random.default_rng(5)
    a = rng.uniform(0.1, 0.9, 6) + rng.integers(-3, 3, 6)
    b = rng.choice([-2.3, 1.7, 3.7], 6)
    ta, tb = _smooth(a, b)
    assert gradcheck(lambda x, y: x % y, [ta, tb])
    assert gradcheck(lambda y: 5.0 % y + y % 2.0, [tb])
    (ta % tb).sum().backward()
    np.testing.assert_array_equal(ta.grad.numpy(), np.ones(6))
    np.testing.assert_array_equal(tb.grad.numpy(), -np.floor_divide(a, b))


def test_floor_divide_does_not_require_grad():
    x = mg.tensor([3.5, -1.0], requires_grad=True)
    assert not (x // 2).requires_grad


# -- mixed advanced indexing (ints are basic indices, as in PyTorch) ----------------

X4 = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)

# index (lists and bool lists stand for tensors): the expected result, written
# as the two steps PyTorch takes (ints first, then the rest of the index)
MIXED = {
    "0,:,[0,1]": ((0, slice(None), [0, 1]), np.stack([X4[0, :, 0], X4[0, :, 1]], 1)),
    ":,0,:,[1,2]": (
        (slice(None), 0, slice(None), [1, 2]),
        np.stack([X4[:, 0, :, 1], X4[:, 0, :, 2]], 2),
    ),
    "0,None,[1,2]": ((0, None, [1, 2]), X4[0][None][:, [1, 2]]),
    "0,...,[1,2]": ((0, Ellipsis, [1, 2]), np.stack([X4[0, ..., 1], X4[0, ..., 2]], 2)),
    ":,[0,1],:,0": ((slice(None), [0, 1], slice(None), 0), X4[:, :, :, 0][:, [0, 1]]),
    "0,:,mask": (
        (0, slice(None), [True, False, True, True]),
        X4[0][:, [0, 2, 3]],
    ),
    "None,0,:,[1,2]": ((None, 0, slice(None), [1, 2]), X4[None, 0][:, :, [1, 2]]),
    "1,[2,0],:,[3,3]": ((1, [2, 0], slice(None), [3, 3]), X4[1][[2, 0], :, [3, 3]]),
}


def _mixed_index(T, idx):
    """Lists become tensors (int or bool), numpy ints 0-d int tensors."""
    return tuple(
        T.tensor(i if isinstance(i, list) else int(i))
        if isinstance(i, (list, np.integer))
        else i
        for i in idx
    )


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixed_index_expected_values(name):
    idx, expected = MIXED[name]
    x = mg.tensor(X4, requires_grad=True)
    y = x[_mixed_index(mg, idx)]
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)
    # backward scatters each output element back to where it was read
    w = np.arange(1.0, y.numel() + 1).reshape(y.shape)
    y.backward(mg.tensor(w))
    ids = mg.tensor(np.arange(X4.size, dtype=np.float64).reshape(X4.shape))
    positions = ids[_mixed_index(mg, idx)].numpy().astype(np.int64)
    expected_grad = np.zeros(X4.size)
    np.add.at(expected_grad, positions.ravel(), w.ravel())
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad.reshape(X4.shape))


def test_mixed_index_setitem_expected_values():
    x = mg.tensor(np.zeros((2, 3, 4)))
    x[0, :, [0, 1]] = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert x[0, :, 0].tolist() == [1.0, 3.0, 5.0]
    assert x[0, :, 1].tolist() == [2.0, 4.0, 6.0]
    assert x.numpy().sum() == 21.0


def test_mixed_index_setitem_backward():
    v = mg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    base = mg.tensor(np.ones((2, 3, 4)), requires_grad=True)
    x = base * 1.0
    x[0, :, [0, 1]] = v * 2.0
    w = np.arange(24.0).reshape(2, 3, 4)
    x.backward(mg.tensor(w))
    np.testing.assert_array_equal(v.grad.numpy(), 2.0 * w[0][:, [0, 1]])
    expected = w.copy()
    expected[0][:, [0, 1]] = 0.0
    np.testing.assert_array_equal(base.grad.numpy(), expected)


def _random_index(rng, shape):
    """A random index over ``shape`` mixing ints, 0-d int tensors (numpy ints
    here), slices, int lists, 1-d and 2-d bool masks, None and at most one
    Ellipsis (index items as plain Python / lists)."""
    items, dims = [], list(shape)
    ellipsis = rng.random() < 0.3
    while dims:
        n = dims[0]
        kinds = [
            "int",
            "int0d",
            "slice",
            "list",
            "mask",
            "mask2",
            "none",
            "bool",
            "stop",
        ]
        kind = rng.choice(kinds)
        if kind == "stop":
            break
        if kind == "none":
            items.append(None)
            continue
        if kind == "bool":  # a Python bool: a 0-d mask, covering no dim
            items.append(bool(rng.random() < 0.8))
            continue
        dims.pop(0)
        if kind == "mask2" and dims:
            m = rng.random((n, dims.pop(0))) < 0.5
            items.append(m.tolist())
        elif kind == "int0d":
            items.append(np.int64(rng.integers(-n, n)))
        elif kind == "int" or kind == "mask2":
            items.append(int(rng.integers(-n, n)))
        elif kind == "slice":
            start, stop = sorted(rng.integers(0, n + 1, 2))
            items.append(slice(int(start), int(stop), int(rng.integers(1, 3))))
        elif kind == "list":
            items.append([int(v) for v in rng.integers(-n, n, rng.integers(1, 4))])
        else:
            items.append([bool(v) for v in rng.random(n) < 0.5])
    if ellipsis:
        items.insert(int(rng.integers(0, len(items) + 1)), Ellipsis)
    return tuple(items)


def _torch_index(torch, idx):
    return _mixed_index(torch, idx)


@pytest.mark.parametrize("seed", range(40))
def test_mixed_index_matches_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    for _ in range(10):
        idx = _random_index(rng, X4.shape)
        try:
            expected = torch.tensor(X4)[_torch_index(torch, idx)]
        except (IndexError, RuntimeError):
            # broadcasting of the index arrays fails in torch: minigrad refuses too
            with pytest.raises((IndexError, ValueError)):
                mg.tensor(X4)[_mixed_index(mg, idx)]
            continue
        x = mg.tensor(X4, requires_grad=True)
        y = x[_mixed_index(mg, idx)]
        assert y.shape == tuple(expected.shape), idx
        np.testing.assert_array_equal(y.numpy(), expected.numpy())
        # backward: scatter-add, repeated indices accumulate
        w = rng.standard_normal(y.shape)
        y.backward(mg.tensor(w))
        tx = torch.tensor(X4, requires_grad=True)
        tx[_torch_index(torch, idx)].backward(torch.tensor(w))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
        # setitem of a value of the result's shape (where no position repeats,
        # since which repeated write lands is not specified by torch)
        ids = torch.arange(X4.size).reshape(X4.shape)[_torch_index(torch, idx)]
        if ids.unique().numel() == ids.numel():
            a, ta = mg.tensor(X4), torch.tensor(X4)
            a[_mixed_index(mg, idx)] = mg.tensor(-w)
            ta[_torch_index(torch, idx)] = torch.tensor(-w)
            np.testing.assert_array_equal(a.numpy(), ta.numpy())


def test_python_bool_index_with_ints_and_lists():
    x = mg.tensor(X4[0])  # (3, 4, 5)
    y = x[True, 0, [0, 1]]  # True is a 0-d mask (advanced), 0 a basic index
    assert y.shape == (2, 5)
    np.testing.assert_array_equal(y.numpy(), X4[0, 0, [0, 1]])


def test_ints_on_every_dim_with_a_bool_index_read_write_and_backward():
    x = mg.tensor(X4, requires_grad=True)
    y = x[0, 1, 2, [3], True]
    assert y.tolist() == [X4[0, 1, 2, 3]]  # as torch
    y.sum().backward()
    assert x.grad.numpy()[0, 1, 2, 3] == 1.0
    assert x.grad.numpy().sum() == 1.0
    z = mg.tensor(X4)
    z[1, 2, 3, 4, True] = -1.0  # written through, not into a copy
    assert z.numpy()[1, 2, 3, 4] == -1.0


def test_zero_dim_tensor_index_is_an_int():
    x = mg.tensor(X4)
    y = x[mg.tensor(1), :, [0, 1]]
    assert y.shape == (3, 2, 5)
    np.testing.assert_array_equal(y.numpy(), X4[1][:, [0, 1]])


def test_empty_ellipsis_does_not_separate_advanced_indices():
    x = mg.tensor(np.arange(60.0).reshape(5, 3, 4))
    y = x[:, [0, 1], ..., [0, 1]]
    assert y.shape == (5, 2)
    np.testing.assert_array_equal(
        y.numpy(), X4.reshape(-1)[:60].reshape(5, 3, 4)[:, [0, 1], [0, 1]]
    )


# -- arange ----------------------------------------------------------------------

# args: (dtype, length) -- the length is ceil((end - start) / step) in float64
ARANGE = {
    (0, 1, 0.1): ("float32", 10),
    (1, 2.5, 0.3): ("float32", 5),
    (-1, 1, 0.1): ("float32", 20),
    (0, 10, 3): ("int64", 4),
    (0, -5, -1): ("int64", 5),
    (5, 5, 1): ("int64", 0),
    (0, 1.0, 0.3): ("float32", 4),
    (0.5, 3): ("float32", 3),
    (0, 1, 1 / 3): ("float32", 3),
    (10, 0, -0.7): ("float32", 15),
    (0, 0.9, 0.3): ("float32", 3),
    (1, 1.7, 0.1): ("float32", 7),  # (1.7 - 1) / 0.1 = 6.999999999999999
}


@pytest.mark.parametrize("args", sorted(ARANGE, key=str))
def test_arange_length_and_dtype(args):
    dtype, n = ARANGE[args]
    t = mg.arange(*args)
    assert str(t.dtype) == dtype
    assert t.shape == (n,)
    start, step = (args[0], args[2]) if len(args) == 3 else (args[0], 1)
    np.testing.assert_allclose(t.numpy(), start + step * np.arange(n), atol=1e-6)


@pytest.mark.parametrize("args", sorted(ARANGE, key=str))
def test_arange_matches_torch(args):
    torch = pytest.importorskip("torch")
    t, tt = mg.arange(*args), torch.arange(*args)
    assert str(t.dtype) == _dtype_name(tt)
    assert t.shape == tuple(tt.shape)
    # torch's vectorized kernel rounds some float32 values differently (ulp)
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-6, atol=1e-7)


# (args, dtype): values; with an integer dtype the bounds and step are first
# truncated to integers, as in PyTorch
ARANGE_WITH_DTYPE = {
    ((-1.5, 2), "int64"): [-1, 0, 1],
    ((0.5, 3), "int64"): [0, 1, 2],
    ((0, 10, 3), "float32"): [0.0, 3.0, 6.0, 9.0],
    ((0, 5.5, 2.5), "int64"): [0, 2, 4],
}


@pytest.mark.parametrize("key", sorted(ARANGE_WITH_DTYPE, key=str))
def test_arange_with_dtype_expected_values(key):
    args, dtype = key
    t = mg.arange(*args, dtype=getattr(mg, dtype))
    assert str(t.dtype) == dtype
    assert t.tolist() == ARANGE_WITH_DTYPE[key]


@pytest.mark.parametrize("key", sorted(ARANGE_WITH_DTYPE, key=str))
def test_arange_with_dtype_matches_torch(key):
    torch = pytest.importorskip("torch")
    args, dtype = key
    assert (
        mg.arange(*args, dtype=getattr(mg, dtype)).tolist()
        == torch.arange(*args, dtype=getattr(torch, dtype)).tolist()
    )


def test_arange_fractional_step_truncated_to_zero_for_int_dtype_raises():
    with pytest.raises(ValueError, match="step must be nonzero"):
        mg.arange(0, 1, 0.3, dtype=mg.int64)
    with pytest.raises(TypeError, match="bool"):
        mg.arange(5, dtype=mg.bool_)


BAD_ARANGE = {
    (0, 5, 0): "step must be nonzero",
    (0.0, 1.0, 0.0): "step must be nonzero",
    (0, 5, -1): "inconsistent with step sign",
    (5, 0, 1): "inconsistent with step sign",
    (0.0, -1.0, 0.5): "inconsistent with step sign",
    (0, math.inf, 1): "unsupported range",
}


@pytest.mark.parametrize("args", sorted(BAD_ARANGE, key=str))
def test_arange_bad_range_raises_clear_error(args):
    with pytest.raises(ValueError, match=BAD_ARANGE[args]) as info:
        mg.arange(*args)
    assert isinstance(info.value, RuntimeError)
    assert "arange" in str(info.value)


@pytest.mark.parametrize("args", sorted(BAD_ARANGE, key=str))
def test_arange_bad_range_raises_in_torch_too(args):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=BAD_ARANGE[args]):
        torch.arange(*args)


# -- exception types: ValueError and RuntimeError both catch a bad call -----------

# name: (call(T), words the message must hold: the op and the shapes)
BAD_CALLS = {
    "matmul": (lambda T: T.ones(2, 3) @ T.ones(4, 5), ["matmul", "(2, 3)", "(4, 5)"]),
    "matmul_batch": (
        lambda T: T.ones(2, 2, 3) @ T.ones(3, 3, 4),
        ["matmul", "(2, 2, 3)", "(3, 3, 4)"],
    ),
    "reshape": (lambda T: T.ones(2, 3).reshape(4, 2), ["reshape", "(2, 3)", "(4, 2)"]),
    "view": (lambda T: T.ones(2, 3).view(7), ["reshape", "(2, 3)", "(7,)"]),
    "cat": (lambda T: T.cat([T.ones(2, 3), T.ones(4, 5)]), ["cat", "(2, 3)", "(4, 5)"]),
    "stack": (lambda T: T.stack([T.ones(2), T.ones(3)]), ["stack", "(2,)", "(3,)"]),
    "add": (lambda T: T.ones(2, 3) + T.ones(4, 5), ["add", "(2, 3)", "(4, 5)"]),
    "mul_int": (
        lambda T: T.ones(2, 3, dtype=T.int64) * T.ones(4, dtype=T.int64),
        ["mul", "(2, 3)", "(4,)"],
    ),
    "where": (
        lambda T: T.where(T.ones(4) > 0, T.ones(2, 3), T.ones(2, 3)),
        ["where", "(4,)", "(2, 3)"],
    ),
    "sum_bad_dim": (lambda T: T.ones(2, 3).sum(5), ["sum", "dim 5", "2 dims"]),
    "mean_bad_dim": (lambda T: T.ones(2, 3).mean(-3), ["mean", "dim -3", "2 dims"]),
    "max_bad_dim": (lambda T: T.ones(2, 3).max(2), ["max", "dim 2", "2 dims"]),
    "softmax_bad_dim": (lambda T: T.ones(2, 3).softmax(4), ["softmax", "dim 4"]),
    "transpose_bad_dim": (
        lambda T: T.ones(2, 3).transpose(0, 2),
        ["transpose", "dim 2"],
    ),
    "cat_bad_dim": (lambda T: T.cat([T.ones(2), T.ones(2)], 1), ["cat", "dim 1"]),
    "expand": (lambda T: T.ones(2, 3).expand(4, 3), ["expand", "(2, 3)", "(4, 3)"]),
    "setitem_value": (
        lambda T: T.zeros(2, 3).__setitem__(0, T.ones(4)),
        ["setitem", "(4,)", "(2, 3)"],
    ),
    "zeros_negative": (lambda T: T.zeros(2, -1), ["zeros", "negative"]),
    "ragged": (lambda T: T.tensor([[1, 2], [3]]), ["tensor"]),
    "max_empty": (lambda T: T.ones(0).max(), ["max", "(0,)"]),
    "item": (lambda T: T.ones(2, 3).item(), ["item", "6 elements"]),
    "arange_step0": (lambda T: T.arange(0, 5, 0), ["arange", "step"]),
    "int_div_zero": (
        lambda T: T.tensor([1, 2]) // T.tensor([1, 0]),
        ["floor_divide", "ZeroDivisionError"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_call_is_value_and_runtime_error(name):
    call, words = BAD_CALLS[name]
    with pytest.raises(ValueError) as info:
        call(mg)
    assert isinstance(info.value, RuntimeError)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_call_fails_in_torch_too(name):
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
        BAD_CALLS[name][0](torch)


def test_bad_dim_is_also_an_index_error_as_in_torch():
    with pytest.raises(IndexError, match="sum: dim 5"):
        mg.ones(2, 3).sum(5)


@pytest.mark.parametrize(
    "idx", [5, (0, 7), ([0, 7],), (0, 0, 0)], ids=["int", "pair", "list", "too_many"]
)
def test_index_out_of_range_is_index_error_naming_the_shape(idx):
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        mg.ones(2, 3)[idx]


def test_dtype_errors_are_type_and_runtime_errors():
    for call in (
        lambda: mg.tensor([1, 2]).mean(),
        lambda: mg.ones(2).to("float16"),
        lambda: mg.ones(2) & mg.ones(2),
    ):
        with pytest.raises(TypeError) as info:
            call()
        assert isinstance(info.value, RuntimeError)


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


_GRID_OPS = ["+", "-", "*", "/", "//", "%", "**", "&", "|", "^"]
_GRID_SCALARS = ["2", "-3", "2.5", "True"]


def _grid_operands(T):
    return {
        "f32": T.tensor([1.5, -2.0, 3.0]),
        "f64": T.tensor([1.5, -2.0, 3.0], dtype=T.float64),
        "i64": T.tensor([3, -2, 5]),
        "b": T.tensor([True, False, True]),
    }


def _grid_exprs():
    names = list(_grid_operands(mg))
    for op in _GRID_OPS:
        for a in names:
            for b in names:
                yield f"{a} {op} {b}"
            for s in _GRID_SCALARS:
                yield f"{a} {op} {s}"
                yield f"{s} {op} {a}"


@pytest.mark.parametrize("op", _GRID_OPS)
def test_operator_grid_matches_torch(op):
    """Every dtype pair and Python scalar on either side: the same dtype and
    values as PyTorch, or an error where PyTorch raises one."""
    torch = pytest.importorskip("torch")
    ours, theirs = _grid_operands(mg), _grid_operands(torch)
    for expr in _grid_exprs():
        if f" {op} " not in expr:
            continue
        try:
            expected = eval(expr, dict(theirs))
        except (RuntimeError, TypeError):
            with pytest.raises((RuntimeError, TypeError, ValueError)):
                eval(expr, dict(ours))
            continue
        r = eval(expr, dict(ours))
        assert _dtype_name(r) == _dtype_name(expected), expr
        np.testing.assert_allclose(
            r.numpy().astype(np.float64),
            expected.numpy().astype(np.float64),
            rtol=1e-6,
            err_msg=expr,
        )


def test_mixed_indexing_passes_gradcheck():
    rng = np.random.default_rng(11)
    (x,) = _smooth(rng.standard_normal((2, 3, 4)))
    idx = (0, slice(None), [0, 1, 1])  # a repeated index accumulates
    assert gradcheck(lambda a: a[idx], [x])
    assert gradgradcheck(lambda a: a[idx] ** 2, [x])

    def write(a, v):
        out = a * 1.0
        out[1, :, [2, 0]] = v * 3.0  # (3, 2) as in torch; numpy's shape is (2, 3)
        return out

    assert gradcheck(write, _smooth(rng.standard_normal((2, 3, 4)), np.ones((3, 2))))


# name: (statement on x, x's values before, x's values after); int64 unless floats
INPLACE = {
    "floordiv": ("x //= 2", [7, -7], [3, -4]),
    "mod": ("x %= 3", [7, -7], [1, 2]),
    "and": ("x &= 3", [6, 3], [2, 3]),
    "or": ("x |= 8", [6, 3], [14, 11]),
    "xor": ("x ^= 5", [6, 3], [3, 6]),
    "pow_int": ("x **= 2", [6, -3], [36, 9]),
    "pow_float": ("x **= 2", [1.5, 3.0], [2.25, 9.0]),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_operators_modify_in_place(name):
    stmt, before, after = INPLACE[name]
    x = mg.tensor(before)
    alias, view = x, x[0:1]
    env = {"x": x}
    exec(stmt, env)
    assert env["x"] is alias
    assert alias.tolist() == after
    assert view.tolist() == after[:1]  # a view sees the change


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_operators_match_torch(name):
    torch = pytest.importorskip("torch")
    stmt, before, _ = INPLACE[name]
    ours, theirs = {"x": mg.tensor(before)}, {"x": torch.tensor(before)}
    exec(stmt, ours)
    exec(stmt, theirs)
    assert ours["x"].tolist() == theirs["x"].tolist()


def test_inplace_result_that_cannot_be_cast_is_type_and_runtime_error():
    x = mg.tensor([6, 3])
    for stmt in ("x //= 2.5", "x /= 2", "x **= 0.5"):
        with pytest.raises(TypeError, match="can't be cast") as info:
            exec(stmt, {"x": x})
        assert isinstance(info.value, RuntimeError)
    assert x.tolist() == [6, 3]


def test_inplace_remainder_is_differentiable():
    w = mg.tensor([1.5, 3.0], dtype=mg.float64, requires_grad=True)
    z = w * 1.0
    z **= 2
    z %= 2.0
    z.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 6.0])


# a bad argument type: a TypeError naming the op (PyTorch raises TypeError too)
BAD_TYPES = {
    "reshape_float": (lambda T: T.ones(2, 3).reshape(2.5, 2), "reshape"),
    "zeros_float": (lambda T: T.zeros(2.5), "zeros"),
    "rand_str": (lambda T: T.rand("a"), "rand"),
    "sum_float_dim": (lambda T: T.ones(2, 3).sum(1.5), "sum"),
    "setitem_str": (lambda T: T.zeros(2).__setitem__(0, "abc"), "setitem"),
}


@pytest.mark.parametrize("name", sorted(BAD_TYPES))
def test_bad_argument_type_is_type_error_naming_the_op(name):
    call, op = BAD_TYPES[name]
    with pytest.raises(TypeError, match=op):
        call(mg)


@pytest.mark.parametrize("name", sorted(BAD_TYPES))
def test_bad_argument_type_is_type_error_in_torch_too(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        BAD_TYPES[name][0](torch)


def test_split_negative_section_and_where_non_bool_condition():
    with pytest.raises(ValueError, match="split: section sizes must be non-negative"):
        mg.ones(2, 3).split([3, -1], 0)
    with pytest.raises(RuntimeError, match="where: condition must be bool"):
        mg.where(mg.ones(3), mg.ones(3), mg.zeros(3))
