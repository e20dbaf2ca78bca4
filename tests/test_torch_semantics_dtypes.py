"""Type promotion and rounding as in PyTorch: true division, bitwise ops,
floor division and remainder, integer powers, unary ops on integers, in-place
operators.

Each convention is checked twice: against written-out expected values (runs
without PyTorch) and against PyTorch itself where it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from tests.semantics_helpers import INF, NAN, _dtype_name, _smooth

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck


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
